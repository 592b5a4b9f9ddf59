#!/usr/bin/env bash
# Pagination, fan-out and --join against flurry mock: every paginator gets
# every item of a 1,000-item collection exactly once with the right number
# of requests; known pages go out at once; a cycle stops; a next link to
# another origin gets no credentials; fan-outs and joins equal the mock's
# ground truth; bad jq stops the run before anything is sent.
source "$(dirname "$0")/lib.sh"
start_mock
# Sanitizer reports (the test build) land in all.err, checked at the end.
F() { "$FLURRY" -q "$@" 2>> "$WORK/all.err"; }
# The other origin: the same mock under another host name.
OTHER="http://localhost:${BASE##*:}"

# stats: what /items saw since the last call (then reset).
stats() { curl -s "$BASE/items/stats?reset=1"; }
ids_once() { jq -s -c '[.[].item.id] | sort == [range(1;1001)]' "$1"; }

test_every_paginator_exactly_once() {
  stats > /dev/null
  # total known (rel="last", X-Total-Count, --total): 20 pages; else the
  # empty page after the last tells the end: 21.
  local -a names=(link next cursor page offset offset_total)
  local -a kinds=(items cursor cursor items offset offset)
  local -a want=(20 20 20 20 21 20)
  local -a cmds=(
    "--paginate link --items .[] $BASE/items?per_page=50"
    "--paginate .next --items .items[] $BASE/items/cursor?limit=50"
    "--paginate cursor=.meta.next_cursor --items .items[] $BASE/items/cursor?cursor={cursor}&limit=50"
    "--paginate page=1.. --items .[] $BASE/items?page={page}&per_page=50"
    "--paginate offset=0..+50 --items .items[] $BASE/items/offset?offset={offset}&limit=50"
    "--paginate offset=0..+50 --total .total --items .items[] $BASE/items/offset?offset={offset}&limit=50")
  for i in "${!names[@]}"; do
    # shellcheck disable=SC2086
    F ${cmds[$i]} > "$WORK/p_${names[$i]}.jsonl"
    check "${names[$i]}: every item exactly once" "$(ids_once "$WORK/p_${names[$i]}.jsonl")" true
    check "${names[$i]}: requests" "$(stats | jq ".requests.${kinds[$i]}")" "${want[$i]}"
  done
  check "item records carry page, index and their page's request" \
    "$(jq -s -c 'map(select(.item.id == 123))[0] | [.page, .index, (.request | test("^[0-9a-f]{16}$"))]' "$WORK/p_link.jsonl")" \
    "[3,22,true]"
  check "items of a page share its request key" \
    "$(jq -s -c 'group_by(.page) | map(map(.request) | unique | length) | unique' "$WORK/p_link.jsonl")" "[1]"
}

test_stop_when() {
  stats > /dev/null
  # 990 items in pages of 50: page 20 has 40; without --stop-when the empty
  # page 21 tells the end
  F --paginate 'offset=0..+50' --items '.items[]' "$BASE/items/offset?offset={offset}&limit=50&total=990" \
    > "$WORK/sw0.jsonl"
  check "offsets: the empty page after the last (21 requests)" "$(stats | jq .requests.offset)" 21
  F --paginate 'offset=0..+50' --stop-when '.items | length < 50' --items '.items[]' \
    "$BASE/items/offset?offset={offset}&limit=50&total=990" > "$WORK/sw.jsonl"
  check "--stop-when: the short page is the last (20 requests)" "$(stats | jq .requests.offset)" 20
  check "--stop-when: every item once" \
    "$(jq -s -c '[.[].item.id] | sort == [range(1;991)]' "$WORK/sw.jsonl")" true
  F --paginate 'page=1..' --stop-when '.[0].id > 100' --items '.[]' \
    "$BASE/users?page={page}&per_page=25&total=1000" > "$WORK/sw2.jsonl"
  check "--stop-when on page numbers: pages 1..5 (the one where it is true included)" \
    "$(jq -s -c '[.[].page] | unique' "$WORK/sw2.jsonl")" "[1,2,3,4,5]"
}

