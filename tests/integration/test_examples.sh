#!/usr/bin/env bash
# Every examples/*.c program against `flurry mock` on port 0: each must exit
# 0 and print its key line. CTest sets FLURRY (the flurry binary) and
# EXAMPLES_DIR (where example_NAME binaries are built).
source "$(dirname "$0")/lib.sh"
: "${EXAMPLES_DIR:?set EXAMPLES_DIR to the directory holding example_NAME}"
SRC_DIR="$(cd "$(dirname "$0")/../../examples" && pwd)"

if ! ls "$EXAMPLES_DIR"/example_* >/dev/null 2>&1; then
  echo "skipped: no example binaries in $EXAMPLES_DIR (FLURRY_BUILD_EXAMPLES=OFF?)"
  exit 0
fi
start_mock
OTHER_PID=""
trap '[ -n "$OTHER_PID" ] && kill "$OTHER_PID" 2>/dev/null; cleanup' EXIT

# run_example NAME [ARGS...]: runs it with a time limit; sets OUT and RC.
run_example() {
  local name=$1
  shift
  OUT=$(timeout 60 "$EXAMPLES_DIR/example_$name" "$@" 2>&1)
  RC=$?
}

# expect_line NAME PATTERN [TEXT]: TEXT (default: OUT) has a line matching
# the extended regex.
expect_line() {
  local text=${3-$OUT}
  if grep -Eq -- "$2" <<<"$text"; then pass "$1: prints /$2/"; else
    fail "$1" "no line matching /$2/ in:"$'\n'"$text"
  fi
}

# lines_of LABEL: the lines OUT holds for LABEL: the line starting with it
# and the indented ones after it.
lines_of() {
  awk -v label="$1" 'index($0, label) == 1 { on = 1; print; next } /^[^ ]/ { on = 0 } on' <<<"$OUT"
}

# at_least NAME VALUE MIN WHAT: VALUE is an integer >= MIN.
at_least() {
  if [[ $2 =~ ^[0-9]+$ ]] && [ "$((10#$2))" -ge "$3" ]; then pass "$1: $4 >= $3 ($2)"; else
    fail "$1" "$4 is ${2:-?}, expected >= $3, in:"$'\n'"$OUT"
  fi
}

test_gather() {
  run_example gather "$BASE"
  check "gather: exit status" "$RC" 0
  expect_line gather '^gathered 20/20 ok, in input order$'
  # Results come back in input order: line i is /users/(i+1).
  local urls want
  urls=$(grep -Eo '/users/[0-9]+ ->' <<<"$OUT" | tr -d ' >-' | tr '\n' ' ')
  want=$(for i in $(seq 1 20); do printf '/users/%d ' "$i"; done)
  check "gather: results in input order" "$urls" "$want"
}

test_bounded() {
  run_example bounded "$BASE"
  check "bounded: exit status" "$RC" 0
  expect_line bounded '^completed 1000/1000 \(1000 ok, 0 failed\)'
  expect_line bounded '^submitted 1000, running at most 50 at once$'
  # 1000 requests of 10 ms, 50 at a time: no faster than 200 ms.
  local ms
  ms=$(sed -nE 's/^completed .* in ([0-9]+) ms$/\1/p' <<<"$OUT")
  at_least bounded "$ms" 195 "ms taken (the in-flight limit)"
}

test_errors() {
  run_example errors "$BASE"
  check "errors: exit status" "$RC" 0
  expect_line errors '^5/5 requests ended as expected$'
  expect_line errors '/status/404 +error http +status 404'
  expect_line errors '127\.0\.0\.1:1/ +error connect'
  expect_line errors '/delay/5000 +error timeout'
  expect_line errors '/json +ok, status 200'
}

test_post_json() {
  run_example post_json "$BASE"
  check "post_json: exit status" "$RC" 0
  expect_line post_json '^echoed: POST with our JSON body$'
  expect_line post_json '"body":\{"name":"Ada Lovelace","year":1843'
}

test_client() {
  run_example client "$BASE"
  check "client: exit status" "$RC" 0
  expect_line client '^authorization header sent: yes$'
  expect_line client '^4/4 ok with one client$'
  expect_line client '/delay/1500 +200 in'
}

