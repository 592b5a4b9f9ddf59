/* mock_table.c: chained hash table (FNV-1a), doubling when the load passes
 * 1, with an LRU list for eviction at the key limit. */
#include "mock_table.h"

#include <stdint.h>
#include <string.h>

#include "fl.h"

typedef struct entry {
  struct entry *chain;            /* next in the bucket */
  struct entry *older, *newer;    /* LRU list */
  uint64_t hash;
  flurry__mock_slot slot;
  size_t len;
  char key[];
} entry;

struct flurry__mock_table {
  entry **buckets;
  size_t nbuckets; /* power of two */
  size_t count;
  size_t max_keys;
  entry *oldest, *newest;
};

#define INITIAL_BUCKETS 64u

uint64_t flurry__mock_hash(const void *p, size_t n, uint64_t h) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++) {
    h ^= c[i];
    h *= 1099511628211ull;
  }
  return h;
}

static uint64_t hash_key(const char *p, size_t n) {
  return flurry__mock_hash(p, n, FLURRY__MOCK_HASH_INIT);
}

int flurry__mock_table_new(flurry__mock_table **out, size_t max_keys) {
  flurry__mock_table *t = fl_calloc(1, sizeof *t);
  if (t == NULL)
    return -1;
  t->buckets = fl_calloc(INITIAL_BUCKETS, sizeof *t->buckets);
  if (t->buckets == NULL) {
    fl_free(t);
    return -1;
  }
  t->nbuckets = INITIAL_BUCKETS;
  t->max_keys = max_keys ? max_keys : 1;
  *out = t;
  return 0;
}

void flurry__mock_table_free(flurry__mock_table *t) {
  if (t == NULL)
    return;
  entry *e = t->oldest;
  while (e) {
    entry *next = e->newer;
    fl_free(e);
    e = next;
  }
  fl_free(t->buckets);
  fl_free(t);
}

size_t flurry__mock_table_count(const flurry__mock_table *t) { return t->count; }

static void lru_unlink(flurry__mock_table *t, entry *e) {
  if (e->older)
    e->older->newer = e->newer;
  else
    t->oldest = e->newer;
  if (e->newer)
    e->newer->older = e->older;
  else
    t->newest = e->older;
  e->older = e->newer = NULL;
}

static void lru_push(flurry__mock_table *t, entry *e) {
  e->older = t->newest;
  e->newer = NULL;
  if (t->newest)
    t->newest->newer = e;
  else
    t->oldest = e;
  t->newest = e;
}

static void chain_unlink(flurry__mock_table *t, entry *e) {
  entry **pp = &t->buckets[e->hash & (t->nbuckets - 1)];
  while (*pp != e)
    pp = &(*pp)->chain;
  *pp = e->chain;
}

static void evict_oldest(flurry__mock_table *t) {
  entry *e = t->oldest;
  lru_unlink(t, e);
  chain_unlink(t, e);
  fl_free(e);
  t->count--;
}

/* Doubles the bucket array; on allocation failure keeps the old one (the
 * table still works, with longer chains). */
static void grow(flurry__mock_table *t) {
  size_t n = t->nbuckets * 2;
  entry **b = fl_calloc(n, sizeof *b);
  if (b == NULL)
    return;
  for (entry *e = t->oldest; e; e = e->newer) {
    size_t i = e->hash & (n - 1);
    e->chain = b[i];
    b[i] = e;
  }
  fl_free(t->buckets);
  t->buckets = b;
  t->nbuckets = n;
}

static entry *find(flurry__mock_table *t, const char *key, size_t n,
                   uint64_t h) {
  for (entry *e = t->buckets[h & (t->nbuckets - 1)]; e; e = e->chain)
    if (e->hash == h && e->len == n && memcmp(e->key, key, n) == 0)
      return e;
  return NULL;
}

static entry *insert(flurry__mock_table *t, const char *key, size_t n,
                     uint64_t h) {
  if (t->count >= t->max_keys)
    evict_oldest(t);
  else if (t->count >= t->nbuckets)
    grow(t);
  entry *e = fl_calloc(1, sizeof *e + n);
  if (e == NULL)
    return NULL;
  e->hash = h;
  e->len = n;
  memcpy(e->key, key, n);
  size_t i = h & (t->nbuckets - 1);
  e->chain = t->buckets[i];
  t->buckets[i] = e;
  t->count++;
  return e;
}

flurry__mock_slot *flurry__mock_table_get(flurry__mock_table *t,
                                          const char *key, size_t n,
                                          int *created) {
  if (n > FLURRY__MOCK_TABLE_KEY_MAX)
    return NULL;
  uint64_t h = hash_key(key, n);
  entry *e = find(t, key, n, h);
  *created = e == NULL;
  if (e == NULL)
    e = insert(t, key, n, h);
  else
    lru_unlink(t, e);
  if (e == NULL)
    return NULL;
  lru_push(t, e);
  return &e->slot;
}
