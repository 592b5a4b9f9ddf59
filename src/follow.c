/* follow.c: follow-up requests: ids, provenance (the parent request and the
 * path that made a request) and submitting through a de-duplication set. */
#include <string.h>

#include "client_int.h"

#define PATH_MAX_BYTES 4096

FLURRY_API uint64_t flurry_request_id(const flurry_request *req) { return req ? req->id : 0; }

FLURRY_API uint64_t flurry_request_parent(const flurry_request *req) {
  return req ? req->parent_id : 0;
}

FLURRY_API const char *flurry_request_path(const flurry_request *req) {
  return req && req->path ? req->path : "";
}

FLURRY_API int flurry_request_set_parent(flurry_request *req, const flurry_request *parent,
                                         const char *step) {
  if (req == NULL || parent == NULL || step == NULL || req->state != REQ_NEW || parent->id == 0)
    return FLURRY_EINVALID;
  const char *base = flurry_request_path(parent);
  fl_buf b = FL_BUF_INIT(PATH_MAX_BYTES);
  int rc = fl_buf_puts(&b, base);
  if (rc == FL_OK && *base)
    rc = fl_buf_putc(&b, '/');
  if (rc == FL_OK)
    rc = fl_buf_puts(&b, step);
  if (rc == FL_OK && b.data == NULL)
    rc = fl_buf_reserve(&b, 1); /* an empty path is a path */
  if (rc != FL_OK) {
    fl_buf_free(&b);
    return rc == FL_ELIMIT ? FLURRY_ETOO_LARGE : FLURRY_ENOMEM;
  }
  fl_free(req->path);
  req->path = fl_buf_take(&b, NULL);
  req->parent_id = parent->id;
  return FLURRY_OK;
}

FLURRY_API int flurry_client_submit_unique(flurry_client *c, flurry_request *req, flurry_dedupe *d,
                                           flurry_done_cb cb, void *user_data, int *submitted) {
  if (c == NULL || req == NULL || d == NULL || submitted == NULL)
    return FLURRY_EINVALID;
  *submitted = 0;
  uint64_t key = flurry_request_identity(c, req);
  if (flurry_dedupe_has(d, key))
    return FLURRY_OK;
  int rc = flurry_client_submit(c, req, cb, user_data);
  if (rc != FLURRY_OK)
    return rc;
  *submitted = 1;
  (void)flurry_dedupe_add(d, key, NULL); /* full: submitted, not remembered */
  return FLURRY_OK;
}
