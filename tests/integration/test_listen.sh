#!/usr/bin/env bash
# test_listen.sh: `flurry listen`, the verified webhook receiver, seen from
# curl and `flurry mock send-webhook`: GitHub, Stripe and Standard Webhooks
# deliveries accepted and written once (signatures also made by the openssl
# CLI: an implementation independent of ours); bad signatures 401 and not
# written; one delivery sent 1,000 times in a row and 10 at once, and again
# after a restart on the same file: written once; 413, 431, 405, 404, 400,
# and the server still serving after each; secret rotation; --fsync; slow
# clients cut by the head and body timeouts; a torn last line repaired;
# stdout output; a stdout pipe whose reader stops or goes away (driven by
# listen_output.py): the server keeps serving, 503 with Retry-After past
# --max-queue, every acknowledged line whole and written once, the real
# write error; ids that are not UTF-8 and --path look-alikes refused; clean
# SIGTERM/SIGINT. Needs curl, jq, openssl, python3.
. "$(dirname "$0")/lib.sh"

LPID=""
stop_listener() {
  if [ -n "$LPID" ]; then kill "$LPID" 2>/dev/null; wait "$LPID" 2>/dev/null; fi
  LPID=""
}
trap 'stop_listener; cleanup' EXIT

GH_SECRET="It's a Secret to Everybody"
ST_SECRET="whsec_flurry_stripe_test"
SW_SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_SECRET2="whsec_$(printf 'second-standard-secret!!' | base64)"
CURL=(curl -s --max-time 10)

# start_listener ARGS...: starts flurry listen, sets LPID and URL (…/hook).
start_listener() {
  rm -f "$WORK/port"
  "$FLURRY" listen --port 0 --port-file "$WORK/port" "$@" >"$WORK/stdout" 2>"$WORK/stderr" &
  LPID=$!
  for _ in $(seq 1 200); do [ -s "$WORK/port" ] && break; sleep 0.05; done
  [ -s "$WORK/port" ] || { echo "flurry listen did not start"; cat "$WORK/stderr"; exit 1; }
  URL="http://127.0.0.1:$(cat "$WORK/port")/hook"
}

# stop_with SIGNAL: stops the listener; STOP_RC is its exit status.
stop_with() {
  kill -"$1" "$LPID"
  STOP_RC=0
  wait "$LPID" || STOP_RC=$?
  LPID=""
}

send() { "$FLURRY" mock send-webhook --url "$URL" "$@"; }
lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }
# with_id FILE ID: how many events in FILE have that id
with_id() { jq -c --arg id "$2" 'select(.id == $id)' "$1" | wc -l | tr -d ' '; }
hmac_hex() { openssl dgst -sha256 -hmac "$1" -r | cut -d' ' -f1; }

# gh_post BODY_FILE ID [SECRET] [CURL_ARGS...]: a GitHub delivery signed with
# the openssl CLI; prints "STATUS BODY".
gh_post() {
  local file=$1 id=$2 secret=${3:-$GH_SECRET}; shift 3 2>/dev/null || shift $#
  local sig
  sig=$(hmac_hex "$secret" <"$file")
  "${CURL[@]}" -w ' %{http_code}' -H "X-GitHub-Delivery: $id" \
    -H "X-Hub-Signature-256: sha256=$sig" --data-binary @"$file" "$@" "$URL" |
    awk '{ print $NF, $0 }' | cut -d' ' -f1-2
}

