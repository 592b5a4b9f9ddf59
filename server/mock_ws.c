/* mock_ws.c: the WebSocket endpoints of `flurry mock`: /ws/echo sends every
 * message back, /ws/broadcast sends every message to every client connected
 * there. libmicrohttpd answers the 101 (httpd_reply_upgrade) and
 * hands over the socket; a uv_poll_t on the loop drives it and wslay does
 * the server side framing. Misbehaviour on request, for the client's tests:
 * ?close=CODE&after=N, ?big=N, ?ping=1, ?mute=1, ?bad_accept=1,
 * ?protocol=NAME (a subprotocol the client must offer), ?choose=NAME (one
 * it did not), ?flood=N (N messages at once: still in flight when the
 * client closes). */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <wslay/wslay.h>

#include "flurry/ws.h"
#include "mock_int.h"

#define WS_MAX_MESSAGE (16u << 20) /* received from a client */
#define WS_MAX_QUEUE (16u << 20)   /* queued for one client */
#define WS_BIG_MAX (64u << 20)     /* ?big= */
#define WS_FLOOD_MAX 100000        /* ?flood= */
#define WS_PROTOCOL_MAX 256        /* ?protocol=, ?choose= */
#define WS_PING_DATA "mock-ping"

typedef struct mock_ws {
  mock_server *m;
  httpd_upgraded *u;
  uv_poll_t poll;
  int polling; /* poll initialised (upgraded) */
  wslay_event_context_ptr ctx;
  fl_buf pre; /* bytes that came with the request */
  size_t pre_off;
  int broadcast;
  int64_t close_code, after, big, flood;
  int ping;
  int mute;      /* ?mute=1: read and drop everything, answer nothing */
  int64_t seen;  /* messages received */
  int close_due; /* close (close_code) once the messages queued are out */
  int ended;
  fl_list link; /* in m->ws, once upgraded */
} conn;

static void conn_pump(conn *c);
static void on_poll(uv_poll_t *p, int status, int events);

/* ---- life ----------------------------------------------------------------- */

static void conn_free(conn *c) {
  if (c->ctx)
    wslay_event_context_free(c->ctx);
  fl_buf_free(&c->pre);
  fl_free(c);
}

static void poll_closed(uv_handle_t *h) { conn_free(h->data); }

static void unlink_conn(conn *c) {
  if (fl_list_linked(&c->link))
    fl_list_remove(&c->link);
}

/* abandon: before the hand-over, or the server closes (the glue closes the
 * socket). */
static void conn_abandon(void *cls) {
  conn *c = cls;
  if (!c->polling) {
    conn_free(c);
    return;
  }
  unlink_conn(c);
  c->ended = 1;
  /* Best effort, without waiting: tell the client we are going away. */
  if (wslay_event_queue_close(c->ctx, WSLAY_CODE_GOING_AWAY,
                              (const uint8_t *)"server shutting down", 20) == 0)
    (void)wslay_event_send(c->ctx);
  uv_close((uv_handle_t *)&c->poll, poll_closed);
}

static void conn_end(conn *c) {
  if (c->ended)
    return;
  c->ended = 1;
  unlink_conn(c);
  uv_close((uv_handle_t *)&c->poll, poll_closed); /* leaves epoll now */
  httpd_upgraded_close(c->u);
}

/* ---- wslay ---------------------------------------------------------------- */

static ssize_t c_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                      void *user) {
  conn *c = user;
  (void)flags;
  size_t n = fl_buf_drain(&c->pre, &c->pre_off, buf, len);
  if (n > 0)
    return (ssize_t)n;
  int fd = -1;
  uv_fileno((uv_handle_t *)&c->poll, &fd);
  ssize_t r = recv(fd, buf, len, 0);
  if (r > 0)
    return r;
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
  else
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
  return -1;
}

static ssize_t c_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                      void *user) {
  conn *c = user;
  (void)flags;
  int fd = -1;
  uv_fileno((uv_handle_t *)&c->poll, &fd);
  ssize_t r = send(fd, data, len, MSG_NOSIGNAL);
  if (r >= 0)
    return r;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
  else
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
  return -1;
}

/* Queues a message to c; a client that lets its queue pass the limit is
 * closed (1008). */
static void conn_queue(conn *c, uint8_t op, const void *data, size_t len) {
  if (c->ended)
    return;
  if (wslay_event_get_queued_msg_length(c->ctx) + len > WS_MAX_QUEUE) {
    wslay_event_queue_close(c->ctx, WSLAY_CODE_POLICY_VIOLATION, (const uint8_t *)"send queue full",
                            15);
    return;
  }
  struct wslay_event_msg msg = {op, data, len};
  (void)wslay_event_queue_msg(c->ctx, &msg); /* after a close: dropped */
}

