#!/usr/bin/env bash
# test_mock_faults.sh: the misbehaviours of `flurry mock`, seen by curl:
# /reset, /truncated, /drip, /hang, /malformed, /flaky?kind=reset,
# Retry-After pass-through, /limited headers and keys, fault injection
# (fail=, mix=, seed=) with its proportions, and a clean SIGTERM with hung
# and dripping connections in flight. Needs curl (7.75+) and jq.
. "$(dirname "$0")/lib.sh"

# The mock logs to a file (not --quiet): deliberate resets and aborts must
# not show up as errors there.
start_loud_mock() {
  "$FLURRY" mock --port 0 --port-file "$WORK/port" >/dev/null 2>"$WORK/mock.err" &
  MOCK_PID=$!
  for _ in $(seq 1 200); do [ -s "$WORK/port" ] && break; sleep 0.05; done
  [ -s "$WORK/port" ] || { echo "flurry mock did not start"; exit 1; }
  BASE="http://127.0.0.1:$(cat "$WORK/port")"
}

# get PATH [CURL_ARGS...]: "HTTP_CODE CURL_EXIT BYTES"; the body in $WORK/body.
get() {
  local path=$1; shift
  curl -s -o "$WORK/body" -w '%{http_code} %{exitcode} %{size_download}' "$@" "$BASE$path"
}
# hdr NAME PATH [CURL_ARGS...]: the value of response header NAME.
hdr() {
  local name=$1 path=$2; shift 2
  curl -s -o /dev/null -D - "$@" "$BASE$path" | tr -d '\r' |
    awk -v n="$(tr 'A-Z' 'a-z' <<<"$name")" 'index(tolower($0), n ": ") == 1 { print substr($0, length(n) + 3) }'
}
# secs_between T LO HI: 1 when LO <= T < HI.
secs_between() { awk -v t="$1" -v lo="$2" -v hi="$3" 'BEGIN { print (t >= lo && t < hi) }'; }

# burst SUFFIX N PROCS OUT: N requests /json?SUFFIX&k=I, one new connection
# each (a reset on a reused connection makes curl retry it silently), PROCS
# curl processes; one "URL HTTP_CODE EXIT" line per request in OUT.
# --parallel-immediate: without it curl 7.88 queues transfers behind a
# connection that may multiplex, and a hung one stalls them all.
burst() {
  local suffix=$1 n=$2 procs=$3 out=$4 pids=() k i
  for k in $(seq 0 $((procs - 1))); do
    for i in $(seq "$k" "$procs" $((n - 1))); do
      printf 'url = "%s"\noutput = "/dev/null"\n' "$BASE/json?$suffix&k=$i"
    done >"$WORK/cfg$k"
    curl -s --parallel --parallel-immediate --parallel-max 300 --max-time 2 \
      -H 'Connection: close' -K "$WORK/cfg$k" -w '%{url} %{http_code} %{exitcode}\n' \
      >"$WORK/burst$k" 2>/dev/null &
    pids+=($!)
  done
  wait "${pids[@]}"
  cat "$WORK"/burst* | sort >"$out"
  rm -f "$WORK"/burst* "$WORK"/cfg*
}
# count OUT "CODE EXIT": how many lines of OUT end that way.
count() { grep -c " $2\$" "$1"; }

start_loud_mock

# ---- documented ---------------------------------------------------------------
for e in /reset /truncated /drip /hang /malformed; do
  check "GET / lists $e" "$(curl -s "$BASE/" | jq --arg e "$e" '[.endpoints[] | select(contains($e + " "))] | length')" "1"
done
check "GET / lists the fault parameters" "$(curl -s "$BASE/" | jq '[.faults[] | select(test("fail=|kind=|mix=|seed="))] | length')" "4"
check "--help documents fault injection" "$("$FLURRY" mock --help | grep -cE '^  (\?fail=|&kind=|\?mix=|&seed=)')" "4"

# ---- /reset ------------------------------------------------------------------
check "/reset: RST before any byte (curl 56)" "$(get /reset)" "000 56 0"
check "/reset?after=100: headers, 100 bytes, RST" "$(get '/reset?after=100')" "200 56 100"
check "/reset?after=70000: more than one block" "$(get '/reset?after=70000')" "200 56 70000"
check "/reset?after=x rejected" "$(get '/reset?after=x' | cut -d' ' -f1)" "400"

# ---- /truncated ----------------------------------------------------------------
check "/truncated: half of 1024 then FIN (curl 18)" "$(get /truncated)" "200 18 512"
check "/truncated Content-Length" "$(hdr content-length /truncated)" "1024"
check "/truncated?size=10&send=3" "$(get '/truncated?size=10&send=3')" "200 18 3"
check "/truncated?send=0" "$(get '/truncated?size=10&send=0')" "200 18 0"
check "/truncated send >= size rejected" "$(get '/truncated?size=10&send=10' | cut -d' ' -f1)" "400"

