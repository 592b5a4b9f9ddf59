#!/usr/bin/env bash
# Runs one libFuzzer target for a while over its seed corpus and prints one
# line: executions, executions per second, crashes.
# Usage: tests/fuzz/run.sh FUZZ_BINARY SECONDS WORKDIR
#   New inputs go to WORKDIR/corpus/NAME (the seeds in tests/fuzz/corpus/NAME
#   are read, never written); crash inputs to WORKDIR/crashes/NAME/. Exit 0
#   when nothing crashed, 1 otherwise (the log's end is shown).
#   FUZZ_KEEP_GOING=1 (make fuzz): first replay the known bugs' reproducers
#   (tests/fuzz/crashes/NAME/) and say which still crash, then fuzz past any
#   crash (libFuzzer's fork mode), stepping around the known bugs as CI does.
#   Otherwise (ctest) stop at the first crash.
set -uo pipefail
bin=$1 secs=$2 work=$3
name=$(basename "$bin"); name=${name#fuzz_}
seeds="$(cd "$(dirname "$0")" && pwd)/corpus/$name"
corpus="$work/corpus/$name" crashes="$work/crashes/$name" log="$work/$name.log"
mkdir -p "$corpus" "$crashes"
before=$(ls "$crashes" | wc -l)
mode=()
if [ "${FUZZ_KEEP_GOING:-0}" = 1 ]; then
  for f in "$(dirname "$seeds")/../crashes/$name"/*; do
    [ -f "$f" ] || continue
    if env -u FLURRY_FUZZ_SKIP_KNOWN "$bin" "$f" >/dev/null 2>&1; then
      echo "fuzz $name: $(basename "$f") no longer crashes: fixed? move it to corpus/$name/"
    else
      echo "fuzz $name: known bug still there: crashes/$name/$(basename "$f")"
    fi
  done
  export FLURRY_FUZZ_SKIP_KNOWN=1
  mode=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
fi
start=$(date +%s)
"$bin" "${mode[@]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$crashes/" "$corpus" "$seeds" >"$log" 2>&1
rc=$?
took=$(( $(date +%s) - start ))
found=$(( $(ls "$crashes" | wc -l) - before ))
if [ ${#mode[@]} -gt 0 ]; then # fork mode: "#EXECS: cov: ... exec/s N ..." lines
  execs=$(sed -n 's/^#\([0-9]*\): cov:.*/\1/p' "$log" | tail -n 1)
  rate=$(( ${execs:-0} / (took > 0 ? took : 1) ))
else
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
fi
printf 'fuzz %-12s %10s execs %8s exec/s %3d crashes  (%ss, corpus %s)\n' "$name" \
  "${execs:-?}" "${rate:-?}" "$found" "$took" "$(find "$corpus" "$seeds" -type f | wc -l)"
if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
  [ ${#mode[@]} -gt 0 ] || tail -n 60 "$log"
  echo "fuzz $name: crash input(s) in $crashes (reproduce: $bin FILE; log: $log)"
  exit 1
fi
