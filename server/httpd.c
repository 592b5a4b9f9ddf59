/* httpd.c: libmicrohttpd in external-epoll mode, driven by a libuv loop.
 *
 * One uv_poll_t watches MHD's epoll fd; one uv_timer_t follows
 * MHD_get_timeout(). MHD_run() runs from both and the timer is re-armed
 * after every run. Deferred requests are suspended connections: a reply
 * stores the response, resumes the connection and asks for a run on the
 * next loop turn; MHD then calls the access handler again and the stored
 * response is queued. A paused stream is a connection suspended from the
 * content reader and resumed by httpd_stream_wake(). Every
 * suspended connection is resumed before MHD_stop_daemon (which panics on
 * a suspended one). */
#include "httpd.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "fl.h"
#include "httpd_strict.h"

#define HDRS_MAX 4096u      /* bytes of pending response headers */
#define STREAM_BLOCK 65536u /* read size for streamed bodies */
#define BACKLOG 4096u

/* Request life: BEGUN (headers in) -> BODY (upload) -> HANDLING (in
 * on_request) -> READY (response stored) | DEFERRED (suspended) -> READY ->
 * DONE (queued). TOO_LARGE, FAILED, DROPPED (on purpose) and ABANDONED end
 * it early. */
enum req_state {
  REQ_NEW, /* request line seen (on_uri), head not yet complete */
  REQ_BEGUN,
  REQ_TOO_LARGE,
  REQ_REJECTED, /* ambiguous framing: 400 before the body (httpd_strict.c) */
  REQ_HANDLING,
  REQ_DEFERRED,
  REQ_READY,
  REQ_FAILED,
  REQ_DROPPED,
  REQ_ABANDONED,
  REQ_DONE
};

struct httpd_server {
  uv_loop_t *loop;
  struct MHD_Daemon *daemon;
  uv_poll_t poll;
  uv_timer_t timer;
  httpd_opts opts;
  uint16_t port;
  int run_soon;  /* a resumed connection waits for MHD_run */
  int quiet_run; /* this MHD_run aborts on purpose: no error log */
  int closing;
  int handles_open; /* poll + timer (+ clock), until closed */
  unsigned conns;   /* open connections (NOTIFY_CONNECTION) */
  uv_timer_t clock; /* request deadlines, when any is set */
  fl_list clocked;  /* connections with a deadline (conn_clock.node) */
  fl_list deferred; /* suspended requests (httpd_req.node) */
  fl_list paused;   /* suspended streams (httpd_stream.node) */
  fl_list upgraded; /* upgraded connections (httpd_upgraded) */
  httpd_closed_cb closed_cb;
  void *closed_arg;
};

struct httpd_req {
  httpd_server *h;
  struct MHD_Connection *conn;
  const char *method;
  const char *path;
  char *target; /* the raw path as sent, fl_malloc'd (on_uri); or NULL */
  enum req_state state;
  fl_buf body;
  fl_buf hdrs; /* pending response headers: name\0value\0... */
  struct MHD_Response *resp;
  unsigned status;
  void *data;
  char peer[INET6_ADDRSTRLEN];
  fl_list node;       /* in h->deferred while DEFERRED */
  httpd_raw_line raw; /* for the layout checks, in req_begin only */
  /* a 101 answer not handed over yet (reply_upgrade) */
  httpd_upgrade_cb up_cb;
  void (*up_abandon)(void *cls);
  void *up_cls;
};

struct httpd_upgraded {
  httpd_server *h;
  struct MHD_UpgradeResponseHandle *urh;
  void (*abandon)(void *cls);
  void *cls;
  fl_list node; /* in h->upgraded */
};

struct httpd_stream {
  httpd_server *h;
  struct MHD_Connection *conn;
  httpd_read_cb read_cb;
  void *cls;
  void (*free_cb)(void *cls);
  int paused;
  fl_list node; /* in h->paused while paused */
};

/* A connection's deadline for its request head or body (opts
 * header_timeout_ms, body_timeout_ms). */
