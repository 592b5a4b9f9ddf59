/* ws.c: a WebSocket client connection on the client's loop.
 *
 * Transport: libcurl with CURLOPT_CONNECT_ONLY makes the connection (DNS,
 * TCP, TLS with verification and the client's CA file, proxies through a
 * CONNECT tunnel, the connect timeout); the handshake and the frames then go
 * over it with curl_easy_send()/curl_easy_recv(), driven by the uv_poll_t
 * the glue already has for CURLINFO_ACTIVESOCKET (adopted: libuv allows one
 * poll handle per descriptor). wslay does the RFC 6455 framing.
 *
 * Why a private multi handle per connection (a small flurry_client of its
 * own, on the same loop) and not the client's: libcurl 7.88 puts a finished
 * CONNECT_ONLY connection back in its multi handle's connection cache, where
 * a later transfer of that multi may prune it (idle past CURLOPT_MAXAGE_CONN,
 * or "dead" because unread input is waiting: any WebSocket message) and
 * close the socket under us. Alone in its multi nothing else prunes it. The
 * alternative, uv_tcp + OpenSSL by hand, would re-implement TLS
 * verification, proxies and DNS.
 *
 * States: CONNECTING (libcurl) -> SEND_HEAD -> RECV_HEAD -> OPEN -> CLOSING
 * (a close frame queued, sent or received) -> ENDING (outcome recorded; the
 * timer fires at once) -> DONE (on_close ran; the memory goes when the
 * timer's handle is closed). One timer serves every deadline: the
 * handshake, the idle ping/timeout, the close, and the end.
 *
 * Bounds on what the server can make us queue: every byte wslay reads
 * passes ws_frame.c first, which turns pings into pongs for wslay (so that
 * wslay queues no answer of its own) and catches the framing errors wslay
 * would fail on without a close code (closed here with 1002). A ping is
 * answered once no pong of ours may still be waiting in wslay's queue, with
 * the latest ping's payload (RFC 6455 5.5.3): one pong at most is ever
 * queued. And while the send queue is over its cap (FLURRY_WS_PAUSE_MESSAGES
 * messages, or more than max_send_queue bytes) reading stops until it
 * drains; the idle rule then counts bytes the server read as life. */
#include <openssl/rand.h>
#include <string.h>
#include <wslay/wslay.h>

#include "glue_int.h"
#include "opt_int.h"
#include "response_int.h"
#include "ws_int.h"

enum ws_state {
  WS_CONNECTING,
  WS_SEND_HEAD,
  WS_RECV_HEAD,
  WS_OPEN,
  WS_CLOSING,
  WS_ENDING,
  WS_DONE
};

#define WS_MAX_REASON 123
/* Socket bytes read per round at most: then the queued frames (pongs) go
 * out and the loop runs its other handles before reading on. A read cut
 * short goes on at the next writable event (nearly always there; the poll
 * may not say readable: TLS can hold decrypted bytes). */
#define WS_READ_BUDGET (64 * 1024)

struct flurry_ws {
  enum ws_state state;
  flurry_client *inner; /* private: its multi holds only this connection */
  CURL *easy;
  flurry__sock *sock; /* adopted poll handle, once connected */
  uv_timer_t timer;
  int detached; /* no socket (flurry__ws_detached_new) */
  wslay_event_context_ptr wslay;
  flurry_ws_callbacks cb;
  void *ud;
  flurry_ws_opts o;
  fl_buf head; /* the handshake request, then the answer */
  size_t sent; /* request bytes written */
  fl_buf pre;  /* frame bytes that came after the answer's head */
  size_t pre_off;
  char accept[FLURRY__WS_ACCEPT_LEN + 1];
  char *offered;  /* the subprotocols offered, "a, b"; NULL: none */
  char *protocol; /* the one the server chose; NULL: none */
  uint64_t rx;    /* bytes received, for the idle check */
  uint64_t tx;    /* bytes sent, for the idle check while paused */
  int ping_sent;  /* the idle ping is out */
  /* what the server can make us do */
  int paused;              /* reading stopped: the send queue is over its cap */
  int more;                /* the read budget cut the last read short */
  int blocked;             /* detached, tests: sends would block */
  size_t budget;           /* socket bytes this round may still read */
  const char *bad_frame;   /* the framing error the scan caught, or NULL */
  flurry__ws_scanner scan; /* the frame heads ahead of wslay */
  int pong_due;            /* a ping waits for its pong (payload in ping[]) */
  size_t pong_ahead;       /* messages to send before our last pong surely went */
  size_t ping_len;
  uint8_t ping[125];
  int eof; /* the server closed the TCP connection */
  CURLcode io_err;
  /* the outcome */
  int err;
  fl_buf msg;
  int http_status;
  int close_known; /* a close frame went one way: code, reason, by_server */
  int close_code;
  int by_server;
  int close_err; /* what a close wslay started itself means (1009...) */
  int close_due; /* flurry_ws_close: queue it once the messages are out */
  int due_code;
  char due_reason[WS_MAX_REASON + 1];
  size_t due_len;
  char reason[WS_MAX_REASON + 1];
  size_t reason_len;
  char errbuf[CURL_ERROR_SIZE];
};

