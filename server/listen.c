/* listen.c: `flurry listen`: options, secrets, start-up (event file, ids
 * read back, port on stdout, port file), signals and a clean shutdown.
 * Deliveries are handled in listen_handler.c. */
#include "listen.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "listen_int.h"
#include "serve.h"

#define PROG "flurry listen"
#define SECRET_FILE_MAX 65536
#define SECRET_FILES_MAX 8
#define KIB 1024ll
#define MIB (1024ll * 1024ll)
#define MAX_BODY_LIMIT (25 * MIB) /* GitHub caps payloads at 25 MB */
#define WINDOW_DEFAULT_S 86400
#define HEADER_TIMEOUT_DEFAULT_S 10
#define BODY_TIMEOUT_DEFAULT_S 30
#define CONNS_DEFAULT 1000
#define LINE_SLACK (1 * MIB) /* line buffer: 2 x max body + this */
#define QUEUE_DEFAULT (8 * MIB)
#define QUEUE_LIMIT (1024 * MIB)

typedef struct listen_opts {
  const char *host, *port_str, *port_file, *out, *scheme, *path;
  const char *tolerance, *window, *dedup_max, *max_body, *max_header;
  const char *header_timeout, *body_timeout, *max_conns, *max_queue;
  const char *secrets[LISTEN_SECRETS_MAX];
  size_t nsecrets;
  const char *files[SECRET_FILES_MAX];
  size_t nfiles;
  int fsync, headers, quiet, help;
} listen_opts;

/* Everything start-up computes from the options. */
typedef struct listen_limits {
  uint16_t port;
  int64_t dedup_max, max_header, header_timeout, body_timeout, max_conns;
} listen_limits;

typedef struct listen_run {
  listen_server l;
  serve_ctx s;
  const listen_opts *o;
} listen_run;

/* ---- options ------------------------------------------------------------- */

static void usage(FILE *f) {
  fputs(
      "usage: flurry listen --scheme github|stripe|standard|none\n"
      "                     (--secret S | --secret-file FILE)... [options]\n\n"
      "A webhook receiver: accepts POSTs, verifies each signature over the\n"
      "raw body, writes every accepted event once as a JSON line. Prints the\n"
      "bound port alone on stdout's first line; serves until "
      "SIGINT/SIGTERM.\n\n"
      "  --scheme S            github (X-Hub-Signature-256), stripe\n"
      "                        (Stripe-Signature), standard (Standard\n"
      "                        Webhooks: webhook-id/-timestamp/-signature),\n"
      "                        none (no verification: local testing only)\n"
      "  --secret S            a secret (repeatable; visible in ps: prefer\n"
      "                        --secret-file). standard: whsec_<base64>\n"
      "  --secret-file FILE    one secret per line (repeatable); blank lines\n"
      "                        skipped, spaces around a secret trimmed. Any\n"
      "                        of the secrets matching accepts (rotation)\n"
      "  -o, --output FILE     append events to FILE (default: stdout); the\n"
      "                        ids in it are read back on start (dedup)\n"
      "  --fsync               each event is on disk (fdatasync) before its\n"
      "                        2xx (needs -o)\n"
      "  --headers             write the request headers too (Authorization\n"
      "                        and Cookie redacted)\n"
      "  --path PATH           serve only PATH, compared byte for byte with\n"
      "                        the path as sent (else any path; 404)\n"
      "  --tolerance SECONDS   timestamp tolerance either way, stripe and\n"
      "                        standard (default 300)\n"
      "  --dedup-window SECONDS  how long a delivery id is remembered,\n"
      "                        across restarts (default 86400; stripe and\n"
      "                        standard: at least 2 x tolerance)\n"
      "  --dedup-max N         ids remembered at most (default 1000000,\n"
      "                        ~32 bytes each); past it the oldest go first\n"
      "  --max-body BYTES      413 past it (default 1M, at most 25M; K and M\n"
      "                        suffixes are KiB and MiB)\n"
      "  --max-header-bytes BYTES  431 for request heads past about this\n"
      "                        (default 32K)\n"
      "  --header-timeout SECONDS  request head within this, else the\n"
      "                        connection is closed (default 10)\n"
      "  --body-timeout SECONDS    body within this after the head (default\n"
      "                        30)\n"
      "  --max-conns N         concurrent connections (default 1000)\n"
      "  --max-queue BYTES     event lines waiting for a slow stdout (a pipe\n"
      "                        or terminal not read) at most (default 8M;\n"
      "                        one line always fits), and at most half of\n"
      "                        --max-conns deliveries waiting: past either,\n"
      "                        503 with Retry-After\n"
      "  --port N              port to bind (default 0: any free port)\n"
      "  --host ADDR           address to bind (default 127.0.0.1)\n"
      "  --port-file FILE      also write the port to FILE (atomically)\n"
      "  --quiet               nothing on stderr but errors\n"
      "  --help                this text\n\n"
      "Replies: 200 {\"ok\":true} accepted, once the line is written whole\n"
      "(\"duplicate\":true when the id was seen: not written again); 400\n"
      "malformed signature header, an id too long or not UTF-8, %00 in the\n"
      "path, or a request framed ambiguously (Content-Length with\n"
      "Transfer-Encoding, bare LF, obs-fold, ...: then the connection\n"
      "closes too); 401 missing or wrong signature, or timestamp outside the\n"
      "tolerance; 404 other path with --path (compared as sent); 405 not\n"
      "POST; 413 body too large; 431 head too large; 500 the event could not\n"
      "be written (the error is in the body); 503 (Retry-After) the output\n"
      "is backed up.\n",
      f);
}

