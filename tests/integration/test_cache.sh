#!/usr/bin/env bash
# The HTTP cache (--cache, issue 12) against flurry mock's /cache routes,
# which count the requests that reach the origin: every RFC 9111 rule the
# cache follows, the CLI's options, and its reliability (kill -9 while
# writing, 4 processes on one file, foreign and corrupt files refused).
source "$(dirname "$0")/lib.sh"
start_mock
F() { "$FLURRY" -q "$@"; }
DB="$WORK/c.db"
PY=/usr/bin/python3

# hits KEY: requests /cache/KEY received so far.
hits() { curl -s "$BASE/cache-ctl/$1" | jq .hits; }
ctl() { curl -s "$BASE/cache-ctl/$1?$2" > /dev/null; }
# cache_of: the "cache" member of each record, space separated.
cache_of() { jq -r '.cache' | tr '\n' ' ' | sed 's/ $//'; }
now() { date +%s; }
# second URL: stores URL (a first run), then the cache member of a second.
second() {
  echo "$1" | F --cache "$DB" > /dev/null
  echo "$1" | F --cache "$DB" | cache_of
}

test_miss_then_hit() {
  local u="$BASE/cache/fresh?etag=1&cc=max-age%3D3600"
  check "first run: miss" "$(echo "$u" | F --cache "$DB" | cache_of)" miss
  local out; out=$(echo "$u" | F --cache "$DB")
  check "second run: hit" "$(cache_of <<<"$out")" hit
  check "a hit: no attempt, the stored body" "$(jq -c '[.attempts, .status, .body.hits]' <<<"$out")" \
    "[0,200,1]"
  check "one request reached the origin" "$(hits fresh)" 1
  echo "$u" | "$FLURRY" --cache "$DB" --stats-json "$WORK/s.json" > /dev/null 2> "$WORK/err"
  check "summary counts hits and origin requests saved" \
    "$(grep -c 'cache: hit 1, revalidated 0, miss 0, stale 0, bypass 0; origin requests saved: 1' \
      "$WORK/err")" 1
  check "--stats-json counts them" "$(jq -c .cache "$WORK/s.json")" \
    '{"hit":1,"revalidated":0,"miss":0,"stale":0,"bypass":0,"origin_saved":1}'
  check "without --cache: no cache member" "$(echo "$u" | F | jq 'has("cache")')" false
}

test_collapsing() {
  local u="$BASE/cache/herd?cc=max-age%3D3600"
  for _ in $(seq 1 40); do echo "$u"; done > "$WORK/herd"
  local out; out=$(F --cache "$DB" -c 40 < "$WORK/herd")
  check "40 identical requests in flight: 1 reached the origin" "$(hits herd)" 1
  check "40 identical: 1 miss, 39 hits with its body" \
    "$(jq -s -c '[(map(select(.cache=="miss"))|length), (map(select(.cache=="hit" and .body.hits==1))|length)]' <<<"$out")" \
    "[1,39]"
}

test_no_store_no_cache() {
  local u="$BASE/cache/nostore?etag=1&cc=no-store"
  check "no-store: never stored (miss again)" "$(second "$u")" miss
  check "no-store: both reached the origin" "$(hits nostore)" 2
  u="$BASE/cache/nocache?etag=1&cc=max-age%3D3600%2C%20no-cache"
  echo "$u" | F --cache "$DB" > /dev/null
  local out; out=$(echo "$u" | F --cache "$DB")
  check "no-cache: stored but revalidated every time" "$(cache_of <<<"$out")" revalidated
  check "no-cache: the 304 serves the stored body" "$(jq -c '[.status,.body.hits]' <<<"$out")" "[200,1]"
  check "no-cache: each use asks the origin" "$(hits nocache)" 2
}

