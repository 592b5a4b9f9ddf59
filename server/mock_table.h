/* mock_table.h: a bounded string-keyed table for `flurry mock` state
 * (/flaky attempt counters, /limited token buckets, per-URL counters of
 * seeded fault injection).
 *
 * At most max_keys entries: inserting past it evicts the least recently
 * used entry, so memory stays bounded whatever clients send. Keys are
 * copied. Internal to the flurry binary. */
#ifndef FLURRY_MOCK_TABLE_H
#define FLURRY_MOCK_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define MOCK_TABLE_KEY_MAX 512u /* longest key, bytes */

typedef struct mock_table mock_table;

/* Each entry holds two numbers, zero when the entry is created. */
typedef struct mock_slot {
  double a;
  double b;
} mock_slot;

/* Creates an empty table holding at most max_keys (> 0) entries. Returns 0
 * or -1 (out of memory; *out untouched). */
int mock_table_new(mock_table **out, size_t max_keys);

/* Frees the table and its entries; NULL is a no-op. */
void mock_table_free(mock_table *t);

/* Finds the slot for key[0..n), creating it (zeroed, *created = 1) if
 * absent and evicting the least recently used entry when full. The pointer
 * is valid until the next call. Returns NULL when out of memory or when n
 * exceeds MOCK_TABLE_KEY_MAX. */
mock_slot *mock_table_get(mock_table *t, const char *key, size_t n, int *created);

/* Number of entries. */
size_t mock_table_count(const mock_table *t);

#endif
