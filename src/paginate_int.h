/* paginate_int.h: what pagination shares inside flurry: URLs (resolving
 * next links, origins, the pages between a next and a last link), request
 * hashing, and the hooks the scheduler
 * calls for a page or a follow-up. Internal (flurry__ names): the library
 * and the flurry command use it; not installed. */
#ifndef FLURRY_PAGINATE_INT_H
#define FLURRY_PAGINATE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "fl.h"
#include "flurry.h"

/* ---- url.c ---- */
/* ref resolved against base (NULL: ref must be absolute), as an absolute
 * http(s) URL to fl_free, or NULL. */
char *flurry__url_resolve(const char *base, const char *ref);
/* 1 when a and b have the same scheme, host and port. */
int flurry__url_same_origin(const char *a, const char *b);
/* The pages between a next link and a last link: one query parameter
 * differs, an integer going first, first + step, ..., last. */
typedef struct flurry__page_range {
  int64_t first, last, step;
  size_t name_at, value_at, value_end; /* in the next link */
} flurry__page_range;
/* From the current page's URL and its next and last links. 0, or -1 when
 * they do not differ in one integer parameter with a whole step. */
int flurry__url_page_range(const char *cur, const char *next, const char *last,
                           flurry__page_range *out);
/* The next link with the parameter set to value (fl_free), NULL: no memory. */
char *flurry__url_page(const char *next, const flurry__page_range *pr, int64_t value);
/* The URI of the response's first Link header link with rel `rel`,
 * resolved against the response's URL (fl_free), or NULL. */
char *flurry__response_link(const flurry_response *resp, const char *rel);

/* ---- hashing: fl_hash and fl_hash_mix (fl.h), by the names pagination
 * and the flurry command use ---- */
#define FLURRY__HASH_INIT FL_HASH_INIT
#define flurry__hash fl_hash
#define flurry__hash_finish fl_hash_mix

/* ---- paginate.c: hooks of the scheduler and the request ---- */
struct flurry__chain;
/* A page is complete: the next page or pages, the callback, the chain's
 * end. Called by flurry__complete instead of the request's callback. */
void flurry__chain_complete(flurry_client *c, flurry_request *req, flurry_response *resp);
/* A request is freed: its chain reference and provenance go. */
void flurry__follow_free(flurry_request *req);
/* 1 when a curl header line ("Name: value" or "Name;") must stay at the
 * first page's origin. */
int flurry__secret_line(const flurry_client *c, const char *line);

#endif
