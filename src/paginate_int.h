/* paginate_int.h: pagination chains (paginate.c) as the rest of the
 * library sees them: the completion hook a page carries and the chain
 * reference a request drops when freed. Internal (flurry/paginate.h is the
 * public side; URLs and Link headers are url_int.h). */
#ifndef FLURRY_PAGINATE_INT_H
#define FLURRY_PAGINATE_INT_H

#include "flurry.h"

struct flurry__chain;
/* A page is complete: the next page or pages, the callback, the chain's
 * end. flurry_request_set_paginator (and each page made) installs it as
 * the request's on_complete, which flurry__complete calls instead of the
 * request's callback. */
void flurry__chain_complete(flurry_client *c, flurry_request *req, flurry_response *resp);
/* A request is freed: its chain reference and provenance go. */
void flurry__follow_free(flurry_request *req);

#endif
