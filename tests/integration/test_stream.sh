#!/usr/bin/env bash
# test_stream.sh: flurry --stream against flurry mock's /ndjson, /lines and
# /sse: exact records for each mode, an SSE stream cut midway through events
# resumed with Last-Event-ID (nothing lost, nothing twice), reconnects
# exhausted, stop from the record callback (--max-records), a record over
# the limit, a cut NDJSON stream (no partial record), 500 SSE subscriptions
# at once, and a long stream whose peak RSS stays that of a short one.
# Needs jq and /usr/bin/time.
. "$(dirname "$0")/lib.sh"

start_mock

# stream MODE URL [FLURRY_ARGS...]: records and result in $WORK/out, exit
# status in RC.
stream() {
  local mode=$1 url=$2
  shift 2
  echo "$url" | timeout 120 "$FLURRY" --stream "$mode" -q "$@" >"$WORK/out" 2>"$WORK/err"
  RC=$?
}
records() { jq -c 'select(has("seq"))' "$WORK/out"; }
result() { jq -c "select(has(\"seq\") | not) | $1" "$WORK/out"; }

test_ndjson_exact() {
  stream ndjson "$BASE/ndjson?n=3&pad=2"
  check "ndjson: exit" "$RC" 0
  check "ndjson: records" "$(records | tr '\n' ' ')" \
    '{"id":1,"seq":1,"data":{"seq":1,"pad":"xx"}} {"id":1,"seq":2,"data":{"seq":2,"pad":"xx"}} {"id":1,"seq":3,"data":{"seq":3,"pad":"xx"}} '
  check "ndjson: result" "$(result '[.status, .stream, has("body")]')" \
    '[200,{"records":3,"reconnects":0,"end":"eof"},false]'
}

test_lines_exact() {
  stream lines "$BASE/lines?n=3&crlf=1"
  check "lines: records (CRLF removed)" "$(records | jq -r .data | tr '\n' ' ')" "line 1 line 2 line 3 "
  check "lines: result" "$(result .stream.end)" '"eof"'
}

test_sse_exact() {
  stream sse "$BASE/sse?n=2&retry=5"
  check "sse: exit" "$RC" 0
  check "sse: records" "$(records | tr '\n' ' ')" \
    '{"id":1,"seq":1,"event":"tick","event_id":"1","data":"tick 1\nof 2"} {"id":1,"seq":2,"event":"tick","event_id":"2","data":"tick 2\nof 2"} '
  # The stream ends, flurry connects again with Last-Event-ID: 2, the mock
  # has nothing left and answers 204.
  check "sse: result" "$(result '[.status, .attempts, .stream]')" \
    '[204,2,{"records":2,"reconnects":1,"end":"no_content"}]'
}

# The summary does not count reconnects as retries; a real retry still is.
test_summary_retries() {
  echo "$BASE/sse?n=4&retry=1&cut_every=1" | "$FLURRY" --stream sse --progress never \
    >/dev/null 2>"$WORK/err"
  check "summary: reconnects are not retries" "$(grep -c retries "$WORK/err")" 0
  echo "$BASE/flaky?key=sum-$$&fail=1" | "$FLURRY" --stream ndjson --progress never --retries 1 \
    --retry-base 10ms >/dev/null 2>"$WORK/err"
  check "summary: a retry is" "$(grep -Eo '[0-9]+ retries' "$WORK/err")" "1 retries"
}

# Cut midway through an event every 7 events: every event exactly once, in
# order, whatever the cuts.
test_sse_resume_after_cuts() {
  stream sse "$BASE/sse?n=50&retry=1&cut_every=7" --max-reconnects 20
  check "sse cut: exit" "$RC" 0
  check "sse cut: event ids 1..50, once each, in order" \
    "$(records | jq -r .event_id | tr '\n' ' ')" "$(seq 1 50 | tr '\n' ' ')"
  check "sse cut: seq 1..50" "$(records | jq -r .seq | tr '\n' ' ')" "$(seq 1 50 | tr '\n' ' ')"
  # 8 connections end in a cut, the 8th ends cleanly, a 9th gets 204.
  check "sse cut: result" "$(result .stream)" '{"records":50,"reconnects":8,"end":"no_content"}'
}