typedef struct conn_clock {
  int fd;
  double deadline; /* fl_now_ms() past which it is cut; 0: none */
  fl_list node;    /* in h->clocked */
} conn_clock;

/* ---- the MHD run loop ---------------------------------------------------- */

static void on_timer(uv_timer_t *t);

static void arm_timer(httpd_server *h) {
  MHD_UNSIGNED_LONG_LONG ms = 0;
  if (h->closing)
    return;
  if (h->run_soon) {
    uv_timer_start(&h->timer, on_timer, 0, 0);
    return;
  }
  if (MHD_get_timeout(h->daemon, &ms) == MHD_YES)
    uv_timer_start(&h->timer, on_timer, (uint64_t)ms, 0);
  else
    uv_timer_stop(&h->timer);
}

static void run_daemon(httpd_server *h) {
  h->run_soon = 0;
  MHD_run(h->daemon);
  h->quiet_run = 0;
  arm_timer(h);
}

static void on_timer(uv_timer_t *t) { run_daemon(t->data); }

static void on_poll(uv_poll_t *p, int status, int events) {
  (void)status; /* an error on the epoll fd: MHD_run will see it too */
  (void)events;
  run_daemon(p->data);
}

static void schedule_run(httpd_server *h) {
  h->run_soon = 1;
  if (!h->closing)
    uv_timer_start(&h->timer, on_timer, 0, 0);
}

/* Linux: connect(AF_UNSPEC) disconnects a TCP socket at once with an RST
 * (tcp_disconnect), whatever MHD does with the descriptor afterwards: its
 * close path would otherwise send a FIN first (shutdown SHUT_WR). SO_LINGER
 * {1, 0} makes the final close() reset too, where AF_UNSPEC is refused. */
static void reset_socket(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
                                                               MHD_CONNECTION_INFO_CONNECTION_FD);
  if (ci == NULL)
    return;
  struct linger lg = {1, 0};
  struct sockaddr sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_family = AF_UNSPEC;
  (void)setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  (void)connect(ci->connect_fd, &sa, sizeof sa); /* best effort */
}

/* ---- request deadlines ---------------------------------------------------- */

static int clocks_on(const httpd_server *h) {
  return h->opts.header_timeout_ms || h->opts.body_timeout_ms;
}

/* Sets conn's deadline ms from now (0: none). */
static void clock_set(httpd_server *h, struct MHD_Connection *conn, unsigned ms) {
  if (!clocks_on(h))
    return;
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
                                                               MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  conn_clock *c = ci ? ci->socket_context : NULL;
  if (c)
    c->deadline = ms ? fl_now_ms() + ms : 0;
}

/* Shuts down the connections past their deadline; MHD sees the end of the
 * stream and closes them. */
static void on_clock(uv_timer_t *t) {
  httpd_server *h = t->data;
  double now = fl_now_ms();
  int cut = 0;
  fl_list *l;
  FL_LIST_FOREACH(l, &h->clocked) {
    conn_clock *c = FL_CONTAINER(l, conn_clock, node);
    if (c->deadline == 0 || now < c->deadline || c->fd < 0)
      continue;
    c->deadline = 0;
    (void)shutdown(c->fd, SHUT_RDWR);
    cut = 1;
  }
  if (cut) {
    h->quiet_run = 1;
    schedule_run(h);
  }
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
  httpd_server *h = cls;
  conn_clock *c = *socket_context;
  if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    /* At the connection cap MHD takes its listening socket out of the
     * epoll set, and puts it back at the start of a later MHD_run only:
     * nothing would call one (no connection left, no timeout), and the
     * server would never accept again. */
    if (h->conns-- >= h->opts.conn_limit)
      schedule_run(h);
    if (c) {
      fl_list_remove(&c->node);
      fl_free(c);
      *socket_context = NULL;
    }
    return;
  }
  h->conns++;
  if (!clocks_on(h))
    return;
  c = fl_calloc(1, sizeof *c);
  if (c == NULL)
    return; /* unclocked: only the idle timeout applies */
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
                                                               MHD_CONNECTION_INFO_CONNECTION_FD);
  c->fd = ci ? ci->connect_fd : -1;
  if (h->opts.header_timeout_ms)
    c->deadline = fl_now_ms() + h->opts.header_timeout_ms;
  fl_list_push_front(&h->clocked, &c->node);
  *socket_context = c;
}

