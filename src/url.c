/* url.c: what pagination needs to know about URLs: resolving a next link
 * against the page it came from (libcurl's URL API), comparing origins
 * (credentials stay with their origin; public: flurry_url_same_origin),
 * and telling the page URLs between a next link and a last link. */
#include <curl/curl.h>
#include <string.h>

#include "fl.h"
#include "url_int.h"

/* ref against base (NULL: none) by libcurl's URL API (RFC 3986 5.2):
 * *got (curl_free) an absolute http(s) URL. FLURRY_OK, FLURRY_EINVALID or
 * FLURRY_ENOMEM. */
static int resolve(const char *base, const char *ref, char **got) {
  CURLU *u = curl_url();
  *got = NULL;
  if (u == NULL)
    return FLURRY_ENOMEM;
  CURLUcode rc = base ? curl_url_set(u, CURLUPART_URL, base, 0) : CURLUE_OK;
  if (rc == CURLUE_OK)
    rc = curl_url_set(u, CURLUPART_URL, ref, 0);
  if (rc == CURLUE_OK)
    rc = curl_url_get(u, CURLUPART_URL, got, 0);
  curl_url_cleanup(u);
  if (rc == CURLUE_OK && strncmp(*got, "http://", 7) != 0 && strncmp(*got, "https://", 8) != 0)
    rc = CURLUE_BAD_SCHEME;
  if (rc != CURLUE_OK) {
    curl_free(*got);
    *got = NULL;
  }
  return rc == CURLUE_OK ? FLURRY_OK : rc == CURLUE_OUT_OF_MEMORY ? FLURRY_ENOMEM : FLURRY_EINVALID;
}

char *flurry__url_resolve(const char *base, const char *ref) {
  char *got, *out = NULL;
  if (resolve(base, ref, &got) == FLURRY_OK)
    out = fl_strdup(got);
  curl_free(got);
  return out;
}

FLURRY_API int flurry_url_resolve(const char *base, const char *ref, char *out, size_t outlen) {
  char *got;
  if (ref == NULL || out == NULL || outlen == 0)
    return FLURRY_EINVALID;
  int rc = resolve(base, ref, &got);
  size_t n = got ? strlen(got) : 0;
  if (rc == FLURRY_OK && n >= outlen)
    rc = FLURRY_ETOO_LARGE;
  if (rc == FLURRY_OK)
    memcpy(out, got, n + 1);
  curl_free(got);
  return rc;
}

int flurry__curlu_same_origin(CURLU *a, CURLU *b) {
  char *part[2][3] = {{NULL}};
  CURLU *u[2] = {a, b};
  int ok = 1;
  for (int i = 0; i < 2; i++)
    ok = ok && curl_url_get(u[i], CURLUPART_SCHEME, &part[i][0], 0) == CURLUE_OK &&
         curl_url_get(u[i], CURLUPART_HOST, &part[i][1], 0) == CURLUE_OK &&
         curl_url_get(u[i], CURLUPART_PORT, &part[i][2], CURLU_DEFAULT_PORT) == CURLUE_OK;
  int same = ok && fl_strcaseeq(part[0][0], part[1][0]) && fl_strcaseeq(part[0][1], part[1][1]) &&
             strcmp(part[0][2], part[1][2]) == 0;
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      curl_free(part[i][j]);
  return same;
}

int flurry__url_same_origin(const char *a, const char *b) {
  CURLU *ua = curl_url(), *ub = curl_url();
  int same = ua && ub && curl_url_set(ua, CURLUPART_URL, a, 0) == CURLUE_OK &&
             curl_url_set(ub, CURLUPART_URL, b, 0) == CURLUE_OK &&
             flurry__curlu_same_origin(ua, ub);
  curl_url_cleanup(ua);
  curl_url_cleanup(ub);
  return same;
}

FLURRY_API int flurry_url_same_origin(const char *base, const char *a, const char *b) {
  if (a == NULL || b == NULL)
    return 0;
  char *x = flurry__url_resolve(base, a), *y = flurry__url_resolve(base, b);
  int same = x && y && flurry__url_same_origin(x, y);
  fl_free(x);
  fl_free(y);
  return same;
}

