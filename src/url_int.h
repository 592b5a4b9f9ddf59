/* url_int.h: URLs (url.c) and Link headers (link.c): resolving, origins,
 * the pages between a next and a last link. Pure. Internal
 * (flurry_url_same_origin is the public side). */
#ifndef FLURRY_URL_INT_H
#define FLURRY_URL_INT_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "flurry.h"

/* ref resolved against base (NULL: ref must be absolute), as an absolute
 * http(s) URL to fl_free, or NULL. */
char *flurry__url_resolve(const char *base, const char *ref);
/* 1 when a and b have the same scheme, host and port. */
int flurry__url_same_origin(const char *a, const char *b);
/* 1 when the parsed URLs a and b have the same origin: scheme and host
 * (case aside) and port (the scheme's default when none is given). The one
 * notion of origin that credentials stay with (redirects and pages). */
int flurry__curlu_same_origin(CURLU *a, CURLU *b);
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

/* ---- link.c ---- */
/* The URI of the response's first Link header link with rel `rel`,
 * resolved against the response's URL (fl_free), or NULL. */
char *flurry__response_link(const flurry_response *resp, const char *rel);

#endif
