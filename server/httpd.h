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

typedef struct flurry__httpd flurry__httpd;
typedef struct flurry__httpd_req flurry__httpd_req;

/* Called once per request, after the whole body was received. The handler
 * must, before returning, either reply (flurry__httpd_reply*) or call
 * flurry__httpd_defer() and reply later. If it does neither the glue
 * answers 500. */
typedef void (*flurry__httpd_request_cb)(flurry__httpd_req *req, void *user);

/* Called for each deferred request still unanswered when the server closes.
 * The application releases what it holds for req and must not use req
 * afterwards (no reply is possible any more). */
typedef void (*flurry__httpd_abandon_cb)(flurry__httpd_req *req, void *user);

/* Called when flurry__httpd_close() has finished: every handle is closed
 * and the server object is freed. */
typedef void (*flurry__httpd_closed_cb)(void *arg);

/* Streaming reply: fill buf (at most max bytes) with the body from offset
 * pos and return the byte count (> 0), or one of FLURRY__HTTPD_STREAM_*.
 * Like MHD_ContentReaderCallback, plus PAUSE without busy waiting and
 * RESET. */
typedef ssize_t (*flurry__httpd_read_cb)(void *cls, uint64_t pos, char *buf,
                                         size_t max);

/* What a read_cb returns instead of a byte count: PAUSE, no data now (the
 * connection waits, without polling, for flurry__httpd_stream_wake); END of
 * a body of unknown size; abort the connection with an orderly CLOSE (FIN)
 * or a RESET (RST). */
#define FLURRY__HTTPD_STREAM_PAUSE 0
#define FLURRY__HTTPD_STREAM_END (-1)
#define FLURRY__HTTPD_STREAM_CLOSE (-2)
#define FLURRY__HTTPD_STREAM_RESET (-3)

/* The size of a streamed body that ends when read_cb says END (sent
 * chunked). */
#define FLURRY__HTTPD_SIZE_UNKNOWN UINT64_MAX

/* A streamed reply in progress, for flurry__httpd_stream_wake(). */
typedef struct flurry__httpd_stream flurry__httpd_stream;

#define FLURRY__HTTPD_MAX_BODY_DEFAULT (1024u * 1024u) /* 1 MiB */
#define FLURRY__HTTPD_CONN_LIMIT_DEFAULT 20000u
#define FLURRY__HTTPD_TIMEOUT_S_DEFAULT 60u
#define FLURRY__HTTPD_CLOCK_TICK_MS 100u

typedef struct flurry__httpd_opts {
  const char *host;      /* numeric address or "localhost"; NULL: 127.0.0.1 */
  uint16_t port;         /* 0 = any free port */
  size_t max_body;       /* request body cap (413 past it); 0 = default */
  unsigned conn_limit;   /* 0 = default */
  unsigned timeout_s;    /* idle connection timeout; 0 = default */
  int log_errors;        /* 1: libmicrohttpd errors on stderr */
  /* Per-connection memory for the request head and the I/O buffers: a
   * head that does not fit (about this size) is answered 431 by
   * libmicrohttpd, a request line too long 414. 0 = libmicrohttpd's
   * default, 32 KiB. */
  size_t conn_memory;
  /* Against slow clients (slowloris): a connection that has not sent a
   * whole request head within header_timeout_ms of opening (or of the end
   * of its previous request), or a whole body within body_timeout_ms of
   * its head, is shut down (no answer). Checked every
   * FLURRY__HTTPD_CLOCK_TICK_MS; 0 = no such limit (timeout_s still
   * applies to idle connections). */
  unsigned header_timeout_ms;
  unsigned body_timeout_ms;
  flurry__httpd_request_cb on_request; /* required */
  flurry__httpd_abandon_cb on_abandon; /* may be NULL */
  void *user;                          /* passed to both callbacks */
} flurry__httpd_opts;

enum {
  FLURRY__HTTPD_COPY = 0, /* body is copied */
  FLURRY__HTTPD_STATIC,   /* body outlives the server: borrowed */
  FLURRY__HTTPD_TAKE      /* body came from fl_malloc: taken over, always */
};

/* Starts a server on loop. Raises the RLIMIT_NOFILE soft limit to the hard
 * limit. On success *out is the server and its port is bound; on failure
 * *out is untouched and nothing is left on the loop. Returns 0, or -1 (bad
 * host, cannot bind, out of memory: a message is written to errbuf). */
int flurry__httpd_new(flurry__httpd **out, uv_loop_t *loop,
                      const flurry__httpd_opts *opts, char *errbuf,
                      size_t errlen);

/* The bound port. */
uint16_t flurry__httpd_port(const flurry__httpd *h);

/* Starts closing: abandons deferred requests (on_abandon), aborts streams
 * (their free_cb runs before this returns), stops the daemon, closes the
 * handles; cb(arg) runs from the loop once everything is
 * released. h must not be used afterwards. Never call it from on_request. */
void flurry__httpd_close(flurry__httpd *h, flurry__httpd_closed_cb cb,
                         void *arg);

/* ---- the request (valid until answered or abandoned) ------------------ */

const char *flurry__httpd_req_method(const flurry__httpd_req *req);
/* The decoded path, without the query string. libmicrohttpd decodes it in
 * place: a %00 in the request ends it early. */
const char *flurry__httpd_req_path(const flurry__httpd_req *req);
/* The path as the request line sent it (percent-encoding kept), without
 * the query string; NULL when unknown (out of memory at the request line). */
