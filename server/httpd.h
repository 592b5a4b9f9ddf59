/* httpd.h: libmicrohttpd driven by a libuv loop (one thread, one loop).
 *
 * The daemon runs in MHD's external-epoll mode: a uv_poll_t watches MHD's
 * epoll fd and a uv_timer_t follows MHD_get_timeout(); MHD_run() is called
 * from both. The application sees one callback per request, after the whole
 * body has arrived, and answers at once or later (deferred) from any loop
 * callback. Shared by `flurry mock` and `flurry listen`.
 *
 * Ownership: the request object and every string it returns belong to the
 * glue; they stay valid until the request is answered (reply) or abandoned.
 * Reply bodies are copied, borrowed for ever (STATIC) or taken over (TAKE).
 * Internal to the flurry binary; not installed. */
#ifndef FLURRY_HTTPD_H
#define FLURRY_HTTPD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

typedef struct httpd_server httpd_server;
typedef struct httpd_req httpd_req;

/* Called once per request, after the whole body was received. The handler
 * must, before returning, either reply (httpd_reply*) or call
 * httpd_defer() and reply later. If it does neither the glue
 * answers 500. */
typedef void (*httpd_request_cb)(httpd_req *req, void *user);

/* Called for each deferred request still unanswered when the server closes.
 * The application releases what it holds for req and must not use req
 * afterwards (no reply is possible any more). */
typedef void (*httpd_abandon_cb)(httpd_req *req, void *user);

/* Called when httpd_close() has finished: every handle is closed
 * and the server object is freed. */
typedef void (*httpd_closed_cb)(void *arg);

/* Streaming reply: fill buf (at most max bytes) with the body from offset
 * pos and return the byte count (> 0), or one of HTTPD_STREAM_*.
 * Like MHD_ContentReaderCallback, plus PAUSE without busy waiting and
 * RESET. */
typedef ssize_t (*httpd_read_cb)(void *cls, uint64_t pos, char *buf, size_t max);

/* What a read_cb returns instead of a byte count: PAUSE, no data now (the
 * connection waits, without polling, for httpd_stream_wake); END of
 * a body of unknown size; abort the connection with an orderly CLOSE (FIN)
 * or a RESET (RST). */
#define HTTPD_STREAM_PAUSE 0
#define HTTPD_STREAM_END (-1)
#define HTTPD_STREAM_CLOSE (-2)
#define HTTPD_STREAM_RESET (-3)

/* The size of a streamed body that ends when read_cb says END (sent
 * chunked). */
#define HTTPD_SIZE_UNKNOWN UINT64_MAX

/* A streamed reply in progress, for httpd_stream_wake(). */
typedef struct httpd_stream httpd_stream;

#define HTTPD_MAX_BODY_DEFAULT (1024u * 1024u) /* 1 MiB */
#define HTTPD_CONN_LIMIT_DEFAULT 20000u
#define HTTPD_TIMEOUT_S_DEFAULT 60u
#define HTTPD_CLOCK_TICK_MS 100u

typedef struct httpd_opts {
  const char *host;    /* numeric address or "localhost"; NULL: 127.0.0.1 */
  uint16_t port;       /* 0 = any free port */
  size_t max_body;     /* request body cap (413 past it); 0 = default */
  unsigned conn_limit; /* 0 = default */
  unsigned timeout_s;  /* idle connection timeout; 0 = default */
  int log_errors;      /* 1: libmicrohttpd errors on stderr */
  /* Per-connection memory for the request head and the I/O buffers: a
   * head that does not fit (about this size) is answered 431 by
   * libmicrohttpd, a request line too long 414. 0 = libmicrohttpd's
   * default, 32 KiB. */
  size_t conn_memory;
  /* Against slow clients (slowloris): a connection that has not sent a
   * whole request head within header_timeout_ms of opening (or of the end
   * of its previous request), or a whole body within body_timeout_ms of
   * its head, is shut down (no answer). Checked every
   * HTTPD_CLOCK_TICK_MS; 0 = no such limit (timeout_s still
   * applies to idle connections). */
  unsigned header_timeout_ms;
  unsigned body_timeout_ms;
  httpd_request_cb on_request; /* required */
  httpd_abandon_cb on_abandon; /* may be NULL */
  void *user;                  /* passed to both callbacks */
} httpd_opts;

enum {
  HTTPD_COPY = 0, /* body is copied */
  HTTPD_STATIC,   /* body outlives the server: borrowed */
  HTTPD_TAKE      /* body came from fl_malloc: taken over, always */
};

/* Starts a server on loop. Raises the RLIMIT_NOFILE soft limit to the hard
 * limit. On success *out is the server and its port is bound; on failure
 * *out is untouched and nothing is left on the loop. Returns 0, or -1 (bad
 * host, cannot bind, out of memory: a message is written to errbuf). */
int httpd_new(httpd_server **out, uv_loop_t *loop, const httpd_opts *opts, char *errbuf,
              size_t errlen);

/* The bound port. */
uint16_t httpd_port(const httpd_server *h);

/* Starts closing: abandons deferred requests (on_abandon), aborts streams
 * (their free_cb runs before this returns), stops the daemon, closes the
 * handles; cb(arg) runs from the loop once everything is
 * released. h must not be used afterwards. Never call it from on_request. */
