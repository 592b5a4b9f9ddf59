/* client.c: the client's life (new, options, free), submit, run. The
 * scheduler is in sched.c, one attempt on the wire in transfer.c, what is
 * known of each host in host.c. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache_int.h"
#include "cookie_int.h"
#include "glue_int.h"
#include "host_int.h"
#include "opt_int.h"
#include "request_int.h"
#include "response_int.h"
#include "sched_int.h"
#include "secret_int.h"
#include "status_int.h"
#include "transfer_int.h"
#include "window_int.h"

/* ---- client life ---- */

static void maybe_release(flurry_client *c);

/* The glue's up-calls (glue_int.h). A WebSocket's private client (ws.c)
 * takes its transfers through done_hook instead of transfer.c. */
static void glue_done(flurry_client *c, CURL *easy, CURLcode result) {
  if (c->done_hook)
    c->done_hook(c, easy, result);
  else
    flurry__transfer_done(c, easy, result);
}

static int glue_sock_failed(flurry_client *c, CURL *easy) {
  if (c->done_hook) { /* from inside libcurl: no curl call allowed */
    c->done_hook(c, easy, CURLE_OUT_OF_MEMORY);
    return -1;
  }
  flurry__transfer_sock_failed(c, easy);
  return 0;
}

static const flurry__glue_cb glue_cb = {glue_done, glue_sock_failed, flurry__transfer_flush,
                                        maybe_release};

/* The built-in default lines, in the list every request sends: no
 * "Expect: 100-continue", flurry's User-Agent and the encodings libcurl
 * decodes (what CURLOPT_ACCEPT_ENCODING "" would send). As list lines
 * libcurl copies them once into the request; set as options it formats
 * each twice, a byte at a time: 6.7k instructions per request, 6% of W1.
 * A user's line of the same name replaces them (merge_headers,
 * flurry_client_add_header). */
static struct curl_slist *default_headers(int *count) {
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  char ae[64] = "Accept-Encoding: deflate, gzip";
  if (v->features & CURL_VERSION_BROTLI)
    strncat(ae, ", br", sizeof ae - strlen(ae) - 1);
  if (v->features & CURL_VERSION_ZSTD)
    strncat(ae, ", zstd", sizeof ae - strlen(ae) - 1);
  const char *lines[] = {"Expect:", "User-Agent: flurry/" FLURRY_VERSION,
                         (v->features & CURL_VERSION_LIBZ) ? ae : NULL};
  struct curl_slist *l = NULL;
  *count = 0;
  for (size_t i = 0; i < sizeof lines / sizeof *lines && lines[i]; i++) {
    struct curl_slist *n = curl_slist_append(l, lines[i]);
    if (n == NULL) {
      curl_slist_free_all(l);
      return NULL;
    }
    l = n;
    ++*count;
  }
  return l;
}

/* Whether a proxy variable that libcurl reads for http(s) is set
 * (url.c:detect_proxy). Without one the client's transfers are told "no
 * proxy" once, which spares libcurl five getenv calls per transfer. */
