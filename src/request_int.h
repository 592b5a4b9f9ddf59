/* request_int.h: what request.c gives the rest of the library: the URL a
 * request fetches and header checks. Internal. */
#ifndef FLURRY_REQUEST_INT_H
#define FLURRY_REQUEST_INT_H

#include "client_int.h"

/* The URL to fetch (resolved at submit, or as given). */
const char *flurry__target_url(const flurry_request *req);
int flurry__header_valid(const char *name, const char *value);
/* 1 if the method may be retried without explicit consent. */
int flurry__method_idempotent(const char *method);
/* Appends "Name: value" to a curl list; 0 or FLURRY_ENOMEM. */
int flurry__slist_add(struct curl_slist **list, const char *name, const char *value);
/* 1 when the list has a header `name` (any case; "Name;" too). */
int flurry__slist_has(const struct curl_slist *list, const char *name);

#endif