static void on_timer(uv_timer_t *t);

/* ---- the end ------------------------------------------------------------- */

static void ws_free(flurry_ws *ws) {
  fl_buf_free(&ws->head);
  fl_buf_free(&ws->pre);
  fl_buf_free(&ws->msg);
  fl_free(ws->offered);
  fl_free(ws->protocol);
  fl_free(ws);
}

static void ws_freed(uv_handle_t *h) { ws_free(h->data); }

static void teardown(flurry_ws *ws) {
  if (ws->wslay)
    wslay_event_context_free(ws->wslay);
  ws->wslay = NULL;
  if (ws->easy) {
    curl_multi_remove_handle(ws->inner->multi, ws->easy); /* closes it */
    curl_easy_cleanup(ws->easy);
    ws->easy = NULL;
  }
  flurry_client_free(ws->inner); /* its handles close on the loop */
  ws->inner = NULL;
  if (ws->detached)
    ws_freed((uv_handle_t *)&ws->timer);
  else
    uv_close((uv_handle_t *)&ws->timer, ws_freed);
}

/* Runs on_close, once. */
static void report(flurry_ws *ws) {
  flurry_ws_status st;
  memset(&st, 0, sizeof st);
  st.err = ws->err;
  st.message = ws->msg.data ? ws->msg.data : "";
  st.code = ws->close_known ? ws->close_code : 1006;
  st.reason = ws->close_known ? ws->reason : "";
  st.reason_len = ws->close_known ? ws->reason_len : 0;
  st.by_server = ws->close_known && ws->by_server;
  st.http_status = ws->http_status;
  ws->state = WS_DONE;
  ws->cb.on_close(ws, &st, ws->ud);
}

/* Records the outcome (the first one wins; the message in ws->msg stays) and
 * ends on the next loop turn, outside whatever libcurl, wslay or libuv call
 * is on the stack. */
static void finish(flurry_ws *ws, int err) {
  if (ws->state >= WS_ENDING)
    return;
  ws->state = WS_ENDING;
  ws->err = err;
  if (ws->detached)
    return;
  if (ws->sock)
    flurry__glue_watch(ws->sock, 0);
  uv_timer_start(&ws->timer, on_timer, 0, 0);
}

