/* transfer.c: one attempt on the wire: the easy handle's options, the
 * body and header callbacks, the response it leaves, and what happens next
 * (another attempt, or completion). */
#include <math.h>
#include <string.h>
#include <time.h>

#include "cache_int.h"
#include "cookie_int.h"
#include "glue_int.h"
#include "graphql_int.h"
#include "host_int.h"
#include "opt_int.h"
#include "redirect_int.h"
#include "request_int.h"
#include "response_int.h"
#include "retry_int.h"
#include "sched_int.h"
#include "status_int.h"
#include "stream_int.h"
#include "transfer_int.h"

static size_t on_body(char *data, size_t size, size_t n, void *userp) {
  flurry_request *req = userp;
  size_t len = size * n;
  if (req->stream && flurry__stream_wants_body(req))
    return flurry__stream_body(req, data, len);
  int rc = fl_buf_append(&req->resp->body, data, len);
  if (rc == FL_OK)
    return len;
  if (rc == FL_ELIMIT)
    req->resp->too_large = 1;
  else
    req->resp->nomem = 1;
  return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
}

static size_t on_header(char *data, size_t size, size_t n, void *userp) {
  flurry_request *req = userp;
  size_t len = size * n;
  int rc = flurry__response_header_line(req->resp, data, len);
  if (rc == FLURRY_OK)
    return len;
  if (rc == FLURRY_ETOO_LARGE)
    req->resp->too_large = TOO_LARGE_HEADERS;
  else
    req->resp->nomem = 1;
  return 0;
}

static long curl_http_version(int64_t v) {
  switch (v) {
  case FLURRY_HTTP_1_1:
    return CURL_HTTP_VERSION_1_1;
  case FLURRY_HTTP_2:
    return CURL_HTTP_VERSION_2_0;
  case FLURRY_HTTP_2_PRIOR_KNOWLEDGE:
    return CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
  default:
    return CURL_HTTP_VERSION_2TLS;
  }
}

static void set_method(CURL *e, flurry_request *req) {
  const char *m = req->method;
  if (req->hop_get) { /* 303, or 301/302 after a POST */
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else if (req->has_body) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    if (strcmp(m, "POST") != 0)
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
  } else if (strcmp(m, "HEAD") == 0) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (strcmp(m, "GET") != 0) {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
  }
}

/* The one place in the library that sets an attempt's request headers
 * (CURLOPT_HTTPHEADER; tests/lint/run.sh fails on a second one): the
 * hop's list from redirect.c, which has the credentials and a custom Host
 * stripped after a hop to another origin, and what the request's mode
 * adds to that list (SSE) and the cache's conditionals. A mode never starts from the request's own
 * headers, so no mode can send credentials across origins. */
static int set_headers(flurry_client *c, flurry_request *req, CURL *e) {
  const struct curl_slist *l = flurry__hop_headers(c, req);
  int rc = req->stream ? flurry__stream_headers(req->stream, l, &l) : FLURRY_OK;
  if (rc == FLURRY_OK && req->cache) /* a revalidation's If-None-Match, If-Modified-Since */
    rc = flurry__cache_headers(req, l, &l);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, l);
  return rc;
}

/* The options every attempt of this client shares. A pooled handle keeps
 * them (easy_put): setting them again per request cost a tenth of the
 * instructions per request (the string ones are copied and parsed, and
 * curl_easy_reset frees and rebuilds them all). */
static void configure_base(flurry_client *c, CURL *e) {
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, flurry__glue_close_socket);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, c);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  /* decode what the server compressed; the Accept-Encoding line itself is
   * one of the client's default header lines (client.c:default_headers),
   * and so is the User-Agent */
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  if (!c->proxy_env) { /* no proxy variable at creation: spare the getenv calls */
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOPROXY, "");
  } else { /* libcurl 7.88 names itself to a proxy (CONNECT) only from the option */
    curl_easy_setopt(e, CURLOPT_USERAGENT, "flurry/" FLURRY_VERSION);
  }
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* redirect.c follows */
}

