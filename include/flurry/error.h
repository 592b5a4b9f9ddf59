/* flurry/error.h: the one closed set of error kinds.
 *
 * Every function that can fail returns an int: 0 (FLURRY_OK) on success or one
 * of the FLURRY_E* codes below, never another value: an outcome that is not
 * an error (a duplicate not submitted, a page over the limit, a key already
 * there) comes back through an out-parameter with a 0. A response carries
 * the same code as its error kind, plus the underlying libcurl or errno code
 * so nothing is lost, and a detail (FLURRY_DETAIL_MAP) that refines it. */
#ifndef FLURRY_ERROR_H
#define FLURRY_ERROR_H

#include "flurry/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(ENUM, name, description). The name is what the CLI writes as
 * error.kind; the set is closed and documented in README.md. */
#define FLURRY_ERRNO_MAP(X)                                                                        \
  X(OK, "ok", "success")                                                                           \
  X(ECONNECT, "connect", "could not connect to the server")                                        \
  X(EDNS, "dns", "could not resolve the host name")                                                \
  X(ETLS, "tls", "TLS handshake or certificate verification failed")                               \
  X(ETIMEOUT, "timeout", "the request timed out")                                                  \
  X(ERESET, "reset", "the connection was reset or closed early")                                   \
  X(EHTTP, "http", "the server answered with an error status")                                     \
  X(EPROTOCOL, "protocol", "the server broke the HTTP protocol")                                   \
  X(ETOO_LARGE, "too_large", "the response exceeded the size limit")                               \
  X(ECANCELLED, "cancelled", "the request was cancelled")                                          \
  X(ESTREAM, "stream", "the stream dropped and could not be resumed")                              \
  X(EINVALID, "invalid_request", "the request is invalid")                                         \
  X(ENOMEM, "nomem", "out of memory")                                                              \
  X(EINTERNAL, "internal", "internal error (a bug: please report it)")

typedef enum flurry_err {
#define FLURRY_X_ENUM(e, name, desc) FLURRY_##e,
  FLURRY_ERRNO_MAP(FLURRY_X_ENUM)
#undef FLURRY_X_ENUM
      FLURRY_ERR_COUNT
} flurry_err;

/* Detail words: a stable word that refines an error kind (a response's
 * flurry_response_detail, a chain's flurry_chain_end.detail). The CLI
 * writes the name as error.detail; README.md lists every one. This table is
 * the one place each word is defined: X(ENUM, name, description).
 *
 * Timeouts (FLURRY_ETIMEOUT) say which limit was hit; a refused retry or
 * reconnect keeps the last attempt's error and says why it was the last;
 * the pagination words are a chain's (flurry_chain_end), not a response's. */
