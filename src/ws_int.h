/* ws_int.h: the WebSocket client's private parts, shared by ws.c (the
 * connection), ws_handshake.c (pure handshake helpers), ws_frame.c (the
 * frame heads of the server's stream), the unit tests and the fuzz target.
 * Not installed. */
#ifndef FLURRY_WS_INT_H
#define FLURRY_WS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "fl.h"
#include "flurry/ws.h"

#define FLURRY__WS_KEY_LEN 24           /* base64 of 16 bytes */
#define FLURRY__WS_ACCEPT_LEN 28        /* base64 of a SHA-1 */
#define FLURRY__WS_MAX_HEAD 16384       /* the server's handshake answer */
#define FLURRY__WS_MAX_REQUEST 65536    /* our handshake request */
#define FLURRY__WS_MAX_FEED (64u << 20) /* flurry__ws_feed's unread bytes */

/* The URL's parts for the handshake: http(s) URL for libcurl to connect
 * to, Host header value, request target ("/path?query"). */
typedef struct flurry__ws_url {
  char *connect_url; /* "http://host:port/" or "https://..." */
  char *host;        /* "host" or "host:port" (non-default port) */
  char *target;      /* "/path?query" */
} flurry__ws_url;

/* Splits a ws:// or wss:// URL. Returns 0, FLURRY_EINVALID or
 * FLURRY_ENOMEM (*u untouched on failure). */
int flurry__ws_url_parse(const char *url, flurry__ws_url *u);
void flurry__ws_url_free(flurry__ws_url *u);

/* 1 if "Name: value" is a header line we may send: a token name, no CR,
 * LF or NUL, not one the handshake sets itself (Host, Upgrade, Connection,
 * Content-Length, Transfer-Encoding, any Sec-WebSocket-*). */
int flurry__ws_header_ok(const char *line);

/* A fresh Sec-WebSocket-Key (16 random bytes, base64) into key (at least
 * FLURRY__WS_KEY_LEN + 1 bytes). Returns 0 or FLURRY_EINTERNAL. */
int flurry__ws_new_key(char *key);

/* Appends the GET Upgrade request: target, Host, key, then the header lines
 * of extra (NULL-terminated, may be NULL) and of defaults (a list of "Name:
 * value" lines; "Name:" lines without a value are skipped) whose names
 * extra does not set. Returns FL_OK, FL_ENOMEM or FL_ELIMIT. */
struct curl_slist;
int flurry__ws_request(fl_buf *b, const flurry__ws_url *u, const char *key, const char *protocols,
                       const char *const *extra, const struct curl_slist *defaults);

/* What the answer must say, and what it chose. */
typedef struct flurry__ws_expect {
  const char *accept;  /* the Sec-WebSocket-Accept value */
  const char *offered; /* the subprotocols offered ("a, b"), NULL: none */
  /* out: the chosen subprotocol at base + chosen[0], chosen[1] bytes
   * (0: none) */
  const char *base;
  size_t chosen[2];
} flurry__ws_expect;

/* Parses the server's answer in p[0..n): returns 0 when the head is not
 * complete yet (need more), the head's length (> 0, up to and including the
 * blank line) when it is a valid 101 with Upgrade: websocket, Connection:
 * upgrade, Sec-WebSocket-Accept equal to x->accept and at most one
 * Sec-WebSocket-Protocol, one of x->offered (then in x->chosen), or -1
 * with *err (FLURRY_EHTTP for a 4xx/5xx, FLURRY_EPROTOCOL otherwise) and
 * *why (static text). *status receives the status code once the status
 * line is in (0 before). Pure: no I/O, no allocation. */
long flurry__ws_response_parse(const char *p, size_t n, flurry__ws_expect *x, int *status, int *err,
                               const char **why);

/* ---- the frame heads of the server's stream (ws_frame.c) ---- */

#define FLURRY__WS_RING 4096 /* pings/pongs passed to wslay, not delivered yet */

/* Follows the server's frames from head to head. Zeroed by
 * flurry__ws_scan_init; no resources. */
typedef struct flurry__ws_scanner {
  uint64_t left;                     /* payload bytes of the current frame still to come */
  uint64_t len;                      /* the length being read from the head */
  uint8_t b0;                        /* the head's first byte */
  uint8_t have;                      /* head bytes seen (0: between heads or in a payload) */
  uint8_t need;                      /* bytes in this head (2 until the second is in) */
  uint8_t ext;                       /* extended length bytes: 0, 2 or 8 */
  unsigned first, count;             /* the ring */
  uint8_t ring[FLURRY__WS_RING / 8]; /* 1: a ping passed on as a pong */
} flurry__ws_scanner;

void flurry__ws_scan_init(flurry__ws_scanner *s);

/* Scans p[0..n), the server's next bytes, before wslay reads them: rewrites
 * each ping's opcode to pong and records in the ring whether each
 * ping/pong was a ping. Returns n with *bad = NULL, or the count of bytes
 * before the byte that broke RFC 6455 framing in a way wslay would fail
 * without a close code (a fragmented control frame, a control frame over
 * 125 bytes, a length not in its shortest form or over 2^63) with *bad
 * naming it (static text): only those bytes may go to wslay, the
 * connection closes with 1002. Pure: no I/O, no allocation. Room: at most
 * one ping/pong every 2 bytes, so n <= 2 * flurry__ws_scan_room(s) keeps
 * the ring from filling (a full ring is reported as *bad too). */
size_t flurry__ws_scan(flurry__ws_scanner *s, uint8_t *p, size_t n, const char **bad);
/* Free places in the ring. */
size_t flurry__ws_scan_room(const flurry__ws_scanner *s);
/* The next ping/pong wslay delivers (they come in order, each with the pong
 * opcode): 1 when it was a ping, 0 when a pong (or the ring is empty). */
int flurry__ws_scan_pop(flurry__ws_scanner *s);

/* ---- the frame receive path without a socket (fuzzing, unit tests) ---- */

/* A connection in the open state with no socket: what it sends is
 * discarded, what it receives comes from flurry__ws_feed(). cbs as for
 * flurry_ws_connect (on_close required). Returns 0 or FLURRY_ENOMEM /
 * FLURRY_EINVALID. */
int flurry__ws_detached_new(flurry_ws **out, const flurry_ws_opts *opts,
                            const flurry_ws_callbacks *cbs, void *user_data);
/* Feeds bytes received from the server; callbacks run from inside. Once
 * the connection ended (on_close ran), returns 1; else 0. */
int flurry__ws_feed(flurry_ws *ws, const void *data, size_t len);
/* Tests: with blocked set, what the connection sends waits (the socket
 * would block), as with a server that does not read. */
void flurry__ws_detached_block(flurry_ws *ws, int blocked);
/* Frees a detached connection (on_close runs first if it has not). */
void flurry__ws_detached_free(flurry_ws *ws);

#endif
