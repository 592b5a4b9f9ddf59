#!/usr/bin/env bash
# bench/run.sh: reproducible side-by-side benchmark of flurry against
# curl --parallel, pycurl's CurlMulti, aiohttp (asyncio and uvloop), httpx and
# wrk (the ceiling), all against one
# pinned nginx worker on loopback (W4, rate-limited: against `flurry mock`'s
# /limited). Writes bench/RESULTS.md (see bench/README.md).
#
# Usage: bench/run.sh [path/to/flurry]          (make bench does this)
# Env:   BENCH_QUICK=1      smoke run (~1-2 min): small N, 1 run, report in out/
#        BENCH_RUNS=N       repetitions per measurement, medians reported (3)
#        BENCH_TOOLS=a,b    subset of flurry,floor,curl,pycurl,aiohttp,httpx,wrk
#        BENCH_PROFILE=1    no benchmark: where flurry's time goes, per request, on a
#                           W1 of BENCH_PROFILE_N (5000) GETs: callgrind (instructions)
#                           and perf (CPU samples, kernel included); report in
#                           $BENCH_OUT/profile/PROFILE.md
#        BENCH_W3_SLOW=1    run httpx at W3's big N too (~4 min; quick: on)
#        BENCH_W3_PEER_RUNS=N  runs of the python peers at W3's big N (1)
#        BENCH_W1_N BENCH_W2_N BENCH_W3_N BENCH_W3_SMALL_N BENCH_W4_N   request counts
#        BENCH_W1O_N BENCH_W1O_RUNS  W1 overhead pair: requests, runs (50000, 5)
#        BENCH_OUT=DIR      work dir (bench/out)
#        BENCH_RESULTS=FILE the report (bench/RESULTS.md; quick: $BENCH_OUT/RESULTS.quick.md)
#
# A tool that is missing, fails, times out or writes wrong output gets its row
# marked; the run goes on. All traffic stays on 127.0.0.1; every loop is bounded.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
FLURRY=${1:-$ROOT/build/flurry}
case $FLURRY in /*) ;; *) FLURRY=$PWD/$FLURRY ;; esac
FLURRY_PY=${BENCH_FLURRY_PY:-$(dirname "$FLURRY")/python} # the Python package built beside it
PY=/usr/bin/python3            # Debian's: the one with python3-aiohttp/-httpx
TIME=/usr/bin/time
CURL=/usr/bin/curl

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
  d_runs=1 d_w1=5000 d_w2=500 d_w3=20000 d_w3s=2000 d_wrk=2 d_slow=1 d_w4=200 d_w1o=5000 d_w1o_runs=1
else
  d_runs=3 d_w1=20000 d_w2=1000 d_w3=200000 d_w3s=20000 d_wrk=5 d_slow=0 d_w4=500 d_w1o=50000 d_w1o_runs=5
fi
RUNS=${BENCH_RUNS:-$d_runs}
W1_N=${BENCH_W1_N:-$d_w1}   W1_C=64
W2_N=${BENCH_W2_N:-$d_w2}   W2_C=100
W3_N=${BENCH_W3_N:-$d_w3}   W3_SMALL_N=${BENCH_W3_SMALL_N:-$d_w3s}  W3_C=100
W4_N=${BENCH_W4_N:-$d_w4}   W4_C=64  W4_RATE=100   # flurry mock /limited?rate=100 (burst 100)
W1O_N=${BENCH_W1O_N:-$d_w1o} W1O_RUNS=${BENCH_W1O_RUNS:-$d_w1o_runs}
# limits that never bind: what the retry/limit machinery costs when idle
LIMITS=(--retries 3 --rate 1000000/s --host-rate 1000000/s)
WRK_SECS=${BENCH_WRK_SECS:-$d_wrk}
TOOLS=,${BENCH_TOOLS:-flurry,floor,curl,pycurl,aiohttp,httpx,wrk},
PROFILE=${BENCH_PROFILE:-0}
PROFILE_N=${BENCH_PROFILE_N:-5000}
W3_SLOW=${BENCH_W3_SLOW:-$d_slow}
W3_PEER_RUNS=${BENCH_W3_PEER_RUNS:-1}
OUT=${BENCH_OUT:-$HERE/out}
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
if [ "$QUICK" = 1 ]; then d_results=$OUT/RESULTS.quick.md; else d_results=$HERE/RESULTS.md; fi
RESULTS=${BENCH_RESULTS:-$d_results}
DOC_MARK=flurry-bench-doc
DELAY_MARK=flurry-bench-delay

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }
want() { [[ $TOOLS == *,$1,* ]]; }

for n in "$RUNS" "$W3_PEER_RUNS" "$W1_N" "$W2_N" "$W3_N" "$W3_SMALL_N" "$WRK_SECS" "$W4_N" \
  "$W1O_N" "$W1O_RUNS" "$PROFILE_N"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "counts must be positive integers (got '$n')"
done
{ [ "$RUNS" -le 20 ] && [ "$W1O_RUNS" -le 20 ]; } || die "BENCH_RUNS and BENCH_W1O_RUNS are at most 20"
command -v nginx >/dev/null || die "nginx is missing (scripts/deps.sh bench)"
[ -x "$PY" ] || die "$PY is missing"
[ -x "$TIME" ] || die "$TIME (Debian package time) is missing"
NGX_ECHO=/usr/lib/nginx/modules/ngx_http_echo_module.so
[ -f "$NGX_ECHO" ] || die "$NGX_ECHO is missing (libnginx-mod-http-echo)"

mkdir -p "$OUT/logs" "$(dirname "$RESULTS")" || die "cannot create $OUT"
rm -f "$OUT"/*.tsv "$OUT"/logs/* "$OUT"/*.out
ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null || true

# --- CPU pinning: server on core 0, client on core 1 -------------------------
NCPU=$(nproc)
if [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null; then
  SERVER_PIN=(taskset -c 0)
  CLIENT_PIN=(taskset -c 1)
  PINNING="nginx on core 0, client on core 1 (taskset)"
else
  SERVER_PIN=()
  CLIENT_PIN=()
  PINNING="none (nproc=$NCPU or no taskset): server and client share the CPU"
  say "warning: $PINNING"
fi

# --- nginx: own config, own prefix, one worker, free port ---------------------
NGX=$OUT/nginx
NGINX_PID=""
MOCK_PID=""
stop_pid() { # PID: TERM, up to 5 s, then KILL
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null
}
cleanup() {
  stop_pid "$NGINX_PID"
  stop_pid "$MOCK_PID"
  NGINX_PID="" MOCK_PID=""
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT TERM

write_nginx_conf() { # PORT
  mkdir -p "$NGX/tmp" "$NGX/logs"
  cat >"$NGX/nginx.conf" <<EOF
# generated by bench/run.sh; not the system nginx config
load_module $NGX_ECHO;
worker_processes 1;
worker_cpu_affinity 1;
worker_rlimit_nofile 65536;
pid $NGX/nginx.pid;
error_log $NGX/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_body_temp_path $NGX/tmp/body;
  proxy_temp_path $NGX/tmp/proxy;
  fastcgi_temp_path $NGX/tmp/fastcgi;
  uwsgi_temp_path $NGX/tmp/uwsgi;
  scgi_temp_path $NGX/tmp/scgi;
  server {
    listen 127.0.0.1:$1 backlog=4096;
    location = /doc.json {
      default_type application/json;
      return 200 '{"id":12345,"name":"$DOC_MARK","kind":"record","active":true,"score":98.6,"tags":["alpha","beta","gamma"],"owner":{"login":"bench","id":42},"created_at":"2024-01-01T00:00:00Z","note":"fixed body"}\n';
    }
    location = /delay {
      default_type application/json;
      echo_sleep 0.2;
      echo '{"delayed_ms":200,"name":"$DELAY_MARK"}';
    }
  }
}
EOF
}

PORT=""
for attempt in 1 2 3 4 5; do
  p=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') \
    || die "cannot pick a free port"
  write_nginx_conf "$p"
  "${SERVER_PIN[@]}" nginx -c "$NGX/nginx.conf" -p "$NGX" -e "$NGX/logs/error.log" \
    -g 'daemon off;' </dev/null >"$NGX/logs/stdout.log" 2>&1 &
  NGINX_PID=$!
  for _ in $(seq 1 50); do
    if "$CURL" -sf -o /dev/null "http://127.0.0.1:$p/doc.json"; then PORT=$p; break; fi
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$PORT" ] && break
  say "nginx did not start on port $p (attempt $attempt): $(tail -n 2 "$NGX/logs/error.log" 2>/dev/null)"
  cleanup
done
[ -n "$PORT" ] || die "nginx would not start; see $NGX/logs/error.log"
BASE=http://127.0.0.1:$PORT
SRV_PID=$NGINX_PID SRV_NAME=nginx   # the server of the workload being measured
"$CURL" -sf "$BASE/delay" | grep -q "$DELAY_MARK" || die "nginx /delay does not answer (echo module?)"
DOC_BYTES=$("$CURL" -sf "$BASE/doc.json" | wc -c)
say "nginx pid $NGINX_PID on $BASE ($PINNING); /doc.json is $DOC_BYTES bytes"

# --- inputs --------------------------------------------------------------------
make_inputs() { # NAME PATH N  -> $OUT/NAME.urls, NAME.curl, NAME.ids
  local name=$1 path=$2 n=$3
  seq 1 "$n" >"$OUT/$name.ids"
  sed "s|.*|$BASE$path?i=&|" "$OUT/$name.ids" >"$OUT/$name.urls"
  sed 's|.*|url = "&"|' "$OUT/$name.urls" >"$OUT/$name.curl"
}

# --- one measurement -------------------------------------------------------------
# Columns of results.tsv:
#   workload tool run n conc wall_s user_s sys_s maxrss_kib requests rps lat_ms
#   other_client_pct other_server_pct status note n429
#   (rps and lat_ms, the mean latency, are wrk's own figures; rps = n / wall for the
#   others; other_*_pct: CPU that other processes took on the client / server core
#   during the run, in % of its wall time: a noisy machine shows there; n429: W4's
#   attempts answered 429, retries included)
TSV=$OUT/results.tsv
CMDS=$OUT/commands.tsv
printf 'workload\ttool\trun\tn\tconc\twall_s\tuser_s\tsys_s\tmaxrss_kib\trequests\trps\tlat_ms\tother_client_pct\tother_server_pct\tstatus\tnote\tn429\n' >"$TSV"
printf 'workload\ttool\tcommand\n' >"$CMDS"

record() { # W TOOL RUN N C WALL USER SYS RSS REQS RPS LAT OTHER_C OTHER_S STATUS NOTE [N429]
  local f line=""
  for f in "$@"; do f=${f//$'\t'/ }; line+="${f//$'\n'/ }"$'\t'; done
  printf '%s\n' "${line%$'\t'}" >>"$TSV"
}

declare -A GAVE_UP=()

# Busy ticks (user+nice+system; not irq/softirq, which no task is charged for) of cores 0 and 1, and the
# server's own (utime+stime of nginx's master and worker, or of flurry mock): to tell how much CPU other
# processes took.
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)
core_busy() {
  awk '$1 == "cpu0" { a = $2 + $3 + $4 } $1 == "cpu1" { b = $2 + $3 + $4 }
       END { print a + 0, b + 0 }' /proc/stat
}
server_ticks() {
  local p t=0
  for p in $(cat "/proc/$SRV_PID/task/$SRV_PID/children" 2>/dev/null) "$SRV_PID"; do
    t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}

# measure W TOOL RUN N C TIMEOUT STDIN STDOUT CHECK OUTFILE MARKER -- CMD...
#   CHECK: jsonl | bodies | rated | wrk | none
#   (rated: 200s and 429s both count as results; exit status 1, "some failed", is fine)
measure() {
  local w=$1 tool=$2 run=$3 n=$4 c=$5 tmo=$6 stdin=$7 stdout=$8 chk=$9 outf=${10} mark=${11}
  shift 12
  local key="$w/$tool" log="$OUT/logs/$w-$tool-$run.log" tf="$OUT/logs/$w-$tool-$run.time"
  kill -0 "$SRV_PID" 2>/dev/null || die "$SRV_NAME died; see $OUT/logs and $NGX/logs/error.log"
  if [ -n "${GAVE_UP[$key]:-}" ]; then
    say "$w $tool run $run: skipped (${GAVE_UP[$key]})"
    return
  fi
  if [ "$run" = 1 ]; then
    local cmd
    cmd="${CLIENT_PIN[*]} $TIME -f '%e %U %S %M' $(printf '%q ' "$@")"
    [ "$stdin" != /dev/null ] && cmd+="< $stdin "
    [ "$stdout" != "$log" ] && cmd+="> $stdout"
    printf '%s\t%s\t%s\n' "$w" "$tool" "$cmd" >>"$CMDS"
  fi
  rm -f "$tf" "$outf"
  [ "$stdout" = "$log" ] || rm -f "$stdout"
  local t0=$SECONDS rc c0a c1a c0b c1b na nb
  read -r c0a c1a < <(core_busy)
  na=$(server_ticks)
  if [ "$stdout" = "$log" ]; then
    timeout -k 5 "$tmo" "${CLIENT_PIN[@]}" "$TIME" -f '%e %U %S %M' -o "$tf" "$@" \
      <"$stdin" >"$log" 2>&1
  else
    timeout -k 5 "$tmo" "${CLIENT_PIN[@]}" "$TIME" -f '%e %U %S %M' -o "$tf" "$@" \
      <"$stdin" >"$stdout" 2>"$log"
  fi
  rc=$?
  local wall="" user="" sys="" rss="" reqs=$n rps="" lat="" status=ok note="" n429=""
  if [ -s "$tf" ]; then read -r wall user sys rss < <(tail -n 1 "$tf"); fi
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    status=failed note="timed out after ${tmo}s"
    GAVE_UP[$key]="timed out in run $run"
  elif [ "$rc" != 0 ] && ! [ "$chk:$rc" = rated:1 ]; then
    status=failed
    note="exit $rc: $(grep -v '^Command exited' "$log" | tail -n 1 | cut -c1-100)"
  elif ! [[ $wall =~ ^[0-9.]+$ ]]; then
    status=failed note="no timing"
  fi
  if [ "$status" = ok ]; then
    case $chk in
      jsonl|bodies)
        local verdict
        verdict=$("$PY" "$HERE/check.py" "$chk" "$outf" "$n" "$mark" 2>&1)
        if [ "$verdict" != ok ]; then status=wrong note=${verdict#wrong: }; fi ;;
      rated)
        local verdict
        verdict=$("$PY" "$HERE/check.py" rated "$outf" "$n" "$mark" 2>&1)
        if [[ $verdict =~ ^ok\ n429=([0-9]+)$ ]]; then n429=${BASH_REMATCH[1]}; else
          status=wrong note=${verdict#wrong: }
        fi ;;
      wrk)
        reqs=$(awk '/requests in/ {print $1; exit}' "$stdout")
        rps=$(awk '/^Requests\/sec:/ {print $2; exit}' "$stdout")
        lat=$(awk '$1 == "Latency" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
                   f = (u == "us") ? 0.001 : (u == "s") ? 1000 : (u == "m") ? 60000 : 1
                   printf "%.3f", v * f; exit }' "$stdout")
        if ! [[ $reqs =~ ^[0-9]+$ && $rps =~ ^[0-9.]+$ ]]; then
          status=wrong note="cannot parse wrk output"
        elif grep -qE 'Non-2xx|Socket errors' "$stdout"; then
          status=wrong note=$(grep -E 'Non-2xx|Socket errors' "$stdout" | head -n 1 | tr -s ' ')
        fi ;;
    esac
  fi
  [ -z "$rps" ] && [[ $wall =~ ^[0-9.]+$ ]] && rps=$(awk -v n="$reqs" -v w="$wall" 'BEGIN { if (w > 0) printf "%.1f", n / w }')
  local oc="" os=""
  # (10 ms ticks: only for runs of 0.5 s or more)
  if [ ${#CLIENT_PIN[@]} -gt 0 ] && [[ $wall =~ ^[0-9.]+$ && $user =~ ^[0-9.]+$ ]] &&
     awk -v w="$wall" 'BEGIN { exit !(w >= 0.5) }'; then
    read -r c0b c1b < <(core_busy)
    nb=$(server_ticks)
    oc=$(awk -v d=$((c1b - c1a)) -v u="$user" -v s="$sys" -v w="$wall" -v hz="$HZ" \
      'BEGIN { o = d / hz - u - s; if (o < 0) o = 0; if (w > 0) printf "%.0f", 100 * o / w }')
    os=$(awk -v d=$((c0b - c0a)) -v n=$((nb - na)) -v w="$wall" -v hz="$HZ" \
      'BEGIN { o = (d - n) / hz; if (o < 0) o = 0; if (w > 0) printf "%.0f", 100 * o / w }')
  fi
  record "$w" "$tool" "$run" "$n" "$c" "$wall" "$user" "$sys" "$rss" "$reqs" "$rps" "$lat" "$oc" "$os" "$status" "$note" "$n429"
  say "$(printf '%-7s %-15s run %s: %-6s wall %6ss rss %7s KiB %s%s (%ss)' "$w" "$tool" "$run" "$status" "${wall:-?}" "${rss:-?}" "$note" "${n429:+429s: $n429}" $((SECONDS - t0)))"
  # keep the disk small: outputs are checked, then dropped
  rm -f "$outf"
  [ "$stdout" = "$log" ] || rm -f "$stdout"
}

missing_row() { # W TOOL N C WHY
  record "$1" "$2" 1 "$3" "$4" "" "" "" "" "$3" "" "" "" "" failed "$5"
  say "$1 $2: failed ($5)"
}

FLURRY_OK=1
FLURRY_WHY=""
if [ ! -x "$FLURRY" ]; then FLURRY_OK=0 FLURRY_WHY="binary missing: $FLURRY"; fi
command -v wrk >/dev/null || { want wrk && say "wrk missing"; }

# The libcurl floor (libcurl_floor.c): the least a libcurl client does per
# request, built here against the same libcurl as flurry's.
FLOOR=$OUT/libcurl-floor FLOOR_WHY=""
if want floor; then
  cc -O2 -o "$FLOOR" "$HERE/libcurl_floor.c" $(pkg-config --cflags --libs libcurl 2>/dev/null || echo -lcurl) \
    2>"$OUT/logs/floor-build.log" || FLOOR_WHY="does not build: $(head -n 1 "$OUT/logs/floor-build.log")"
fi

# run_tool W TOOL RUN N C NAME MARK  (NAME: input set; jsonl out to $OUT/W-TOOL.out)
run_tool() {
  local w=$1 tool=$2 run=$3 n=$4 c=$5 name=$6 mark=$7
  local tmo=$((30 + n / 400)) o="$OUT/$w-$tool.out" log="$OUT/logs/$w-$tool-$run.log"
  case $tool in
    flurry)
      if [ "$FLURRY_OK" = 0 ]; then [ "$run" = 1 ] && missing_row "$w" "$tool" "$n" "$c" "$FLURRY_WHY"; return; fi
      measure "$w" "$tool" "$run" "$n" "$c" "$tmo" "$OUT/$name.urls" "$log" jsonl "$o" "$mark" -- \
        "$FLURRY" -c "$c" -o "$o" ;;
    flurry-template)
      if [ "$FLURRY_OK" = 0 ]; then [ "$run" = 1 ] && missing_row "$w" "$tool" "$n" "$c" "$FLURRY_WHY"; return; fi
      measure "$w" "$tool" "$run" "$n" "$c" "$tmo" "$OUT/$name.ids" "$log" jsonl "$o" "$mark" -- \
        "$FLURRY" -c "$c" -o "$o" "$BASE${URLPATH[$name]}?i={}" ;;
    flurry-limits)
      if [ "$FLURRY_OK" = 0 ]; then [ "$run" = 1 ] && missing_row "$w" "$tool" "$n" "$c" "$FLURRY_WHY"; return; fi
      measure "$w" "$tool" "$run" "$n" "$c" "$tmo" "$OUT/$name.urls" "$log" jsonl "$o" "$mark" -- \
        "$FLURRY" -c "$c" "${LIMITS[@]}" -o "$o" ;;
    curl)
      measure "$w" "$tool" "$run" "$n" "$c" "$tmo" /dev/null "$o" bodies "$o" "$mark" -- \
        "$CURL" -s --parallel --parallel-immediate --parallel-max "$c" -K "$OUT/$name.curl" ;;
    aiohttp|httpx|pycurl)
      measure "$w" "$tool" "$run" "$n" "$c" "$tmo" /dev/null "$log" jsonl "$o" "$mark" -- \
        "$PY" "$HERE/peer_$tool.py" -c "$c" -o "$o" --total-timeout $((tmo - 5)) "$OUT/$name.urls" ;;
    flurry-py|flurry-py-uvloop|flurry-py-sync)
      if [ ! -d "$FLURRY_PY" ]; then [ "$run" = 1 ] && missing_row "$w" "$tool" "$n" "$c" "no Python package in $FLURRY_PY"; return; fi
      local pyflag=()
      [ "$tool" = flurry-py-uvloop ] && pyflag=(--uvloop)
      [ "$tool" = flurry-py-sync ] && pyflag=(--sync)
      measure "$w" "$tool" "$run" "$n" "$c" "$tmo" /dev/null "$log" jsonl "$o" "$mark" -- \
        env PYTHONPATH="$FLURRY_PY" "$PY" "$HERE/peer_flurry_py.py" "${pyflag[@]}" -c "$c" -o "$o" \
        --total-timeout $((tmo - 5)) "$OUT/$name.urls" ;;
    aiohttp-uvloop)
      measure "$w" "$tool" "$run" "$n" "$c" "$tmo" /dev/null "$log" jsonl "$o" "$mark" -- \
        "$PY" "$HERE/peer_aiohttp.py" --uvloop -c "$c" -o "$o" --total-timeout $((tmo - 5)) \
        "$OUT/$name.urls" ;;
    floor)
      if [ -n "$FLOOR_WHY" ]; then [ "$run" = 1 ] && missing_row "$w" "$tool" "$n" "$c" "$FLOOR_WHY"; return; fi
      measure "$w" "$tool" "$run" "$n" "$c" "$tmo" "$OUT/$name.urls" "$o" bodies "$o" "$mark" -- \
        "$FLOOR" "$c" ;;
    wrk)
      if ! command -v wrk >/dev/null; then [ "$run" = 1 ] && missing_row "$w" "$tool" "$n" "$c" "wrk not installed"; return; fi
      measure "$w" "$tool" "$run" "$n" "$c" $((WRK_SECS + 30)) /dev/null "$log" wrk "$o" "$mark" -- \
        wrk -t1 -c"$c" -d"${WRK_SECS}s" "$BASE${URLPATH[$name]}" ;;
  esac
}

declare -A URLPATH=([w1]=/doc.json [w1o]=/doc.json [w2]=/delay [w3]=/doc.json [w3s]=/doc.json)

# workload W NAME N C MARK TOOL[:MAXRUNS]...
#   runs interleaved: run 1 of every tool, then run 2, ...; MAXRUNS caps a slow tool;
#   WL_RUNS (default RUNS) overrides the number of runs
workload() {
  local w=$1 name=$2 n=$3 c=$4 mark=$5; shift 5
  local run spec tool max runs=${WL_RUNS:-$RUNS}
  for run in $(seq 1 "$runs"); do
    for spec in "$@"; do
      tool=${spec%%:*} max=$runs
      [ "$spec" != "$tool" ] && max=${spec#*:}
      [ "$run" -le "$max" ] || continue
      want "${tool%%-*}" || continue   # flurry-template, flurry-limits: with flurry
      run_tool "$w" "$tool" "$run" "$n" "$c" "$name" "$mark"
    done
  done
}

# --- W4: flurry mock's /limited, a token bucket of W4_RATE/s per key -----------------
LIMITED_MARK='"ok":true'
start_mock() { # sets MOCK_PID and MOCK_BASE, or returns 1
  local pf=$OUT/mock.port
  rm -f "$pf"
  "${SERVER_PIN[@]}" "$FLURRY" mock --port 0 --port-file "$pf" --quiet </dev/null >/dev/null \
    2>"$OUT/logs/mock.log" &
  MOCK_PID=$!
  for _ in $(seq 1 50); do [ -s "$pf" ] && break; kill -0 "$MOCK_PID" 2>/dev/null || break; sleep 0.1; done
  [ -s "$pf" ] || { say "flurry mock did not start: $(tail -n 2 "$OUT/logs/mock.log")"; return 1; }
  MOCK_BASE=http://127.0.0.1:$(cat "$pf")
  "$CURL" -sf "$MOCK_BASE/limited?rate=$W4_RATE&key=probe" | grep -q "$LIMITED_MARK" ||
    { say "flurry mock /limited does not answer"; return 1; }
}

# run_w4 TOOL RUN: W4_N GETs of /limited?rate=W4_RATE&key=TOOL-RUN&i=1..N: a fresh
# server bucket (full: W4_RATE tokens) for every run.
run_w4() {
  local tool=$1 run=$2 n=$W4_N c=$W4_C
  local o="$OUT/W4-$tool.out" log="$OUT/logs/W4-$tool-$run.log" urls="$OUT/w4.urls"
  local tmo=$((30 + 3 * n / W4_RATE))
  seq 1 "$n" | sed "s|.*|$MOCK_BASE/limited?rate=$W4_RATE\&key=w4-$tool-$run\&i=&|" >"$urls"
  case $tool in
    flurry-rate)
      measure W4 "$tool" "$run" "$n" "$c" "$tmo" "$urls" "$log" rated "$o" "$LIMITED_MARK" -- \
        "$FLURRY" -c "$c" --rate "$W4_RATE/s" --attempts -o "$o" ;;
    flurry-auto)
      measure W4 "$tool" "$run" "$n" "$c" "$tmo" "$urls" "$log" rated "$o" "$LIMITED_MARK" -- \
        "$FLURRY" -c "$c" --rate auto --retries 5 --attempts -o "$o" ;;
    aiohttp-bucket|aiohttp-sleep)
      measure W4 "$tool" "$run" "$n" "$c" "$tmo" /dev/null "$log" rated "$o" "$LIMITED_MARK" -- \
        "$PY" "$HERE/peer_aiohttp_rate.py" --rate "$W4_RATE" --limiter "${tool#aiohttp-}" \
        -c "$c" -o "$o" --total-timeout $((tmo - 5)) "$urls" ;;
  esac
}

w4() {
  local tools=() run tool
  want flurry && tools+=(flurry-rate flurry-auto)
  want aiohttp && tools+=(aiohttp-bucket aiohttp-sleep)
  if [ "$FLURRY_OK" = 0 ] || ! start_mock; then
    stop_pid "$MOCK_PID"
    for tool in "${tools[@]}"; do missing_row W4 "$tool" "$W4_N" "$W4_C" "no server: ${FLURRY_WHY:-flurry mock did not start}"; done
    return
  fi
  SRV_PID=$MOCK_PID SRV_NAME="flurry mock"
  say "flurry mock pid $MOCK_PID on $MOCK_BASE"
  for run in $(seq 1 "$RUNS"); do
    for tool in "${tools[@]}"; do run_w4 "$tool" "$run"; done
  done
  stop_pid "$MOCK_PID"
  MOCK_PID="" SRV_PID=$NGINX_PID SRV_NAME=nginx
}

# --- BENCH_PROFILE=1: where flurry's time goes, per request (no benchmark) ------------
# flurry on a W1 of PROFILE_N GETs (and on 1, to take start-up out): callgrind's
# instruction counts, perf's CPU samples (kernel included), strace's system calls.
profile() {
  local dir=$OUT/profile n=$PROFILE_N have=0
  [ "$FLURRY_OK" = 1 ] || die "$FLURRY_WHY"
  [ "$n" -ge 2 ] || die "BENCH_PROFILE_N must be 2 or more"
  rm -rf "$dir"
  mkdir -p "$dir" || die "cannot create $dir"
  make_inputs prof /doc.json "$n"
  head -n 1 "$OUT/prof.urls" >"$OUT/prof1.urls"
  local cmd=("$FLURRY" -q -c "$W1_C" -o "$dir/out.jsonl")
  printf '%s < w1.urls   # %s GETs of %s/doc.json?i=1..N\n' "${cmd[*]}" "$n" "$BASE" |
    sed "s|$dir|\$OUT/profile|g" >"$dir/command.txt"
  if command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
    have=1
    say "profile: callgrind on 1 and on $n requests (~$((5 + n / 350)) s)"
    valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.1.out" "${cmd[@]}" \
      <"$OUT/prof1.urls" 2>"$dir/callgrind.1.log" || die "callgrind failed: $dir/callgrind.1.log"
    valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" "${cmd[@]}" \
      <"$OUT/prof.urls" 2>"$dir/callgrind.log" || die "callgrind failed: $dir/callgrind.log"
    "$PY" "$HERE/check.py" jsonl "$dir/out.jsonl" "$n" "$DOC_MARK" >/dev/null ||
      die "flurry's output under callgrind is wrong: $("$PY" "$HERE/check.py" jsonl "$dir/out.jsonl" "$n" "$DOC_MARK")"
  fi
  if command -v perf >/dev/null &&
     perf record -q -o /dev/null -- true >/dev/null 2>&1; then
    have=1
    say "profile: perf record (cpu-clock, call graphs) on $n requests"
    "${CLIENT_PIN[@]}" perf record -q -F 10000 -g -o "$dir/perf.data" -- "${cmd[@]}" \
      <"$OUT/prof.urls" >/dev/null 2>"$dir/perf.log" || say "perf record failed: $dir/perf.log"
  fi
  if command -v strace >/dev/null; then
    say "profile: strace -c on $n requests"
    strace -f -c -o "$dir/strace.txt" "${cmd[@]}" <"$OUT/prof.urls" >/dev/null 2>&1 ||
      say "strace failed"
  fi
  [ "$have" = 1 ] || die "BENCH_PROFILE=1 needs valgrind (scripts/deps.sh valgrind) or a working perf"
  rm -f "$dir/out.jsonl"
  "$PY" "$HERE/profile.py" "$dir" "$n" >"$dir/PROFILE.md" || die "profile.py failed"
  cat "$dir/PROFILE.md"
  say "profile: $dir/PROFILE.md (callgrind_annotate $dir/callgrind.out for more)"
}
if [ "$PROFILE" = 1 ]; then
  profile
  cleanup
  exit 0
fi

# --- versions and machine ------------------------------------------------------------
first_line() { local o; o=$("$@" 2>&1 </dev/null); printf '%s\n' "${o%%$'\n'*}"; }
{
  printf 'flurry\t%s (git %s)\n' \
    "$( [ "$FLURRY_OK" = 1 ] && first_line timeout 5 "$FLURRY" --version || echo "n/a")" \
    "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')"
  printf 'curl\t%s\n' "$(first_line "$CURL" --version)"
  printf 'python3\t%s\n' "$(first_line "$PY" --version)"
  printf 'aiohttp\t%s\n' "$("$PY" -c 'import aiohttp; print(aiohttp.__version__)' 2>&1 | tail -n 1)"
  printf 'httpx\t%s\n' "$("$PY" -c 'import httpx; print(httpx.__version__)' 2>&1 | tail -n 1)"
  printf 'pycurl\t%s\n' "$("$PY" -c 'import pycurl; print(pycurl.version)' 2>&1 | tail -n 1)"
  printf 'uvloop\t%s\n' "$("$PY" -c 'import uvloop; print(uvloop.__version__)' 2>&1 | tail -n 1)"
  printf 'wrk\t%s\n' "$(command -v wrk >/dev/null && first_line wrk -v || echo missing)"
  printf 'nginx\t%s\n' "$(first_line nginx -v)"
  printf 'nginx echo module\t%s\n' "$(dpkg-query -W -f='${Package} ${Version}' libnginx-mod-http-echo 2>/dev/null)"
} >"$OUT/versions.tsv"
{
  echo "date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "quick=$QUICK"
  echo "runs=$RUNS"
  echo "nproc=$NCPU"
  echo "cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "kernel=$(uname -srm)"
  # shellcheck source=/dev/null
  echo "os=$( . /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
  echo "mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "pinning=$PINNING"
  echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "port=$PORT"
  echo "out=$OUT"
  echo "doc_bytes=$DOC_BYTES"
  echo "w1_n=$W1_N"; echo "w1_c=$W1_C"
  echo "w2_n=$W2_N"; echo "w2_c=$W2_C"
  echo "w3_n=$W3_N"; echo "w3_small_n=$W3_SMALL_N"; echo "w3_c=$W3_C"
  echo "w4_n=$W4_N"; echo "w4_c=$W4_C"; echo "w4_rate=$W4_RATE"
  echo "w1o_n=$W1O_N"; echo "w1o_runs=$W1O_RUNS"; echo "limits=${LIMITS[*]}"
  echo "wrk_secs=$WRK_SECS"
  echo "w3_slow=$W3_SLOW"
  echo "w3_peer_runs=$W3_PEER_RUNS"
  echo "tools=${TOOLS:1:${#TOOLS}-2}"
} >"$OUT/meta.env"

# --- the workloads -----------------------------------------------------------------------
START=$SECONDS
say "W1 throughput: $W1_N GETs of /doc.json at concurrency $W1_C, $RUNS run(s)"
make_inputs w1 /doc.json "$W1_N"
workload W1 w1 "$W1_N" "$W1_C" "$DOC_MARK" flurry flurry-template flurry-py flurry-py-uvloop \
  flurry-py-sync floor curl pycurl aiohttp aiohttp-uvloop \
  httpx wrk

say "W1 overhead: $W1O_N GETs of /doc.json, flurry plain vs ${LIMITS[*]} (limits that never bind), $W1O_RUNS run(s)"
make_inputs w1o /doc.json "$W1O_N"
WL_RUNS=$W1O_RUNS workload W1o w1o "$W1O_N" "$W1_C" "$DOC_MARK" flurry flurry-limits

say "W2 latency-bound: $W2_N GETs of /delay (200 ms) at concurrency $W2_C"
make_inputs w2 /delay "$W2_N"
workload W2 w2 "$W2_N" "$W2_C" "$DELAY_MARK" flurry curl pycurl aiohttp aiohttp-uvloop httpx wrk

say "W3 scale: $W3_SMALL_N and $W3_N GETs at concurrency $W3_C (peak RSS)"
make_inputs w3s /doc.json "$W3_SMALL_N"
workload W3s w3s "$W3_SMALL_N" "$W3_C" "$DOC_MARK" flurry flurry-py curl pycurl aiohttp aiohttp-uvloop httpx
make_inputs w3 /doc.json "$W3_N"
# the python peers are slow at the big N (httpx ~1k req/s: minutes per run):
# aiohttp gets BENCH_W3_PEER_RUNS runs, httpx only with BENCH_W3_SLOW=1.
w3_tools=(flurry flurry-py curl pycurl "aiohttp:$W3_PEER_RUNS" "aiohttp-uvloop:$W3_PEER_RUNS")
if [ "$W3_SLOW" = 1 ]; then
  w3_tools+=("httpx:$W3_PEER_RUNS")
elif want httpx; then
  record W3 httpx 1 "$W3_N" "$W3_C" "" "" "" "" "$W3_N" "" "" "" "" skipped "slow (~1k req/s); BENCH_W3_SLOW=1 runs it"
fi
workload W3 w3 "$W3_N" "$W3_C" "$DOC_MARK" "${w3_tools[@]}"
rm -f "$OUT"/w3.* "$OUT"/w3s.*   # the big inputs

say "W4 rate-limited: $W4_N GETs of flurry mock's /limited?rate=$W4_RATE (per key, burst $W4_RATE), concurrency $W4_C"
w4
{ echo "elapsed=$((SECONDS - START))"; echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)"; } >>"$OUT/meta.env"

cleanup
"$PY" "$HERE/report.py" "$OUT" "$RESULTS" || die "report failed"
say "done in $((SECONDS - START)) s; report: $RESULTS"
