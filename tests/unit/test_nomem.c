/* test_nomem.c: allocation failure, swept. Each scenario runs once cleanly
 * to count its allocations K through the fl_ seam, then once per k = 1..K
 * with the k-th failing: no crash, no leak (LeakSanitizer at exit, ASan
 * build), and the failure reported as out of memory (FL_ENOMEM, -1 where
 * that is the documented "out of memory", FLURRY_ENOMEM). Scenarios: request
 * building, event records and headers (listen), the dedup set, signing,
 * the mock's tables, JSON compaction, Retry-After parsing (allocates
 * nothing), and a flurry_client running a small batch with retries across
 * two hosts against a real `flurry mock` in a child process: every request
 * completes exactly once, as in the clean run or with FLURRY_ENOMEM; then
 * the same batch against the mock's routes on an httpd in this process, on
 * the client's loop, so that the server's allocations fail too (a 500 or a
 * closed connection allowed then) and both still serve afterwards.
 *
 * Out of scope: libcurl, libuv, libmicrohttpd, OpenSSL and libjq allocate
 * with their own allocators (malloc), not through the seam, so their
 * failures are not injected here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fl.h"
#include "flurry.h"
#include "httpd.h"
#include "internal.h"
#include "listen_dedup.h"
#include "listen_event.h"
#include "mock.h"
#include "mock_int.h"
#include "mock_table.h"
#include "webhook_int.h"

/* A scenario returns OK (it all worked), NOMEM (an allocation failed and
 * it said so) or WRONG (anything else: *why says what). */
enum { OK = 0, NOMEM = 1, WRONG = 2 };
typedef int (*scenario_fn)(void *ctx, const char **why);

/* Runs fn cleanly, then with each of its allocations failing in turn.
 * absorbs: the code under test may absorb some failures by design (it then
 * works on, degraded; fn checks the results are still right). Returns K. */
static uint64_t sweep_some(const char *name, scenario_fn fn, void *ctx, int absorbs) {
  uint64_t absorbed = 0;
  const char *why = "";
  uint64_t before = fl_alloc_count();
  int rc = fn(ctx, &why);
  uint64_t k_max = fl_alloc_count() - before;
  if (rc != OK)
    fail_msg("%s: the clean run failed: %s", name, why);
  for (uint64_t k = 1; k <= k_max; k++) {
    why = "not reported as out of memory";
    fl_alloc_fail_at(k);
    rc = fn(ctx, &why);
    fl_alloc_fail_at(0);
    absorbed += rc == OK;
    if (rc == WRONG || (rc == OK && !absorbs))
      fail_msg("%s: allocation %llu of %llu failed: %s", name, (unsigned long long)k,
               (unsigned long long)k_max, rc == OK ? "not reported" : why);
  }
  printf("  %s: %llu allocations, each failure reported (%llu absorbed by design)\n", name,
         (unsigned long long)k_max, (unsigned long long)absorbed);
  return k_max;
}

static uint64_t sweep(const char *name, scenario_fn fn, void *ctx) {
  return sweep_some(name, fn, ctx, 0);
}

/* ---- unit scenarios --------------------------------------------------------- */

static int flurry_rc(int rc, const char **why) {
  if (rc == FLURRY_OK)
    return OK;
  if (rc == FLURRY_ENOMEM)
    return NOMEM;
  *why = flurry_err_name(rc);
  return WRONG;
}

static int request_building(void *ctx, const char **why) {
  (void)ctx;
  flurry_request *req = NULL;
  int rc = flurry_request_new(&req, "POST", "http://127.0.0.1:1/items?x=1");
  if (rc == FLURRY_OK)
    rc = flurry_request_add_header(req, "X-Trace", "abc");
  if (rc == FLURRY_OK)
    rc = flurry_request_add_query(req, "page", "2 and more");
  if (rc == FLURRY_OK)
    rc = flurry_request_set_json(req, "{\"a\": [1, 2]}", 13);
  if (rc == FLURRY_OK)
    rc = flurry_request_set(req, FLURRY_OPT_MAX_ATTEMPTS, 3);
  flurry_request_free(req);
  return flurry_rc(rc, why);
}

static int fl_rc(int rc, const char **why) {
  if (rc == FL_OK)
    return OK;
  if (rc == FL_ENOMEM)
    return NOMEM;
  *why = "an error other than FL_ENOMEM";
  return WRONG;
}

