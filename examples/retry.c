/* retry.c: a retry policy, and what each request went through.
 *
 * The C version of the tenacity/backoff decorators of the tutorials:
 *
 *     @retry(stop=stop_after_attempt(4) | stop_after_delay(5),
 *            wait=wait_random_exponential(multiplier=0.05, max=0.5))
 *     async def get(url): ...
 *
 * The policy is set once on the client (attempts, backoff base and cap,
 * decorrelated jitter, a deadline) and may be overridden per request.
 * Each response keeps its attempt log (flurry_response_attempt): status,
 * error and duration of every attempt, and the wait before the next one.
 * A request that gives up says why in flurry_response_detail (a
 * flurry_detail; flurry_detail_name gives its word).
 *
 * Against the mock's /flaky?key=K&fail=N (the first N requests with key K
 * answer 503), it shows:
 *  - fail=2 succeeds on attempt 3;
 *  - fail=100 runs out of attempts (4), and with a 400 ms deadline stops
 *    early with FLURRY_DETAIL_DEADLINE, the last 503 kept;
 *  - a retry whose wait would end past the deadline is not made: with
 *    waits of 10 s and a 3 s deadline the first 503 is the answer;
 *  - POST is not retried (not idempotent) unless the request sets
 *    FLURRY_OPT_RETRY_UNSAFE or carries an Idempotency-Key header;
 *  - a 503 with Retry-After: 1 is retried after the server's 1 s, not the
 *    backoff's few milliseconds (and the whole host waits with it).
 *
 * Run: example_retry [BASE_URL]   (default http://127.0.0.1:8080) */
#include <flurry.h>
#include <stdio.h>
#include <string.h>

typedef struct retry_case {
  const char *what; /* a label for the output */
  const char *method;
  const char *query;    /* appended to /flaky?key=<run>-<i>& */
  long deadline_ms;     /* 0: the client's */
  int max_attempts;     /* 0: the client's */
  int unsafe;           /* FLURRY_OPT_RETRY_UNSAFE on this request */
  const char *idem_key; /* an Idempotency-Key header, or NULL */
  int want_attempts;    /* what we expect (-1: any) */
  int want_status;
  int want_detail; /* a flurry_detail */
  int or_timeout;  /* or a last attempt that timed out */
  long wait_ms;    /* 0: the client's backoff; else every wait is this */
} retry_case;

static const retry_case cases[] = {
    {"GET  fail=2", "GET", "fail=2", 0, 0, 0, NULL, 3, 200, FLURRY_DETAIL_NONE, 0, 0},
    {"GET  fail=100", "GET", "fail=100", 0, 0, 0, NULL, 4, 503, FLURRY_DETAIL_NONE, 0, 0},
    /* 10 attempts allowed, but waits of 50 ms or more cannot fit 10 in 400 ms;
     * the last attempt gets what is left of the 400 ms and may time out on
     * a slow machine instead of reading its 503. How many attempts fit
     * depends on timing; a retry refused when it is due and one whose timer
     * fires late (a busy machine) past the deadline end the same way. */
    {"GET  fail=100, deadline 400 ms", "GET", "fail=100", 400, 10, 0, NULL, -1, 503,
     FLURRY_DETAIL_DEADLINE, 1, 0},
    /* The first wait (10 s) ends past the deadline (3 s) however fast the
     * first attempt is: the retry is refused as soon as that attempt ends. */
    {"GET  fail=100, deadline 3 s, waits 10 s", "GET", "fail=100", 3000, 10, 0, NULL, 1, 503,
     FLURRY_DETAIL_DEADLINE, 1, 10000},
    {"POST fail=1", "POST", "fail=1", 0, 0, 0, NULL, 1, 503, FLURRY_DETAIL_NONE, 0, 0},
    {"POST fail=1, RETRY_UNSAFE", "POST", "fail=1", 0, 0, 1, NULL, 2, 200, FLURRY_DETAIL_NONE, 0,
     0},
    {"POST fail=1, Idempotency-Key", "POST", "fail=1", 0, 0, 0, "order-42", 2, 200,
     FLURRY_DETAIL_NONE, 0, 0},
};
#define N (sizeof cases / sizeof cases[0])

/* Builds the request of case c; `run` keeps /flaky's counters fresh when the
 * example runs twice against the same server. */
static flurry_request *build(const retry_case *c, unsigned long run, int i) {
  char url[160];
  snprintf(url, sizeof url, "/flaky?key=retry-%lu-%d&%s", run, i, c->query);
  flurry_request *req;
  if (flurry_request_new(&req, c->method, url) != FLURRY_OK)
    return NULL;
  if (strcmp(c->method, "POST") == 0)
    flurry_request_set_json(req, "{\"order\":42}", 12);
  if (c->deadline_ms > 0)
    flurry_request_set(req, FLURRY_OPT_DEADLINE_MS, c->deadline_ms);
  if (c->max_attempts > 0)
    flurry_request_set(req, FLURRY_OPT_MAX_ATTEMPTS, c->max_attempts);
  if (c->wait_ms > 0) { /* base = cap: the decorrelated jitter has no room */
    flurry_request_set(req, FLURRY_OPT_RETRY_BASE_MS, c->wait_ms);
    flurry_request_set(req, FLURRY_OPT_RETRY_CAP_MS, c->wait_ms);
  }
  if (c->unsafe)
    flurry_request_set(req, FLURRY_OPT_RETRY_UNSAFE, 1);
  if (c->idem_key != NULL)
    flurry_request_add_header(req, "Idempotency-Key", c->idem_key);
  return req;
}

