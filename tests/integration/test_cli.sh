#!/usr/bin/env bash
# The real flurry binary against `flurry mock` on port 0.
source "$(dirname "$0")/lib.sh"
start_mock
F() { "$FLURRY" -q "$@"; }

test_one_record_per_line() {
  local statuses=(200 200 404 500 503 201 204)
  for i in $(seq 1 700); do echo "$BASE/status/${statuses[$((i % 7))]}?i=$i"; done > "$WORK/in.txt"
  F -c 50 < "$WORK/in.txt" > "$WORK/out.jsonl"; local rc=$?
  check "one record per line: count" "$(wc -l < "$WORK/out.jsonl")" 700
  check "one record per line: ids are exactly 1..700" \
    "$(jq -s '[.[].id] | sort == [range(1;701)]' "$WORK/out.jsonl")" true
  check "one record per line: every line is whole JSON" "$(jq -c . "$WORK/out.jsonl" | wc -l)" 700
  check "some failed: exit 1" "$rc" 1
  check "status errors typed http" \
    "$(jq -s 'map(select(.status >= 400)) | all(.error.kind == "http")' "$WORK/out.jsonl")" true
  check "successes carry no error" \
    "$(jq -s 'map(select(.status < 400)) | all(has("error") | not)' "$WORK/out.jsonl")" true
}

test_all_ok_exit_0() {
  seq 1 100 | F -c 20 "$BASE/users/{}" > "$WORK/users.jsonl"
  check "all ok: exit 0" "$?" 0
  check "template {} fills the URL" "$(jq -s 'map(.body.id == .id) | all' "$WORK/users.jsonl")" true
}

test_ordered() {
  # later lines answer sooner: completion order is reversed, --ordered restores it
  for i in $(seq 1 60); do echo "$BASE/delay/$(( (60 - i) * 5 ))"; done > "$WORK/rev.txt"
  F -c 60 < "$WORK/rev.txt" | jq -s -c '[.[].id]' > "$WORK/unordered"
  F -c 60 --ordered < "$WORK/rev.txt" | jq -s -c '[.[].id]' > "$WORK/ordered"
  check "--ordered keeps input order" "$(cat "$WORK/ordered")" "$(seq 1 60 | jq -s -c .)"
  check "completion order differs without --ordered" \
    "$([ "$(cat "$WORK/unordered")" != "$(cat "$WORK/ordered")" ] && echo yes)" yes
  check "--ordered with a window smaller than the input" \
    "$(F -c 4 --ordered --reorder-window 4 < "$WORK/rev.txt" | jq -s -c '[.[].id]')" \
    "$(seq 1 60 | jq -s -c .)"
}

test_connection_refused() {
  echo "http://127.0.0.1:1/nothing" | F > "$WORK/refused.jsonl"
  check "connection refused: exit 1" "$?" 1
  check "connection refused: kind connect" "$(jq -r .error.kind "$WORK/refused.jsonl")" connect
}

test_timeouts() {
  # the response would come after 60 s: stopping before 30 s (100 times the
  # timeout, a margin for a loaded machine) is the timeout's doing
  echo "$BASE/delay/60000" | F --timeout 300ms > "$WORK/timeout.jsonl"
  check "total timeout: kind timeout" "$(jq -r .error.kind "$WORK/timeout.jsonl")" timeout
  # (>= 250 ms: libcurl's clock and the record's differ by a fraction of a ms)
  check "total timeout: not an immediate failure, well before the response" \
    "$(jq '.elapsed_ms >= 250 and .elapsed_ms < 30000' "$WORK/timeout.jsonl")" true
  echo "{\"url\":\"$BASE/delay/5000\",\"timeout\":0.3}" | F > "$WORK/timeout2.jsonl"
  check "per-request timeout field" "$(jq -r .error.kind "$WORK/timeout2.jsonl")" timeout
}