test_sse_reconnects_exhausted() {
  stream sse "$BASE/sse?n=10&retry=1&cut_every=1" --max-reconnects 2
  check "exhausted: exit 1" "$RC" 1
  check "exhausted: events before giving up" "$(records | jq -r .event_id | tr '\n' ' ')" "1 2 3 "
  check "exhausted: typed error" "$(result '[.error.kind, .error.detail, .stream]')" \
    '["stream","reconnects_exhausted",{"records":3,"reconnects":2,"end":"error"}]'
  # The check fires: with enough reconnects the same stream completes.
  stream sse "$BASE/sse?n=10&retry=1&cut_every=1" --max-reconnects 10
  check "exhausted: enough reconnects" "$RC/$(result .stream.records)" "0/10"
}

test_stop_from_callback() {
  stream ndjson "$BASE/ndjson?n=100000&interval_ms=0" --max-records 3
  check "stop: exit 0" "$RC" 0
  check "stop: 3 records" "$(records | jq -r .seq | tr '\n' ' ')" "1 2 3 "
  check "stop: result" "$(result '[.status, .stream.end, has("error")]')" '[200,"stopped",false]'
  stream sse "$BASE/sse?n=1000&interval_ms=5" --max-records 2
  check "stop sse: result" "$(result '[.stream.records, .stream.end]')" '[2,"stopped"]'
}

test_cut_ndjson_no_partial() {
  stream ndjson "$BASE/ndjson?n=5&cut_every=2"
  check "cut ndjson: exit 1" "$RC" 1
  check "cut ndjson: whole records only" "$(records | jq -r .seq | tr '\n' ' ')" "1 2 "
  check "cut ndjson: result" "$(result '[.error.kind, .stream]')" \
    '["reset",{"records":2,"reconnects":0,"end":"error"}]'
}

# The first connection gets the usual retries: a 503, then the stream.
test_first_connection_retried() {
  stream ndjson "$BASE/flaky?key=stream-$$&fail=1" --retries 2 --retry-base 10ms
  check "retried: the record after a 503" "$(records | tr '\n' ' ')" \
    "{\"id\":1,\"seq\":1,\"data\":{\"key\":\"stream-$$\",\"attempt\":2}} "
  check "retried: result" "$(result '[.status, .attempts, .stream.end]')" '[200,2,"eof"]'
}

# SIGINT stops the streams at their next record: end "stopped", not a
# wait for the grace period.
test_sigint_stops_streams() {
  seq 1 3 | "$FLURRY" --stream sse -q "$BASE/sse?n=100000&interval_ms=20&sub={}" \
    >"$WORK/out" 2>"$WORK/err" &
  local pid=$! i
  for i in $(seq 1 200); do [ "$(records | wc -l)" -ge 6 ] && break; sleep 0.05; done
  kill -INT "$pid"
  wait "$pid"
  check "sigint: exit 130" "$?" 130
  check "sigint: every stream stopped" "$(result .stream.end | sort | uniq -c | awk '{$1=$1};1')" '3 "stopped"'
}

test_record_limits() {
  stream ndjson "$BASE/ndjson?n=3&pad=40" --max-record 58
  check "limit: records at the limit pass" "$(records | wc -l)" 3
  stream ndjson "$BASE/ndjson?n=3&pad=40" --max-record 57
  check "limit: over it" "$(records | wc -l)/$(result '[.error.kind, .error.detail]')" \
    '0/["too_large","record_too_large"]'
}

test_not_a_stream() {
  stream sse "$BASE/json"
  check "not sse: typed error" "$(result '[.error.kind, .error.detail]')" '["protocol","not_event_stream"]'
  stream sse "$BASE/status/204"
  check "sse 204 at once: no reconnect" "$(result '[.status, .attempts, .stream, has("error")]')" \
    '[204,1,{"records":0,"reconnects":0,"end":"no_content"},false]'
  stream ndjson "$BASE/status/503"
  check "error status: body kept, no stream" "$(result '[.status, .body.status, .stream.end]')" \
    '[503,503,"none"]'
  stream ndjson "$BASE/malformed"
  check "bad ndjson: typed error" "$(result '[.error.kind, .error.detail]')" '["protocol","bad_record"]'
}

test_usage_errors() {
  "$FLURRY" --stream xml http://127.0.0.1:1/ </dev/null >/dev/null 2>"$WORK/err"
  check "usage: bad mode exits 2" "$?" 2
  "$FLURRY" --max-reconnects 3 http://127.0.0.1:1/ </dev/null >/dev/null 2>"$WORK/err"
  check "usage: --max-reconnects without --stream exits 2" "$?" 2
  "$FLURRY" --stream sse --ordered </dev/null >/dev/null 2>"$WORK/err"
  check "usage: --stream --ordered exits 2" "$?" 2
}