test_embed_loop() {
  run_example embed_loop "$BASE"
  check "embed_loop: exit status" "$RC" 0
  expect_line embed_loop 'alongside 5/5 ok responses, uv_loop_close clean$'
  # The timer ticked while requests were pending: some tick saw 1..5 of them
  # (the first is due at 100 ms, the last response takes 1 s at the mock;
  # tick 1 itself may come late on a loaded machine)
  expect_line embed_loop '^tick [0-9]+: [1-5] request\(s\) pending$'
}

test_retry() {
  run_example retry "$BASE"
  check "retry: exit status" "$RC" 0
  expect_line retry '^8/8 requests retried as expected$'
  expect_line retry '^GET  fail=2 +-> ok, status 200, 3 attempt\(s\)'
  expect_line retry '^    attempt 3: 200 ok '
  expect_line retry '^GET  fail=100 +-> http, status 503, 4 attempt\(s\)'
  expect_line retry '^    out of attempts, detail "": HTTP 503'
  # Waits that fit in the deadline or not: the retry refused when it is
  # decided and the one whose timer fires late past the deadline end alike.
  expect_line "retry, deadline 400 ms" \
    '^    stopped early, detail "deadline": .*\(the next attempt would start past the deadline\)$' \
    "$(lines_of 'GET  fail=100, deadline 400 ms ')"
  # A first wait longer than the deadline: refused when it is decided,
  # whatever the timing, after the one attempt.
  local dl
  dl=$(lines_of 'GET  fail=100, deadline 3 s, waits 10 s ')
  expect_line "retry, deadline 3 s" ' -> (http, status 503|timeout, status 0), 1 attempt\(s\), ' "$dl"
  expect_line "retry, deadline 3 s" \
    '^    stopped early, detail "deadline": .*\(the next attempt would start past the deadline\)$' "$dl"
  expect_line retry '^POST fail=1 +-> http, status 503, 1 attempt\(s\)'
  expect_line retry '^    not retried, detail "": HTTP 503'
  expect_line retry '^POST fail=1, RETRY_UNSAFE +-> ok, status 200, 2 attempt\(s\)'
  expect_line retry '^POST fail=1, Idempotency-Key +-> ok, status 200, 2 attempt\(s\)'
  # Retry-After: 1 is honoured: the first wait is the server's second, and
  # the request took that long.
  local ra wait ms
  ra=$(grep -A1 '^GET  fail=1, Retry-After: 1' <<<"$OUT")
  wait=$(sed -nE 's/^ +attempt 1: 503 http .*then wait +([0-9]+) ms$/\1/p' <<<"$ra")
  ms=$(sed -nE 's/.* attempt\(s\), ([0-9]+) ms$/\1/p' <<<"$ra")
  at_least retry "$wait" 1000 "ms waited after Retry-After: 1"
  at_least retry "$ms" 1000 "ms taken with Retry-After: 1"
}

test_rate_limit() {
  run_example rate_limit "$BASE"
  check "rate_limit: exit status" "$RC" 0
  expect_line rate_limit '^rate limits behaved as expected$'
  expect_line rate_limit '^limit 20/s vs a 20/s server: +40 requests in .*: 40 ok, 0 x 429$'
  expect_line rate_limit '^no limit vs a 20/s server: +40 requests in .*: [0-9]+ ok, [1-9][0-9]* x 429$'
  expect_line rate_limit '^auto vs a 50/s server: +150 requests in .*: 150 ok, [0-9]+ x 429$'
  expect_line rate_limit '^  t=[0-9.]+ s  rate +[1-9][0-9.]* req/s'
  # 40 starts, evenly spaced at 20/s: 39 gaps of 50 ms.
  local cs
  cs=$(sed -nE 's/^limit 20\/s .* in ([0-9]+)\.([0-9]+) s .*/\1\2/p' <<<"$OUT")
  at_least rate_limit "$cs" 190 "centiseconds for 40 starts at 20/s"
}

