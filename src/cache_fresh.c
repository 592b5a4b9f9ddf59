/* cache_fresh.c: the rules of RFC 9111 that need no storage: Cache-Control
 * directives, HTTP dates, freshness lifetime (with the heuristic from
 * Last-Modified), age, and how a stored entry may answer. Pure: no I/O, no
 * allocation, the clock passed in. */
#include <curl/curl.h>
#include <string.h>

#include "cache_int.h"

void flurry__cc_init(flurry__cc *cc) {
  memset(cc, 0, sizeof *cc);
  cc->max_age = cc->swr = cc->sie = -1;
}

/* delta-seconds (RFC 9111 1.2.2): digits; past 2^31 it is 2^31. -1 when
 * not digits. */
static int64_t delta_seconds(const char *v, size_t n) {
  if (n >= 2 && v[0] == '"' && v[n - 1] == '"') /* tolerated, though not to be sent */
    v++, n -= 2;
  if (n == 0)
    return -1;
  int64_t x = 0;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9')
      return -1;
    if (x < 2147483648LL)
      x = x * 10 + (v[i] - '0');
  }
  return x < 2147483648LL ? x : 2147483648LL;
}

static int is_name(const char *p, size_t n, const char *want) {
  return strlen(want) == n && fl_strncaseeq(p, want, n);
}

/* One directive: name[=arg]. */
static void directive(flurry__cc *cc, const char *name, size_t nn, const char *arg, size_t an,
                      int has_arg) {
  int64_t secs = has_arg ? delta_seconds(arg, an) : -1;
  if (is_name(name, nn, "max-age"))
    cc->max_age = secs >= 0 ? secs : 0; /* invalid: stale (4.2.1) */
  else if (is_name(name, nn, "stale-while-revalidate") && secs >= 0)
    cc->swr = secs;
  else if (is_name(name, nn, "stale-if-error") && secs >= 0)
    cc->sie = secs;
  else if (is_name(name, nn, "no-store"))
    cc->no_store = 1;
  else if (is_name(name, nn, "no-cache"))
    cc->no_cache = 1; /* with field names too: a private cache revalidates all */
  else if (is_name(name, nn, "must-revalidate") || is_name(name, nn, "proxy-revalidate"))
    cc->must_revalidate = 1;
  else if (is_name(name, nn, "private"))
    cc->is_private = 1;
  else if (is_name(name, nn, "public"))
    cc->is_public = 1;
}

static int ows(char ch) { return ch == ' ' || ch == '\t'; }

void flurry__cc_parse(flurry__cc *cc, const char *v, size_t n) {
  size_t i = 0;
  while (i < n) {
    while (i < n && (ows(v[i]) || v[i] == ','))
      i++;
    size_t ns = i;
    while (i < n && v[i] != '=' && v[i] != ',' && !ows(v[i]))
      i++;
    size_t nn = i - ns;
    while (i < n && ows(v[i]))
      i++;
    size_t as = i, an = 0;
    int has_arg = i < n && v[i] == '=';
    if (has_arg) {
      i++;
      while (i < n && ows(v[i]))
        i++;
      as = i;
      if (i < n && v[i] == '"') { /* quoted-string: up to the closing quote */
        i++;
        while (i < n && v[i] != '"')
          i += (v[i] == '\\' && i + 1 < n) ? 2 : 1;
        if (i < n)
          i++;
      } else {
        while (i < n && v[i] != ',' && !ows(v[i]))
          i++;
      }
      an = i - as;
    }
    if (nn)
      directive(cc, v + ns, nn, v + as, an, has_arg);
    while (i < n && v[i] != ',')
      i++;
  }
}

int64_t flurry__http_date(const char *v, size_t n) {
  while (n && ows(*v))
    v++, n--;
  while (n && ows(v[n - 1]))
    n--;
  /* libcurl's parser also takes bare numbers and odd forms: an HTTP-date
   * starts with a day name. */
  if (n == 0 || n > 63 || !((v[0] >= 'A' && v[0] <= 'Z') || (v[0] >= 'a' && v[0] <= 'z')))
    return -1;
  char date[64];
  memcpy(date, v, n);
  date[n] = '\0';
  time_t t = curl_getdate(date, NULL);
  return t == (time_t)-1 ? -1 : (int64_t)t;
}

int flurry__cache_status_ok(int status) {
  switch (status) {
  case 200:
  case 203:
  case 204:
  case 300:
  case 301:
  case 308:
  case 404:
  case 405:
  case 410:
  case 414:
  case 501:
    return 1;
  default:
    return 0;
  }
}

double flurry__fresh_lifetime(const flurry__fresh_in *in) {
  if (in->cc.max_age >= 0) /* s-maxage is for shared caches */
    return (double)in->cc.max_age;
  double date = in->date >= 0 ? (double)in->date : in->response_time;
  if (in->expires >= 0) {
    double d = (double)in->expires - date;
    return d > 0 ? d : 0;
  }
  if (in->last_modified >= 0 && flurry__cache_status_ok(in->status)) {
    double d = date - (double)in->last_modified;
    return d > 0 ? d * FLURRY_CACHE_HEURISTIC_FRACTION : 0;
  }
  return 0;
}

double flurry__initial_age(const flurry__fresh_in *in) {
  double apparent = 0;
  if (in->date >= 0 && in->response_time > (double)in->date)
    apparent = in->response_time - (double)in->date;
  double delay = in->response_time - in->request_time;
  double corrected = (in->age > 0 ? (double)in->age : 0) + (delay > 0 ? delay : 0);
  return apparent > corrected ? apparent : corrected;
}

double flurry__cache_age(const flurry__cache_meta *m, double now) {
  double resident = now - m->response_time;
  return m->initial_age + (resident > 0 ? resident : 0);
}

flurry__cache_verdict flurry__cache_judge(const flurry__cache_meta *m, double now) {
  double age = flurry__cache_age(m, now);
  if (!m->no_cache && m->lifetime > age)
    return FLURRY__CACHE_FRESH;
  if (!m->no_cache && !m->must_revalidate && m->swr >= 0 && age < m->lifetime + m->swr)
    return FLURRY__CACHE_STALE_SWR;
  return FLURRY__CACHE_REVALIDATE;
}

int flurry__cache_stale_on_error(const flurry__cache_meta *m, double now) {
  if (m->must_revalidate || m->sie < 0)
    return 0;
  return flurry__cache_age(m, now) < m->lifetime + m->sie;
}