static int event_record(void *ctx, const char **why) {
  (void)ctx;
  static const char *const kv[] = {"X-GitHub-Event", "push", "Authorization", "Bearer s",
                                   "X-Many",         "1",    "x-many",        "2"};
  static const char body[] = "{\"ref\": \"refs/heads/main\", \"n\": [1, 2, 3]}";
  fl_buf hdrs = FL_BUF_INIT(0), line = FL_BUF_INIT(0);
  int rc = listen_event_headers(&hdrs, kv, 4);
  if (rc == FL_OK) {
    listen_event ev = {"\"d-1\"", 5,    1700000000123,   "github", "/hook",        hdrs.data,
                       hdrs.len,  body, sizeof body - 1, body,     sizeof body - 1};
    rc = listen_event_line(&line, &ev);
  }
  fl_buf_free(&hdrs);
  fl_buf_free(&line);
  return fl_rc(rc, why);
}

static int dedup_set(void *ctx, const char **why) {
  (void)ctx;
  (void)why;
  listen_dedup *d = NULL;
  if (listen_dedup_new(&d, 5000) != 0)
    return NOMEM; /* documented: -1 is out of memory (max is valid) */
  int rc = OK;
  unsigned char key[LISTEN_DEDUP_KEY_LEN];
  for (int i = 0; i < 3000 && rc == OK; i++) {
    memset(key, 0, sizeof key);
    memcpy(key, &i, sizeof i);
    if (listen_dedup_add(d, key, 1000 + i) != 0)
      rc = NOMEM;
  }
  if (rc == OK)
    listen_dedup_expire(d, 2000);
  listen_dedup_free(d);
  return rc;
}

