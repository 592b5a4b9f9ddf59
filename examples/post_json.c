/* post_json.c: POST a JSON body and print what the server echoed back.
 *
 *     r = await session.post(f"{base}/echo", json={"name": "Ada", ...})
 *     print(await r.text())
 *
 * flurry_request_set_json copies the text and adds
 * "Content-Type: application/json". The mock's /echo answers with the
 * method, path, headers and body it received.
 *
 * Run: example_post_json [BASE_URL]   (default http://127.0.0.1:8080) */
#include <flurry.h>
#include <stdio.h>
#include <string.h>

static const char payload[] = "{\"name\": \"Ada Lovelace\", \"year\": 1843, "
                              "\"tags\": [\"math\", \"engines\"]}";

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

  flurry_request *req;
  if (flurry_request_new(&req, "POST", "/echo") != FLURRY_OK ||
      flurry_request_set_json(req, payload, strlen(payload)) != FLURRY_OK) {
    fprintf(stderr, "cannot build the request\n");
    return 1;
  }

  /* One request is a gather of one: it waits and hands back the response. */
  flurry_response *resp = NULL;
  flurry_gather(client, &req, 1, &resp);
  if (resp == NULL) {
    fprintf(stderr, "out of memory\n");
    flurry_client_free(client);
    return 1;
  }

  int ok = flurry_response_error(resp) == FLURRY_OK;
  if (ok) {
    size_t len;
    const char *body = flurry_response_body(resp, &len);
    printf("status %d, %s, %zu bytes:\n%s\n", flurry_response_status(resp),
           flurry_response_header(resp, "Content-Type"), len, body);
    /* The echo carries our JSON back as its "body" member. */
    ok = strstr(body, "\"method\":\"POST\"") != NULL && strstr(body, "Ada Lovelace") != NULL;
    printf(ok ? "echoed: POST with our JSON body\n" : "unexpected echo\n");
  } else {
    printf("error %s: %s\n", flurry_err_name(flurry_response_error(resp)),
           flurry_response_error_message(resp));
  }
  flurry_response_free(resp);
  flurry_client_free(client);
  return ok ? 0 : 1;
}
