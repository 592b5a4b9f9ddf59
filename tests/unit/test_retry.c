/* test_retry.c: the pure retry policy: Retry-After parsing, full-jitter
 * backoff, and which outcomes are retried. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Sun, 06 Nov 1994 08:49:37 GMT, the date of RFC 9110's examples. */
#define RFC_DATE 784111777

static const char *const imf_date = "Sun, 06 Nov 1994 08:49:37 GMT";
static const char *const rfc850_date = "Sunday, 06-Nov-94 08:49:37 GMT";
static const char *const asctime_date = "Sun Nov  6 08:49:37 1994";

/* Parses s from an exactly-sized heap copy (ASan sees any over-read).
 * Returns the parser's rc; *ms is left at -12345 when it did not write. */
static int parse(const char *s, size_t n, int64_t now, int64_t *ms) {
  char *copy = malloc(n ? n : 1);
  assert_non_null(copy);
  memcpy(copy, s, n);
  *ms = -12345;
  int rc = flurry__retry_after_parse(copy, n, now, ms);
  free(copy);
  return rc;
}

static int64_t parse_ok(const char *s, int64_t now) {
  int64_t ms;
  if (parse(s, strlen(s), now, &ms) != 0)
    fail_msg("rejected: '%s'", s);
  assert_true(ms >= 0);
  return ms;
}

static void expect_bad(const char *s, size_t n) {
  int64_t ms;
  if (parse(s, n, RFC_DATE, &ms) != -1)
    fail_msg("accepted: '%.*s' (%lld ms)", (int)n, s, (long long)ms);
}

/* ---- Retry-After ---- */

static void test_retry_after_delay_seconds(void **state) {
  (void)state;
  assert_int_equal(parse_ok("120", RFC_DATE), 120000);
  assert_int_equal(parse_ok(" 5 ", RFC_DATE), 5000);
  assert_int_equal(parse_ok("\t7\t", RFC_DATE), 7000);
  assert_int_equal(parse_ok("0", RFC_DATE), 0);
  assert_int_equal(parse_ok("007", RFC_DATE), 7000);
  /* The largest value whose milliseconds fit in int64_t. */
  assert_true(parse_ok("9223372036854775", RFC_DATE) == 9223372036854775000LL);
  /* Delay-seconds do not depend on the clock. */
  assert_int_equal(parse_ok("3", 0), 3000);
}

static void test_retry_after_http_dates(void **state) {
  (void)state;
  const char *dates[] = {imf_date, rfc850_date, asctime_date};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(parse_ok(dates[i], RFC_DATE), 0);
    assert_int_equal(parse_ok(dates[i], RFC_DATE - 60), 60000);
    assert_int_equal(parse_ok(dates[i], RFC_DATE - 1), 1000);
    assert_int_equal(parse_ok(dates[i], RFC_DATE - 86400), 86400000);
  }
  /* Surrounding white space is allowed around a date too. */
  assert_int_equal(parse_ok("  Sun, 06 Nov 1994 08:49:37 GMT\t", RFC_DATE - 2), 2000);
}

static void test_retry_after_past_date_is_zero(void **state) {
  (void)state;
  assert_int_equal(parse_ok(imf_date, RFC_DATE + 1), 0);
  assert_int_equal(parse_ok(rfc850_date, RFC_DATE + 3600), 0);
  assert_int_equal(parse_ok(asctime_date, (int64_t)RFC_DATE * 2), 0);
  assert_int_equal(parse_ok("Thu, 01 Jan 1970 00:00:00 GMT", RFC_DATE), 0);
}