static int signing(void *ctx, const char **why) {
  (void)ctx;
  static const char body[] = "{\"id\":\"evt_1\",\"object\":\"event\"}";
  static const flurry_webhook_scheme schemes[] = {FLURRY_WEBHOOK_GITHUB, FLURRY_WEBHOOK_STRIPE,
                                                  FLURRY_WEBHOOK_STANDARD};
  static const char *const secrets[] = {"It's a Secret", "whsec_stripe",
                                        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
  int rc = FL_OK;
  for (size_t i = 0; i < 3 && rc == FL_OK; i++) {
    flurry_webhook_key key;
    assert_int_equal(flurry__sig_key_parse(schemes[i], secrets[i], strlen(secrets[i]), &key), 0);
    fl_buf out = FL_BUF_INIT(0);
    rc = flurry__sig_sign(schemes[i], &key, 1, "msg_1", 1700000000, body, sizeof body - 1, &out);
    fl_buf_free(&out);
  }
  return fl_rc(rc, why);
}

/* Growing the bucket array may fail: the table keeps its old one (longer
 * chains) and works on. */
static int mock_tables(void *ctx, const char **why) {
  (void)ctx;
  mock_table *t = NULL;
  if (mock_table_new(&t, 10000) != 0)
    return NOMEM;
  int rc = OK;
  char key[32];
  for (int i = 0; i < 600 && rc == OK; i++) {
    int created = 0;
    int n = snprintf(key, sizeof key, "key-%d", i);
    if (mock_table_get(t, key, (size_t)n, &created) == NULL)
      rc = NOMEM; /* documented: NULL is out of memory (the key fits) */
  }
  for (int i = 0; i < 600 && rc == OK; i++) {
    int created = 0;
    int n = snprintf(key, sizeof key, "key-%d", i);
    if (mock_table_get(t, key, (size_t)n, &created) == NULL || created) {
      *why = "an entry lost";
      rc = WRONG;
    }
  }
  mock_table_free(t);
  return rc;
}

static int json_compact(void *ctx, const char **why) {
  (void)ctx;
  static const char doc[] = " { \"a\" : [ 1 , 2.5e3 , true , null , \"\\u00e9x\" ] ,"
                            " \"b\" : { \"c\" : [ [ ] , { } ] } } ";
  fl_buf out = FL_BUF_INIT(0);
  int rc = fl_json_compact(&out, doc, sizeof doc - 1, NULL);
  if (rc == FL_OK)
    rc = fl_json_str(&out, "caf\xc3\xa9 \x01 \xff", 9);
  fl_buf_free(&out);
  return fl_rc(rc, why);
}

static void test_nomem_units(void **state) {
  (void)state;
  assert_true(sweep("request building", request_building, NULL) > 0);
  assert_true(sweep("event record and headers", event_record, NULL) > 0);
  assert_true(sweep("listen dedup set", dedup_set, NULL) > 0);
  assert_true(sweep("webhook signing", signing, NULL) > 0);
  assert_true(sweep_some("mock tables", mock_tables, NULL, 1) > 0);
  assert_true(sweep("JSON compaction", json_compact, NULL) > 0);
}

/* Parsers allocate nothing: nothing to fail. */
static void test_nomem_retry_after_allocates_nothing(void **state) {
  (void)state;
  int64_t ms = 0;
  uint64_t before = fl_alloc_count();
  assert_int_equal(flurry__retry_after_parse("120", 3, 1700000000, &ms), 0);
  static const char date[] = "Wed, 21 Oct 2015 07:28:00 GMT";
  (void)flurry__retry_after_parse(date, sizeof date - 1, 1445412480, &ms);
  assert_true(fl_alloc_count() == before);
}

/* ---- a client batch against `flurry mock` in a child process ----------------- */

#define BATCH 6
#define RUN_LIMIT_MS 10000 /* a watchdog, not a timing assertion */

typedef struct outcome {
  int calls;
  int err;
  int status;
  size_t url_len; /* of the effective URL */
} outcome;

typedef struct batch {
  char base[64]; /* http://127.0.0.1:PORT */
  char alt[64];  /* a second host: a port that refuses connections */
  pid_t mock;
  unsigned run; /* makes the /flaky keys fresh per run */
  outcome clean[BATCH];
  int have_clean;
  /* per run */
  outcome got[BATCH];
  int stuck;
  flurry_client *c;
  /* in-process server mode: server and client share loop, for every run */
  uv_loop_t *loop;
} batch;

static void on_done(flurry_request *req, flurry_response *resp, void *ud) {
  outcome *o = ud;
  o->calls++;
  o->err = flurry_response_error(resp);
  o->status = flurry_response_status(resp);
  const char *url = flurry_response_effective_url(resp);
  o->url_len = url ? strlen(url) : 0;
  flurry_response_free(resp);
  (void)req; /* the client's */
}

static void on_watchdog(uv_timer_t *t) {
  batch *b = t->data;
  b->stuck = 1;
  flurry_client_cancel_all(b->c);
}

static int submit_all(batch *b) {
  char url[BATCH][160];
  const char *method[BATCH] = {"GET", "GET", "GET", "POST", "GET", "GET"};
  snprintf(url[0], sizeof url[0], "%s/status/200", b->base);
  snprintf(url[1], sizeof url[1], "%s/flaky?fail=2&key=nomem-%06u", b->base, b->run);
  snprintf(url[2], sizeof url[2], "%s/status/503", b->base);
  snprintf(url[3], sizeof url[3], "%s/echo", b->base);
  snprintf(url[4], sizeof url[4], "%s/status/200?via=alt", b->alt);
  snprintf(url[5], sizeof url[5], "%s/status/429?retry_after=0", b->base);
  for (int i = 0; i < BATCH; i++) {
    flurry_request *req = NULL;
    int rc = flurry_request_new(&req, method[i], url[i]);
    if (rc == FLURRY_OK && i == 3)
      rc = flurry_request_set_json(req, "{\"k\":[1,2,3]}", 13);
    if (rc == FLURRY_OK)
      rc = flurry_client_submit(b->c, req, on_done, &b->got[i]);
    if (rc != FLURRY_OK) {
      flurry_request_free(req);
      return rc;
    }
  }
  return FLURRY_OK;
}

static int client_options(flurry_client *c) {
  static const struct {
    flurry_opt opt;
    long v;
  } opts[] = {{FLURRY_OPT_MAX_ATTEMPTS, 4},          {FLURRY_OPT_RETRY_BASE_MS, 1},
              {FLURRY_OPT_RETRY_CAP_MS, 5},          {FLURRY_OPT_BREAKER_THRESHOLD, 0},
              {FLURRY_OPT_CONNECT_TIMEOUT_MS, 5000}, {FLURRY_OPT_MAX_PER_HOST, 2},
              {FLURRY_OPT_RETRY_BUDGET, 0}};
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
    int rc = flurry_client_set(c, opts[i].opt, opts[i].v);
    if (rc != FLURRY_OK)
      return rc;
  }
  return FLURRY_OK;
}

/* What a run saw against the clean run: every request once; each as then
 * or FLURRY_ENOMEM. */
