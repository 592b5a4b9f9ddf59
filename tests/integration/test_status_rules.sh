#!/usr/bin/env bash
# Status and body rules (#11): --retry-on (which statuses are retried),
# --ok-status (a status that is data: ok, exit 0), --fail-if EXPR (a 2xx
# whose body matches fails: http, body_rule), a body declared JSON that
# does not parse (flagged; an error with --strict-json).
source "$(dirname "$0")/lib.sh"
start_mock
F() { "$FLURRY" -q "$@"; }
# "status attempts kind/detail" per record, in input order
brief() { jq -rc '"\(.status) \(.attempts) \(.error.kind // "-")/\(.error.detail // "-")"'; }

test_ok_status() {
  local out rc
  out=$(printf '%s\n' "$BASE/status/404" "$BASE/status/410" | F --ordered --ok-status 404,410 | brief); rc=$?
  check "--ok-status 404,410: data, not errors" "$out" $'404 1 -/-\n410 1 -/-'
  printf '%s\n' "$BASE/status/404" "$BASE/status/410" | F --ok-status 404,410 > /dev/null; rc=$?
  check "--ok-status: exit 0" "$rc" "0"
  out=$(echo "$BASE/status/404" | F --ok-status 404 --shard 1/1 | jq -c .ok)
  check "--ok-status: ok:true in a keyed record" "$out" "true"
  out=$(printf '%s\n' "$BASE/status/503" "$BASE/status/404" | F --ordered --ok-status 5xx | brief)
  check "--ok-status 5xx: a class; other statuses still fail" "$out" $'503 1 -/-\n404 1 http/-'
}

test_retry_on() {
  local out
  out=$(echo "$BASE/flaky?key=a&fail=2&status=409" | F --retries 3 --retry-base 1ms --retry-on 409 | brief)
  check "--retry-on 409: retried until it succeeds" "$out" "200 3 -/-"
  out=$(echo "$BASE/flaky?key=b&fail=2&status=409" | F --retries 3 --retry-base 1ms | brief)
  check "without it 409 is not retried" "$out" "409 1 http/-"
  out=$(echo "$BASE/flaky?key=c&fail=1&status=503" | F --retries 3 --retry-base 1ms --retry-on 404,409 | brief)
  check "--retry-on replaces the default list (503 not retried)" "$out" "503 1 http/-"
  out=$(echo "$BASE/flaky?key=d&fail=1&status=502" | F --retries 3 --retry-base 1ms --retry-on 4xx,5xx | brief)
  check "--retry-on 5xx: a class" "$out" "200 2 -/-"
  out=$(echo "$BASE/flaky?key=e&fail=9&status=404" \
    | F --retries 2 --retry-base 1ms --retry-on 404 --ok-status 404 | brief)
  check "--retry-on and --ok-status: tried again, then the 404 is data" "$out" "404 3 -/-"
  out=$(echo "$BASE/flaky?key=f&fail=2&status=409" | F -X POST --retries 3 --retry-base 1ms --retry-on 409 | brief)
  check "--retry-on: a POST still needs --retry-post" "$out" "409 1 http/-"
}

test_fail_if() {
  local out rc
  out=$(printf '{"method":"POST","url":"%s","json":%s}\n' "$BASE/echo" '{"errors":[{"message":"no"}]}' \
    "$BASE/echo" '{"data":{"x":1}}' | F --ordered --fail-if '.body.errors' | brief)
  check "--fail-if: a 2xx whose body matches fails (http, body_rule)" "$out" $'200 1 http/body_rule\n200 1 -/-'
  printf '{"method":"POST","url":"%s/echo","json":{"errors":[1]}}\n' "$BASE" | F --fail-if '.body.errors' > /dev/null; rc=$?
  check "--fail-if: exit 1" "$rc" "1"
  out=$(echo "$BASE/status/404" | F --ok-status 404 --fail-if 'true' | brief)
  check "--fail-if: only on a 2xx" "$out" "404 1 -/-"
  out=$(echo "$BASE/json" | F --fail-if '.slideshow.author.x' | brief)
  check "--fail-if: an expression that fails on the body is a jq error" "$out" "200 1 invalid_request/jq"
  out=$(echo "$BASE/json" | F --fail-if '.a.b.c' | brief)
  check "--fail-if: null is no match" "$out" "200 1 -/-"
  out=$(echo "$BASE/items?per_page=2&total=4" | F --paginate link --items '.[]' --fail-if '.[0].id == 3' \
    | jq -rc 'if .error then "error \(.error.detail) page \(.page)" else "item \(.item.id)" end')
  check "--fail-if: a paginated line stops at the page that matches" "$out" $'item 1\nitem 2\nerror body_rule page 2'
}

