#!/usr/bin/env bash
# --fail-fast (#11): the first failed request cancels the rest, running
# and queued, each recorded as cancelled; input not read yet stays unread;
# exit 1. /hang never answers: those requests can only end by being
# cancelled (or by --timeout, without --fail-fast).
source "$(dirname "$0")/lib.sh"
start_mock
# "kind" per record, sorted: the order of completion does not matter
kinds() { jq -r '.error.kind // "ok"' | sort | uniq -c | awk '{print $2 "=" $1}' | paste -sd' '; }

test_cancels_the_rest() {
  local out rc
  out=$(printf '%s\n' "$BASE/hang" "$BASE/hang" "$BASE/hang" "$BASE/status/500" "$BASE/json" "$BASE/json" \
    | "$FLURRY" -q -c 4 --fail-fast --timeout 60s); rc=$?
  check "--fail-fast: 3 running and 2 queued cancelled by the 500" "$(echo "$out" | kinds)" "cancelled=5 http=1"
  check "--fail-fast: exit 1" "$rc" "1"
  check "--fail-fast: the failure is the 500" \
    "$(echo "$out" | jq -r 'select(.error.kind == "http") | .status')" "500"
}

test_without_it() {
  local out rc
  out=$(printf '%s\n' "$BASE/hang" "$BASE/status/500" "$BASE/json" \
    | "$FLURRY" -q -c 4 --timeout 300ms); rc=$?
  check "without --fail-fast the rest goes on" "$(echo "$out" | kinds)" "http=1 ok=1 timeout=1"
}

test_input_left_unread() {
  local out rc n
  out=$({ echo "$BASE/status/404"; for _ in $(seq 1 500); do echo "$BASE/json"; done; } \
    | "$FLURRY" -q -c 1 --fail-fast); rc=$?
  n=$(echo "$out" | wc -l)
  check "--fail-fast: stops reading (fewer records than lines)" "$([ "$n" -lt 501 ] && echo yes)" "yes"
  check "--fail-fast: one failure, every other record cancelled" "$(echo "$out" | kinds)" \
    "cancelled=$((n - 1)) http=1"
  check "--fail-fast: exit 1" "$rc" "1"
}

test_all_ok() {
  local out rc
  out=$(printf '%s\n' "$BASE/json" "$BASE/json" "$BASE/status/404" | "$FLURRY" -q --fail-fast --ok-status 404); rc=$?
  check "--fail-fast with no failure: everything, exit 0" "$(echo "$out" | kinds) $rc" "ok=3 0"
}

test_with_body_rule() {
  local out
  out=$(printf '%s\n' "$BASE/hang" "$BASE/json" | "$FLURRY" -q -c 2 --fail-fast --fail-if '.slideshow')
  check "--fail-fast: a --fail-if failure counts" "$(echo "$out" | kinds)" "cancelled=1 http=1"
}

test_join() {
  local out rc
  # a join's record (and its failure) comes when its last part is back
  out=$(printf '%s\n' "$BASE/status/500" "$BASE/hang" \
    | "$FLURRY" -q -c 4 --fail-fast --join a='{}' --join b="$BASE/json"); rc=$?
  check "--fail-fast with --join: a failed line cancels the other line's parts" \
    "$(echo "$out" | jq -r '.parts.a.error.kind // "ok"' | sort | paste -sd' ') $rc" "cancelled http 1"
}

run_test test_cancels_the_rest
run_test test_without_it
run_test test_input_left_unread
run_test test_all_ok
run_test test_with_body_rule
run_test test_join
finish
