/* test_redact.c: URL userinfo never written, secret values kept as
 * digests (cli/redact.c). Which header values are masked is the library's
 * flurry_header_is_secret (test_secret.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../cli/redact.c"

static void expect(const char *in, const char *out) {
  fl_buf b = FL_BUF_INIT(0);
  assert_int_equal(cli_redact_append(&b, in, strlen(in)), FL_OK);
  assert_string_equal(b.data ? b.data : "", out);
  assert_int_equal(cli_redact_needed(in, strlen(in)), strcmp(in, out) != 0);
  fl_buf_free(&b);
}

static void test_redact_urls(void **state) {
  (void)state;
  expect("http://user:pw@host/p", "http://user:***@host/p");
  expect("https://TOKEN@host:8443/", "https://***@host:8443/");
  expect("http://u:p:q@h", "http://u:***@h");
  expect("see http://a:b@x/ and https://c:d@y/z?q=1@2",
         "see http://a:***@x/ and https://c:***@y/z?q=1@2");
  expect("http://host/path@not-userinfo", "http://host/path@not-userinfo");
  expect("http://host?x=a:b@c", "http://host?x=a:b@c");
  expect("http://@host/", "http://@host/");
  expect("no url here: a:b@c", "no url here: a:b@c");
  expect("://", "://");
  expect("", "");
  expect("http://u:p@", "http://u:***@");
}

static void test_redact_digest(void **state) {
  (void)state;
  fl_buf b = FL_BUF_INIT(0);
  assert_int_equal(cli_secret_digest(&b, "abc"), FL_OK);
  assert_string_equal(b.data,
                      "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  fl_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_redact_urls),
      cmocka_unit_test(test_redact_digest),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
