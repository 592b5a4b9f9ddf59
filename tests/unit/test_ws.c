/* test_ws.c: the WebSocket client: the handshake helpers (RFC 6455 vector,
 * URL, request, every prefix of the answer), the frame receive path without
 * a socket (every frame fed whole and byte by byte), and a whole session on
 * a real loop against flurry mock's /ws/echo served in-process. Callbacks
 * are counted through user data; the loop test ends with uv_loop_close()
 * == 0. */
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
  assert_int_equal(flurry__ws_request(&b, &u, "KEY", extra, defaults), FL_OK);
  assert_non_null(strstr(b.data, "GET /p HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"));
  assert_non_null(strstr(b.data, "Sec-WebSocket-Key: KEY\r\nSec-WebSocket-Version: 13\r\n"));
  assert_non_null(strstr(b.data, "Authorization: Bearer mine\r\n"));
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
  for (size_t i = 0; i < n; i++)
    assert_int_equal(flurry__ws_response_parse(buf, i, ACCEPT, &status, &err, &why), 0);
  assert_int_equal(flurry__ws_response_parse(buf, n, ACCEPT, &status, &err, &why), (long)n);
  assert_int_equal(status, 101);
  assert_int_equal(flurry__ws_response_parse(buf, n + 4, ACCEPT, &status, &err, &why), (long)n);
}

static void expect_refused(const char *answer, int want_err, int want_status, const char *word) {
  int status, err = 0;
  const char *why = NULL;
  assert_int_equal(flurry__ws_response_parse(answer, strlen(answer), ACCEPT, &status, &err, &why),
                   -1);
  assert_int_equal(err, want_err);
  assert_int_equal(status, want_status);
  assert_non_null(strstr(why, word));
}

static void test_ws_response_refused(void **state) {
  (void)state;
  expect_refused("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", FLURRY_EPROTOCOL, 200, "101");
  expect_refused("HTTP/1.1 404 Not Found\r\n\r\n", FLURRY_EHTTP, 404, "101");
  expect_refused("HTTP/1.1 101 OK\r\nConnection: upgrade\r\nSec-WebSocket-Accept: " ACCEPT
                 "\r\n\r\n", FLURRY_EPROTOCOL, 101, "Upgrade");
  expect_refused("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
                 "Sec-WebSocket-Accept: AAAAPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
                 FLURRY_EPROTOCOL, 101, "Sec-WebSocket-Accept");
  expect_refused("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
                 FLURRY_EPROTOCOL, 101, "Sec-WebSocket-Accept");
  expect_refused("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
                 "Sec-WebSocket-Accept: " ACCEPT "\r\nSec-WebSocket-Extensions: x\r\n\r\n",
                 FLURRY_EPROTOCOL, 101, "extension");
  expect_refused("SSH-2.0-OpenSSH\r\n\r\n", FLURRY_EPROTOCOL, 0, "HTTP");
}

/* ---- the frame receive path, detached -------------------------------------- */

typedef struct tally {
  int messages, pings, pongs, closes;
  int last_type;
  char last[64];
  flurry_ws_status st;
  char reason[128];
} tally;

static void t_message(flurry_ws *ws, flurry_ws_type type, const char *data, size_t len,
                      void *ud) {
  tally *t = ud;
  (void)ws;
  t->messages++;
  t->last_type = type;
  snprintf(t->last, sizeof t->last, "%.*s", (int)len, data);
}

static void t_control(flurry_ws *ws, flurry_ws_type type, const char *data, size_t len,
                      void *ud) {
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
}

static const flurry_ws_callbacks t_cbs = {NULL, t_message, t_control, t_close};

/* Server frames (unmasked): text "hi", binary 00 ff, "abc" in two
 * fragments, a ping "p", then close 1000 "bye". */
static const unsigned char frames[] = {
    0x81, 0x02, 'h',  'i',                         /* text */
    0x82, 0x02, 0x00, 0xff,                        /* binary */
    0x01, 0x01, 'a',  0x80, 0x02, 'b', 'c',        /* fragmented text */
    0x89, 0x01, 'p',                               /* ping */
    0x88, 0x05, 0x03, 0xe8, 'b',  'y', 'e'};       /* close 1000 "bye" */

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
  flurry__mock mock;
  flurry__httpd *httpd;
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
}

static void s_message(flurry_ws *ws, flurry_ws_type type, const char *data, size_t len,
                      void *ud) {
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
  flurry__httpd_close(s->httpd, s_httpd_closed, s);
}

static void test_ws_session_against_mock_echo(void **state) {
  (void)state;
  session s;
  memset(&s, 0, sizeof s);
  assert_int_equal(uv_loop_init(&s.loop), 0);
  assert_int_equal(flurry__mock_init(&s.mock, &s.loop), 0);
  flurry__httpd_opts ho;
  memset(&ho, 0, sizeof ho);
  ho.on_request = flurry__mock_on_request;
  ho.on_abandon = flurry__mock_on_abandon;
  ho.user = &s.mock;
  char err[256];
  assert_int_equal(flurry__httpd_new(&s.httpd, &s.loop, &ho, err, sizeof err), 0);
  assert_int_equal(flurry_client_new(&s.client, &s.loop), 0);
  char url[64];
  snprintf(url, sizeof url, "ws://127.0.0.1:%u/ws/echo", (unsigned)flurry__httpd_port(s.httpd));
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
  flurry__mock_free(&s.mock);
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
      cmocka_unit_test(test_ws_frames_whole_and_byte_by_byte),
      cmocka_unit_test(test_ws_frames_over_the_limit_close_1009),
      cmocka_unit_test(test_ws_frames_masked_from_server_is_protocol_error),
      cmocka_unit_test(test_ws_session_against_mock_echo),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
