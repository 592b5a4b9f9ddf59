/* cache.c: the client's HTTP cache (flurry/cache.h): looking a request up
 * before it goes out (sched.c calls flurry__cache_intercept), the
 * conditional headers of a revalidation (transfer.c set_headers), and what
 * a completed request leaves in the cache (sched.c flurry__complete).
 * Identical cacheable requests in flight at once collapse onto the first
 * (the leader); the others wait in the run list with no transfer and get
 * its answer. The SQLite file is cache_store.c's; writes are queued and
 * written by a 0 ms timer: one transaction per loop turn. */
#include <openssl/sha.h>
#include <string.h>
#include <time.h>

#include "cache_int.h"
#include "glue_int.h"
#include "opt_int.h"
#include "redirect_int.h"
#include "request_int.h"
#include "response_int.h"
#include "sched_int.h"
#include "secret_int.h"
#include "transfer_int.h"

struct flurry__cache {
  flurry_client *c;
  flurry__store *store;
  uv_timer_t flush; /* a 0 ms timer: the queued writes, once per loop turn */
  fl_map inflight;  /* leaders (flurry__cache_req *) by collapse key */
};

enum { ROLE_ORIGIN, ROLE_LEADER, ROLE_FOLLOWER, ROLE_ANSWERED };

struct flurry__cache_req {
  flurry_request *req;
  int role;
  int status;                           /* flurry_cache_status, when known */
  unsigned char key[FLURRY_CACHE_KEY];  /* method, URL, credentials */
  unsigned char ckey[FLURRY_CACHE_KEY]; /* key and every request header */
  flurry__cache_entry *stored;          /* being revalidated, or NULL */
  struct curl_slist *sent;              /* the headers with the conditionals */
  fl_list followers;                    /* ROLE_LEADER: collapsed on it */
  fl_list link;                         /* ROLE_FOLLOWER: in its leader's list */
  double request_time;                  /* Unix seconds */
  int share;                            /* its answer may go to its followers */
};

static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the client's cache ---- */

static uint64_t lead_hash(const void *elem, void *ud) {
  (void)ud;
  const flurry__cache_req *cr = *(flurry__cache_req *const *)elem;
  uint64_t h;
  memcpy(&h, cr->ckey, sizeof h);
  return h;
}

static int lead_eq(const void *elem, const void *key, void *ud) {
  (void)ud;
  return memcmp((*(flurry__cache_req *const *)elem)->ckey, key, FLURRY_CACHE_KEY) == 0;
}

static const fl_map_type lead_type = {sizeof(flurry__cache_req *), lead_hash, lead_eq};

static uint64_t ckey_hash(const unsigned char *k) {
  uint64_t h;
  memcpy(&h, k, sizeof h);
  return h;
}

static void on_flush(uv_timer_t *t) {
  flurry__cache *k = t->data;
  flurry__store_flush(k->store, k->c->opts.v[FLURRY_OPT_CACHE_MAX_BYTES]);
}

/* A write was queued: written on the next loop turn with the others. */
static void flush_soon(flurry__cache *k) {
  if (!uv_is_active((uv_handle_t *)&k->flush))
    uv_timer_start(&k->flush, on_flush, 0, 0);
}

FLURRY_API int flurry_client_set_cache(flurry_client *c, const char *path, char *errmsg,
                                       size_t errlen) {
  char scratch[256];
  if (errmsg == NULL || errlen == 0) {
    errmsg = scratch;
    errlen = sizeof scratch;
  }
  errmsg[0] = '\0';
  if (c == NULL || path == NULL || c->cache != NULL || c->closing) {
    snprintf(errmsg, errlen, "%s", "no path, or the client has a cache already");
    return FLURRY_EINVALID;
  }
  flurry__cache *k = fl_calloc(1, sizeof *k);
  if (k == NULL)
    return FLURRY_ENOMEM;
  int rc = flurry__store_open(&k->store, path, errmsg, errlen);
  if (rc != FLURRY_OK) {
    fl_free(k);
    return rc;
  }
  if (uv_timer_init(c->loop, &k->flush) != 0) {
    flurry__store_close(k->store);
    fl_free(k);
    return FLURRY_EINTERNAL;
  }
  k->flush.data = k;
  k->c = c;
  c->open_handles++;
  fl_map_init(&k->inflight, &lead_type, NULL, SIZE_MAX);
  c->cache = k;
  return FLURRY_OK;
}

