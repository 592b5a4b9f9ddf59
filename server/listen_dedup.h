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

#define LISTEN_DEDUP_KEY_LEN 16
#define LISTEN_DEDUP_MAX_DEFAULT 1000000u
#define LISTEN_DEDUP_MAX_LIMIT 100000000u

typedef struct listen_dedup listen_dedup;

/* The key of an id (n bytes). Returns 0, or -1 (libcrypto failed). */
int listen_dedup_key(const char *id, size_t n, unsigned char key[LISTEN_DEDUP_KEY_LEN]);

/* A set of at most max keys (1..LISTEN_DEDUP_MAX_LIMIT). Returns 0 and
 * *out, or -1 (out of memory, bad max; *out untouched). */
int listen_dedup_new(listen_dedup **out, size_t max);
/* NULL is a no-op. */
void listen_dedup_free(listen_dedup *d);

/* Drops the entries that expire at or before now, oldest first, stopping
 * at the first that has not (an entry behind it stays until then). */
void listen_dedup_expire(listen_dedup *d, int64_t now);

/* 1 when key is in the set (expired or not: call expire first), else 0. */
int listen_dedup_has(const listen_dedup *d, const unsigned char *key);

/* Adds key (not yet in the set) to expire at expires. When the set holds
 * max keys the oldest is dropped first. Returns 0, or -1 (out of memory
 * while growing: nothing changed). */
int listen_dedup_add(listen_dedup *d, const unsigned char *key, int64_t expires);

/* Removes key if present (a write that failed after all). Returns 1 when
 * it was there, else 0. */
int listen_dedup_remove(listen_dedup *d, const unsigned char *key);

/* Keys held / dropped before they expired because the set was full. */
size_t listen_dedup_count(const listen_dedup *d);
uint64_t listen_dedup_evicted(const listen_dedup *d);

#endif
