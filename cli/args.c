/* args.c: the flurry command's options. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fl_args.h"

/* --help: this text, the table's rows, usage_tail. */
static const char usage_text[] =
    "Usage: flurry [OPTIONS] [URL-TEMPLATE] < input\n"
    "       flurry [OPTIONS] URL       one request, when nothing is piped in\n"
    "       flurry mock [--port N]     a local API for tests and demos\n"
    "       flurry listen --port N ... a webhook receiver (flurry listen --help)\n"
    "       flurry ws URL < messages   a WebSocket session as JSON lines (flurry ws --help)\n"
    "       flurry enqueue --redis URL --stream KEY < input   requests for workers\n"
    "       flurry work --redis URL --stream KEY --group NAME [OPTIONS]   a worker\n"
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
    "\n";

static const char usage_tail[] =
    "\n"
    "DUR: 250ms, 10s, 2m, 1h or seconds. SIZE: bytes or with k, M, G.\n"
    "Output: one JSON object per request: id, method, url, status, attempts,\n"
    "elapsed_ms, bytes, body (JSON as JSON, text as a string) or body_base64,\n"
    "and error {kind, message} on failure. With --paginate, --items or --each also\n"
    "key, ok, page, index, request and item (instead of body), parent and path\n"
    "(the --each expressions and values that led there); --join: parts and the\n"
    "merged body.\n"
    "Exit: 0 all ok, 1 some failed, 2 usage (a bad jq expression: nothing sent).\n";

/* ---- setters: what an option's value does (one per kind of row) ---- */

typedef struct opt_row opt_row;
typedef int (*opt_set_fn)(cli_opts *o, const opt_row *r, const char *v);

/* A row of the table: its fl_arg (name, short name, metavar, help), and
 * how its value is taken: set(o, row, value) with the row's lib option,
 * number and range or field. */
struct opt_row {
  fl_arg arg;
  opt_set_fn set;
  int lib;      /* a flurry_opt, for the lib_* setters */
  int64_t num;  /* lib_flag: the value; lib_int: added to N; int_field: min */
  int64_t max;  /* int_field, size_field: the range's top */
  size_t field; /* offsetof in cli_opts (or cli_level, for the level setters) */
};

static fl_args args; /* the parser over the table, for messages */

static int bad(const opt_row *r, const char *val, const char *why) {
  return fl_args_bad(&args, &r->arg, val, why);
}

/* Out of memory in an option: exit 1, not a usage error. */
static int nomem(const char *opt) {
  cli_nomem(opt);
  return CLI_ARGS_NOMEM;
}

/* Stores a library option, checked against the library's own range
 * (flurry_opt_get_info) here, so that the message names the option. */
static int lib_store(cli_opts *o, const opt_row *r, int64_t v, const char *val) {
  flurry_opt_info in;
  if (flurry_opt_get_info((flurry_opt)r->lib, &in) != FLURRY_OK)
    return bad(r, val, "not an option of this libflurry");
  if (v < in.min || v > in.max) {
    char why[128];
    snprintf(why, sizeof why, "out of range (%s from %lld to %lld)", in.name, (long long)in.min,
             (long long)in.max);
    return bad(r, val, why);
  }
  o->opt[r->lib] = v;
  o->opt_set |= (uint64_t)1 << r->lib;
  return 0;
}

static int lib_duration(cli_opts *o, const opt_row *r, const char *v) {
  flurry_opt_info in;
  int64_t ms;
  flurry_opt_get_info((flurry_opt)r->lib, &in);
  if (fl_args_duration(&args, &r->arg, v, in.min > 1 ? in.min : 1, in.max, &ms) != 0)
    return 2;
  return lib_store(o, r, ms, v);
}

static int lib_int(cli_opts *o, const opt_row *r, const char *v) {
  flurry_opt_info in;
  int64_t n;
  flurry_opt_get_info((flurry_opt)r->lib, &in);
  if (fl_args_int(&args, &r->arg, v, in.min - r->num, in.max - r->num, &n) != 0)
    return 2;
  return lib_store(o, r, n + r->num, v);
}

static int lib_size(cli_opts *o, const opt_row *r, const char *v) {
  flurry_opt_info in;
  int64_t n;
  flurry_opt_get_info((flurry_opt)r->lib, &in);
  if (fl_args_size(&args, &r->arg, v, in.min, in.max, &n) != 0)
    return 2;
  return lib_store(o, r, n, v);
}

static int lib_flag(cli_opts *o, const opt_row *r, const char *v) {
  (void)v;
  return lib_store(o, r, r->num, "");
}

/* --rate / --host-rate: "auto" (adaptive, per host) or a fixed rate. */
static int lib_rate(cli_opts *o, const opt_row *r, const char *v) {
  int64_t milli;
  if (strcmp(v, "auto") == 0) {
    opt_row autorow = *r;
    autorow.lib = FLURRY_OPT_RATE_AUTO;
    return lib_store(o, &autorow, 1, v);
  }
  if (fl_parse_rate_milli(v, &milli) != 0)
    return bad(r, v, "expected auto or a rate such as 20/s, 3000/min, 100/h");
  return lib_store(o, r, milli, v);
}

#define FIELD(o, r, type) ((type *)(void *)((char *)(o) + (r)->field))

static int str_field(cli_opts *o, const opt_row *r, const char *v) {
  *FIELD(o, r, const char *) = v;
  return 0;
}

static int flag_field(cli_opts *o, const opt_row *r, const char *v) {
  (void)v;
  *FIELD(o, r, int) = 1;
  return 0;
}

static int int_field(cli_opts *o, const opt_row *r, const char *v) {
  return fl_args_int(&args, &r->arg, v, r->num, r->max, FIELD(o, r, int64_t));
}

static int size_field(cli_opts *o, const opt_row *r, const char *v) {
  return fl_args_size(&args, &r->arg, v, r->num, r->max, FIELD(o, r, int64_t));
}

static int duration_field(cli_opts *o, const opt_row *r, const char *v) {
  return fl_args_duration(&args, &r->arg, v, r->num, r->max, FIELD(o, r, int64_t));
}

/* The index of v in a NULL-terminated list of words, or -1. */
static int word(const char *v, const char *const *words) {
  for (int i = 0; words[i]; i++)
    if (strcmp(v, words[i]) == 0)
      return i;
  return -1;
}

static int set_progress(cli_opts *o, const opt_row *r, const char *v) {
  static const char *const w[] = {"auto", "always", "never", NULL}; /* progress_mode order */
  int i = word(v, w);
  if (i < 0)
    return bad(r, v, "expected auto, always or never");
  o->progress = (progress_mode)i;
  return 0;
}

static int set_fsync(cli_opts *o, const opt_row *r, const char *v) {
  static const char *const w[] = {"never", "batch", "always", NULL}; /* FSYNC_* order */
  int i = word(v, w);
  if (i < 0)
    return bad(r, v, "expected never, batch or always");
  o->fsync_mode = i;
  return 0;
}

static int set_jitter(cli_opts *o, const opt_row *r, const char *v) {
  if (strcmp(v, "full") == 0)
    return lib_store(o, r, FLURRY_JITTER_FULL, v);
  if (strcmp(v, "decorrelated") == 0)
    return lib_store(o, r, FLURRY_JITTER_DECORRELATED, v);
  if (strcmp(v, "none") == 0)
    return lib_store(o, r, FLURRY_JITTER_NONE, v);
  return bad(r, v, "expected full, decorrelated or none");
}

static int set_stream(cli_opts *o, const opt_row *r, const char *v) {
  if (o->work.on) { /* flurry work: the requests' Redis stream */
    o->work.stream = v;
    return 0;
  }
  if ((o->stream_mode = cli_stream_mode(v)) == 0)
    return bad(r, v, "expected ndjson, sse or lines");
  return 0;
}

static int set_rate_scope(cli_opts *o, const opt_row *r, const char *v) {
  static const char *const w[] = {"local", "shared", NULL};
  int i = word(v, w);
  if (i < 0)
    return bad(r, v, "expected local or shared");
  o->work.rate_shared = i;
  o->work.rate_scope_set = 1;
  return 0;
}

static int set_reconnect(cli_opts *o, const opt_row *r, const char *v) {
  static const char *const names[] = {"never", "on-error", "always"};
  for (int i = 0; i < 3; i++)
    if (strcmp(v, names[i]) == 0) {
      o->reconnect_mode = FLURRY_RECONNECT_NEVER + i;
      return 0;
    }
  return bad(r, v, "expected never, on-error or always");
}

static int set_stream_until(cli_opts *o, const opt_row *r, const char *v) {
  if (*v == '\0')
    return bad(r, v, "expected the data of the last record, such as [DONE]");
  o->stream_until = v;
  return 0;
}

static int add_header(cli_opts *o, const opt_row *r, const char *arg) {
  const char *colon = strchr(arg, ':');
  if (colon == NULL || colon == arg)
    return bad(r, arg, "expected 'Name: value'");
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
      return bad(r, name, "CR, LF or another control character in the value");
  return 0;
}