static void broadcast(conn *from, uint8_t op, const uint8_t *data, size_t len) {
  fl_list *l, *next;
  FL_LIST_FOREACH_SAFE(l, next, &from->m->ws) { /* a pump may end c: it leaves the list */
    conn *c = FL_CONTAINER(l, conn, link);
    if (!c->broadcast)
      continue;
    conn_queue(c, op, data, len);
    if (c != from)
      conn_pump(c); /* the sender's pump runs after this callback */
  }
}

static void c_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                     void *user) {
  conn *c = user;
  if (a->opcode == WSLAY_PONG) {
    fl_buf b = FL_BUF_INIT(4096);
    int rc = fl_buf_puts(&b, "{\"pong\":");
    rc |= fl_json_str(&b, (const char *)a->msg, a->msg_length);
    rc |= fl_buf_putc(&b, '}');
    if (rc == FL_OK)
      conn_queue(c, WSLAY_TEXT_FRAME, b.data, b.len);
    fl_buf_free(&b);
    return;
  }
  if (a->opcode != WSLAY_TEXT_FRAME && a->opcode != WSLAY_BINARY_FRAME)
    return;
  c->seen++;
  if (c->broadcast)
    broadcast(c, a->opcode, a->msg, a->msg_length);
  else
    conn_queue(c, a->opcode, a->msg, a->msg_length);
  (void)ctx;
  if (c->close_code && c->seen == c->after)
    c->close_due = 1;
}

/* wslay sends control frames before queued messages: a close waits for
 * them to be out. */
static void close_when_flushed(conn *c) {
  if (c->close_due && wslay_event_get_queued_msg_count(c->ctx) == 0) {
    c->close_due = 0;
    wslay_event_queue_close(c->ctx, (uint16_t)c->close_code, (const uint8_t *)"mock close", 10);
  }
}

/* ---- the connection -------------------------------------------------------- */

/* ?mute=1: a peer that went quiet (for the client's idle timeout): reads
 * and drops, answers nothing (no pong), ends at EOF. */
static void mute_pump(conn *c) {
  char buf[4096];
  int fd = -1;
  uv_fileno((uv_handle_t *)&c->poll, &fd);
  for (;;) {
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r > 0)
      continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
      return;
    conn_end(c);
    return;
  }
}

static void conn_pump(conn *c) {
  if (c->ended)
    return;
  if (c->mute) {
    mute_pump(c);
    return;
  }
  int rv = 0;
  if (wslay_event_want_read(c->ctx))
    rv = wslay_event_recv(c->ctx);
  if (rv == 0 && !c->ended && wslay_event_want_write(c->ctx))
    rv = wslay_event_send(c->ctx);
  close_when_flushed(c);
  if (rv == 0 && !c->ended && wslay_event_want_write(c->ctx))
    rv = wslay_event_send(c->ctx);
  if (c->ended)
    return;
  if (rv != 0 || (!wslay_event_want_read(c->ctx) && !wslay_event_want_write(c->ctx))) {
    conn_end(c);
    return;
  }
  int ev = UV_READABLE | (wslay_event_want_write(c->ctx) ? UV_WRITABLE : 0);
  uv_poll_start(&c->poll, ev, on_poll);
}

static void on_poll(uv_poll_t *p, int status, int events) {
  (void)status; /* an error shows in the read */
  (void)events;
  conn_pump(p->data);
}

/* What the query asks to do at once. */
static void conn_greet(conn *c) {
  if (c->big > 0) {
    char *big = fl_malloc((size_t)c->big);
    if (big) {
      memset(big, 'x', (size_t)c->big);
      conn_queue(c, WSLAY_TEXT_FRAME, big, (size_t)c->big);
      fl_free(big);
    }
  }
  for (int64_t i = 1; i <= c->flood; i++) {
    char m[32];
    int n = snprintf(m, sizeof m, "flood %lld", (long long)i);
    conn_queue(c, WSLAY_TEXT_FRAME, m, (size_t)n);
  }
  if (c->ping)
    conn_queue(c, WSLAY_PING, WS_PING_DATA, sizeof WS_PING_DATA - 1);
  if (c->close_code && c->after == 0)
    c->close_due = 1;
}

static void conn_upgraded(void *cls, httpd_upgraded *u, int fd, const char *extra, size_t len) {
  static const struct wslay_event_callbacks cbs = {c_recv, c_send, NULL,    NULL,
                                                   NULL,   NULL,   c_on_msg};
  conn *c = cls;
  c->u = u;
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0)
    (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  if (fl_buf_append(&c->pre, extra, len) != FL_OK ||
      wslay_event_context_server_init(&c->ctx, &cbs, c) != 0 ||
      uv_poll_init_socket(c->m->loop, &c->poll, fd) != 0) {
    httpd_upgraded_close(u);
    conn_free(c);
    return;
  }
  wslay_event_config_set_max_recv_msg_length(c->ctx, WS_MAX_MESSAGE);
  c->polling = 1;
  c->poll.data = c;
  uv_poll_start(&c->poll, UV_READABLE, on_poll);
  fl_list_push_front(&c->m->ws, &c->link);
  conn_greet(c);
  conn_pump(c);
}

