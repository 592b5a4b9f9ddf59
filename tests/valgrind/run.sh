#!/usr/bin/env bash
# Runs the unit tests and the integration tests under valgrind memcheck and
# fails on any memcheck error or any definitely-lost byte.
# Usage: tests/valgrind/run.sh BUILD_DIR [TEST...]   (a build without
#        sanitizers, with FLURRY_BUILD_TESTS=ON: `make test-valgrind` makes
#        one; TEST: test_NAME, unit or integration, all when none given)
# The integration tests reach flurry through $FLURRY and the examples through
# $EXAMPLES_DIR: both point at wrappers that exec the real binaries under
# valgrind, so `flurry mock` runs under it too. Every process writes its own
# log to BUILD_DIR/valgrind/logs/.
set -uo pipefail
build=$(cd "${1:?usage: tests/valgrind/run.sh BUILD_DIR [TEST...]}" && pwd)
shift
only=" $* "
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
out=$build/valgrind
rm -rf "$out"
mkdir -p "$out/logs" "$out/bin" "$out/examples"

# Checks that measure time (and one that measures memory), waived here (make test runs them), each with its
# reason: valgrind makes flurry start ~1 s late and run 20-50x slower, and
# these checks time a signal, a rate or a wait against the wall clock. The
# flurry processes of these tests still run under memcheck and count.
declare -A waive=(
  ["test_cli|lazy input: first record before the producer finished"]="first record within 1 s of start"
  ["test_cli|--rate keeps under the server's limit"]="request spacing of 250 ms vs a 200 ms server window"
  ["test_cli|SIGINT: "]="SIGINT sent 0.4 s after start: before the handler exists under valgrind (bash starts background jobs with SIGINT ignored)"
  ["test_cli|second SIGINT: "]="same as SIGINT"
  ["test_batch|grace over: "]="SIGINT sent 0.5 s after start, as above"
  ["test_resilience|host paused: later requests waited for Retry-After"]="lines sent 0.3 s apart vs a 2 s pause, timed by the wall clock"
  ["test_resilience|Retry-After HTTP-date: waited"]="the date is set 3 s ahead before flurry starts; its start-up eats into the wait"
  ["test_resilience|--control: the change was applied"]="the file changes 1.5 s after start: under valgrind before flurry first reads it"
  ["test_resilience|fault mix: recoverable ones succeed"]="1 s timeouts: slowed-down answers time out too and exhaust their retries"
  ["test_paginate|rel=last: 2 waves of "]="concurrent pages told from sequential ones by a wall-clock bound"
  ["test_paginate|5 sequential pages of "]="same"
  ["test_paginate|no placeholder: stdin not read"]="a 4 s bound against stdin held open for 5 s"
  ["test_stream|rss: "]="peak RSS is valgrind's: it keeps 20 MB of freed blocks (--freelist-vol) and grows its caches as the stream runs"
  ["test_harden_client|300 KiB of headers: bounded memory"]="peak RSS of a process under valgrind is valgrind's"
  ["test_harden_client|gzip bomb: peak RSS"]="same"
  ["test_ws|ping flood, server reading: peak RSS"]="same (the flood's own bound is checked under ASan by make test)"
  ["test_ws|ping flood, server not reading: peak RSS"]="same"
  ["test_ws|stdin flood, server not reading: peak RSS"]="same"
  ["test_resilience|--control: sped up after the change"]="follows the change applied late, as above"
  ["test_work|local rate (the control)"]="4 workers at 100/s each must outrun the server's 100/s: under valgrind they may not reach it"
)

# waived SCRIPT OUTFILE: 0 when every FAIL line of the script is waived.
waived() {
  local line key ok
  while IFS= read -r line; do
    ok=0
    for key in "${!waive[@]}"; do
      [ "${key%%|*}" = "$1" ] && [[ "${line#FAIL }" == "${key#*|}"* ]] && ok=1
    done
    [ $ok = 1 ] || return 1
  done < <(grep '^FAIL ' "$2")
  grep -q '^FAIL ' "$2"
}

vg_opts=(--leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite
         --error-exitcode=99 --num-callers=40)

