/* listen_handler.c: one webhook delivery, start to reply: method and path,
 * the signature over the raw body (before anything parses it), the
 * delivery id, dedup, the event line written whole, and the reply: at
 * once, or with --fsync once an fdatasync that covers the line has
 * returned. Those fdatasyncs run on libuv's thread pool, one at a time,
 * each covering every line written before it started (group commit): the
 * loop never waits for the disk. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "listen_event.h"
#include "listen_int.h"

#define JSON_TYPE "application/json"
#define HEADERS_MAX 256         /* request headers written with --headers */
#define KEEP_BUF_MAX (4u << 20) /* reused buffers above this are released */
#define ID_TOKEN_MAX (FLURRY__SIG_ID_MAX * 6 + 2) /* escaped, quoted */

static const char ok_body[] = "{\"ok\":true}";
static const char dup_body[] = "{\"ok\":true,\"duplicate\":true}";

int64_t flurry__listen_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- replies
 * ------------------------------------------------------------------ */

static void reply_error(flurry__httpd_req *req, unsigned status,
                        const char *msg) {
  fl_buf b = FL_BUF_INIT(1024);
  int rc = fl_buf_puts(&b, "{\"error\":");
  rc = rc == FL_OK ? fl_json_str(&b, msg, strlen(msg)) : rc;
  rc = rc == FL_OK ? fl_buf_putc(&b, '}') : rc;
  size_t len = 0;
  char *p = rc == FL_OK ? fl_buf_take(&b, &len) : NULL;
  fl_buf_free(&b);
  if (p)
    flurry__httpd_reply(req, status, JSON_TYPE, p, len, FLURRY__HTTPD_TAKE);
  else
    flurry__httpd_reply(req, 500, NULL, "", 0, FLURRY__HTTPD_STATIC);
}

static void reply_ok(flurry__httpd_req *req, int duplicate) {
  const char *b = duplicate ? dup_body : ok_body;
  flurry__httpd_reply(req, 200, JSON_TYPE, b, strlen(b), FLURRY__HTTPD_STATIC);
}

/* ---- --fsync: group commit
 * ------------------------------------------------------ */

static void start_sync(flurry__listen *l);

/* Answers (or drops, when abandoned) the waiters covered by the fdatasync
 * that ended; failed: it returned an error. */
static void release_waits(flurry__listen *l, uint64_t upto, int failed) {
  while (l->wait_head && l->wait_head->need <= upto) {
    flurry__listen_wait *w = l->wait_head;
    l->wait_head = w->next;
    if (l->wait_head == NULL)
      l->wait_tail = NULL;
    if (failed && w->owns_key) /* not durable: let a retry write it again */
      flurry__dedup_remove(l->dedup, w->key);
    if (w->req && failed)
      reply_error(w->req, 500, "cannot make the event durable");
    else if (w->req)
      reply_ok(w->req, w->duplicate);
    fl_free(w);
  }
}

static void on_synced(uv_fs_t *r) {
  flurry__listen *l = r->data;
  int failed = r->result < 0;
  uv_fs_req_cleanup(r);
  l->syncing = 0;
  if (failed)
    l->failed++;
  else
    l->synced = l->sync_target;
  release_waits(l, l->sync_target, failed);
  start_sync(l);
}

static void start_sync(flurry__listen *l) {
  if (l->syncing || l->closing || l->wait_head == NULL)
    return;
  l->sync_target = l->written;
  l->syncing = 1;
  l->fsreq.data = l;
  if (uv_fs_fdatasync(l->loop, &l->fsreq, l->store.fd, on_synced) != 0) {
    l->syncing = 0;
    l->failed++;
    release_waits(l, l->sync_target, 1);
  }
}

/* The 2xx for req: now, or once the lines written so far are durable. */
static void reply_durable(flurry__listen *l, flurry__httpd_req *req,
                          const unsigned char *key, int duplicate) {
  if (!l->cfg.fsync || l->synced >= l->written) {
    reply_ok(req, duplicate);
    return;
  }
  flurry__listen_wait *w = fl_calloc(1, sizeof *w);
  if (w == NULL) {
    if (key && !duplicate)
      flurry__dedup_remove(l->dedup, key);
    reply_error(req, 500, "out of memory");
    return;
  }
  w->req = req;
  w->need = l->written;
  w->duplicate = duplicate;
  w->owns_key = key != NULL && !duplicate;
  if (key)
    memcpy(w->key, key, sizeof w->key);
  if (l->wait_tail)
    l->wait_tail->next = w;
  else
    l->wait_head = w;
  l->wait_tail = w;
  flurry__httpd_req_set_data(req, w);
  flurry__httpd_defer(req);
  start_sync(l);
}

