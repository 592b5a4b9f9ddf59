/* test_link.c: the CLI's Link header parser (src/link.c): every prefix of
 * every input, in a buffer of exactly that size, so ASan sees any read past
 * the end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "flurry.h"
#include "fl.h"

/* n bytes of s in a heap block of exactly n bytes (no NUL after). */
static char *exact(const char *s, size_t n) {
  char *p = malloc(n ? n : 1);
  assert_non_null(p);
  memcpy(p, s, n);
  return p;
}

/* Every link of a header value, as "uri|rel;" into out. Returns the last
 * parse result (FLURRY_LINK_END when the whole value was read). */
static int walk(const char *p, size_t n, char *out, size_t outlen) {
  out[0] = '\0';
  for (;;) {
    flurry_link l;
    size_t used = SIZE_MAX;
    int rc = flurry_link_parse(p, n, &l, &used);
    if (rc != FLURRY_LINK_OK)
      return rc;
    assert_true(used > 0 && used <= n);
    assert_true(l.uri >= p && l.uri + l.uri_len <= p + n);
    if (l.rel)
      assert_true(l.rel >= p && l.rel + l.rel_len <= p + n);
    size_t k = strlen(out);
    snprintf(out + k, outlen - k, "%.*s|%.*s;", (int)l.uri_len, l.uri, (int)l.rel_len,
             l.rel ? l.rel : "");
    p += used;
    n -= used;
  }
}

static const char github[] =
    "<https://api.github.com/repositories/1300192/issues?page=2>; rel=\"prev\", "
    "<https://api.github.com/repositories/1300192/issues?page=4>; rel=\"next\", "
    "<https://api.github.com/repositories/1300192/issues?page=515>; rel=\"last\", "
    "<https://api.github.com/repositories/1300192/issues?page=1>; rel=\"first\"";

static void test_link_github_header(void **state) {
  (void)state;
  char *p = exact(github, strlen(github));
  char got[2048];
  assert_int_equal(walk(p, strlen(github), got, sizeof got), FLURRY_LINK_END);
  assert_string_equal(got, "https://api.github.com/repositories/1300192/issues?page=2|prev;"
                           "https://api.github.com/repositories/1300192/issues?page=4|next;"
                           "https://api.github.com/repositories/1300192/issues?page=515|last;"
                           "https://api.github.com/repositories/1300192/issues?page=1|first;");
  const char *uri;
  size_t len;
  assert_int_equal(flurry_link_find(p, strlen(github), "next", &uri, &len), 1);
  assert_int_equal(len, strlen("https://api.github.com/repositories/1300192/issues?page=4"));
  assert_int_equal(flurry_link_find(p, strlen(github), "LAST", &uri, &len), 1);
  assert_memory_equal(uri + len - 8, "page=515", 8);
  assert_int_equal(flurry_link_find(p, strlen(github), "nex", &uri, &len), 0);
  free(p);
}

static void test_link_forms(void **state) {
  (void)state;
  const struct {
    const char *in, *want;
  } cases[] = {
      {"</a?x=1,2;3>; rel=next", "/a?x=1,2;3|next;"},            /* , and ; in the URI */
      {"<a>;rel=\"next last\"", "a|next last;"},                 /* a list of relations */
      {"<a> ; title=\"x, \\\"y\\\"; z\" ; rel=next", "a|next;"}, /* quoted, escaped */
      {"<a>; rel=next; rel=prev", "a|next;"},                    /* the first rel counts */
      {"<a>; crossorigin; rel=next", "a|next;"},                 /* a bare parameter */
      {" , <a>; rel=prev,,<b>;\trel=next ,", "a|prev;b|next;"},  /* empty elements */
      {"<a>", "a|;"},
      {"", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char got[256];
    size_t n = strlen(cases[i].in);
    char *p = exact(cases[i].in, n);
    int rc = walk(p, n, got, sizeof got);
    if (rc != FLURRY_LINK_END || strcmp(got, cases[i].want) != 0)
      fail_msg("case %zu [%s]: rc %d, got [%s], want [%s]", i, cases[i].in, rc, got, cases[i].want);
    free(p);
  }
  flurry_link l = {.rel = "next  last", .rel_len = 10};
  assert_true(flurry_link_rel_has(&l, "last"));
  assert_true(flurry_link_rel_has(&l, "Next"));
  assert_false(flurry_link_rel_has(&l, "nextlast"));
}

static void test_link_rejects_garbage(void **state) {
  (void)state;
  const char *bad[] = {"https://no.brackets/; rel=next",
                       "<a> junk",
                       "<a>; =x",
                       "<a>; rel=",
                       "<a>; rel=\"x\"y",
                       "<a b>; rel=next",
                       "<a>; rel=@",
                       "<a\x01>",
                       "<a>; t=\"\x01\""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    size_t n = strlen(bad[i]);
    char *p = exact(bad[i], n);
    char got[256];
    int rc = walk(p, n, got, sizeof got);
    if (i == 3) /* a value cut short: more was expected */
      assert_int_equal(rc, FLURRY_LINK_AGAIN);
    else if (rc != FLURRY_LINK_BAD)
      fail_msg("[%s]: rc %d, expected FLURRY_LINK_BAD", bad[i], rc);
    free(p);
  }
  const char *uri;
  size_t len;
  char *p = exact("<x>; rel=prev, junk, <y>; rel=next", 34);
  assert_int_equal(flurry_link_find(p, 34, "next", &uri, &len), FLURRY_LINK_BAD);
  assert_int_equal(flurry_link_find(p, 34, "prev", &uri, &len), 1);
  free(p);
}

/* Every prefix of a valid value parses as links, or waits for more: never
 * an error, never a read past the prefix (ASan). */
static void test_link_every_prefix(void **state) {
  (void)state;
  const char *inputs[] = {github, "<a>; title=\"x, \\\"y\\\"\"; rel=\"next\", <b>; rel=last",
                          "</a?x=1,2;3>;rel=next"};
  for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
    size_t full = strlen(inputs[k]);
    for (size_t n = 0; n <= full; n++) {
      char *p = exact(inputs[k], n);
      char got[2048];
      int rc = walk(p, n, got, sizeof got);
      if (rc != FLURRY_LINK_END && rc != FLURRY_LINK_AGAIN)
        fail_msg("input %zu, prefix %zu: rc %d", k, n, rc);
      const char *uri;
      size_t len;
      rc = flurry_link_find(p, n, "next", &uri, &len);
      assert_true(rc == 1 || rc == 0 || rc == FLURRY_LINK_AGAIN);
      if (rc == 1)
        assert_true(uri >= p && uri + len <= p + n);
      free(p);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_link_github_header),
      cmocka_unit_test(test_link_forms),
      cmocka_unit_test(test_link_rejects_garbage),
      cmocka_unit_test(test_link_every_prefix),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