# wrap NAME REAL: an executable NAME that runs REAL under valgrind.
wrap() {
  { echo '#!/bin/sh'
    printf 'exec valgrind'; printf ' %q' "${vg_opts[@]}" "--log-file=$out/logs/$(basename "$1").%p.log" "$2"
    echo ' "$@"'; } > "$1"
  chmod +x "$1"
}

wrap "$out/bin/flurry" "$build/flurry"
for ex in "$build"/example_*; do [ -x "$ex" ] && wrap "$out/examples/$(basename "$ex")" "$ex"; done

# run_one KIND NAME: one test, its output in $out/NAME.out, "ok"/"FAIL" line.
run_one() {
  local kind=$1 name=$2 rc start=$SECONDS
  if [ "$kind" = python ]; then # the extension inside Debian's python3; the mock runs plain
    PYTHONPATH="$build/python:$src/tests/python" PYTHONMALLOC=malloc FLURRY="$build/flurry" \
      timeout 900 valgrind "${vg_opts[@]}" --log-file="$out/logs/$name.%p.log" \
      /usr/bin/python3 "$here/$name.py" >"$out/$name.out" 2>&1
  elif [ "$kind" = unit ]; then
    timeout 900 valgrind "${vg_opts[@]}" --log-file="$out/logs/$name.%p.log" "$build/$name" \
      >"$out/$name.out" 2>&1
  else
    FLURRY="$out/bin/flurry" EXAMPLES_DIR="$out/examples" timeout 1800 \
      bash "$src/tests/integration/$name.sh" >"$out/$name.out" 2>&1
  fi
  rc=$?
  if [ $rc -ne 0 ] && [ "$kind" = integration ] && [ $rc -ne 124 ] && waived "$name" "$out/$name.out"; then
    echo "ok   $kind $name ($((SECONDS - start))s; waived: $(grep -c '^FAIL ' "$out/$name.out") timing checks)"
    grep '^FAIL ' "$out/$name.out" | sed 's/^FAIL /       waived: /'
    rc=0
  elif [ $rc -eq 0 ]; then echo "ok   $kind $name ($((SECONDS - start))s)"
  else echo "FAIL $kind $name (exit $rc, $((SECONDS - start))s): see $out/$name.out"; fi
  echo "$rc" >"$out/$name.rc"
}

# selected NAME: 0 when NAME is to run.
selected() { [ "$only" = "  " ] || [[ "$only" == *" $1 "* ]]; }
tests=()
for t in "$build"/test_*; do
  [ -x "$t" ] && [ -f "$t" ] && selected "$(basename "$t")" && tests+=("unit $(basename "$t")")
done
for s in "$src"/tests/integration/test_*.sh; do
  selected "$(basename "$s" .sh)" && tests+=("integration $(basename "$s" .sh)")
done

if [ -d "$build/python/flurry" ] && selected python_smoke; then
  tests+=("python python_smoke")
fi

echo "valgrind: ${#tests[@]} tests, $jobs at a time; logs in $out/logs"
running=0
for t in "${tests[@]}"; do
  # shellcheck disable=SC2086
  run_one $t &
  running=$((running + 1))
  if [ $running -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

# The figures, from every process's log.
failed=$(grep -Lx 0 "$out"/*.rc | wc -l)
errors=0 lost=0 procs=0 killed=0 bad=()
for log in "$out"/logs/*.log; do
  [ -e "$log" ] || continue
  procs=$((procs + 1))
  grep -q 'ERROR SUMMARY' "$log" || killed=$((killed + 1)) # SIGKILLed by a test
  e=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$log" | tail -n 1 | tr -d ,)
  l=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -n 1 | tr -d ,)
  errors=$((errors + ${e:-0})) lost=$((lost + ${l:-0}))
  if [ "${e:-0}" != 0 ] || [ "${l:-0}" != 0 ]; then bad+=("$log"); fi
done
echo "valgrind: $procs processes ($killed killed by their test, without a summary):" \
  "$errors errors, $lost bytes definitely lost"
for log in "${bad[@]}"; do echo "--- $log"; grep -v '^==[0-9]*== *$' "$log" | head -n 60; done
echo "valgrind: $((${#tests[@]} - failed)) of ${#tests[@]} tests passed"
[ "$failed" -eq 0 ] && [ "$errors" -eq 0 ] && [ "$lost" -eq 0 ]
