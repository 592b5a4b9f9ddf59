/* dedupe.c: a set of 64-bit keys (request identities, page URL hashes) with
 * a hard limit: open addressing, linear probing, at most half full. Memory:
 * 16 bytes per key at the limit. */
#include <string.h>

#include "internal.h"

struct flurry_dedupe {
  uint64_t *slot; /* 0 = empty; key 0 is stored as 1 */
  size_t cap;     /* power of two */
  size_t count;
  size_t limit;
};

FLURRY_API int flurry_dedupe_new(flurry_dedupe **out, size_t limit) {
  flurry_dedupe *s = fl_calloc(1, sizeof *s);
  if (s == NULL)
    return FLURRY_ENOMEM;
  s->limit = limit;
  *out = s;
  return 0;
}

FLURRY_API void flurry_dedupe_free(flurry_dedupe *s) {
  if (s == NULL)
    return;
  fl_free(s->slot);
  fl_free(s);
}

FLURRY_API size_t flurry_dedupe_count(const flurry_dedupe *s) { return s->count; }

static size_t find(const uint64_t *slot, size_t cap, uint64_t key) {
  size_t i = (size_t)(key ^ (key >> 29)) & (cap - 1);
  while (slot[i] != 0 && slot[i] != key)
    i = (i + 1) & (cap - 1);
  return i;
}

static int grow(flurry_dedupe *s) {
  size_t cap = s->cap ? s->cap * 2 : 64;
  uint64_t *slot = fl_calloc(cap, sizeof *slot);
  if (slot == NULL)
    return FLURRY_ENOMEM;
  for (size_t i = 0; i < s->cap; i++)
    if (s->slot[i])
      slot[find(slot, cap, s->slot[i])] = s->slot[i];
  fl_free(s->slot);
  s->slot = slot;
  s->cap = cap;
  return 0;
}

FLURRY_API int flurry_dedupe_has(const flurry_dedupe *s, uint64_t key) {
  key = key ? key : 1;
  return s->cap && s->slot[find(s->slot, s->cap, key)] == key;
}

FLURRY_API int flurry_dedupe_add(flurry_dedupe *s, uint64_t key) {
  key = key ? key : 1;
  if (flurry_dedupe_has(s, key))
    return 1;
  if (s->count >= s->limit)
    return FLURRY_ETOO_LARGE;
  if ((s->count + 1) * 2 > s->cap && grow(s) != 0)
    return FLURRY_ENOMEM;
  s->slot[find(s->slot, s->cap, key)] = key;
  s->count++;
  return 0;
}
