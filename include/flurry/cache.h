/* flurry/cache.h: an HTTP cache (RFC 9111, private cache) in one SQLite
 * file, shared by every client and process that names the same file.
 *
 * With a cache, GET and HEAD requests are answered from it while the
 * stored response is fresh (Cache-Control max-age, Expires, Age; else 10%
 * of the time since Last-Modified), revalidated with If-None-Match /
 * If-Modified-Since when it is stale (a 304 refreshes the stored headers
 * and serves the stored body), and served stale within
 * stale-while-revalidate (revalidated in the background) or
 * stale-if-error (when the origin fails). no-store is never stored,
 * no-cache is always revalidated, must-revalidate is never served stale.
 * Vary keys the entry by the named request headers. A request with
 * credentials (Authorization, Cookie, the client's secret headers:
 * flurry_header_is_secret) is keyed by a SHA-256 of them: it is never
 * answered with another credential's response, and no credential, URL
 * or Set-Cookie is written to the file in clear. A client with cookies
 * (FLURRY_OPT_COOKIES, flurry_client_add_cookie) bypasses the cache:
 * libcurl adds the jar's Cookie line, which the cache cannot key by.
 * Identical cacheable requests in flight at once share one origin request
 * (collapsing).
 * FLURRY_OPT_CACHE_MAX_BYTES evicts the least recently used entries;
 * responses over FLURRY_OPT_MAX_RESPONSE_BYTES are never stored.
 *
 * Writes are batched: one SQLite transaction per loop turn (WAL journal,
 * busy timeout 5 s for other processes' writes). A killed process leaves
 * only complete entries. */
#ifndef FLURRY_CACHE_H
#define FLURRY_CACHE_H

#include <stddef.h>

#include "flurry/client.h"
#include "flurry/response.h"
#include "flurry/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where a response came from (flurry_response_cache). */
typedef enum flurry_cache_status {
  FLURRY_CACHE_NONE = 0,    /* the client has no cache */
  FLURRY_CACHE_HIT,         /* fresh from the cache (or a collapsed request's
                               shared answer): no origin request */
  FLURRY_CACHE_REVALIDATED, /* stale, the origin said 304: stored body */
  FLURRY_CACHE_MISS,        /* from the origin (stored when allowed) */
  FLURRY_CACHE_STALE,       /* stale from the cache: stale-while-revalidate,
                               stale-if-error, or FLURRY_CACHE_OFFLINE */
  FLURRY_CACHE_BYPASS       /* not cacheable (method, body, streamed,
                               conditional or Range request,
                               FLURRY_CACHE_SKIP): the cache was not used */
} flurry_cache_status;

/* FLURRY_OPT_CACHE_MODE values: how a request uses the cache. */
typedef enum flurry_cache_mode {
  FLURRY_CACHE_USE = 0,     /* RFC 9111 (default) */
  FLURRY_CACHE_SKIP = 1,    /* neither read nor write the cache */
  FLURRY_CACHE_REFRESH = 2, /* revalidate a stored response even if fresh */
  FLURRY_CACHE_OFFLINE = 3  /* only the cache, fresh or stale; a miss (or
                               a request the cache cannot answer, such as a
                               POST) fails at once with FLURRY_ECONNECT,
                               detail FLURRY_DETAIL_CACHE_MISS: nothing is
                               sent */
} flurry_cache_mode;

/* Gives the client a cache: the SQLite file at `path` (copied; created
 * when absent or empty), or ":memory:" for one private to this client.
 * Call before submitting requests; once per client. A file that is not a
 * flurry cache (another SQLite database, any other file, a newer
 * version, a corrupt header) is refused and left untouched.
 * Returns 0, FLURRY_EINVALID (NULL, a cache already set, a file refused
 * or that cannot be opened: the reason in errmsg when errmsg is not NULL,
 * at most errlen bytes with the NUL) or FLURRY_ENOMEM. */
FLURRY_API int flurry_client_set_cache(flurry_client *client, const char *path, char *errmsg,
                                       size_t errlen);

/* The flurry_cache_status of a response (FLURRY_CACHE_NONE for NULL). A
 * response with no origin request behind it (HIT, or STALE without one)
 * has flurry_response_attempts() == 0. */
FLURRY_API int flurry_response_cache(const flurry_response *resp);

/* "hit", "revalidated", "miss", "stale", "bypass", or "" (NONE or
 * unknown). Static storage. */
FLURRY_API const char *flurry_cache_status_name(int status);

#ifdef __cplusplus
}
#endif
#endif
