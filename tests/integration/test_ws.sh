#!/usr/bin/env bash
# flurry ws against flurry mock's /ws/echo and /ws/broadcast: round trips,
# order, broadcast, close codes, the 1009 size limit, ping/pong, bad
# handshakes and typed errors; against ws_flood_server.py: a ping flood
# (peak RSS) and a fragmented ping (1002). Every wait is bounded and
# event-based (--count: close once N messages came), never a sleep to be
# "long enough".
source "$(dirname "$0")/lib.sh"
start_mock
WS="ws://127.0.0.1:${BASE##*:}"
WSC() { timeout 60 "$FLURRY" ws --linger 30s "$@"; }
types() { jq -r .type "$1" | paste -sd, -; }

test_echo_text() {
  echo hi | WSC --count 1 "$WS/ws/echo" > "$WORK/t.jsonl"; local rc=$?
  check "echo: exit 0 on a normal close" "$rc" 0
  check "echo: open, text, close" "$(types "$WORK/t.jsonl")" "open,text,close"
  check "echo: the text came back" "$(jq -r 'select(.type=="text").data' "$WORK/t.jsonl")" hi
  check "echo: close 1000 by the client" \
    "$(jq -r 'select(.type=="close") | "\(.code) \(.by) \(.error // "none")"' "$WORK/t.jsonl")" \
    "1000 client none"
  check "echo: timestamps" "$(jq -r '.ts | type' "$WORK/t.jsonl" | sort -u)" number
}

test_echo_binary() {
  printf '{"binary":"AAEC/w=="}\n{"text":"caf\\u00e9"}\n' |
    WSC --jsonl --count 2 "$WS/ws/echo" > "$WORK/b.jsonl"
  check "binary: the bytes came back (base64)" \
    "$(jq -r 'select(.type=="binary").data' "$WORK/b.jsonl")" "AAEC/w=="
  check "jsonl text: UTF-8 kept" "$(jq -r 'select(.type=="text").data' "$WORK/b.jsonl")" "café"
}

test_order() {
  seq 1 200 | WSC --count 200 "$WS/ws/echo" > "$WORK/o.jsonl"
  check "200 messages back, in order" \
    "$(jq -r 'select(.type=="text").data' "$WORK/o.jsonl" | paste -sd, -)" "$(seq 1 200 | paste -sd, -)"
}

test_json_data() {
  echo '{"a":[1, 2]}' | WSC --json --count 1 "$WS/ws/echo" > "$WORK/j.jsonl"
  check "--json: a JSON text message is written as JSON" \
    "$(jq -c 'select(.type=="text").data' "$WORK/j.jsonl")" '{"a":[1,2]}'
}

# Waits (bounded) until file $1 has an "open" record.
wait_open() {
  for _ in $(seq 1 400); do grep -q '"type":"open"' "$1" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}

test_broadcast() {
  WSC --count 2 "$WS/ws/broadcast" < /dev/null > "$WORK/b1.jsonl" & local p1=$!
  WSC --count 2 "$WS/ws/broadcast" < /dev/null > "$WORK/b2.jsonl" & local p2=$!
  wait_open "$WORK/b1.jsonl" && wait_open "$WORK/b2.jsonl"
  check "broadcast: two listeners connected" "$?" 0
  printf 'x\ny\n' | WSC --count 2 "$WS/ws/broadcast" > "$WORK/b3.jsonl"
  wait "$p1"; wait "$p2"
  for f in b1 b2 b3; do
    check "broadcast: client $f got x,y" \
      "$(jq -r 'select(.type=="text").data' "$WORK/$f.jsonl" | paste -sd, -)" "x,y"
  done
}

test_server_close() {
  echo a | WSC "$WS/ws/echo?close=4001&after=1" > "$WORK/c.jsonl"; local rc=$?
  check "server close: exit 1 (not a normal close)" "$rc" 1
  check "server close: the echo came before the close" "$(types "$WORK/c.jsonl")" "open,text,close"
  check "server close: code, reason, by" \
    "$(jq -r 'select(.type=="close") | "\(.code) \(.reason) \(.by)"' "$WORK/c.jsonl")" \
    "4001 mock close server"
  WSC "$WS/ws/echo?close=1000" < /dev/null > "$WORK/c2.jsonl"; rc=$?
  check "server close 1000: exit 0" "$rc" 0
}

test_too_large() {
  WSC --max-message 1000 "$WS/ws/echo?big=1001" < /dev/null > "$WORK/big.jsonl"; local rc=$?
  check "1001 bytes over a 1000 limit: exit 1" "$rc" 1
  check "over the limit: closed with 1009 by the client, too_large" \
    "$(jq -r 'select(.type=="close") | "\(.code) \(.by) \(.error.kind)"' "$WORK/big.jsonl")" \
    "1009 client too_large"
  check "over the limit: no message written" "$(types "$WORK/big.jsonl")" "open,close"
  WSC --max-message 1000 --count 1 "$WS/ws/echo?big=1000" < /dev/null > "$WORK/big2.jsonl"
  check "exactly the limit: received" \
    "$(jq -r 'select(.type=="text").data | length' "$WORK/big2.jsonl")" 1000
}

test_ping_pong() {
  WSC --json --count 1 "$WS/ws/echo?ping=1" < /dev/null > "$WORK/p.jsonl"
  check "ping: reported" "$(jq -r 'select(.type=="ping").data' "$WORK/p.jsonl")" mock-ping
  check "ping: answered (the mock reports our pong)" \
    "$(jq -r 'select(.type=="text").data.pong' "$WORK/p.jsonl")" mock-ping
}

test_idle_timeout() {
  WSC --idle-timeout 600ms "$WS/ws/echo?mute=1" < /dev/null > "$WORK/i.jsonl"; local rc=$?
  check "silent server: exit 1" "$rc" 1
  check "silent server: timeout (the ping got no pong)" \
    "$(jq -r 'select(.type=="close") | "\(.error.kind) \(.error.message)"' "$WORK/i.jsonl")" \
    "timeout nothing from the server for 600 ms"
}

test_idle_keepalive() {
  # A quiet but live server: the idle pings are answered, so nothing times
  # out; the linger (7 s, well past the 3 s idle timeout) ends it normally.
  WSC --idle-timeout 3s --linger 7s "$WS/ws/echo" < /dev/null > "$WORK/k.jsonl"
  check "quiet server: pinged, answered, closed normally" \
    "$(jq -r 'select(.type=="close") | "\(.code) \(.error // "none")"' "$WORK/k.jsonl")" "1000 none"
  check "quiet server: pongs came back" \
    "$([ "$(grep -c '"type":"pong"' "$WORK/k.jsonl")" -ge 1 ] && echo yes)" yes
}

test_bad_handshake() {
  WSC "$WS/json" < /dev/null > "$WORK/h1.jsonl"; local rc=$?
  check "plain HTTP endpoint: exit 1" "$rc" 1
  check "plain HTTP endpoint: protocol error, status 200, code 1006" \
    "$(jq -r '"\(.error.kind) \(.status) \(.code)"' "$WORK/h1.jsonl")" "protocol 200 1006"
  WSC "$WS/ws/nope" < /dev/null > "$WORK/h2.jsonl"
  check "404: http error" "$(jq -r '"\(.error.kind) \(.status)"' "$WORK/h2.jsonl")" "http 404"
  WSC "$WS/ws/echo?bad_accept=1" < /dev/null > "$WORK/h3.jsonl"
  check "wrong Sec-WebSocket-Accept: protocol error" "$(jq -r .error.kind "$WORK/h3.jsonl")" protocol
  check "wrong Sec-WebSocket-Accept: said so" \
    "$(jq -r '.error.message | test("Sec-WebSocket-Accept")' "$WORK/h3.jsonl")" true
  WSC --handshake-timeout 300ms "$WS/hang" < /dev/null > "$WORK/h4.jsonl"
  check "no answer: timeout" "$(jq -r .error.kind "$WORK/h4.jsonl")" timeout
}

test_refused() {
  # Port 1 on loopback: nothing listens there (a privileged port).
  WSC "ws://127.0.0.1:1/" < /dev/null > "$WORK/r.jsonl"; local rc=$?
  check "refused: exit 1" "$rc" 1
  check "refused: connect error, one record" "$(jq -r .error.kind "$WORK/r.jsonl")" connect
}

test_server_shutdown() {
  "$FLURRY" mock --port 0 --port-file "$WORK/port2" --quiet > /dev/null & local mp=$!
  for _ in $(seq 1 200); do [ -s "$WORK/port2" ] && break; sleep 0.05; done
  WSC "ws://127.0.0.1:$(cat "$WORK/port2")/ws/echo" < /dev/null > "$WORK/sd.jsonl" & local cp=$!
  wait_open "$WORK/sd.jsonl"
  kill -TERM "$mp"; wait "$mp"; local mrc=$?
  check "mock stopping with a WebSocket open: exits 0 (every handle closed)" "$mrc" 0
  wait "$cp"; local rc=$?
  check "mock stopping: the client hears 1001 from the server" \
    "$(jq -r 'select(.type=="close") | "\(.code) \(.by) \(.reason)"' "$WORK/sd.jsonl")" \
    "1001 server server shutting down"
  check "mock stopping: 1001 is a normal close (exit 0)" "$rc" 0
}

test_sigterm() {
  # Not under timeout(1): the signal must reach flurry itself.
  "$FLURRY" ws --linger 30s "$WS/ws/echo" < /dev/null > "$WORK/sig.jsonl" & local cp=$!
  wait_open "$WORK/sig.jsonl"
  kill -TERM "$cp"
  for _ in $(seq 1 400); do kill -0 "$cp" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$cp" 2>/dev/null # still there after 20 s: the checks below fail
  wait "$cp"; local rc=$?
  check "SIGTERM: exit 143" "$rc" 143
  check "SIGTERM: closed with 1001 by the client" \
    "$(jq -r 'select(.type=="close") | "\(.code) \(.by) \(.reason)"' "$WORK/sig.jsonl")" \
    "1001 client interrupted"
}

# ---- hostile servers: tests/integration/ws_flood_server.py ----------------
FLOOD_PINGS=600000 # 4.7 MB of pings; before the fix, up to as many queued pongs

# start_flood MODE [COUNT]: the server on port 0; sets FP (its pid), FURL.
start_flood() {
  rm -f "$WORK/fport"
  python3 "$(dirname "$0")/ws_flood_server.py" "$WORK/fport" "$@" > "$WORK/flood.out" & FP=$!
  for _ in $(seq 1 200); do [ -s "$WORK/fport" ] && break; sleep 0.05; done
  FURL="ws://127.0.0.1:$(cat "$WORK/fport")/"
}

# peak_kb OUT ARGS... < IN: flurry ws ARGS, stdout to OUT; prints its peak RSS in
# kB. ASan keeps freed memory in quarantine (256 MB by default): a small
# quarantine keeps that out of the figure.
peak_kb() {
  local out=$1; shift
  ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=4" /usr/bin/time -v \
    timeout 60 "$FLURRY" ws "$@" > "$out" 2> "$WORK/time"
  sed -nE 's/^\s*Maximum resident set size \(kbytes\): ([0-9]+)$/\1/p' "$WORK/time"
}

under_64mb() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -lt 65536 ] && echo yes || echo "no ($1 kB)"; }