/* finish() with a message. */
static void end(flurry_ws *ws, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void end(flurry_ws *ws, int err, const char *fmt, ...) {
  if (ws->state >= WS_ENDING)
    return;
  fl_buf_reset(&ws->msg);
  va_list ap;
  va_start(ap, fmt);
  (void)fl_buf_vprintf(&ws->msg, fmt, ap); /* out of memory: no message */
  va_end(ap);
  finish(ws, err);
}

static void arm(flurry_ws *ws, int64_t ms) {
  if (!ws->detached)
    uv_timer_start(&ws->timer, on_timer, (uint64_t)ms, 0);
}

/* ---- wslay callbacks ------------------------------------------------------ */

static ssize_t would_block(wslay_event_context_ptr ctx) {
  wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
  return -1;
}

/* The send queue is over its cap: reading waits until it drains. */
static int over_cap(flurry_ws *ws) {
  return wslay_event_get_write_enabled(ws->wslay) &&
         (wslay_event_get_queued_msg_count(ws->wslay) >= FLURRY_WS_PAUSE_MESSAGES ||
          wslay_event_get_queued_msg_length(ws->wslay) > ws->o.max_send_queue);
}

/* What wslay reads: the bytes after the handshake's head, then the socket's;
 * each through the frame scan (ws_frame.c). */
static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *user) {
  flurry_ws *ws = user;
  (void)flags;
  if (ws->bad_frame != NULL)
    return would_block(ctx);
  if (over_cap(ws)) {
    ws->paused = 1;
    return would_block(ctx);
  }
  size_t room = 2 * flurry__ws_scan_room(&ws->scan); /* a ping/pong takes 2 bytes or more */
  len = len < room ? len : room > 0 ? room : 1;
  size_t got = fl_buf_drain(&ws->pre, &ws->pre_off, buf, len);
  if (got == 0 && ws->detached)
    return would_block(ctx);
  if (got == 0) {
    if (ws->budget == 0) {
      ws->more = 1;
      return would_block(ctx);
    }
    CURLcode rc = curl_easy_recv(ws->easy, buf, len < ws->budget ? len : ws->budget, &got);
    if (rc == CURLE_AGAIN)
      return would_block(ctx);
    if (rc != CURLE_OK || got == 0) {
      ws->eof = rc == CURLE_OK;
      ws->io_err = rc;
      wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
      return -1;
    }
    ws->budget -= got;
  }
  size_t ok = flurry__ws_scan(&ws->scan, buf, got, &ws->bad_frame);
  ws->rx += ok;
  return ok > 0 ? (ssize_t)ok : would_block(ctx);
}

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user) {
  flurry_ws *ws = user;
  (void)flags;
  size_t n = len;
  if (ws->detached && ws->blocked)
    return would_block(ctx);
  CURLcode rc = ws->detached ? CURLE_OK : curl_easy_send(ws->easy, data, len, &n);
  if (rc == CURLE_AGAIN)
    return would_block(ctx);
  if (rc != CURLE_OK) {
    ws->io_err = rc;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  ws->tx += n;
  return (ssize_t)n;
}

static int ws_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user) {
  (void)user;
  if (RAND_bytes(buf, (int)len) != 1) {
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return 0;
}

static void note_close(flurry_ws *ws, int by_server, int code, const uint8_t *reason, size_t len) {
  if (ws->close_known)
    return;
  ws->close_known = 1;
  ws->by_server = by_server;
  ws->close_code = code ? code : 1005;
  len = len < WS_MAX_REASON ? len : WS_MAX_REASON;
  if (reason != NULL)
    memcpy(ws->reason, reason, len);
  ws->reason[len] = '\0';
  ws->reason_len = len;
}

/* A ping came (as a pong, see ws_frame.c): its pong goes out later, with
 * the latest ping's payload (send_out). */
static void note_ping(flurry_ws *ws, const uint8_t *data, size_t len) {
  if (len > sizeof(ws->ping))
    len = sizeof(ws->ping); /* never: the scan saw to it (<= 125) */
  if (len > 0)
    memcpy(ws->ping, data, len);
  ws->ping_len = len;
  ws->pong_due = 1;
}

static void ws_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                      void *user) {
  flurry_ws *ws = user;
  (void)ctx;
  const char *data = (const char *)a->msg;
  int ping = a->opcode == WSLAY_PONG && flurry__ws_scan_pop(&ws->scan);
  if (ws->state >= WS_ENDING)
    return;
  if (ping)
    note_ping(ws, a->msg, a->msg_length);
  switch (a->opcode) {
  case WSLAY_TEXT_FRAME:
  case WSLAY_BINARY_FRAME:
    ws->cb.on_message(ws, a->opcode == WSLAY_TEXT_FRAME ? FLURRY_WS_TEXT : FLURRY_WS_BINARY, data,
                      a->msg_length, ws->ud);
    break;
  case WSLAY_PING:
  case WSLAY_PONG:
    if (ws->cb.on_control)
      ws->cb.on_control(ws, a->opcode == WSLAY_PING || ping ? FLURRY_WS_PING : FLURRY_WS_PONG, data,
                        a->msg_length, ws->ud);
    break;
  case WSLAY_CONNECTION_CLOSE:
    note_close(ws, 1, a->status_code, a->msg_length > 2 ? a->msg + 2 : NULL,
               a->msg_length > 2 ? a->msg_length - 2 : 0);
    break;
  default:
    break;
  }
}

/* ---- the open connection ----------------------------------------------- */

/* A close wslay sent on its own: the frames broke a rule or a limit. */
static void note_own_close(flurry_ws *ws) {
  if (ws->close_known || !wslay_event_get_close_sent(ws->wslay))
    return;
  int code = wslay_event_get_status_code_sent(ws->wslay);
  note_close(ws, 0, code, NULL, 0);
  if (code == WSLAY_CODE_MESSAGE_TOO_BIG) {
    ws->close_err = FLURRY_ETOO_LARGE;
    fl_buf_reset(&ws->msg);
    (void)fl_buf_printf(&ws->msg, "a message exceeded the limit of %zu bytes (closed with 1009)",
                        ws->o.max_message);
  } else if (code != 0 && ws->close_err == 0) {
    ws->close_err = FLURRY_EPROTOCOL;
    fl_buf_reset(&ws->msg);
    (void)fl_buf_printf(&ws->msg, "the server broke the WebSocket protocol (closed with %d)", code);
  }
}

static void watch(flurry_ws *ws) {
  if (ws->sock == NULL || ws->state >= WS_ENDING)
    return;
  int ev = (wslay_event_want_read(ws->wslay) && !ws->paused ? UV_READABLE : 0) |
           (wslay_event_want_write(ws->wslay) || ws->more ? UV_WRITABLE : 0);
  flurry__glue_watch(ws->sock, ev);
}

/* After a failed wslay_event_recv/send. */
static void io_failed(flurry_ws *ws, int rv) {
  if (rv == WSLAY_ERR_NOMEM) {
    end(ws, FLURRY_ENOMEM, "out of memory");
  } else if (wslay_event_get_close_received(ws->wslay)) {
    /* The server said its last word (its close frame) and went: whether
     * our answer got out or not, the close is complete. */
    finish(ws, ws->close_err);
  } else if (ws->eof) {
    end(ws, FLURRY_ERESET, "the server closed the connection without a close handshake");
  } else if (ws->io_err != CURLE_OK) {
    int kind = flurry__curl_kind(ws->io_err);
    end(ws, kind == FLURRY_OK ? FLURRY_ERESET : kind, "%s", curl_easy_strerror(ws->io_err));
  } else {
    end(ws, FLURRY_EPROTOCOL, "WebSocket error %d", rv);
  }
}

