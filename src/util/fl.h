/* fl: the small layer shared by the library, the CLI and the servers:
 * one allocation seam, a bounded buffer, an intrusive list, a min-heap, a
 * hash map and a hash function, a monotonic clock, JSON text helpers.
 * Nothing else is shared sideways. Internal: not installed. */
#ifndef FL_H
#define FL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* The struct that embeds a node (list, heap): ptr points at its member. */
#define FL_CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

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

#define FL_BUF_INIT(maxbytes)                                                                      \
  { NULL, 0, 0, (maxbytes) }

enum { FL_OK = 0, FL_ENOMEM = -1, FL_ELIMIT = -2 };

/* Appends n bytes; keeps data NUL-terminated. Returns FL_OK, FL_ENOMEM, or
 * FL_ELIMIT (len would exceed max; nothing appended). */
int fl_buf_append(fl_buf *b, const void *p, size_t n);
int fl_buf_puts(fl_buf *b, const char *s);
int fl_buf_putc(fl_buf *b, char c);
int fl_buf_printf(fl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
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

#define FL_HEAP_INIT                                                                               \
  { NULL, 0, 0, 0 }
#define FL_HEAP_NODE_INIT                                                                          \
  { 0, 0, SIZE_MAX }
int fl_heap_push(fl_heap *h, fl_heap_node *n, double key); /* FL_OK / FL_ENOMEM */
/* Room for n nodes: pushes up to n cannot fail. FL_OK / FL_ENOMEM. */
int fl_heap_reserve(fl_heap *h, size_t n);
fl_heap_node *fl_heap_top(const fl_heap *h); /* NULL when empty */
fl_heap_node *fl_heap_pop(fl_heap *h);
void fl_heap_remove(fl_heap *h, fl_heap_node *n); /* n must be in h */
int fl_heap_contains(const fl_heap_node *n);
void fl_heap_free(fl_heap *h);

/* ---- intrusive doubly linked list ---------------------------------------- */
/* A circular list through a sentinel head (libuv's queue, Linux's
 * list_head): the owner embeds an fl_list node and FL_CONTAINER gets it
 * back. Every operation is O(1) and allocates nothing. The head must be
 * initialised (fl_list_init or FL_LIST_INIT); a node need not be: a node
 * of zero bytes is in no list, and so is a node fl_list_remove took out
 * (it then points at itself, as Linux's list_del_init leaves it). A node
 * is in at most one list at a time. */
typedef struct fl_list {
  struct fl_list *prev, *next;
} fl_list;

#define FL_LIST_INIT(head)                                                                         \
  { &(head), &(head) }

static inline void fl_list_init(fl_list *head) { head->prev = head->next = head; }
static inline int fl_list_empty(const fl_list *head) { return head->next == head; }
/* 1 when the node is in a list. */
static inline int fl_list_linked(const fl_list *n) { return n->next != NULL && n->next != n; }

/* Links n (in no list) right after at (the head or a node). */
static inline void fl_list_insert_after(fl_list *at, fl_list *n) {
  n->prev = at;
  n->next = at->next;
  at->next->prev = n;
  at->next = n;
}
static inline void fl_list_push_front(fl_list *head, fl_list *n) { fl_list_insert_after(head, n); }
static inline void fl_list_push_back(fl_list *head, fl_list *n) {
  fl_list_insert_after(head->prev, n);
}

/* Unlinks n from its list and leaves it in none. n is in a list, or was
 * taken out by fl_list_remove before (then nothing happens). */
static inline void fl_list_remove(fl_list *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->prev = n->next = n;
}

/* The first / last node, or NULL when the list is empty. */
static inline fl_list *fl_list_first(const fl_list *head) {
  return head->next == head ? NULL : head->next;
}
static inline fl_list *fl_list_last(const fl_list *head) {
  return head->prev == head ? NULL : head->prev;
}
/* The node after / before n in head's list, or NULL at the end. */
static inline fl_list *fl_list_next(const fl_list *head, const fl_list *n) {
  return n->next == head ? NULL : n->next;
}
static inline fl_list *fl_list_prev(const fl_list *head, const fl_list *n) {
  return n->prev == head ? NULL : n->prev;
}
/* Unlinks and returns the first node, or NULL when the list is empty. */
static inline fl_list *fl_list_pop_front(fl_list *head) {
  fl_list *n = fl_list_first(head);
  if (n)
    fl_list_remove(n);
  return n;
}

/* Walks head's list front to back with n (an fl_list *). The _SAFE form
 * reads the next node (into tmp) before the body runs: the body may remove
 * n, free its owner, or add nodes, but not remove the node after n. */
#define FL_LIST_FOREACH(n, head) for ((n) = (head)->next; (n) != (head); (n) = (n)->next)
#define FL_LIST_FOREACH_SAFE(n, tmp, head)                                                         \
  for ((n) = (head)->next, (tmp) = (n)->next; (n) != (head); (n) = (tmp), (tmp) = (n)->next)

/* ---- hashing --------------------------------------------------------------- */
/* 64-bit FNV-1a over p[0..n), continuing from h (FL_HASH_INIT to start), so
 * a hash can be built from several pieces. Its values are stable across
 * runs and builds: flurry mock's seeded faults and the CLI's record keys
 * depend on them. Not keyed: where an adversary picks the input freely,
 * it can pick inputs that collide. */
#define FL_HASH_INIT 14695981039346656037ULL
uint64_t fl_hash(uint64_t h, const void *p, size_t n);
/* Spreads every bit of h over all 64 (MurmurHash3's finaliser; a
 * bijection): FNV-1a mixes its last bytes weakly, and a table indexes by
 * low bits, shards by "h % n". */
uint64_t fl_hash_mix(uint64_t h);

/* ---- hash map: open addressing ------------------------------------------- */
/* Fixed-size elements (a pointer to the owner, a key, an index + 1) in one
 * array, found by a 64-bit hash: linear probing from slot hash & (cap - 1),
 * removal by backward shift (no tombstones, no slow down after churn).
 * Pass a hash that spreads over the low bits (fl_hash_mix). An element of
 * all zero bytes marks an empty slot: it cannot be stored.
 *
 * Growth: cap is 0 until the first insert or reserve, then FL_MAP_MIN_CAP;
 * an insert that would leave the map more than half full first doubles
 * cap, re-placing each element by type->hash (one allocation). Memory:
 * type->size * cap, so 2 to 4 times size per element. The map never
 * shrinks; fl_map_free releases it. At most max elements (FL_ELIMIT past
 * that). A failed call changes nothing. An element pointer the map gave
 * out is valid until the next insert, remove or reserve. Not thread-safe. */
typedef struct fl_map_type {
  size_t size; /* bytes per element (its type's sizeof: slots stay aligned) */
  /* The hash of a stored element (the one it was inserted with). */
  uint64_t (*hash)(const void *elem, void *ud);
  /* 1 when the stored elem has key (what the caller passes to find). */
  int (*eq)(const void *elem, const void *key, void *ud);
} fl_map_type;

typedef struct fl_map {
  const fl_map_type *type;
  void *ud; /* passed to type->hash and type->eq */
  unsigned char *slot;
  size_t cap; /* 0 or a power of two >= FL_MAP_MIN_CAP */
  size_t len;
  size_t max;
} fl_map;

#define FL_MAP_MIN_CAP 64u

/* Empty map, nothing allocated. max: the most elements (SIZE_MAX: memory
 * is the only bound). */
void fl_map_init(fl_map *m, const fl_map_type *type, void *ud, size_t max);
/* The stored element with key whose hash is hash, or NULL. */
void *fl_map_find(const fl_map *m, uint64_t hash, const void *key);
/* Copies elem (type->size bytes, not all zero; its key not in the map)
 * in. Returns FL_OK, FL_ELIMIT (max elements already) or FL_ENOMEM. */
int fl_map_insert(fl_map *m, uint64_t hash, const void *elem);
/* Grows now so that inserts up to n elements in all cannot fail for
 * memory. FL_OK, FL_ELIMIT (n > max) or FL_ENOMEM. */
int fl_map_reserve(fl_map *m, size_t n);
/* Removes a stored element (a pointer find or next gave). */
void fl_map_remove(fl_map *m, void *elem);
/* Iteration: *pos = 0, then each call gives the next element, NULL at the
 * end. The map must not change during the walk (removing included). */
void *fl_map_next(const fl_map *m, size_t *pos);
/* Releases the slots: the map is empty and keeps its type and max. */
void fl_map_free(fl_map *m);

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
/* 1 if p[0..n) is valid UTF-8 (RFC 3629: no overlong form, surrogate or
 * code point past U+10FFFF), else 0. */
int fl_utf8_valid(const char *p, size_t n);
/* Appends the base64 (RFC 4648, padded) encoding of p[0..n). */
int fl_base64(fl_buf *b, const unsigned char *p, size_t n);

/* ---- misc ---------------------------------------------------------------- */
/* Case-insensitive ASCII comparison of n bytes / of C strings. */
int fl_strncaseeq(const char *a, const char *b, size_t n);
int fl_strcaseeq(const char *a, const char *b);
/* Parses a whole decimal integer in [min, max]; returns 0 or -1. */
int fl_parse_i64(const char *s, size_t n, int64_t min, int64_t max, int64_t *out);

#endif
