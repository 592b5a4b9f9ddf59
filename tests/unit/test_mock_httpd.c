/* test_mock_httpd.c: the libmicrohttpd glue on a real libuv loop.
 *
 * The server runs on the test's loop; a client thread makes blocking
 * libcurl requests against it, then wakes the loop (uv_async) to close the
 * server. Callbacks are counted through user data and the counts asserted
 * after the loop; every test ends with uv_loop_close() == 0. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "fl.h"
#include "httpd.h"


#define STREAM_SIZE 100000u
#define DRIP "abc"    /* /drip: one byte per 20 ms tick */
#define CUT_BYTES 10u /* /cut: bytes sent before the reset */

typedef struct result {
  long status;
  CURLcode rc;
  char body[256];
  size_t len;
  char header[64]; /* value of X-Test */
} result;

typedef struct fixture {
  uv_loop_t loop;
  uv_async_t done;
  httpd_server *h;
  uint16_t port;
  pthread_t client;
  /* counts */
  int requests, abandoned, closed, stream_freed;
  /* deferred reply (or reset) */
  uv_timer_t later_timer;
  httpd_req *later_req;
  /* paused stream woken by a timer */
  uv_timer_t drip_timer;
  httpd_stream *drip;
  size_t drip_ready, drip_ticks;
  /* client results, by index */
  result res[8];
} fixture;

/* ---- server side --------------------------------------------------------- */

static void later_reset(uv_timer_t *t) {
  fixture *f = t->data;
  assert_int_equal(httpd_drop(f->later_req, HTTPD_RESET), 0);
  f->later_req = NULL;
  uv_close((uv_handle_t *)t, NULL);
}

static ssize_t drip_read(void *cls, uint64_t pos, char *buf, size_t max) {
  fixture *f = cls;
  (void)max;
  if (f->drip_ready == 0)
    return HTTPD_STREAM_PAUSE;
  f->drip_ready--;
  buf[0] = DRIP[pos];
  return 1;
}

static void drip_tick(uv_timer_t *t) {
  fixture *f = t->data;
  f->drip_ready++;
  if (++f->drip_ticks == sizeof DRIP - 1)
    uv_timer_stop(t);
  httpd_stream_wake(f->drip);
}

static void drip_free(void *cls) {
  fixture *f = cls;
  f->stream_freed++;
  uv_close((uv_handle_t *)&f->drip_timer, NULL);
}

static ssize_t cut_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)cls;
  if (pos >= CUT_BYTES)
    return HTTPD_STREAM_RESET;
  size_t n = CUT_BYTES - pos < max ? CUT_BYTES - (size_t)pos : max;
  memset(buf, 'c', n);
  return (ssize_t)n;
}

static ssize_t stall_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)cls;
  (void)pos;
  (void)buf;
  (void)max;
  return HTTPD_STREAM_PAUSE; /* for ever: aborted at close */
}

static void later_fire(uv_timer_t *t) {
  fixture *f = t->data;
  httpd_reply(f->later_req, 202, "text/plain", "later", 5, HTTPD_COPY);
  f->later_req = NULL;
  uv_close((uv_handle_t *)t, NULL);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)cls;
  size_t n = STREAM_SIZE - pos < max ? (size_t)(STREAM_SIZE - pos) : max;
  memset(buf, 'x', n);
  return (ssize_t)n;
}

static void stream_free(void *cls) { ((fixture *)cls)->stream_freed++; }

static void reply_body_info(httpd_req *req) {
  char out[128];
  size_t len = 0;
  const char *q = httpd_req_query(req, "q");
  const char *in = httpd_req_header(req, "x-in");
  httpd_req_body(req, &len);
  int n = snprintf(out, sizeof out, "%s %zu %s %s", httpd_req_method(req), len, q ? q : "-",
                   in ? in : "-");
  httpd_reply(req, 200, "text/plain", out, (size_t)n, HTTPD_COPY);
}

/* Defers req; fire answers it (or drops it) 50 ms later. */
static void answer_later(fixture *f, httpd_req *req, uv_timer_cb fire) {
  f->later_req = req;
  httpd_defer(req);
  uv_timer_init(&f->loop, &f->later_timer);
  f->later_timer.data = f;
  uv_timer_start(&f->later_timer, fire, 50, 0);
}

