/* client_int.h: the library's structures (as curl's urldata.h and
 * multihandle.h): the client, a request, its response, a host. Only data
 * and the few constants their fields need; what each module does with them
 * is in its own <module>_int.h (sched_int.h, transfer_int.h, host_int.h,
 * glue_int.h, ...). Who may change which field: docs/internals.md. Not
 * installed. */
#ifndef FLURRY_CLIENT_INT_H
#define FLURRY_CLIENT_INT_H

#include <curl/curl.h>
#include <stdint.h>
#include <uv.h>

#include "bucket_int.h"
#include "fl.h"
#include "flurry.h"

typedef struct flurry__opts {
  int64_t v[FLURRY_OPT_COUNT_];
} flurry__opts;

#define FLURRY_ATTEMPT_LOG 64 /* attempts kept per response */
#define FLURRY_ATTEMPT_INLINE                                                                      \
  4 /* of which in the response itself: a 2 KiB log in
                                   every response took malloc's slow path */
#define TOO_LARGE_HEADERS 2

struct flurry_response {
  int err;
  int curl_code;
  int os_errno;
  char *errmsg; /* NULL = "" */
  int detail;   /* a flurry_detail; 0 = none */
  int status;
  char *reason; /* NULL = "" */
  fl_buf body;  /* bounded by the max response size */
  fl_buf hdrs;  /* "name\0value\0" pairs of the final response */
  size_t nhdrs;
  char *effective_url; /* NULL = "" */
  int attempts;
  flurry_timings timings;
  size_t hdr_bytes; /* raw header bytes and lines so far (this hop) */
  size_t hdr_lines;
  int too_large;                             /* set by the write callbacks when the limit was hit:
                    1 the body, TOO_LARGE_HEADERS the headers */
  int nomem;                                 /* set by the write callbacks when memory ran out */
  flurry_attempt log[FLURRY_ATTEMPT_INLINE]; /* the first attempts; the others */
  flurry_attempt *log_more;                  /* from flurry__response_log_room, NULL before a 5th */
  int streamed;                              /* stream.c: a streamed request's figures */
  flurry_stream_info stream;
  int cache; /* cache.c: a flurry_cache_status */
};

/* A submitted request's state. Only flurry__req_set_state (sched.c)
 * writes it, with the list and counter that go with each state. */
typedef enum req_state {
  REQ_NEW,     /* built, not submitted */
  REQ_QUEUED,  /* in the client's queue, waiting for an in-flight slot */
  REQ_PARKED,  /* in its host's park list (paused, rate-limited, probing) */
  REQ_RUNNING, /* in the client's run list, attached to the multi handle */
  REQ_BACKOFF, /* in the client's backoff heap, waiting for its retry time */
  REQ_DONE     /* in no list: its callback runs or ran */
} req_state;

typedef struct flurry__host flurry__host;     /* below */
typedef struct flurry__stream flurry__stream; /* stream.c */
typedef struct flurry__sock flurry__sock;     /* glue_int.h */
struct flurry__chain;                         /* paginate.c */
struct flurry__cache;                         /* cache.c */
struct flurry__cache_req;                     /* cache.c */
struct flurry__glue_cb;                       /* glue_int.h */

/* Called by flurry__complete instead of the request's callback, when set
 * (paginate.c: a page of a chain). */
typedef void (*flurry__complete_fn)(flurry_client *c, flurry_request *req, flurry_response *resp);

struct flurry_request {
  char *method;
  char *url;
  fl_buf query;               /* "a=b&c=d", already encoded */
  struct curl_slist *headers; /* "Name: value" lines set on the request */
  char *body;
  size_t body_len;
  int has_body;
  int has_content_type;
  int has_idempotency_key;
  int64_t opt[FLURRY_OPT_COUNT_];
  uint64_t opt_set; /* bit i: opt[i] overrides the client's */

  /* runtime, owned by the client once submitted */
  req_state state; /* flurry__req_set_state only */
  flurry_client *client;
  flurry__host *host;
  flurry_done_cb cb;
  void *user_data;
  flurry__complete_fn on_complete; /* NULL: cb */
  char *resolved_url;              /* NULL: url is used as it is */
  char *hop_url;                   /* redirect.c: the current hop, NULL = first */
  struct curl_slist *hop_headers;  /* after another origin: without secrets */
  int64_t hops;                    /* redirects followed in this attempt */
  int hop_get;                     /* the hop continues as GET, no body */
  int hop_pending;                 /* the next flurry__start is a hop */
  struct curl_slist *send_headers; /* merged list, or NULL = client's */
  CURL *easy;
  int easy_custom; /* transfer.c: options beyond a plain GET's on easy */
  flurry_response *resp;
  double submit_ms;
  double attempt_ms;      /* start of the current attempt */
  double hop_start_ms;    /* start of the current transfer (attempt or hop) */
  int64_t hop_timeout_ms; /* its CURLOPT_TIMEOUT_MS */
  double first_ms;        /* start of the first attempt (0: none yet) */
  double prev_delay_ms;   /* decorrelated jitter */
  double retry_cost;      /* budget tokens its retries took */
  fl_heap_node backoff;   /* in the client's backoff heap */
  char errbuf[CURL_ERROR_SIZE];
  flurry_request *failed_next; /* on the client's socket-failure list */
  int on_failed_list;
  flurry__stream *stream; /* NULL: not a streamed request */
  fl_list link;           /* in the client's queue or run list, or its host's park list */
  /* paginate.c, follow.c: provenance and pages (0 / NULL when unused) */
  uint64_t id, parent_id;
  char *path;
  struct flurry__chain *chain;
  int64_t page;
  int page_known;
  int no_secrets;  /* a page at another origin: no credential headers */
  void *page_data; /* flurry_request_set_page_data: this page's user data */
  int has_page_data;
  int cancel_pending;              /* flurry_request_cancel from inside libcurl: next turn */
  int graphql;                     /* graphql.c: 0, or 1 + FLURRY_GRAPHQL_* flags << 1 */
  struct flurry__cache_req *cache; /* cache.c: looked up (NULL: not yet, or no cache) */
};

