/* test_client.c: the client on a real libuv loop, with no external server:
 * refused connections (127.0.0.1:1), a socket that listens but never
 * accepts (the kernel completes the handshake, no answer ever comes), and a
 * tiny scripted HTTP responder on the test's own loop.
 *
 * Every test that uses a loop ends with uv_loop_close() == 0. Callbacks are
 * counted through their user data and the counts asserted after the loop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

#define REFUSED_URL "http://127.0.0.1:1/"

/* ---- callback bookkeeping ---- */

typedef struct tally {
  flurry_client *client;
  int calls;
  int in_submit;        /* set around flurry_client_submit() */
  int called_in_submit; /* a callback ran while in_submit was set */
  int by_err[FLURRY_ERR_COUNT];
  int last_err, last_attempts, last_status;
  double last_elapsed_ms;
  char last_url[256];
  char last_body[512];
  char last_msg[512];
  char last_detail[64];
  int log_kept;      /* attempts flurry_response_attempt returns */
  int log_no_status; /* ... of which say no status */
  /* optional behaviour inside the callback */
  int resubmit;        /* submit one more request from the callback */
  int inner_submit_rc; /* what that submit returned */
  int inner_run_rc;    /* flurry_client_run() from the callback */
  int inner_cancel_rc; /* flurry_client_cancel_all() from the callback */
  int inner_gather_rc; /* flurry_gather() from the callback */
} tally;

static void tally_init(tally *t, flurry_client *c) {
  memset(t, 0, sizeof *t);
  t->client = c;
  t->last_err = -1;
  t->inner_submit_rc = t->inner_run_rc = t->inner_cancel_rc = t->inner_gather_rc = -1;
}

static void on_done(flurry_request *req, flurry_response *resp, void *ud);

/* Builds and submits method url with `t` as user data. On failure the
 * request is still the caller's: it is freed here. */
static int submit(flurry_client *c, const char *method, const char *url, tally *t) {
  flurry_request *req = NULL;
  int rc = flurry_request_new(&req, method, url);
  if (rc != FLURRY_OK)
    return rc;
  t->in_submit = 1;
  rc = flurry_client_submit(c, req, on_done, t);
  t->in_submit = 0;
  if (rc != FLURRY_OK)
    flurry_request_free(req);
  return rc;
}

static void on_done(flurry_request *req, flurry_response *resp, void *ud) {
  tally *t = ud;
  assert_non_null(req);
  assert_non_null(resp);
  t->calls++;
  if (t->in_submit)
    t->called_in_submit++;
  int err = flurry_response_error(resp);
  if (err >= 0 && err < FLURRY_ERR_COUNT)
    t->by_err[err]++;
  t->last_err = err;
  t->last_attempts = flurry_response_attempts(resp);
  t->last_status = flurry_response_status(resp);
  t->log_kept = t->log_no_status = 0;
  for (int i = 0; i < t->last_attempts; i++) {
    flurry_attempt a;
    if (flurry_response_attempt(resp, (size_t)i, &a) == FLURRY_OK) {
      t->log_kept++;
      t->log_no_status += a.status == 0;
    }
  }
  flurry_timings tm;
  flurry_response_timings(resp, &tm);
  t->last_elapsed_ms = tm.elapsed_ms;
  snprintf(t->last_url, sizeof t->last_url, "%s", flurry_response_effective_url(resp));
  snprintf(t->last_msg, sizeof t->last_msg, "%s", flurry_response_error_message(resp));
  snprintf(t->last_detail, sizeof t->last_detail, "%s", flurry_response_error_detail(resp));
  size_t len;
  const char *body = flurry_response_body(resp, &len);
  snprintf(t->last_body, sizeof t->last_body, "%.*s", (int)len, body);
  flurry_response_free(resp);
  if (t->resubmit > 0) {
    t->resubmit--;
    t->inner_submit_rc = submit(t->client, "GET", REFUSED_URL, t);
  }
  if (t->inner_run_rc == -2)
    t->inner_run_rc = flurry_client_run(t->client);
  if (t->inner_cancel_rc == -2)
    t->inner_cancel_rc = flurry_client_cancel_all(t->client);
  if (t->inner_gather_rc == -2) {
    flurry_request *r = NULL;
    flurry_response *out = (flurry_response *)(uintptr_t)1;
    assert_int_equal(flurry_request_new(&r, "GET", REFUSED_URL), FLURRY_OK);
    t->inner_gather_rc = flurry_gather(t->client, &r, 1, &out); /* frees r */
    assert_null(out);
  }
}

/* ---- loops ---- */

static void print_handle(uv_handle_t *h, void *arg) {
  (void)arg;
  fprintf(stderr, "  open handle: %s%s\n", uv_handle_type_name(uv_handle_get_type(h)),
          uv_is_closing(h) ? " (closing)" : "");
}

/* Runs the loop until nothing is left and checks it closes cleanly. */
static void loop_finish(uv_loop_t *loop) {
  uv_run(loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(loop);
  if (rc != 0) {
    uv_walk(loop, print_handle, NULL);
    fail_msg("uv_loop_close: %s", uv_strerror(rc));
  }
}

static flurry_client *client_on(uv_loop_t *loop) {
  flurry_client *c = NULL;
  assert_int_equal(flurry_client_new(&c, loop), FLURRY_OK);
  assert_non_null(c);
  /* Nothing may hang: short connect timeout, bounded total. */
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_CONNECT_TIMEOUT_MS, 2000), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_TIMEOUT_MS, 10000), FLURRY_OK);
  /* Many tests hit the refused port on purpose: no circuit breaker there. */
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_BREAKER_THRESHOLD, 0), FLURRY_OK);
  return c;
}

/* A socket that listens on 127.0.0.1:<port> and never accepts. */
static int silent_listener(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fd, 128), 0);
  socklen_t len = sizeof a;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

/* ---- a tiny scripted HTTP responder on the test's loop ----
 * Each connection reads one request (head and Content-Length body), answers
 * with the next scripted reply (the last one repeats) and closes. */

typedef struct responder {
  uv_tcp_t tcp;
  int port;
  const char *const *replies;
  size_t nreplies;
  int requests;             /* requests read */
  int open;                 /* connections not yet closed, the listener included */
  char last[4096];          /* the last request, as received */
  double first_ms, last_ms; /* when the first and the last request arrived */
} responder;

/* The responder allocates with malloc, never through fl_: the allocation
 * seam then only hits the library. */
typedef struct inbuf {
  char data[16384];
  size_t len;
} inbuf;

typedef struct rconn {
  uv_tcp_t tcp;
  responder *r;
  inbuf in;
  uv_write_t w;
  int answered;
} rconn;

static void rconn_closed(uv_handle_t *h) {
  rconn *k = h->data;
  k->r->open--;
  free(k);
}

static void r_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)h;
  (void)hint;
  buf->base = malloc(4096);
  buf->len = buf->base ? 4096 : 0;
}

static void r_written(uv_write_t *w, int status) {
  (void)status;
  rconn *k = w->data;
  uv_close((uv_handle_t *)&k->tcp, rconn_closed);
}

/* 1 once the buffer holds a whole request. */
static int request_complete(const inbuf *in) {
  const char *end = strstr(in->data, "\r\n\r\n");
  if (end == NULL)
    return 0;
  size_t head = (size_t)(end + 4 - in->data);
  size_t body = 0;
  for (const char *p = in->data; p < end; p++) {
    if (fl_strncaseeq(p, "\r\ncontent-length:", 17)) {
      body = (size_t)strtoul(p + 17, NULL, 10);
      break;
    }
  }
  return in->len >= head + body;
}

static void r_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  rconn *k = s->data;
  if (n > 0 && !k->answered) {
    assert_true((size_t)n < sizeof k->in.data - k->in.len);
    memcpy(k->in.data + k->in.len, buf->base, (size_t)n);
    k->in.len += (size_t)n;
    k->in.data[k->in.len] = '\0';
  }
  free(buf->base);
  if (n < 0) {
    if (!uv_is_closing((uv_handle_t *)&k->tcp) && !k->answered)
      uv_close((uv_handle_t *)&k->tcp, rconn_closed);
    return;
  }
  if (k->answered || !request_complete(&k->in))
    return;
  responder *r = k->r;
  k->answered = 1;
  snprintf(r->last, sizeof r->last, "%.*s", (int)(sizeof r->last - 1), k->in.data);
  r->last_ms = fl_now_ms();
  if (r->requests++ == 0)
    r->first_ms = r->last_ms;
  size_t i = (size_t)r->requests - 1;
  const char *reply = r->replies[i < r->nreplies ? i : r->nreplies - 1];
  uv_read_stop(s);
  uv_buf_t out = uv_buf_init((char *)reply, (unsigned)strlen(reply));
  k->w.data = k;
  assert_int_equal(uv_write(&k->w, s, &out, 1, r_written), 0);
}

