/* gather.c: flurry_gather(), asyncio.gather(..., return_exceptions=True)
 * for C: run n requests concurrently, results in input order. */
#include "client_int.h"
#include "response_int.h"

/* user data: the caller's out[i] */
static void on_gathered(flurry_request *req, flurry_response *resp, void *ud) {
  (void)req;
  *(flurry_response **)ud = resp;
}

/* A response for a request the client refused at submit. */
static flurry_response *refused(flurry_request *req, int err) {
  flurry_response *resp = flurry__response_new(1);
  if (resp == NULL)
    return NULL;
  flurry__response_set_error(resp, err, "%s: %s %s", flurry_strerror(err), req->method, req->url);
  return resp;
}

FLURRY_API int flurry_gather(flurry_client *c, flurry_request *const *reqs, size_t n,
                             flurry_response **out) {
  if (c == NULL || (n > 0 && (reqs == NULL || out == NULL)) || c->in_callback) {
    for (size_t i = 0; reqs && i < n; i++)
      flurry_request_free(reqs[i]);
    for (size_t i = 0; out && i < n; i++)
      out[i] = NULL;
    return FLURRY_EINVALID;
  }
  int rc = FLURRY_OK;
  for (size_t i = 0; i < n; i++) {
    out[i] = NULL;
    /* a paginated request calls back once per page: not one slot */
    int err = reqs[i]->chain ? FLURRY_EINVALID
                             : flurry_client_submit(c, reqs[i], on_gathered, &out[i]);
    if (err != FLURRY_OK) {
      out[i] = refused(reqs[i], err);
      if (out[i] == NULL)
        rc = FLURRY_ENOMEM;
      flurry_request_free(reqs[i]);
    }
  }
  flurry_client_run(c);
  return rc;
}