/* The attempt's own options, on a handle that has the base ones. Whatever
 * goes beyond a plain GET marks the request (easy_custom): its handle is
 * reset before it is pooled again. */
static int configure(flurry_client *c, flurry_request *req, CURL *e, int64_t timeout_ms,
                     double now) {
#define OPT(o) flurry__opt(req, &c->opts, FLURRY_OPT_##o)
  curl_easy_setopt(e, CURLOPT_URL, flurry__attempt_url(req));
  curl_easy_setopt(e, CURLOPT_PRIVATE, req);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)OPT(CONNECT_TIMEOUT_MS));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
  req->hop_start_ms = now; /* timeout_detail */
  req->hop_timeout_ms = timeout_ms;
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)((OPT(IDLE_TIMEOUT_MS) + 999) / 1000));
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)OPT(MAX_RESPONSE_BYTES));
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, OPT(VERIFY_TLS) ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, OPT(VERIFY_TLS) ? 2L : 0L);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, curl_http_version(OPT(HTTP_VERSION)));
  req->easy_custom = c->ca_file || req->stream || req->hop_get || req->has_body ||
                     strcmp(req->method, "GET") != 0;
  if (c->ca_file)
    curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
  if (flurry__cookies_configure(c, req, e))
    req->easy_custom = 1;
  /* Wait for a connection that may multiplex (HTTP/2) instead of opening
   * another one; only where HTTP/2 is possible, since over cleartext
   * HTTP/1.1 it would serialise requests behind the first connection. */
  int64_t hv = OPT(HTTP_VERSION);
  if (hv == FLURRY_HTTP_2_PRIOR_KNOWLEDGE && c->h2c_reuse_broken) {
    /* libcurl before 8.0.0 breaks a reused h2c connection ("Error in the
     * HTTP2 framing layer", curl issue 10634): one connection each. */
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    req->easy_custom = 1;
  } else if (hv == FLURRY_HTTP_2_PRIOR_KNOWLEDGE ||
             (hv != FLURRY_HTTP_1_1 && fl_strncaseeq(flurry__attempt_url(req), "https:", 6))) {
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    req->easy_custom = 1;
  }
  set_method(e, req);
  if (req->stream)
    flurry__stream_configure(c, req, e, now);
  return set_headers(c, req, e);
#undef OPT
}

/* An idle handle with the base options: from the pool, or a new one. */
static CURL *easy_get(flurry_client *c) {
  if (c->easy_pool_len)
    return c->easy_pool[--c->easy_pool_len];
  CURL *e = curl_easy_init();
  if (e != NULL)
    configure_base(c, e);
  return e;
}

/* Pools the handle of req's attempt, or frees it past the pool's size. It
 * keeps the base options and no pointer into req; one that had options
 * beyond a plain GET is reset to the base ones first. */
static void easy_put(flurry_client *c, flurry_request *req, CURL *e) {
  size_t max = (size_t)c->opts.v[FLURRY_OPT_MAX_IN_FLIGHT];
  if (c->easy_pool_len == c->easy_pool_cap && c->easy_pool_cap < max) {
    size_t cap = c->easy_pool_cap ? c->easy_pool_cap * 2 : 16;
    CURL **p = fl_realloc(c->easy_pool, cap * sizeof *p);
    if (p != NULL) {
      c->easy_pool = p;
      c->easy_pool_cap = cap;
    }
  }
  if (c->easy_pool_len == c->easy_pool_cap) {
    curl_easy_cleanup(e);
    return;
  }
  if (req->easy_custom) {
    flurry__cookies_release(c, e);
    curl_easy_reset(e);
    configure_base(c, e);
  } else {
    curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, NULL);
  }
  c->easy_pool[c->easy_pool_len++] = e;
}

