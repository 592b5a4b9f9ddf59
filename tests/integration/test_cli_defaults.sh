#!/usr/bin/env bash
# test_cli_defaults.sh: what curl and httpie users expect of the flurry
# command (issue #11): an error record names the method the line's request
# would have had (-X POST --json, or --json alone: POST); one URL argument
# with nothing piped in (a terminal, or empty stdin) makes one request;
# links taken from a page (--paginate, a next-URL, --each) are resolved
# against that page's own URL (RFC 3986). Needs jq and script(1) (a
# terminal for stdin).
. "$(dirname "$0")/lib.sh"

start_mock
F() { timeout 60 "$FLURRY" -q "$@"; }

test_error_record_method() {
  echo '{"x":1}' | F -X POST --json '{"a":{.nope}}' "$BASE/echo" >"$WORK/m1"
  check "-X POST --json: a line error says POST" "$(jq -c '[.method, .error.kind]' "$WORK/m1")" \
    '["POST","invalid_request"]'
  echo '{"x":1}' | F --json '{"a":{.nope}}' "$BASE/echo" >"$WORK/m2"
  check "--json (POST implied): a line error says POST" "$(jq -r .method "$WORK/m2")" POST
  echo '{"x":1}' | F -d 'a={.nope}' "$BASE/echo" >"$WORK/m3"
  check "-d (POST implied): a line error says POST" "$(jq -r .method "$WORK/m3")" POST
  echo '{"x":1}' | F --json '{"a":{.x}}' "$BASE/echo" >"$WORK/m4"
  check "--json: the request went as POST" "$(jq -c '[.method, .body.method]' "$WORK/m4")" \
    '["POST","POST"]'
}

test_one_url_no_input() {
  F "$BASE/json" </dev/null >"$WORK/o1"
  check "one URL, stdin /dev/null: one request" "$(jq -c '[.status, .line]' "$WORK/o1")" '[200,1]'
  true | F "$BASE/json" >"$WORK/o2"
  check "one URL, an empty pipe: one request" "$(jq -c .status "$WORK/o2" | paste -sd,)" 200
  printf '\n\n' | F "$BASE/json" >"$WORK/o3"
  check "one URL, only blank lines: one request" "$(jq -c .status "$WORK/o3" | paste -sd,)" 200
  seq 3 | F "$BASE/json" >"$WORK/o4"
  check "one URL, 3 lines piped: 3 requests (as before)" "$(wc -l <"$WORK/o4")" 3
  true | F "$BASE/users/{}" >"$WORK/o5"
  check "a template with a placeholder, nothing piped: no request" "$(wc -l <"$WORK/o5")" 0
  echo '{"a":1}' | F -X POST -d 'fixed' "$BASE/echo" >"$WORK/o6"
  check "a fixed body, one line: one request" "$(jq -r .body.body "$WORK/o6")" fixed
  # stdin a terminal: script(1) gives the command a pty and no input; the
  # old behaviour waited on it (the timeout would end it: exit 124).
  timeout 30 script -qec "'$FLURRY' -q '$BASE/json'" /dev/null </dev/null | tr -d '\r' >"$WORK/o7"
  check "one URL, stdin a terminal: one request, not a wait" \
    "$?/$(jq -c '[.status, .line]' "$WORK/o7" 2>/dev/null)" '0/[200,1]'
}

# RFC 3986 5.4: from /items/link, "cursor?..." is /items/cursor?...,
# "../users/7" is /users/7, "//HOST/json" keeps the scheme.
test_relative_links() {
  local hp=${BASE#http://}
  F "$BASE/items/link?next=x" --each "\"cursor?total=1&limit=1\", \"../users/7\", \"/users/8\",
    \"//$hp/json\"" '{}' </dev/null >"$WORK/r1"
  check "--each: links resolved against the page's URL" \
    "$(jq -r '"\(.url | sub("^http://[^/]*"; "")) \(.status)"' "$WORK/r1" | sort | paste -sd,)" \
    "/items/cursor?total=1&limit=1 200,/json 200,/users/7 200,/users/8 200"
  F "$BASE/items/link?next=x" --each '"7"' "$BASE/users/{}" </dev/null >"$WORK/r2"
  check "--each with a template of its own: as before" "$(jq -r .status "$WORK/r2")" 200
  F --paginate link "$BASE/items/link?next=cursor%3Ftotal%3D2" </dev/null >"$WORK/r3"
  check "--paginate link: a relative Link against the page's URL" \
    "$(jq -r 'select(.page == 2) | "\(.url | sub("^http://[^/]*"; "")) \(.status)"' "$WORK/r3")" \
    "/items/cursor?total=2 200"
  F --paginate '.meta.next_cursor | if . then "cursor?total=4&limit=2&cursor=" + . else null end' \
    "$BASE/items/cursor?total=4&limit=2" </dev/null >"$WORK/r4"
  check "--paginate EXPR: a relative next URL against the page's URL" \
    "$(jq -r '"\(.page) \(.url | sub("^http://[^/]*"; "")) \(.status)"' "$WORK/r4" | paste -sd,)" \
    "1 /items/cursor?total=4&limit=2 200,2 /items/cursor?total=4&limit=2&cursor=c2 200"
}

run_test test_error_record_method
run_test test_one_url_no_input
run_test test_relative_links
finish