static void r_connection(uv_stream_t *server, int status) {
  responder *r = server->data;
  assert_int_equal(status, 0);
  rconn *k = calloc(1, sizeof *k);
  assert_non_null(k);
  k->r = r;
  k->tcp.data = k;
  assert_int_equal(uv_tcp_init(server->loop, &k->tcp), 0);
  r->open++;
  assert_int_equal(uv_accept(server, (uv_stream_t *)&k->tcp), 0);
  assert_int_equal(uv_read_start((uv_stream_t *)&k->tcp, r_alloc, r_read), 0);
}

static void responder_start(responder *r, uv_loop_t *loop, const char *const *replies, size_t n) {
  memset(r, 0, sizeof *r);
  r->replies = replies;
  r->nreplies = n;
  assert_int_equal(uv_tcp_init(loop, &r->tcp), 0);
  r->tcp.data = r;
  r->open = 1;
  struct sockaddr_in a;
  assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &a), 0);
  assert_int_equal(uv_tcp_bind(&r->tcp, (struct sockaddr *)&a, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&r->tcp, 128, r_connection), 0);
  int len = sizeof a;
  assert_int_equal(uv_tcp_getsockname(&r->tcp, (struct sockaddr *)&a, &len), 0);
  r->port = ntohs(a.sin_port);
}

static void responder_closed(uv_handle_t *h) {
  responder *r = h->data;
  r->open--;
}

static void responder_stop(responder *r) { uv_close((uv_handle_t *)&r->tcp, responder_closed); }

static void url_on(char *buf, size_t n, int port, const char *path) {
  snprintf(buf, n, "http://127.0.0.1:%d%s", port, path);
}

static const char reply_ok[] =
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\n"
    "Content-Length: 5\r\n\r\nhello";
static const char reply_503[] = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
                                "Content-Length: 4\r\n\r\nbusy";

/* ---- tests: client life ---- */

/* A loop, a responder with its replies, a client on the loop, the URL of
 * path on the responder and a tally: what most tests below start with. */
typedef struct fixture {
  uv_loop_t loop;
  responder r;
  flurry_client *c;
  char url[128];
  tally t;
} fixture;

static void fixture_start(fixture *f, const char *const *replies, size_t n, const char *path) {
  assert_int_equal(uv_loop_init(&f->loop), 0);
  responder_start(&f->r, &f->loop, replies, n);
  f->c = client_on(&f->loop);
  url_on(f->url, sizeof f->url, f->r.port, path);
  tally_init(&f->t, f->c);
}

/* Submits a GET of the fixture's URL and runs the client. */
static void fixture_get(fixture *f) {
  assert_int_equal(submit(f->c, "GET", f->url, &f->t), FLURRY_OK);
  assert_int_equal(flurry_client_run(f->c), FLURRY_OK);
}

static void fixture_end(fixture *f) {
  flurry_client_free(f->c);
  responder_stop(&f->r);
  loop_finish(&f->loop);
}

static void test_client_new_and_free_on_callers_loop(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  flurry_client *c = client_on(&loop);
  assert_ptr_equal(flurry_client_loop(c), &loop);
  assert_int_equal(flurry_client_pending(c), 0);
  flurry_client_free(c);
  loop_finish(&loop);
  flurry_client_free(NULL); /* no-op */
  assert_int_equal(flurry_client_new(NULL, NULL), FLURRY_EINVALID);
}

static void test_client_rejects_bad_settings(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  flurry_client *c = client_on(&loop);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_IN_FLIGHT, 0), FLURRY_EINVALID);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_TIMEOUT_MS, 0), FLURRY_EINVALID);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_COUNT_, 1), FLURRY_EINVALID);
  assert_int_equal(flurry_client_set(NULL, FLURRY_OPT_TIMEOUT_MS, 5), FLURRY_EINVALID);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_IN_FLIGHT, 3), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_PER_HOST, 2), FLURRY_OK);
  const char *bad_base[] = {"",        "/relative",         "example.com", "ftp://example.com/",
                            "http://", "file:///etc/passwd"};
  for (size_t i = 0; i < sizeof bad_base / sizeof bad_base[0]; i++)
    if (flurry_client_set_base_url(c, bad_base[i]) != FLURRY_EINVALID)
      fail_msg("base URL '%s' accepted", bad_base[i]);
  assert_int_equal(flurry_client_set_base_url(c, NULL), FLURRY_EINVALID);
  assert_int_equal(flurry_client_set_base_url(c, "https://api.example.com/v1/"), FLURRY_OK);
  assert_int_equal(flurry_client_add_header(c, "Bad Name", "v"), FLURRY_EINVALID);
  assert_int_equal(flurry_client_add_header(c, "X-Ok", "a\r\nX-Evil: 1"), FLURRY_EINVALID);
  assert_int_equal(flurry_client_add_header(c, "X-Ok", NULL), FLURRY_EINVALID);
  assert_int_equal(flurry_client_add_header(c, "X-Ok", ""), FLURRY_OK);
  flurry_client_free(c);
  loop_finish(&loop);
}

/* ---- tests: refused connections ---- */

static void test_client_refused_connect_is_econnect(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  flurry_client *c = client_on(&loop);
  tally t;
  tally_init(&t, c);
  assert_int_equal(submit(c, "GET", REFUSED_URL, &t), FLURRY_OK);
  assert_int_equal(flurry_client_pending(c), 1);
  assert_int_equal(t.calls, 0); /* later, from the loop */
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  assert_int_equal(flurry_client_pending(c), 0);
  assert_int_equal(t.calls, 1);
  assert_int_equal(t.called_in_submit, 0);
  assert_int_equal(t.last_err, FLURRY_ECONNECT);
  assert_int_equal(t.last_attempts, 1);
  assert_int_equal(t.last_status, 0);
  assert_string_equal(t.last_url, REFUSED_URL);
  assert_true(strlen(t.last_msg) > 0);
  assert_true(t.last_elapsed_ms >= 0);
  flurry_client_free(c);
  loop_finish(&loop);
}

static void test_client_refused_keeps_curl_code_and_errno(void **state) {
  (void)state;
  flurry_client *c = client_on(NULL);
  flurry_request *req = NULL;
  flurry_response *resp = NULL;
  assert_int_equal(flurry_request_new(&req, "GET", REFUSED_URL), FLURRY_OK);
  assert_int_equal(flurry_gather(c, &req, 1, &resp), FLURRY_OK);
  assert_non_null(resp);
  assert_int_equal(flurry_response_error(resp), FLURRY_ECONNECT);
  assert_int_equal(flurry_response_curl_code(resp), CURLE_COULDNT_CONNECT);
  assert_int_equal(flurry_response_os_errno(resp), ECONNREFUSED);
  size_t len = 99;
  assert_string_equal(flurry_response_body(resp, &len), "");
  assert_int_equal(len, 0);
  assert_int_equal(flurry_response_header_count(resp), 0);
  assert_int_equal(flurry_response_header_at(resp, 0, NULL, NULL), FLURRY_EINVALID);
  assert_null(flurry_response_header(resp, "Content-Type"));
  assert_string_equal(flurry_response_reason(resp), "");
  flurry_response_free(resp);
  flurry_client_free(c);
}

static void test_client_retries_refused_connect(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  flurry_client *c = client_on(&loop);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_ATTEMPTS, 3), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_RETRY_BASE_MS, 1), FLURRY_OK);
  tally get, post;
  tally_init(&get, c);
  tally_init(&post, c);
  assert_int_equal(submit(c, "GET", REFUSED_URL, &get), FLURRY_OK);
  /* Nothing was sent, so even a POST is retried. */
  assert_int_equal(submit(c, "POST", REFUSED_URL, &post), FLURRY_OK);
  uv_run(&loop, UV_RUN_DEFAULT); /* the caller's own uv_run drives it too */
  assert_int_equal(get.calls, 1);
  assert_int_equal(get.last_err, FLURRY_ECONNECT);
  assert_int_equal(get.last_attempts, 3);
  assert_int_equal(post.calls, 1);
  assert_int_equal(post.last_err, FLURRY_ECONNECT);
  assert_int_equal(post.last_attempts, 3);
  assert_int_equal(flurry_client_pending(c), 0);
  flurry_client_free(c);
  loop_finish(&loop);
}

