#!/usr/bin/env bash
# Cookies (#11): a session remembers what a login set (--cookies,
# --cookie-jar FILE in curl's format, -b NAME=VALUE), through libcurl's
# cookie engine; a cookie never goes to another site (localhost is another
# host name than 127.0.0.1: the same mock, another site), and no cookie
# value is written in records or messages.
source "$(dirname "$0")/lib.sh"
start_mock
OTHER="http://localhost:${BASE##*:}"
F() { "$FLURRY" -q -c 1 "$@"; }
enc() { jq -rn --arg u "$1" '$u | @uri'; }
# The /me answers as "status user cookie-names", one per line.
me() { jq -rc 'select(.url | test("/me$")) | "\(.status) \(.body.user // "-") \(.body.cookies | join(","))"'; }

test_no_cookies_by_default() {
  local out; out=$(printf '%s\n' "$BASE/login?user=ada" "$BASE/me" | F | me)
  check "without --cookies the login is forgotten" "$out" "401 - "
}

test_session() {
  local out
  out=$(printf '%s\n' "$BASE/login?user=ada" "$BASE/me" "$BASE/me" | F --cookies | me)
  check "--cookies: the login's cookie goes with the later calls" "$out" $'200 ada session\n200 ada session'
  out=$(printf '%s\n' "$BASE/login?user=ada" "$OTHER/me" | F --cookies | me)
  check "--cookies: never to another site" "$out" "401 - "
  out=$(printf '%s\n' "$BASE/login?user=ada" "$BASE/redirect-to?url=$(enc "$OTHER/me")" \
    | F --cookies | jq -rc 'select(.url | test("redirect")) | "\(.status) \(.body.cookies | join(","))"')
  check "--cookies: not after a redirect to another site" "$out" "401 "
  out=$(printf '%s\n' "$BASE/login?user=ada" "$BASE/redirect-to?url=%2Fme" \
    | F --cookies | jq -rc 'select(.url | test("redirect")) | "\(.status) \(.body.user)"')
  check "--cookies: after a redirect on the same site" "$out" "200 ada"
}

test_jar_file() {
  local jar="$WORK/jar.txt" out
  echo "$BASE/login?user=bob" | F --cookie-jar "$jar" > /dev/null
  check "--cookie-jar: saved in curl's format" \
    "$(grep -c $'^#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\ts-bob$' "$jar")" "1"
  check "--cookie-jar: mode 0600" "$(stat -c %a "$jar")" "600"
  out=$(printf '%s\n' "$BASE/me" "$BASE/me" | F -c 2 --cookie-jar "$jar" | me)
  check "--cookie-jar: loaded by the next run" "$out" $'200 bob session\n200 bob session'
  # a jar written by curl itself is read too (one line, tab-separated)
  printf '# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\ts-eve\n' > "$WORK/curl.txt"
  out=$(echo "$BASE/me" | F --cookie-jar "$WORK/curl.txt" | me)
  check "--cookie-jar: curl's own file" "$out" "200 eve session"
  out=$(echo "$BASE/me" | F --cookie-jar "$WORK/new.txt" | me)
  check "--cookie-jar: a missing file is an empty jar" "$out" "401 - "
  check "--cookie-jar: ... and is created" "$(grep -c session "$WORK/new.txt")" "0"
}

test_cookie_option() {
  local out
  out=$(echo "$BASE/me" | F -b session=s-kim -b theme=dark | me)
  check "-b NAME=VALUE: sent, in one Cookie header" "$out" "200 kim session,theme"
  out=$(printf '%s\n' "$BASE/login?user=ada" "$BASE/me" | F --cookies -b theme=dark | me)
  check "-b with the jar: both in one line" "$out" "200 ada session,theme"
  out=$(echo "$BASE/redirect-to?url=$(enc "$OTHER/me")" | F -b session=s-kim \
    | jq -rc '"\(.status) \(.body.cookies | join(","))"')
  check "-b: not after a redirect to another origin" "$out" "401 "
}

test_redacted() {
  local out
  out=$(printf '%s\n' "$BASE/login?user=ada" "$BASE/me" \
    | "$FLURRY" -c 1 --cookies -b extra=SECRETB --headers --attempts 2>&1)
  check "Set-Cookie masked in --headers" \
    "$(echo "$out" | jq -rc 'select(.url | test("login")) | .headers["set-cookie"]' 2>/dev/null)" "***"
  check "no cookie value in records or messages" "$(echo "$out" | grep -c 's-ada\|SECRETB')" "0"
}

test_bad_values() {
  local err rc
  err=$("$FLURRY" -b 'novalue' "$BASE/me" 2>&1 < /dev/null); rc=$?
  check "-b without =: exit 2" "$rc" "2"
  check "-b without =: names the option" "$(echo "$err" | grep -c -- "--cookie")" "1"
  err=$("$FLURRY" -b 'sid=a b;SECRETV' "$BASE/me" 2>&1 < /dev/null); rc=$?
  check "-b with a space: exit 2" "$rc" "2"
  check "-b with a space: names the option, not the value" \
    "$(echo "$err" | grep -- "--cookie 'sid=\*\*\*'" | grep -vc SECRETV)" "1"
  err=$("$FLURRY" --cookie-jar "$WORK" "$BASE/me" 2>&1 < /dev/null); rc=$?
  check "--cookie-jar DIRECTORY: exit 2" "$rc" "2"
  check "--cookie-jar DIRECTORY: names the option" "$(echo "$err" | grep -c -- "--cookie-jar")" "1"
  echo "$BASE/json" > "$WORK/in"
  err=$("$FLURRY" -q --cookie-jar "$WORK/in/jar" -i "$WORK/in" 2>&1 >/dev/null); rc=$?
  check "--cookie-jar under a file: exit 2" "$rc" "2"
  mkdir -p "$WORK/j/jar.tmp" # where the jar is written first: a directory
  err=$("$FLURRY" -q --cookie-jar "$WORK/j/jar" -i "$WORK/in" 2>&1 >/dev/null); rc=$?
  check "cannot save the jar: exit 1" "$rc" "1"
  check "cannot save the jar: says so" "$(echo "$err" | grep -c -- "--cookie-jar.*cannot save")" "1"
}

run_test test_no_cookies_by_default
run_test test_session
run_test test_jar_file
run_test test_cookie_option
run_test test_redacted
run_test test_bad_values
finish