/* The pong for the latest ping, once no pong of ours may still be queued.
 * wslay sends its control frames in order and before queued messages, so
 * the pong is surely out once as many messages went as were queued with it
 * (pong_ahead). */
static int queue_pong(flurry_ws *ws) {
  if (!ws->pong_due || ws->pong_ahead > 0)
    return 0;
  ws->pong_due = 0;
  struct wslay_event_msg m = {WSLAY_PONG, ws->ping, ws->ping_len};
  int rv = wslay_event_queue_msg(ws->wslay, &m);
  if (rv == WSLAY_ERR_NO_MORE_MSG)
    return 0; /* closing: no pong */
  ws->pong_ahead = rv == 0 ? wslay_event_get_queued_msg_count(ws->wslay) : 0;
  return rv;
}

/* Writes what is queued; a ping that waited for the last pong to go gets
 * its own next. */
static int send_out(flurry_ws *ws) {
  int rv = 0;
  for (int round = 0; round < 2 && rv == 0; round++) {
    rv = queue_pong(ws);
    size_t before = wslay_event_get_queued_msg_count(ws->wslay);
    if (rv == 0)
      rv = wslay_event_send(ws->wslay);
    size_t went = before - wslay_event_get_queued_msg_count(ws->wslay);
    ws->pong_ahead = went < ws->pong_ahead ? ws->pong_ahead - went : 0;
    if (!ws->pong_due || ws->pong_ahead > 0)
      break;
  }
  return rv;
}

/* The server broke the framing (ws->bad_frame): close with 1002 and read no
 * more (RFC 6455 7.1.7). */
static int fail_frame(flurry_ws *ws) {
  wslay_event_shutdown_read(ws->wslay);
  if (ws->close_err == 0) {
    ws->close_err = FLURRY_EPROTOCOL;
    fl_buf_reset(&ws->msg);
    (void)fl_buf_printf(&ws->msg, "the server broke the WebSocket protocol: %s (closed with 1002)",
                        ws->bad_frame);
  }
  int rv = wslay_event_queue_close(ws->wslay, WSLAY_CODE_PROTOCOL_ERROR,
                                   (const uint8_t *)ws->bad_frame, strlen(ws->bad_frame));
  return rv == WSLAY_ERR_NO_MORE_MSG ? 0 : rv;
}

/* Reads what is there, but never while the send queue is over its cap. */
static int read_frames(flurry_ws *ws) {
  ws->paused = 0;
  ws->more = 0;
  ws->budget = WS_READ_BUDGET;
  int rv = wslay_event_recv(ws->wslay);
  if (rv == 0 && ws->bad_frame != NULL && wslay_event_get_read_enabled(ws->wslay))
    rv = fail_frame(ws);
  return rv;
}

/* wslay sends control frames before queued messages: the user's close
 * waits until they are out ("queued messages go first"). */
static int close_when_flushed(flurry_ws *ws) {
  if (!ws->close_due || wslay_event_get_queued_msg_count(ws->wslay) != 0)
    return 0;
  ws->close_due = 0;
  int rv = wslay_event_queue_close(ws->wslay, (uint16_t)ws->due_code,
                                   (const uint8_t *)ws->due_reason, ws->due_len);
  if (rv == WSLAY_ERR_NO_MORE_MSG)
    return 0; /* the server's close came first: wslay answers it */
  if (rv == 0)
    note_close(ws, 0, ws->due_code, (const uint8_t *)ws->due_reason, ws->due_len);
  return rv == 0 ? send_out(ws) : rv;
}

/* One round: read what is there, write what is queued (and when that let a
 * paused read go on, once more), see where we are. */
static void pump(flurry_ws *ws, int readable, int writable) {
  uint64_t rx = ws->rx, tx = ws->tx;
  int rv = 0;
  if (readable && wslay_event_want_read(ws->wslay))
    rv = read_frames(ws);
  if (rv == 0 && ws->state < WS_ENDING &&
      (writable || wslay_event_want_write(ws->wslay) || ws->pong_due))
    rv = send_out(ws);
  if (rv == 0 && ws->state < WS_ENDING && ws->paused && !over_cap(ws) &&
      wslay_event_want_read(ws->wslay)) {
    rv = read_frames(ws);
    if (rv == 0 && ws->state < WS_ENDING)
      rv = send_out(ws);
  }
  if (rv == 0 && ws->state < WS_ENDING)
    rv = close_when_flushed(ws);
  if (ws->state >= WS_ENDING)
    return;
  note_own_close(ws);
  if (rv != 0) {
    io_failed(ws, rv);
    return;
  }
  if (!wslay_event_want_read(ws->wslay) && !wslay_event_want_write(ws->wslay)) {
    finish(ws, ws->close_err);
    return;
  }
  int closing = wslay_event_get_close_received(ws->wslay) ||
                wslay_event_get_close_sent(ws->wslay) || !wslay_event_get_read_enabled(ws->wslay);
  if (ws->state == WS_OPEN && closing) {
    ws->state = WS_CLOSING;
    arm(ws, ws->o.close_timeout_ms);
  } else if (ws->state == WS_OPEN && (ws->rx != rx || (ws->paused && ws->tx != tx))) {
    ws->ping_sent = 0;
    arm(ws, ws->o.idle_timeout_ms / 2);
  }
  watch(ws);
}