static void test_client_request_overrides_attempts(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  flurry_client *c = client_on(&loop);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_ATTEMPTS, 5), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_RETRY_BASE_MS, 1), FLURRY_OK);
  tally t;
  tally_init(&t, c);
  flurry_request *req = NULL;
  assert_int_equal(flurry_request_new(&req, "GET", REFUSED_URL), FLURRY_OK);
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_MAX_ATTEMPTS, 2), FLURRY_OK);
  assert_int_equal(flurry_client_submit(c, req, on_done, &t), FLURRY_OK);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  assert_int_equal(t.calls, 1);
  assert_int_equal(t.last_attempts, 2);
  flurry_client_free(c);
  loop_finish(&loop);
}

static void test_client_circuit_breaker_opens(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  flurry_client *c = client_on(&loop);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_BREAKER_THRESHOLD, 3), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_BREAKER_COOLDOWN_MS, 60000), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_IN_FLIGHT, 1), FLURRY_OK);
  enum { N = 6 };
  tally t[N];
  for (int i = 0; i < N; i++) {
    tally_init(&t[i], c);
    assert_int_equal(submit(c, "GET", REFUSED_URL, &t[i]), FLURRY_OK);
  }
  /* Another host is not affected. */
  tally other;
  tally_init(&other, c);
  assert_int_equal(submit(c, "GET", "http://127.0.0.1:2/", &other), FLURRY_OK);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  for (int i = 0; i < N; i++) {
    assert_int_equal(t[i].calls, 1);
    assert_int_equal(t[i].last_err, FLURRY_ECONNECT);
    if (i < 3) { /* three real failures open the circuit */
      assert_int_equal(t[i].last_attempts, 1);
      assert_string_equal(t[i].last_detail, "");
    } else { /* then fail at once, without trying */
      assert_int_equal(t[i].last_attempts, 0);
      assert_string_equal(t[i].last_detail, "circuit_open");
    }
  }
  assert_int_equal(other.last_err, FLURRY_ECONNECT);
  assert_int_equal(other.last_attempts, 1);
  flurry_client_free(c);
  loop_finish(&loop);
}

typedef struct rescue {
  flurry_client *c;
  int fired;
} rescue;

static void on_rescue(uv_timer_t *t) {
  rescue *x = t->data;
  x->fired = 1;
  flurry_client_cancel_all(x->c);
}

/* Was a bug (fixed): when the request chosen as a half-open circuit's
 * probe ends without an attempt on the wire (its deadline passed while it
 * waited for a slot: flurry__start's "deadline" path, also easy_get or
 * curl_multi_add_handle failing), flurry__host_learn never runs, so
 * h->probing stays 1 and every later request to the host is parked until
 * INFINITY: flurry_client_run() never returns. */
static void test_client_breaker_probe_without_attempt_does_not_hang(void **state) {
  (void)state;
  int port;
  int fd = silent_listener(&port);
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  flurry_client *c = client_on(&loop);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_IN_FLIGHT, 1), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_BREAKER_THRESHOLD, 1), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_BREAKER_COOLDOWN_MS, 50), FLURRY_OK);
  tally a, s, b, d;
  tally_init(&a, c);
  tally_init(&s, c);
  tally_init(&b, c);
  tally_init(&d, c);
  /* a: refused, opens the circuit of 127.0.0.1:1 for 50 ms. */
  assert_int_equal(submit(c, "GET", REFUSED_URL, &a), FLURRY_OK);
  /* s: holds the only slot for 300 ms (no answer, then timeout). */
  char url[64];
  url_on(url, sizeof url, port, "/hold");
  flurry_request *req = NULL;
  assert_int_equal(flurry_request_new(&req, "GET", url), FLURRY_OK);
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_TIMEOUT_MS, 300), FLURRY_OK);
  assert_int_equal(flurry_client_submit(c, req, on_done, &s), FLURRY_OK);
  /* b: becomes the probe once the circuit is half-open, but its 100 ms
   * deadline has passed by the time it gets the slot. */
  assert_int_equal(flurry_request_new(&req, "GET", REFUSED_URL), FLURRY_OK);
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_DEADLINE_MS, 100), FLURRY_OK);
  assert_int_equal(flurry_client_submit(c, req, on_done, &b), FLURRY_OK);
  /* d: must still get an answer. */
  assert_int_equal(submit(c, "GET", REFUSED_URL, &d), FLURRY_OK);
  rescue x = {c, 0};
  uv_timer_t timer;
  assert_int_equal(uv_timer_init(&loop, &timer), 0);
  timer.data = &x;
  assert_int_equal(uv_timer_start(&timer, on_rescue, 3000, 0), 0);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  uv_close((uv_handle_t *)&timer, NULL);
  flurry_client_free(c);
  loop_finish(&loop);
  close(fd);
  assert_int_equal(a.last_err, FLURRY_ECONNECT);
  assert_int_equal(s.last_err, FLURRY_ETIMEOUT);
  assert_int_equal(b.last_err, FLURRY_ETIMEOUT);
  assert_string_equal(b.last_detail, "deadline");
  assert_string_equal(b.last_msg, "the request's deadline passed"); /* never tried */
  assert_int_equal(x.fired, 0); /* d was answered, not rescued */
  assert_int_equal(d.calls, 1);
  assert_int_equal(d.last_err, FLURRY_ECONNECT);
}

/* ---- tests: submit ---- */

static void test_client_submit_relative_url_needs_base(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  flurry_client *c = client_on(&loop);
  tally t;
  tally_init(&t, c);
  /* Refused at once: the callback never runs, the caller keeps the request. */
  flurry_request *req = NULL;
  assert_int_equal(flurry_request_new(&req, "GET", "/users/1"), FLURRY_OK);
  assert_int_equal(flurry_client_submit(c, req, on_done, &t), FLURRY_EINVALID);
  assert_string_equal(flurry_request_url(req), "/users/1"); /* still ours */
  assert_int_equal(flurry_client_pending(c), 0);
  assert_int_equal(submit(c, "GET", "users/1", &t), FLURRY_EINVALID);
  assert_int_equal(submit(c, "GET", "ftp://127.0.0.1:1/", &t), FLURRY_EINVALID);
  assert_int_equal(submit(c, "GET", "http://", &t), FLURRY_EINVALID);
  assert_int_equal(submit(c, "GET", "127.0.0.1:1/x", &t), FLURRY_EINVALID);
  /* NULL arguments. */
  assert_int_equal(flurry_client_submit(NULL, req, on_done, &t), FLURRY_EINVALID);
  assert_int_equal(flurry_client_submit(c, NULL, on_done, &t), FLURRY_EINVALID);
  assert_int_equal(flurry_client_submit(c, req, NULL, &t), FLURRY_EINVALID);
  /* With a base URL the same request is valid. */
  assert_int_equal(flurry_client_set_base_url(c, "http://127.0.0.1:1/api/"), FLURRY_OK);
  t.in_submit = 1;
  assert_int_equal(flurry_client_submit(c, req, on_done, &t), FLURRY_OK);
  t.in_submit = 0;
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(t.calls, 1);
  assert_int_equal(t.called_in_submit, 0);
  assert_int_equal(t.last_err, FLURRY_ECONNECT);
  assert_string_equal(t.last_url, "http://127.0.0.1:1/users/1");
  /* Relative to the base's path; an absolute URL ignores the base. */
  assert_int_equal(submit(c, "GET", "users/2?x=1", &t), FLURRY_OK);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(t.calls, 2);
  assert_string_equal(t.last_url, "http://127.0.0.1:1/api/users/2?x=1");
  assert_int_equal(submit(c, "GET", "http://127.0.0.1:1/other", &t), FLURRY_OK);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(t.calls, 3);
  assert_string_equal(t.last_url, "http://127.0.0.1:1/other");
  flurry_client_free(c);
  loop_finish(&loop);
}

static void test_client_query_appended_to_url(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  flurry_client *c = client_on(&loop);
  tally t;
  tally_init(&t, c);
  flurry_request *req = NULL;
  assert_int_equal(flurry_request_new(&req, "GET", REFUSED_URL "search?lang=en"), FLURRY_OK);
  assert_int_equal(flurry_request_add_query(req, "q", "a b&c"), FLURRY_OK);
  assert_int_equal(flurry_client_submit(c, req, on_done, &t), FLURRY_OK);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(t.calls, 1);
  assert_string_equal(t.last_url, REFUSED_URL "search?lang=en&q=a%20b%26c");
  flurry_client_free(c);
  loop_finish(&loop);
}

