#!/usr/bin/env bash
# test_mock.sh: every endpoint of `flurry mock`, 2,000 concurrent delayed
# responses, bad options, and a clean SIGTERM shutdown. Needs curl and jq.
set -euo pipefail

: "${FLURRY:?FLURRY must be the path of the flurry binary}"
work=$(mktemp -d)
mock_pid=
cleanup() {
  if [ -n "$mock_pid" ]; then kill "$mock_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fails=0
ok() { printf 'ok   %s\n' "$1"; }
fail() { printf 'FAIL %s\n' "$1"; fails=$((fails + 1)); }
# check NAME EXPECTED ACTUAL
check() {
  if [ "$2" == "$3" ]; then ok "$1"; else fail "$1: expected [$2] got [$3]"; fi
}

# ---- start on port 0, wait for the port file ----------------------------
"$FLURRY" mock --port 0 --port-file "$work/port" >"$work/stdout" 2>"$work/stderr" &
mock_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")
check "port file matches stdout" "$port" "$(head -1 "$work/stdout")"
[[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -gt 0 ] || { echo "bad port '$port'"; exit 1; }
U="http://127.0.0.1:$port"

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
body() { curl -s "$@"; }
header() { # header NAME CURL_ARGS...: value of response header NAME
  local name=$1; shift
  curl -s -o /dev/null -D - "$@" | tr -d '\r' | awk -v n="$(echo "$name" | tr 'A-Z' 'a-z')" \
    -F': ' 'tolower($1) == n { print $2 }'
}

# ---- GET / and /json ---------------------------------------------------------
check "/ lists endpoints" "true" "$(body "$U/" | jq '.endpoints | length > 10')"
check "/json status" "200" "$(code "$U/json")"
check "/json content-type" "application/json" "$(header content-type "$U/json")"
check "/json document" "Sample Slide Show" "$(body "$U/json" | jq -r .slideshow.title)"
check "HEAD /json" "200" "$(code -I "$U/json")"

# ---- /delay --------------------------------------------------------------------
t=$(curl -s -o "$work/d" -w '%{time_total}' "$U/delay/300")
check "/delay/300 body" '{"delay_ms":300}' "$(cat "$work/d")"
check "/delay/300 took >= 0.3 s ($t)" "1" "$(awk -v t="$t" 'BEGIN { print (t >= 0.29) }')"
check "/delay/0" '{"delay_ms":0}' "$(body "$U/delay/0")"
check "/delay/60001 rejected" "400" "$(code "$U/delay/60001")"
check "/delay/abc rejected" "400" "$(code "$U/delay/abc")"

# ---- /status ---------------------------------------------------------------------
check "/status/418" "418" "$(code "$U/status/418")"
check "/status/503 body" "503" "$(body "$U/status/503" | jq .status)"
check "/status/201 POST" "201" "$(code -X POST -d x "$U/status/201")"
check "/status/204 empty" "204:0" "$(curl -s -o "$work/s" -w '%{http_code}' "$U/status/204"):$(wc -c <"$work/s" | tr -d ' ')"
check "/status/100 rejected" "400" "$(code "$U/status/100")"
check "/status/600 rejected" "400" "$(code "$U/status/600")"
check "/status/x rejected" "400" "$(code "$U/status/x")"
check "/status/429 retry_after" "7" "$(header retry-after "$U/status/429?retry_after=7")"

# ---- /users ---------------------------------------------------------------------------
check "/users has 100" "100" "$(body "$U/users" | jq length)"
check "/users ids 1..100" "1 100" "$(body "$U/users" | jq -r '"\(.[0].id) \(.[99].id)"')"
check "/users/42" "User 42" "$(body "$U/users/42" | jq -r .name)"
check "/users/42 deterministic" "$(body "$U/users/42")" "$(body "$U/users/42")"
check "/users/1000000" "1000000" "$(body "$U/users/1000000" | jq .id)"
check "/users/0 404" "404" "$(code "$U/users/0")"
check "/users/1000001 404" "404" "$(code "$U/users/1000001")"
check "/users/abc 404" "404" "$(code "$U/users/abc")"
check "/users/abc error json" "user not found" "$(body "$U/users/abc" | jq -r .error)"
check "/users page 3" "201 300" "$(body "$U/users?page=3" | jq -r '"\(.[0].id) \(.[99].id)"')"
check "/users Link next" '</users?page=2&per_page=100&total=1000>; rel="next"' "$(header link "$U/users")"
check "/users last page" "0:" "$(body "$U/users?page=11" | jq length):$(header link "$U/users?page=11")"

# ---- /echo ---------------------------------------------------------------------------------
e=$(body -X PUT "$U/echo?a=1&b=x%20y&flag" -H 'X-Test-Header: Hi' -H 'Content-Type: application/json' \
  --data-binary '{"k": [1, 2, {"z": null}]}')
check "/echo method" "PUT" "$(jq -r .method <<<"$e")"
check "/echo path" "/echo" "$(jq -r .path <<<"$e")"
check "/echo query" '{"a":"1","b":"x y","flag":null}' "$(jq -c .query <<<"$e")"
check "/echo header lowercased" "Hi" "$(jq -r '.headers["x-test-header"]' <<<"$e")"
check "/echo JSON body" '{"k":[1,2,{"z":null}]}' "$(jq -c .body <<<"$e")"
check "/echo text body" '"hello world"' "$(body --data-binary 'hello world' "$U/echo" | jq -c .body)"
check "/echo binary body" '"AP8B"' "$(printf '\000\377\001' | body --data-binary @- "$U/echo" | jq -c .body_base64)"
check "/echo GET no body" '""' "$(body "$U/echo" | jq -c .body)"
head -c 1048576 /dev/zero | tr '\0' a >"$work/1m"
head -c 1048577 /dev/zero | tr '\0' a >"$work/1m1"
check "/echo 1 MiB accepted" "1048576" "$(body --data-binary @"$work/1m" "$U/echo" | jq '.body | length')"
check "/echo 1 MiB + 1 413" "413" "$(code --data-binary @"$work/1m1" "$U/echo")"
check "/echo chunked 1 MiB + 1 413" "413" "$(code -H 'Transfer-Encoding: chunked' --data-binary @"$work/1m1" "$U/echo")"

# ---- /headers ----------------------------------------------------------------------------------
check "/headers" "v1" "$(body -H 'X-One: v1' "$U/headers" | jq -r '.headers["x-one"]')"

# ---- /bytes -------------------------------------------------------------------------------------
check "/bytes/0" "0" "$(body "$U/bytes/0" | wc -c | tr -d ' ')"
check "/bytes/1000" "1000" "$(body "$U/bytes/1000" | wc -c | tr -d ' ')"
check "/bytes content-type" "application/octet-stream" "$(header content-type "$U/bytes/10")"
check "/bytes deterministic" "$(body "$U/bytes/5000" | cksum)" "$(body "$U/bytes/5000" | cksum)"
check "/bytes prefix-stable" "$(body "$U/bytes/777" | cksum)" "$(body "$U/bytes/3000" | head -c 777 | cksum)"
check "/bytes/10 MiB streamed" "10485760" "$(body "$U/bytes/10485760" | wc -c | tr -d ' ')"
check "/bytes too big" "400" "$(code "$U/bytes/104857601")"

# ---- redirects -------------------------------------------------------------------------------------
check "/redirect/3 first hop" "302 /redirect/2" "$(code "$U/redirect/3") $(header location "$U/redirect/3")"
check "/redirect/1 to /json" "/json" "$(header location "$U/redirect/1")"
check "/redirect/3 followed" "3 Sample Slide Show" \
  "$(curl -sL -o "$work/r" -w '%{num_redirects}' "$U/redirect/3") $(jq -r .slideshow.title "$work/r")"
check "/redirect/101 rejected" "400" "$(code "$U/redirect/101")"
check "/redirect-to default" "302 https://example.com/x?y=1" \
  "$(code "$U/redirect-to?url=https%3A%2F%2Fexample.com%2Fx%3Fy%3D1") $(header location "$U/redirect-to?url=https%3A%2F%2Fexample.com%2Fx%3Fy%3D1")"
check "/redirect-to 307" "307" "$(code "$U/redirect-to?url=/json&status=307")"
check "/redirect-to no url" "400" "$(code "$U/redirect-to")"
check "/redirect-to CRLF refused" "400" "$(code "$U/redirect-to?url=/x%0d%0aSet-Cookie:%20a=b")"

# ---- /flaky ---------------------------------------------------------------------------------------
got=""
for _ in 1 2 3 4; do got="$got $(code "$U/flaky?key=k1&fail=2")"; done
check "/flaky fail=2" " 503 503 200 200" "$got"
check "/flaky attempt" "5" "$(body "$U/flaky?key=k1&fail=2" | jq .attempt)"
check "/flaky status=500" "500 200" "$(code "$U/flaky?key=k2&status=500") $(code "$U/flaky?key=k2&status=500")"
check "/flaky no Retry-After" "" "$(header retry-after "$U/flaky?key=k3&fail=1")"
check "/flaky retry_after" "2" "$(header retry-after "$U/flaky?key=k4&retry_after=2")"
check "/flaky keys independent" "1" "$(body "$U/flaky?key=k5&fail=0" | jq .attempt)"
check "/flaky no key" "400" "$(code "$U/flaky")"

# ---- /limited ----------------------------------------------------------------------------------------
got=""
# rate 1/s, burst 3: four quick requests, the fourth refused
for _ in 1 2 3 4; do got="$got $(code "$U/limited?rate=1&burst=3")"; done
check "/limited burst=3" " 200 200 200 429" "$got"
h=$(curl -s -o /dev/null -D - "$U/limited?rate=1&burst=3" | tr -d '\r' | tr 'A-Z' 'a-z')
check "/limited 429 Retry-After" "retry-after: 1" "$(grep '^retry-after:' <<<"$h")"
check "/limited RateLimit-Limit" "ratelimit-limit: 1" "$(grep '^ratelimit-limit:' <<<"$h")"
check "/limited RateLimit-Remaining" "ratelimit-remaining: 0" "$(grep '^ratelimit-remaining:' <<<"$h")"
check "/limited RateLimit-Reset" "ratelimit-reset: 1" "$(grep '^ratelimit-reset:' <<<"$h")"
sleep 1.1
check "/limited refills" "200" "$(code "$U/limited?rate=1&burst=3")"
check "/limited bad rate" "400" "$(code "$U/limited?rate=0")"

# ---- unknown path --------------------------------------------------------------------------------------
check "unknown 404" "404" "$(code "$U/nope")"
check "unknown body" '{"error":"not found"}' "$(body "$U/nope")"

# ---- keep-alive: many requests, one connection --------------------------------------------------------
check "keep-alive reuses the connection" "1" \
  "$(curl -s -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects}\n' "$U/json" "$U/json" "$U/json" | awk '{ n += $1 } END { print n }')"

# ---- 2,000 concurrent /delay/500 (curl --parallel caps live transfers at
# 300 per process, so spread them over 8 processes of 250) ----------------------------------------------
start=$(date +%s.%N)
pids=()
for k in $(seq 0 7); do
  for _ in $(seq 250); do printf 'url = "%s"\noutput = "/dev/null"\n' "$U/delay/500"; done >"$work/cfg$k"
  curl -s --no-progress-meter --parallel --parallel-max 300 -K "$work/cfg$k" -w '%{http_code}\n' \
    >"$work/par$k" 2>/dev/null &
  pids+=($!)
done
wait "${pids[@]}"
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
check "2000 concurrent /delay/500 all 200" "2000" "$(cat "$work"/par* | grep -c '^200$')"
# Serially (one at a time) this would take 1000 s; concurrently about 1 s:
# 100 s (10 times less than serially) leaves a loaded machine its margin.
check "2000 concurrent /delay/500 in < 100 s, not 1000 s (took ${elapsed}s)" "1" "$(awk -v t="$elapsed" 'BEGIN { print (t < 100) }')"
check "server still answers" "200" "$(code "$U/json")"

# ---- bad options ---------------------------------------------------------------------------------------
set +e
"$FLURRY" mock --bogus >/dev/null 2>"$work/err"; rc=$?
set -e
check "unknown option exits 2" "2" "$rc"
check "unknown option message" "1" "$(grep -c "unknown option '--bogus'" "$work/err")"
set +e
"$FLURRY" mock --port 70000 >/dev/null 2>&1; rc1=$?
"$FLURRY" mock --port >/dev/null 2>&1; rc2=$?
set -e
check "bad port exits 2" "2 2" "$rc1 $rc2"
set +e
"$FLURRY" mock --port 70000 >/dev/null 2>"$work/err1"
"$FLURRY" mock --port >/dev/null 2>"$work/err2"
"$FLURRY" mock send-webhook --url "$U/echo" --scheme none --count 0 >/dev/null 2>"$work/err3"; rc3=$?
set -e
check "bad option values name the option" "1 1 1 2" \
  "$(grep -c -- "--port '70000': expected a whole number from 0 to 65535" "$work/err1") $(grep -c -- \
     "--port needs a value" "$work/err2") $(grep -c -- "--count '0'" "$work/err3") $rc3"
check "--help lists endpoints" "33" "$("$FLURRY" mock --help | grep -cE '^  (GET|ANY)  /')"

# ---- SIGTERM with requests in flight: clean exit 0 ------------------------------------------------------
# SIGTERM once the mock holds the connection (its descriptors), not after a
# fixed sleep that could come before it
fds=$(ls "/proc/$mock_pid/fd" | wc -l)
curl -s -o /dev/null "$U/delay/60000" &
inflight=$!
for _ in $(seq 1 200); do [ "$(ls "/proc/$mock_pid/fd" | wc -l)" -gt "$fds" ] && break; sleep 0.05; done
check "SIGTERM: a request in flight" "1" "$(( $(ls "/proc/$mock_pid/fd" | wc -l) > fds ))"
kill -TERM "$mock_pid"
set +e
wait "$mock_pid"; rc=$?
set -e
mock_pid=
wait "$inflight" || true
check "SIGTERM exits 0" "0" "$rc"
check "no errors on stderr" "" "$(grep -v '^flurry mock: ' "$work/stderr" || true)"

# ---- SIGINT, quiet -----------------------------------------------------------------------------------------
"$FLURRY" mock --quiet >"$work/stdout2" 2>"$work/stderr2" &
mock_pid=$!
for _ in $(seq 100); do [ -s "$work/stdout2" ] && break; sleep 0.05; done
check "quiet still prints the port" "200" "$(code "http://127.0.0.1:$(head -1 "$work/stdout2")/json")"
kill -INT "$mock_pid"
set +e
wait "$mock_pid"; rc=$?
set -e
mock_pid=
check "SIGINT exits 0" "0" "$rc"
check "quiet stderr empty" "" "$(cat "$work/stderr2")"

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "all checks passed"
