/* test_cancel.c: flurry_request_cancel against flurry mock on the test's
 * own loop: a request cancelled while queued, running, waiting to retry,
 * from inside another request's completion callback and from inside its
 * own record callback; each gives one result, FLURRY_ECANCELLED, and the
 * loop closes clean. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "httpd.h"
#include "internal.h"
#include "mock_int.h"
#include "mock_inproc.h"

typedef struct one {
  flurry_request *req; /* while submitted */
  int calls;
  int err;
  int records;
  int cancel_at;         /* record callback: cancel itself at this record */
  int retry;             /* 3 attempts, 30 s apart */
  int inner_rc;          /* what a cancel from a callback returned */
  struct one *victim;    /* completion callback: cancel this one */
  int self_cancel_rc;    /* completion callback: cancel itself */
  size_t pending_in_cb;  /* flurry_client_pending, seen in the callback */
  flurry_client *client; /* for pending_in_cb */
} one;

typedef struct fixture {
  uv_loop_t loop;
  mock_server mock;
  httpd_server *h;
  unsigned port;
  flurry_client *c;
  int closed;
} fixture;

static void on_closed(void *arg) { ((fixture *)arg)->closed++; }

static void setup(fixture *f) {
  memset(f, 0, sizeof *f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  mock_inproc_start(&f->loop, &f->mock, &f->h, &f->port, 1);
  assert_int_equal(flurry_client_new(&f->c, &f->loop), FLURRY_OK);
}

static void teardown(fixture *f) {
  flurry_client_free(f->c);
  mock_inproc_stop(&f->loop, &f->mock, &f->h, 1, on_closed, f, &f->closed);
}

static void on_done(flurry_request *req, flurry_response *resp, void *ud) {
  one *o = ud;
  o->calls++;
  o->err = flurry_response_error(resp);
  o->self_cancel_rc = flurry_request_cancel(req); /* its own: refused */
  if (o->victim && o->victim->req) {
    o->inner_rc = flurry_request_cancel(o->victim->req);
    o->victim->req = NULL;
  }
  if (o->client)
    o->pending_in_cb = flurry_client_pending(o->client);
  o->req = NULL;
  flurry_response_free(resp);
}

static int on_record(flurry_request *req, const flurry_stream_record *rec, void *ud) {
  one *o = ud;
  (void)rec;
  o->records++;
  if (o->records == o->cancel_at)
    o->inner_rc = flurry_request_cancel(req);
  return 0;
}

static void submit(fixture *f, const char *path, one *o) {
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", f->port, path);
  o->err = -1;
  o->inner_rc = o->self_cancel_rc = -1;
  assert_int_equal(flurry_request_new(&o->req, "GET", url), FLURRY_OK);
  if (o->retry) {
    assert_int_equal(flurry_request_set(o->req, FLURRY_OPT_MAX_ATTEMPTS, 3), FLURRY_OK);
    assert_int_equal(flurry_request_set(o->req, FLURRY_OPT_RETRY_BASE_MS, 30000), FLURRY_OK);
    assert_int_equal(flurry_request_set(o->req, FLURRY_OPT_RETRY_JITTER, 1), FLURRY_OK);
  }
  if (o->cancel_at)
    assert_int_equal(flurry_request_set_stream(o->req, FLURRY_STREAM_LINES, on_record, o),
                     FLURRY_OK);
  assert_int_equal(flurry_client_submit(f->c, o->req, on_done, o), FLURRY_OK);
}

/* Runs the loop until `until` is non-zero; bounded by turns, not time. */
static void run_until(fixture *f, const int *until) {
  for (int i = 0; i < 100000 && !*until; i++)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_true(*until);
}

static void test_cancel_rejects(void **state) {
  (void)state;
  flurry_request *req;
  assert_int_equal(flurry_request_cancel(NULL), FLURRY_EINVALID);
  assert_int_equal(flurry_request_new(&req, "GET", "http://127.0.0.1:1/"), FLURRY_OK);
  assert_int_equal(flurry_request_cancel(req), FLURRY_EINVALID); /* not submitted */
  flurry_request_free(req);
}

/* One slot: a is running, b queued behind it. Each cancel completes its
 * request before it returns; the other goes on. */
static void test_cancel_queued_and_running(void **state) {
  (void)state;
  fixture f;
  setup(&f);
  assert_int_equal(flurry_client_set(f.c, FLURRY_OPT_MAX_IN_FLIGHT, 1), FLURRY_OK);
  one a = {0}, b = {0}, c = {0};
  submit(&f, "/delay/20000", &a);
  submit(&f, "/delay/20000", &b);
  submit(&f, "/json", &c);
  flurry_client_stats st;
  for (int i = 0; i < 100000; i++) { /* until a is on the wire */
    flurry_client_stats_get(f.c, &st);
    if (st.running == 1)
      break;
    uv_run(&f.loop, UV_RUN_ONCE);
  }
  assert_int_equal(st.running, 1);
  assert_int_equal(flurry_request_cancel(b.req), FLURRY_OK);
  assert_int_equal(b.calls, 1);
  assert_int_equal(b.err, FLURRY_ECANCELLED);
  assert_int_equal(b.self_cancel_rc, FLURRY_EINVALID);
  assert_int_equal(flurry_client_pending(f.c), 2);
  assert_int_equal(flurry_request_cancel(a.req), FLURRY_OK);
  assert_int_equal(a.calls, 1);
  assert_int_equal(a.err, FLURRY_ECANCELLED);
  assert_int_equal(flurry_client_run(f.c), FLURRY_OK); /* c takes the freed slot */
  assert_int_equal(c.calls, 1);
  assert_int_equal(c.err, FLURRY_OK);
  assert_int_equal(a.calls + b.calls, 2); /* one result each */
  assert_int_equal(flurry__sched_check(f.c), 0);
  teardown(&f);
}

/* A request waiting to retry leaves the backoff heap. */
static void test_cancel_waiting_retry(void **state) {
  (void)state;
  fixture f;
  setup(&f);
  one a = {0};
  a.retry = 1; /* decorrelated jitter: the first wait is at least the base */
  submit(&f, "/status/503", &a);
  flurry_client_stats st = {0};
  for (int i = 0; i < 100000 && st.waiting == 0; i++) {
    uv_run(&f.loop, UV_RUN_ONCE);
    flurry_client_stats_get(f.c, &st);
  }
  assert_int_equal(st.waiting, 1);
  assert_int_equal(flurry_request_cancel(a.req), FLURRY_OK);
  assert_int_equal(a.calls, 1);
  assert_int_equal(a.err, FLURRY_ECANCELLED);
  assert_int_equal(flurry_client_pending(f.c), 0);
  assert_int_equal(flurry__sched_check(f.c), 0);
  teardown(&f);
}

/* From inside another request's completion callback: the victim's callback
 * runs at once (nested), the caller's goes on. */
static void test_cancel_from_completion_callback(void **state) {
  (void)state;
  fixture f;
  setup(&f);
  one quick = {0}, slow = {0};
  quick.victim = &slow;
  quick.client = f.c;
  submit(&f, "/delay/20000", &slow);
  submit(&f, "/json", &quick);
  run_until(&f, &quick.calls);
  assert_int_equal(quick.err, FLURRY_OK);
  assert_int_equal(quick.inner_rc, FLURRY_OK);
  assert_int_equal(quick.pending_in_cb, 0);
  assert_int_equal(slow.calls, 1);
  assert_int_equal(slow.err, FLURRY_ECANCELLED);
  teardown(&f);
}

/* From inside its own record callback (libcurl is on the stack): deferred
 * to the next turn, no record delivered after the cancel. */
static void test_cancel_from_record_callback(void **state) {
  (void)state;
  fixture f;
  setup(&f);
  one s = {0};
  s.cancel_at = 3;
  submit(&f, "/lines?n=1000000", &s);
  assert_int_equal(flurry_client_run(f.c), FLURRY_OK);
  assert_int_equal(s.inner_rc, FLURRY_OK);
  assert_int_equal(s.calls, 1);
  assert_int_equal(s.err, FLURRY_ECANCELLED);
  assert_int_equal(s.records, 3);
  teardown(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cancel_rejects),
      cmocka_unit_test(test_cancel_queued_and_running),
      cmocka_unit_test(test_cancel_waiting_retry),
      cmocka_unit_test(test_cancel_from_completion_callback),
      cmocka_unit_test(test_cancel_from_record_callback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