static void flush_closed(uv_handle_t *h) {
  flurry__cache *k = h->data;
  flurry_client *c = k->c;
  fl_free(k);
  c->open_handles--;
  c->glue->closed(c);
}

void flurry__cache_close(flurry_client *c) {
  flurry__cache *k = c->cache;
  if (k == NULL)
    return;
  c->cache = NULL;
  flurry__store_close(k->store); /* writes what is queued */
  fl_map_free(&k->inflight);
  uv_close((uv_handle_t *)&k->flush, flush_closed);
}

FLURRY_API int flurry_response_cache(const flurry_response *resp) {
  return resp ? resp->cache : FLURRY_CACHE_NONE;
}

FLURRY_API const char *flurry_cache_status_name(int status) {
  static const char *const names[] = {"", "hit", "revalidated", "miss", "stale", "bypass"};
  return status > 0 && status < (int)(sizeof names / sizeof names[0]) ? names[status] : "";
}

/* ---- keys ---- */

static int lower_name(fl_buf *b, const char *name, size_t n) {
  int rc = FL_OK;
  for (size_t i = 0; i < n && rc == FL_OK; i++)
    rc = fl_buf_putc(b, (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i]);
  return rc;
}

/* The value of header `name` in a curl list ("Name: v" or "Name;"),
 * several lines joined by ", "; appends nothing when absent. */
static int slist_value(fl_buf *b, const struct curl_slist *l, const char *name, size_t nn) {
  int rc = FL_OK, first = 1;
  for (; l && rc == FL_OK; l = l->next) {
    size_t n = strcspn(l->data, ":;");
    if (n != nn || !fl_strncaseeq(l->data, name, n) || l->data[n] == ';')
      continue;
    const char *v = l->data + n + 1;
    while (*v == ' ' || *v == '\t')
      v++;
    rc = first ? FL_OK : fl_buf_puts(b, ", ");
    if (rc == FL_OK)
      rc = fl_buf_puts(b, v);
    first = 0;
  }
  return rc;
}

static void sha256(const fl_buf *b, unsigned char out[FLURRY_CACHE_KEY]) {
  SHA256((const unsigned char *)(b->data ? b->data : ""), b->len, out);
}

/* key: method, URL and every credential header (name and value); ckey:
 * key and every header line as sent. */
static int make_keys(flurry_client *c, flurry_request *req, flurry__cache_req *cr) {
  fl_buf b = FL_BUF_INIT(0);
  int rc = fl_buf_printf(&b, "flurry-cache-1\n%s\n%s\n", req->method, flurry__target_url(req));
  const struct curl_slist *l;
  for (l = flurry__hop_headers(c, req); l && rc == FL_OK; l = l->next) {
    size_t n = strcspn(l->data, ":;");
    if (!flurry__header_is_secret(c, l->data, n))
      continue;
    rc = lower_name(&b, l->data, n);
    if (rc == FL_OK)
      rc = fl_buf_printf(&b, "%s\n", l->data + n);
  }
  if (rc == FL_OK)
    sha256(&b, cr->key);
  fl_buf_reset(&b);
  rc = rc == FL_OK ? fl_buf_append(&b, cr->key, FLURRY_CACHE_KEY) : rc;
  for (l = flurry__hop_headers(c, req); l && rc == FL_OK; l = l->next)
    rc = fl_buf_printf(&b, "%s\n", l->data);
  if (rc == FL_OK)
    sha256(&b, cr->ckey);
  fl_buf_free(&b);
  return rc == FL_OK ? FLURRY_OK : FLURRY_ENOMEM;
}

/* SHA-256 of the request's values of the comma-separated header names. */
static int vary_hash(const struct curl_slist *l, const char *names, unsigned char out[32]) {
  fl_buf b = FL_BUF_INIT(0);
  int rc = fl_buf_putc(&b, '\n');
  for (const char *p = names; *p && rc == FL_OK;) {
    size_t n = strcspn(p, ",");
    rc = fl_buf_append(&b, p, n);
    if (rc == FL_OK)
      rc = fl_buf_putc(&b, ':');
    if (rc == FL_OK)
      rc = slist_value(&b, l, p, n);
    if (rc == FL_OK)
      rc = fl_buf_putc(&b, '\n');
    p += n + (p[n] == ',');
  }
  if (rc == FL_OK)
    sha256(&b, out);
  fl_buf_free(&b);
  return rc == FL_OK ? FLURRY_OK : FLURRY_ENOMEM;
}