# ---- /drip ------------------------------------------------------------------------
# 2 bytes 1 s apart: the headers before the first byte (which comes 1 s
# after them: headers held back for it would take >= 1 s), and the whole no
# sooner than 2 x 1 s (a bound time guarantees; the upper one only says
# "not hung")
t=$(curl -s -o "$WORK/body" -w '%{exitcode} %{time_starttransfer} %{time_total}' "$BASE/drip?bytes=2&interval_ms=1000")
check "/drip 2 bytes" "$(cat "$WORK/body")" "**"
read -r rc first total <<<"$t"
check "/drip exit 0" "$rc" "0"
check "/drip headers at once (${first}s)" "$(secs_between "$first" 0 0.9)" "1"
check "/drip 2 x 1 s (${total}s)" "$(secs_between "$total" 1.9 20)" "1"
# an idle timeout of 1 s (curl: under 1 byte/s for 1 s) against 3 s gaps
check "/drip every 3 s trips a 1 s idle timeout" \
  "$(get '/drip?bytes=3&interval_ms=3000' --speed-limit 1 --speed-time 1 | cut -d' ' -f2)" "28"
# (measured over 3 s: only a 3 s stall of a loaded machine could trip it)
check "/drip every 100 ms passes it" \
  "$(get '/drip?bytes=20&interval_ms=100' --speed-limit 1 --speed-time 3)" "200 0 20"
check "/drip?bytes=0" "$(get '/drip?bytes=0')" "200 0 0"
check "/drip interval 0 rejected" "$(get '/drip?interval_ms=0' | cut -d' ' -f1)" "400"

