/* client.c: the scheduler. Requests wait in a FIFO queue for an in-flight
 * slot, run on the multi handle, and either complete (callback) or wait in a
 * backoff heap for another attempt. */
#include <string.h>
#include <time.h>

#include "internal.h"

static void kick(flurry_client *c);

/* ---- small helpers ---- */

static double rng_next(flurry_client *c) { /* xorshift64*, uniform [0,1) */
  c->rng ^= c->rng >> 12;
  c->rng ^= c->rng << 25;
  c->rng ^= c->rng >> 27;
  return (double)((c->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static void list_push_back(flurry_request **head, flurry_request **tail, flurry_request *r) {
  r->next = NULL;
  r->prev = *tail;
  if (*tail)
    (*tail)->next = r;
  else
    *head = r;
  *tail = r;
}

static void list_push_front(flurry_request **head, flurry_request **tail, flurry_request *r) {
  r->prev = NULL;
  r->next = *head;
  if (*head)
    (*head)->prev = r;
  else
    *tail = r;
  *head = r;
}

static void list_remove(flurry_request **head, flurry_request **tail, flurry_request *r) {
  if (r->prev)
    r->prev->next = r->next;
  else
    *head = r->next;
  if (r->next)
    r->next->prev = r->prev;
  else
    *tail = r->prev;
  r->next = r->prev = NULL;
}

/* ---- backoff heap (min by due_ms) ---- */

static void heap_swap(flurry_client *c, size_t a, size_t b) {
  flurry_request *t = c->heap[a];
  c->heap[a] = c->heap[b];
  c->heap[b] = t;
  c->heap[a]->heap_index = a;
  c->heap[b]->heap_index = b;
}

static void heap_up(flurry_client *c, size_t i) {
  while (i > 0 && c->heap[(i - 1) / 2]->due_ms > c->heap[i]->due_ms) {
    heap_swap(c, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
}

static void heap_down(flurry_client *c, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < c->heap_len && c->heap[l]->due_ms < c->heap[m]->due_ms)
      m = l;
    if (r < c->heap_len && c->heap[r]->due_ms < c->heap[m]->due_ms)
      m = r;
    if (m == i)
      return;
    heap_swap(c, i, m);
    i = m;
  }
}

static int heap_push(flurry_client *c, flurry_request *r) {
  if (c->heap_len == c->heap_cap) {
    size_t cap = c->heap_cap ? c->heap_cap * 2 : 64;
    flurry_request **h = fl_realloc(c->heap, cap * sizeof *h);
    if (h == NULL)
      return FLURRY_ENOMEM;
    c->heap = h;
    c->heap_cap = cap;
  }
  r->heap_index = c->heap_len;
  c->heap[c->heap_len++] = r;
  heap_up(c, r->heap_index);
  return FLURRY_OK;
}

static flurry_request *heap_pop(flurry_client *c) {
  flurry_request *top = c->heap[0];
  c->heap_len--;
  if (c->heap_len) {
    c->heap[0] = c->heap[c->heap_len];
    c->heap[0]->heap_index = 0;
    heap_down(c, 0);
  }
  return top;
}

/* ---- client life ---- */

FLURRY_API int flurry_client_new(flurry_client **out, uv_loop_t *loop) {
  static int curl_ready;
  if (out == NULL)
    return FLURRY_EINVALID;
  if (!curl_ready) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      return FLURRY_EINTERNAL;
    curl_ready = 1;
  }
  flurry_client *c = fl_calloc(1, sizeof *c);
  if (c == NULL)
    return FLURRY_ENOMEM;
  int rc = FLURRY_ENOMEM;
  c->loop = loop;
  if (loop == NULL) {
    c->loop = fl_malloc(sizeof *c->loop);
    if (c->loop == NULL || uv_loop_init(c->loop) != 0)
      goto fail_loop;
    c->own_loop = 1;
  }
  c->multi = curl_multi_init();
  c->headers = curl_slist_append(NULL, "Expect:");
  if (c->multi == NULL || c->headers == NULL)
    goto fail;
  rc = FLURRY_EINTERNAL;
  if (flurry__glue_init(c) != FLURRY_OK)
    goto fail;
  if (uv_timer_init(c->loop, &c->sched_timer) != 0)
    goto fail_timer;
  c->sched_timer.data = c;
  c->open_handles++;
  int64_t *o = c->opts.v;
  o[FLURRY_OPT_MAX_IN_FLIGHT] = FLURRY_DEFAULT_MAX_IN_FLIGHT;
  o[FLURRY_OPT_CONNECT_TIMEOUT_MS] = FLURRY_DEFAULT_CONNECT_TIMEOUT_MS;
  o[FLURRY_OPT_TIMEOUT_MS] = FLURRY_DEFAULT_TIMEOUT_MS;
  o[FLURRY_OPT_IDLE_TIMEOUT_MS] = FLURRY_DEFAULT_IDLE_TIMEOUT_MS;
  o[FLURRY_OPT_MAX_RESPONSE_BYTES] = FLURRY_DEFAULT_MAX_RESPONSE_BYTES;
  o[FLURRY_OPT_MAX_REDIRECTS] = FLURRY_DEFAULT_MAX_REDIRECTS;
  o[FLURRY_OPT_VERIFY_TLS] = 1;
  o[FLURRY_OPT_MAX_ATTEMPTS] = 1;
  o[FLURRY_OPT_RETRY_BASE_MS] = FLURRY_DEFAULT_RETRY_BASE_MS;
  o[FLURRY_OPT_RETRY_CAP_MS] = FLURRY_DEFAULT_RETRY_CAP_MS;
  o[FLURRY_OPT_RATE_BURST] = 1;
  c->tokens = 1;
  c->tokens_at_ms = fl_now_ms();
  c->rng = uv_hrtime() | 1;
  c->h2c_reuse_broken = curl_version_info(CURLVERSION_NOW)->version_num < 0x080000;
  *out = c;
  return FLURRY_OK;

fail_timer:
  uv_close((uv_handle_t *)&c->curl_timer, NULL);
fail:
  curl_multi_cleanup(c->multi);
  curl_slist_free_all(c->headers);
  if (c->own_loop) {
    uv_run(c->loop, UV_RUN_DEFAULT);
    uv_loop_close(c->loop);
  }
fail_loop:
  if (c->own_loop || loop == NULL)
    fl_free(c->loop);
  fl_free(c);
  return rc;
}

FLURRY_API int flurry_client_set(flurry_client *c, flurry_opt opt, int64_t value) {
  if (c == NULL || flurry__opt_check(opt, value) != 0)
    return FLURRY_EINVALID;
  c->opts.v[opt] = value;
  if (opt == FLURRY_OPT_MAX_PER_HOST)
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)value);
  if (opt == FLURRY_OPT_MAX_IN_FLIGHT || opt == FLURRY_OPT_RATE_MILLI)
    kick(c);
  return FLURRY_OK;
}