static void test_retry_after_rejects_garbage(void **state) {
  (void)state;
  const char *bad[] = {"", " ", "\t \t", "abc", "-5", "+5", "-0", "5s", "1.5", "5 6", "0x10", "1e3",
                       "soon", "tomorrow", "Sun, 06", "06 Nov 1994 08:49:37 GMT",
                       "Sun, 06 Nov 1994 08:49:37 GMTX",
                       /* overflow: the delay in ms would not fit in int64_t */
                       "9223372036854776", "99999999999999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_bad(bad[i], strlen(bad[i]));
  /* A NUL byte inside the value. */
  expect_bad("5\0", 2);
  expect_bad("1\0"
             "0",
             3);
}

static void test_retry_after_rejects_overlong(void **state) {
  (void)state;
  char big[200];
  memset(big, '0', sizeof big);
  big[sizeof big - 1] = '1'; /* "000...01": a valid number, but 200 bytes */
  expect_bad(big, sizeof big);
  char date[128];
  int n = snprintf(date, sizeof date, "%s%70s", imf_date, "x");
  expect_bad(date, (size_t)n);
  /* Long only because of white space: trimmed first, so fine. */
  char padded[128];
  n = snprintf(padded, sizeof padded, "%60s%-60s", "5", "");
  int64_t ms;
  assert_int_equal(parse(padded, (size_t)n, RFC_DATE, &ms), 0);
  assert_int_equal(ms, 5000);
}

static void test_retry_after_every_prefix(void **state) {
  (void)state;
  const char *inputs[] = {
      imf_date,          rfc850_date, asctime_date, "120", " 5 ", "Mon, 31 Dec 2035 23:59:59 GMT",
      "9223372036854775"};
  for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
    size_t n = strlen(inputs[i]);
    for (size_t k = 0; k <= n; k++) {
      int64_t ms;
      int rc = parse(inputs[i], k, RFC_DATE, &ms);
      if (rc != 0 && rc != -1)
        fail_msg("rc %d for prefix '%.*s'", rc, (int)k, inputs[i]);
      if (rc == 0 && ms < 0)
        fail_msg("negative delay for prefix '%.*s'", (int)k, inputs[i]);
      if (rc == -1 && ms != -12345)
        fail_msg("wrote a delay on failure for '%.*s'", (int)k, inputs[i]);
    }
  }
  /* The empty prefix is an error, whatever the input. */
  int64_t ms;
  assert_int_equal(parse(imf_date, 0, RFC_DATE, &ms), -1);
}

/* ---- backoff ---- */

static int64_t ceiling(int attempt, int64_t base, int64_t cap) {
  int64_t c = base;
  for (int i = 1; i < attempt && c < cap; i++)
    c *= 2;
  return c < cap ? c : cap;
}

static void test_retry_backoff_zero_random_is_zero(void **state) {
  (void)state;
  for (int k = 1; k <= 30; k++)
    assert_int_equal(flurry__backoff_ms(k, 100, 10000, 0.0), 0);
  assert_int_equal(flurry__backoff_ms(1000, 100, 10000, 0.0), 0);
}

static void test_retry_backoff_upper_bound_doubles(void **state) {
  (void)state;
  /* With rnd close to 1 the delay is close to min(cap, base * 2^(k-1)). */
  const int64_t want[] = {100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000, 10000};
  for (int k = 1; k <= 10; k++) {
    int64_t d = flurry__backoff_ms(k, 100, 10000, 0.999);
    int64_t top = want[k - 1];
    if (d > top || d < top * 99 / 100 - 1)
      fail_msg("attempt %d: %lld ms, want about %lld", k, (long long)d, (long long)top);
    assert_int_equal(top, ceiling(k, 100, 10000));
  }
}

static void test_retry_backoff_full_jitter_range(void **state) {
  (void)state;
  /* Every rnd in [0,1) lands in [0, ceiling]; rnd 0.5 lands in the middle. */
  for (int k = 1; k <= 12; k++) {
    int64_t top = ceiling(k, 50, 5000);
    for (int i = 0; i < 100; i++) {
      int64_t d = flurry__backoff_ms(k, 50, 5000, i / 100.0);
      assert_true(d >= 0);
      assert_true(d <= top);
    }
    int64_t mid = flurry__backoff_ms(k, 50, 5000, 0.5);
    assert_true(mid >= top / 2 - 1 && mid <= top / 2 + 1);
  }
  /* rnd outside [0,1) is clamped. */
  assert_int_equal(flurry__backoff_ms(3, 100, 10000, -2.0), 0);
  assert_true(flurry__backoff_ms(3, 100, 10000, 1.0) < 400);
  assert_true(flurry__backoff_ms(3, 100, 10000, 1.0) >= 399);
  assert_true(flurry__backoff_ms(3, 100, 10000, 7.5) < 400);
}