/* The request whose link n is (NULL: NULL), for the queue, park and run
 * lists. */
static inline flurry_request *flurry__req_of(fl_list *n) {
  return n ? FL_CONTAINER(n, flurry_request, link) : NULL;
}

/* A scheme://host:port the client talks to, with its pacing state. */
struct flurry__host {
  char *key;
  uint64_t hash;                        /* of key, in the client's host map */
  fl_list idle;                         /* in the client's idle list (refs == 0) */
  size_t refs;                          /* requests submitted to it, not done */
  double paused_until;                  /* Retry-After */
  flurry__bucket bucket;                /* per-host or adaptive rate */
  double adapt_rate;                    /* req/s in auto mode, 0 = not limited */
  double adapt_cap;                     /* from RateLimit-Policy, 0 = unknown */
  double adapt_at;                      /* last change */
  double start_gap_ms;                  /* EWMA of the gap between starts */
  double ok_prev, ok_cur, ok_window_ms; /* successes, this and the last second */
  double last_start_ms;
  int breaker; /* BREAKER_CLOSED / OPEN / HALF_OPEN */
  int fails;   /* consecutive connection failures */
  double breaker_until;
  double cooldown_ms;
  const flurry_request *probe; /* the half-open circuit's one probe */
  fl_list park;                /* parked requests (flurry_request.link), oldest first */
  size_t parked;
  fl_heap_node wake; /* in the client's host wake heap */

  struct flurry__window *window; /* window.c: its starts in the sliding window; NULL = none */
};

enum { BREAKER_CLOSED = 0, BREAKER_OPEN = 1, BREAKER_HALF_OPEN = 2 };

struct flurry_client {
  uv_loop_t *loop;
  int own_loop;
  CURLM *multi;
  uv_timer_t curl_timer;  /* curl's one timer */
  uv_timer_t sched_timer; /* starts queued work; wakes due retries */
  int open_handles;       /* uv handles not yet closed */
  flurry__sock **fdmap;   /* poll handles of open curl sockets, by fd */
  size_t fdmap_cap;
  const struct flurry__glue_cb *glue; /* the glue's up-calls (client.c) */

  flurry__opts opts;
  char *base_url;
  char *ca_file;              /* NULL = the system's CA store */
  struct curl_slist *headers; /* defaults: the built-in lines, then the user's */
  int builtin_headers;        /* how many lines head the list: "Expect:",
                                 User-Agent, Accept-Encoding (default_headers) */
  int proxy_env;              /* a proxy variable was set at creation: libcurl
                                 reads the environment per transfer */
  char **secrets;             /* header names marked secret (secret.c), besides the */
  size_t nsecrets;            /* ones that always are */

  /* sessions and status rules (#11), each module's own state */
  struct flurry__cookies *cookies;     /* cookie.c: the jar and -b cookies; NULL = none */
  struct flurry__status_rules *status; /* status.c: retried and ok statuses; NULL = defaults */
  struct flurry__window *window;       /* window.c: starts in the sliding window; NULL = none */
  double created_ms;                   /* flurry_attempt.start_ms counts from here */

  /* The requests by state (flurry__req_set_state keeps these in step). */
  fl_list queue; /* REQ_QUEUED, FIFO waiting for a slot (flurry_request.link) */
  size_t queued;
  size_t running;
  size_t parked;     /* REQ_PARKED: on their hosts' park lists */
  fl_list run;       /* REQ_RUNNING, attached to the multi handle */
  fl_heap backoff;   /* REQ_BACKOFF, by due time */
  fl_heap host_wake; /* hosts with parked requests, by when they may go */
  fl_map hosts;      /* flurry__host *, by key (host.c) */
  fl_list idle;      /* hosts without requests (flurry__host.idle), oldest first */
  size_t nidle;
  flurry__bucket rate; /* client-wide */
  double budget;       /* retry budget tokens; unused when the option is 0 */
  uint64_t retries;
  CURL **easy_pool; /* idle easy handles, reused */
  size_t easy_pool_len, easy_pool_cap;

  int h2c_reuse_broken;        /* libcurl < 8.0.0: see configure() */
  flurry_request *sock_failed; /* transfers whose socket could not be watched */
  int in_callback;
  int in_complete;       /* of in_callback, completion callbacks (cancel_all may run) */
  size_t cancel_pending; /* running requests marked by flurry_request_cancel */
  int in_run;            /* inside flurry_client_run: stop the loop once idle */
  int closing;
  uint64_t rng;
  uint64_t last_id; /* request ids, given at submit */
  /* Set on a WebSocket's private client (ws.c): completed transfers go here
   * instead of flurry__transfer_done, and so does a transfer whose socket
   * could not be watched (then from inside libcurl: result
   * CURLE_OUT_OF_MEMORY, no curl call allowed). */
  void (*done_hook)(flurry_client *c, CURL *easy, CURLcode result);
  struct flurry__cache *cache; /* flurry_client_set_cache (cache.c), or NULL */
  flurry_admit_cb admit_cb;    /* flurry_client_set_admit (sched.c), NULL: none */
  void *admit_ud;
};

/* The client's default lines the user added, without the built-in ones
 * (client.c: default_headers): a WebSocket handshake sends its own. */
const struct curl_slist *flurry__user_headers(const flurry_client *c);

#endif
