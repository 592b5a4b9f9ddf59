/* listen_handler.c: one webhook delivery, from its request to the line
 * handed to the output: method and path, the id, the signature over the
 * raw body (before anything parses it), dedup, the event line. When and
 * how it is answered once accepted: listen_out.c. */
#include <string.h>
#include <time.h>

#include "listen_event.h"
#include "listen_int.h"

#define JSON_TYPE "application/json"
#define HEADERS_MAX 256                              /* request headers written with --headers */
#define KEEP_BUF_MAX (4u << 20)                      /* reused buffers above this are released */
#define ID_TOKEN_MAX (FLURRY_WEBHOOK_ID_MAX * 6 + 2) /* escaped, quoted */

int64_t listen_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- replies ------------------------------------------------------------- */

void listen_reply_error(httpd_req *req, unsigned status, const char *msg) {
  fl_buf b = FL_BUF_INIT(1024);
  int rc = fl_buf_puts(&b, "{\"error\":");
  rc = rc == FL_OK ? fl_json_str(&b, msg, strlen(msg)) : rc;
  rc = rc == FL_OK ? fl_buf_putc(&b, '}') : rc;
  size_t len = 0;
  char *p = rc == FL_OK ? fl_buf_take(&b, &len) : NULL;
  fl_buf_free(&b);
  if (p)
    httpd_reply(req, status, JSON_TYPE, p, len, HTTPD_TAKE);
  else
    httpd_reply(req, 500, NULL, "", 0, HTTPD_STATIC);
}

/* ---- the delivery -------------------------------------------------------- */

/* The answer to a verdict; -1 (the check itself failed: libcrypto out of
 * memory) is a 500. */
static unsigned sig_status(int verdict) {
  if (verdict < 0)
    return 500;
  return verdict == FLURRY_WEBHOOK_MALFORMED ? 400 : 401;
}

/* A flurry_webhook_verdict, or -1 when the check could not be made. */
static int verify(listen_server *l, httpd_req *req, int64_t now_ms) {
  const char *hdr = flurry_webhook_header(l->cfg.scheme);
  flurry_webhook_delivery d;
  memset(&d, 0, sizeof d);
  d.signature = hdr ? httpd_req_header(req, hdr) : NULL;
  d.id = httpd_req_header(req, "webhook-id");
  d.timestamp = httpd_req_header(req, "webhook-timestamp");
  d.body = httpd_req_body(req, &d.body_len);
  int verdict;
  if (flurry_webhook_verify(l->cfg.scheme, l->cfg.keys, l->cfg.nkeys, l->cfg.tolerance_s,
                            now_ms / 1000, &d, &verdict) != FLURRY_OK)
    return -1;
  return verdict;
}

/* The id header of the scheme (none: webhook-id, else X-GitHub-Delivery). */
static const char *id_header(listen_server *l, httpd_req *req) {
  const char *v = NULL;
  if (l->cfg.scheme != FLURRY_WEBHOOK_GITHUB)
    v = httpd_req_header(req, "webhook-id");
  if (v == NULL && l->cfg.scheme != FLURRY_WEBHOOK_STANDARD)
    v = httpd_req_header(req, "X-GitHub-Delivery");
  return v;
}

/* Why the id header cannot be an id, or NULL. An id must be UTF-8 text:
 * its key is the hash of its JSON string, where every invalid byte would
 * become U+FFFD and distinct ids one key (and a restart only sees the
 * JSON). Stripe's id is checked when the body is read (valid JSON). */
static const char *bad_id(listen_server *l, httpd_req *req) {
  const char *v = l->cfg.scheme == FLURRY_WEBHOOK_STRIPE ? NULL : id_header(l, req);
  size_t n = v ? strlen(v) : 0;
  if (n > FLURRY_WEBHOOK_ID_MAX)
    return "delivery id too long";
  return fl_is_text(v ? v : "", n) ? NULL : "delivery id is not UTF-8 text";
}

/* The delivery id as a JSON string token into id (left empty when there
 * is none). Stripe: the "id" string of the (compact) JSON body. Returns
 * 0, or 400 (too long), or 500. */