/* ---- responses ----------------------------------------------------------- */

static int add_pending_headers(httpd_req *req, struct MHD_Response *r, const char *ctype) {
  if (ctype && MHD_add_response_header(r, "Content-Type", ctype) != MHD_YES)
    return -1;
  size_t off = 0;
  while (off < req->hdrs.len) {
    const char *name = req->hdrs.data + off;
    const char *value = name + strlen(name) + 1;
    off = (size_t)(value - req->hdrs.data) + strlen(value) + 1;
    if (MHD_add_response_header(r, name, value) != MHD_YES)
      return -1;
  }
  return 0;
}

static enum MHD_Result queue_stored(httpd_req *req) {
  enum MHD_Result rc = MHD_queue_response(req->conn, req->status, req->resp);
  MHD_destroy_response(req->resp);
  req->resp = NULL;
  req->state = REQ_DONE;
  return rc;
}

/* Moves req to state (READY with r stored, FAILED or DROPPED); resumes a
 * deferred request so that MHD comes back for the outcome. */
static void conclude(httpd_req *req, enum req_state state, struct MHD_Response *r,
                     unsigned status) {
  int was_deferred = req->state == REQ_DEFERRED;
  req->resp = r;
  req->status = status;
  req->state = state;
  fl_buf_free(&req->hdrs);
  if (was_deferred) {
    fl_list_remove(&req->node);
    MHD_resume_connection(req->conn);
    schedule_run(req->h);
  }
}

/* Stores r (NULL: failed) as the answer. */
static int settle(httpd_req *req, unsigned status, struct MHD_Response *r, const char *ctype) {
  if (r && add_pending_headers(req, r, ctype) != 0) {
    MHD_destroy_response(r);
    r = NULL;
  }
  conclude(req, r ? REQ_READY : REQ_FAILED, r, status);
  return r ? 0 : -1;
}

static int can_reply(const httpd_req *req) {
  return req->state == REQ_HANDLING || req->state == REQ_DEFERRED || req->state == REQ_TOO_LARGE ||
         req->state == REQ_REJECTED;
}

static void free_with_fl(void *p) { fl_free(p); }

static struct MHD_Response *make_buffer_response(const void *body, size_t len, int mode) {
  if (mode == HTTPD_TAKE) {
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, (void *)body,
                                                                                free_with_fl);
    if (r == NULL)
      fl_free((void *)body);
    return r;
  }
  enum MHD_ResponseMemoryMode m = mode == HTTPD_STATIC ? MHD_RESPMEM_PERSISTENT
                                                       : MHD_RESPMEM_MUST_COPY;
  return MHD_create_response_from_buffer(len, (void *)body, m);
}

int httpd_reply(httpd_req *req, unsigned status, const char *ctype, const void *body, size_t len,
                int mode) {
  if (!can_reply(req)) {
    if (mode == HTTPD_TAKE)
      fl_free((void *)body);
    return -1;
  }
  struct MHD_Response *r = make_buffer_response(body, len, mode);
  return settle(req, status, r, ctype);
}

/* ---- streams ------------------------------------------------------------- */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  httpd_stream *s = cls;
  ssize_t n = s->h->closing ? HTTPD_STREAM_CLOSE : s->read_cb(s->cls, pos, buf, max);
  if (n == HTTPD_STREAM_PAUSE) {
    MHD_suspend_connection(s->conn); /* allowed from the content reader */
    s->paused = 1;
    fl_list_push_front(&s->h->paused, &s->node);
    return 0;
  }
  if (n == HTTPD_STREAM_RESET)
    reset_socket(s->conn);
  if (n < HTTPD_STREAM_END) {
    s->h->quiet_run = 1;
    return MHD_CONTENT_READER_END_WITH_ERROR;
  }
  return n;
}

