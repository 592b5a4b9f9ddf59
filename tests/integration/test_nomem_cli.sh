#!/usr/bin/env bash
# test_nomem_cli.sh: the flurry command with its k-th allocation failing
# (FLURRY_TEST_ALLOC_FAIL_AT, a hook of test builds: cli/main.c) on a small
# batch with retries against `flurry mock`. For each k: no sanitizer report,
# no hang (each run is killed after 30 s), exit 0 or 1, every output line a
# whole JSON object with an id, at most one record per input line; and
# either the clean run's records and exit status (the failure absorbed), or
# exit 1 with every record the clean run's or of error kind nomem, and
# "out of memory" on stderr unless every line has its record.
# Two batches: 4 lines with retries and a 503 (every k of about 118), and
# 2 lines all ok (exit 0: a lost record must make it 1), together about a
# minute under ASan.
# Needs jq.
. "$(dirname "$0")/lib.sh"

start_mock
printf '/status/200\n/flaky?fail=1&key=cli-nomem-%s\n/status/503\n{"url":"/echo","method":"POST","json":{"k":[1,2]}}\n' \
  "$$" >"$WORK/in.txt"
LINES=4
ARGS=(--retries 2 --retry-base 1ms --retry-cap 5ms --base-url "$BASE" --input "$WORK/in.txt")
# (the flaky key is used up by the clean run: later runs see 200 at once,
# every run alike)
"$FLURRY" "${ARGS[@]}" >/dev/null 2>&1

# stable: the records without what varies from run to run (the flaky
# route's body counts the calls to its key: its length, bytes, too)
stable() {
  jq -c 'del(.elapsed_ms, .timings, .bytes) | if (.body | type) == "object"
         then del(.body.attempt) else . end' "$1" 2>/dev/null | sort
}
# bad_lines FILE: lines that are not a JSON object with an id and a line
bad_lines() {
  jq -R -r 'try (fromjson | if type == "object" and has("id") and has("line") then empty
                           else "x" end) catch "x"' "$1" | wc -l | tr -d ' '
}

# verdict K RC: "absorbed", "said", or what is wrong
verdict() {
  local k=$1 rc=$2 out="$WORK/out.jsonl" err="$WORK/err"
  if grep -q 'Sanitizer\|runtime error' "$err"; then echo sanitizer; return; fi
  [ "$rc" -eq 137 ] && { echo hang; return; }
  [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ] && { echo "exit-$rc"; return; }
  [ -s "$out" ] && [ "$(tail -c 1 "$out" | wc -l)" -ne 1 ] && { echo "cut-line"; return; }
  [ "$(bad_lines "$out")" -ne 0 ] && { echo "invalid-json"; return; }
  [ -n "$(jq -r .line "$out" | sort | uniq -d)" ] && { echo "duplicate"; return; }
  if [ "$rc" -eq "$clean_rc" ] && [ "$(stable "$out")" == "$(cat "$WORK/clean.stable")" ] &&
     ! grep -q 'out of memory' "$err"; then
    echo absorbed; return
  fi
  # an error message lost to the failure: the kind's own words instead
  if [ "$rc" -eq "$clean_rc" ] && [ "$(jq -r 'select(.error.message == "") | .line' "$out")" == "" ] &&
     [ "$(stable "$out" | jq -c 'del(.error.message)')" == "$(jq -c 'del(.error.message)' "$WORK/clean.stable")" ]; then
    echo absorbed; return
  fi
  [ "$rc" -ne 1 ] && { echo "changed-exit-$rc"; return; }
  # each record: the clean run's, or one of error kind nomem
  local other
  other=$(stable "$out" | grep -vxF -f "$WORK/clean.stable" | jq -c 'select(.error.kind != "nomem")')
  [ -n "$other" ] && { echo "changed-record"; return; }
  if [ "$(jq -r .line "$out" | sort -u | wc -l)" -lt "$LINES" ] ||
     ! grep -q '"kind":"nomem"' "$out"; then
    grep -q '^flurry: .*out of memory' "$err" || { echo "silent"; return; }
  fi
  echo said
}

# sweep NAME LINES FIRST: the clean run (its exit status clean_rc, LINES
# records, K allocations), then each k from FIRST to K failing.
sweep() {
  local name=$1 k rc v absorbed=0 said=0 runs=0 bad=""
  LINES=$2
  FLURRY_TEST_ALLOC_COUNT=1 "$FLURRY" "${ARGS[@]}" >"$WORK/clean.jsonl" 2>"$WORK/clean.err"
  clean_rc=$?
  K=$(sed -n 's/^flurry-test: allocations //p' "$WORK/clean.err")
  check "$name: clean run: $LINES records" "$(wc -l <"$WORK/clean.jsonl" | tr -d ' ')" "$LINES"
  check "$name: the hook counts allocations" "$([ "${K:-0}" -gt 20 ] && echo yes)" yes
  stable "$WORK/clean.jsonl" >"$WORK/clean.stable"
  for k in $(seq "$3" "${K:-0}"); do
    FLURRY_TEST_ALLOC_FAIL_AT=$k ASAN_OPTIONS="${ASAN_OPTIONS:-}:exitcode=86" \
      UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:exitcode=86" \
      timeout -s KILL 30 "$FLURRY" "${ARGS[@]}" >"$WORK/out.jsonl" 2>"$WORK/err"
    rc=$?
    runs=$((runs + 1))
    v=$(verdict "$k" "$rc")
    case $v in
      absorbed) absorbed=$((absorbed + 1)) ;;
      said) said=$((said + 1)) ;;
      *) bad="$bad k=$k:$v"; echo "k=$k ($v): stderr: $(head -c 400 "$WORK/err" | tr '\n' '|')" ;;
    esac
  done
  echo "note: $name: $K allocations, $runs runs: $said failures said, $absorbed absorbed"
  check "$name: every failed allocation said or absorbed, none crashed or hung" "$bad" ""
  check "$name: the sweep saw failures said" "$([ "$said" -gt 10 ] && echo yes)" yes
}

# A batch with retries and a failure (exit 1 clean), every k.
sweep "batch with retries" 4 1
check "batch with retries: clean exit 1 (the 503)" "$clean_rc" 1
# All ok (exit 0 clean): a lost record must turn the exit into 1. From k =
# 16: the start-up's allocations (the same as above) are swept already.
printf '/status/200\n{"url":"/echo","method":"POST","json":{"k":[1,2]}}\n' >"$WORK/in.txt"
ARGS=(--base-url "$BASE" --input "$WORK/in.txt")
sweep "all ok" 2 16
check "all ok: clean exit 0" "$clean_rc" 0
finish
