/* record.c: one finished request -> one JSON line. */
#include <jv.h>
#include <string.h>

#include "cli.h"

/* JSON unless the server says otherwise: application/json, text/json,
 * anything+json, or no Content-Type at all. */
static int json_type(const char *ct) {
  if (ct == NULL)
    return 1;
  size_t n = strcspn(ct, ";");
  while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
    n--;
  if ((n == 16 && fl_strncaseeq(ct, "application/json", 16)) ||
      (n == 9 && fl_strncaseeq(ct, "text/json", 9)))
    return 1;
  return n > 5 && fl_strncaseeq(ct + n - 5, "+json", 5);
}

/* Appends a literal key (with its punctuation) and an integer. */
static int key_i64(fl_buf *out, const char *key, int64_t v) {
  int rc = fl_buf_puts(out, key);
  return rc == FL_OK ? fl_buf_i64(out, v) : rc;
}

/* The body: JSON when it is declared JSON (or not typed at all) and parses,
 * else a string, or base64 when it is not text. A body declared JSON that
 * does not parse is flagged first ("invalid_json"): compaction is its only
 * validation. */
static int put_body(fl_buf *out, const flurry_response *resp) {
  size_t len;
  const char *body = flurry_response_body(resp, &len);
  if (len == 0)
    return FL_OK;
  const char *ct = flurry_response_header(resp, "Content-Type");
  if (json_type(ct)) { /* no type at all: JSON if it parses */
    size_t mark = out->len;
    int rc = fl_buf_puts(out, ",\"body\":");
    if (rc == FL_OK) {
      rc = fl_json_compact(out, body, len, NULL);
      if (rc == FL_OK)
        return FL_OK;
    }
    if (rc != FL_EPARSE)
      return rc;
    out->len = mark;
    rc = ct != NULL ? fl_buf_puts(out, ",\"invalid_json\":true") : FL_OK;
    if (rc != FL_OK)
      return rc;
  }
  if (fl_is_text(body, len)) {
    int rc = fl_buf_puts(out, ",\"body\":");
    return rc == FL_OK ? fl_json_str(out, body, len) : rc;
  }
  int rc = fl_buf_puts(out, ",\"body_base64\":\"");
  if (rc == FL_OK)
    rc = fl_base64(out, (const unsigned char *)body, len);
  return rc == FL_OK ? fl_buf_putc(out, '"') : rc;
}

static int put_headers(fl_buf *out, const flurry_response *resp, const flurry_client *client) {
  int rc = fl_buf_puts(out, ",\"headers\":{");
  size_t cursor = 0;
  const char *name, *value;
  for (size_t i = 0; rc == FL_OK && flurry_response_header_next(resp, &cursor, &name, &value);
       i++) {
    char lower[256];
    size_t nl = strlen(name);
    if (nl >= sizeof lower)
      nl = sizeof lower - 1;
    for (size_t k = 0; k < nl; k++)
      lower[k] = (name[k] >= 'A' && name[k] <= 'Z') ? (char)(name[k] + 32) : name[k];
    if (i > 0)
      rc = fl_buf_putc(out, ',');
    if (rc == FL_OK)
      rc = fl_json_str(out, lower, nl);
    if (rc == FL_OK)
      rc = fl_buf_putc(out, ':');
    if (flurry_header_is_secret(client, name, FLURRY_HEADER_RESPONSE))
      value = cli_redact_mask();
    if (rc == FL_OK)
      rc = fl_json_str(out, value, strlen(value));
  }
  return rc == FL_OK ? fl_buf_putc(out, '}') : rc;
}

static int put_timings(fl_buf *out, const flurry_response *resp) {
  flurry_timings t;
  flurry_response_timings(resp, &t);
  return fl_buf_printf(out,
                       ",\"timings\":{\"dns_ms\":%.3f,\"connect_ms\":%.3f,\"tls_ms\":%.3f,"
                       "\"first_byte_ms\":%.3f,\"total_ms\":%.3f}",
                       t.dns_ms, t.connect_ms, t.tls_ms, t.first_byte_ms, t.total_ms);
}

/* error: {kind, message[, curl_code][, errno]}: the underlying codes are
 * kept so nothing the transport said is lost. */