test_bad_input_lines() {
  printf '%s\n' "$BASE/json" "not a url" '{"url": 5}' '{broken json' \
    "{\"url\":\"$BASE/json\",\"hedaers\":{}}" "{\"url\":\"$BASE/json\",\"headers\":{\"X-A\":\"a\\r\\nX-Injected: 1\"}}" \
    "ftp://127.0.0.1/file" > "$WORK/bad.txt"
  F < "$WORK/bad.txt" > "$WORK/bad.jsonl"
  check "bad lines: exit 1" "$?" 1
  check "bad lines: one record each" "$(wc -l < "$WORK/bad.jsonl")" 7
  check "bad lines: typed invalid_request" \
    "$(jq -s -c 'map(select(.error.kind == "invalid_request") | .line) | sort' "$WORK/bad.jsonl")" \
    "[2,3,4,5,6,7]"
  check "bad lines: message names the line" \
    "$(jq -r 'select(.line == 3) | .error.message' "$WORK/bad.jsonl")" \
    'line 3: "url" is missing or not a string'
  check "bad lines: unknown field named" \
    "$(jq -r 'select(.line == 5) | .error.message | test("hedaers")' "$WORK/bad.jsonl")" true
  check "bad lines: header with CR LF rejected" \
    "$(jq -r 'select(.line == 6) | .error.message | test("CR, LF")' "$WORK/bad.jsonl")" true
  check "bad lines: the good line still ran" "$(jq -r 'select(.line == 1) | .status' "$WORK/bad.jsonl")" 200
  F --strict < "$WORK/bad.txt" > /dev/null 2>&1
  check "--strict: exit 2" "$?" 2
}

test_large_bodies() {
  echo "$BASE/bytes/5000000" | F > "$WORK/big.jsonl"
  check "large body: all bytes" "$(jq .bytes "$WORK/big.jsonl")" 5000000
  check "binary body as base64" "$(jq -r '.body_base64 | length' "$WORK/big.jsonl")" 6666668
  echo "$BASE/bytes/5000000" | F --max-size 1M > "$WORK/toolarge.jsonl"
  check "--max-size: too_large" "$(jq -r .error.kind "$WORK/toolarge.jsonl")" too_large
  echo "$BASE/bytes/100" | F --no-body > "$WORK/nobody.jsonl"
  check "--no-body omits the body" "$(jq -c '[has("body"), has("body_base64"), .bytes]' "$WORK/nobody.jsonl")" \
    '[false,false,100]'
}

test_post_json_round_trip() {
  echo "{\"id\":\"a1\",\"method\":\"POST\",\"url\":\"$BASE/echo\",\"json\":{\"name\":\"ada\",\"n\":[1,2]},\"headers\":{\"X-Trace\":\"t1\"}}" \
    | F > "$WORK/echo.jsonl"
  check "JSONL POST: method" "$(jq -r .body.method "$WORK/echo.jsonl")" POST
  check "JSONL POST: body round trip" "$(jq -c .body.body "$WORK/echo.jsonl")" '{"name":"ada","n":[1,2]}'
  check "JSONL POST: content type" "$(jq -r '.body.headers["content-type"]' "$WORK/echo.jsonl")" application/json
  check "JSONL POST: header sent" "$(jq -r '.body.headers["x-trace"]' "$WORK/echo.jsonl")" t1
  check "JSONL POST: id kept" "$(jq -r .id "$WORK/echo.jsonl")" a1
  seq 1 3 | F --ordered --json '{"n":{}}' "$BASE/echo" > "$WORK/echo2.jsonl"
  check "--json template body" "$(jq -s -c 'map(.body.body.n)' "$WORK/echo2.jsonl")" '[1,2,3]'
  check "--json implies POST" "$(jq -s -c 'map(.method) | unique' "$WORK/echo2.jsonl")" '["POST"]'
}