/* ---- the endpoint ---------------------------------------------------------- */

static int header_has(httpd_req *req, const char *name, const char *token) {
  const char *v = httpd_req_header(req, name);
  size_t n = strlen(token);
  for (; v && *v; v++)
    if (fl_strncaseeq(v, token, n))
      return 1;
  return 0;
}

/* 1 if the client's Sec-WebSocket-Protocol list offers name (a token). */
static int offered(httpd_req *req, const char *name) {
  const char *v = httpd_req_header(req, "Sec-WebSocket-Protocol");
  size_t n = strlen(name);
  while (v && *v) {
    v += strspn(v, " \t,");
    size_t t = strcspn(v, " \t,");
    if (t == n && strncmp(v, name, n) == 0)
      return 1;
    v += t;
  }
  return 0;
}

/* ?protocol=NAME: the client must offer NAME (else 400), the answer
 * chooses it; ?choose=NAME: the answer names it, offered or not. 0, or -1
 * after answering. */
static int subprotocol(httpd_req *req) {
  const char *need = httpd_req_query(req, "protocol");
  const char *choose = httpd_req_query(req, "choose");
  const char *bad = NULL;
  if ((need && !mock_header_value_ok(need)) || (choose && !mock_header_value_ok(choose)) ||
      (need && strlen(need) > WS_PROTOCOL_MAX) || (choose && strlen(choose) > WS_PROTOCOL_MAX))
    bad = "bad protocol or choose parameter";
  else if (need && !offered(req, need))
    bad = "this endpoint needs the subprotocol given in ?protocol= (Sec-WebSocket-Protocol)";
  if (bad) {
    mock_send_error(req, 400, bad);
    return -1;
  }
  if (choose || need)
    httpd_header(req, "Sec-WebSocket-Protocol", choose ? choose : need);
  return 0;
}

static int parse_params(httpd_req *req, conn *c) {
  int64_t ping = 0, mute = 0;
  if (mock_query_num(req, "close", 1000, 4999, 0, &c->close_code) != 0 ||
      mock_query_num(req, "after", 0, 1000000, 0, &c->after) != 0 ||
      mock_query_num(req, "big", 0, WS_BIG_MAX, 0, &c->big) != 0 ||
      mock_query_num(req, "flood", 0, WS_FLOOD_MAX, 0, &c->flood) != 0 ||
      mock_query_num(req, "ping", 0, 1, 0, &ping) != 0 ||
      mock_query_num(req, "mute", 0, 1, 0, &mute) != 0)
    return -1;
  c->ping = (int)ping;
  c->mute = (int)mute;
  return 0;
}

void mock_ws(mock_server *m, httpd_req *req, const char *arg) {
  int bc = strcmp(arg, "broadcast") == 0;
  if (!bc && strcmp(arg, "echo") != 0) {
    mock_send_static(req, 404, "{\"error\":\"not found\"}");
    return;
  }
  const char *key = httpd_req_header(req, "Sec-WebSocket-Key");
  char accept[32];
  if (strcmp(httpd_req_method(req), "GET") != 0 || key == NULL ||
      !header_has(req, "Upgrade", "websocket") || !header_has(req, "Connection", "upgrade") ||
      flurry_ws_accept_key(key, accept, sizeof accept) != 0) {
    httpd_header(req, "Upgrade", "websocket");
    mock_send_error(req, 426, "a WebSocket upgrade (GET, Upgrade: websocket) is needed");
    return;
  }
  conn *c = fl_calloc(1, sizeof *c);
  if (c == NULL) {
    mock_send_error(req, 500, "out of memory");
    return;
  }
  c->m = m;
  c->broadcast = bc;
  c->pre.max = 65536;
  if (parse_params(req, c) != 0) {
    fl_free(c);
    mock_send_error(req, 400, "bad close, after, big, flood, ping or mute parameter");
    return;
  }
  if (subprotocol(req) != 0) {
    fl_free(c);
    return;
  }
  if (httpd_req_query(req, "bad_accept"))
    accept[0] = accept[0] == 'A' ? 'B' : 'A';
  httpd_header(req, "Upgrade", "websocket");
  httpd_header(req, "Sec-WebSocket-Accept", accept);
  httpd_reply_upgrade(req, conn_upgraded, conn_abandon, c);
}