/* ---- a response's headers ---- */

/* Walks "name\0value\0" pairs: 1 and the next pair, or 0 at the end. */
static int hdr_next(const fl_buf *b, size_t *pos, const char **name, const char **value) {
  if (*pos >= b->len)
    return 0;
  *name = b->data + *pos;
  *value = *name + strlen(*name) + 1;
  *pos = (size_t)(*value - b->data) + strlen(*value) + 1;
  return 1;
}

static int hdr_add(fl_buf *b, size_t *n, const char *name, const char *value) {
  size_t nl = strlen(name), vl = strlen(value);
  int rc = fl_buf_reserve(b, nl + vl + 3);
  if (rc != FL_OK)
    return rc;
  memcpy(b->data + b->len, name, nl + 1);
  memcpy(b->data + b->len + nl + 1, value, vl + 1);
  b->len += nl + vl + 2;
  b->data[b->len] = '\0';
  (*n)++;
  return FL_OK;
}

static int named(const char *name, const char *want) {
  size_t n = strlen(want);
  return strlen(name) == n && fl_strncaseeq(name, want, n);
}

/* Not stored: credentials, hop-by-hop fields, Age (computed when served). */
static int not_stored(const flurry_client *c, const char *name) {
  return flurry_header_is_secret(c, name, FLURRY_HEADER_RESPONSE) || named(name, "age") ||
         named(name, "connection") || named(name, "keep-alive") ||
         named(name, "transfer-encoding") || named(name, "proxy-connection");
}

/* What the headers say about freshness and variants. */
typedef struct resp_info {
  flurry__fresh_in in;
  int has_validator;
  int vary_star;
  fl_buf vary; /* lower-case names, comma separated */
} resp_info;

static void add_vary(resp_info *ri, const char *v) {
  for (const char *p = v; *p;) {
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    size_t n = strcspn(p, ", \t");
    if (n == 1 && *p == '*')
      ri->vary_star = 1;
    else if (n && (ri->vary.len == 0 || fl_buf_putc(&ri->vary, ',') == FL_OK))
      lower_name(&ri->vary, p, n);
    p += n;
  }
}

static void read_info(const fl_buf *hdrs, int status, double req_t, double resp_t, resp_info *ri) {
  memset(&ri->in, 0, sizeof ri->in);
  flurry__cc_init(&ri->in.cc);
  ri->in.status = status;
  ri->in.date = ri->in.expires = ri->in.last_modified = ri->in.age = -1;
  ri->in.request_time = req_t;
  ri->in.response_time = resp_t;
  ri->has_validator = ri->vary_star = 0;
  ri->vary = (fl_buf)FL_BUF_INIT(4096);
  size_t pos = 0;
  const char *n, *v;
  while (hdr_next(hdrs, &pos, &n, &v)) {
    if (named(n, "cache-control")) {
      flurry__cc_parse(&ri->in.cc, v, strlen(v));
    } else if (named(n, "date")) {
      ri->in.date = flurry__http_date(v, strlen(v));
    } else if (named(n, "expires")) {
      int64_t t = flurry__http_date(v, strlen(v));
      ri->in.expires = t >= 0 ? t : 0; /* invalid: already expired */
    } else if (named(n, "last-modified")) {
      ri->in.last_modified = flurry__http_date(v, strlen(v));
      ri->has_validator = 1;
    } else if (named(n, "age")) {
      int64_t a;
      if (fl_parse_i64(v, strlen(v), 0, INT64_MAX, &a) == 0)
        ri->in.age = a;
    } else if (named(n, "etag")) {
      ri->has_validator = 1;
    } else if (named(n, "vary")) {
      add_vary(ri, v);
    }
  }
}