test_deadline_ends_stream() {
  stream sse "$BASE/sse?n=100000&interval_ms=20" --deadline 600ms
  check "deadline: typed error" "$(result .error.kind)" '"timeout"'
  local n
  n=$(records | wc -l)
  if [ "$n" -ge 1 ]; then pass "deadline: records before it ($n)"; else fail "deadline" "no record"; fi
}

# 500 subscriptions on one loop, each 5 events 20 ms apart then 204.
test_500_subscriptions() {
  seq 1 500 | timeout 120 "$FLURRY" --stream sse -c 500 -q \
    "$BASE/sse?n=5&interval_ms=20&retry=10&sub={}" >"$WORK/out" 2>"$WORK/err"
  check "500 sse: exit" "$?" 0
  check "500 sse: results" "$(result '.stream | [.records, .end] | tostring' | sort | uniq -c | awk '{$1=$1};1')" \
    '500 "[5,\"no_content\"]"'
  check "500 sse: records per id, ids 1..5 in order" \
    "$(records | jq -r '"\(.id) \(.event_id)"' | awk '{ got[$1] = got[$1] $2 } END { for (k in got) print got[k] }' | sort | uniq -c | awk '{$1=$1};1')" \
    "500 12345"
}

# Peak RSS: a 300 MB stream against a 3 MB one. ASan keeps freed memory in
# quarantine (256 MB by default): a small quarantine keeps that out of it.
peak_kb() {
  echo "$1" | ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=4" /usr/bin/time -v \
    timeout 300 "$FLURRY" --stream ndjson -q >/dev/null 2>"$WORK/time"
  sed -nE 's/^\s*Maximum resident set size \(kbytes\): ([0-9]+)$/\1/p' "$WORK/time"
}

test_rss_flat() {
  local small big
  small=$(peak_kb "$BASE/ndjson?n=3000&pad=1000")
  big=$(peak_kb "$BASE/ndjson?n=300000&pad=1000")
  echo "     peak RSS: 3 MB stream ${small} kB, 300 MB stream ${big} kB"
  if [[ $small =~ ^[0-9]+$ && $big =~ ^[0-9]+$ ]] && [ "$big" -lt $((small + 16384)) ]; then
    pass "rss: 300 MB stream within 16 MB of a 3 MB one"
  else
    fail "rss" "small ${small} kB, big ${big} kB"
  fi
}

# A TLS handshake that never ends is the connect timeout, not the whole
# request's (a stream has none): a server that accepts and says nothing.
test_tls_handshake_timeout() {
  python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
held, end = [], time.time() + 20
s.settimeout(0.5)
while time.time() < end and sys.stdin.read(0) == "":
    try: held.append(s.accept())
    except OSError: pass
' > "$WORK/silent_port" < /dev/null &
  local pid=$!
  for _ in $(seq 1 100); do [ -s "$WORK/silent_port" ] && break; sleep 0.05; done
  local url="https://127.0.0.1:$(cat "$WORK/silent_port")/"
  echo "$url" | "$FLURRY" -q --stream ndjson --connect-timeout 300ms > "$WORK/tls_to.jsonl"
  check "stream: a TLS handshake that never ends: connect_timeout" \
    "$(jq -c '[.error.kind, .error.detail]' "$WORK/tls_to.jsonl")" '["timeout","connect_timeout"]'
  echo "$url" | "$FLURRY" -q --connect-timeout 300ms > "$WORK/tls_to2.jsonl"
  check "plain request: the same" \
    "$(jq -c '[.error.kind, .error.detail]' "$WORK/tls_to2.jsonl")" '["timeout","connect_timeout"]'
  kill $pid 2>/dev/null; wait $pid 2>/dev/null
}

run_test test_ndjson_exact
run_test test_lines_exact
run_test test_sse_exact
run_test test_summary_retries
run_test test_sse_resume_after_cuts
run_test test_sse_reconnects_exhausted
run_test test_stop_from_callback
run_test test_cut_ndjson_no_partial
run_test test_first_connection_retried
run_test test_sigint_stops_streams
run_test test_record_limits
run_test test_not_a_stream
run_test test_usage_errors
run_test test_deadline_ends_stream
run_test test_500_subscriptions
run_test test_rss_flat
run_test test_tls_handshake_timeout
finish
