/* test_curl_uv.c: the libcurl/libuv glue when libcurl closes a socket
 * without CURLOPT_CLOSESOCKETFUNCTION. libcurl 7.88.0 to 8.2.0 close a
 * socket that never connected (a connect timeout, a transfer removed while
 * connecting) with a plain close() and only then say CURL_POLL_REMOVE
 * (curl pull request 11439). The glue must drop the poll handle of that
 * descriptor: a handle kept for it made libuv's next epoll_ctl fail on the
 * closed descriptor, and libuv abort()s inside uv_run.
 *
 * The connects stall on a listener whose accept queue is full (backlog 0,
 * one connection queued, never accepted): the kernel drops the SYNs, so
 * every connect waits until the client gives up, on loopback only. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

/* A listener on 127.0.0.1 whose accept queue is full; fds[0] the
 * listener, fds[1] the connection that fills the queue. */
static int stalled_listener(int fds[2]) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  fds[0] = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fds[0] >= 0);
  assert_int_equal(bind(fds[0], (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fds[0], 0), 0);
  assert_int_equal(getsockname(fds[0], (struct sockaddr *)&a, &len), 0);
  fds[1] = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fds[1] >= 0);
  assert_int_equal(connect(fds[1], (struct sockaddr *)&a, sizeof a), 0);
  return ntohs(a.sin_port);
}

typedef struct outcome {
  int calls, err, attempts;
  char detail[32];
} outcome;

static void on_done(flurry_request *req, flurry_response *resp, void *ud) {
  outcome *o = ud;
  (void)req;
  o->calls++;
  o->err = flurry_response_error(resp);
  o->attempts = flurry_response_attempts(resp);
  snprintf(o->detail, sizeof o->detail, "%s", flurry_response_error_detail(resp));
  flurry_response_free(resp);
}

static flurry_client *client_on(uv_loop_t *loop) {
  flurry_client *c = NULL;
  assert_int_equal(uv_loop_init(loop), 0);
  assert_int_equal(flurry_client_new(&c, loop), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_CONNECT_TIMEOUT_MS, 100), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_TIMEOUT_MS, 5000), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_BREAKER_THRESHOLD, 0), FLURRY_OK);
  return c;
}

static void submit_to(flurry_client *c, int port, outcome *o) {
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
  flurry_request *req = NULL;
  assert_int_equal(flurry_request_new(&req, "GET", url), FLURRY_OK);
  assert_int_equal(flurry_client_submit(c, req, on_done, o), FLURRY_OK);
}

/* Poll handles the glue still holds. */
static size_t socks_held(const flurry_client *c) {
  size_t n = 0;
  for (size_t fd = 0; fd < c->fdmap_cap; fd++)
    n += c->fdmap[fd] != NULL;
  return n;
}

static void finish(flurry_client *c, uv_loop_t *loop, int fds[2]) {
  flurry_client_free(c);
  uv_run(loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(loop), 0);
  close(fds[1]);
  close(fds[0]);
}

/* Three attempts, each ended by the connect timeout: the socket of each is
 * closed by libcurl alone, and the next one may reuse its number. */
static void test_curl_uv_connect_timeouts_leave_no_handle(void **state) {
  (void)state;
  int fds[2];
  int port = stalled_listener(fds);
  uv_loop_t loop;
  flurry_client *c = client_on(&loop);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_ATTEMPTS, 3), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_RETRY_BASE_MS, 1), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_RETRY_CAP_MS, 5), FLURRY_OK);
  outcome o = {0};
  submit_to(c, port, &o);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.err, FLURRY_ETIMEOUT);
  assert_string_equal(o.detail, "connect_timeout");
  assert_int_equal(o.attempts, 3);
  assert_int_equal(socks_held(c), 0); /* no handle for a closed socket */
  finish(c, &loop, fds);
}

typedef struct canceller {
  uv_timer_t timer;
  flurry_client *c;
  size_t held_before;
} canceller;

static void on_cancel(uv_timer_t *t) {
  canceller *k = t->data;
  k->held_before = socks_held(k->c); /* the connecting socket's */
  assert_int_equal(flurry_client_cancel_all(k->c), FLURRY_OK);
  uv_close((uv_handle_t *)t, NULL);
}

/* A transfer cancelled while it connects: libcurl closes the socket alone
 * when the transfer is removed, and the loop goes on. */
static void test_curl_uv_cancel_while_connecting(void **state) {
  (void)state;
  int fds[2];
  int port = stalled_listener(fds);
  uv_loop_t loop;
  flurry_client *c = client_on(&loop);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_CONNECT_TIMEOUT_MS, 4000), FLURRY_OK);
  outcome o = {0};
  submit_to(c, port, &o);
  canceller k = {.c = c};
  assert_int_equal(uv_timer_init(&loop, &k.timer), 0);
  k.timer.data = &k;
  assert_int_equal(uv_timer_start(&k.timer, on_cancel, 50, 0), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.err, FLURRY_ECANCELLED);
  assert_int_equal(k.held_before, 1);
  assert_int_equal(socks_held(c), 0);
  finish(c, &loop, fds);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_curl_uv_connect_timeouts_leave_no_handle),
      cmocka_unit_test(test_curl_uv_cancel_while_connecting),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