static void info_meta(const resp_info *ri, int64_t ttl_ms, flurry__cache_meta *m) {
  m->response_time = ri->in.response_time;
  m->initial_age = flurry__initial_age(&ri->in);
  m->lifetime = flurry__fresh_lifetime(&ri->in);
  m->swr = (double)ri->in.cc.swr;
  m->sie = (double)ri->in.cc.sie;
  m->no_cache = ri->in.cc.no_cache;
  m->must_revalidate = ri->in.cc.must_revalidate;
  if (ttl_ms > 0) { /* the user's lifetime, whatever the server said */
    m->lifetime = (double)ttl_ms / 1000.0;
    m->no_cache = 0;
  }
}

/* ---- answering from an entry ---- */

/* resp becomes the stored response, served at `now`. */
static int fill_from(flurry_client *c, flurry_request *req, flurry_response *resp,
                     const flurry__cache_entry *e, double now) {
  (void)c;
  flurry__response_reset(resp);
  resp->status = e->status;
  resp->reason = fl_strdup(e->reason);
  fl_free(resp->effective_url);
  resp->effective_url = fl_strdup(flurry__target_url(req));
  int rc = resp->reason && resp->effective_url ? FL_OK : FL_ENOMEM;
  size_t pos = 0;
  const char *n, *v;
  while (rc == FL_OK && hdr_next(&e->hdrs, &pos, &n, &v))
    rc = hdr_add(&resp->hdrs, &resp->nhdrs, n, v);
  char age[32];
  snprintf(age, sizeof age, "%.0f", flurry__cache_age(&e->meta, now));
  if (rc == FL_OK)
    rc = hdr_add(&resp->hdrs, &resp->nhdrs, "Age", age);
  if (rc == FL_OK && e->body.len)
    rc = fl_buf_append(&resp->body, e->body.data, e->body.len);
  if (rc != FL_OK)
    return flurry__response_set_error(resp, rc == FL_ELIMIT ? FLURRY_ETOO_LARGE : FLURRY_ENOMEM,
                                      "cannot copy the cached response");
  if (e->status >= 400)
    flurry__response_set_error(resp, FLURRY_EHTTP, "HTTP %d%s%s", e->status, *e->reason ? " " : "",
                               e->reason);
  return FLURRY_OK;
}

/* A copy of a leader's answer for a request collapsed on it. */
static int copy_response(flurry_response *dst, const flurry_response *src) {
  flurry__response_reset(dst);
  dst->status = src->status;
  dst->reason = fl_strdup(src->reason ? src->reason : "");
  fl_free(dst->effective_url);
  dst->effective_url = fl_strdup(src->effective_url ? src->effective_url : "");
  int rc = dst->reason && dst->effective_url ? FL_OK : FL_ENOMEM;
  if (rc == FL_OK && src->hdrs.len)
    rc = fl_buf_append(&dst->hdrs, src->hdrs.data, src->hdrs.len);
  dst->nhdrs = src->nhdrs;
  if (rc == FL_OK && src->body.len)
    rc = fl_buf_append(&dst->body, src->body.data, src->body.len);
  if (rc != FL_OK)
    return flurry__response_set_error(dst, rc == FL_ELIMIT ? FLURRY_ETOO_LARGE : FLURRY_ENOMEM,
                                      "cannot copy the shared response");
  if (src->err != FLURRY_OK)
    flurry__response_set_error(dst, src->err, "%s", src->errmsg ? src->errmsg : "");
  return FLURRY_OK;
}

/* ---- before the origin ---- */

static int cacheable_request(flurry_client *c, const flurry_request *req) {
  /* Cookies from the client's jar (cookie.c) are added by libcurl after the
   * request is keyed: its answer may be anyone's. */
  if (c->cookies != NULL)
    return 0;
  if ((strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) || req->has_body ||
      req->stream || flurry__opt(req, &c->opts, FLURRY_OPT_CACHE_MODE) == FLURRY_CACHE_SKIP)
    return 0;
  /* The caller's own conditional or partial request: its answer is its own. */
  static const char *const own[] = {"if-none-match",
                                    "if-modified-since",
                                    "if-match",
                                    "if-unmodified-since",
                                    "if-range",
                                    "range",
                                    NULL};
  for (const struct curl_slist *l = flurry__hop_headers(c, req); l; l = l->next) {
    size_t n = strcspn(l->data, ":;");
    for (int i = 0; own[i]; i++)
      if (strlen(own[i]) == n && fl_strncaseeq(l->data, own[i], n))
        return 0;
  }
  return 1;
}