test_known_pages_go_out_at_once() {
  stats > /dev/null
  # each page waits 1 s at the mock: the 19 pages rel=last makes known all
  # meet there at once (counted by the mock, not timed here)
  F --paginate link --items '.[]' "$BASE/items?per_page=50&delay_ms=1000" > "$WORK/fan.jsonl"
  check "rel=last: every item once" "$(ids_once "$WORK/fan.jsonl")" true
  local s; s=$(stats)
  check "rel=last: 2 waves: page 1, then pages 2..20 in flight together" \
    "$(jq -c '[.requests.items, .in_flight_max]' <<<"$s")" '[20,19]'
  F --paginate 'page=1..' --items '.[]' "$BASE/items?page={page}&per_page=50&delay_ms=500" \
    > "$WORK/fan2.jsonl"
  check "X-Total-Count: in flight together" "$(stats | jq '.in_flight_max > 1')" true
  F --paginate '.next' --items '.items[]' "$BASE/items/cursor?limit=100&delay_ms=20" \
    > "$WORK/seq.jsonl"
  check "a cursor chain is sequential (at most 1 in flight)" "$(stats | jq '.in_flight_max')" 1
  check "a cursor chain: every item once" "$(ids_once "$WORK/seq.jsonl")" true
}

test_many_chains_at_once() {
  stats > /dev/null
  local t0 t1
  t0=$(date +%s%N)
  seq 1 100 | F -c 100 --paginate '.next' --items '.items[]' \
    "$BASE/items/cursor?limit=10&total=50&delay_ms=500&u={}" > "$WORK/chains.jsonl"
  t1=$(date +%s%N)
  check "100 chains x 5 pages: 5,000 items" "$(wc -l < "$WORK/chains.jsonl")" 5000
  check "100 chains x 5 pages: each chain's items once" \
    "$(jq -s -c 'group_by(.id) | map([.[].item.id] | sort == [range(1;51)]) | all and length == 100' \
      "$WORK/chains.jsonl")" true
  check "chains run at once (the mock saw > 50 in flight)" "$(stats | jq '.in_flight_max > 50')" true
  # one page at a time would take 250 s at the least (500 x 500 ms); 20 s is
  # 8 times the 2.5 s the chains take side by side
  check "5 sequential pages of 500 ms each, not 500 (< 20 s; one at a time: >= 250 s)" "$(( (t1 - t0) / 1000000 < 20000 ))" 1
  check "a chain's pages in order" \
    "$(jq -s -c 'group_by(.id) | map(map(.page) | . == sort) | all' "$WORK/chains.jsonl")" true
}

test_cycle_stops() {
  stats > /dev/null
  F --paginate link --items '.[]' "$BASE/items/loop?page=1" > "$WORK/loop.jsonl"
  check "cycle: exit 1" "$?" 1
  check "cycle: a typed error" \
    "$(jq -s -c 'map(select(.error)) | map([.error.kind, .error.detail, .page])' "$WORK/loop.jsonl")" \
    '[["protocol","pagination_cycle",3]]'
  check "cycle: 3 pages fetched, items once" \
    "$(jq -s -c '[.[] | select(.item) | .item.id] | sort == [range(1;31)]' "$WORK/loop.jsonl")" true
  check "cycle: 3 requests" "$(stats | jq .requests.loop)" 3
}

test_max_pages() {
  stats > /dev/null
  F --paginate link --max-pages 3 --items '.[]' --stats-json "$WORK/mp.json" \
    "$BASE/items?per_page=50" > "$WORK/mp.jsonl"
  check "--max-pages 3: 150 items" "$(jq -s -c '[.[].item.id] | sort == [range(1;151)]' "$WORK/mp.jsonl")" true
  check "--max-pages 3: 3 requests" "$(stats | jq .requests.items)" 3
  check "--max-pages 3: counted" "$(jq .max_pages_stops "$WORK/mp.json")" 1
  F --paginate '.next' --max-pages 2 --items '.items[]' "$BASE/items/cursor?limit=50" > "$WORK/mp2.jsonl"
  check "--max-pages 2 (sequential): 100 items" "$(wc -l < "$WORK/mp2.jsonl")" 100
}

