/* listen_dedup.h: the delivery ids `flurry listen` has written, for a
 * window of time, in bounded memory.
 *
 * A set of 16-byte keys (the first half of SHA-256 of an id), each with an
 * expiry time; entries leave in arrival order, when they expire or, past
 * max entries, the oldest first (counted: the dedup window is then shorter
 * than asked). Memory: 24 bytes per entry in a ring plus a 4-byte slot per
 * entry in an open-addressing index at most half full, both grown by
 * doubling up to max: about 32 MB at the default 1,000,000 ids. Times are
 * milliseconds of the caller's clock (wall clock: they survive restarts).
 * Not thread-safe. */
#ifndef FLURRY_LISTEN_DEDUP_H
#define FLURRY_LISTEN_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#define FLURRY__DEDUP_KEY_LEN 16
#define FLURRY__DEDUP_MAX_DEFAULT 1000000u
#define FLURRY__DEDUP_MAX_LIMIT 100000000u

typedef struct flurry__dedup flurry__dedup;

/* The key of an id (n bytes). Returns 0, or -1 (libcrypto failed). */
int flurry__dedup_key(const char *id, size_t n,
                      unsigned char key[FLURRY__DEDUP_KEY_LEN]);

/* A set of at most max keys (1..FLURRY__DEDUP_MAX_LIMIT). Returns 0 and
 * *out, or -1 (out of memory, bad max; *out untouched). */
int flurry__dedup_new(flurry__dedup **out, size_t max);
/* NULL is a no-op. */
void flurry__dedup_free(flurry__dedup *d);

/* Drops the entries that expire at or before now, oldest first, stopping
 * at the first that has not (an entry behind it stays until then). */
void flurry__dedup_expire(flurry__dedup *d, int64_t now);

/* 1 when key is in the set (expired or not: call expire first), else 0. */
int flurry__dedup_has(const flurry__dedup *d, const unsigned char *key);

/* Adds key (not yet in the set) to expire at expires. When the set holds
 * max keys the oldest is dropped first. Returns 0, or -1 (out of memory
 * while growing: nothing changed). */
int flurry__dedup_add(flurry__dedup *d, const unsigned char *key,
                      int64_t expires);

/* Removes key if present (a write that failed after all). Returns 1 when
 * it was there, else 0. */
int flurry__dedup_remove(flurry__dedup *d, const unsigned char *key);

/* Keys held / dropped before they expired because the set was full. */
size_t flurry__dedup_count(const flurry__dedup *d);
uint64_t flurry__dedup_evicted(const flurry__dedup *d);

#endif
