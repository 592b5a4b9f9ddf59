/* secret_int.h: which request headers carry credentials (secret.c), for
 * redirects and pages that leave the first origin. Internal. */
#ifndef FLURRY_SECRET_INT_H
#define FLURRY_SECRET_INT_H

#include <stddef.h>

#include "flurry.h"

/* 1 if the request header `name` (len bytes, any case) carries
 * credentials: Authorization, Proxy-Authorization, Cookie, a name marked
 * with flurry_client_add_secret_header on c (c may be NULL), or, with
 * FLURRY_OPT_SECRET_NAME_HEURISTIC, a name with a credential's word. */
int flurry__header_is_secret(const flurry_client *c, const char *name, size_t len);
/* The same for a curl header line ("Name: value" or "Name;"). */
int flurry__secret_line(const flurry_client *c, const char *line);
void flurry__secrets_free(flurry_client *c);

#endif