static void stream_free(void *cls) {
  httpd_stream *s = cls;
  if (s->paused) /* cannot happen: resumed before the daemon stops */
    fl_list_remove(&s->node);
  if (s->free_cb)
    s->free_cb(s->cls);
  fl_free(s);
}

void httpd_stream_wake(httpd_stream *s) {
  if (!s->paused)
    return;
  s->paused = 0;
  fl_list_remove(&s->node);
  MHD_resume_connection(s->conn);
  schedule_run(s->h);
}

static struct MHD_Response *make_stream_response(httpd_req *req, uint64_t size, httpd_stream *s) {
  s->h = req->h;
  s->conn = req->conn;
  struct MHD_Response *r = MHD_create_response_from_callback(size, STREAM_BLOCK, stream_read, s,
                                                             stream_free);
  if (r == NULL)
    stream_free(s);
  return r;
}

int httpd_reply_stream(httpd_req *req, unsigned status, const char *ctype, uint64_t size,
                       httpd_read_cb read_cb, void *cls, void (*free_cb)(void *cls),
                       httpd_stream **out) {
  int ok = can_reply(req);
  httpd_stream *s = ok ? fl_calloc(1, sizeof *s) : NULL;
  if (s == NULL) {
    if (free_cb)
      free_cb(cls);
    return ok ? settle(req, status, NULL, ctype) : -1; /* FAILED: closed */
  }
  s->read_cb = read_cb;
  s->cls = cls;
  s->free_cb = free_cb;
  if (settle(req, status, make_stream_response(req, size, s), ctype) != 0)
    return -1;
  if (out)
    *out = s;
  return 0;
}

/* ---- upgrades -------------------------------------------------------------- */

/* MHD sent the 101: the connection leaves HTTP for the application. */
static void on_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra,
                        size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh) {
  httpd_server *h = cls;
  httpd_req *req = con_cls;
  clock_set(h, conn, 0); /* no request deadline on an upgraded connection */
  httpd_upgraded *u = fl_calloc(1, sizeof *u);
  void (*abandon)(void *) = req->up_abandon;
  void *app = req->up_cls;
  httpd_upgrade_cb cb = req->up_cb;
  req->up_abandon = NULL;
  req->up_cb = NULL;
  if (u == NULL) {
    abandon(app);
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    schedule_run(h);
    return;
  }
  u->h = h;
  u->urh = urh;
  u->abandon = abandon;
  u->cls = app;
  fl_list_push_front(&h->upgraded, &u->node);
  cb(app, u, sock, extra, extra_len);
}

int httpd_reply_upgrade(httpd_req *req, httpd_upgrade_cb cb, void (*abandon)(void *cls),
                        void *cls) {
  if (!can_reply(req)) {
    abandon(cls);
    return -1;
  }
  struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgraded, req->h);
  if (settle(req, MHD_HTTP_SWITCHING_PROTOCOLS, r, NULL) != 0) {
    abandon(cls);
    return -1;
  }
  req->up_cb = cb;
  req->up_abandon = abandon;
  req->up_cls = cls;
  return 0;
}

void httpd_upgraded_close(httpd_upgraded *u) {
  httpd_server *h = u->h;
  fl_list_remove(&u->node);
  MHD_upgrade_action(u->urh, MHD_UPGRADE_ACTION_CLOSE);
  fl_free(u);
  schedule_run(h); /* MHD finishes the connection on its next run */
}

/* The server closes: every upgraded connection is ended. */
static void close_upgraded(httpd_server *h) {
  while (!fl_list_empty(&h->upgraded)) {
    httpd_upgraded *u = FL_CONTAINER(fl_list_first(&h->upgraded), httpd_upgraded, node);
    u->abandon(u->cls);
    httpd_upgraded_close(u);
  }
}

int httpd_drop(httpd_req *req, int how) {
  if (!can_reply(req))
    return -1;
  if (how == HTTPD_RESET)
    reset_socket(req->conn);
  conclude(req, REQ_DROPPED, NULL, 0);
  return 0;
}