static void test_client_callback_never_runs_inside_submit(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  flurry_client *c = client_on(&loop);
  tally t;
  tally_init(&t, c);
  t.resubmit = 3; /* each callback submits the next request */
  for (int i = 0; i < 5; i++)
    assert_int_equal(submit(c, "GET", REFUSED_URL, &t), FLURRY_OK);
  assert_int_equal(t.calls, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(t.calls, 8);
  assert_int_equal(t.by_err[FLURRY_ECONNECT], 8);
  assert_int_equal(t.called_in_submit, 0);
  assert_int_equal(t.inner_submit_rc, FLURRY_OK);
  flurry_client_free(c);
  loop_finish(&loop);
}

static void test_client_reentrant_calls_refused_in_callback(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  flurry_client *c = client_on(&loop);
  tally t;
  tally_init(&t, c);
  t.inner_run_rc = t.inner_cancel_rc = t.inner_gather_rc = -2; /* try them */
  assert_int_equal(submit(c, "GET", REFUSED_URL, &t), FLURRY_OK);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(t.calls, 1);
  assert_int_equal(t.inner_run_rc, FLURRY_EINVALID);
  assert_int_equal(t.inner_cancel_rc, FLURRY_OK); /* allowed: stop on a failure */
  assert_int_equal(t.inner_gather_rc, FLURRY_EINVALID);
  flurry_client_free(c);
  loop_finish(&loop);
}

/* Fail fast: the first failure's callback cancels the rest, running and
 * queued; their callbacks run inside that call, and one of them may cancel
 * again. 3 requests hang (no answer ever comes), 1 is refused, 2 wait for
 * a slot (in-flight limit 4). */
static void test_client_cancel_all_from_completion(void **state) {
  (void)state;
  int port;
  int fd = silent_listener(&port);
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  flurry_client *c = client_on(&loop);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_IN_FLIGHT, 4), FLURRY_OK);
  char url[64];
  url_on(url, sizeof url, port, "/hang");
  tally rest, first;
  tally_init(&rest, c);
  tally_init(&first, c);
  first.inner_cancel_rc = -2; /* the failure cancels */
  rest.inner_cancel_rc = -2;  /* and the first cancelled one again, nested */
  for (int i = 0; i < 3; i++)
    assert_int_equal(submit(c, "GET", url, &rest), FLURRY_OK);
  assert_int_equal(submit(c, "GET", REFUSED_URL, &first), FLURRY_OK);
  for (int i = 0; i < 2; i++)
    assert_int_equal(submit(c, "GET", url, &rest), FLURRY_OK);
  uv_run(&loop, UV_RUN_DEFAULT); /* returns: nothing is left to wait for */
  assert_int_equal(first.calls, 1);
  assert_int_equal(first.last_err, FLURRY_ECONNECT);
  assert_int_equal(first.inner_cancel_rc, FLURRY_OK);
  assert_int_equal(rest.calls, 5);
  assert_int_equal(rest.by_err[FLURRY_ECANCELLED], 5);
  assert_int_equal(rest.inner_cancel_rc, FLURRY_OK);
  assert_int_equal(flurry_client_pending(c), 0);
  assert_int_equal(flurry__sched_check(c), 0);
  /* The client stays usable. */
  assert_int_equal(submit(c, "GET", REFUSED_URL, &rest), FLURRY_OK);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  assert_int_equal(rest.calls, 6);
  assert_int_equal(rest.last_err, FLURRY_ECONNECT);
  flurry_client_free(c);
  loop_finish(&loop);
  close(fd);
}

static void test_client_invalid_header_rejected_before_sending(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  static const char *const replies[] = {reply_ok};
  responder r;
  responder_start(&r, &loop, replies, 1);
  flurry_client *c = client_on(&loop);
  char url[128];
  url_on(url, sizeof url, r.port, "/h");
  flurry_request *req = NULL;
  assert_int_equal(flurry_request_new(&req, "GET", url), FLURRY_OK);
  assert_int_equal(flurry_request_add_header(req, "X-Evil", "1\r\nX-Injected: 1"), FLURRY_EINVALID);
  assert_int_equal(flurry_request_add_header(req, "X Evil", "1"), FLURRY_EINVALID);
  assert_int_equal(flurry_client_add_header(c, "X-Evil", "1\nX-Injected: 1"), FLURRY_EINVALID);
  /* Nothing reached the server. */
  uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(r.requests, 0);
  /* The request is still usable and goes out without the refused header. */
  assert_int_equal(flurry_request_add_header(req, "X-Good", "yes"), FLURRY_OK);
  tally t;
  tally_init(&t, c);
  assert_int_equal(flurry_client_submit(c, req, on_done, &t), FLURRY_OK);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  assert_int_equal(t.calls, 1);
  assert_int_equal(t.last_err, FLURRY_OK);
  assert_int_equal(r.requests, 1);
  assert_non_null(strstr(r.last, "\r\nX-Good: yes\r\n"));
  assert_null(strstr(r.last, "Injected"));
  assert_null(strstr(r.last, "Evil"));
  flurry_client_free(c);
  responder_stop(&r);
  loop_finish(&loop);
  assert_int_equal(r.open, 0);
}

/* A URL that looks absolute but is not valid is reported exactly once:
 * either submit refuses it (the callback never runs) or the callback gets
 * FLURRY_EINVALID, never both and never a network error. */
static void test_client_malformed_absolute_url_reported_once(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  flurry_client *c = client_on(&loop);
  const char *bad[] = {"http://127.0.0.1:99999/", "http://[::1/", "http://[zz]/", "http://a%00b/",
                       "http://127.0.0.1:8x/"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    tally t;
    tally_init(&t, c);
    int rc = submit(c, "GET", bad[i], &t);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (rc == FLURRY_OK) {
      if (t.calls != 1 || t.last_err != FLURRY_EINVALID)
        fail_msg("%s: %d callbacks, last %s (%s)", bad[i], t.calls, flurry_err_name(t.last_err),
                 t.last_msg);
    } else {
      if (rc != FLURRY_EINVALID || t.calls != 0)
        fail_msg("%s: submit %s and %d callbacks", bad[i], flurry_err_name(rc), t.calls);
    }
  }
  flurry_client_free(c);
  loop_finish(&loop);
}

/* ---- tests: gather ---- */

static void test_client_gather_keeps_order(void **state) {
  (void)state;
  enum { N = 50, BAD = 17 };
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  flurry_client *c = client_on(&loop);
  /* Fewer slots than requests: most of them wait in the queue. */
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_IN_FLIGHT, 8), FLURRY_OK);
  flurry_request *reqs[N];
  flurry_response *out[N];
  for (int i = 0; i < N; i++) {
    char url[64];
    if (i == BAD)
      snprintf(url, sizeof url, "relative/%d", i); /* no base URL: refused */
    else
      snprintf(url, sizeof url, REFUSED_URL "g/%d", i);
    assert_int_equal(flurry_request_new(&reqs[i], "GET", url), FLURRY_OK);
  }
  assert_int_equal(flurry_gather(c, reqs, N, out), FLURRY_OK);
  for (int i = 0; i < N; i++) {
    assert_non_null(out[i]);
    if (i == BAD) {
      assert_int_equal(flurry_response_error(out[i]), FLURRY_EINVALID);
      assert_int_equal(flurry_response_attempts(out[i]), 0);
      assert_non_null(strstr(flurry_response_error_message(out[i]), "relative/17"));
    } else {
      char want[64];
      snprintf(want, sizeof want, REFUSED_URL "g/%d", i);
      assert_string_equal(flurry_response_effective_url(out[i]), want);
      assert_int_equal(flurry_response_error(out[i]), FLURRY_ECONNECT);
      assert_int_equal(flurry_response_attempts(out[i]), 1);
    }
    flurry_response_free(out[i]);
  }
  assert_int_equal(flurry_client_pending(c), 0);
  /* n == 0 is fine; NULL arguments free the requests (LeakSanitizer). */
  assert_int_equal(flurry_gather(c, NULL, 0, NULL), FLURRY_OK);
  flurry_request *r1 = NULL;
  assert_int_equal(flurry_request_new(&r1, "GET", REFUSED_URL), FLURRY_OK);
  flurry_response *o1 = (flurry_response *)(uintptr_t)1;
  assert_int_equal(flurry_gather(NULL, &r1, 1, &o1), FLURRY_EINVALID);
  assert_null(o1);
  assert_int_equal(flurry_request_new(&r1, "GET", REFUSED_URL), FLURRY_OK);
  assert_int_equal(flurry_gather(c, &r1, 1, NULL), FLURRY_EINVALID);
  flurry_client_free(c);
  loop_finish(&loop);
}

/* ---- tests: timeouts, cancelling, freeing ---- */