static int judge(batch *b, int submit_rc, const char **why) {
  static char msg[160];
  int nomem = submit_rc == FLURRY_ENOMEM;
  if (submit_rc != FLURRY_OK && !nomem) {
    *why = flurry_err_name(submit_rc);
    return WRONG;
  }
  for (int i = 0; i < BATCH; i++) {
    const outcome *o = &b->got[i], *want = &b->clean[i];
    if (o->calls == 0 && nomem)
      continue; /* never submitted */
    int as_clean = !b->have_clean || (o->err == want->err && o->status == want->status &&
                                      o->url_len == want->url_len);
    /* in process, the server's allocations fail too: it answers 500 or
     * closes the connection (reset, protocol); the retries that follow may
     * end otherwise (the mock's /flaky counter restarted: a 503) */
    int server_failed = b->loop &&
                        (o->err == FLURRY_ERESET || o->err == FLURRY_EPROTOCOL || o->status >= 500);
    if (o->calls != 1 || !(as_clean || o->err == FLURRY_ENOMEM || server_failed)) {
      snprintf(msg, sizeof msg, "request %d: %d callbacks, %s %d (clean run: %s %d)", i, o->calls,
               flurry_err_name(o->err), o->status, flurry_err_name(want->err), want->status);
      *why = msg;
      return WRONG;
    }
    nomem |= o->err == FLURRY_ENOMEM || !as_clean;
  }
  return nomem ? NOMEM : OK;
}

static int client_batch(void *ctx, const char **why) {
  batch *b = ctx;
  uv_loop_t loop;
  uv_timer_t watchdog;
  assert_int_equal(uv_loop_init(&loop), 0);
  memset(b->got, 0, sizeof b->got);
  b->stuck = 0;
  b->run++;
  b->c = NULL;
  int rc = flurry_client_new(&b->c, &loop);
  if (rc == FLURRY_OK)
    rc = client_options(b->c);
  if (rc == FLURRY_OK)
    rc = submit_all(b);
  if (b->c) {
    uv_timer_init(&loop, &watchdog);
    watchdog.data = b;
    uv_timer_start(&watchdog, on_watchdog, RUN_LIMIT_MS, 0);
    uv_unref((uv_handle_t *)&watchdog);
    int run_rc = flurry_client_run(b->c);
    if (rc == FLURRY_OK && run_rc != FLURRY_OK)
      rc = run_rc;
    uv_close((uv_handle_t *)&watchdog, NULL);
    flurry_client_free(b->c);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  if (b->stuck) {
    *why = "a request never completed";
    return WRONG;
  }
  return judge(b, rc, why);
}

/* A loopback port nothing listens on (bound, then closed): connecting to it
 * is refused at once. */
static unsigned refused_port(void) {
  uv_loop_t loop;
  uv_tcp_t t;
  struct sockaddr_in sa;
  struct sockaddr_storage got;
  int len = sizeof got;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(uv_tcp_init(&loop, &t), 0);
  assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &sa), 0);
  assert_int_equal(uv_tcp_bind(&t, (const struct sockaddr *)&sa, 0), 0);
  assert_int_equal(uv_tcp_getsockname(&t, (struct sockaddr *)&got, &len), 0);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  return ntohs(((struct sockaddr_in *)&got)->sin_port);
}

/* Starts `flurry mock` (this binary's copy of it) in a child process. */
static void mock_start(batch *b) {
  char dir[] = "/tmp/flurry-nomem-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char port_file[64];
  snprintf(port_file, sizeof port_file, "%s/port", dir);
  fflush(NULL);
  b->mock = fork();
  assert_true(b->mock >= 0);
  if (b->mock == 0) {
    char *argv[] = {"mock", "--port", "0", "--port-file", port_file, "--quiet", NULL};
    if (freopen("/dev/null", "w", stdout) == NULL)
      _exit(1);
    _exit(cli_mock_main(6, argv));
  }
  unsigned port = 0;
  for (int i = 0; i < 400 && port == 0; i++) { /* up to 20 s: ASan start-up */
    FILE *f = fopen(port_file, "r");
    if (f == NULL || fscanf(f, "%u", &port) != 1)
      port = 0;
    if (f)
      fclose(f);
    if (port == 0)
      usleep(50000);
  }
  unlink(port_file);
  rmdir(dir);
  assert_true(port > 0);
  snprintf(b->base, sizeof b->base, "http://127.0.0.1:%u", port);
  snprintf(b->alt, sizeof b->alt, "http://127.0.0.1:%u", refused_port());
}

static void mock_stop(batch *b) {
  int status = 0;
  kill(b->mock, SIGTERM);
  assert_int_equal(waitpid(b->mock, &status, 0), b->mock);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail_msg("flurry mock ended with status %d", status);
}

