#!/usr/bin/env bash
# flurry against nginx (a neutral server): connection reuse, HTTP/2 over TLS
# and h2c with prior knowledge, TLS verification on by default.
source "$(dirname "$0")/lib.sh"
P1=$(free_port); P2=$(free_port); P3=$(free_port)
NGX_PID=""
trap '[ -n "$NGX_PID" ] && { kill $NGX_PID 2>/dev/null; wait $NGX_PID 2>/dev/null; }; cleanup' EXIT
start_nginx "
  log_format conn '\$connection \$server_protocol \$server_port \$request_uri';
  access_log $WORK/ngx/logs/access.log conn;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:$P1;
    listen 127.0.0.1:$P2 http2;
    listen 127.0.0.1:$P3 ssl http2;
    ssl_certificate $WORK/ngx/cert.pem;
    ssl_certificate_key $WORK/ngx/key.pem;
    location /doc.json { default_type application/json; return 200 '{\"ok\":true}'; }
  }" "http://127.0.0.1:$P1/doc.json"
F() { "$FLURRY" -q "$@"; }
curl_num() { # libcurl's version as a number, from flurry --version
  "$FLURRY" --version | sed -n 's/.*libcurl\/\([0-9]*\)\.\([0-9]*\)\.\([0-9]*\).*/\1 \2 \3/p' \
    | { read -r a b c; echo $(( (a << 16) | (b << 8) | c )); }
}
log() { cat "$WORK/ngx/logs/access.log"; }
conns_for() { log | awk -v p="$1" '$3 == p && $4 ~ /i=/ { print $1 }' | sort -u | wc -l; }

test_connection_reuse() {
  seq 1 500 | F -c 10 "http://127.0.0.1:$P1/doc.json?i={}" > "$WORK/h1.jsonl"
  check "HTTP/1.1: 500 ok" "$(jq -s 'map(select(.status == 200)) | length' "$WORK/h1.jsonl")" 500
  check "HTTP/1.1: connections reused (at most 10 for 500 requests)" \
    "$([ "$(conns_for "$P1")" -le 10 ] && echo yes || echo "no: $(conns_for "$P1")")" yes
}

test_h2c_prior_knowledge() {
  seq 1 200 | F -c 50 --http2-prior-knowledge "http://127.0.0.1:$P2/doc.json?i={}" > "$WORK/h2c.jsonl"
  check "h2c: 200 ok" "$(jq -s 'map(select(.status == 200)) | length' "$WORK/h2c.jsonl")" 200
  check "h2c: every request over HTTP/2" \
    "$(log | awk -v p="$P2" '$3 == p { print $2 }' | sort -u)" "HTTP/2.0"
  # libcurl before 8.0.0 cannot reuse an h2c connection (curl issue 10634):
  # flurry then opens one per request, and must still get every answer.
  if [ "$(curl_num)" -ge $((0x080000)) ]; then
    check "h2c: multiplexed on one connection" "$(conns_for "$P2")" 1
  else
    check "h2c on libcurl < 8: one connection per request" "$(conns_for "$P2")" 200
  fi
}

test_tls_verification_on() {
  echo "https://127.0.0.1:$P3/doc.json" | F > "$WORK/tls.jsonl"
  check "self-signed certificate refused by default" "$(jq -r .error.kind "$WORK/tls.jsonl")" tls
  seq 1 100 | F -c 20 --cacert "$WORK/ngx/cert.pem" "https://127.0.0.1:$P3/doc.json?i={}" > "$WORK/tls2.jsonl"
  check "--cacert: verified and ok" "$(jq -s 'map(select(.status == 200)) | length' "$WORK/tls2.jsonl")" 100
  check "https: HTTP/2 negotiated by ALPN" \
    "$(log | awk -v p="$P3" '$3 == p { print $2 }' | sort -u)" "HTTP/2.0"
  check "https: multiplexed on one connection" "$(conns_for "$P3")" 1
  echo "https://localhost:$P3/doc.json" | F -k > "$WORK/tls3.jsonl"
  check "-k: not verified, ok" "$(jq -r .status "$WORK/tls3.jsonl")" 200
  F --cacert "$WORK/none.pem" < /dev/null 2>/dev/null
  check "--cacert missing file: exit 2" "$?" 2
}

for t in $(declare -F | awk '{print $3}' | grep '^test_'); do run_test "$t"; done
finish