static void test_client_timeout_when_no_answer(void **state) {
  (void)state;
  int port;
  int fd = silent_listener(&port);
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  flurry_client *c = client_on(&loop);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_TIMEOUT_MS, 200), FLURRY_OK);
  tally t;
  tally_init(&t, c);
  char url[64];
  url_on(url, sizeof url, port, "/slow");
  double t0 = fl_now_ms();
  assert_int_equal(submit(c, "GET", url, &t), FLURRY_OK);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  double took = fl_now_ms() - t0;
  assert_int_equal(t.calls, 1);
  assert_int_equal(t.last_err, FLURRY_ETIMEOUT);
  assert_string_equal(t.last_detail, "total_timeout"); /* connected, no answer */
  assert_int_equal(t.last_attempts, 1);
  assert_true(took >= 190 && took < 5000);
  assert_true(t.last_elapsed_ms >= 190);
  flurry_client_free(c);
  loop_finish(&loop);
  close(fd);
}

static void test_client_request_timeout_override(void **state) {
  (void)state;
  int port;
  int fd = silent_listener(&port);
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  flurry_client *c = client_on(&loop); /* client default: 10 s */
  tally t;
  tally_init(&t, c);
  char url[64];
  url_on(url, sizeof url, port, "/slow");
  flurry_request *req = NULL;
  assert_int_equal(flurry_request_new(&req, "GET", url), FLURRY_OK);
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_TIMEOUT_MS, 150), FLURRY_OK);
  double t0 = fl_now_ms();
  assert_int_equal(flurry_client_submit(c, req, on_done, &t), FLURRY_OK);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(t.last_err, FLURRY_ETIMEOUT);
  assert_true(fl_now_ms() - t0 < 3000);
  flurry_client_free(c);
  loop_finish(&loop);
  close(fd);
}

typedef struct cancel_ctx {
  flurry_client *c;
  int fired;
  int rc;
  size_t pending_before, pending_after;
  int sched_active_after; /* the scheduler timer still armed after cancel */
  double at_ms;
} cancel_ctx;

static void on_cancel_timer(uv_timer_t *timer) {
  cancel_ctx *x = timer->data;
  x->pending_before = flurry_client_pending(x->c);
  x->rc = flurry_client_cancel_all(x->c);
  x->pending_after = flurry_client_pending(x->c);
  x->sched_active_after = uv_is_active((uv_handle_t *)&x->c->sched_timer);
  x->at_ms = fl_now_ms();
  x->fired = 1;
  uv_close((uv_handle_t *)timer, NULL);
}

/* One request waiting in the backoff heap (refused, next attempt in up to
 * 10 s), 3 running (no answer ever comes) and 3 queued; a timer of the
 * caller's cancels everything after 300 ms. */
typedef struct cancel_fixture {
  int fd;
  uv_loop_t loop;
  flurry_client *c;
  tally t, b;
  uv_timer_t timer;
  cancel_ctx x;
} cancel_fixture;

static void cancel_setup(cancel_fixture *f) {
  int port;
  f->fd = silent_listener(&port);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  f->c = client_on(&f->loop);
  assert_int_equal(flurry_client_set(f->c, FLURRY_OPT_MAX_IN_FLIGHT, 3), FLURRY_OK);
  assert_int_equal(flurry_client_cancel_all(f->c), FLURRY_OK); /* nothing to cancel */
  tally_init(&f->b, f->c);
  flurry_request *req = NULL;
  assert_int_equal(flurry_request_new(&req, "GET", REFUSED_URL), FLURRY_OK);
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_MAX_ATTEMPTS, 2), FLURRY_OK);
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_RETRY_BASE_MS, 10000), FLURRY_OK);
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_RETRY_CAP_MS, 10000), FLURRY_OK);
  assert_int_equal(flurry_client_submit(f->c, req, on_done, &f->b), FLURRY_OK);
  char url[64];
  url_on(url, sizeof url, port, "/hang");
  tally_init(&f->t, f->c);
  for (int i = 0; i < 6; i++)
    assert_int_equal(submit(f->c, "GET", url, &f->t), FLURRY_OK);
  memset(&f->x, 0, sizeof f->x);
  f->x.c = f->c;
  f->x.rc = -1;
  assert_int_equal(uv_timer_init(&f->loop, &f->timer), 0);
  f->timer.data = &f->x;
  assert_int_equal(uv_timer_start(&f->timer, on_cancel_timer, 300, 0), 0);
}

static void cancel_teardown(cancel_fixture *f) {
  flurry_client_free(f->c);
  loop_finish(&f->loop);
  close(f->fd);
}

static void test_client_cancel_all_gives_ecancelled(void **state) {
  (void)state;
  cancel_fixture f;
  cancel_setup(&f);
  while (!f.x.fired)
    uv_run(&f.loop, UV_RUN_ONCE);
  assert_int_equal(f.x.rc, FLURRY_OK);
  assert_int_equal(f.x.pending_before, 7);
  assert_int_equal(f.x.pending_after, 0);
  assert_int_equal(f.t.calls, 6);
  assert_int_equal(f.t.by_err[FLURRY_ECANCELLED], 6);
  assert_int_equal(f.t.called_in_submit, 0);
  assert_int_equal(f.b.calls, 1);
  assert_int_equal(f.b.last_err, FLURRY_ECANCELLED);
  assert_int_equal(f.b.last_attempts, 1);
  /* The client stays usable. */
  assert_int_equal(submit(f.c, "GET", REFUSED_URL, &f.t), FLURRY_OK);
  assert_int_equal(flurry_client_run(f.c), FLURRY_OK);
  assert_int_equal(f.t.calls, 7);
  assert_int_equal(f.t.last_err, FLURRY_ECONNECT);
  cancel_teardown(&f);
}

/* After cancel_all() nothing of the client keeps the caller's loop alive: a
 * cancelled retry's wake-up must not (it kept uv_run() going for up to
 * RETRY_CAP_MS with nothing to do; fixed in b7c2a84). */
static void test_client_cancel_all_leaves_loop_idle(void **state) {
  (void)state;
  cancel_fixture f;
  cancel_setup(&f);
  uv_run(&f.loop, UV_RUN_DEFAULT);
  assert_int_equal(f.x.fired, 1);
  assert_int_equal(f.x.sched_active_after, 0);
  assert_true(fl_now_ms() - f.x.at_ms < 1000);
  cancel_teardown(&f);
}

typedef struct free_ctx {
  flurry_client *c;
  tally *t;
  int freed;
} free_ctx;

static void on_free_timer(uv_timer_t *timer) {
  free_ctx *x = timer->data;
  x->t->resubmit = 1; /* a callback that submits during free is refused */
  flurry_client_free(x->c);
  x->freed = 1;
  uv_close((uv_handle_t *)timer, NULL);
}

static void test_client_free_with_requests_in_flight(void **state) {
  (void)state;
  int port;
  int fd = silent_listener(&port);
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  flurry_client *c = client_on(&loop);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_IN_FLIGHT, 2), FLURRY_OK);
  char url[64];
  url_on(url, sizeof url, port, "/hang");
  tally t;
  tally_init(&t, c);
  for (int i = 0; i < 4; i++)
    assert_int_equal(submit(c, "GET", url, &t), FLURRY_OK);
  free_ctx x = {c, &t, 0};
  uv_timer_t timer;
  assert_int_equal(uv_timer_init(&loop, &timer), 0);
  timer.data = &x;
  assert_int_equal(uv_timer_start(&timer, on_free_timer, 200, 0), 0);
  loop_finish(&loop); /* runs until the client's handles are closed */
  assert_int_equal(x.freed, 1);
  assert_int_equal(t.calls, 4);
  assert_int_equal(t.by_err[FLURRY_ECANCELLED], 4);
  assert_int_equal(t.inner_submit_rc, FLURRY_ECANCELLED);
  close(fd);
}

static void test_client_own_loop(void **state) {
  (void)state;
  flurry_client *c = NULL;
  assert_int_equal(flurry_client_new(&c, NULL), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_BREAKER_THRESHOLD, 0), FLURRY_OK);
  uv_loop_t *loop = flurry_client_loop(c);
  assert_non_null(loop);
  assert_ptr_not_equal(loop, uv_default_loop());
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_ATTEMPTS, 2), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_RETRY_BASE_MS, 1), FLURRY_OK);
  tally t;
  tally_init(&t, c);
  for (int i = 0; i < 10; i++)
    assert_int_equal(submit(c, "GET", REFUSED_URL, &t), FLURRY_OK);
  assert_int_equal(flurry_client_pending(c), 10);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  assert_int_equal(t.calls, 10);
  assert_int_equal(t.by_err[FLURRY_ECONNECT], 10);
  assert_int_equal(t.last_attempts, 2);
  assert_int_equal(t.called_in_submit, 0);
  assert_int_equal(flurry_client_run(c), FLURRY_OK); /* nothing left: returns */
  /* Freed with work still queued: callbacks run, all memory released. */
  assert_int_equal(submit(c, "GET", REFUSED_URL, &t), FLURRY_OK);
  flurry_client_free(c);
  assert_int_equal(t.calls, 11);
  assert_int_equal(t.last_err, FLURRY_ECANCELLED);
}

