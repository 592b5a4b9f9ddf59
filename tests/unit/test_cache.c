/* test_cache.c: the HTTP cache. The freshness calculator (cache_fresh.c)
 * with the examples of RFC 9110/9111 and RFC 5861, and the library's
 * cache (":memory:") against the in-process mock: hits, collapsing of
 * identical requests in flight, cancelling collapsed requests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mock_int.h"
#include "mock_inproc.h"

static flurry__cc cc_of(const char *v) {
  flurry__cc cc;
  flurry__cc_init(&cc);
  flurry__cc_parse(&cc, v, strlen(v));
  return cc;
}

/* RFC 9110 5.6.7: the three formats of one date. */
static void test_cache_http_date_formats(void **state) {
  (void)state;
  assert_int_equal(flurry__http_date("Sun, 06 Nov 1994 08:49:37 GMT", 29), 784111777);
  assert_int_equal(flurry__http_date("Sunday, 06-Nov-94 08:49:37 GMT", 30), 784111777);
  assert_int_equal(flurry__http_date("Sun Nov  6 08:49:37 1994", 24), 784111777);
  assert_int_equal(flurry__http_date(" Thu, 01 Dec 1994 16:00:00 GMT ", 31), 786297600);
  assert_int_equal(flurry__http_date("0", 1), -1); /* RFC 9111 5.3: invalid */
  assert_int_equal(flurry__http_date("", 0), -1);
  assert_int_equal(flurry__http_date("yesterday at noon", 17), -1);
}

static void test_cache_cc_directives(void **state) {
  (void)state;
  flurry__cc cc = cc_of("Public, Max-Age=60, no-cache=\"Set-Cookie, X-A\", must-revalidate");
  assert_int_equal(cc.max_age, 60);
  assert_true(cc.is_public && cc.no_cache && cc.must_revalidate);
  assert_false(cc.no_store || cc.is_private);
  assert_int_equal(cc.swr, -1);
  cc = cc_of("max-age=\"5\""); /* 5.2: the quoted form is tolerated */
  assert_int_equal(cc.max_age, 5);
  cc = cc_of("max-age=abc"); /* 4.2.1: invalid means stale */
  assert_int_equal(cc.max_age, 0);
  cc = cc_of("max-age=99999999999"); /* 1.2.2: 2^31 past that */
  assert_int_equal(cc.max_age, 2147483648LL);
  cc = cc_of("private, no-store,,  foo=\"a,b\" , stale-while-revalidate=30,stale-if-error=1200");
  assert_true(cc.is_private && cc.no_store);
  assert_int_equal(cc.swr, 30);
  assert_int_equal(cc.sie, 1200);
  assert_int_equal(cc.max_age, -1);
  /* Two field lines add up. */
  flurry__cc_parse(&cc, "max-age=7", 9);
  assert_int_equal(cc.max_age, 7);
  assert_true(cc.no_store);
}

static flurry__fresh_in fresh_in(int status, const char *cc, int64_t date, int64_t expires,
                                 int64_t lm, int64_t age, double req_t, double resp_t) {
  flurry__fresh_in in = {status, cc_of(cc), date, expires, lm, age, req_t, resp_t};
  return in;
}

/* RFC 9111 4.2.1: max-age over Expires over the heuristic. */
static void test_cache_lifetime_order(void **state) {
  (void)state;
  /* Date: Thu, 01 Dec 1994 15:00:00 GMT, Expires an hour later. */
  int64_t date = 786294000, exp = 786297600;
  flurry__fresh_in in = fresh_in(200, "max-age=5", date, exp, -1, -1, date, date);
  assert_true(flurry__fresh_lifetime(&in) == 5);
  in = fresh_in(200, "", date, exp, -1, -1, date, date);
  assert_true(flurry__fresh_lifetime(&in) == 3600);
  in = fresh_in(200, "", -1, exp, -1, -1, date, date + 600); /* no Date: response time */
  assert_true(flurry__fresh_lifetime(&in) == 3000);
  in = fresh_in(200, "", date, 0, -1, -1, date, date); /* Expires: 0, already expired */
  assert_true(flurry__fresh_lifetime(&in) == 0);
  in = fresh_in(200, "", date, date - 10, -1, -1, date, date); /* in the past */
  assert_true(flurry__fresh_lifetime(&in) == 0);
}

/* 4.2.2: 10% of the time since Last-Modified, for a heuristically
 * cacheable status only, and never with explicit freshness. */
