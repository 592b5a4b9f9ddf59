/* cache_int.h: the HTTP cache (RFC 9111, private cache). The pure rules
 * (cache_fresh.c: Cache-Control, dates, freshness lifetime, age, what may
 * be stored and served) and the store with its hooks into the scheduler
 * and the transfer (cache.c). Internal. */
#ifndef FLURRY_CACHE_INT_H
#define FLURRY_CACHE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "client_int.h"

/* ---- cache_fresh.c: pure, no I/O, no allocation ---- */

/* The heuristic freshness lifetime is this fraction of the time since
 * Last-Modified (RFC 9111 4.2.2 suggests 10%). */
#define FLURRY_CACHE_HEURISTIC_FRACTION 0.1

/* Cache-Control directives of a response (RFC 9111 5.2.2, RFC 5861).
 * Seconds; -1 = absent. */
typedef struct flurry__cc {
  int64_t max_age;
  int64_t swr; /* stale-while-revalidate */
  int64_t sie; /* stale-if-error */
  int no_store, no_cache, must_revalidate, is_private, is_public;
} flurry__cc;

void flurry__cc_init(flurry__cc *cc);
/* Adds the directives of one Cache-Control field value (comma separated,
 * any case, quoted arguments allowed; unknown ones ignored; a malformed
 * delta-seconds makes max-age 0, as RFC 9111 4.2.1 asks of an invalid
 * one). Call once per field line. */
void flurry__cc_parse(flurry__cc *cc, const char *v, size_t n);
/* An HTTP-date (IMF-fixdate, RFC 850 or asctime) as Unix seconds, or -1. */
int64_t flurry__http_date(const char *v, size_t n);

/* What a response says about its freshness (headers already read). */
typedef struct flurry__fresh_in {
  int status;
  flurry__cc cc;
  int64_t date;          /* Date, -1 absent */
  int64_t expires;       /* Expires, -1 absent; an invalid one is 0 (expired) */
  int64_t last_modified; /* -1 absent */
  int64_t age;           /* Age, -1 absent */
  double request_time;   /* Unix seconds: the request was sent */
  double response_time;  /* Unix seconds: the response arrived */
} flurry__fresh_in;

/* Freshness lifetime, seconds (4.2.1): max-age, else Expires - Date (Date
 * absent: response_time), else the heuristic (4.2.2) for a status that
 * allows one, else 0. */
double flurry__fresh_lifetime(const flurry__fresh_in *in);
/* corrected_initial_age (4.2.3): max(apparent_age, Age + response delay). */
double flurry__initial_age(const flurry__fresh_in *in);
/* 1 for the statuses RFC 9110 15.1 calls heuristically cacheable (206
 * left out: no ranges here). */
int flurry__cache_status_ok(int status);

/* What the store keeps to judge an entry later (Unix seconds). */
typedef struct flurry__cache_meta {
  double response_time;
  double initial_age;
  double lifetime;
  double swr, sie; /* -1: absent */
  int no_cache, must_revalidate;
} flurry__cache_meta;

/* current_age (4.2.3) at `now`. */
double flurry__cache_age(const flurry__cache_meta *m, double now);

typedef enum flurry__cache_verdict {
  FLURRY__CACHE_FRESH,     /* serve it */
  FLURRY__CACHE_STALE_SWR, /* serve it stale, revalidate in the background */
  FLURRY__CACHE_REVALIDATE /* ask the origin (conditional request) */
} flurry__cache_verdict;

/* How a stored entry may answer a request at `now`. */
flurry__cache_verdict flurry__cache_judge(const flurry__cache_meta *m, double now);
/* 1 when the entry may answer for an origin that failed (stale-if-error). */
int flurry__cache_stale_on_error(const flurry__cache_meta *m, double now);

/* ---- cache_store.c: the SQLite file ---- */

#define FLURRY_CACHE_KEY 32 /* SHA-256 */

/* A stored response, as read or to be written. Owns its buffers. */
typedef struct flurry__cache_entry {
  unsigned char vary[FLURRY_CACHE_KEY]; /* SHA-256 of the Vary'd request values */
  char *vary_names;                     /* lower case, comma separated; "" none */
  int status;
  char *reason;
  fl_buf hdrs; /* "name\0value\0" pairs, no credential, no Age */
  size_t nhdrs;
  fl_buf body;
  flurry__cache_meta meta;
} flurry__cache_entry;

typedef struct flurry__store flurry__store;
/* Opens or creates the cache file (or ":memory:"). Returns FLURRY_OK,
 * FLURRY_EINVALID (refused, reason in msg) or FLURRY_ENOMEM. */
int flurry__store_open(flurry__store **out, const char *path, char *msg, size_t msglen);
void flurry__store_close(flurry__store *s); /* writes what is queued; NULL ok */
/* The entries of `key`, one at a time: calls match(e, ud) for each until it
 * returns 1 (e then belongs to the caller: *out) or none is left. Writes
 * queued for that key are written first. FLURRY_OK (*out NULL: none),
 * FLURRY_ENOMEM, or FLURRY_EINTERNAL (the file failed: a miss). */
int flurry__store_get(flurry__store *s, const unsigned char key[FLURRY_CACHE_KEY],
                      int (*match)(const flurry__cache_entry *e, void *ud), void *ud,
                      flurry__cache_entry **out);
/* Queues writing e (taken over, whatever the result) under key, for the
 * next flush. FLURRY_OK or FLURRY_ENOMEM. */
int flurry__store_put(flurry__store *s, const unsigned char key[FLURRY_CACHE_KEY],
                      flurry__cache_entry *e);
/* Queues marking an entry used now (least-recently-used order). */
void flurry__store_touch(flurry__store *s, const unsigned char key[FLURRY_CACHE_KEY],
                         const unsigned char vary[FLURRY_CACHE_KEY]);
/* Number of writes queued. */
size_t flurry__store_queued(const flurry__store *s);
/* Writes what is queued in one transaction, then evicts the least
 * recently used entries past max_bytes (0: no limit). */
void flurry__store_flush(flurry__store *s, int64_t max_bytes);
void flurry__cache_entry_free(flurry__cache_entry *e); /* NULL ok */

/* ---- cache.c: the client's cache and its hooks ---- */

typedef struct flurry__cache flurry__cache;
typedef struct flurry__cache_req flurry__cache_req;

/* sched.c flurry__pump, for a queued request before its host admits it:
 * 1 when the cache took it (answered, or waiting on an identical request
 * in flight), 0 when it goes to the origin. Looks a request up once. */
int flurry__cache_intercept(flurry_client *c, flurry_request *req);
/* transfer.c set_headers: the list to send, with If-None-Match and
 * If-Modified-Since added when a stored entry is being revalidated (the
 * list is req's until it completes). FLURRY_OK or FLURRY_ENOMEM. */
int flurry__cache_headers(flurry_request *req, const struct curl_slist *in,
                          const struct curl_slist **out);
/* sched.c flurry__complete, before the callback: a 304 becomes the stored
 * response, a storable one is queued for writing, a failure may be
 * answered stale; requests collapsed on this one are answered. Frees the
 * request's cache state. */
void flurry__cache_complete(flurry_client *c, flurry_request *req, flurry_response *resp);
/* client.c flurry_client_free: writes what is queued, closes the file,
 * closes the flush timer (one of the client's handles). */
void flurry__cache_close(flurry_client *c);

#endif
