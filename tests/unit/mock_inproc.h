/* mock_inproc.h: `flurry mock` in the test's own process, on the test's
 * loop: n servers on loopback ports sharing one mock's state (its keyed
 * tables). Include after cmocka.h and mock_int.h. */
#ifndef FLURRY_TEST_MOCK_INPROC_H
#define FLURRY_TEST_MOCK_INPROC_H

#include <string.h>

static inline void mock_inproc_start(uv_loop_t *loop, mock_server *mock, httpd_server **h,
                                     unsigned *port, int n) {
  assert_int_equal(mock_init(mock, loop), 0);
  for (int i = 0; i < n; i++) {
    httpd_opts o;
    char err[256];
    memset(&o, 0, sizeof o);
    o.on_request = mock_on_request;
    o.on_abandon = mock_on_abandon;
    o.user = mock;
    assert_int_equal(httpd_new(&h[i], loop, &o, err, sizeof err), 0);
    port[i] = httpd_port(h[i]);
  }
}

/* Closes the servers, runs the loop until every handle closed (*closed
 * counts them: closed_cb adds one), frees the mock and closes the loop. */
static inline void mock_inproc_stop(uv_loop_t *loop, mock_server *mock, httpd_server **h, int n,
                                    void (*closed_cb)(void *), void *arg, const int *closed) {
  for (int i = 0; i < n; i++)
    httpd_close(h[i], closed_cb, arg);
  uv_run(loop, UV_RUN_DEFAULT);
  assert_int_equal(*closed, n);
  mock_free(mock);
  assert_int_equal(uv_loop_close(loop), 0);
}

#endif
