#!/usr/bin/env bash
# Static analysis of the library, the CLI and the servers: clang-tidy (the
# checks in .clang-tidy) and cppcheck, from a build's compile_commands.json.
# Fails on any finding not in baseline.txt (false positives and reported
# bugs awaiting a fix in a file this check does not own, each with its reason).
# Usage: tests/lint/run.sh BUILD_DIR   (configured with CMake; `make lint`)
set -uo pipefail
build=$(cd "${1:?usage: tests/lint/run.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
cmds=$build/lint/compile_commands.json
mkdir -p "$build/lint"
jq --arg src "$src/" '[.[] | select(.file | startswith($src)) |
    select(.file[($src | length):] | test("^(src|cli|server)/"))]' \
  "$build/compile_commands.json" > "$cmds" || exit 2
nfiles=$(jq length "$cmds")
rc=0

# cppcheck: the compiler-independent second opinion.
cppcheck --project="$cmds" --enable=warning,style,performance,portability -q \
  --inline-suppr --suppressions-list="$here/cppcheck.supp" --error-exitcode=1 -j "$jobs" \
  --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
  >"$build/lint/cppcheck.txt" 2>&1
cpp_rc=$?
sed "s|^$src/||" "$build/lint/cppcheck.txt"
echo "lint: cppcheck: $nfiles files, $(grep -c ': \(error\|warning\|style\|performance\|portability\): ' \
  "$build/lint/cppcheck.txt") findings"
[ $cpp_rc -eq 0 ] || rc=1

# clang-tidy: one finding per line "file:line:col: warning|error: text [check]",
# each kept once (a header's findings repeat per file that includes it).
jq -r '.[].file' "$cmds" | xargs -P "$jobs" -n 4 clang-tidy -p "$build" --quiet \
  >"$build/lint/clang-tidy.txt" 2>/dev/null
grep -E '^/.*:[0-9]+:[0-9]+: (warning|error): ' "$build/lint/clang-tidy.txt" | sort -u \
  >"$build/lint/findings.txt"

# known FILE LINE CHECK: 0 when baseline.txt lists it ("path|check|text on the line").
known() {
  local code; code=$(sed -n "$2p" "$src/$1")
  while IFS='|' read -r path check text; do
    case "$path" in ''|'#'*) continue ;; esac
    [ "$path" = "$1" ] && [ "$check" = "$3" ] && [[ "$code" == *"$text"* ]] && return 0
  done <"$here/baseline.txt"
  return 1
}

new=0 old=0
while IFS= read -r f; do
  file=${f%%:*} rest=${f#*:}; line=${rest%%:*}
  check=$(sed -n 's/.*\[\([^]]*\)\]$/\1/p' <<<"$f")
  rel=${file#"$src"/}
  if [ -f "$src/$rel" ] && known "$rel" "$line" "$check"; then old=$((old + 1)); continue; fi
  new=$((new + 1))
  echo "${f#"$src"/}"
done <"$build/lint/findings.txt"
echo "lint: clang-tidy: $nfiles files, $new findings ($old more known, in tests/lint/baseline.txt)"
[ $new -eq 0 ] || rc=1
# Project rules no compiler checks. An attempt's request headers are set in
# one place (transfer.c: set_headers, after redirect.c stripped the
# credentials of a cross-origin hop): a second CURLOPT_HTTPHEADER is how
# --stream once sent them to another origin.
hh=$(grep -rn 'CURLOPT_HTTPHEADER' "$src/src" --include='*.c' | grep -v '^[^:]*:[0-9]*: *\(/\*\|\*\)')
if [ "$(grep -c . <<<"$hh")" -ne 1 ] || ! grep -q '/src/transfer.c:' <<<"$hh"; then
  echo "lint: rules: CURLOPT_HTTPHEADER must be set only in src/transfer.c (set_headers):"
  sed "s|^$src/||" <<<"$hh"
  rc=1
else
  echo "lint: rules: request headers set in one place"
fi
# A request's state changes in one function (sched.c:
# flurry__req_set_state), with the list and counter that go with it.
st=$(grep -rnE '(->|\.)state *= *REQ_|->state *=[^=]' "$src/src" --include='*.c' |
  grep -E 'REQ_|req|->state *= *to' | grep -v '/src/sched.c:.*req->state = to;' | grep -v '/src/ws')
if [ -n "$st" ]; then
  echo "lint: rules: a request's state is written only by flurry__req_set_state (src/sched.c):"
  sed "s|^$src/||" <<<"$st"
  rc=1
else
  echo "lint: rules: request state written in one place"
fi
# Library sources include the <module>_int.h headers they use (their
# include lines are the dependency graph); internal.h is for tests.
inc=$(grep -rln '#include "internal.h"' "$src/src" --include='*.c')
if [ -n "$inc" ]; then
  echo "lint: rules: src/ files include internal.h (tests only):"
  sed "s|^$src/||" <<<"$inc"
  rc=1
else
  echo "lint: rules: src/ includes its module headers"
fi
# Layout: every tracked C file as .clang-format lays it out.
if ! command -v clang-format >/dev/null; then
  echo "lint: format: clang-format missing (scripts/deps.sh lint installs it)"
  rc=1
else
  unformatted=$(cd "$src" && git ls-files '*.c' '*.h' 2>/dev/null | grep -v '^tests/fuzz/corpus/' |
    while read -r f; do clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
  if [ -n "$unformatted" ]; then
    echo "lint: format: not as .clang-format lays them out (clang-format -i FILE):"
    echo "$unformatted"
    rc=1
  else
    echo "lint: format: every C file as .clang-format lays it out"
  fi
fi
exit $rc