test_cross_origin_next_link_drops_credentials() {
  F -H 'Authorization: Bearer T' -H 'X-Api-Key: K' -H 'Accept: application/json' \
    --paginate link "$BASE/items/link?next=$OTHER/items/link" > "$WORK/xo.jsonl"
  check "same origin: Authorization sent" "$(jq -s -r '.[0].body.authorization' "$WORK/xo.jsonl")" "Bearer T"
  check "same origin: X-Api-Key sent" \
    "$(jq -s -c '.[0].body.header_names' "$WORK/xo.jsonl")" '["Authorization","X-Api-Key","Accept"]'
  check "other origin: page 2 fetched" "$(jq -s -r '.[1].url' "$WORK/xo.jsonl")" "$OTHER/items/link"
  check "other origin: no Authorization, no X-Api-Key, Accept kept" \
    "$(jq -s -c '.[1].body | [.authorization, .header_names]' "$WORK/xo.jsonl")" '[null,["Accept"]]'
  F -H 'Authorization: Bearer T' --paginate link "$BASE/items/link?next=/items/link" > "$WORK/so.jsonl"
  check "a same-origin next link keeps Authorization" \
    "$(jq -s -r '.[1].body.authorization' "$WORK/so.jsonl")" "Bearer T"
  # a JSON line's own headers: the same rule
  echo "{\"url\":\"$BASE/items/link?next=$OTHER/items/link\",\"headers\":{\"Authorization\":\"Bearer L\",\"X-Trace\":\"t\"}}" \
    | F --paginate link > "$WORK/xl.jsonl"
  check "a JSON line's Authorization: its origin only, its other headers everywhere" \
    "$(jq -s -c 'map(.body | [.authorization, .header_names])' "$WORK/xl.jsonl")" \
    '[["Bearer L",["Authorization","Accept","X-Trace"]],[null,["Accept","X-Trace"]]]'
  # follow-up URLs taken from a body ('{}'): the same rule
  echo "{\"url\":\"$BASE/echo\",\"json\":{\"links\":[\"$OTHER/items/link\",\"$BASE/items/link\"]}}" \
    | F -H 'Authorization: Bearer T' --each '.body.links[]' '{}' > "$WORK/fx.jsonl"
  check "follow-ups from the body: Authorization only to the input's origin" \
    "$(jq -s -c 'sort_by(.url) | map([(.url | startswith("'"$BASE"'")), .body.authorization])' "$WORK/fx.jsonl")" \
    '[[true,"Bearer T"],[false,null]]'
  echo 7 | F -H 'Authorization: Bearer T' "$BASE/users/{}" --each '.id' "$OTHER/items/link?u={}" \
    > "$WORK/fl.jsonl"
  check "a follow-up template naming its origin: Authorization sent" \
    "$(jq -r '.body.authorization' "$WORK/fl.jsonl")" "Bearer T"
}

# user u has posts u .. u + u%3; post p has 1 + p%3 comments.
test_fan_out_depth_2_with_dedup() {
  F "$BASE/users?per_page=200&total=200" --each '.[].id' "$BASE/users/{}/posts" \
    --stats-json "$WORK/f1.json" > "$WORK/f1.jsonl"
  for u in $(seq 1 200); do curl -s "$BASE/users/$u/posts"; echo; done \
    | jq -s -c 'to_entries | map({key: (.key + 1 | tostring), value: .value}) | from_entries' \
    > "$WORK/truth1"
  check "200 users x posts: equals the mock's answers" \
    "$(jq -s -c 'map({key: (.path[0].value | tostring), value: .body}) | from_entries' "$WORK/f1.jsonl" \
      | jq -c --slurpfile t "$WORK/truth1" '. == $t[0]')" true
  F "$BASE/users?per_page=200&total=200" --each '.[].id' "$BASE/users/{}/posts" \
    --each '.[].id' "$BASE/posts/{}/comments" --stats-json "$WORK/f2.json" > "$WORK/f2.jsonl"
  check "depth 2: each post's comments fetched once (posts 1..202)" \
    "$(jq -s -c '[.[].path[1].value] | sort == [range(1;203)]' "$WORK/f2.jsonl")" true
  check "depth 2: bodies right (1 + p%3 comments of post p)" \
    "$(jq -s -c 'map((.body | length) == 1 + (.path[1].value % 3) and (.body[0].post_id == .path[1].value)) | all' "$WORK/f2.jsonl")" true
  check "depth 2: duplicates skipped (401 follow-ups - 202)" \
    "$(jq .deduplicated "$WORK/f2.json")" 199
  check "depth 2: 1 + 200 + 202 requests" "$(jq .requests "$WORK/f2.json")" 403
  check "provenance: parent key, path of expressions, root id" \
    "$(jq -s -c '.[0] | [(.parent | test("^[0-9a-f]{16}$")), (.path | map(.each)), .id]' "$WORK/f2.jsonl")" \
    '[true,[".[].id",".[].id"],1]'
  local p; p=$(jq -s -r 'map(select(.path[1].value == 5))[0] | .path[0].value' "$WORK/f2.jsonl")
  check "provenance: post 5 came from a user who has it" "$(( p <= 5 && p + p % 3 >= 5 ))" 1
  F --dedup-limit 0 "$BASE/users?per_page=20&total=20" --each '.[].id' "$BASE/users/{}/posts" \
    --each '.[].id' "$BASE/posts/{}/comments" > "$WORK/nodedup.jsonl"
  check "--dedup-limit 0: every follow-up made (sum of 1 + u%3 for 20 users)" \
    "$(wc -l < "$WORK/nodedup.jsonl")" 41
  # values 2,3,4,1,2,3,4,1,...: with room for 2 keys, 2 and 3 are made once,
  # 4 and 1 every time (the limit is said once)
  "$FLURRY" -q --dedup-limit 2 --stats-json "$WORK/dl.json" "$BASE/users?per_page=20&total=20" \
    --each '.[].id % 4 + 1' "$BASE/users/{}" > "$WORK/dl.jsonl" 2> "$WORK/dl.err"
  check "--dedup-limit 2: past it, follow-ups are made again, and it says so" \
    "$(jq -c '[.deduplicated, .requests]' "$WORK/dl.json") $(grep -c 'dedup-limit 2 reached' "$WORK/dl.err")" \
    "[8,13] 1"
}