# ---- /hang and /malformed ------------------------------------------------------------
check "/hang: no answer within 1 s (curl 28)" "$(get /hang --max-time 1 | cut -d' ' -f1,2)" "000 28"
t=$(curl -s -o /dev/null -w '%{exitcode} %{time_total}' "$BASE/hang?ms=300")
check "/hang?ms=300: closed without an answer (curl 52)" "${t% *}" "52"
check "/hang?ms=300 took >= 0.3 s (${t#* }s)" "$(secs_between "${t#* }" 0.29 5)" "1"
check "/malformed status" "$(get /malformed | cut -d' ' -f1)" "200"
check "/malformed content-type" "$(hdr content-type /malformed)" "application/json"
check "/malformed is not JSON (jq fails)" "$(jq . "$WORK/body" >/dev/null 2>&1 || echo fails)" "fails"

# ---- /flaky?kind=reset, Retry-After ---------------------------------------------------
got=""
for _ in 1 2 3; do got="$got $(get '/flaky?key=fr&fail=2&kind=reset' | cut -d' ' -f1,2)"; done
check "/flaky kind=reset: reset twice, then 200" "$got" " 000 56 000 56 200 0"
check "/flaky kind=status (default)" "$(get '/flaky?key=fs&kind=status' | cut -d' ' -f1)" "503"
check "/flaky bad kind" "$(get '/flaky?key=fb&kind=hang' | cut -d' ' -f1)" "400"
check "Retry-After seconds" "$(hdr retry-after '/status/503?retry_after=120')" "120"
check "Retry-After HTTP-date verbatim" \
  "$(hdr retry-after '/status/503?retry_after=Wed,%2021%20Oct%202015%2007:28:00%20GMT')" \
  "Wed, 21 Oct 2015 07:28:00 GMT"

# ---- /limited: per key, every header -----------------------------------------------------
got=""
for _ in 1 2 3; do got="$got $(get '/limited?rate=1&burst=2&key=a' | cut -d' ' -f1)"; done
check "/limited key=a burst 2" "$got" " 200 200 429"
check "/limited key=b has its own bucket" "$(get '/limited?rate=1&burst=2&key=b' | cut -d' ' -f1)" "200"
now0=$(date +%s)
curl -s -o /dev/null -D - "$BASE/limited?rate=1&burst=2&key=a" | tr -d '\r' | tr 'A-Z' 'a-z' >"$WORK/h"
now=$(date +%s)
h() { awk -v n="$1" 'index($0, n ": ") == 1 { print substr($0, length(n) + 3) }' "$WORK/h"; }
check "429 status line" "$(head -1 "$WORK/h" | cut -d' ' -f2)" "429"
check "429 Retry-After (ceil, >= 1)" "$(h retry-after)" "1"
check "429 RateLimit-Limit" "$(h ratelimit-limit)" "1"
check "429 RateLimit-Remaining" "$(h ratelimit-remaining)" "0"
check "429 RateLimit-Reset" "$(h ratelimit-reset)" "1"
check "429 RateLimit (combined)" "$(h ratelimit)" "limit=1, remaining=0, reset=1"
check "429 RateLimit-Policy" "$(h ratelimit-policy)" "1;w=1"
check "429 X-RateLimit-Limit" "$(h x-ratelimit-limit)" "1"
check "429 X-RateLimit-Remaining" "$(h x-ratelimit-remaining)" "0"
reset=$(h x-ratelimit-reset)
# (taken between the clock before the request and 3 s after the answer,
# however long the request took)
check "429 X-RateLimit-Reset is epoch seconds ($reset, between $now0 and $now + 3)" \
  "$([ "$reset" -ge "$now0" ] && [ "$reset" -le $((now + 3)) ] && echo 1)" "1"
check "200 carries the headers too" "$(hdr x-ratelimit-remaining '/limited?rate=5&key=c')" "4"
got=$(curl -s -o /dev/null -D - "$BASE/limited?rate=1&burst=1&key=gh&status=403" \
  "$BASE/limited?rate=1&burst=1&key=gh&status=403" | tr -d '\r' | tr 'A-Z' 'a-z')
check "status=403: GitHub style" "$(grep -c '^http/1.1 403' <<<"$got")" "1"
check "403 X-RateLimit-Remaining: 0" "$(grep -c '^x-ratelimit-remaining: 0$' <<<"$got")" "2"
check "403 without Retry-After" "$(grep -c '^retry-after:' <<<"$got")" "0"
check "/limited status=500 rejected" "$(get '/limited?status=500' | cut -d' ' -f1)" "400"
check "/limited key too long" "$(get "/limited?key=$(printf 'k%.0s' $(seq 257))" | cut -d' ' -f1)" "400"

# ---- fault injection: each kind, on any endpoint ---------------------------------------------
check "fail=1 status=429 retry_after=3" \
  "$(get '/json?fail=1&kind=status&status=429&retry_after=3' | cut -d' ' -f1) $(hdr retry-after '/json?fail=1&kind=status&status=429&retry_after=3')" "429 3"
check "fail=1 defaults to 503" "$(get '/users/1?fail=1' | cut -d' ' -f1)" "503"
check "X-Flurry-Fault names the kind" "$(hdr x-flurry-fault '/json?fail=1&kind=malformed')" "malformed"
check "fail=1 kind=reset" "$(get '/echo?fail=1&kind=reset')" "000 56 0"
check "fail=1 kind=truncated" "$(get '/json?fail=1&kind=truncated&size=100&send=10')" "200 18 10"
check "fail=1 kind=hang&ms=200" "$(get '/json?fail=1&kind=hang&ms=200' | cut -d' ' -f1,2)" "000 52"
check "fail=1 kind=drip" "$(get '/json?fail=1&kind=drip&bytes=3&interval_ms=50')" "200 0 3"
get '/json?fail=1&kind=malformed' >/dev/null
check "fail=1 kind=malformed fails jq" "$(jq . "$WORK/body" >/dev/null 2>&1 || echo fails)" "fails"
check "fail=0: the endpoint answers" "$(get '/json?fail=0' >/dev/null; jq -r .slideshow.title "$WORK/body")" "Sample Slide Show"
check "/flaky keeps fail= as a count" \
  "$(get '/flaky?key=fk&fail=1' | cut -d' ' -f1) $(get '/flaky?key=fk&fail=1' | cut -d' ' -f1)" "503 200"
check "mix= on /flaky injects" "$(get '/flaky?key=fm&mix=status:1&status=502' | cut -d' ' -f1)" "502"
check "fail=2 rejected" "$(get '/json?fail=2' | cut -d' ' -f1)" "400"
check "unknown kind rejected" "$(get '/json?fail=0.5&kind=explode' | cut -d' ' -f1)" "400"
check "mix sum > 1 rejected" "$(get '/json?mix=reset:0.6,hang:0.6' | cut -d' ' -f1)" "400"
check "fail= and mix= together rejected" "$(get '/json?fail=0.1&mix=reset:0.1' | cut -d' ' -f1)" "400"

# ---- fault injection: proportions and determinism ------------------------------------------
start=$(date +%s.%N)
burst "mix=reset:0.2,status:0.1,hang:0.05&seed=1" 2000 8 "$WORK/mix1"
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
resets=$(count "$WORK/mix1" "000 56")
s503=$(count "$WORK/mix1" "503 0")
hangs=$(count "$WORK/mix1" "000 28")
oks=$(count "$WORK/mix1" "200 0")
echo "     2000 requests, mix=reset:0.2,status:0.1,hang:0.05&seed=1 in ${elapsed}s:" \
  "$resets resets, $s503 503, $hangs hangs, $oks 200"
check "all 2000 accounted for" "$((resets + s503 + hangs + oks))" "2000"
check "~20% resets ($resets)" "$([ "$resets" -ge 300 ] && [ "$resets" -le 500 ] && echo 1)" "1"
check "~10% 503 ($s503)" "$([ "$s503" -ge 130 ] && [ "$s503" -le 270 ] && echo 1)" "1"
check "~5% hangs ($hangs)" "$([ "$hangs" -ge 50 ] && [ "$hangs" -le 150 ] && echo 1)" "1"

# Same seed, same URLs, fresh mock: the same outcome for each URL. The
# second pass on the first mock draws again (each URL's counter moved on).
burst "mix=reset:0.3,status:0.3&seed=7" 300 2 "$WORK/det1"
burst "mix=reset:0.3,status:0.3&seed=7" 300 2 "$WORK/det2"
kill -TERM "$MOCK_PID"; wait "$MOCK_PID"; first_rc=$?
mv "$WORK/mock.err" "$WORK/mock1.err"; rm -f "$WORK/port"
start_loud_mock
burst "mix=reset:0.3,status:0.3&seed=7" 300 2 "$WORK/det3"
sed -i "s|http://127.0.0.1:[0-9]*/|/|" "$WORK"/det*
check "seeded: fresh mock, same outcomes" "$(diff -q "$WORK/det1" "$WORK/det3" >/dev/null && echo same)" "same"
check "seeded: the next request per URL draws again" "$(diff -q "$WORK/det1" "$WORK/det2" >/dev/null || echo differ)" "differ"
check "seeded: ~30% resets in 300 ($(count "$WORK/det1" "000 56"))" \
  "$(n=$(count "$WORK/det1" "000 56"); [ "$n" -ge 50 ] && [ "$n" -le 130 ] && echo 1)" "1"
got=""
for _ in $(seq 20); do got="$got$(get '/json?fail=0.5&seed=3&k=again' | cut -d' ' -f1 | tr -d '\n')"; done
check "seeded: retries of one URL see both outcomes" "$(grep -c 200 <<<"$got")$(grep -c 503 <<<"$got")" "11"
burst "fail=0.5" 200 1 "$WORK/unseeded"
check "unseeded fail=0.5: 50..150 of 200 fail ($(count "$WORK/unseeded" "503 0"))" \
  "$(n=$(count "$WORK/unseeded" "503 0"); [ "$n" -ge 50 ] && [ "$n" -le 150 ] && echo 1)" "1"

# A client that leaves mid-/drip: the next tick finds its socket gone.
check "a client leaving mid-drip" "$(get '/drip?bytes=2&interval_ms=500' --max-time 0.2 | cut -d' ' -f2)" "28"
# until the next tick has found it gone (logged), at most 10 s
for _ in $(seq 1 200); do grep -q 'no longer available' "$WORK/mock.err" && break; sleep 0.05; done

# ---- SIGTERM with hung, dripping and delayed requests in flight ------------------------------
# Each would keep the mock busy for 60 s or more; SIGTERM once the mock
# holds all 7 connections (its descriptors, not a fixed sleep).
inflight=()
fds=$(ls "/proc/$MOCK_PID/fd" | wc -l)
for u in /hang '/hang?ms=60000' '/drip?bytes=100&interval_ms=1000' '/drip?bytes=60000&interval_ms=1' \
  /delay/60000 '/json?fail=1&kind=hang' '/bytes/104857600'; do
  curl -s -o /dev/null --max-time 90 --limit-rate 200k "$BASE$u" &
  inflight+=($!)
done
for _ in $(seq 1 200); do [ "$(ls "/proc/$MOCK_PID/fd" | wc -l)" -ge $((fds + 7)) ] && break; sleep 0.05; done
check "SIGTERM: 7 connections in flight" "$(( $(ls "/proc/$MOCK_PID/fd" | wc -l) >= fds + 7 ))" 1
start=$(date +%s.%N)
kill -TERM "$MOCK_PID"; wait "$MOCK_PID"; rc=$?
MOCK_PID=""
took=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
wait "${inflight[@]}"
check "SIGTERM exits 0 (first mock too)" "$rc $first_rc" "0 0"
check "SIGTERM is prompt (${took}s; waiting for them: >= 60 s)" "$(secs_between "$took" 0 30)" "1"
# MHD does log a client that left first (curl's idle timeout on /drip).
check "no errors logged (resets, aborts, shutdown)" \
  "$(cat "$WORK/mock1.err" "$WORK/mock.err" | grep -v '^flurry mock: ' |
    grep -v 'socket is no longer available for sending' || true)" ""
check "the client that left was logged" \
  "$([ "$(grep -c 'no longer available' "$WORK/mock1.err")" -ge 1 ] && echo 1)" "1"

finish