/* Resolves url (relative to base when given) and appends query; the result
 * must be an absolute http(s) URL with a host. Returns a curl_free()-able
 * string or NULL (*err set). */
static char *resolve_url(const char *base, const char *url, const char *query, int *err) {
  CURLU *u = curl_url();
  char *out = NULL, *scheme = NULL, *host = NULL;
  *err = FLURRY_ENOMEM;
  if (u == NULL)
    return NULL;
  *err = FLURRY_EINVALID;
  if (base && curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK)
    goto done;
  if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
    goto done;
  if (query && *query &&
      curl_url_set(u, CURLUPART_QUERY, query, CURLU_APPENDQUERY) != CURLUE_OK)
    goto done;
  if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
    goto done;
  if ((strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) || *host == '\0')
    goto done;
  if (curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK)
    *err = FLURRY_OK;
done:
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  return out;
}

FLURRY_API int flurry_client_set_base_url(flurry_client *c, const char *url) {
  if (c == NULL || url == NULL)
    return FLURRY_EINVALID;
  int err;
  char *resolved = resolve_url(NULL, url, NULL, &err);
  if (resolved == NULL)
    return err;
  char *copy = fl_strdup(resolved);
  curl_free(resolved);
  if (copy == NULL)
    return FLURRY_ENOMEM;
  fl_free(c->base_url);
  c->base_url = copy;
  return FLURRY_OK;
}