/* A repeatable option: the value goes to list[*n]. Returns as opt_value. */
static int opt_repeat(int argc, char **argv, int *i, const char *name,
                      const char **list, size_t *n, size_t max) {
  const char *v = NULL;
  int rc = serve_opt_value(argc, argv, i, name, &v);
  if (rc <= 0)
    return rc;
  if (*n == max) {
    fprintf(stderr, PROG ": at most %zu %s options\n", max, name);
    return -1;
  }
  list[(*n)++] = v;
  return 1;
}

static int opt_flag(const char *a, listen_opts *o) {
  if (strcmp(a, "--fsync") == 0)
    o->fsync = 1;
  else if (strcmp(a, "--headers") == 0)
    o->headers = 1;
  else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0)
    o->quiet = 1;
  else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
    o->help = 1;
  else
    return 0;
  return 1;
}

static int parse_one(int argc, char **argv, int *i, listen_opts *o) {
  const struct {
    const char *name;
    const char **dest;
  } valued[] = {
      {"--port", &o->port_str},
      {"--host", &o->host},
      {"--port-file", &o->port_file},
      {"--output", &o->out},
      {"-o", &o->out},
      {"--scheme", &o->scheme},
      {"--path", &o->path},
      {"--tolerance", &o->tolerance},
      {"--dedup-window", &o->window},
      {"--dedup-max", &o->dedup_max},
      {"--max-body", &o->max_body},
      {"--max-header-bytes", &o->max_header},
      {"--header-timeout", &o->header_timeout},
      {"--body-timeout", &o->body_timeout},
      {"--max-conns", &o->max_conns},
      {"--max-queue", &o->max_queue},
  };
  const char *a = argv[*i];
  if (opt_flag(a, o))
    return 0;
  int rc = opt_repeat(argc, argv, i, "--secret", o->secrets, &o->nsecrets,
                      LISTEN_SECRETS_MAX);
  if (rc == 0)
    rc = opt_repeat(argc, argv, i, "--secret-file", o->files, &o->nfiles,
                    SECRET_FILES_MAX);
  for (size_t k = 0; rc == 0 && k < sizeof valued / sizeof valued[0]; k++)
    rc = serve_opt_value(argc, argv, i, valued[k].name,
                         valued[k].dest);
  if (rc == 0)
    fprintf(stderr, PROG ": unknown option '%s'\n", a);
  else if (rc < 0 && *i + 1 >= argc)
    fprintf(stderr, PROG ": %s needs a value\n", a);
  return rc > 0 ? 0 : -1;
}

/* s (NULL: def) as an integer in [min, max], with a K or M suffix (KiB,
 * MiB) when sized. Returns 0, or -1 after a message naming the option. */
