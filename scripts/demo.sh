#!/usr/bin/env bash
# make demo: starts `flurry mock` on loopback and shows flurry's main job:
# many concurrent calls (against one at a time), retries, rate limiting,
# pages and follow-ups, streams.
set -euo pipefail
FLURRY=${1:-build/flurry}
work=$(mktemp -d)
mock_pid=""
cleanup() {
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$FLURRY" mock --port 0 --port-file "$work/port" >/dev/null &
mock_pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")
base="http://127.0.0.1:$port"
bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
timed() { # timed OUTFILE ARGS... : runs flurry quietly, prints wall seconds
  local out=$1; shift
  local t0 t1; t0=$(date +%s%N)
  "$FLURRY" -q -o "$out" "$@" || true
  t1=$(date +%s%N)
  secs "$t0" "$t1"
}
count() { jq -s "map(select($2)) | length" "$1"; }

bold "flurry mock is listening on $base"

bold "1. 50 calls to /delay/200 (each takes 200 ms)"
t_seq=$(seq 1 50 | timed "$work/seq.jsonl" -c 1 "$base/delay/200?n={}")
echo "   one at a time   (-c 1):  ${t_seq} s   ($(count "$work/seq.jsonl" '.status == 200') ok)"
t_par=$(seq 1 50 | timed "$work/par.jsonl" -c 50 "$base/delay/200?n={}")
echo "   all at once     (-c 50): ${t_par} s   ($(count "$work/par.jsonl" '.status == 200') ok)"
awk -v a="$t_seq" -v b="$t_par" 'BEGIN { printf "   speedup: %.0fx\n", a / b }'

bold "2. 2,000 calls to /delay/200 at -c 200 (ideal: 10 waves x 0.2 s = 2.0 s)"
t_2k=$(seq 1 2000 | timed "$work/2k.jsonl" -c 200 "$base/delay/200?n={}")
echo "   ${t_2k} s, $(count "$work/2k.jsonl" '.status == 200') of 2000 ok; done one at a time it would take ~400 s"
echo "   a record:"
head -n 1 "$work/2k.jsonl" | sed 's/^/   /'

bold "3. Retries: /flaky fails the first 2 calls for each key with 503"
seq 1 20 | "$FLURRY" -q -o "$work/flaky0.jsonl" "$base/flaky?key=a{}&fail=2" || true
echo "   without retries:      $(count "$work/flaky0.jsonl" '.status == 200') of 20 ok"
seq 1 20 | "$FLURRY" -q -o "$work/flaky.jsonl" --retries 3 --retry-base 50ms \
  "$base/flaky?key=b{}&fail=2" || true
echo "   with --retries 3:     $(count "$work/flaky.jsonl" '.status == 200') of 20 ok," \
  "attempts per request: $(jq -s 'map(.attempts) | unique | map(tostring) | join(",")' -r "$work/flaky.jsonl")"
echo "   (exponential backoff with full jitter; Retry-After is honoured)"

bold "4. Rate limiting: /limited allows 20 requests/s per client, then answers 429"
t_rate=$(seq 1 60 | timed "$work/rated.jsonl" -c 50 --rate 20/s "$base/limited?rate=20&n={}")
echo "   --rate 20/s:         $(count "$work/rated.jsonl" '.status == 429') of 60 rejected, in ${t_rate} s (ideal ~3 s)"
seq 1 60 | "$FLURRY" -q -o "$work/burst.jsonl" -c 50 "$base/limited?rate=20&n={}" || true
echo "   no limit (-c 50):    $(count "$work/burst.jsonl" '.status == 429') of 60 rejected with 429"
t_auto=$(seq 1 100 | timed "$work/auto.jsonl" -c 50 --rate auto --retries 5 --attempts \
  "$base/limited?rate=20&key=auto&n={}")
echo "   --rate auto:         all $(count "$work/auto.jsonl" '.status == 200') of 100 ok in ${t_auto} s," \
  "$(jq -s 'map(.attempt_log[] | select(.status == 429)) | length' "$work/auto.jsonl") 429s on the way" \
  "(it learns the server's 20/s from its RateLimit headers)"

bold "5. The summary flurry prints on stderr (20 mixed calls)"
{ for i in $(seq 1 16); do echo "$base/users/$i"; done
  echo "$base/status/404"; echo "$base/status/500"; echo "http://127.0.0.1:1/refused"; echo "not a url"
} | "$FLURRY" -c 20 -o /dev/null || true

bold "6. Pages and follow-ups: 1,000 items in 20 pages of 50, each page taking 50 ms"
t_chain=$(timed "$work/chain.jsonl" --paginate '.next' --items '.items[]' \
  "$base/items/cursor?limit=50&delay_ms=50")
echo "   next URL in the body (one page after the other): ${t_chain} s, $(wc -l < "$work/chain.jsonl") items"
t_fan=$(timed "$work/fan.jsonl" --paginate link --items '.[]' "$base/items?per_page=50&delay_ms=50")
echo "   Link rel=\"last\" (pages 2..20 known, fetched at once): ${t_fan} s," \
  "$(jq -s 'map(.item.id) | unique | length' "$work/fan.jsonl") distinct items"
t_users=$(seq 1 500 | timed "$work/users.jsonl" -c 100 --paginate '.next' --items '.items[]' \
  "$base/items/cursor?limit=10&total=50&delay_ms=20&user={}")
echo "   500 users x 5 pages of 20 ms, chains at once (-c 100): ${t_users} s for" \
  "$(wc -l < "$work/users.jsonl") items (one at a time: ~50 s)"
"$FLURRY" -q -o "$work/tree.jsonl" --stats-json "$work/tree.json" "$base/users?per_page=200&total=200" \
  --each '.[].id' "$base/users/{}/posts" --each '.[].id' "$base/posts/{}/comments" || true
echo "   200 users -> their posts -> each post's comments: $(jq .requests "$work/tree.json") requests," \
  "$(jq .deduplicated "$work/tree.json") duplicate follow-ups skipped; a record's provenance:"
head -n 1 "$work/tree.jsonl" | jq -c '{url, parent, path}' | sed 's/^/   /'
seq 1 3 | "$FLURRY" -q -o "$work/join.jsonl" --join profile="$base/users/{}" \
  --join posts="$base/users/{}/posts" --join comments="$base/users/{}/comments" \
  --reduce '{id: .profile.id, name: .profile.name, posts: (.posts|length), comments: (.comments|length)}' || true
echo "   --join three calls per user, one record each:"
jq -c .body "$work/join.jsonl" | sed 's/^/   /'

bold "7. Streams: records as they come, nothing of the body kept"
echo "$base/sse?n=6&cut_every=2&retry=50" | "$FLURRY" -q --stream sse -o "$work/sse.jsonl" || true
echo "   SSE cut midway through every 3rd event, resumed with Last-Event-ID:" \
  "event ids $(jq -sr 'map(select(has("seq")) | .event_id) | join(" ")' "$work/sse.jsonl");" \
  "$(jq -c 'select(has("stream")) | .stream' "$work/sse.jsonl")"
t_sub=$(seq 1 500 | timed "$work/subs.jsonl" --stream sse -c 500 "$base/sse?n=5&interval_ms=100&retry=50&sub={}")
echo "   500 SSE subscriptions at once, 5 events 100 ms apart each: ${t_sub} s," \
  "$(count "$work/subs.jsonl" 'has("seq")') events"
t_nd=$(echo "$base/ndjson?n=100000&pad=1000" | timed /dev/null --stream ndjson)
echo "   a 100 MB NDJSON stream, one record per JSON value: ${t_nd} s (RSS stays flat)"

echo
echo "Try it yourself:  $FLURRY mock --port 8080 &   then   seq 1 1000 | $FLURRY -c 100 'http://127.0.0.1:8080/users/{}'"