static void on_request(httpd_req *req, void *user) {
  fixture *f = user;
  const char *path = httpd_req_path(req);
  f->requests++;
  if (strcmp(path, "/now") == 0) {
    httpd_header(req, "X-Test", "yes");
    httpd_reply(req, 200, "text/plain", "now", 3, HTTPD_STATIC);
  } else if (strcmp(path, "/take") == 0) {
    httpd_reply(req, 200, NULL, fl_strdup("taken"), 5, HTTPD_TAKE);
  } else if (strcmp(path, "/later") == 0) {
    answer_later(f, req, later_fire);
  } else if (strcmp(path, "/hang") == 0) {
    httpd_req_set_data(req, f);
    httpd_defer(req); /* never answered: abandoned at close */
  } else if (strcmp(path, "/body") == 0) {
    reply_body_info(req);
  } else if (strcmp(path, "/stream") == 0) {
    httpd_reply_stream(req, 200, "application/octet-stream", STREAM_SIZE, stream_read, f,
                       stream_free, NULL);
  } else if (strcmp(path, "/drop-close") == 0) {
    assert_int_equal(httpd_drop(req, HTTPD_CLOSE), 0);
    assert_int_equal(httpd_drop(req, HTTPD_CLOSE), -1);
  } else if (strcmp(path, "/drop-reset") == 0) {
    httpd_drop(req, HTTPD_RESET);
  } else if (strcmp(path, "/later-reset") == 0) {
    answer_later(f, req, later_reset);
  } else if (strcmp(path, "/drip") == 0) {
    uv_timer_init(&f->loop, &f->drip_timer);
    f->drip_timer.data = f;
    assert_int_equal(httpd_reply_stream(req, 200, "text/plain", sizeof DRIP - 1, drip_read, f,
                                        drip_free, &f->drip),
                     0);
    uv_timer_start(&f->drip_timer, drip_tick, 20, 20);
  } else if (strcmp(path, "/cut") == 0) {
    httpd_reply_stream(req, 200, NULL, 2 * CUT_BYTES, cut_read, f, stream_free, NULL);
  } else if (strcmp(path, "/stall") == 0) {
    httpd_reply_stream(req, 200, NULL, 1, stall_read, f, stream_free, NULL);
  } /* anything else: no reply, the glue answers 500 */
}

static void on_abandon(httpd_req *req, void *user) {
  fixture *f = user;
  assert_ptr_equal(httpd_req_data(req), f);
  f->abandoned++;
}

static void on_closed(void *arg) { ((fixture *)arg)->closed++; }

static void on_done(uv_async_t *a) {
  fixture *f = a->data;
  httpd_close(f->h, on_closed, f);
  uv_close((uv_handle_t *)a, NULL);
}

/* ---- client side --------------------------------------------------------- */

static size_t collect(char *p, size_t size, size_t n, void *user) {
  result *r = user;
  size_t len = size * n;
  size_t room = sizeof r->body - 1 - r->len;
  memcpy(r->body + r->len, p, len < room ? len : room);
  r->len += len < room ? len : room;
  return len;
}

static size_t header_line(char *p, size_t size, size_t n, void *user) {
  result *r = user;
  size_t len = size * n;
  if (len > 8 && strncasecmp(p, "X-Test: ", 8) == 0)
    snprintf(r->header, sizeof r->header, "%.*s", (int)(len - 10), p + 8);
  return len;
}

static void fetch(fixture *f, result *r, const char *path, const char *post, size_t post_len,
                  long timeout_ms) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)f->port, path);
  CURL *c = curl_easy_init();
  struct curl_slist *hs = curl_slist_append(NULL, "X-In: hello");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_line);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  if (post) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)post_len);
  }
  r->rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_slist_free_all(hs);
  curl_easy_cleanup(c);
}

/* Requests ended without an answer, streams paused, cut or stalled. */
static void *client_faults(void *arg) {
  fixture *f = arg;
  fetch(f, &f->res[0], "/drop-close", NULL, 0, 5000);
  fetch(f, &f->res[1], "/drop-reset", NULL, 0, 5000);
  fetch(f, &f->res[2], "/later-reset", NULL, 0, 5000);
  fetch(f, &f->res[3], "/drip", NULL, 0, 5000);
  fetch(f, &f->res[4], "/cut", NULL, 0, 5000);
  fetch(f, &f->res[5], "/stall", NULL, 0, 300);
  uv_async_send(&f->done);
  return NULL;
}

static void *client_main(void *arg) {
  fixture *f = arg;
  static char big[2048];
  memset(big, 'b', sizeof big);
  fetch(f, &f->res[0], "/now", NULL, 0, 5000);
  fetch(f, &f->res[1], "/take", NULL, 0, 5000);
  fetch(f, &f->res[2], "/later", NULL, 0, 5000);
  fetch(f, &f->res[3], "/nothing", NULL, 0, 5000);
  fetch(f, &f->res[4], "/body?q=a%20b", big, 1024, 5000);
  fetch(f, &f->res[5], "/body", big, sizeof big, 5000); /* over 1 KiB */
  fetch(f, &f->res[6], "/stream", NULL, 0, 5000);
  fetch(f, &f->res[7], "/hang", NULL, 0, 300);
  uv_async_send(&f->done);
  return NULL;
}

/* ---- tests --------------------------------------------------------------- */

