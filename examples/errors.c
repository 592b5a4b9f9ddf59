/* errors.c: per-request error handling. Each request fails (or not) on its
 * own: a 404, a refused connection and a timeout do not cancel each other
 * or the request that succeeds.
 *
 * In asyncio terms, gather(..., return_exceptions=True) and an isinstance()
 * per result; here every response carries a typed error kind
 * (flurry_response_error), its stable name (flurry_err_name) and a message.
 *
 * Run: example_errors [BASE_URL]   (default http://127.0.0.1:8080) */
#include <flurry.h>
#include <stdio.h>

typedef struct expect {
  const char *what;
  const char *url; /* relative to the base URL, or absolute */
  long timeout_ms; /* 0: the client's default */
  int want;        /* the error kind we expect */
} expect;

static const expect cases[] = {
    {"success       ", "/json", 0, FLURRY_OK},
    {"not found     ", "/status/404", 0, FLURRY_EHTTP},
    {"refused       ", "http://127.0.0.1:1/", 0, FLURRY_ECONNECT},
    {"timeout       ", "/delay/5000", 500, FLURRY_ETIMEOUT}, /* 5 s answer, 500 ms budget */
    {"server error  ", "/status/503", 0, FLURRY_EHTTP},
};
#define N (sizeof cases / sizeof cases[0])

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
  flurry_client_set(client, FLURRY_OPT_CONNECT_TIMEOUT_MS, 2000);

  flurry_request *reqs[N];
  flurry_response *out[N];
  for (size_t i = 0; i < N; i++) {
    if (flurry_request_new(&reqs[i], "GET", cases[i].url) != FLURRY_OK)
      return 1;
    /* A per-request override: only this request gets the short timeout. */
    if (cases[i].timeout_ms > 0)
      flurry_request_set(reqs[i], FLURRY_OPT_TIMEOUT_MS, cases[i].timeout_ms);
  }
  flurry_gather(client, reqs, N, out);

  int as_expected = 0;
  for (size_t i = 0; i < N; i++) {
    if (out[i] == NULL)
      continue;
    int err = flurry_response_error(out[i]);
    if (err == FLURRY_OK) {
      printf("%s %-20s ok, status %d\n", cases[i].what, cases[i].url,
             flurry_response_status(out[i]));
    } else {
      /* The kind is for code ("timeout", "connect", ...); the message is
       * for people. An HTTP error still has its status and body. */
      printf("%s %-20s error %-9s status %d: %s\n", cases[i].what, cases[i].url,
             flurry_err_name(err), flurry_response_status(out[i]),
             flurry_response_error_message(out[i]));
    }
    as_expected += err == cases[i].want;
    flurry_response_free(out[i]);
  }
  printf("%d/%zu requests ended as expected\n", as_expected, N);
  flurry_client_free(client);
  return as_expected == (int)N ? 0 : 1;
}