static void test_retry_backoff_cap(void **state) {
  (void)state;
  /* The cap wins over the base, too. */
  assert_true(flurry__backoff_ms(1, 500, 200, 0.999) <= 200);
  assert_true(flurry__backoff_ms(1, 500, 200, 0.999) >= 199);
  assert_int_equal(flurry__backoff_ms(5, 100, 0, 0.999), 0);
  assert_int_equal(flurry__backoff_ms(5, 0, 10000, 0.999), 0);
}

/* --jitter none: exactly base, 2x, 4x ... capped, whatever the random
 * draw: the schedule users rely on. */
static void test_retry_backoff_no_jitter_schedule(void **state) {
  (void)state;
  const double want[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000};
  const double rnd[] = {0.0, 0.25, 0.5, 0.999999};
  for (size_t r = 0; r < sizeof rnd / sizeof rnd[0]; r++)
    for (int k = 1; k <= 9; k++) {
      double d = flurry__backoff_delay_ms(FLURRY_JITTER_NONE, k, 100, 5000, 12345, rnd[r]);
      if (d != want[k - 1])
        fail_msg("attempt %d, rnd %g: %g ms, want %g", k, rnd[r], d, want[k - 1]);
    }
  assert_true(flurry__backoff_delay_ms(FLURRY_JITTER_NONE, 1, 500, 200, 0, 0.5) == 200.0);
  assert_true(flurry__backoff_delay_ms(FLURRY_JITTER_NONE, 7, 0, 1000, 0, 0.5) == 0.0);
  assert_true(flurry__backoff_delay_ms(FLURRY_JITTER_NONE, INT32_MAX, 1, INT64_MAX, 0, 0.5) ==
              (double)INT64_MAX);
  /* the other kinds, through the same entry */
  assert_true(flurry__backoff_delay_ms(FLURRY_JITTER_FULL, 3, 100, 5000, 0, 0.5) == 200.0);
  assert_true(flurry__backoff_delay_ms(FLURRY_JITTER_DECORRELATED, 3, 100, 5000, 400, 0.5) ==
              650.0);
  assert_true(flurry__backoff_delay_ms(FLURRY_JITTER_DECORRELATED, 3, 100, 500, 400, 0.5) == 500.0);
}

static void test_retry_backoff_no_overflow(void **state) {
  (void)state;
  /* UBSan traps a signed overflow; these must stay in range. */
  int64_t d = flurry__backoff_ms(1000, 3600000, 3600000, 0.999);
  assert_true(d >= 3596000 && d <= 3600000);
  d = flurry__backoff_ms(1000, 1, INT64_MAX, 0.999);
  assert_true(d > 0);
  d = flurry__backoff_ms(1000, 1, INT64_MAX, 0.999999999);
  assert_true(d > 0);
  d = flurry__backoff_ms(64, INT64_MAX / 3, INT64_MAX, 0.5);
  assert_true(d > 0);
  d = flurry__backoff_ms(1000000, 100, 10000, 0.999);
  assert_true(d >= 9900 && d <= 10000);
  d = flurry__backoff_ms(INT32_MAX, 100, 10000, 0.5);
  assert_true(d >= 4999 && d <= 5000);
}

/* ---- which outcomes retry ---- */

