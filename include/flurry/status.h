/* flurry/status.h: which HTTP statuses a client retries, and which it
 * takes as data rather than errors (aiohttp's raise_for_status, httpx's
 * retries by status).
 *
 * By default a status of 400 or more completes a request with FLURRY_EHTTP,
 * and 408, 429, 500, 502, 503 and 504 are retried (FLURRY_OPT_MAX_ATTEMPTS,
 * idempotent methods or FLURRY_OPT_RETRY_UNSAFE, as for any retry). Each
 * rule is a list of statuses from 400 to 599, a status as "404" or a class
 * as "5xx", separated by commas: "404,409,5xx". */
#ifndef FLURRY_STATUS_H
#define FLURRY_STATUS_H

#include "flurry/client.h"
#include "flurry/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum flurry_status_rule {
  /* Statuses retried, instead of the default 408,429,500,502,503,504. A
   * status of the FLURRY_STATUS_OK rule is retried too when listed here
   * (try again while 404; after the last attempt the 404 is data). */
  FLURRY_STATUS_RETRY = 0,
  /* Statuses that are data: the request completes with FLURRY_OK and the
   * status, body and headers as they came (a 404 that means "none"). The
   * default is none. */
  FLURRY_STATUS_OK = 1
} flurry_status_rule;

/* Sets a rule's statuses from `list` (read, not kept); NULL or "" gives
 * the rule its default back. Applies to attempts that end from now on.
 * Returns 0, or FLURRY_EINVALID (no such rule; an item that is not a
 * status from 400 to 599 or a class 4xx or 5xx; an empty item; over 1024
 * bytes), the rule then unchanged, or FLURRY_ENOMEM. */
FLURRY_API int flurry_client_set_statuses(flurry_client *client, flurry_status_rule rule,
                                          const char *list);

/* 1 when `status` is in the client's rule (its default unless set), else
 * 0 (also for a NULL client or another rule). */
FLURRY_API int flurry_client_status_in(const flurry_client *client, flurry_status_rule rule,
                                       int status);

#ifdef __cplusplus
}
#endif
#endif
