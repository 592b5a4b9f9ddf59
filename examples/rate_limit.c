/* rate_limit.c: stay under a server's rate limit instead of collecting 429s.
 *
 * The tutorials' answer is an asyncio token bucket (or aiolimiter's
 * AsyncLimiter(20, 1)) wrapped around every call. In flurry it is a client
 * option: FLURRY_OPT_RATE_MILLI starts at most that many requests per
 * second (in thousandths: 20 req/s = 20000), retries included, on top of
 * the in-flight limit. Against the mock's /limited?rate=R&key=K (a token
 * bucket of R per second per key: 429 + Retry-After past it):
 *
 *  1. a client limited to 20 req/s sends 40 requests to a 20/s server:
 *     about 2 s, zero 429s;
 *  2. the same 40 without a limit: done at once, but half of them get 429;
 *  3. FLURRY_OPT_RATE_AUTO, with a server whose rate (50/s) the client is
 *     not told: it learns it from the first answers (429 + Retry-After
 *     pause the host; the RateLimit-Policy header states 50;w=1; without
 *     one it would settle at 90% of what the host accepted). A uv_timer on
 *     the client's loop prints flurry_client_stats_get's rate as it goes.
 *
 * Run: example_rate_limit [BASE_URL]   (default http://127.0.0.1:8080) */
#include <flurry.h>
#include <stdio.h>
#include <uv.h>

#define N_FIXED 40 /* parts 1 and 2: 2 s at 20 req/s */
#define N_AUTO 150 /* part 3: 3 s at 50 req/s */

typedef struct tally {
  int done, ok, n429; /* n429: attempts answered 429, retries included */
  uint64_t t0_ns, t1_ns;
} tally;

static void on_done(flurry_request *req, flurry_response *resp, void *user_data) {
  tally *t = user_data;
  (void)req;
  t->done++;
  t->ok += flurry_response_error(resp) == FLURRY_OK;
  /* Every attempt's status is in the attempt log. */
  for (int i = 0; i < flurry_response_attempts(resp); i++) {
    flurry_attempt a;
    if (flurry_response_attempt(resp, (size_t)i, &a) == FLURRY_OK && a.status == 429)
      t->n429++;
  }
  t->t1_ns = uv_hrtime();
  flurry_response_free(resp);
}

/* Submits n GETs of /limited?rate=rate&key=key and runs them all. */
static int run_batch(flurry_client *client, const char *key, int rate, int n, tally *t) {
  char url[128];
  snprintf(url, sizeof url, "/limited?rate=%d&key=%s", rate, key);
  t->t0_ns = uv_hrtime();
  for (int i = 0; i < n; i++) {
    flurry_request *req;
    if (flurry_request_new(&req, "GET", url) != FLURRY_OK)
      return -1;
    if (flurry_client_submit(client, req, on_done, t) != FLURRY_OK) {
      flurry_request_free(req);
      return -1;
    }
  }
  return flurry_client_run(client);
}

static void print_tally(const char *what, const tally *t) {
  double secs = (double)(t->t1_ns - t->t0_ns) / 1e9;
  printf("%-28s %3d requests in %4.2f s (%5.1f req/s): %d ok, %d x 429\n", what, t->done, secs,
         secs > 0 ? t->done / secs : 0.0, t->ok, t->n429);
}

/* A client on `loop` with the base URL set, or NULL. */
static flurry_client *new_client(uv_loop_t *loop, const char *base) {
  flurry_client *client;
  if (flurry_client_new(&client, loop) != FLURRY_OK)
    return NULL;
  if (flurry_client_set_base_url(client, base) != FLURRY_OK) {
    flurry_client_free(client);
    return NULL;
  }
  return client;
}

/* Parts 1 and 2: a fixed limit against none. Returns 1 when as expected. */
static int fixed_vs_none(const char *base, unsigned long run) {
  char key[64];
  tally limited = {0}, unlimited = {0};
  flurry_client *client = new_client(NULL, base);
  if (client == NULL)
    return 0;
  flurry_client_set(client, FLURRY_OPT_RATE_MILLI, 20 * 1000); /* 20 req/s, evenly */
  snprintf(key, sizeof key, "rl-%lu-fixed", run);
  run_batch(client, key, 20, N_FIXED, &limited);
  print_tally("limit 20/s vs a 20/s server:", &limited);
  flurry_client_free(client);

  client = new_client(NULL, base); /* the same, without a limit */
  if (client == NULL)
    return 0;
  snprintf(key, sizeof key, "rl-%lu-none", run);
  run_batch(client, key, 20, N_FIXED, &unlimited);
  print_tally("no limit vs a 20/s server:", &unlimited);
  flurry_client_free(client);
  return limited.ok == N_FIXED && limited.n429 == 0 && unlimited.n429 > 0;
}

/* Part 3: the client's own timer, next to the requests on its loop. */
typedef struct watch {
  flurry_client *client;
  uv_timer_t timer;
  uint64_t t0_ns;
  double last_rate;
} watch;

static void on_tick(uv_timer_t *timer) {
  watch *w = timer->data;
  flurry_client_stats s;
  flurry_client_stats_get(w->client, &s);
  printf("  t=%4.2f s  rate %5.1f req/s  running %zu  waiting %zu  queued %zu  retries %llu\n",
         (double)(uv_hrtime() - w->t0_ns) / 1e9, s.rate, s.running, s.waiting, s.queued,
         (unsigned long long)s.retries);
  if (s.rate > 0) /* 0 once the host is idle: only busy hosts count */
    w->last_rate = s.rate;
}

static int auto_rate(const char *base, unsigned long run) {
  char key[64];
  tally t = {0};
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0)
    return 0;
  watch w = {0};
  w.client = new_client(&loop, base); /* on our loop, to share it with the timer */
  if (w.client == NULL)
    return 0;
  flurry_client_set(w.client, FLURRY_OPT_RATE_AUTO, 1);
  flurry_client_set(w.client, FLURRY_OPT_MAX_ATTEMPTS, 5); /* 429s are retried */
  uv_timer_init(&loop, &w.timer);
  w.timer.data = &w;
  w.t0_ns = uv_hrtime();
  uv_timer_start(&w.timer, on_tick, 250, 250);

  snprintf(key, sizeof key, "rl-%lu-auto", run);
  printf("auto rate vs a 50/s server (the client is not told):\n");
  run_batch(w.client, key, 50, N_AUTO, &t); /* runs our loop, timer included */
  print_tally("auto vs a 50/s server:", &t);

  uv_close((uv_handle_t *)&w.timer, NULL);
  flurry_client_free(w.client);  /* not inside a callback: fine */
  uv_run(&loop, UV_RUN_DEFAULT); /* lets the closed handles go */
  int closed = uv_loop_close(&loop);
  printf("learned rate: %.1f req/s\n", w.last_rate);
  return closed == 0 && t.ok == N_AUTO && w.last_rate > 25 && w.last_rate <= 55;
}

int main(int argc, char **argv) {
  const char *base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
  flurry_client *probe = new_client(NULL, base);
  if (probe == NULL) {
    fprintf(stderr, "bad base URL '%s'\n", base);
    return 2;
  }
  flurry_client_free(probe);
  /* A fresh set of keys (fresh server buckets) for every run. */
  unsigned long run = (unsigned long)uv_os_getpid() * 1000u + (unsigned long)(uv_hrtime() % 1000u);
  int ok = fixed_vs_none(base, run);
  ok &= auto_rate(base, run);
  printf("%s\n", ok ? "rate limits behaved as expected" : "rate limits did NOT behave as expected");
  return ok ? 0 : 1;
}
