/* test_status.c: the client's status rules (status.c): the lists, the
 * defaults, and what an attempt's outcome makes of them. Requests:
 * tests/integration/test_status_rules.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "internal.h"

static int in(const flurry_client *c, flurry_status_rule rule, int status) {
  return flurry_client_status_in(c, rule, status);
}

static void test_status_defaults(void **state) {
  (void)state;
  flurry_client *c = NULL;
  assert_int_equal(flurry_client_new(&c, NULL), FLURRY_OK);
  const int retried[] = {408, 429, 500, 502, 503, 504};
  int n = 0;
  for (int s = 100; s < 700; s++) {
    n += in(c, FLURRY_STATUS_RETRY, s);
    assert_false(in(c, FLURRY_STATUS_OK, s));
  }
  assert_int_equal(n, 6);
  for (size_t i = 0; i < 6; i++)
    assert_true(in(c, FLURRY_STATUS_RETRY, retried[i]));
  assert_false(in(NULL, FLURRY_STATUS_RETRY, 503));
  assert_false(in(c, (flurry_status_rule)7, 503));
  flurry_client_free(c);
}

static void test_status_lists(void **state) {
  (void)state;
  flurry_client *c = NULL;
  assert_int_equal(flurry_client_new(&c, NULL), FLURRY_OK);
  assert_int_equal(flurry_client_set_statuses(c, FLURRY_STATUS_RETRY, "404, 409 ,5xx"), FLURRY_OK);
  int n = 0;
  for (int s = 100; s < 700; s++)
    n += in(c, FLURRY_STATUS_RETRY, s);
  assert_int_equal(n, 102);
  assert_true(in(c, FLURRY_STATUS_RETRY, 404) && in(c, FLURRY_STATUS_RETRY, 599));
  assert_false(in(c, FLURRY_STATUS_RETRY, 408)); /* the default is replaced */
  assert_false(in(c, FLURRY_STATUS_OK, 404));    /* the other rule is untouched */
  const char *bad[] = {"3xx", "600", "399",  "404,,5xx", "40",  "4044", "4x",  "6xx",
                       "a",   ",",   "404,", " ",        "2xx", "+404", "-404"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (flurry_client_set_statuses(c, FLURRY_STATUS_RETRY, bad[i]) != FLURRY_EINVALID)
      fail_msg("accepted '%s'", bad[i]);
  }
  assert_true(in(c, FLURRY_STATUS_RETRY, 409)); /* a refused list changed nothing */
  assert_int_equal(flurry_client_set_statuses(c, FLURRY_STATUS_OK, "4XX"), FLURRY_OK);
  assert_true(in(c, FLURRY_STATUS_OK, 400) && in(c, FLURRY_STATUS_OK, 499));
  assert_false(in(c, FLURRY_STATUS_OK, 500));
  assert_int_equal(flurry_client_set_statuses(c, FLURRY_STATUS_RETRY, NULL), FLURRY_OK);
  assert_true(in(c, FLURRY_STATUS_RETRY, 408) && !in(c, FLURRY_STATUS_RETRY, 409));
  assert_int_equal(flurry_client_set_statuses(c, FLURRY_STATUS_OK, ""), FLURRY_OK);
  assert_false(in(c, FLURRY_STATUS_OK, 404));
  assert_int_equal(flurry_client_set_statuses(c, (flurry_status_rule)2, "404"), FLURRY_EINVALID);
  assert_int_equal(flurry_client_set_statuses(NULL, FLURRY_STATUS_OK, "404"), FLURRY_EINVALID);
  flurry_client_free(c);
}

/* What maybe_retry asks: -1 for what is no answer of 400 or more. */
static void test_status_retried_outcomes(void **state) {
  (void)state;
  flurry_client *c = NULL;
  assert_int_equal(flurry_client_new(&c, NULL), FLURRY_OK);
  flurry_response r = {0};
  r.err = FLURRY_EHTTP, r.status = 503;
  assert_int_equal(flurry__status_retried(c, &r), 1);
  r.status = 404;
  assert_int_equal(flurry__status_retried(c, &r), 0);
  r.err = FLURRY_ERESET, r.status = 0;
  assert_int_equal(flurry__status_retried(c, &r), -1);
  r.err = FLURRY_OK, r.status = 200;
  assert_int_equal(flurry__status_retried(c, &r), -1);
  r.status = 404; /* ok only by the rule */
  assert_int_equal(flurry__status_retried(c, &r), -1);
  assert_int_equal(flurry_client_set_statuses(c, FLURRY_STATUS_OK, "404"), FLURRY_OK);
  assert_int_equal(flurry__status_retried(c, &r), 0);
  assert_true(flurry__status_ok(c, 404) && !flurry__status_ok(c, 403));
  assert_int_equal(flurry_client_set_statuses(c, FLURRY_STATUS_RETRY, "404"), FLURRY_OK);
  assert_int_equal(flurry__status_retried(c, &r), 1);
  flurry_client_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status_defaults),
      cmocka_unit_test(test_status_lists),
      cmocka_unit_test(test_status_retried_outcomes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
