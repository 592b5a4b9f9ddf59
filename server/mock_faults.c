/* mock_faults.c: the misbehaving endpoints of `flurry mock`: /reset,
 * /truncated, /drip, /hang and /malformed. Each one is also a kind of
 * injected fault (mock_inject.c), with the same query parameters. */
#include <string.h>

#include "mock_int.h"

#define TRUNCATED_SIZE_DEFAULT 1024
#define DRIP_BYTES_DEFAULT 10
#define DRIP_BYTES_MAX 100000
#define DRIP_INTERVAL_DEFAULT 100
#define DRIP_INTERVAL_MAX 60000
#define HANG_MS_MAX 3600000
#define FILLER '*'

static const char malformed_json[] = "{\"a\": [1, 2,}";

/* ---- a body cut short: /reset?after=N and /truncated ----------------------
 */

/* The stream's cls is (bytes to send << 1 | 1 to reset, 0 to close). */
static ssize_t cut_read(void *cls, uint64_t pos, char *buf, size_t max) {
  uint64_t v = (uint64_t)(uintptr_t)cls;
  uint64_t send = v >> 1;
  if (pos >= send)
    return (v & 1) ? HTTPD_STREAM_RESET : HTTPD_STREAM_CLOSE;
  size_t n = send - pos < max ? (size_t)(send - pos) : max;
  memset(buf, FILLER, n);
  return (ssize_t)n;
}

/* Answers 200 with Content-Length: size, sends send (< size) bytes, then
 * closes or resets the connection. */
static void send_cut(httpd_req *req, uint64_t size, uint64_t send, int reset) {
  void *cls = (void *)(uintptr_t)(send << 1 | (reset ? 1u : 0u));
  httpd_reply_stream(req, 200, "application/octet-stream", size, cut_read, cls, NULL, NULL);
}

void mock_reset(mock_server *m, httpd_req *req, const char *arg) {
  (void)m;
  (void)arg;
  int64_t after = 0;
  if (mock_query_num(req, "after", 0, MOCK_BYTES_MAX, 0, &after) != 0) {
    mock_send_error(req, 400, "after must be 0..104857600");
    return;
  }
  if (after == 0)
    httpd_drop(req, HTTPD_RESET);
  else /* promises twice what it sends */
    send_cut(req, 2 * (uint64_t)after, (uint64_t)after, 1);
}

void mock_truncated(mock_server *m, httpd_req *req, const char *arg) {
  (void)m;
  (void)arg;
  int64_t size = 0, send = 0;
  if (mock_query_num(req, "size", 1, MOCK_BYTES_MAX, TRUNCATED_SIZE_DEFAULT, &size) != 0 ||
      mock_query_num(req, "send", 0, size - 1, size / 2, &send) != 0) {
    mock_send_error(req, 400, "size must be 1..104857600, send 0..size-1");
    return;
  }
  send_cut(req, (uint64_t)size, (uint64_t)send, 0);
}

/* ---- /drip: one byte per timer tick, the stream paused in between ---------
 */

typedef struct drip {
  uv_timer_t timer;
  httpd_stream *stream; /* NULL until the reply is queued */
  uint64_t left;        /* bytes the timer has not released yet */
  uint64_t ready;       /* released, not yet read */
} drip;

static ssize_t drip_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  drip *d = cls;
  if (d->ready == 0)
    return HTTPD_STREAM_PAUSE;
  size_t n = d->ready < max ? (size_t)d->ready : max;
  memset(buf, FILLER, n);
  d->ready -= n;
  return (ssize_t)n;
}

static void drip_tick(uv_timer_t *t) {
  drip *d = t->data;
  d->ready++;
  if (--d->left == 0)
    uv_timer_stop(t);
  if (d->stream)
    httpd_stream_wake(d->stream);
}

static void drip_closed(uv_handle_t *h) { fl_free(h->data); }

/* The response is gone (sent, aborted, or the server closes). */
static void drip_free(void *cls) {
  drip *d = cls;
  uv_close((uv_handle_t *)&d->timer, drip_closed);
}

void mock_drip(mock_server *m, httpd_req *req, const char *arg) {
  (void)arg;
  int64_t bytes, ms;
  if (mock_query_num(req, "bytes", 0, DRIP_BYTES_MAX, DRIP_BYTES_DEFAULT, &bytes) != 0 ||
      mock_query_num(req, "interval_ms", 1, DRIP_INTERVAL_MAX, DRIP_INTERVAL_DEFAULT, &ms) != 0) {
    mock_send_error(req, 400, "bytes must be 0..100000, interval_ms 1..60000");
    return;
  }
  drip *d = bytes ? fl_calloc(1, sizeof *d) : NULL;
  if (d == NULL) { /* nothing to drip, or out of memory */
    httpd_reply(req, bytes ? 500 : 200, "application/octet-stream", "", 0, HTTPD_STATIC);
    return;
  }
  uv_timer_init(m->loop, &d->timer); /* cannot fail */
  d->timer.data = d;
  d->left = (uint64_t)bytes;
  if (httpd_reply_stream(req, 200, "application/octet-stream", (uint64_t)bytes, drip_read, d,
                         drip_free, &d->stream) == 0)
    uv_timer_start(&d->timer, drip_tick, (uint64_t)ms, (uint64_t)ms);
}

/* ---- /hang and /malformed -------------------------------------------------
 */

static void hang_over(httpd_req *req, int64_t ms) {
  (void)ms;
  httpd_drop(req, HTTPD_CLOSE);
}

void mock_hang(mock_server *m, httpd_req *req, const char *arg) {
  (void)arg;
  int64_t ms = 0;
  if (mock_query_num(req, "ms", 1, HANG_MS_MAX, 0, &ms) != 0) {
    mock_send_error(req, 400, "ms must be 1..3600000");
    return;
  }
  if (ms == 0) { /* for ever: abandoned when the server closes */
    httpd_req_set_data(req, NULL);
    httpd_defer(req);
  } else if (mock_defer(m, req, ms, hang_over) != 0) {
    mock_send_error(req, 500, "internal error");
  }
}

void mock_malformed(mock_server *m, httpd_req *req, const char *arg) {
  (void)m;
  (void)arg;
  httpd_reply(req, 200, MOCK_JSON, malformed_json, sizeof malformed_json - 1, HTTPD_STATIC);
}
