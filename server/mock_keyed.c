/* mock_keyed.c: the endpoints of `flurry mock` that keep state per key:
 * /flaky (attempt counters) and /limited (token buckets). The tables are
 * bounded (LRU), see mock_table.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mock_int.h"

#define FLAKY_FAIL_MAX 1000000
#define KEY_MAX 256 /* ?key= of /flaky and /limited, bytes */
#define RATE_MAX 1000000

/* ?key= when present: 1..256 bytes. Returns 0 (*key NULL when absent), or
 * -1 when empty or too long. */
static int key_arg(httpd_req *req, const char **key) {
  *key = httpd_req_query(req, "key");
  return *key && (**key == '\0' || strlen(*key) > KEY_MAX) ? -1 : 0;
}

/* ---- /flaky -------------------------------------------------------------- */

/* kind=status (default) or reset: how a failing attempt fails. */
static int flaky_kind(httpd_req *req, int *reset) {
  const char *k = httpd_req_query(req, "kind");
  *reset = k && strcmp(k, "reset") == 0;
  return k == NULL || *reset || strcmp(k, "status") == 0 ? 0 : -1;
}

static void flaky_answer(httpd_req *req, const char *key, int64_t attempt, int64_t status) {
  fl_buf b = FL_BUF_INIT(1024);
  int rc = fl_buf_puts(&b, "{\"key\":");
  rc |= fl_json_str(&b, key, strlen(key));
  rc |= fl_buf_printf(&b, ",\"attempt\":%lld", (long long)attempt);
  if (status != 200) {
    rc |= fl_buf_printf(&b, ",\"status\":%lld", (long long)status);
    rc |= mock_retry_after(req) ? FL_ENOMEM : FL_OK;
  }
  rc |= fl_buf_putc(&b, '}');
  mock_send_buf(req, (unsigned)status, &b, rc);
}

void mock_flaky(mock_server *m, httpd_req *req, const char *arg) {
  (void)arg;
  const char *key = NULL;
  int64_t fail, status;
  int reset = 0;
  if (key_arg(req, &key) != 0 || key == NULL) {
    mock_send_error(req, 400, "key= is required (1..256 bytes)");
    return;
  }
  const char *ra = httpd_req_query(req, "retry_after");
  if (mock_query_num(req, "fail", 0, FLAKY_FAIL_MAX, 1, &fail) != 0 ||
      mock_query_num(req, "status", 200, 599, 503, &status) != 0 ||
      (ra && !mock_header_value_ok(ra)) || flaky_kind(req, &reset) != 0) {
    mock_send_error(req, 400,
                    "bad fail (0..1000000), status (200..599), "
                    "kind (status|reset) or retry_after");
    return;
  }
  int created = 0;
  mock_slot *s = mock_table_get(m->flaky, key, strlen(key), &created);
  if (s == NULL) {
    mock_send_error(req, 500, "internal error");
    return;
  }
  s->a += 1;
  int64_t attempt = (int64_t)s->a;
  if (attempt <= fail && reset)
    httpd_drop(req, HTTPD_RESET);
  else
    flaky_answer(req, key, attempt, attempt <= fail ? status : 200);
}

/* ---- /limited: token bucket per client address or per key ---------------- */

typedef struct quota {
  int64_t limit;     /* tokens per second */
  int64_t remaining; /* whole tokens left */
  int64_t reset_s;   /* seconds to a full bucket, or to the next token */
  int refused;
} quota;

static int64_t ceil_pos(double x) {
  int64_t i = (int64_t)x;
  return (double)i < x ? i + 1 : i;
}

/* Refills and takes one token; returns 1 if allowed. s->a = tokens,
 * s->b = time of the last refill (ms, monotonic). */
static int bucket_take(mock_slot *s, int created, double rate, double burst, double now) {
  if (created) {
    s->a = burst;
  } else {
    s->a += (now - s->b) * rate / 1000.0;
    if (s->a > burst)
      s->a = burst;
  }
  s->b = now;
  if (s->a < 1.0)
    return 0;
  s->a -= 1.0;
  return 1;
}

