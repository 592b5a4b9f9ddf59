/* redirect_int.h: following redirects (redirect.c): each hop's URL and
 * headers, credentials dropped at another origin. Internal. */
#ifndef FLURRY_REDIRECT_INT_H
#define FLURRY_REDIRECT_INT_H

#include "client_int.h"

/* After an attempt's transfer: 1 when it was a redirect to follow (the next
 * hop is set up: flurry__start it), else 0, with resp's error set when the
 * redirect was refused (too_many_redirects, redirect_downgrade,
 * redirect_scheme). */
int flurry__redirect_next(flurry_client *c, flurry_request *req, CURL *e, CURLcode result);
/* Forgets the hops (a new attempt starts from the request's URL). */
void flurry__redirect_reset(flurry_request *req);
/* The URL and the header list of the hop to fetch now. */
const char *flurry__attempt_url(const flurry_request *req);
const struct curl_slist *flurry__hop_headers(const flurry_client *c, const flurry_request *req);

#endif
