#!/usr/bin/env bash
# Pagination chains on the library's paginator, interrupted: after SIGINT
# a chain whose pages are known up front starts no more pages; each page
# is fetched or counted as not started, the count is one cancelled record
# of its line, and the mock saw no page the summary does not count.
source "$(dirname "$0")/lib.sh"
start_mock
stats() { curl -s "$BASE/items/stats?reset=1"; }

# Runs flurry ARGS... in the background with out.jsonl / s.json / err.txt,
# SIGINT once its first record is out (bounded wait), then waits for it.
interrupt_after_first_record() {
  rm -f "$WORK/out.jsonl" "$WORK/s.json"
  "$FLURRY" -q -o "$WORK/out.jsonl" --stats-json "$WORK/s.json" "$@" 2> "$WORK/err.txt" &
  local pid=$! i
  for i in $(seq 1 400); do [ -s "$WORK/out.jsonl" ] && break; sleep 0.05; done
  kill -INT "$pid"
  wait "$pid"
}

test_sigint_known_pages_fetched_or_not_started() {
  stats > /dev/null
  # 100 known pages (rel="last"), 4 at a time, each 300 ms
  interrupt_after_first_record -c 4 --paginate link --items '.[]' \
    "$BASE/items?per_page=10&total=1000&delay_ms=300"
  check "SIGINT: exit 130" "$?" 130
  local fetched not_started seen
  fetched=$(jq .requests "$WORK/s.json")
  not_started=$(jq .not_started "$WORK/s.json")
  seen=$(stats | jq .requests.items)
  check "SIGINT: pages fetched + not started = 100 ($fetched + $not_started)" \
    "$((fetched + not_started))" 100
  check "SIGINT: some pages not started" "$([ "$not_started" -gt 0 ] && echo yes)" yes
  check "SIGINT: the mock saw only the pages fetched" "$seen" "$fetched"
  check "SIGINT: one cancelled record names the pages not started" \
    "$(jq -s -c 'map(select(.error)) | map(.error.message)' "$WORK/out.jsonl")" \
    "[\"stopped: $not_started follow-up requests or pages not started\"]"
  check "SIGINT: the items of the pages fetched, once each" \
    "$(jq -s 'map(select(.item)) | [length, (map(.item.id) | unique | length)] | .[0] == .[1] and .[0] == 10 * '"$fetched"'' "$WORK/out.jsonl")" true
  check "SIGINT: no sanitizer report" "$(grep -v '^$' "$WORK/err.txt" | grep -v '^flurry: interrupted' | head -c 300)" ""
}

test_sigint_sequential_chain_starts_no_next_page() {
  stats > /dev/null
  interrupt_after_first_record --paginate .next --items '.items[]' \
    "$BASE/items/cursor?limit=10&total=1000&delay_ms=300"
  check "SIGINT, sequential: exit 130" "$?" 130
  local fetched
  fetched=$(jq .requests "$WORK/s.json")
  check "SIGINT, sequential: fewer than 100 pages" "$([ "$fetched" -lt 100 ] && echo yes)" yes
  check "SIGINT, sequential: the mock saw only the pages fetched" "$(stats | jq .requests.cursor)" "$fetched"
}

for t in $(declare -F | awk '{print $3}' | grep '^test_'); do run_test "$t"; done
finish