static unsigned delivery_id(listen_server *l, httpd_req *req, int is_json, fl_buf *id) {
  if (l->cfg.scheme == FLURRY_WEBHOOK_STRIPE) {
    size_t off, len;
    if (!is_json || listen_event_json_member(l->json.data, l->json.len, "id", &off, &len) != 0 ||
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

static int build_line(listen_server *l, httpd_req *req, const fl_buf *id, int is_json,
                      int64_t now_ms) {
  listen_event ev;
  memset(&ev, 0, sizeof ev);
  ev.id = id->len ? id->data : NULL;
  ev.id_len = id->len;
  ev.received_ms = now_ms;
  ev.scheme = flurry_webhook_scheme_name(l->cfg.scheme);
  ev.path = httpd_req_path(req);
  ev.body = httpd_req_body(req, &ev.body_len);
  ev.json = is_json ? l->json.data : NULL;
  ev.json_len = l->json.len;
  fl_buf_reset(&l->scratch);
  if (l->cfg.headers) {
    kv_list h;
    h.n = 0;
    httpd_req_each(req, HTTPD_HEADERS, collect_header, &h);
    if (listen_event_headers(&l->scratch, h.kv, h.n) != FL_OK)
      return -1;
    ev.headers = l->scratch.data;
    ev.headers_len = l->scratch.len;
  }
  fl_buf_reset(&l->line);
  return listen_event_line(&l->line, &ev) == FL_OK ? 0 : -1;
}

static void shrink(fl_buf *b) {
  if (b->cap > KEEP_BUF_MAX)
    fl_buf_free(b);
}

/* Builds the event's line and hands it to the output, which answers. */
static void accept_event(listen_server *l, httpd_req *req, const fl_buf *id,
                         const unsigned char *key, int is_json, int64_t now_ms) {
  if (build_line(l, req, id, is_json, now_ms) != 0) {
    l->failed++;
    listen_reply_error(req, 500, "out of memory");
    return;
  }
  listen_commit(l, req, key, now_ms + l->cfg.window_ms);
}

/* Compacts the body (when JSON: *is_json) and finds the delivery id and
 * its key. Returns 0, or the HTTP status of the failure. */
static unsigned read_delivery(listen_server *l, httpd_req *req, fl_buf *id, unsigned char *key,
                              int *is_json) {
  size_t len;
  const char *body = httpd_req_body(req, &len);
  fl_buf_reset(&l->json);
  int rc = fl_json_compact(&l->json, body, len, NULL);
  if (rc == FL_ENOMEM)
    return 500;
  *is_json = rc == FL_OK;
  unsigned status = delivery_id(l, req, *is_json, id);
  if (status == 0 && id->len && listen_dedup_key(id->data, id->len, key) != 0)
    status = 500;
  return status;
}

static int seen(listen_server *l, const unsigned char *key, int64_t now_ms) {
  listen_dedup_expire(l->dedup, now_ms);
  return listen_dedup_has(l->dedup, key);
}

static void handle(listen_server *l, httpd_req *req) {
  int64_t now_ms = listen_now_ms();
  const char *why = bad_id(l, req);
  if (why) {
    l->rejected++;
    listen_reply_error(req, 400, why);
    return;
  }
  int rc = verify(l, req, now_ms);
  if (rc != FLURRY_WEBHOOK_OK) {
    l->rejected++;
    listen_reply_error(req, sig_status(rc),
                       rc < 0 ? "signature check failed" : flurry_webhook_verdict_str(rc));
    return;
  }
  fl_buf id = FL_BUF_INIT(ID_TOKEN_MAX);
  unsigned char key[LISTEN_DEDUP_KEY_LEN];
  int is_json = 0;
  unsigned status = read_delivery(l, req, &id, key, &is_json);
  if (status != 0) {
    l->rejected += status == 400;
    listen_reply_error(req, status, status == 400 ? "delivery id too long" : "internal error");
  } else if (id.len && seen(l, key, now_ms)) {
    l->duplicates++;
    listen_commit_dup(l, req);
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
static const char *bad_path(listen_server *l, httpd_req *req, unsigned *status) {
  const char *target = httpd_req_target(req);
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

void listen_on_request(httpd_req *req, void *user) {
  listen_server *l = user;
  if (strcmp(httpd_req_method(req), "POST") != 0) {
    httpd_header(req, "Allow", "POST");
    listen_reply_error(req, 405, "method not allowed: POST only");
    return;
  }
  unsigned status = 0;
  const char *why = bad_path(l, req, &status);
  if (why)
    listen_reply_error(req, status, why);
  else
    handle(l, req);
}
