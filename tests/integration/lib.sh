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

# start_origin_b PORT_FILE LOG_FILE A_URL: origin_b.py, a server on another
# port that logs every request (its docstring says what it answers); sets
# STARTED_PID and STARTED_URL and stops it on exit.
start_origin_b() {
  python3 "$(dirname "${BASH_SOURCE[0]}")/origin_b.py" "$1" "$2" "$3" &
  STARTED_PID=$!
  ORIGIN_B_PID=$STARTED_PID
  trap 'kill $ORIGIN_B_PID 2>/dev/null; wait $ORIGIN_B_PID 2>/dev/null; cleanup' EXIT
  for _ in $(seq 1 200); do [ -s "$1" ] && break; sleep 0.05; done
  [ -s "$1" ] || { echo "origin_b.py did not start"; exit 1; }
  STARTED_URL="http://127.0.0.1:$(cat "$1")"
}

# free_port: a port the kernel says is free now (for servers without port 0).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_nginx HTTP_BLOCK READY_URL: nginx in $WORK/ngx with a self-signed
# certificate ($WORK/ngx/cert.pem, for 127.0.0.1 and localhost) and
# HTTP_BLOCK inside http {}; waits until READY_URL answers. Sets NGX_PID
# (the caller's EXIT trap stops it).
start_nginx() {
  command -v nginx >/dev/null || { echo "nginx missing (scripts/deps.sh installs it)"; exit 1; }
  mkdir -p "$WORK/ngx/logs"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$WORK/ngx/key.pem" -out "$WORK/ngx/cert.pem" 2>/dev/null
  cat > "$WORK/ngx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/ngx/nginx.pid;
error_log $WORK/ngx/logs/error.log;
events { worker_connections 1024; }
http {
  client_body_temp_path $WORK/ngx/tmp;
  proxy_temp_path $WORK/ngx/tmp; fastcgi_temp_path $WORK/ngx/tmp;
  uwsgi_temp_path $WORK/ngx/tmp; scgi_temp_path $WORK/ngx/tmp;
$1
}
CONF
  nginx -c "$WORK/ngx/nginx.conf" -p "$WORK/ngx" 2> "$WORK/ngx/start.err" &
  NGX_PID=$!
  for _ in $(seq 1 100); do
    curl -sk -o /dev/null "$2" && break; sleep 0.05
  done
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
