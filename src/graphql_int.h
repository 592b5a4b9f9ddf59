/* graphql_int.h: GraphQL requests (graphql.c): the body check of the
 * answer. Private to the library. */
#ifndef FLURRY_GRAPHQL_INT_H
#define FLURRY_GRAPHQL_INT_H

#include "client_int.h"

/* A GraphQL request's complete answer: a 2xx whose JSON body has a
 * non-empty top-level "errors" array becomes FLURRY_EHTTP, detail
 * FLURRY_DETAIL_GRAPHQL_ERRORS (unless FLURRY_GRAPHQL_ERRORS_OK). Called
 * from transfer.c once the response is filled in; a no-op for other
 * requests. */
void flurry__graphql_check(const flurry_request *req, flurry_response *resp);

#endif
