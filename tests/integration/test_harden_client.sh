#!/usr/bin/env bash
# Client-side hardening: secret headers, the redirect policy, hostile
# servers (huge headers, gzip bomb), redaction and header/URL injection.
# The real binary against two `flurry mock` instances (two origins).
source "$(dirname "$0")/lib.sh"
start_mock
F() { "$FLURRY" -q "$@"; }

test_secret_header_option() {
  "$FLURRY" -q --secret-header 'bad name' "$BASE/json" </dev/null 2>"$WORK/sh.err"
  check "--secret-header with a bad name: exit 2" "$?" 2
  check "--secret-header with a bad name: says so" \
    "$(grep -c -- "--secret-header 'bad name': expected a header name" "$WORK/sh.err")" 1
  # A secret -H is still sent to the request's own origin.
  echo "$BASE/headers" | F -H 'X-Custom: s3cr3t' --secret-header X-Custom > "$WORK/sh.jsonl"
  check "secret header reaches its own origin" "$(jq -r '.body.headers["x-custom"]' "$WORK/sh.jsonl")" s3cr3t
}

run_test test_secret_header_option
finish
