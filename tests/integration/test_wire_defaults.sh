#!/usr/bin/env bash
# test_wire_defaults.sh: what every request carries by default, and the
# proxy environment. The User-Agent and Accept-Encoding lines are the
# client's default header lines (issue #17: cheaper than libcurl's options)
# and must go out exactly once, with the values curl users know, replaced
# by a -H of the same name; compressed bodies are still decoded. A client
# made with no proxy variable set connects directly; one made with
# http_proxy set sends through the proxy (origin_b.py plays the proxy and
# logs the request target it gets), and no_proxy still exempts a host.
source "$(dirname "$0")/lib.sh"
start_mock
start_origin_b "$WORK/port_p" "$WORK/p.log" "$BASE"
PROXY=$STARTED_URL
# F: flurry with no proxy variable, but those in ENVX
ENVX=()
F() { env -u http_proxy -u https_proxy -u HTTPS_PROXY -u all_proxy -u ALL_PROXY -u no_proxy \
  -u NO_PROXY "${ENVX[@]}" timeout 60 "$FLURRY" -q "$@"; }
VERSION=$("$FLURRY" --version | grep -o '[0-9][0-9.]*' | head -n 1)

# count NAME FILE: how many times the raw record names the header (the mock's
# /headers keeps repeated names, and the record keeps the body's text).
count() { grep -o "\"$1\":" "$2" | wc -l; }

test_defaults_once() {
  echo "$BASE/headers" | F >"$WORK/d1"
  check "default User-Agent" "$(jq -r '.body.headers["user-agent"]' "$WORK/d1")" "flurry/$VERSION"
  check "default Accept-Encoding: libcurl's decoders" \
    "$(jq -r '.body.headers["accept-encoding"] | test("^deflate, gzip(, br)?(, zstd)?$")' "$WORK/d1")" true
  check "one User-Agent line" "$(count user-agent "$WORK/d1")" 1
  check "one Accept-Encoding line" "$(count accept-encoding "$WORK/d1")" 1
  check "no Expect line" "$(jq -r '.body.headers | has("expect")' "$WORK/d1")" false
}

test_replaced_by_name() {
  echo "$BASE/headers" | F -H 'user-agent: me/1' -H 'Accept-Encoding: identity' >"$WORK/r1"
  check "-H User-Agent replaces the default" "$(jq -r '.body.headers["user-agent"]' "$WORK/r1")" me/1
  check "-H Accept-Encoding replaces the default" \
    "$(jq -r '.body.headers["accept-encoding"]' "$WORK/r1")" identity
  check "still one line each" "$(count user-agent "$WORK/r1") $(count accept-encoding "$WORK/r1")" \
    "1 1"
  echo "$BASE/headers" | F -H 'User-Agent:' >"$WORK/r2"
  check "-H 'User-Agent:' sends it empty, once" \
    "$(jq -r '.body.headers["user-agent"]' "$WORK/r2")|$(count user-agent "$WORK/r2")" "|1"
  printf '%s\n' "{\"url\":\"$BASE/headers\",\"headers\":{\"User-Agent\":\"line/2\"}}" | F >"$WORK/r3"
  check "a JSON line's User-Agent replaces the default" \
    "$(jq -r '.body.headers["user-agent"]' "$WORK/r3") $(count user-agent "$WORK/r3")" "line/2 1"
}

test_gzip_decoded() {
  echo "$BASE/gzip-bomb?mib=1" | F --max-size 2MiB >"$WORK/g1"
  check "a gzip body is decoded (1 MiB out of ~1 KiB)" "$(jq -r '[.status, .bytes] | @tsv' "$WORK/g1")" \
    "$(printf '200\t1048576')"
}

test_proxy_env() {
  echo "http://flurry-proxy-test.invalid/via" | F >"$WORK/p0"
  check "no proxy variable: a direct connection (the name does not resolve)" \
    "$(jq -r .error.kind "$WORK/p0")" dns
  ENVX=("http_proxy=$PROXY")
  echo "http://flurry-proxy-test.invalid/via" | F >"$WORK/p1"
  check "http_proxy: the request goes through the proxy" "$(jq -r .status "$WORK/p1")" 200
  check "the proxy got the absolute target" \
    "$(jq -r 'select(.path | startswith("http://")) | .path' "$WORK/p.log")" \
    "http://flurry-proxy-test.invalid/via"
  ENVX=("http_proxy=$PROXY" no_proxy=127.0.0.1)
  echo "$BASE/json" | F >"$WORK/p2"
  check "no_proxy: that host is reached directly" "$(jq -r .status "$WORK/p2")" 200
  check "... and the proxy saw nothing more" "$(wc -l <"$WORK/p.log")" 1
  ENVX=()
}

run_test test_defaults_once
run_test test_replaced_by_name
run_test test_gzip_decoded
run_test test_proxy_env
finish
