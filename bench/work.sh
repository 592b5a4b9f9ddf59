#!/usr/bin/env bash
# bench/work.sh: the cost of the Redis queue (issue 13). Not a test.
#
#   bench/work.sh path/to/flurry          # N=20000 GETs, report on stdout
#   BENCH_WORK_N=5000 bench/work.sh build/flurry
#
# Starts its own redis-server (loopback, a free port, its own directory,
# AOF on with appendfsync everysec: Redis's usual durable setting) and
# `flurry mock` (the server, in the binary under test), then times, on the
# same N GETs of /status/200:
#   cli        flurry -c C < urls > out           (the plain command)
#   enqueue    flurry enqueue < urls              (filling the stream)
#   work x1    one flurry work --drain            (the same requests via Redis)
#   work x2/x4 2 and 4 workers on the same stream, all started at once
# Each worker run gets a fresh stream. Times are wall-clock from start to
# the last process's exit (`date +%s.%N`), one run each: on a machine shared
# with other jobs they vary; say so when quoting them. The mock, Redis and
# every worker share the machine's cores: with 2 cores, 4 workers compete
# with the server and Redis for them, so more workers cannot scale there.
set -uo pipefail
FLURRY=${1:?usage: bench/work.sh path/to/flurry}
N=${BENCH_WORK_N:-20000}
C=${BENCH_WORK_C:-100}
W=$(mktemp -d)
MOCK_PID="" REDIS_PID=""
cleanup() {
  [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$W/redis"
printf 'bind 127.0.0.1\nport %s\ndir %s\nappendonly yes\nappendfsync everysec\nsave ""\nlogfile %s\n' \
  "$port" "$W/redis" "$W/redis/log" > "$W/redis/conf"
redis-server "$W/redis/conf" & REDIS_PID=$!
"$FLURRY" mock --port 0 --port-file "$W/mport" --quiet >/dev/null & MOCK_PID=$!
for _ in $(seq 1 200); do
  [ -s "$W/mport" ] && [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break
  sleep 0.05
done
R="redis://127.0.0.1:$port"
seq 1 "$N" | awk -v b="http://127.0.0.1:$(cat "$W/mport")" '{ printf "%s/status/200?i=%d\n", b, $1 }' \
  > "$W/urls"

now() { date +%s.%N; }
row() { # NAME SECONDS RESULTS
  awk -v n="$1" -v s="$2" -v r="$3" -v N="$N" \
    'BEGIN { printf "| %-10s | %8.2f | %9.0f | %8.1f | %s |\n", n, s, N / s, s * 1e6 / N, r }'
}

echo "N=$N GETs, -c $C, flurry mock, redis-server $(redis-server --version | awk '{print $3}')"
echo "nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo
echo "| run        |   wall s |     req/s | us/req   | records |"
echo "|------------|----------|-----------|----------|---------|"
t0=$(now)
"$FLURRY" -c "$C" -q < "$W/urls" > "$W/cli.out"
t1=$(now)
row cli "$(echo "$t1 - $t0" | bc)" "$(wc -l < "$W/cli.out")"

for k in 1 2 4; do
  s="b$k"
  t0=$(now)
  "$FLURRY" enqueue --redis "$R" --stream "$s" -q < "$W/urls"
  t1=$(now)
  [ "$k" = 1 ] && row enqueue "$(echo "$t1 - $t0" | bc)" "$(redis-cli -p "$port" XLEN "$s")"
  pids=()
  t0=$(now)
  for _ in $(seq 1 "$k"); do
    "$FLURRY" work --redis "$R" --stream "$s" --group g -c "$C" --drain -q & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  t1=$(now)
  row "work x$k" "$(echo "$t1 - $t0" | bc)" "$(redis-cli -p "$port" XLEN "$s:results")"
done
echo
echo "load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
