/* mock_keyed.c: the endpoints of `flurry mock` that keep state per key:
 * /flaky (attempt counters) and /limited (token buckets). The tables are
 * bounded (LRU), see mock_table.h. */
#include <stdio.h>
#include <string.h>

#include "mock_int.h"

#define FLAKY_FAIL_MAX 1000000
#define FLAKY_KEY_MAX 256
#define RATE_MAX 1000000

/* ---- /flaky -------------------------------------------------------------- */

void flurry__mock_flaky(flurry__mock *m, flurry__httpd_req *req,
                        const char *arg) {
  (void)arg;
  const char *key = flurry__httpd_req_query(req, "key");
  int64_t fail, status;
  if (key == NULL || key[0] == '\0' || strlen(key) > FLAKY_KEY_MAX) {
    flurry__mock_send_error(req, 400, "key= is required (1..256 bytes)");
    return;
  }
  const char *ra = flurry__httpd_req_query(req, "retry_after");
  if (flurry__mock_query_num(req, "fail", 0, FLAKY_FAIL_MAX, 1, &fail) != 0 ||
      flurry__mock_query_num(req, "status", 200, 599, 503, &status) != 0 ||
      (ra && !flurry__mock_header_value_ok(ra))) {
    flurry__mock_send_error(
        req, 400, "bad fail (0..1000000), status (200..599) or retry_after");
    return;
  }
  int created = 0;
  flurry__mock_slot *s =
      flurry__mock_table_get(m->flaky, key, strlen(key), &created);
  if (s == NULL) {
    flurry__mock_send_error(req, 500, "internal error");
    return;
  }
  s->a += 1;
  int64_t attempt = (int64_t)s->a;
  int failing = attempt <= fail;
  fl_buf b = FL_BUF_INIT(1024);
  int rc = fl_buf_puts(&b, "{\"key\":");
  rc |= fl_json_str(&b, key, strlen(key));
  rc |= fl_buf_printf(&b, ",\"attempt\":%lld", (long long)attempt);
  if (failing) {
    rc |= fl_buf_printf(&b, ",\"status\":%lld", (long long)status);
    rc |= flurry__mock_retry_after(req) ? FL_ENOMEM : FL_OK;
  }
  rc |= fl_buf_putc(&b, '}');
  flurry__mock_send_buf(req, failing ? (unsigned)status : 200, &b, rc);
}

/* ---- /limited: token bucket per client address --------------------------- */

static int64_t ceil_pos(double x) {
  int64_t i = (int64_t)x;
  return (double)i < x ? i + 1 : i;
}

/* Refills and takes one token; returns 1 if allowed. s->a = tokens,
 * s->b = time of the last refill (ms). */
static int bucket_take(flurry__mock_slot *s, int created, double rate,
                       double burst, double now) {
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

static int ratelimit_headers(flurry__httpd_req *req, int64_t rate,
                             int64_t remaining, int64_t reset_s) {
  return flurry__mock_header_i64(req, "RateLimit-Limit", rate) |
         flurry__mock_header_i64(req, "RateLimit-Remaining", remaining) |
         flurry__mock_header_i64(req, "RateLimit-Reset", reset_s);
}

void flurry__mock_limited(flurry__mock *m, flurry__httpd_req *req,
                          const char *arg) {
  (void)arg;
  int64_t rate, burst;
  char key[128];
  if (flurry__mock_query_num(req, "rate", 1, RATE_MAX, 10, &rate) != 0 ||
      flurry__mock_query_num(req, "burst", 1, RATE_MAX, rate, &burst) != 0) {
    flurry__mock_send_error(req, 400, "rate and burst must be 1..1000000");
    return;
  }
  int kn = snprintf(key, sizeof key, "%s %lld %lld",
                    flurry__httpd_req_peer(req), (long long)rate,
                    (long long)burst);
  int created = 0;
  flurry__mock_slot *s =
      kn > 0 && (size_t)kn < sizeof key
          ? flurry__mock_table_get(m->limits, key, (size_t)kn, &created)
          : NULL;
  if (s == NULL) {
    flurry__mock_send_error(req, 500, "internal error");
    return;
  }
  int ok = bucket_take(s, created, (double)rate, (double)burst, fl_now_ms());
  double wait = ok ? ((double)burst - s->a) / (double)rate
                   : (1.0 - s->a) / (double)rate;
  int64_t reset = ceil_pos(wait);
  int64_t remaining = (int64_t)s->a;
  fl_buf b = FL_BUF_INIT(256);
  int rc = ratelimit_headers(req, rate, remaining, reset);
  if (ok) {
    rc |= fl_buf_printf(&b, "{\"ok\":true,\"limit\":%lld,\"remaining\":%lld}",
                        (long long)rate, (long long)remaining);
    flurry__mock_send_buf(req, 200, &b, rc);
    return;
  }
  rc |= flurry__httpd_header(req, "Retry-After", "1");
  rc |= fl_buf_printf(&b, "{\"error\":\"rate limited\",\"limit\":%lld}",
                      (long long)rate);
  flurry__mock_send_buf(req, 429, &b, rc);
}