int httpd_header(httpd_req *req, const char *name, const char *value) {
  size_t nl = strlen(name) + 1, vl = strlen(value) + 1;
  if (req->hdrs.len + nl + vl > req->hdrs.max)
    return -1;
  if (fl_buf_append(&req->hdrs, name, nl) != FL_OK)
    return -1;
  if (fl_buf_append(&req->hdrs, value, vl) != FL_OK) {
    req->hdrs.len -= nl;
    return -1;
  }
  return 0;
}

void httpd_defer(httpd_req *req) {
  if (req->state != REQ_HANDLING)
    return;
  req->state = REQ_DEFERRED;
  fl_list_push_front(&req->h->deferred, &req->node);
}

/* ---- request accessors --------------------------------------------------- */

const char *httpd_req_method(const httpd_req *req) { return req->method; }

const char *httpd_req_path(const httpd_req *req) { return req->path; }

const char *httpd_req_target(const httpd_req *req) { return req->target; }

int httpd_req_fd(const httpd_req *req) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->conn,
                                                               MHD_CONNECTION_INFO_CONNECTION_FD);
  return ci ? ci->connect_fd : -1;
}

const char *httpd_req_body(const httpd_req *req, size_t *len) {
  *len = req->body.len;
  return req->body.data ? req->body.data : "";
}

static const char *lookup(const httpd_req *req, enum MHD_ValueKind kind, const char *name) {
  const char *v = NULL;
  if (MHD_lookup_connection_value_n(req->conn, kind, name, strlen(name), &v, NULL) != MHD_YES)
    return NULL;
  return v ? v : "";
}

const char *httpd_req_header(const httpd_req *req, const char *name) {
  return lookup(req, MHD_HEADER_KIND, name);
}

const char *httpd_req_query(const httpd_req *req, const char *name) {
  return lookup(req, MHD_GET_ARGUMENT_KIND, name);
}

const char *httpd_req_peer(httpd_req *req) {
  if (req->peer[0])
    return req->peer;
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->conn,
                                                               MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (ci == NULL || ci->client_addr == NULL)
    return "";
  const struct sockaddr *sa = ci->client_addr;
  const void *addr = NULL;
  if (sa->sa_family == AF_INET)
    addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
  else if (sa->sa_family == AF_INET6)
    addr = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
  if (addr == NULL || inet_ntop(sa->sa_family, addr, req->peer, sizeof req->peer) == NULL)
    req->peer[0] = '\0';
  return req->peer;
}

struct each_ctx {
  httpd_kv_cb cb;
  void *cls;
};

static enum MHD_Result each_kv(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value) {
  (void)kind;
  struct each_ctx *e = cls;
  return e->cb(e->cls, key, value) ? MHD_NO : MHD_YES;
}

void httpd_req_each(const httpd_req *req, int kind, httpd_kv_cb cb, void *cls) {
  struct each_ctx e = {cb, cls};
  enum MHD_ValueKind k = kind == HTTPD_QUERY ? MHD_GET_ARGUMENT_KIND : MHD_HEADER_KIND;
  MHD_get_connection_values(req->conn, k, each_kv, &e);
}

void httpd_req_set_data(httpd_req *req, void *data) { req->data = data; }

void *httpd_req_data(const httpd_req *req) { return req->data; }

/* ---- the access handler -------------------------------------------------- */

static const char too_large_body[] = "{\"error\":\"request body too large\"}";
static const char internal_body[] = "{\"error\":\"internal error\"}";
static const char closing_body[] = "{\"error\":\"server shutting down\"}";

static void reply_error(httpd_req *req, unsigned status, const char *body) {
  httpd_reply(req, status, "application/json", body, strlen(body), HTTPD_STATIC);
}

/* What MHD hears once req has an outcome: queue the answer, or close the
 * connection (MHD_NO; quietly when it was dropped on purpose). */