/* "attempt_log":[{"status":503,"error":"http","ms":1.2,"wait_ms":95.0},...] */
/* The attempts kept: every one up to 64, else the first 63 and the last. */
static int put_attempts(fl_buf *out, const flurry_response *resp) {
  int rc = fl_buf_puts(out, ",\"attempt_log\":[");
  flurry_attempt a;
  size_t n = (size_t)flurry_response_attempts(resp), shown = 0;
  for (size_t i = 0; rc == FL_OK && i < n; i++) {
    if (flurry_response_attempt(resp, i, &a) != FLURRY_OK)
      continue; /* one between the 63rd and the last: not kept */
    rc = fl_buf_printf(out, "%s{\"status\":%d,\"error\":", shown++ ? "," : "", a.status);
    if (rc == FL_OK)
      rc = a.error ? fl_buf_printf(out, "\"%s\"", flurry_err_name(a.error))
                   : fl_buf_puts(out, "null");
    if (rc == FL_OK)
      rc = fl_buf_printf(out, ",\"ms\":%.3f,\"wait_ms\":%.3f,\"start_ms\":%.3f}", a.elapsed_ms,
                         a.wait_ms, a.start_ms);
  }
  return rc == FL_OK ? fl_buf_putc(out, ']') : rc;
}

static int put_error(fl_buf *out, const char *kind, const char *detail, const char *msg,
                     int curl_code, int os_errno) {
  int rc = fl_buf_printf(out, ",\"error\":{\"kind\":\"%s\",", kind);
  if (rc == FL_OK && *detail)
    rc = fl_buf_printf(out, "\"detail\":\"%s\",", detail);
  if (rc == FL_OK)
    rc = fl_buf_puts(out, "\"message\":");
  if (rc == FL_OK)
    rc = cli_json_str_redacted(out, msg);
  if (rc == FL_OK && curl_code)
    rc = key_i64(out, ",\"curl_code\":", curl_code);
  if (rc == FL_OK && os_errno)
    rc = key_i64(out, ",\"errno\":", os_errno);
  return rc == FL_OK ? fl_buf_putc(out, '}') : rc;
}

/* Appends a jq value as JSON. Consumes nothing. */
static int put_jv(fl_buf *out, const char *key, jv v) {
  jv s = jv_dump_string(jv_copy(v), 0);
  int rc = fl_buf_puts(out, key);
  if (rc == FL_OK)
    rc = fl_buf_puts(out, jv_string_value(s));
  jv_free(s);
  return rc;
}

static int put_response(fl_buf *out, const record_opts *ro, const cli_rec *rec) {
  const flurry_response *resp = rec->resp;
  int rc = FL_OK;
  int status = flurry_response_status(resp);
  flurry_timings t;
  flurry_response_timings(resp, &t);
  size_t len;
  flurry_response_body(resp, &len);
  if (status)
    rc = key_i64(out, ",\"status\":", status);
  if (rc == FL_OK)
    rc = key_i64(out, ",\"attempts\":", flurry_response_attempts(resp));
  if (rc == FL_OK)
    rc = fl_buf_puts(out, ",\"elapsed_ms\":");
  if (rc == FL_OK)
    rc = fl_buf_fixed3(out, t.elapsed_ms);
  if (rc == FL_OK)
    rc = key_i64(out, ",\"bytes\":", (int64_t)len);
  const char *eff = flurry_response_effective_url(resp);
  if (rc == FL_OK && *eff && rec->url && strcmp(eff, rec->url) != 0) {
    rc = fl_buf_puts(out, ",\"effective_url\":");
    if (rc == FL_OK)
      rc = cli_json_str_redacted(out, eff);
  }
  int cached = flurry_response_cache(resp);
  if (rc == FL_OK && cached != FLURRY_CACHE_NONE)
    rc = fl_buf_printf(out, ",\"cache\":\"%s\"", flurry_cache_status_name(cached));
  if (rc == FL_OK)
    rc = cli_stream_put_info(out, resp);
  if (rc == FL_OK && ro->with_headers && status)
    rc = put_headers(out, resp, ro->client);
  if (rc == FL_OK && ro->with_timings)
    rc = put_timings(out, resp);
  if (rc == FL_OK && ro->with_attempts)
    rc = put_attempts(out, resp);
  int err = flurry_response_error(resp);
  if (rc == FL_OK && rec->err_kind)
    rc = put_error(out, rec->err_kind, rec->err_detail ? rec->err_detail : "", rec->err_msg, 0, 0);
  else if (rc == FL_OK && err != FLURRY_OK)
    rc = put_error(out, flurry_err_name(err), flurry_response_error_detail(resp),
                   flurry_response_error_message(resp), flurry_response_curl_code(resp),
                   flurry_response_os_errno(resp));
  if (rc == FL_OK && rec->has_item)
    return put_jv(out, ",\"item\":", rec->item);
  flurry_stream_info si; /* a stream's records went out on their own */
  int streamed = flurry_response_stream(resp, &si) == FLURRY_OK && si.end != FLURRY_STREAM_END_NONE;
  if (rc != FL_OK || streamed)
    return rc;
  if (!ro->no_body && (err == FLURRY_OK || err == FLURRY_EHTTP))
    return put_body(out, resp); /* flags a body said to be JSON that is not */
  size_t off;                   /* flagged with --no-body too */
  return cli_body_bad_json(resp, &off) ? fl_buf_puts(out, ",\"invalid_json\":true") : FL_OK;
}