void httpd_close(httpd_server *h, httpd_closed_cb cb, void *arg);

/* ---- the request (valid until answered or abandoned) ------------------ */

const char *httpd_req_method(const httpd_req *req);
/* The decoded path, without the query string. libmicrohttpd decodes it in
 * place: a %00 in the request ends it early. */
const char *httpd_req_path(const httpd_req *req);
/* The path as the request line sent it (percent-encoding kept), without
 * the query string; NULL when unknown (out of memory at the request line). */
const char *httpd_req_target(const httpd_req *req);
/* The connection's socket (non-blocking), for an endpoint that writes a
 * raw answer itself and then drops req (mock_hostile.c), or -1. */
int httpd_req_fd(const httpd_req *req);
/* The request body (NUL-terminated for convenience, may hold NULs). */
const char *httpd_req_body(const httpd_req *req, size_t *len);
/* A request header (case-insensitive name) or NULL. */
const char *httpd_req_header(const httpd_req *req, const char *name);
/* A decoded query argument or NULL; "" for a bare "?flag". */
const char *httpd_req_query(const httpd_req *req, const char *name);
/* The client's address as text ("127.0.0.1", "::1"); "" if unknown. */
const char *httpd_req_peer(httpd_req *req);

/* Visits every header (kind 0) or query argument (kind 1) in arrival order.
 * value may be NULL for a query argument without '='. Return non-zero from
 * cb to stop. */
enum { HTTPD_HEADERS = 0, HTTPD_QUERY = 1 };
typedef int (*httpd_kv_cb)(void *cls, const char *name, const char *value);
void httpd_req_each(const httpd_req *req, int kind, httpd_kv_cb cb, void *cls);

/* Application data attached to the request (e.g. a timer for a deferred
 * reply). The glue never touches it. */
void httpd_req_set_data(httpd_req *req, void *data);
void *httpd_req_data(const httpd_req *req);

/* ---- answering ------------------------------------------------------------ */

/* Adds a response header for the coming reply (copied). Returns 0, or -1
 * (out of memory, or more than 4 KiB of headers: the header is dropped). */
int httpd_header(httpd_req *req, const char *name, const char *value);

/* Answer later: the connection is suspended until a reply function is
 * called (from any loop callback). Only from on_request. */
void httpd_defer(httpd_req *req);

/* Answers with status, a Content-Type (NULL: none) and a body whose
 * handling follows mode (HTTPD_COPY / STATIC / TAKE). After the call
 * req must not be used (a deferred request may be freed at any time).
 * Returns 0, or -1 when the response could not be built: the connection is
 * then closed. Exactly one reply per request. */
int httpd_reply(httpd_req *req, unsigned status, const char *ctype, const void *body, size_t len,
                int mode);

/* Answers with a streamed body of size bytes produced by read_cb;
 * free_cb(cls) (may be NULL) runs when the response is released, even when
 * this fails (at the latest inside httpd_close). On success *out
 * (out may be NULL) is the stream, valid until free_cb runs. Same rules as
 * httpd_reply. */
int httpd_reply_stream(httpd_req *req, unsigned status, const char *ctype, uint64_t size,
                       httpd_read_cb read_cb, void *cls, void (*free_cb)(void *cls),
                       httpd_stream **out);

/* Ends a pause: read_cb runs again on the next loop turn. A no-op when the
 * stream is not paused (read_cb will run anyway). Never from read_cb. */
void httpd_stream_wake(httpd_stream *s);

/* How httpd_drop() ends the connection. */
enum {
  HTTPD_CLOSE = 0, /* orderly close (FIN): the client sees EOF */
  HTTPD_RESET      /* TCP reset (RST): the client sees ECONNRESET */
};

/* Ends the request without an answer (what a crashing or hung server
 * does): the connection is closed or reset, as how says, and no status
 * line is sent. From on_request, or later for a deferred request. After the
 * call req must not be used. Returns 0, or -1 when req was already
 * answered (nothing happens). */
int httpd_drop(httpd_req *req, int how);

/* ---- protocol upgrades (WebSocket) ------------------------------------- */

/* An upgraded connection: after a 101 answer the socket is the
 * application's, until httpd_upgraded_close(). */
typedef struct httpd_upgraded httpd_upgraded;

/* The 101 answer went out: fd (non-blocking) is the application's to read
 * and write (never to close); extra holds len bytes the client sent after
 * its request, already read. */
typedef void (*httpd_upgrade_cb)(void *cls, httpd_upgraded *u, int fd, const char *extra,
                                 size_t len);

/* Answers 101 Switching Protocols with the pending headers (Upgrade and the
 * like, set with httpd_header), then hands the connection to
 * cb(cls). abandon(cls) runs instead when the connection ends before the
 * hand-over, or when the server closes while the connection is upgraded:
 * the application stops using fd at once (the glue closes it) and releases
 * what it holds. Same rules as httpd_reply; on failure (-1) abandon
 * has run. */
int httpd_reply_upgrade(httpd_req *req, httpd_upgrade_cb cb, void (*abandon)(void *cls), void *cls);

/* Ends an upgraded connection: the socket is closed. Stop polling fd
 * first. u must not be used afterwards. */
void httpd_upgraded_close(httpd_upgraded *u);

#endif
