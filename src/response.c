/* response.c: the response object, its accessors, header capture and the
 * mapping of libcurl results to error kinds. */
#include <stdio.h>
#include <string.h>

#include "client_int.h"
#include "response_int.h"

flurry_response *flurry__response_new(size_t max_body) {
  flurry_response *resp = fl_calloc(1, sizeof *resp);
  if (resp == NULL)
    return NULL;
  resp->body.max = max_body;
  resp->hdrs.max = FLURRY_MAX_HEADER_BYTES;
  return resp;
}

flurry_attempt *flurry__response_log(flurry_response *resp, int i) {
  if (i >= FLURRY_ATTEMPT_LOG)
    i = FLURRY_ATTEMPT_LOG - 1;
  if (i < FLURRY_ATTEMPT_INLINE)
    return i < 0 ? NULL : &resp->log[i];
  return resp->log_more ? &resp->log_more[i - FLURRY_ATTEMPT_INLINE] : NULL;
}

int flurry__response_log_room(flurry_response *resp) {
  if (resp->attempts < FLURRY_ATTEMPT_INLINE || resp->log_more != NULL)
    return FLURRY_OK;
  resp->log_more = fl_calloc(FLURRY_ATTEMPT_LOG - FLURRY_ATTEMPT_INLINE, sizeof *resp->log_more);
  return resp->log_more ? FLURRY_OK : FLURRY_ENOMEM;
}

void flurry__response_reset(flurry_response *resp) {
  resp->err = FLURRY_OK;
  resp->detail = FLURRY_DETAIL_NONE;
  resp->curl_code = 0;
  resp->os_errno = 0;
  fl_free(resp->errmsg);
  resp->errmsg = NULL;
  resp->status = 0;
  fl_free(resp->reason);
  resp->reason = NULL;
  fl_buf_reset(&resp->body);
  fl_buf_reset(&resp->hdrs);
  resp->nhdrs = 0;
  resp->hdr_bytes = 0;
  resp->hdr_lines = 0;
  resp->too_large = 0;
  resp->nomem = 0;
}

int flurry__response_set_error(flurry_response *resp, int err, const char *fmt, ...) {
  resp->err = err;
  fl_buf msg = FL_BUF_INIT(4096);
  va_list ap;
  va_start(ap, fmt);
  int rc = fl_buf_vprintf(&msg, fmt, ap);
  va_end(ap);
  fl_free(resp->errmsg);
  resp->errmsg = rc == FL_OK ? fl_buf_take(&msg, NULL) : NULL;
  fl_buf_free(&msg);
  return err;
}

/* "HTTP/1.1 200 OK" or "HTTP/2 200": a new response starts (redirects and
 * 1xx responses come before the final one), so earlier headers are dropped. */
static int status_line(flurry_response *resp, const char *line, size_t n) {
  const char *sp = memchr(line, ' ', n);
  if (sp == NULL || (size_t)(line + n - sp) < 4)
    return FLURRY_OK;
  int64_t code;
  if (fl_parse_i64(sp + 1, 3, 100, 999, &code) != 0)
    return FLURRY_OK;
  resp->status = (int)code;
  fl_buf_reset(&resp->hdrs);
  resp->nhdrs = 0;
  const char *reason = sp + 4;
  size_t rlen = (size_t)(line + n - reason);
  while (rlen && (*reason == ' '))
    reason++, rlen--;
  fl_free(resp->reason);
  resp->reason = fl_strndup(reason, rlen);
  return resp->reason ? FLURRY_OK : FLURRY_ENOMEM;
}

int flurry__response_header_line(flurry_response *resp, const char *line, size_t n) {
  /* Raw bytes and lines, whatever is kept: a server cannot make us read
   * headers for ever (1xx after 1xx, or tiny lines). */
  resp->hdr_bytes += n;
  if (resp->hdr_bytes > FLURRY_MAX_HEADER_BYTES || ++resp->hdr_lines > FLURRY_MAX_HEADER_LINES)
    return FLURRY_ETOO_LARGE;
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    n--;
  if (n == 0)
    return FLURRY_OK;
  if (n > 5 && memcmp(line, "HTTP/", 5) == 0)
    return status_line(resp, line, n);
  const char *colon = memchr(line, ':', n);
  if (colon == NULL)
    return FLURRY_OK; /* obs-fold or junk: libcurl already judged it */
  const char *v = colon + 1;
  const char *end = line + n;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
    end--;
  /* "name\0value\0", in one step: a header line per call, several per
   * response; room for a typical response's at the first (one allocation,
   * not three) */
  size_t nlen = (size_t)(colon - line), vlen = (size_t)(end - v);
  size_t want = nlen + vlen + 2;
  int rc = fl_buf_reserve(&resp->hdrs, resp->hdrs.cap == 0 && want < 511 ? 511 : want);
  if (rc == FL_ELIMIT)
    return FLURRY_ETOO_LARGE;
  if (rc != FL_OK)
    return FLURRY_ENOMEM;
  char *d = resp->hdrs.data + resp->hdrs.len;
  memcpy(d, line, nlen);
  d[nlen] = '\0';
  memcpy(d + nlen + 1, v, vlen);
  d[nlen + 1 + vlen] = '\0';
  resp->hdrs.len += nlen + vlen + 2;
  resp->hdrs.data[resp->hdrs.len] = '\0';
  resp->nhdrs++;
  return FLURRY_OK;
}

