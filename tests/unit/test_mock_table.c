/* test_mock_table.c: the bounded LRU table behind /flaky and /limited. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fl.h"
#include "mock_table.h"

static mock_slot *get(mock_table *t, const char *key, int *created) {
  return mock_table_get(t, key, strlen(key), created);
}

static void test_mock_table_create_then_find(void **state) {
  (void)state;
  mock_table *t = NULL;
  int created = -1;
  assert_int_equal(mock_table_new(&t, 10), 0);
  mock_slot *s = get(t, "a", &created);
  assert_non_null(s);
  assert_int_equal(created, 1);
  assert_true(s->a == 0.0 && s->b == 0.0);
  s->a = 41;
  s = get(t, "a", &created);
  assert_int_equal(created, 0);
  assert_true(s->a == 41.0);
  assert_int_equal(mock_table_count(t), 1);
  mock_table_free(t);
  mock_table_free(NULL);
}

static void test_mock_table_evicts_least_recently_used(void **state) {
  (void)state;
  mock_table *t = NULL;
  int created = 0;
  assert_int_equal(mock_table_new(&t, 3), 0);
  get(t, "a", &created)->a = 1;
  get(t, "b", &created)->a = 2;
  get(t, "c", &created)->a = 3;
  get(t, "a", &created); /* a is now the most recent: b is the oldest */
  get(t, "d", &created)->a = 4;
  assert_int_equal(mock_table_count(t), 3);
  assert_true(get(t, "a", &created)->a == 1.0);
  assert_int_equal(created, 0);
  assert_true(get(t, "b", &created)->a == 0.0); /* evicted, comes back new */
  assert_int_equal(created, 1);
  assert_int_equal(mock_table_count(t), 3);
  mock_table_free(t);
}

static void test_mock_table_stays_bounded_while_growing(void **state) {
  (void)state;
  mock_table *t = NULL;
  char key[32];
  int created = 0;
  assert_int_equal(mock_table_new(&t, 1000), 0);
  for (int i = 0; i < 5000; i++) {
    int n = snprintf(key, sizeof key, "key-%d", i);
    mock_slot *s = mock_table_get(t, key, (size_t)n, &created);
    assert_non_null(s);
    assert_int_equal(created, 1);
    s->a = i;
  }
  assert_int_equal(mock_table_count(t), 1000);
  for (int i = 4000; i < 5000; i++) { /* the last 1000 are all there */
    int n = snprintf(key, sizeof key, "key-%d", i);
    assert_true(mock_table_get(t, key, (size_t)n, &created)->a == i);
    assert_int_equal(created, 0);
  }
  mock_table_free(t);
}

static void test_mock_table_refuses_long_keys(void **state) {
  (void)state;
  mock_table *t = NULL;
  char key[MOCK_TABLE_KEY_MAX + 1];
  int created = 0;
  memset(key, 'k', sizeof key);
  assert_int_equal(mock_table_new(&t, 10), 0);
  assert_null(mock_table_get(t, key, sizeof key, &created));
  assert_non_null(mock_table_get(t, key, sizeof key - 1, &created));
  mock_table_free(t);
}

static void test_mock_table_out_of_memory(void **state) {
  (void)state;
  mock_table *t = NULL;
  int created = 0;
  fl_alloc_fail_at(1);
  assert_int_equal(mock_table_new(&t, 10), -1);
  assert_null(t);
  fl_alloc_fail_at(2); /* the bucket array */
  assert_int_equal(mock_table_new(&t, 10), -1);
  assert_null(t);
  fl_alloc_fail_at(0);
  assert_int_equal(mock_table_new(&t, 10), 0);
  fl_alloc_fail_at(1); /* the entry */
  assert_null(get(t, "x", &created));
  assert_int_equal(mock_table_count(t), 0);
  assert_non_null(get(t, "x", &created)); /* still usable */
  assert_int_equal(mock_table_count(t), 1);
  mock_table_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mock_table_create_then_find),
      cmocka_unit_test(test_mock_table_evicts_least_recently_used),
      cmocka_unit_test(test_mock_table_stays_bounded_while_growing),
      cmocka_unit_test(test_mock_table_refuses_long_keys),
      cmocka_unit_test(test_mock_table_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
