/* listen_dedup.c: a FIFO ring of (key, expiry) entries indexed by a
 * linear-probing hash table of ring positions (see listen_dedup.h).
 * Removal from the index uses backward shifting, so there are no
 * tombstones; a key removed out of order stays in the ring as a dead entry
 * until it reaches the head. */
#include "listen_dedup.h"

#include <string.h>

#include <openssl/evp.h>

#include "fl.h"

#define RING_MIN 1024u
#define EMPTY UINT32_MAX

typedef struct entry {
  unsigned char key[FLURRY__DEDUP_KEY_LEN];
  int64_t expires; /* INT64_MIN: removed (dead) */
} entry;

struct flurry__dedup {
  entry *ring;
  size_t cap, head, len, live, max;
  uint32_t *index; /* ring positions; EMPTY when free */
  size_t mask;     /* index size - 1 (a power of two >= 2 * cap) */
  uint64_t evicted;
};

int flurry__dedup_key(const char *id, size_t n,
                      unsigned char key[FLURRY__DEDUP_KEY_LEN]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(id, n, md, &len, EVP_sha256(), NULL) != 1 ||
      len < FLURRY__DEDUP_KEY_LEN)
    return -1;
  memcpy(key, md, FLURRY__DEDUP_KEY_LEN);
  return 0;
}

static size_t home(const flurry__dedup *d, const unsigned char *key) {
  uint64_t h;
  memcpy(&h, key, sizeof h); /* SHA-256 bits: uniform already */
  return (size_t)h & d->mask;
}

/* The index slot holding key, or the empty slot where it would go. */
static size_t find_slot(const flurry__dedup *d, const unsigned char *key) {
  size_t i = home(d, key);
  while (d->index[i] != EMPTY &&
         memcmp(d->ring[d->index[i]].key, key, FLURRY__DEDUP_KEY_LEN) != 0)
    i = (i + 1) & d->mask;
  return i;
}

/* Empties slot i and shifts back the entries of its probe run. */
static void index_delete(flurry__dedup *d, size_t i) {
  size_t j = i;
  for (;;) {
    j = (j + 1) & d->mask;
    if (d->index[j] == EMPTY)
      break;
    size_t k = home(d, d->ring[d->index[j]].key);
    /* leave j where it is when its home lies cyclically in (i, j] */
    if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
      continue;
    d->index[i] = d->index[j];
    i = j;
  }
  d->index[i] = EMPTY;
}

static size_t pow2_at_least(size_t n) {
  size_t p = 1;
  while (p < n)
    p <<= 1;
  return p;
}

/* Rebuilds ring and index with room for cap entries, the ring unwrapped. */
static int grow(flurry__dedup *d, size_t cap) {
  size_t isize = pow2_at_least(2 * cap);
  entry *ring = fl_malloc(cap * sizeof *ring);
  uint32_t *index = fl_malloc(isize * sizeof *index);
  if (ring == NULL || index == NULL) {
    fl_free(ring);
    fl_free(index);
    return -1;
  }
  for (size_t i = 0; i < d->len; i++)
    ring[i] = d->ring[(d->head + i) % d->cap];
  memset(index, 0xff, isize * sizeof *index);
  fl_free(d->ring);
  fl_free(d->index);
  d->ring = ring;
  d->index = index;
  d->cap = cap;
  d->head = 0;
  d->mask = isize - 1;
  for (size_t i = 0; i < d->len; i++)
    if (ring[i].expires != INT64_MIN)
      d->index[find_slot(d, ring[i].key)] = (uint32_t)i;
  return 0;
}

int flurry__dedup_new(flurry__dedup **out, size_t max) {
  if (max == 0 || max > FLURRY__DEDUP_MAX_LIMIT)
    return -1;
  flurry__dedup *d = fl_calloc(1, sizeof *d);
  if (d == NULL)
    return -1;
  d->max = max;
  if (grow(d, max < RING_MIN ? max : RING_MIN) != 0) {
    fl_free(d);
    return -1;
  }
  *out = d;
  return 0;
}

void flurry__dedup_free(flurry__dedup *d) {
  if (d == NULL)
    return;
  fl_free(d->ring);
  fl_free(d->index);
  fl_free(d);
}

/* Drops the head of the ring. */
static void pop_head(flurry__dedup *d) {
  entry *e = &d->ring[d->head];
  if (e->expires != INT64_MIN) {
    index_delete(d, find_slot(d, e->key));
    d->live--;
  }
  d->head = (d->head + 1) % d->cap;
  d->len--;
}

void flurry__dedup_expire(flurry__dedup *d, int64_t now) {
  while (d->len > 0 && d->ring[d->head].expires <= now)
    pop_head(d); /* dead entries (INT64_MIN) go too */
}

int flurry__dedup_has(const flurry__dedup *d, const unsigned char *key) {
  return d->index[find_slot(d, key)] != EMPTY;
}

int flurry__dedup_add(flurry__dedup *d, const unsigned char *key,
                      int64_t expires) {
  if (d->len == d->cap && d->cap < d->max) {
    size_t cap = d->cap * 2 < d->max ? d->cap * 2 : d->max;
    if (grow(d, cap) != 0)
      return -1;
  }
  while (d->len == d->cap) {
    d->evicted += d->ring[d->head].expires != INT64_MIN;
    pop_head(d);
  }
  size_t pos = (d->head + d->len) % d->cap;
  memcpy(d->ring[pos].key, key, FLURRY__DEDUP_KEY_LEN);
  d->ring[pos].expires = expires == INT64_MIN ? INT64_MIN + 1 : expires;
  d->index[find_slot(d, key)] = (uint32_t)pos;
  d->len++;
  d->live++;
  return 0;
}

int flurry__dedup_remove(flurry__dedup *d, const unsigned char *key) {
  size_t i = find_slot(d, key);
  if (d->index[i] == EMPTY)
    return 0;
  d->ring[d->index[i]].expires = INT64_MIN;
  index_delete(d, i);
  d->live--;
  return 1;
}

size_t flurry__dedup_count(const flurry__dedup *d) { return d->live; }

uint64_t flurry__dedup_evicted(const flurry__dedup *d) { return d->evicted; }
