/* keyset.c: a set of 64-bit keys (request identities, page URL hashes) with
 * a hard limit: open addressing, linear probing, at most half full. Memory:
 * 16 bytes per key at the limit. */
#include <string.h>

#include "cli.h"

struct cli_keyset {
  uint64_t *slot; /* 0 = empty; key 0 is stored as 1 */
  size_t cap;     /* power of two */
  size_t count;
  size_t limit;
};

int cli_keyset_new(cli_keyset **out, size_t limit) {
  cli_keyset *s = fl_calloc(1, sizeof *s);
  if (s == NULL)
    return FLURRY_ENOMEM;
  s->limit = limit;
  *out = s;
  return 0;
}

void cli_keyset_free(cli_keyset *s) {
  if (s == NULL)
    return;
  fl_free(s->slot);
  fl_free(s);
}

size_t cli_keyset_count(const cli_keyset *s) { return s->count; }

static size_t find(const uint64_t *slot, size_t cap, uint64_t key) {
  size_t i = (size_t)(key ^ (key >> 29)) & (cap - 1);
  while (slot[i] != 0 && slot[i] != key)
    i = (i + 1) & (cap - 1);
  return i;
}

static int grow(cli_keyset *s) {
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

int cli_keyset_has(const cli_keyset *s, uint64_t key) {
  key = key ? key : 1;
  return s->cap && s->slot[find(s->slot, s->cap, key)] == key;
}

int cli_keyset_add(cli_keyset *s, uint64_t key) {
  key = key ? key : 1;
  if (cli_keyset_has(s, key))
    return 1;
  if (s->count >= s->limit)
    return CLI_KEYSET_FULL;
  if ((s->count + 1) * 2 > s->cap && grow(s) != 0)
    return FLURRY_ENOMEM;
  s->slot[find(s->slot, s->cap, key)] = key;
  s->count++;
  return 0;
}
