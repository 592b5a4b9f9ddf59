#!/usr/bin/env bash
# Long jobs: kill -9 and --resume (exactly once), a torn last line, a
# changed command refused, --retry-failed, --shard, --stats-json, --grace.
source "$(dirname "$0")/lib.sh"
start_mock
F() { "$FLURRY" -q "$@"; }

test_kill_and_resume_exactly_once() {
  local url="$BASE/users/{}?mix=reset:0.03,status:0.03&seed=5"
  seq 1 20000 > "$WORK/ids"
  F -c 200 --retries 10 --retry-base 5ms --retry-budget 0 -o "$WORK/clean.jsonl" "$url" < "$WORK/ids"
  local kills=0 grown=0 before
  : > "$WORK/resumed.jsonl"
  for more in 300 700 200 900 500; do
    # --rate keeps each run long enough to be killed in the middle (4000/s:
    # 20000 ids take 5 s); killed once it has written MORE new records (not
    # after a fixed sleep, which on a loaded machine may come before the
    # first record or, with a faster run, after the last)
    before=$(wc -l < "$WORK/resumed.jsonl")
    "$FLURRY" -q -c 200 --rate 4000/s --retries 10 --retry-base 5ms --retry-budget 0 --resume \
      -o "$WORK/resumed.jsonl" "$url" < "$WORK/ids" &
    local pid=$!
    for _ in $(seq 1 600); do
      [ "$(wc -l < "$WORK/resumed.jsonl")" -ge $((before + more)) ] && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    [ "$(wc -l < "$WORK/resumed.jsonl")" -ge $((before + more)) ] && grown=$((grown + 1))
    if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
    wait "$pid" 2>/dev/null
  done
  local left_after_kills; left_after_kills=$(wc -l < "$WORK/resumed.jsonl")
  F -c 200 --retries 10 --retry-base 5ms --retry-budget 0 --resume -o "$WORK/resumed.jsonl" \
    "$url" < "$WORK/ids"
  check "kill -9 x$kills then resume: exit 0" "$?" 0
  check "kill -9 and resume: one record per id, none lost, none twice" \
    "$(jq -s '[.[].body.id] | sort == [range(1;20001)]' "$WORK/resumed.jsonl")" true
  check "kill -9 and resume: keys unique" \
    "$(jq -s 'map(.key) | (unique | length) == length' "$WORK/resumed.jsonl")" true
  jq -c '.body' "$WORK/clean.jsonl" | sort > "$WORK/clean.bodies"
  jq -c '.body' "$WORK/resumed.jsonl" | sort > "$WORK/resumed.bodies"
  check "kill -9 and resume: every body identical to a clean run's" \
    "$(cmp -s "$WORK/clean.bodies" "$WORK/resumed.bodies" && echo same)" same
  check "the runs were really killed, each after it wrote records" "$kills $grown" "5 5"
  check "the killed runs left work for the last one" \
    "$([ "$left_after_kills" -lt 20000 ] && echo yes)" yes
}

test_resume_reordered_input() {
  seq 1 300 | F -o "$WORK/ro.jsonl" --resume "$BASE/users/{}" 
  seq 1 400 | sort -r | F -o "$WORK/ro.jsonl" --resume "$BASE/users/{}" 2> /dev/null
  check "resume with the input reordered: only the new ones ran" \
    "$(jq -s '[.[].body.id] | sort == [range(1;401)]' "$WORK/ro.jsonl")" true
}

test_torn_last_line_repaired() {
  seq 1 50 | F -o "$WORK/torn.jsonl" --resume "$BASE/users/{}"
  # a crash mid-write: the last record cut in half, no newline
  local size; size=$(stat -c %s "$WORK/torn.jsonl")
  head -c $((size - 40)) "$WORK/torn.jsonl" > "$WORK/torn.tmp" && mv "$WORK/torn.tmp" "$WORK/torn.jsonl"
  seq 1 50 | "$FLURRY" -q -o "$WORK/torn.jsonl" --resume "$BASE/users/{}" 2> "$WORK/torn.err"
  check "torn line: reported" "$(grep -c 'torn last line' "$WORK/torn.err")" 1
  check "torn line: every line whole JSON" "$(jq -c . "$WORK/torn.jsonl" | wc -l)" 50
  check "torn line: the cut request redone, none twice" \
    "$(jq -s '[.[].body.id] | sort == [range(1;51)]' "$WORK/torn.jsonl")" true
}

