/* fuzz_retry_after.c: Retry-After values (delay-seconds and the three
 * HTTP-date formats) as a server may send them. */
#include "fuzz.h"
#include "internal.h"

#define NOW 1700000000 /* 2023-11-14, a fixed clock */

/* Known bug (tests/fuzz/README.md): a date so far ahead that its distance
 * in ms overflows int64_t (src/retry.c). 1 for such a value. */
static int far_future_date(const char *v, size_t n) {
  while (n && (*v == ' ' || *v == '\t'))
    v++, n--;
  while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
    n--;
  if (n == 0 || n > 63 || (*v >= '0' && *v <= '9'))
    return 0;
  char date[64];
  memcpy(date, v, n);
  date[n] = '\0';
  time_t t = curl_getdate(date, NULL);
  return t != (time_t)-1 && (int64_t)t - NOW - 3600 > INT64_MAX / 1000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *v = fuzz_copy(data, size, 0);
  if (fuzz_skip_known() && far_future_date(v, size)) {
    free(v);
    return 0;
  }
  int64_t ms = -12345;
  int rc = flurry__retry_after_parse(v, size, NOW, &ms);
  FUZZ_CHECK(rc == 0 || rc == -1);
  if (rc == 0)
    FUZZ_CHECK(ms >= 0); /* a date in the past is "now", never negative */
  else
    FUZZ_CHECK(ms == -12345); /* untouched on failure */
  /* A later clock never makes the wait longer. */
  int64_t later = -12345;
  FUZZ_CHECK(flurry__retry_after_parse(v, size, NOW + 3600, &later) == rc);
  if (rc == 0)
    FUZZ_CHECK(later <= ms);
  free(v);
  return 0;
}