static int proxy_env_set(void) {
  static const char *const vars[] = {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy",
                                     "ALL_PROXY"};
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
    const char *v = getenv(vars[i]);
    if (v != NULL && *v != '\0')
      return 1;
  }
  return 0;
}

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
  c->headers = default_headers(&c->builtin_headers);
  c->proxy_env = proxy_env_set();
  if (c->multi == NULL || c->headers == NULL)
    goto fail;
  rc = FLURRY_EINTERNAL;
  if (flurry__glue_init(c, &glue_cb) != FLURRY_OK)
    goto fail;
  if (uv_timer_init(c->loop, &c->sched_timer) != 0)
    goto fail_timer;
  c->sched_timer.data = c;
  c->open_handles++;
  flurry__opts_init(&c->opts);
  c->budget = (double)c->opts.v[FLURRY_OPT_RETRY_BUDGET];
  flurry__bucket_init(&c->rate, 0, 1, fl_now_ms());
  fl_list_init(&c->queue);
  fl_list_init(&c->run);
  c->backoff = (fl_heap)FL_HEAP_INIT;
  c->host_wake = (fl_heap)FL_HEAP_INIT;
  flurry__hosts_init(c);
  c->rng = uv_hrtime() | 1;
  c->created_ms = fl_now_ms();
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
  if (opt == FLURRY_OPT_COOKIES) /* cookie.c keeps it */
    return flurry__cookies_opt(c, value);
  c->opts.v[opt] = value;
  double now = fl_now_ms();
  switch (opt) {
  case FLURRY_OPT_MAX_PER_HOST:
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)value);
    break;
  case FLURRY_OPT_RATE_MILLI:
  case FLURRY_OPT_RATE_BURST:
    flurry__bucket_set(&c->rate, (double)c->opts.v[FLURRY_OPT_RATE_MILLI] / 1000.0,
                       (double)c->opts.v[FLURRY_OPT_RATE_BURST], now);
    break;
  case FLURRY_OPT_HOST_RATE_MILLI:
  case FLURRY_OPT_HOST_BURST:
  case FLURRY_OPT_RATE_AUTO:
    flurry__hosts_rate_changed(c);
    break;
  case FLURRY_OPT_RETRY_BUDGET:
    c->budget = (double)value;
    break;
  default:
    break;
  }
  flurry__kick(c); /* limits may have opened: start what now may */
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
  if (query && *query && curl_url_set(u, CURLUPART_QUERY, query, CURLU_APPENDQUERY) != CURLUE_OK)
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

/* A user's default line replaces the built-in line of its name. */
static void drop_builtin(flurry_client *c, const char *name) {
  size_t n = strlen(name);
  struct curl_slist **p = &c->headers;
  for (int i = 0; i < c->builtin_headers; i++, p = &(*p)->next) {
    const char *d = (*p)->data;
    if (fl_strncaseeq(d, name, n) && (d[n] == ':' || d[n] == ';')) {
      struct curl_slist *gone = *p;
      *p = gone->next;
      gone->next = NULL;
      curl_slist_free_all(gone);
      c->builtin_headers--;
      return;
    }
  }
}

const struct curl_slist *flurry__user_headers(const flurry_client *c) {
  const struct curl_slist *l = c->headers;
  for (int i = 0; i < c->builtin_headers && l; i++)
    l = l->next;
  return l;
}

FLURRY_API int flurry_client_add_header(flurry_client *c, const char *name, const char *value) {
  if (c == NULL || !flurry__header_valid(name, value))
    return FLURRY_EINVALID;
  drop_builtin(c, name);
  return flurry__slist_add(&c->headers, name, value);
}

FLURRY_API size_t flurry_client_pending(const flurry_client *c) {
  return c->queued + c->running + c->parked + c->backoff.len;
}

