#!/usr/bin/env bash
# test_graphql.sh: flurry --graphql against flurry mock's /graphql and
# /echo (issue #11): the POST {"query","variables"} with the line as the
# variables; a 200 with an errors array fails by default (http,
# graphql_errors, exit 1) and is data with --graphql-errors ok; cursor
# pages through pageInfo { hasNextPage endCursor } with --graphql-pages;
# @FILE; bad lines and bad options. Needs jq.
. "$(dirname "$0")/lib.sh"

start_mock
F() { timeout 60 "$FLURRY" -q "$@"; }
ITEMS='query($first: Int, $after: String, $total: Int) {
  items(first: $first, after: $after, total: $total) { nodes { id } pageInfo { hasNextPage endCursor } }
}'

test_body_and_headers() {
  printf '{"who":"ada","n":[1]}\n{"who":"bob"}\n' | F --graphql 'query($who: String) { echo }' \
    "$BASE/echo" >"$WORK/b"
  check "graphql: exit 0" "$?" 0
  check "graphql: POST {query, variables: the line}" \
    "$(jq -c '[.method, .body.body]' "$WORK/b" | head -1)" \
    '["POST",{"query":"query($who: String) { echo }","variables":{"who":"ada","n":[1]}}]'
  check "graphql: each line its variables" "$(jq -r .body.body.variables.who "$WORK/b" | paste -sd,)" \
    "ada,bob"
  check "graphql: Content-Type and Accept" \
    "$(jq -r '.body.headers | "\(."content-type")|\(.accept)"' "$WORK/b" | head -1)" \
    "application/json|application/graphql-response+json, application/json"
  F --graphql '{ echo }' "$BASE/graphql" </dev/null >"$WORK/b2"
  check "graphql: one URL, no input: one request, no variables" "$(jq -c .body "$WORK/b2")" \
    '{"data":{"echo":{}}}'
}

test_errors_fail() {
  F --graphql '{ fail }' "$BASE/graphql" </dev/null >"$WORK/e"
  check "errors: exit 1" "$?" 1
  check "errors: http, graphql_errors, the server's message" \
    "$(jq -c '[.status, .error.kind, .error.detail, (.error.message | test("field fail failed"))]' \
      "$WORK/e")" '[200,"http","graphql_errors",true]'
  check "errors: the body is kept" "$(jq -c .body.errors[0].path "$WORK/e")" '["fail"]'
  F --graphql '{ fail }' --graphql-errors ok "$BASE/graphql" </dev/null >"$WORK/e2"
  check "--graphql-errors ok: exit 0, no error" "$?/$(jq -c .error "$WORK/e2")" "0/null"
  F -X POST --json '{"query":"{ fail }"}' "$BASE/graphql" </dev/null >"$WORK/e3"
  check "the same POST without --graphql: a plain 200" "$?/$(jq -c .error "$WORK/e3")" "0/null"
}

test_cursor_pages() {
  echo '{"first":2,"total":5}' | F --graphql "$ITEMS" --graphql-pages .data.items \
    --items '.data.items.nodes[].id' "$BASE/graphql" >"$WORK/p"
  check "pages: exit 0" "$?" 0
  check "pages: every item once, pages 1-3" "$(jq -c '[.page, .item]' "$WORK/p" | paste -sd' ')" \
    "[1,1] [1,2] [2,3] [2,4] [3,5]"
  echo '{"first":2,"total":5}' | F --graphql "$ITEMS" --graphql-pages after=.data.items \
    "$BASE/echo" >"$WORK/p2"
  check "pages: the first page has no cursor (the endpoint /echo has no pageInfo)" \
    "$(jq -c '[.page, .body.body.variables]' "$WORK/p2")" '[1,{"first":2,"total":5}]'
  printf '%s\n' "$ITEMS" >"$WORK/q.graphql"
  echo '{"first":4,"total":9}' | F --graphql "@$WORK/q.graphql" --graphql-pages .data.items \
    --items '.data.items.nodes[].id' "$BASE/graphql" >"$WORK/p3"
  check "@FILE, 4 a page: 9 items on 3 pages" "$(jq -r '"\(.page):\(.item)"' "$WORK/p3" | paste -sd,)" \
    "1:1,1:2,1:3,1:4,2:5,2:6,2:7,2:8,3:9"
}

test_bad_line_and_usage() {
  printf '{"who":"ada"}\n[1,2]\n' | F --graphql '{ echo }' "$BASE/graphql" >"$WORK/l"
  check "a line that is not an object: invalid_request naming it, exit 1" \
    "$?/$(jq -r 'select(.error) | "\(.line) \(.method) \(.error.kind)"' "$WORK/l")" \
    "1/2 POST invalid_request"
  local opt
  for args in "--graphql|" "--graphql|@$WORK/missing.graphql" "--graphql-errors|maybe" \
    "--graphql-pages|data.items"; do
    opt=${args%%|*}
    "$FLURRY" --graphql '{ a }' "$opt" "${args#*|}" "$BASE/graphql" </dev/null >/dev/null \
      2>"$WORK/u"
    check "usage: $opt '${args#*|}' exits 2 naming it" "$?/$(grep -c -- "$opt" "$WORK/u")" 2/1
  done
  "$FLURRY" --graphql-pages .data.x "$BASE/graphql" </dev/null >/dev/null 2>"$WORK/u"
  check "usage: --graphql-pages without --graphql" "$?/$(grep -c -- '--graphql-pages' "$WORK/u")" 2/1
  "$FLURRY" --graphql '{ a }' --json '{}' "$BASE/graphql" </dev/null >/dev/null 2>&1
  check "usage: --graphql with --json" "$?" 2
  "$FLURRY" --graphql '{ a }' --graphql-pages '.data | bad syntax (' "$BASE/graphql" </dev/null \
    >/dev/null 2>"$WORK/u"
  check "usage: a bad --graphql-pages PATH names the option" \
    "$?/$(grep -c -- '--graphql-pages' "$WORK/u")" 2/1
}

run_test test_body_and_headers
run_test test_errors_fail
run_test test_cursor_pages
run_test test_bad_line_and_usage
finish