test_reused_handle_forgets_the_last_request() {
  # -c 1: every request runs on the one pooled easy handle, after another kind
  printf '%s\n' \
    "{\"method\":\"POST\",\"url\":\"$BASE/echo?n=1\",\"json\":{\"a\":1},\"headers\":{\"X-One\":\"1\"}}" \
    "$BASE/echo?n=2" \
    "{\"method\":\"DELETE\",\"url\":\"$BASE/echo?n=3\"}" \
    "{\"method\":\"HEAD\",\"url\":\"$BASE/echo?n=4\"}" \
    "$BASE/echo?n=5" \
    "{\"url\":\"$BASE/delay/2000?n=6\",\"timeout\":0.2}" \
    "$BASE/delay/400?n=7" > "$WORK/reuse.txt"
  F -c 1 --ordered < "$WORK/reuse.txt" > "$WORK/reuse.jsonl"
  check "reused handle: methods as asked" \
    "$(jq -s -c 'map(.body.method // .status)' "$WORK/reuse.jsonl")" '["POST","GET","DELETE",200,"GET",null,200]'
  check "reused handle: a GET after a POST sends no body" \
    "$(jq -s -c '[.[1].body.body, .[4].body.body]' "$WORK/reuse.jsonl")" '["",""]'
  check "reused handle: a request's header stays with it" \
    "$(jq -s -c 'map(.body.headers["x-one"] // null) | .[0:3]' "$WORK/reuse.jsonl")" '["1",null,null]'
  check "reused handle: a GET after a HEAD has its body" \
    "$(jq -s -c '[.[3].bytes, (.[4].bytes > 0)]' "$WORK/reuse.jsonl")" '[0,true]'
  check "reused handle: the request's own timeout" "$(jq -s -r '.[5].error.kind' "$WORK/reuse.jsonl")" timeout
  check "reused handle: the next one has the default timeout again" \
    "$(jq -s -c '[.[6].status, .[6].error.kind]' "$WORK/reuse.jsonl")" '[200,null]'
}

test_template_fields() {
  echo '{"id":7,"q":"a b&c"}' | F "$BASE/echo?q={.q}" > "$WORK/tpl.jsonl"
  check "{.field} is percent-encoded" "$(jq -r .body.query.q "$WORK/tpl.jsonl")" "a b&c"
  check "id from the JSON line" "$(jq -r .id "$WORK/tpl.jsonl")" 7
  echo '{"x":1}' | F "$BASE/echo?q={.missing}" > "$WORK/tpl2.jsonl"
  check "missing field: error record" "$(jq -r .error.message "$WORK/tpl2.jsonl")" \
    "line 1: field .missing is missing or null"
}