/* ---- tests against the scripted responder ---- */

static void test_client_http_error_keeps_status_and_body(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  static const char *const replies[] = {
      "HTTP/1.1 404 Not Found\r\nConnection: close\r\nX-Trace: abc\r\n"
      "Content-Length: 9\r\n\r\nno such x"};
  responder r;
  responder_start(&r, &loop, replies, 1);
  flurry_client *c = client_on(&loop);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_ATTEMPTS, 3), FLURRY_OK);
  char url[64];
  url_on(url, sizeof url, r.port, "/missing");
  flurry_request *req = NULL;
  flurry_response *resp = NULL;
  assert_int_equal(flurry_request_new(&req, "GET", url), FLURRY_OK);
  assert_int_equal(flurry_gather(c, &req, 1, &resp), FLURRY_OK);
  assert_int_equal(flurry_response_error(resp), FLURRY_EHTTP);
  assert_int_equal(flurry_response_status(resp), 404);
  assert_string_equal(flurry_response_reason(resp), "Not Found");
  assert_string_equal(flurry_response_body(resp, NULL), "no such x");
  assert_string_equal(flurry_response_header(resp, "x-trace"), "abc");
  assert_int_equal(flurry_response_attempts(resp), 1); /* 404 is not retried */
  assert_int_equal(r.requests, 1);
  assert_non_null(strstr(flurry_response_error_message(resp), "404"));
  const char *name = NULL, *value = NULL;
  assert_int_equal(flurry_response_header_at(resp, 0, &name, &value), FLURRY_OK);
  assert_string_equal(name, "Connection");
  assert_string_equal(value, "close");
  flurry_response_free(resp);
  flurry_client_free(c);
  responder_stop(&r);
  loop_finish(&loop);
}

static void test_client_retries_503_then_succeeds(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  static const char *const replies[] = {reply_503, reply_503, reply_ok};
  responder r;
  responder_start(&r, &loop, replies, 3);
  flurry_client *c = client_on(&loop);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_ATTEMPTS, 4), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_RETRY_BASE_MS, 1), FLURRY_OK);
  char url[64];
  url_on(url, sizeof url, r.port, "/flaky");
  tally t;
  tally_init(&t, c);
  assert_int_equal(submit(c, "GET", url, &t), FLURRY_OK);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  assert_int_equal(t.calls, 1);
  assert_int_equal(t.last_err, FLURRY_OK);
  assert_int_equal(t.last_status, 200);
  assert_int_equal(t.last_attempts, 3);
  assert_string_equal(t.last_body, "hello"); /* not "busybusyhello" */
  assert_string_equal(t.last_msg, "");
  assert_int_equal(r.requests, 3);
  flurry_client_free(c);
  responder_stop(&r);
  loop_finish(&loop);
}

/* The attempt log keeps the first 63 attempts and the last: the first four
 * in the response, the others in room made before each retry. */
static void test_client_attempt_log_keeps_63_and_the_last(void **state) {
  (void)state;
  static const char *const replies[] = {reply_503};
  fixture f;
  fixture_start(&f, replies, 1, "/down");
  assert_int_equal(flurry_client_set(f.c, FLURRY_OPT_RETRY_BASE_MS, 1), FLURRY_OK);
  assert_int_equal(flurry_client_set(f.c, FLURRY_OPT_RETRY_CAP_MS, 1), FLURRY_OK);
  assert_int_equal(flurry_client_set(f.c, FLURRY_OPT_RETRY_BUDGET, 0), FLURRY_OK);
  for (int n = 3; n <= 5; n++) { /* all inline; one past them */
    assert_int_equal(flurry_client_set(f.c, FLURRY_OPT_MAX_ATTEMPTS, n), FLURRY_OK);
    fixture_get(&f);
    assert_int_equal(f.t.last_attempts, n);
    assert_int_equal(f.t.log_kept, n);
    assert_int_equal(f.t.log_no_status, 0);
  }
  assert_int_equal(flurry_client_set(f.c, FLURRY_OPT_MAX_ATTEMPTS, 70), FLURRY_OK);
  fixture_get(&f);
  assert_int_equal(f.t.last_err, FLURRY_EHTTP);
  assert_int_equal(f.t.last_attempts, 70);
  assert_int_equal(f.t.log_kept, 64);
  assert_int_equal(f.t.log_no_status, 0);
  fixture_end(&f);
}

/* The clock jumps past the deadline while a retry waits for its backoff
 * timer (a loaded machine whose timer fires late; a retry held in the
 * queue, its host or a rate bucket is the same): the retry's start sees
 * the deadline passed. A check handle, not a prepare handle: check runs
 * right after the poll phase that put the request in backoff (or the
 * timer phase, then poll), always before the next timer phase can start
 * the retry; a prepare handle runs after the timers, and on a loaded
 * machine the 20 ms backoff could fire first (seen once in CI-like runs). */
typedef struct late_clock {
  const flurry_request *req;
  double jump_to; /* the fake clock, once req waits for its retry */
  int jumped;
} late_clock;

static void on_late_check(uv_check_t *p) {
  late_clock *l = p->data;
  if (!l->jumped && l->req->state == REQ_BACKOFF) {
    fl_clock_set_fake(l->jump_to);
    l->jumped = 1;
  }
}

/* Was a bug (fixed): a retry that started past the deadline ended with
 * FLURRY_ETIMEOUT "the request's deadline passed", where a retry refused
 * when it is decided keeps the last attempt's error (the 503); which of the
 * two saw the deadline depended on timing. Both now end the same way. */
static void test_client_retry_started_past_deadline_keeps_last_error(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  static const char *const replies[] = {reply_503};
  responder r;
  responder_start(&r, &loop, replies, 1);
  flurry_client *c = client_on(&loop);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_ATTEMPTS, 3), FLURRY_OK);
  char url[64];
  url_on(url, sizeof url, r.port, "/flaky");
  flurry_request *req = NULL;
  assert_int_equal(flurry_request_new(&req, "GET", url), FLURRY_OK);
  /* the wait (20 ms) fits in the deadline (10 s) when it is decided */
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_DEADLINE_MS, 10000), FLURRY_OK);
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_RETRY_BASE_MS, 20), FLURRY_OK);
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_RETRY_CAP_MS, 20), FLURRY_OK);
  tally t;
  tally_init(&t, c);
  assert_int_equal(flurry_client_submit(c, req, on_done, &t), FLURRY_OK);
  late_clock l = {req, fl_now_ms() + 60000, 0};
  uv_check_t prep;
  assert_int_equal(uv_check_init(&loop, &prep), 0);
  prep.data = &l;
  assert_int_equal(uv_check_start(&prep, on_late_check), 0);
  uv_unref((uv_handle_t *)&prep);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  fl_clock_set_fake(-1);
  uv_close((uv_handle_t *)&prep, NULL);
  assert_int_equal(l.jumped, 1);
  assert_int_equal(t.calls, 1);
  assert_int_equal(r.requests, 1); /* the retry was never sent */
  assert_int_equal(t.last_attempts, 1);
  assert_int_equal(t.last_err, FLURRY_EHTTP);
  assert_int_equal(t.last_status, 503);
  assert_string_equal(t.last_body, "busy");
  assert_string_equal(t.last_msg, "HTTP 503 Service Unavailable (the next attempt would start "
                                  "past the deadline)");
  assert_string_equal(t.last_detail, "deadline");
  flurry_client_free(c);
  responder_stop(&r);
  loop_finish(&loop);
}

static void test_client_post_not_retried_after_answer(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  static const char *const replies[] = {reply_503, reply_ok};
  responder r;
  responder_start(&r, &loop, replies, 2);
  flurry_client *c = client_on(&loop);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_ATTEMPTS, 3), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_RETRY_BASE_MS, 1), FLURRY_OK);
  char url[64];
  url_on(url, sizeof url, r.port, "/orders");
  tally t;
  tally_init(&t, c);
  flurry_request *req = NULL;
  assert_int_equal(flurry_request_new(&req, "POST", url), FLURRY_OK);
  assert_int_equal(flurry_request_set_json(req, "{\"n\":1}", 7), FLURRY_OK);
  assert_int_equal(flurry_client_submit(c, req, on_done, &t), FLURRY_OK);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  assert_int_equal(t.last_err, FLURRY_EHTTP);
  assert_int_equal(t.last_status, 503);
  assert_int_equal(t.last_attempts, 1);
  assert_int_equal(r.requests, 1);
  assert_non_null(strstr(r.last, "POST /orders HTTP/1.1\r\n"));
  assert_non_null(strstr(r.last, "\r\nContent-Type: application/json\r\n"));
  assert_non_null(strstr(r.last, "\r\n\r\n{\"n\":1}"));
  /* With an Idempotency-Key the same POST is retried. */
  assert_int_equal(flurry_request_new(&req, "POST", url), FLURRY_OK);
  assert_int_equal(flurry_request_add_header(req, "Idempotency-Key", "k-1"), FLURRY_OK);
  assert_int_equal(flurry_request_set_json(req, "{}", 2), FLURRY_OK);
  r.replies = replies; /* 503 once more, then 200 */
  r.requests = 0;
  assert_int_equal(flurry_client_submit(c, req, on_done, &t), FLURRY_OK);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  assert_int_equal(t.last_err, FLURRY_OK);
  assert_int_equal(t.last_attempts, 2);
  flurry_client_free(c);
  responder_stop(&r);
  loop_finish(&loop);
}