test_validators() {
  local u="$BASE/cache/etag?etag=1&cc=max-age%3D0"
  echo "$u" | F --cache "$DB" > /dev/null
  check "stale with ETag: If-None-Match, 304, revalidated" \
    "$(echo "$u" | F --cache "$DB" | jq -r '[.cache,.status,.body.version]|join(" ")')" "revalidated 200 0"
  ctl etag bump=1
  check "changed at the origin: the new version, a miss" \
    "$(echo "$u" | F --cache "$DB" | jq -r '[.cache,.body.version]|join(" ")')" "miss 1"
  check "then revalidated against the new one" \
    "$(echo "$u" | F --cache "$DB" | jq -r '[.cache,.body.version]|join(" ")')" "revalidated 1"
  local lm=$(($(now) - 3600))
  u="$BASE/cache/lm?lm=$lm&cc=max-age%3D0"
  check "stale with Last-Modified: If-Modified-Since, 304" "$(second "$u")" revalidated
  check "validators: every use reached the origin" "$(($(hits etag) + $(hits lm)))" 6
}

test_expires_age_heuristic() {
  local t; t=$(now)
  local u="$BASE/cache/exp?etag=1&expires=$((t + 86400))"
  check "Expires tomorrow: a hit" "$(second "$u")" hit
  u="$BASE/cache/expired?etag=1&expires=$((t - 86400))"
  check "Expires yesterday: revalidated" "$(second "$u")" revalidated
  u="$BASE/cache/aged?etag=1&cc=max-age%3D600&age=700"
  check "Age 700 > max-age 600: stale at once, revalidated" "$(second "$u")" revalidated
  u="$BASE/cache/heur?lm=$((t - 100 * 86400))"
  echo "$u" | F --cache "$DB" > /dev/null
  check "no freshness given, Last-Modified 100 days ago: 10 days fresh (heuristic)" \
    "$(echo "$u" | F --cache "$DB" | jq -r '[.cache,.headers.age // "-"]|join(" ")')" "hit -"
  echo "$u" | F --cache "$DB" --headers | jq -r '.headers.age' > "$WORK/age"
  check "a hit says its Age" "$(grep -cE '^[0-9]+$' "$WORK/age")" 1
  u="$BASE/cache/heur0?lm=$((t + 86400))"
  check "Last-Modified in the future: no heuristic freshness" "$(second "$u")" revalidated
  check "hits at the origin: 1 + 2 + 2 + 1 + 2" \
    "$(($(hits exp) + $(hits expired) + $(hits aged) + $(hits heur) + $(hits heur0)))" 8
}

test_stale_rules() {
  # after_change KEY CTL CC FIELDS: stores /cache/KEY, changes it (CTL), then
  # FIELDS of the next answer.
  after_change() {
    local u="$BASE/cache/$1?etag=1&cc=$3"
    echo "$u" | F --cache "$DB" > /dev/null
    ctl "$1" "$2"
    echo "$u" | F --cache "$DB" | jq -r "[$4]|join(\" \")"
  }
  check "origin down (503), stale-if-error: the stored answer, marked stale" \
    "$(after_change sie down=1 'max-age%3D0%2C%20stale-if-error%3D3600' '.cache,.status,.body.version,has("error")')" \
    "stale 200 0 false"
  check "must-revalidate: never stale, the 503 goes through" \
    "$(after_change mr down=1 'max-age%3D0%2C%20must-revalidate%2C%20stale-if-error%3D3600' '.cache,.status')" \
    "miss 503"
  check "no stale-if-error: the 503" "$(after_change plain503 down=1 'max-age%3D0' .status)" 503
  check "stale-while-revalidate: stale at once, no wait for the origin" \
    "$(after_change swr bump=1 'max-age%3D0%2C%20stale-while-revalidate%3D3600' '.cache,.attempts,.body.version')" \
    "stale 0 0"
  local u="$BASE/cache/swr?etag=1&cc=max-age%3D0%2C%20stale-while-revalidate%3D3600"
  check "stale-while-revalidate: revalidated in the background before exit" "$(hits swr)" 2
  check "stale-while-revalidate: the next one gets what it fetched" \
    "$(echo "$u" | F --cache "$DB" | jq .body.version)" 1
}

