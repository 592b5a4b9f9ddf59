/* flurry/request.h: building one HTTP request.
 *
 * Ownership: every string and body passed in is copied; the caller keeps its
 * own buffers. A request belongs to the caller until flurry_client_submit()
 * (or flurry_gather()) succeeds; from then on it belongs to the client, which
 * frees it after the completion callback returns. */
#ifndef FLURRY_REQUEST_H
#define FLURRY_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "flurry/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct flurry_request flurry_request;

/* Options shared by the client (defaults) and a request (overrides).
 * Values are int64_t; times are milliseconds, sizes are bytes. */
typedef enum flurry_opt {
  /* Client only. Requests running at once; more wait in a FIFO queue (the
   * semaphore of asyncio tutorials). Default 64, range 1..1000000. */
  FLURRY_OPT_MAX_IN_FLIGHT = 1,
  /* Client only. Connections to one host at once (0 = no cap). Default 0. */
  FLURRY_OPT_MAX_PER_HOST,
  /* Connect timeout (DNS + TCP + TLS). Default 10000. */
  FLURRY_OPT_CONNECT_TIMEOUT_MS,
  /* Whole-request timeout, per attempt. Default 30000. Never unbounded: 0
   * is refused with FLURRY_EINVALID. */
  FLURRY_OPT_TIMEOUT_MS,
  /* Idle timeout: fail when no byte arrives for this long. Rounded up to whole
   * seconds (libcurl's low-speed check). Default 30000. */
  FLURRY_OPT_IDLE_TIMEOUT_MS,
  /* Largest response body accepted; a larger one fails with
   * FLURRY_ETOO_LARGE. Default 64 MiB. */
  FLURRY_OPT_MAX_RESPONSE_BYTES,
  /* Redirects followed (0 = none: a 3xx is the answer). Default 10; one
   * more ends the request with FLURRY_EPROTOCOL, detail
   * FLURRY_DETAIL_TOO_MANY_REDIRECTS. On a redirect to another origin (scheme, host or
   * port) no secret header (Authorization, Proxy-Authorization, Cookie and
   * those of flurry_client_add_secret_header), no custom Host and no URL
   * user:password go along, on that hop and the later ones. A redirect
   * from https to http (detail FLURRY_DETAIL_REDIRECT_DOWNGRADE) or to a scheme other
   * than http(s) (FLURRY_DETAIL_REDIRECT_SCHEME) is refused with FLURRY_EPROTOCOL. 303,
   * and 301/302 after a POST, continue as GET without the body. The hops
   * share the attempt's FLURRY_OPT_TIMEOUT_MS; a retry starts again from
   * the request's URL. */
  FLURRY_OPT_MAX_REDIRECTS,
  /* 1 (default) verifies the server's TLS certificate and host name. */
  FLURRY_OPT_VERIFY_TLS,
  /* One of flurry_http_version. Default FLURRY_HTTP_AUTO. */
  FLURRY_OPT_HTTP_VERSION,
  /* Attempts per request, first one included (1 = no retry). Default 1.
   * Retried: connect, reset and timeout errors and statuses 408, 429, 500,
   * 502, 503, 504; POST and PATCH only when FLURRY_OPT_RETRY_UNSAFE is 1. */
  FLURRY_OPT_MAX_ATTEMPTS,
  /* Backoff base and cap: before attempt k+1 wait a random time in
   * [0, min(cap, base * 2^(k-1))] (full jitter). When a 429 or 503 carries
   * Retry-After, the server's wait is honoured as given instead (politeness
   * wins over the cap), up to 60 s or the deadline; a longer one ends the
   * request with detail FLURRY_DETAIL_RETRY_AFTER_TOO_LONG. Defaults 100 and 10000. */
  FLURRY_OPT_RETRY_BASE_MS,
  FLURRY_OPT_RETRY_CAP_MS,
  /* 1 retries non-idempotent methods (POST, PATCH) too. Default 0. */
  FLURRY_OPT_RETRY_UNSAFE,
  /* Client only. Token-bucket rate limit on request starts (retries
   * included), in thousandths of a request per second: 20 req/s = 20000,
   * 3000/min = 50000. 0 (default) = no limit. Works together with the
   * in-flight limit. */
  FLURRY_OPT_RATE_MILLI,
  /* Client only. Bucket size: starts allowed at once after an idle spell.
   * Default 1 (evenly spaced). */
  FLURRY_OPT_RATE_BURST,
  /* Client only. The same token bucket for each host (scheme, host and port)
   * on its own: thousandths of a request per second, 0 (default) = none. */
  FLURRY_OPT_HOST_RATE_MILLI,
  FLURRY_OPT_HOST_BURST, /* Client only. Default 1. */
  /* Client only. 1: adaptive rate per host (AIMD): halves on 429/503 and on
   * RateLimit / X-RateLimit headers saying the quota is spent, follows
   * RateLimit-Policy when the server states one, and grows 10% a second
   * while the host answers well. Default 0. */
  FLURRY_OPT_RATE_AUTO,
  /* Whole-request deadline across all attempts and waits (0 = none, the
   * default; each attempt is still bounded by FLURRY_OPT_TIMEOUT_MS). A
   * retry that would start past it is not made. */
  FLURRY_OPT_DEADLINE_MS,
  /* One of flurry_jitter. Default FLURRY_JITTER_FULL. */
  FLURRY_OPT_RETRY_JITTER,
  /* Client only. Retry budget (the AWS SDK's retry quota): a retry costs 5
   * tokens (10 after a timeout), a first-attempt success earns 1, a success
   * after retries gives back what its retries cost. With the bucket empty,
   * failures are reported instead of retried, so a dead server is not hit
   * with (attempts x) its load. Capacity, default 500; 0 = no budget. */
  FLURRY_OPT_RETRY_BUDGET,
  /* Client only. Circuit breaker per host: after this many consecutive
   * connection failures (connect, dns, tls, connect timeout) requests to the
   * host fail at once with FLURRY_ECONNECT (detail FLURRY_DETAIL_CIRCUIT_OPEN) until the
   * cool-down passes; then one probe goes; success closes the circuit,
   * failure doubles the cool-down (up to 60 s). Default 5; 0 = off. */
  FLURRY_OPT_BREAKER_THRESHOLD,
  FLURRY_OPT_BREAKER_COOLDOWN_MS, /* Client only. Default 5000. */
  /* Pages a pagination chain makes at most (flurry/paginate.h), page 1
   * included; the chain then ends with detail FLURRY_DETAIL_MAX_PAGES. 0 (default) =
   * no limit but the cycle check. */
  FLURRY_OPT_MAX_PAGES,
  /* Client only. 1: every request header whose name contains auth,
   * cookie, token, key, secret, session, passw, credential or signature
   * (any case: X-Api-Key, X-Auth-Token, X-Session-Id) is a credential too,
   * as those of flurry_client_add_secret_header are (see
   * flurry_header_is_secret): for headers the program does not know in
   * advance, such as the flurry command's input lines. Default 0. */
  FLURRY_OPT_SECRET_NAME_HEURISTIC,
  /* Client only. 1 turns the cookie engine on: an empty jar in memory for
   * the client's life, shared by its transfers (flurry/cookies.h). Once on
   * it stays on: 0 afterwards is refused with FLURRY_EINVALID. Default 0. */
  FLURRY_OPT_COOKIES,
  FLURRY_OPT_COUNT_ /* not an option */
} flurry_opt;

