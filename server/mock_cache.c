/* mock_cache.c: `flurry mock`'s cacheable resources, for testing HTTP
 * caches: /cache/{key} answers with the validators and freshness the query
 * asks for (ETag, Last-Modified, Cache-Control, Expires, Age, Vary),
 * answers conditional requests with 304, and counts the requests that
 * reached it per key; /cache-ctl/{key} reads that counter (not counted
 * itself), changes the resource (a new version: new ETag, Last-Modified
 * and body) or makes it fail (503) to test stale-if-error. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mock_int.h"

#define KEY_MAX 128
#define PAD_MAX (4 << 20)

/* The counter (a: origin hits, b: version) and the "down" flag of key. */
static mock_slot *slot(mock_server *m, const char *prefix, const char *key) {
  char k[KEY_MAX + 8];
  int n = snprintf(k, sizeof k, "%s%s", prefix, key);
  int created = 0;
  return n > 0 && (size_t)n < sizeof k ? mock_table_get(m->cache, k, (size_t)n, &created) : NULL;
}

static int http_date(char *out, size_t n, int64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  return gmtime_r(&tt, &tm) && strftime(out, n, "%a, %d %b %Y %H:%M:%S GMT", &tm) ? 0 : -1;
}

/* A query value put in a header verbatim, when given and safe. */
static int header_from(httpd_req *req, const char *query, const char *header) {
  const char *v = httpd_req_query(req, query);
  if (v == NULL)
    return 0;
  if (!mock_header_value_ok(v))
    return -1;
  return httpd_header(req, header, v);
}

typedef struct cache_args {
  int64_t status, lm, expires, pad;
  int etag;
  const char *vary;
} cache_args;

static int read_args(httpd_req *req, cache_args *a) {
  int64_t etag = 0;
  a->vary = httpd_req_query(req, "vary");
  if (mock_query_num(req, "status", 200, 599, 200, &a->status) != 0 ||
      mock_query_num(req, "etag", 0, 1, 0, &etag) != 0 ||
      mock_query_num(req, "lm", 0, INT32_MAX, -1, &a->lm) != 0 ||
      mock_query_num(req, "expires", 0, INT32_MAX, -1, &a->expires) != 0 ||
      mock_query_num(req, "pad", 0, PAD_MAX, 0, &a->pad) != 0 ||
      (a->vary && !mock_header_value_ok(a->vary)))
    return -1;
  a->etag = (int)etag;
  return 0;
}

/* 1 when the request's validators match the current version. */
static int not_modified(httpd_req *req, const char *etag, int64_t lm) {
  const char *inm = httpd_req_header(req, "If-None-Match");
  if (inm)
    return etag[0] && strstr(inm, etag) != NULL;
  const char *ims = httpd_req_header(req, "If-Modified-Since");
  char want[64];
  return ims && lm >= 0 && http_date(want, sizeof want, lm) == 0 && strcmp(ims, want) == 0;
}

static int put_headers(httpd_req *req, const cache_args *a, const char *etag, int64_t lm) {
  char date[64];
  int rc = header_from(req, "cc", "Cache-Control") | header_from(req, "age", "Age");
  if (etag[0])
    rc |= httpd_header(req, "ETag", etag);
  if (lm >= 0 && http_date(date, sizeof date, lm) == 0)
    rc |= httpd_header(req, "Last-Modified", date);
  if (a->expires >= 0 && http_date(date, sizeof date, a->expires) == 0)
    rc |= httpd_header(req, "Expires", date);
  if (a->vary)
    rc |= httpd_header(req, "Vary", a->vary);
  rc |= httpd_header(req, "Set-Cookie", "session=mock-secret; Path=/");
  return rc;
}

void mock_cache(mock_server *m, httpd_req *req, const char *key) {
  cache_args a;
  mock_slot *s = strlen(key) <= KEY_MAX ? slot(m, "", key) : NULL;
  if (s == NULL || read_args(req, &a) != 0) {
    mock_send_error(req, 400,
                    "key of 1..128 bytes; status 200..599, etag 0|1, lm and expires "
                    "(Unix seconds), pad 0..4194304, cc/age/vary header-safe");
    return;
  }
  s->a += 1;
  int64_t version = (int64_t)s->b, hits = (int64_t)s->a;
  mock_slot *down = slot(m, "!", key);
  if (down && down->a > 0) {
    mock_send_static(req, 503, "{\"error\":\"down\"}");
    return;
  }
  char etag[KEY_MAX + 32] = "";
  if (a.etag)
    snprintf(etag, sizeof etag, "\"%s-v%lld\"", key, (long long)version);
  int64_t lm = a.lm >= 0 ? a.lm + version : -1;
  if (put_headers(req, &a, etag, lm) != 0) {
    mock_send_error(req, 400, "a header value is not allowed");
    return;
  }
  if (a.status == 200 && not_modified(req, etag, lm)) {
    httpd_reply(req, 304, MOCK_JSON, "", 0, HTTPD_STATIC);
    return;
  }
  fl_buf b = FL_BUF_INIT(PAD_MAX + 4096);
  int rc = fl_buf_puts(&b, "{\"key\":");
  rc |= fl_json_str(&b, key, strlen(key));
  rc |= fl_buf_printf(&b, ",\"version\":%lld,\"hits\":%lld,\"vary\":", (long long)version,
                      (long long)hits);
  const char *vv = a.vary ? httpd_req_header(req, a.vary) : NULL;
  rc |= vv ? fl_json_str(&b, vv, strlen(vv)) : fl_buf_puts(&b, "null");
  if (a.pad) {
    rc |= fl_buf_puts(&b, ",\"pad\":\"");
    for (int64_t i = 0; i < a.pad && rc == FL_OK; i++)
      rc |= fl_buf_putc(&b, 'x');
    rc |= fl_buf_putc(&b, '"');
  }
  rc |= fl_buf_putc(&b, '}');
  mock_send_buf(req, (unsigned)a.status, &b, rc);
}

void mock_cache_ctl(mock_server *m, httpd_req *req, const char *key) {
  int64_t bump, down, reset;
  mock_slot *s = strlen(key) <= KEY_MAX ? slot(m, "", key) : NULL;
  mock_slot *d = s ? slot(m, "!", key) : NULL;
  s = d ? slot(m, "", key) : NULL; /* the pointer is valid until the next get */
  if (s == NULL || mock_query_num(req, "bump", 0, 1, 0, &bump) != 0 ||
      mock_query_num(req, "down", -1, 1, -1, &down) != 0 ||
      mock_query_num(req, "reset", 0, 1, 0, &reset) != 0) {
    mock_send_error(req, 400, "key of 1..128 bytes; bump 0|1, down 0|1, reset 0|1");
    return;
  }
  s->b += (double)bump;
  if (reset)
    s->a = 0;
  double hits = s->a, version = s->b;
  d = slot(m, "!", key);
  if (d && down >= 0)
    d->a = (double)down;
  fl_buf b = FL_BUF_INIT(1024);
  int rc = fl_buf_puts(&b, "{\"key\":");
  rc |= fl_json_str(&b, key, strlen(key));
  rc |= fl_buf_printf(&b, ",\"hits\":%.0f,\"version\":%.0f,\"down\":%s}", hits, version,
                      d && d->a > 0 ? "true" : "false");
  mock_send_buf(req, 200, &b, rc);
}
