/* bounded.c: 1,000 requests, at most 50 in flight, through the callback API.
 *
 * The asyncio tutorials bound concurrency with a semaphore:
 *
 *     sem = asyncio.Semaphore(50)
 *     async def get(i):
 *         async with sem:
 *             return await session.get(f"/delay/10?i={i}")
 *
 * Here the client is the semaphore: FLURRY_OPT_MAX_IN_FLIGHT caps the
 * requests running at once and the rest wait in its FIFO queue. Submit all,
 * run, and count completions in the callback.
 *
 * Run: example_bounded [BASE_URL]   (default http://127.0.0.1:8080) */
#include <flurry.h>
#include <stdio.h>
#include <uv.h>

#define TOTAL 1000
#define LIMIT 50
#define DELAY_MS 10 /* each request takes ~10 ms on the mock server */

typedef struct counts {
  int done, ok, failed;
  int first_err; /* kind of the first failure, for the summary */
} counts;

/* Runs once per request, from the loop. `resp` is ours to free; `req` is
 * freed by the client after we return. */
static void on_done(flurry_request *req, flurry_response *resp, void *user_data) {
  counts *c = user_data;
  (void)req;
  c->done++;
  int err = flurry_response_error(resp);
  if (err == FLURRY_OK) {
    c->ok++;
  } else if (c->failed++ == 0) {
    c->first_err = err;
    fprintf(stderr, "first failure: %s: %s\n", flurry_err_name(err),
            flurry_response_error_message(resp));
  }
  if (c->done % 200 == 0)
    printf("%d done\n", c->done);
  flurry_response_free(resp);
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
  flurry_client_set(client, FLURRY_OPT_MAX_IN_FLIGHT, LIMIT); /* the semaphore */

  counts c = {0, 0, 0, 0};
  uint64_t t0 = uv_hrtime();
  for (int i = 0; i < TOTAL; i++) {
    char path[48];
    snprintf(path, sizeof path, "/delay/%d?i=%d", DELAY_MS, i);
    flurry_request *req;
    if (flurry_request_new(&req, "GET", path) != FLURRY_OK)
      break;
    /* Queued, not started: the callback never runs inside submit. */
    if (flurry_client_submit(client, req, on_done, &c) != FLURRY_OK) {
      flurry_request_free(req); /* refused: still ours */
      break;
    }
  }
  printf("submitted %zu, running at most %d at once\n", flurry_client_pending(client), LIMIT);

  flurry_client_run(client); /* until every callback has run */

  double ms = (double)(uv_hrtime() - t0) / 1e6;
  printf("completed %d/%d (%d ok, %d failed) in %.0f ms\n", c.done, TOTAL, c.ok, c.failed, ms);
  /* With 50 at a time, 1000 requests of 10 ms need at least 200 ms. */
  printf("lower bound with %d in flight: %d ms\n", LIMIT, TOTAL / LIMIT * DELAY_MS);
  flurry_client_free(client);
  return c.ok == TOTAL ? 0 : 1;
}
