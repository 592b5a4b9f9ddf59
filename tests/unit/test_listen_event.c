/* test_listen_event.c: the event lines of `flurry listen`
 * (listen_event.c): RFC 3339 times, the line written, reading its head
 * back on restart (every prefix, from exactly-sized heap copies), the
 * top-level "id" of a Stripe body, headers joined and redacted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl.h"
#include "listen_event.h"

#define T_MS 1614265330123ll /* 2021-02-25T15:02:10.123Z */

static void test_listen_event_time_round_trip(void **state) {
  (void)state;
  char s[LISTEN_EVENT_TIME_LEN + 1];
  int64_t ms = 0;
  assert_int_equal(listen_event_time_format(T_MS, s), 0);
  assert_string_equal(s, "2021-02-25T15:02:10.123Z");
  assert_int_equal(listen_event_time_parse(s, strlen(s), &ms), 0);
  assert_int_equal(ms, T_MS);
  assert_int_equal(listen_event_time_format(0, s), 0);
  assert_string_equal(s, "1970-01-01T00:00:00.000Z");
  assert_int_equal(listen_event_time_format(-1, s), 0);
  assert_string_equal(s, "1969-12-31T23:59:59.999Z");
  const char *bad[] = {"2021-02-25T15:02:10.123",  "2021-02-25 15:02:10.123Z",
                       "2021-13-25T15:02:10.123Z", "2021-02-25T15:02:1x.123Z",
                       "2021-02-25T15:02:10,123Z", "2021-02-25T24:02:10.123Z"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(listen_event_time_parse(bad[i], strlen(bad[i]), &ms), -1);
}

static void test_listen_event_line(void **state) {
  (void)state;
  fl_buf b = FL_BUF_INIT(0);
  listen_event ev;
  memset(&ev, 0, sizeof ev);
  ev.id = "\"gh-1\"";
  ev.id_len = 6;
  ev.received_ms = T_MS;
  ev.scheme = "github";
  ev.path = "/h\"ook";
  ev.body = "{ \"a\" : 1 }";
  ev.body_len = strlen(ev.body);
  ev.json = "{\"a\":1}";
  ev.json_len = 7;
  assert_int_equal(listen_event_line(&b, &ev), FL_OK);
  assert_string_equal(b.data, "{\"id\":\"gh-1\",\"received_at\":"
                              "\"2021-02-25T15:02:10.123Z\",\"scheme\":\"github\","
                              "\"path\":\"/h\\\"ook\",\"body\":{\"a\":1}}\n");
  fl_buf_reset(&b);
  ev.id = NULL;
  ev.json = NULL;
  ev.body = "line\tone";
  ev.body_len = 8;
  ev.headers = "{\"x\":\"1\"}";
  ev.headers_len = 9;
  assert_int_equal(listen_event_line(&b, &ev), FL_OK);
  assert_string_equal(b.data, "{\"id\":null,\"received_at\":"
                              "\"2021-02-25T15:02:10.123Z\",\"scheme\":\"github\","
                              "\"path\":\"/h\\\"ook\",\"headers\":{\"x\":\"1\"},"
                              "\"body_text\":\"line\\tone\"}\n");
  fl_buf_reset(&b);
  ev.headers = NULL;
  ev.body = "\xff\x00";
  ev.body_len = 2;
  assert_int_equal(listen_event_line(&b, &ev), FL_OK);
  assert_non_null(strstr(b.data, ",\"body_base64\":\"/wA=\"}\n"));
  /* a limit leaves the buffer as it was */
  fl_buf small = FL_BUF_INIT(40);
  assert_int_equal(fl_buf_puts(&small, "keep"), FL_OK);
  assert_int_equal(listen_event_line(&small, &ev), FL_ELIMIT);
  assert_int_equal(small.len, 4);
  assert_string_equal(small.data, "keep");
  fl_buf_free(&small);
  fl_buf_free(&b);
}

/* A line written is read back: id token and time. */
static void test_listen_event_head_round_trip(void **state) {
  (void)state;
  fl_buf b = FL_BUF_INIT(0);
  listen_event ev;
  memset(&ev, 0, sizeof ev);
  ev.id = "\"a\\\"b\"";
  ev.id_len = strlen(ev.id);
  ev.received_ms = T_MS;
  ev.scheme = "stripe";
  ev.path = "/";
  ev.body = "x";
  ev.body_len = 1;
  assert_int_equal(listen_event_line(&b, &ev), FL_OK);
  const char *id = NULL;
  size_t id_len = 0;
  int64_t ms = 0;
  assert_int_equal(listen_event_head_parse(b.data, b.len, &id, &id_len, &ms), 0);
  assert_int_equal(id_len, ev.id_len);
  assert_memory_equal(id, ev.id, id_len);
  assert_int_equal(ms, T_MS);
  const char *null_line = "{\"id\":null,\"received_at\":\"2021-02-25T15:02:10.123Z\",\"x\":1}";
  assert_int_equal(listen_event_head_parse(null_line, strlen(null_line), &id, &id_len, &ms), 0);
  assert_null(id);
  const char *foreign[] = {"",
                           "{}",
                           "{\"id\":1,\"received_at\":\"x\"}",
                           "{\"received_at\":\"2021-02-25T15:02:10.123Z\"}",
                           "{\"id\":\"a\",\"received_at\":\"2021-02-25\"}",
                           "not json"};
  for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++)
    assert_int_equal(listen_event_head_parse(foreign[i], strlen(foreign[i]), &id, &id_len, &ms),
                     -1);
  fl_buf_free(&b);
}

