/* ws.c: `flurry ws URL`: a WebSocket session from the shell. Lines from
 * stdin go out as text messages (or, with --jsonl, {"text":...} /
 * {"binary":BASE64} objects); every message received is written and flushed
 * as one JSON line with its type and a timestamp; the close comes last as
 * its own record. At the end of stdin the connection is closed normally
 * (1000) after --linger, or at once when --count messages came. */
#include <signal.h>
#include <stddef.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "fl_args.h"
#include "ws_cli.h"

#define MAX_HEADERS 64
#define HIGH_WATER (1u << 20) /* queued bytes past which stdin waits */
#define HIGH_WATER_MSGS                                                                            \
  1024 /* queued messages likewise (empty lines have no bytes);
                                under FLURRY_WS_PAUSE_MESSAGES: stdin never pauses reading */
#define DRAIN_CHECK_MS 20
#define DEFAULT_LINGER_MS 1000

typedef struct ws_cli {
  const char *url;
  const char *headers[MAX_HEADERS + 1];
  size_t nheaders;
  const char *protocols[FLURRY_WS_MAX_PROTOCOLS + 1]; /* --protocol, in order */
  size_t nprotocols;
  int jsonl, json_data, insecure, help;
  const char *cacert;
  int64_t count, linger_ms, max_line;
  flurry_ws_opts wo;
  /* run */
  uv_loop_t loop;
  flurry_client *client;
  flurry_ws *ws;
  cli_input *in;
  uv_timer_t timer; /* linger, or waiting for the send queue to drain */
  uv_signal_t sigint, sigterm;
  int open, eof, closing, done;
  int64_t received;
  int bad_input;
  int signum; /* the SIGINT or SIGTERM that closed it */
  int status;
  fl_buf out;
} ws_cli;

/* ---- options --------------------------------------------------------------- */

#define DUR_MAX (7 * 86400000LL) /* as the library's timeouts */

typedef struct opt_row opt_row;
typedef int (*opt_set_fn)(const fl_args *a, ws_cli *w, const opt_row *r, const char *v);

/* A row: its fl_arg (name, short name, metavar, help), and how its value
 * is taken: set(a, w, row, value) into the field, within [min, max]. */
struct opt_row {
  fl_arg arg;
  opt_set_fn set;
  size_t field; /* offsetof in ws_cli */
  int64_t min, max;
};

#define FIELD(w, r, type) ((type *)(void *)((char *)(w) + (r)->field))

static int set_text(const fl_args *a, ws_cli *w, const opt_row *r, const char *v) {
  (void)a;
  *FIELD(w, r, const char *) = v;
  return 0;
}

static int set_flag(const fl_args *a, ws_cli *w, const opt_row *r, const char *v) {
  (void)a;
  (void)v;
  *FIELD(w, r, int) = 1;
  return 0;
}

static int set_int(const fl_args *a, ws_cli *w, const opt_row *r, const char *v) {
  return fl_args_int(a, &r->arg, v, r->min, r->max, FIELD(w, r, int64_t));
}

static int set_size(const fl_args *a, ws_cli *w, const opt_row *r, const char *v) {
  return fl_args_size(a, &r->arg, v, r->min, r->max, FIELD(w, r, int64_t));
}

static int set_duration(const fl_args *a, ws_cli *w, const opt_row *r, const char *v) {
  return fl_args_duration(a, &r->arg, v, r->min, r->max, FIELD(w, r, int64_t));
}

static int set_max_message(const fl_args *a, ws_cli *w, const opt_row *r, const char *v) {
  int64_t n;
  if (fl_args_size(a, &r->arg, v, r->min, r->max, &n) != 0)
    return 2;
  w->wo.max_message = (size_t)n;
  return 0;
}

