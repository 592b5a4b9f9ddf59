/* retry.c: the pure parts of the retry policy: which outcomes retry, the
 * backoff delay, and Retry-After parsing. */
#include <string.h>

#include "internal.h"

int flurry__retryable(int err, int status, int may_repeat, int nothing_sent) {
  if (err == FLURRY_ECONNECT && nothing_sent)
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

int64_t flurry__backoff_ms(int attempt, int64_t base, int64_t cap, double rnd) {
  int64_t ceiling = base;
  for (int i = 1; i < attempt && ceiling < cap; i++)
    ceiling = ceiling > INT64_MAX / 2 ? INT64_MAX : ceiling * 2;
  if (ceiling > cap)
    ceiling = cap;
  if (rnd < 0)
    rnd = 0;
  if (rnd >= 1)
    rnd = 0.999999;
  return (int64_t)(rnd * (double)ceiling);
}

int flurry__retry_after_parse(const char *value, size_t n, int64_t now_unix,
                              int64_t *delay_ms) {
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
  *delay_ms = d > 0 ? d * 1000 : 0;
  return 0;
}
