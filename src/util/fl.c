/* fl.c: allocation seam, bounded buffer, clock, small string helpers. */
#include "fl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t alloc_fail_countdown; /* 0 = never fail */
static uint64_t alloc_calls;

void fl_alloc_fail_at(uint64_t k) { alloc_fail_countdown = k; }

uint64_t fl_alloc_count(void) { return alloc_calls; }

static int alloc_should_fail(void) {
  alloc_calls++;
  if (alloc_fail_countdown == 0)
    return 0;
  return --alloc_fail_countdown == 0;
}

void *fl_malloc(size_t n) { return alloc_should_fail() ? NULL : malloc(n ? n : 1); }

void *fl_calloc(size_t count, size_t n) {
  return alloc_should_fail() ? NULL : calloc(count ? count : 1, n ? n : 1);
}

void *fl_realloc(void *p, size_t n) { return alloc_should_fail() ? NULL : realloc(p, n ? n : 1); }

void fl_free(void *p) { free(p); }

char *fl_strndup(const char *s, size_t n) {
  char *d = fl_malloc(n + 1);
  if (d == NULL)
    return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *fl_strdup(const char *s) { return fl_strndup(s, strlen(s)); }

/* ---- fl_buf ---- */

size_t fl_buf_drain(const fl_buf *b, size_t *off, void *dst, size_t n) {
  size_t left = *off < b->len ? b->len - *off : 0;
  n = n < left ? n : left;
  if (n > 0)
    memcpy(dst, b->data + *off, n);
  *off += n;
  return n;
}

int fl_buf_reserve(fl_buf *b, size_t n) {
  size_t max = b->max ? b->max : SIZE_MAX - 1;
  if (n > max - b->len)
    return FL_ELIMIT;
  size_t need = b->len + n + 1;
  if (need <= b->cap)
    return FL_OK;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  char *d = fl_realloc(b->data, cap);
  if (d == NULL)
    return FL_ENOMEM;
  b->data = d;
  b->cap = cap;
  return FL_OK;
}

int fl_buf_append(fl_buf *b, const void *p, size_t n) {
  int rc = fl_buf_reserve(b, n);
  if (rc != FL_OK)
    return rc;
  if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return FL_OK;
}

int fl_buf_puts(fl_buf *b, const char *s) { return fl_buf_append(b, s, strlen(s)); }

int fl_buf_putc(fl_buf *b, char c) {
  if (b->len + 1 < b->cap && (b->max == 0 || b->len < b->max)) {
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
    return FL_OK;
  }
  return fl_buf_append(b, &c, 1);
}

int fl_buf_vprintf(fl_buf *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, ap2);
  va_end(ap2);
  if (n < 0)
    return FL_ENOMEM;
  if ((size_t)n < sizeof small)
    return fl_buf_append(b, small, (size_t)n);
  int rc = fl_buf_reserve(b, (size_t)n);
  if (rc != FL_OK)
    return rc;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return FL_OK;
}

int fl_buf_printf(fl_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = fl_buf_vprintf(b, fmt, ap);
  va_end(ap);
  return rc;
}

int fl_buf_i64(fl_buf *b, int64_t v) {
  char tmp[24];
  size_t i = sizeof tmp;
  uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0)
    tmp[--i] = '-';
  return fl_buf_append(b, tmp + i, sizeof tmp - i);
}

int fl_buf_fixed3(fl_buf *b, double v) {
  if (!(v >= 0) || v > 9e15)
    return fl_buf_printf(b, "%.3f", v > 0 ? v : 0.0);
  int64_t milli = (int64_t)(v * 1000.0 + 0.5);
  int rc = fl_buf_i64(b, milli / 1000);
  char frac[4] = {'.', (char)('0' + milli / 100 % 10), (char)('0' + milli / 10 % 10),
                  (char)('0' + milli % 10)};
  return rc == FL_OK ? fl_buf_append(b, frac, 4) : rc;
}

void fl_buf_reset(fl_buf *b) {
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
}

void fl_buf_free(fl_buf *b) {
  fl_free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

char *fl_buf_take(fl_buf *b, size_t *len) {
  char *d = b->data;
  if (len)
    *len = b->len;
  if (d == NULL)
    d = fl_strndup("", 0);
  b->data = NULL;
  b->len = b->cap = 0;
  return d;
}

/* ---- clock ---- */

static double fake_now = -1;

void fl_clock_set_fake(double ms) { fake_now = ms; }

double fl_now_ms(void) {
  if (fake_now >= 0)
    return fake_now;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- strings ---- */

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

int fl_strncaseeq(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
      return 0;
  return 1;
}

int fl_strcaseeq(const char *a, const char *b) {
  size_t n = strlen(a);
  return n == strlen(b) && fl_strncaseeq(a, b, n);
}

int fl_parse_i64(const char *s, size_t n, int64_t min, int64_t max, int64_t *out) {
  if (n == 0 || n > 20)
    return -1;
  size_t i = 0;
  int neg = 0;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i = 1;
    if (n == 1)
      return -1;
  }
  uint64_t v = 0;
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    uint64_t d = (uint64_t)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10)
      return -1;
    v = v * 10 + d;
  }
  if (!neg && v > (uint64_t)INT64_MAX)
    return -1;
  if (neg && v > (uint64_t)INT64_MAX + 1)
    return -1;
  int64_t r = neg ? (int64_t)(0 - v) : (int64_t)v;
  if (r < min || r > max)
    return -1;
  *out = r;
  return 0;
}
