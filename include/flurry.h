/* flurry.h: many HTTP API calls at once, politely and resiliently.
 *
 * libflurry runs requests concurrently on one libuv loop through libcurl's
 * multi_socket API, with an in-flight limit, per-host connection limit,
 * timeouts that are always set, size limits, retries with backoff, and typed
 * errors.
 *
 * Ownership, once for all:
 *  - strings and bodies passed in are copied;
 *  - a request is the caller's until it is submitted, then the client's;
 *  - a response is handed to whoever receives it (completion callback or
 *    flurry_gather's out array) and freed with flurry_response_free();
 *  - pointers returned by accessors are borrowed from their object.
 *
 * Errors: every call returns 0 or a FLURRY_E* code (flurry/error.h). A call
 * that takes a callback either fails at once (the callback never runs) or
 * succeeds and reports exactly once through the callback. The library never
 * aborts and never prints. */
#ifndef FLURRY_H
#define FLURRY_H

#include "flurry/error.h"
#include "flurry/request.h"
#include "flurry/response.h"
#include "flurry/client.h"
#include "flurry/cache.h"
#include "flurry/cookies.h"
#include "flurry/status.h"
#include "flurry/paginate.h"
#include "flurry/stream.h"
#include "flurry/webhook.h"
#include "flurry/graphql.h"
#include "flurry/ws.h"
#include "flurry/admit.h"
#include "flurry/version.h" /* FLURRY_VERSION, generated */

#endif
