/* stream_frame.c: the record framers of streamed responses: lines, NDJSON
 * values and Server-Sent Events (the WHATWG HTML "event stream
 * interpretation"). Bytes come in pieces of any size; a record goes out the
 * moment its last byte arrives. No I/O; memory is bounded by the record
 * limit. */
#include <stdint.h>
#include <string.h>

#include "stream_int.h"

static const char bom[3] = {'\xEF', '\xBB', '\xBF'};

/* ---- pure helpers ---- */

ptrdiff_t flurry__line_end(const char *p, size_t n, int sse, size_t *eol) {
  if (!sse) {
    const char *lf = memchr(p, '\n', n);
    if (lf == NULL)
      return -1;
    *eol = 1;
    return lf - p;
  }
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '\n') {
      *eol = 1;
      return (ptrdiff_t)i;
    }
    if (p[i] == '\r') {
      *eol = i + 1 < n && p[i + 1] == '\n' ? 2 : 1;
      return (ptrdiff_t)i;
    }
  }
  return -1;
}

int flurry__sse_field(const char *p, size_t n, const char **field, size_t *flen, const char **value,
                      size_t *vlen) {
  if (n > 0 && p[0] == ':')
    return 0;
  const char *colon = memchr(p, ':', n);
  *field = p;
  if (colon == NULL) {
    *flen = n;
    *value = p + n;
    *vlen = 0;
    return 1;
  }
  *flen = (size_t)(colon - p);
  const char *v = colon + 1;
  if (v < p + n && *v == ' ')
    v++;
  *value = v;
  *vlen = (size_t)(p + n - v);
  return 1;
}

int flurry__sse_retry(const char *p, size_t n, int64_t *ms) {
  if (n == 0)
    return -1;
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9')
      return -1;
    int d = p[i] - '0';
    v = v > (INT64_MAX - d) / 10 ? INT64_MAX : v * 10 + d;
  }
  *ms = v;
  return 0;
}

/* ---- the framer ---- */

void flurry__framer_init(flurry__framer *f, int mode, size_t max_record, flurry__emit_fn emit,
                         void *ud) {
  memset(f, 0, sizeof *f);
  f->mode = mode;
  f->max_record = max_record;
  f->emit = emit;
  f->ud = ud;
  f->line.max = f->value.max = max_record;
  f->data.max = max_record + 1; /* the data's last LF is not the record's */
  f->event.max = f->id_buf.max = f->last_id.max = FLURRY_STREAM_ID_MAX;
  f->retry_ms = -1;
}

void flurry__framer_reset(flurry__framer *f) {
  fl_buf_reset(&f->line);
  fl_buf_reset(&f->value);
  fl_buf_reset(&f->data);
  fl_buf_reset(&f->event);
  fl_buf_reset(&f->id_buf);
  f->has_event = 0;
  f->cr = 0;
  f->bom = 0;
}

void flurry__framer_free(flurry__framer *f) {
  fl_buf_free(&f->line);
  fl_buf_free(&f->value);
  fl_buf_free(&f->data);
  fl_buf_free(&f->event);
  fl_buf_free(&f->id_buf);
  fl_buf_free(&f->last_id);
}

static int buf_err(int rc) {
  return rc == FL_OK ? FRAME_OK : rc == FL_ELIMIT ? FRAME_TOO_LARGE : FRAME_NOMEM;
}

/* Sets b to p[0..n), NUL-terminated even when empty. */
static int buf_set(fl_buf *b, const char *p, size_t n) {
  fl_buf_reset(b);
  int rc = fl_buf_reserve(b, n);
  if (rc == FL_OK)
    rc = fl_buf_append(b, p, n);
  if (rc == FL_OK)
    b->data[b->len] = '\0';
  return rc;
}

static const char *text(const fl_buf *b, const char *none) {
  return b->data && b->len ? b->data : none;
}