/* The attempt's time limit: the timeout (what is left of it for a
 * redirect's next hop), or what is left of the deadline. Returns 0 when
 * the deadline has passed, -1 when a hop has no time left. */
static int64_t attempt_timeout(flurry_client *c, flurry_request *req, double now) {
  int64_t t = flurry__opt(req, &c->opts, FLURRY_OPT_TIMEOUT_MS);
  if (req->hop_pending) {
    t -= (int64_t)(now - req->attempt_ms);
    if (t < 1)
      return -1;
  }
  int64_t deadline = flurry__opt(req, &c->opts, FLURRY_OPT_DEADLINE_MS);
  if (deadline == 0)
    return t;
  double left = req->submit_ms + (double)deadline - now;
  if (left < 1)
    return 0;
  return (int64_t)left < t ? (int64_t)left : t;
}

/* Appends " (why)" to the message and sets the detail: a retry not made. */
static void no_retry(flurry_response *resp, int detail, const char *why) {
  flurry__response_set_error(resp, resp->err, "%s (%s)", resp->errmsg ? resp->errmsg : "", why);
  resp->detail = detail;
}

static const char past_deadline[] = "the next attempt would start past the deadline";

/* Nothing is sent: no attempt is counted. A retry that starts past the
 * deadline (its timer fired late, or it waited for a slot, its host or a
 * rate) ends as maybe_retry refuses one whose wait would end past it, with
 * the last attempt's error: which of the two sees the deadline first
 * depends on timing, the outcome does not. A stream's reconnect and a
 * request never tried end with FLURRY_ETIMEOUT. */
static void start_too_late(flurry_client *c, flurry_request *req, int64_t timeout) {
  flurry_response *resp = req->resp;
  if (timeout == 0 && resp->attempts > 0 && resp->err != FLURRY_OK && !req->hop_pending &&
      req->stream == NULL) {
    no_retry(resp, FLURRY_DETAIL_DEADLINE, past_deadline);
  } else {
    flurry__response_set_error(resp, FLURRY_ETIMEOUT,
                               timeout ? "the attempt timed out "
                                         "following redirects"
                                       : "the request's deadline passed");
    resp->detail = timeout ? FLURRY_DETAIL_TOTAL_TIMEOUT : FLURRY_DETAIL_DEADLINE;
  }
  flurry__complete(c, req);
}

/* Starts one attempt; on failure completes the request with an error. */
void flurry__start(flurry_client *c, flurry_request *req) {
  double now = fl_now_ms();
  int64_t timeout = attempt_timeout(c, req, now);
  flurry_response *resp = req->resp;
  if (timeout <= 0) {
    start_too_late(c, req, timeout);
    return;
  }
  flurry__response_reset(resp);
  req->errbuf[0] = '\0';
  if (req->hop_pending) { /* the same attempt goes on */
    req->hop_pending = 0;
  } else {
    resp->attempts++;
    flurry__redirect_reset(req);
    req->attempt_ms = now;
  }
  if (req->first_ms == 0)
    req->first_ms = now;
  CURL *e = easy_get(c);
  if (e == NULL) {
    flurry__response_set_error(resp, FLURRY_ENOMEM, "cannot create a transfer");
    flurry__complete(c, req);
    return;
  }
  CURLMcode mc = configure(c, req, e, timeout, now) != FLURRY_OK
                     ? CURLM_OUT_OF_MEMORY
                     : curl_multi_add_handle(c->multi, e);
  if (mc != CURLM_OK) {
    easy_put(c, req, e);
    flurry__response_set_error(resp, mc == CURLM_OUT_OF_MEMORY ? FLURRY_ENOMEM : FLURRY_EINTERNAL,
                               "libcurl: %s", curl_multi_strerror(mc));
    flurry__complete(c, req);
    return;
  }
  req->easy = e;
  flurry__req_set_state(c, req, REQ_RUNNING, NULL, 0);
}