# The handshake names flurry once, or the user's User-Agent instead; the
# client's built-in Accept-Encoding line (an HTTP default) is not sent.
test_handshake_headers() {
  start_flood headers
  timeout 60 "$FLURRY" ws "$FURL" < /dev/null > /dev/null 2>&1
  wait "$FP"
  check "handshake: one User-Agent, flurry's" \
    "$(grep '^user-agent:' "$WORK/flood.out" | paste -sd,)" "user-agent: flurry/$("$FLURRY" --version | grep -o '[0-9][0-9.]*' | head -n 1)"
  check "handshake: no Accept-Encoding" "$(grep -c '^accept-encoding:' "$WORK/flood.out")" 0
  start_flood headers
  timeout 60 "$FLURRY" ws -H 'User-Agent: me/2' "$FURL" < /dev/null > /dev/null 2>&1
  wait "$FP"
  check "handshake: -H User-Agent replaces flurry's" \
    "$(grep '^user-agent:' "$WORK/flood.out" | paste -sd,)" "user-agent: me/2"
}

test_ping_flood_server_reading() {
  start_flood read "$FLOOD_PINGS"
  local kb; kb=$(peak_kb "$WORK/fr.jsonl" --linger 60s "$FURL" < /dev/null)
  wait "$FP"
  echo "     peak RSS, $FLOOD_PINGS pings, server reading: $kb kB ($(cat "$WORK/flood.out"))"
  check "ping flood, server reading: peak RSS under 64 MB" "$(under_64mb "$kb")" yes
  check "ping flood, server reading: every ping reported" \
    "$(grep -c '"type":"ping"' "$WORK/fr.jsonl")" "$FLOOD_PINGS"
  check "ping flood, server reading: the last ping answered, then a normal close" \
    "$(sed -E 's/ pongs [0-9]+//' "$WORK/flood.out")" "pings $FLOOD_PINGS last $FLOOD_PINGS close 1000"
  check "ping flood, server reading: the server's close 1000" \
    "$(tail -n 1 "$WORK/fr.jsonl" | jq -r 'select(.type=="close") | "\(.code) \(.by) \(.error // "none")"')" \
    "1000 server none"
}

test_ping_flood_server_not_reading() {
  # The server reads none of our pongs; once its pings are out it stays
  # silent and the idle rule ends the connection.
  start_flood noread "$FLOOD_PINGS"
  local kb; kb=$(peak_kb "$WORK/fn.jsonl" --linger 60s --idle-timeout 2s "$FURL" < /dev/null)
  kill "$FP" 2>/dev/null; wait "$FP"
  echo "     peak RSS, $FLOOD_PINGS pings, server not reading: $kb kB"
  check "ping flood, server not reading: peak RSS under 64 MB" "$(under_64mb "$kb")" yes
  check "ping flood, server not reading: every ping reported" \
    "$(grep -c '"type":"ping"' "$WORK/fn.jsonl")" "$FLOOD_PINGS"
  check "ping flood, server not reading: ended by the idle timeout" \
    "$(tail -n 1 "$WORK/fn.jsonl" | jq -r 'select(.type=="close") | "\(.code) \(.error.kind) \(.error.message)"')" \
    "1006 timeout nothing from the server for 2000 ms"
}

test_stdin_flood_server_not_reading() {
  # Empty lines are messages of no bytes: the queue limit in bytes alone
  # would let stdin in without end.
  start_flood noread 0
  local kb; kb=$(yes '' | head -n 1000000 | peak_kb "$WORK/fs.jsonl" --idle-timeout 2s "$FURL")
  kill "$FP" 2>/dev/null; wait "$FP"
  echo "     peak RSS, 1,000,000 empty stdin lines, server not reading: $kb kB"
  check "stdin flood, server not reading: peak RSS under 64 MB" "$(under_64mb "$kb")" yes
  check "stdin flood, server not reading: ended by the idle timeout" \
    "$(jq -r 'select(.type=="close") | .error.kind' "$WORK/fs.jsonl")" timeout
}

test_fragmented_ping() {
  start_flood fragping
  WSC "$FURL" < /dev/null > "$WORK/fp.jsonl"; local rc=$?
  wait "$FP"
  check "fragmented ping: exit 1" "$rc" 1
  check "fragmented ping: closed by the client with 1002, a protocol error" \
    "$(jq -r 'select(.type=="close") | "\(.code) \(.by) \(.error.kind)"' "$WORK/fp.jsonl")" \
    "1002 client protocol"
  check "fragmented ping: said so" \
    "$(jq -r 'select(.type=="close") | .error.message | test("fragmented control frame")' "$WORK/fp.jsonl")" true
  check "fragmented ping: the server got the close 1002" "$(cat "$WORK/flood.out")" "close 1002"
}

test_mock_plain_get() {
  check "mock: a plain GET of /ws/echo is 426" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/ws/echo")" 426
}

test_usage() {
  "$FLURRY" ws < /dev/null > /dev/null 2>&1
  check "no URL: exit 2" "$?" 2
  "$FLURRY" ws "$BASE/ws/echo" < /dev/null > /dev/null 2>&1
  check "http:// URL: exit 2" "$?" 2
  "$FLURRY" ws --max-message 0 "$WS/ws/echo" < /dev/null > /dev/null 2>&1
  check "bad --max-message: exit 2" "$?" 2
  "$FLURRY" ws --idle-timeout 0 "$WS/ws/echo" < /dev/null > /dev/null 2> "$WORK/v.err"
  check "bad --idle-timeout: exit 2" "$?" 2
  check "bad --idle-timeout: named, with the range" \
    "$(grep -c -- "^flurry ws: --idle-timeout '0': expected a duration .* from 1ms to 168h" "$WORK/v.err")" 1
  "$FLURRY" ws -H 'Upgrade: h2c' "$WS/ws/echo" < /dev/null > /dev/null 2> "$WORK/h.err"
  check "-H with a handshake header: exit 2" "$?" 2
  check "-H with a handshake header: said so" "$(grep -c "belong to the handshake" "$WORK/h.err")" 1
  echo 'not json' | WSC --jsonl --linger 0 "$WS/ws/echo" > /dev/null 2> "$WORK/u.err"
  check "bad --jsonl line: exit 2" "$?" 2
  check "bad --jsonl line: named" "$(grep -c 'input line 1' "$WORK/u.err")" 1
  "$FLURRY" ws --help | grep -q -- '--max-message'
  check "flurry ws --help" "$?" 0
  "$FLURRY" --help | grep -q 'flurry ws'
  check "flurry --help lists flurry ws" "$?" 0
  "$FLURRY" --help | grep -q 'flurry listen'
  check "flurry --help lists flurry listen" "$?" 0
}

# A line larger than the send queue's limit (16 MiB) cannot be queued: it
# is a bad input line, named, never dropped in silence; the next one goes.
test_line_over_send_queue() {
  { head -c 17000000 /dev/zero | tr '\0' a; echo; echo hi; } |
    WSC --max-line 32M --count 1 "$WS/ws/echo" > "$WORK/big.jsonl" 2> "$WORK/big.err"
  check "line over the send queue: exit 2" "$?" 2
  check "line over the send queue: named" \
    "$(grep -c "input line 1: larger than the send queue's limit: not sent" "$WORK/big.err")" 1
  check "line over the send queue: the next line went" \
    "$(jq -r 'select(.type=="text").data' "$WORK/big.jsonl")" hi
}

for t in test_echo_text test_echo_binary test_order test_json_data test_broadcast \
         test_server_close test_too_large test_ping_pong test_idle_timeout test_idle_keepalive test_bad_handshake test_refused \
         test_server_shutdown test_sigterm test_ping_flood_server_reading \
         test_ping_flood_server_not_reading test_stdin_flood_server_not_reading \
         test_fragmented_ping test_mock_plain_get test_usage test_line_over_send_queue \
         test_handshake_headers; do
  run_test "$t"
done
finish
