#!/usr/bin/env bash
# test_work.sh: flurry enqueue / flurry work on Redis Streams against
# flurry mock, with a redis-server of its own (loopback, a free port, its
# own config and directory, AOF on). Every wait is bounded and waits for an
# event (a count in Redis, a process exiting), never for a time.
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "redis-server missing (scripts/deps.sh)"; exit 1; }
start_mock
RPORT=$(free_port)
RURL="redis://127.0.0.1:$RPORT"
RDIR="$WORK/redis"
REDIS_PID=""
WORKERS=()

stop_all() {
  for p in "${WORKERS[@]}"; do kill -9 "$p" 2>/dev/null; done
  if [ -n "$REDIS_PID" ]; then kill -9 "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; fi
  cleanup
}
trap stop_all EXIT

start_redis() {
  mkdir -p "$RDIR"
  cat > "$RDIR/redis.conf" <<CONF
bind 127.0.0.1
port $RPORT
dir $RDIR
appendonly yes
appendfsync always
save ""
protected-mode yes
logfile $RDIR/redis.log
CONF
  redis-server "$RDIR/redis.conf" &
  REDIS_PID=$!
  for _ in $(seq 1 200); do
    [ "$(redis-cli -p "$RPORT" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.05
  done
  echo "redis-server did not start"; cat "$RDIR/redis.log"; exit 1
}

rc() { redis-cli -p "$RPORT" --raw "$@"; }

# wait_for DESC CMD...: until CMD succeeds, at most 60 s (a bound, not a verdict).
wait_for() {
  local desc=$1; shift
  for _ in $(seq 1 1200); do "$@" && return 0; sleep 0.05; done
  fail "$desc" "not reached within 60 s"
  return 1
}
at_least() { [ "$(rc XLEN "$1")" -ge "$2" ]; }

# The records of a results stream, one JSON per line.
records() { rc XRANGE "$1" - + | grep '^{'; }

# work STREAM GROUP [options]: one worker in the background (pid in WPID).
work() {
  local s=$1 g=$2; shift 2
  "$FLURRY" work --redis "$RURL" --stream "$s" --group "$g" -q "$@" 2>> "$WORK/work.err" &
  WPID=$!
  WORKERS+=("$WPID")
}

# reqs N PATH: N JSON request lines with ids 1..N.
reqs() {
  awk -v n="$1" -v u="$BASE$2" 'BEGIN { for (i = 1; i <= n; i++)
    printf "{\"id\":%d,\"url\":\"%s%si=%d\"}\n", i, u, (index(u, "?") ? "&" : "?"), i }'
}

# exactly_once NAME STREAM N: the results hold ids 1..N once each.
exactly_once() {
  local got
  got=$(records "$2" | jq -r .id | sort -n | uniq | tr '\n' ' ')
  check "$1: every id has a result" "$got" "$(seq 1 "$3" | tr '\n' ' ')"
  check "$1: one result per id" "$(rc XLEN "$2")" "$3"
}

test_unreachable() {
  local port out code
  port=$(free_port)
  out=$("$FLURRY" work --redis "redis://127.0.0.1:$port" --stream s --group g 2>&1 </dev/null)
  code=$?
  check "unreachable: exit 1" "$code" 1
  case "$out" in *"cannot reach Redis at 127.0.0.1:$port"*) pass "unreachable: says so" ;;
    *) fail "unreachable: says so" "$out" ;; esac
  echo "$BASE/status/200" | "$FLURRY" enqueue --redis "redis://127.0.0.1:$port" --stream s 2>/dev/null
  check "enqueue, unreachable: exit 1" $? 1
  "$FLURRY" work --redis "redis://127.0.0.1:99999" --stream s --group g 2>/dev/null
  check "bad --redis URL: usage error" $? 2
  "$FLURRY" work --redis "$RURL" --stream s 2>/dev/null
  check "no --group: usage error" $? 2
  "$FLURRY" --redis "$RURL" 2>/dev/null </dev/null
  check "--redis without work: usage error" $? 2
  "$FLURRY" work --redis "$RURL" --stream s --group g --rate-scope wide 2>/dev/null
  check "bad --rate-scope: usage error" $? 2
}

