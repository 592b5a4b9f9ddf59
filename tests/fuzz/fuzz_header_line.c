/* fuzz_header_line.c: raw response header lines as libcurl hands them over
 * (status lines of redirects and 1xx responses included), then every header
 * accessor over what was kept. The input is split at '\n' (kept, as libcurl
 * keeps CRLF). An input starting with 0xFF repeats its lines (second byte + 1)
 * x 64 times so that the 256 KiB header cap is reached from small inputs. */
#include "fuzz.h"
#include "internal.h"

/* Feeds the lines (each an exactly-sized copy, '\n' kept) in order. */
static int feed(flurry_response *resp, char **lines, const size_t *lens, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int rc = flurry__response_header_line(resp, lines[i], lens[i]);
    FUZZ_CHECK(rc == FLURRY_OK || rc == FLURRY_ETOO_LARGE);
    FUZZ_CHECK(resp->hdrs.len <= FLURRY_MAX_HEADER_BYTES);
    if (rc != FLURRY_OK)
      return rc; /* libcurl aborts the transfer: no more lines come */
  }
  return FLURRY_OK;
}

/* Every accessor must stay inside what was stored. Lookups walk the list
 * from its start, so only the first 256 and the last 4 headers are looked
 * up (all of them would be quadratic in 80,000 tiny headers). */
static void walk(const flurry_response *resp) {
  size_t n = flurry_response_header_count(resp);
  const char *end = resp->hdrs.data ? resp->hdrs.data + resp->hdrs.len : NULL;
  for (size_t i = 0; i < n; i = (i == 255 && n > 260) ? n - 4 : i + 1) {
    const char *name = NULL, *value = NULL;
    FUZZ_CHECK(flurry_response_header_at(resp, i, &name, &value) == FLURRY_OK);
    FUZZ_CHECK(name >= resp->hdrs.data && name < end);
    FUZZ_CHECK(value > name && value < end && value + strlen(value) < end);
    const char *found = flurry_response_header(resp, name);
    FUZZ_CHECK(found != NULL && found + strlen(found) < end);
  }
  FUZZ_CHECK(flurry_response_header_at(resp, n, NULL, NULL) == FLURRY_EINVALID);
  if (n == 0)
    FUZZ_CHECK(flurry_response_header(resp, "Content-Type") == NULL);
  int status = flurry_response_status(resp);
  FUZZ_CHECK(status == 0 || (status >= 100 && status <= 999));
  (void)strlen(flurry_response_reason(resp));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data;
  size_t n = size, times = 1;
  if (n >= 2 && data[0] == 0xFF) {
    times = ((size_t)data[1] + 1) * 64;
    p += 2;
    n -= 2;
  }
  char **lines = malloc((n + 1) * sizeof *lines);
  size_t *lens = malloc((n + 1) * sizeof *lens), count = 0;
  FUZZ_CHECK(lines != NULL && lens != NULL);
  while (n) {
    const char *nl = memchr(p, '\n', n);
    lens[count] = nl ? (size_t)(nl - p) + 1 : n;
    lines[count] = fuzz_copy(p, lens[count], 0);
    p += lens[count];
    n -= lens[count++];
  }
  flurry_response *resp = flurry__response_new(1024);
  FUZZ_CHECK(resp != NULL);
  int rc = FLURRY_OK;
  for (size_t t = 0, before = 1; t < times && rc == FLURRY_OK && before != resp->hdrs.len; t++) {
    before = t ? resp->hdrs.len : (size_t)-1; /* a pass that kept nothing: the rest alike */
    rc = feed(resp, lines, lens, count);
  }
  walk(resp);
  /* A new attempt starts from nothing. */
  flurry__response_reset(resp);
  FUZZ_CHECK(flurry_response_header_count(resp) == 0 && flurry_response_status(resp) == 0);
  flurry_response_free(resp);
  for (size_t i = 0; i < count; i++)
    free(lines[i]);
  free(lines);
  free(lens);
  return 0;
}
