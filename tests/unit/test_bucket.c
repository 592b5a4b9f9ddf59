/* test_bucket.c: the token bucket with an injected clock, and the rate
 * limit header reader. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "internal.h"

static void test_bucket_unlimited(void **state) {
  (void)state;
  flurry__bucket b;
  flurry__bucket_init(&b, 0, 1, 1000);
  double wait = -1;
  for (int i = 0; i < 1000; i++)
    assert_int_equal(flurry__bucket_take(&b, 1000, &wait), 1);
  assert_true(flurry__bucket_available(&b, 1000) < 0);
}

static void test_bucket_spacing(void **state) {
  (void)state;
  flurry__bucket b;
  flurry__bucket_init(&b, 20, 1, 0); /* 20/s: one every 50 ms */
  double wait = -1;
  assert_int_equal(flurry__bucket_take(&b, 0, &wait), 1);
  assert_int_equal(flurry__bucket_take(&b, 0, &wait), 0);
  assert_true(wait > 49.9 && wait < 50.1);
  assert_int_equal(flurry__bucket_take(&b, 25, &wait), 0);
  assert_true(wait > 24.9 && wait < 25.1);
  assert_int_equal(flurry__bucket_take(&b, 50, &wait), 1);
  /* Over a simulated second, exactly 20 go (plus the one at t=0). */
  int taken = 0;
  for (double t = 50; t <= 1050; t += 1)
    taken += flurry__bucket_take(&b, t, &wait);
  assert_int_equal(taken, 20);
}

static void test_bucket_burst(void **state) {
  (void)state;
  flurry__bucket b;
  flurry__bucket_init(&b, 10, 5, 0);
  double wait;
  for (int i = 0; i < 5; i++)
    assert_int_equal(flurry__bucket_take(&b, 0, &wait), 1);
  assert_int_equal(flurry__bucket_take(&b, 0, &wait), 0);
  /* A long idle spell refills to the burst, not beyond. */
  assert_true(flurry__bucket_available(&b, 100000) == 5);
}

static void test_bucket_peek_keeps_token(void **state) {
  (void)state;
  flurry__bucket b;
  flurry__bucket_init(&b, 1, 1, 0);
  double wait;
  assert_int_equal(flurry__bucket_peek(&b, 0, &wait), 1);
  assert_int_equal(flurry__bucket_peek(&b, 0, &wait), 1);
  assert_int_equal(flurry__bucket_take(&b, 0, &wait), 1);
  assert_int_equal(flurry__bucket_peek(&b, 0, &wait), 0);
  assert_true(wait > 999 && wait <= 1000);
}

static void test_bucket_set_changes_rate(void **state) {
  (void)state;
  flurry__bucket b;
  flurry__bucket_init(&b, 1, 1, 0);
  double wait;
  assert_int_equal(flurry__bucket_take(&b, 0, &wait), 1);
  flurry__bucket_set(&b, 100, 1, 0); /* faster: the next token in 10 ms */
  assert_int_equal(flurry__bucket_take(&b, 5, &wait), 0);
  assert_int_equal(flurry__bucket_take(&b, 10, &wait), 1);
  flurry__bucket_set(&b, 0, 1, 10); /* no limit at all */
  assert_int_equal(flurry__bucket_take(&b, 10, &wait), 1);
  assert_int_equal(flurry__bucket_take(&b, 10, &wait), 1);
}

static void test_bucket_clock_going_back_is_harmless(void **state) {
  (void)state;
  flurry__bucket b;
  flurry__bucket_init(&b, 10, 1, 1000);
  double wait;
  assert_int_equal(flurry__bucket_take(&b, 1000, &wait), 1);
  assert_int_equal(flurry__bucket_take(&b, 500, &wait), 0);
  assert_true(wait > 0 && wait <= 100);
}

/* A response carrying the given header lines ("Name: value"). */
static flurry_response *with_headers(int status, const char *const *lines) {
  flurry_response *r = flurry__response_new(1024);
  assert_non_null(r);
  char sl[32];
  snprintf(sl, sizeof sl, "HTTP/1.1 %d X\r\n", status);
  assert_int_equal(flurry__response_header_line(r, sl, strlen(sl)), FLURRY_OK);
  for (; *lines; lines++)
    assert_int_equal(flurry__response_header_line(r, *lines, strlen(*lines)), FLURRY_OK);
  r->status = status;
  return r;
}

static void test_bucket_ratelimit_ietf_headers(void **state) {
  (void)state;
  const char *const h[] = {"RateLimit-Policy: 100;w=60", "RateLimit-Remaining: 0",
                           "RateLimit-Reset: 7", NULL};
  flurry_response *r = with_headers(429, h);
  double rate, reset;
  int spent;
  assert_int_equal(flurry__ratelimit_parse(r, &rate, &spent, &reset), 1);
  assert_true(rate > 1.66 && rate < 1.67);
  assert_int_equal(spent, 1);
  assert_true(reset == 7000);
  flurry_response_free(r);
}

static void test_bucket_ratelimit_combined_header(void **state) {
  (void)state;
  const char *const h[] = {"RateLimit: limit=10, remaining=3, reset=2", NULL};
  flurry_response *r = with_headers(200, h);
  double rate, reset;
  int spent;
  assert_int_equal(flurry__ratelimit_parse(r, &rate, &spent, &reset), 1);
  assert_true(rate == 0); /* no policy: the window is unknown */
  assert_int_equal(spent, 0);
  assert_true(reset == 2000);
  flurry_response_free(r);
}

static void test_bucket_ratelimit_github_headers(void **state) {
  (void)state;
  char reset_line[64];
  snprintf(reset_line, sizeof reset_line, "X-RateLimit-Reset: %lld", (long long)time(NULL) + 30);
  const char *const h[] = {"X-RateLimit-Limit: 5000", "X-RateLimit-Remaining: 0", reset_line, NULL};
  flurry_response *r = with_headers(403, h);
  double rate, reset;
  int spent;
  assert_int_equal(flurry__ratelimit_parse(r, &rate, &spent, &reset), 1);
  assert_int_equal(spent, 1);
  assert_true(reset > 28000 && reset <= 30000); /* epoch seconds turned into a delay */
  flurry_response_free(r);
}

static void test_bucket_ratelimit_none(void **state) {
  (void)state;
  const char *const h[] = {"Content-Type: application/json", NULL};
  flurry_response *r = with_headers(200, h);
  double rate, reset;
  int spent;
  assert_int_equal(flurry__ratelimit_parse(r, &rate, &spent, &reset), 0);
  assert_int_equal(spent, 0);
  flurry_response_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bucket_unlimited),
      cmocka_unit_test(test_bucket_spacing),
      cmocka_unit_test(test_bucket_burst),
      cmocka_unit_test(test_bucket_peek_keeps_token),
      cmocka_unit_test(test_bucket_set_changes_rate),
      cmocka_unit_test(test_bucket_clock_going_back_is_harmless),
      cmocka_unit_test(test_bucket_ratelimit_ietf_headers),
      cmocka_unit_test(test_bucket_ratelimit_combined_header),
      cmocka_unit_test(test_bucket_ratelimit_github_headers),
      cmocka_unit_test(test_bucket_ratelimit_none),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
