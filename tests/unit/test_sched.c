/* test_sched.c: a request's state and the client's lists. Every request
 * is on the list of its state (queue, run list, its host's park list,
 * backoff heap) and the counters are those lists' lengths, whatever moved
 * it: submit, the scheduler, a retry, a host's pause, a cancel.
 * flurry__sched_check says so; it runs after every loop iteration, in
 * every completion callback and between the steps of a batch against the
 * in-process mock that goes through each state. */
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

#define N_PAUSED 6 /* to the host that says Retry-After: parked */
#define N_FLAKY 10 /* to the other host: 503, then 200 */
#define N_ALL (1 + N_PAUSED + N_FLAKY)

typedef struct fixture {
  uv_loop_t loop;
  mock_server mock;
  httpd_server *h[2];
  unsigned port[2];
  int closed;
  flurry_client *c;
  uv_check_t check;
  /* what the checks saw */
  uv_timer_t watchdog;
  int checks;
  size_t max_queued, max_running, max_parked, max_backoff;
  int done, cancelled, ok;
  int flaky_done;
  int phase; /* 0, 1 cancel_queued done, 2 cancel_all done */
} fixture;

static void server_closed(void *arg) { ((fixture *)arg)->closed++; }

static void check_now(fixture *f) {
  const flurry_client *c = f->c;
  f->checks++;
  if (flurry__sched_check(c) != 0)
    fail_msg("check %d: the lists and counters disagree (queued %zu, running %zu, parked %zu)",
             f->checks, c->queued, c->running, c->parked);
  if (c->queued > f->max_queued)
    f->max_queued = c->queued;
  if (c->running > f->max_running)
    f->max_running = c->running;
  if (c->parked > f->max_parked)
    f->max_parked = c->parked;
  if (c->backoff.len > f->max_backoff)
    f->max_backoff = c->backoff.len;
}

/* After every loop iteration, outside any callback of the client: the
 * cancels go in here. First the queued and parked requests never
 * started, once some are parked; then everything left (the retry that
 * waits for the host's Retry-After, whatever runs), once a flaky one
 * completed. */
static void on_check(uv_check_t *h) {
  fixture *f = h->data;
  check_now(f);
  if (f->phase == 0 && f->c->parked > 0) {
    assert_int_equal(flurry_client_cancel_queued(f->c), FLURRY_OK);
    f->phase = 1;
    check_now(f);
  } else if (f->phase == 1 && f->flaky_done > 0) {
    assert_int_equal(flurry_client_cancel_all(f->c), FLURRY_OK);
    f->phase = 2;
    check_now(f);
  }
}

static void on_watchdog(uv_timer_t *t) {
  (void)t;
  fail_msg("the batch did not end in 20 s");
}

static void on_done(flurry_request *req, flurry_response *resp, void *ud) {
  fixture *f = ud;
  check_now(f);
  f->done++;
  f->cancelled += flurry_response_error(resp) == FLURRY_ECANCELLED;
  f->ok += flurry_response_error(resp) == FLURRY_OK;
  if (strstr(flurry_request_url(req), "/flaky") && flurry_response_error(resp) == FLURRY_OK)
    f->flaky_done++;
  flurry_response_free(resp);
}

static void submit(fixture *f, int server, const char *path) {
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", f->port[server], path);
  flurry_request *req;
  assert_int_equal(flurry_request_new(&req, "GET", url), FLURRY_OK);
  assert_int_equal(flurry_client_submit(f->c, req, on_done, f), FLURRY_OK);
  check_now(f);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  mock_inproc_start(&f->loop, &f->mock, f->h, f->port, 2);
  assert_int_equal(flurry_client_new(&f->c, &f->loop), FLURRY_OK);
  assert_int_equal(uv_check_init(&f->loop, &f->check), 0);
  f->check.data = f;
  assert_int_equal(uv_timer_init(&f->loop, &f->watchdog), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  flurry_client_free(f->c);
  uv_close((uv_handle_t *)&f->check, NULL);
  uv_close((uv_handle_t *)&f->watchdog, NULL);
  mock_inproc_stop(&f->loop, &f->mock, f->h, 2, server_closed, f, &f->closed);
  free(f);
  return 0;
}

/* One slot: the first request (503, Retry-After: 1) pauses its host and
 * waits for its retry; the requests behind it to that host are parked; the
 * flaky ones to the other host are retried after a short backoff. */
static void test_sched_lists_match_counters_through_a_batch(void **state) {
  fixture *f = *state;
  flurry_client *c = f->c;
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_IN_FLIGHT, 1), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_ATTEMPTS, 3), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_RETRY_BASE_MS, 5), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_RETRY_CAP_MS, 20), FLURRY_OK);
  submit(f, 0, "/status/503?retry_after=1");
  for (int i = 0; i < N_PAUSED; i++)
    submit(f, 0, "/json");
  for (int i = 0; i < N_FLAKY; i++) {
    char path[64];
    snprintf(path, sizeof path, "/flaky?key=sched-%d&fail=1", i);
    submit(f, 1, path);
  }
  assert_int_equal(c->queued, N_ALL); /* nothing runs inside submit */
  assert_int_equal(uv_check_start(&f->check, on_check), 0);
  assert_int_equal(uv_timer_start(&f->watchdog, on_watchdog, 20000, 0), 0);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  uv_timer_stop(&f->watchdog);
  check_now(f);

  assert_int_equal(f->done, N_ALL);
  assert_int_equal(f->phase, 2);
  assert_true(f->cancelled >= N_PAUSED + 1); /* the parked ones and the paused retry */
  assert_true(f->ok >= 1);
  /* each state was seen */
  assert_true(f->max_queued > 0);
  assert_true(f->max_running > 0);
  assert_true(f->max_parked > 0);
  assert_true(f->max_backoff > 0);
  assert_int_equal(c->queued + c->running + c->parked + c->backoff.len, 0);
  assert_int_equal(flurry_client_pending(c), 0);
}