# --attempts keeps the first 63 attempts and the last (70 here: ids 1-63, 70).
test_attempt_log_long() {
  echo "$BASE/status/503" |
    F --retries 69 --retry-base 1ms --retry-cap 1ms --retry-budget 0 --attempts >"$WORK/al"
  check "70 attempts: 64 in the log" "$(jq -c '[.attempts, (.attempt_log | length)]' "$WORK/al")" \
    '[70,64]'
  check "the last entry is the last attempt (the latest start)" \
    "$(jq '.attempt_log | (.[63].start_ms > .[62].start_ms) and all(.[]; .status == 503)' "$WORK/al")" \
    true
}

test_json_rules() {
  local out rc
  out=$(printf '%s\n' "$BASE/malformed" "$BASE/json" | F --ordered | jq -c '.invalid_json')
  check "a body declared JSON that does not parse is flagged" "$out" $'true\nnull'
  out=$(echo "$BASE/malformed" | F --no-body | jq -c '.invalid_json')
  check "... with --no-body too" "$out" "true"
  echo "$BASE/malformed" | F > /dev/null; rc=$?
  check "... and is no error without --strict-json" "$rc" "0"
  out=$(printf '%s\n' "$BASE/malformed" "$BASE/json" | F --ordered --strict-json | brief)
  check "--strict-json: an error (protocol, bad_json)" "$out" $'200 1 protocol/bad_json\n200 1 -/-'
  printf '%s\n' "$BASE/malformed" "$BASE/json" | F --strict-json --fail-if '.slideshow' \
    --stats-json "$WORK/st.json" > /dev/null
  check "the summary counts body_rule and bad_json" "$(jq -c .record_errors "$WORK/st.json")" \
    '{"body_rule":1,"bad_json":1}'
}

# --jitter none: the waits are exactly base, 2x, 4x... capped (the attempt
# log's wait_ms is the wait scheduled, not a measured time)
test_jitter_none() {
  local out
  out=$(echo "$BASE/flaky?key=j1&fail=5" \
    | F --retries 5 --retry-base 20ms --retry-cap 1s --jitter none --attempts \
    | jq -c '[.attempts, [.attempt_log[].wait_ms]]')
  check "--jitter none: 20, 40, 80, 160, 320 ms" "$out" "[6,[20,40,80,160,320,0]]"
  out=$(echo "$BASE/flaky?key=j2&fail=4" \
    | F --retries 4 --retry-base 20ms --retry-cap 50ms --jitter none --attempts \
    | jq -c '[.attempt_log[].wait_ms]')
  check "--jitter none: capped by --retry-cap" "$out" "[20,40,50,50,0]"
  out=$(echo "$BASE/flaky?key=j3&fail=1&status=429&retry_after=0" \
    | F --retries 2 --retry-base 20ms --jitter none --attempts | jq -c '[.attempt_log[].wait_ms]')
  check "--jitter none: Retry-After still wins" "$out" "[0,0]"
}

test_bad_values() {
  local bad rc err
  for bad in "--retry-on=3xx" "--retry-on=600" "--retry-on=404,,5xx" "--retry-on=" \
    "--ok-status=abc" "--ok-status=200" "--ok-status=4xx5"; do
    err=$("$FLURRY" "$bad" "$BASE/json" 2>&1 < /dev/null); rc=$?
    check "$bad: exit 2 naming the option" "$rc $(echo "$err" | grep -c -- "${bad%%=*} '")" "2 1"
  done
  err=$("$FLURRY" --jitter nothing "$BASE/json" 2>&1 < /dev/null); rc=$?
  check "--jitter nothing: exit 2 naming the option" "$rc $(echo "$err" | grep -c -- "--jitter 'nothing'")" "2 1"
  err=$("$FLURRY" --fail-if '.[' "$BASE/json" 2>&1 < /dev/null); rc=$?
  check "--fail-if with a bad expression: exit 2 naming the option" "$rc $(echo "$err" | grep -c -- "--fail-if '")" "2 1"
}

run_test test_ok_status
run_test test_retry_on
run_test test_fail_if
run_test test_json_rules
run_test test_attempt_log_long
run_test test_jitter_none
run_test test_bad_values
finish