typedef struct match_ctx {
  const struct curl_slist *sent;
  int nomem;
} match_ctx;

static int vary_match(const flurry__cache_entry *e, void *ud) {
  match_ctx *m = ud;
  unsigned char h[FLURRY_CACHE_KEY];
  if (vary_hash(m->sent, e->vary_names, h) != FLURRY_OK) {
    m->nomem = 1;
    return 0;
  }
  return memcmp(h, e->vary, FLURRY_CACHE_KEY) == 0;
}

/* Answers req from its stored entry (already in its response). The
 * entry's use is written down only when something evicts by it
 * (FLURRY_OPT_CACHE_MAX_BYTES): an update rewrites the entry's page. */
static void answer(flurry_client *c, flurry_request *req, int status) {
  flurry__cache_req *cr = req->cache;
  if (c->opts.v[FLURRY_OPT_CACHE_MAX_BYTES] > 0) {
    flurry__store_touch(c->cache->store, cr->key, cr->stored->vary);
    flush_soon(c->cache);
  }
  cr->role = ROLE_ANSWERED;
  cr->status = status;
  flurry__complete(c, req);
}

static void bg_done(flurry_request *req, flurry_response *resp, void *ud) {
  (void)req, (void)ud;
  flurry_response_free(resp);
}

/* stale-while-revalidate: the same request again, in the background,
 * revalidating; its answer only refreshes the cache. */
static void revalidate_later(flurry_client *c, const flurry_request *req) {
  flurry_request *bg = NULL;
  if (flurry_request_new(&bg, req->method, flurry__target_url(req)) != FLURRY_OK)
    return;
  int rc = FLURRY_OK;
  for (const struct curl_slist *l = req->headers; l && rc == FLURRY_OK; l = l->next) {
    struct curl_slist *n = curl_slist_append(bg->headers, l->data);
    rc = n ? FLURRY_OK : FLURRY_ENOMEM;
    if (n)
      bg->headers = n;
  }
  memcpy(bg->opt, req->opt, sizeof bg->opt);
  bg->opt_set = req->opt_set;
  bg->opt[FLURRY_OPT_CACHE_MODE] = FLURRY_CACHE_REFRESH;
  bg->opt_set |= (uint64_t)1 << FLURRY_OPT_CACHE_MODE;
  if (rc != FLURRY_OK || flurry_client_submit(c, bg, bg_done, NULL) != FLURRY_OK)
    flurry_request_free(bg);
}

static void offline_miss(flurry_client *c, flurry_request *req, int status) {
  flurry__response_set_error(req->resp, FLURRY_ECONNECT,
                             "offline: the cache has no answer for this request");
  req->resp->detail = FLURRY_DETAIL_CACHE_MISS;
  fl_free(req->resp->effective_url);
  req->resp->effective_url = fl_strdup(flurry__target_url(req));
  req->cache->role = ROLE_ANSWERED;
  req->cache->status = status;
  flurry__complete(c, req);
}

/* Waits on an identical request in flight (1), or becomes the one others
 * wait on (0). */
static int collapse(flurry_client *c, flurry_request *req) {
  flurry__cache *k = c->cache;
  flurry__cache_req *cr = req->cache;
  flurry__cache_req **lead = fl_map_find(&k->inflight, ckey_hash(cr->ckey), cr->ckey);
  if (lead) {
    cr->role = ROLE_FOLLOWER;
    fl_list_push_back(&(*lead)->followers, &cr->link);
    flurry__req_set_state(c, req, REQ_RUNNING, NULL, 0); /* no transfer: its leader's */
    return 1;
  }
  if (fl_map_insert(&k->inflight, ckey_hash(cr->ckey), &cr) == FL_OK)
    cr->role = ROLE_LEADER;
  return 0;
}

/* The stored entry for req (kept in cr->stored), if any and usable. */
static void look_up(flurry_client *c, flurry_request *req, flurry__cache_req *cr) {
  match_ctx m = {flurry__hop_headers(c, req), 0};
  flurry__cache_entry *e = NULL;
  if (flurry__store_get(c->cache->store, cr->key, vary_match, &m, &e) != FLURRY_OK)
    return;                                     /* out of memory or a failing file: a miss */
  if (e && e->body.len > req->resp->body.max) { /* over this request's size limit */
    flurry__cache_entry_free(e);
    e = NULL;
  }
  cr->stored = e;
}