FLURRY_API void flurry_client_stats_get(const flurry_client *c, flurry_client_stats *out) {
  out->queued = c->queued;
  out->running = c->running;
  out->waiting = c->parked + c->backoff.len;
  out->retries = c->retries;
  double global = c->rate.per_ms * 1000;
  double host = flurry__hosts_min_rate(c);
  out->rate = global > 0 && (host == 0 || global < host) ? global : host;
  out->retry_budget = c->opts.v[FLURRY_OPT_RETRY_BUDGET] ? c->budget : -1;
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
  if (req->headers == NULL && !req->no_secrets)
    return FLURRY_OK; /* send the client's list as it is */
  struct curl_slist *out = NULL;
  for (struct curl_slist *h = req->headers; h; h = h->next) {
    if (req->no_secrets && flurry__secret_line(c, h->data))
      continue; /* a page at another origin */
    struct curl_slist *n = curl_slist_append(out, h->data);
    if (n == NULL)
      goto nomem;
    out = n;
  }
  for (struct curl_slist *d = c->headers; d; d = d->next) {
    int overridden = 0;
    for (struct curl_slist *h = req->headers; h && !overridden; h = h->next)
      overridden = same_header(d->data, h->data);
    if (overridden || (req->no_secrets && flurry__secret_line(c, d->data)))
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


FLURRY_API int flurry_client_submit(flurry_client *c, flurry_request *req, flurry_done_cb cb,
                                    void *user_data) {
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
  req->resp = flurry__response_new(max_body);
  if (req->resp == NULL || merge_headers(c, req) != FLURRY_OK) {
    fl_free(req->resolved_url);
    req->resolved_url = NULL;
    flurry_response_free(req->resp);
    req->resp = NULL;
    return FLURRY_ENOMEM;
  }
  req->host = flurry__host_acquire(c, flurry__target_url(req));
  if (req->host == NULL) {
    fl_free(req->resolved_url);
    req->resolved_url = NULL;
    curl_slist_free_all(req->send_headers);
    req->send_headers = NULL;
    flurry_response_free(req->resp);
    req->resp = NULL;
    return FLURRY_ENOMEM;
  }
  req->client = c;
  req->id = ++c->last_id;
  req->cb = cb;
  req->user_data = user_data;
  req->submit_ms = fl_now_ms();
  req->backoff.index = SIZE_MAX;
  flurry__req_set_state(c, req, REQ_QUEUED, NULL, 0);
  flurry__kick(c);
  return FLURRY_OK;
}

/* ---- running, cancelling, freeing ---- */

FLURRY_API int flurry_client_run(flurry_client *c) {
  if (c == NULL || c->in_callback)
    return FLURRY_EINVALID;
  c->in_run = 1;
  while (flurry_client_pending(c) > 0) {
    if (uv_run(c->loop, UV_RUN_ONCE) == 0 && flurry_client_pending(c) > 0) {
      c->in_run = 0;
      return FLURRY_EINTERNAL; /* nothing left to wake them: never spin */
    }
  }
  c->in_run = 0;
  return FLURRY_OK;
}


/* A completion callback may cancel; a stream's record callback (inside
 * libcurl's write callback) may not. */
static int may_cancel(const flurry_client *c) {
  return c != NULL && c->in_callback == c->in_complete && !c->closing;
}

FLURRY_API int flurry_client_cancel_all(flurry_client *c) {
  if (!may_cancel(c))
    return FLURRY_EINVALID;
  flurry__cancel_all(c, 0);
  return FLURRY_OK;
}

FLURRY_API int flurry_client_cancel_queued(flurry_client *c) {
  if (!may_cancel(c))
    return FLURRY_EINVALID;
  flurry__cancel_all(c, 1);
  return FLURRY_OK;
}

static void client_release(flurry_client *c) {
  flurry__easy_pool_free(c);
  flurry__cookies_free(c); /* after the last easy handle that used the share */
  flurry__status_free(c);
  flurry__windows_free(c);
  flurry__hosts_free(c);
  fl_free(c->fdmap);
  fl_heap_free(&c->backoff);
  curl_slist_free_all(c->headers);
  flurry__secrets_free(c);
  fl_free(c->base_url);
  fl_free(c->ca_file);
  fl_free(c);
}

static void timer_closed(uv_handle_t *h) {
  flurry_client *c = h->data;
  c->open_handles--;
  maybe_release(c);
}

FLURRY_API void flurry_client_free(flurry_client *c) {
  if (c == NULL || c->in_callback)
    return;
  c->closing = 1; /* callbacks of the cancelled cannot submit more */
  flurry__cancel_all(c, 0);
  flurry__cache_close(c); /* writes what is queued */
  curl_multi_cleanup(c->multi);
  c->multi = NULL;
  flurry__glue_close(c);
  uv_close((uv_handle_t *)&c->sched_timer, timer_closed);
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

/* Frees a client being freed on the caller's loop once its handles closed. */
static void maybe_release(flurry_client *c) {
  if (c->closing && !c->own_loop && c->open_handles == 0)
    client_release(c);
}
