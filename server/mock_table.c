/* mock_table.c: entries found by their key in an fl_map, with an LRU list
 * (fl_list) for eviction at the key limit. */
#include "mock_table.h"

#include <stdint.h>
#include <string.h>

#include "fl.h"

typedef struct entry {
  fl_list lru; /* in t->lru, least recently used first */
  uint64_t hash;
  mock_slot slot;
  size_t len;
  char key[];
} entry;

struct mock_table {
  fl_map map;  /* entry * */
  fl_list lru; /* entry.lru */
  size_t max_keys;
};

typedef struct key {
  const char *p;
  size_t n;
} key;

static uint64_t entry_hash(const void *elem, void *ud) {
  (void)ud;
  entry *const *e = elem;
  return (*e)->hash;
}

static int entry_eq(const void *elem, const void *k, void *ud) {
  (void)ud;
  entry *const *e = elem;
  const key *want = k;
  return (*e)->len == want->n && memcmp((*e)->key, want->p, want->n) == 0;
}

static const fl_map_type entry_type = {sizeof(entry *), entry_hash, entry_eq};

int mock_table_new(mock_table **out, size_t max_keys) {
  mock_table *t = fl_calloc(1, sizeof *t);
  if (t == NULL)
    return -1;
  fl_map_init(&t->map, &entry_type, NULL, SIZE_MAX);
  if (fl_map_reserve(&t->map, 1) != FL_OK) { /* the first slots, now */
    fl_free(t);
    return -1;
  }
  fl_list_init(&t->lru);
  t->max_keys = max_keys ? max_keys : 1;
  *out = t;
  return 0;
}

void mock_table_free(mock_table *t) {
  if (t == NULL)
    return;
  fl_list *l, *tmp;
  FL_LIST_FOREACH_SAFE(l, tmp, &t->lru) { fl_free(FL_CONTAINER(l, entry, lru)); }
  fl_map_free(&t->map);
  fl_free(t);
}

size_t mock_table_count(const mock_table *t) { return t->map.len; }

static void evict_oldest(mock_table *t) {
  entry *e = FL_CONTAINER(fl_list_pop_front(&t->lru), entry, lru);
  key k = {e->key, e->len};
  fl_map_remove(&t->map, fl_map_find(&t->map, e->hash, &k));
  fl_free(e);
}

static entry *insert(mock_table *t, const key *k, uint64_t h) {
  if (t->map.len >= t->max_keys)
    evict_oldest(t);
  entry *e = fl_calloc(1, sizeof *e + k->n);
  if (e == NULL)
    return NULL;
  e->hash = h;
  e->len = k->n;
  memcpy(e->key, k->p, k->n);
  if (fl_map_insert(&t->map, h, &e) != FL_OK) {
    fl_free(e);
    return NULL;
  }
  return e;
}

mock_slot *mock_table_get(mock_table *t, const char *key_p, size_t n, int *created) {
  if (n > MOCK_TABLE_KEY_MAX)
    return NULL;
  key k = {key_p, n};
  uint64_t h = fl_hash_mix(fl_hash(FL_HASH_INIT, key_p, n));
  entry **found = fl_map_find(&t->map, h, &k);
  entry *e = found ? *found : insert(t, &k, h);
  *created = found == NULL;
  if (e == NULL)
    return NULL;
  if (found)
    fl_list_remove(&e->lru);
  fl_list_push_back(&t->lru, &e->lru);
  return &e->slot;
}
