/* flurry/response.h: the result of one request, success or typed error.
 *
 * A response belongs to whoever receives it: the completion callback (see
 * flurry_client_submit) or the caller of flurry_gather(). Free it with
 * flurry_response_free(). Every pointer returned by an accessor is borrowed
 * and stays valid until the response is freed. */
#ifndef FLURRY_RESPONSE_H
#define FLURRY_RESPONSE_H

#include <stddef.h>

#include "flurry/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct flurry_response flurry_response;

/* Milliseconds from the start of the last attempt; 0 for a phase that did not
 * happen (no DNS on a reused connection, no TLS over http). */
typedef struct flurry_timings {
  double dns_ms;        /* name resolved */
  double connect_ms;    /* TCP connected */
  double tls_ms;        /* TLS handshake done */
  double first_byte_ms; /* first response byte */
  double total_ms;      /* last attempt complete */
  double elapsed_ms;    /* from the first attempt's start to completion, all
                           attempts and waits between them included (time
                           queued for an in-flight slot is not) */
} flurry_timings;

/* FLURRY_OK, or the error kind (flurry/error.h). A status >= 400 gives
 * FLURRY_EHTTP, with status, headers and body still available. */
FLURRY_API int flurry_response_error(const flurry_response *resp);

/* A one-line description of the error ("" when there is none; the error
 * kind's flurry_strerror() when the message was lost to out of memory). */
FLURRY_API const char *flurry_response_error_message(const flurry_response *resp);

/* What refines the error kind: a flurry_detail (FLURRY_DETAIL_NONE when
 * nothing does; the words are listed once, at FLURRY_DETAIL_MAP in
 * flurry/error.h). */
FLURRY_API int flurry_response_detail(const flurry_response *resp);

/* The same as a word: flurry_detail_name(flurry_response_detail(resp)),
 * "" when there is none. Static storage. */
FLURRY_API const char *flurry_response_error_detail(const flurry_response *resp);

/* The underlying libcurl code (CURLcode) of a transport error, else 0. */
FLURRY_API int flurry_response_curl_code(const flurry_response *resp);

/* The underlying errno of a transport error (from the OS), else 0. */
FLURRY_API int flurry_response_os_errno(const flurry_response *resp);

/* The HTTP status (0 when no response arrived). */
FLURRY_API int flurry_response_status(const flurry_response *resp);

/* The reason phrase ("" for HTTP/2, which has none). */
FLURRY_API const char *flurry_response_reason(const flurry_response *resp);

/* The body and its length. Always followed by a NUL byte not counted in *len,
 * so a text body can be used as a C string. Never NULL (empty: ""). */
FLURRY_API const char *flurry_response_body(const flurry_response *resp, size_t *len);

/* The value of the first header named `name` (case-insensitive) of the final
 * response, or NULL. */
FLURRY_API const char *flurry_response_header(const flurry_response *resp, const char *name);

/* Header count, and the i-th header (0-based) in arrival order. Returns 0 on
 * success, FLURRY_EINVALID if i is out of range. */
FLURRY_API size_t flurry_response_header_count(const flurry_response *resp);
FLURRY_API int flurry_response_header_at(const flurry_response *resp, size_t i, const char **name,
                                         const char **value);

/* Walks the headers in arrival order, each step O(1) (header_at(i) walks
 * from the first: a loop over it is quadratic). Set *cursor to 0, then
 * each call stores the next name and value (borrowed, valid as long as
 * resp) and returns 1, or returns 0 when none is left. */
FLURRY_API int flurry_response_header_next(const flurry_response *resp, size_t *cursor,
                                           const char **name, const char **value);

/* The URL of the final response, after redirects (the request URL when none
 * was followed; "" when the URL never got resolved). */
FLURRY_API const char *flurry_response_effective_url(const flurry_response *resp);

/* How many attempts were made (1 = no retry; 0 when nothing was sent). */
FLURRY_API int flurry_response_attempts(const flurry_response *resp);

/* One attempt of the request, oldest first. */
typedef struct flurry_attempt {
  int status;        /* HTTP status, 0 when none arrived */
  int error;         /* FLURRY_OK or the error kind of that attempt */
  double elapsed_ms; /* that attempt's duration */
  double wait_ms;    /* the wait before the next attempt (0 for the last) */
  double start_ms;   /* when it started: ms on a monotonic clock from the
                        client's creation (flurry_client_new), for checking
                        pacing (FLURRY_OPT_WINDOW_LIMIT) against the record */
} flurry_attempt;

/* Copies attempt i (0-based, i < flurry_response_attempts) into *out.
 * Returns 0 or FLURRY_EINVALID (out of range). At most 64 attempts are
 * kept: the first 63 and the last. */
FLURRY_API int flurry_response_attempt(const flurry_response *resp, size_t i, flurry_attempt *out);

/* Copies the timings into *out. */
FLURRY_API void flurry_response_timings(const flurry_response *resp, flurry_timings *out);

/* Frees a response. NULL is a no-op. */
FLURRY_API void flurry_response_free(flurry_response *resp);

#ifdef __cplusplus
}
#endif
#endif