int flurry__cache_intercept(flurry_client *c, flurry_request *req) {
  if (c->cache == NULL || req->cache != NULL)
    return 0;
  flurry__cache_req *cr = fl_calloc(1, sizeof *cr);
  if (cr == NULL)
    return 0; /* out of memory: the origin, as if no cache */
  req->cache = cr;
  cr->req = req;
  cr->status = FLURRY_CACHE_BYPASS;
  fl_list_init(&cr->followers);
  int64_t mode = flurry__opt(req, &c->opts, FLURRY_OPT_CACHE_MODE);
  if (!cacheable_request(c, req) || make_keys(c, req, cr) != FLURRY_OK) {
    if (mode != FLURRY_CACHE_OFFLINE)
      return 0;
    offline_miss(c, req, FLURRY_CACHE_BYPASS); /* offline: nothing is sent */
    return 1;
  }
  cr->status = FLURRY_CACHE_MISS;
  look_up(c, req, cr);
  double now = wall_now();
  if (cr->stored) {
    flurry__cache_verdict v = flurry__cache_judge(&cr->stored->meta, now);
    int fresh = v == FLURRY__CACHE_FRESH;
    if (mode == FLURRY_CACHE_OFFLINE ||
        (mode == FLURRY_CACHE_USE && v != FLURRY__CACHE_REVALIDATE)) {
      if (fill_from(c, req, req->resp, cr->stored, now) == FLURRY_OK) {
        if (mode == FLURRY_CACHE_USE && v == FLURRY__CACHE_STALE_SWR)
          revalidate_later(c, req);
        answer(c, req, fresh ? FLURRY_CACHE_HIT : FLURRY_CACHE_STALE);
        return 1;
      }
    }
  } else if (mode == FLURRY_CACHE_OFFLINE) {
    offline_miss(c, req, FLURRY_CACHE_MISS);
    return 1;
  }
  if (mode == FLURRY_CACHE_OFFLINE) { /* the stored copy could not be served */
    offline_miss(c, req, FLURRY_CACHE_MISS);
    return 1;
  }
  cr->request_time = now;
  return collapse(c, req);
}

int flurry__cache_headers(flurry_request *req, const struct curl_slist *in,
                          const struct curl_slist **out) {
  flurry__cache_req *cr = req->cache;
  *out = in;
  if (cr == NULL || cr->stored == NULL || req->hop_url != NULL)
    return FLURRY_OK; /* a redirect's next hop is another resource */
  curl_slist_free_all(cr->sent);
  cr->sent = NULL;
  const char *etag = NULL, *lm = NULL, *n, *v;
  size_t pos = 0;
  while (hdr_next(&cr->stored->hdrs, &pos, &n, &v)) {
    if (named(n, "etag"))
      etag = v;
    else if (named(n, "last-modified"))
      lm = v;
  }
  if (etag == NULL && lm == NULL)
    return FLURRY_OK;
  for (; in; in = in->next) {
    struct curl_slist *l = curl_slist_append(cr->sent, in->data);
    if (l == NULL)
      return FLURRY_ENOMEM;
    cr->sent = l;
  }
  if ((etag && flurry__slist_add(&cr->sent, "If-None-Match", etag) != FLURRY_OK) ||
      (lm && flurry__slist_add(&cr->sent, "If-Modified-Since", lm) != FLURRY_OK))
    return FLURRY_ENOMEM;
  *out = cr->sent;
  return FLURRY_OK;
}

/* ---- after the origin ---- */

/* The headers of a 304 over the stored ones (RFC 9111 4.3.4). */
static int merge_304(flurry_client *c, const flurry_response *resp, const flurry__cache_entry *e,
                     fl_buf *out, size_t *nout) {
  size_t pos = 0, n = 0;
  const char *hn, *hv;
  int rc = FL_OK;
  while (rc == FL_OK && hdr_next(&resp->hdrs, &pos, &hn, &hv))
    if (!not_stored(c, hn) && !named(hn, "content-length"))
      rc = hdr_add(out, &n, hn, hv);
  pos = 0;
  while (rc == FL_OK && hdr_next(&e->hdrs, &pos, &hn, &hv)) {
    size_t p2 = 0;
    const char *n2, *v2;
    int updated = 0;
    while (!updated && hdr_next(&resp->hdrs, &p2, &n2, &v2))
      updated = named(hn, n2) && !named(hn, "content-length");
    if (!updated)
      rc = hdr_add(out, &n, hn, hv);
  }
  *nout = n;
  return rc;
}

