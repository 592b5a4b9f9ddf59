/* test_pause.c: flurry_request_pause against flurry mock on the test's
 * own loop. The mock writes from the same loop, so without the pause every
 * loop turn would bring more records; with it, none arrive while paused
 * (counted over loop turns, not time), and a resume delivers the rest. */
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

#define LINES 200000

typedef struct pcase {
  flurry_request *req;
  uint64_t records;
  uint64_t at_pause;  /* records when the pause took effect */
  uint64_t at_resume; /* records when resumed */
  int pause_rc, resume_rc;
  int done, err;
  int done_before_resume;
  int ticks;
  flurry_stream_info info;
} pcase;

static int on_record(flurry_request *req, const flurry_stream_record *rec, void *ud) {
  pcase *p = ud;
  (void)rec;
  p->records++;
  if (p->records == 10)
    p->pause_rc = flurry_request_pause(req, 1);
  return 0;
}

static void on_done(flurry_request *req, flurry_response *resp, void *ud) {
  pcase *p = ud;
  (void)req;
  p->done++;
  p->err = flurry_response_error(resp);
  flurry_response_stream(resp, &p->info);
  p->req = NULL;
  flurry_response_free(resp);
}

/* Every loop turn: tick 1 notes the count (the chunk being framed when the
 * pause came is delivered by then); tick 50 resumes. */
static void on_tick(uv_timer_t *t) {
  pcase *p = t->data;
  p->ticks++;
  if (p->ticks == 1)
    p->at_pause = p->records;
  if (p->ticks == 50) {
    p->at_resume = p->records;
    p->done_before_resume = p->done;
    p->resume_rc = flurry_request_pause(p->req, 0);
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, NULL);
  }
}

static void on_closed(void *arg) { (*(int *)arg)++; }

static void test_pause_stops_reading_and_resumes(void **state) {
  (void)state;
  uv_loop_t loop;
  mock_server mock;
  httpd_server *h;
  unsigned port;
  flurry_client *c;
  assert_int_equal(uv_loop_init(&loop), 0);
  mock_inproc_start(&loop, &mock, &h, &port, 1);
  assert_int_equal(flurry_client_new(&c, &loop), FLURRY_OK);
  pcase p;
  memset(&p, 0, sizeof p);
  p.pause_rc = p.resume_rc = -1;
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/lines?n=%d", port, LINES);
  assert_int_equal(flurry_request_new(&p.req, "GET", url), FLURRY_OK);
  assert_int_equal(flurry_request_pause(p.req, 1), FLURRY_EINVALID); /* not running */
  assert_int_equal(flurry_request_set_stream(p.req, FLURRY_STREAM_LINES, on_record, &p), FLURRY_OK);
  assert_int_equal(flurry_client_submit(c, p.req, on_done, &p), FLURRY_OK);
  for (int i = 0; i < 100000 && p.records < 10; i++)
    uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(p.pause_rc, FLURRY_OK);
  uv_timer_t tick;
  assert_int_equal(uv_timer_init(&loop, &tick), 0);
  tick.data = &p;
  assert_int_equal(uv_timer_start(&tick, on_tick, 1, 1), 0);
  for (int i = 0; i < 100000 && p.ticks < 50; i++)
    uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(p.done_before_resume, 0);
  assert_true(p.at_pause < LINES);
  assert_int_equal(p.at_resume, p.at_pause); /* nothing while paused */
  assert_int_equal(p.resume_rc, FLURRY_OK);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  assert_int_equal(p.done, 1);
  assert_int_equal(p.err, FLURRY_OK);
  assert_int_equal(p.records, LINES); /* nothing lost */
  assert_int_equal(p.info.end, FLURRY_STREAM_END_EOF);
  flurry_client_free(c);
  int closed = 0;
  mock_inproc_stop(&loop, &mock, &h, 1, on_closed, &closed, &closed);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pause_stops_reading_and_resumes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
