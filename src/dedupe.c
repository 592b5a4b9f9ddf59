/* dedupe.c: a set of 64-bit keys (request identities, page URL hashes) with
 * a hard limit, in an fl_map of the keys themselves. Memory: 16 bytes per
 * key at the limit. */
#include <string.h>

#include "client_int.h"

struct flurry_dedupe {
  fl_map keys; /* uint64_t; 0 is stored as 1 (a zero element is empty) */
};

static uint64_t key_hash(const void *elem, void *ud) {
  (void)ud;
  uint64_t k;
  memcpy(&k, elem, sizeof k);
  return fl_hash_mix(k);
}

static int key_eq(const void *elem, const void *key, void *ud) {
  (void)ud;
  return memcmp(elem, key, sizeof(uint64_t)) == 0;
}

static const fl_map_type key_type = {sizeof(uint64_t), key_hash, key_eq};

FLURRY_API int flurry_dedupe_new(flurry_dedupe **out, size_t limit) {
  flurry_dedupe *s = fl_calloc(1, sizeof *s);
  if (s == NULL)
    return FLURRY_ENOMEM;
  fl_map_init(&s->keys, &key_type, NULL, limit);
  *out = s;
  return 0;
}

FLURRY_API void flurry_dedupe_free(flurry_dedupe *s) {
  if (s == NULL)
    return;
  fl_map_free(&s->keys);
  fl_free(s);
}

FLURRY_API size_t flurry_dedupe_count(const flurry_dedupe *s) { return s->keys.len; }

FLURRY_API int flurry_dedupe_has(const flurry_dedupe *s, uint64_t key) {
  key = key ? key : 1;
  return fl_map_find(&s->keys, fl_hash_mix(key), &key) != NULL;
}

FLURRY_API int flurry_dedupe_add(flurry_dedupe *s, uint64_t key, int *added) {
  key = key ? key : 1;
  if (added)
    *added = 0;
  if (flurry_dedupe_has(s, key))
    return FLURRY_OK;
  int rc = fl_map_insert(&s->keys, fl_hash_mix(key), &key);
  if (rc == FL_OK && added)
    *added = 1;
  return rc == FL_OK ? FLURRY_OK : rc == FL_ELIMIT ? FLURRY_ETOO_LARGE : FLURRY_ENOMEM;
}
