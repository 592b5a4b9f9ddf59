/* fl_map.c: the hash function and the open-addressing hash map (fl.h). */
#include <string.h>

#include "fl.h"

/* ---- hashing ---- */

uint64_t fl_hash(uint64_t h, const void *p, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ s[i]) * 1099511628211ULL;
  return h;
}

uint64_t fl_hash_mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}

/* ---- the map ---- */

void fl_map_init(fl_map *m, const fl_map_type *type, void *ud, size_t max) {
  m->type = type;
  m->ud = ud;
  m->slot = NULL;
  m->cap = m->len = 0;
  m->max = max;
}

static unsigned char *at(const fl_map *m, size_t i) { return m->slot + i * m->type->size; }

static int is_empty(const fl_map *m, const unsigned char *e) {
  for (size_t i = 0; i < m->type->size; i++)
    if (e[i])
      return 0;
  return 1;
}

static size_t home(const fl_map *m, const void *elem) {
  return (size_t)m->type->hash(elem, m->ud) & (m->cap - 1);
}

/* The slot holding key, or the empty slot that ends its probe run. */
static size_t probe(const fl_map *m, uint64_t hash, const void *key) {
  size_t i = (size_t)hash & (m->cap - 1);
  while (!is_empty(m, at(m, i)) && !m->type->eq(at(m, i), key, m->ud))
    i = (i + 1) & (m->cap - 1);
  return i;
}

void *fl_map_find(const fl_map *m, uint64_t hash, const void *key) {
  if (m->len == 0)
    return NULL;
  unsigned char *e = at(m, probe(m, hash, key));
  return is_empty(m, e) ? NULL : e;
}

/* An empty slot for an element whose home is i. */
static size_t free_slot(const fl_map *m, size_t i) {
  while (!is_empty(m, at(m, i)))
    i = (i + 1) & (m->cap - 1);
  return i;
}

/* Moves every element into an array of cap slots (a power of two). */
static int rehash(fl_map *m, size_t cap) {
  size_t size = m->type->size;
  if (cap > SIZE_MAX / size)
    return FL_ENOMEM;
  unsigned char *slot = fl_calloc(cap, size);
  if (slot == NULL)
    return FL_ENOMEM;
  fl_map old = *m;
  m->slot = slot;
  m->cap = cap;
  for (size_t i = 0; i < old.cap; i++) {
    const unsigned char *e = at(&old, i);
    if (!is_empty(&old, e))
      memcpy(at(m, free_slot(m, home(m, e))), e, size);
  }
  fl_free(old.slot);
  return FL_OK;
}

int fl_map_reserve(fl_map *m, size_t n) {
  if (n > m->max)
    return FL_ELIMIT;
  if (n <= m->cap / 2)
    return FL_OK;
  size_t cap = m->cap ? m->cap : FL_MAP_MIN_CAP;
  while (n > cap / 2) {
    if (cap > SIZE_MAX / 2)
      return FL_ENOMEM;
    cap *= 2;
  }
  return rehash(m, cap);
}

int fl_map_insert(fl_map *m, uint64_t hash, const void *elem) {
  if (m->len >= m->max)
    return FL_ELIMIT;
  if (m->len + 1 > m->cap / 2) {
    int rc = rehash(m, m->cap ? m->cap * 2 : FL_MAP_MIN_CAP);
    if (rc != FL_OK)
      return rc;
  }
  memcpy(at(m, free_slot(m, (size_t)hash & (m->cap - 1))), elem, m->type->size);
  m->len++;
  return FL_OK;
}

/* Backward shift: the elements after the hole whose probe run crosses it
 * move up, so that every run stays unbroken. */
void fl_map_remove(fl_map *m, void *elem) {
  size_t size = m->type->size, mask = m->cap - 1;
  size_t hole = (size_t)((unsigned char *)elem - m->slot) / size;
  for (size_t j = (hole + 1) & mask; !is_empty(m, at(m, j)); j = (j + 1) & mask) {
    size_t k = home(m, at(m, j));
    /* j stays when its home lies cyclically in (hole, j] */
    if (hole <= j ? (hole < k && k <= j) : (hole < k || k <= j))
      continue;
    memcpy(at(m, hole), at(m, j), size);
    hole = j;
  }
  memset(at(m, hole), 0, size);
  m->len--;
}

void *fl_map_next(const fl_map *m, size_t *pos) {
  for (; *pos < m->cap; (*pos)++)
    if (!is_empty(m, at(m, *pos)))
      return at(m, (*pos)++);
  return NULL;
}

void fl_map_free(fl_map *m) {
  fl_free(m->slot);
  m->slot = NULL;
  m->cap = m->len = 0;
}