static void start(fixture *f, size_t max_body) {
  char err[256];
  httpd_opts o;
  memset(f, 0, sizeof *f);
  memset(&o, 0, sizeof o);
  o.max_body = max_body;
  o.on_request = on_request;
  o.on_abandon = on_abandon;
  o.user = f;
  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(httpd_new(&f->h, &f->loop, &o, err, sizeof err), 0);
  f->port = httpd_port(f->h);
  assert_true(f->port > 0);
}

/* Runs the server on the loop while client(f) makes its requests; the
 * client's last act closes the server. Returns with the loop closed. */
static void serve(fixture *f, size_t max_body, void *(*client)(void *)) {
  start(f, max_body);
  uv_async_init(&f->loop, &f->done, on_done);
  f->done.data = f;
  assert_int_equal(pthread_create(&f->client, NULL, client, f), 0);
  assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
  pthread_join(f->client, NULL);
  assert_int_equal(uv_loop_close(&f->loop), 0);
}

static void test_mock_httpd_replies_defers_and_closes(void **state) {
  (void)state;
  fixture f;
  serve(&f, 1024, client_main);

  assert_int_equal(f.res[0].status, 200);
  assert_string_equal(f.res[0].body, "now");
  assert_string_equal(f.res[0].header, "yes");
  assert_string_equal(f.res[1].body, "taken");
  assert_int_equal(f.res[2].status, 202);
  assert_string_equal(f.res[2].body, "later");
  assert_int_equal(f.res[3].status, 500);
  assert_int_equal(f.res[4].status, 200);
  assert_string_equal(f.res[4].body, "POST 1024 a b hello");
  assert_int_equal(f.res[5].status, 413);
  assert_int_equal(f.res[6].status, 200);
  assert_int_equal(f.res[6].len, sizeof f.res[6].body - 1); /* truncated copy */
  assert_int_equal(f.res[7].rc, CURLE_OPERATION_TIMEDOUT);
  assert_int_equal(f.requests, 7); /* the 413 never reached the handler */
  assert_int_equal(f.abandoned, 1);
  assert_int_equal(f.closed, 1);
  assert_int_equal(f.stream_freed, 1);
}

static void test_mock_httpd_drops_and_streams(void **state) {
  (void)state;
  fixture f;
  serve(&f, 0, client_faults);

  assert_int_equal(f.res[0].rc, CURLE_GOT_NOTHING); /* FIN, no status line */
  assert_int_equal(f.res[1].rc, CURLE_RECV_ERROR);  /* RST */
  assert_int_equal(f.res[2].rc, CURLE_RECV_ERROR);  /* RST, after a defer */
  assert_int_equal(f.res[3].rc, CURLE_OK);
  assert_string_equal(f.res[3].body, DRIP);
  assert_int_equal(f.drip_ticks, sizeof DRIP - 1);
  assert_int_equal(f.res[4].rc, CURLE_RECV_ERROR);
  assert_int_equal(f.res[4].status, 200);
  assert_int_equal(f.res[4].len, CUT_BYTES);
  assert_int_equal(f.res[5].rc, CURLE_OPERATION_TIMEDOUT);
  assert_int_equal(f.requests, 6);
  assert_int_equal(f.abandoned, 0);
  assert_int_equal(f.stream_freed, 3); /* drip, cut, and stall at close */
  assert_int_equal(f.closed, 1);
}

static void test_mock_httpd_port_in_use_fails_cleanly(void **state) {
  (void)state;
  fixture f;
  char err[256] = "";
  start(&f, 0);
  httpd_server *second = (httpd_server *)&f; /* must stay untouched */
  httpd_opts o;
  memset(&o, 0, sizeof o);
  o.port = f.port;
  o.on_request = on_request;
  assert_int_equal(httpd_new(&second, &f.loop, &o, err, sizeof err), -1);
  assert_ptr_equal(second, (httpd_server *)&f);
  assert_non_null(strstr(err, "cannot listen"));
  httpd_close(f.h, on_closed, &f);
  assert_int_equal(uv_run(&f.loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(f.closed, 1);
  assert_int_equal(uv_loop_close(&f.loop), 0);
}

static void test_mock_httpd_bad_host_fails(void **state) {
  (void)state;
  uv_loop_t loop;
  httpd_server *h = NULL;
  char err[256] = "";
  httpd_opts o;
  memset(&o, 0, sizeof o);
  o.host = "300.1.2.3";
  o.on_request = on_request;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(httpd_new(&h, &loop, &o, err, sizeof err), -1);
  assert_null(h);
  assert_non_null(strstr(err, "300.1.2.3"));
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mock_httpd_replies_defers_and_closes),
      cmocka_unit_test(test_mock_httpd_drops_and_streams),
      cmocka_unit_test(test_mock_httpd_port_in_use_fails_cleanly),
      cmocka_unit_test(test_mock_httpd_bad_host_fails),
  };
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