# 3 workers, one killed with kill -9 while it holds entries: the others
# claim them; every request id gets exactly one result. (The issue's
# 10,000 requests: the whole file takes ~20 s under ASan on 2 cores.)
test_kill9() {
  local n=10000
  reqs $n /status/200 | "$FLURRY" enqueue --redis "$RURL" --stream k9 -q
  check "enqueue: all added" "$(rc XLEN k9)" $n
  work k9 g -c 20 --consumer doomed --claim-after 500ms
  local doomed=$WPID
  wait_for "kill9: the doomed worker holds entries" \
    bash -c "[ \"\$(redis-cli -p $RPORT XPENDING k9 g - + 10 doomed | wc -l)\" -gt 0 ]"
  work k9 g -c 20 --claim-after 500ms --drain
  local a=$WPID
  work k9 g -c 20 --claim-after 500ms --drain
  local b=$WPID
  wait_for "kill9: midway" at_least k9:results $((n / 4))
  # Stopped, it cannot ack what it holds: the kill then comes while it holds
  # entries whatever its timing (under valgrind it may have acked all it
  # had by now; let it run a little and take more, a bounded number of times)
  local held=0
  for _ in $(seq 1 100); do
    kill -STOP "$doomed"
    held=$(rc XPENDING k9 g - + 1000 doomed | grep -c '^[0-9]*-[0-9]*$')
    [ "$held" -gt 0 ] && break
    kill -CONT "$doomed"
    sleep 0.05
  done
  kill -9 "$doomed"
  wait "$doomed" 2>/dev/null
  [ "$held" -gt 0 ] && pass "kill9: killed holding $held entries" ||
    fail "kill9: killed holding entries" "none pending"
  wait "$a"; local ca=$?
  wait "$b"; local cb=$?
  check "kill9: the others drain and exit 0" "$ca $cb" "0 0"
  exactly_once kill9 k9:results $n
  check "kill9: nothing pending" "$(rc XPENDING k9 g | head -1)" 0
  local redelivered
  redelivered=$(records k9:results | jq -r .status | sort | uniq -c | awk '{print $2":"$1}')
  check "kill9: all 200" "$redelivered" "200:$n"
}

# Redis killed (kill -9) and started again on its AOF mid-run: the workers
# reconnect, nothing is lost, nothing is written twice.
test_restart() {
  local n=2000
  reqs $n /status/200 | "$FLURRY" enqueue --redis "$RURL" --stream rs -q
  work rs g -c 10 --claim-after 1s --drain
  local a=$WPID
  work rs g -c 10 --claim-after 1s --drain
  local b=$WPID
  wait_for "restart: midway" at_least rs:results $((n / 4))
  kill -9 "$REDIS_PID"
  wait "$REDIS_PID" 2>/dev/null
  REDIS_PID=""
  start_redis
  wait "$a"; local ca=$?
  wait "$b"; local cb=$?
  check "restart: workers reconnect, drain and exit 0" "$ca $cb" "0 0"
  grep -q "connected again" "$WORK/work.err" && pass "restart: reconnected" ||
    fail "restart: reconnected" "$(tail -3 "$WORK/work.err")"
  exactly_once restart rs:results $n
}

# Bad lines become error records in the results; poison entries (a 503
# every time) reach the dead-letter stream after --max-deliveries, with
# their last record; the same request (same id) enqueued twice has one
# result.
test_bad_and_poison() {
  {
    echo "{\"id\":1,\"url\":\"$BASE/status/200\"}"
    echo 'not json {'
    echo "{\"id\":3,\"url\":\"$BASE/status/503\"}"
    echo "{\"id\":4,\"url\":\"$BASE/status/404\"}"
    echo "{\"id\":5,\"method\":\"GET\"}"
    echo "{\"id\":1,\"url\":\"$BASE/status/200\"}" # the same request again: no 2nd result
  } | "$FLURRY" enqueue --redis "$RURL" --stream bp -q
  work bp g -c 4 --claim-after 200ms --max-deliveries 3 --drain
  wait "$WPID"
  check "poison: worker exits 0" $? 0
  check "poison: results (ok, bad line, 404, no url)" "$(records bp:results |
    jq -c '[.id, .status, .error.kind]' | sort | tr '\n' ' ')" \
    '[1,200,null] [2,null,"invalid_request"] [4,404,"http"] [5,null,"invalid_request"] '
  check "poison: dead-lettered once" "$(rc XLEN bp:dead)" 1
  local d
  d=$(rc XRANGE bp:dead - + | tr '\n' ' ')
  case "$d" in *"deliveries 3 record "*'"id":3'*'"status":503'*) pass "poison: after 3 deliveries, last record" ;;
    *) fail "poison: after 3 deliveries, last record" "$d" ;; esac
  check "poison: nothing pending" "$(rc XPENDING bp g | head -1)" 0
}