# ---- GitHub: the documented vector, accepted once --------------------------
test_github() {
  local ev="$WORK/gh.jsonl"
  start_listener --scheme github --secret "$GH_SECRET" -o "$ev"
  printf 'Hello, World!' >"$WORK/hello"
  check "github vector accepted" "$("${CURL[@]}" -w '%{http_code}' \
    -H 'X-GitHub-Delivery: gh-1' --data-binary @"$WORK/hello" \
    -H 'X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17' \
    "$URL")" '{"ok":true}200'
  check "github resent: duplicate" "$(gh_post "$WORK/hello" gh-1)" '200 {"ok":true,"duplicate":true}'
  check "github event written once" "$(with_id "$ev" gh-1)" 1
  check "github text body kept" "$(jq -r 'select(.id=="gh-1") | .body_text' "$ev")" "Hello, World!"
  check "github event fields" "$(jq -r 'select(.id=="gh-1") | "\(.scheme) \(.path) \(.received_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[.][0-9]{3}Z$"))"' "$ev")" \
    "github /hook true"
  check "github wrong secret 401" "$(gh_post "$WORK/hello" gh-2 'not the secret' | cut -d' ' -f1)" 401
  check "github no signature 401" "$("${CURL[@]}" -o /dev/null -w '%{http_code}' -H 'X-GitHub-Delivery: gh-3' --data-binary @"$WORK/hello" "$URL")" 401
  check "github bad-signature sender 401" "$(send --scheme github --secret "$GH_SECRET" --bad-signature)" 401
  check "rejected deliveries not written" "$(lines "$ev")" 1
  printf '{"action":"opened","n":[1, 2]}' >"$WORK/gh.json"
  check "github JSON delivery" "$(gh_post "$WORK/gh.json" gh-json | cut -d' ' -f1)" 200
  check "JSON body written as JSON" "$(jq -c 'select(.id=="gh-json") | .body' "$ev")" '{"action":"opened","n":[1,2]}'
  printf '\000\377\001' >"$WORK/bin"
  check "github binary delivery" "$(gh_post "$WORK/bin" gh-bin | cut -d' ' -f1)" 200
  check "binary body as base64" "$(jq -r 'select(.id=="gh-bin") | .body_base64' "$ev")" "AP8B"
  check "no headers unless --headers" "$(jq -r 'select(.id=="gh-json") | has("headers")' "$ev")" false
  stop_with TERM
  check "SIGTERM exits 0" "$STOP_RC" 0
  check "shutdown summary" "$(grep -c '3 accepted, 1 duplicates, 3 rejected' "$WORK/stderr")" 1
}

# ---- Stripe: the event id is in the body; several v1; tolerance -----------
test_stripe() {
  local ev="$WORK/st.jsonl" t body sig
  start_listener --scheme stripe --secret "$ST_SECRET" -o "$ev"
  check "stripe sender x3" "$(send --scheme stripe --secret "$ST_SECRET" --count 3 --id evt_a | tr '\n' ' ')" "200 200 200 "
  check "stripe ids from the body" "$(jq -r .id "$ev" | tr '\n' ' ')" "evt_a-0 evt_a-1 evt_a-2 "
  t=$(date +%s)
  body='{"id":"evt_openssl","object":"event","type":"charge.succeeded"}'
  sig=$(printf '%s.%s' "$t" "$body" | hmac_hex "$ST_SECRET")
  check "stripe signed by openssl, two v1" "$("${CURL[@]}" -o /dev/null -w '%{http_code}' \
    -H "Stripe-Signature: t=$t,v1=$(printf x | hmac_hex other),v1=$sig,v0=abc" --data-binary "$body" "$URL")" 200
  # (the exact ±300 s bounds are unit-tested; here a margin for a slow run)
  check "stripe stale (t - 305 s) 401" "$(send --scheme stripe --secret "$ST_SECRET" --timestamp-offset -305)" 401
  check "stripe future (t + 305 s) 401" "$(send --scheme stripe --secret "$ST_SECRET" --timestamp-offset 305)" 401
  check "stripe within tolerance 200" "$(send --scheme stripe --secret "$ST_SECRET" --timestamp-offset -290)" 200
  check "stripe malformed header 400" "$("${CURL[@]}" -o /dev/null -w '%{http_code}' \
    -H "Stripe-Signature: t=$t;v1=$sig" --data-binary "$body" "$URL")" 400
  check "stripe header without v1 401" "$("${CURL[@]}" -o /dev/null -w '%{http_code}' \
    -H "Stripe-Signature: t=$t,v0=$sig" --data-binary "$body" "$URL")" 401
  check "stripe written: 5" "$(lines "$ev")" 5
  # 10 at once, the same delivery: written once
  for _ in $(seq 10); do printf 'url = "%s"\noutput = "/dev/null"\n' "$URL"; done >"$WORK/par.cfg"
  body='{"id":"evt_parallel","object":"event"}'
  sig=$(printf '%s.%s' "$t" "$body" | hmac_hex "$ST_SECRET")
  curl -s --no-progress-meter --max-time 20 --parallel --parallel-immediate --parallel-max 10 -K "$WORK/par.cfg" \
    -H "Stripe-Signature: t=$t,v1=$sig" --data-binary "$body" -w '%{http_code}\n' >"$WORK/par.out"
  check "stripe 10 at once: all 200" "$(grep -c '^200$' "$WORK/par.out")" 10
  check "stripe 10 at once: written once" "$(with_id "$ev" evt_parallel)" 1
  stop_with INT
  check "SIGINT exits 0" "$STOP_RC" 0
}

# ---- Standard Webhooks: 1,000 in a row, 10 at once, restart, rotation ------
sw_sign() { # sw_sign SECRET ID T BODY -> v1,<base64>
  local key
  key=$(printf '%s' "${1#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
  printf 'v1,%s' "$(printf '%s.%s.%s' "$2" "$3" "$4" |
    openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | base64)"
}

test_standard() {
  local ev="$WORK/sw.jsonl" t body
  printf '%s\n\n  %s  \n' "$SW_SECRET" "$SW_SECRET2" >"$WORK/secrets"
  start_listener --scheme standard --secret-file "$WORK/secrets" -o "$ev" --fsync
  check "standard 1,000 times the same: all 200" \
    "$(send --scheme standard --secret "$SW_SECRET" --count 1000 --same-id --id msg_same | grep -c '^200$')" 1000
  check "standard 1,000 times: written once" "$(with_id "$ev" msg_same)" 1
  t=$(date +%s)
  body='{"type":"user.created","n":1}'
  seq 10 | xargs -P10 -I{} "${CURL[@]}" -o /dev/null -w '%{http_code}\n' \
    -H 'webhook-id: msg_par' -H "webhook-timestamp: $t" \
    -H "webhook-signature: $(sw_sign "$SW_SECRET" msg_par "$t" "$body")" \
    --data-binary "$body" "$URL" >"$WORK/xargs.out"
  check "standard 10 at once (openssl-signed): all 200" "$(grep -c '^200$' "$WORK/xargs.out")" 10
  check "standard 10 at once: written once" "$(with_id "$ev" msg_par)" 1
  check "rotation: the second secret" "$(send --scheme standard --secret "$SW_SECRET2" --id msg_rot2)" 200
  check "rotation: both signatures sent" "$(send --scheme standard --secret whsec_dW5rbm93bi1zZWNyZXQtMTIzNDU2 --secret "$SW_SECRET" --id msg_rot3)" 200
  check "rotation: an unknown secret" "$(send --scheme standard --secret whsec_dW5rbm93bi1zZWNyZXQtMTIzNDU2 --id msg_rot4)" 401
  check "standard stale 401" "$(send --scheme standard --secret "$SW_SECRET" --timestamp-offset -305 --id msg_old)" 401
  check "standard malformed signature 400" "$("${CURL[@]}" -o /dev/null -w '%{http_code}' \
    -H 'webhook-id: msg_x' -H "webhook-timestamp: $t" -H 'webhook-signature: v1,not-base64' \
    --data-binary "$body" "$URL")" 400
  check "standard missing webhook-id 401" "$("${CURL[@]}" -o /dev/null -w '%{http_code}' \
    -H "webhook-timestamp: $t" -H "webhook-signature: $(sw_sign "$SW_SECRET" msg_y "$t" "$body")" \
    --data-binary "$body" "$URL")" 401
  check "fsync: durable events written" "$(lines "$ev")" 4
  stop_with TERM
  check "SIGTERM with --fsync exits 0" "$STOP_RC" 0
  # restart on the same file: the ids come back; the same deliveries are
  # not written again
  start_listener --scheme standard --secret-file "$WORK/secrets" -o "$ev"
  check "restart loaded the ids" "$(grep -c '4 lines, 4 ids within the dedup window' "$WORK/stderr")" 1
  check "after restart, 1,000 more of msg_same: all 200" \
    "$(send --scheme standard --secret "$SW_SECRET" --count 1000 --same-id --id msg_same | grep -c '^200$')" 1000
  check "after restart: msg_par resent" "$("${CURL[@]}" -w '%{http_code}' \
    -H 'webhook-id: msg_par' -H "webhook-timestamp: $t" \
    -H "webhook-signature: $(sw_sign "$SW_SECRET" msg_par "$t" "$body")" \
    --data-binary "$body" "$URL")" '{"ok":true,"duplicate":true}200'
  check "after restart: still once each" "$(with_id "$ev" msg_same) $(with_id "$ev" msg_par) $(lines "$ev")" "1 1 4"
  stop_with TERM
  check "SIGTERM exits 0" "$STOP_RC" 0
  # an id older than the dedup window is not loaded: written again
  jq -c 'select(.id == "msg_rot2") | .received_at = "2000-01-01T00:00:00.000Z"' "$ev" >"$WORK/old"
  grep -v msg_rot2 "$ev" >"$WORK/rest"
  cat "$WORK/old" "$WORK/rest" >"$ev"
  start_listener --scheme standard --secret-file "$WORK/secrets" -o "$ev"
  check "expired id not loaded" "$(grep -c '4 lines, 3 ids' "$WORK/stderr")" 1
  check "expired id written again" "$(send --scheme standard --secret "$SW_SECRET" --id msg_rot2) $(with_id "$ev" msg_rot2)" "200 2"
  stop_with TERM
}

# ---- limits: 413, 431, 405, 404, 400; still serving after each ----------------
test_limits() {
  local ev="$WORK/lim.jsonl" n
  start_listener --scheme github --secret "$GH_SECRET" -o "$ev" --max-body 64K --path /hook --headers
  still_serving() { # still_serving NAME: a valid delivery right after
    check "$1, then a valid one" "$(send --scheme github --secret "$GH_SECRET" --id "after-$1")" 200
  }
  head -c 65536 /dev/zero | tr '\0' a >"$WORK/64k"
  head -c 65537 /dev/zero | tr '\0' a >"$WORK/64k1"
  check "64 KiB body accepted" "$(gh_post "$WORK/64k" big-ok | cut -d' ' -f1)" 200
  check "64 KiB + 1 body 413" "$(gh_post "$WORK/64k1" big-no | cut -d' ' -f1)" 413
  still_serving 413
  check "chunked 64 KiB + 1 413" "$(gh_post "$WORK/64k1" big-chunked "$GH_SECRET" -H 'Transfer-Encoding: chunked' | cut -d' ' -f1)" 413
  still_serving 413-chunked
  check "40 KB header 431" "$("${CURL[@]}" -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 40000 /dev/zero | tr '\0' b)" \
    --data-binary x "$URL")" 431
  still_serving 431
  check "GET 405" "$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$URL")" 405
  check "405 Allow: POST" "$("${CURL[@]}" -o /dev/null -D - -X PUT "$URL" | tr -d '\r' | grep -i '^allow:')" "Allow: POST"
  still_serving 405
  check "other path 404" "$("${CURL[@]}" -o /dev/null -w '%{http_code}' --data-binary x "${URL%/hook}/other")" 404
  still_serving 404
  check "malformed github signature 400" "$("${CURL[@]}" -o /dev/null -w '%{http_code}' \
    -H 'X-Hub-Signature-256: sha256=XYZ' --data-binary x "$URL")" 400
  still_serving 400
  check "id too long 400" "$(gh_post "$WORK/hello" "$(head -c 300 /dev/zero | tr '\0' i)" | cut -d' ' -f1)" 400
  # two distinct ids that JSON would both write "gh-\ufffd": one dedup key
  # before; now refused (signed and otherwise valid)
  check "ids not UTF-8 400, each" "$(gh_post "$WORK/hello" $'gh-\xff' | cut -d' ' -f1) $(gh_post "$WORK/hello" $'gh-\xfe' | cut -d' ' -f1)" \
    "400 400"
  check "a UTF-8 id accepted" "$(gh_post "$WORK/hello" $'gh-\xc3\xa9' | cut -d' ' -f1) $(with_id "$ev" $'gh-\xc3\xa9')" "200 1"
  # --path compares the target as sent: signed deliveries to look-alikes
  local base=${URL%/hook}
  check "--path: /ho%6fk 404" "$(URL="$base/ho%6fk" gh_post "$WORK/hello" path-1 | cut -d' ' -f1)" 404
  check "--path: /hook%00junk 400" "$(URL="$base/hook%00junk" gh_post "$WORK/hello" path-2 | cut -d' ' -f1)" 400
  check "--path: /hook?query 200" "$(URL="$base/hook?x=1" gh_post "$WORK/hello" path-3 | cut -d' ' -f1)" 200
  check "--path: look-alikes not written" "$(with_id "$ev" path-1) $(with_id "$ev" path-2) $(with_id "$ev" path-3)" "0 0 1"
  check "only the accepted ones written" "$(lines "$ev")" 9
  check "--headers writes them" "$(jq -r 'select(.id=="big-ok") | .headers["x-github-delivery"]' "$ev")" big-ok
  check "Authorization redacted" "$(gh_post "$WORK/hello" auth-1 "$GH_SECRET" -H 'Authorization: Bearer s3cret' -H 'Cookie: c=1' | cut -d' ' -f1) \
$(jq -r 'select(.id=="auth-1") | "\(.headers.authorization) \(.headers.cookie)"' "$ev")" "200 [redacted] [redacted]"
  check "no secret in the file" "$(grep -c 's3cret' "$ev")" 0
  n=$(lines "$ev")
  stop_with TERM
  # (libmicrohttpd logs the 431 it answered)
  check "no errors on stderr" "$(grep -v -e '^flurry listen: ' -e 'response code is 431' "$WORK/stderr")" ""
  # slow clients: the head within 1 s, the body within 1 s of the head
  start_listener --scheme github --secret "$GH_SECRET" -o "$ev" --header-timeout 1 --body-timeout 1
  local port start took
  port=$(cat "$WORK/port")
  # The verdict: the server closed the connection (cat saw EOF, not our 20 s
  # timeout), not before the 1 s asked for (a lower bound time guarantees) and
  # before 8 s, well under the defaults (10 s head, 30 s body) even on a
  # loaded machine.
  start=$(date +%s%N)
  { exec 3<>"/dev/tcp/127.0.0.1/$port"; printf 'POST /hook HTTP/1.1\r\nHost: x\r\n' >&3
    timeout 20 cat <&3 >/dev/null; echo $? >"$WORK/slow.rc"; exec 3<&-; } 2>/dev/null
  took=$(( ($(date +%s%N) - start) / 1000000 ))
  check "slow head cut by the server at >= 1 s, < 8 s (${took} ms)" \
    "$(cat "$WORK/slow.rc") $([ "$took" -ge 900 ] && [ "$took" -lt 8000 ] && echo yes)" "0 yes"
  start=$(date +%s%N)
  { exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf 'POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789' >&3
    timeout 20 cat <&3 >/dev/null; echo $? >"$WORK/slow.rc"; exec 3<&-; } 2>/dev/null
  took=$(( ($(date +%s%N) - start) / 1000000 ))
  check "slow body cut by the server at >= 1 s, < 8 s (${took} ms)" \
    "$(cat "$WORK/slow.rc") $([ "$took" -ge 900 ] && [ "$took" -lt 8000 ] && echo yes)" "0 yes"
  check "fast clients unaffected" "$(send --scheme github --secret "$GH_SECRET" --count 3 --id fast | tr '\n' ' ')" "200 200 200 "
  stop_with TERM
  check "slow clients wrote nothing" "$(lines "$ev")" $((n + 3))
}