static enum MHD_Result outcome(httpd_req *req) {
  if (req->state == REQ_READY)
    return queue_stored(req);
  if (req->state == REQ_DROPPED)
    req->h->quiet_run = 1;
  return MHD_NO;
}

static int declared_too_large(struct MHD_Connection *conn, size_t max) {
  const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                               MHD_HTTP_HEADER_CONTENT_LENGTH);
  int64_t n = 0;
  if (cl == NULL || fl_parse_i64(cl, strlen(cl), 0, INT64_MAX, &n) != 0)
    return 0;
  return (uint64_t)n > (uint64_t)max;
}

/* 400 with the reason, then the connection closes: the body is never read,
 * nothing reaches on_request. */
static enum MHD_Result reject_framing(httpd_req *req, const char *why) {
  char body[160];
  snprintf(body, sizeof body, "{\"error\":\"bad request: %s\"}", why);
  req->state = REQ_REJECTED;
  httpd_header(req, "Connection", "close");
  httpd_reply(req, MHD_HTTP_BAD_REQUEST, "application/json", body, strlen(body), HTTPD_COPY);
  return outcome(req);
}

static enum MHD_Result req_begin(httpd_server *h, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, void **con_cls) {
  httpd_req *req = *con_cls ? *con_cls : fl_calloc(1, sizeof *req);
  if (req == NULL)
    return MHD_NO;
  req->h = h;
  req->conn = conn;
  req->path = url;
  req->method = method;
  req->state = REQ_BEGUN;
  req->body.max = h->opts.max_body;
  req->hdrs.max = HDRS_MAX;
  *con_cls = req;
  clock_set(h, conn, h->opts.body_timeout_ms);
  const char *why = httpd_strict_layout(conn, method, version, &req->raw);
  if (why == NULL)
    why = httpd_strict_check(conn, version);
  if (why)
    return reject_framing(req, why);
  if (!declared_too_large(conn, h->opts.max_body))
    return MHD_YES;
  /* Answer before the body is read: MHD skips it and closes afterwards. */
  req->state = REQ_TOO_LARGE;
  reply_error(req, MHD_HTTP_CONTENT_TOO_LARGE, too_large_body);
  return outcome(req);
}

static enum MHD_Result req_upload(httpd_req *req, const char *data, size_t *size) {
  if (req->state == REQ_BEGUN) {
    int rc = fl_buf_append(&req->body, data, *size);
    if (rc == FL_ELIMIT) {
      req->state = REQ_TOO_LARGE; /* keep reading, answer 413 at the end */
      fl_buf_free(&req->body);
    } else if (rc != FL_OK) {
      return MHD_NO;
    }
  }
  *size = 0;
  return MHD_YES;
}

static enum MHD_Result req_dispatch(httpd_req *req) {
  httpd_server *h = req->h;
  req->state = REQ_HANDLING;
  clock_set(h, req->conn, 0);
  if (h->closing)
    reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, closing_body);
  else
    h->opts.on_request(req, h->opts.user);
  if (req->state == REQ_HANDLING)
    reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, internal_body);
  if (req->state == REQ_DEFERRED) {
    MHD_suspend_connection(req->conn);
    return MHD_YES;
  }
  return outcome(req);
}

static enum MHD_Result req_complete(httpd_req *req) {
  switch (req->state) {
  case REQ_BEGUN:
    return req_dispatch(req);
  case REQ_TOO_LARGE:
    reply_error(req, MHD_HTTP_CONTENT_TOO_LARGE, too_large_body);
    return outcome(req);
  case REQ_READY:
    return queue_stored(req);
  case REQ_DEFERRED: /* resumed without an answer: should not happen */
    MHD_suspend_connection(req->conn);
    return MHD_YES;
  default: /* FAILED, DROPPED, ABANDONED, DONE */
    return outcome(req);
  }
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls) {
  httpd_req *req = *con_cls;
  if (req == NULL || req->state == REQ_NEW)
    return req_begin(cls, conn, url, method, version, con_cls);
  if (*upload_size != 0)
    return req_upload(req, upload, upload_size);
  return req_complete(req);
}

