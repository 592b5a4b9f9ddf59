/* retry.c: the pure parts of the retry policy: which outcomes retry, the
 * backoff delay, and Retry-After parsing. */
#include <curl/curl.h>
#include <string.h>
#include <time.h>

#include "fl.h"
#include "retry_int.h"

int flurry__retryable(int err, int status, int may_repeat, int nothing_sent) {
  if ((err == FLURRY_ECONNECT || err == FLURRY_ETIMEOUT) && nothing_sent)
    return 1; /* no byte left us: always safe to try again */
  if (err == FLURRY_ECONNECT || err == FLURRY_ERESET || err == FLURRY_ETIMEOUT)
    return may_repeat;
  if (err != FLURRY_EHTTP)
    return 0;
  switch (status) {
  case 408:
  case 429:
  case 500:
  case 502:
  case 503:
  case 504:
    return may_repeat;
  default:
    return 0;
  }
}

int64_t flurry__backoff_ceiling_ms(int attempt, int64_t base, int64_t cap) {
  int64_t ceiling = base;
  for (int i = 1; i < attempt && ceiling < cap; i++)
    ceiling = ceiling > INT64_MAX / 2 ? INT64_MAX : ceiling * 2;
  return ceiling > cap ? cap : ceiling;
}

int64_t flurry__backoff_ms(int attempt, int64_t base, int64_t cap, double rnd) {
  int64_t ceiling = flurry__backoff_ceiling_ms(attempt, base, cap);
  if (rnd < 0)
    rnd = 0;
  if (rnd >= 1)
    rnd = 0.999999;
  return (int64_t)(rnd * (double)ceiling);
}

double flurry__backoff_delay_ms(int jitter, int attempt, int64_t base, int64_t cap, double prev_ms,
                                double rnd) {
  switch (jitter) {
  case FLURRY_JITTER_NONE:
    return (double)flurry__backoff_ceiling_ms(attempt, base, cap);
  case FLURRY_JITTER_DECORRELATED: {
    double prev = prev_ms > (double)base ? prev_ms : (double)base;
    double d = (double)base + rnd * (prev * 3 - (double)base);
    return d < (double)cap ? d : (double)cap;
  }
  default:
    return (double)flurry__backoff_ms(attempt, base, cap, rnd);
  }
}

int flurry__retry_after_parse(const char *value, size_t n, int64_t now_unix, int64_t *delay_ms) {
  while (n && (*value == ' ' || *value == '\t'))
    value++, n--;
  while (n && (value[n - 1] == ' ' || value[n - 1] == '\t'))
    n--;
  if (n == 0 || n > 63)
    return -1;
  int64_t secs;
  if (value[0] >= '0' && value[0] <= '9') {
    if (fl_parse_i64(value, n, 0, INT64_MAX / 1000, &secs) != 0)
      return -1;
    *delay_ms = secs * 1000;
    return 0;
  }
  char date[64];
  memcpy(date, value, n);
  date[n] = '\0';
  /* libcurl's date parser reads all three RFC 9110 formats (IMF-fixdate,
   * RFC 850, asctime); it does no I/O and keeps no state. */
  time_t t = curl_getdate(date, NULL);
  if (t == (time_t)-1)
    return -1;
  int64_t d = (int64_t)t - now_unix;
  if (d > INT64_MAX / 1000) /* a date ages away: as long a wait as there is */
    d = INT64_MAX / 1000;
  *delay_ms = d > 0 ? d * 1000 : 0;
  return 0;
}

/* A number at the start of s (after spaces), or -1. */
static double lead_number(const char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  if (*s < '0' || *s > '9')
    return -1;
  double v = 0;
  for (; *s >= '0' && *s <= '9'; s++)
    v = v * 10 + (*s - '0');
  return v;
}

/* The value of `name=` inside a structured header ("limit=100, remaining=0,
 * reset=5"), or -1. */
static double param(const char *v, const char *name) {
  size_t n = strlen(name);
  for (const char *p = v; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
    while (*p == ' ' || *p == ';')
      p++;
    if (fl_strncaseeq(p, name, n) && p[n] == '=')
      return lead_number(p + n + 1);
  }
  return -1;
}

int flurry__ratelimit_parse(const flurry_response *resp, double *policy_rate, int *spent,
                            double *reset_ms) {
  const char *combined = flurry_response_header(resp, "RateLimit");
  const char *policy = flurry_response_header(resp, "RateLimit-Policy");
  const char *rem = flurry_response_header(resp, "RateLimit-Remaining");
  const char *reset = flurry_response_header(resp, "RateLimit-Reset");
  int github = 0;
  if (rem == NULL) {
    rem = flurry_response_header(resp, "X-RateLimit-Remaining");
    reset = flurry_response_header(resp, "X-RateLimit-Reset");
    github = rem != NULL;
  }
  double remaining = rem ? lead_number(rem) : combined ? param(combined, "remaining") : -1;
  double reset_s = reset ? lead_number(reset) : combined ? param(combined, "reset") : -1;
  if (github && reset_s > 1e9) /* GitHub: epoch seconds */
    reset_s -= (double)time(NULL);
  *policy_rate = 0;
  if (policy) { /* "100;w=60" (quota 100 per 60 s window) */
    double quota = lead_number(policy);
    const char *w = strstr(policy, "w=");
    double window = w ? lead_number(w + 2) : -1;
    if (quota > 0 && window > 0)
      *policy_rate = quota / window;
  }
  *spent = remaining == 0;
  *reset_ms = reset_s >= 0 ? reset_s * 1000 : -1;
  return combined || policy || rem;
}

/* Milliseconds the server asked us to wait (Retry-After on 429 or 503), or
 * -1 when it did not say. */
int64_t flurry__server_delay(const flurry_response *resp) {
  if (flurry_response_status(resp) != 429 && flurry_response_status(resp) != 503)
    return -1;
  const char *v = flurry_response_header(resp, "Retry-After");
  int64_t ms;
  if (v == NULL || flurry__retry_after_parse(v, strlen(v), (int64_t)time(NULL), &ms) != 0)
    return -1;
  return ms;
}
