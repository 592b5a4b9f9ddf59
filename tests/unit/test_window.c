/* test_window.c: the sliding-window limit (window.c), on a clock the test
 * drives: exact admissions and waits, and the invariant (no window of the
 * period ever holds more than N starts) over long random schedules. The
 * scheduler's use of it: tests/integration/test_window_limit.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "internal.h"

/* Starts as early as the window allows, from now on; returns the time. */
static double start_when_allowed(flurry__window *w, int64_t n, double period, double now) {
  double wait;
  while (!flurry__window_peek(w, n, period, now, &wait)) {
    assert_true(wait > 0);
    now += wait;
  }
  flurry__window_note(w, n, now);
  return now;
}

static void test_window_exact_schedule(void **state) {
  (void)state;
  flurry__window w = {0};
  double wait = -1;
  /* 3 per 100 ms: three at once, then each waits for the oldest to leave */
  for (int i = 0; i < 3; i++) {
    assert_int_equal(flurry__window_peek(&w, 3, 100, 0, &wait), 1);
    flurry__window_note(&w, 3, 0);
  }
  assert_int_equal(flurry__window_peek(&w, 3, 100, 0, &wait), 0);
  assert_true(wait == 100.0);
  assert_int_equal(flurry__window_peek(&w, 3, 100, 99.5, &wait), 0);
  assert_true(wait == 0.5);
  assert_int_equal(flurry__window_peek(&w, 3, 100, 100, &wait), 1); /* [0, 100) is over */
  flurry__window_note(&w, 3, 100);
  assert_int_equal(flurry__window_peek(&w, 3, 100, 100, &wait), 1); /* 0, 0 left */
  flurry__window_note(&w, 3, 100);
  flurry__window_note(&w, 3, 100);
  assert_int_equal(flurry__window_peek(&w, 3, 100, 150, &wait), 0);
  assert_true(wait == 50.0);
  /* no limit */
  assert_int_equal(flurry__window_peek(&w, 0, 100, 150, &wait), 1);
  flurry__window_free(&w);
  assert_null(w.t);
}

static void test_window_resize_keeps_latest(void **state) {
  (void)state;
  flurry__window w = {0};
  double wait;
  for (int i = 0; i < 5; i++) { /* 5 per second: at 0, 10, 20, 30, 40 */
    assert_int_equal(flurry__window_peek(&w, 5, 1000, i * 10.0, &wait), 1);
    flurry__window_note(&w, 5, i * 10.0);
  }
  /* down to 2: the latest two (30, 40) stay, so the next may go at 1030 */
  assert_int_equal(flurry__window_peek(&w, 2, 1000, 500, &wait), 0);
  assert_true(wait == 530.0);
  /* up to 4: the two kept, room for two more now */
  assert_int_equal(flurry__window_peek(&w, 4, 1000, 500, &wait), 1);
  flurry__window_note(&w, 4, 500);
  assert_int_equal(flurry__window_peek(&w, 4, 1000, 500, &wait), 1);
  flurry__window_note(&w, 4, 500);
  assert_int_equal(flurry__window_peek(&w, 4, 1000, 500, &wait), 0);
  assert_true(wait == 530.0);
  flurry__window_free(&w);
}

/* Random demands (bursts and gaps), each start as early as allowed: in the
 * sorted start times t, t[i + n] >= t[i] + period for every i (so no
 * window [x, x + period) holds n + 1 of them), and every start was as early
 * as that rule lets it be. */
static void test_window_never_exceeded(void **state) {
  (void)state;
  srand(11);
  const int64_t limits[] = {1, 2, 3, 7, 50};
  const double periods[] = {1, 100, 250.5, 3600000};
  for (size_t li = 0; li < 5; li++)
    for (size_t pi = 0; pi < 4; pi++) {
      int64_t n = limits[li];
      double period = periods[pi], now = 0, t[600];
      flurry__window w = {0};
      for (int i = 0; i < 600; i++) {
        now += (rand() % 4 == 0) ? (double)(rand() % 1000) / 7.0 : 0; /* bursts */
        t[i] = start_when_allowed(&w, n, period, now);
        now = t[i];
      }
      for (int i = 0; i + n < 600; i++)
        if (t[i + n] < t[i] + period)
          fail_msg("n %lld period %g: starts %d and %lld only %g ms apart", (long long)n, period, i,
                   (long long)(i + n), t[i + n] - t[i]);
      for (int i = (int)n; i < 600; i++) /* as early as allowed: no slack */
        assert_true(t[i] == t[i - 1] || t[i] == t[i - n] + period || t[i] > t[i - n] + period);
      flurry__window_free(&w);
    }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_window_exact_schedule),
      cmocka_unit_test(test_window_resize_keeps_latest),
      cmocka_unit_test(test_window_never_exceeded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