static void test_client_headers_merge_and_override(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  static const char *const replies[] = {reply_ok};
  responder r;
  responder_start(&r, &loop, replies, 1);
  flurry_client *c = client_on(&loop);
  char base[64];
  url_on(base, sizeof base, r.port, "/v1/");
  assert_int_equal(flurry_client_set_base_url(c, base), FLURRY_OK);
  assert_int_equal(flurry_client_add_header(c, "Authorization", "Bearer client"), FLURRY_OK);
  assert_int_equal(flurry_client_add_header(c, "X-Client", "c"), FLURRY_OK);
  tally t;
  tally_init(&t, c);
  /* Defaults only. */
  assert_int_equal(submit(c, "GET", "items", &t), FLURRY_OK);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  assert_int_equal(t.last_err, FLURRY_OK);
  assert_non_null(strstr(r.last, "GET /v1/items HTTP/1.1\r\n"));
  assert_non_null(strstr(r.last, "\r\nAuthorization: Bearer client\r\n"));
  assert_non_null(strstr(r.last, "\r\nX-Client: c\r\n"));
  assert_null(strstr(r.last, "Expect:"));
  /* The request's header replaces the client's of the same name (any case). */
  flurry_request *req = NULL;
  assert_int_equal(flurry_request_new(&req, "GET", "items/2"), FLURRY_OK);
  assert_int_equal(flurry_request_add_header(req, "authorization", "Bearer req"), FLURRY_OK);
  assert_int_equal(flurry_request_add_header(req, "X-Empty", ""), FLURRY_OK);
  assert_int_equal(flurry_client_submit(c, req, on_done, &t), FLURRY_OK);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  assert_int_equal(t.last_err, FLURRY_OK);
  assert_non_null(strstr(r.last, "GET /v1/items/2 HTTP/1.1\r\n"));
  assert_non_null(strstr(r.last, "\r\nauthorization: Bearer req\r\n"));
  assert_null(strstr(r.last, "Bearer client"));
  assert_non_null(strstr(r.last, "\r\nX-Client: c\r\n"));
  assert_non_null(strstr(r.last, "\r\nX-Empty:"));
  assert_int_equal(r.requests, 2);
  flurry_client_free(c);
  responder_stop(&r);
  loop_finish(&loop);
}

/* Occurrences of needle in hay. */
static int count_of(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

/* The built-in User-Agent and Accept-Encoding lines go out once each, and a
 * line of the same name, the client's or the request's, replaces them. */
static void test_client_builtin_headers_replaced_by_name(void **state) {
  (void)state;
  static const char *const replies[] = {reply_ok};
  fixture f;
  fixture_start(&f, replies, 1, "/a");
  const char *sent = f.r.last;
  fixture_get(&f);
  assert_int_equal(f.t.last_err, FLURRY_OK);
  assert_int_equal(count_of(sent, "\r\nUser-Agent: flurry/" FLURRY_VERSION "\r\n"), 1);
  assert_int_equal(count_of(sent, "User-Agent"), 1);
  assert_int_equal(count_of(sent, "\r\nAccept-Encoding: deflate, gzip"), 1);
  assert_int_equal(count_of(sent, "Accept-Encoding"), 1);
  assert_null(strstr(sent, "Expect:"));
  /* The client's own User-Agent replaces the built-in one. */
  assert_int_equal(flurry_client_add_header(f.c, "user-agent", "lib/1"), FLURRY_OK);
  fixture_get(&f);
  assert_int_equal(count_of(sent, "\r\nuser-agent: lib/1\r\n"), 1);
  assert_null(strstr(sent, "flurry/"));
  assert_int_equal(count_of(sent, "Accept-Encoding: deflate, gzip"), 1);
  /* A request's Accept-Encoding replaces the built-in one. */
  flurry_request *req = NULL;
  assert_int_equal(flurry_request_new(&req, "GET", f.url), FLURRY_OK);
  assert_int_equal(flurry_request_add_header(req, "Accept-Encoding", "identity"), FLURRY_OK);
  assert_int_equal(flurry_client_submit(f.c, req, on_done, &f.t), FLURRY_OK);
  assert_int_equal(flurry_client_run(f.c), FLURRY_OK);
  assert_int_equal(count_of(sent, "\r\nAccept-Encoding: identity\r\n"), 1);
  assert_int_equal(count_of(sent, "Accept-Encoding"), 1);
  assert_int_equal(count_of(sent, "\r\nuser-agent: lib/1\r\n"), 1);
  assert_int_equal(f.r.requests, 3);
  fixture_end(&f);
}

static void test_client_response_size_limit(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  static const char *const replies[] = {
      /* Content-Length announces too much: refused before reading. */
      "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 6\r\n\r\nabcdef",
      /* No length: the limit is found while reading. */
      "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabcdef",
      /* Exactly at the limit. */
      "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nabcde"};
  responder r;
  responder_start(&r, &loop, replies, 3);
  flurry_client *c = client_on(&loop);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_RESPONSE_BYTES, 5), FLURRY_OK);
  char url[64];
  url_on(url, sizeof url, r.port, "/big");
  tally t;
  tally_init(&t, c);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(submit(c, "GET", url, &t), FLURRY_OK);
    assert_int_equal(flurry_client_run(c), FLURRY_OK);
    if (i < 2) {
      if (t.last_err != FLURRY_ETOO_LARGE)
        fail_msg("reply %d: %s (%s)", i, flurry_err_name(t.last_err), t.last_msg);
    } else {
      assert_int_equal(t.last_err, FLURRY_OK);
      assert_string_equal(t.last_body, "abcde");
    }
  }
  flurry_client_free(c);
  responder_stop(&r);
  loop_finish(&loop);
}

/* Fails the k-th library allocation of one whole request, for every k, a
 * few rounds (the second round runs with pooled handles, so the k-th
 * allocation is another one). Each request must be refused by submit
 * (FLURRY_ENOMEM) or reported exactly once; nothing may crash or leak. A
 * watchdog on the loop cancels a request that never completes, so a stuck
 * one is counted instead of hanging the test. */
typedef struct sweep {
  flurry_client *c;
  uv_timer_t watchdog;
  int stuck;      /* requests the watchdog had to cancel */
  int wrong_kind; /* failures not reported as FLURRY_ENOMEM */
  int ok_runs;
  char first_problem[640];
} sweep;

static void on_watchdog(uv_timer_t *t) {
  sweep *w = t->data;
  w->stuck++;
  flurry_client_cancel_all(w->c); /* not a completion callback: allowed */
}

static void sweep_one(sweep *w, const char *url, uint64_t k) {
  tally t;
  tally_init(&t, w->c);
  flurry_request *req = NULL;
  assert_int_equal(flurry_request_new(&req, "GET", url), FLURRY_OK);
  fl_alloc_fail_at(k);
  t.in_submit = 1;
  int rc = flurry_client_submit(w->c, req, on_done, &t);
  t.in_submit = 0;
  if (rc != FLURRY_OK) {
    fl_alloc_fail_at(0);
    assert_int_equal(rc, FLURRY_ENOMEM);
    assert_int_equal(t.calls, 0);
    flurry_request_free(req);
    return;
  }
  int stuck_before = w->stuck;
  assert_int_equal(uv_timer_start(&w->watchdog, on_watchdog, 1000, 0), 0);
  assert_int_equal(flurry_client_run(w->c), FLURRY_OK);
  uv_timer_stop(&w->watchdog);
  fl_alloc_fail_at(0);
  assert_int_equal(t.calls, 1);
  assert_int_equal(t.called_in_submit, 0);
  const char *problem = NULL;
  if (w->stuck != stuck_before) {
    problem = "never completed";
  } else if (t.last_err == FLURRY_OK) {
    w->ok_runs++;
  } else if (t.last_err != FLURRY_ENOMEM) {
    w->wrong_kind++;
    problem = flurry_err_name(t.last_err);
  }
  if (problem && !w->first_problem[0])
    snprintf(w->first_problem, sizeof w->first_problem, "allocation %llu failed: %s (%s)",
             (unsigned long long)k, problem, t.last_msg);
}

