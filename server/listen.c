/* listen.c: `flurry listen`: options, secrets, start-up (event file, ids
 * read back, port on stdout, port file), signals and a clean shutdown.
 * Deliveries are handled in listen_handler.c. */
#include "listen.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "fl_args.h"
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

_Static_assert(SECRET_FILES_MAX <= LISTEN_SECRETS_MAX, "opt_list holds both");

/* The values of the options, checked as they are read (numbers in
 * range, the scheme known); the rules across options after. */
typedef struct opt_list {
  const char *v[LISTEN_SECRETS_MAX];
  size_t n;
} opt_list;

typedef struct listen_opts {
  const char *host, *port_file, *out, *path;
  flurry_webhook_scheme scheme;
  int has_scheme;
  opt_list secrets, files;
  int64_t port, tolerance_s, window_s, dedup_max, max_body, max_header;
  int64_t header_timeout_s, body_timeout_s, max_conns, max_queue;
  int fsync, headers, quiet, help;
} listen_opts;

typedef struct listen_run {
  listen_server l;
  serve_ctx s;
  const listen_opts *o;
} listen_run;

/* ---- options ------------------------------------------------------------- */

typedef struct opt_row opt_row;
typedef int (*opt_set_fn)(const fl_args *a, listen_opts *o, const opt_row *r, const char *v);

/* A row: its fl_arg (name, short name, metavar, help), and how its value
 * is taken: set(a, o, row, value) into the field, within [min, max] (a
 * list: at most max values). */
struct opt_row {
  fl_arg arg;
  opt_set_fn set;
  size_t field; /* offsetof in listen_opts */
  int64_t min, max;
};

#define FIELD(o, r, type) ((type *)(void *)((char *)(o) + (r)->field))

static int set_text(const fl_args *a, listen_opts *o, const opt_row *r, const char *v) {
  (void)a;
  *FIELD(o, r, const char *) = v;
  return 0;
}

static int set_flag(const fl_args *a, listen_opts *o, const opt_row *r, const char *v) {
  (void)a;
  (void)v;
  *FIELD(o, r, int) = 1;
  return 0;
}

static int set_int(const fl_args *a, listen_opts *o, const opt_row *r, const char *v) {
  return fl_args_int(a, &r->arg, v, r->min, r->max, FIELD(o, r, int64_t));
}

static int set_size(const fl_args *a, listen_opts *o, const opt_row *r, const char *v) {
  return fl_args_size(a, &r->arg, v, r->min, r->max, FIELD(o, r, int64_t));
}

/* A repeatable option (a secret: its value is never printed). */
static int add_value(const fl_args *a, listen_opts *o, const opt_row *r, const char *v) {
  opt_list *l = FIELD(o, r, opt_list);
  if (l->n == (size_t)r->max) {
    fprintf(stderr, "%s: at most %lld --%s options\n", a->prog, (long long)r->max, r->arg.name);
    return 2;
  }
  l->v[l->n++] = v;
  return 0;
}

static int set_scheme(const fl_args *a, listen_opts *o, const opt_row *r, const char *v) {
  if (flurry_webhook_scheme_parse(v, &o->scheme) != 0)
    return fl_args_bad(a, &r->arg, v, "expected github, stripe, standard or none");
  o->has_scheme = 1;
  return 0;
}

static int set_path(const fl_args *a, listen_opts *o, const opt_row *r, const char *v) {
  if (v[0] != '/')
    return fl_args_bad(a, &r->arg, v, "expected a path starting with /");
  o->path = v;
  return 0;
}

static int set_file(const fl_args *a, listen_opts *o, const opt_row *r, const char *v) {
  if (v[0] == '\0')
    return fl_args_bad(a, &r->arg, v, "expected a file name");
  return set_text(a, o, r, v);
}

#define F(name) offsetof(listen_opts, name)

/* --help: these lines, then the table's, then help_tail. */
static const char help_head[] =
    "usage: flurry listen --scheme github|stripe|standard|none\n"
    "                     (--secret S | --secret-file FILE)... [options]\n\n"
    "A webhook receiver: accepts POSTs, verifies each signature over the\n"
    "raw body, writes every accepted event once as a JSON line. Prints the\n"
    "bound port alone on stdout's first line; serves until "
    "SIGINT/SIGTERM.\n\n";