/* ---- the pages between a next link and a last link ---- */

/* The query parameter name=value pairs of url, as [start, end) offsets of
 * each "name=value" (at most max). Returns the count. */
static size_t query_params(const char *url, size_t *start, size_t *end, size_t max) {
  const char *q = strchr(url, '?');
  size_t n = 0;
  if (q == NULL)
    return 0;
  size_t i = (size_t)(q - url) + 1, len = strcspn(url, "#");
  while (i < len && n < max) {
    size_t j = i;
    while (j < len && url[j] != '&')
      j++;
    if (j > i) {
      start[n] = i;
      end[n] = j;
      n++;
    }
    i = j + 1;
  }
  return n;
}

/* The integer value of parameter name (name_len bytes) in url; 0 or -1. */
static int param_int(const char *url, const char *name, size_t name_len, int64_t *v) {
  size_t s[64], e[64];
  size_t n = query_params(url, s, e, 64);
  for (size_t i = 0; i < n; i++) {
    const char *p = url + s[i];
    if ((size_t)(e[i] - s[i]) > name_len && memcmp(p, name, name_len) == 0 && p[name_len] == '=')
      return fl_parse_i64(p + name_len + 1, e[i] - s[i] - name_len - 1, 0, INT64_MAX / 4, v);
  }
  return -1;
}

/* The one parameter whose value differs between next and last (the rest
 * equal, same path): its offsets in next. 0 or -1. */
static int differing_param(const char *next, const char *last, size_t *ns, size_t *ne) {
  size_t as[64], ae[64], bs[64], be[64];
  size_t na = query_params(next, as, ae, 64), nb = query_params(last, bs, be, 64);
  const char *qa = strchr(next, '?'), *qb = strchr(last, '?');
  if (na != nb || na == 0 || na == 64 || qa - next != qb - last ||
      memcmp(next, last, (size_t)(qa - next)) != 0)
    return -1;
  int found = 0;
  for (size_t i = 0; i < na; i++) {
    size_t la = ae[i] - as[i], lb = be[i] - bs[i];
    if (la == lb && memcmp(next + as[i], last + bs[i], la) == 0)
      continue;
    const char *eqa = memchr(next + as[i], '=', la), *eqb = memchr(last + bs[i], '=', lb);
    if (found++ || eqa == NULL || eqb == NULL || eqa - (next + as[i]) != eqb - (last + bs[i]) ||
        memcmp(next + as[i], last + bs[i], (size_t)(eqa - (next + as[i]))) != 0)
      return -1;
    *ns = as[i];
    *ne = ae[i];
  }
  return found == 1 ? 0 : -1;
}

int flurry__url_page_range(const char *cur, const char *next, const char *last,
                           flurry__page_range *out) {
  size_t s, e;
  if (differing_param(next, last, &s, &e) != 0)
    return -1;
  size_t name_len = (size_t)((const char *)memchr(next + s, '=', e - s) - (next + s));
  int64_t a, b, c;
  if (param_int(next, next + s, name_len, &a) != 0 ||
      param_int(last, next + s, name_len, &b) != 0 || b < a)
    return -1;
  int64_t step;
  if (param_int(cur, next + s, name_len, &c) == 0)
    step = a - c; /* page=3 -> page=4, offset=100 -> offset=150 */
  else
    step = a == 2 ? 1 : a; /* page 1 or offset 0 left implicit */
  if (step <= 0 || (b - a) % step != 0)
    return -1;
  out->first = a;
  out->last = b;
  out->step = step;
  out->name_at = s;
  out->value_at = s + name_len + 1;
  out->value_end = e;
  return 0;
}

char *flurry__url_page(const char *next, const flurry__page_range *pr, int64_t value) {
  fl_buf b = FL_BUF_INIT(0);
  fl_buf_append(&b, next, pr->value_at);
  fl_buf_i64(&b, value);
  fl_buf_puts(&b, next + pr->value_end);
  return b.data && b.len > pr->value_at ? fl_buf_take(&b, NULL) : (fl_buf_free(&b), NULL);
}
