/* listen_dedup.c: a FIFO ring of (key, expiry) entries indexed by an
 * fl_map of ring positions (see listen_dedup.h). A key removed out of
 * order stays in the ring as a dead entry until it reaches the head. */
#include "listen_dedup.h"

#include <string.h>

#include <openssl/evp.h>

#include "fl.h"

#define RING_MIN 1024u

typedef struct entry {
  unsigned char key[LISTEN_DEDUP_KEY_LEN];
  int64_t expires; /* INT64_MIN: removed (dead) */
} entry;

struct listen_dedup {
  entry *ring;
  size_t cap, head, len, live, max;
  fl_map index; /* uint32_t ring position + 1, of each live entry */
  uint64_t evicted;
};

int listen_dedup_key(const char *id, size_t n, unsigned char key[LISTEN_DEDUP_KEY_LEN]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(id, n, md, &len, EVP_sha256(), NULL) != 1 || len < LISTEN_DEDUP_KEY_LEN)
    return -1;
  memcpy(key, md, LISTEN_DEDUP_KEY_LEN);
  return 0;
}

static uint64_t key_hash(const unsigned char *key) {
  uint64_t h;
  memcpy(&h, key, sizeof h); /* SHA-256 bits: uniform already */
  return h;
}

/* The ring entry of an index element. */
static entry *entry_at(const listen_dedup *d, const void *elem) {
  uint32_t pos1;
  memcpy(&pos1, elem, sizeof pos1);
  return &d->ring[pos1 - 1];
}

static uint64_t index_hash(const void *elem, void *ud) { return key_hash(entry_at(ud, elem)->key); }

static int index_eq(const void *elem, const void *key, void *ud) {
  return memcmp(entry_at(ud, elem)->key, key, LISTEN_DEDUP_KEY_LEN) == 0;
}

static const fl_map_type index_type = {sizeof(uint32_t), index_hash, index_eq};

/* The index element of key, or NULL. */
static void *index_find(const listen_dedup *d, const unsigned char *key) {
  return fl_map_find(&d->index, key_hash(key), key);
}

/* Indexes the live entry at ring position pos (room is reserved). */
static void index_put(listen_dedup *d, size_t pos) {
  uint32_t pos1 = (uint32_t)pos + 1;
  (void)fl_map_insert(&d->index, key_hash(d->ring[pos].key), &pos1);
}

/* Rebuilds ring and index with room for cap entries, the ring unwrapped. */
static int grow(listen_dedup *d, size_t cap) {
  entry *ring = fl_malloc(cap * sizeof *ring);
  fl_map index;
  fl_map_init(&index, &index_type, d, cap);
  if (ring == NULL || fl_map_reserve(&index, cap) != FL_OK) {
    fl_free(ring);
    fl_map_free(&index);
    return -1;
  }
  for (size_t i = 0; i < d->len; i++)
    ring[i] = d->ring[(d->head + i) % d->cap];
  fl_free(d->ring);
  fl_map_free(&d->index);
  d->ring = ring;
  d->index = index;
  d->cap = cap;
  d->head = 0;
  for (size_t i = 0; i < d->len; i++)
    if (ring[i].expires != INT64_MIN)
      index_put(d, i);
  return 0;
}

int listen_dedup_new(listen_dedup **out, size_t max) {
  if (max == 0 || max > LISTEN_DEDUP_MAX_LIMIT)
    return -1;
  listen_dedup *d = fl_calloc(1, sizeof *d);
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

void listen_dedup_free(listen_dedup *d) {
  if (d == NULL)
    return;
  fl_free(d->ring);
  fl_map_free(&d->index);
  fl_free(d);
}

/* Drops the head of the ring. */
static void pop_head(listen_dedup *d) {
  entry *e = &d->ring[d->head];
  if (e->expires != INT64_MIN) {
    fl_map_remove(&d->index, index_find(d, e->key));
    d->live--;
  }
  d->head = (d->head + 1) % d->cap;
  d->len--;
}

void listen_dedup_expire(listen_dedup *d, int64_t now) {
  while (d->len > 0 && d->ring[d->head].expires <= now)
    pop_head(d); /* dead entries (INT64_MIN) go too */
}

int listen_dedup_has(const listen_dedup *d, const unsigned char *key) {
  return index_find(d, key) != NULL;
}

int listen_dedup_add(listen_dedup *d, const unsigned char *key, int64_t expires) {
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
  memcpy(d->ring[pos].key, key, LISTEN_DEDUP_KEY_LEN);
  d->ring[pos].expires = expires == INT64_MIN ? INT64_MIN + 1 : expires;
  index_put(d, pos);
  d->len++;
  d->live++;
  return 0;
}

int listen_dedup_remove(listen_dedup *d, const unsigned char *key) {
  void *elem = index_find(d, key);
  if (elem == NULL)
    return 0;
  entry_at(d, elem)->expires = INT64_MIN;
  fl_map_remove(&d->index, elem);
  d->live--;
  return 1;
}

size_t listen_dedup_count(const listen_dedup *d) { return d->live; }

uint64_t listen_dedup_evicted(const listen_dedup *d) { return d->evicted; }