static int add_header(const fl_args *a, ws_cli *w, const opt_row *r, const char *v) {
  if (w->nheaders == MAX_HEADERS) {
    fprintf(stderr, "%s: at most %d --%s options\n", a->prog, MAX_HEADERS, r->arg.name);
    return 2;
  }
  if (!flurry_ws_header_valid(v))
    return fl_args_bad(a, &r->arg, v,
                       "want 'Name: value' (a token name, no CR or LF); Host, Upgrade, "
                       "Connection and Sec-WebSocket-* belong to the handshake (for "
                       "Sec-WebSocket-Protocol use --protocol)");
  w->headers[w->nheaders++] = v;
  return 0;
}

static int add_protocol(const fl_args *a, ws_cli *w, const opt_row *r, const char *v) {
  size_t n = strlen(v);
  if (w->nprotocols == FLURRY_WS_MAX_PROTOCOLS) {
    fprintf(stderr, "%s: at most %d --%s options\n", a->prog, FLURRY_WS_MAX_PROTOCOLS, r->arg.name);
    return 2;
  }
  if (n == 0 || n > 256 ||
      strspn(v, "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != n)
    return fl_args_bad(a, &r->arg, v, "want a subprotocol name (a token, e.g. graphql-ws)");
  for (size_t i = 0; i < w->nprotocols; i++)
    if (strcmp(w->protocols[i], v) == 0)
      return fl_args_bad(a, &r->arg, v, "given twice");
  w->protocols[w->nprotocols++] = v;
  return 0;
}

#define F(name) offsetof(ws_cli, name)

/* --help: these lines, then the table's, then help_tail. */
static const char help_head[] =
    "Usage: flurry ws [OPTIONS] URL < messages\n"
    "\n"
    "Opens a WebSocket (ws:// or wss://), sends each stdin line as a text message\n"
    "and writes each message received as a JSON line, flushed at once:\n"
    "  {\"type\":\"text\",\"data\":\"hi\",\"ts\":1700000000.123}\n"
    "  {\"type\":\"binary\",\"data\":BASE64,\"ts\":...}    ping and pong likewise;\n"
    "first {\"type\":\"open\",\"url\":...[,\"protocol\":CHOSEN]},\n"
    "last {\"type\":\"close\",\"code\":1000,\"reason\":\"\",\"by\":\"client\"|\"server\",...}\n"
    "with \"error\":{\"kind\",\"message\"} on failure.\n"
    "Pings are answered; an idle connection is pinged.\n"
    "\n"
    "Example: echo hi | flurry ws ws://127.0.0.1:8080/ws/echo   (flurry mock)\n"
    "\n";

static const opt_row table[] = {
    {{"header", 'H', "'Name: value'", "add a header to the handshake\n(repeatable)", 0},
     add_header,
     0,
     0,
     0},
    {{"protocol", 0, "NAME",
      "offer subprotocol NAME (repeatable, in order of\n"
      "preference); the server's choice is in the open record",
      0},
     add_protocol,
     0,
     0,
     0},
    {{"jsonl", 0, NULL, "input lines are JSON: {\"text\":\"...\"} or\n{\"binary\":\"BASE64\"}", 0},
     set_flag,
     F(jsonl),
     0,
     0},
    {{"json", 0, NULL,
      "text messages that are JSON are written as JSON\n(data is then the value, not a string)", 0},
     set_flag,
     F(json_data),
     0,
     0},
    {{"count", 0, "N",
      "close (1000) once N messages were received; exactly\n"
      "N are written (later ones are dropped, like head -n)",
      0},
     set_int,
     F(count),
     1,
     INT64_MAX},
    {{"linger", 0, "DUR", "at the end of stdin, wait DUR for replies, then\nclose (default 1s)", 0},
     set_duration,
     F(linger_ms),
     0,
     DUR_MAX},
    {{"max-message", 0, "SIZE",
      "largest message received; a larger one closes\nwith 1009 (default 1M)", 0},
     set_max_message,
     0,
     1,
     ((int64_t)1 << 31) - 1},
    {{"max-line", 0, "SIZE", "longest input line (default 1M)", 0},
     set_size,
     F(max_line),
     1,
     (int64_t)1 << 30},
    {{"connect-timeout", 0, "DUR", "(default 10s)", 0},
     set_duration,
     F(wo.connect_timeout_ms),
     1,
     DUR_MAX},
    {{"handshake-timeout", 0, "DUR", "from connected to the 101 answer (default 10s)", 0},
     set_duration,
     F(wo.handshake_timeout_ms),
     1,
     DUR_MAX},
    {{"idle-timeout", 0, "DUR", "ping after DUR/2 of silence, fail after DUR\n(default 60s)", 0},
     set_duration,
     F(wo.idle_timeout_ms),
     1,
     DUR_MAX},
    {{"close-timeout", 0, "DUR", "wait for the server's close frame (default 5s)", 0},
     set_duration,
     F(wo.close_timeout_ms),
     1,
     DUR_MAX},
    {{"insecure", 'k', NULL, "do not verify TLS certificates (never the default)", 0},
     set_flag,
     F(insecure),
     0,
     0},
    {{"cacert", 0, "FILE", "trust the CA certificates in FILE (PEM)", 0},
     set_text,
     F(cacert),
     0,
     0},
    {{"help", 'h', NULL, "this help", 0}, set_flag, F(help), 0, 0},
};

static const char help_tail[] =
    "\n"
    "DUR: 250ms, 10s, 2m, 1h or seconds. SIZE: bytes or with k, M, G.\n"
    "SIGINT or SIGTERM closes the connection with 1001 (exit 130 or 143).\n"
    "Exit: 0 the connection closed normally (1000, 1001 or no code), 1 an error\n"
    "or another close code, 2 bad usage or a bad input line.\n";

typedef struct parse_ctx {
  const fl_args *a;
  ws_cli *w;
} parse_ctx;

static int one_option(const fl_arg *row, const char *v, void *ud) {
  const parse_ctx *p = ud;
  if (row == NULL) { /* the URL */
    if (p->w->url) {
      fprintf(stderr, "flurry ws: '%s': one URL only (see flurry ws --help)\n", v);
      return 2;
    }
    p->w->url = v;
    return 0;
  }
  const opt_row *r = FL_CONTAINER(row, opt_row, arg);
  return r->set(p->a, p->w, r, v);
}

/* Returns 0, 1 (--help shown) or 2 (bad usage, message written). */
static int parse_args(ws_cli *w, int argc, char **argv) {
  fl_args a;
  parse_ctx p = {&a, w};
  w->linger_ms = DEFAULT_LINGER_MS;
  w->max_line = 1 << 20;
  if (FL_ARGS_INIT(&a, "flurry ws", table, 1) != 0 ||
      fl_args_parse(&a, argc, argv, one_option, &p) != 0)
    return 2;
  if (w->help) {
    fputs(help_head, stdout);
    fl_args_help(&a, stdout);
    fputs(help_tail, stdout);
    return 1;
  }
  if (w->url == NULL) {
    fprintf(stderr, "flurry ws: a URL is needed (see flurry ws --help)\n");
    return 2;
  }
  if (!fl_strncaseeq(w->url, "ws://", 5) && !fl_strncaseeq(w->url, "wss://", 6)) {
    fprintf(stderr, "flurry ws: '%s': want a ws:// or wss:// URL\n", w->url);
    return 2;
  }
  return 0;
}

/* ---- output ----------------------------------------------------------------- */

static void put_ts(fl_buf *b) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  (void)fl_buf_puts(b, ",\"ts\":");
  (void)fl_buf_fixed3(b, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static void emit(ws_cli *w) {
  put_ts(&w->out);
  (void)fl_buf_puts(&w->out, "}\n");
  fwrite(w->out.data, 1, w->out.len, stdout);
  fflush(stdout);
  fl_buf_reset(&w->out);
}

static const char *type_name(flurry_ws_type t) {
  switch (t) {
  case FLURRY_WS_TEXT:
    return "text";
  case FLURRY_WS_BINARY:
    return "binary";
  case FLURRY_WS_PING:
    return "ping";
  default:
    return "pong";
  }
}

static void put_data(ws_cli *w, flurry_ws_type t, const char *data, size_t len) {
  fl_buf *b = &w->out;
  fl_buf_printf(b, "{\"type\":\"%s\",\"data\":", type_name(t));
  if (t == FLURRY_WS_BINARY) {
    (void)fl_buf_putc(b, '"');
    (void)fl_base64(b, (const unsigned char *)data, len);
    (void)fl_buf_putc(b, '"');
    return;
  }
  if (t == FLURRY_WS_TEXT && w->json_data && len > 0 &&
      fl_json_compact(b, data, len, NULL) == FL_OK)
    return;
  (void)fl_json_str(b, data, len);
}

/* ---- the connection's callbacks ------------------------------------------- */

static void pump_input(ws_cli *w);

static void start_close(ws_cli *w, int code, const char *reason) {
  if (w->closing || w->done)
    return;
  w->closing = 1;
  uv_timer_stop(&w->timer);
  (void)flurry_ws_close(w->ws, code, reason);
}

static void on_open(flurry_ws *ws, void *ud) {
  ws_cli *w = ud;
  w->open = 1;
  const char *proto = flurry_ws_protocol(ws);
  (void)fl_buf_puts(&w->out, "{\"type\":\"open\",\"url\":");
  (void)fl_json_str(&w->out, w->url, strlen(w->url));
  if (proto) {
    (void)fl_buf_puts(&w->out, ",\"protocol\":");
    (void)fl_json_str(&w->out, proto, strlen(proto));
  }
  emit(w);
  pump_input(w);
}

/* --count N reached: what still comes during the close is not written
 * (N means N, like head -n). */
static int counted_out(const ws_cli *w) { return w->count && w->received >= w->count; }

static void on_control(flurry_ws *ws, flurry_ws_type t, const char *data, size_t len, void *ud) {
  ws_cli *w = ud;
  (void)ws;
  if (counted_out(w))
    return;
  put_data(w, t, data, len);
  emit(w);
}

static void on_message(flurry_ws *ws, flurry_ws_type t, const char *data, size_t len, void *ud) {
  ws_cli *w = ud;
  if (counted_out(w))
    return;
  on_control(ws, t, data, len, ud); /* the same record */
  if (w->count && ++w->received >= w->count)
    start_close(w, 1000, NULL);
}

static void on_close(flurry_ws *ws, const flurry_ws_status *st, void *ud) {
  ws_cli *w = ud;
  (void)ws;
  fl_buf *b = &w->out;
  fl_buf_printf(b, "{\"type\":\"close\",\"code\":%d,\"reason\":", st->code);
  (void)fl_json_str(b, st->reason, st->reason_len);
  fl_buf_printf(b, ",\"by\":\"%s\"",
                st->code == 1006 ? "none"
                : st->by_server  ? "server"
                                 : "client");
  if (st->http_status && st->http_status != 101)
    fl_buf_printf(b, ",\"status\":%d", st->http_status);
  if (st->err) {
    fl_buf_printf(b, ",\"error\":{\"kind\":\"%s\",\"message\":", flurry_err_name(st->err));
    (void)fl_json_str(b, st->message, strlen(st->message));
    (void)fl_buf_putc(b, '}');
  }
  emit(w);
  int normal = st->err == 0 && (st->code == 1000 || st->code == 1001 || st->code == 1005);
  w->status = w->bad_input ? 2 : w->signum ? 128 + w->signum : normal ? 0 : 1;
  w->done = 1;
  w->ws = NULL;
  uv_timer_stop(&w->timer);
  cli_input_close(w->in);
  w->in = NULL;
  uv_close((uv_handle_t *)&w->sigint, NULL);
  uv_close((uv_handle_t *)&w->sigterm, NULL);
  uv_close((uv_handle_t *)&w->timer, NULL);
}

/* ---- input ------------------------------------------------------------------ */

static void on_timer(uv_timer_t *t) {
  ws_cli *w = t->data;
  if (w->eof)
    start_close(w, 1000, NULL); /* the linger is over */
  else
    pump_input(w); /* the queue had to drain */
}

static void line_error(ws_cli *w, uint64_t lineno, const char *what) {
  fprintf(stderr, "flurry ws: input line %llu: %s (skipped)\n", (unsigned long long)lineno, what);
  w->bad_input = 1;
}

/* Queues a message; one that cannot be is a bad input line, said and
 * counted, never dropped in silence. */
static void send_line(ws_cli *w, uint64_t lineno, flurry_ws_type type, const void *p, size_t n) {
  int rc = flurry_ws_send(w->ws, type, p, n);
  if (rc == FLURRY_ETOO_LARGE)
    line_error(w, lineno, "larger than the send queue's limit: not sent");
  else if (rc != FLURRY_OK)
    line_error(w, lineno, flurry_strerror(rc));
}

static int absent(jv v) {
  return jv_get_kind(v) == JV_KIND_INVALID || jv_get_kind(v) == JV_KIND_NULL;
}

/* A --jsonl line: {"text": S} or {"binary": BASE64}. */
static void send_jsonl(ws_cli *w, const char *line, size_t len, uint64_t lineno) {
  jv v = jv_parse_sized(line, (int)len);
  jv text = jv_invalid(), bin = jv_invalid();
  if (jv_get_kind(v) == JV_KIND_OBJECT) {
    text = jv_object_get(jv_copy(v), jv_string("text"));
    bin = jv_object_get(jv_copy(v), jv_string("binary"));
  }
  int rc = FLURRY_EINVALID;
  if (jv_get_kind(text) == JV_KIND_STRING && absent(bin)) {
    send_line(w, lineno, FLURRY_WS_TEXT, jv_string_value(text),
              (size_t)jv_string_length_bytes(jv_copy(text)));
    rc = FLURRY_OK;
  } else if (jv_get_kind(bin) == JV_KIND_STRING && absent(text)) {
    size_t n = (size_t)jv_string_length_bytes(jv_copy(bin));
    unsigned char *raw = fl_malloc(n / 4 * 3 + 3);
    int got = raw && n % 4 == 0
                  ? EVP_DecodeBlock(raw, (const unsigned char *)jv_string_value(bin), (int)n)
                  : -1;
    if (got >= 0) {
      const char *s = jv_string_value(bin);
      got -= (n >= 1 && s[n - 1] == '=') + (n >= 2 && s[n - 2] == '=');
      send_line(w, lineno, FLURRY_WS_BINARY, raw, (size_t)got);
      rc = FLURRY_OK;
    } else {
      rc = -1;
    }
    fl_free(raw);
  }
  if (rc == -1)
    line_error(w, lineno, "\"binary\" is not valid base64");
  else if (rc == FLURRY_EINVALID)
    line_error(w, lineno, "want a JSON object with \"text\" (a string) or \"binary\" (base64)");
  jv_free(text);
  jv_free(bin);
  jv_free(v);
}

static void on_input(void *ud) { pump_input(ud); }

static void pump_input(ws_cli *w) {
  while (w->open && !w->eof && !w->closing && !w->done) {
    if (flurry_ws_queued(w->ws) >= HIGH_WATER ||
        flurry_ws_queued_messages(w->ws) >= HIGH_WATER_MSGS) {
      uv_timer_start(&w->timer, on_timer, DRAIN_CHECK_MS, 0);
      return;
    }
    const char *line;
    size_t len;
    uint64_t lineno;
    input_status st = cli_input_next(w->in, &line, &len, &lineno);
    if (st == INPUT_AGAIN) {
      cli_input_wait(w->in, on_input, w);
      return;
    }
    if (st == INPUT_LINE && w->jsonl)
      send_jsonl(w, line, len, lineno);
    else if (st == INPUT_LINE && !fl_utf8_valid(line, len))
      line_error(w, lineno, "not valid UTF-8, as a text message must be: not sent");
    else if (st == INPUT_LINE)
      send_line(w, lineno, FLURRY_WS_TEXT, line, len);
    else if (st == INPUT_TOO_LONG)
      line_error(w, lineno, "longer than --max-line");
    if (st == INPUT_EOF || st == INPUT_ERROR) {
      if (st == INPUT_ERROR)
        fprintf(stderr, "flurry ws: reading stdin: %s\n", cli_input_errmsg(w->in));
      w->eof = 1;
      uv_timer_start(&w->timer, on_timer, (uint64_t)w->linger_ms, 0);
    }
  }
}

static void on_signal(uv_signal_t *s, int signum) {
  ws_cli *w = s->data;
  if (w->signum == 0)
    w->signum = signum;
  start_close(w, 1001, "interrupted");
}

/* ---- main ---------------------------------------------------------------------- */

static int setup(ws_cli *w) {
  char err[256];
  if (flurry_client_new(&w->client, &w->loop) != FLURRY_OK ||
      (w->insecure && flurry_client_set(w->client, FLURRY_OPT_VERIFY_TLS, 0) != FLURRY_OK) ||
      (w->cacert && flurry_client_set_ca_file(w->client, w->cacert) != FLURRY_OK)) {
    fprintf(stderr, "flurry ws: cannot create the client\n");
    return 1;
  }
  if (cli_input_open(&w->in, NULL, (size_t)w->max_line, &w->loop, err, sizeof err) != 0) {
    fprintf(stderr, "flurry ws: stdin: %s\n", err);
    return 1;
  }
  flurry_ws_callbacks cbs = {on_open, on_message, on_control, on_close};
  w->wo.protocols = w->nprotocols ? w->protocols : NULL;
  int rc = flurry_ws_connect(&w->ws, w->client, w->url, w->headers, &w->wo, &cbs, w);
  if (rc != FLURRY_OK) {
    fprintf(stderr, "flurry ws: %s: %s\n", w->url,
            rc == FLURRY_EINVALID ? "not a ws:// or wss:// URL, or a bad header or option"
                                  : flurry_strerror(rc));
    return rc == FLURRY_EINVALID ? 2 : 1;
  }
  return 0;
}

int cli_ws_main(int argc, char **argv) {
  ws_cli w;
  memset(&w, 0, sizeof w);
  int rc = parse_args(&w, argc, argv);
  if (rc != 0)
    return rc == 1 ? 0 : 2; /* --help, or said */
  if (w.cacert && access(w.cacert, R_OK) != 0) {
    fprintf(stderr, "flurry ws: --cacert '%s': cannot read it\n", w.cacert);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  if (uv_loop_init(&w.loop) != 0) {
    fprintf(stderr, "flurry ws: cannot create the event loop\n");
    return 1;
  }
  w.out.max = 64u << 20;
  uv_timer_init(&w.loop, &w.timer);
  w.timer.data = &w;
  uv_signal_init(&w.loop, &w.sigint);
  uv_signal_init(&w.loop, &w.sigterm);
  w.sigint.data = w.sigterm.data = &w;
  uv_signal_start(&w.sigint, on_signal, SIGINT);
  uv_signal_start(&w.sigterm, on_signal, SIGTERM);
  w.status = setup(&w);
  if (w.status != 0) {
    cli_input_close(w.in);
    uv_close((uv_handle_t *)&w.sigint, NULL);
    uv_close((uv_handle_t *)&w.sigterm, NULL);
    uv_close((uv_handle_t *)&w.timer, NULL);
  }
  uv_run(&w.loop, UV_RUN_DEFAULT);
  flurry_client_free(w.client);
  uv_run(&w.loop, UV_RUN_DEFAULT);
  fl_buf_free(&w.out);
  if (uv_loop_close(&w.loop) != 0) {
    fprintf(stderr, "flurry ws: handles left open at exit\n");
    return 1;
  }
  return w.status;
}