# ---- the file: torn last line, lock, stdout --------------------------------------
test_file() {
  local ev="$WORK/torn.jsonl"
  printf '{"id":"x","received_at":"2030-01-01T00:00:00.000Z","sche' >"$ev"
  start_listener --scheme github --secret "$GH_SECRET" -o "$ev"
  check "torn line reported" "$(grep -c 'did not end with a newline' "$WORK/stderr")" 1
  check "after a torn line" "$(send --scheme github --secret "$GH_SECRET" --id after-torn)" 200
  check "new event on its own line" "$(tail -1 "$ev" | jq -r .id)" after-torn
  "$FLURRY" listen --scheme github --secret x -o "$ev" >/dev/null 2>"$WORK/lock.err"
  local rc=$?
  check "second listener on the file refused" "$rc $(grep -c 'in use by another process' "$WORK/lock.err")" "1 1"
  stop_with TERM
  # a 3 s dedup window: the same id is a duplicate within it (two sends, ~0.1 s
  # apart: a 30x margin for a loaded machine), new after it (3.1 s of sleep:
  # at least that much has passed)
  start_listener --scheme github --secret "$GH_SECRET" -o "$WORK/win.jsonl" --dedup-window 3
  check "short window: duplicate within it" "$(send --scheme github --secret "$GH_SECRET" --id w1)$(gh_post "$WORK/hello" w1 | cut -d' ' -f2)" \
    '200{"ok":true,"duplicate":true}'
  sleep 3.1
  check "short window: written again after it" "$(send --scheme github --secret "$GH_SECRET" --id w1) $(with_id "$WORK/win.jsonl" w1)" "200 2"
  stop_with TERM
  start_listener --scheme none --quiet
  check "scheme none warns even with --quiet" "$(grep -c 'NOT verified' "$WORK/stderr")" 1
  check "scheme none accepts" "$("${CURL[@]}" -o /dev/null -w '%{http_code}' -H 'webhook-id: n-1' --data-binary '{"a":1}' "$URL")" 200
  "${CURL[@]}" -o /dev/null -H 'webhook-id: n-1' --data-binary '{"a":1}' "$URL"
  check "no --path: %00 in the path 400" "$("${CURL[@]}" -o /dev/null -w '%{http_code}' -H 'webhook-id: n-2' \
    --data-binary '{"a":2}' "${URL%/hook}/a%00b")" 400
  check "no --path: other encodings kept as decoded" "$("${CURL[@]}" -o /dev/null -w '%{http_code}' \
    --data-binary '{"a":3}' "${URL%/hook}/h%6fok")" 200
  stop_with TERM
  check "stdout: the port, then two events" "$(sed -n 1p "$WORK/stdout" | grep -c '^[0-9]*$') $(sed -n '2,$p' "$WORK/stdout" | jq -c '[.id, .path, .body]' | tr '\n' ' ')" \
    '1 ["n-1","/hook",{"a":1}] [null,"/hook",{"a":3}] '
}