static int num_opt(const char *name, const char *s, int sized, int64_t min,
                   int64_t max, int64_t def, int64_t *out) {
  int64_t mult = 1, v = 0;
  size_t n = s ? strlen(s) : 0;
  *out = def;
  if (s == NULL)
    return 0;
  if (sized && n > 0 && (s[n - 1] == 'K' || s[n - 1] == 'k'))
    mult = KIB, n--;
  else if (sized && n > 0 && (s[n - 1] == 'M' || s[n - 1] == 'm'))
    mult = MIB, n--;
  if (fl_parse_i64(s, n, 0, INT64_MAX / MIB, &v) == 0 && v * mult >= min &&
      v * mult <= max) {
    *out = v * mult;
    return 0;
  }
  fprintf(stderr, PROG ": %s wants %lld..%lld%s, got '%s'\n", name,
          (long long)min, (long long)max, sized ? " (K, M suffixes)" : "", s);
  return -1;
}

static int parse_numbers(const listen_opts *o, listen_cfg *c,
                         listen_limits *lim) {
  int64_t window_s = 0, max_body = 0;
  int bad = serve_parse_port(PROG, o->port_str, &lim->port);
  bad |= num_opt("--tolerance", o->tolerance, 0, 1, 86400,
                 SIG_TOLERANCE_DEFAULT, &c->tolerance_s);
  bad |= num_opt("--dedup-window", o->window, 0, 1, 365 * 86400,
                 WINDOW_DEFAULT_S, &window_s);
  bad |= num_opt("--dedup-max", o->dedup_max, 0, 1, LISTEN_DEDUP_MAX_LIMIT,
                 LISTEN_DEDUP_MAX_DEFAULT, &lim->dedup_max);
  bad |= num_opt("--max-body", o->max_body, 1, 1, MAX_BODY_LIMIT,
                 HTTPD_MAX_BODY_DEFAULT, &max_body);
  bad |= num_opt("--max-header-bytes", o->max_header, 1, 8 * KIB, MIB, 32 * KIB,
                 &lim->max_header);
  bad |= num_opt("--header-timeout", o->header_timeout, 0, 1, 3600,
                 HEADER_TIMEOUT_DEFAULT_S, &lim->header_timeout);
  bad |= num_opt("--body-timeout", o->body_timeout, 0, 1, 3600,
                 BODY_TIMEOUT_DEFAULT_S, &lim->body_timeout);
  bad |= num_opt("--max-conns", o->max_conns, 0, 1, 20000, CONNS_DEFAULT,
                 &lim->max_conns);
  int64_t max_queue = 0;
  bad |= num_opt("--max-queue", o->max_queue, 1, 0, QUEUE_LIMIT, QUEUE_DEFAULT,
                 &max_queue);
  c->max_queue = (size_t)max_queue;
  c->max_wait = lim->max_conns > 1 ? (size_t)lim->max_conns / 2 : 1;
  int timed = c->scheme == SIG_STRIPE ||
              c->scheme == SIG_STANDARD;
  if (!bad && timed && window_s < 2 * c->tolerance_s) {
    fprintf(stderr,
            PROG ": --dedup-window must be at least 2 x --tolerance "
                 "(%lld s): a delivery stays replayable that long\n",
            (long long)(2 * c->tolerance_s));
    bad = -1;
  }
  c->window_ms = window_s * 1000;
  c->max_body = (size_t)max_body;
  return bad ? -1 : 0;
}

/* ---- secrets ---------------------------------------------------------------
 */

static int add_secret(listen_cfg *c, const char *s, size_t n,
                      const char *where) {
  if (c->nkeys == LISTEN_SECRETS_MAX) {
    fprintf(stderr, PROG ": at most %d secrets\n", LISTEN_SECRETS_MAX);
    return -1;
  }
  if (sig_key_parse(c->scheme, s, n, &c->keys[c->nkeys]) != 0) {
    fprintf(stderr, PROG ": %s: not a valid secret for --scheme %s%s\n", where,
            sig_scheme_name(c->scheme),
            c->scheme == SIG_STANDARD ? " (want whsec_<base64>)" : "");
    return -1;
  }
  c->nkeys++;
  return 0;
}

static int is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }

/* Every non-blank line of text[0..n), trimmed, as a secret. */
static int add_secret_lines(listen_cfg *c, const char *text, size_t n,
                            const char *path) {
  size_t line = 0;
  for (size_t i = 0; i < n;) {
    const char *nl = memchr(text + i, '\n', n - i);
    size_t end = nl ? (size_t)(nl - text) : n, a = i, b = end;
    line++;
    while (a < b && is_blank(text[a]))
      a++;
    while (b > a && is_blank(text[b - 1]))
      b--;
    char where[256];
    snprintf(where, sizeof where, "%s line %zu", path, line);
    if (b > a && add_secret(c, text + a, b - a, where) != 0)
      return -1;
    i = end + 1;
  }
  return 0;
}