test_redirects() {
  echo "$BASE/redirect/3" | F > "$WORK/redir.jsonl"
  check "redirects followed" "$(jq -r .status "$WORK/redir.jsonl")" 200
  check "effective URL recorded" "$(jq -r '.effective_url | endswith("/json")' "$WORK/redir.jsonl")" true
  echo "$BASE/redirect/3" | F --max-redirects 1 > "$WORK/redir2.jsonl"
  check "too many redirects: typed error" "$(jq -r .error.kind "$WORK/redir2.jsonl")" protocol
  local port=${BASE##*:}
  echo "$BASE/redirect-to?url=http://localhost:$port/headers" \
    | F -H 'Authorization: Bearer secret' --headers > "$WORK/cross.jsonl"
  check "cross-origin redirect: no Authorization" \
    "$(jq -r '.body.headers | has("authorization")' "$WORK/cross.jsonl")" false
  echo "$BASE/headers" | F -H 'Authorization: Bearer secret' > "$WORK/same.jsonl"
  check "same origin: Authorization sent" \
    "$(jq -r '.body.headers.authorization' "$WORK/same.jsonl")" "Bearer secret"
}

test_retries() {
  seq 1 10 | F --retries 3 --retry-base 10ms "$BASE/flaky?key=r{}&fail=2" > "$WORK/flaky.jsonl"
  check "retries: all succeed" "$(jq -s 'map(.status) | unique' -c "$WORK/flaky.jsonl")" "[200]"
  check "retries: 3 attempts each" "$(jq -s 'map(.attempts) | unique' -c "$WORK/flaky.jsonl")" "[3]"
  seq 1 3 | F --retries 1 --retry-base 10ms "$BASE/flaky?key=s{}&fail=5" > "$WORK/flaky2.jsonl"
  check "retries exhausted: http error, 2 attempts" \
    "$(jq -s -c 'map([.error.kind, .attempts]) | unique' "$WORK/flaky2.jsonl")" '[["http",2]]'
  echo "{\"method\":\"POST\",\"url\":\"$BASE/flaky?key=p1&fail=1\",\"json\":{}}" | F --retries 3 > "$WORK/post.jsonl"
  check "POST not retried by default" "$(jq -c '[.status, .attempts]' "$WORK/post.jsonl")" "[503,1]"
  echo "{\"method\":\"POST\",\"url\":\"$BASE/flaky?key=p2&fail=1\",\"json\":{}}" \
    | F --retries 3 --retry-base 10ms --retry-post > "$WORK/post2.jsonl"
  check "--retry-post retries POST" "$(jq -c '[.status, .attempts]' "$WORK/post2.jsonl")" "[200,2]"
}

test_rate_limit() {
  # 2/s against the server's 5/s: a start may come up to 300 ms late (a
  # loaded machine) and still leave the bucket a token
  seq 1 8 | F -c 8 --rate 2/s "$BASE/limited?rate=5&burst=1&k={}" > "$WORK/rate.jsonl"
  check "--rate keeps under the server's limit" \
    "$(jq -s 'map(select(.status == 429)) | length' "$WORK/rate.jsonl")" 0
  sleep 1
  seq 1 8 | F -c 8 "$BASE/limited?rate=5&burst=1&k={}" > "$WORK/norate.jsonl"
  check "without --rate the server says 429 (the check can fail)" \
    "$(jq -s 'map(select(.status == 429)) | length > 0' "$WORK/norate.jsonl")" true
}

test_headers_and_timings() {
  echo "$BASE/json" | F --headers --timings > "$WORK/h.jsonl"
  check "--headers" "$(jq -r '.headers["content-type"]' "$WORK/h.jsonl")" application/json
  check "--timings" "$(jq -c '.timings | keys' "$WORK/h.jsonl")" \
    '["connect_ms","dns_ms","first_byte_ms","tls_ms","total_ms"]'
}

test_usage_errors() {
  F --concurrency 0 < /dev/null > /dev/null 2>&1
  check "bad option value: exit 2" "$?" 2
  F --no-such-option < /dev/null > /dev/null 2>&1
  check "unknown option: exit 2" "$?" 2
  F --input "$WORK/does-not-exist" > /dev/null 2>&1
  check "missing input file: exit 2" "$?" 2
  "$FLURRY" --timeout 10s < /dev/null > "$WORK/empty.jsonl" 2> "$WORK/empty.err"
  check "empty input: exit 0" "$?" 0
  check "empty input: no records" "$(wc -l < "$WORK/empty.jsonl")" 0
  "$FLURRY" --help | grep -q "seq 1 1000"
  check "--help teaches by example" "$?" 0
  # A bad value is refused when parsed, naming the option and the range
  # (the library's own range for library options).
  local spec opt val want
  for spec in "--retry-cap|2h|from 1ms to 1h" "--timeout|0|from 1ms to 168h" \
              "--max-size|2T|from 1 to 1024G" "--retries|1000|from 0 to 999" \
              "--burst|0|from 1 to 1000000" "--max-pages|0|from 1 to" \
              "--breaker-cooldown|2h|from 1ms to 1h" "--max-record|8|from 16 to 1G" \
              "--jitter|sometimes|expected full, decorrelated or none" "--rate|fast|expected auto or a rate"; do
    IFS='|' read -r opt val want <<<"$spec"
    F "$opt" "$val" < /dev/null > /dev/null 2> "$WORK/opt.err"
    check "$opt $val: exit 2" "$?" 2
    check "$opt $val: names the option and what it wants" \
      "$(grep -cF -- "flurry: $opt '$val': " "$WORK/opt.err")/$(grep -cF -- "$want" "$WORK/opt.err")" 1/1
  done
}

test_input_is_lazy() {
  # The first record must come out while the producer is still writing: the
  # producer writes its second line only once the first record is in the
  # output (or after 20 s, and then says so), not after a fixed sleep.
  mkfifo "$WORK/fifo"
  : > "$WORK/lazy.jsonl"
  ( echo "$BASE/json"
    for _ in $(seq 1 400); do [ "$(wc -l < "$WORK/lazy.jsonl")" -ge 1 ] && break; sleep 0.05; done
    [ "$(wc -l < "$WORK/lazy.jsonl")" -ge 1 ] && echo yes > "$WORK/lazy.seen" || echo no > "$WORK/lazy.seen"
    echo "$BASE/json" ) > "$WORK/fifo" &
  local ppid=$!
  F < "$WORK/fifo" > "$WORK/lazy.jsonl"
  wait "$ppid"
  check "lazy input: first record written before the producer's second line" "$(cat "$WORK/lazy.seen")" yes
  check "lazy input: both lines ran" "$(wc -l < "$WORK/lazy.jsonl")" 2
}

# wait_in_flight N: polls the mock's /items/stats (at most 20 s) until N
# /items requests are in flight at once; prints that count.
wait_in_flight() {
  local n=0
  for _ in $(seq 1 400); do
    n=$(curl -s --max-time 5 "$BASE/items/stats" | jq .in_flight)
    [ "${n:-0}" -ge "$1" ] && break
    sleep 0.05
  done
  echo "$n"
}

# wait_grep PATTERN FILE: polls (at most 20 s) until FILE has a line matching PATTERN.
wait_grep() {
  for _ in $(seq 1 400); do grep -q -- "$1" "$2" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}

test_sigint_finishes_in_flight() {
  # SIGINT once 20 requests are in flight (seen by the mock, not after a fixed
  # sleep); each waits 3 s at the mock, so none has finished by then.
  curl -s -o /dev/null "$BASE/items/stats?reset=1"
  seq 1 400 | "$FLURRY" -c 20 "$BASE/items?delay_ms=3000&n={}" > "$WORK/int.jsonl" 2> "$WORK/int.err" &
  local pid=$!
  check "SIGINT: 20 in flight before the signal" "$(wait_in_flight 20)" 20
  kill -INT "$pid"
  wait "$pid"
  check "SIGINT: exit 130" "$?" 130
  check "SIGINT: the 20 in flight completed" \
    "$(jq -s 'map(select(.status == 200)) | length' "$WORK/int.jsonl")" 20
  check "SIGINT: no request started after it" \
    "$(curl -s "$BASE/items/stats" | jq -c '[.requests.items, .in_flight_max]')" '[20,20]'
  check "SIGINT: lines read but not started are recorded as cancelled" \
    "$(jq -s 'map(select(.status != 200)) | all(.error.kind == "cancelled")' "$WORK/int.jsonl")" true
  check "SIGINT: ids are unique" "$(jq -s 'map(.id) | (unique | length) == length' "$WORK/int.jsonl")" true
  check "SIGINT: summary printed" "$(grep -cE '^flurry: [0-9]+ requests in ' "$WORK/int.err")" 1
  # The second SIGINT only once the first was handled (its message is out):
  # two signals sent back to back may be delivered as one.
  curl -s -o /dev/null "$BASE/items/stats?reset=1"
  seq 1 400 | "$FLURRY" -c 20 "$BASE/items?delay_ms=10000&n={}" > "$WORK/int2.jsonl" 2> "$WORK/int2.err" &
  pid=$!
  check "second SIGINT: 20 in flight before the signals" "$(wait_in_flight 20)" 20
  kill -INT "$pid"
  wait_grep 'interrupted: finishing 20 requests in flight' "$WORK/int2.err"
  check "second SIGINT: the first one was handled" "$?" 0
  kill -INT "$pid"
  wait "$pid"
  check "second SIGINT: exit 130" "$?" 130
  check "second SIGINT: in-flight recorded as cancelled" \
    "$(jq -s -c 'map(.error.kind) | unique' "$WORK/int2.jsonl")" '["cancelled"]'
}

for t in $(declare -F | awk '{print $3}' | grep '^test_'); do run_test "$t"; done
finish
