#!/usr/bin/env bash
# test_ws_proto.sh: flurry ws and subprotocols, its input and --count
# (issue #11), against flurry mock's /ws/echo: --protocol offered and the
# server's choice reported; a route that requires one; a choice that was
# not offered (refused, RFC 6455 4.1); Sec-WebSocket-* in -H is a usage
# error; invalid UTF-8 on stdin is a bad input line, never sent as text;
# --count N writes exactly N messages from a server that keeps sending.
# Every wait is event-based (--count, or the server's answer). Needs jq.
source "$(dirname "$0")/lib.sh"
start_mock
WS="ws://127.0.0.1:${BASE##*:}"
WSC() { timeout 60 "$FLURRY" ws --linger 30s "$@"; }
texts() { jq -r 'select(.type=="text").data' "$1" | paste -sd, -; }

test_protocol_chosen() {
  echo hi | WSC --protocol graphql-ws --protocol graphql-transport-ws --count 1 \
    "$WS/ws/echo?protocol=graphql-transport-ws" >"$WORK/p.jsonl" 2>"$WORK/p.err"
  check "protocol: exit 0" "$?" 0
  check "protocol: the server's choice in the open record" \
    "$(jq -r 'select(.type=="open").protocol' "$WORK/p.jsonl")" graphql-transport-ws
  check "protocol: messages flow" "$(texts "$WORK/p.jsonl")" hi
}

test_protocol_required() {
  WSC --count 1 "$WS/ws/echo?protocol=graphql-transport-ws" </dev/null >"$WORK/r.jsonl" 2>&1
  check "required, none offered: exit 1" "$?" 1
  check "required, none offered: the server's 400" \
    "$(jq -r 'select(.type=="close") | "\(.status) \(.error.kind)"' "$WORK/r.jsonl")" "400 http"
}

test_protocol_not_offered() {
  WSC --protocol chat --count 1 "$WS/ws/echo?choose=mqtt" </dev/null >"$WORK/n.jsonl" 2>&1
  check "choice not offered: exit 1" "$?" 1
  check "choice not offered: a protocol error that says so" \
    "$(jq -r 'select(.type=="close").error | "\(.kind) \(.message | test("not offered"))"' \
      "$WORK/n.jsonl")" "protocol true"
  check "choice not offered: never opened" "$(jq -r .type "$WORK/n.jsonl" | paste -sd, -)" close
  echo hi | WSC --protocol chat --count 1 "$WS/ws/echo" >"$WORK/o.jsonl" 2>&1
  check "offered, none chosen: open without protocol, exit 0" \
    "$?/$(jq -c 'select(.type=="open") | has("protocol")' "$WORK/o.jsonl")" "0/false"
}

test_usage() {
  "$FLURRY" ws -H 'Sec-WebSocket-Protocol: chat' "$WS/ws/echo" </dev/null >/dev/null 2>"$WORK/u.err"
  check "-H Sec-WebSocket-Protocol: exit 2" "$?" 2
  check "-H Sec-WebSocket-Protocol: names --header and --protocol" \
    "$(grep -c -- '--header.*--protocol' "$WORK/u.err")" 1
  "$FLURRY" ws -H 'sec-websocket-extensions: x' "$WS/ws/echo" </dev/null >/dev/null 2>&1
  check "-H any Sec-WebSocket-*: exit 2" "$?" 2
  "$FLURRY" ws --protocol 'a b' "$WS/ws/echo" </dev/null >/dev/null 2>"$WORK/u.err"
  check "--protocol 'a b': exit 2 naming it" "$?/$(grep -c -- '--protocol' "$WORK/u.err")" 2/1
  "$FLURRY" ws --protocol x --protocol x "$WS/ws/echo" </dev/null >/dev/null 2>"$WORK/u.err"
  check "--protocol twice: exit 2 naming it" "$?/$(grep -c -- '--protocol' "$WORK/u.err")" 2/1
}

test_invalid_utf8_refused() {
  printf 'ok\n\xff\xfe\nfine\n' | WSC --count 2 "$WS/ws/echo" >"$WORK/u.jsonl" 2>"$WORK/u.err"
  check "invalid UTF-8: exit 2 (bad input)" "$?" 2
  check "invalid UTF-8: the message names line 2" \
    "$(grep -c 'input line 2: not valid UTF-8' "$WORK/u.err")" 1
  check "invalid UTF-8: not sent, the others are" "$(texts "$WORK/u.jsonl")" "ok,fine"
  check "invalid UTF-8: the server did not fail us (1007): our normal close" \
    "$(jq -r 'select(.type=="close") | "\(.code) \(.by)"' "$WORK/u.jsonl")" "1000 client"
}

test_count_exact_while_server_sends() {
  WSC --count 10 "$WS/ws/echo?flood=400" </dev/null >"$WORK/c.jsonl" 2>"$WORK/c.err"
  check "count 10 of a flood: exit 0" "$?" 0
  check "count 10 of a flood: exactly 10 written" "$(texts "$WORK/c.jsonl")" \
    "$(seq 1 10 | sed 's/^/flood /' | paste -sd, -)"
  check "count 10 of a flood: open, 10 texts, close" \
    "$(jq -r .type "$WORK/c.jsonl" | uniq -c | awk '{print $1 $2}' | paste -sd, -)" \
    "1open,10text,1close"
}

run_test test_protocol_chosen
run_test test_protocol_required
run_test test_protocol_not_offered
run_test test_usage
run_test test_invalid_utf8_refused
run_test test_count_exact_while_server_sends
finish