static void test_retry_retryable_transport_errors(void **state) {
  (void)state;
  const int transient[] = {FLURRY_ECONNECT, FLURRY_ERESET, FLURRY_ETIMEOUT};
  for (size_t i = 0; i < 3; i++) {
    int e = transient[i];
    assert_int_equal(flurry__retryable(e, 0, 1, 0), 1);
    assert_int_equal(flurry__retryable(e, 0, 1, 1), 1);
    /* Not idempotent and something may have reached the server: no. */
    assert_int_equal(flurry__retryable(e, 0, 0, 0), 0);
  }
  /* A failed connect, or a connect timeout, sent nothing: safe even for
   * POST. */
  assert_int_equal(flurry__retryable(FLURRY_ECONNECT, 0, 0, 1), 1);
  assert_int_equal(flurry__retryable(FLURRY_ETIMEOUT, 0, 0, 1), 1);
  /* A reset may come after the request was sent. */
  assert_int_equal(flurry__retryable(FLURRY_ERESET, 0, 0, 1), 0);
  assert_int_equal(flurry__retryable(FLURRY_ETIMEOUT, 0, 0, 0), 0);
}

static void test_retry_retryable_statuses(void **state) {
  (void)state;
  const int again[] = {408, 429, 500, 502, 503, 504};
  for (size_t i = 0; i < sizeof again / sizeof again[0]; i++) {
    assert_int_equal(flurry__retryable(FLURRY_EHTTP, again[i], 1, 0), 1);
    assert_int_equal(flurry__retryable(FLURRY_EHTTP, again[i], 0, 0), 0);
    /* nothing_sent never applies to an answer from the server. */
    assert_int_equal(flurry__retryable(FLURRY_EHTTP, again[i], 0, 1), 0);
  }
  const int never[] = {400, 401, 403, 404, 405, 409, 410, 413, 422, 451, 501, 505, 599};
  for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
    for (int mr = 0; mr <= 1; mr++)
      for (int ns = 0; ns <= 1; ns++)
        if (flurry__retryable(FLURRY_EHTTP, never[i], mr, ns) != 0)
          fail_msg("status %d retried (may_repeat %d)", never[i], mr);
  }
}

static void test_retry_retryable_other_errors_never(void **state) {
  (void)state;
  const int never[] = {FLURRY_OK,        FLURRY_EDNS,       FLURRY_ETLS,
                       FLURRY_EPROTOCOL, FLURRY_ETOO_LARGE, FLURRY_ECANCELLED,
                       FLURRY_EINVALID,  FLURRY_ENOMEM,     FLURRY_EINTERNAL};
  for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
    for (int ns = 0; ns <= 1; ns++) {
      if (flurry__retryable(never[i], 0, 1, ns) != 0)
        fail_msg("%s retried", flurry_err_name(never[i]));
      /* A retryable status does not make a non-HTTP error retryable. */
      if (flurry__retryable(never[i], 503, 1, ns) != 0)
        fail_msg("%s with status 503 retried", flurry_err_name(never[i]));
    }
  }
}

static void test_retry_method_idempotent(void **state) {
  (void)state;
  const char *safe[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "PURGE"};
  for (size_t i = 0; i < sizeof safe / sizeof safe[0]; i++)
    assert_int_equal(flurry__method_idempotent(safe[i]), 1);
  assert_int_equal(flurry__method_idempotent("POST"), 0);
  assert_int_equal(flurry__method_idempotent("PATCH"), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_retry_after_delay_seconds),
      cmocka_unit_test(test_retry_after_http_dates),
      cmocka_unit_test(test_retry_after_past_date_is_zero),
      cmocka_unit_test(test_retry_after_rejects_garbage),
      cmocka_unit_test(test_retry_after_rejects_overlong),
      cmocka_unit_test(test_retry_after_every_prefix),
      cmocka_unit_test(test_retry_backoff_zero_random_is_zero),
      cmocka_unit_test(test_retry_backoff_upper_bound_doubles),
      cmocka_unit_test(test_retry_backoff_full_jitter_range),
      cmocka_unit_test(test_retry_backoff_cap),
      cmocka_unit_test(test_retry_backoff_no_overflow),
      cmocka_unit_test(test_retry_backoff_no_jitter_schedule),
      cmocka_unit_test(test_retry_retryable_transport_errors),
      cmocka_unit_test(test_retry_retryable_statuses),
      cmocka_unit_test(test_retry_retryable_other_errors_never),
      cmocka_unit_test(test_retry_method_idempotent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
