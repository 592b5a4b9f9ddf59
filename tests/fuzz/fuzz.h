/* fuzz.h: what the libFuzzer targets (tests/fuzz/fuzz_*.c) share: a check
 * that aborts (libFuzzer then saves the input as a crash), line splitting,
 * exactly-sized copies (so that ASan sees any over-read), and the check that
 * a CLI record is one valid JSON line. */
#ifndef FLURRY_FUZZ_H
#define FLURRY_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property every input must keep; on failure, abort with the place. */
#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                     \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/* Known bugs, reported but not fixed yet (listed in tests/fuzz/README.md,
 * reproducers in tests/fuzz/crashes/<name>/): a target steps around its
 * known bug when FLURRY_FUZZ_SKIP_KNOWN is set (not empty, not 0), as ctest
 * and `make fuzz` set it, so that their runs keep finding new bugs instead
 * of the same one; `make fuzz` replays the reproducers to tell when a fix
 * has landed. */
static inline int fuzz_skip_known(void) {
  static int skip = -1;
  if (skip < 0) {
    const char *v = getenv("FLURRY_FUZZ_SKIP_KNOWN");
    skip = v != NULL && *v != '\0' && strcmp(v, "0") != 0;
  }
  return skip;
}

/* Takes the next line of [*p, *p + *n) (without its '\n') into line/len.
 * Returns 0 when nothing is left. */
static inline int fuzz_line(const char **p, size_t *n, const char **line, size_t *len) {
  if (*n == 0)
    return 0;
  const char *nl = memchr(*p, '\n', *n);
  *line = *p;
  *len = nl ? (size_t)(nl - *p) : *n;
  size_t used = nl ? *len + 1 : *len;
  *p += used;
  *n -= used;
  return 1;
}

/* A copy of p[0..n) in a block of exactly n bytes (n + 1 with nul: then
 * NUL-terminated). The caller frees it with free(). */
static inline char *fuzz_copy(const void *p, size_t n, int nul) {
  char *c = malloc(n + (nul ? 1 : 0) + (n == 0 && !nul));
  if (c == NULL)
    abort();
  if (n)
    memcpy(c, p, n);
  if (nul)
    c[n] = '\0';
  return c;
}

/* A CLI record (out->data[from..]) must be exactly one line holding one
 * valid JSON object: what `flurry` promises its readers. */
static inline void fuzz_check_record(const fl_buf *out, size_t from) {
  const char *rec = out->data + from;
  size_t n = out->len - from;
  FUZZ_CHECK(n >= 3 && rec[0] == '{' && rec[n - 1] == '\n');
  FUZZ_CHECK(memchr(rec, '\n', n - 1) == NULL);
  fl_buf again = FL_BUF_INIT(0);
  size_t off = 0;
  int rc = fl_json_compact(&again, rec, n - 1, &off);
  if (rc != FL_OK)
    fprintf(stderr, "record not JSON at %zu: %.*s\n", off, (int)n, rec);
  FUZZ_CHECK(rc == FL_OK);
  fl_buf_free(&again);
}

#endif