/* A new entry from a response; NULL when it may not or need not be kept. */
static flurry__cache_entry *entry_from(flurry_client *c, flurry_request *req, int status,
                                       const char *reason, const fl_buf *hdrs, const fl_buf *body) {
  double now = wall_now();
  resp_info ri;
  read_info(hdrs, status, req->cache->request_time, now, &ri);
  flurry__cache_entry *e = NULL;
  int64_t ttl = flurry__opt(req, &c->opts, FLURRY_OPT_CACHE_TTL_MS);
  flurry__cache_meta m;
  info_meta(&ri, ttl, &m);
  int useful = m.lifetime > 0 || ri.has_validator || m.swr > 0 || m.sie > 0;
  if (!flurry__cache_status_ok(status) || ri.in.cc.no_store || ri.vary_star || !useful)
    goto done;
  e = fl_calloc(1, sizeof *e);
  if (e == NULL)
    goto done;
  e->hdrs = (fl_buf)FL_BUF_INIT(0);
  e->body = (fl_buf)FL_BUF_INIT(0);
  e->status = status;
  e->meta = m;
  e->reason = fl_strdup(reason ? reason : "");
  e->vary_names = fl_strndup(ri.vary.data ? ri.vary.data : "", ri.vary.len);
  int rc = e->reason && e->vary_names ? FL_OK : FL_ENOMEM;
  size_t pos = 0;
  const char *n, *v;
  while (rc == FL_OK && hdr_next(hdrs, &pos, &n, &v))
    if (!not_stored(c, n))
      rc = hdr_add(&e->hdrs, &e->nhdrs, n, v);
  if (rc == FL_OK && body->len)
    rc = fl_buf_append(&e->body, body->data, body->len);
  if (rc == FL_OK)
    rc = vary_hash(flurry__hop_headers(c, req), e->vary_names, e->vary) == FLURRY_OK ? FL_OK
                                                                                     : FL_ENOMEM;
  if (rc != FL_OK) {
    flurry__cache_entry_free(e);
    e = NULL;
  }
done:
  fl_buf_free(&ri.vary);
  return e;
}

/* Queues e (taken over) for writing: 1 when it will be written. */
static int store(flurry_client *c, flurry_request *req, flurry__cache_entry *e) {
  if (e == NULL || flurry__store_put(c->cache->store, req->cache->key, e) != FLURRY_OK)
    return 0;
  flush_soon(c->cache);
  return 1;
}

/* After the origin answered (or failed): resp becomes the stored
 * response, keeping what the attempts were; its followers may share it. */
static void serve_stored(flurry_client *c, flurry_request *req, flurry_response *resp, int status) {
  flurry__cache_req *cr = req->cache;
  int attempts = resp->attempts;
  flurry_timings t = resp->timings;
  if (fill_from(c, req, resp, cr->stored, wall_now()) == FLURRY_OK) {
    cr->status = status;
    cr->share = 1;
  }
  resp->attempts = attempts;
  resp->timings = t;
}

/* A 304 to a revalidation: the stored response with the new headers. */
static void revalidated(flurry_client *c, flurry_request *req, flurry_response *resp) {
  flurry__cache_req *cr = req->cache;
  fl_buf merged = FL_BUF_INIT(0);
  size_t n = 0;
  if (merge_304(c, resp, cr->stored, &merged, &n) != FL_OK) {
    fl_buf_free(&merged);
    return; /* the 304 as it came */
  }
  flurry__cache_entry *e = entry_from(c, req, cr->stored->status, cr->stored->reason, &merged,
                                      &cr->stored->body);
  fl_buf_free(&cr->stored->hdrs);
  cr->stored->hdrs = merged;
  cr->stored->nhdrs = n;
  cr->stored->meta.response_time = wall_now();
  cr->stored->meta.initial_age = 0;
  serve_stored(c, req, resp, FLURRY_CACHE_REVALIDATED);
  store(c, req, e);
}