void flurry__listen_on_abandon(flurry__httpd_req *req, void *user) {
  (void)user;
  flurry__listen_wait *w = flurry__httpd_req_data(req);
  if (w)
    w->req = NULL; /* freed when its fdatasync ends, or at exit */
}

void flurry__listen_free_waits(flurry__listen *l) {
  while (l->wait_head) {
    flurry__listen_wait *w = l->wait_head;
    l->wait_head = w->next;
    fl_free(w);
  }
  l->wait_tail = NULL;
}

/* ---- the delivery
 * ------------------------------------------------------------- */

static unsigned sig_status(int rc) {
  if (rc == FLURRY__SIG_EMALFORMED)
    return 400;
  return rc == FLURRY__SIG_ECRYPTO ? 500 : 401;
}

static int verify(flurry__listen *l, flurry__httpd_req *req, int64_t now_ms) {
  const char *hdr = flurry__sig_header(l->cfg.scheme);
  flurry__sig_delivery d;
  memset(&d, 0, sizeof d);
  d.signature = hdr ? flurry__httpd_req_header(req, hdr) : NULL;
  d.id = flurry__httpd_req_header(req, "webhook-id");
  d.timestamp = flurry__httpd_req_header(req, "webhook-timestamp");
  d.body = flurry__httpd_req_body(req, &d.body_len);
  return flurry__sig_verify(l->cfg.scheme, l->cfg.keys, l->cfg.nkeys,
                            l->cfg.tolerance_s, now_ms / 1000, &d);
}

/* The id header of the scheme (none: webhook-id, else X-GitHub-Delivery). */
static const char *id_header(flurry__listen *l, flurry__httpd_req *req) {
  const char *v = NULL;
  if (l->cfg.scheme != FLURRY__SIG_GITHUB)
    v = flurry__httpd_req_header(req, "webhook-id");
  if (v == NULL && l->cfg.scheme != FLURRY__SIG_STANDARD)
    v = flurry__httpd_req_header(req, "X-GitHub-Delivery");
  return v;
}

/* Why the id header cannot be an id, or NULL. An id must be UTF-8 text:
 * its key is the hash of its JSON string, where every invalid byte would
 * become U+FFFD and distinct ids one key (and a restart only sees the
 * JSON). Stripe's id is checked when the body is read (valid JSON). */
static const char *bad_id(flurry__listen *l, flurry__httpd_req *req) {
  const char *v = l->cfg.scheme == FLURRY__SIG_STRIPE ? NULL : id_header(l, req);
  size_t n = v ? strlen(v) : 0;
  if (n > FLURRY__SIG_ID_MAX)
    return "delivery id too long";
  return fl_is_text(v ? v : "", n) ? NULL : "delivery id is not UTF-8 text";
}

/* The delivery id as a JSON string token into id (left empty when there
 * is none). Stripe: the "id" string of the (compact) JSON body. Returns
 * 0, or 400 (too long), or 500. */
static unsigned delivery_id(flurry__listen *l, flurry__httpd_req *req,
                            int is_json, fl_buf *id) {
  if (l->cfg.scheme == FLURRY__SIG_STRIPE) {
    size_t off, len;
    if (!is_json ||
        flurry__event_json_member(l->json.data, l->json.len, "id", &off,
                                  &len) != 0 ||
        l->json.data[off] != '"' || len == 2)
      return 0; /* no id, not a string, or "": not deduplicated */
    if (len > ID_TOKEN_MAX)
      return 400;
    return fl_buf_append(id, l->json.data + off, len) == FL_OK ? 0 : 500;
  }
  const char *v = id_header(l, req); /* checked by bad_id */
  if (v == NULL || v[0] == '\0')
    return 0;
  return fl_json_str(id, v, strlen(v)) == FL_OK ? 0 : 500;
}

typedef struct kv_list {
  const char *kv[2 * HEADERS_MAX];
  size_t n;
} kv_list;

static int collect_header(void *cls, const char *name, const char *value) {
  kv_list *h = cls;
  if (h->n == HEADERS_MAX)
    return 1;
  h->kv[2 * h->n] = name;
  h->kv[2 * h->n + 1] = value;
  h->n++;
  return 0;
}

static int build_line(flurry__listen *l, flurry__httpd_req *req,
                      const fl_buf *id, int is_json, int64_t now_ms) {
  flurry__event ev;
  memset(&ev, 0, sizeof ev);
  ev.id = id->len ? id->data : NULL;
  ev.id_len = id->len;
  ev.received_ms = now_ms;
  ev.scheme = flurry__sig_scheme_name(l->cfg.scheme);
  ev.path = flurry__httpd_req_path(req);
  ev.body = flurry__httpd_req_body(req, &ev.body_len);
  ev.json = is_json ? l->json.data : NULL;
  ev.json_len = l->json.len;
  fl_buf_reset(&l->scratch);
  if (l->cfg.headers) {
    kv_list h;
    h.n = 0;
    flurry__httpd_req_each(req, FLURRY__HTTPD_HEADERS, collect_header, &h);
    if (flurry__event_headers(&l->scratch, h.kv, h.n) != FL_OK)
      return -1;
    ev.headers = l->scratch.data;
    ev.headers_len = l->scratch.len;
  }
  fl_buf_reset(&l->line);
  return flurry__event_line(&l->line, &ev) == FL_OK ? 0 : -1;
}

