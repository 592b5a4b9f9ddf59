/* test_secret.c: which header names carry credentials (secret.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "internal.h"

static int secret(const flurry_client *c, const char *name) {
  return flurry__header_is_secret(c, name, strlen(name));
}

static void test_secret_builtin_names_any_case(void **state) {
  (void)state;
  const char *yes[] = {"Authorization", "authorization", "PROXY-AUTHORIZATION", "cookie"};
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
    assert_true(secret(NULL, yes[i]));
  const char *no[] = {"Accept", "Author", "Authorizations", "Cookies", "Set-Cookie", "", "X-Api-Key"};
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
    assert_false(secret(NULL, no[i]));
  /* The length counts, not the NUL: a prefix of a secret name is not one. */
  assert_false(flurry__header_is_secret(NULL, "Cookie", 3));
  assert_true(flurry__header_is_secret(NULL, "Cookie: x", 6));
}

static void test_secret_added_names(void **state) {
  (void)state;
  flurry_client *c = NULL;
  assert_int_equal(flurry_client_new(&c, NULL), FLURRY_OK);
  assert_false(secret(c, "X-Api-Key"));
  assert_int_equal(flurry_client_add_secret_header(c, "X-Api-Key"), FLURRY_OK);
  assert_int_equal(flurry_client_add_secret_header(c, "x-api-KEY"), FLURRY_OK); /* once */
  assert_int_equal(c->nsecrets, 1);
  assert_int_equal(flurry_client_add_secret_header(c, "Cookie"), FLURRY_OK); /* built in */
  assert_int_equal(c->nsecrets, 1);
  assert_true(secret(c, "x-api-key"));
  assert_true(secret(c, "Authorization"));
  assert_false(secret(c, "X-Api"));
  assert_false(secret(NULL, "X-Api-Key")); /* per client */
  const char *bad[] = {"", "X Api", "X:Api", "X\r\nA", "X\x7f"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(flurry_client_add_secret_header(c, bad[i]), FLURRY_EINVALID);
  assert_int_equal(flurry_client_add_secret_header(c, NULL), FLURRY_EINVALID);
  assert_int_equal(flurry_client_add_secret_header(NULL, "X-A"), FLURRY_EINVALID);
  char name[32];
  int rc = FLURRY_OK, n = 0;
  for (; n < 1000 && rc == FLURRY_OK; n++) { /* bounded */
    snprintf(name, sizeof name, "X-S-%d", n);
    rc = flurry_client_add_secret_header(c, name);
  }
  assert_int_equal(rc, FLURRY_EINVALID);
  assert_int_equal(c->nsecrets, 256);
  flurry_client_free(c);
}

static void test_secret_out_of_memory(void **state) {
  (void)state;
  flurry_client *c = NULL;
  assert_int_equal(flurry_client_new(&c, NULL), FLURRY_OK);
  for (uint64_t k = 1; k <= 2; k++) {
    fl_alloc_fail_at(k);
    assert_int_equal(flurry_client_add_secret_header(c, "X-Token"), FLURRY_ENOMEM);
    fl_alloc_fail_at(0);
    assert_false(secret(c, "X-Token"));
  }
  assert_int_equal(flurry_client_add_secret_header(c, "X-Token"), FLURRY_OK);
  assert_true(secret(c, "X-Token"));
  flurry_client_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_secret_builtin_names_any_case),
      cmocka_unit_test(test_secret_added_names),
      cmocka_unit_test(test_secret_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
