/* args.c: the flurry command's options. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "Usage: flurry [OPTIONS] [URL-TEMPLATE] < input\n"
    "       flurry mock [--port N]     a local API for tests and demos\n"
    "       flurry listen --port N ... a webhook receiver (flurry listen --help)\n"
    "       flurry ws URL < messages   a WebSocket session as JSON lines (flurry ws --help)\n"
    "\n"
    "Makes many HTTP calls at once and writes one JSON line per request.\n"
    "\n"
    "Examples:\n"
    "  seq 1 1000 | flurry -c 100 'http://127.0.0.1:8080/users/{}' > users.jsonl\n"
    "  flurry -c 50 --timeout 10s < urls.txt            # one URL per line\n"
    "  flurry --input requests.jsonl --ordered -o out.jsonl\n"
    "      # {\"id\":1,\"method\":\"POST\",\"url\":\"...\",\"headers\":{...},\"json\":{...}} per line\n"
    "  echo '{\"user\":\"ada\"}' | flurry 'https://api.example/u/{.user}'\n"
    "  flurry --retries 4 -H 'Authorization: Bearer T' --base-url https://api.example/ < paths.txt\n"
    "  flurry -X POST --json '{\"id\":{}}' http://127.0.0.1:8080/echo < ids.txt\n"
    "  flurry --paginate link --items '.[]' 'http://127.0.0.1:8080/items?per_page=50'\n"
    "  flurry 'http://127.0.0.1:8080/users?total=20' --each '.[].id' \\\n"
    "         'http://127.0.0.1:8080/users/{}/posts'\n"
    "  seq 1 10 | flurry --join user='http://127.0.0.1:8080/users/{}' \\\n"
    "                    --join posts='http://127.0.0.1:8080/users/{}/posts'\n"
    "\n"
    "Input (stdin, or --input FILE), read lazily, one request per line:\n"
    "  without URL-TEMPLATE  a URL, or a JSON request object with fields id, method,\n"
    "                        url, headers (object), query (object), json (any) or\n"
    "                        body (string), timeout (seconds)\n"
    "  with URL-TEMPLATE     a value: {} is the whole line, {.field} a field of a JSON\n"
    "                        object line; substitutions are percent-encoded unless\n"
    "                        the template is only {} or {.field}\n"
    "  blank lines are skipped (and counted); a bad line becomes an error record.\n"
    "\n"
    "Options:\n"
    "  -c, --concurrency N     requests in flight at once (default 64)\n"
    "      --per-host N        connections per host (default: no cap)\n"
    "  -i, --input FILE        read requests from FILE (default stdin)\n"
    "  -o, --output FILE       write results to FILE (default stdout)\n"
    "  -X, --method M          method for URL/template lines (default GET, POST with a body)\n"
    "  -H, --header 'N: V'     add a header (repeatable)\n"
    "      --secret-header NAME  NAME carries credentials (repeatable): like\n"
    "                          Authorization and Cookie (and -H names with auth,\n"
    "                          token, key, secret...), never sent to another origin\n"
    "                          and never written in records or messages\n"
    "  -d, --data TEXT         request body; {} and {.field} are substituted\n"
    "      --json TEXT         JSON body (sets Content-Type); substituted like -d\n"
    "      --base-url URL      resolve relative URLs against URL\n"
    "  -m, --timeout DUR       whole request, per attempt (default 30s)\n"
    "      --connect-timeout DUR  (default 10s)\n"
    "      --idle-timeout DUR  fail when no byte arrives for DUR (default 30s)\n"
    "      --max-size SIZE     largest response body (default 64M)\n"
    "      --max-redirects N   redirects to follow (default 10, 0 = none)\n"
    "      --retries N         retry up to N times on connect/reset/timeout and\n"
    "                          408/429/500/502/503/504, with backoff (default 0)\n"
    "      --retry-base DUR    backoff base (default 100ms); full jitter, doubling\n"
    "      --retry-cap DUR     backoff cap (default 10s); Retry-After is honoured\n"
    "      --retry-post        also retry POST and PATCH\n"
    "      --rate R            start at most R requests per second (20/s, 3000/min,\n"
    "                          100/h), retries included; with --burst N (default 1)\n"
    "      --rate auto         adapt each host's rate: halve on 429/503 and spent\n"
    "                          RateLimit quotas, follow RateLimit-Policy, grow 10%/s\n"
    "      --host-rate R       the same limit for each host on its own (--host-burst N)\n"
    "      --deadline DUR      whole request, retries and waits included (default none)\n"
    "      --jitter KIND       full (default) or decorrelated backoff\n"
    "      --retry-budget N    retry tokens (a retry costs 5, 10 after a timeout; a\n"
    "                          success earns 1); 0 = unlimited (default 500)\n"
    "      --control FILE      change limits while running: FILE holds lines such as\n"
    "                          'rate 50/s', 'concurrency 20', 'host-rate auto',\n"
    "                          'retries 3'; re-read when it changes and on SIGHUP\n"
    "      --breaker N         fail a host's requests at once after N consecutive\n"
    "                          connection failures (default 5, 0 = off), probing again\n"
    "                          after --breaker-cooldown DUR (default 5s, doubling)\n"
    "  -k, --insecure          do not verify TLS certificates (never the default)\n"
    "      --cacert FILE       trust the CA certificates in FILE (PEM)\n"
    "      --http1.1 | --http2 | --http2-prior-knowledge\n"
    "      --ordered           write results in input order (bounded reorder window)\n"
    "      --reorder-window N  results held back at most (default 4 x concurrency, >= 256)\n"
    "      --no-body           leave the body out of records\n"
    "      --headers           include response headers in records\n"
    "      --timings           include timings (dns, connect, tls, first byte, total)\n"
    "      --attempts          include each attempt's status, error and wait\n"
    "      --strict            stop at the first bad input line (exit 2)\n"
    "\n"
    "Pages, follow-ups, joins (EXPR: jq, compiled before anything is sent):\n"
    "      --paginate SPEC     follow the pages of each request: link (the Link\n"
    "                          header's rel=\"next\"), EXPR (the next URL from the\n"
    "                          body, e.g. .next), NAME=EXPR (a cursor from the body\n"
    "                          put in {NAME}, e.g. cursor=.meta.next_cursor),\n"
    "                          NAME=START.. (page numbers) or NAME=START..+STEP\n"
    "                          (offsets); pages known up front (rel=\"last\",\n"
    "                          X-Total-Count, --total) go out at once\n"
    "      --items EXPR        one record per output of EXPR on each page (.[])\n"
    "      --stop-when EXPR    the last page is the one where EXPR is true\n"
    "      --total EXPR        the item count, from the first page's body\n"
    "      --max-pages N       at most N pages per chain\n"
    "      --each EXPR TEMPLATE  a follow-up request for each output of EXPR on a\n"
    "                          response: {} is the output, {.field} a field of it;\n"
    "                          repeat for deeper levels (records: the last level's).\n"
    "                          -X, -d, --json and the paging options after it are its\n"
    "      --dedup-limit N     identical follow-ups made once: remember up to N\n"
    "                          (default 1000000, 16 bytes each; 0 = off)\n"
    "      --join NAME=TEMPLATE  (repeatable) call every TEMPLATE for each line at\n"
    "                          once, write one record {NAME: body, ...}\n"
    "      --reduce EXPR       transform a --join record's merged body\n"
    "\n"
    "Streams (records written as they come, one JSON line each: id, seq, data\n"
    "and for SSE event and event_id; then the usual result with \"stream\"):\n"
    "      --stream MODE       ndjson (a JSON value per line), sse (Server-Sent\n"
    "                          Events, reconnecting with Last-Event-ID) or lines\n"
    "      --max-record SIZE   largest record (default 1M): past it, too_large\n"
    "      --max-reconnects N  SSE reconnects in all (default 5), then error stream\n"
    "      --sse-retry DUR     SSE delay before a reconnect when the server sent no\n"
    "                          retry: (default 3s; a server's is capped at 60s)\n"
    "      --max-records N     stop each stream after N records (end: stopped)\n"
    "      (a stream has no --timeout: --idle-timeout and --deadline bound it)\n"
    "\n"
    "Long jobs:\n"
    "      --resume            with -o FILE: skip requests FILE already holds (kill\n"
    "                          the run any time, run it again: nothing lost, nothing\n"
    "                          twice); a changed command is refused\n"
    "      --retry-failed      with --resume: also redo the ones that failed\n"
    "      --shard K/N         only this machine's K-th of N shares of the input,\n"
    "                          split by request identity (the same on every machine)\n"
    "      --fsync WHEN        never, batch (default with -o: at most once a second)\n"
    "                          or always (every batch of records before going on)\n"
    "      --grace DUR         after Ctrl-C, wait this long for requests in flight\n"
    "                          (default 30s), then cancel them\n"
    "      --stats-json FILE   write the final summary as JSON\n"
    "      --progress WHEN     auto (a redrawn line on a terminal, else a line every\n"
    "                          10 s), always (every 2 s when not a terminal), never\n"
    "  -q, --quiet             no progress, no summary\n"
    "      --max-line SIZE     longest input line (default 1M)\n"
    "  -h, --help              this help;   --version  the version\n"
    "\n"
    "DUR: 250ms, 10s, 2m, 1h or seconds. SIZE: bytes or with k, M, G.\n"
    "Output: one JSON object per request: id, method, url, status, attempts,\n"
    "elapsed_ms, bytes, body (JSON as JSON, text as a string) or body_base64,\n"
    "and error {kind, message} on failure. With --paginate, --items or --each also\n"
    "key, ok, page, index, request and item (instead of body), parent and path\n"
    "(the --each expressions and values that led there); --join: parts and the\n"
    "merged body.\n"
    "Exit: 0 all ok, 1 some failed, 2 usage (a bad jq expression: nothing sent).\n";

int cli_parse_duration_ms(const char *s, int64_t *ms) {
  char *end = NULL;
  double v = strtod(s, &end);
  if (end == s || v < 0 || v > 1e12)
    return -1;
  double mul = 1000;
  if (strcmp(end, "ms") == 0)
    mul = 1;
  else if (strcmp(end, "s") == 0 || *end == '\0')
    mul = 1000;
  else if (strcmp(end, "m") == 0)
    mul = 60000;
  else if (strcmp(end, "h") == 0)
    mul = 3600000;
  else
    return -1;
  *ms = (int64_t)(v * mul + 0.5);
  return 0;
}

int cli_parse_rate_milli(const char *s, int64_t *milli) {
  char *end = NULL;
  double v = strtod(s, &end);
  if (end == s || !(v > 0) || v > 1e6)
    return -1;
  double per = 1;
  if (*end == '\0' || strcmp(end, "/s") == 0 || strcmp(end, "/sec") == 0)
    per = 1;
  else if (strcmp(end, "/m") == 0 || strcmp(end, "/min") == 0)
    per = 60;
  else if (strcmp(end, "/h") == 0 || strcmp(end, "/hour") == 0)
    per = 3600;
  else
    return -1;
  double m = v * 1000.0 / per;
  if (m < 1)
    return -1;
  *milli = (int64_t)(m + 0.5);
  return 0;
}

int cli_parse_size(const char *s, int64_t *bytes) {
  char *end = NULL;
  double v = strtod(s, &end);
  if (end == s || v < 0)
    return -1;
  double mul = 1;
  if (*end == 'k' || *end == 'K')
    mul = 1024.0;
  else if (*end == 'm' || *end == 'M')
    mul = 1024.0 * 1024;
  else if (*end == 'g' || *end == 'G')
    mul = 1024.0 * 1024 * 1024;
  else if (*end != '\0')
    return -1;
  if (*end && end[1] != '\0' && strcmp(end + 1, "B") != 0 && strcmp(end + 1, "iB") != 0)
    return -1;
  if (v * mul > 1e13)
    return -1;
  *bytes = (int64_t)(v * mul);
  return 0;
}

static int bad(const char *opt, const char *val, const char *why) {
  fprintf(stderr, "flurry: %s '%s': %s (see flurry --help)\n", opt, val, why);
  return 2;
}

/* Stores a library option; its range is checked when the client takes it. */
static int set_opt(cli_opts *o, flurry_opt opt, int64_t v, const char *name, const char *val) {
  (void)name;
  (void)val;
  o->opt[opt] = v;
  o->opt_set |= 1u << opt;
  return 0;
}