int flurry__curl_kind(CURLcode code) {
  switch (code) {
  case CURLE_OK:
    return FLURRY_OK;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return FLURRY_EDNS;
  case CURLE_COULDNT_CONNECT:
    return FLURRY_ECONNECT;
  case CURLE_OPERATION_TIMEDOUT:
    return FLURRY_ETIMEOUT;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_USE_SSL_FAILED:
    return FLURRY_ETLS;
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
    return FLURRY_ERESET;
  case CURLE_FILESIZE_EXCEEDED:
    return FLURRY_ETOO_LARGE;
  case CURLE_URL_MALFORMAT:
  case CURLE_BAD_FUNCTION_ARGUMENT:
    return FLURRY_EINVALID;
  case CURLE_OUT_OF_MEMORY:
    return FLURRY_ENOMEM;
  case CURLE_ABORTED_BY_CALLBACK:
    return FLURRY_ECANCELLED;
  default:
    return FLURRY_EPROTOCOL;
  }
}

/* ---- accessors ---- */

FLURRY_API int flurry_response_error(const flurry_response *resp) { return resp->err; }

FLURRY_API const char *flurry_response_error_message(const flurry_response *resp) {
  /* the message itself may have been lost to out of memory: never "" */
  return resp->errmsg ? resp->errmsg : resp->err ? flurry_strerror(resp->err) : "";
}

FLURRY_API const char *flurry_response_error_detail(const flurry_response *resp) {
  return flurry_detail_name(resp->detail);
}

FLURRY_API int flurry_response_detail(const flurry_response *resp) { return resp->detail; }

FLURRY_API int flurry_response_attempt(const flurry_response *resp, size_t i, flurry_attempt *out) {
  size_t n = (size_t)resp->attempts;
  if (i >= n)
    return FLURRY_EINVALID;
  if (i >= FLURRY_ATTEMPT_LOG - 1) { /* only the last past the 63rd */
    if (i != n - 1)
      return FLURRY_EINVALID;
    i = FLURRY_ATTEMPT_LOG - 1;
  }
  const flurry_attempt *a = flurry__response_log((flurry_response *)resp, (int)i);
  if (a == NULL) /* not logged (out of memory): an attempt that says nothing */
    memset(out, 0, sizeof *out);
  else
    *out = *a;
  return FLURRY_OK;
}

FLURRY_API int flurry_response_curl_code(const flurry_response *resp) { return resp->curl_code; }

FLURRY_API int flurry_response_os_errno(const flurry_response *resp) { return resp->os_errno; }

FLURRY_API int flurry_response_status(const flurry_response *resp) { return resp->status; }

FLURRY_API const char *flurry_response_reason(const flurry_response *resp) {
  return resp->reason ? resp->reason : "";
}

FLURRY_API const char *flurry_response_body(const flurry_response *resp, size_t *len) {
  if (len)
    *len = resp->body.len;
  return resp->body.data ? resp->body.data : "";
}

FLURRY_API size_t flurry_response_header_count(const flurry_response *resp) { return resp->nhdrs; }

FLURRY_API int flurry_response_header_at(const flurry_response *resp, size_t i, const char **name,
                                         const char **value) {
  if (i >= resp->nhdrs)
    return FLURRY_EINVALID;
  const char *p = resp->hdrs.data;
  for (size_t k = 0; k < i; k++) {
    p += strlen(p) + 1;
    p += strlen(p) + 1;
  }
  if (name)
    *name = p;
  if (value)
    *value = p + strlen(p) + 1;
  return FLURRY_OK;
}

FLURRY_API int flurry_response_header_next(const flurry_response *resp, size_t *cursor,
                                           const char **name, const char **value) {
  if (*cursor >= resp->hdrs.len || resp->hdrs.data == NULL)
    return 0;
  const char *n = resp->hdrs.data + *cursor;
  const char *v = n + strlen(n) + 1;
  *name = n;
  *value = v;
  *cursor = (size_t)(v - resp->hdrs.data) + strlen(v) + 1;
  return 1;
}

FLURRY_API const char *flurry_response_header(const flurry_response *resp, const char *name) {
  const char *p = resp->hdrs.data;
  for (size_t k = 0; k < resp->nhdrs; k++) {
    const char *v = p + strlen(p) + 1;
    if (fl_strcaseeq(p, name))
      return v;
    p = v + strlen(v) + 1;
  }
  return NULL;
}

FLURRY_API const char *flurry_response_effective_url(const flurry_response *resp) {
  return resp->effective_url ? resp->effective_url : "";
}

FLURRY_API int flurry_response_attempts(const flurry_response *resp) { return resp->attempts; }

FLURRY_API void flurry_response_timings(const flurry_response *resp, flurry_timings *out) {
  *out = resp->timings;
}

FLURRY_API void flurry_response_free(flurry_response *resp) {
  if (resp == NULL)
    return;
  fl_free(resp->errmsg);
  fl_free(resp->reason);
  fl_buf_free(&resp->body);
  fl_buf_free(&resp->hdrs);
  fl_free(resp->effective_url);
  fl_free(resp->log_more);
  fl_free(resp);
}