/* MHD's URI log callback: the request line was parsed, the URI is still
 * raw. The request starts here so that req_begin can check the line. NULL
 * (out of memory): req_begin allocates it and skips that check. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  (void)conn;
  httpd_req *req = fl_calloc(1, sizeof *req);
  if (req == NULL)
    return NULL;
  req->h = cls;
  req->state = REQ_NEW;
  httpd_raw_line_set(&req->raw, uri);
  if (uri)
    req->target = fl_strndup(uri, strcspn(uri, "?")); /* NULL: out of memory */
  return req;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)toe;
  httpd_server *hd = cls;
  clock_set(hd, conn, hd->opts.header_timeout_ms); /* the next request */
  httpd_req *req = *con_cls;
  if (req == NULL)
    return;
  if (req->state == REQ_DEFERRED) { /* cannot happen: abandoned before stop */
    fl_list_remove(&req->node);
  }
  if (req->resp)
    MHD_destroy_response(req->resp);
  if (req->up_abandon) /* ended before the hand-over */
    req->up_abandon(req->up_cls);
  fl_buf_free(&req->body);
  fl_buf_free(&req->hdrs);
  fl_free(req->target);
  fl_free(req);
  *con_cls = NULL;
}

/* ---- start --------------------------------------------------------------- */

static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
    return;
  rl.rlim_cur = rl.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &rl); /* best effort */
}

/* A numeric IPv4/IPv6 address, or "localhost": never a DNS lookup. */
static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, char *errbuf,
                   size_t errlen) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
  if (strcmp(host, "localhost") == 0)
    host = "127.0.0.1";
  int rc = getaddrinfo(host, NULL, &hints, &res);
  if (rc != 0 || res == NULL) {
    snprintf(errbuf, errlen, "bad host '%s' (want a numeric address): %s", host,
             rc ? gai_strerror(rc) : "no address");
    return -1;
  }
  memset(ss, 0, sizeof *ss);
  memcpy(ss, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (ss->ss_family == AF_INET)
    ((struct sockaddr_in *)(void *)ss)->sin_port = htons(port);
  else
    ((struct sockaddr_in6 *)(void *)ss)->sin6_port = htons(port);
  return 0;
}

static void set_defaults(httpd_opts *o) {
  if (o->host == NULL)
    o->host = "127.0.0.1";
  if (o->max_body == 0)
    o->max_body = HTTPD_MAX_BODY_DEFAULT;
  if (o->conn_limit == 0)
    o->conn_limit = HTTPD_CONN_LIMIT_DEFAULT;
  if (o->timeout_s == 0)
    o->timeout_s = HTTPD_TIMEOUT_S_DEFAULT;
}

/* MHD's error log, quiet while closing (abandoned connections are closed
 * on purpose then) and for the rest of an MHD_run in which a connection was
 * dropped or a stream aborted on purpose (MHD reports those after the
 * callback returned, without saying which connection). */
static void log_error(void *cls, const char *fmt, va_list ap) {
  const httpd_server *h = cls;
  if (h->closing || h->quiet_run)
    return;
  fputs("flurry httpd: ", stderr);
  vfprintf(stderr, fmt, ap);
}

static struct MHD_Daemon *start_daemon(httpd_server *h, const struct sockaddr_storage *ss) {
  unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE;
  if (h->opts.log_errors)
    flags |= MHD_USE_ERROR_LOG;
  if (ss->ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  /* MHD_OPTION_END where conn_memory is 0 ends the list early. */
  return MHD_start_daemon(flags, h->opts.port, NULL, NULL, on_access, h, MHD_OPTION_EXTERNAL_LOGGER,
                          log_error, h, /* must come first */
                          MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)ss,
                          MHD_OPTION_CONNECTION_LIMIT, h->opts.conn_limit,
                          MHD_OPTION_CONNECTION_TIMEOUT, h->opts.timeout_s,
                          MHD_OPTION_LISTEN_BACKLOG_SIZE, BACKLOG, MHD_OPTION_NOTIFY_COMPLETED,
                          on_completed, h, MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                          MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
                          h->opts.conn_memory ? MHD_OPTION_CONNECTION_MEMORY_LIMIT : MHD_OPTION_END,
                          h->opts.conn_memory, MHD_OPTION_END);
}