/* A request never submitted, or refused at submit, is on no list. */
static void test_sched_refused_submit_leaves_lists_alone(void **state) {
  fixture *f = *state;
  flurry_request *req;
  assert_int_equal(flurry_request_new(&req, "GET", "ftp://example.com/"), FLURRY_OK);
  assert_int_equal(flurry_client_submit(f->c, req, on_done, f), FLURRY_EINVALID);
  assert_int_equal(flurry__sched_check(f->c), 0);
  assert_int_equal(flurry_client_pending(f->c), 0);
  flurry_request_free(req);
}

/* ---- the admission hook (flurry/admit.h) ---- */

typedef struct admit_state {
  fixture *f;
  int granted;  /* grants handed out by the timer */
  int unused;   /* of those, not taken yet */
  int go, wait; /* the hook's answers */
  uv_timer_t grant;
  int closed;
} admit_state;

static void on_grant_closed(uv_handle_t *h) { ((admit_state *)h->data)->closed = 1; }

static flurry_admit admit_hook(flurry_client *c, const flurry_request *req, void *ud) {
  admit_state *a = ud;
  assert_ptr_equal(c, a->f->c);
  assert_non_null(flurry_request_url(req));
  if (a->unused == 0) {
    a->wait++;
    return FLURRY_ADMIT_WAIT;
  }
  a->unused--;
  a->go++;
  return FLURRY_ADMIT_GO;
}

/* A grant every few ms, as an asynchronous answer would come. */
static void on_grant(uv_timer_t *t) {
  admit_state *a = t->data;
  if (a->f->done == 3) {
    uv_timer_stop(t);
    return;
  }
  if (a->unused > 0)
    return;
  /* never more started than granted, whatever ran meanwhile */
  assert_true((int)a->f->c->running + a->f->done <= a->granted);
  a->granted++;
  a->unused++;
  flurry_client_admit_ready(a->f->c);
}

/* Every attempt (retries included) starts only once the hook says GO; a
 * WAIT holds the queue until flurry_client_admit_ready. */
static void test_sched_admit_hook_gates_every_attempt(void **state) {
  fixture *f = *state;
  admit_state a = {.f = f};
  flurry_client *c = f->c;
  assert_int_equal(flurry_client_set_admit(NULL, admit_hook, &a), FLURRY_EINVALID);
  assert_int_equal(flurry_client_set_admit(c, admit_hook, &a), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_ATTEMPTS, 2), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_RETRY_BASE_MS, 1), FLURRY_OK);
  submit(f, 0, "/json");
  submit(f, 0, "/flaky?key=admit&fail=1");
  submit(f, 1, "/json");
  assert_int_equal(uv_timer_init(&f->loop, &a.grant), 0);
  a.grant.data = &a;
  assert_int_equal(uv_timer_start(&a.grant, on_grant, 5, 5), 0);
  assert_int_equal(uv_timer_start(&f->watchdog, on_watchdog, 20000, 0), 0);
  while (f->done < 3)
    uv_run(&f->loop, UV_RUN_ONCE);
  uv_timer_stop(&f->watchdog);
  uv_close((uv_handle_t *)&a.grant, on_grant_closed);
  while (!a.closed)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(f->ok, 3);
  assert_int_equal(a.go, 4); /* 3 requests, one of them twice (503, then 200) */
  assert_true(a.wait >= 4);  /* each start waited for its grant */
  assert_int_equal(flurry_client_set_admit(c, NULL, NULL), FLURRY_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_sched_lists_match_counters_through_a_batch, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_sched_refused_submit_leaves_lists_alone, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_sched_admit_hook_gates_every_attempt, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
