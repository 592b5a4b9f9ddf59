/* fuzz_retry_after.c: Retry-After values (delay-seconds and the three
 * HTTP-date formats) as a server may send them. */
#include "fuzz.h"
#include "internal.h"

#define NOW 1700000000 /* 2023-11-14, a fixed clock */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *v = fuzz_copy(data, size, 0);
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
