/* flurry/graphql.h: GraphQL over HTTP (https://graphql.github.io/graphql-over-http/).
 *
 * A GraphQL request is a POST of {"query": Q, "variables": V} as JSON. A
 * server answers errors in the query (a field that fails, a bad argument)
 * with 200 and an "errors" array in the body, so an HTTP client that looks
 * at the status only takes them for data: a request made a GraphQL one
 * here fails instead (FLURRY_EHTTP, detail FLURRY_DETAIL_GRAPHQL_ERRORS),
 * unless FLURRY_GRAPHQL_ERRORS_OK asks for partial results. The check
 * reads the body once it is complete; a streamed request is not checked.
 * Cursor pagination (pageInfo { hasNextPage endCursor }) is a
 * FLURRY_PAGINATE_CURSOR-style chain whose next request sets the cursor
 * variable: the flurry command's --graphql-pages does it. */
#ifndef FLURRY_GRAPHQL_H
#define FLURRY_GRAPHQL_H

#include "flurry/request.h"
#include "flurry/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

/* flags of flurry_request_set_graphql */
#define FLURRY_GRAPHQL_ERRORS_OK 1 /* a 2xx with errors is a success (partial data) */

/* Makes req (POST, not submitted) a GraphQL request: its body becomes
 * {"query": query, "variables": variables} (variables: NULL for none, or
 * the text of a JSON object, compacted), with Content-Type
 * application/json and Accept application/graphql-response+json,
 * application/json unless the request has its own. Strings are copied.
 * Returns 0, FLURRY_EINVALID (NULL or empty query, variables not a JSON
 * object, unknown flags, req submitted) or FLURRY_ENOMEM. */
FLURRY_API int flurry_request_set_graphql(flurry_request *req, const char *query,
                                          const char *variables, int flags);

#ifdef __cplusplus
}
#endif
#endif