test_changed_command_refused() {
  seq 1 5 | F -o "$WORK/cc.jsonl" --resume "$BASE/users/{}"
  seq 1 5 | "$FLURRY" -q -o "$WORK/cc.jsonl" --resume -H 'X-New: 1' "$BASE/users/{}" 2> "$WORK/cc.err"
  check "changed command: exit 2" "$?" 2
  check "changed command: says why" "$(grep -c 'options that shape requests changed' "$WORK/cc.err")" 1
  check "changed command: file untouched" "$(wc -l < "$WORK/cc.jsonl")" 5
  seq 1 5 | F -o "$WORK/cc.jsonl" --resume -c 3 --timeout 5s "$BASE/users/{}"
  check "limits may change on resume" "$?" 0
  echo '{"x":1}' > "$WORK/foreign.jsonl"
  seq 1 5 | "$FLURRY" -q -o "$WORK/foreign.jsonl" --resume "$BASE/users/{}" 2> /dev/null
  check "not a journal: refused" "$?" 2
  "$FLURRY" -q --resume < /dev/null 2> /dev/null
  check "--resume without -o: exit 2" "$?" 2
}

test_retry_failed() {
  seq 1 20 | F -o "$WORK/rf.jsonl" --resume "$BASE/flaky?key=rf{}&fail=1"
  check "first run: all failed" "$(jq -s 'map(select(.ok)) | length' "$WORK/rf.jsonl")" 0
  seq 1 20 | F -o "$WORK/rf.jsonl" --resume "$BASE/flaky?key=rf{}&fail=1"
  check "--resume alone keeps failures" "$(wc -l < "$WORK/rf.jsonl")" 20
  seq 1 20 | F -o "$WORK/rf.jsonl" --retry-failed "$BASE/flaky?key=rf{}&fail=1"
  check "--retry-failed: redone, one final record each" \
    "$(jq -s -c '[length, (map(select(.ok)) | length)]' "$WORK/rf.jsonl")" "[20,20]"
}

test_shards_partition_input() {
  seq 1 1000 | sed "s|^|$BASE/users/|" > "$WORK/urls"
  for k in 1 2 3 4 5; do F --shard "$k/5" --no-body -o "$WORK/shard$k.jsonl" < "$WORK/urls"; done
  check "shards: union is the input, no overlap" \
    "$(cat "$WORK"/shard?.jsonl | jq -s '[.[].line] | sort == [range(1;1001)]')" true
  check "shards: each gets a share" \
    "$(for k in 1 2 3 4 5; do wc -l < "$WORK/shard$k.jsonl"; done | awk '$1 < 100 { bad++ } END { print bad + 0 }')" 0
  sort -R "$WORK/urls" | F --shard 2/5 --no-body -o "$WORK/shard2b.jsonl"
  check "shards: the same split whatever the order" \
    "$(jq -s -c '[.[].line] | sort' "$WORK/shard2.jsonl")" \
    "$(jq -c '.url' "$WORK/shard2b.jsonl" | sed 's|.*/users/||; s|"||' | sort -n | jq -s -c .)"
  "$FLURRY" --shard 6/5 < /dev/null 2> /dev/null
  check "--shard 6/5: exit 2" "$?" 2
}

test_stats_json() {
  printf '%s\n' "$BASE/json" "$BASE/status/404" "not a url" | F --stats-json "$WORK/stats.json" > /dev/null
  check "stats-json: counts" "$(jq -c '[.requests, .ok, .failed, .status["404"], .errors.http, .invalid_input_lines, .exit]' "$WORK/stats.json")" \
    "[3,1,2,1,1,1,1]"
  check "stats-json: latency" "$(jq '.latency_ms.p50 > 0' "$WORK/stats.json")" true
}

test_fsync_always() {
  seq 1 30 | F --fsync always -o "$WORK/fs.jsonl" "$BASE/users/{}"
  check "--fsync always: written" "$(wc -l < "$WORK/fs.jsonl")" 30
  "$FLURRY" --fsync sometimes < /dev/null 2> /dev/null
  check "--fsync bad value: exit 2" "$?" 2
}

test_grace_period() {
  # SIGINT once the mock sees the 10 in flight (not after a fixed sleep that
  # may come before the handler is set); they wait 10 s at the mock, far
  # past the 500 ms grace
  curl -s -o /dev/null "$BASE/items/stats?reset=1"
  seq 1 50 | "$FLURRY" -q -c 10 --grace 500ms "$BASE/items?delay_ms=10000&n={}" > "$WORK/grace.jsonl" 2>/dev/null &
  local pid=$! n=0
  for _ in $(seq 1 400); do
    n=$(curl -s --max-time 5 "$BASE/items/stats" | jq .in_flight)
    [ "${n:-0}" -ge 10 ] && break
    sleep 0.05
  done
  check "grace: 10 in flight before the signal" "$n" 10
  kill -INT "$pid"
  wait "$pid"
  check "grace over: exit 130" "$?" 130
  check "grace over: in flight cancelled, each recorded once" \
    "$(jq -s -c '[length, (map(.error.kind) | unique)]' "$WORK/grace.jsonl")" '[50,["cancelled"]]'
}

for t in $(declare -F | awk '{print $3}' | grep '^test_'); do run_test "$t"; done
finish
