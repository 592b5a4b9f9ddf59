/* test_fl_hash.c: the fl_ layer's hash (FNV-1a 64 and its finaliser). The
 * values are pinned: request identities in resume journals and shard
 * assignments are made of them, so a change would break every journal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fl.h"

static void test_fl_hash_fnv1a_vectors(void **state) {
  (void)state;
  assert_true(fl_hash(FL_HASH_INIT, "", 0) == 0xcbf29ce484222325ULL);
  assert_true(fl_hash(FL_HASH_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL);
  assert_true(fl_hash(FL_HASH_INIT, "foobar", 6) == 0x85944171f73967e8ULL);
  /* chained calls hash the concatenation */
  assert_true(fl_hash(fl_hash(FL_HASH_INIT, "foo", 3), "bar", 3) == 0x85944171f73967e8ULL);
}

static void test_fl_hash_identity_is_stable(void **state) {
  (void)state;
  /* method + URL as the CLI hashes a request without a body */
  uint64_t h = fl_hash(fl_hash(FL_HASH_INIT, "GET", 4), "http://h/x", 11);
  assert_true(fl_hash_finish(fl_hash(h, "", 0)) == 0x32fdbe9724220c60ULL);
  assert_true(fl_hash_finish(0) == 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fl_hash_fnv1a_vectors),
      cmocka_unit_test(test_fl_hash_identity_is_stable),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