test_paginated_fan_out() {
  F --paginate link --items '.[]' "$BASE/users?per_page=30&total=100" \
    --each '.id' "$BASE/users/{}/comments" > "$WORK/pf.jsonl"
  check "paginated users -> comments: 100 records" "$(wc -l < "$WORK/pf.jsonl")" 100
  check "paginated users -> comments: u%4 each" \
    "$(jq -s -c 'map((.body | length) == (.path[0].value % 4)) | all' "$WORK/pf.jsonl")" true
  F "$BASE/users?per_page=3&total=3" --each '.[].id' --paginate 'page=1..' --items '.[]' \
    "$BASE/items?page={page}&per_page=1&total={}" > "$WORK/each_pages.jsonl"
  check "each user's paginated list: 1 + 2 + 3 items, with provenance" \
    "$(jq -s -c 'group_by(.path[0].value) | map([.[0].path[0].value, length, (map(.page) | max)])' "$WORK/each_pages.jsonl")" \
    '[[1,1,1],[2,2,2],[3,3,3]]'
}

test_join() {
  seq 1 50 | F --join profile="$BASE/users/{}" --join posts="$BASE/users/{}/posts" \
    --join comments="$BASE/users/{}/comments" \
    --reduce '{id: .profile.id, name: .profile.name, post_count: (.posts|length), comment_count: (.comments|length)}' \
    > "$WORK/join.jsonl"
  check "join: one record per line" "$(wc -l < "$WORK/join.jsonl")" 50
  check "join: matches the ground truth" \
    "$(jq -s -c 'map(.body | .post_count == 1 + .id % 3 and .comment_count == .id % 4 and .name == "User \(.id)") | all' "$WORK/join.jsonl")" true
  check "join: each part's status" \
    "$(jq -s -c '.[0].parts | map_values(.status)' "$WORK/join.jsonl")" '{"profile":200,"posts":200,"comments":200}'
  seq 1 4 | F --join profile="$BASE/users/{}" --join broken="$BASE/status/500?u={}" > "$WORK/join2.jsonl"
  check "join with a failing part: exit 1" "$?" 1
  check "join with a failing part: named, the rest kept" \
    "$(jq -s -c '.[0] | [.error.detail, (.error.message | test("part .broken.")), .parts.broken.status, .body.profile.id, (.body | has("broken"))]' "$WORK/join2.jsonl")" \
    '["join_part",true,500,1,false]'
  echo '{"u":1}' | F --join p="$BASE/users/{.x}" > "$WORK/join3.jsonl"
  check "join: a missing field names the part" \
    "$(jq -r '.parts.p.error.message' "$WORK/join3.jsonl")" "line 1: field .x is missing or null"
}

test_bad_jq_exits_2_before_any_request() {
  echo "an earlier run" > "$WORK/keep.jsonl"
  local url="$BASE/flaky?key=jq&fail=1" args
  for args in "--items|.[|$url" "--paginate|.next[|--items|.[]|$url" \
              "--paginate|cursor=.a[|$url" "--stop-when|)|--paginate|link|$url" \
              "$url|--each|.[.id|$url&v={}" "$url|--each|.[]|--items|{|$url&v={}"; do
    local -a argv
    IFS='|' read -r -a argv <<<"$args"
    echo 1 | "$FLURRY" -q -o "$WORK/keep.jsonl" "${argv[@]}" 2> "$WORK/jq.err"
    check "bad jq (${argv[*]:0:3}): exit 2" "$?" 2
    check "bad jq (${argv[*]:0:3}): names option and expression" \
      "$(grep -cE "^flurry: --[a-z-]+ '[^']+': not a valid jq expression: " "$WORK/jq.err")" 1
  done
  seq 1 3 | "$FLURRY" -q --join "a=$url" --reduce '{' 2> /dev/null
  check "bad --reduce: exit 2" "$?" 2
  check "nothing was sent: /flaky?key=jq still fails its first request" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$url")" 503
  check "nothing was written: -o untouched" "$(cat "$WORK/keep.jsonl")" "an earlier run"
}

