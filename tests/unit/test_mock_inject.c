/* test_mock_inject.c: the fault-injection parameters of `flurry mock`
 * (mock_fault_plan), a pure parser: valid forms, every way to get
 * them wrong, and every prefix of valid input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "mock_int.h"

#define N MOCK_FAULTS
#define EPS 1e-12

static void fill(double *p, double v) {
  for (int k = 0; k < N; k++)
    p[k] = v;
}

static double sum(const double *p) {
  double s = 0;
  for (int k = 0; k < N; k++)
    s += p[k];
  return s;
}

static void test_mock_inject_fail_defaults_to_status(void **state) {
  (void)state;
  double p[N];
  assert_int_equal(mock_fault_plan("1", NULL, NULL, p), 0);
  assert_float_equal(p[MOCK_FAULT_STATUS], 1.0, EPS);
  assert_float_equal(sum(p), 1.0, EPS);
  assert_int_equal(mock_fault_plan(".5", NULL, NULL, p), 0);
  assert_float_equal(p[MOCK_FAULT_STATUS], 0.5, EPS);
  assert_int_equal(mock_fault_plan("0", NULL, NULL, p), 0);
  assert_float_equal(sum(p), 0.0, EPS);
}

static void test_mock_inject_fail_splits_between_kinds(void **state) {
  (void)state;
  double p[N];
  assert_int_equal(mock_fault_plan("0.3", "reset,malformed,truncated", NULL, p), 0);
  assert_float_equal(p[MOCK_FAULT_RESET], 0.1, EPS);
  assert_float_equal(p[MOCK_FAULT_MALFORMED], 0.1, EPS);
  assert_float_equal(p[MOCK_FAULT_TRUNCATED], 0.1, EPS);
  assert_float_equal(p[MOCK_FAULT_STATUS], 0.0, EPS);
  assert_int_equal(mock_fault_plan("1.0", "hang,drip", NULL, p), 0);
  assert_float_equal(p[MOCK_FAULT_HANG], 0.5, EPS);
  assert_float_equal(p[MOCK_FAULT_DRIP], 0.5, EPS);
}

static void test_mock_inject_mix_per_kind(void **state) {
  (void)state;
  double p[N];
  assert_int_equal(mock_fault_plan(NULL, NULL, "reset:0.2,status:0.1,hang:0.05", p), 0);
  assert_float_equal(p[MOCK_FAULT_RESET], 0.2, EPS);
  assert_float_equal(p[MOCK_FAULT_STATUS], 0.1, EPS);
  assert_float_equal(p[MOCK_FAULT_HANG], 0.05, EPS);
  assert_float_equal(sum(p), 0.35, EPS);
  /* a kind named twice adds up; kind= is ignored with mix= */
  assert_int_equal(mock_fault_plan(NULL, "hang", "reset:0.1,reset:0.2", p), 0);
  assert_float_equal(p[MOCK_FAULT_RESET], 0.3, EPS);
  assert_float_equal(sum(p), 0.3, EPS);
  assert_int_equal(mock_fault_plan(NULL, NULL, "reset:0.5,truncated:0.25,drip:.25", p), 0);
  assert_float_equal(sum(p), 1.0, EPS);
}

static void test_mock_inject_rejects_bad_input(void **state) {
  (void)state;
  static const char *const bad_fail[] = {"",    ".",   "1.5",  "2",    "-0.1",           "0.5.1",
                                         "0,5", "abc", "0.5x", " 0.5", "0.0000000000001"};
  static const char *const bad_kind[] = {"", "bogus", "reset,", ",reset", "reset,,hang", "RESET"};
  static const char *const bad_mix[] = {"",
                                        "reset",
                                        "reset:",
                                        ":0.2",
                                        "reset:0.2,",
                                        "bogus:0.1",
                                        "reset:0.6,status:0.6",
                                        "reset:x",
                                        "reset=0.2",
                                        "reset:0.2;hang:0.1"};
  double p[N];
  fill(p, -1);
  for (size_t i = 0; i < sizeof bad_fail / sizeof bad_fail[0]; i++)
    assert_int_equal(mock_fault_plan(bad_fail[i], NULL, NULL, p), -1);
  for (size_t i = 0; i < sizeof bad_kind / sizeof bad_kind[0]; i++)
    assert_int_equal(mock_fault_plan("0.5", bad_kind[i], NULL, p), -1);
  for (size_t i = 0; i < sizeof bad_mix / sizeof bad_mix[0]; i++)
    assert_int_equal(mock_fault_plan(NULL, NULL, bad_mix[i], p), -1);
  /* exactly one of fail= and mix= */
  assert_int_equal(mock_fault_plan(NULL, NULL, NULL, p), -1);
  assert_int_equal(mock_fault_plan("0.5", NULL, "reset:0.5", p), -1);
  for (int k = 0; k < N; k++) /* untouched on failure */
    assert_float_equal(p[k], -1.0, EPS);
}

static int plan_mix(const char *s, double *p) { return mock_fault_plan(NULL, NULL, s, p); }

static int plan_kind(const char *s, double *p) { return mock_fault_plan("1", s, NULL, p); }

static int plan_fail(const char *s, double *p) { return mock_fault_plan(s, "reset", NULL, p); }

/* Feeds every prefix of s to parse: each one parses into a distribution
 * (sum at most 1) or fails leaving p untouched. Returns how many parsed. */
static int prefixes(const char *s, int (*parse)(const char *, double *)) {
  char buf[128];
  double p[N];
  int parsed = 0;
  size_t len = strlen(s);
  assert_true(len < sizeof buf);
  for (size_t n = 0; n <= len; n++) {
    memcpy(buf, s, n);
    buf[n] = '\0';
    fill(p, -1);
    if (parse(buf, p) == 0) {
      parsed++;
      assert_true(sum(p) >= 0 && sum(p) <= 1.0 + EPS);
    } else {
      for (int k = 0; k < N; k++)
        assert_float_equal(p[k], -1.0, EPS);
    }
  }
  return parsed;
}

/* Every prefix of valid input parses or fails cleanly; the whole parses. */
static void test_mock_inject_every_prefix(void **state) {
  (void)state;
  static const char mix[] = "reset:0.2,status:0.125,hang:0.05,malformed:.5";
  static const char kind[] = "reset,status,hang,truncated,drip,malformed";
  double p[N];
  /* parsed: reset:0 0. 0.2, status:0 0. 0.1 0.12 0.125, hang:0 0. 0.0 0.05,
   * malformed:.5 (not "malformed:.") */
  assert_int_equal(prefixes(mix, plan_mix), 3 + 5 + 4 + 1);
  assert_int_equal(prefixes(kind, plan_kind), 6);    /* at each whole name */
  assert_int_equal(prefixes("0.125", plan_fail), 5); /* all but "" */
  assert_int_equal(plan_mix(mix, p), 0);
  assert_float_equal(sum(p), 0.875, EPS);
  assert_int_equal(plan_kind(kind, p), 0);
  assert_float_equal(p[MOCK_FAULT_DRIP], 1.0 / 6, EPS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mock_inject_fail_defaults_to_status),
      cmocka_unit_test(test_mock_inject_fail_splits_between_kinds),
      cmocka_unit_test(test_mock_inject_mix_per_kind),
      cmocka_unit_test(test_mock_inject_rejects_bad_input),
      cmocka_unit_test(test_mock_inject_every_prefix),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
