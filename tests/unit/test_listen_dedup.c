/* test_listen_dedup.c: the bounded, expiring id set of `flurry listen`
 * (listen_dedup.c), checked against a plain array model through random
 * operations, plus expiry, eviction at the cap and allocation failures. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fl.h"
#include "listen_dedup.h"

static void key_of(uint64_t n, unsigned char *key) {
  char id[32];
  int len = snprintf(id, sizeof id, "id-%llu", (unsigned long long)n);
  assert_int_equal(listen_dedup_key(id, (size_t)len, key), 0);
}

static void test_listen_dedup_add_has_expire(void **state) {
  (void)state;
  listen_dedup *d = NULL;
  unsigned char k1[16], k2[16], k3[16];
  key_of(1, k1);
  key_of(2, k2);
  key_of(3, k3);
  assert_int_equal(listen_dedup_new(&d, 10), 0);
  assert_int_equal(listen_dedup_has(d, k1), 0);
  assert_int_equal(listen_dedup_add(d, k1, 100), 0);
  assert_int_equal(listen_dedup_add(d, k2, 200), 0);
  assert_int_equal(listen_dedup_has(d, k1), 1);
  assert_int_equal(listen_dedup_has(d, k3), 0);
  listen_dedup_expire(d, 99);
  assert_int_equal(listen_dedup_count(d), 2);
  listen_dedup_expire(d, 100); /* expires at 100: gone at 100 */
  assert_int_equal(listen_dedup_has(d, k1), 0);
  assert_int_equal(listen_dedup_has(d, k2), 1);
  assert_int_equal(listen_dedup_count(d), 1);
  assert_int_equal(listen_dedup_remove(d, k2), 1);
  assert_int_equal(listen_dedup_remove(d, k2), 0);
  assert_int_equal(listen_dedup_has(d, k2), 0);
  assert_int_equal(listen_dedup_count(d), 0);
  assert_int_equal(listen_dedup_evicted(d), 0);
  listen_dedup_free(d);
  listen_dedup_free(NULL);
}

static void test_listen_dedup_key_is_stable(void **state) {
  (void)state;
  unsigned char a[16], b[16], c[16];
  assert_int_equal(listen_dedup_key("\"x\"", 3, a), 0);
  assert_int_equal(listen_dedup_key("\"x\"", 3, b), 0);
  assert_int_equal(listen_dedup_key("\"y\"", 3, c), 0);
  assert_memory_equal(a, b, 16);
  assert_memory_not_equal(a, c, 16);
}

/* At the cap the oldest goes first, counted as evicted. */
static void test_listen_dedup_evicts_oldest_at_cap(void **state) {
  (void)state;
  listen_dedup *d = NULL;
  unsigned char k[16];
  assert_int_equal(listen_dedup_new(&d, 3000), 0); /* grows 1024 -> 3000 */
  for (uint64_t i = 0; i < 5000; i++) {
    key_of(i, k);
    assert_int_equal(listen_dedup_add(d, k, 1000000), 0);
  }
  assert_int_equal(listen_dedup_count(d), 3000);
  assert_int_equal(listen_dedup_evicted(d), 2000);
  for (uint64_t i = 0; i < 5000; i++) {
    key_of(i, k);
    assert_int_equal(listen_dedup_has(d, k), i >= 2000);
  }
  listen_dedup_free(d);
}

/* Random adds, removes and expiries, compared with a model array. */
static void test_listen_dedup_matches_model(void **state) {
  (void)state;
  enum { N = 20000, CAP = 5000, IDS = 8000 };
  static int64_t model[IDS]; /* expiry, 0: absent */
  static struct {
    uint64_t id;
    int64_t expires;
  } order[N]; /* arrival order of adds (stale once removed or re-added) */
  listen_dedup *d = NULL;
  unsigned char k[16];
  uint64_t rng = 42, head = 0, tail = 0;
  int64_t now = 1;
  memset(model, 0, sizeof model);
  assert_int_equal(listen_dedup_new(&d, CAP), 0);
  for (int step = 0; step < N; step++) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t id = (rng >> 33) % IDS, op = (rng >> 20) % 10;
    key_of(id, k);
    now += 1 + (int64_t)((rng >> 40) % 3); /* each add its own expiry */
    if (op < 6 && model[id] == 0 && tail - head < CAP) {
      assert_int_equal(listen_dedup_add(d, k, now + 500), 0);
      model[id] = now + 500;
      order[tail % N].id = id;
      order[tail++ % N].expires = now + 500;
    } else if (op < 8) {
      assert_int_equal(listen_dedup_remove(d, k), model[id] != 0);
      model[id] = 0;
    } else {
      listen_dedup_expire(d, now);
      while (head < tail) { /* the model expires in arrival order too */
        uint64_t h = order[head % N].id;
        int live = model[h] == order[head % N].expires;
        if (live && model[h] > now)
          break;
        if (live)
          model[h] = 0;
        head++;
      }
    }
    assert_int_equal(listen_dedup_has(d, k), model[id] != 0);
  }
  size_t live = 0;
  for (uint64_t i = 0; i < IDS; i++) {
    key_of(i, k);
    assert_int_equal(listen_dedup_has(d, k), model[i] != 0);
    live += model[i] != 0;
  }
  assert_int_equal(listen_dedup_count(d), live);
  listen_dedup_free(d);
}

static void test_listen_dedup_out_of_memory(void **state) {
  (void)state;
  listen_dedup *d = NULL;
  unsigned char k[16];
  assert_int_equal(listen_dedup_new(&d, 0), -1);
  assert_int_equal(listen_dedup_new(&d, LISTEN_DEDUP_MAX_LIMIT + 1), -1);
  fl_alloc_fail_at(2); /* the first ring */
  assert_int_equal(listen_dedup_new(&d, 5000), -1);
  assert_null(d);
  fl_alloc_fail_at(0);
  assert_int_equal(listen_dedup_new(&d, 5000), 0);
  for (uint64_t i = 0; i < 1024; i++) {
    key_of(i, k);
    assert_int_equal(listen_dedup_add(d, k, 10), 0);
  }
  key_of(1024, k);
  fl_alloc_fail_at(1); /* growing to 2048 */
  assert_int_equal(listen_dedup_add(d, k, 10), -1);
  fl_alloc_fail_at(0);
  assert_int_equal(listen_dedup_count(d), 1024);
  assert_int_equal(listen_dedup_has(d, k), 0);
  assert_int_equal(listen_dedup_add(d, k, 10), 0); /* still usable */
  key_of(0, k);
  assert_int_equal(listen_dedup_has(d, k), 1);
  assert_int_equal(listen_dedup_count(d), 1025);
  listen_dedup_free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_listen_dedup_add_has_expire),
      cmocka_unit_test(test_listen_dedup_key_is_stable),
      cmocka_unit_test(test_listen_dedup_evicts_oldest_at_cap),
      cmocka_unit_test(test_listen_dedup_matches_model),
      cmocka_unit_test(test_listen_dedup_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