FLURRY_API int flurry_client_set_ca_file(flurry_client *c, const char *path) {
  if (c == NULL || path == NULL)
    return FLURRY_EINVALID;
  char *copy = fl_strdup(path);
  if (copy == NULL)
    return FLURRY_ENOMEM;
  fl_free(c->ca_file);
  c->ca_file = copy;
  return FLURRY_OK;
}

FLURRY_API int flurry_client_add_header(flurry_client *c, const char *name,
                                        const char *value) {
  if (c == NULL || !flurry__header_valid(name, value))
    return FLURRY_EINVALID;
  return flurry__slist_add(&c->headers, name, value);
}

FLURRY_API size_t flurry_client_pending(const flurry_client *c) {
  return c->queued + c->running + c->heap_len;
}

FLURRY_API uv_loop_t *flurry_client_loop(flurry_client *c) { return c->loop; }

/* ---- submit ---- */

/* Name of a "Name: value" or "Name;" line, compared case-insensitively. */
static int same_header(const char *a, const char *b) {
  size_t na = strcspn(a, ":;"), nb = strcspn(b, ":;");
  return na == nb && fl_strncaseeq(a, b, na);
}

/* The request's headers, then the client's defaults it does not override. */
static int merge_headers(flurry_client *c, flurry_request *req) {
  if (req->headers == NULL)
    return FLURRY_OK; /* send the client's list as it is */
  struct curl_slist *out = NULL;
  for (struct curl_slist *h = req->headers; h; h = h->next) {
    struct curl_slist *n = curl_slist_append(out, h->data);
    if (n == NULL)
      goto nomem;
    out = n;
  }
  for (struct curl_slist *d = c->headers; d; d = d->next) {
    int overridden = 0;
    for (struct curl_slist *h = req->headers; h && !overridden; h = h->next)
      overridden = same_header(d->data, h->data);
    if (overridden)
      continue;
    struct curl_slist *n = curl_slist_append(out, d->data);
    if (n == NULL)
      goto nomem;
    out = n;
  }
  req->send_headers = out;
  return FLURRY_OK;
nomem:
  curl_slist_free_all(out);
  return FLURRY_ENOMEM;
}

/* The common case needs no parse at submit: an absolute http(s) URL with a
 * host, no base URL, no query to add. libcurl parses it once when the
 * transfer starts (a malformed one then fails as FLURRY_EINVALID). Saves a
 * tenth of the instructions per request. */
static int plain_absolute(const char *url) {
  size_t n = fl_strncaseeq(url, "http://", 7) ? 7 : fl_strncaseeq(url, "https://", 8) ? 8 : 0;
  return n && url[n] != '\0' && url[n] != '/' && url[n] != '?' && url[n] != '#';
}

/* The URL to fetch: resolved at submit, or the request's own. */
static const char *target_url(const flurry_request *req) {
  return req->resolved_url ? req->resolved_url : req->url;
}

