# lib.sh: shared helpers for the integration tests (sourced).
# Starts `flurry mock` on port 0, asserts, and prints "N passed, N failed".
set -uo pipefail
: "${FLURRY:?set FLURRY to the flurry binary}"
WORK=$(mktemp -d)
MOCK_PID=""
PASSED=0
FAILED=0

cleanup() {
  if [ -n "$MOCK_PID" ]; then kill "$MOCK_PID" 2>/dev/null; wait "$MOCK_PID" 2>/dev/null; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# start_mock: sets BASE to the mock's URL.
start_mock() {
  start_mock_at "$WORK/port"
  MOCK_PID=$STARTED_PID
  BASE=$STARTED_URL
}

# start_mock_at PORT_FILE: one more mock; sets STARTED_PID and STARTED_URL
# (the caller stops it).
start_mock_at() {
  "$FLURRY" mock --port 0 --port-file "$1" --quiet >/dev/null &
  STARTED_PID=$!
  for _ in $(seq 1 200); do [ -s "$1" ] && break; sleep 0.05; done
  [ -s "$1" ] || { echo "flurry mock did not start"; exit 1; }
  STARTED_URL="http://127.0.0.1:$(cat "$1")"
}

pass() { PASSED=$((PASSED + 1)); echo "ok   $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1: $2"; }

# check NAME ACTUAL EXPECTED
check() {
  if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "expected [$3], got [$2]"; fi
}

# run_test FUNCTION: runs one test function.
run_test() { "$1"; }

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