static int attach_loop(httpd_server *h) {
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
  const union MHD_DaemonInfo *pi = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
  if (di == NULL || pi == NULL)
    return -1;
  h->port = pi->port;
  if (uv_poll_init(h->loop, &h->poll, di->epoll_fd) != 0)
    return -1;
  uv_timer_init(h->loop, &h->timer); /* cannot fail */
  h->poll.data = h;
  h->timer.data = h;
  h->handles_open = 2;
  if (clocks_on(h)) {
    uv_timer_init(h->loop, &h->clock);
    h->clock.data = h;
    h->handles_open++;
    uv_timer_start(&h->clock, on_clock, HTTPD_CLOCK_TICK_MS, HTTPD_CLOCK_TICK_MS);
  }
  uv_poll_start(&h->poll, UV_READABLE, on_poll);
  arm_timer(h);
  return 0;
}

int httpd_new(httpd_server **out, uv_loop_t *loop, const httpd_opts *opts, char *errbuf,
              size_t errlen) {
  struct sockaddr_storage ss;
  httpd_opts o = *opts;
  set_defaults(&o);
  if (resolve(o.host, o.port, &ss, errbuf, errlen) != 0)
    return -1;
  httpd_server *h = fl_calloc(1, sizeof *h);
  if (h == NULL) {
    snprintf(errbuf, errlen, "out of memory");
    return -1;
  }
  h->loop = loop;
  h->opts = o;
  h->opts.host = NULL; /* not kept: the caller's string */
  fl_list_init(&h->clocked);
  fl_list_init(&h->deferred);
  fl_list_init(&h->paused);
  fl_list_init(&h->upgraded);
  raise_nofile();
  h->daemon = start_daemon(h, &ss);
  if (h->daemon == NULL || attach_loop(h) != 0) {
    snprintf(errbuf, errlen, "cannot listen on %s:%u", o.host, (unsigned)o.port);
    if (h->daemon)
      MHD_stop_daemon(h->daemon);
    fl_free(h);
    return -1;
  }
  *out = h;
  return 0;
}

uint16_t httpd_port(const httpd_server *h) { return h->port; }

/* ---- close --------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *handle) {
  httpd_server *h = handle->data;
  if (--h->handles_open > 0)
    return;
  httpd_closed_cb cb = h->closed_cb;
  void *arg = h->closed_arg;
  fl_free(h);
  if (cb)
    cb(arg);
}

static void abandon_deferred(httpd_server *h) {
  for (fl_list *l = fl_list_pop_front(&h->deferred); l; l = fl_list_pop_front(&h->deferred)) {
    httpd_req *req = FL_CONTAINER(l, httpd_req, node);
    req->state = REQ_ABANDONED;
    if (h->opts.on_abandon)
      h->opts.on_abandon(req, h->opts.user);
    MHD_resume_connection(req->conn);
  }
}

/* Resumed while closing, a stream's next read aborts its connection. */
static void wake_paused(httpd_server *h) {
  while (!fl_list_empty(&h->paused))
    httpd_stream_wake(FL_CONTAINER(fl_list_first(&h->paused), httpd_stream, node));
}

void httpd_close(httpd_server *h, httpd_closed_cb cb, void *arg) {
  h->closed_cb = cb;
  h->closed_arg = arg;
  h->closing = 1;
  abandon_deferred(h);
  wake_paused(h);
  close_upgraded(h);
  MHD_run(h->daemon); /* let MHD take the resumed connections back */
  uv_close((uv_handle_t *)&h->poll, on_handle_closed); /* stops the poll */
  uv_close((uv_handle_t *)&h->timer, on_handle_closed);
  if (clocks_on(h))
    uv_close((uv_handle_t *)&h->clock, on_handle_closed);
  MHD_stop_daemon(h->daemon);
  h->daemon = NULL;
}