static void out_of_memory_sweep(int rounds, int strict) {
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  static const char *const replies[] = {reply_ok};
  responder r;
  responder_start(&r, &loop, replies, 1);
  sweep w;
  memset(&w, 0, sizeof w);
  w.c = client_on(&loop);
  assert_int_equal(uv_timer_init(&loop, &w.watchdog), 0);
  w.watchdog.data = &w;
  char url[64];
  url_on(url, sizeof url, r.port, "/oom");
  for (int round = 0; round < rounds; round++)
    for (uint64_t k = 1; k <= 60; k++)
      sweep_one(&w, url, k);
  assert_true(w.ok_runs > 0); /* past the last allocation everything works */
  sweep_one(&w, url, 0);      /* and the client still works afterwards */
  assert_true(w.ok_runs > 1);
  uv_close((uv_handle_t *)&w.watchdog, NULL);
  flurry_client_free(w.c);
  responder_stop(&r);
  loop_finish(&loop);
  if (strict && (w.stuck || w.wrong_kind))
    fail_msg("%d stuck, %d wrong kind; first: %s", w.stuck, w.wrong_kind, w.first_problem);
}

static void test_client_out_of_memory_sweep(void **state) {
  (void)state;
  out_of_memory_sweep(1, 0);
}

/* Were bugs (fixed), both found by this sweep:
 *  - curl_uv.c: when allocating the poll handle fails, the socket callback
 *    returns -1; libcurl 7.88 then never completes that transfer and the
 *    CURLMcode is ignored, so the request hangs forever (no poll handle, no
 *    timer) and its callback never runs;
 *  - an allocation failure while a response arrives (reason phrase, a
 *    header, the body) aborts the transfer from a libcurl callback and the
 *    resulting CURLE_WRITE_ERROR is reported as "protocol", not "nomem". */
static void test_client_out_of_memory_never_hangs_and_says_nomem(void **state) {
  (void)state;
  out_of_memory_sweep(3, 1);
}

static void test_client_new_out_of_memory(void **state) {
  (void)state;
  /* The client itself, then (own loop) its private loop. */
  for (uint64_t k = 1; k <= 2; k++) {
    flurry_client *c = (flurry_client *)(uintptr_t)0x5a5a;
    fl_alloc_fail_at(k);
    int rc = flurry_client_new(&c, NULL);
    fl_alloc_fail_at(0);
    assert_int_equal(rc, FLURRY_ENOMEM);
    assert_ptr_equal(c, (flurry_client *)(uintptr_t)0x5a5a);
  }
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  flurry_client *c = (flurry_client *)(uintptr_t)0x5a5a;
  fl_alloc_fail_at(1);
  assert_int_equal(flurry_client_new(&c, &loop), FLURRY_ENOMEM);
  fl_alloc_fail_at(0);
  assert_ptr_equal(c, (flurry_client *)(uintptr_t)0x5a5a);
  loop_finish(&loop);
}

/* FLURRY_OPT_MAX_RESPONSE_BYTES has no "no limit" value: 0 is refused, so
 * every body stays bounded; a 1-byte limit refuses a 2-byte body. */
static void test_client_max_response_bytes_zero(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  static const char *const replies[] = {
      "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nxy"};
  responder r;
  responder_start(&r, &loop, replies, 1);
  flurry_client *c = client_on(&loop);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_RESPONSE_BYTES, 0), FLURRY_EINVALID);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_RESPONSE_BYTES, 1), FLURRY_OK);
  char url[64];
  url_on(url, sizeof url, r.port, "/one");
  tally t;
  tally_init(&t, c);
  assert_int_equal(submit(c, "GET", url, &t), FLURRY_OK);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  flurry_client_free(c);
  responder_stop(&r);
  loop_finish(&loop);
  assert_int_equal(t.last_err, FLURRY_ETOO_LARGE);
}

/* The server's Retry-After wins over the backoff cap (politeness): a 3 s
 * Retry-After with a 100 ms cap is waited out, then the retry succeeds. */
static void test_client_retry_after_capped_by_retry_cap(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  static const char *const replies[] = {
      "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 3\r\n"
      "Content-Length: 0\r\n\r\n",
      reply_ok};
  responder r;
  responder_start(&r, &loop, replies, 2);
  flurry_client *c = client_on(&loop);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_ATTEMPTS, 2), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_RETRY_CAP_MS, 100), FLURRY_OK);
  char url[64];
  url_on(url, sizeof url, r.port, "/busy");
  tally t;
  tally_init(&t, c);
  double t0 = fl_now_ms();
  assert_int_equal(submit(c, "GET", url, &t), FLURRY_OK);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  double took = fl_now_ms() - t0;
  flurry_client_free(c);
  responder_stop(&r);
  loop_finish(&loop);
  assert_int_equal(t.last_attempts, 2);
  assert_int_equal(t.last_err, FLURRY_OK);
  if (took < 3000) /* a lower bound: never earlier than the server asked */
    fail_msg("retried after %.0f ms, before the server's 3 s", took);
}

static void test_client_retry_after_honoured(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  static const char *const replies[] = {
      "HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nRetry-After: 1\r\n"
      "Content-Length: 0\r\n\r\n",
      reply_ok};
  responder r;
  responder_start(&r, &loop, replies, 2);
  flurry_client *c = client_on(&loop);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_MAX_ATTEMPTS, 2), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_RETRY_BASE_MS, 1), FLURRY_OK);
  char url[64];
  url_on(url, sizeof url, r.port, "/limited");
  tally t;
  tally_init(&t, c);
  assert_int_equal(submit(c, "GET", url, &t), FLURRY_OK);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  assert_int_equal(t.last_err, FLURRY_OK);
  assert_int_equal(t.last_attempts, 2);
  /* The server's 1 s, not the 1 ms base. */
  assert_true(r.last_ms - r.first_ms >= 900);
  flurry_client_free(c);
  responder_stop(&r);
  loop_finish(&loop);
}

int main(void) {
  alarm(240); /* a hung loop fails the run instead of stalling it */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_client_new_and_free_on_callers_loop),
      cmocka_unit_test(test_client_rejects_bad_settings),
      cmocka_unit_test(test_client_refused_connect_is_econnect),
      cmocka_unit_test(test_client_refused_keeps_curl_code_and_errno),
      cmocka_unit_test(test_client_retries_refused_connect),
      cmocka_unit_test(test_client_request_overrides_attempts),
      cmocka_unit_test(test_client_circuit_breaker_opens),
      cmocka_unit_test(test_client_breaker_probe_without_attempt_does_not_hang),
      cmocka_unit_test(test_client_submit_relative_url_needs_base),
      cmocka_unit_test(test_client_query_appended_to_url),
      cmocka_unit_test(test_client_callback_never_runs_inside_submit),
      cmocka_unit_test(test_client_reentrant_calls_refused_in_callback),
      cmocka_unit_test(test_client_invalid_header_rejected_before_sending),
      cmocka_unit_test(test_client_malformed_absolute_url_reported_once),
      cmocka_unit_test(test_client_gather_keeps_order),
      cmocka_unit_test(test_client_timeout_when_no_answer),
      cmocka_unit_test(test_client_request_timeout_override),
      cmocka_unit_test(test_client_cancel_all_gives_ecancelled),
      cmocka_unit_test(test_client_cancel_all_from_completion),
      cmocka_unit_test(test_client_cancel_all_leaves_loop_idle),
      cmocka_unit_test(test_client_free_with_requests_in_flight),
      cmocka_unit_test(test_client_own_loop),
      cmocka_unit_test(test_client_http_error_keeps_status_and_body),
      cmocka_unit_test(test_client_retries_503_then_succeeds),
      cmocka_unit_test(test_client_retry_started_past_deadline_keeps_last_error),
      cmocka_unit_test(test_client_post_not_retried_after_answer),
      cmocka_unit_test(test_client_headers_merge_and_override),
      cmocka_unit_test(test_client_attempt_log_keeps_63_and_the_last),
      cmocka_unit_test(test_client_builtin_headers_replaced_by_name),
      cmocka_unit_test(test_client_response_size_limit),
      cmocka_unit_test(test_client_max_response_bytes_zero),
      cmocka_unit_test(test_client_out_of_memory_sweep),
      cmocka_unit_test(test_client_out_of_memory_never_hangs_and_says_nomem),
      cmocka_unit_test(test_client_new_out_of_memory),
      cmocka_unit_test(test_client_retry_after_honoured),
      cmocka_unit_test(test_client_retry_after_capped_by_retry_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
