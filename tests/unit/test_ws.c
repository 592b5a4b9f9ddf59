/* test_ws.c: the WebSocket client: the handshake helpers (RFC 6455 vector,
 * URL, request, every prefix of the answer), the frame-head scan (every
 * split of the input, the framing errors), the frame receive path without
 * a socket (every frame fed whole and byte by byte; pings answered once;
 * reading paused while the send queue is full; 1002 for a fragmented
 * ping), and a whole session on a real loop against flurry mock's /ws/echo
 * served in-process. Callbacks are counted through user data; the loop
 * test ends with uv_loop_close() == 0. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "httpd.h"
#include "internal.h"
#include "mock_int.h"
#include "ws_int.h"

/* ---- handshake helpers ---------------------------------------------------- */

static void test_ws_accept_rfc_vector(void **state) {
  (void)state;
  char out[32];
  assert_int_equal(flurry_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out, sizeof out), 0);
  assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  assert_int_equal(flurry_ws_accept_key("dGhlIHNhbXBsZSBub25jZR==", out, sizeof out), 0);
  assert_string_not_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  assert_int_equal(flurry_ws_accept_key("k", out, 28), FLURRY_EINVALID); /* no room for NUL */
  assert_int_equal(flurry_ws_accept_key(NULL, out, sizeof out), FLURRY_EINVALID);
}

static void test_ws_new_key_is_16_random_bytes(void **state) {
  (void)state;
  char a[FLURRY__WS_KEY_LEN + 1], b[FLURRY__WS_KEY_LEN + 1];
  assert_int_equal(flurry__ws_new_key(a), 0);
  assert_int_equal(flurry__ws_new_key(b), 0);
  assert_int_equal(strlen(a), 24);
  assert_string_equal(a + 22, "=="); /* 16 bytes */
  assert_string_not_equal(a, b);
}

static void test_ws_url_parse(void **state) {
  (void)state;
  flurry__ws_url u;
  assert_int_equal(flurry__ws_url_parse("ws://example.com:8080/chat?room=1#frag", &u), 0);
  assert_string_equal(u.connect_url, "http://example.com:8080/");
  assert_string_equal(u.host, "example.com:8080");
  assert_string_equal(u.target, "/chat?room=1");
  flurry__ws_url_free(&u);
  assert_int_equal(flurry__ws_url_parse("wss://[::1]", &u), 0);
  assert_string_equal(u.connect_url, "https://[::1]/");
  assert_string_equal(u.host, "[::1]");
  assert_string_equal(u.target, "/");
  flurry__ws_url_free(&u);
  assert_int_equal(flurry__ws_url_parse("http://example.com/", &u), FLURRY_EINVALID);
  assert_int_equal(flurry__ws_url_parse("ws://", &u), FLURRY_EINVALID);
  assert_int_equal(flurry__ws_url_parse("not a url", &u), FLURRY_EINVALID);
}

static void test_ws_request_headers(void **state) {
  (void)state;
  flurry__ws_url u;
  assert_int_equal(flurry__ws_url_parse("ws://h/p", &u), 0);
  struct curl_slist *defaults = curl_slist_append(NULL, "Expect:");
  defaults = curl_slist_append(defaults, "Authorization: Bearer default");
  defaults = curl_slist_append(defaults, "X-Team: core");
  const char *extra[] = {"Authorization: Bearer mine", NULL};
  fl_buf b = FL_BUF_INIT(FLURRY__WS_MAX_REQUEST);
  assert_int_equal(flurry__ws_request(&b, &u, "KEY", "chat, v2", extra, defaults), FL_OK);
  assert_non_null(strstr(b.data, "GET /p HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"));
  assert_non_null(strstr(b.data, "Sec-WebSocket-Key: KEY\r\nSec-WebSocket-Version: 13\r\n"));
  assert_non_null(strstr(b.data, "Authorization: Bearer mine\r\n"));
  assert_non_null(strstr(b.data, "\r\nSec-WebSocket-Protocol: chat, v2\r\n"));
  assert_null(strstr(b.data, "Bearer default"));
  assert_non_null(strstr(b.data, "X-Team: core\r\n"));
  assert_null(strstr(b.data, "Expect"));
  assert_string_equal(b.data + b.len - 4, "\r\n\r\n");
  fl_buf_free(&b);
  curl_slist_free_all(defaults);
  flurry__ws_url_free(&u);
  assert_true(flurry__ws_header_ok("X-A: b"));
  assert_false(flurry__ws_header_ok("Sec-WebSocket-Key: x"));
  assert_false(flurry__ws_header_ok("upgrade: h2c"));
  assert_false(flurry__ws_header_ok("X-A: b\r\nX-B: c"));
  assert_false(flurry__ws_header_ok("Bad Name: v"));
  assert_false(flurry__ws_header_ok("no colon"));
  /* the public check (flurry ws -H) is the same one */
  assert_true(flurry_ws_header_valid("X-A: b"));
  assert_false(flurry_ws_header_valid("Sec-WebSocket-Version: 8"));
  assert_false(flurry_ws_header_valid("sec-websocket-protocol: chat")); /* --protocol (#11) */
  assert_false(flurry_ws_header_valid("X-A: b\nX-B: c"));
  assert_false(flurry_ws_header_valid(NULL));
}

