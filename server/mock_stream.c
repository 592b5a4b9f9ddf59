/* mock_stream.c: the streaming endpoints of `flurry mock`: /ndjson, /lines
 * and /sse. Each sends n numbered records, deterministic so that tests can
 * check them exactly, as fast as the client reads (gigabytes in seconds) or
 * one every interval_ms, and can cut the connection in the middle of a
 * record. /sse resumes after the client's Last-Event-ID and answers 204
 * once every event was sent. */
#include <stdio.h>
#include <string.h>

#include "mock_int.h"

#define STREAM_N_DEFAULT 10
#define STREAM_N_MAX 100000000
#define STREAM_INTERVAL_MAX 60000
#define STREAM_PAD_MAX 65536
#define STREAM_RETRY_MAX 600000
#define RECORD_SLACK 128 /* a record's text besides its padding */

enum { GEN_NDJSON, GEN_LINES, GEN_SSE };

typedef struct gen {
  uv_timer_t timer;
  httpd_stream *stream; /* NULL until the reply is queued */
  int kind;
  uint64_t next, last; /* the next record's number; the last one's */
  uint64_t ready;      /* released by the timer, not generated yet */
  int paced;           /* interval_ms > 0: the timer releases records */
  uint64_t cut_every;  /* cut the record after this many (0: never) */
  uint64_t sent;       /* records sent whole on this connection */
  int closing;         /* the cut record went out: close next */
  int64_t retry;       /* SSE: retry: sent first (-1: none) */
  int crlf;            /* lines: CRLF line ends */
  size_t pad;
  char *rec; /* the current record's text */
  size_t len, off;
} gen;

/* Writes record i (or, for SSE, the stream's head when i is 0) into g->rec. */
static void make_record(gen *g, uint64_t i) {
  size_t cap = g->pad + RECORD_SLACK;
  int n;
  if (g->kind == GEN_LINES)
    n = snprintf(g->rec, cap, "line %llu%s", (unsigned long long)i, g->crlf ? "\r\n" : "\n");
  else if (g->kind == GEN_SSE && i == 0)
    n = g->retry >= 0 ? snprintf(g->rec, cap, ": flurry mock\nretry: %lld\n\n", (long long)g->retry)
                      : snprintf(g->rec, cap, ": flurry mock\n\n");
  else if (g->kind == GEN_SSE)
    n = snprintf(g->rec, cap, "%sevent: tick\nid: %llu\ndata: tick %llu\ndata: of %llu\n\n",
                 i % 5 == 0 ? ": keep-alive\n" : "", (unsigned long long)i, (unsigned long long)i,
                 (unsigned long long)g->last);
  else
    n = snprintf(g->rec, cap, "{\"seq\":%llu%s", (unsigned long long)i,
                 g->pad ? ",\"pad\":\"" : "");
  g->len = (size_t)n;
  if (g->kind == GEN_NDJSON) {
    memset(g->rec + g->len, 'x', g->pad);
    g->len += g->pad;
    memcpy(g->rec + g->len, g->pad ? "\"}\n" : "}\n", g->pad ? 3 : 2);
    g->len += g->pad ? 3 : 2;
  }
  g->off = 0;
}

/* The next record to send, if one may go now: 1, else 0. */
static int next_record(gen *g) {
  if (g->closing || g->next > g->last || (g->paced && g->ready == 0))
    return 0;
  make_record(g, g->next++);
  if (g->paced)
    g->ready--;
  if (g->cut_every && g->sent == g->cut_every) {
    g->len /= 2; /* half of it, then the connection closes */
    g->closing = 1;
  }
  g->sent++;
  return 1;
}

static ssize_t gen_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  gen *g = cls;
  size_t n = 0;
  while (n < max) {
    if (g->off == g->len && !next_record(g))
      break;
    size_t k = g->len - g->off < max - n ? g->len - g->off : max - n;
    memcpy(buf + n, g->rec + g->off, k);
    g->off += k;
    n += k;
  }
  if (n > 0)
    return (ssize_t)n;
  if (g->closing)
    return HTTPD_STREAM_CLOSE;
  return g->next > g->last ? HTTPD_STREAM_END : HTTPD_STREAM_PAUSE;
}

