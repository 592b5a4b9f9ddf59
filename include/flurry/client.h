/* flurry/client.h: a client runs many requests at once on one libuv loop.
 *
 * A client holds the defaults (base URL, headers, flurry_opt values), the
 * in-flight limit with its FIFO queue, and one libcurl multi handle whose
 * connections are reused across requests. It is not thread-safe: use it from
 * the thread that runs its loop. */
#ifndef FLURRY_CLIENT_H
#define FLURRY_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "flurry/request.h"
#include "flurry/response.h"
#include "flurry/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct flurry_client flurry_client;

/* Called once per submitted request when it is complete (success or error).
 * `req` is borrowed: the client frees it after the callback returns. `resp` is
 * handed over: the callback owns it and must flurry_response_free() it (it
 * may keep it past the callback). The callback may submit new requests. */
typedef void (*flurry_done_cb)(flurry_request *req, flurry_response *resp, void *user_data);

/* Creates a client. With `loop` NULL the client owns a private loop that
 * flurry_client_run() drives; otherwise it attaches to the caller's loop and
 * the caller may run it (uv_run) or call flurry_client_run(). Returns 0 or
 * FLURRY_ENOMEM / FLURRY_EINTERNAL (libcurl or libuv refused); on failure
 * *out is untouched. */
FLURRY_API int flurry_client_new(flurry_client **out, uv_loop_t *loop);

/* Cancels every queued and running request (their callbacks run now, with
 * FLURRY_ECANCELLED), then frees the client. With a private loop everything
 * is released before it returns. With the caller's loop the client's handles
 * close asynchronously: run that loop once more (uv_run) before
 * uv_loop_close(). Must not be called from inside a completion callback.
 * NULL is a no-op. */
FLURRY_API void flurry_client_free(flurry_client *client);

/* Sets a default option (see flurry_opt). Returns 0 or FLURRY_EINVALID. */
FLURRY_API int flurry_client_set(flurry_client *client, flurry_opt opt, int64_t value);

/* Sets the base URL (copied) that relative request URLs resolve against.
 * Returns 0, FLURRY_EINVALID (not an absolute http(s) URL) or FLURRY_ENOMEM. */
FLURRY_API int flurry_client_set_base_url(flurry_client *client, const char *url);

/* Trusts the CA certificates in the PEM file at `path` (copied) instead of
 * the system's store, for servers with a private CA. Verification stays on.
 * Returns 0, FLURRY_EINVALID (NULL) or FLURRY_ENOMEM. */
FLURRY_API int flurry_client_set_ca_file(flurry_client *client, const char *path);

/* Adds a default header (copied) sent with every request unless the request
 * sets the same name. Every request already carries "User-Agent:
 * flurry/VERSION" and an Accept-Encoding naming the encodings libcurl
 * decodes ("deflate, gzip, br, zstd" here); a default or request header of
 * either name replaces that line. Proxies come from the environment as in
 * curl (http_proxy, https_proxy, all_proxy, no_proxy), read when the client
 * is made if none is set then, and per transfer otherwise. Returns 0, FLURRY_EINVALID (bad name, or a control
 * character but tab, such as CR or LF, in the value) or FLURRY_ENOMEM. */
FLURRY_API int flurry_client_add_header(flurry_client *client, const char *name, const char *value);

/* Marks the header `name` (copied; compared without regard to case) as a
 * credential, like Authorization, Proxy-Authorization and Cookie always
 * are: it is not sent to another origin (scheme, host or port) after a
 * redirect or to a page at another origin, and its value is never written
 * in an error message (flurry_header_is_secret, both ways). Applies
 * to the client's default headers and to every request's own. Returns 0,
 * FLURRY_EINVALID (not a header name, over 256 bytes, or more than 256
 * names) or FLURRY_ENOMEM. */
FLURRY_API int flurry_client_add_secret_header(flurry_client *client, const char *name);

/* Which way a header goes (flurry_header_is_secret). */
typedef enum flurry_header_dir {
  FLURRY_HEADER_REQUEST = 0, /* sent: a request header */
  FLURRY_HEADER_RESPONSE = 1 /* received: a response header */
} flurry_header_dir;

/* 1 when the header `name` (any case) carries a credential for `client`,
 * else 0 (also for a NULL name or an unknown dir). client may be NULL:
 * the fixed names only. The rule is the client's own, so a program that
 * writes headers out or sends requests of its own applies the same one:
 *  - FLURRY_HEADER_REQUEST: Authorization, Proxy-Authorization, Cookie,
 *    the names of flurry_client_add_secret_header and, with the client
 *    option FLURRY_OPT_SECRET_NAME_HEURISTIC, every name with one of its
 *    words. The client sends none of these to another origin than the
 *    request's after a redirect, nor to a page at another origin than
 *    page 1 (flurry/paginate.h), and writes their values in no message.
 *  - FLURRY_HEADER_RESPONSE: what to mask when writing a response's
 *    headers: Set-Cookie, Authorization, Proxy-Authorization, Cookie and
 *    the names of flurry_client_add_secret_header. Not the heuristic: a
 *    server's WWW-Authenticate or Access-Control-Allow-Credentials is no
 *    credential. */