#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
static const char good_answer[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                  "Upgrade: WebSocket\r\n"
                                  "Connection: keep-alive, Upgrade\r\n"
                                  "Sec-WebSocket-Accept: " ACCEPT "\r\n"
                                  "\r\n";

static void test_ws_response_every_prefix(void **state) {
  (void)state;
  char buf[sizeof good_answer + 8];
  size_t n = sizeof good_answer - 1;
  memcpy(buf, good_answer, n);
  memcpy(buf + n, "\x81\x02hi", 4); /* a frame right behind the head */
  int status, err;
  const char *why;
  flurry__ws_expect x = {ACCEPT, NULL, NULL, {0, 0}};
  for (size_t i = 0; i < n; i++)
    assert_int_equal(flurry__ws_response_parse(buf, i, &x, &status, &err, &why), 0);
  assert_int_equal(flurry__ws_response_parse(buf, n, &x, &status, &err, &why), (long)n);
  assert_int_equal(status, 101);
  assert_int_equal(flurry__ws_response_parse(buf, n + 4, &x, &status, &err, &why), (long)n);
  assert_int_equal(x.chosen[1], 0);
}

/* The server's subprotocol: one of those offered, reported (issue 11). */
static void test_ws_response_protocol(void **state) {
  (void)state;
  static const char answer[] = "HTTP/1.1 101 Switching Protocols\r\n"
                               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                               "Sec-WebSocket-Accept: " ACCEPT "\r\n"
                               "Sec-WebSocket-Protocol: graphql-transport-ws \r\n\r\n";
  int status, err;
  const char *why;
  flurry__ws_expect x = {ACCEPT, "graphql-ws, graphql-transport-ws", NULL, {0, 0}};
  size_t n = sizeof answer - 1;
  assert_int_equal(flurry__ws_response_parse(answer, n, &x, &status, &err, &why), (long)n);
  assert_int_equal(x.chosen[1], strlen("graphql-transport-ws"));
  assert_memory_equal(answer + x.chosen[0], "graphql-transport-ws", x.chosen[1]);
}

static void expect_refused(const char *answer, int want_err, int want_status, const char *word) {
  int status, err = 0;
  const char *why = NULL;
  flurry__ws_expect x = {ACCEPT, "chat", NULL, {0, 0}};
  assert_int_equal(flurry__ws_response_parse(answer, strlen(answer), &x, &status, &err, &why), -1);
  assert_int_equal(err, want_err);
  assert_int_equal(status, want_status);
  assert_non_null(strstr(why, word));
}

static void test_ws_response_refused(void **state) {
  (void)state;
  expect_refused("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", FLURRY_EPROTOCOL, 200, "101");
  expect_refused("HTTP/1.1 404 Not Found\r\n\r\n", FLURRY_EHTTP, 404, "101");
  expect_refused("HTTP/1.1 101 OK\r\nConnection: upgrade\r\nSec-WebSocket-Accept: " ACCEPT
                 "\r\n\r\n",
                 FLURRY_EPROTOCOL, 101, "Upgrade");
  expect_refused("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
                 "Sec-WebSocket-Accept: AAAAPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
                 FLURRY_EPROTOCOL, 101, "Sec-WebSocket-Accept");
  expect_refused("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
                 FLURRY_EPROTOCOL, 101, "Sec-WebSocket-Accept");
  expect_refused("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
                 "Sec-WebSocket-Accept: " ACCEPT "\r\nSec-WebSocket-Extensions: x\r\n\r\n",
                 FLURRY_EPROTOCOL, 101, "extension");
#define HEAD101 "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
  expect_refused(HEAD101 "Sec-WebSocket-Accept: " ACCEPT "\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n",
                 FLURRY_EPROTOCOL, 101, "not offered");
  expect_refused(HEAD101 "Sec-WebSocket-Accept: " ACCEPT "\r\nSec-WebSocket-Protocol: chat, "
                         "chat\r\n\r\n",
                 FLURRY_EPROTOCOL, 101, "not offered");
  expect_refused(HEAD101 "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Accept: " ACCEPT
                         "\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
                 FLURRY_EPROTOCOL, 101, "twice");
#undef HEAD101
  expect_refused("SSH-2.0-OpenSSH\r\n\r\n", FLURRY_EPROTOCOL, 0, "HTTP");
}

/* ---- the frame-head scan --------------------------------------------------- */

/* Server frames: text "hi", ping "p", a 126-byte binary (16-bit length),
 * pong "", a 65536-byte text head (64-bit length, payload not included). */
static unsigned char stream[2 + 2 + 3 + 4 + 126 + 2 + 10];

static size_t make_stream(void) {
  unsigned char *p = stream;
  memcpy(p, "\x81\x02hi", 4), p += 4;
  memcpy(p, "\x89\x01p", 3), p += 3;
  memcpy(p, "\x82\x7e\x00\x7e", 4), p += 4;
  memset(p, 0x89, 126), p += 126; /* payload bytes that look like pings */
  memcpy(p, "\x8a\x00", 2), p += 2;
  memcpy(p, "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10), p += 10;
  return (size_t)(p - stream);
}

static void test_ws_scan_every_split(void **state) {
  (void)state;
  size_t n = make_stream();
  for (size_t cut = 0; cut <= n; cut++) {
    unsigned char buf[sizeof stream];
    memcpy(buf, stream, n);
    flurry__ws_scanner s;
    flurry__ws_scan_init(&s);
    const char *bad = "x";
    assert_int_equal(flurry__ws_scan(&s, buf, cut, &bad), cut);
    assert_null(bad);
    assert_int_equal(flurry__ws_scan(&s, buf + cut, n - cut, &bad), n - cut);
    assert_null(bad);
    assert_int_equal(buf[4], 0x8a);                  /* the ping goes on as a pong */
    assert_memory_equal(buf + 5, stream + 5, n - 5); /* nothing else changed */
    assert_int_equal(s.left, 65536);                 /* in the last payload */
    assert_int_equal(flurry__ws_scan_room(&s), FLURRY__WS_RING - 2);
    assert_int_equal(flurry__ws_scan_pop(&s), 1); /* the ping */
    assert_int_equal(flurry__ws_scan_pop(&s), 0); /* the pong */
    assert_int_equal(flurry__ws_scan_pop(&s), 0); /* empty */
  }
}

/* p[0..n) breaks the framing at byte at (the frame's first byte for a
 * fragmented control frame, the one that makes the head bad otherwise):
 * every split stops there, with why. */
static void expect_bad(const char *p, size_t n, size_t at, const char *why) {
  for (size_t cut = 0; cut <= n; cut++) {
    unsigned char buf[64];
    memcpy(buf, p, n);
    flurry__ws_scanner s;
    flurry__ws_scan_init(&s);
    const char *bad = NULL;
    size_t got = flurry__ws_scan(&s, buf, cut, &bad);
    if (bad == NULL)
      got += flurry__ws_scan(&s, buf + cut, n - cut, &bad);
    assert_int_equal(got, at);
    assert_non_null(bad);
    assert_non_null(strstr(bad, why));
  }
}

static void test_ws_scan_framing_errors(void **state) {
  (void)state;
  expect_bad("\x81\x01"
             "a"
             "\x09\x01p",
             5, 3, "fragmented control");                /* ping, FIN=0 */
  expect_bad("\x08\x00", 2, 0, "fragmented control");    /* close, FIN=0 */
  expect_bad("\x89\x7e\x00\x80", 4, 1, "over 125");      /* ping, 128 */
  expect_bad("\x81\x7e\x00\x7d", 4, 3, "shortest form"); /* 125 in 16 bits */
  expect_bad("\x82\x7f\x00\x00\x00\x00\x00\x00\xff\xff", 10, 9, "shortest form");
  expect_bad("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10, 2, "2^63");
}

static void test_ws_scan_ring_full(void **state) {
  (void)state;
  flurry__ws_scanner s;
  flurry__ws_scan_init(&s);
  unsigned char pong[2] = {0x8a, 0x00};
  const char *bad = NULL;
  for (int i = 0; i < FLURRY__WS_RING; i++)
    assert_int_equal(flurry__ws_scan(&s, pong, 2, &bad), 2);
  assert_int_equal(flurry__ws_scan_room(&s), 0);
  assert_int_equal(flurry__ws_scan(&s, pong, 2, &bad), 0);
  assert_non_null(bad);
}

/* ---- the frame receive path, detached -------------------------------------- */

typedef struct tally {
  int messages, pings, pongs, closes;
  int last_type;
  char last[64];
  flurry_ws_status st;
  char reason[128];
  char message[256];
} tally;

static void t_message(flurry_ws *ws, flurry_ws_type type, const char *data, size_t len, void *ud) {
  tally *t = ud;
  (void)ws;
  t->messages++;
  t->last_type = type;
  snprintf(t->last, sizeof t->last, "%.*s", (int)len, data);
}

static void t_control(flurry_ws *ws, flurry_ws_type type, const char *data, size_t len, void *ud) {
  tally *t = ud;
  (void)ws;
  (void)data;
  (void)len;
  if (type == FLURRY_WS_PING)
    t->pings++;
  else
    t->pongs++;
}

static void t_close(flurry_ws *ws, const flurry_ws_status *st, void *ud) {
  tally *t = ud;
  (void)ws;
  t->closes++;
  t->st = *st;
  snprintf(t->reason, sizeof t->reason, "%.*s", (int)st->reason_len, st->reason);
  t->st.reason = t->reason;
  snprintf(t->message, sizeof t->message, "%s", st->message);
  t->st.message = t->message;
}

static const flurry_ws_callbacks t_cbs = {NULL, t_message, t_control, t_close};

/* Server frames (unmasked): text "hi", binary 00 ff, "abc" in two
 * fragments, a ping "p", then close 1000 "bye". */
static const unsigned char frames[] = {0x81, 0x02, 'h',  'i',  /* text */
                                       0x82, 0x02, 0x00, 0xff, /* binary */
                                       0x01, 0x01, 'a',  0x80,
                                       0x02, 'b',  'c', /* fragmented text */
                                       0x89, 0x01, 'p', /* ping */
                                       0x88, 0x05, 0x03, 0xe8,
                                       'b',  'y',  'e'}; /* close 1000 "bye" */

static void feed_frames(size_t step, tally *t) {
  flurry_ws *ws;
  memset(t, 0, sizeof *t);
  assert_int_equal(flurry__ws_detached_new(&ws, NULL, &t_cbs, t), 0);
  int ended = 0;
  for (size_t i = 0; i < sizeof frames && !ended; i += step) {
    size_t n = sizeof frames - i < step ? sizeof frames - i : step;
    ended = flurry__ws_feed(ws, frames + i, n);
  }
  assert_int_equal(ended, 1);
  flurry__ws_detached_free(ws);
}

static void test_ws_frames_whole_and_byte_by_byte(void **state) {
  (void)state;
  tally t;
  for (size_t step = 1; step <= sizeof frames; step += (step < 4 ? 1 : 7)) {
    feed_frames(step, &t);
    assert_int_equal(t.messages, 3);
    assert_string_equal(t.last, "abc");
    assert_int_equal(t.last_type, FLURRY_WS_TEXT);
    assert_int_equal(t.pings, 1);
    assert_int_equal(t.closes, 1);
    assert_int_equal(t.st.err, 0);
    assert_int_equal(t.st.code, 1000);
    assert_int_equal(t.st.by_server, 1);
    assert_string_equal(t.reason, "bye");
  }
}

static void feed_one(const unsigned char *p, size_t n, size_t max_message, tally *t) {
  flurry_ws *ws;
  flurry_ws_opts o;
  flurry_ws_opts_init(&o);
  o.max_message = max_message;
  memset(t, 0, sizeof *t);
  assert_int_equal(flurry__ws_detached_new(&ws, &o, &t_cbs, t), 0);
  (void)flurry__ws_feed(ws, p, n);
  flurry__ws_detached_free(ws);
  assert_int_equal(t->closes, 1);
}

static void test_ws_frames_over_the_limit_close_1009(void **state) {
  (void)state;
  static const unsigned char five[] = {0x81, 0x05, '1', '2', '3', '4', '5'};
  static const unsigned char four[] = {0x81, 0x04, '1', '2', '3', '4'};
  tally t;
  feed_one(five, sizeof five, 4, &t);
  assert_int_equal(t.messages, 0);
  assert_int_equal(t.st.err, FLURRY_ETOO_LARGE);
  assert_int_equal(t.st.code, 1009);
  assert_int_equal(t.st.by_server, 0);
  feed_one(four, sizeof four, 4, &t); /* at the limit: delivered */
  assert_int_equal(t.messages, 1);
  assert_int_equal(t.st.err, FLURRY_ECANCELLED); /* freed while open */
}

/* A flood of pings (payload "7") while the server reads nothing: every
 * ping is reported, one pong is queued (wslay alone queues one per ping);
 * once the server reads, it goes and the queue is empty. */
static void test_ws_ping_flood_queues_one_pong(void **state) {
  (void)state;
  enum { PINGS = 10000 };
  static unsigned char flood[PINGS * 3];
  for (size_t i = 0; i < PINGS; i++)
    memcpy(flood + 3 * i, "\x89\x01\x37", 3);
  tally t;
  memset(&t, 0, sizeof t);
  flurry_ws *ws;
  assert_int_equal(flurry__ws_detached_new(&ws, NULL, &t_cbs, &t), 0);
  flurry__ws_detached_block(ws, 1);
  for (size_t off = 0; off < sizeof flood; off += 1000) /* in pieces, as from a socket */
    assert_int_equal(flurry__ws_feed(ws, flood + off, 1000), 0);
  assert_int_equal(t.pings, PINGS);
  assert_int_equal(flurry_ws_queued_messages(ws), 1);
  assert_int_equal(flurry_ws_queued(ws), 1); /* the payload, "7" */
  flurry__ws_detached_block(ws, 0);
  assert_int_equal(flurry__ws_feed(ws, "", 0), 0);
  assert_int_equal(flurry_ws_queued_messages(ws), 0);
  flurry__ws_detached_free(ws);
}

/* With FLURRY_WS_PAUSE_MESSAGES messages waiting to be sent, nothing is
 * read; once the server reads them, reading goes on. */
static void test_ws_reading_pauses_while_the_queue_is_full(void **state) {
  (void)state;
  tally t;
  memset(&t, 0, sizeof t);
  flurry_ws *ws;
  assert_int_equal(flurry__ws_detached_new(&ws, NULL, &t_cbs, &t), 0);
  flurry__ws_detached_block(ws, 1);
  for (int i = 0; i < FLURRY_WS_PAUSE_MESSAGES - 1; i++)
    assert_int_equal(flurry_ws_send(ws, FLURRY_WS_TEXT, "", 0), 0);
  assert_int_equal(flurry__ws_feed(ws, "\x81\x02hi", 4), 0);
  assert_int_equal(t.messages, 1); /* under the cap: read */
  assert_int_equal(flurry_ws_send(ws, FLURRY_WS_TEXT, "", 0), 0);
  assert_int_equal(flurry_ws_queued_messages(ws), FLURRY_WS_PAUSE_MESSAGES);
  assert_int_equal(flurry__ws_feed(ws, "\x81\x02ho", 4), 0);
  assert_int_equal(t.messages, 1); /* at the cap: waits */
  flurry__ws_detached_block(ws, 0);
  assert_int_equal(flurry__ws_feed(ws, "", 0), 0);
  assert_int_equal(t.messages, 2);
  assert_string_equal(t.last, "ho");
  assert_int_equal(flurry_ws_queued_messages(ws), 0);
  flurry__ws_detached_free(ws);
  assert_int_equal(t.st.err, FLURRY_ECANCELLED);
}

/* A full send queue (max_send_queue 10) that a pong takes past its limit
 * still refuses more. */
static void test_ws_send_queue_over_the_limit_refuses(void **state) {
  (void)state;
  tally t;
  memset(&t, 0, sizeof t);
  flurry_ws_opts o;
  flurry_ws_opts_init(&o);
  o.max_send_queue = 10;
  flurry_ws *ws;
  assert_int_equal(flurry__ws_detached_new(&ws, &o, &t_cbs, &t), 0);
  flurry__ws_detached_block(ws, 1);
  assert_int_equal(flurry_ws_send(ws, FLURRY_WS_TEXT, "0123456789", 10), 0);
  assert_int_equal(flurry__ws_feed(ws, "\x89\x05hello", 7), 0); /* its pong: 5 bytes more */
  assert_int_equal(flurry_ws_queued(ws), 15);
  assert_int_equal(flurry_ws_send(ws, FLURRY_WS_TEXT, "x", 1), FLURRY_ETOO_LARGE);
  flurry__ws_detached_free(ws);
}

/* A ping with FIN=0 (RFC 6455 5.5: control frames are never fragmented):
 * the client closes with 1002; what came before it is delivered. */
static void test_ws_fragmented_ping_closes_1002(void **state) {
  (void)state;
  static const unsigned char bad[] = {0x81, 0x02, 'h', 'i', 0x09, 0x01, 'p', 0x81, 0x01, 'x'};
  tally t;
  feed_one(bad, sizeof bad, 0, &t);
  assert_int_equal(t.messages, 1);
  assert_int_equal(t.pings, 0);
  assert_int_equal(t.st.err, FLURRY_EPROTOCOL);
  assert_int_equal(t.st.code, 1002);
  assert_int_equal(t.st.by_server, 0);
  assert_non_null(strstr(t.st.message, "fragmented control frame"));
}

static void test_ws_frames_masked_from_server_is_protocol_error(void **state) {
  (void)state;
  static const unsigned char masked[] = {0x81, 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2};
  tally t;
  feed_one(masked, sizeof masked, 0, &t);
  assert_int_equal(t.messages, 0);
  assert_int_equal(t.st.err, FLURRY_EPROTOCOL);
  assert_int_equal(t.st.code, 1002);
}

/* ---- a whole session on a real loop ---------------------------------------- */

typedef struct session {
  uv_loop_t loop;
  mock_server mock;
  httpd_server *httpd;
  flurry_client *client;
  int opens, messages, closes, httpd_closed;
  char echoed[64];
  flurry_ws_status st;
} session;

static void s_open(flurry_ws *ws, void *ud) {
  session *s = ud;
  s->opens++;
  assert_int_equal(flurry_ws_send(ws, FLURRY_WS_TEXT, "hello", 5), 0);
  assert_int_equal(flurry_ws_send(ws, FLURRY_WS_TEXT, "x", 1 << 30), FLURRY_ETOO_LARGE);
  assert_int_equal(flurry_ws_send(ws, FLURRY_WS_TEXT, "\xff\xfe", 2), FLURRY_EINVALID); /* #11 */
}

static void s_message(flurry_ws *ws, flurry_ws_type type, const char *data, size_t len, void *ud) {
  session *s = ud;
  assert_int_equal(type, FLURRY_WS_TEXT);
  snprintf(s->echoed, sizeof s->echoed, "%.*s", (int)len, data);
  s->messages++;
  assert_int_equal(flurry_ws_close(ws, 4000, "done"), 0);
  assert_int_equal(flurry_ws_close(ws, 4000, "again"), FLURRY_EINVALID);
  assert_int_equal(flurry_ws_send(ws, FLURRY_WS_TEXT, "late", 4), FLURRY_EINVALID);
}

static void s_httpd_closed(void *arg) { ((session *)arg)->httpd_closed++; }

static void s_close(flurry_ws *ws, const flurry_ws_status *st, void *ud) {
  session *s = ud;
  (void)ws;
  s->closes++;
  s->st = *st;
  httpd_close(s->httpd, s_httpd_closed, s);
}

static void test_ws_session_against_mock_echo(void **state) {
  (void)state;
  session s;
  memset(&s, 0, sizeof s);
  assert_int_equal(uv_loop_init(&s.loop), 0);
  assert_int_equal(mock_init(&s.mock, &s.loop), 0);
  httpd_opts ho;
  memset(&ho, 0, sizeof ho);
  ho.on_request = mock_on_request;
  ho.on_abandon = mock_on_abandon;
  ho.user = &s.mock;
  char err[256];
  assert_int_equal(httpd_new(&s.httpd, &s.loop, &ho, err, sizeof err), 0);
  assert_int_equal(flurry_client_new(&s.client, &s.loop), 0);
  char url[64];
  snprintf(url, sizeof url, "ws://127.0.0.1:%u/ws/echo", (unsigned)httpd_port(s.httpd));
  flurry_ws *ws = NULL;
  flurry_ws_callbacks cbs = {s_open, s_message, NULL, s_close};
  const char *bad_headers[] = {"Upgrade: h2c", NULL};
  assert_int_equal(flurry_ws_connect(&ws, s.client, url, bad_headers, NULL, &cbs, &s),
                   FLURRY_EINVALID);
  assert_int_equal(flurry_ws_connect(&ws, s.client, "http://127.0.0.1/", NULL, NULL, &cbs, &s),
                   FLURRY_EINVALID);
  assert_null(ws);
  assert_int_equal(flurry_ws_connect(&ws, s.client, url, NULL, NULL, &cbs, &s), 0);
  assert_int_equal(s.opens, 0); /* never from inside connect */
  flurry_client_free(s.client); /* the connection does not need it */
  uv_run(&s.loop, UV_RUN_DEFAULT);
  mock_free(&s.mock);
  assert_int_equal(s.opens, 1);
  assert_int_equal(s.messages, 1);
  assert_string_equal(s.echoed, "hello");
  assert_int_equal(s.closes, 1);
  assert_int_equal(s.st.err, 0);
  assert_int_equal(s.st.code, 4000);
  assert_int_equal(s.st.by_server, 0);
  assert_int_equal(s.st.http_status, 101);
  assert_int_equal(s.httpd_closed, 1);
  assert_int_equal(uv_loop_close(&s.loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ws_accept_rfc_vector),
      cmocka_unit_test(test_ws_new_key_is_16_random_bytes),
      cmocka_unit_test(test_ws_url_parse),
      cmocka_unit_test(test_ws_request_headers),
      cmocka_unit_test(test_ws_response_every_prefix),
      cmocka_unit_test(test_ws_response_refused),
      cmocka_unit_test(test_ws_response_protocol),
      cmocka_unit_test(test_ws_scan_every_split),
      cmocka_unit_test(test_ws_scan_framing_errors),
      cmocka_unit_test(test_ws_scan_ring_full),
      cmocka_unit_test(test_ws_frames_whole_and_byte_by_byte),
      cmocka_unit_test(test_ws_ping_flood_queues_one_pong),
      cmocka_unit_test(test_ws_reading_pauses_while_the_queue_is_full),
      cmocka_unit_test(test_ws_send_queue_over_the_limit_refuses),
      cmocka_unit_test(test_ws_fragmented_ping_closes_1002),
      cmocka_unit_test(test_ws_frames_over_the_limit_close_1009),
      cmocka_unit_test(test_ws_frames_masked_from_server_is_protocol_error),
      cmocka_unit_test(test_ws_session_against_mock_echo),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
