/* test_keyset.c: the bounded set of 64-bit keys (src/dedupe.c) behind
 * follow-up de-duplication and cycle detection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "internal.h"

static void test_keyset_bounded(void **state) {
  (void)state;
  flurry_dedupe *s;
  assert_int_equal(flurry_dedupe_new(&s, 1000), 0);
  int added = 0;
  for (uint64_t k = 0; k < 1000; k++) {
    assert_int_equal(flurry_dedupe_add(s, k * 0x9e3779b97f4a7c15ULL, &added), 0);
    assert_int_equal(added, 1);
  }
  assert_int_equal(flurry_dedupe_add(s, 0, &added), 0); /* key 0 is a key too */
  assert_int_equal(added, 0);
  assert_int_equal(flurry_dedupe_add(s, 5 * 0x9e3779b97f4a7c15ULL, &added), 0);
  assert_int_equal(added, 0);
  assert_int_equal(flurry_dedupe_add(s, 12345, &added), FLURRY_ETOO_LARGE);
  assert_int_equal(added, 0);
  assert_int_equal(flurry_dedupe_add(s, 5 * 0x9e3779b97f4a7c15ULL, NULL), 0);
  assert_false(flurry_dedupe_has(s, 12345));
  assert_int_equal(flurry_dedupe_count(s), 1000);
  flurry_dedupe_free(s);
  flurry_dedupe_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keyset_bounded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