static void test_cache_lifetime_heuristic(void **state) {
  (void)state;
  int64_t date = 784111777, lm = date - 10 * 86400;
  flurry__fresh_in in = fresh_in(200, "", date, -1, lm, -1, date, date);
  assert_true(flurry__fresh_lifetime(&in) == 86400 * 10 * FLURRY_CACHE_HEURISTIC_FRACTION);
  assert_true(flurry__fresh_lifetime(&in) == 86400);
  in.status = 404;
  assert_true(flurry__fresh_lifetime(&in) == 86400);
  in.status = 302;
  assert_true(flurry__fresh_lifetime(&in) == 0);
  in.status = 500;
  assert_true(flurry__fresh_lifetime(&in) == 0);
  in = fresh_in(200, "max-age=0", date, -1, lm, -1, date, date);
  assert_true(flurry__fresh_lifetime(&in) == 0);
  in = fresh_in(200, "", date, -1, date + 100, -1, date, date); /* modified "later" */
  assert_true(flurry__fresh_lifetime(&in) == 0);
  assert_true(flurry__cache_status_ok(200) && flurry__cache_status_ok(301) &&
              flurry__cache_status_ok(308) && flurry__cache_status_ok(410));
  assert_false(flurry__cache_status_ok(206) || flurry__cache_status_ok(302) ||
               flurry__cache_status_ok(503));
}

/* 4.2.3: apparent_age = max(0, response_time - date_value);
 * corrected_age_value = age_value + response_delay;
 * corrected_initial_age = max(apparent_age, corrected_age_value);
 * current_age = corrected_initial_age + resident_time. */
static void test_cache_age_calculation(void **state) {
  (void)state;
  /* A server clock 12 s behind: the apparent age wins. */
  flurry__fresh_in in = fresh_in(200, "max-age=60", 990, -1, -1, 5, 1000, 1002);
  assert_true(flurry__initial_age(&in) == 12);
  /* Age 100 from a cache on the way: the corrected age wins. */
  in = fresh_in(200, "max-age=60", 1002, -1, -1, 100, 1000, 1002);
  assert_true(flurry__initial_age(&in) == 102);
  /* A Date in the future: apparent age 0, the delay still counts. */
  in = fresh_in(200, "", 5000, -1, -1, -1, 1000, 1002);
  assert_true(flurry__initial_age(&in) == 2);
  flurry__cache_meta m = {1002, 102, 60, -1, -1, 0, 0};
  assert_true(flurry__cache_age(&m, 1012) == 112);
  assert_int_equal(flurry__cache_judge(&m, 1012), FLURRY__CACHE_REVALIDATE); /* Age > max-age */
  m.initial_age = 2;
  assert_int_equal(flurry__cache_judge(&m, 1012), FLURRY__CACHE_FRESH);
  assert_true(flurry__cache_age(&m, 900) == 2); /* a clock going back */
}

/* RFC 5861 3: "max-age=600, stale-while-revalidate=30": fresh for 600 s,
 * then served stale while revalidating for 30 s more. 4: "max-age=600,
 * stale-if-error=1200": served on errors up to 1200 s past stale. */
static void test_cache_stale_extensions(void **state) {
  (void)state;
  flurry__cache_meta m = {0, 0, 600, 30, -1, 0, 0};
  assert_int_equal(flurry__cache_judge(&m, 599), FLURRY__CACHE_FRESH);
  assert_int_equal(flurry__cache_judge(&m, 600), FLURRY__CACHE_STALE_SWR);
  assert_int_equal(flurry__cache_judge(&m, 629), FLURRY__CACHE_STALE_SWR);
  assert_int_equal(flurry__cache_judge(&m, 630), FLURRY__CACHE_REVALIDATE);
  assert_false(flurry__cache_stale_on_error(&m, 601));
  m = (flurry__cache_meta){0, 0, 600, -1, 1200, 0, 0};
  assert_true(flurry__cache_stale_on_error(&m, 601));
  assert_true(flurry__cache_stale_on_error(&m, 1799));
  assert_false(flurry__cache_stale_on_error(&m, 1800));
  m.must_revalidate = 1; /* 5.2.2.2: never stale */
  assert_false(flurry__cache_stale_on_error(&m, 601));
  m = (flurry__cache_meta){0, 0, 600, 30, -1, 0, 1};
  assert_int_equal(flurry__cache_judge(&m, 601), FLURRY__CACHE_REVALIDATE);
  m = (flurry__cache_meta){0, 0, 600, 30, -1, 1, 0}; /* no-cache: always asks */
  assert_int_equal(flurry__cache_judge(&m, 1), FLURRY__CACHE_REVALIDATE);
}

/* ---- the library's cache against the in-process mock ---- */

typedef struct fixture {
  uv_loop_t loop;
  mock_server mock;
  httpd_server *h[1];
  unsigned port[1];
  int closed;
  flurry_client *c;
  int done, by_status[FLURRY_CACHE_BYPASS + 1], cancelled;
} fixture;

static void server_closed(void *arg) { ((fixture *)arg)->closed++; }

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  mock_inproc_start(&f->loop, &f->mock, f->h, f->port, 1);
  assert_int_equal(flurry_client_new(&f->c, &f->loop), FLURRY_OK);
  char msg[256];
  assert_int_equal(flurry_client_set_cache(f->c, ":memory:", msg, sizeof msg), FLURRY_OK);
  assert_int_equal(flurry_client_set_cache(f->c, ":memory:", msg, sizeof msg), FLURRY_EINVALID);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  flurry_client_free(f->c);
  mock_inproc_stop(&f->loop, &f->mock, f->h, 1, server_closed, f, &f->closed);
  free(f);
  return 0;
}