FLURRY_API int flurry_client_submit(flurry_client *c, flurry_request *req,
                                    flurry_done_cb cb, void *user_data) {
  if (c == NULL || req == NULL || cb == NULL || req->state != REQ_NEW)
    return FLURRY_EINVALID;
  if (c->closing)
    return FLURRY_ECANCELLED;
  int err = FLURRY_OK;
  if (c->base_url != NULL || req->query.len > 0 || !plain_absolute(req->url)) {
    char *url = resolve_url(c->base_url, req->url, req->query.data, &err);
    if (url == NULL)
      return err;
    req->resolved_url = fl_strdup(url);
    curl_free(url);
    if (req->resolved_url == NULL)
      return FLURRY_ENOMEM;
  }
  size_t max_body = (size_t)flurry__opt(req, &c->opts, FLURRY_OPT_MAX_RESPONSE_BYTES);
  req->resp = flurry__response_new(max_body ? max_body : 1);
  if (req->resp == NULL || merge_headers(c, req) != FLURRY_OK) {
    fl_free(req->resolved_url);
    req->resolved_url = NULL;
    flurry_response_free(req->resp);
    req->resp = NULL;
    return FLURRY_ENOMEM;
  }
  req->client = c;
  req->cb = cb;
  req->user_data = user_data;
  req->submit_ms = fl_now_ms();
  req->state = REQ_QUEUED;
  list_push_back(&c->queue_head, &c->queue_tail, req);
  c->queued++;
  kick(c);
  return FLURRY_OK;
}

/* ---- running a transfer ---- */

static size_t on_body(char *data, size_t size, size_t n, void *userp) {
  flurry_request *req = userp;
  size_t len = size * n;
  int rc = fl_buf_append(&req->resp->body, data, len);
  if (rc == FL_OK)
    return len;
  if (rc == FL_ELIMIT)
    req->resp->too_large = 1;
  return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
}

static size_t on_header(char *data, size_t size, size_t n, void *userp) {
  flurry_request *req = userp;
  size_t len = size * n;
  int rc = flurry__response_header_line(req->resp, data, len);
  if (rc == FLURRY_OK)
    return len;
  if (rc == FLURRY_ETOO_LARGE)
    req->resp->too_large = 1;
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
  if (req->has_body) {
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

static void configure(flurry_client *c, flurry_request *req, CURL *e) {
#define OPT(o) flurry__opt(req, &c->opts, FLURRY_OPT_##o)
  curl_easy_setopt(e, CURLOPT_URL, target_url(req));
  curl_easy_setopt(e, CURLOPT_PRIVATE, req);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->send_headers ? req->send_headers : c->headers);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "flurry/" FLURRY_VERSION);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)OPT(CONNECT_TIMEOUT_MS));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)OPT(TIMEOUT_MS));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)((OPT(IDLE_TIMEOUT_MS) + 999) / 1000));
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)OPT(MAX_RESPONSE_BYTES));
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, OPT(MAX_REDIRECTS) > 0 ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)OPT(MAX_REDIRECTS));
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, OPT(VERIFY_TLS) ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, OPT(VERIFY_TLS) ? 2L : 0L);
  if (c->ca_file)
    curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, curl_http_version(OPT(HTTP_VERSION)));
  /* Wait for a connection that may multiplex (HTTP/2) instead of opening
   * another one; only where HTTP/2 is possible, since over cleartext
   * HTTP/1.1 it would serialise requests behind the first connection. */
  int64_t hv = OPT(HTTP_VERSION);
  if (hv == FLURRY_HTTP_2_PRIOR_KNOWLEDGE && c->h2c_reuse_broken) {
    /* libcurl before 8.0.0 breaks a reused h2c connection ("Error in the
     * HTTP2 framing layer", curl issue 10634): one connection each. */
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  } else if (hv == FLURRY_HTTP_2_PRIOR_KNOWLEDGE ||
             (hv != FLURRY_HTTP_1_1 && fl_strncaseeq(target_url(req), "https:", 6))) {
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  }
  set_method(e, req);
#undef OPT
}

static CURL *easy_get(flurry_client *c) {
  if (c->easy_pool_len)
    return c->easy_pool[--c->easy_pool_len];
  return curl_easy_init();
}

