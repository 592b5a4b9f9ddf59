#!/usr/bin/env bash
# nomem_cli_sweep.sh: the flurry command with its k-th allocation failing
# (FLURRY_TEST_ALLOC_FAIL_AT, a hook of test builds: cli/main.c), for every
# k of a small batch with retries against `flurry mock`: no crash, no
# sanitizer report, no hang, and either the same records as the clean run
# (the failure absorbed by a cache) or a clean exit 1 with a message on
# stderr or a record of error kind nomem.
# NOT in `make test` yet (not named test_*): it fails today. Found with it,
# not fixed: silent exit 1 (no message) for k = 1, 3, 4 (start-up); a
# record with an invalid id ("id":,) at k = 12; a run that hangs and
# ignores SIGTERM at k = 19. Run it by hand:
#   FLURRY=build-test/flurry bash tests/integration/nomem_cli_sweep.sh
# Needs jq.
. "$(dirname "$0")/lib.sh"

start_mock
printf '/status/200\n/flaky?fail=1&key=cli-nomem-%s\n/status/503\n{"url":"/echo","method":"POST","json":{"k":[1,2]}}\n' \
  "$$" >"$WORK/in.txt"
ARGS=(--retries 2 --retry-base 1ms --retry-cap 5ms --base-url "$BASE" --input "$WORK/in.txt")
# (the flaky key is used up by the clean run: later runs see 200 at once,
# every run alike)
"$FLURRY" "${ARGS[@]}" >/dev/null 2>&1

# stable: the records without what varies from run to run
stable() { jq -c 'del(.elapsed_ms, .timings)' "$1" 2>/dev/null | sort; }

FLURRY_TEST_ALLOC_COUNT=1 "$FLURRY" "${ARGS[@]}" >"$WORK/clean.jsonl" 2>"$WORK/clean.err"
clean_rc=$?
K=$(sed -n 's/^flurry-test: allocations //p' "$WORK/clean.err")
check "clean run: exit 1 (the 503), 4 records" "$clean_rc $(wc -l <"$WORK/clean.jsonl" | tr -d ' ')" "1 4"
check "the hook counts allocations" "$([ "${K:-0}" -gt 20 ] && echo yes)" yes
stable "$WORK/clean.jsonl" >"$WORK/clean.stable"

absorbed=0 said=0 bad=""
for k in $(seq 1 "${K:-0}"); do
  FLURRY_TEST_ALLOC_FAIL_AT=$k ASAN_OPTIONS="${ASAN_OPTIONS:-}:exitcode=86" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:exitcode=86" \
    timeout -s KILL 60 "$FLURRY" "${ARGS[@]}" >"$WORK/out.jsonl" 2>"$WORK/err"
  rc=$?
  if grep -q 'Sanitizer\|runtime error' "$WORK/err"; then
    bad="$bad k=$k:sanitizer"
  elif [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
    bad="$bad k=$k:exit-$rc"
  elif [ "$(stable "$WORK/out.jsonl")" == "$(cat "$WORK/clean.stable")" ] &&
       ! grep -q 'out of memory' "$WORK/err"; then
    absorbed=$((absorbed + 1))
  elif [ "$rc" -eq 1 ] && jq -e . "$WORK/out.jsonl" >/dev/null 2>&1 &&
       { grep -q '"kind":"nomem"' "$WORK/out.jsonl" || grep -q '^flurry: ' "$WORK/err"; }; then
    said=$((said + 1))
  else
    bad="$bad k=$k:silent(exit-$rc)"
    cp "$WORK/err" "$WORK/err.$k"; cp "$WORK/out.jsonl" "$WORK/out.$k"
  fi
done
echo "note: $K allocations: $said failures said, $absorbed absorbed"
check "every failed allocation said or absorbed, none crashed" "$bad" ""
finish