/* The bucket for this request: "key K R B" with ?key=, else "ip A R B". */
static mock_slot *bucket_find(mock_server *m, httpd_req *req, const char *key, int64_t rate,
                              int64_t burst, int *created) {
  fl_buf k = FL_BUF_INIT(MOCK_TABLE_KEY_MAX);
  int rc = fl_buf_printf(&k, "%s %s %lld %lld", key ? "key" : "ip", key ? key : httpd_req_peer(req),
                         (long long)rate, (long long)burst);
  mock_slot *s = rc == FL_OK ? mock_table_get(m->limits, k.data, k.len, created) : NULL;
  fl_buf_free(&k);
  return s;
}

static void bucket_quota(mock_slot *s, int created, int64_t rate, int64_t burst, quota *q) {
  double r = (double)rate;
  q->refused = !bucket_take(s, created, r, (double)burst, fl_now_ms());
  q->limit = rate;
  q->remaining = (int64_t)s->a;
  q->reset_s = ceil_pos(q->refused ? (1.0 - s->a) / r : ((double)burst - s->a) / r);
  if (q->refused && q->reset_s < 1)
    q->reset_s = 1;
}

/* The same numbers in the three spellings clients look for: the IETF
 * draft's RateLimit-* (separate and combined), and GitHub's X-RateLimit-*
 * (Reset as Unix time). */
static int quota_headers(httpd_req *req, const quota *q) {
  char v[128];
  long long l = q->limit, n = q->remaining, r = q->reset_s;
  int rc = mock_header_i64(req, "RateLimit-Limit", l) |
           mock_header_i64(req, "RateLimit-Remaining", n) |
           mock_header_i64(req, "RateLimit-Reset", r);
  snprintf(v, sizeof v, "limit=%lld, remaining=%lld, reset=%lld", l, n, r);
  rc |= httpd_header(req, "RateLimit", v);
  snprintf(v, sizeof v, "%lld;w=1", l);
  rc |= httpd_header(req, "RateLimit-Policy", v);
  rc |= mock_header_i64(req, "X-RateLimit-Limit", l) |
        mock_header_i64(req, "X-RateLimit-Remaining", n) |
        mock_header_i64(req, "X-RateLimit-Reset", (int64_t)time(NULL) + r);
  return rc ? FL_ENOMEM : FL_OK;
}

static void quota_answer(httpd_req *req, const quota *q, int64_t status) {
  fl_buf b = FL_BUF_INIT(256);
  long long l = q->limit;
  int rc = quota_headers(req, q);
  if (!q->refused) {
    rc |= fl_buf_printf(&b, "{\"ok\":true,\"limit\":%lld,\"remaining\":%lld}", l,
                        (long long)q->remaining);
    status = 200;
  } else if (status == 403) { /* GitHub: the headers say when, no Retry-After */
    rc |= fl_buf_printf(&b,
                        "{\"message\":\"API rate limit exceeded\","
                        "\"limit\":%lld}",
                        l);
  } else {
    rc |= mock_header_i64(req, "Retry-After", q->reset_s) ? FL_ENOMEM : FL_OK;
    rc |= fl_buf_printf(&b, "{\"error\":\"rate limited\",\"limit\":%lld}", l);
  }
  mock_send_buf(req, (unsigned)status, &b, rc);
}

void mock_limited(mock_server *m, httpd_req *req, const char *arg) {
  (void)arg;
  int64_t rate, burst, status;
  const char *key = NULL;
  if (mock_query_num(req, "rate", 1, RATE_MAX, 10, &rate) != 0 ||
      mock_query_num(req, "burst", 1, RATE_MAX, rate, &burst) != 0 ||
      mock_query_num(req, "status", 403, 429, 429, &status) != 0 ||
      (status != 403 && status != 429) || key_arg(req, &key) != 0) {
    mock_send_error(req, 400,
                    "rate and burst must be 1..1000000, status 429 "
                    "or 403, key 1..256 bytes");
    return;
  }
  int created = 0;
  quota q;
  mock_slot *s = bucket_find(m, req, key, rate, burst, &created);
  if (s == NULL) {
    mock_send_error(req, 500, "internal error");
    return;
  }
  bucket_quota(s, created, rate, burst, &q);
  quota_answer(req, &q, status);
}