static void gen_tick(uv_timer_t *t) {
  gen *g = t->data;
  g->ready++;
  if (g->stream)
    httpd_stream_wake(g->stream);
}

static void gen_closed(uv_handle_t *h) {
  gen *g = h->data;
  fl_free(g->rec);
  fl_free(g);
}

static void gen_free(void *cls) {
  gen *g = cls;
  uv_close((uv_handle_t *)&g->timer, gen_closed);
}

/* The query parameters shared by every kind; 0, or -1 after a 400. */
static int gen_params(httpd_req *req, gen *g, int64_t *interval) {
  int64_t n, pad, cut, retry, crlf;
  if (mock_query_num(req, "n", 0, STREAM_N_MAX, STREAM_N_DEFAULT, &n) != 0 ||
      mock_query_num(req, "interval_ms", 0, STREAM_INTERVAL_MAX, 0, interval) != 0 ||
      mock_query_num(req, "pad", 0, STREAM_PAD_MAX, 0, &pad) != 0 ||
      mock_query_num(req, "cut_every", 0, STREAM_N_MAX, 0, &cut) != 0 ||
      mock_query_num(req, "retry", 0, STREAM_RETRY_MAX, -1, &retry) != 0 ||
      mock_query_num(req, "crlf", 0, 1, 0, &crlf) != 0) {
    mock_send_error(req, 400,
                    "n must be 0..100000000, interval_ms 0..60000, "
                    "pad 0..65536, cut_every 0..100000000, retry "
                    "0..600000, crlf 0..1");
    return -1;
  }
  g->next = 1;
  g->last = (uint64_t)n;
  g->pad = g->kind == GEN_NDJSON ? (size_t)pad : 0;
  g->cut_every = (uint64_t)cut;
  g->retry = retry;
  g->crlf = (int)crlf;
  return 0;
}

/* SSE: resume after Last-Event-ID. 0 to go on, 1 when answered. */
static int sse_resume(httpd_req *req, gen *g) {
  const char *lei = httpd_req_header(req, "Last-Event-ID");
  int64_t id;
  if (lei == NULL)
    return 0;
  if (mock_parse_num(lei, 0, STREAM_N_MAX, &id) != 0) {
    mock_send_error(req, 400, "Last-Event-ID must be an event number");
    return 1;
  }
  if ((uint64_t)id >= g->last) { /* every event was sent: no more */
    httpd_reply(req, 204, NULL, "", 0, HTTPD_STATIC);
    return 1;
  }
  g->next = (uint64_t)id + 1;
  return 0;
}

static void stream_endpoint(mock_server *m, httpd_req *req, int kind, const char *ctype) {
  gen *g = fl_calloc(1, sizeof *g);
  int64_t interval = 0;
  if (g == NULL) {
    mock_send_error(req, 500, "out of memory");
    return;
  }
  g->kind = kind;
  if (gen_params(req, g, &interval) != 0 || (kind == GEN_SSE && sse_resume(req, g) != 0)) {
    fl_free(g);
    return;
  }
  g->rec = fl_malloc(g->pad + RECORD_SLACK);
  if (g->rec == NULL) {
    fl_free(g);
    mock_send_error(req, 500, "out of memory");
    return;
  }
  if (kind == GEN_SSE) /* the head: a comment and the retry delay */
    make_record(g, 0);
  uv_timer_init(m->loop, &g->timer); /* cannot fail */
  g->timer.data = g;
  g->paced = interval > 0;
  if (httpd_reply_stream(req, 200, ctype, UINT64_MAX, gen_read, g, gen_free, &g->stream) == 0 &&
      g->paced)
    uv_timer_start(&g->timer, gen_tick, (uint64_t)interval, (uint64_t)interval);
}

void mock_ndjson(mock_server *m, httpd_req *req, const char *arg) {
  (void)arg;
  stream_endpoint(m, req, GEN_NDJSON, "application/x-ndjson");
}

void mock_lines(mock_server *m, httpd_req *req, const char *arg) {
  (void)arg;
  stream_endpoint(m, req, GEN_LINES, "text/plain; charset=utf-8");
}

void mock_sse(mock_server *m, httpd_req *req, const char *arg) {
  (void)arg;
  stream_endpoint(m, req, GEN_SSE, "text/event-stream");
}
