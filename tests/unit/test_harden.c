/* test_harden.c: the library's defences against hostile input: header
 * limits and the header iterator, control characters in URLs and headers,
 * unpaired surrogates in JSON. No I/O. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static int feed(flurry_response *r, const char *line) {
  return flurry__response_header_line(r, line, strlen(line));
}

static void test_harden_header_lines_limit(void **state) {
  (void)state;
  flurry_response *r = flurry__response_new(1024);
  assert_int_equal(feed(r, "HTTP/1.1 100 Continue\r\n"), FLURRY_OK);
  assert_int_equal(feed(r, "\r\n"), FLURRY_OK);
  assert_int_equal(feed(r, "HTTP/1.1 200 OK\r\n"), FLURRY_OK);
  int rc = FLURRY_OK;
  size_t i = 0;
  char line[64];
  for (; i < 2000 && rc == FLURRY_OK; i++) { /* bounded: stops at the limit */
    snprintf(line, sizeof line, "X-%zu: v\r\n", i);
    rc = feed(r, line);
  }
  assert_int_equal(rc, FLURRY_ETOO_LARGE);
  assert_int_equal(i + 3, FLURRY_MAX_HEADER_LINES + 1); /* 1xx lines count too */
  flurry__response_reset(r);                            /* a new attempt or hop starts from zero */
  assert_int_equal(feed(r, "HTTP/1.1 200 OK\r\n"), FLURRY_OK);
  flurry_response_free(r);
}

static void test_harden_header_bytes_limit(void **state) {
  (void)state;
  flurry_response *r = flurry__response_new(1024);
  static char big[8192];
  memset(big, 'a', sizeof big - 3);
  memcpy(big, "X: ", 3);
  int rc = FLURRY_OK;
  size_t i = 0;
  for (; i < 100 && rc == FLURRY_OK; i++)
    rc = flurry__response_header_line(r, big, sizeof big - 1);
  assert_int_equal(rc, FLURRY_ETOO_LARGE);
  assert_int_equal(i, FLURRY_MAX_HEADER_BYTES / (sizeof big - 1) + 1);
  assert_true(r->hdrs.len <= FLURRY_MAX_HEADER_BYTES);
  flurry_response_free(r);
}

static void test_harden_header_iterator(void **state) {
  (void)state;
  flurry_response *r = flurry__response_new(1024);
  size_t cursor = 0;
  const char *name, *value;
  assert_int_equal(flurry_response_header_next(r, &cursor, &name, &value), 0); /* none */
  feed(r, "HTTP/1.1 200 OK\r\n");
  feed(r, "A: 1\r\n");
  feed(r, "Empty:\r\n");
  feed(r, "c: three\r\n");
  size_t n = 0;
  while (flurry_response_header_next(r, &cursor, &name, &value)) {
    const char *n2, *v2;
    assert_int_equal(flurry_response_header_at(r, n, &n2, &v2), FLURRY_OK);
    assert_ptr_equal(name, n2);
    assert_ptr_equal(value, v2);
    n++;
  }
  assert_int_equal(n, 3);
  assert_int_equal(flurry_response_header_next(r, &cursor, &name, &value), 0); /* stays done */
  flurry_response_free(r);
}

static void test_harden_control_characters_refused(void **state) {
  (void)state;
  const char *bad[] = {"http://h/a\rb", "http://h/a\nb",     "http://h/a\tb", "http://h/a\x01",
                       "http://h/\x7f", "http://h/\x1b[31m", "http://h/a b"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    flurry_request *req = NULL;
    assert_int_equal(flurry_request_new(&req, "GET", bad[i]), FLURRY_EINVALID);
    assert_null(req);
  }
  flurry_request *req = NULL;
  assert_int_equal(flurry_request_new(&req, "GET", "http://h/%0D%0A\xc3\xa9"), FLURRY_OK);
  const char *bad_values[] = {"a\rb", "a\nb", "a\x01", "\x7f", "a\x1b"};
  for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++)
    assert_int_equal(flurry_request_add_header(req, "X-A", bad_values[i]), FLURRY_EINVALID);
  assert_null(req->headers);
  assert_int_equal(flurry_request_add_header(req, "X-A", "a\tb \xc3\xa9"), FLURRY_OK);
  flurry_request_free(req);
}

static int valid(const char *s) { return fl_json_valid(s, strlen(s), NULL) == FL_OK; }

static void test_harden_json_surrogates(void **state) {
  (void)state;
  assert_true(valid("\"\\ud83d\\ude00\""));
  assert_true(valid("\"\\uD83D\\uDE00 \\u00e9 \\uffff\""));
  const char *bad[] = {"\"\\ud800\"",        "\"\\udc00\"",        "\"\\ud800x\"",
                       "\"\\ud800\\u0041\"", "\"\\ud800\\ud800\"", "[\"\\ude00\\ud83d\"]",
                       "{\"\\udbff\":1}",    "\"\\ud8\""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_false(valid(bad[i]));
  size_t off = 0;
  assert_int_equal(fl_json_valid("{\"a\" \"b\"}", 9, &off), FL_EPARSE);
  assert_int_equal(off, 5);
  fl_buf b = FL_BUF_INIT(0);
  assert_int_equal(fl_json_compact(&b, "\"\\ud800\"", 8, NULL), FL_EPARSE);
  assert_int_equal(b.len, 0);
  fl_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_harden_header_lines_limit),
      cmocka_unit_test(test_harden_header_bytes_limit),
      cmocka_unit_test(test_harden_header_iterator),
      cmocka_unit_test(test_harden_control_characters_refused),
      cmocka_unit_test(test_harden_json_surrogates),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