/* connect_timeout, idle_timeout or total_timeout. libcurl's message is
 * the one sure sign of the phase ("Connection timed out after", "Resolving
 * timed out after", "Failed to connect to ... Timeout was reached" from
 * 7.88's connect filters, "SSL connection timeout" for a TLS handshake
 * that never ends, "Operation too slow", "Operation timed out
 * after"): timings cannot tell, since a reused connection reports no
 * connect time. */
static int timeout_detail(const flurry_request *req) {
  if (strncmp(req->errbuf, "Connection timed out", 20) == 0 ||
      strncmp(req->errbuf, "Resolving timed out", 19) == 0 ||
      strncmp(req->errbuf, "Failed to connect to", 20) == 0 ||
      strncmp(req->errbuf, "SSL connection timeout", 22) == 0) /* the TLS handshake */
    return FLURRY_DETAIL_CONNECT_TIMEOUT;
  if (strncmp(req->errbuf, "Operation too slow", 18) == 0)
    return FLURRY_DETAIL_IDLE_TIMEOUT;
  /* "Operation timed out" is also what libcurl says when the connect
   * timeout fires before the transfer reached its connecting state (a
   * loaded machine): the total timer cannot have fired before the
   * transfer's own timeout elapsed (on our clock, started first). */
  if (fl_now_ms() - req->hop_start_ms < (double)req->hop_timeout_ms)
    return FLURRY_DETAIL_CONNECT_TIMEOUT;
  return FLURRY_DETAIL_TOTAL_TIMEOUT;
}

static void fill_response(flurry_request *req, CURL *e, CURLcode result) {
  flurry_response *resp = req->resp;
  curl_off_t t;
  char *url = NULL;
  if (curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url) {
    fl_free(resp->effective_url);
    resp->effective_url = fl_strdup(url);
    if (resp->effective_url == NULL) { /* lost: the attempt fails, nomem */
      resp->nomem = 1;
      result = CURLE_OUT_OF_MEMORY;
    }
  }
#define TIMING(info, field)                                                                        \
  if (curl_easy_getinfo(e, info, &t) == CURLE_OK)                                                  \
    resp->timings.field = (double)t / 1000.0;
  TIMING(CURLINFO_NAMELOOKUP_TIME_T, dns_ms)
  TIMING(CURLINFO_CONNECT_TIME_T, connect_ms)
  TIMING(CURLINFO_APPCONNECT_TIME_T, tls_ms)
  TIMING(CURLINFO_STARTTRANSFER_TIME_T, first_byte_ms)
  TIMING(CURLINFO_TOTAL_TIME_T, total_ms)
#undef TIMING
  if (result == CURLE_OK) {
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    resp->status = (int)code;
    if (code >= 400 && !flurry__status_ok(req->client, (int)code))
      flurry__response_set_error(resp, FLURRY_EHTTP, "HTTP %ld%s%s", code,
                                 resp->reason && *resp->reason ? " " : "",
                                 resp->reason ? resp->reason : "");
    return;
  }
  long os_errno = 0;
  curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
  resp->curl_code = (int)result;
  resp->os_errno = (int)os_errno;
  int kind = resp->too_large ? FLURRY_ETOO_LARGE
             : resp->nomem   ? FLURRY_ENOMEM
                             : flurry__curl_kind(result);
  if (resp->too_large == TOO_LARGE_HEADERS) {
    flurry__response_set_error(resp, kind, "response headers over %d bytes or %d lines",
                               FLURRY_MAX_HEADER_BYTES, FLURRY_MAX_HEADER_LINES);
    resp->detail = FLURRY_DETAIL_HEADER_TOO_LARGE;
  } else if (resp->too_large) {
    flurry__response_set_error(resp, kind, "response larger than %zu bytes", resp->body.max);
  } else {
    flurry__response_set_error(resp, kind, "%s",
                               req->errbuf[0] ? req->errbuf : curl_easy_strerror(result));
  }
  if (kind == FLURRY_ETIMEOUT)
    resp->detail = timeout_detail(req);
}