/* What the origin's answer (or failure) leaves in the cache, and what the
 * request reports. */
static void settle(flurry_client *c, flurry_request *req, flurry_response *resp) {
  flurry__cache_req *cr = req->cache;
  int answered = resp->err == FLURRY_OK || resp->err == FLURRY_EHTTP;
  if (cr->stored && resp->status == 304 && resp->err == FLURRY_OK && req->hops == 0) {
    revalidated(c, req, resp);
    return;
  }
  cr->status = FLURRY_CACHE_MISS;
  if (answered && resp->status < 500 && req->hops == 0) {
    cr->share = store(c, req,
                      entry_from(c, req, resp->status, resp->reason, &resp->hdrs, &resp->body));
    return;
  }
  if (cr->stored && resp->err != FLURRY_ECANCELLED &&
      flurry__cache_stale_on_error(&cr->stored->meta, wall_now())) {
    serve_stored(c, req, resp, FLURRY_CACHE_STALE);
  }
}

/* The leader is done: those collapsed on it share a cached answer, or go
 * to the origin themselves (its answer was not one to share). */
/* The leader was cancelled (flurry_request_cancel, or everything is): its
 * first follower takes over, the others wait on it. It starts at once, in
 * the run list: a cancel_all still going finds it there. */
static void promote(flurry_client *c, flurry__cache_req *lead) {
  flurry__cache_req *f = FL_CONTAINER(fl_list_pop_front(&lead->followers), flurry__cache_req, link);
  fl_list_init(&f->link);
  while (!fl_list_empty(&lead->followers))
    fl_list_push_back(&f->followers, fl_list_pop_front(&lead->followers));
  f->role = fl_map_insert(&c->cache->inflight, ckey_hash(f->ckey), &f) == FL_OK ? ROLE_LEADER
                                                                                : ROLE_ORIGIN;
  f->request_time = wall_now();
  flurry__start(c, f->req);
}

static void release_followers(flurry_client *c, flurry__cache_req *lead, flurry_response *resp) {
  if (resp->err == FLURRY_ECANCELLED && !fl_list_empty(&lead->followers)) {
    promote(c, lead);
    return;
  }
  int share = lead->share;
  int shared_status = lead->status == FLURRY_CACHE_STALE ? FLURRY_CACHE_STALE : FLURRY_CACHE_HIT;
  while (!fl_list_empty(&lead->followers)) {
    flurry__cache_req *f = FL_CONTAINER(fl_list_pop_front(&lead->followers), flurry__cache_req,
                                        link);
    flurry_request *fr = f->req;
    fl_list_init(&f->link);
    if (share) {
      copy_response(fr->resp, resp);
      f->role = ROLE_ANSWERED;
      f->status = shared_status;
      flurry__complete(c, fr);
    } else { /* to the origin, at the front of the queue */
      f->role = ROLE_ORIGIN;
      f->request_time = wall_now();
      flurry__req_set_state(c, fr, REQ_QUEUED, fl_list_first(&c->queue), 0);
      flurry__kick(c);
    }
  }
}

void flurry__cache_complete(flurry_client *c, flurry_request *req, flurry_response *resp) {
  flurry__cache_req *cr = req->cache;
  if (cr == NULL)
    return;
  switch (cr->role) {
  case ROLE_FOLLOWER: /* cancelled while it waited */
    fl_list_remove(&cr->link);
    cr->status = FLURRY_CACHE_MISS;
    break;
  case ROLE_LEADER:
    fl_map_remove(&c->cache->inflight,
                  fl_map_find(&c->cache->inflight, ckey_hash(cr->ckey), cr->ckey));
    settle(c, req, resp);
    break;
  case ROLE_ORIGIN:
    if (cr->status != FLURRY_CACHE_BYPASS)
      settle(c, req, resp);
    break;
  default:
    break;
  }
  resp->cache = cr->status;
  if (cr->role == ROLE_LEADER)
    release_followers(c, cr, resp);
  req->cache = NULL;
  flurry__cache_entry_free(cr->stored);
  curl_slist_free_all(cr->sent);
  fl_free(cr);
}
