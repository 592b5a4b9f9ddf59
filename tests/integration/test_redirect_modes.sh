#!/usr/bin/env bash
# Credentials never follow a redirect to another origin, whatever the
# request's mode: plain, each --stream kind, pages, follow-ups, joins,
# JSON-line requests and the WebSocket upgrade. A (flurry mock) answers
# 302 to B (origin_b.py, another port), which logs every header it gets.
# Each mode must reach B (or, for the upgrade, nothing may), with the
# plain header and without any credential or the custom Host.
source "$(dirname "$0")/lib.sh"
start_mock
A=$BASE
enc() { jq -rn --arg u "$1" '$u | @uri'; }

start_origin_b "$WORK/port_b" "$WORK/b.log" "$A"
B=$STARTED_URL
to_b() { echo "$A/redirect-to?url=$(enc "$B$1")"; }

CREDS=(-H 'Authorization: Bearer SECRET_AUTH' -H 'Cookie: sid=SECRET_COOKIE'
       -H 'X-Api-Key: SECRET_KEY' -H 'X-Custom: SECRET_CUSTOM' --secret-header X-Custom
       -H 'Host: secret.internal' -H 'X-Plain: visible')
F() { "$FLURRY" -q "${CREDS[@]}" "$@"; }

# what B got for paths starting with $1: "N requests, plain P, leaked L"
seen_by_b() {
  jq -rs --arg p "$1" '
    [.[] | select(.path | startswith($p))] as $r
    | "\($r | length) requests, plain \([$r[] | select(.headers["x-plain"] == "visible")] | length), leaked \(
        [$r[] | .headers | to_entries[] | select((.value | test("SECRET|secret\\.internal")))] | length)"' \
    "$WORK/b.log" 2>/dev/null
}

# mode NAME PATH EXPECTED-REQUESTS: B's log for PATH
mode() {
  local n; n=$(seen_by_b "$2")
  check "$1: B got the plain header and no credential" "$n" "$3 requests, plain $3, leaked 0"
}

test_plain() {
  to_b /plain | F > "$WORK/plain.jsonl"
  check "plain: followed to B" "$(jq -r .status "$WORK/plain.jsonl")" 200
  mode plain /plain 1
}

test_streams() {
  to_b /ndjson | F --stream ndjson > "$WORK/nd.jsonl"
  check "--stream ndjson: B's record" "$(jq -c 'select(.seq) | .data' "$WORK/nd.jsonl")" '{"b":1}'
  mode "--stream ndjson" /ndjson 1
  to_b /lines | F --stream lines > "$WORK/ln.jsonl"
  check "--stream lines: B's record" "$(jq -c 'select(.seq) | .data' "$WORK/ln.jsonl")" '"{\"b\":1}"'
  mode "--stream lines" /lines 1
  # SSE: the stream ends after one event; each reconnect starts at A again.
  to_b /sse | F --stream sse --max-reconnects 2 --sse-retry 10ms > "$WORK/sse.jsonl"
  check "--stream sse: B's event on each of 3 connections" \
    "$(jq -c 'select(.seq) | .data' "$WORK/sse.jsonl" | sort | uniq -c | awk '{print $1, $2}')" '3 "{\"b\":1}"'
  mode "--stream sse" /sse 3
}

test_json_line_headers() {
  jq -cn --arg u "$(to_b /jsonl)" '{url: $u, headers: {"Authorization": "Bearer SECRET_LINE",
    "X-Plain": "visible"}}' | "$FLURRY" -q > "$WORK/jl.jsonl"
  check "JSON-line request: followed" "$(jq -r .status "$WORK/jl.jsonl")" 200
  mode "JSON-line request" /jsonl 1
  jq -cn --arg u "$(to_b /jsonls)" '{url: $u, headers: {"Authorization": "Bearer SECRET_LINE",
    "X-Plain": "visible"}}' | "$FLURRY" -q --stream ndjson > "$WORK/jls.jsonl"
  mode "JSON-line request, --stream ndjson" /jsonls 1
}

test_pages() {
  # page 1: A -> 302 -> B/page1, whose next link is A -> 302 -> B/page2
  to_b /page1 | F --paginate link --items '.[]' > "$WORK/pages.jsonl"
  check "pages: both pages' items" "$(jq -c .item "$WORK/pages.jsonl" | tr -d '\n')" '{"id":1}{"b":true}'
  mode "pages (first page)" /page1 1
  mode "pages (next page)" /page2 1
}

test_follow_ups() {
  echo "$A/users?total=2" | F --each '.[].id' "$(to_b /each)%3Fid%3D{}" > "$WORK/each.jsonl"
  check "follow-ups: two records" "$(grep -c . "$WORK/each.jsonl")" 2
  mode "follow-ups" /each 2
}

test_joins() {
  echo 7 | F --join a="$A/users/{}" --join b="$(to_b /join)%3Fu%3D{}" > "$WORK/join.jsonl"
  check "join: one record with both parts" "$(jq -c '[.body.a.id, .body.b[0].b]' "$WORK/join.jsonl")" '[7,true]'
  mode "join" /join 1
}

test_ws_upgrade() {
  local a_ws=${A/http:/ws:}
  echo hi | "$FLURRY" ws "${CREDS[@]:0:8}" -H 'X-Plain: visible' \
    "$a_ws/redirect-to?url=$(enc "$B/ws")" > "$WORK/ws.jsonl" 2>/dev/null
  check "WebSocket upgrade answered 302: refused, not followed" \
    "$(jq -r 'select(.type == "close") | .error.kind' "$WORK/ws.jsonl")" protocol
  check "WebSocket upgrade: B got nothing" "$(seen_by_b /ws)" "0 requests, plain 0, leaked 0"
}

run_test test_plain
run_test test_streams
run_test test_json_line_headers
run_test test_pages
run_test test_follow_ups
run_test test_joins
run_test test_ws_upgrade
# The whole log, once more: not one credential anywhere, whatever the path.
check "B's whole log: no credential" "$(seen_by_b / | sed 's/.*leaked/leaked/')" "leaked 0"
finish