# ---- stdout into a pipe whose reader stops, or goes away ---------------------
# output_checks SCENARIO [FLAG]: listen_output.py's checks, one each.
output_checks() {
  local name got want ended=no label="$1${2:+ $2}"
  while IFS=$'\t' read -r name got want; do
    check "$label: $name" "$got" "$want"
    [ "$name" = "the driver ran to its end" ] && ended=yes
  done < <(timeout 200 python3 "$(dirname "$0")/listen_output.py" "$FLURRY" "$@")
  [ "$ended" = yes ] || fail "$label" "listen_output.py did not run to its end"
}

test_slow_reader() {
  output_checks backlog
  output_checks backlog nonblock
  output_checks gone
  output_checks gone nonblock
  output_checks tty
  output_checks shutdown
  output_checks shutdown never
}

test_options() {
  local rc
  "$FLURRY" listen --secret x >/dev/null 2>"$WORK/o1"; rc="$?"
  "$FLURRY" listen --scheme github >/dev/null 2>>"$WORK/o1"; rc="$rc $?"
  "$FLURRY" listen --scheme standard --secret whsec_!! >/dev/null 2>>"$WORK/o1"; rc="$rc $?"
  "$FLURRY" listen --scheme github --secret x --max-body 26M >/dev/null 2>>"$WORK/o1"; rc="$rc $?"
  "$FLURRY" listen --scheme github --secret x --fsync >/dev/null 2>>"$WORK/o1"; rc="$rc $?"
  "$FLURRY" listen --scheme stripe --secret x --tolerance 600 --dedup-window 1000 >/dev/null 2>>"$WORK/o1"; rc="$rc $?"
  "$FLURRY" listen --bogus >/dev/null 2>>"$WORK/o1"; rc="$rc $?"
  check "bad options exit 2" "$rc" "2 2 2 2 2 2 2"
  check "bad option messages" "$(grep -c '^flurry listen: ' "$WORK/o1")" 7
  check "--help" "$("$FLURRY" listen --help | grep -c -- '--dedup-window SECONDS')" 1
  # a bad value is refused as it is read (before the missing --scheme), naming the option
  "$FLURRY" listen --max-conns 0 >/dev/null 2>"$WORK/o2"; rc="$?"
  "$FLURRY" listen --secret x --scheme bogus >/dev/null 2>>"$WORK/o2"; rc="$rc $?"
  check "bad values exit 2" "$rc" "2 2"
  check "bad values: the option named, once" \
    "$(grep -c -e "^flurry listen: --max-conns '0': expected a whole number from 1 to 20000" \
      -e "^flurry listen: --scheme 'bogus': expected github" "$WORK/o2") $(wc -l <"$WORK/o2")" "2 2"
}

run_test test_github
run_test test_stripe
run_test test_standard
run_test test_limits
run_test test_file
run_test test_slow_reader
run_test test_options
finish