static double jittered(flurry_client *c, flurry_request *req) {
  return flurry__backoff_delay_ms((int)flurry__opt(req, &c->opts, FLURRY_OPT_RETRY_JITTER),
                                  req->resp->attempts,
                                  flurry__opt(req, &c->opts, FLURRY_OPT_RETRY_BASE_MS),
                                  flurry__opt(req, &c->opts, FLURRY_OPT_RETRY_CAP_MS),
                                  req->prev_delay_ms, flurry__rng(c));
}

/* Takes the retry's cost from the budget; 0 when the budget is spent. */
static int budget_take(flurry_client *c, flurry_request *req) {
  if (c->opts.v[FLURRY_OPT_RETRY_BUDGET] == 0)
    return 1;
  double cost = req->resp->err == FLURRY_ETIMEOUT ? 10 : 5;
  if (c->budget < cost)
    return 0;
  c->budget -= cost;
  req->retry_cost += cost;
  return 1;
}

/* A finished request gives the budget back: 1 for a first-attempt success,
 * or what its retries took when it finally succeeded. */
static void budget_settle(flurry_client *c, flurry_request *req) {
  double cap = (double)c->opts.v[FLURRY_OPT_RETRY_BUDGET];
  if (cap == 0 || req->resp->err != FLURRY_OK)
    return;
  c->budget += req->retry_cost > 0 ? req->retry_cost : 1;
  if (c->budget > cap)
    c->budget = cap;
}

/* Decides whether the attempt that just ended gets another; if so, puts
 * the request in the backoff heap and returns 1. */
static int maybe_retry(flurry_client *c, flurry_request *req, double now) {
  flurry_response *resp = req->resp;
  if (c->closing || resp->attempts >= flurry__opt(req, &c->opts, FLURRY_OPT_MAX_ATTEMPTS))
    return 0;
  int may_repeat = flurry__method_idempotent(req->method) || req->has_idempotency_key ||
                   flurry__opt(req, &c->opts, FLURRY_OPT_RETRY_UNSAFE);
  int nothing_sent = resp->err == FLURRY_ECONNECT || resp->detail == FLURRY_DETAIL_CONNECT_TIMEOUT;
  int by_status = flurry__status_retried(c, resp); /* -1: not an answer of 400+ */
  if (by_status >= 0 ? !(by_status && may_repeat)
                     : !flurry__retryable(resp->err, resp->status, may_repeat, nothing_sent))
    return 0;
  double delay = (double)flurry__server_delay(resp);
  int64_t deadline = flurry__opt(req, &c->opts, FLURRY_OPT_DEADLINE_MS);
  if (delay > FLURRY_MAX_RETRY_AFTER_MS ||
      (delay >= 0 && deadline && now + delay > req->submit_ms + (double)deadline)) {
    no_retry(resp, FLURRY_DETAIL_RETRY_AFTER_TOO_LONG,
             "the server's Retry-After is past what we may wait");
    return 0;
  }
  if (delay < 0)
    delay = jittered(c, req);
  if (deadline && now + delay >= req->submit_ms + (double)deadline) {
    no_retry(resp, FLURRY_DETAIL_DEADLINE, past_deadline);
    return 0;
  }
  if (!budget_take(c, req)) {
    no_retry(resp, FLURRY_DETAIL_RETRY_BUDGET, "the client's retry budget is spent");
    return 0;
  }
  if (flurry__response_log_room(resp) != FLURRY_OK ||
      flurry__backoff_push(c, req, delay) != FLURRY_OK) {
    /* not the last attempt's result, as if no retry had been allowed */
    flurry__response_set_error(resp, FLURRY_ENOMEM,
                               "out of memory: the retry could not be scheduled");
    return 0;
  }
  req->prev_delay_ms = delay;
  flurry_attempt *a = resp->attempts <= FLURRY_ATTEMPT_LOG
                          ? flurry__response_log(resp, resp->attempts - 1)
                          : NULL;
  if (a != NULL)
    a->wait_ms = delay;
  c->retries++;
  return 1;
}