test_vary() {
  local u="$BASE/cache/vary?cc=max-age%3D3600&vary=X-Lang"
  echo "$u" | F --cache "$DB" -H 'X-Lang: en' > /dev/null
  check "Vary: another X-Lang is another entry (miss)" \
    "$(echo "$u" | F --cache "$DB" -H 'X-Lang: fr' | jq -r '[.cache,.body.vary]|join(" ")')" "miss fr"
  check "Vary: each X-Lang gets its own (hit)" \
    "$(echo "$u" | F --cache "$DB" -H 'X-Lang: en' | jq -r '[.cache,.body.vary]|join(" ")')" "hit en"
  check "Vary: without the header, its own entry too" \
    "$(echo "$u" | F --cache "$DB" | cache_of)" miss
  check "Vary: 3 requests reached the origin" "$(hits vary)" 3
  u="$BASE/cache/vstar?cc=max-age%3D3600&vary=*"
  check "Vary: * is never stored" "$(second "$u")" miss
}

test_credentials() {
  local u="$BASE/cache/auth?cc=max-age%3D3600"
  echo "$u" | F --cache "$DB" -H 'Authorization: Bearer token-AAA-1234' > /dev/null
  check "another credential never gets the response (miss)" \
    "$(echo "$u" | F --cache "$DB" -H 'Authorization: Bearer token-BBB-5678' | cache_of)" miss
  check "the same credential: hit" \
    "$(echo "$u" | F --cache "$DB" -H 'Authorization: Bearer token-AAA-1234' | cache_of)" hit
  check "no credential: its own entry" "$(echo "$u" | F --cache "$DB" | cache_of)" miss
  echo "$u" | F --cache "$DB" -H 'X-Api-Key: key-CCC-9012' > /dev/null
  check "a secret header (X-Api-Key) keys the entry too" \
    "$(echo "$u" | F --cache "$DB" -H 'X-Api-Key: key-DDD-3456' | cache_of)" miss
  echo "$u" | F --cache "$DB" -H 'Cookie: sid=cookie-EEE-7890' > /dev/null
  check "a cookie keys the entry too" \
    "$(echo "$u" | F --cache "$DB" -H 'Cookie: sid=cookie-FFF-1111' | cache_of)" miss
  F --cache "$DB" --cache-max 1G < /dev/null # a flush, the WAL checkpointed or not
  check "nothing secret in the file: tokens, cookies, Set-Cookie, URLs" \
    "$(cat "$DB" "$DB-wal" 2> /dev/null | grep -acE 'token-AAA|token-BBB|key-CCC|key-DDD|cookie-EEE|cookie-FFF|mock-secret|/cache/auth')" 0
  check "credentials: all but the same credential's hit reached the origin" "$(hits auth)" 7
  u="$BASE/cache/jar?cc=max-age%3D3600"
  echo "$u" | F --cache "$DB" --cookies > /dev/null
  check "--cookies (libcurl's jar): the cache is bypassed" \
    "$(echo "$u" | F --cache "$DB" -b 'sid=jar-GGG' | cache_of) $(hits jar)" "bypass 2"
}

test_bypass_offline_refresh_ttl() {
  local u="$BASE/cache/opts?etag=1&cc=max-age%3D3600"
  echo "$u" | F --cache "$DB" > /dev/null
  check "POST: bypass" "$(echo "$u" | F --cache "$DB" -X POST | cache_of)" bypass
  check "a Range request: bypass" "$(echo "$u" | F --cache "$DB" -H 'Range: bytes=0-3' | cache_of)" bypass
  check "--refresh: revalidated though fresh" "$(echo "$u" | F --cache "$DB" --refresh | cache_of)" revalidated
  check "--offline: a hit" "$(echo "$u" | F --cache "$DB" --offline | cache_of)" hit
  check "origin: 1 + POST + Range + refresh" "$(hits opts)" 4
  local out
  out=$(echo "$BASE/cache/never-seen" | F --cache "$DB" --offline)
  check "--offline miss: exit 1" "$?" 1
  check "--offline miss: connect error, detail cache_miss, nothing sent" \
    "$(jq -r '[.cache,.error.kind,.error.detail,.attempts]|join(" ")' <<<"$out")" "miss connect cache_miss 0"
  check "--offline: never reaches the origin" "$(hits never-seen)" 0
  out=$(echo "$u" | F --cache "$DB" --offline -X POST)
  check "--offline: a POST is not sent either (bypass, cache_miss)" \
    "$(jq -r '[.cache,.error.detail,.attempts]|join(" ")' <<<"$out") $(hits opts)" "bypass cache_miss 0 4"
  u="$BASE/cache/stale-offline?etag=1&cc=max-age%3D0"
  echo "$u" | F --cache "$DB" > /dev/null
  check "--offline: a stale entry is served, marked stale" \
    "$(echo "$u" | F --cache "$DB" --offline | cache_of)" stale
  u="$BASE/cache/ttl"
  check "no freshness, no validator: not stored" "$(second "$u")" miss
  echo "$u" | F --cache "$DB" --cache-ttl 1h > /dev/null
  check "--cache-ttl 1h: fresh whatever the server said" "$(echo "$u" | F --cache "$DB" | cache_of)" hit
  check "ttl: 3 reached the origin" "$(hits ttl)" 3
  echo x | "$FLURRY" --offline > /dev/null 2> "$WORK/err"
  check "--offline without --cache: exit 2" "$?" 2
  check "--offline without --cache: says so" "$(grep -c 'go with --cache' "$WORK/err")" 1
}

