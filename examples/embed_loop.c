/* embed_loop.c: the client on the caller's own libuv loop, next to the
 * caller's own handles (here a timer ticking every 100 ms).
 *
 * Like running aiohttp inside an application that already has an event
 * loop: nothing blocks, the requests and the timer share one uv_run().
 *
 * Rules for a client on your loop:
 *  - flurry_client_new(&client, &loop), then submit and run the loop;
 *  - never free the client from inside a completion callback (here the
 *    timer does it once every response is in);
 *  - after flurry_client_free, run the loop once more so its handles close,
 *    then uv_loop_close() returns 0.
 *
 * Run: example_embed_loop [BASE_URL]   (default http://127.0.0.1:8080) */
#include <flurry.h>
#include <stdio.h>
#include <uv.h>

#define N 5

typedef struct app {
  flurry_client *client;
  uv_timer_t ticker;
  int ticks;
  int done, ok;
} app;

static void on_done(flurry_request *req, flurry_response *resp, void *user_data) {
  app *a = user_data;
  a->done++;
  a->ok += flurry_response_error(resp) == FLURRY_OK;
  printf("  response %d/%d: %s %s -> %s\n", a->done, N, flurry_request_method(req),
         flurry_request_url(req),
         flurry_response_error(resp) == FLURRY_OK ? "ok"
                                                  : flurry_err_name(flurry_response_error(resp)));
  flurry_response_free(resp);
}

/* The application's own timer. It keeps ticking while requests run, and
 * shuts everything down once they are all done. */
static void on_tick(uv_timer_t *t) {
  app *a = t->data;
  a->ticks++;
  printf("tick %d: %zu request(s) pending\n", a->ticks, flurry_client_pending(a->client));
  if (a->done == N) {
    uv_close((uv_handle_t *)&a->ticker, NULL);
    flurry_client_free(a->client); /* safe: not inside a completion callback */
    a->client = NULL;
  }
}

int main(int argc, char **argv) {
  const char *base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0)
    return 1;
  app a = {0};
  int rc = flurry_client_new(&a.client, &loop); /* attach to our loop */
  if (rc != FLURRY_OK) {
    fprintf(stderr, "flurry_client_new: %s\n", flurry_strerror(rc));
    return 1;
  }
  if (flurry_client_set_base_url(a.client, base) != FLURRY_OK) {
    fprintf(stderr, "bad base URL '%s'\n", base);
    flurry_client_free(a.client);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return 2;
  }
  flurry_client_set(a.client, FLURRY_OPT_TIMEOUT_MS, 5000);

  /* Our own handle on the same loop. */
  uv_timer_init(&loop, &a.ticker);
  a.ticker.data = &a;
  uv_timer_start(&a.ticker, on_tick, 100, 100);

  /* Five requests of 200..1000 ms, all at once. */
  for (int i = 1; i <= N; i++) {
    char path[32];
    snprintf(path, sizeof path, "/delay/%d", i * 200);
    flurry_request *req;
    if (flurry_request_new(&req, "GET", path) != FLURRY_OK)
      return 1;
    if (flurry_client_submit(a.client, req, on_done, &a) != FLURRY_OK)
      flurry_request_free(req);
  }

  /* One loop runs it all; it returns once the timer and the client's
   * handles are closed. */
  uv_run(&loop, UV_RUN_DEFAULT);
  int closed = uv_loop_close(&loop);
  printf("loop done: %d ticks alongside %d/%d ok responses, uv_loop_close %s\n", a.ticks, a.ok, N,
         closed == 0 ? "clean" : uv_strerror(closed));
  return a.ok == N && a.ticks > 0 && closed == 0 ? 0 : 1;
}
