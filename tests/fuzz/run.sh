#!/usr/bin/env bash
# Runs one libFuzzer target for a while over its seed corpus and prints one
# line: executions, executions per second, crashes.
# Usage: tests/fuzz/run.sh FUZZ_BINARY SECONDS WORKDIR
#   New inputs go to WORKDIR/corpus/NAME (the seeds in tests/fuzz/corpus/NAME
#   are read, never written); crashes to WORKDIR/crashes/NAME/. Exit 0 when
#   nothing crashed, 1 otherwise (the log's end is shown).
set -uo pipefail
bin=$1 secs=$2 work=$3
name=$(basename "$bin"); name=${name#fuzz_}
seeds="$(cd "$(dirname "$0")" && pwd)/corpus/$name"
corpus="$work/corpus/$name" crashes="$work/crashes/$name" log="$work/$name.log"
mkdir -p "$corpus" "$crashes"
before=$(ls "$crashes" | wc -l)
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$crashes/" "$corpus" "$seeds" >"$log" 2>&1
rc=$?
stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
found=$(( $(ls "$crashes" | wc -l) - before ))
printf 'fuzz %-12s %10s execs %8s exec/s %3d crashes  (%ss, corpus %s)\n' "$name" \
  "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" "$found" "$secs" \
  "$(find "$corpus" "$seeds" -type f 2>/dev/null | wc -l)"
if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
  tail -n 60 "$log"
  echo "fuzz $name: crash input(s) in $crashes (reproduce: $bin FILE)"
  exit 1
fi
