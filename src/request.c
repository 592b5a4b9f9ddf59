/* request.c: building and validating one request. */
#include <string.h>

#include "opt_int.h"
#include "paginate_int.h"
#include "redirect_int.h"
#include "request_int.h"
#include "stream_int.h"

/* RFC 9110 token characters (method and header names). */
static int is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return 1;
  return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_token(const char *s) {
  if (s == NULL || *s == '\0')
    return 0;
  for (; *s; s++)
    if (!is_tchar((unsigned char)*s))
      return 0;
  return 1;
}

/* 1 when s has a control character (C0 or DEL); tab allowed if tab_ok. */
static int has_ctl(const char *s, int tab_ok) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c < 0x20 && !(tab_ok && c == '\t')) || c == 0x7f)
      return 1;
  }
  return 0;
}

/* A header value may hold tabs, never CR, LF (a header of the attacker's
 * choosing) or another control character; NUL cannot get in (C strings). */
int flurry__header_valid(const char *name, const char *value) {
  if (!is_token(name) || value == NULL)
    return 0;
  return !has_ctl(value, 1);
}

int flurry__method_idempotent(const char *method) {
  return strcmp(method, "POST") != 0 && strcmp(method, "PATCH") != 0;
}

FLURRY_API int flurry_request_new(flurry_request **out, const char *method, const char *url) {
  if (out == NULL || !is_token(method) || url == NULL || *url == '\0' || strchr(url, ' ') != NULL ||
      has_ctl(url, 0))
    return FLURRY_EINVALID;
  flurry_request *req = fl_calloc(1, sizeof *req);
  if (req == NULL)
    return FLURRY_ENOMEM;
  req->method = fl_strdup(method);
  req->url = fl_strdup(url);
  if (req->method == NULL || req->url == NULL) {
    flurry_request_free(req);
    return FLURRY_ENOMEM;
  }
  req->query.max = 64 * 1024;
  *out = req;
  return FLURRY_OK;
}

FLURRY_API void flurry_request_free(flurry_request *req) {
  if (req == NULL)
    return;
  fl_free(req->method);
  fl_free(req->url);
  fl_buf_free(&req->query);
  curl_slist_free_all(req->headers);
  curl_slist_free_all(req->send_headers);
  fl_free(req->body);
  fl_free(req->resolved_url);
  flurry__redirect_reset(req);
  flurry_response_free(req->resp);
  flurry__follow_free(req);
  flurry__stream_free(req->stream);
  fl_free(req);
}

/* Appends "Name: value" to a curl list. An empty value is sent as an empty
 * header ("Name;" is curl's spelling for that). */
int flurry__slist_add(struct curl_slist **list, const char *name, const char *value) {
  fl_buf line = FL_BUF_INIT(0);
  int rc = *value ? fl_buf_printf(&line, "%s: %s", name, value) : fl_buf_printf(&line, "%s;", name);
  if (rc != FL_OK) {
    fl_buf_free(&line);
    return FLURRY_ENOMEM;
  }
  struct curl_slist *l = curl_slist_append(*list, line.data);
  fl_buf_free(&line);
  if (l == NULL)
    return FLURRY_ENOMEM;
  *list = l;
  return FLURRY_OK;
}

int flurry__slist_has(const struct curl_slist *l, const char *name) {
  size_t n = strlen(name);
  for (; l; l = l->next)
    if (fl_strncaseeq(l->data, name, n) && (l->data[n] == ':' || l->data[n] == ';'))
      return 1;
  return 0;
}

FLURRY_API int flurry_request_add_header(flurry_request *req, const char *name, const char *value) {
  if (req == NULL || !flurry__header_valid(name, value))
    return FLURRY_EINVALID;
  int rc = flurry__slist_add(&req->headers, name, value);
  if (rc != FLURRY_OK)
    return rc;
  if (fl_strcaseeq(name, "Content-Type"))
    req->has_content_type = 1;
  if (fl_strcaseeq(name, "Idempotency-Key"))
    req->has_idempotency_key = 1;
  return FLURRY_OK;
}

FLURRY_API int flurry_request_add_query(flurry_request *req, const char *name, const char *value) {
  if (req == NULL || name == NULL || *name == '\0' || value == NULL)
    return FLURRY_EINVALID;
  char *n = curl_easy_escape(NULL, name, 0);
  char *v = curl_easy_escape(NULL, value, 0);
  int rc = FLURRY_ENOMEM;
  if (n != NULL && v != NULL)
    rc = fl_buf_printf(&req->query, "%s%s=%s", req->query.len ? "&" : "", n, v);
  curl_free(n);
  curl_free(v);
  if (rc == FL_ELIMIT)
    return FLURRY_EINVALID;
  return rc == FL_OK ? FLURRY_OK : FLURRY_ENOMEM;
}

FLURRY_API int flurry_request_set_body(flurry_request *req, const void *body, size_t len) {
  if (req == NULL || (body == NULL && len > 0))
    return FLURRY_EINVALID;
  char *copy = fl_malloc(len + 1);
  if (copy == NULL)
    return FLURRY_ENOMEM;
  if (len)
    memcpy(copy, body, len);
  copy[len] = '\0';
  fl_free(req->body);
  req->body = copy;
  req->body_len = len;
  req->has_body = 1;
  return FLURRY_OK;
}

FLURRY_API int flurry_request_set_json(flurry_request *req, const char *json, size_t len) {
  int rc = flurry_request_set_body(req, json, len);
  if (rc == FLURRY_OK && !req->has_content_type)
    rc = flurry_request_add_header(req, "Content-Type", "application/json");
  return rc;
}

FLURRY_API int flurry_request_set(flurry_request *req, flurry_opt opt, int64_t value) {
  if (req == NULL || flurry__opt_client_only(opt) || flurry__opt_check(opt, value) != 0)
    return FLURRY_EINVALID;
  req->opt[opt] = value;
  req->opt_set |= (uint64_t)1 << opt;
  return FLURRY_OK;
}

int64_t flurry__opt(const flurry_request *req, const flurry__opts *defaults, flurry_opt opt) {
  return (req->opt_set & ((uint64_t)1 << opt)) ? req->opt[opt] : defaults->v[opt];
}

FLURRY_API const char *flurry_request_method(const flurry_request *req) { return req->method; }

const char *flurry__target_url(const flurry_request *req) {
  return req->resolved_url ? req->resolved_url : req->url;
}

FLURRY_API const char *flurry_request_url(const flurry_request *req) { return req->url; }