static int read_secret_file(listen_cfg *c, const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, PROG ": cannot open '%s': %s\n", path, strerror(errno));
    return -1;
  }
  char *text = fl_malloc(SECRET_FILE_MAX + 1);
  size_t n = text ? fread(text, 1, SECRET_FILE_MAX + 1, f) : 0;
  int bad = text == NULL || ferror(f) || n > SECRET_FILE_MAX;
  fclose(f);
  if (bad)
    fprintf(stderr, PROG ": cannot read '%s' (at most %d bytes)\n", path,
            SECRET_FILE_MAX);
  int rc = bad ? -1 : add_secret_lines(c, text, n, path);
  if (text)
    OPENSSL_cleanse(text, SECRET_FILE_MAX + 1);
  fl_free(text);
  return rc;
}

static int load_secrets(const listen_opts *o, listen_cfg *c) {
  for (size_t i = 0; i < o->nsecrets; i++)
    if (add_secret(c, o->secrets[i], strlen(o->secrets[i]), "--secret") != 0)
      return -1;
  for (size_t i = 0; i < o->nfiles; i++)
    if (read_secret_file(c, o->files[i]) != 0)
      return -1;
  if (c->scheme != SIG_NONE && c->nkeys == 0) {
    fprintf(stderr, PROG ": --scheme %s needs --secret or --secret-file\n",
            sig_scheme_name(c->scheme));
    return -1;
  }
  return 0;
}

static int parse_opts(int argc, char **argv, listen_opts *o,
                      listen_cfg *c, listen_limits *lim) {
  memset(o, 0, sizeof *o);
  o->host = "127.0.0.1";
  for (int i = 1; i < argc; i++)
    if (parse_one(argc, argv, &i, o) != 0)
      return -1;
  if (o->help)
    return 0;
  if (o->scheme == NULL || sig_scheme_parse(o->scheme, &c->scheme)) {
    fprintf(stderr, PROG ": --scheme wants github, stripe, standard or none\n");
    return -1;
  }
  if ((o->port_file && !o->port_file[0]) || (o->path && o->path[0] != '/')) {
    fprintf(stderr, PROG ": --port-file needs a name, --path starts with /\n");
    return -1;
  }
  if (o->fsync && (o->out == NULL || strcmp(o->out, "-") == 0)) {
    fprintf(stderr, PROG ": --fsync needs -o FILE\n");
    return -1;
  }
  c->path = o->path;
  c->headers = o->headers;
  c->fsync = o->fsync;
  c->quiet = o->quiet;
  if (parse_numbers(o, c, lim) != 0)
    return -1;
  return load_secrets(o, c);
}

/* ---- start-up --------------------------------------------------------------
 */

static int open_events(listen_server *l, const listen_opts *o,
                       const listen_limits *lim) {
  char err[512];
  listen_store_loaded got;
  if (listen_dedup_new(&l->dedup, (size_t)lim->dedup_max) != 0) {
    fprintf(stderr, PROG ": out of memory\n");
    return -1;
  }
  if (listen_store_open(&l->store, o->out, err, sizeof err) != 0 ||
      listen_store_load(&l->store, l->dedup, listen_now_ms(),
                        l->cfg.window_ms, &got, err, sizeof err) != 0) {
    fprintf(stderr, PROG ": %s\n", err);
    return -1;
  }
  if (l->cfg.fsync && !l->store.is_file) {
    fprintf(stderr, PROG ": --fsync needs a regular file\n");
    return -1;
  }
  if (got.repaired)
    fprintf(stderr,
            PROG ": warning: '%s' did not end with a newline (a "
                 "crash?): one was added\n",
            o->out);
  if (!o->quiet && l->store.is_file)
    fprintf(stderr,
            PROG ": %s: %llu lines, %llu ids within the dedup window "
                 "loaded%s\n",
            o->out, (unsigned long long)got.lines, (unsigned long long)got.ids,
            got.foreign ? " (some lines not "
                          "ours: skipped)"
                        : "");
  return 0;
}

