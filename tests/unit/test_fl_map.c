/* test_fl_map.c: the fl_ layer's hash function and open-addressing hash
 * map: every operation, the growth rule, collisions and wrap-around,
 * removal by backward shift under churn, the limit, out of memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fl.h"

/* ---- fl_hash, fl_hash_mix ---- */

static void test_fl_map_hash_fnv1a_vectors(void **state) {
  (void)state; /* the published FNV-1a 64 test vectors */
  assert_true(fl_hash(FL_HASH_INIT, "", 0) == 0xcbf29ce484222325ULL);
  assert_true(fl_hash(FL_HASH_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL);
  assert_true(fl_hash(FL_HASH_INIT, "foobar", 6) == 0x85944171f73967e8ULL);
}

static void test_fl_map_hash_continues_piecewise(void **state) {
  (void)state;
  uint64_t h = fl_hash(fl_hash(FL_HASH_INIT, "foo", 3), "bar", 3);
  assert_true(h == fl_hash(FL_HASH_INIT, "foobar", 6));
  assert_true(fl_hash(h, "", 0) == h);
}

static void test_fl_map_hash_mix_spreads_low_bits(void **state) {
  (void)state;
  assert_true(fl_hash_mix(0) == 0);
  assert_true(fl_hash_mix(1) == 0xb456bcfc34c2cb2cULL);
  assert_true(fl_hash_mix(fl_hash(FL_HASH_INIT, "foobar", 6)) == 0x2c22194922d1672bULL);
  /* Keys that differ in their high bits only land all over the low ones. */
  unsigned count[64] = {0};
  for (uint64_t i = 0; i < 6400; i++)
    count[fl_hash_mix(i << 40) & 63]++;
  for (int b = 0; b < 64; b++)
    assert_true(count[b] > 50 && count[b] < 150);
}

/* ---- a set of nonzero 64-bit keys; the hash is the key itself, so tests
 * choose where each lands ---- */

static int hash_calls;

static uint64_t u64_hash(const void *elem, void *ud) {
  (void)ud;
  hash_calls++;
  uint64_t k;
  memcpy(&k, elem, sizeof k);
  return k;
}

static int u64_eq(const void *elem, const void *key, void *ud) {
  (void)ud;
  return memcmp(elem, key, sizeof(uint64_t)) == 0;
}

static const fl_map_type u64_type = {sizeof(uint64_t), u64_hash, u64_eq};

static int put(fl_map *m, uint64_t k) { return fl_map_insert(m, k, &k); }

static int has(const fl_map *m, uint64_t k) {
  const uint64_t *e = fl_map_find(m, k, &k);
  if (e)
    assert_true(*e == k);
  return e != NULL;
}

static void del(fl_map *m, uint64_t k) {
  void *e = fl_map_find(m, k, &k);
  assert_non_null(e);
  fl_map_remove(m, e);
}

static void test_fl_map_empty_allocates_nothing(void **state) {
  (void)state;
  fl_map m;
  fl_map_init(&m, &u64_type, NULL, SIZE_MAX);
  uint64_t before = fl_alloc_count();
  assert_false(has(&m, 5));
  size_t pos = 0;
  assert_null(fl_map_next(&m, &pos));
  assert_int_equal(fl_map_reserve(&m, 0), FL_OK);
  fl_map_free(&m);
  assert_int_equal(fl_alloc_count(), before);
  assert_int_equal(m.cap, 0);
  assert_int_equal(m.len, 0);
}

/* cap 0 -> 64 on the first insert; doubles when an insert would make it
 * more than half full; one allocation each time; nothing lost. */
static void test_fl_map_growth_rule(void **state) {
  (void)state;
  fl_map m;
  fl_map_init(&m, &u64_type, NULL, SIZE_MAX);
  uint64_t before = fl_alloc_count();
  assert_int_equal(put(&m, 1), FL_OK);
  assert_int_equal(m.cap, FL_MAP_MIN_CAP);
  assert_int_equal(fl_alloc_count() - before, 1);
  for (uint64_t k = 2; k <= 32; k++)
    assert_int_equal(put(&m, k), FL_OK);
  assert_int_equal(m.cap, 64);
  assert_int_equal(fl_alloc_count() - before, 1);
  hash_calls = 0;
  assert_int_equal(put(&m, 33), FL_OK); /* 33 > 64 / 2 */
  assert_int_equal(m.cap, 128);
  assert_int_equal(fl_alloc_count() - before, 2);
  assert_int_equal(hash_calls, 32); /* each element re-placed once */
  for (uint64_t k = 34; k <= 65; k++)
    assert_int_equal(put(&m, k), FL_OK);
  assert_int_equal(m.cap, 256);
  assert_int_equal(m.len, 65);
  for (uint64_t k = 1; k <= 65; k++)
    assert_true(has(&m, k));
  assert_false(has(&m, 66));
  fl_map_free(&m);
}

/* Keys that share a home near the end of the array: their probe run wraps
 * around to slot 0, where other keys have their homes. */
static void test_fl_map_collisions_wrap_around(void **state) {
  (void)state;
  fl_map m;
  fl_map_init(&m, &u64_type, NULL, SIZE_MAX);
  uint64_t k62[6], k0[3];
  for (uint64_t i = 0; i < 6; i++)
    k62[i] = 62 + 64 * (i + 1); /* home 62: slots 62, 63, 0, 1, 2, 3 */
  for (uint64_t i = 0; i < 3; i++)
    k0[i] = 64 * (i + 10); /* home 0, displaced past the wrapped run */
  for (int i = 0; i < 3; i++)
    assert_int_equal(put(&m, k62[i]), FL_OK);
  for (int i = 0; i < 3; i++)
    assert_int_equal(put(&m, k0[i]), FL_OK);
  for (int i = 3; i < 6; i++)
    assert_int_equal(put(&m, k62[i]), FL_OK);
  assert_int_equal(m.cap, 64);
  for (int i = 0; i < 6; i++)
    assert_true(has(&m, k62[i]));
  for (int i = 0; i < 3; i++)
    assert_true(has(&m, k0[i]));
  assert_false(has(&m, 62));      /* an absent key with the same home */
  assert_false(has(&m, 64 * 20)); /* and one with home 0 */
  /* Removing from the middle, the head and the wrapped part of the runs:
   * what is left stays found. */
  del(&m, k62[1]);
  del(&m, k0[0]);
  del(&m, k62[0]);
  assert_int_equal(m.len, 6);
  assert_false(has(&m, k62[0]));
  assert_false(has(&m, k62[1]));
  assert_false(has(&m, k0[0]));
  for (int i = 2; i < 6; i++)
    assert_true(has(&m, k62[i]));
  for (int i = 1; i < 3; i++)
    assert_true(has(&m, k0[i]));
  /* The run closed up: slot 62 holds a key again (no tombstone). */
  uint64_t first;
  memcpy(&first, m.slot + 62 * sizeof first, sizeof first);
  assert_true(first == k62[2]);
  fl_map_free(&m);
}

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rnd(void) { /* xorshift64: deterministic */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Random inserts and removals among keys crowded onto few homes, checked
 * against a plain array after every step. */
static void churn(size_t universe, int steps, uint64_t home_mask) {
  fl_map m;
  fl_map_init(&m, &u64_type, NULL, SIZE_MAX);
  unsigned char in[512];
  assert_true(universe <= sizeof in);
  memset(in, 0, sizeof in);
  size_t live = 0;
  for (int s = 0; s < steps; s++) {
    size_t i = (size_t)(rnd() % universe);
    /* key i: home (i * 7) & home_mask, made unique by its high bits */
    uint64_t k = (((uint64_t)i * 7) & home_mask) | ((uint64_t)(i + 1) << 32);
    if (in[i]) {
      del(&m, k);
      in[i] = 0;
      live--;
    } else {
      assert_int_equal(put(&m, k), FL_OK);
      in[i] = 1;
      live++;
    }
    assert_int_equal(m.len, live);
    for (size_t j = 0; j < universe; j++) {
      uint64_t kj = (((uint64_t)j * 7) & home_mask) | ((uint64_t)(j + 1) << 32);
      assert_int_equal(has(&m, kj), in[j]);
    }
  }
  fl_map_free(&m);
}

static void test_fl_map_churn_with_collisions(void **state) {
  (void)state;
  churn(40, 3000, 0x3f);  /* up to 40 keys: grows to 128 and back to use */
  churn(60, 3000, 0x7);   /* 8 homes: long runs */
  churn(300, 4000, 0xff); /* several doublings */
}

static void test_fl_map_next_visits_each_once(void **state) {
  (void)state;
  fl_map m;
  fl_map_init(&m, &u64_type, NULL, SIZE_MAX);
  for (uint64_t k = 1; k <= 100; k++)
    assert_int_equal(put(&m, k * 1000003), FL_OK);
  unsigned char seen[101] = {0};
  size_t pos = 0, n = 0;
  for (const uint64_t *e = fl_map_next(&m, &pos); e; e = fl_map_next(&m, &pos)) {
    assert_true(*e % 1000003 == 0);
    uint64_t k = *e / 1000003;
    assert_true(k >= 1 && k <= 100);
    assert_false(seen[k]);
    seen[k] = 1;
    n++;
  }
  assert_int_equal(n, 100);
  assert_null(fl_map_next(&m, &pos)); /* and stays at the end */
  fl_map_free(&m);
}

static void test_fl_map_max_gives_limit(void **state) {
  (void)state;
  fl_map m;
  fl_map_init(&m, &u64_type, NULL, 3);
  for (uint64_t k = 1; k <= 3; k++)
    assert_int_equal(put(&m, k), FL_OK);
  assert_int_equal(put(&m, 4), FL_ELIMIT);
  assert_int_equal(m.len, 3);
  assert_false(has(&m, 4));
  assert_int_equal(fl_map_reserve(&m, 4), FL_ELIMIT);
  del(&m, 2); /* room again */
  assert_int_equal(put(&m, 4), FL_OK);
  fl_map_free(&m);
  /* max 0: nothing goes in, nothing is allocated */
  fl_map_init(&m, &u64_type, NULL, 0);
  uint64_t before = fl_alloc_count();
  assert_int_equal(put(&m, 1), FL_ELIMIT);
  assert_int_equal(fl_alloc_count(), before);
  fl_map_free(&m);
}

static void test_fl_map_reserve_makes_inserts_infallible(void **state) {
  (void)state;
  fl_map m;
  fl_map_init(&m, &u64_type, NULL, SIZE_MAX);
  uint64_t before = fl_alloc_count();
  assert_int_equal(fl_map_reserve(&m, 100), FL_OK);
  assert_int_equal(m.cap, 256);
  assert_int_equal(fl_alloc_count() - before, 1);
  assert_int_equal(fl_map_reserve(&m, 50), FL_OK); /* already room */
  fl_alloc_fail_at(1);                             /* any allocation would fail */
  for (uint64_t k = 1; k <= 100; k++)
    assert_int_equal(put(&m, k), FL_OK);
  fl_alloc_fail_at(0);
  assert_int_equal(fl_alloc_count() - before, 1);
  assert_int_equal(put(&m, 101), FL_OK); /* past it: grows again */
  assert_int_equal(m.cap, 256);
  for (uint64_t k = 102; k <= 129; k++)
    assert_int_equal(put(&m, k), FL_OK);
  assert_int_equal(m.cap, 512);
  fl_map_free(&m);
}

static void test_fl_map_nomem_first_insert(void **state) {
  (void)state;
  fl_map m;
  fl_map_init(&m, &u64_type, NULL, SIZE_MAX);
  fl_alloc_fail_at(1);
  assert_int_equal(put(&m, 7), FL_ENOMEM);
  fl_alloc_fail_at(0);
  assert_null(m.slot);
  assert_int_equal(m.cap, 0);
  assert_int_equal(m.len, 0);
  assert_false(has(&m, 7));
  assert_int_equal(put(&m, 7), FL_OK);
  assert_true(has(&m, 7));
  fl_map_free(&m);
}

/* A doubling that cannot allocate changes nothing; the next one works. */
static void test_fl_map_nomem_growth_changes_nothing(void **state) {
  (void)state;
  fl_map m;
  fl_map_init(&m, &u64_type, NULL, SIZE_MAX);
  for (uint64_t k = 1; k <= 32; k++)
    assert_int_equal(put(&m, k), FL_OK);
  const unsigned char *slot = m.slot;
  fl_alloc_fail_at(1);
  assert_int_equal(put(&m, 33), FL_ENOMEM);
  fl_alloc_fail_at(1);
  assert_int_equal(fl_map_reserve(&m, 40), FL_ENOMEM);
  fl_alloc_fail_at(0);
  assert_ptr_equal(m.slot, slot);
  assert_int_equal(m.cap, 64);
  assert_int_equal(m.len, 32);
  for (uint64_t k = 1; k <= 32; k++)
    assert_true(has(&m, k));
  assert_false(has(&m, 33));
  assert_int_equal(put(&m, 33), FL_OK);
  assert_int_equal(m.cap, 128);
  fl_map_free(&m);
}

/* ---- pointers to owners, found by a string: how the callers use it ---- */

typedef struct rec {
  char name[16];
  int n;
} rec;

static uint64_t name_hash(const char *s) {
  return fl_hash_mix(fl_hash(FL_HASH_INIT, s, strlen(s)));
}

static uint64_t rec_hash(const void *elem, void *ud) {
  (void)ud;
  const rec *r;
  memcpy(&r, elem, sizeof r);
  return name_hash(r->name);
}

static int rec_eq(const void *elem, const void *key, void *ud) {
  int *calls = ud;
  (*calls)++;
  rec *const *r = elem;
  return strcmp((*r)->name, key) == 0;
}

static const fl_map_type rec_type = {sizeof(rec *), rec_hash, rec_eq};

static void test_fl_map_pointer_elements(void **state) {
  (void)state;
  int eq_calls = 0;
  fl_map m;
  fl_map_init(&m, &rec_type, &eq_calls, SIZE_MAX);
  static rec recs[500];
  for (int i = 0; i < 500; i++) {
    snprintf(recs[i].name, sizeof recs[i].name, "host-%d", i);
    recs[i].n = i;
    rec *p = &recs[i];
    assert_int_equal(fl_map_insert(&m, name_hash(p->name), &p), FL_OK);
  }
  assert_int_equal(m.cap, 1024);
  eq_calls = 0;
  for (int i = 0; i < 500; i++) {
    rec **e = fl_map_find(&m, name_hash(recs[i].name), recs[i].name);
    assert_non_null(e);
    assert_ptr_equal(*e, &recs[i]);
  }
  assert_true(eq_calls < 2 * 500); /* short probe runs: a well-spread hash */
  assert_null(fl_map_find(&m, name_hash("host-500"), "host-500"));
  for (int i = 0; i < 500; i += 2)
    fl_map_remove(&m, fl_map_find(&m, name_hash(recs[i].name), recs[i].name));
  assert_int_equal(m.len, 250);
  for (int i = 0; i < 500; i++)
    assert_int_equal(fl_map_find(&m, name_hash(recs[i].name), recs[i].name) != NULL, i % 2);
  fl_map_free(&m);
  assert_null(m.slot);
  assert_int_equal(m.len, 0);
  /* freed, the map is ready for use again */
  rec *p = &recs[0];
  assert_int_equal(fl_map_insert(&m, name_hash(p->name), &p), FL_OK);
  assert_non_null(fl_map_find(&m, name_hash("host-0"), "host-0"));
  fl_map_free(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fl_map_hash_fnv1a_vectors),
      cmocka_unit_test(test_fl_map_hash_continues_piecewise),
      cmocka_unit_test(test_fl_map_hash_mix_spreads_low_bits),
      cmocka_unit_test(test_fl_map_empty_allocates_nothing),
      cmocka_unit_test(test_fl_map_growth_rule),
      cmocka_unit_test(test_fl_map_collisions_wrap_around),
      cmocka_unit_test(test_fl_map_churn_with_collisions),
      cmocka_unit_test(test_fl_map_next_visits_each_once),
      cmocka_unit_test(test_fl_map_max_gives_limit),
      cmocka_unit_test(test_fl_map_reserve_makes_inserts_infallible),
      cmocka_unit_test(test_fl_map_nomem_first_insert),
      cmocka_unit_test(test_fl_map_nomem_growth_changes_nothing),
      cmocka_unit_test(test_fl_map_pointer_elements),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