test_sizes() {
  local db="$WORK/lru.db"
  for i in $(seq 1 10); do echo "$BASE/cache/lru$i?cc=max-age%3D3600&pad=10000"; done > "$WORK/lru"
  F --cache "$db" --cache-max 35k -c 1 < "$WORK/lru" > /dev/null
  check "--cache-max 35k: the entries fit in it" \
    "$(sqlite3 "$db" 'select sum(size) <= 35840 and count(*) between 2 and 3 from entries')" 1
  check "--cache-max: the least recently used went (the first ones)" \
    "$(F --cache "$db" --offline -c 1 < "$WORK/lru" | jq -r .cache | tr '\n' ' ')" \
    "miss miss miss miss miss miss miss hit hit hit "
  local u="$BASE/cache/big?cc=max-age%3D3600&pad=5000"
  echo "$u" | F --cache "$DB" --max-size 2k > /dev/null
  echo "$u" | F --cache "$DB" --max-size 2k > /dev/null
  check "over --max-size: never stored" "$(hits big)" 2
  echo "$u" | F --cache "$DB" > /dev/null
  check "a stored response over this run's --max-size is not served" \
    "$(echo "$u" | F --cache "$DB" --max-size 2k | jq -r '[.cache,.error.kind]|join(" ")')" "miss too_large"
}

test_foreign_files() {
  head -c 5000 /dev/urandom > "$WORK/junk.db"
  local sum; sum=$(md5sum < "$WORK/junk.db")
  echo "$BASE/json" | "$FLURRY" --cache "$WORK/junk.db" > /dev/null 2> "$WORK/err"
  check "a file that is not SQLite: exit 2" "$?" 2
  check "a file that is not SQLite: says so" "$(grep -c 'not a flurry cache' "$WORK/err")" 1
  check "a file that is not SQLite: untouched" "$(md5sum < "$WORK/junk.db")" "$sum"
  sqlite3 "$WORK/other.db" 'create table t(x); insert into t values (1)'
  sum=$(md5sum < "$WORK/other.db")
  echo "$BASE/json" | "$FLURRY" --cache "$WORK/other.db" > /dev/null 2> "$WORK/err"
  check "another program's SQLite database: exit 2" "$?" 2
  check "another program's database: untouched, no WAL" \
    "$(md5sum < "$WORK/other.db") $(ls "$WORK/other.db-wal" 2> /dev/null | wc -l)" "$sum 0"
  cp "$DB" "$WORK/corrupt.db"
  printf 'garbage!garbage!garbage!' | dd of="$WORK/corrupt.db" bs=1 seek=16 conv=notrunc 2> /dev/null
  echo "$BASE/json" | "$FLURRY" --cache "$WORK/corrupt.db" > /dev/null 2> "$WORK/err"
  check "a corrupt header: exit 2" "$?" 2
  sqlite3 "$WORK/v2.db" 'pragma application_id=1718383225; pragma user_version=2; create table entries(x)'
  echo "$BASE/json" | "$FLURRY" --cache "$WORK/v2.db" > /dev/null 2> "$WORK/err"
  check "a cache of another version: exit 2, named" "$?/$(grep -c 'version 2' "$WORK/err")" "2/1"
  echo "$BASE/json" | "$FLURRY" --cache "$WORK/no/such/dir.db" > /dev/null 2> "$WORK/err"
  check "a path that cannot be created: exit 2" "$?" 2
}

