/* internal.h: the library's private structures, shared across src/ files
 * (names with the flurry__ prefix). Not installed. */
#ifndef FLURRY_INTERNAL_H
#define FLURRY_INTERNAL_H

#include <curl/curl.h>
#include <stdint.h>
#include <uv.h>

#include "fl.h"
#include "flurry.h"
#include "paginate_int.h"

/* Option defaults and ranges: the table in opt.c. */
#define FLURRY_MAX_HEADER_BYTES (256 * 1024) /* raw header bytes of one response, */
#define FLURRY_MAX_HEADER_LINES 1000         /* and lines, 1xx ones included */
#define FLURRY_MAX_RETRY_AFTER_MS 60000      /* longer: give up instead */

typedef struct flurry__opts {
  int64_t v[FLURRY_OPT_COUNT_];
} flurry__opts;

#define FLURRY_ATTEMPT_LOG 64 /* attempts kept per response */
#define TOO_LARGE_HEADERS 2

struct flurry_response {
  int err;
  int curl_code;
  int os_errno;
  char *errmsg;       /* NULL = "" */
  int detail;         /* a flurry_detail; 0 = none */
  int status;
  char *reason;  /* NULL = "" */
  fl_buf body;   /* bounded by the max response size */
  fl_buf hdrs;   /* "name\0value\0" pairs of the final response */
  size_t nhdrs;
  char *effective_url; /* NULL = "" */
  int attempts;
  flurry_timings timings;
  size_t hdr_bytes; /* raw header bytes and lines so far (this hop) */
  size_t hdr_lines;
  int too_large; /* set by the write callbacks when the limit was hit:
                    1 the body, TOO_LARGE_HEADERS the headers */
  int nomem;     /* set by the write callbacks when memory ran out */
  flurry_attempt log[FLURRY_ATTEMPT_LOG];
  int streamed;              /* stream.c: a streamed request's figures */
  flurry_stream_info stream;
};

typedef enum req_state {
  REQ_NEW,     /* built, not submitted */
  REQ_QUEUED,  /* waiting for an in-flight slot */
  REQ_PARKED,  /* waiting for its host (paused, rate-limited, probing) */
  REQ_RUNNING, /* attached to the multi handle */
  REQ_BACKOFF, /* waiting for its retry time */
  REQ_DONE     /* callback ran or about to */
} req_state;

/* A token bucket; per_ms 0 means no limit. */
typedef struct flurry__bucket {
  double per_ms;
  double burst;
  double tokens;
  double at_ms;
} flurry__bucket;

typedef struct flurry__host flurry__host;
typedef struct flurry__stream flurry__stream; /* stream.c */

struct flurry_request {
  char *method;
  char *url;
  fl_buf query;                 /* "a=b&c=d", already encoded */
  struct curl_slist *headers;   /* "Name: value" lines set on the request */
  char *body;
  size_t body_len;
  int has_body;
  int has_content_type;
  int has_idempotency_key;
  int64_t opt[FLURRY_OPT_COUNT_];
  uint64_t opt_set; /* bit i: opt[i] overrides the client's */

  /* runtime, owned by the client once submitted */
  req_state state;
  flurry_client *client;
  flurry__host *host;
  flurry_done_cb cb;
  void *user_data;
  char *resolved_url; /* NULL: url is used as it is */
  char *hop_url;                  /* redirect.c: the current hop, NULL = first */
  struct curl_slist *hop_headers; /* after another origin: without secrets */
  int64_t hops;                   /* redirects followed in this attempt */
  int hop_get;                    /* the hop continues as GET, no body */
  int hop_pending;                /* the next flurry__start is a hop */
  struct curl_slist *send_headers; /* merged list, or NULL = client's */
  CURL *easy;
  int easy_custom; /* transfer.c: options beyond a plain GET's on easy */
  flurry_response *resp;
  double submit_ms;
  double attempt_ms;    /* start of the current attempt */
  double first_ms;      /* start of the first attempt (0: none yet) */
  double prev_delay_ms; /* decorrelated jitter */
  double retry_cost;    /* budget tokens its retries took */
  fl_heap_node backoff; /* in the client's backoff heap */
  char errbuf[CURL_ERROR_SIZE];
  flurry_request *failed_next; /* on the client's socket-failure list */
  int on_failed_list;
  flurry__stream *stream; /* NULL: not a streamed request */
  fl_list link; /* in the client's queue or run list, or its host's park list */
  /* paginate.c, follow.c: provenance and pages (0 / NULL when unused) */
  uint64_t id, parent_id;
  char *path;
  struct flurry__chain *chain;
  int64_t page;
  int page_known;
  int no_secrets; /* a page at another origin: no credential headers */
  void *page_data;   /* flurry_request_set_page_data: this page's user data */
  int has_page_data;
};