# SIGTERM: stop reading, finish in flight, acknowledge, exit 0; what it
# had not started is claimed by the next worker.
test_sigterm() {
  local n=300
  reqs $n "/delay/50" | "$FLURRY" enqueue --redis "$RURL" --stream st -q
  work st g -c 10 --claim-after 300ms
  local a=$WPID
  wait_for "sigterm: started" at_least st:results 20
  kill -TERM "$a"
  wait "$a"
  check "sigterm: exit 0" $? 0
  local part
  part=$(rc XLEN st:results)
  [ "$part" -lt $n ] && pass "sigterm: stopped early ($part of $n)" || fail "sigterm: stopped early" "$part"
  work st g -c 20 --claim-after 300ms --drain
  wait "$WPID"
  check "sigterm: next worker exits 0" $? 0
  exactly_once sigterm st:results $n
}

# A worker stopped (SIGSTOP) past --claim-after: another claims its
# entries and runs them; the first, continued, finishes them too and
# whichever stores second adds nothing: one result per id. (A worker
# merely slow keeps its entries: it touches them every claim-after / 3.)
test_redelivery() {
  reqs 5 /delay/1000 | "$FLURRY" enqueue --redis "$RURL" --stream rd -q
  "$FLURRY" work --redis "$RURL" --stream rd --group g -c 5 --consumer slow --claim-after 300ms \
    --progress never 2> "$WORK/slow.err" &
  local a=$!
  WORKERS+=("$a")
  wait_for "redelivery: the slow worker holds them" \
    bash -c "[ \"\$(redis-cli -p $RPORT XPENDING rd g | head -1)\" = 5 ]"
  kill -STOP "$a"
  work rd g -c 5 --consumer quick --claim-after 300ms --drain
  local b=$WPID
  wait "$b"
  check "redelivery: the claimer exits 0" $? 0
  check "redelivery: the claimer stored all" "$(rc XLEN rd:results)" 5
  kill -CONT "$a"
  kill -TERM "$a" # finishes the 5 in flight, stores them, exits
  wait "$a"
  check "redelivery: the first one exits 0" $? 0
  case "$(cat "$WORK/slow.err")" in *"0 stored, 0 dead-lettered, 5 already stored"*)
    pass "redelivery: the first one's 5 results were duplicates, skipped" ;;
    *) fail "redelivery: the first one's 5 results were duplicates, skipped" \
      "$(tail -3 "$WORK/slow.err")" ;; esac
  exactly_once redelivery rd:results 5
}

# A URL template, as the CLI takes it: the entries are its values. A
# template with no placeholder and an empty stream makes no request (the
# plain command would make one).
test_template() {
  printf '%s\n' 7 8 9 | "$FLURRY" enqueue --redis "$RURL" --stream tp -q
  work tp g --drain "$BASE/status/200?v={}"
  wait "$WPID"
  check "template: exit 0" $? 0
  check "template: the values in the URLs" \
    "$(records tp:results | jq -r '.url' | sed 's/.*v=//' | sort | tr '\n' ' ')" "7 8 9 "
  "$FLURRY" work --redis "$RURL" --stream em --group g --drain --progress never \
    "$BASE/status/200" </dev/null 2> "$WORK/em.err"
  check "template, empty stream: exit 0" $? 0
  case "$(cat "$WORK/em.err")" in *"flurry: 0 requests"*) pass "template, empty stream: no request" ;;
    *) fail "template, empty stream: no request" "$(head -2 "$WORK/em.err")" ;; esac
}

# SIGTERM while Redis is away: the requests in flight finish, their records
# cannot be stored; after --grace the worker says so and exits 1 (the
# entries stay pending in Redis for another worker). A Redis of its own.
test_sigterm_redis_away() {
  local port pid
  port=$(free_port)
  redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
    --dir "$WORK" --logfile "$WORK/away.log" &
  pid=$!
  for _ in $(seq 1 200); do [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break; sleep 0.05; done
  reqs 20 /delay/300 | "$FLURRY" enqueue --redis "redis://127.0.0.1:$port" --stream aw -q
  "$FLURRY" work --redis "redis://127.0.0.1:$port" --stream aw --group g -c 5 --grace 2s -q \
    2> "$WORK/away.err" &
  local w=$!
  WORKERS+=("$w")
  wait_for "away: the worker holds entries" \
    bash -c "[ \"\$(redis-cli -p $port XPENDING aw g 2>/dev/null | head -1)\" -gt 0 ] 2>/dev/null"
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  kill -TERM "$w"
  wait "$w"
  check "away: exit 1" $? 1
  case "$(cat "$WORK/away.err")" in *"records could not be stored: left pending"*)
    pass "away: says what was not stored" ;;
    *) fail "away: says what was not stored" "$(tail -3 "$WORK/away.err")" ;; esac
}