# Four processes on one file at once: no error, every entry whole.
test_four_processes() {
  local db="$WORK/shared.db" pids=() rc=0
  for i in $(seq 1 300); do echo "$BASE/cache/sh$((i % 150))?etag=1&cc=max-age%3D3600&pad=$((i % 150 * 10))"; done > "$WORK/shared"
  for p in 1 2 3 4; do
    "$FLURRY" -q --cache "$db" -c 20 < "$WORK/shared" > "$WORK/shared.$p" 2> "$WORK/shared.err$p" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  check "4 processes at once on one cache: all exit 0" "$rc" 0
  check "4 processes: no error record, no message" \
    "$(cat "$WORK"/shared.[1-4] | jq -s 'map(select(has("error")))|length')/$(cat "$WORK"/shared.err* | wc -c)" "0/0"
  check "4 processes: the file is sound" "$(sqlite3 "$db" 'pragma integrity_check')" ok
  check "4 processes: every answer whole, from the cache afterwards" \
    "$(F --cache "$db" --offline < "$WORK/shared" | jq -s 'map(select(.cache=="hit" and (.body.pad // "" | length) == (.url | capture("pad=(?<p>[0-9]+)").p | tonumber)))|length')" 300
}

# kill -9 at several points of a run that writes: the file opens, is sound,
# and holds only whole entries (each one's body is its own).
test_kill_while_writing() {
  local db="$WORK/kill.db" n=3000 bad=0 sound=0 served=0 kills=0
  for i in $(seq 1 $n); do echo "$BASE/cache/k$i?etag=1&cc=max-age%3D3600&pad=$((i % 97 * 40))"; done > "$WORK/kill"
  for at in 150 900 2000; do
    "$FLURRY" -q --cache "$db" -c 50 --rate 3000/s < "$WORK/kill" > "$WORK/kill.out" &
    local pid=$!
    for _ in $(seq 1 600); do
      [ "$(wc -l < "$WORK/kill.out")" -ge "$at" ] && break
      kill -0 "$pid" 2> /dev/null || break
      sleep 0.02
    done
    kill -9 "$pid" 2> /dev/null && kills=$((kills + 1))
    wait "$pid" 2> /dev/null
    [ "$(sqlite3 "$db" 'pragma integrity_check')" = ok ] && sound=$((sound + 1))
    F --cache "$db" --offline -c 50 < "$WORK/kill" > "$WORK/kill.off"
    bad=$((bad + $(jq -s 'map(select(
        (.cache=="hit" and ((.body.pad | length) != (.url | capture("pad=(?<p>[0-9]+)").p | tonumber)
                            or ("k" + (.url | capture("/k(?<k>[0-9]+)").k)) != .body.key))
        or (.cache!="hit" and .error.detail!="cache_miss")))|length' "$WORK/kill.off")))
    served=$(jq -s 'map(select(.cache=="hit"))|length' "$WORK/kill.off")
  done
  check "kill -9 x3 while writing: killed each time" "$kills" 3
  check "kill -9: the file opens and is sound each time" "$sound" 3
  check "kill -9: every entry served is whole and its own; the rest are misses" "$bad" 0
  check "kill -9: what was committed before is there" "$([ "$served" -ge 150 ] && echo yes)" yes
}

run_test test_miss_then_hit
run_test test_collapsing
run_test test_no_store_no_cache
run_test test_validators
run_test test_expires_age_heuristic
run_test test_stale_rules
run_test test_vary
run_test test_credentials
run_test test_bypass_offline_refresh_ttl
run_test test_sizes
run_test test_foreign_files
run_test test_four_processes
run_test test_kill_while_writing
finish