/* Prints the outcome and the attempt log of one response; `max` is the
 * attempts it was allowed. */
static void print_response(const char *what, const flurry_response *resp, int max) {
  int err = flurry_response_error(resp), n = flurry_response_attempts(resp);
  flurry_timings t;
  flurry_response_timings(resp, &t);
  printf("%-40s -> %s, status %d, %d attempt(s), %.0f ms\n", what,
         err == FLURRY_OK ? "ok" : flurry_err_name(err), flurry_response_status(resp), n,
         t.elapsed_ms);
  for (int i = 0; i < n; i++) {
    flurry_attempt a;
    if (flurry_response_attempt(resp, (size_t)i, &a) != FLURRY_OK)
      break;
    printf("    attempt %d: %d %-4s %6.1f ms", i + 1, a.status,
           a.error == FLURRY_OK ? "ok" : flurry_err_name(a.error), a.elapsed_ms);
    if (i + 1 < n)
      printf(", then wait %4.0f ms", a.wait_ms);
    printf("\n");
  }
  if (err != FLURRY_OK) {
    /* The detail says why a retry was not made (FLURRY_DETAIL_DEADLINE,
     * RETRY_BUDGET, RETRY_AFTER_TOO_LONG...); none when the attempts ran
     * out or the failure was not retryable (a POST's 503). */
    int detail = flurry_response_detail(resp);
    const char *why = detail != FLURRY_DETAIL_NONE ? "stopped early"
                      : n == max                   ? "out of attempts"
                                                   : "not retried";
    printf("    %s, detail \"%s\": %s\n", why, flurry_detail_name(detail),
           flurry_response_error_message(resp));
  }
}

static int as_expected(const retry_case *c, const flurry_response *resp) {
  return (c->want_attempts < 0 || flurry_response_attempts(resp) == c->want_attempts) &&
         (flurry_response_status(resp) == c->want_status ||
          (c->or_timeout && flurry_response_error(resp) == FLURRY_ETIMEOUT &&
           flurry_response_attempts(resp) > 0)) &&
         flurry_response_detail(resp) == c->want_detail;
}

/* A 503 with Retry-After: 1, alone (the pause holds the whole host). */
static int retry_after(flurry_client *client, unsigned long run) {
  char url[128];
  snprintf(url, sizeof url, "/flaky?key=retry-%lu-ra&fail=1&retry_after=1", run);
  flurry_request *req;
  flurry_response *resp = NULL;
  if (flurry_request_new(&req, "GET", url) != FLURRY_OK)
    return 0;
  flurry_gather(client, &req, 1, &resp);
  if (resp == NULL)
    return 0;
  print_response("GET  fail=1, Retry-After: 1", resp, 4);
  flurry_attempt first;
  int ok = flurry_response_error(resp) == FLURRY_OK && flurry_response_attempts(resp) == 2 &&
           flurry_response_attempt(resp, 0, &first) == FLURRY_OK && first.wait_ms >= 1000;
  flurry_response_free(resp);
  return ok;
}

int main(int argc, char **argv) {
  const char *base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
  flurry_client *client;
  int rc = flurry_client_new(&client, NULL);
  if (rc != FLURRY_OK) {
    fprintf(stderr, "flurry_client_new: %s\n", flurry_strerror(rc));
    return 1;
  }
  if (flurry_client_set_base_url(client, base) != FLURRY_OK) {
    fprintf(stderr, "bad base URL '%s'\n", base);
    flurry_client_free(client);
    return 2;
  }
  /* The policy: 4 attempts in all; waits drawn by decorrelated jitter
   * between the 50 ms base and 3x the previous wait, capped at 500 ms; no
   * request lasts over 5 s, retries and waits included. */
  flurry_client_set(client, FLURRY_OPT_MAX_ATTEMPTS, 4);
  flurry_client_set(client, FLURRY_OPT_RETRY_BASE_MS, 50);
  flurry_client_set(client, FLURRY_OPT_RETRY_CAP_MS, 500);
  flurry_client_set(client, FLURRY_OPT_RETRY_JITTER, FLURRY_JITTER_DECORRELATED);
  flurry_client_set(client, FLURRY_OPT_DEADLINE_MS, 5000);
  flurry_client_set(client, FLURRY_OPT_TIMEOUT_MS, 2000);

  unsigned long run = (unsigned long)uv_os_getpid() * 1000u + (unsigned long)(uv_hrtime() % 1000u);
  flurry_request *reqs[N];
  flurry_response *out[N];
  for (size_t i = 0; i < N; i++) {
    reqs[i] = build(&cases[i], run, (int)i);
    if (reqs[i] == NULL) {
      fprintf(stderr, "out of memory\n");
      return 1;
    }
  }
  flurry_gather(client, reqs, N, out);

  int good = 0;
  for (size_t i = 0; i < N; i++) {
    if (out[i] == NULL)
      continue;
    print_response(cases[i].what, out[i], cases[i].max_attempts ? cases[i].max_attempts : 4);
    good += as_expected(&cases[i], out[i]);
    flurry_response_free(out[i]);
  }
  good += retry_after(client, run);
  printf("%d/%zu requests retried as expected\n", good, N + 1);
  flurry_client_free(client);
  return good == (int)N + 1 ? 0 : 1;
}
