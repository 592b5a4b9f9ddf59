/* fuzz_ratelimit.c: the rate-limit headers a server sends (IETF RateLimit
 * and RateLimit-Policy, GitHub's X-RateLimit-*) and Retry-After on a 429,
 * read from a response built the way libcurl fills it: the input is raw
 * header lines, a status line first when the server sends one. */
#include <math.h>

#include "fuzz.h"
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  flurry_response *resp = flurry__response_new(1024);
  FUZZ_CHECK(resp != NULL);
  resp->status = 429; /* a status line in the input replaces it */
  const char *p = (const char *)data, *line;
  size_t n = size, len;
  while (fuzz_line(&p, &n, &line, &len)) {
    char *copy = fuzz_copy(line, len, 0);
    int rc = flurry__response_header_line(resp, copy, len);
    free(copy);
    if (rc != FLURRY_OK)
      break;
  }
  double policy = -7, reset_ms = -7;
  int spent = -7;
  int has = flurry__ratelimit_parse(resp, &policy, &spent, &reset_ms);
  FUZZ_CHECK(has == 0 || has == 1);
  FUZZ_CHECK(spent == 0 || spent == 1);
  /* What the adaptive rate feeds into its token bucket and its pause. */
  FUZZ_CHECK(!isnan(policy) && policy >= 0);
  FUZZ_CHECK(!isnan(reset_ms) && (reset_ms == -1 || reset_ms >= 0));
  int64_t delay = flurry__server_delay(resp);
  FUZZ_CHECK(delay >= -1);
  flurry_response_free(resp);
  return 0;
}