# --status: the group's lag, pending entries and consumers, as JSON.
test_status() {
  printf '%s\n' "$BASE/status/200" "$BASE/status/200" |
    "$FLURRY" enqueue --redis "$RURL" --stream ss -q
  rc XGROUP CREATE ss g 0 >/dev/null # as the first worker makes it
  "$FLURRY" work --redis "$RURL" --stream ss --group g --status > "$WORK/st.json"
  check "status: exit 0" $? 0
  check "status: lag 2, pending 0, length 2" \
    "$(jq -c '[.group.lag, .group.pending, .length, .results]' "$WORK/st.json")" '[2,0,2,0]'
  "$FLURRY" work --redis "$RURL" --stream ss --group nope --status 2>/dev/null
  check "status: no such group: exit 1" $? 1
}

# 4 workers, --rate 100/s shared, against /limited?rate=100 (a bucket of
# 100 per second and 100 of burst for all of them: one client address):
# no 429. Each with its own 100/s (local scope) goes over: 429s. A 429 is
# a retryable failure: with --max-deliveries 1 it goes to the dead-letter
# stream at once, so 429s are counted there and in the results. The rate
# measured is reported, not asserted (timing).
rate_run() { # STREAM SCOPE N [RATE OPTION]
  local s=$1 scope=$2 n=$3 opt=${4:---rate}
  reqs "$n" "/limited?rate=100&key=$s" | "$FLURRY" enqueue --redis "$RURL" --stream "$s" -q
  local pids=() t0 t1
  t0=$(date +%s.%N)
  for _ in 1 2 3 4; do
    work "$s" g -c 10 "$opt" 100/s --rate-scope "$scope" --max-deliveries 1 --drain
    pids+=("$WPID")
  done
  for p in "${pids[@]}"; do wait "$p"; done
  t1=$(date +%s.%N)
  RATE_429=$( (records "$s:results"; records "$s:dead") | jq -r 'select(.status == 429) | .id' |
    wc -l)
  RATE_MEASURED=$(echo "$n $t0 $t1" | awk '{printf "%.1f", $1 / ($3 - $2)}')
}

test_shared_rate() {
  rate_run shr shared 400
  check "shared rate: zero 429s" "$RATE_429" 0
  exactly_once "shared rate" shr:results 400
  check "shared rate: none dead" "$(rc XLEN shr:dead)" 0
  echo "     shared: 400 requests by 4 workers, $RATE_MEASURED/s measured (limit 100/s)"
  rate_run hsr shared 300 --host-rate
  check "shared host rate: zero 429s" "$RATE_429" 0
  check "shared host rate: one result each" "$(rc XLEN hsr:results)" 300
  check "shared host rate: its key is the host's" \
    "$(rc EXISTS "hsr:rate:${BASE#http://}")" 1
  echo "     shared host rate: 300 requests by 4 workers, $RATE_MEASURED/s measured (limit 100/s)"
  rate_run lor local 400
  [ "$RATE_429" -gt 0 ] && pass "local rate (the control): 4 x 100/s gets 429s ($RATE_429)" ||
    fail "local rate (the control): 4 x 100/s gets 429s" "none ($RATE_MEASURED/s)"
}

start_redis
run_test test_unreachable
run_test test_bad_and_poison
run_test test_status
run_test test_template
run_test test_sigterm_redis_away
run_test test_sigterm
run_test test_redelivery
run_test test_kill9
run_test test_shared_rate
run_test test_restart
# The workers' own stderr: no sanitizer report (a leak, a bad access) in any.
if grep -q "Sanitizer\|runtime error" "$WORK/work.err" "$WORK/slow.err"; then
  fail "workers: no sanitizer report" "$(grep -m3 "Sanitizer\|runtime error" "$WORK"/*.err)"
else
  pass "workers: no sanitizer report"
fi
finish
