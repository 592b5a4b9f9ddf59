/* test_url.c: what pagination knows about URLs (src/url.c): the pages
 * between a next and a last link, resolving next links, origins. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "internal.h"

static void test_url_page_range(void **state) {
  (void)state;
  flurry__page_range pr;
  /* page numbers, page 1 implicit */
  assert_int_equal(flurry__url_page_range("http://h/i?per_page=50", "http://h/i?per_page=50&page=2",
                                          "http://h/i?per_page=50&page=20", &pr),
                   0);
  assert_true(pr.first == 2 && pr.last == 20 && pr.step == 1);
  char *u = flurry__url_page("http://h/i?per_page=50&page=2", &pr, 7);
  assert_string_equal(u, "http://h/i?per_page=50&page=7");
  fl_free(u);
  /* offsets, offset 0 implicit, and explicit */
  assert_int_equal(flurry__url_page_range("http://h/i", "http://h/i?offset=50&limit=50",
                                          "http://h/i?offset=950&limit=50", &pr),
                   0);
  assert_true(pr.first == 50 && pr.last == 950 && pr.step == 50);
  assert_int_equal(flurry__url_page_range("http://h/i?offset=100&limit=50",
                                          "http://h/i?offset=150&limit=50",
                                          "http://h/i?offset=950&limit=50", &pr),
                   0);
  assert_true(pr.first == 150 && pr.step == 50);
  /* not a range: two parameters differ, another path, no whole step, a
   * cursor, last before next */
  assert_int_equal(flurry__url_page_range("http://h/i", "http://h/i?a=2&b=2", "http://h/i?a=3&b=3",
                                          &pr),
                   -1);
  assert_int_equal(flurry__url_page_range("http://h/i", "http://h/i?page=2", "http://h/j?page=9",
                                          &pr),
                   -1);
  assert_int_equal(flurry__url_page_range("http://h/i?o=0", "http://h/i?o=30", "http://h/i?o=100",
                                          &pr),
                   -1);
  assert_int_equal(flurry__url_page_range("http://h/i", "http://h/i?c=abc", "http://h/i?c=xyz",
                                          &pr),
                   -1);
  assert_int_equal(flurry__url_page_range("http://h/i", "http://h/i?page=5", "http://h/i?page=3",
                                          &pr),
                   -1);
  assert_int_equal(flurry__url_page_range("http://h/i", "http://h/i", "http://h/i", &pr), -1);
}

static void test_url_resolve_and_origin(void **state) {
  (void)state;
  char *u = flurry__url_resolve("http://h:8/a/b?x=1", "/items?page=2");
  assert_string_equal(u, "http://h:8/items?page=2");
  fl_free(u);
  u = flurry__url_resolve("http://h/a/b", "c?d=1");
  assert_string_equal(u, "http://h/a/c?d=1");
  fl_free(u);
  assert_null(flurry__url_resolve(NULL, "/relative"));
  assert_null(flurry__url_resolve("http://h/", "ftp://h/x"));
  assert_true(flurry__url_same_origin("http://H:80/a", "http://h/b"));
  assert_true(flurry__url_same_origin("https://h/a", "https://h:443/b?c"));
  assert_false(flurry__url_same_origin("http://h/a", "https://h/a"));
  assert_false(flurry__url_same_origin("http://h/a", "http://h:81/a"));
  assert_false(flurry__url_same_origin("http://127.0.0.1:5/a", "http://localhost:5/a"));
  assert_false(flurry__url_same_origin("http://h/a", "not a url"));
}

/* The public rule: relative URLs resolved against base first. */
static void test_url_same_origin_public(void **state) {
  (void)state;
  assert_true(flurry_url_same_origin(NULL, "http://H:80/a", "http://h/b"));
  assert_true(flurry_url_same_origin("https://h/x/", "y?z=1", "https://h:443/w"));
  assert_true(flurry_url_same_origin("http://h:8/", "/a", "//h:8/b"));
  assert_false(flurry_url_same_origin("http://h:8/", "/a", "http://h/a"));
  assert_false(flurry_url_same_origin(NULL, "/a", "/a")); /* relative, no base */
  assert_false(flurry_url_same_origin(NULL, "http://h/a", "https://h/a"));
  assert_false(flurry_url_same_origin(NULL, "ftp://h/a", "ftp://h/b")); /* not http(s) */
  assert_false(flurry_url_same_origin("http://h/", "http://h/a", NULL));
  assert_false(flurry_url_same_origin("http://h/", NULL, "http://h/a"));
}

/* flurry_url_resolve: RFC 3986 5.4's examples against a page (issue 11). */
static void test_url_resolve_public(void **state) {
  (void)state;
  static const char *const cases[][2] = {
      {"g", "http://a/b/c/g"},        {"./g", "http://a/b/c/g"}, {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},           {"//g", "http://g/"},      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},    {"../g", "http://a/b/g"},  {"../../g", "http://a/g"},
      {"https://x/y", "https://x/y"},
  };
  char out[64];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(flurry_url_resolve("http://a/b/c/d;p?q", cases[i][0], out, sizeof out), 0);
    assert_string_equal(out, cases[i][1]);
  }
  assert_int_equal(flurry_url_resolve(NULL, "/g", out, sizeof out), FLURRY_EINVALID);
  assert_int_equal(flurry_url_resolve("http://a/", "ftp://x/", out, sizeof out), FLURRY_EINVALID);
  assert_int_equal(flurry_url_resolve("http://a/b", "g", out, 8), FLURRY_ETOO_LARGE);
  assert_int_equal(flurry_url_resolve("http://a/b", "g", out, 11), 0); /* "http://a/g" + NUL */
  assert_int_equal(flurry_url_resolve("http://a/b", NULL, out, sizeof out), FLURRY_EINVALID);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_url_page_range),
      cmocka_unit_test(test_url_resolve_and_origin),
      cmocka_unit_test(test_url_same_origin_public),
      cmocka_unit_test(test_url_resolve_public),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