static void shrink(fl_buf *b) {
  if (b->cap > KEEP_BUF_MAX)
    fl_buf_free(b);
}

/* Writes the event, remembers its id, answers. */
static void accept_event(flurry__listen *l, flurry__httpd_req *req,
                         const fl_buf *id, const unsigned char *key,
                         int is_json, int64_t now_ms) {
  if (build_line(l, req, id, is_json, now_ms) != 0) {
    l->failed++;
    reply_error(req, 500, "out of memory");
    return;
  }
  if (flurry__store_append(&l->store, l->line.data, l->line.len) != 0) {
    l->failed++;
    reply_error(req, 500, strerror(errno));
    return;
  }
  l->written++;
  l->accepted++;
  if (key && flurry__dedup_add(l->dedup, key, now_ms + l->cfg.window_ms) != 0)
    key = NULL; /* out of memory: this id will not be recognised again */
  reply_durable(l, req, key, 0);
}

/* Compacts the body (when JSON: *is_json) and finds the delivery id and
 * its key. Returns 0, or the HTTP status of the failure. */
static unsigned read_delivery(flurry__listen *l, flurry__httpd_req *req,
                              fl_buf *id, unsigned char *key, int *is_json) {
  size_t len;
  const char *body = flurry__httpd_req_body(req, &len);
  fl_buf_reset(&l->json);
  int rc = fl_json_compact(&l->json, body, len, NULL);
  if (rc == FL_ENOMEM)
    return 500;
  *is_json = rc == FL_OK;
  unsigned status = delivery_id(l, req, *is_json, id);
  if (status == 0 && id->len && flurry__dedup_key(id->data, id->len, key) != 0)
    status = 500;
  return status;
}

static int seen(flurry__listen *l, const unsigned char *key, int64_t now_ms) {
  flurry__dedup_expire(l->dedup, now_ms);
  return flurry__dedup_has(l->dedup, key);
}

static void handle(flurry__listen *l, flurry__httpd_req *req) {
  int64_t now_ms = flurry__listen_now_ms();
  const char *why = bad_id(l, req);
  if (why) {
    l->rejected++;
    reply_error(req, 400, why);
    return;
  }
  int rc = verify(l, req, now_ms);
  if (rc != FLURRY__SIG_OK) {
    l->rejected++;
    reply_error(req, sig_status(rc), flurry__sig_strerror(rc));
    return;
  }
  fl_buf id = FL_BUF_INIT(ID_TOKEN_MAX);
  unsigned char key[FLURRY__DEDUP_KEY_LEN];
  int is_json = 0;
  unsigned status = read_delivery(l, req, &id, key, &is_json);
  if (status != 0) {
    l->rejected += status == 400;
    reply_error(req, status,
                status == 400 ? "delivery id too long" : "internal error");
  } else if (id.len && seen(l, key, now_ms)) {
    l->duplicates++;
    reply_durable(l, req, key, 1);
  } else {
    accept_event(l, req, &id, id.len ? key : NULL, is_json, now_ms);
  }
  fl_buf_free(&id);
  shrink(&l->json);
  shrink(&l->line);
}

/* Why the request's path is not served (404), or NULL. With --path the
 * request target must be that path byte for byte, as sent: libmicrohttpd
 * hands over the decoded path, where /ho%6fk is /hook and /hook%00x ends
 * at the NUL. */
static const char *bad_path(flurry__listen *l, flurry__httpd_req *req,
                            unsigned *status) {
  const char *target = flurry__httpd_req_target(req);
  *status = 500;
  if (target == NULL)
    return "out of memory";
  *status = 400;
  if (strstr(target, "%00") != NULL)
    return "NUL (%00) in the path";
  *status = 404;
  if (l->cfg.path && strcmp(target, l->cfg.path) != 0)
    return "not found";
  return NULL;
}

void flurry__listen_on_request(flurry__httpd_req *req, void *user) {
  flurry__listen *l = user;
  if (strcmp(flurry__httpd_req_method(req), "POST") != 0) {
    flurry__httpd_header(req, "Allow", "POST");
    reply_error(req, 405, "method not allowed: POST only");
    return;
  }
  unsigned status = 0;
  const char *why = bad_path(l, req, &status);
  if (why)
    reply_error(req, status, why);
  else
    handle(l, req);
}