static void easy_put(flurry_client *c, CURL *e) {
  size_t max = (size_t)c->opts.v[FLURRY_OPT_MAX_IN_FLIGHT];
  if (c->easy_pool_len == c->easy_pool_cap && c->easy_pool_cap < max) {
    size_t cap = c->easy_pool_cap ? c->easy_pool_cap * 2 : 16;
    CURL **p = fl_realloc(c->easy_pool, cap * sizeof *p);
    if (p != NULL) {
      c->easy_pool = p;
      c->easy_pool_cap = cap;
    }
  }
  if (c->easy_pool_len < c->easy_pool_cap) {
    curl_easy_reset(e);
    c->easy_pool[c->easy_pool_len++] = e;
  } else {
    curl_easy_cleanup(e);
  }
}

static void complete(flurry_client *c, flurry_request *req) {
  flurry_response *resp = req->resp;
  req->resp = NULL;
  req->state = REQ_DONE;
  resp->timings.elapsed_ms = fl_now_ms() - req->submit_ms;
  c->in_callback++;
  req->cb(req, resp, req->user_data);
  c->in_callback--;
  flurry_request_free(req);
}

/* Starts one attempt; on failure completes the request with an error. */
static void start(flurry_client *c, flurry_request *req) {
  CURL *e = easy_get(c);
  req->resp->attempts++;
  flurry__response_reset(req->resp);
  req->errbuf[0] = '\0';
  if (e == NULL) {
    flurry__response_set_error(req->resp, FLURRY_ENOMEM, "cannot create a transfer");
    complete(c, req);
    return;
  }
  configure(c, req, e);
  CURLMcode mc = curl_multi_add_handle(c->multi, e);
  if (mc != CURLM_OK) {
    easy_put(c, e);
    flurry__response_set_error(req->resp, mc == CURLM_OUT_OF_MEMORY ? FLURRY_ENOMEM
                                                                    : FLURRY_EINTERNAL,
                               "libcurl: %s", curl_multi_strerror(mc));
    complete(c, req);
    return;
  }
  req->easy = e;
  req->state = REQ_RUNNING;
  list_push_back(&c->run_head, &c->run_tail, req);
  c->running++;
}

/* Token bucket: 1 if a start is allowed now (and takes the token), else 0
 * with *wait_ms set to when the next token is due. */
static int rate_take(flurry_client *c, double *wait_ms) {
  int64_t milli = c->opts.v[FLURRY_OPT_RATE_MILLI];
  if (milli == 0)
    return 1;
  double per_ms = (double)milli / 1e6;
  double burst = (double)c->opts.v[FLURRY_OPT_RATE_BURST];
  double now = fl_now_ms();
  c->tokens += (now - c->tokens_at_ms) * per_ms;
  c->tokens_at_ms = now;
  if (c->tokens > burst)
    c->tokens = burst;
  if (c->tokens >= 1) {
    c->tokens -= 1;
    return 1;
  }
  *wait_ms = (1 - c->tokens) / per_ms;
  return 0;
}

static void on_sched(uv_timer_t *t);

/* Arms the scheduler timer to fire in `ms` unless it already fires sooner. */
static void sched_in(flurry_client *c, uint64_t ms) {
  uv_timer_t *t = &c->sched_timer;
  if (!uv_is_active((uv_handle_t *)t) || uv_timer_get_due_in(t) > ms)
    uv_timer_start(t, on_sched, ms, 0);
}

static void pump(flurry_client *c) {
  size_t max = (size_t)c->opts.v[FLURRY_OPT_MAX_IN_FLIGHT];
  while (c->queue_head && c->running < max && !c->closing) {
    double wait;
    if (!rate_take(c, &wait)) {
      sched_in(c, (uint64_t)wait + 1);
      return;
    }
    flurry_request *req = c->queue_head;
    list_remove(&c->queue_head, &c->queue_tail, req);
    c->queued--;
    start(c, req);
  }
}

