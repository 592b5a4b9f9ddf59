/* mock_util.c: the state of `flurry mock` and what its endpoints share:
 * sending JSON, reading arguments, replies deferred by a timer. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mock_int.h"

#define HEADER_VALUE_MAX 1024

static const char internal_error[] = "{\"error\":\"internal error\"}";

/* ---- state ------------------------------------------------------------- */

int mock_init(mock_server *m, uv_loop_t *loop) {
  memset(m, 0, sizeof *m);
  m->loop = loop;
  fl_list_init(&m->ws);
  m->rng = uv_hrtime() ^ ((uint64_t)getpid() << 32);
  if (mock_table_new(&m->flaky, MOCK_MAX_KEYS) == 0 &&
      mock_table_new(&m->limits, MOCK_MAX_KEYS) == 0 &&
      mock_table_new(&m->faults, MOCK_MAX_KEYS) == 0 &&
      mock_table_new(&m->cache, MOCK_MAX_KEYS) == 0)
    return 0;
  mock_free(m);
  return -1;
}

void mock_free(mock_server *m) {
  mock_table_free(m->flaky);
  mock_table_free(m->limits);
  mock_table_free(m->faults);
  mock_table_free(m->cache);
  m->flaky = m->limits = m->faults = m->cache = NULL;
}

/* ---- sending ------------------------------------------------------------ */

void mock_send_static(httpd_req *req, unsigned status, const char *json) {
  httpd_reply(req, status, MOCK_JSON, json, strlen(json), HTTPD_STATIC);
}

void mock_send_buf(httpd_req *req, unsigned status, fl_buf *b, int rc) {
  size_t len = 0;
  char *p = rc == FL_OK ? fl_buf_take(b, &len) : NULL;
  fl_buf_free(b);
  if (p == NULL) {
    mock_send_static(req, 500, internal_error);
    return;
  }
  httpd_reply(req, status, MOCK_JSON, p, len, HTTPD_TAKE);
}

void mock_send_error(httpd_req *req, unsigned status, const char *msg) {
  fl_buf b = FL_BUF_INIT(4096);
  int rc = fl_buf_puts(&b, "{\"error\":");
  rc |= fl_json_str(&b, msg, strlen(msg));
  rc |= fl_buf_putc(&b, '}');
  mock_send_buf(req, status, &b, rc);
}

int mock_header_i64(httpd_req *req, const char *name, int64_t v) {
  char s[32];
  snprintf(s, sizeof s, "%lld", (long long)v);
  return httpd_header(req, name, s);
}

/* ---- arguments ----------------------------------------------------------- */

int mock_parse_num(const char *s, int64_t min, int64_t max, int64_t *out) {
  return s ? fl_parse_i64(s, strlen(s), min, max, out) : -1;
}

int mock_query_num(httpd_req *req, const char *name, int64_t min, int64_t max, int64_t def,
                   int64_t *out) {
  const char *s = httpd_req_query(req, name);
  *out = def;
  return s == NULL ? 0 : mock_parse_num(s, min, max, out);
}

int mock_header_value_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > HEADER_VALUE_MAX)
    return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c < 0x20 && c != '\t') || c > 0x7e)
      return 0;
  }
  return 1;
}

int mock_retry_after(httpd_req *req) {
  const char *v = httpd_req_query(req, "retry_after");
  if (v == NULL)
    return 0;
  if (!mock_header_value_ok(v))
    return -1;
  return httpd_header(req, "Retry-After", v) == 0 ? 0 : -2;
}

uint64_t mock_mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* ---- replies deferred by a timer -------------------------------------------
 */

typedef struct pending {
  uv_timer_t timer;
  httpd_req *req;
  int64_t ms;
  mock_fire_cb fire;
} pending;

static void pending_closed(uv_handle_t *h) { fl_free(h->data); }

static void pending_fire(uv_timer_t *t) {
  pending *p = t->data;
  httpd_req_set_data(p->req, NULL);
  p->fire(p->req, p->ms);
  uv_close((uv_handle_t *)&p->timer, pending_closed);
}

int mock_defer(mock_server *m, httpd_req *req, int64_t ms, mock_fire_cb fire) {
  pending *p = fl_malloc(sizeof *p);
  if (p == NULL)
    return -1;
  uv_timer_init(m->loop, &p->timer); /* cannot fail */
  p->timer.data = p;
  p->req = req;
  p->ms = ms;
  p->fire = fire;
  httpd_req_set_data(req, p);
  httpd_defer(req);
  uv_timer_start(&p->timer, pending_fire, (uint64_t)ms, 0);
  return 0;
}

/* A deferred request without a timer (/hang) has no data. */
void mock_on_abandon(httpd_req *req, void *user) {
  (void)user;
  pending *p = httpd_req_data(req);
  if (p)
    uv_close((uv_handle_t *)&p->timer, pending_closed);
}
