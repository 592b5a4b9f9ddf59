#!/usr/bin/env bash
# Client-side hardening: secret headers, the redirect policy, hostile
# servers (huge headers, gzip bomb), redaction and header/URL injection.
# The real binary against two `flurry mock` instances (two origins).
source "$(dirname "$0")/lib.sh"
start_mock
F() { "$FLURRY" -q "$@"; }
enc() { jq -rn --arg u "$1" '$u | @uri'; }
A_PORT=$(cat "$WORK/port")
A=$BASE

# A second mock: another origin (same host, another port).
"$FLURRY" mock --port 0 --port-file "$WORK/port_b" --quiet >/dev/null &
MOCK_B_PID=$!
NGX_PID=""
trap 'kill $MOCK_B_PID 2>/dev/null; wait $MOCK_B_PID 2>/dev/null;
      [ -n "$NGX_PID" ] && { kill $NGX_PID 2>/dev/null; wait $NGX_PID 2>/dev/null; }; cleanup' EXIT
for _ in $(seq 1 200); do [ -s "$WORK/port_b" ] && break; sleep 0.05; done
[ -s "$WORK/port_b" ] || { echo "the second flurry mock did not start"; exit 1; }
B="http://127.0.0.1:$(cat "$WORK/port_b")"

# nginx over TLS for https -> http, and a redirect to itself (a loop).
nginx_tls() {
  NP=$(free_port)
  start_nginx "
  access_log off;
  server {
    listen 127.0.0.1:$NP ssl;
    ssl_certificate $WORK/ngx/cert.pem;
    ssl_certificate_key $WORK/ngx/key.pem;
    location /to-http { return 302 $B/echo; }
    location /loop { return 302 /loop; }
    location /set-cookie { add_header Set-Cookie \"sid=SECRET_SETCOOKIE\" always; return 500; }
    location /doc.json { return 200 ok; }
  }" "https://127.0.0.1:$NP/doc.json"
  TLS="https://127.0.0.1:$NP"
}
nginx_tls

test_secret_header_option() {
  "$FLURRY" -q --secret-header 'bad name' "$BASE/json" </dev/null 2>"$WORK/sh.err"
  check "--secret-header with a bad name: exit 2" "$?" 2
  check "--secret-header with a bad name: says so" \
    "$(grep -c -- "--secret-header 'bad name': expected a header name" "$WORK/sh.err")" 1
  # A secret -H is still sent to the request's own origin.
  echo "$BASE/headers" | F -H 'X-Custom: s3cr3t' --secret-header X-Custom > "$WORK/sh.jsonl"
  check "secret header reaches its own origin" "$(jq -r '.body.headers["x-custom"]' "$WORK/sh.jsonl")" s3cr3t
}

# Credentials: four -H that are secret (two always, one by the name
# heuristic, one by --secret-header), one that is not.
CREDS=(-H 'Authorization: Bearer SECRET_AUTH' -H 'Cookie: sid=SECRET_COOKIE'
       -H 'X-Api-Key: SECRET_KEY' -H 'X-Custom: SECRET_CUSTOM' --secret-header X-Custom
       -H 'X-Plain: visible')
hdrs() { jq -c '.body.headers | [.authorization, .cookie, .["x-api-key"], .["x-custom"], .["x-plain"]]' "$1"; }

test_redirect_other_origin_drops_secrets() {
  echo "$A/redirect-to?url=$(enc "$B/headers")" | F "${CREDS[@]}" > "$WORK/r1.jsonl"
  check "redirect to another port: followed" "$(jq -r .effective_url "$WORK/r1.jsonl")" "$B/headers"
  check "redirect to another port: no secret header there" "$(hdrs "$WORK/r1.jsonl")" \
    '[null,null,null,null,"visible"]'
  # Another host name for the same address and port is another origin too.
  echo "$A/redirect-to?url=$(enc "http://localhost:$A_PORT/headers")" | F "${CREDS[@]}" > "$WORK/r2.jsonl"
  check "redirect to another host: no secret header there" "$(hdrs "$WORK/r2.jsonl")" \
    '[null,null,null,null,"visible"]'
  # A JSON line's own header named by --secret-header: the same.
  jq -cn --arg u "$A/redirect-to?url=$(enc "$B/headers")" \
    '{url: $u, headers: {"X-Own": "SECRET_OWN", "X-Fine": "ok"}}' \
    | F --secret-header X-Own > "$WORK/r3.jsonl"
  check "redirect: a request's own secret header stays home" \
    "$(jq -c '.body.headers | [.["x-own"], .["x-fine"]]' "$WORK/r3.jsonl")" '[null,"ok"]'
  # ... and one that is a credential by its name (the one rule: pages,
  # redirects and -H alike)
  jq -cn --arg u "$A/redirect-to?url=$(enc "$B/headers")" \
    '{url: $u, headers: {"X-Auth-Token": "SECRET_OWN", "X-Fine": "ok"}}' | F > "$WORK/r5.jsonl"
  check "redirect: a request's own credential-named header stays home" \
    "$(jq -c '.body.headers | [.["x-auth-token"], .["x-fine"]]' "$WORK/r5.jsonl")" '[null,"ok"]'
  grep -rq SECRET_ "$WORK"/r[1235].jsonl && fail "no secret value in the records" "found" \
    || pass "no secret value in the records"
}

test_redirect_same_origin_keeps_them() {
  echo "$A/redirect-to?url=%2Fheaders" | F "${CREDS[@]}" > "$WORK/r4.jsonl"
  check "same-origin redirect: credentials still sent" "$(hdrs "$WORK/r4.jsonl")" \
    '["Bearer SECRET_AUTH","sid=SECRET_COOKIE","SECRET_KEY","SECRET_CUSTOM","visible"]'
}

test_redirect_userinfo() {
  echo "http://user:pw@127.0.0.1:$A_PORT/redirect-to?url=$(enc "$B/headers")" | F > "$WORK/u1.jsonl"
  check "userinfo: not sent to another origin" "$(jq -c '.body.headers.authorization' "$WORK/u1.jsonl")" null
  echo "http://user:pw@127.0.0.1:$A_PORT/redirect-to?url=%2Fheaders" | F > "$WORK/u2.jsonl"
  check "userinfo: sent again to the same origin" \
    "$(jq -r '.body.headers.authorization' "$WORK/u2.jsonl")" "Basic $(printf user:pw | base64)"
}

test_redirect_methods() {
  echo "$A/redirect-to?url=$(enc "$B/echo")&status=307" | F -d hello > "$WORK/m1.jsonl"
  check "307: method and body kept" "$(jq -c '[.status, .body.method, .body.body]' "$WORK/m1.jsonl")" \
    '[200,"POST","hello"]'
  echo "$A/redirect-to?url=$(enc "$B/echo")&status=303" | F -d hello > "$WORK/m2.jsonl"
  check "303: on as GET without the body" "$(jq -c '[.status, .body.method]' "$WORK/m2.jsonl")" \
    '[200,"GET"]'
}

test_redirect_refusals() {
  { echo "$A/redirect-to?url=$(enc ftp://127.0.0.1/x)"
    echo "$A/redirect-to?url=$(enc 'javascript:alert(1)')"
    echo "$A/redirect-to?url=$(enc file:///etc/passwd)"; } | F > "$WORK/s.jsonl"
  check "non-HTTP schemes refused, typed" \
    "$(jq -s -c 'map([.status, .error.kind, .error.detail]) | unique' "$WORK/s.jsonl")" \
    '[[302,"protocol","redirect_scheme"]]'
  echo "$A/redirect/20" | F --max-redirects 5 > "$WORK/l1.jsonl"
  check "a long chain stops at --max-redirects" \
    "$(jq -c '[.error.kind, .error.detail, .error.message]' "$WORK/l1.jsonl")" \
    '["protocol","too_many_redirects","stopped after 5 redirects (the maximum)"]'
  echo "$A/redirect/3" | F --max-redirects 3 > "$WORK/l2.jsonl"
  check "a chain of exactly --max-redirects is followed" "$(jq .status "$WORK/l2.jsonl")" 200
  echo "$A/redirect/1" | F --max-redirects 0 > "$WORK/l3.jsonl"
  check "--max-redirects 0: the 302 is the answer" "$(jq -c '[.status, .error]' "$WORK/l3.jsonl")" '[302,null]'
  echo "$TLS/loop" | F --cacert "$WORK/ngx/cert.pem" > "$WORK/l4.jsonl"
  check "a redirect loop stops at the default max (10)" \
    "$(jq -c '[.error.kind, .error.detail]' "$WORK/l4.jsonl")" '["protocol","too_many_redirects"]'
  echo "$TLS/to-http" | F --cacert "$WORK/ngx/cert.pem" -H 'Authorization: Bearer SECRET_AUTH' \
    > "$WORK/d.jsonl"
  check "https -> http refused, typed" "$(jq -c '[.status, .error.kind, .error.detail]' "$WORK/d.jsonl")" \
    '[302,"protocol","redirect_downgrade"]'
}

# peak_rss_kb CMD...: runs CMD (stdin and stdout passed on) and prints its
# peak resident set size in KiB on fd 3.
peak_rss_kb() {
  python3 -c 'import resource, subprocess, sys, os
subprocess.run(sys.argv[1:])
os.write(3, b"%d" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}
MIB64=$((64 * 1024))

test_huge_headers() {
  echo "$A/huge-headers" | peak_rss_kb "$FLURRY" -q > "$WORK/hh1.jsonl" 3> "$WORK/hh1.rss"
  check "300 KiB of headers: typed error" "$(jq -c '[.error.kind, .error.detail]' "$WORK/hh1.jsonl")" \
    '["too_large","header_too_large"]'
  check "300 KiB of headers: bounded memory (peak RSS under 64 MiB, ASan included)" \
    "$([ "$(cat "$WORK/hh1.rss")" -lt $MIB64 ] && echo yes || echo "no: $(cat "$WORK/hh1.rss") KiB")" yes
  echo "$A/huge-headers?lines=5000&bytes=100000" | F > "$WORK/hh2.jsonl"
  check "5,000 header lines (100 KB): typed error" \
    "$(jq -c '[.error.kind, .error.detail]' "$WORK/hh2.jsonl")" '["too_large","header_too_large"]'
  { echo "$A/huge-headers?lines=900&bytes=100000"; echo "$A/huge-headers?lines=10&bytes=200000"; } \
    | F > "$WORK/hh3.jsonl"
  check "900 header lines, or 200 KB of them: accepted" \
    "$(jq -s -c 'map([.status, .error, .body]) | unique' "$WORK/hh3.jsonl")" '[[200,null,{}]]'
}

test_gzip_bomb() {
  echo "$A/gzip-bomb?mib=2" | F > "$WORK/gz1.jsonl"
  check "gzip: decoded (2 MiB from a few KiB)" "$(jq -c '[.status, .bytes]' "$WORK/gz1.jsonl")" \
    "[200,$((2 << 20))]"
  echo "$A/gzip-bomb" | peak_rss_kb "$FLURRY" -q --max-size 10M > "$WORK/gz2.jsonl" 3> "$WORK/gz2.rss"
  check "gzip bomb (1 GiB): too_large at the 10 MiB limit" \
    "$(jq -c '[.error.kind, .error.message, .bytes <= 10485760]' "$WORK/gz2.jsonl")" \
    '["too_large","response larger than 10485760 bytes",true]'
  check "gzip bomb: peak RSS under 64 MiB (ASan included)" \
    "$([ "$(cat "$WORK/gz2.rss")" -lt $MIB64 ] && echo yes || echo "no: $(cat "$WORK/gz2.rss") KiB")" yes
}

test_redaction() {
  local P=$A_PORT
  { echo "http://user:SECRET_PW@127.0.0.1:$P/status/500"
    echo "http://user:SECRET_PW@127.0.0.1:$P/reset"
    echo "http://SECRET_TOKEN@127.0.0.1:$P/redirect-to?url=%2Fstatus%2F404"
    echo "http://user:SECRET_PW@127.0.0.1:$P/bad url"
    echo "{\"url\":\"http://user:SECRET_PW@127.0.0.1:$P/flaky?key=red&fail=9\",\"headers\":{\"X-Line-Key\":\"SECRET_LINE\"}}"
    echo "$TLS/set-cookie"; } > "$WORK/red.in"
  F -i "$WORK/red.in" -o "$WORK/red.jsonl" --resume --retries 1 --retry-base 1ms --headers --attempts \
    --progress always --cacert "$WORK/ngx/cert.pem" "${CREDS[@]}" 2> "$WORK/red.err"
  "$FLURRY" --progress always --strict <<< "http://user:SECRET_PW@127.0.0.1:$P/a b" \
    > "$WORK/red2.jsonl" 2>> "$WORK/red.err"
  "$FLURRY" -H "Authorization: Bearer SECRET_AUTH$(printf '\r')" "$A/x" </dev/null 2>> "$WORK/red.err"
  "$FLURRY" --base-url "http://user:SECRET_PW@" </dev/null 2>> "$WORK/red.err"
  check "redaction: every line has its record" "$(cat "$WORK/red.jsonl" "$WORK/red2.jsonl" | jq -s length)" 7
  check "redaction: no secret in records, stderr or the resume file" \
    "$(cat "$WORK/red.jsonl" "$WORK/red2.jsonl" "$WORK/red.err" "$WORK/red.jsonl.resume" | grep -o 'SECRET_[A-Z]*' | sort -u | tr '\n' ' ')" ""
  check "redaction: the password is masked, the user kept" \
    "$(jq -r 'select(.line == 1) | .url' "$WORK/red.jsonl")" "http://user:***@127.0.0.1:$P/status/500"
  check "redaction: a lone user name (a token) is masked" \
    "$(jq -r 'select(.line == 3) | .effective_url' "$WORK/red.jsonl")" "http://***@127.0.0.1:$P/status/404"
  check "redaction: Set-Cookie in --headers is masked" \
    "$(jq -r 'select(.line == 6) | .headers["set-cookie"]' "$WORK/red.jsonl")" "***"
  check "redaction: the messages still say what went wrong" \
    "$(grep -c -e "--header 'Authorization': CR, LF" -e "--base-url 'http://user:\*\*\*@'" \
       -e 'line 1: invalid request.*--strict' "$WORK/red.err")" 3
}

test_failing_start_ends_the_run() {
  # A URL libcurl refuses (port 99999) fails inside a timer callback; the
  # run used to poll for ever after the last record (input from a file).
  echo "http://127.0.0.1:99999/x" > "$WORK/port.in"
  timeout 60 "$FLURRY" -q -i "$WORK/port.in" > "$WORK/port.jsonl"
  check "a request failing at its start: the run ends (exit 1)" "$?" 1
  check "a request failing at its start: typed" "$(jq -r .error.kind "$WORK/port.jsonl")" invalid_request
}

# Requests that reached mock B's /items endpoints so far.
items_seen() { curl -s "$B/items/stats" | jq '[.requests[]] | add'; }

test_injection_nothing_sent() {
  local before; before=$(items_seen)
  local U="$B/items"
  # JSON lines: CR, LF, NUL (\u0000), other C0 and DEL in URLs, header names
  # and values; then raw lines with a lone CR or a control byte; then the
  # same through a whole-value template ({} and {.u}).
  jq -cn --arg u "$U" '
    {url: ($u + "?a\r\nX-Injected: 1")}, {url: ($u + "\u0000.evil")}, {url: ($u + "?\u0001")},
    {url: ($u + "?\u007f")}, {url: ($u + "?a\tb")},
    {url: $u, headers: {"X-A": "v\r\nX-Injected: 1"}}, {url: $u, headers: {"X-A": "v\u0000w"}},
    {url: $u, headers: {"X-A\r\nX-Injected": "1"}}, {url: $u, headers: {"X-A\u0000B": "v"}},
    {url: $u, headers: {"X-A": "v\u0007"}}, {url: $u, method: "GET\u0000X"},
    {url: $u, query: {"a\u0000b": "1"}}' > "$WORK/inj.in"
  printf '%s\r%s\n%s\001\n' "$U?a" "X-Injected: 1" "$U?b" >> "$WORK/inj.in"
  F -i "$WORK/inj.in" > "$WORK/inj.jsonl"
  check "injection: exit 1 (error records, not a crash)" "$?" 1
  check "injection: one invalid_request record per line, naming it" \
    "$(jq -s -c '[(map(.error.kind) | unique), (map(.error.message | test("^line [0-9]+: ")) | all),
                  (map(.line) | sort == [range(1; 15)])]' "$WORK/inj.jsonl")" '[["invalid_request"],true,true]'
  printf '%s\r%s\n' "$U?a" "X-Injected: 1" | F '{}' > "$WORK/inj2.jsonl"
  jq -cn --arg u "$U" '{u: ($u + "?a\r\nX-Injected: 1")}, {u: ($u + "\u0000")}' | F '{.u}' >> "$WORK/inj2.jsonl"
  check "injection through a template: invalid_request" \
    "$(jq -s -c 'map(.error.kind)' "$WORK/inj2.jsonl")" '["invalid_request","invalid_request","invalid_request"]'
  check "injection: nothing reached the server" "$(items_seen)" "$before"
  # The same endpoint with clean input is counted: the counter works.
  echo "$U?per_page=1" | F > /dev/null
  check "injection: a clean request is counted" "$(items_seen)" "$((before + 1))"
}

run_test test_secret_header_option
run_test test_injection_nothing_sent
run_test test_failing_start_ends_the_run
run_test test_redirect_other_origin_drops_secrets
run_test test_redirect_same_origin_keeps_them
run_test test_redirect_userinfo
run_test test_redirect_methods
run_test test_redirect_refusals
run_test test_huge_headers
run_test test_redaction
run_test test_gzip_bomb
finish