/* The scheduler timer: moves due retries to the front of the queue, starts
 * what the in-flight limit allows, and re-arms for the next retry. */
static void on_sched(uv_timer_t *t) {
  flurry_client *c = t->data;
  double now = fl_now_ms();
  while (c->heap_len && c->heap[0]->due_ms <= now) {
    flurry_request *req = heap_pop(c);
    req->state = REQ_QUEUED;
    list_push_front(&c->queue_head, &c->queue_tail, req);
    c->queued++;
  }
  pump(c);
  if (c->heap_len && !c->closing) {
    double wait = c->heap[0]->due_ms - fl_now_ms();
    sched_in(c, wait > 0 ? (uint64_t)wait + 1 : 0);
  }
}

/* Runs the scheduler on the next loop turn: never from inside submit, so a
 * callback cannot run before submit returns. */
static void kick(flurry_client *c) {
  if (!c->closing)
    uv_timer_start(&c->sched_timer, on_sched, 0, 0);
}

/* ---- completion and retry ---- */

static void fill_response(flurry_request *req, CURL *e, CURLcode result) {
  flurry_response *resp = req->resp;
  curl_off_t t;
  char *url = NULL;
  if (curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url) {
    fl_free(resp->effective_url);
    resp->effective_url = fl_strdup(url);
  }
#define TIMING(info, field)                                                    \
  if (curl_easy_getinfo(e, info, &t) == CURLE_OK)                              \
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
    if (code >= 400)
      flurry__response_set_error(resp, FLURRY_EHTTP, "HTTP %ld%s%s", code,
                                 resp->reason && *resp->reason ? " " : "",
                                 resp->reason ? resp->reason : "");
    return;
  }
  long os_errno = 0;
  curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
  resp->curl_code = (int)result;
  resp->os_errno = (int)os_errno;
  int kind = resp->too_large ? FLURRY_ETOO_LARGE : flurry__curl_kind(result);
  if (resp->too_large)
    flurry__response_set_error(resp, kind, "response larger than %zu bytes",
                               resp->body.max);
  else
    flurry__response_set_error(resp, kind, "%s",
                               req->errbuf[0] ? req->errbuf : curl_easy_strerror(result));
}

/* Milliseconds the server asked us to wait (Retry-After on 429 or 503), or
 * -1 when it did not say. */
static int64_t server_delay(const flurry_response *resp) {
  if (resp->status != 429 && resp->status != 503)
    return -1;
  const char *v = flurry_response_header(resp, "Retry-After");
  int64_t ms;
  if (v == NULL || flurry__retry_after_parse(v, strlen(v), (int64_t)time(NULL), &ms) != 0)
    return -1;
  return ms;
}

/* Decides whether the attempt that just ended gets another; if so, parks the
 * request in the backoff heap and returns 1. */
static int maybe_retry(flurry_client *c, flurry_request *req) {
  flurry_response *resp = req->resp;
  if (c->closing || resp->attempts >= flurry__opt(req, &c->opts, FLURRY_OPT_MAX_ATTEMPTS))
    return 0;
  int may_repeat = flurry__method_idempotent(req->method) || req->has_idempotency_key ||
                   flurry__opt(req, &c->opts, FLURRY_OPT_RETRY_UNSAFE);
  int nothing_sent = resp->timings.connect_ms == 0;
  if (!flurry__retryable(resp->err, resp->status, may_repeat, nothing_sent))
    return 0;
  int64_t delay = server_delay(resp);
  if (delay > FLURRY_MAX_RETRY_AFTER_MS)
    return 0; /* the server wants a long pause: report instead of sleeping */
  if (delay < 0)
    delay = flurry__backoff_ms(resp->attempts, flurry__opt(req, &c->opts, FLURRY_OPT_RETRY_BASE_MS),
                               flurry__opt(req, &c->opts, FLURRY_OPT_RETRY_CAP_MS), rng_next(c));
  req->due_ms = fl_now_ms() + (double)delay;
  if (heap_push(c, req) != FLURRY_OK)
    return 0;
  req->state = REQ_BACKOFF;
  sched_in(c, (uint64_t)delay);
  return 1;
}