/* What an option is: its name (the enum's suffix in lower case, e.g.
 * "timeout_ms", for bindings and configuration files), its default, its
 * range (flurry_client_set and flurry_request_set refuse a value outside
 * [min, max] with FLURRY_EINVALID) and whether only the client takes it. */
typedef struct flurry_opt_info {
  const char *name; /* static storage */
  int64_t def;
  int64_t min;
  int64_t max;
  int client_only; /* 1: flurry_request_set refuses it */
} flurry_opt_info;

/* Fills *out with what `opt` is. Returns 0, or FLURRY_EINVALID (not an
 * option, or out NULL). */
FLURRY_API int flurry_opt_get_info(flurry_opt opt, flurry_opt_info *out);

/* The option named `name` (as flurry_opt_info's name). Returns 0 with
 * *out set, or FLURRY_EINVALID (no such option, or NULL). */
FLURRY_API int flurry_opt_from_name(const char *name, flurry_opt *out);

typedef enum flurry_jitter {
  FLURRY_JITTER_FULL = 0,         /* uniform in [0, min(cap, base * 2^(k-1))] */
  FLURRY_JITTER_DECORRELATED = 1, /* min(cap, uniform in [base, 3 * previous]) */
  FLURRY_JITTER_NONE = 2          /* exactly min(cap, base * 2^(k-1)): base, 2x, 4x... */
} flurry_jitter;

