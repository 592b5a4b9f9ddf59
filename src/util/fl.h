/* fl: the small layer shared by the library, the CLI and the servers:
 * one allocation seam, a bounded buffer, a monotonic clock, JSON text helpers,
 * a hash function.
 * Nothing else is shared sideways. Internal: not installed. */
#ifndef FL_H
#define FL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---- allocation: every allocation of flurry goes through here ---------- */
void *fl_malloc(size_t n);
void *fl_calloc(size_t count, size_t n);
void *fl_realloc(void *p, size_t n);
void fl_free(void *p);
char *fl_strdup(const char *s);
char *fl_strndup(const char *s, size_t n);
/* Test seam: make the k-th allocation from now fail (0 disables). */
void fl_alloc_fail_at(uint64_t k);
/* Allocation calls (fl_malloc, fl_calloc, fl_realloc and what calls them)
 * made so far by this process, failed ones included: tests measure a
 * scenario's allocations K, then fail each k = 1..K in turn. */
uint64_t fl_alloc_count(void);

/* ---- bounded growable buffer -------------------------------------------- */
typedef struct fl_buf {
  char *data; /* NUL-terminated when len < cap; NULL until first append */
  size_t len;
  size_t cap;
  size_t max; /* hard limit on len; 0 = SIZE_MAX */
} fl_buf;

#define FL_BUF_INIT(maxbytes) {NULL, 0, 0, (maxbytes)}

enum { FL_OK = 0, FL_ENOMEM = -1, FL_ELIMIT = -2 };

/* Appends n bytes; keeps data NUL-terminated. Returns FL_OK, FL_ENOMEM, or
 * FL_ELIMIT (len would exceed max; nothing appended). */
int fl_buf_append(fl_buf *b, const void *p, size_t n);
int fl_buf_puts(fl_buf *b, const char *s);
int fl_buf_putc(fl_buf *b, char c);
int fl_buf_printf(fl_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int fl_buf_vprintf(fl_buf *b, const char *fmt, va_list ap);
/* Ensures room for n more bytes plus the NUL. */
int fl_buf_reserve(fl_buf *b, size_t n);
/* Appends a decimal integer / a non-negative number with 3 decimals
 * (e.g. 12.345), without printf: these run once or more per record. */
int fl_buf_i64(fl_buf *b, int64_t v);
int fl_buf_fixed3(fl_buf *b, double v);
void fl_buf_reset(fl_buf *b); /* len = 0, memory kept */
void fl_buf_free(fl_buf *b);  /* releases memory, keeps max */
/* Copies up to n bytes of b from offset *off into dst and advances *off:
 * reading back what was buffered. Returns the count (0: nothing left). */
size_t fl_buf_drain(const fl_buf *b, size_t *off, void *dst, size_t n);
/* Hands the storage over to the caller (never NULL unless out of memory:
 * an empty buffer gives ""), leaving b empty. */
char *fl_buf_take(fl_buf *b, size_t *len);

/* ---- min-heap of embedded nodes ------------------------------------------ */
/* Ordered by key, then by insertion (equal keys come out first in, first
 * out). A node is in at most one heap; index is the heap's business. */
typedef struct fl_heap_node {
  double key;
  uint64_t seq;
  size_t index; /* SIZE_MAX when not in a heap */
} fl_heap_node;

typedef struct fl_heap {
  fl_heap_node **v;
  size_t len, cap;
  uint64_t seq;
} fl_heap;

#define FL_HEAP_INIT {NULL, 0, 0, 0}
#define FL_HEAP_NODE_INIT {0, 0, SIZE_MAX}
int fl_heap_push(fl_heap *h, fl_heap_node *n, double key); /* FL_OK / FL_ENOMEM */
/* Room for n nodes: pushes up to n cannot fail. FL_OK / FL_ENOMEM. */
int fl_heap_reserve(fl_heap *h, size_t n);
fl_heap_node *fl_heap_top(const fl_heap *h);               /* NULL when empty */
fl_heap_node *fl_heap_pop(fl_heap *h);
void fl_heap_remove(fl_heap *h, fl_heap_node *n); /* n must be in h */
int fl_heap_contains(const fl_heap_node *n);
void fl_heap_free(fl_heap *h);
/* The struct that embeds a node. */
#define FL_CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* ---- clock --------------------------------------------------------------- */
/* Monotonic milliseconds. Injectable: fl_clock_set_fake(ms) freezes it at ms
 * (tests); fl_clock_set_fake(-1) returns to the real clock. */
double fl_now_ms(void);
void fl_clock_set_fake(double ms);

/* ---- JSON text ---------------------------------------------------------- */
/* Appends s (n bytes) as a JSON string literal, quotes included. Invalid
 * UTF-8 bytes become U+FFFD. */
int fl_json_str(fl_buf *b, const char *s, size_t n);
/* Validates that p[0..n) is exactly one JSON value (RFC 8259, surrounding
 * white space allowed) and appends it without insignificant white space.
 * Returns FL_OK, FL_ENOMEM, FL_ELIMIT, or FL_EPARSE (nothing appended;
 * *err_off, if not NULL, receives the offending offset). Depth limit 512. */
enum { FL_EPARSE = -3 };
int fl_json_compact(fl_buf *b, const char *p, size_t n, size_t *err_off);
/* The same check without output: FL_OK or FL_EPARSE (with *err_off). */
int fl_json_valid(const char *p, size_t n, size_t *err_off);
/* 1 if p[0..n) is valid UTF-8 with no NUL byte and no C0 control other than
 * tab, CR and LF, else 0. */
int fl_is_text(const char *p, size_t n);
/* Appends the base64 (RFC 4648, padded) encoding of p[0..n). */
int fl_base64(fl_buf *b, const unsigned char *p, size_t n);

/* ---- hashing -------------------------------------------------------------- */
/* 64-bit FNV-1a over p[0..n), continuing from h (start: FL_HASH_INIT); chain
 * calls to hash several fields. Stable across runs and machines: request
 * identities (resume journals, shards) are made of it. */
#define FL_HASH_INIT 14695981039346656037ULL
uint64_t fl_hash(uint64_t h, const void *p, size_t n);
/* Spreads every input bit over the result (MurmurHash3's finaliser), so
 * "key % N" splits evenly. */
uint64_t fl_hash_finish(uint64_t h);

/* ---- misc ---------------------------------------------------------------- */
/* Case-insensitive ASCII comparison of n bytes / of C strings. */
int fl_strncaseeq(const char *a, const char *b, size_t n);
int fl_strcaseeq(const char *a, const char *b);
/* Parses a whole decimal integer in [min, max]; returns 0 or -1. */
int fl_parse_i64(const char *s, size_t n, int64_t min, int64_t max, int64_t *out);

#endif