test_paginate() {
  start_mock_at "$WORK/port2" # a second instance: another origin
  OTHER_PID=$STARTED_PID
  OTHER=$STARTED_URL
  run_example paginate "$BASE" "$OTHER"
  check "paginate: exit status" "$RC" 0
  # 1,000 items in 20 pages: page 1 gives rel="last", 19 go out at once
  expect_line paginate '^one list: 20 pages \(19 known up front\), 1000 items, each once: yes$'
  local max
  max=$(sed -nE 's/^the server had up to ([0-9]+) pages in flight at once$/\1/p' <<<"$OUT")
  at_least paginate "$max" 2 "pages in flight at the mock (total known)"
  expect_line paginate '^20 lists at once: 20/20 complete, 100 pages \(80 known up front\), 1000 items, each once$'
  expect_line paginate '^next URL in the body: 10 pages, 1000 items, each once: yes$'
  expect_line paginate '^loop: stopped after 3 pages: protocol/pagination_cycle$'
  expect_line paginate '^Authorization sent to page 1: yes; to page 2 at another origin: no$'
  kill "$OTHER_PID" 2>/dev/null
  wait "$OTHER_PID" 2>/dev/null
  OTHER_PID=""
}

test_fan_out() {
  run_example fan_out "$BASE"
  check "fan_out: exit status" "$RC" 0
  expect_line fan_out '^103 requests: 1 list, 50 users. posts, 52 posts. comments$'
  expect_line fan_out '^posts listed 101, 49 of them already fetched \(skipped\), comments 104$'
  expect_line fan_out '^provenance: every request names its parent and path: yes$'
  expect_line fan_out '^fan-out matches the mock.s data$'
}

test_join() {
  run_example join "$BASE"
  check "join: exit status" "$RC" 0
  expect_line join '^joined 11/11 users, 1 with a failed part$'
  expect_line join '^\{"user":0,"error":"part profile: HTTP 404 Not Found"\}$'
  expect_line join '^\{"user":3,"profile":\{"id":3,.*"posts":\[\{"id":3,"title":"Post 3"\}\],"comments":\['
}

test_stream_ndjson() {
  run_example stream_ndjson "$BASE"
  check "stream_ndjson: exit status" "$RC" 0
  expect_line stream_ndjson '^/ndjson\?n=1000 +-> ok, status 200, 1000 records, sum 500500, end eof$'
  expect_line stream_ndjson '-> ok, status 200, 100 records, sum 5050, end stopped$'
  expect_line stream_ndjson '^both feeds read as expected$'
}

test_sse() {
  run_example sse "$BASE"
  check "sse: exit status" "$RC" 0
  expect_line sse '^event tick id 12: tick 12 \(\+6 bytes\)$'
  expect_line sse '^stream ended: ok, 12 events, 3 reconnects, end no_content$'
  expect_line sse '^every event exactly once, in order$'
}

test_ws_echo() {
  run_example ws_echo "$BASE"
  check "ws_echo: exit status" "$RC" 0
  expect_line ws_echo '^echo 2: text "two"$'
  expect_line ws_echo '^echo 3: 3 bytes$'
  expect_line ws_echo '^closed: code 1000 by the client$'
  run_example ws_echo "http://127.0.0.1:1"
  check "ws_echo without a server: exit status" "$RC" 1
  expect_line "ws_echo without a server" '^error: connect: '
}

# The checks can fail: with nothing listening the examples say so and exit 1.
test_examples_report_failure() {
  run_example gather "http://127.0.0.1:1"
  check "gather without a server: exit status" "$RC" 1
  expect_line "gather without a server" '^gathered 0/20 ok'
  expect_line "gather without a server" 'error connect'
  run_example post_json "not a url"
  check "post_json with a bad base URL: exit status" "$RC" 2
  run_example retry "http://127.0.0.1:1"
  check "retry without a server: exit status" "$RC" 1
  expect_line "retry without a server" '^0/8 requests retried as expected$'
  run_example rate_limit "not a url"
  check "rate_limit with a bad base URL: exit status" "$RC" 2
  local name
  for name in paginate fan_out join stream_ndjson sse; do
    run_example "$name" "http://127.0.0.1:1"
    check "$name without a server: exit status" "$RC" 1
  done
}

# Every example has a test here (a new one without a test fails).
test_every_example_covered() {
  local src name
  for src in "$SRC_DIR"/*.c; do
    name=$(basename "$src" .c)
    if declare -F "test_$name" >/dev/null; then pass "example $name has a test"; else
      fail "example $name" "no test_$name in $0"
    fi
    [ -x "$EXAMPLES_DIR/example_$name" ] || fail "example $name" "not built"
  done
}

test_every_example_covered
test_gather
test_bounded
test_errors
test_post_json
test_client
test_embed_loop
test_retry
test_rate_limit
test_paginate
test_fan_out
test_join
test_stream_ndjson
test_sse
test_ws_echo
test_examples_report_failure
finish
