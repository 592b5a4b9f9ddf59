/* client.c: one reusable client, configured once, like
 *
 *     async with httpx.AsyncClient(base_url=base,
 *                                  headers={"Authorization": "Bearer ..."},
 *                                  timeout=1.0) as client:
 *         await client.get("/users/1")
 *         await client.get("/delay/1500", timeout=3.0)
 *
 * The base URL, default headers and default options live on the client;
 * requests use relative paths and may override an option for themselves.
 * Its connections are reused across requests.
 *
 * Run: example_client [BASE_URL]   (default http://127.0.0.1:8080) */
#include <flurry.h>
#include <stdio.h>
#include <string.h>

static const char token[] = "Bearer demo-token";

/* Builds a GET for `path`; timeout_ms > 0 overrides the client's default. */
static flurry_request *get(const char *path, long timeout_ms) {
  flurry_request *req;
  if (flurry_request_new(&req, "GET", path) != FLURRY_OK)
    return NULL;
  if (timeout_ms > 0)
    flurry_request_set(req, FLURRY_OPT_TIMEOUT_MS, timeout_ms);
  return req;
}

int main(int argc, char **argv) {
  const char *base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
  flurry_client *client;
  int rc = flurry_client_new(&client, NULL);
  if (rc != FLURRY_OK) {
    fprintf(stderr, "flurry_client_new: %s\n", flurry_strerror(rc));
    return 1;
  }
  /* Configure once: base URL, a header for every request, defaults. */
  if (flurry_client_set_base_url(client, base) != FLURRY_OK) {
    fprintf(stderr, "bad base URL '%s'\n", base);
    flurry_client_free(client);
    return 2;
  }
  flurry_client_add_header(client, "Authorization", token);
  flurry_client_set(client, FLURRY_OPT_TIMEOUT_MS, 1000); /* default: 1 s */
  flurry_client_set(client, FLURRY_OPT_MAX_ATTEMPTS, 3);  /* retry 5xx/connect */

  /* Relative paths; the slow one gets 3 s instead of the default 1 s. */
  flurry_request *reqs[] = {get("/users/1", 0), get("/users/2", 0), get("/headers", 0),
                            get("/delay/1500", 3000)};
  enum { N = sizeof reqs / sizeof reqs[0] };
  for (int i = 0; i < N; i++) {
    if (reqs[i] == NULL) {
      fprintf(stderr, "out of memory\n");
      return 1;
    }
  }
  flurry_response *out[N];
  flurry_gather(client, reqs, N, out);

  int ok = 0, auth_seen = 0;
  for (int i = 0; i < N; i++) {
    if (out[i] == NULL)
      continue;
    int err = flurry_response_error(out[i]);
    const char *body = flurry_response_body(out[i], NULL);
    flurry_timings t;
    flurry_response_timings(out[i], &t);
    if (err == FLURRY_OK) {
      ok++;
      printf("%-40s %d in %4.0f ms\n", flurry_response_effective_url(out[i]),
             flurry_response_status(out[i]), t.elapsed_ms);
    } else {
      printf("%-40s error %s: %s\n", flurry_response_effective_url(out[i]), flurry_err_name(err),
             flurry_response_error_message(out[i]));
    }
    /* /headers echoes what we sent: the client's header went along. */
    if (strstr(body, "\"authorization\":\"Bearer demo-token\"") != NULL)
      auth_seen = 1;
    flurry_response_free(out[i]);
  }
  printf("authorization header sent: %s\n", auth_seen ? "yes" : "no");
  printf("%d/%d ok with one client\n", ok, N);
  flurry_client_free(client);
  return ok == N && auth_seen ? 0 : 1;
}