typedef enum flurry_http_version {
  FLURRY_HTTP_AUTO = 0,             /* HTTP/2 over TLS when offered, else HTTP/1.1 */
  FLURRY_HTTP_1_1 = 1,              /* HTTP/1.1 only */
  FLURRY_HTTP_2 = 2,                /* HTTP/2, falling back to 1.1 */
  FLURRY_HTTP_2_PRIOR_KNOWLEDGE = 3 /* h2c without upgrade (cleartext) */
} flurry_http_version;

/* Creates a request for `method` (any token: GET, POST, PURGE...) and `url`.
 * `url` may be absolute (http:// or https://) or, when the client has a base
 * URL, relative to it; it is resolved and validated at submit time.
 * Returns 0, FLURRY_EINVALID (method not an HTTP token, or a space or a
 * control character (CR, LF, tab, any C0, DEL) in `url`) or
 * FLURRY_ENOMEM. On failure *out is untouched. */
FLURRY_API int flurry_request_new(flurry_request **out, const char *method, const char *url);

/* Frees a request the caller still owns (not submitted). NULL is a no-op. */
FLURRY_API void flurry_request_free(flurry_request *req);

/* Adds a header (copied). A header of the same name set on the client is
 * replaced by this one. Returns 0, FLURRY_EINVALID (name not an HTTP token,
 * or a control character but tab, such as CR or LF, in the value) or
 * FLURRY_ENOMEM. */
FLURRY_API int flurry_request_add_header(flurry_request *req, const char *name, const char *value);

/* Appends name=value to the query string, percent-encoding both (copied).
 * Returns 0, FLURRY_EINVALID (empty name) or FLURRY_ENOMEM. */
FLURRY_API int flurry_request_add_query(flurry_request *req, const char *name, const char *value);

/* Sets the body to `len` bytes at `body` (copied; may contain NUL bytes).
 * Returns 0 or FLURRY_ENOMEM. */
FLURRY_API int flurry_request_set_body(flurry_request *req, const void *body, size_t len);

/* Sets a JSON body (copied) and, unless a Content-Type header was added,
 * "Content-Type: application/json". The text is sent as given (not
 * re-encoded). Returns 0 or FLURRY_ENOMEM. */
FLURRY_API int flurry_request_set_json(flurry_request *req, const char *json, size_t len);

/* Overrides one client option for this request. Returns 0 or
 * FLURRY_EINVALID (a client-only option, or a value out of range). */
FLURRY_API int flurry_request_set(flurry_request *req, flurry_opt opt, int64_t value);

/* Cancels a submitted request wherever it is: queued, waiting for its host
 * or a retry, or running (its transfer is stopped and its connection
 * closed). Its completion callback runs exactly once, with
 * FLURRY_ECANCELLED: now (before this returns), or, when called from inside
 * a stream's record callback (flurry/stream.h) while the request runs, on
 * the next loop turn, with no record delivered in between. Safe from inside
 * completion and record callbacks. `req` must be one the client still owns
 * (submitted, completion callback not yet returned: the client frees it
 * then). Returns 0, or FLURRY_EINVALID (NULL, not submitted, or its own
 * completion callback is running). */
FLURRY_API int flurry_request_cancel(flurry_request *req);

/* The method and URL as given (borrowed; valid while the request lives). */
FLURRY_API const char *flurry_request_method(const flurry_request *req);
FLURRY_API const char *flurry_request_url(const flurry_request *req);

#ifdef __cplusplus
}
#endif
#endif