/* A scheme://host:port the client talks to, with its pacing state. */
struct flurry__host {
  char *key;
  uint64_t hash;                      /* of key, in the client's host map */
  fl_list idle;                       /* in the client's idle list (refs == 0) */
  size_t refs;                        /* requests submitted to it, not done */
  double paused_until;                /* Retry-After */
  flurry__bucket bucket;              /* per-host or adaptive rate */
  double adapt_rate;                  /* req/s in auto mode, 0 = not limited */
  double adapt_cap;                   /* from RateLimit-Policy, 0 = unknown */
  double adapt_at;                    /* last change */
  double start_gap_ms;                /* EWMA of the gap between starts */
  double ok_prev, ok_cur, ok_window_ms; /* successes, this and the last second */
  double last_start_ms;
  int breaker;                        /* BREAKER_CLOSED / OPEN / HALF_OPEN */
  int fails;                          /* consecutive connection failures */
  double breaker_until;
  double cooldown_ms;
  const flurry_request *probe; /* the half-open circuit's one probe */
  fl_list park; /* parked requests (flurry_request.link), oldest first */
  size_t parked;
  fl_heap_node wake; /* in the client's host wake heap */
};

enum { BREAKER_CLOSED = 0, BREAKER_OPEN = 1, BREAKER_HALF_OPEN = 2 };

/* ---- request.c ---- */
/* The option value in force for req: its override or the client's. */
int64_t flurry__opt(const flurry_request *req, const flurry__opts *defaults,
                    flurry_opt opt);
/* Checks a value for an option; 0 if acceptable. */
int flurry__opt_check(flurry_opt opt, int64_t value);
/* 1 for the options a request cannot override (pool and rate limits). */
int flurry__opt_client_only(flurry_opt opt);
/* The client's defaults, from opt.c's table. */
void flurry__opts_init(flurry__opts *o);
int64_t flurry__opt_default(flurry_opt opt);
int flurry__header_valid(const char *name, const char *value);
/* 1 if the method may be retried without explicit consent. */
int flurry__method_idempotent(const char *method);
/* Appends "Name: value" to a curl list; 0 or FLURRY_ENOMEM. */
int flurry__slist_add(struct curl_slist **list, const char *name, const char *value);

/* ---- secret.c ---- */
/* 1 if the request header `name` (len bytes, any case) carries
 * credentials: Authorization, Proxy-Authorization, Cookie, a name marked
 * with flurry_client_add_secret_header on c (c may be NULL), or, with
 * FLURRY_OPT_SECRET_NAME_HEURISTIC, a name with a credential's word. */
int flurry__header_is_secret(const flurry_client *c, const char *name, size_t len);
void flurry__secrets_free(flurry_client *c);

/* ---- url.c ---- */
/* 1 when the parsed URLs a and b have the same origin: scheme and host
 * (case aside) and port (the scheme's default when none is given). The one
 * notion of origin that credentials stay with (redirects and pages). */
int flurry__curlu_same_origin(CURLU *a, CURLU *b);

/* ---- redirect.c ---- */
/* After an attempt's transfer: 1 when it was a redirect to follow (the next
 * hop is set up: flurry__start it), else 0, with resp's error set when the
 * redirect was refused (too_many_redirects, redirect_downgrade,
 * redirect_scheme). */
int flurry__redirect_next(flurry_client *c, flurry_request *req, CURL *e, CURLcode result);
/* Forgets the hops (a new attempt starts from the request's URL). */
void flurry__redirect_reset(flurry_request *req);
/* The URL and the header list of the hop to fetch now. */
const char *flurry__attempt_url(const flurry_request *req);
const struct curl_slist *flurry__hop_headers(const flurry_client *c, const flurry_request *req);

