/* gather.c: 20 GETs at once, results in input order.
 *
 * The C version of
 *
 *     results = await asyncio.gather(*(get(f"/users/{i}") for i in ids),
 *                                    return_exceptions=True)
 *
 * flurry_gather() takes the requests, runs them concurrently and fills
 * out[i] with the response to reqs[i]: success or error, nothing dropped,
 * nothing raised. Each response is then ours to free.
 *
 * Run: example_gather [BASE_URL]   (default http://127.0.0.1:8080)
 * against `flurry mock --port 8080` (see README.md). */
#include <flurry.h>
#include <stdio.h>

#define N 20

int main(int argc, char **argv) {
  const char *base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
  flurry_client *client;
  /* NULL: the client runs a private loop; flurry_gather drives it. */
  int rc = flurry_client_new(&client, NULL);
  if (rc != FLURRY_OK) {
    fprintf(stderr, "flurry_client_new: %s\n", flurry_strerror(rc));
    return 1;
  }
  rc = flurry_client_set_base_url(client, base);
  if (rc != FLURRY_OK) {
    fprintf(stderr, "bad base URL '%s': %s\n", base, flurry_strerror(rc));
    flurry_client_free(client);
    return 2;
  }

  /* Build the requests (relative URLs resolve against the base URL). */
  flurry_request *reqs[N];
  flurry_response *out[N];
  for (int i = 0; i < N; i++) {
    char path[32];
    snprintf(path, sizeof path, "/users/%d", i + 1);
    if (flurry_request_new(&reqs[i], "GET", path) != FLURRY_OK) {
      fprintf(stderr, "out of memory\n");
      return 1; /* a real program would free reqs[0..i) and the client */
    }
  }

  /* Run them all; gather takes the requests over whatever it returns. */
  rc = flurry_gather(client, reqs, N, out);
  if (rc != FLURRY_OK)
    fprintf(stderr, "flurry_gather: %s (some results may be missing)\n", flurry_strerror(rc));

  /* out[i] belongs to reqs[i]: print in input order. */
  int ok = 0;
  for (int i = 0; i < N; i++) {
    if (out[i] == NULL)
      continue;
    int err = flurry_response_error(out[i]);
    size_t len;
    flurry_response_body(out[i], &len);
    if (err == FLURRY_OK) {
      ok++;
      printf("%2d  %s -> %d (%zu bytes)\n", i, flurry_response_effective_url(out[i]),
             flurry_response_status(out[i]), len);
    } else {
      printf("%2d  error %s: %s\n", i, flurry_err_name(err), flurry_response_error_message(out[i]));
    }
    flurry_response_free(out[i]);
  }
  printf("gathered %d/%d ok, in input order\n", ok, N);
  flurry_client_free(client);
  return ok == N ? 0 : 1;
}
