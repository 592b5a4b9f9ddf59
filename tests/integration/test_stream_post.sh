#!/usr/bin/env bash
# test_stream_post.sh: SSE over POST (issue #11): an LLM-style endpoint
# (flurry mock's /chat) answers a POST with two events and data: [DONE],
# then ends its body. The POST is made once (a reconnect would repeat it),
# the clean end is the stream's end (exit 0); an Idempotency-Key or
# --retry-post allows reconnects again; --reconnect never|on-error|always
# for GET; --stream-until ends at a sentinel record. Needs jq.
. "$(dirname "$0")/lib.sh"

start_mock

# chat KEY [FLURRY_ARGS...]: one prompt POSTed to /chat?key=KEY as SSE.
chat() {
  local key=$1
  shift
  echo '{"prompt":"hi"}' | timeout 60 "$FLURRY" -q -X POST --json '{}' --stream sse \
    --sse-retry 10ms "$@" "$BASE/chat?key=$key" >"$WORK/out" 2>"$WORK/err"
  RC=$?
}
records() { jq -c 'select(has("seq")) | .data' "$WORK/out" | tr '\n' ' '; }
result() { jq -c "select(has(\"seq\") | not) | $1" "$WORK/out"; }

test_post_not_repeated() {
  chat once
  check "post: exit 0" "$RC" 0
  check "post: the two events and [DONE], once" "$(records)" \
    '"{\"delta\":\"Hel\",\"call\":1}" "{\"delta\":\"lo\"}" "[DONE]" '
  check "post: clean end, no reconnect" "$(result '[.method, .error, .stream]')" \
    '["POST",null,{"records":3,"reconnects":0,"end":"eof"}]'
  chat once-zero --max-reconnects 0
  check "post --max-reconnects 0: exit 0" "$RC" 0
  check "post --max-reconnects 0: end eof" "$(result .stream.end)" '"eof"'
}

test_post_until_done() {
  chat until --stream-until '[DONE]'
  check "until: exit 0" "$RC" 0
  check "until: [DONE] not written" "$(records)" \
    '"{\"delta\":\"Hel\",\"call\":1}" "{\"delta\":\"lo\"}" '
  check "until: end sentinel" "$(result .stream)" '{"records":2,"reconnects":0,"end":"sentinel"}'
}

test_post_repeatable_when_asked() {
  chat idem -H 'Idempotency-Key: k1' --max-reconnects 2
  check "idempotency key: reconnects as a GET would" "$(result .stream)" \
    '{"records":9,"reconnects":2,"end":"error"}'
  check "idempotency key: third call seen" "$(jq -r 'select(has("seq")) | .data' "$WORK/out" |
    grep -c '"call":3')" 1
  chat retrypost --retry-post --max-reconnects 1 --stream-until '[DONE]'
  check "--retry-post with --stream-until: one call, sentinel" "$(result .stream.end)" \
    '"sentinel"'
  chat idem-never -H 'Idempotency-Key: k2' --reconnect never
  check "idempotency key, --reconnect never: exit 0, eof" "$RC/$(result .stream.end)" '0/"eof"'
}

# GET /sse?n=2 ends its body after two events (and answers 204 after).
test_get_reconnect_modes() {
  echo "$BASE/sse?n=2" | timeout 60 "$FLURRY" -q --stream sse --sse-retry 10ms \
    --reconnect on-error >"$WORK/out" 2>"$WORK/err"
  check "get on-error: clean end is the end" "$?/$(result .stream)" \
    '0/{"records":2,"reconnects":0,"end":"eof"}'
  echo "$BASE/sse?n=2" | timeout 60 "$FLURRY" -q --stream sse --sse-retry 10ms \
    --reconnect always >"$WORK/out" 2>"$WORK/err"
  check "get always: reconnects, then 204" "$?/$(result .stream)" \
    '0/{"records":2,"reconnects":1,"end":"no_content"}'
  echo "$BASE/sse?n=3&cut_every=1" | timeout 60 "$FLURRY" -q --stream sse --sse-retry 10ms \
    --reconnect on-error >"$WORK/out" 2>"$WORK/err"
  check "get on-error: each cut reconnects, the clean end ends" "$?/$(result .stream)" \
    '0/{"records":3,"reconnects":2,"end":"eof"}'
}

test_usage() {
  "$FLURRY" --stream sse --reconnect sometimes http://127.0.0.1:1/ </dev/null >/dev/null \
    2>"$WORK/err"
  check "usage: bad --reconnect exits 2" "$?" 2
  check "usage: the message names --reconnect" "$(grep -c -- '--reconnect' "$WORK/err")" 1
  "$FLURRY" --stream ndjson --reconnect never http://127.0.0.1:1/ </dev/null >/dev/null 2>&1
  check "usage: --reconnect without sse exits 2" "$?" 2
  "$FLURRY" --stream sse --stream-until '' http://127.0.0.1:1/ </dev/null >/dev/null \
    2>"$WORK/err"
  check "usage: empty --stream-until exits 2 naming it" \
    "$?/$(grep -c -- '--stream-until' "$WORK/err")" 2/1
  "$FLURRY" --stream-until x http://127.0.0.1:1/ </dev/null >/dev/null 2>&1
  check "usage: --stream-until without --stream exits 2" "$?" 2
}

run_test test_post_not_repeated
run_test test_post_until_done
run_test test_post_repeatable_when_asked
run_test test_get_reconnect_modes
run_test test_usage
finish