/* Out of memory in an option: exit 1, not a usage error. */
static int nomem(const char *opt) {
  cli_nomem(opt);
  return CLI_ARGS_NOMEM;
}

static int add_header(cli_opts *o, const char *arg) {
  const char *colon = strchr(arg, ':');
  if (colon == NULL || colon == arg)
    return bad("--header", arg, "expected 'Name: value'");
  cli_header *h = fl_realloc(o->headers, (o->nheaders + 1) * sizeof *h);
  if (h == NULL)
    return nomem("--header");
  o->headers = h;
  const char *v = colon + 1;
  while (*v == ' ' || *v == '\t')
    v++;
  h[o->nheaders].name = fl_strndup(arg, (size_t)(colon - arg));
  h[o->nheaders].value = fl_strdup(v);
  h[o->nheaders].secret = 0; /* run.c asks the client (flurry_header_is_secret) */
  o->nheaders++;
  const char *name = h[o->nheaders - 1].name; /* messages name it, never show the value */
  if (name == NULL || h[o->nheaders - 1].value == NULL)
    return nomem("--header");
  for (const char *c = v; *c; c++)
    if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
      return bad("--header", name, "CR, LF or another control character in the value");
  return 0;
}

static int add_secret_name(cli_opts *o, const char *arg) {
  size_t n = strlen(arg);
  if (n == 0 || n > 256 || strspn(arg, "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != n)
    return bad("--secret-header", arg, "expected a header name");
  const char **v = fl_realloc(o->secret_names, (o->nsecret_names + 1) * sizeof *v);
  if (v == NULL)
    return nomem("--secret-header");
  o->secret_names = v;
  v[o->nsecret_names++] = arg;
  return 0;
}

enum {
  O_PER_HOST = 256, O_JSON, O_BASE_URL, O_CONNECT_TIMEOUT, O_IDLE_TIMEOUT, O_MAX_SIZE,
  O_MAX_REDIRECTS, O_RETRIES, O_RETRY_BASE, O_RETRY_CAP, O_RETRY_POST, O_HTTP11, O_HTTP2,
  O_H2PK, O_ORDERED, O_REORDER, O_NO_BODY, O_HEADERS, O_TIMINGS, O_STRICT, O_PROGRESS,
  O_MAX_LINE, O_VERSION, O_RATE, O_BURST, O_CACERT, O_HOST_RATE, O_HOST_BURST, O_DEADLINE,
  O_JITTER, O_RETRY_BUDGET, O_BREAKER, O_BREAKER_COOLDOWN, O_ATTEMPTS, O_CONTROL, O_RESUME,
  O_RETRY_FAILED, O_SHARD, O_FSYNC_WHEN, O_GRACE, O_STATS_JSON, O_PAGINATE, O_ITEMS,
  O_STOP_WHEN, O_TOTAL, O_MAX_PAGES, O_EACH, O_JOIN, O_REDUCE, O_DEDUP_LIMIT, O_SECRET_HEADER,
  O_STREAM, O_MAX_RECORD, O_MAX_RECONNECTS, O_SSE_RETRY, O_MAX_RECORDS
};

static const struct option long_opts[] = {
    {"concurrency", required_argument, NULL, 'c'},
    {"per-host", required_argument, NULL, O_PER_HOST},
    {"input", required_argument, NULL, 'i'},
    {"output", required_argument, NULL, 'o'},
    {"method", required_argument, NULL, 'X'},
    {"request", required_argument, NULL, 'X'},
    {"header", required_argument, NULL, 'H'},
    {"secret-header", required_argument, NULL, O_SECRET_HEADER},
    {"data", required_argument, NULL, 'd'},
    {"json", required_argument, NULL, O_JSON},
    {"base-url", required_argument, NULL, O_BASE_URL},
    {"timeout", required_argument, NULL, 'm'},
    {"connect-timeout", required_argument, NULL, O_CONNECT_TIMEOUT},
    {"idle-timeout", required_argument, NULL, O_IDLE_TIMEOUT},
    {"max-size", required_argument, NULL, O_MAX_SIZE},
    {"max-redirects", required_argument, NULL, O_MAX_REDIRECTS},
    {"retries", required_argument, NULL, O_RETRIES},
    {"retry-base", required_argument, NULL, O_RETRY_BASE},
    {"retry-cap", required_argument, NULL, O_RETRY_CAP},
    {"retry-post", no_argument, NULL, O_RETRY_POST},
    {"insecure", no_argument, NULL, 'k'},
    {"cacert", required_argument, NULL, O_CACERT},
    {"http1.1", no_argument, NULL, O_HTTP11},
    {"http2", no_argument, NULL, O_HTTP2},
    {"http2-prior-knowledge", no_argument, NULL, O_H2PK},
    {"ordered", no_argument, NULL, O_ORDERED},
    {"reorder-window", required_argument, NULL, O_REORDER},
    {"no-body", no_argument, NULL, O_NO_BODY},
    {"headers", no_argument, NULL, O_HEADERS},
    {"timings", no_argument, NULL, O_TIMINGS},
    {"strict", no_argument, NULL, O_STRICT},
    {"progress", required_argument, NULL, O_PROGRESS},
    {"quiet", no_argument, NULL, 'q'},
    {"max-line", required_argument, NULL, O_MAX_LINE},
    {"rate", required_argument, NULL, O_RATE},
    {"host-rate", required_argument, NULL, O_HOST_RATE},
    {"host-burst", required_argument, NULL, O_HOST_BURST},
    {"deadline", required_argument, NULL, O_DEADLINE},
    {"jitter", required_argument, NULL, O_JITTER},
    {"retry-budget", required_argument, NULL, O_RETRY_BUDGET},
    {"breaker", required_argument, NULL, O_BREAKER},
    {"breaker-cooldown", required_argument, NULL, O_BREAKER_COOLDOWN},
    {"attempts", no_argument, NULL, O_ATTEMPTS},
    {"control", required_argument, NULL, O_CONTROL},
    {"resume", no_argument, NULL, O_RESUME},
    {"retry-failed", no_argument, NULL, O_RETRY_FAILED},
    {"shard", required_argument, NULL, O_SHARD},
    {"fsync", required_argument, NULL, O_FSYNC_WHEN},
    {"grace", required_argument, NULL, O_GRACE},
    {"stats-json", required_argument, NULL, O_STATS_JSON},
    {"burst", required_argument, NULL, O_BURST},
    {"paginate", required_argument, NULL, O_PAGINATE},
    {"items", required_argument, NULL, O_ITEMS},
    {"stop-when", required_argument, NULL, O_STOP_WHEN},
    {"total", required_argument, NULL, O_TOTAL},
    {"max-pages", required_argument, NULL, O_MAX_PAGES},
    {"each", required_argument, NULL, O_EACH},
    {"join", required_argument, NULL, O_JOIN},
    {"reduce", required_argument, NULL, O_REDUCE},
    {"dedup-limit", required_argument, NULL, O_DEDUP_LIMIT},
    {"stream", required_argument, NULL, O_STREAM},
    {"max-record", required_argument, NULL, O_MAX_RECORD},
    {"max-reconnects", required_argument, NULL, O_MAX_RECONNECTS},
    {"sse-retry", required_argument, NULL, O_SSE_RETRY},
    {"max-records", required_argument, NULL, O_MAX_RECORDS},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, O_VERSION},
    {NULL, 0, NULL, 0}};

static int parse_int(const char *name, const char *val, int64_t min, int64_t max, int64_t *out) {
  if (fl_parse_i64(val, strlen(val), min, max, out) != 0) {
    fprintf(stderr, "flurry: %s '%s': expected a whole number from %lld to %lld\n", name,
            val, (long long)min, (long long)max);
    return 2;
  }
  return 0;
}

/* --rate / --host-rate: "auto" (adaptive, per host) or a fixed rate. */
static int rate_option(cli_opts *o, flurry_opt opt, const char *name, const char *arg) {
  int64_t v;
  if (strcmp(arg, "auto") == 0)
    return set_opt(o, FLURRY_OPT_RATE_AUTO, 1, name, arg);
  if (cli_parse_rate_milli(arg, &v) != 0)
    return bad(name, arg, "expected auto or a rate such as 20/s, 3000/min, 100/h");
  return set_opt(o, opt, v, name, arg);
}

/* "K/N" with 1 <= K <= N. */
static int parse_shard(cli_opts *o, const char *arg) {
  const char *slash = strchr(arg, '/');
  if (slash == NULL ||
      fl_parse_i64(slash + 1, strlen(slash + 1), 1, 1000000, &o->shard_n) != 0 ||
      fl_parse_i64(arg, (size_t)(slash - arg), 1, o->shard_n, &o->shard_k) != 0)
    return bad("--shard", arg, "expected K/N with 1 <= K <= N, e.g. 3/8");
  return 0;
}

static int duration(cli_opts *o, flurry_opt opt, const char *name, const char *val) {
  int64_t ms;
  if (cli_parse_duration_ms(val, &ms) != 0 || ms <= 0)
    return bad(name, val, "expected a positive duration such as 500ms, 10s, 2m");
  return set_opt(o, opt, ms, name, val);
}

/* --each EXPR starts a level; its TEMPLATE is the next argument. */
static int add_level(cli_opts *o, const char *each) {
  cli_level *l = fl_realloc(o->levels, (o->nlevels + 1) * sizeof *l);
  if (l == NULL)
    return nomem(each ? "--each" : "options");
  o->levels = l;
  memset(&l[o->nlevels], 0, sizeof *l);
  l[o->nlevels++].each = each;
  return 0;
}

static int add_join(cli_opts *o, const char *arg) {
  const char *eq = strchr(arg, '=');
  if (eq == NULL || eq == arg || eq[1] == '\0')
    return bad("--join", arg, "expected NAME=TEMPLATE");
  cli_join_part *j = fl_realloc(o->joins, (o->njoins + 1) * sizeof *j);
  if (j == NULL)
    return nomem("--join");
  o->joins = j;
  j[o->njoins].name = fl_strndup(arg, (size_t)(eq - arg));
  j[o->njoins].template_url = eq + 1;
  if (j[o->njoins++].name == NULL)
    return nomem("--join");
  for (size_t i = 0; i + 1 < o->njoins; i++)
    if (strcmp(j[i].name, j[o->njoins - 1].name) == 0)
      return bad("--join", arg, "the name is already taken");
  return 0;
}

/* A positional argument: the URL template, or the last --each's. */
static int positional(cli_opts *o, const char *arg, int *want_template) {
  cli_level *l = &o->levels[o->nlevels - 1];
  if (*want_template || (o->nlevels == 1 && l->template_url == NULL)) {
    l->template_url = arg;
    *want_template = 0;
    return 0;
  }
  fprintf(stderr, "flurry: unexpected argument '%s' (one URL template at most, then one "
          "after each --each; quote them)\n", arg);
  return 2;
}

/* Options that shape the requests of the last level named. */
static int level_option(cli_level *l, int ch, const char *arg) {
  switch (ch) {
  case 'X': l->method = arg; return 0;
  case 'd': l->data = arg; l->data_is_json = 0; return 0;
  case O_JSON: l->data = arg; l->data_is_json = 1; return 0;
  case O_PAGINATE: l->paginate = arg; return 0;
  case O_ITEMS: l->items = arg; return 0;
  case O_STOP_WHEN: l->stop_when = arg; return 0;
  case O_TOTAL: l->total = arg; return 0;
  case O_MAX_PAGES: return parse_int("--max-pages", arg, 1, INT64_MAX / 4, &l->max_pages);
  default: return -1;
  }
}

/* --stream and its limits; -1 when ch is not one of them. */
static int stream_option(cli_opts *o, int ch, const char *arg) {
  switch (ch) {
  case O_STREAM:
    if ((o->stream_mode = cli_stream_mode(arg)) == 0)
      return bad("--stream", arg, "expected ndjson, sse or lines");
    return 0;
  case O_MAX_RECORD:
    if (cli_parse_size(arg, &o->max_record) != 0 || o->max_record < 16 ||
        o->max_record > 1024LL * 1024 * 1024)
      return bad("--max-record", arg, "expected a size from 16 to 1G");
    return 0;
  case O_MAX_RECONNECTS:
    return parse_int("--max-reconnects", arg, 0, 1000000, &o->max_reconnects);
  case O_SSE_RETRY:
    if (cli_parse_duration_ms(arg, &o->sse_retry_ms) != 0 || o->sse_retry_ms > 60000)
      return bad("--sse-retry", arg, "expected a duration from 0 to 60s");
    return 0;
  case O_MAX_RECORDS:
    return parse_int("--max-records", arg, 1, INT64_MAX / 4, &o->max_records);
  default:
    return -1;
  }
}

static int one_option(cli_opts *o, int ch, const char *arg) {
  int64_t v;
  int rc = level_option(&o->levels[o->nlevels - 1], ch, arg);
  if (rc < 0)
    rc = stream_option(o, ch, arg);
  if (rc >= 0)
    return rc;
  switch (ch) {
  case 'c':
    return parse_int("--concurrency", arg, 1, 100000, &o->concurrency);
  case O_PER_HOST:
    return parse_int("--per-host", arg, 0, 100000, &o->per_host);
  case 'i': o->input = arg; return 0;
  case 'o': o->output = arg; return 0;
  case 'H': return add_header(o, arg);
  case O_SECRET_HEADER: return add_secret_name(o, arg);
  case O_EACH: return add_level(o, arg);
  case O_JOIN: return add_join(o, arg);
  case O_REDUCE: o->reduce = arg; return 0;
  case O_DEDUP_LIMIT: return parse_int("--dedup-limit", arg, 0, INT64_MAX / 4, &o->dedup_limit);
  case O_BASE_URL: o->base_url = arg; return 0;
  case 'm': return duration(o, FLURRY_OPT_TIMEOUT_MS, "--timeout", arg);
  case O_CONNECT_TIMEOUT: return duration(o, FLURRY_OPT_CONNECT_TIMEOUT_MS, "--connect-timeout", arg);
  case O_IDLE_TIMEOUT: return duration(o, FLURRY_OPT_IDLE_TIMEOUT_MS, "--idle-timeout", arg);
  case O_MAX_SIZE:
    if (cli_parse_size(arg, &v) != 0)
      return bad("--max-size", arg, "expected a size such as 1048576, 64k, 10M");
    return set_opt(o, FLURRY_OPT_MAX_RESPONSE_BYTES, v, "--max-size", arg);
  case O_MAX_REDIRECTS:
    if (parse_int("--max-redirects", arg, 0, 1000, &v))
      return 2;
    return set_opt(o, FLURRY_OPT_MAX_REDIRECTS, v, "--max-redirects", arg);
  case O_RETRIES:
    if (parse_int("--retries", arg, 0, 999, &v))
      return 2;
    return set_opt(o, FLURRY_OPT_MAX_ATTEMPTS, v + 1, "--retries", arg);
  case O_RETRY_BASE: return duration(o, FLURRY_OPT_RETRY_BASE_MS, "--retry-base", arg);
  case O_RETRY_CAP: return duration(o, FLURRY_OPT_RETRY_CAP_MS, "--retry-cap", arg);
  case O_RETRY_POST: return set_opt(o, FLURRY_OPT_RETRY_UNSAFE, 1, "--retry-post", "");
  case O_CACERT: o->cacert = arg; return 0;
  case 'k': return set_opt(o, FLURRY_OPT_VERIFY_TLS, 0, "--insecure", "");
  case O_HTTP11: return set_opt(o, FLURRY_OPT_HTTP_VERSION, FLURRY_HTTP_1_1, "--http1.1", "");
  case O_HTTP2: return set_opt(o, FLURRY_OPT_HTTP_VERSION, FLURRY_HTTP_2, "--http2", "");
  case O_H2PK:
    return set_opt(o, FLURRY_OPT_HTTP_VERSION, FLURRY_HTTP_2_PRIOR_KNOWLEDGE,
                   "--http2-prior-knowledge", "");
  case O_ORDERED: o->ordered = 1; return 0;
  case O_REORDER: return parse_int("--reorder-window", arg, 1, 10000000, &o->reorder_window);
  case O_NO_BODY: o->no_body = 1; return 0;
  case O_HEADERS: o->with_headers = 1; return 0;
  case O_TIMINGS: o->with_timings = 1; return 0;
  case O_STRICT: o->strict = 1; return 0;
  case 'q': o->quiet = 1; return 0;
  case O_PROGRESS:
    if (strcmp(arg, "auto") == 0) o->progress = PROGRESS_AUTO;
    else if (strcmp(arg, "always") == 0) o->progress = PROGRESS_ALWAYS;
    else if (strcmp(arg, "never") == 0) o->progress = PROGRESS_NEVER;
    else return bad("--progress", arg, "expected auto, always or never");
    return 0;
  case O_MAX_LINE:
    if (cli_parse_size(arg, &v) != 0 || v < 16 || v > 1024LL * 1024 * 1024)
      return bad("--max-line", arg, "expected a size from 16 to 1G");
    o->max_line = v;
    return 0;
  case O_RATE:
    return rate_option(o, FLURRY_OPT_RATE_MILLI, "--rate", arg);
  case O_HOST_RATE:
    return rate_option(o, FLURRY_OPT_HOST_RATE_MILLI, "--host-rate", arg);
  case O_HOST_BURST:
    if (parse_int("--host-burst", arg, 1, 1000000, &v))
      return 2;
    return set_opt(o, FLURRY_OPT_HOST_BURST, v, "--host-burst", arg);
  case O_DEADLINE: return duration(o, FLURRY_OPT_DEADLINE_MS, "--deadline", arg);
  case O_JITTER:
    if (strcmp(arg, "full") == 0)
      return set_opt(o, FLURRY_OPT_RETRY_JITTER, FLURRY_JITTER_FULL, "--jitter", arg);
    if (strcmp(arg, "decorrelated") == 0)
      return set_opt(o, FLURRY_OPT_RETRY_JITTER, FLURRY_JITTER_DECORRELATED, "--jitter", arg);
    return bad("--jitter", arg, "expected full or decorrelated");
  case O_RETRY_BUDGET:
    if (parse_int("--retry-budget", arg, 0, 1000000000, &v))
      return 2;
    return set_opt(o, FLURRY_OPT_RETRY_BUDGET, v, "--retry-budget", arg);
  case O_BREAKER:
    if (parse_int("--breaker", arg, 0, 1000000, &v))
      return 2;
    return set_opt(o, FLURRY_OPT_BREAKER_THRESHOLD, v, "--breaker", arg);
  case O_BREAKER_COOLDOWN:
    return duration(o, FLURRY_OPT_BREAKER_COOLDOWN_MS, "--breaker-cooldown", arg);
  case O_ATTEMPTS: o->with_attempts = 1; return 0;
  case O_CONTROL: o->control = arg; return 0;
  case O_RESUME: o->resume = 1; return 0;
  case O_RETRY_FAILED: o->retry_failed = 1; return 0;
  case O_SHARD: return parse_shard(o, arg);
  case O_FSYNC_WHEN:
    if (strcmp(arg, "never") == 0) o->fsync_mode = FSYNC_NEVER;
    else if (strcmp(arg, "batch") == 0) o->fsync_mode = FSYNC_BATCH;
    else if (strcmp(arg, "always") == 0) o->fsync_mode = FSYNC_ALWAYS;
    else return bad("--fsync", arg, "expected never, batch or always");
    return 0;
  case O_GRACE:
    if (cli_parse_duration_ms(arg, &o->grace_ms) != 0)
      return bad("--grace", arg, "expected a duration such as 30s");
    return 0;
  case O_STATS_JSON: o->stats_json = arg; return 0;
  case O_BURST:
    if (parse_int("--burst", arg, 1, 1000000, &v))
      return 2;
    return set_opt(o, FLURRY_OPT_RATE_BURST, v, "--burst", arg);
  case 'h': fputs(usage_text, stdout); return 1;
  case O_VERSION: printf("flurry %s (%s)\n", FLURRY_VERSION, curl_version()); return 1;
  default:
    fprintf(stderr, "flurry: unknown option (see flurry --help)\n");
    return 2;
  }
}

static int usage_error(const char *msg) {
  fprintf(stderr, "flurry: %s (see flurry --help)\n", msg);
  return 2;
}

/* What the options mean together. 0 or 2 after a message. */
static int check_levels(cli_opts *o) {
  for (size_t i = 0; i < o->nlevels; i++) {
    const cli_level *l = &o->levels[i];
    if (i > 0 && l->template_url == NULL)
      return usage_error("--each EXPR needs a TEMPLATE after it");
    if (!l->paginate && (l->stop_when || l->total || l->max_pages))
      return usage_error("--stop-when, --total and --max-pages go with --paginate");
    if (l->paginate || l->items || i > 0)
      o->tree = 1;
  }
  if (o->njoins) {
    if (o->levels[0].template_url || o->tree)
      return usage_error("--join makes its own requests: no URL template, --paginate, "
                         "--items or --each with it");
  } else if (o->reduce) {
    return usage_error("--reduce transforms a --join record: it needs --join");
  }
  if (!o->stream_mode && (o->max_record || o->max_reconnects >= 0 || o->sse_retry_ms >= 0 ||
                          o->max_records))
    return usage_error("--max-record, --max-reconnects, --sse-retry and --max-records go "
                       "with --stream");
  if (o->stream_mode && (o->tree || o->njoins || o->ordered || o->resume || o->retry_failed))
    return usage_error("--stream writes records as they come: not with --paginate, --items, "
                       "--each, --join, --ordered or --resume");
  return 0;
}

int cli_args_parse(cli_opts *o, int argc, char **argv) {
  memset(o, 0, sizeof *o);
  o->concurrency = 64;
  o->max_line = 1024 * 1024;
  o->fsync_mode = -1; /* batch for a file, never for stdout */
  o->grace_ms = 30000;
  o->dedup_limit = 1000000;
  o->max_reconnects = o->sse_retry_ms = -1;
  if (add_level(o, NULL) != 0)
    return CLI_ARGS_NOMEM;
  optind = 1;
  opterr = 1;
  int ch, want_template = 0;
  /* "-": arguments in order, so options apply to the level named before. */
  while ((ch = getopt_long(argc, argv, "-c:i:o:X:H:d:m:kqh", long_opts, NULL)) != -1) {
    int rc = ch == 1 ? positional(o, optarg, &want_template) : one_option(o, ch, optarg);
    if (rc == 0 && ch == O_EACH)
      want_template = 1;
    if (rc != 0)
      return rc;
  }
  while (optind < argc)
    if (positional(o, argv[optind++], &want_template) != 0)
      return 2;
  if (check_levels(o) != 0)
    return 2;
  if ((o->resume || o->retry_failed) && (o->output == NULL || strcmp(o->output, "-") == 0)) {
    fprintf(stderr, "flurry: --resume needs -o FILE: the output file is the journal\n");
    return 2;
  }
  if (o->retry_failed)
    o->resume = 1;
  if (o->fsync_mode < 0)
    o->fsync_mode = o->output && strcmp(o->output, "-") != 0 ? FSYNC_BATCH : FSYNC_NEVER;
  if (o->reorder_window == 0)
    o->reorder_window = o->concurrency * 4 < 256 ? 256 : o->concurrency * 4;
  if (o->reorder_window < o->concurrency)
    o->reorder_window = o->concurrency;
  return 0;
}

void cli_args_free(cli_opts *o) {
  for (size_t i = 0; i < o->nheaders; i++) {
    fl_free(o->headers[i].name);
    fl_free(o->headers[i].value);
  }
  fl_free(o->headers);
  o->headers = NULL;
  o->nheaders = 0;
  fl_free(o->secret_names);
  o->secret_names = NULL;
  o->nsecret_names = 0;
  for (size_t i = 0; i < o->njoins; i++)
    fl_free(o->joins[i].name);
  fl_free(o->joins);
  o->joins = NULL;
  o->njoins = 0;
  fl_free(o->levels);
  o->levels = NULL;
  o->nlevels = 0;
}