const char *flurry__httpd_req_target(const flurry__httpd_req *req);
/* The connection's socket (non-blocking), for an endpoint that writes a
 * raw answer itself and then drops req (mock_hostile.c), or -1. */
int flurry__httpd_req_fd(const flurry__httpd_req *req);
/* The request body (NUL-terminated for convenience, may hold NULs). */
const char *flurry__httpd_req_body(const flurry__httpd_req *req, size_t *len);
/* A request header (case-insensitive name) or NULL. */
const char *flurry__httpd_req_header(const flurry__httpd_req *req,
                                     const char *name);
/* A decoded query argument or NULL; "" for a bare "?flag". */
const char *flurry__httpd_req_query(const flurry__httpd_req *req,
                                    const char *name);
/* The client's address as text ("127.0.0.1", "::1"); "" if unknown. */
const char *flurry__httpd_req_peer(flurry__httpd_req *req);

/* Visits every header (kind 0) or query argument (kind 1) in arrival order.
 * value may be NULL for a query argument without '='. Return non-zero from
 * cb to stop. */
enum { FLURRY__HTTPD_HEADERS = 0, FLURRY__HTTPD_QUERY = 1 };
typedef int (*flurry__httpd_kv_cb)(void *cls, const char *name,
                                   const char *value);
void flurry__httpd_req_each(const flurry__httpd_req *req, int kind,
                            flurry__httpd_kv_cb cb, void *cls);

/* Application data attached to the request (e.g. a timer for a deferred
 * reply). The glue never touches it. */
void flurry__httpd_req_set_data(flurry__httpd_req *req, void *data);
void *flurry__httpd_req_data(const flurry__httpd_req *req);

/* ---- answering ------------------------------------------------------------ */

/* Adds a response header for the coming reply (copied). Returns 0, or -1
 * (out of memory, or more than 4 KiB of headers: the header is dropped). */
int flurry__httpd_header(flurry__httpd_req *req, const char *name,
                         const char *value);

/* Answer later: the connection is suspended until a reply function is
 * called (from any loop callback). Only from on_request. */
void flurry__httpd_defer(flurry__httpd_req *req);

/* Answers with status, a Content-Type (NULL: none) and a body whose
 * handling follows mode (FLURRY__HTTPD_COPY / STATIC / TAKE). After the call
 * req must not be used (a deferred request may be freed at any time).
 * Returns 0, or -1 when the response could not be built: the connection is
 * then closed. Exactly one reply per request. */
int flurry__httpd_reply(flurry__httpd_req *req, unsigned status,
                        const char *ctype, const void *body, size_t len,
                        int mode);

/* Answers with a streamed body of size bytes produced by read_cb;
 * free_cb(cls) (may be NULL) runs when the response is released, even when
 * this fails (at the latest inside flurry__httpd_close). On success *out
 * (out may be NULL) is the stream, valid until free_cb runs. Same rules as
 * flurry__httpd_reply. */
int flurry__httpd_reply_stream(flurry__httpd_req *req, unsigned status,
                               const char *ctype, uint64_t size,
                               flurry__httpd_read_cb read_cb, void *cls,
                               void (*free_cb)(void *cls),
                               flurry__httpd_stream **out);

/* Ends a pause: read_cb runs again on the next loop turn. A no-op when the
 * stream is not paused (read_cb will run anyway). Never from read_cb. */
void flurry__httpd_stream_wake(flurry__httpd_stream *s);

/* How flurry__httpd_drop() ends the connection. */
enum {
  FLURRY__HTTPD_CLOSE = 0, /* orderly close (FIN): the client sees EOF */
  FLURRY__HTTPD_RESET      /* TCP reset (RST): the client sees ECONNRESET */
};

/* Ends the request without an answer (what a crashing or hung server
 * does): the connection is closed or reset, as how says, and no status
 * line is sent. From on_request, or later for a deferred request. After the
 * call req must not be used. Returns 0, or -1 when req was already
 * answered (nothing happens). */
int flurry__httpd_drop(flurry__httpd_req *req, int how);

/* ---- protocol upgrades (WebSocket) ------------------------------------- */

/* An upgraded connection: after a 101 answer the socket is the
 * application's, until flurry__httpd_upgraded_close(). */
typedef struct flurry__httpd_upgraded flurry__httpd_upgraded;

/* The 101 answer went out: fd (non-blocking) is the application's to read
 * and write (never to close); extra holds len bytes the client sent after
 * its request, already read. */
typedef void (*flurry__httpd_upgrade_cb)(void *cls, flurry__httpd_upgraded *u,
                                         int fd, const char *extra,
                                         size_t len);

/* Answers 101 Switching Protocols with the pending headers (Upgrade and the
 * like, set with flurry__httpd_header), then hands the connection to
 * cb(cls). abandon(cls) runs instead when the connection ends before the
 * hand-over, or when the server closes while the connection is upgraded:
 * the application stops using fd at once (the glue closes it) and releases
 * what it holds. Same rules as flurry__httpd_reply; on failure (-1) abandon
 * has run. */
int flurry__httpd_reply_upgrade(flurry__httpd_req *req,
                                flurry__httpd_upgrade_cb cb,
                                void (*abandon)(void *cls), void *cls);

/* Ends an upgraded connection: the socket is closed. Stop polling fd
 * first. u must not be used afterwards. */
void flurry__httpd_upgraded_close(flurry__httpd_upgraded *u);

#endif