static void on_done(flurry_request *req, flurry_response *resp, void *ud) {
  (void)req;
  fixture *f = ud;
  f->done++;
  f->cancelled += flurry_response_error(resp) == FLURRY_ECANCELLED;
  int cs = flurry_response_cache(resp);
  if (cs >= 0 && cs <= FLURRY_CACHE_BYPASS)
    f->by_status[cs]++;
  if (cs == FLURRY_CACHE_HIT) { /* the shared answer, whole */
    size_t len;
    assert_non_null(strstr(flurry_response_body(resp, &len), "\"version\":0"));
    assert_int_equal(flurry_response_status(resp), 200);
    assert_int_equal(flurry_response_attempts(resp), 0);
  }
  flurry_response_free(resp);
}

static flurry_request *submit(fixture *f, const char *method, const char *path) {
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", f->port[0], path);
  flurry_request *req;
  assert_int_equal(flurry_request_new(&req, method, url), FLURRY_OK);
  assert_int_equal(flurry_client_submit(f->c, req, on_done, f), FLURRY_OK);
  return req;
}

/* Until the scheduler's 0 ms timer ran: a leader and its followers. */
static void until_running(fixture *f, size_t n) {
  for (int i = 0; i < 100 && f->c->running < n; i++)
    uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(f->c->running, n);
  assert_int_equal(flurry__sched_check(f->c), 0);
}

static double origin_hits(fixture *f, const char *key) {
  int created;
  return mock_table_get(f->mock.cache, key, strlen(key), &created)->a;
}

/* Five identical requests at once: one reaches the origin, four share its
 * answer; then a sixth is a hit from the store; a POST bypasses. */
static void test_cache_collapses_identical_requests(void **state) {
  fixture *f = *state;
  for (int i = 0; i < 5; i++)
    submit(f, "GET", "/cache/k1?cc=max-age%3D600");
  assert_int_equal(flurry_client_run(f->c), FLURRY_OK);
  assert_int_equal(flurry__sched_check(f->c), 0);
  assert_int_equal(f->done, 5);
  assert_int_equal(f->by_status[FLURRY_CACHE_MISS], 1);
  assert_int_equal(f->by_status[FLURRY_CACHE_HIT], 4);
  assert_true(origin_hits(f, "k1") == 1);
  submit(f, "GET", "/cache/k1?cc=max-age%3D600");
  submit(f, "POST", "/cache/k1?cc=max-age%3D600");
  assert_int_equal(flurry_client_run(f->c), FLURRY_OK);
  assert_int_equal(f->by_status[FLURRY_CACHE_HIT], 5);
  assert_int_equal(f->by_status[FLURRY_CACHE_BYPASS], 1);
  assert_true(origin_hits(f, "k1") == 2);
}

/* Cancelled while collapsed on a leader in flight: every callback runs
 * once, the lists stay right, nothing leaks (ASan). */
static void test_cache_cancel_collapsed(void **state) {
  fixture *f = *state;
  for (int i = 0; i < 4; i++)
    submit(f, "GET", "/cache/k2?cc=max-age%3D600");
  until_running(f, 4);
  assert_int_equal(flurry_client_cancel_all(f->c), FLURRY_OK);
  assert_int_equal(f->done, 4);
  assert_int_equal(f->cancelled, 4);
  assert_int_equal(flurry__sched_check(f->c), 0);
  assert_int_equal(flurry_client_pending(f->c), 0);
}

/* The leader alone cancelled: the first follower asks the origin in its
 * place and the last one gets its answer. */
static void test_cache_cancel_leader_promotes(void **state) {
  fixture *f = *state;
  flurry_request *lead = submit(f, "GET", "/cache/k3?cc=max-age%3D600");
  submit(f, "GET", "/cache/k3?cc=max-age%3D600");
  submit(f, "GET", "/cache/k3?cc=max-age%3D600");
  until_running(f, 3);
  assert_int_equal(flurry_request_cancel(lead), FLURRY_OK);
  assert_int_equal(f->cancelled, 1);
  assert_int_equal(flurry__sched_check(f->c), 0);
  assert_int_equal(flurry_client_run(f->c), FLURRY_OK);
  assert_int_equal(f->done, 3);
  assert_int_equal(f->cancelled, 1);
  assert_int_equal(f->by_status[FLURRY_CACHE_MISS], 2); /* the cancelled one, and its heir */
  assert_int_equal(f->by_status[FLURRY_CACHE_HIT], 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cache_http_date_formats),
      cmocka_unit_test(test_cache_cc_directives),
      cmocka_unit_test(test_cache_lifetime_order),
      cmocka_unit_test(test_cache_lifetime_heuristic),
      cmocka_unit_test(test_cache_age_calculation),
      cmocka_unit_test(test_cache_stale_extensions),
      cmocka_unit_test_setup_teardown(test_cache_collapses_identical_requests, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cache_cancel_collapsed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cache_cancel_leader_promotes, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