static const opt_row table[] = {
    {{"scheme", 0, "S",
      "github (X-Hub-Signature-256), stripe\n"
      "(Stripe-Signature), standard (Standard\n"
      "Webhooks: webhook-id/-timestamp/-signature),\n"
      "none (no verification: local testing only)",
      0},
     set_scheme,
     0,
     0,
     0},
    {{"secret", 0, "S",
      "a secret (repeatable; visible in ps: prefer\n"
      "--secret-file). standard: whsec_<base64>",
      0},
     add_value,
     F(secrets),
     0,
     LISTEN_SECRETS_MAX},
    {{"secret-file", 0, "FILE",
      "one secret per line (repeatable); blank lines\n"
      "skipped, spaces around a secret trimmed. Any\n"
      "of the secrets matching accepts (rotation)",
      0},
     add_value,
     F(files),
     0,
     SECRET_FILES_MAX},
    {{"output", 'o', "FILE",
      "append events to FILE (default: stdout); the\n"
      "ids in it are read back on start (dedup)",
      0},
     set_text,
     F(out),
     0,
     0},
    {{"fsync", 0, NULL,
      "each event is on disk (fdatasync) before its\n"
      "2xx (needs -o)",
      0},
     set_flag,
     F(fsync),
     0,
     0},
    {{"headers", 0, NULL,
      "write the request headers too (Authorization\n"
      "and Cookie redacted)",
      0},
     set_flag,
     F(headers),
     0,
     0},
    {{"path", 0, "PATH",
      "serve only PATH, compared byte for byte with\n"
      "the path as sent (else any path; 404)",
      0},
     set_path,
     F(path),
     0,
     0},
    {{"tolerance", 0, "SECONDS",
      "timestamp tolerance either way, stripe and\n"
      "standard (default 300)",
      0},
     set_int,
     F(tolerance_s),
     1,
     86400},
    {{"dedup-window", 0, "SECONDS",
      "how long a delivery id is remembered,\n"
      "across restarts (default 86400; stripe and\n"
      "standard: at least 2 x tolerance)",
      0},
     set_int,
     F(window_s),
     1,
     365 * 86400},
    {{"dedup-max", 0, "N",
      "ids remembered at most (default 1000000,\n"
      "~32 bytes each); past it the oldest go first",
      0},
     set_int,
     F(dedup_max),
     1,
     LISTEN_DEDUP_MAX_LIMIT},
    {{"max-body", 0, "BYTES",
      "413 past it (default 1M, at most 25M; k, M\n"
      "suffixes are KiB, MiB)",
      0},
     set_size,
     F(max_body),
     1,
     MAX_BODY_LIMIT},
    {{"max-header-bytes", 0, "BYTES",
      "431 for request heads past about this\n"
      "(default 32k)",
      0},
     set_size,
     F(max_header),
     8 * KIB,
     MIB},
    {{"header-timeout", 0, "SECONDS",
      "request head within this, else the\n"
      "connection is closed (default 10)",
      0},
     set_int,
     F(header_timeout_s),
     1,
     3600},
    {{"body-timeout", 0, "SECONDS", "body within this after the head (default 30)", 0},
     set_int,
     F(body_timeout_s),
     1,
     3600},
    {{"max-conns", 0, "N", "concurrent connections (default 1000)", 0},
     set_int,
     F(max_conns),
     1,
     20000},
    {{"max-queue", 0, "BYTES",
      "event lines waiting for a slow stdout (a pipe\n"
      "or terminal not read) at most (default 8M;\n"
      "one line always fits), and at most half of\n"
      "--max-conns deliveries waiting: past either,\n"
      "503 with Retry-After",
      0},
     set_size,
     F(max_queue),
     0,
     QUEUE_LIMIT},
    {{"port", 0, "N", "port to bind (default 0: any free port)", 0}, set_int, F(port), 0, 65535},
    {{"host", 0, "ADDR", "address to bind (default 127.0.0.1)", 0}, set_text, F(host), 0, 0},
    {{"port-file", 0, "FILE", "also write the port to FILE (atomically)", 0},
     set_file,
     F(port_file),
     0,
     0},
    {{"quiet", 'q', NULL, "nothing on stderr but errors", 0}, set_flag, F(quiet), 0, 0},
    {{"help", 'h', NULL, "this text", 0}, set_flag, F(help), 0, 0},
};