/* One run on the shared loop: the client (persistent) and the server. */
static int inproc_batch(void *ctx, const char **why) {
  batch *b = ctx;
  memset(b->got, 0, sizeof b->got);
  b->run++;
  int rc = submit_all(b);
  int run_rc = flurry_client_run(b->c);
  if (rc == FLURRY_OK)
    rc = run_rc;
  return judge(b, rc, why);
}

typedef struct inproc {
  uv_loop_t loop;
  mock_server mock;
  httpd_server *h;
  int closed;
} inproc;

static void on_httpd_closed(void *arg) { ((inproc *)arg)->closed = 1; }

/* `flurry mock`'s routes on an httpd in this process, and a client, on one
 * loop: the sweep fails the server's allocations as well as the client's.
 * Each must end in a result (nomem, a 500, a closed connection) and the
 * server must serve the next request. */
static void test_nomem_in_process_server(void **state) {
  (void)state;
  inproc ip;
  memset(&ip, 0, sizeof ip);
  assert_int_equal(uv_loop_init(&ip.loop), 0);
  assert_int_equal(mock_init(&ip.mock, &ip.loop), 0);
  httpd_opts o;
  memset(&o, 0, sizeof o);
  o.on_request = mock_on_request;
  o.on_abandon = mock_on_abandon;
  o.user = &ip.mock;
  o.header_timeout_ms = 10000;
  o.body_timeout_ms = 10000;
  char err[256];
  assert_int_equal(httpd_new(&ip.h, &ip.loop, &o, err, sizeof err), 0);
  static batch b;
  memset(&b, 0, sizeof b);
  b.loop = &ip.loop;
  unsigned port = httpd_port(ip.h);
  snprintf(b.base, sizeof b.base, "http://127.0.0.1:%u", port);
  snprintf(b.alt, sizeof b.alt, "http://127.0.0.1:%u", refused_port());
  assert_int_equal(flurry_client_new(&b.c, &ip.loop), FLURRY_OK);
  assert_int_equal(client_options(b.c), FLURRY_OK);
  const char *why = "";
  assert_int_equal(inproc_batch(&b, &why), OK);
  memcpy(b.clean, b.got, sizeof b.clean);
  b.have_clean = 1;
  assert_true(sweep_some("in-process server and client", inproc_batch, &b, 1) > 0);
  int rc = inproc_batch(&b, &why); /* both still work */
  for (int i = 0; i < BATCH; i++)
    if (b.got[i].err != b.clean[i].err || b.got[i].status != b.clean[i].status)
      fail_msg("after the sweep, request %d: %s %d (clean run: %s %d)", i,
               flurry_err_name(b.got[i].err), b.got[i].status, flurry_err_name(b.clean[i].err),
               b.clean[i].status);
  assert_int_equal(rc, OK);
  flurry_client_free(b.c);
  httpd_close(ip.h, on_httpd_closed, &ip);
  uv_run(&ip.loop, UV_RUN_DEFAULT);
  assert_true(ip.closed);
  mock_free(&ip.mock);
  assert_int_equal(uv_loop_close(&ip.loop), 0);
}

static int mock_setup(void **state) {
  static batch b;
  memset(&b, 0, sizeof b);
  mock_start(&b);
  *state = &b;
  return 0;
}

static int mock_teardown(void **state) {
  mock_stop(*state);
  return 0;
}

static void test_nomem_client_batch(void **state) {
  batch *bp = *state, b = *bp;
  const char *why = "";
  assert_int_equal(client_batch(&b, &why), OK);
  memcpy(b.clean, b.got, sizeof b.clean);
  b.have_clean = 1;
  /* the clean run is what the mock promises */
  assert_int_equal(b.clean[0].status, 200);
  assert_int_equal(b.clean[1].status, 200); /* after two 503s */
  assert_int_equal(b.clean[2].err, FLURRY_EHTTP);
  assert_int_equal(b.clean[3].status, 200);
  assert_int_equal(b.clean[4].err, FLURRY_ECONNECT);
  assert_int_equal(b.clean[5].err, FLURRY_EHTTP);
  /* Some failures are absorbed by design, e.g. the client's pool of easy
   * handles is a cache: when it cannot grow, a handle is freed instead of
   * kept. judge() then demands results identical to the clean run. */
  assert_true(sweep_some("client batch with retries, two hosts", client_batch, &b, 1) > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nomem_units),
      cmocka_unit_test(test_nomem_retry_after_allocates_nothing),
      cmocka_unit_test_setup_teardown(test_nomem_client_batch, mock_setup, mock_teardown),
      cmocka_unit_test(test_nomem_in_process_server),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