static void fill_httpd_opts(httpd_opts *ho, listen_server *l,
                            const listen_opts *o, const listen_limits *lim) {
  memset(ho, 0, sizeof *ho);
  ho->host = o->host;
  ho->port = lim->port;
  ho->max_body = l->cfg.max_body;
  ho->conn_limit = (unsigned)lim->max_conns;
  ho->conn_memory = (size_t)lim->max_header;
  ho->header_timeout_ms = (unsigned)lim->header_timeout * 1000u;
  ho->body_timeout_ms = (unsigned)lim->body_timeout * 1000u;
  ho->log_errors = !o->quiet;
  ho->on_request = listen_on_request;
  ho->on_abandon = listen_on_abandon;
  ho->user = l;
}

static void on_stop(void *arg) {
  listen_run *r = arg;
  listen_out_stop(&r->l); /* waiting replies are abandoned next */
}

static void banner(void *arg, unsigned port) {
  listen_run *r = arg;
  const listen_opts *o = r->o;
  listen_out_start(&r->l); /* after the port line */
  if (r->l.cfg.scheme == SIG_NONE)
    fprintf(stderr, PROG ": warning: --scheme none: deliveries are NOT "
                         "verified (local testing only)\n");
  if (!o->quiet)
    fprintf(stderr,
            PROG ": listening on http://%s:%u%s (scheme %s, %zu "
                 "secret%s, events to %s)\n",
            o->host, port, o->path ? o->path : "/",
            sig_scheme_name(r->l.cfg.scheme), r->l.cfg.nkeys,
            r->l.cfg.nkeys == 1 ? "" : "s",
            r->l.store.is_file ? o->out : "stdout");
}

/* ---- main ---------------------------------------------------------------- */

static int serve(listen_run *r, const listen_opts *o,
                 const listen_limits *lim) {
  httpd_opts ho;
  if (open_events(&r->l, o, lim) != 0)
    return 1;
  fill_httpd_opts(&ho, &r->l, o, lim);
  r->o = o;
  r->s.prog = PROG;
  r->s.port_file = o->port_file;
  r->s.quiet = o->quiet;
  r->s.on_ready = banner;
  r->s.on_stop = on_stop;
  r->s.arg = r;
  return serve_run(&r->s, r->l.loop, &ho);
}

static int finish(listen_run *r, int status) {
  listen_server *l = &r->l;
  listen_free_waits(l);
  if (l->cfg.fsync && l->written > l->synced &&
      listen_store_sync(&l->store) != 0) {
    fprintf(stderr, PROG ": fdatasync: %s\n", strerror(errno));
    status = 1;
  }
  if (!l->cfg.quiet && status == 0)
    fprintf(stderr,
            PROG ": %llu accepted, %llu duplicates, %llu rejected, "
                 "%llu failed, %llu refused while the output was backed up\n",
            (unsigned long long)l->accepted, (unsigned long long)l->duplicates,
            (unsigned long long)l->rejected, (unsigned long long)l->failed,
            (unsigned long long)l->busy);
  listen_store_close(&l->store);
  listen_dedup_free(l->dedup);
  fl_buf_free(&l->line);
  fl_buf_free(&l->json);
  fl_buf_free(&l->scratch);
  OPENSSL_cleanse(l->cfg.keys, sizeof l->cfg.keys);
  return status;
}

int cli_listen_main(int argc, char **argv) {
  listen_opts o;
  listen_limits lim;
  listen_run r;
  uv_loop_t loop;
  memset(&r, 0, sizeof r);
  memset(&lim, 0, sizeof lim);
  if (parse_opts(argc, argv, &o, &r.l.cfg, &lim) != 0) {
    fprintf(stderr, "usage: flurry listen --scheme S --secret-file FILE "
                    "[-o FILE] [--port N] ... (see --help)\n");
    OPENSSL_cleanse(r.l.cfg.keys, sizeof r.l.cfg.keys);
    return 2;
  }
  if (o.help) {
    usage(stdout);
    return 0;
  }
  signal(SIGPIPE, SIG_IGN);
  if (uv_loop_init(&loop) != 0) {
    fprintf(stderr, PROG ": cannot create the event loop\n");
    return 1;
  }
  r.l.loop = &loop;
  r.l.store.fd = -1;
  r.l.line.max = 2 * r.l.cfg.max_body + LINE_SLACK;
  r.l.json.max = r.l.cfg.max_body + 1;
  r.l.scratch.max = LINE_SLACK;
  int status = finish(&r, serve(&r, &o, &lim));
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, PROG ": handles left open at exit\n");
    status = 1;
  }
  return status;
}