/* Keeps the attempt in the response's log (the first 63 and the last). */
static void log_attempt(flurry_response *resp, double ms, double start_ms) {
  flurry_attempt *slot = flurry__response_log(resp, resp->attempts - 1);
  if (slot != NULL) { /* room was made before the attempt was scheduled */
    flurry_attempt a = {resp->status, resp->err, ms, 0, start_ms};
    *slot = a;
  }
}

/* Whether starts are paced: a rate (the client's, per host or learnt), a
 * sliding window or an admission hook. The requests a round of answers
 * made room for then start as each transfer ends, each when the pace
 * allows (a bucket of one token refills between two answers; waiting for
 * the next loop turn would start one request a turn). Unpaced, they start
 * together on the next turn: one burst of sends instead of a send between
 * two answers, each of which woke a server that had gone to sleep. */
static int paced(const flurry_client *c) {
  const int64_t *v = c->opts.v;
  return v[FLURRY_OPT_RATE_MILLI] > 0 || v[FLURRY_OPT_HOST_RATE_MILLI] > 0 ||
         v[FLURRY_OPT_RATE_AUTO] || v[FLURRY_OPT_WINDOW_LIMIT] > 0 ||
         v[FLURRY_OPT_HOST_WINDOW_LIMIT] > 0 || c->admit_cb != NULL;
}

void flurry__transfer_done(flurry_client *c, CURL *e, CURLcode result) {
  flurry_request *req = NULL;
  curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&req);
  curl_multi_remove_handle(c->multi, e);
  fill_response(req, e, result);
  int hop = flurry__redirect_next(c, req, e, result);
  easy_put(c, req, e);
  req->easy = NULL; /* still REQ_RUNNING: what comes next moves it */
  double now = fl_now_ms();
  if (hop) { /* the same attempt, on to the next hop (it may fail at once) */
    flurry__start(c, req);
  } else {
    flurry__graphql_check(req, req->resp);
    log_attempt(req->resp, now - req->attempt_ms, req->attempt_ms - c->created_ms);
    flurry__host_learn(c, req->host, req, now);
    int st = req->stream ? flurry__stream_done(c, req, result, now) : FLURRY__STREAM_USUAL;
    if (st == FLURRY__STREAM_FINAL || (st == FLURRY__STREAM_USUAL && !maybe_retry(c, req, now))) {
      budget_settle(c, req);
      flurry__complete(c, req);
    }
  }
  if (paced(c))
    flurry__pump(c); /* as the pace allows, now */
  else
    flurry__kick(c); /* with the others of this round, on the next turn */
}

void flurry__transfer_sock_failed(flurry_client *c, CURL *easy) {
  flurry_request *req = NULL;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&req);
  if (req && !req->on_failed_list) {
    req->on_failed_list = 1;
    req->failed_next = c->sock_failed;
    c->sock_failed = req;
  }
}

/* Runs before the completed ones are read: a removed handle reports
 * nothing. */
void flurry__transfer_flush(flurry_client *c) {
  while (c->sock_failed) {
    flurry_request *req = c->sock_failed;
    c->sock_failed = req->failed_next;
    req->failed_next = NULL;
    req->on_failed_list = 0;
    if (req->easy == NULL)
      continue;
    req->resp->nomem = 1;
    flurry__transfer_done(c, req->easy, CURLE_OUT_OF_MEMORY);
  }
}

void flurry__easy_pool_free(flurry_client *c) {
  for (size_t i = 0; i < c->easy_pool_len; i++)
    curl_easy_cleanup(c->easy_pool[i]);
  fl_free(c->easy_pool);
  c->easy_pool = NULL;
  c->easy_pool_len = c->easy_pool_cap = 0;
}
