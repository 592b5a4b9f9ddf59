/* test_host.c: what the client learns about a host, driven with an injected
 * time: the circuit breaker's transitions, Retry-After pausing the host,
 * the adaptive rate, host keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct fixture {
  flurry_client *c;
  flurry__host *h;
  flurry_request *req;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_int_equal(flurry_client_new(&f->c, NULL), FLURRY_OK);
  assert_int_equal(flurry_client_set(f->c, FLURRY_OPT_BREAKER_THRESHOLD, 3), FLURRY_OK);
  assert_int_equal(flurry_client_set(f->c, FLURRY_OPT_BREAKER_COOLDOWN_MS, 1000), FLURRY_OK);
  f->h = flurry__host_acquire(f->c, "http://Example.COM/a?b");
  assert_non_null(f->h);
  assert_int_equal(flurry_request_new(&f->req, "GET", "http://example.com/"), FLURRY_OK);
  f->req->resp = flurry__response_new(1024);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  flurry__host_release(f->c, f->h);
  flurry_request_free(f->req);
  flurry_client_free(f->c);
  free(f);
  return 0;
}

/* The outcome of one attempt: an error kind, or a status with headers. */
static void answer(fixture *f, int err, int status, const char *header, double now) {
  flurry_response *r = f->req->resp;
  flurry__response_reset(r);
  r->err = err;
  r->status = status;
  if (header)
    assert_int_equal(flurry__response_header_line(r, header, strlen(header)), FLURRY_OK);
  flurry__host_learn(f->c, f->h, f->req, now);
}

static flurry__verdict admit(fixture *f, double now, double *until) {
  *until = -1;
  return flurry__host_admit(f->c, f->h, f->req, now, until);
}

static void test_host_key_normalised(void **state) {
  fixture *f = *state;
  assert_string_equal(f->h->key, "http://example.com:80");
  flurry__host *same = flurry__host_acquire(f->c, "http://user:pw@EXAMPLE.com:80/x");
  assert_ptr_equal(same, f->h);
  flurry__host *tls = flurry__host_acquire(f->c, "https://example.com/");
  assert_ptr_not_equal(tls, f->h);
  assert_string_equal(tls->key, "https://example.com:443");
  flurry__host *v6 = flurry__host_acquire(f->c, "http://[::1]:8080/x");
  assert_string_equal(v6->key, "http://[::1]:8080");
  /* a name too long for the key's stack buffer: allocated, found again */
  char url[400], key[400];
  snprintf(url, sizeof url, "http://%0300d.Example.com/x", 7);
  snprintf(key, sizeof key, "http://%0300d.example.com:80", 7);
  flurry__host *lng = flurry__host_acquire(f->c, url);
  assert_string_equal(lng->key, key);
  assert_ptr_equal(flurry__host_acquire(f->c, url), lng);
  /* one that just fits (255 bytes and its NUL), and one byte over */
  snprintf(url, sizeof url, "http://%0*d:1/", 255 - 9, 0);
  flurry__host *fits = flurry__host_acquire(f->c, url);
  assert_int_equal(strlen(fits->key), 255);
  snprintf(url, sizeof url, "http://%0*d:1/", 256 - 9, 0);
  flurry__host *over = flurry__host_acquire(f->c, url);
  assert_int_equal(strlen(over->key), 256);
  assert_ptr_not_equal(fits, over);
  flurry__host_release(f->c, same);
  flurry__host_release(f->c, tls);
  flurry__host_release(f->c, v6);
  flurry__host_release(f->c, lng);
  flurry__host_release(f->c, lng);
  flurry__host_release(f->c, fits);
  flurry__host_release(f->c, over);
}

static void test_host_breaker_opens_after_threshold(void **state) {
  fixture *f = *state;
  double until;
  assert_int_equal(admit(f, 0, &until), HOST_GO);
  answer(f, FLURRY_ECONNECT, 0, NULL, 10);
  answer(f, FLURRY_ECONNECT, 0, NULL, 20);
  assert_int_equal(f->h->breaker, BREAKER_CLOSED);
  assert_int_equal(admit(f, 25, &until), HOST_GO);
  answer(f, FLURRY_ECONNECT, 0, NULL, 30);
  assert_int_equal(f->h->breaker, BREAKER_OPEN);
  assert_int_equal(admit(f, 500, &until), HOST_FAIL);
  assert_int_equal(admit(f, 1029, &until), HOST_FAIL);
}

static void test_host_breaker_success_resets_count(void **state) {
  fixture *f = *state;
  answer(f, FLURRY_ECONNECT, 0, NULL, 10);
  answer(f, FLURRY_ECONNECT, 0, NULL, 20);
  answer(f, FLURRY_OK, 200, NULL, 30);
  answer(f, FLURRY_ECONNECT, 0, NULL, 40);
  answer(f, FLURRY_ECONNECT, 0, NULL, 50);
  assert_int_equal(f->h->breaker, BREAKER_CLOSED);
  /* An HTTP error is an answer: the host is reachable. */
  answer(f, FLURRY_EHTTP, 503, NULL, 60);
  answer(f, FLURRY_ECONNECT, 0, NULL, 70);
  answer(f, FLURRY_ECONNECT, 0, NULL, 80);
  assert_int_equal(f->h->breaker, BREAKER_CLOSED);
}