static int add_secret_name(cli_opts *o, const opt_row *r, const char *arg) {
  size_t n = strlen(arg);
  if (n == 0 || n > 256 ||
      strspn(arg, "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != n)
    return bad(r, arg, "expected a header name");
  const char **v = fl_realloc(o->secret_names, (o->nsecret_names + 1) * sizeof *v);
  if (v == NULL)
    return nomem("--secret-header");
  o->secret_names = v;
  v[o->nsecret_names++] = arg;
  return 0;
}

/* -b NAME=VALUE: the library checks the octets (run.c); the value is a
 * credential: messages show the name only. */
static int add_cookie(cli_opts *o, const opt_row *r, const char *arg) {
  const char *eq = strchr(arg, '=');
  if (eq == NULL || eq == arg)
    return bad(r, "***", "expected NAME=VALUE");
  const char **v = fl_realloc(o->cookies, (o->ncookies + 1) * sizeof *v);
  if (v == NULL)
    return nomem("--cookie");
  o->cookies = v;
  v[o->ncookies++] = arg;
  return 0;
}

/* --window-limit / --host-window-limit N/PERIOD: PERIOD a duration (10s,
 * 15m, 1h) or a unit alone (s, min, h, day). The row's lib option is the
 * limit; the period's is the next one (table order in flurry/request.h). */
_Static_assert(FLURRY_OPT_WINDOW_MS == FLURRY_OPT_WINDOW_LIMIT + 1 &&
                   FLURRY_OPT_HOST_WINDOW_MS == FLURRY_OPT_HOST_WINDOW_LIMIT + 1,
               "each window's period follows its limit");

static int set_window(cli_opts *o, const opt_row *r, const char *v) {
  static const struct {
    const char *unit;
    int64_t ms;
  } units[] = {{"s", 1000},    {"sec", 1000},     {"m", 60000},    {"min", 60000},
               {"h", 3600000}, {"hour", 3600000}, {"d", 86400000}, {"day", 86400000}};
  const char *slash = strchr(v, '/');
  int64_t n, ms = -1;
  if (slash == NULL || fl_parse_i64(v, (size_t)(slash - v), 1, 1000000, &n) != 0)
    return bad(r, v, "expected N/PERIOD with N from 1 to 1000000, e.g. 5000/h, 100/15m, 10/s");
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strcmp(slash + 1, units[i].unit) == 0)
      ms = units[i].ms;
  if (ms < 0 && (fl_parse_duration_ms(slash + 1, &ms) != 0 || ms < 1 || ms > 30 * 86400000LL))
    return bad(r, v,
               "expected N/PERIOD with a PERIOD such as s, min, h, day, 15m or 500ms "
               "(1ms to 30 days)");
  opt_row period = *r;
  period.lib = r->lib + 1;
  int rc = lib_store(o, r, n, v);
  return rc ? rc : lib_store(o, &period, ms, v);
}

/* "K/N" with 1 <= K <= N. */
static int set_shard(cli_opts *o, const opt_row *r, const char *arg) {
  const char *slash = strchr(arg, '/');
  if (slash == NULL || fl_parse_i64(slash + 1, strlen(slash + 1), 1, 1000000, &o->shard_n) != 0 ||
      fl_parse_i64(arg, (size_t)(slash - arg), 1, o->shard_n, &o->shard_k) != 0)
    return bad(r, arg, "expected K/N with 1 <= K <= N, e.g. 3/8");
  return 0;
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

static int set_each(cli_opts *o, const opt_row *r, const char *v) {
  (void)r;
  return add_level(o, v);
}

static int add_join(cli_opts *o, const opt_row *r, const char *arg) {
  const char *eq = strchr(arg, '=');
  if (eq == NULL || eq == arg || eq[1] == '\0')
    return bad(r, arg, "expected NAME=TEMPLATE");
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
      return bad(r, arg, "the name is already taken");
  return 0;
}

/* Options that shape the requests of the last level named (-X, -d,
 * --json, the paging options): the field is in cli_level. */
static cli_level *last_level(cli_opts *o) { return &o->levels[o->nlevels - 1]; }

static int level_str(cli_opts *o, const opt_row *r, const char *v) {
  *FIELD(last_level(o), r, const char *) = v;
  return 0;
}

static int level_data(cli_opts *o, const opt_row *r, const char *v) {
  last_level(o)->data = v;
  last_level(o)->data_is_json = (int)r->num;
  return 0;
}

/* --graphql QUERY or @FILE (read whole, at most 1 MiB). */
static int set_graphql(cli_opts *o, const opt_row *r, const char *v) {
  cli_level *l = last_level(o);
  if (*v == '\0')
    return bad(r, v, "expected a query, or @FILE");
  if (v[0] != '@') {
    l->graphql = v;
    return 0;
  }
  FILE *f = fopen(v + 1, "rb");
  if (f == NULL)
    return bad(r, v, "cannot open the file");
  fl_buf b = FL_BUF_INIT(1024 * 1024);
  char chunk[4096];
  int rc = FL_OK;
  for (;;) {
    size_t n = fread(chunk, 1, sizeof chunk, f);
    if (n == 0 || rc != FL_OK)
      break;
    rc = fl_buf_append(&b, chunk, n);
  }
  int read_err = ferror(f);
  fclose(f);
  if (rc == FL_ENOMEM) {
    fl_buf_free(&b);
    return nomem("--graphql");
  }
  if (rc != FL_OK || read_err || b.len == 0 || memchr(b.data, '\0', b.len)) {
    fl_buf_free(&b);
    return bad(r, v, "the file cannot be read, is empty, holds a NUL byte or is over 1M");
  }
  fl_free(l->graphql_owned);
  l->graphql_owned = fl_buf_take(&b, NULL);
  l->graphql = l->graphql_owned;
  return l->graphql ? 0 : nomem("--graphql");
}

/* --graphql-pages [VAR=]PATH: the cursor paginator VAR=EXPR whose EXPR
 * reads PATH's pageInfo (Relay connections). */
static int set_graphql_pages(cli_opts *o, const opt_row *r, const char *v) {
  cli_level *l = last_level(o);
  const char *eq = strchr(v, '=');
  const char *path = eq ? eq + 1 : v;
  size_t nl = eq ? (size_t)(eq - v) : 5;
  if (path[0] != '.' || nl == 0 || nl > 63 ||
      (eq && strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != nl))
    return bad(r, v, "expected [VAR=]PATH, e.g. .data.repository.issues or after=.data.search");
  fl_buf b = FL_BUF_INIT(0);
  int rc = fl_buf_printf(&b,
                         "%.*s=(%s).pageInfo | if .hasNextPage == true then .endCursor "
                         "else null end",
                         (int)nl, eq ? v : "after", path);
  if (rc != FL_OK) {
    fl_buf_free(&b);
    return nomem("--graphql-pages");
  }
  fl_free(l->paginate_owned);
  l->paginate_owned = fl_buf_take(&b, NULL);
  l->graphql_pages = v;
  return 0;
}

static int set_graphql_errors(cli_opts *o, const opt_row *r, const char *v) {
  if (strcmp(v, "fail") != 0 && strcmp(v, "ok") != 0)
    return bad(r, v, "expected fail or ok");
  o->graphql_errors_ok = strcmp(v, "ok") == 0;
  return 0;
}

static int level_int(cli_opts *o, const opt_row *r, const char *v) {
  return fl_args_int(&args, &r->arg, v, r->num, r->max, FIELD(last_level(o), r, int64_t));
}

static int show_help(cli_opts *o, const opt_row *r, const char *v);
static int show_version(cli_opts *o, const opt_row *r, const char *v) {
  (void)o, (void)r, (void)v;
  printf("flurry %s (%s)\n", FLURRY_VERSION, curl_version());
  return 1;
}

/* ---- the table: one row per option, in --help's order ---- */

#define TEXT(t)                                                                                    \
  { {NULL, 0, NULL, t, 0}, NULL, 0, 0, 0, 0 }
#define LIB(name, sh, meta, help, fn, opt)                                                         \
  { {name, sh, meta, help, 0}, fn, FLURRY_OPT_##opt, 0, 0, 0 }
#define LIBN(name, sh, meta, help, fn, opt, n)                                                     \
  { {name, sh, meta, help, 0}, fn, FLURRY_OPT_##opt, n, 0, 0 }
#define FLD(name, sh, meta, help, fn, f)                                                           \
  { {name, sh, meta, help, 0}, fn, 0, 0, 0, offsetof(cli_opts, f) }
#define RANGE(name, sh, meta, help, fn, f, lo, hi)                                                 \
  { {name, sh, meta, help, 0}, fn, 0, lo, hi, offsetof(cli_opts, f) }
#define LVL(name, sh, meta, help, fn, f)                                                           \
  { {name, sh, meta, help, 0}, fn, 0, 0, 0, offsetof(cli_level, f) }
#define FN(name, sh, meta, help, fn)                                                               \
  { {name, sh, meta, help, 0}, fn, 0, 0, 0, 0 }
#define MORE_HELP(name, meta, help)                                                                \
  { {name, 0, meta, help, 1}, NULL, 0, 0, 0, 0 }
#define BIG (INT64_MAX / 4)

static const opt_row table[] = {
    TEXT("Options:\n"),
    RANGE("concurrency", 'c', "N", "requests in flight at once (default 64)", int_field,
          concurrency, 1, 100000),
    RANGE("per-host", 0, "N", "connections per host (default: no cap)", int_field, per_host, 0,
          100000),
    FLD("input", 'i', "FILE", "read requests from FILE (default stdin)", str_field, input),
    FLD("output", 'o', "FILE", "write results to FILE (default stdout)", str_field, output),
    LVL("method", 'X', "M", "method for URL/template lines (default GET, POST with a body)",
        level_str, method),
    LVL("request", 0, "M", NULL, level_str, method),
    FN("header", 'H', "'N: V'", "add a header (repeatable)", add_header),
    FN("secret-header", 0, "NAME",
       "NAME carries credentials (repeatable): like\n"
       "Authorization and Cookie (and -H names with auth,\n"
       "token, key, secret...), never sent to another origin\n"
       "and never written in records or messages",
       add_secret_name),
    {{"data", 'd', "TEXT", "request body; {} and {.field} are substituted", 0},
     level_data,
     0,
     0,
     0,
     0},
    {{"json", 0, "TEXT", "JSON body (sets Content-Type); substituted like -d", 0},
     level_data,
     0,
     1,
     0,
     0},
    FLD("base-url", 0, "URL", "resolve relative URLs against URL", str_field, base_url),
    LIB("timeout", 'm', "DUR", "whole request, per attempt (default 30s)", lib_duration,
        TIMEOUT_MS),
    LIB("connect-timeout", 0, "DUR", "(default 10s)", lib_duration, CONNECT_TIMEOUT_MS),
    LIB("idle-timeout", 0, "DUR", "fail when no byte arrives for DUR (default 30s)", lib_duration,
        IDLE_TIMEOUT_MS),
    LIB("max-size", 0, "SIZE", "largest response body (default 64M)", lib_size, MAX_RESPONSE_BYTES),
    LIB("max-redirects", 0, "N", "redirects to follow (default 10, 0 = none)", lib_int,
        MAX_REDIRECTS),
    LIBN("retries", 0, "N",
         "retry up to N times on connect/reset/timeout and\n"
         "408/429/500/502/503/504, with backoff (default 0)",
         lib_int, MAX_ATTEMPTS, 1),
    LIB("retry-base", 0, "DUR", "backoff base (default 100ms); full jitter, doubling", lib_duration,
        RETRY_BASE_MS),
    LIB("retry-cap", 0, "DUR", "backoff cap (default 10s); Retry-After is honoured", lib_duration,
        RETRY_CAP_MS),
    LIBN("retry-post", 0, NULL, "also retry POST and PATCH", lib_flag, RETRY_UNSAFE, 1),
    LIB("rate", 0, "R",
        "start at most R requests per second (20/s, 3000/min,\n"
        "100/h), retries included; with --burst N (default 1)",
        lib_rate, RATE_MILLI),
    MORE_HELP("rate", "auto",
              "adapt each host's rate: halve on 429/503 and spent\n"
              "RateLimit quotas, follow RateLimit-Policy, grow 10%/s"),
    LIB("burst", 0, "N", NULL, lib_int, RATE_BURST),
    LIB("host-rate", 0, "R", "the same limit for each host on its own (--host-burst N)", lib_rate,
        HOST_RATE_MILLI),
    LIB("host-burst", 0, "N", NULL, lib_int, HOST_BURST),
    LIB("window-limit", 0, "N/PERIOD",
        "never more than N request starts in any PERIOD\n"
        "(sliding: 5000/h, 100/15m, 10/s), retries included",
        set_window, WINDOW_LIMIT),
    LIB("host-window-limit", 0, "N/PERIOD", "the same for each host on its own", set_window,
        HOST_WINDOW_LIMIT),
    LIB("deadline", 0, "DUR", "whole request, retries and waits included (default none)",
        lib_duration, DEADLINE_MS),
    LIB("jitter", 0, "KIND",
        "full (default) or decorrelated backoff, or none:\n"
        "exactly base, 2x, 4x... up to --retry-cap",
        set_jitter, RETRY_JITTER),
    LIB("retry-budget", 0, "N",
        "retry tokens (a retry costs 5, 10 after a timeout; a\n"
        "success earns 1); 0 = unlimited (default 500)",
        lib_int, RETRY_BUDGET),
    FLD("control", 0, "FILE",
        "change limits while running: FILE holds lines such as\n"
        "'rate 50/s', 'concurrency 20', 'host-rate auto',\n"
        "'retries 3'; re-read when it changes and on SIGHUP",
        str_field, control),
    LIB("breaker", 0, "N",
        "fail a host's requests at once after N consecutive\n"
        "connection failures (default 5, 0 = off), probing again\n"
        "after --breaker-cooldown DUR (default 5s, doubling)",
        lib_int, BREAKER_THRESHOLD),
    LIB("breaker-cooldown", 0, "DUR", NULL, lib_duration, BREAKER_COOLDOWN_MS),
    LIB("insecure", 'k', NULL, "do not verify TLS certificates (never the default)", lib_flag,
        VERIFY_TLS),
    FLD("cacert", 0, "FILE", "trust the CA certificates in FILE (PEM)", str_field, cacert),
    TEXT("      --http1.1 | --http2 | --http2-prior-knowledge\n"),
    LIBN("http1.1", 0, NULL, NULL, lib_flag, HTTP_VERSION, FLURRY_HTTP_1_1),
    LIBN("http2", 0, NULL, NULL, lib_flag, HTTP_VERSION, FLURRY_HTTP_2),
    LIBN("http2-prior-knowledge", 0, NULL, NULL, lib_flag, HTTP_VERSION,
         FLURRY_HTTP_2_PRIOR_KNOWLEDGE),
    FLD("ordered", 0, NULL, "write results in input order (bounded reorder window)", flag_field,
        ordered),
    RANGE("reorder-window", 0, "N", "results held back at most (default 4 x concurrency, >= 256)",
          int_field, reorder_window, 1, 10000000),
    FLD("no-body", 0, NULL, "leave the body out of records", flag_field, no_body),
    FLD("headers", 0, NULL, "include response headers in records", flag_field, with_headers),
    FLD("timings", 0, NULL, "include timings (dns, connect, tls, first byte, total)", flag_field,
        with_timings),
    FLD("attempts", 0, NULL, "include each attempt's status, error, wait and start", flag_field,
        with_attempts),
    FLD("strict", 0, NULL, "stop at the first bad input line (exit 2)", flag_field, strict),
    TEXT("\nSessions:\n"),
    LIBN("cookies", 0, NULL,
         "remember cookies for the run (libcurl's engine: each\n"
         "goes only to the site that set it), as a session does",
         lib_flag, COOKIES, 1),
    FLD("cookie-jar", 0, "FILE",
        "the same, loaded from FILE (curl's Netscape format;\n"
        "missing: empty) and saved to it at the end (mode 0600)",
        str_field, cookie_jar),
    FN("cookie", 'b', "NAME=VALUE",
       "send this cookie (repeatable) to each request's own\n"
       "origin, never after a redirect to another",
       add_cookie),
    TEXT("\nStatus and body rules (LIST: statuses and classes, e.g. 404,409,5xx):\n"),
    FLD("retry-on", 0, "LIST",
        "statuses retried (with --retries), instead of\n"
        "408,429,500,502,503,504",
        str_field, retry_on),
    FLD("ok-status", 0, "LIST", "statuses that are data, not errors: ok, exit 0", str_field,
        ok_status),
    FLD("fail-if", 0, "EXPR",
        "a 2xx whose body makes EXPR true fails (http,\n"
        "detail body_rule): e.g. '.errors' for GraphQL",
        str_field, fail_if),
    FLD("strict-json", 0, NULL,
        "a body declared JSON that does not parse fails\n"
        "(protocol, bad_json); without it: \"invalid_json\":true",
        flag_field, strict_json),
    FLD("fail-fast", 0, NULL,
        "the first failed request cancels the rest (recorded\n"
        "as cancelled; lines not read yet are not), exit 1",
        flag_field, fail_fast),
    TEXT("\nPages, follow-ups, joins (EXPR: jq, compiled before anything is sent):\n"),
    LVL("paginate", 0, "SPEC",
        "follow the pages of each request: link (the Link\n"
        "header's rel=\"next\"), EXPR (the next URL from the\n"
        "body, e.g. .next), NAME=EXPR (a cursor from the body\n"
        "put in {NAME}, e.g. cursor=.meta.next_cursor),\n"
        "NAME=START.. (page numbers) or NAME=START..+STEP\n"
        "(offsets); pages known up front (rel=\"last\",\n"
        "X-Total-Count, --total) go out at once",
        level_str, paginate),
    LVL("items", 0, "EXPR", "one record per output of EXPR on each page (.[])", level_str, items),
    LVL("stop-when", 0, "EXPR", "the last page is the one where EXPR is true", level_str,
        stop_when),
    LVL("total", 0, "EXPR", "the item count, from the first page's body", level_str, total),
    {{"max-pages", 0, "N", "at most N pages per chain", 0},
     level_int,
     0,
     1,
     BIG,
     offsetof(cli_level, max_pages)},
    FN("each", 0, "EXPR TEMPLATE",
       "a follow-up request for each output of EXPR on a\n"
       "response: {} is the output, {.field} a field of it;\n"
       "repeat for deeper levels (records: the last level's).\n"
       "-X, -d, --json and the paging options after it are its",
       set_each),
    RANGE("dedup-limit", 0, "N",
          "identical follow-ups made once: remember up to N\n"
          "(default 1000000, 16 bytes each; 0 = off)",
          int_field, dedup_limit, 0, BIG),
    FN("join", 0, "NAME=TEMPLATE",
       "(repeatable) call every TEMPLATE for each line at\n"
       "once, write one record {NAME: body, ...}",
       add_join),
    FLD("reduce", 0, "EXPR", "transform a --join record's merged body", str_field, reduce),
    TEXT("\nGraphQL (level options, as -X and --json):\n"),
    FN("graphql", 0, "QUERY|@FILE",
       "POST {\"query\": QUERY, \"variables\": the line (a JSON\n"
       "object)} to the URL; a 200 with an \"errors\" array fails\n"
       "(http, detail graphql_errors)",
       set_graphql),
    FN("graphql-pages", 0, "[VAR=]PATH",
       "cursor pages: PATH's pageInfo {hasNextPage endCursor}\n"
       "gives the next page's $VAR (default after)",
       set_graphql_pages),
    FN("graphql-errors", 0, "WHEN",
       "fail (default) or ok: a 200 with errors is data\n"
       "(partial results)",
       set_graphql_errors),
    TEXT("\nStreams (records written as they come, one JSON line each: id, seq, data\n"
         "and for SSE event and event_id; then the usual result with \"stream\"):\n"),
    FN("stream", 0, "MODE",
       "ndjson (a JSON value per line), sse (Server-Sent\n"
       "Events, reconnecting with Last-Event-ID) or lines",
       set_stream),
    RANGE("max-record", 0, "SIZE", "largest record (default 1M): past it, too_large", size_field,
          max_record, 16, 1024LL * 1024 * 1024),
    RANGE("max-reconnects", 0, "N", "SSE reconnects in all (default 5), then error stream",
          int_field, max_reconnects, 0, 1000000),
    RANGE("sse-retry", 0, "DUR",
          "SSE delay before a reconnect when the server sent no\n"
          "retry: (default 3s; a server's is capped at 60s)",
          duration_field, sse_retry_ms, 0, 60000),
    RANGE("max-records", 0, "N", "stop each stream after N records (end: stopped)", int_field,
          max_records, 1, BIG),
    FN("reconnect", 0, "WHEN",
       "SSE: never, on-error (not after a clean end) or always\n"
       "(default). Only GET/HEAD, an Idempotency-Key or\n"
       "--retry-post are repeated: other streams never reconnect",
       set_reconnect),
    FN("stream-until", 0, "DATA",
       "end each stream at the record whose data is DATA\n"
       "(e.g. '[DONE]'; not written; end: sentinel)",
       set_stream_until),
    TEXT("      (a stream has no --timeout: --idle-timeout and --deadline bound it)\n"
         "\nHTTP cache (RFC 9111; one SQLite file shared by runs and processes):\n"),
    FLD("cache", 0, "FILE",
        "answer GET and HEAD from FILE while fresh, revalidate\n"
        "stale ones (a 304 serves the stored body), store what\n"
        "the server allows; \":memory:\" for this run only.\n"
        "Records get \"cache\": hit, revalidated, miss, stale\n"
        "or bypass",
        str_field, cache),
    LIB("cache-ttl", 0, "DUR", "keep responses fresh for DUR whatever the server says",
        lib_duration, CACHE_TTL_MS),
    LIBN("offline", 0, NULL,
         "only the cache, fresh or stale; a miss is an error\n"
         "(connect, detail cache_miss)",
         lib_flag, CACHE_MODE, FLURRY_CACHE_OFFLINE),
    LIBN("refresh", 0, NULL, "revalidate every stored response, fresh or not", lib_flag, CACHE_MODE,
         FLURRY_CACHE_REFRESH),
    LIB("cache-max", 0, "SIZE", "evict the least recently used entries past SIZE", lib_size,
        CACHE_MAX_BYTES),
    TEXT("\nLong jobs:\n"),
    FLD("resume", 0, NULL,
        "with -o FILE: skip requests FILE already holds (kill\n"
        "the run any time, run it again: nothing lost, nothing\n"
        "twice); a changed command is refused",
        flag_field, resume),
    FLD("retry-failed", 0, NULL, "with --resume: also redo the ones that failed", flag_field,
        retry_failed),
    FN("shard", 0, "K/N",
       "only this machine's K-th of N shares of the input,\n"
       "split by request identity (the same on every machine)",
       set_shard),
    FLD("fsync", 0, "WHEN",
        "never, batch (default with -o: at most once a second)\n"
        "or always (every batch of records before going on)",
        set_fsync, fsync_mode), /* field: for the row's shape only */
    RANGE("grace", 0, "DUR",
          "after Ctrl-C, wait this long for requests in flight\n"
          "(default 30s), then cancel them",
          duration_field, grace_ms, 0, 7 * 24 * 3600 * 1000LL),
    FLD("stats-json", 0, "FILE", "write the final summary as JSON", str_field, stats_json),
    FLD("progress", 0, "WHEN",
        "auto (a redrawn line on a terminal, else a line every\n"
        "10 s), always (every 2 s when not a terminal), never",
        set_progress, progress),
    FLD("quiet", 'q', NULL, "no progress, no summary", flag_field, quiet),
    RANGE("max-line", 0, "SIZE", "longest input line (default 1M)", size_field, max_line, 16,
          1024LL * 1024 * 1024),
    TEXT("\nWorkers (flurry work; flurry enqueue --help), many machines on one job:\n"),
    FLD("redis", 0, "URL",
        "redis://[:PASSWORD@]HOST[:PORT][/DB]: take requests\n"
        "from --stream KEY (its lines as above) in consumer\n"
        "group --group NAME, write records to --results KEY\n"
        "(default KEY:results), acknowledge each request only\n"
        "once its records are stored: one result per request",
        str_field, work.redis),
    FLD("group", 0, "NAME", NULL, str_field, work.group),
    FLD("results", 0, "KEY", NULL, str_field, work.results),
    FLD("consumer", 0, "NAME", "this worker's name in the group (default HOST-PID)", str_field,
        work.consumer),
    RANGE("claim-after", 0, "DUR",
          "take over another worker's requests pending this long\n"
          "(a worker that died; default 60s)",
          duration_field, work.claim_after_ms, 1, 7 * 24 * 3600 * 1000LL),
    RANGE("max-deliveries", 0, "N",
          "a request failing with a retryable error (connect,\n"
          "reset, timeout, 408/429/5xx) or never finished is\n"
          "delivered again, up to N times (default 5), then goes\n"
          "to --dead KEY (default KEY:dead) with its last record",
          int_field, work.max_deliveries, 1, 1000000),
    FLD("dead", 0, "KEY", NULL, str_field, work.dead),
    FN("rate-scope", 0, "SCOPE",
       "local (default): --rate and --host-rate per worker;\n"
       "shared: for all the group's workers together (GCRA in\n"
       "Redis)",
       set_rate_scope),
    FLD("drain", 0, NULL, "exit once the stream has nothing left for the group", flag_field,
        work.drain),
    FLD("status", 0, NULL, "print the group's lag, pending and consumers (JSON), exit", flag_field,
        work.status),
    FN("help", 'h', NULL, "this help;   --version  the version", show_help),
    FN("version", 0, NULL, NULL, show_version),
};

static int show_help(cli_opts *o, const opt_row *r, const char *v) {
  (void)o, (void)r, (void)v;
  fputs(usage_text, stdout);
  fl_args_help(&args, stdout);
  fputs(usage_tail, stdout);
  return 1;
}

/* A positional argument: the URL template, or the last --each's. */
static int positional(cli_opts *o, const char *arg, int *want_template) {
  cli_level *l = &o->levels[o->nlevels - 1];
  if (*want_template || (o->nlevels == 1 && l->template_url == NULL)) {
    l->template_url = arg;
    *want_template = 0;
    return 0;
  }
  fprintf(stderr,
          "flurry: unexpected argument '%s' (one URL template at most, then one "
          "after each --each; quote them)\n",
          arg);
  return 2;
}

static int usage_error(const char *msg) {
  fprintf(stderr, "flurry: %s (see flurry --help)\n", msg);
  return 2;
}

/* --graphql and --graphql-pages on a level. 0 or 2 after a message. */
static int graphql_level(const cli_opts *o, cli_level *l) {
  if (l->graphql_pages && !l->graphql)
    return usage_error("--graphql-pages goes with --graphql (on the same level)");
  if (l->graphql_pages && l->paginate)
    return usage_error("--graphql-pages is the level's paginator: not with --paginate");
  if (l->graphql && l->data)
    return usage_error("--graphql builds the body: not with -d or --json");
  if (l->graphql && l->template_url == NULL)
    return usage_error("--graphql needs the endpoint's URL as the URL template");
  if (l->graphql_pages)
    l->paginate = l->paginate_owned;
  l->graphql_flags = o->graphql_errors_ok ? FLURRY_GRAPHQL_ERRORS_OK : 0;
  return 0;
}

/* flurry work's options: with it only, and what it needs. 0 or 2. */
static int check_work(cli_opts *o) {
  cli_work_opts *w = &o->work;
  if (!w->on) {
    if (w->redis || w->group || w->results || w->dead || w->consumer || w->claim_after_ms ||
        w->max_deliveries || w->rate_scope_set || w->drain || w->status)
      return usage_error("--redis, --group, --results, --dead, --consumer, --claim-after, "
                         "--max-deliveries, --rate-scope, --drain and --status go with "
                         "flurry work");
    return 0;
  }
  if (!w->redis || !w->stream || !w->group)
    return usage_error("flurry work needs --redis URL, --stream KEY and --group NAME");
  if (o->input || o->output || o->resume || o->ordered)
    return usage_error("flurry work reads --stream and writes --results: no --input, "
                       "--output, --resume, --retry-failed or --ordered");
  if (o->njoins || o->tree)
    return usage_error("flurry work: one record per request: no --paginate, --items, --each "
                       "or --join (yet)");
  if (w->claim_after_ms == 0)
    w->claim_after_ms = 60000;
  if (w->max_deliveries == 0)
    w->max_deliveries = 5;
  return 0;
}

/* What the options mean together. 0 or 2 after a message. */
static int check_levels(cli_opts *o) {
  for (size_t i = 0; i < o->nlevels; i++) {
    const cli_level *l = &o->levels[i];
    if (i > 0 && l->template_url == NULL)
      return usage_error("--each EXPR needs a TEMPLATE after it");
    if (graphql_level(o, &o->levels[i]) != 0)
      return 2;
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
                          o->max_records || o->stream_until))
    return usage_error("--max-record, --max-reconnects, --sse-retry, --max-records and "
                       "--stream-until go with --stream");
  if (o->stream_until &&
      strlen(o->stream_until) > (size_t)(o->max_record ? o->max_record : 1024 * 1024))
    return usage_error("--stream-until: longer than a record may be (--max-record)");
  if (o->reconnect_mode && o->stream_mode != FLURRY_STREAM_SSE)
    return usage_error("--reconnect goes with --stream sse");
  if (o->stream_mode && (o->tree || o->njoins || o->ordered || o->resume || o->retry_failed))
    return usage_error("--stream writes records as they come: not with --paginate, --items, "
                       "--each, --join, --ordered or --resume");
  return 0;
}

typedef struct parse_ctx {
  cli_opts *o;
  int want_template; /* the argument after --each EXPR is its TEMPLATE */
} parse_ctx;

static int one_arg(const fl_arg *row, const char *v, void *ud) {
  parse_ctx *ctx = ud;
  if (row == NULL)
    return positional(ctx->o, v, &ctx->want_template);
  const opt_row *r = FL_CONTAINER(row, opt_row, arg);
  int rc = r->set(ctx->o, r, v);
  if (rc == 0 && r->set == set_each)
    ctx->want_template = 1;
  return rc;
}

int cli_args_parse(cli_opts *o, int argc, char **argv) {
  memset(o, 0, sizeof *o);
  o->concurrency = 64;
  o->max_line = 1024 * 1024;
  o->fsync_mode = -1; /* batch for a file, never for stdout */
  o->grace_ms = 30000;
  o->dedup_limit = 1000000;
  o->max_reconnects = o->sse_retry_ms = -1;
  o->work.on = argc > 0 && strcmp(argv[0], "work") == 0;
  if (add_level(o, NULL) != 0)
    return CLI_ARGS_NOMEM;
  /* In order: options apply to the level named before them. */
  parse_ctx ctx = {o, 0};
  int rc = FL_ARGS_INIT(&args, "flurry", table, 1) != 0
               ? 2
               : fl_args_parse(&args, argc, argv, one_arg, &ctx);
  if (rc != 0)
    return rc;
  if (check_levels(o) != 0 || check_work(o) != 0)
    return 2;
  if ((o->resume || o->retry_failed) && (o->output == NULL || strcmp(o->output, "-") == 0)) {
    fprintf(stderr, "flurry: --resume needs -o FILE: the output file is the journal\n");
    return 2;
  }
  if (o->retry_failed)
    o->resume = 1;
  uint64_t cache_opts = ((uint64_t)1 << FLURRY_OPT_CACHE_MODE) |
                        ((uint64_t)1 << FLURRY_OPT_CACHE_TTL_MS) |
                        ((uint64_t)1 << FLURRY_OPT_CACHE_MAX_BYTES);
  if (o->cache == NULL && (o->opt_set & cache_opts))
    return usage_error("--cache-ttl, --offline, --refresh and --cache-max go with --cache FILE");
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
  fl_free(o->cookies);
  o->cookies = NULL;
  o->ncookies = 0;
  o->nsecret_names = 0;
  for (size_t i = 0; i < o->njoins; i++)
    fl_free(o->joins[i].name);
  fl_free(o->joins);
  o->joins = NULL;
  o->njoins = 0;
  for (size_t i = 0; i < o->nlevels; i++) {
    fl_free(o->levels[i].graphql_owned);
    fl_free(o->levels[i].paginate_owned);
  }
  fl_free(o->levels);
  o->levels = NULL;
  o->nlevels = 0;
}