static int open_wslay(flurry_ws *ws) {
  static const struct wslay_event_callbacks cbs = {ws_recv, ws_send, ws_genmask, NULL,
                                                   NULL,    NULL,    ws_on_msg};
  if (wslay_event_context_client_init(&ws->wslay, &cbs, ws) != 0)
    return FLURRY_ENOMEM;
  flurry__ws_scan_init(&ws->scan);
  wslay_event_config_set_max_recv_msg_length(ws->wslay, ws->o.max_message);
  return FLURRY_OK;
}

/* ---- the handshake -------------------------------------------------------- */

static void send_head(flurry_ws *ws) {
  while (ws->sent < ws->head.len) {
    size_t n = 0;
    CURLcode rc = curl_easy_send(ws->easy, ws->head.data + ws->sent, ws->head.len - ws->sent, &n);
    if (rc == CURLE_AGAIN)
      return;
    if (rc != CURLE_OK) {
      int kind = flurry__curl_kind(rc);
      end(ws, kind == FLURRY_OK ? FLURRY_ERESET : kind, "sending the handshake: %s",
          curl_easy_strerror(rc));
      return;
    }
    ws->sent += n;
  }
  fl_buf_reset(&ws->head);
  ws->head.max = FLURRY__WS_MAX_HEAD;
  ws->state = WS_RECV_HEAD;
  flurry__glue_watch(ws->sock, UV_READABLE);
}

/* The answer is in: keep what follows its head, go open. */
static void opened(flurry_ws *ws, size_t head_len) {
  int rc = fl_buf_append(&ws->pre, ws->head.data + head_len, ws->head.len - head_len);
  fl_buf_free(&ws->head);
  if (rc != FL_OK || open_wslay(ws) != FLURRY_OK) {
    end(ws, FLURRY_ENOMEM, "out of memory");
    return;
  }
  ws->state = WS_OPEN;
  arm(ws, ws->o.idle_timeout_ms / 2);
  if (ws->cb.on_open)
    ws->cb.on_open(ws, ws->ud);
  if (ws->state < WS_ENDING)
    pump(ws, 1, 1);
}

static void recv_head(flurry_ws *ws) {
  for (;;) {
    char buf[4096];
    size_t room = ws->head.max - ws->head.len, n = 0;
    CURLcode rc = curl_easy_recv(ws->easy, buf, room < sizeof buf ? room : sizeof buf, &n);
    if (rc == CURLE_AGAIN)
      return;
    if (rc != CURLE_OK || n == 0) {
      end(ws, FLURRY_ERESET, "the connection closed during the handshake%s%s", rc ? ": " : "",
          rc ? curl_easy_strerror(rc) : "");
      return;
    }
    (void)fl_buf_append(&ws->head, buf, n); /* fits: n <= room */
    int err = 0;
    const char *why = "";
    flurry__ws_expect x = {ws->accept, ws->offered, NULL, {0, 0}};
    long r = flurry__ws_response_parse(ws->head.data, ws->head.len, &x, &ws->http_status, &err,
                                       &why);
    if (r < 0) {
      end(ws, err, "%s (HTTP status %d)", why, ws->http_status);
      return;
    }
    if (r > 0 && x.chosen[1] > 0)
      ws->protocol = fl_strndup(ws->head.data + x.chosen[0], x.chosen[1]);
    if (r > 0 && x.chosen[1] > 0 && ws->protocol == NULL) {
      end(ws, FLURRY_ENOMEM, "out of memory");
      return;
    }
    if (r > 0) {
      opened(ws, (size_t)r);
      return;
    }
  }
}

static void on_io(void *arg, int status, int events) {
  flurry_ws *ws = arg;
  if (status < 0 && ws->state < WS_OPEN) {
    end(ws, FLURRY_ERESET, "socket error during the handshake: %s", uv_strerror(status));
    return;
  }
  if (status < 0)
    events = UV_READABLE; /* the read says what went wrong */
  switch (ws->state) {
  case WS_SEND_HEAD:
    send_head(ws);
    break;
  case WS_RECV_HEAD:
    recv_head(ws);
    break;
  case WS_OPEN:
  case WS_CLOSING:
    pump(ws, (events & UV_READABLE) || ws->more, events & UV_WRITABLE);
    break;
  default:
    break;
  }
}