/* Every prefix of a line, from an exactly-sized copy: parses only once
 * the time's closing quote is in. */
static void test_listen_event_head_every_prefix(void **state) {
  (void)state;
  const char *line = "{\"id\":\"evt_\\\"1\",\"received_at\":"
                     "\"2021-02-25T15:02:10.123Z\",\"scheme\":\"stripe\"}";
  size_t n = strlen(line), need = strstr(line, "Z\"") - line + 2;
  for (size_t len = 0; len <= n; len++) {
    char *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, line, len);
    const char *id;
    size_t id_len;
    int64_t ms;
    assert_int_equal(listen_event_head_parse(p, len, &id, &id_len, &ms), len >= need ? 0 : -1);
    free(p);
  }
}

static void test_listen_event_json_member(void **state) {
  (void)state;
  const char *j = "{\"object\":\"event\",\"data\":{\"id\":\"inner\",\"l\":[1,"
                  "{\"id\":2}],\"s\":\"},\\\"id\\\":\"},\"id\":\"evt_1\",\"n\":3}";
  size_t off = 0, len = 0;
  assert_int_equal(listen_event_json_member(j, strlen(j), "id", &off, &len), 0);
  assert_int_equal(len, 7);
  assert_memory_equal(j + off, "\"evt_1\"", 7);
  assert_int_equal(listen_event_json_member(j, strlen(j), "n", &off, &len), 0);
  assert_memory_equal(j + off, "3", 1);
  assert_int_equal(listen_event_json_member(j, strlen(j), "data", &off, &len), 0);
  assert_int_equal(j[off], '{');
  assert_int_equal(j[off + len - 1], '}');
  assert_int_equal(listen_event_json_member(j, strlen(j), "missing", &off, &len), -1);
  const char *not_obj[] = {"[1]", "\"id\"", "{}", "{\"i\":1}", "3"};
  for (size_t i = 0; i < sizeof not_obj / sizeof not_obj[0]; i++)
    assert_int_equal(listen_event_json_member(not_obj[i], strlen(not_obj[i]), "id", &off, &len),
                     -1);
  /* every prefix (of valid JSON: no crash, no over-read) */
  for (size_t n = 0; n <= strlen(j); n++) {
    char *p = malloc(n ? n : 1);
    assert_non_null(p);
    memcpy(p, j, n);
    (void)listen_event_json_member(p, n, "id", &off, &len);
    free(p);
  }
}

static void test_listen_event_headers(void **state) {
  (void)state;
  const char *kv[] = {"Host",    "h", "X-Multi",       "a",        "Cookie",  "c=1",
                      "x-multi", "b", "Authorization", "Bearer x", "X-Empty", NULL};
  fl_buf b = FL_BUF_INIT(0);
  assert_int_equal(listen_event_headers(&b, kv, 6), FL_OK);
  assert_string_equal(b.data, "{\"host\":\"h\",\"x-multi\":\"a, b\",\"cookie\":"
                              "\"[redacted]\",\"authorization\":\"[redacted]\","
                              "\"x-empty\":\"\"}");
  fl_buf_reset(&b);
  assert_int_equal(listen_event_headers(&b, kv, 0), FL_OK);
  assert_string_equal(b.data, "{}");
  fl_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_listen_event_time_round_trip),
      cmocka_unit_test(test_listen_event_line),
      cmocka_unit_test(test_listen_event_head_round_trip),
      cmocka_unit_test(test_listen_event_head_every_prefix),
      cmocka_unit_test(test_listen_event_json_member),
      cmocka_unit_test(test_listen_event_headers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
