/* cookie_int.h: the client's cookies (cookie.c): libcurl's cookie engine
 * shared by the client's transfers, and the cookies the caller adds.
 * Internal. */
#ifndef FLURRY_COOKIE_INT_H
#define FLURRY_COOKIE_INT_H

#include "client_int.h"

/* FLURRY_OPT_COOKIES changed: 0 or FLURRY_EINVALID (turning it off),
 * FLURRY_ENOMEM, FLURRY_EINTERNAL. */
int flurry__cookies_opt(flurry_client *c, int64_t value);
/* Sets an attempt's cookie options on e (the jar, the added cookies at
 * the request's own origin). Returns 1 when it set any (the handle is to
 * be reset before it is pooled), else 0. */
int flurry__cookies_configure(flurry_client *c, const flurry_request *req, CURL *e);
/* Before e is reset for the pool: the engine's options off again. */
void flurry__cookies_release(flurry_client *c, CURL *e);
void flurry__cookies_free(flurry_client *c);

#endif