/* libcurl connected (or could not): the private client's done hook. */
static void on_connected(flurry_client *c, CURL *easy, CURLcode result) {
  flurry_ws *ws = NULL;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&ws);
  if (ws == NULL || ws->state != WS_CONNECTING)
    return;
  if (result != CURLE_OK) {
    int kind = result == CURLE_OUT_OF_MEMORY ? FLURRY_ENOMEM : flurry__curl_kind(result);
    end(ws, kind, "%s", ws->errbuf[0] ? ws->errbuf : curl_easy_strerror(result));
    return;
  }
  curl_socket_t fd = CURL_SOCKET_BAD;
  if (curl_easy_getinfo(easy, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD ||
      (ws->sock = flurry__glue_adopt(c, fd, on_io, ws)) == NULL) {
    end(ws, FLURRY_EINTERNAL, "no socket for the connection");
    return;
  }
  ws->state = WS_SEND_HEAD;
  arm(ws, ws->o.handshake_timeout_ms);
  flurry__glue_watch(ws->sock, UV_WRITABLE);
}

static void on_timer(uv_timer_t *t) {
  flurry_ws *ws = t->data;
  switch (ws->state) {
  case WS_CONNECTING:
  case WS_SEND_HEAD:
  case WS_RECV_HEAD:
    end(ws, FLURRY_ETIMEOUT, "the WebSocket handshake took longer than %lld ms",
        (long long)ws->o.handshake_timeout_ms);
    break;
  case WS_OPEN:
    if (ws->ping_sent && ws->paused) {
      end(ws, FLURRY_ETIMEOUT, "the server read none of the %zu messages queued for %lld ms",
          wslay_event_get_queued_msg_count(ws->wslay), (long long)ws->o.idle_timeout_ms);
      break;
    }
    if (ws->ping_sent) {
      end(ws, FLURRY_ETIMEOUT, "nothing from the server for %lld ms",
          (long long)ws->o.idle_timeout_ms);
      break;
    }
    ws->ping_sent = 1;
    (void)flurry_ws_send(ws, FLURRY_WS_PING, "", 0);
    arm(ws, ws->o.idle_timeout_ms - ws->o.idle_timeout_ms / 2);
    break;
  case WS_CLOSING:
    end(ws, FLURRY_ETIMEOUT, "no close frame from the server within %lld ms",
        (long long)ws->o.close_timeout_ms);
    break;
  case WS_ENDING:
    report(ws);
    teardown(ws);
    break;
  default:
    break;
  }
}

/* ---- public --------------------------------------------------------------- */

FLURRY_API void flurry_ws_opts_init(flurry_ws_opts *opts) {
  if (opts)
    memset(opts, 0, sizeof *opts);
}

static int opts_resolve(flurry_ws_opts *o, const flurry_ws_opts *in, int64_t connect_ms) {
  if (in)
    *o = *in;
  else
    memset(o, 0, sizeof *o);
  if (o->connect_timeout_ms < 0 || o->handshake_timeout_ms < 0 || o->idle_timeout_ms < 0 ||
      o->close_timeout_ms < 0 || o->max_message > ((uint64_t)1 << 31) - 1)
    return FLURRY_EINVALID;
#define DEF(f, v)                                                                                  \
  if (o->f == 0)                                                                                   \
  o->f = (v)
  DEF(max_message, FLURRY_WS_DEFAULT_MAX_MESSAGE);
  DEF(max_send_queue, FLURRY_WS_DEFAULT_MAX_SEND_QUEUE);
  DEF(connect_timeout_ms, connect_ms);
  DEF(handshake_timeout_ms, FLURRY_WS_DEFAULT_HANDSHAKE_TIMEOUT_MS);
  DEF(idle_timeout_ms, FLURRY_WS_DEFAULT_IDLE_TIMEOUT_MS);
  DEF(close_timeout_ms, FLURRY_WS_DEFAULT_CLOSE_TIMEOUT_MS);
#undef DEF
  if (o->idle_timeout_ms < 2)
    o->idle_timeout_ms = 2;
  return FLURRY_OK;
}

/* The offered subprotocols as one header value, "a, b" (*out NULL for
 * none). FLURRY_EINVALID: not a token, a duplicate, too many. */
static int join_protocols(const char *const *p, char **out) {
  fl_buf b = FL_BUF_INIT(0);
  int rc = FLURRY_OK;
  size_t i = 0;
  for (; rc == FLURRY_OK && p && p[i]; i++) {
    size_t n = strlen(p[i]);
    int bad = i >= FLURRY_WS_MAX_PROTOCOLS || n == 0 || n > 256 ||
              strspn(p[i], "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != n;
    for (size_t j = 0; !bad && j < i; j++)
      bad = strcmp(p[i], p[j]) == 0;
    if (bad)
      rc = FLURRY_EINVALID;
    else if (fl_buf_printf(&b, "%s%s", i ? ", " : "", p[i]) != FL_OK)
      rc = FLURRY_ENOMEM;
  }
  if (rc == FLURRY_OK && i > 0) {
    *out = fl_buf_take(&b, NULL);
    rc = *out ? FLURRY_OK : FLURRY_ENOMEM;
  }
  fl_buf_free(&b);
  return rc;
}

FLURRY_API const char *flurry_ws_protocol(const flurry_ws *ws) { return ws ? ws->protocol : NULL; }

static flurry_ws *ws_alloc(const flurry_ws_callbacks *cbs, void *user_data) {
  flurry_ws *ws = fl_calloc(1, sizeof *ws);
  if (ws == NULL)
    return NULL;
  ws->cb = *cbs;
  ws->ud = user_data;
  ws->head.max = FLURRY__WS_MAX_REQUEST;
  ws->pre.max = FLURRY__WS_MAX_HEAD;
  ws->msg.max = 512;
  ws->timer.data = ws;
  return ws;
}

static void easy_setup(flurry_ws *ws, flurry_client *client, const flurry__ws_url *u) {
  CURL *e = ws->easy;
  curl_easy_setopt(e, CURLOPT_URL, u->connect_url);
  curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(e, CURLOPT_PRIVATE, ws);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ws->errbuf);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, flurry__glue_close_socket);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, ws->inner);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1); /* ALPN: no h2 */
  curl_easy_setopt(e, CURLOPT_HTTPPROXYTUNNEL, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)ws->o.connect_timeout_ms);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)ws->o.connect_timeout_ms);
  long verify = client->opts.v[FLURRY_OPT_VERIFY_TLS] ? 1L : 0L;
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, verify);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
  if (client->ca_file)
    curl_easy_setopt(e, CURLOPT_CAINFO, client->ca_file);
}

/* The private client and the easy handle, the request text. */
static int ws_start(flurry_ws *ws, flurry_client *client, const flurry__ws_url *u,
                    const char *const *headers) {
  char key[FLURRY__WS_KEY_LEN + 1];
  int rc = flurry__ws_new_key(key);
  if (rc == FLURRY_OK)
    rc = flurry_ws_accept_key(key, ws->accept, sizeof ws->accept);
  if (rc != FLURRY_OK)
    return rc;
  rc = flurry__ws_request(&ws->head, u, key, ws->offered, headers, flurry__user_headers(client));
  if (rc != FL_OK)
    return rc == FL_ELIMIT ? FLURRY_EINVALID : FLURRY_ENOMEM;
  rc = flurry_client_new(&ws->inner, client->loop);
  if (rc != FLURRY_OK)
    return rc;
  ws->inner->done_hook = on_connected;
  ws->easy = curl_easy_init();
  if (ws->easy == NULL)
    return FLURRY_ENOMEM;
  easy_setup(ws, client, u);
  if (curl_multi_add_handle(ws->inner->multi, ws->easy) != CURLM_OK)
    return FLURRY_ENOMEM;
  (void)uv_timer_init(client->loop, &ws->timer); /* cannot fail */
  arm(ws, ws->o.connect_timeout_ms + ws->o.handshake_timeout_ms);
  return FLURRY_OK;
}

FLURRY_API int flurry_ws_connect(flurry_ws **out, flurry_client *client, const char *url,
                                 const char *const *headers, const flurry_ws_opts *opts,
                                 const flurry_ws_callbacks *cbs, void *user_data) {
  if (out == NULL || client == NULL || url == NULL || cbs == NULL || cbs->on_message == NULL ||
      cbs->on_close == NULL)
    return FLURRY_EINVALID;
  for (size_t i = 0; headers && headers[i]; i++)
    if (!flurry__ws_header_ok(headers[i]))
      return FLURRY_EINVALID;
  flurry_ws_opts o;
  if (opts_resolve(&o, opts, client->opts.v[FLURRY_OPT_CONNECT_TIMEOUT_MS]) != FLURRY_OK)
    return FLURRY_EINVALID;
  flurry__ws_url u;
  int rc = flurry__ws_url_parse(url, &u);
  if (rc != FLURRY_OK)
    return rc;
  flurry_ws *ws = ws_alloc(cbs, user_data);
  rc = ws ? FLURRY_OK : FLURRY_ENOMEM;
  if (ws) {
    ws->o = o;
    ws->o.protocols = NULL; /* borrowed: joined into ws->offered */
    rc = join_protocols(o.protocols, &ws->offered);
  }
  if (rc == FLURRY_OK)
    rc = ws_start(ws, client, &u, headers);
  flurry__ws_url_free(&u);
  if (rc != FLURRY_OK && ws) {
    if (ws->easy)
      curl_easy_cleanup(ws->easy);
    flurry_client_free(ws->inner);
    ws_free(ws);
    return rc;
  }
  if (rc == FLURRY_OK)
    *out = ws;
  return rc;
}

FLURRY_API int flurry_ws_send(flurry_ws *ws, flurry_ws_type type, const void *data, size_t len) {
  if (ws == NULL || (data == NULL && len > 0) || ws->state != WS_OPEN)
    return FLURRY_EINVALID;
  uint8_t op;
  if (type == FLURRY_WS_TEXT)
    op = WSLAY_TEXT_FRAME;
  else if (type == FLURRY_WS_BINARY)
    op = WSLAY_BINARY_FRAME;
  else if (type == FLURRY_WS_PING && len <= 125)
    op = WSLAY_PING;
  else
    return FLURRY_EINVALID;
  size_t queued = flurry_ws_queued(ws); /* pongs may have taken it past the limit */
  if (queued > ws->o.max_send_queue || len > ws->o.max_send_queue - queued)
    return FLURRY_ETOO_LARGE;
  if (op == WSLAY_TEXT_FRAME && !fl_utf8_valid(data, len))
    return FLURRY_EINVALID; /* RFC 6455 5.6: the server would fail us with 1007 */
  struct wslay_event_msg m = {op, (const uint8_t *)data, len};
  int rv = wslay_event_queue_msg(ws->wslay, &m);
  if (rv == WSLAY_ERR_NOMEM)
    return FLURRY_ENOMEM;
  if (rv != 0)
    return FLURRY_EINVALID;
  watch(ws);
  return FLURRY_OK;
}

static int code_ok(int code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

FLURRY_API int flurry_ws_close(flurry_ws *ws, int code, const char *reason) {
  if (ws == NULL || ws->state >= WS_CLOSING)
    return FLURRY_EINVALID;
  code = code ? code : 1000;
  size_t rl = reason ? strlen(reason) : 0;
  if (!code_ok(code) || rl > WS_MAX_REASON)
    return FLURRY_EINVALID;
  if (ws->state < WS_OPEN) {
    end(ws, FLURRY_ECANCELLED, "closed before the handshake completed");
    return FLURRY_OK;
  }
  if (wslay_event_get_close_sent(ws->wslay) || !wslay_event_get_write_enabled(ws->wslay))
    return FLURRY_EINVALID; /* wslay is closing already */
  ws->due_code = code;
  if (rl)
    memcpy(ws->due_reason, reason, rl);
  ws->due_len = rl;
  ws->close_due = 1;
  ws->state = WS_CLOSING;
  arm(ws, ws->o.close_timeout_ms);
  if (ws->sock)
    flurry__glue_watch(ws->sock, UV_READABLE | UV_WRITABLE); /* pump queues it */
  return FLURRY_OK;
}

FLURRY_API size_t flurry_ws_queued(const flurry_ws *ws) {
  return ws && ws->wslay ? wslay_event_get_queued_msg_length(ws->wslay) : 0;
}

FLURRY_API size_t flurry_ws_queued_messages(const flurry_ws *ws) {
  return ws && ws->wslay ? wslay_event_get_queued_msg_count(ws->wslay) : 0;
}

/* ---- detached: the receive path without a socket ------------------------- */

int flurry__ws_detached_new(flurry_ws **out, const flurry_ws_opts *opts,
                            const flurry_ws_callbacks *cbs, void *user_data) {
  if (out == NULL || cbs == NULL || cbs->on_message == NULL || cbs->on_close == NULL)
    return FLURRY_EINVALID;
  flurry_ws_opts o;
  if (opts_resolve(&o, opts, flurry__opt_default(FLURRY_OPT_CONNECT_TIMEOUT_MS)) != FLURRY_OK)
    return FLURRY_EINVALID;
  flurry_ws *ws = ws_alloc(cbs, user_data);
  if (ws == NULL)
    return FLURRY_ENOMEM;
  ws->o = o;
  ws->detached = 1;
  ws->pre.max = FLURRY__WS_MAX_FEED;
  if (open_wslay(ws) != FLURRY_OK) {
    fl_free(ws);
    return FLURRY_ENOMEM;
  }
  ws->state = WS_OPEN;
  *out = ws;
  return FLURRY_OK;
}

int flurry__ws_feed(flurry_ws *ws, const void *data, size_t len) {
  if (ws->state < WS_ENDING) {
    if (ws->pre_off == ws->pre.len) {
      fl_buf_reset(&ws->pre);
      ws->pre_off = 0;
    }
    if (fl_buf_append(&ws->pre, data, len) != FL_OK)
      end(ws, FLURRY_ENOMEM, "out of memory");
    else
      pump(ws, 1, 1);
  }
  if (ws->state == WS_ENDING)
    report(ws);
  return ws->state == WS_DONE;
}

void flurry__ws_detached_block(flurry_ws *ws, int blocked) { ws->blocked = blocked; }

void flurry__ws_detached_free(flurry_ws *ws) {
  if (ws == NULL)
    return;
  if (ws->state < WS_ENDING)
    end(ws, FLURRY_ECANCELLED, "freed");
  if (ws->state == WS_ENDING)
    report(ws);
  teardown(ws);
}
