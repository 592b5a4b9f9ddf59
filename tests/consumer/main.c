/* main.c: a program outside the flurry tree, built against an installed
 * libflurry (find_package(flurry) or pkg-config flurry): the public headers
 * alone compile, the shared library links and runs.
 *
 * It creates a client on its own libuv loop, runs one request to a port
 * where nothing listens (127.0.0.1:1: a connection error, loopback only),
 * names the error, frees the client and closes the loop. Exit 0 when all
 * went as expected; the first failed check is printed.
 *
 * FLURRY_EXPECTED_VERSION (a string, from the build) must equal the
 * installed header's FLURRY_VERSION. */
#include <flurry.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#ifndef FLURRY_EXPECTED_VERSION
#error "build with -DFLURRY_EXPECTED_VERSION=\"x.y.z\""
#endif

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "consumer: check failed: %s\n", #cond);                                      \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

/* One GET to a closed loopback port, through the client on `loop`. */
static int request_refused(uv_loop_t *loop) {
  flurry_client *client = NULL;
  CHECK(flurry_client_new(&client, loop) == FLURRY_OK);
  flurry_request *req = NULL;
  flurry_response *resp = NULL;
  CHECK(flurry_request_new(&req, "GET", "http://127.0.0.1:1/") == FLURRY_OK);
  flurry_client_set(client, FLURRY_OPT_MAX_ATTEMPTS, 1);
  int rc = flurry_gather(client, &req, 1, &resp);
  int err = resp ? flurry_response_error(resp) : -1;
  printf("GET http://127.0.0.1:1/ -> %s: %s\n", flurry_err_name(err), flurry_strerror(err));
  flurry_response_free(resp);
  flurry_client_free(client);
  CHECK(rc == FLURRY_OK);
  CHECK(err == FLURRY_ECONNECT);
  return 0;
}

int main(void) {
  printf("flurry %s (%d.%d.%d)\n", FLURRY_VERSION, FLURRY_VERSION_MAJOR, FLURRY_VERSION_MINOR,
         FLURRY_VERSION_PATCH);
  CHECK(strcmp(FLURRY_VERSION, FLURRY_EXPECTED_VERSION) == 0);
  CHECK(strcmp(FLURRY_VERSION, FLURRY_VERSION_STRING) == 0);
  CHECK(strcmp(flurry_err_name(FLURRY_OK), flurry_err_name(FLURRY_ECONNECT)) != 0);
  CHECK(flurry_strerror(FLURRY_ECONNECT)[0] != '\0');

  uv_loop_t loop;
  CHECK(uv_loop_init(&loop) == 0);
  int failed = request_refused(&loop);
  uv_run(&loop, UV_RUN_DEFAULT); /* lets the client's handles close */
  CHECK(uv_loop_close(&loop) == 0);
  CHECK(failed == 0);
  printf("consumer: ok\n");
  return 0;
}