#define FLURRY_DETAIL_MAP(X)                                                                       \
  X(NONE, "", "no detail")                                                                         \
  X(CONNECT_TIMEOUT, "connect_timeout",                                                            \
    "name resolution, connect or TLS handshake took longer than the "                              \
    "connect timeout (nothing was sent)")                                                          \
  X(IDLE_TIMEOUT, "idle_timeout", "the transfer made no progress for the idle timeout")            \
  X(TOTAL_TIMEOUT, "total_timeout",                                                                \
    "the attempt took longer than its total timeout (redirects included)")                         \
  X(DEADLINE, "deadline",                                                                          \
    "the request's deadline passed (FLURRY_ETIMEOUT), or the next retry or "                       \
    "reconnect would start past it (the last attempt's error)")                                    \
  X(HEADER_TOO_LARGE, "header_too_large",                                                          \
    "the response headers exceeded 256 KiB or 1,000 lines (FLURRY_ETOO_LARGE)")                    \
  X(RETRY_AFTER_TOO_LONG, "retry_after_too_long",                                                  \
    "the server's Retry-After asked for a pause over 60 s or past the "                            \
    "deadline: not retried (the last attempt's error)")                                            \
  X(RETRY_BUDGET, "retry_budget",                                                                  \
    "the client's retry budget was spent: not retried (the last attempt's "                        \
    "error)")                                                                                      \
  X(CIRCUIT_OPEN, "circuit_open",                                                                  \
    "the host's circuit breaker is open: not tried (FLURRY_ECONNECT) or not "                      \
    "retried (the last attempt's error)")                                                          \
  X(REDIRECT_DOWNGRADE, "redirect_downgrade",                                                      \
    "refused a redirect from https to http (FLURRY_EPROTOCOL)")                                    \
  X(REDIRECT_SCHEME, "redirect_scheme",                                                            \
    "refused a redirect to something other than an http(s) URL "                                   \
    "(FLURRY_EPROTOCOL)")                                                                          \
  X(TOO_MANY_REDIRECTS, "too_many_redirects",                                                      \
    "one redirect more than the maximum (FLURRY_EPROTOCOL)")                                       \
  X(RECORD_TOO_LARGE, "record_too_large",                                                          \
    "a stream record exceeded the record limit (FLURRY_ETOO_LARGE)")                               \
  X(BAD_RECORD, "bad_record", "an NDJSON record is not a JSON value (FLURRY_EPROTOCOL)")           \
  X(RECONNECTS_EXHAUSTED, "reconnects_exhausted",                                                  \
    "an event stream dropped and every reconnect was used (FLURRY_ESTREAM)")                       \
  X(NOT_EVENT_STREAM, "not_event_stream",                                                          \
    "an SSE request got something other than text/event-stream "                                   \
    "(FLURRY_EPROTOCOL)")                                                                          \
  X(MAX_PAGES, "max_pages", "a chain reached its page limit (FLURRY_OK)")                          \
  X(PAGINATION_CYCLE, "pagination_cycle",                                                          \
    "a chain's next page was already requested in it (FLURRY_EPROTOCOL)")                          \
  X(PAGE_FAILED, "page_failed", "a chain stopped at a failed page (its error)")                    \
  X(NEXT, "next",                                                                                  \
    "a chain's paginator callback failed, or a next URL is not an http(s) "                        \
    "URL (the error)")                                                                             \
  X(SUBMIT, "submit",                                                                              \
    "a chain's page was refused: the client is closing, no memory, or too "                        \
    "many pages to remember (the refusal's error)")                                                \
  X(STOPPED, "stopped", "a chain was stopped by flurry_request_chain_stop (FLURRY_OK)")            \
  X(BODY_RULE, "body_rule",                                                                        \
    "a 2xx answer whose body matched a failure rule such as the flurry command's "                 \
    "--fail-if (FLURRY_EHTTP)")                                                                    \
  X(BAD_JSON, "bad_json",                                                                          \
    "a body declared JSON (Content-Type) that does not parse, refused by a rule such as the "      \
    "flurry command's --strict-json (FLURRY_EPROTOCOL)")                                           \
  X(GRAPHQL_ERRORS, "graphql_errors",                                                              \
    "a 2xx answer to a GraphQL request (flurry_request_set_graphql) has a "                        \
    "non-empty errors array (FLURRY_EHTTP)")                                                       \
  X(CACHE_MISS, "cache_miss",                                                                      \
    "FLURRY_CACHE_OFFLINE: the cache holds no answer; nothing was sent (FLURRY_ECONNECT)")

typedef enum flurry_detail {
#define FLURRY_X_DETAIL(e, name, desc) FLURRY_DETAIL_##e,
  FLURRY_DETAIL_MAP(FLURRY_X_DETAIL)
#undef FLURRY_X_DETAIL
      FLURRY_DETAIL_COUNT
} flurry_detail;

/* A human-readable description of `err`; never NULL, static storage. */
FLURRY_API const char *flurry_strerror(int err);

/* The short, stable name of `err` ("timeout", "too_large", ...); never NULL,
 * static storage. Unknown codes give "unknown". */
FLURRY_API const char *flurry_err_name(int err);

/* The detail word of `detail` (a flurry_detail): "connect_timeout", ...;
 * "" for FLURRY_DETAIL_NONE; never NULL, static storage. Unknown codes give
 * "unknown". */
FLURRY_API const char *flurry_detail_name(int detail);

/* A human-readable description of `detail`; never NULL, static storage. */
FLURRY_API const char *flurry_detail_description(int detail);

#ifdef __cplusplus
}
#endif
#endif
