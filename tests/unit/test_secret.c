/* test_secret.c: which header names carry credentials (secret.c): the
 * library's rule and the public predicate its clients use. */
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
  const char *no[] = {"Accept",     "Author", "Authorizations", "Cookies",
                      "Set-Cookie", "",       "X-Api-Key"};
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

/* The name heuristic (the flurry command's input lines): request headers
 * only, and only when the client asks for it. */
static void test_secret_heuristic_on_request_headers(void **state) {
  (void)state;
  flurry_client *c = NULL;
  assert_int_equal(flurry_client_new(&c, NULL), FLURRY_OK);
  const char *words[] = {"X-Api-Key",  "X-Auth-Token", "x-session-id", "X-Client-Secret",
                         "X-Password", "X-Credential", "X-Signature",  "Set-Cookie"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    assert_false(flurry_header_is_secret(c, words[i], FLURRY_HEADER_REQUEST));
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_SECRET_NAME_HEURISTIC, 1), FLURRY_OK);
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    assert_true(flurry_header_is_secret(c, words[i], FLURRY_HEADER_REQUEST));
    assert_true(secret(c, words[i])); /* what redirects and pages strip */
  }
  const char *plain[] = {"Accept", "X-Trace", "Content-Type", "Keep-Alive", ""};
  for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
    assert_false(flurry_header_is_secret(c, plain[i], FLURRY_HEADER_REQUEST));
  /* the length counts: a word past it is not in the name */
  assert_false(flurry__header_is_secret(c, "X-Api-Key", 5));
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_SECRET_NAME_HEURISTIC, 2), FLURRY_EINVALID);
  assert_int_equal(flurry_client_set(NULL, FLURRY_OPT_SECRET_NAME_HEURISTIC, 1), FLURRY_EINVALID);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_SECRET_NAME_HEURISTIC, 0), FLURRY_OK);
  assert_false(flurry_header_is_secret(c, "X-Api-Key", FLURRY_HEADER_REQUEST));
  flurry_client_free(c);
}

/* Response headers: Set-Cookie and the names, never the heuristic (a
 * server's WWW-Authenticate is no credential). */
static void test_secret_response_headers(void **state) {
  (void)state;
  flurry_client *c = NULL;
  assert_int_equal(flurry_client_new(&c, NULL), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_SECRET_NAME_HEURISTIC, 1), FLURRY_OK);
  const char *yes[] = {"set-cookie", "SET-COOKIE", "Authorization", "Proxy-Authorization",
                       "cookie"};
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
    assert_true(flurry_header_is_secret(c, yes[i], FLURRY_HEADER_RESPONSE));
    assert_true(flurry_header_is_secret(NULL, yes[i], FLURRY_HEADER_RESPONSE));
  }
  const char *no[] = {"WWW-Authenticate", "Access-Control-Allow-Credentials", "X-Api-Key",
                      "Set-Cookie2", "Content-Type"};
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
    assert_false(flurry_header_is_secret(c, no[i], FLURRY_HEADER_RESPONSE));
  assert_int_equal(flurry_client_add_secret_header(c, "X-Api-Key"), FLURRY_OK);
  assert_true(flurry_header_is_secret(c, "x-api-key", FLURRY_HEADER_RESPONSE));
  assert_false(flurry_header_is_secret(NULL, "x-api-key", FLURRY_HEADER_RESPONSE)); /* per client */
  /* Set-Cookie is a response's: a request's Set-Cookie is not a credential
   * without the heuristic */
  assert_false(flurry_header_is_secret(NULL, "Set-Cookie", FLURRY_HEADER_REQUEST));
  assert_false(flurry_header_is_secret(c, NULL, FLURRY_HEADER_RESPONSE));
  assert_false(flurry_header_is_secret(c, "Cookie", (flurry_header_dir)7));
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
      cmocka_unit_test(test_secret_heuristic_on_request_headers),
      cmocka_unit_test(test_secret_response_headers),
      cmocka_unit_test(test_secret_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