/* ---- response.c ---- */
flurry_response *flurry__response_new(size_t max_body);
void flurry__response_reset(flurry_response *resp); /* for a new attempt */
int flurry__response_set_error(flurry_response *resp, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Feeds one raw header line (as libcurl delivers it, CRLF included). Returns
 * 0 or FLURRY_ETOO_LARGE / FLURRY_ENOMEM. */
int flurry__response_header_line(flurry_response *resp, const char *line, size_t n);
/* Maps a libcurl result to an error kind. */
int flurry__curl_kind(CURLcode code);

/* ---- retry.c (pure) ---- */
/* Parses a Retry-After value (delay-seconds or an HTTP-date in any of the
 * three RFC 9110 formats) relative to `now_unix` (seconds since the epoch).
 * Returns 0 and the delay in ms (>= 0) or -1 when unparsable. */
int flurry__retry_after_parse(const char *value, size_t n, int64_t now_unix,
                              int64_t *delay_ms);
/* Full-jitter backoff before attempt `attempt`+1 (attempt >= 1): uniform in
 * [0, min(cap, base * 2^(attempt-1))], with `rnd` uniform in [0,1). */
int64_t flurry__backoff_ms(int attempt, int64_t base, int64_t cap, double rnd);
/* 1 if this outcome is worth another attempt. may_repeat: the method is
 * idempotent, or the caller allowed it. nothing_sent: no byte left us. */
int flurry__retryable(int err, int status, int may_repeat, int nothing_sent);


/* ---- client.c / curl_uv.c ---- */
typedef struct flurry__sock {
  uv_poll_t poll;
  curl_socket_t fd;
  flurry_client *client;
  int events; /* UV_READABLE | UV_WRITABLE being watched */
  int idle;   /* no transfer on it: its connection is kept alive */
  dev_t dev;  /* the socket's identity (fstat), to tell when libcurl */
  ino_t ino;  /* closed it without a word and the number was reused */
  /* Adopted (flurry__glue_adopt): readiness goes to owner_cb, not curl. */
  void (*owner_cb)(void *owner, int status, int events);
  void *owner;
} flurry__sock;

struct flurry_client {
  uv_loop_t *loop;
  int own_loop;
  CURLM *multi;
  uv_timer_t curl_timer;  /* curl's one timer */
  uv_timer_t sched_timer; /* starts queued work; wakes due retries */
  int open_handles;       /* uv handles not yet closed */
  flurry__sock **fdmap;   /* poll handles of open curl sockets, by fd */
  size_t fdmap_cap;

  flurry__opts opts;
  char *base_url;
  char *ca_file; /* NULL = the system's CA store */
  struct curl_slist *headers; /* defaults; always ends with "Expect:" */
  char **secrets;  /* header names marked secret (secret.c), besides the */
  size_t nsecrets; /* ones that always are */

  fl_list queue; /* FIFO waiting for a slot (flurry_request.link) */
  size_t queued;
  size_t running;
  size_t parked;
  fl_list run;   /* attached to the multi handle (flurry_request.link) */
  fl_heap backoff;   /* requests waiting to retry, by due time */
  fl_heap host_wake; /* hosts with parked requests, by when they may go */
  fl_map hosts; /* flurry__host *, by key (host.c) */
  fl_list idle; /* hosts without requests (flurry__host.idle), oldest first */
  size_t nidle;
  flurry__bucket rate; /* client-wide */
  double budget;       /* retry budget tokens; unused when the option is 0 */
  uint64_t retries;
  CURL **easy_pool;      /* idle easy handles, reused */
  size_t easy_pool_len, easy_pool_cap;

  int h2c_reuse_broken; /* libcurl < 8.0.0: see configure() */
  flurry_request *sock_failed; /* transfers whose socket could not be watched */
  int in_callback;
  int in_run; /* inside flurry_client_run: stop the loop once idle */
  int closing;
  uint64_t rng;
  uint64_t last_id; /* request ids, given at submit */
  /* Set on a WebSocket's private client (ws.c): completed transfers go here
   * instead of flurry__transfer_done, and so does a transfer whose socket
   * could not be watched (then from inside libcurl: result
   * CURLE_OUT_OF_MEMORY, no curl call allowed). */
  void (*done_hook)(flurry_client *c, CURL *easy, CURLcode result);
};

/* bucket.c (pure: the caller passes the time) */
void flurry__bucket_init(flurry__bucket *b, double per_sec, double burst, double now_ms);
void flurry__bucket_set(flurry__bucket *b, double per_sec, double burst, double now_ms);
void flurry__bucket_refill(flurry__bucket *b, double now_ms);
/* 1 if a token is there (peek leaves it, take takes it), else 0 with
 * *wait_ms until there will be one. */
int flurry__bucket_peek(flurry__bucket *b, double now_ms, double *wait_ms);
int flurry__bucket_take(flurry__bucket *b, double now_ms, double *wait_ms);
/* Tokens now, or -1 when unlimited. */
double flurry__bucket_available(flurry__bucket *b, double now_ms);

/* host.c */
typedef enum { HOST_GO, HOST_WAIT, HOST_FAIL } flurry__verdict;
/* Empty host map and idle list, at the client's creation. */
void flurry__hosts_init(flurry_client *c);
/* The host of an absolute URL, created on first use (refs counted by
 * requests: acquire at submit, release at completion). NULL: no memory. */
flurry__host *flurry__host_acquire(flurry_client *c, const char *url);
void flurry__host_release(flurry_client *c, flurry__host *h);
/* May a request to h start now? HOST_WAIT sets *until (ms; INFINITY: until
 * a probe answers). HOST_GO takes the host's token. */
flurry__verdict flurry__host_admit(flurry_client *c, flurry__host *h,
                                   const flurry_request *req, double now, double *until);
/* A request is done (completed or cancelled): if it was the host's probe,
 * the requests waiting on it go on. */
void flurry__host_done(flurry_client *c, flurry__host *h, const flurry_request *req);
/* Learns from a finished attempt: breaker, Retry-After pause, adaptive rate. */
void flurry__host_learn(flurry_client *c, flurry__host *h, const flurry_request *req,
                        double now);
/* Parks a request on its host until `until`. */
void flurry__host_park(flurry_client *c, flurry__host *h, flurry_request *req, double until);
/* Hosts whose wait ended: their parked requests go back to the queue. */
void flurry__host_wake_due(flurry_client *c, double now);
/* Cancels parked requests (all, or only those never started). */
void flurry__host_cancel_parked(flurry_client *c, int never_started_only);
void flurry__hosts_free(flurry_client *c);
double flurry__hosts_min_rate(const flurry_client *c);
void flurry__hosts_rate_changed(flurry_client *c);
/* retry.c: reads a response's rate-limit headers (IETF RateLimit and
 * RateLimit-Policy, X-RateLimit-* as GitHub sends them): *policy_rate the
 * stated rate in req/s (0 unknown), *spent 1 when no quota is left,
 * *reset_ms until it refills (-1 unknown). Returns 1 if any was found. */
int flurry__ratelimit_parse(const flurry_response *resp, double *policy_rate,
                            int *spent, double *reset_ms);

/* sched.c */
void flurry__kick(flurry_client *c);
void flurry__pump(flurry_client *c);
void flurry__sched_in(flurry_client *c, double ms);
void flurry__queue_front(flurry_client *c, flurry_request *req);
void flurry__complete(flurry_client *c, flurry_request *req);
int flurry__backoff_push(flurry_client *c, flurry_request *req, double delay_ms);
void flurry__cancel(flurry_client *c, flurry_request *req);
void flurry__cancel_all(flurry_client *c, int queued_only);
double flurry__rng(flurry_client *c);

/* transfer.c */
void flurry__start(flurry_client *c, flurry_request *req);
/* Ms the server asked to wait (Retry-After on 429/503), or -1. */
int64_t flurry__server_delay(const flurry_response *resp);
void flurry__easy_pool_free(flurry_client *c);

/* request.c: the URL to fetch (resolved at submit, or as given). */
const char *flurry__target_url(const flurry_request *req);
/* The request whose link n is (NULL: NULL), for the queue, park and run
 * lists. */
static inline flurry_request *flurry__req_of(fl_list *n) {
  return n ? FL_CONTAINER(n, flurry_request, link) : NULL;
}

/* curl_uv.c: the libcurl multi_socket <-> libuv glue. */
int flurry__glue_init(flurry_client *c);
/* Called by the glue after curl reported completed transfers. */
void flurry__transfer_done(flurry_client *c, CURL *easy, CURLcode result);
/* CURLOPT_CLOSESOCKETFUNCTION for every transfer (clientp: the client). */
int flurry__glue_close_socket(void *clientp, curl_socket_t fd);
/* Closes every poll handle still open (after curl_multi_cleanup). */
void flurry__glue_close_socks(flurry_client *c);
void flurry__handle_closed(uv_handle_t *h);
/* Hands fd's poll handle (created if libcurl never asked for one) to
 * owner_cb(owner, status, events), e.g. a CONNECT_ONLY connection now driven
 * by its owner; libcurl still closes it (and the handle) when it closes the
 * connection. NULL: out of memory or libuv refused. */
flurry__sock *flurry__glue_adopt(flurry_client *c, curl_socket_t fd,
                                 void (*owner_cb)(void *, int, int), void *owner);
/* Watches events (UV_READABLE | UV_WRITABLE, 0: none) on an adopted socket. */
void flurry__glue_watch(flurry__sock *s, int events);
/* Frees a client being freed on the caller's loop once its handles closed. */
void flurry__maybe_release(flurry_client *c);

#endif