static int emit(flurry__framer *f, const char *data, size_t len, const char *event, const char *id,
                int64_t retry_ms) {
  flurry_stream_record rec = {++f->seq, data, len, event, id, retry_ms};
  return f->emit(f->ud, &rec) ? FRAME_STOP : FRAME_OK;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static int ndjson_line(flurry__framer *f, const char *p, size_t n) {
  while (n && is_ws(*p))
    p++, n--;
  while (n && is_ws(p[n - 1]))
    n--;
  if (n == 0)
    return FRAME_OK; /* a blank line */
  fl_buf_reset(&f->value);
  int rc = fl_json_compact(&f->value, p, n, NULL);
  if (rc == FL_EPARSE) {
    f->bad_at = (size_t)f->seq + 1;
    return FRAME_BAD;
  }
  if (rc != FL_OK)
    return buf_err(rc);
  return emit(f, f->value.data, f->value.len, NULL, NULL, -1);
}

/* The WHATWG "dispatch the event" steps. */
static int sse_dispatch(flurry__framer *f) {
  int rc = buf_set(&f->last_id, text(&f->id_buf, ""), f->id_buf.len);
  if (rc != FL_OK)
    return buf_err(rc);
  if (f->data.len == 0) {
    fl_buf_reset(&f->event);
    f->has_event = 0;
    return FRAME_OK;
  }
  f->data.len--; /* the last LF */
  f->data.data[f->data.len] = '\0';
  const char *event = f->has_event && f->event.len ? f->event.data : "message";
  rc = emit(f, f->data.data, f->data.len, event, text(&f->last_id, ""), f->retry_ms);
  fl_buf_reset(&f->data);
  fl_buf_reset(&f->event);
  f->has_event = 0;
  return rc;
}

static int field_is(const char *field, size_t flen, const char *name) {
  return flen == strlen(name) && memcmp(field, name, flen) == 0;
}

static int sse_line(flurry__framer *f, const char *p, size_t n) {
  const char *field, *value;
  size_t flen, vlen;
  if (n == 0)
    return sse_dispatch(f);
  if (!flurry__sse_field(p, n, &field, &flen, &value, &vlen))
    return FRAME_OK; /* a comment */
  int rc = FL_OK;
  int64_t ms;
  if (field_is(field, flen, "event")) {
    if (memchr(value, '\0', vlen) != NULL)
      return FRAME_OK; /* a C string cannot hold it: ignored, as an id */
    rc = buf_set(&f->event, value, vlen);
    f->has_event = 1;
  } else if (field_is(field, flen, "data")) {
    rc = fl_buf_append(&f->data, value, vlen);
    if (rc == FL_OK)
      rc = fl_buf_putc(&f->data, '\n');
  } else if (field_is(field, flen, "id")) {
    if (memchr(value, '\0', vlen) == NULL)
      rc = buf_set(&f->id_buf, value, vlen);
  } else if (field_is(field, flen, "retry")) {
    if (flurry__sse_retry(value, vlen, &ms) == 0)
      f->retry_ms = ms;
  }
  return buf_err(rc);
}

/* One complete line (without its end). */
static int line_done(flurry__framer *f, const char *p, size_t n) {
  switch (f->mode) {
  case FLURRY_STREAM_SSE:
    return sse_line(f, p, n);
  case FLURRY_STREAM_NDJSON:
    return ndjson_line(f, p, n);
  default:
    if (n && p[n - 1] == '\r')
      n--;
    int rc = buf_set(&f->value, p, n); /* NUL-terminated for the callback */
    return rc == FL_OK ? emit(f, f->value.data, n, NULL, NULL, -1) : buf_err(rc);
  }
}

/* SSE: strips one UTF-8 BOM at the start of a connection; the bytes of a
 * BOM begun but not finished are data after all. */
static int skip_bom(flurry__framer *f, const char **p, size_t *n, int *rc) {
  while (f->bom < 3 && *n > 0) {
    if (**p != bom[f->bom]) {
      int matched = f->bom;
      f->bom = 3;
      *rc = matched ? flurry__framer_feed(f, bom, (size_t)matched) : FRAME_OK;
      return *rc == FRAME_OK;
    }
    f->bom++;
    (*p)++;
    (*n)--;
  }
  return 1;
}

int flurry__framer_feed(flurry__framer *f, const char *p, size_t n) {
  int sse = f->mode == FLURRY_STREAM_SSE, rc = FRAME_OK;
  if (sse && f->bom < 3 && !skip_bom(f, &p, &n, &rc))
    return rc;
  while (n > 0) {
    if (f->cr) {
      f->cr = 0;
      if (*p == '\n') {
        p++, n--;
        continue;
      }
    }
    size_t eol = 0;
    ptrdiff_t len = flurry__line_end(p, n, sse, &eol);
    size_t take = len < 0 ? n : (size_t)len;
    if (f->line.len + take > f->max_record)
      return FRAME_TOO_LARGE;
    if (len < 0)
      return buf_err(fl_buf_append(&f->line, p, n));
    if (sse && eol == 1 && p[len] == '\r')
      f->cr = 1;
    if (f->line.len == 0) {
      rc = line_done(f, p, take); /* straight from the input: no copy */
    } else {
      rc = buf_err(fl_buf_append(&f->line, p, take));
      if (rc == FRAME_OK)
        rc = line_done(f, f->line.data, f->line.len);
      fl_buf_reset(&f->line);
    }
    if (rc != FRAME_OK)
      return rc;
    p += take + eol;
    n -= take + eol;
  }
  return FRAME_OK;
}

int flurry__framer_finish(flurry__framer *f) {
  int rc = FRAME_OK;
  if (f->mode != FLURRY_STREAM_SSE && f->line.len > 0)
    rc = line_done(f, f->line.data, f->line.len);
  fl_buf_reset(&f->line);
  return rc;
}