FLURRY_API int flurry_header_is_secret(const flurry_client *client, const char *name,
                                       flurry_header_dir dir);

/* 1 when URLs a and b, each resolved against base (NULL: both must be
 * absolute), are http(s) URLs of the same origin: scheme and host (case
 * aside) and port (the scheme's default when none is given), else 0 (also
 * for NULL or a URL that does not parse). The origin the client keeps
 * credentials to on redirects and pages: a program that adds credentials
 * to requests of its own (follow-ups found in a response) applies the
 * same rule. No allocation survives the call; the client is not needed. */
FLURRY_API int flurry_url_same_origin(const char *base, const char *a, const char *b);

/* Resolves ref against base (RFC 3986 5.2, by libcurl's URL API: "/x",
 * "x", "../x", "?q", "//host/x"; base NULL: ref must be absolute) as the
 * library does for next links and next URLs: for a program that follows
 * a link found in a response itself, with flurry_response_effective_url()
 * as base. Writes the absolute http(s) URL, NUL-terminated, to out.
 * Returns 0, FLURRY_EINVALID (NULL argument, no absolute http(s) URL),
 * FLURRY_ETOO_LARGE (outlen too small: out untouched) or FLURRY_ENOMEM. */
FLURRY_API int flurry_url_resolve(const char *base, const char *ref, char *out, size_t outlen);

/* Submits a request. On success (0) the client owns `req`, and `cb` runs
 * exactly once, later, from the loop (never from inside this call). On
 * failure the callback never runs and the caller still owns `req`:
 * FLURRY_EINVALID (the URL does not resolve to an absolute http(s) URL with
 * a host; a URL that passes this check but that libcurl cannot parse, such
 * as a port over 65535, is reported through the callback as
 * FLURRY_EINVALID),
 * FLURRY_ENOMEM, or FLURRY_ECANCELLED (the client is being freed). */
FLURRY_API int flurry_client_submit(flurry_client *client, flurry_request *req, flurry_done_cb cb,
                                    void *user_data);

/* Cancels every queued, waiting and running request: each callback runs now,
 * with FLURRY_ECANCELLED. The client stays usable. May be called from
 * inside a completion callback (stop on the first failure): the other
 * requests' callbacks then run before it returns, nested, and one of them
 * may call it again. Returns 0, or FLURRY_EINVALID (NULL, inside a
 * stream's record callback, or while the client is being freed). */
FLURRY_API int flurry_client_cancel_all(flurry_client *client);

/* Cancels the requests still waiting for an in-flight slot (never started):
 * each callback runs now, with FLURRY_ECANCELLED. Running requests and
 * those waiting to retry go on. For a graceful stop. Returns 0, or
 * FLURRY_EINVALID as flurry_client_cancel_all. */
FLURRY_API int flurry_client_cancel_queued(flurry_client *client);

/* Runs the loop until no request is queued or running. Returns 0,
 * FLURRY_EINVALID when called from inside a completion callback, or
 * FLURRY_EINTERNAL when requests remain that nothing on the loop can ever
 * complete (a bug: it returns rather than spin). */
FLURRY_API int flurry_client_run(flurry_client *client);

/* Requests queued or running (submitted, callback not yet run). */
FLURRY_API size_t flurry_client_pending(const flurry_client *client);

/* A snapshot of the client, for progress displays. */
typedef struct flurry_client_stats {
  size_t queued;       /* waiting for an in-flight slot */
  size_t running;      /* on the wire */
  size_t waiting;      /* waiting to retry, or for a paused or limited host */
  uint64_t retries;    /* retries started so far */
  double rate;         /* the rate limit in force, req/s (with
                         FLURRY_OPT_RATE_AUTO: the lowest host's, idle hosts
                         included, so a learned rate stays readable after
                         a run); 0 = none. A fixed limit is never exceeded:
                         timer granularity makes it run ~97% of the rate */
  double retry_budget; /* tokens left; -1 = no budget */
} flurry_client_stats;

/* Fills *out. */
FLURRY_API void flurry_client_stats_get(const flurry_client *client, flurry_client_stats *out);

/* The loop the client runs on (borrowed). */
FLURRY_API uv_loop_t *flurry_client_loop(flurry_client *client);

/* Runs `n` requests concurrently (bounded by the client's in-flight limit)
 * and waits for all of them, like asyncio.gather(..., return_exceptions=True):
 * out[i] receives the response to reqs[i], success or error, in input order.
 * Takes over every request whatever it returns. A request the client refuses
 * gets an error response (e.g. FLURRY_EINVALID) in its slot; nothing is
 * dropped. Returns 0, FLURRY_ENOMEM (then some out[i] may be NULL; free the
 * others) or FLURRY_EINVALID (called from inside a completion callback, or a
 * NULL argument; then every out[i] is NULL and the requests are freed).
 * Each out[i] is the caller's to flurry_response_free(). */
FLURRY_API int flurry_gather(flurry_client *client, flurry_request *const *reqs, size_t n,
                             flurry_response **out);

#ifdef __cplusplus
}
#endif
#endif
