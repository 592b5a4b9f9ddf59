#!/usr/bin/env bash
# --window-limit N/PERIOD and --host-window-limit (#11): never more than N
# request starts in any window of PERIOD. The verdict is on the start
# times the records carry (--attempts: attempt_log[].start_ms, the
# client's own clock, printed to the microsecond): in the sorted starts,
# no window [t, t + PERIOD) holds more than N (0.001 ms allowed for the
# printing's rounding). No wall-clock speed is judged.
source "$(dirname "$0")/lib.sh"
start_mock
OTHER="http://localhost:${BASE##*:}"

# "starts=M max=K": M starts in all, at most K of them in any window of $1 ms
window_stats() {
  jq -rs --argjson p "$1" '
    [.[] | .attempt_log[]? | .start_ms] | sort as $t
    | [range(0; $t | length) as $i | [$t[$i:][] | select(. < $t[$i] + $p - 0.001)] | length]
    | "starts=\($t | length) max=\(max // 0)"'
}
urls() { local i; for i in $(seq 1 "$2"); do echo "$1"; done; }

test_client_window() {
  local out
  out=$(urls "$BASE/json" 12 | "$FLURRY" -q -c 12 --no-body --attempts --window-limit 3/200ms)
  check "--window-limit 3/200ms: 12 starts, at most 3 in any 200 ms" "$(echo "$out" | window_stats 200)" \
    "starts=12 max=3"
  check "--window-limit: every request done" "$(echo "$out" | jq -r '.status' | sort | uniq -c | awk '{print $1, $2}')" "12 200"
  out=$(urls "$BASE/json" 12 | "$FLURRY" -q -c 12 --no-body --attempts)
  check "without it the same 12 start at once (the check can fail)" \
    "$(echo "$out" | window_stats 200 | grep -c 'max=[4-9]\|max=1[0-2]')" "1"
}

test_retries_count() {
  local out
  out=$(for k in 1 2 3 4; do echo "$BASE/flaky?key=w$k&fail=2"; done \
    | "$FLURRY" -q -c 4 --no-body --attempts --retries 3 --retry-base 1ms --window-limit 2/150ms)
  check "retries are starts too: 12 attempts, at most 2 in any 150 ms" \
    "$(echo "$out" | window_stats 150)" "starts=12 max=2"
}

test_with_rate_and_concurrency() {
  local out
  out=$(urls "$BASE/delay/30" 10 \
    | "$FLURRY" -q -c 2 --rate 40/s --burst 3 --no-body --attempts --window-limit 4/300ms)
  check "with --rate and -c: at most 4 in any 300 ms" "$(echo "$out" | window_stats 300)" \
    "starts=10 max=4"
}

test_host_window() {
  local out
  out=$({ urls "$BASE/json" 6; urls "$OTHER/json" 6; } \
    | "$FLURRY" -q -c 12 --no-body --attempts --host-window-limit 2/200ms)
  check "--host-window-limit: 127.0.0.1 at most 2 in any 200 ms" \
    "$(echo "$out" | jq -c 'select(.url | contains("127.0.0.1"))' | window_stats 200)" "starts=6 max=2"
  check "--host-window-limit: localhost at most 2 in any 200 ms" \
    "$(echo "$out" | jq -c 'select(.url | contains("localhost"))' | window_stats 200)" "starts=6 max=2"
  check "--host-window-limit: the hosts go side by side" \
    "$(echo "$out" | window_stats 200 | grep -c 'max=[34]')" "1"
  out=$({ urls "$BASE/json" 6; urls "$OTHER/json" 6; } \
    | "$FLURRY" -q -c 12 --no-body --attempts --host-window-limit 2/200ms --window-limit 3/200ms)
  check "both limits: at most 3 in any 200 ms in all" "$(echo "$out" | window_stats 200)" "starts=12 max=3"
}

test_bad_values() {
  local bad rc err
  for bad in 0/h 5 5/x abc/h 2000000/h 5/0ms 5/31d 5/-1s; do
    err=$("$FLURRY" --window-limit "$bad" "$BASE/json" 2>&1 < /dev/null); rc=$?
    check "--window-limit $bad: exit 2 naming the option" "$rc $(echo "$err" | grep -c -- "--window-limit '$bad'")" "2 1"
  done
  err=$("$FLURRY" --host-window-limit 1/q "$BASE/json" 2>&1 < /dev/null); rc=$?
  check "--host-window-limit 1/q: exit 2 naming the option" "$rc $(echo "$err" | grep -c -- "--host-window-limit '1/q'")" "2 1"
  for ok in 5000/h 100/15m 10/s 2/day 3/500ms; do
    echo "$BASE/json" | "$FLURRY" -q --window-limit "$ok" > /dev/null; rc=$?
    check "--window-limit $ok: accepted" "$rc" "0"
  done
}

run_test test_client_window
run_test test_retries_count
run_test test_with_rate_and_concurrency
run_test test_host_window
run_test test_bad_values
finish
