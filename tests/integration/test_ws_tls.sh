#!/usr/bin/env bash
# wss:// through nginx as the TLS terminator in front of flurry mock's
# WebSocket endpoints: the certificate is verified by default (a self-signed
# one is refused, --cacert trusts it, --insecure skips the check), and the
# echo works over TLS, small and large messages alike.
source "$(dirname "$0")/lib.sh"
command -v nginx >/dev/null || { echo "nginx missing (scripts/deps.sh installs it)"; exit 1; }
start_mock
MOCK_PORT=${BASE##*:}

free_port() { # a port the kernel says is free now
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
P=$(free_port)
mkdir -p "$WORK/ngx/logs" "$WORK/ngx/tmp"
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
  access_log $WORK/ngx/logs/access.log;
  client_body_temp_path $WORK/ngx/tmp;
  proxy_temp_path $WORK/ngx/tmp; fastcgi_temp_path $WORK/ngx/tmp;
  uwsgi_temp_path $WORK/ngx/tmp; scgi_temp_path $WORK/ngx/tmp;
  server {
    listen 127.0.0.1:$P ssl http2;
    ssl_certificate $WORK/ngx/cert.pem;
    ssl_certificate_key $WORK/ngx/key.pem;
    location /ready { return 200 'ok'; }
    location /ws/ {
      proxy_pass http://127.0.0.1:$MOCK_PORT;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 60s;
    }
  }
}
CONF
nginx -c "$WORK/ngx/nginx.conf" -p "$WORK/ngx" 2> "$WORK/ngx/start.err" &
NGX_PID=$!
trap 'kill $NGX_PID 2>/dev/null; wait $NGX_PID 2>/dev/null; cleanup' EXIT
for _ in $(seq 1 200); do
  curl -sk -o /dev/null "https://127.0.0.1:$P/ready" && break; sleep 0.05
done
WSS="wss://127.0.0.1:$P"
WSC() { timeout 60 "$FLURRY" ws --linger 30s "$@"; }

test_verified_by_default() {
  echo hi | WSC --count 1 "$WSS/ws/echo" > "$WORK/v.jsonl"; local rc=$?
  check "self-signed certificate: exit 1" "$rc" 1
  check "self-signed certificate: tls error" "$(jq -r .error.kind "$WORK/v.jsonl")" tls
}

test_cacert_echo() {
  printf 'one\ntwo\n' | WSC --cacert "$WORK/ngx/cert.pem" --count 2 "$WSS/ws/echo" > "$WORK/c.jsonl"
  check "wss --cacert: exit 0" "$?" 0
  check "wss --cacert: echoed in order" \
    "$(jq -r 'select(.type=="text").data' "$WORK/c.jsonl" | paste -sd, -)" "one,two"
}

test_insecure_large() {
  # 300 KB: many TLS records each way.
  head -c 300000 /dev/zero | tr '\0' 'z' | { cat; echo; } |
    WSC -k --count 1 "$WSS/ws/echo" > "$WORK/l.jsonl"
  check "wss -k: a 300000-byte message round trip" \
    "$(jq -r 'select(.type=="text").data | length' "$WORK/l.jsonl")" 300000
}

test_tls_close_code() {
  echo a | WSC --cacert "$WORK/ngx/cert.pem" "$WSS/ws/echo?close=4002&after=1" > "$WORK/s.jsonl"
  check "wss: the server's close code through the proxy" \
    "$(jq -r 'select(.type=="close") | "\(.code) \(.by)"' "$WORK/s.jsonl")" "4002 server"
}

for t in test_verified_by_default test_cacert_echo test_insecure_large test_tls_close_code; do
  run_test "$t"
done
finish
