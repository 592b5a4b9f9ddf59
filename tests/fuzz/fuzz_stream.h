/* fuzz_stream.h: what fuzz_sse and fuzz_ndjson share: the input's first
 * byte picks the record limit and a split step, the rest is the body. The
 * body is framed whole and again in pieces of the step's size (each in a
 * block of exactly its size): both give the same records and the same
 * result. Every record keeps the framer's promises: seq counts from 1, the
 * data is within the limit and NUL-terminated, SSE fields are set. */
#ifndef FLURRY_FUZZ_STREAM_H
#define FLURRY_FUZZ_STREAM_H

#include "fuzz.h"
#include "stream_int.h"

typedef struct fuzz_sink {
  fl_buf out;
  int mode;
  size_t max;
  uint64_t n;
} fuzz_sink;

static int fuzz_collect(void *ud, const flurry_stream_record *rec) {
  fuzz_sink *s = ud;
  FUZZ_CHECK(rec->seq == ++s->n);
  FUZZ_CHECK(rec->len <= s->max && rec->data[rec->len] == '\0');
  if (s->mode == FLURRY_STREAM_SSE) {
    FUZZ_CHECK(rec->event && *rec->event && rec->id && strlen(rec->id) <= FLURRY_STREAM_ID_MAX);
  } else {
    FUZZ_CHECK(rec->event == NULL && rec->id == NULL && rec->retry_ms == -1);
    FUZZ_CHECK(memchr(rec->data, '\n', rec->len) == NULL);
  }
  if (s->mode == FLURRY_STREAM_NDJSON) { /* already compact JSON: unchanged */
    fl_buf again = FL_BUF_INIT(0);
    FUZZ_CHECK(fl_json_compact(&again, rec->data, rec->len, NULL) == FL_OK);
    FUZZ_CHECK(again.len == rec->len && memcmp(again.data, rec->data, rec->len) == 0);
    fl_buf_free(&again);
  }
  if (fl_buf_printf(&s->out, "%llu|%s|%s|%lld|%zu|", (unsigned long long)rec->seq,
                    rec->event ? rec->event : "", rec->id ? rec->id : "", (long long)rec->retry_ms,
                    rec->len) != FL_OK ||
      fl_buf_append(&s->out, rec->data, rec->len) != FL_OK)
    abort();
  return 0;
}

/* Frames p[0..n) in pieces of step bytes (0: whole); the records as text. */
static char *fuzz_frame(int mode, size_t max, const char *p, size_t n, size_t step, int *rc) {
  fuzz_sink s = {FL_BUF_INIT(0), mode, max, 0};
  flurry__framer f;
  flurry__framer_init(&f, mode, max, fuzz_collect, &s);
  *rc = FRAME_OK;
  for (size_t at = 0; at < n && *rc == FRAME_OK;) {
    size_t k = step && n - at > step ? step : n - at;
    char *piece = fuzz_copy(p + at, k, 0);
    *rc = flurry__framer_feed(&f, piece, k);
    free(piece);
    at += k;
  }
  if (*rc == FRAME_OK)
    *rc = flurry__framer_finish(&f);
  flurry__framer_free(&f);
  return fl_buf_take(&s.out, NULL);
}

static inline void fuzz_stream(int mode, const uint8_t *data, size_t size) {
  if (size < 1)
    return;
  size_t max = 16 + (size_t)(data[0] & 0x0f) * 64, step = 1 + (data[0] >> 4);
  const char *p = (const char *)data + 1;
  size_t n = size - 1;
  int rc_whole, rc_split;
  char *whole = fuzz_frame(mode, max, p, n, 0, &rc_whole);
  char *split = fuzz_frame(mode, max, p, n, step, &rc_split);
  FUZZ_CHECK(rc_whole >= FRAME_NOMEM && rc_whole <= FRAME_OK && rc_whole != FRAME_NOMEM);
  FUZZ_CHECK(rc_whole == rc_split && strcmp(whole, split) == 0);
  fl_free(whole);
  fl_free(split);
}

#endif