/* The members after "url": a response's, or an error with no response. */
static int put_outcome(fl_buf *out, const record_opts *ro, const cli_rec *rec) {
  if (rec->resp)
    return put_response(out, ro, rec);
  int rc = rec->method ? fl_buf_puts(out, ",\"attempts\":0") : FL_OK;
  if (rc == FL_OK && rec->err_kind)
    rc = put_error(out, rec->err_kind, rec->err_detail ? rec->err_detail : "",
                   rec->err_msg ? rec->err_msg : "", 0, 0);
  if (rc == FL_OK && rec->has_body && !ro->no_body)
    rc = put_jv(out, ",\"body\":", rec->body);
  return rc;
}

static int put_str(fl_buf *out, const char *key, const char *s) {
  int rc = fl_buf_puts(out, key);
  return rc == FL_OK ? cli_json_str_redacted(out, s) : rc;
}

int cli_record_write(fl_buf *out, const record_opts *ro, const cli_rec *rec) {
  size_t mark = out->len;
  int ok = rec->err_kind == NULL && (rec->resp == NULL || !cli_resp_failed(rec->resp));
  int rc = ro->with_key ? fl_buf_printf(out, "{\"key\":\"%016llx\",\"ok\":%s,\"id\":",
                                        (unsigned long long)rec->key, ok ? "true" : "false")
                        : fl_buf_puts(out, "{\"id\":");
  if (rc == FL_OK)
    rc = fl_buf_puts(out, rec->id_json);
  if (rc == FL_OK)
    rc = key_i64(out, ",\"line\":", (int64_t)rec->line);
  if (rc == FL_OK && rec->method)
    rc = put_str(out, ",\"method\":", rec->method);
  if (rc == FL_OK && rec->url)
    rc = put_str(out, ",\"url\":", rec->url);
  if (rc == FL_OK && rec->extra)
    rc = fl_buf_puts(out, rec->extra);
  if (rc == FL_OK)
    rc = put_outcome(out, ro, rec);
  if (rc == FL_OK)
    rc = fl_buf_puts(out, "}\n");
  if (rc != FL_OK) {
    out->len = mark;
    if (out->data)
      out->data[mark] = '\0';
  }
  return rc;
}

int cli_record(fl_buf *out, const record_opts *ro, const cli_built *bt,
               const flurry_response *resp) {
  cli_rec rec = {.key = bt->key,
                 .id_json = bt->id_json,
                 .line = bt->line,
                 .method = bt->method,
                 .url = bt->url,
                 .resp = resp};
  if (resp == NULL) {
    rec.err_kind = "invalid_request";
    rec.err_detail = "";
    rec.err_msg = bt->error ? bt->error : "invalid request";
  }
  return cli_record_write(out, ro, &rec);
}

int cli_body_bad_json(const flurry_response *resp, size_t *off) {
  size_t len;
  const char *body = flurry_response_body(resp, &len);
  const char *ct = flurry_response_header(resp, "Content-Type");
  *off = 0;
  return len > 0 && ct != NULL && json_type(ct) && fl_json_valid(body, len, off) != FL_OK;
}

int cli_resp_failed(const flurry_response *resp) {
  return flurry_response_error(resp) != FLURRY_OK;
}

jv cli_body_jv(const flurry_response *resp) {
  size_t len;
  const char *body = flurry_response_body(resp, &len);
  if (len == 0 || len > (size_t)INT32_MAX)
    return jv_null();
  if (json_type(flurry_response_header(resp, "Content-Type"))) {
    jv v = cli_jv_parse(body, len);
    if (jv_is_valid(v))
      return v;
    jv_free(v);
  }
  return fl_is_text(body, len) ? jv_string_sized(body, (int)len) : jv_null();
}