test_jq_runtime_error_names_expression_and_input() {
  F --items '.[] | .id + "x"' "$BASE/users?per_page=2&total=2" > "$WORK/rt.jsonl"
  check "runtime jq error: exit 1" "$?" 1
  check "runtime jq error: kind and detail" "$(jq -r '[.error.kind, .error.detail] | join(" ")' "$WORK/rt.jsonl")" \
    "invalid_request jq"
  check "runtime jq error: names the expression and the input" \
    "$(jq -r '.error.message | test("^--items [^:]*\\.id \\+ \"x\"[^:]*: number .* cannot be added.*\\(input: \\[\\{\"id\":1")' "$WORK/rt.jsonl")" true
  F "$BASE/users?per_page=2&total=2" --each '.[]' "$BASE/users/{.nope}" > "$WORK/tpl2.jsonl"
  check "a template field missing in a value: detail template, value shown" \
    "$(jq -s -c 'map([.error.detail, (.error.message | test("field .nope is missing or null in the value \\{"))])' "$WORK/tpl2.jsonl")" \
    '[["template",true],["template",true]]'
}

test_retries_and_rates_apply_to_pages() {
  F --retries 10 --retry-base 1ms --retry-budget 0 --stats-json "$WORK/retry.json" \
    --paginate 'page=1..' --items '.[]' "$BASE/items?page={page}&per_page=50&fail=0.3&seed=7" \
    > "$WORK/retry.jsonl"
  check "30% of pages fail at first: every item once after retries" "$(ids_once "$WORK/retry.jsonl")" true
  check "... and pages were retried" "$(jq '.retries > 0' "$WORK/retry.json")" true
  F --retries 10 --retry-base 1ms --retry-budget 0 --stats-json "$WORK/retry2.json" \
    "$BASE/users?per_page=100&total=100" --each '.[].id' "$BASE/users/{}/comments?fail=0.3&seed=3" \
    > "$WORK/retry2.jsonl"
  check "30% of follow-ups fail at first: all 100 right after retries" \
    "$(jq -s -c 'map(select(.status == 200 and (.body | length) == .path[0].value % 4)) | length' "$WORK/retry2.jsonl") $(jq '.retries > 0' "$WORK/retry2.json")" \
    "100 true"
  local t0 t1
  t0=$(date +%s%N)
  F --rate 20/s --paginate '.next' --items '.items[]' "$BASE/items/cursor?limit=100" > /dev/null
  t1=$(date +%s%N)
  check "--rate 20/s over 10 pages: >= 0.4 s" "$(( (t1 - t0) / 1000000 >= 400 ))" 1
}

test_graphql_style_post() {
  echo '{"q":"ada","first":2}' | F --json '{"query":"query($q:String,$n:Int){users(q:$q,first:$n){id}}","variables":{"q":"{.q}","n":{.first}}}' \
    "$BASE/echo" > "$WORK/gql.jsonl"
  check "GraphQL POST: method, content type, body built from the line" \
    "$(jq -c '[.body.method, .body.headers["content-type"], .body.body.variables]' "$WORK/gql.jsonl")" \
    '["POST","application/json",{"q":"ada","n":2}]'
  echo '{"first":2}' | F --json '{"query":"{users}","variables":{"q":"{.q}"}}' "$BASE/echo" > "$WORK/gql2.jsonl"
  check "GraphQL POST: a missing field is a clear error" \
    "$(jq -r '.error.message' "$WORK/gql2.jsonl")" "line 1: field .q is missing or null"
  F -X POST --json '{"after":"{cursor}"}' --paginate 'cursor=.meta.next_cursor' --items '.items[]' \
    "$BASE/items/cursor?cursor={cursor}&limit=100" > "$WORK/postpages.jsonl"
  check "POST pages with a cursor: every item once" "$(ids_once "$WORK/postpages.jsonl")" true
}

