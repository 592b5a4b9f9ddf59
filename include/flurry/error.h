/* flurry/error.h: the one closed set of error kinds.
 *
 * Every function that can fail returns an int: 0 (FLURRY_OK) on success or one
 * of the FLURRY_E* codes below. A response carries the same code as its error
 * kind, plus the underlying libcurl or errno code so nothing is lost. */
#ifndef FLURRY_ERROR_H
#define FLURRY_ERROR_H

#include "flurry/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(ENUM, name, description). The name is what the CLI writes as
 * error.kind; the set is closed and documented in README.md. */
#define FLURRY_ERRNO_MAP(X)                                                    \
  X(OK, "ok", "success")                                                       \
  X(ECONNECT, "connect", "could not connect to the server")                    \
  X(EDNS, "dns", "could not resolve the host name")                            \
  X(ETLS, "tls", "TLS handshake or certificate verification failed")           \
  X(ETIMEOUT, "timeout", "the request timed out")                              \
  X(ERESET, "reset", "the connection was reset or closed early")               \
  X(EHTTP, "http", "the server answered with an error status")                 \
  X(EPROTOCOL, "protocol", "the server broke the HTTP protocol")               \
  X(ETOO_LARGE, "too_large", "the response exceeded the size limit")           \
  X(ECANCELLED, "cancelled", "the request was cancelled")                      \
  X(ESTREAM, "stream", "the stream dropped and could not be resumed")          \
  X(EINVALID, "invalid_request", "the request is invalid")                     \
  X(ENOMEM, "nomem", "out of memory")                                          \
  X(EINTERNAL, "internal", "internal error (a bug: please report it)")

typedef enum flurry_err {
#define FLURRY_X_ENUM(e, name, desc) FLURRY_##e,
  FLURRY_ERRNO_MAP(FLURRY_X_ENUM)
#undef FLURRY_X_ENUM
  FLURRY_ERR_COUNT
} flurry_err;

/* A human-readable description of `err`; never NULL, static storage. */
FLURRY_API const char *flurry_strerror(int err);

/* The short, stable name of `err` ("timeout", "too_large", ...); never NULL,
 * static storage. Unknown codes give "unknown". */
FLURRY_API const char *flurry_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif
