/* flurry/ws.h: WebSocket (RFC 6455) connections on a client's loop.
 *
 * A connection is opened with flurry_ws_connect() on the loop of a
 * flurry_client, with the client's TLS settings (CA file, verification) and
 * default headers. libcurl makes the connection (DNS, TCP, TLS with
 * verification, proxies, connect timeout); flurry does the HTTP/1.1 Upgrade
 * handshake (Sec-WebSocket-Accept verified) and wslay the framing. Pings are
 * answered; an idle connection is pinged, and fails when the peer stays
 * silent.
 *
 * Bounds: pings that come faster than their pongs can go get one pong, for
 * the latest (RFC 6455 5.5.3), so a ping flood queues one pong at most.
 * While the send queue holds FLURRY_WS_PAUSE_MESSAGES messages or more than
 * max_send_queue bytes, the connection stops reading (back-pressure) and
 * reads on once the server has read enough; if it reads nothing for
 * idle_timeout_ms, the connection fails with FLURRY_ETIMEOUT. A frame that
 * breaks the framing rules (a fragmented control frame, a control frame
 * over 125 bytes, a masked frame, ...) closes it with 1002 and
 * FLURRY_EPROTOCOL.
 *
 * Life: flurry_ws_connect() either fails at once (no callback ever runs) or
 * returns a connection whose on_close runs exactly once, last, from the
 * loop: after a close handshake (err 0) or on any error (err != 0). The
 * library frees the connection after on_close returns; it must not be used
 * afterwards. on_open runs before any on_message, only once the handshake
 * succeeded (never when it failed).
 *
 * Ownership: strings and message data passed in are copied. Data handed to
 * a callback is borrowed until the callback returns.
 *
 * Run the loop (uv_run(flurry_client_loop(client), UV_RUN_DEFAULT)) until
 * on_close ran: flurry_client_run() only waits for HTTP requests. The
 * connection does not keep the client: it may be freed first, but the loop
 * must outlive the connection. Not thread-safe. */
#ifndef FLURRY_WS_H
#define FLURRY_WS_H

#include <stddef.h>
#include <stdint.h>

#include "flurry/client.h"
#include "flurry/error.h"
#include "flurry/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct flurry_ws flurry_ws;

/* Message types. PING and PONG are only reported (on_control): pings are
 * answered by the library. */
typedef enum flurry_ws_type {
  FLURRY_WS_TEXT = 1,
  FLURRY_WS_BINARY = 2,
  FLURRY_WS_PING = 9,
  FLURRY_WS_PONG = 10
} flurry_ws_type;

#define FLURRY_WS_DEFAULT_MAX_MESSAGE (1024 * 1024)         /* 1 MiB */
#define FLURRY_WS_DEFAULT_MAX_SEND_QUEUE (16 * 1024 * 1024) /* 16 MiB */
#define FLURRY_WS_DEFAULT_HANDSHAKE_TIMEOUT_MS 10000
#define FLURRY_WS_DEFAULT_IDLE_TIMEOUT_MS 60000
#define FLURRY_WS_DEFAULT_CLOSE_TIMEOUT_MS 5000
/* Messages queued for sending (flurry_ws_queued_messages) from which the
 * connection stops reading until fewer are left. */
#define FLURRY_WS_PAUSE_MESSAGES 4096

/* Limits and timeouts; a 0 field takes the default. Timeouts are always
 * set: none can be turned off. */
typedef struct flurry_ws_opts {
  /* Largest message received; a larger one closes the connection with
   * code 1009 and on_close reports FLURRY_ETOO_LARGE. */
  size_t max_message;
  /* Bytes of messages queued for sending at most (flurry_ws_send); past
   * it (pongs can take it there), reading pauses. */
  size_t max_send_queue;
  /* DNS + TCP + TLS; default: the client's FLURRY_OPT_CONNECT_TIMEOUT_MS. */
  int64_t connect_timeout_ms;
  /* From connected to the server's 101 answer. */
  int64_t handshake_timeout_ms;
  /* Nothing received for half this long sends a ping; for this long, the
   * connection fails with FLURRY_ETIMEOUT. */
  int64_t idle_timeout_ms;
  /* After our close frame, how long to wait for the server's. */
  int64_t close_timeout_ms;
  /* Subprotocols offered (Sec-WebSocket-Protocol), in order of preference:
   * NULL or a NULL-terminated array of RFC 9110 tokens ("graphql-transport-
   * ws", "mqtt"), distinct, at most FLURRY_WS_MAX_PROTOCOLS; copied at
   * connect. The server's choice must be one of them (anything else fails
   * the handshake with FLURRY_EPROTOCOL, RFC 6455 4.1); it may choose none.
   * flurry_ws_protocol() tells which. */
  const char *const *protocols;
} flurry_ws_opts;

#define FLURRY_WS_MAX_PROTOCOLS 32

/* How the connection ended, for on_close (borrowed for the callback). */
typedef struct flurry_ws_status {
  int err;             /* 0: the close handshake completed; else FLURRY_E* */
  const char *message; /* what went wrong, or ""; never NULL */
  int code;            /* close code of whoever closed first: 1000, 1009,
                         4001...; 1005 when the frame had none; 1006 when no
                         close frame was exchanged */
  const char *reason;  /* that close frame's reason (UTF-8), or "" */
  size_t reason_len;
  int by_server;   /* 1: the server sent the first close frame */
  int http_status; /* the handshake's status (101 when it succeeded);
                         0 when no answer came */
} flurry_ws_status;

typedef struct flurry_ws_callbacks {
  /* The handshake succeeded: messages may be sent. May be NULL. */
  void (*on_open)(flurry_ws *ws, void *user_data);
  /* A whole text (UTF-8, not validated) or binary message of len bytes. */
  void (*on_message)(flurry_ws *ws, flurry_ws_type type, const char *data, size_t len,
                     void *user_data);
  /* A ping (answered: see the bounds above) or pong arrived. May be
   * NULL. */
  void (*on_control)(flurry_ws *ws, flurry_ws_type type, const char *data, size_t len,
                     void *user_data);
  /* The end, exactly once (see the life rules above). Required. */
  void (*on_close)(flurry_ws *ws, const flurry_ws_status *status, void *user_data);
} flurry_ws_callbacks;

/* Fills *opts with zeros (every default). */
FLURRY_API void flurry_ws_opts_init(flurry_ws_opts *opts);

/* Opens a WebSocket to url (ws:// or wss://, copied) on client's loop.
 * headers: NULL or a NULL-terminated array of "Name: value" strings
 * (copied), sent with the client's default headers on the handshake.
 * opts may be NULL (defaults); cbs is copied and on_message and on_close
 * are required. On success *out is the connection and the callbacks run
 * later, from the loop, never from inside this call. Returns 0,
 * FLURRY_EINVALID (NULL argument, not a ws/wss URL with a host, a bad
 * header, a negative limit) or FLURRY_ENOMEM / FLURRY_EINTERNAL (libcurl
 * or libuv refused); on failure *out is untouched. Connect, TLS and
 * handshake failures come later, through on_close: FLURRY_ECONNECT,
 * FLURRY_EDNS, FLURRY_ETLS, FLURRY_ETIMEOUT, FLURRY_EHTTP (the server
 * answered 4xx/5xx), FLURRY_EPROTOCOL (not 101, or a bad
 * Sec-WebSocket-Accept or Upgrade). */
FLURRY_API int flurry_ws_connect(flurry_ws **out, flurry_client *client, const char *url,
                                 const char *const *headers, const flurry_ws_opts *opts,
                                 const flurry_ws_callbacks *cbs, void *user_data);

/* Queues a FLURRY_WS_TEXT or FLURRY_WS_BINARY message (data copied) or a
 * FLURRY_WS_PING (at most 125 bytes). A text message must be valid UTF-8
 * (RFC 6455 5.6: a server fails the connection with 1007 otherwise).
 * Returns 0, FLURRY_EINVALID (bad type, text not valid UTF-8, not open yet
 * (before on_open) or closing), FLURRY_ETOO_LARGE (the
 * send queue would pass max_send_queue: nothing queued) or FLURRY_ENOMEM.
 * May be called from any callback but on_close. */
FLURRY_API int flurry_ws_send(flurry_ws *ws, flurry_ws_type type, const void *data, size_t len);

/* Starts the close handshake with code (1000..4999 but 1004-1006 and 1015;
 * 0: 1000) and reason (may be NULL; at most 123 bytes, copied). Queued
 * messages go first. Before the handshake completed, it cancels the
 * connection instead (on_close: FLURRY_ECANCELLED). on_close runs later,
 * when the server answered, or after close_timeout_ms. Returns 0,
 * FLURRY_EINVALID (bad code or reason; already closing) or
 * FLURRY_ENOMEM. May be called from any callback but on_close. */
FLURRY_API int flurry_ws_close(flurry_ws *ws, int code, const char *reason);

/* Bytes queued for sending, not yet written to the socket. */
FLURRY_API size_t flurry_ws_queued(const flurry_ws *ws);

/* Messages queued for sending (control frames included), not yet written
 * to the socket: from FLURRY_WS_PAUSE_MESSAGES on, reading pauses. Empty
 * messages count here and not in flurry_ws_queued(). */
FLURRY_API size_t flurry_ws_queued_messages(const flurry_ws *ws);

/* The subprotocol the server chose (one of flurry_ws_opts.protocols), or
 * NULL when it chose none (or before on_open). Borrowed: valid until
 * on_close returns. */
FLURRY_API const char *flurry_ws_protocol(const flurry_ws *ws);

/* 1 when `line` is a "Name: value" header flurry_ws_connect accepts: a
 * token name, no CR or LF, and not one the handshake writes itself (Host,
 * Upgrade, Connection, Content-Length, Transfer-Encoding and every
 * Sec-WebSocket-* header: subprotocols go in flurry_ws_opts.protocols);
 * else 0 (also for NULL). For checking headers when they are given
 * (command-line options) rather than at connect. */
FLURRY_API int flurry_ws_header_valid(const char *line);

/* The RFC 6455 Sec-WebSocket-Accept value for a Sec-WebSocket-Key: base64
 * of the SHA-1 of key + the protocol GUID, written NUL-terminated to out
 * (at least 29 bytes). Returns 0, or FLURRY_EINVALID (NULL, or key longer
 * than 256 bytes). Exposed for servers and tests. */
FLURRY_API int flurry_ws_accept_key(const char *key, char *out, size_t outlen);

#ifdef __cplusplus
}
#endif
#endif