void flurry__transfer_done(flurry_client *c, CURL *e, CURLcode result) {
  flurry_request *req = NULL;
  curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&req);
  curl_multi_remove_handle(c->multi, e);
  fill_response(req, e, result);
  easy_put(c, e);
  req->easy = NULL;
  list_remove(&c->run_head, &c->run_tail, req);
  c->running--;
  if (!maybe_retry(c, req))
    complete(c, req);
  pump(c);
}

/* ---- running, cancelling, freeing ---- */

FLURRY_API int flurry_client_run(flurry_client *c) {
  if (c == NULL || c->in_callback)
    return FLURRY_EINVALID;
  while (flurry_client_pending(c) > 0)
    uv_run(c->loop, UV_RUN_ONCE);
  return FLURRY_OK;
}

static void cancel(flurry_client *c, flurry_request *req) {
  flurry__response_set_error(req->resp, FLURRY_ECANCELLED, "cancelled before completion");
  complete(c, req);
}

static void cancel_queued(flurry_client *c) {
  while (c->queue_head) {
    flurry_request *req = c->queue_head;
    list_remove(&c->queue_head, &c->queue_tail, req);
    c->queued--;
    cancel(c, req);
  }
}

/* Completes every queued, waiting and running request with
 * FLURRY_ECANCELLED. */
static void cancel_all(flurry_client *c) {
  cancel_queued(c);
  while (c->heap_len)
    cancel(c, heap_pop(c));
  while (c->run_head) {
    flurry_request *req = c->run_head;
    list_remove(&c->run_head, &c->run_tail, req);
    curl_multi_remove_handle(c->multi, req->easy);
    curl_easy_cleanup(req->easy);
    req->easy = NULL;
    c->running--;
    cancel(c, req);
  }
  if (c->queue_head == NULL && c->heap_len == 0)
    uv_timer_stop(&c->sched_timer); /* nothing to wake: let the loop end */
}

FLURRY_API int flurry_client_cancel_all(flurry_client *c) {
  if (c == NULL || c->in_callback)
    return FLURRY_EINVALID;
  cancel_all(c);
  return FLURRY_OK;
}

FLURRY_API int flurry_client_cancel_queued(flurry_client *c) {
  if (c == NULL || c->in_callback)
    return FLURRY_EINVALID;
  cancel_queued(c);
  return FLURRY_OK;
}

static void client_release(flurry_client *c) {
  for (size_t i = 0; i < c->easy_pool_len; i++)
    curl_easy_cleanup(c->easy_pool[i]);
  fl_free(c->easy_pool);
  fl_free(c->heap);
  curl_slist_free_all(c->headers);
  fl_free(c->base_url);
  fl_free(c->ca_file);
  fl_free(c);
}

FLURRY_API void flurry_client_free(flurry_client *c) {
  if (c == NULL || c->in_callback)
    return;
  c->closing = 1;
  cancel_all(c);
  curl_multi_cleanup(c->multi);
  c->multi = NULL;
  flurry__glue_close_socks(c);
  uv_close((uv_handle_t *)&c->curl_timer, flurry__handle_closed);
  uv_close((uv_handle_t *)&c->sched_timer, flurry__handle_closed);
  if (c->own_loop) {
    while (c->open_handles > 0)
      uv_run(c->loop, UV_RUN_ONCE);
    uv_loop_close(c->loop);
    fl_free(c->loop);
    client_release(c);
    return;
  }
  /* The caller's loop: the handles close on its next run, and the last
   * close callback releases the memory they live in. */
}

void flurry__maybe_release(flurry_client *c) {
  if (c->closing && !c->own_loop && c->open_handles == 0)
    client_release(c);
}