static const char help_tail[] =
    "\n"
    "Replies: 200 {\"ok\":true} accepted, once the line is written whole\n"
    "(\"duplicate\":true when the id was seen: not written again); 400\n"
    "malformed signature header, an id too long or not UTF-8, %00 in the\n"
    "path, or a request framed ambiguously (Content-Length with\n"
    "Transfer-Encoding, bare LF, obs-fold, ...: then the connection\n"
    "closes too); 401 missing or wrong signature, or timestamp outside the\n"
    "tolerance; 404 other path with --path (compared as sent); 405 not\n"
    "POST; 413 body too large; 431 head too large; 500 the event could not\n"
    "be written (the error is in the body); 503 (Retry-After) the output\n"
    "is backed up.\n";

static void usage(const fl_args *a, FILE *f) {
  fputs(help_head, f);
  fl_args_help(a, f);
  fputs(help_tail, f);
}

typedef struct parse_ctx {
  const fl_args *a;
  listen_opts *o;
} parse_ctx;

static int one_option(const fl_arg *row, const char *v, void *ud) {
  const parse_ctx *p = ud;
  const opt_row *r = FL_CONTAINER(row, opt_row, arg);
  return r->set(p->a, p->o, r, v);
}

static void set_defaults(listen_opts *o) {
  memset(o, 0, sizeof *o);
  o->host = "127.0.0.1";
  o->tolerance_s = FLURRY_WEBHOOK_TOLERANCE_DEFAULT;
  o->window_s = WINDOW_DEFAULT_S;
  o->dedup_max = LISTEN_DEDUP_MAX_DEFAULT;
  o->max_body = HTTPD_MAX_BODY_DEFAULT;
  o->max_header = 32 * KIB;
  o->header_timeout_s = HEADER_TIMEOUT_DEFAULT_S;
  o->body_timeout_s = BODY_TIMEOUT_DEFAULT_S;
  o->max_conns = CONNS_DEFAULT;
  o->max_queue = QUEUE_DEFAULT;
}

static int check_opts(const listen_opts *o, listen_cfg *c) {
  if (!o->has_scheme) {
    fprintf(stderr, PROG ": --scheme is required: github, stripe, standard "
                         "or none (see " PROG " --help)\n");
    return -1;
  }
  if (o->fsync && (o->out == NULL || strcmp(o->out, "-") == 0)) {
    fprintf(stderr, PROG ": --fsync needs -o FILE\n");
    return -1;
  }
  int timed = o->scheme == FLURRY_WEBHOOK_STRIPE || o->scheme == FLURRY_WEBHOOK_STANDARD;
  if (timed && o->window_s < 2 * o->tolerance_s) {
    fprintf(stderr,
            PROG ": --dedup-window must be at least 2 x --tolerance "
                 "(%lld s): a delivery stays replayable that long\n",
            (long long)(2 * o->tolerance_s));
    return -1;
  }
  c->scheme = o->scheme;
  c->tolerance_s = o->tolerance_s;
  c->window_ms = o->window_s * 1000;
  c->path = o->path;
  c->max_body = (size_t)o->max_body;
  c->max_queue = (size_t)o->max_queue;
  c->max_wait = o->max_conns > 1 ? (size_t)o->max_conns / 2 : 1;
  c->headers = o->headers;
  c->fsync = o->fsync;
  c->quiet = o->quiet;
  return 0;
}

/* ---- secrets ---------------------------------------------------------------
 */

static int add_secret(listen_cfg *c, const char *s, size_t n, const char *where) {
  if (c->nkeys == LISTEN_SECRETS_MAX) {
    fprintf(stderr, PROG ": at most %d secrets\n", LISTEN_SECRETS_MAX);
    return -1;
  }
  if (flurry_webhook_key_parse(c->scheme, s, n, &c->keys[c->nkeys]) != 0) {
    fprintf(stderr, PROG ": %s: not a valid secret for --scheme %s%s\n", where,
            flurry_webhook_scheme_name(c->scheme),
            c->scheme == FLURRY_WEBHOOK_STANDARD ? " (want whsec_<base64>)" : "");
    return -1;
  }
  c->nkeys++;
  return 0;
}

static int is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }

/* Every non-blank line of text[0..n), trimmed, as a secret. */
static int add_secret_lines(listen_cfg *c, const char *text, size_t n, const char *path) {
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
    fprintf(stderr, PROG ": cannot read '%s' (at most %d bytes)\n", path, SECRET_FILE_MAX);
  int rc = bad ? -1 : add_secret_lines(c, text, n, path);
  if (text)
    OPENSSL_cleanse(text, SECRET_FILE_MAX + 1);
  fl_free(text);
  return rc;
}

static int load_secrets(const listen_opts *o, listen_cfg *c) {
  for (size_t i = 0; i < o->secrets.n; i++)
    if (add_secret(c, o->secrets.v[i], strlen(o->secrets.v[i]), "--secret") != 0)
      return -1;
  for (size_t i = 0; i < o->files.n; i++)
    if (read_secret_file(c, o->files.v[i]) != 0)
      return -1;
  if (c->scheme != FLURRY_WEBHOOK_NONE && c->nkeys == 0) {
    fprintf(stderr, PROG ": --scheme %s needs --secret or --secret-file\n",
            flurry_webhook_scheme_name(c->scheme));
    return -1;
  }
  return 0;
}

/* Returns 0 (o->help: nothing else done), or -1 after a message. */
static int parse_opts(int argc, char **argv, listen_opts *o, listen_cfg *c) {
  fl_args a;
  set_defaults(o);
  parse_ctx p = {&a, o};
  if (FL_ARGS_INIT(&a, PROG, table, 0) != 0 || fl_args_parse(&a, argc, argv, one_option, &p) != 0)
    return -1;
  if (o->help) {
    usage(&a, stdout);
    return 0;
  }
  if (check_opts(o, c) != 0)
    return -1;
  return load_secrets(o, c);
}

/* ---- start-up --------------------------------------------------------------
 */

static int open_events(listen_server *l, const listen_opts *o) {
  char err[512];
  listen_store_loaded got;
  if (listen_dedup_new(&l->dedup, (size_t)o->dedup_max) != 0) {
    fprintf(stderr, PROG ": out of memory\n");
    return -1;
  }
  if (listen_store_open(&l->store, o->out, err, sizeof err) != 0 ||
      listen_store_load(&l->store, l->dedup, listen_now_ms(), l->cfg.window_ms, &got, err,
                        sizeof err) != 0) {
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

static void fill_httpd_opts(httpd_opts *ho, listen_server *l, const listen_opts *o) {
  memset(ho, 0, sizeof *ho);
  ho->host = o->host;
  ho->port = (uint16_t)o->port;
  ho->max_body = l->cfg.max_body;
  ho->conn_limit = (unsigned)o->max_conns;
  ho->conn_memory = (size_t)o->max_header;
  ho->header_timeout_ms = (unsigned)o->header_timeout_s * 1000u;
  ho->body_timeout_ms = (unsigned)o->body_timeout_s * 1000u;
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
  if (r->l.cfg.scheme == FLURRY_WEBHOOK_NONE)
    fprintf(stderr, PROG ": warning: --scheme none: deliveries are NOT "
                         "verified (local testing only)\n");
  if (!o->quiet)
    fprintf(stderr,
            PROG ": listening on http://%s:%u%s (scheme %s, %zu "
                 "secret%s, events to %s)\n",
            o->host, port, o->path ? o->path : "/", flurry_webhook_scheme_name(r->l.cfg.scheme),
            r->l.cfg.nkeys, r->l.cfg.nkeys == 1 ? "" : "s", r->l.store.is_file ? o->out : "stdout");
}

/* ---- main ---------------------------------------------------------------- */

static int serve(listen_run *r, const listen_opts *o) {
  httpd_opts ho;
  if (open_events(&r->l, o) != 0)
    return 1;
  fill_httpd_opts(&ho, &r->l, o);
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
  if (l->cfg.fsync && l->written > l->synced && listen_store_sync(&l->store) != 0) {
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
  listen_run r;
  uv_loop_t loop;
  memset(&r, 0, sizeof r);
  if (parse_opts(argc, argv, &o, &r.l.cfg) != 0) {
    OPENSSL_cleanse(r.l.cfg.keys, sizeof r.l.cfg.keys);
    return 2; /* said */
  }
  if (o.help)
    return 0;
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
  int status = finish(&r, serve(&r, &o));
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, PROG ": handles left open at exit\n");
    status = 1;
  }
  return status;
}
