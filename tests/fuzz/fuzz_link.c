/* fuzz_link.c: pagination's untrusted inputs: the Link header a server sends
 * (RFC 8288) and the next/last URLs taken from it, resolved against the page
 * they came from, compared by origin, and the page range between them. The
 * input's first line is the current page's URL, the rest the Link value. */
#include "internal.h"
#include "fuzz.h"

/* Every link the parser returns lies inside the value; it always moves on. */
static void walk(const char *p, size_t n) {
  const char *end = p + n;
  for (;;) {
    flurry_link l;
    size_t used = (size_t)-1;
    int rc = flurry_link_parse(p, n, &l, &used);
    FUZZ_CHECK(rc >= FLURRY_LINK_AGAIN && rc <= FLURRY_LINK_OK);
    if (rc != FLURRY_LINK_OK)
      return;
    FUZZ_CHECK(used > 0 && used <= n);
    FUZZ_CHECK(l.uri >= p && l.uri + l.uri_len <= end);
    FUZZ_CHECK(l.rel == NULL || (l.rel >= p && l.rel + l.rel_len <= end));
    (void)flurry_link_rel_has(&l, "next");
    p += used;
    n -= used;
  }
}

/* The URI of the link with rel, resolved against cur (fl_free), or NULL. */
static char *find(const char *cur, const char *p, size_t n, const char *rel) {
  const char *uri = NULL;
  size_t len = 0;
  int rc = flurry_link_find(p, n, rel, &uri, &len);
  FUZZ_CHECK(rc >= FLURRY_LINK_AGAIN && rc <= 1);
  if (rc != 1)
    return NULL;
  FUZZ_CHECK(uri >= p && uri + len <= p + n);
  char *ref = fuzz_copy(uri, len, 1);
  char *abs = flurry__url_resolve(cur, ref);
  free(ref);
  if (abs) { /* what becomes the next request's URL */
    FUZZ_CHECK(strncmp(abs, "http://", 7) == 0 || strncmp(abs, "https://", 8) == 0);
    FUZZ_CHECK(strpbrk(abs, "\r\n") == NULL);
    (void)flurry__url_same_origin(cur, abs);
  }
  return abs;
}

static void pages(const char *cur, const char *next, const char *last) {
  flurry__page_range pr;
  if (flurry__url_page_range(cur, next, last, &pr) != 0)
    return;
  size_t len = strlen(next);
  FUZZ_CHECK(pr.step > 0 && pr.first <= pr.last && (pr.last - pr.first) % pr.step == 0);
  FUZZ_CHECK(pr.name_at < pr.value_at && pr.value_at <= pr.value_end && pr.value_end <= len);
  char *first = flurry__url_page(next, &pr, pr.first), *end = flurry__url_page(next, &pr, pr.last);
  FUZZ_CHECK(first != NULL && end != NULL);
  FUZZ_CHECK(strncmp(first, next, pr.value_at) == 0 &&
             strcmp(end + strlen(end) - (len - pr.value_end), next + pr.value_end) == 0);
  fl_free(first);
  fl_free(end);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data, *line;
  size_t n = size, len;
  if (!fuzz_line(&p, &n, &line, &len))
    return 0;
  char *cur = fuzz_copy(line, len, 1);
  char *value = fuzz_copy(p, n, 0);
  walk(value, n);
  char *next = find(cur, value, n, "next"), *last = find(cur, value, n, "last");
  if (next && last)
    pages(cur, next, last);
  fl_free(next);
  fl_free(last);
  free(value);
  free(cur);
  return 0;
}
