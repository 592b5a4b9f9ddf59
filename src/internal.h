/* internal.h: the library's private structures, shared across src/ files
 * (names with the flurry__ prefix). Not installed. */
#ifndef FLURRY_INTERNAL_H
#define FLURRY_INTERNAL_H

#include <curl/curl.h>
#include <stdint.h>
#include <uv.h>

#include "fl.h"
#include "flurry.h"

/* Defaults, documented in include/flurry/request.h. */
#define FLURRY_DEFAULT_MAX_IN_FLIGHT 64
#define FLURRY_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define FLURRY_DEFAULT_TIMEOUT_MS 30000
#define FLURRY_DEFAULT_IDLE_TIMEOUT_MS 30000
#define FLURRY_DEFAULT_MAX_RESPONSE_BYTES (64 * 1024 * 1024)
#define FLURRY_DEFAULT_MAX_REDIRECTS 10
#define FLURRY_DEFAULT_RETRY_BASE_MS 100
#define FLURRY_DEFAULT_RETRY_CAP_MS 10000
#define FLURRY_MAX_HEADER_BYTES (256 * 1024) /* all headers of one response */
#define FLURRY_MAX_RETRY_AFTER_MS 60000      /* longer: give up instead */

typedef struct flurry__opts {
  int64_t v[FLURRY_OPT_COUNT_];
} flurry__opts;

struct flurry_response {
  int err;
  int curl_code;
  int os_errno;
  char *errmsg; /* NULL = "" */
  int status;
  char *reason;  /* NULL = "" */
  fl_buf body;   /* bounded by the max response size */
  fl_buf hdrs;   /* "name\0value\0" pairs of the final response */
  size_t nhdrs;
  char *effective_url; /* NULL = "" */
  int attempts;
  flurry_timings timings;
  int too_large; /* set by the write callback when the limit was hit */
};

typedef enum req_state {
  REQ_NEW,      /* built, not submitted */
  REQ_QUEUED,   /* waiting for an in-flight slot */
  REQ_RUNNING,  /* attached to the multi handle */
  REQ_BACKOFF,  /* waiting for its retry time */
  REQ_DONE      /* callback ran or about to */
} req_state;

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
  uint32_t opt_set; /* bit i: opt[i] overrides the client's */

  /* runtime, owned by the client once submitted */
  req_state state;
  flurry_client *client;
  flurry_done_cb cb;
  void *user_data;
  char *resolved_url;
  struct curl_slist *send_headers; /* merged list, or NULL = client's */
  CURL *easy;
  flurry_response *resp;
  double submit_ms;
  double due_ms;      /* when in REQ_BACKOFF */
  size_t heap_index;  /* position in the backoff heap */
  char errbuf[CURL_ERROR_SIZE];
  flurry_request *next; /* queue link */
  flurry_request *prev;
};

/* ---- request.c ---- */
/* The option value in force for req: its override or the client's. */
int64_t flurry__opt(const flurry_request *req, const flurry__opts *defaults,
                    flurry_opt opt);
/* Checks a value for an option; 0 if acceptable. */
int flurry__opt_check(flurry_opt opt, int64_t value);
/* 1 for the options a request cannot override (pool and rate limits). */
int flurry__opt_client_only(flurry_opt opt);
int flurry__header_valid(const char *name, const char *value);
/* 1 if the method may be retried without explicit consent. */
int flurry__method_idempotent(const char *method);
/* Appends "Name: value" to a curl list; 0 or FLURRY_ENOMEM. */
int flurry__slist_add(struct curl_slist **list, const char *name, const char *value);

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

#endif

/* ---- client.c / curl_uv.c ---- */
typedef struct flurry__sock {
  uv_poll_t poll;
  curl_socket_t fd;
  flurry_client *client;
  struct flurry__sock *next, *prev;
} flurry__sock;

struct flurry_client {
  uv_loop_t *loop;
  int own_loop;
  CURLM *multi;
  uv_timer_t curl_timer;  /* curl's one timer */
  uv_timer_t sched_timer; /* starts queued work; wakes due retries */
  int open_handles;       /* uv handles not yet closed */
  flurry__sock *socks;    /* poll handles, one per curl socket */

  flurry__opts opts;
  char *base_url;
  char *ca_file; /* NULL = the system's CA store */
  struct curl_slist *headers; /* defaults; always ends with "Expect:" */

  flurry_request *queue_head, *queue_tail; /* FIFO waiting for a slot */
  size_t queued;
  size_t running;
  flurry_request *run_head, *run_tail; /* attached to the multi handle */
  flurry_request **heap; /* backoff min-heap by due_ms */
  size_t heap_len, heap_cap;
  CURL **easy_pool;      /* idle easy handles, reused */
  size_t easy_pool_len, easy_pool_cap;

  double tokens;       /* rate limit bucket */
  double tokens_at_ms; /* when it was last refilled */

  int h2c_reuse_broken; /* libcurl < 8.0.0: see configure() */
  int in_callback;
  int closing;
  uint64_t rng;
};

/* curl_uv.c: the libcurl multi_socket <-> libuv glue. */
int flurry__glue_init(flurry_client *c);
/* Called by the glue after curl reported completed transfers. */
void flurry__transfer_done(flurry_client *c, CURL *easy, CURLcode result);
/* Closes every poll handle still open (after curl_multi_cleanup). */
void flurry__glue_close_socks(flurry_client *c);
void flurry__handle_closed(uv_handle_t *h);
/* Frees a client being freed on the caller's loop once its handles closed. */
void flurry__maybe_release(flurry_client *c);