static void test_host_breaker_probe_then_close(void **state) {
  fixture *f = *state;
  double until;
  for (int i = 0; i < 3; i++)
    answer(f, FLURRY_ECONNECT, 0, NULL, 10);
  assert_int_equal(admit(f, 1010, &until), HOST_GO); /* the one probe */
  assert_int_equal(f->h->breaker, BREAKER_HALF_OPEN);
  assert_int_equal(admit(f, 1011, &until), HOST_WAIT); /* others wait for it */
  assert_true(isinf(until));
  answer(f, FLURRY_OK, 200, NULL, 1020);
  assert_int_equal(f->h->breaker, BREAKER_CLOSED);
  assert_int_equal(admit(f, 1021, &until), HOST_GO);
  assert_int_equal(admit(f, 1022, &until), HOST_GO);
}

static void test_host_breaker_failed_probe_doubles_cooldown(void **state) {
  fixture *f = *state;
  double until;
  for (int i = 0; i < 3; i++)
    answer(f, FLURRY_ECONNECT, 0, NULL, 0);
  assert_int_equal(admit(f, 1000, &until), HOST_GO);
  answer(f, FLURRY_ETLS, 0, NULL, 1000);
  assert_int_equal(f->h->breaker, BREAKER_OPEN);
  assert_int_equal(admit(f, 2999, &until), HOST_FAIL); /* 2000 ms now */
  assert_int_equal(admit(f, 3000, &until), HOST_GO);
  answer(f, FLURRY_ECONNECT, 0, NULL, 3000);
  assert_int_equal(admit(f, 6999, &until), HOST_FAIL); /* 4000 ms */
  assert_int_equal(admit(f, 7000, &until), HOST_GO);
}

static void test_host_retry_after_pauses_host(void **state) {
  fixture *f = *state;
  double until;
  double now = fl_now_ms();
  answer(f, FLURRY_EHTTP, 429, "Retry-After: 2", now);
  assert_int_equal(admit(f, now + 100, &until), HOST_WAIT);
  assert_true(until >= now + 2000 && until < now + 2001);
  assert_int_equal(admit(f, now + 2000, &until), HOST_GO);
  /* A 500 carries no pause even with the header. */
  answer(f, FLURRY_EHTTP, 500, "Retry-After: 30", now + 2100);
  assert_int_equal(admit(f, now + 2101, &until), HOST_GO);
}

static void test_host_adaptive_halves_and_grows(void **state) {
  fixture *f = *state;
  double until;
  assert_int_equal(flurry_client_set(f->c, FLURRY_OPT_RATE_AUTO, 1), FLURRY_OK);
  /* Starts one every 10 ms (100/s) are observed, then a 429. */
  for (int i = 0; i < 50; i++)
    assert_int_equal(admit(f, 10.0 * i, &until), HOST_GO);
  answer(f, FLURRY_EHTTP, 429, NULL, 500);
  assert_true(f->h->adapt_rate > 49 && f->h->adapt_rate < 51);
  /* A burst of 429s from the same window halves only once per 500 ms. */
  answer(f, FLURRY_EHTTP, 429, NULL, 600);
  assert_true(f->h->adapt_rate > 49 && f->h->adapt_rate < 51);
  answer(f, FLURRY_EHTTP, 429, NULL, 1000);
  assert_true(f->h->adapt_rate > 24 && f->h->adapt_rate < 26);
  /* Healthy answers: +10% a second. */
  answer(f, FLURRY_OK, 200, NULL, 2000);
  assert_true(f->h->adapt_rate > 27 && f->h->adapt_rate < 28);
  answer(f, FLURRY_OK, 200, NULL, 2500); /* too soon: unchanged */
  assert_true(f->h->adapt_rate > 27 && f->h->adapt_rate < 28);
}

static void test_host_adaptive_follows_policy(void **state) {
  fixture *f = *state;
  assert_int_equal(flurry_client_set(f->c, FLURRY_OPT_RATE_AUTO, 1), FLURRY_OK);
  answer(f, FLURRY_OK, 200, "RateLimit-Policy: 50;w=1", 0);
  assert_true(f->h->adapt_rate == 50);
  /* Growth stops at the stated policy. */
  answer(f, FLURRY_OK, 200, NULL, 5000);
  assert_true(f->h->adapt_rate == 50);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_host_key_normalised, setup, teardown),
      cmocka_unit_test_setup_teardown(test_host_breaker_opens_after_threshold, setup, teardown),
      cmocka_unit_test_setup_teardown(test_host_breaker_success_resets_count, setup, teardown),
      cmocka_unit_test_setup_teardown(test_host_breaker_probe_then_close, setup, teardown),
      cmocka_unit_test_setup_teardown(test_host_breaker_failed_probe_doubles_cooldown, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_host_retry_after_pauses_host, setup, teardown),
      cmocka_unit_test_setup_teardown(test_host_adaptive_halves_and_grows, setup, teardown),
      cmocka_unit_test_setup_teardown(test_host_adaptive_follows_policy, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