test_resume_no_duplicates() {
  local cmd=(--paginate link --items '.[]' "$BASE/items?per_page=100")
  F -o "$WORK/r.jsonl" --resume "${cmd[@]}"
  check "resume: a done marker closes the line" "$(tail -n 1 "$WORK/r.jsonl" | jq -c '[.done, .ok]')" "[true,true]"
  F -o "$WORK/r.jsonl" --resume "${cmd[@]}"
  check "resume: a finished line is not run again" "$(wc -l < "$WORK/r.jsonl")" 1001
  head -n 437 "$WORK/r.jsonl" > "$WORK/r2.jsonl" && cp "$WORK/r.jsonl.resume" "$WORK/r2.jsonl.resume"
  F -o "$WORK/r2.jsonl" --resume "${cmd[@]}"
  check "resume after a crash mid-chain: every item once" \
    "$(jq -s -c '[.[] | select(.item) | .item.id] | sort == [range(1;1001)]' "$WORK/r2.jsonl")" true
  check "resume after a crash mid-chain: one done marker" \
    "$(jq -s 'map(select(.done)) | length' "$WORK/r2.jsonl")" 1
}

test_resume_from_the_last_page() {
  local url="$BASE/items/cursor?limit=50&total=500&delay_ms=60&u={}" run1 run2
  stats > /dev/null
  seq 1 5 | "$FLURRY" -q -c 5 -o "$WORK/rp.jsonl" --resume --paginate .next --items '.items[]' \
    "$url" 2>> "$WORK/all.err" &
  local pid=$!
  # kill once every chain has a page written (not after a fixed sleep: on a
  # loaded machine the first page may take longer than that)
  for _ in $(seq 1 200); do
    [ -s "$WORK/rp.jsonl" ] &&
      [ "$(jq -s '[.[] | select(.item)] | group_by(.id) | length' "$WORK/rp.jsonl" 2> /dev/null)" = 5 ] &&
      break
    sleep 0.05
  done
  kill -9 "$pid" 2> /dev/null
  wait "$pid" 2> /dev/null
  run1=$(stats | jq .requests.cursor)
  seq 1 5 | F -c 5 -o "$WORK/rp.jsonl" --resume --paginate .next --items '.items[]' \
    --stats-json "$WORK/rp.json" "$url"
  run2=$(stats | jq .requests.cursor)
  check "resumed chains: every line's items exactly once" \
    "$(jq -s -c '[.[] | select(.item)] | group_by(.id) | map([.[].item.id] | sort == [range(1;501)]) | [length, all]' "$WORK/rp.jsonl")" \
    "[5,true]"
  check "resumed chains: each line started again from its last page" "$(jq .chains_resumed "$WORK/rp.json")" 5
  # at the kill a chain may have one page in flight and one back whose
  # records were not written yet: both are fetched again
  check "resumed chains: 50 pages, fetched once but for those cut by the kill ($run1 + $run2)" \
    "$(( run1 + run2 <= 60 && run1 > 5 ))" 1
  check "resumed chains: one done marker per line" "$(jq -s 'map(select(.done)) | length' "$WORK/rp.jsonl")" 5
}

test_ordered_and_single_request() {
  seq 1 5 | F -c 5 --ordered --paginate '.next' --items '.items[]' \
    "$BASE/items/cursor?limit=3&total=9&delay_ms={}" > "$WORK/ord.jsonl"
  check "--ordered: lines in input order, whole" \
    "$(jq -s -c '[.[].id] | . == (. | sort) and length == 45' "$WORK/ord.jsonl")" true
  # A template with no placeholder: one request, stdin not read: flurry is
  # done while the writer still holds the pipe open (no EOF yet).
  local hold rc
  mkfifo "$WORK/hold"
  sleep 60 > "$WORK/hold" &
  hold=$!
  timeout 30 "$FLURRY" -q --paginate link --items '.[]' "$BASE/items?per_page=500" < "$WORK/hold" > "$WORK/single.jsonl"
  rc=$?
  check "no placeholder: stdin not read (done, the writer still there)" \
    "$rc $(kill -0 "$hold" 2> /dev/null && echo alive)" "0 alive"
  kill "$hold" 2> /dev/null
  wait "$hold" 2> /dev/null
  check "no placeholder: all items" "$(ids_once "$WORK/single.jsonl")" true
}

for t in $(declare -F | awk '{print $3}' | grep '^test_'); do run_test "$t"; done
check "no sanitizer report, no warning" "$(head -c 300 "$WORK/all.err")" ""
finish
