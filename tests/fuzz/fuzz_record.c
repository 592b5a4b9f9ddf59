/* fuzz_record.c: a response as a hostile server may send it -> the CLI's
 * record. The input is a raw HTTP response: header lines (a status line
 * first), an empty line, then the body. With every record option on and
 * off, the record must be one line of valid JSON. */
#include "cli.h"
#include "fuzz.h"
#include "internal.h"

/* Splits the head from the body at the first empty line. */
static size_t head_len(const char *p, size_t n, size_t *body_at) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] != '\n')
      continue;
    if (i + 1 < n && p[i + 1] == '\n') {
      *body_at = i + 2;
      return i + 1;
    }
    if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
      *body_at = i + 3;
      return i + 1;
    }
  }
  *body_at = n;
  return n;
}

static flurry_response *response_of(const char *p, size_t n) {
  flurry_response *resp = flurry__response_new(
      (size_t)flurry__opt_default(FLURRY_OPT_MAX_RESPONSE_BYTES));
  FUZZ_CHECK(resp != NULL);
  size_t body_at, head = head_len(p, n, &body_at), off = 0;
  while (off < head) {
    const char *nl = memchr(p + off, '\n', head - off);
    size_t len = nl ? (size_t)(nl - (p + off)) + 1 : head - off;
    if (flurry__response_header_line(resp, p + off, len) != FLURRY_OK)
      break;
    off += len;
  }
  FUZZ_CHECK(fl_buf_append(&resp->body, p + body_at, n - body_at) == FL_OK);
  if (resp->status >= 400)
    resp->err = FLURRY_EHTTP;
  else if (resp->status == 0) /* no status line: an error whose message is the input */
    flurry__response_set_error(resp, FLURRY_EPROTOCOL, "%.*s", (int)(head < 300 ? head : 300), p);
  const char *loc = flurry_response_header(resp, "Location");
  if (loc)
    resp->effective_url = fl_strdup(loc);
  int attempts = 1 + (int)(n % 70); /* past the 64 kept in the log too */
  for (resp->attempts = 0; resp->attempts < attempts;) {
    FUZZ_CHECK(flurry__response_log_room(resp) == FLURRY_OK); /* as before a retry */
    int i = resp->attempts++;
    flurry_attempt *a = flurry__response_log(resp, i);
    FUZZ_CHECK(a != NULL);
    a->status = resp->status;
    a->error = i % FLURRY_ERR_COUNT;
    a->elapsed_ms = i * 1.5;
    a->wait_ms = i * 100.25;
  }
  resp->timings.elapsed_ms = (double)n / 7;
  return resp;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *p = fuzz_copy(data, size, 0);
  flurry_response *resp = response_of(p, size);
  cli_opts o;
  memset(&o, 0, sizeof o);
  cli_builder *b = NULL;
  char err[64];
  FUZZ_CHECK(cli_builder_new(&b, &o, NULL, err, sizeof err) == 0);
  cli_built bt;
  static const char url[] = "http://127.0.0.1:8080/users/7";
  FUZZ_CHECK(cli_build(b, url, sizeof url - 1, 7, &bt) == 0 && bt.req != NULL);
  static const record_opts all = {1, 0, 1, 1, 1, NULL}, none = {0, 0, 0, 0, 0, NULL},
                           no_body = {0, 1, 1, 0, 0, NULL};
  const record_opts *ros[] = {&all, &none, &no_body};
  fl_buf out = FL_BUF_INIT(0);
  for (size_t i = 0; i < sizeof ros / sizeof ros[0]; i++) {
    size_t from = out.len;
    FUZZ_CHECK(cli_record(&out, ros[i], &bt, resp) == FL_OK);
    fuzz_check_record(&out, from);
  }
  fl_buf_free(&out);
  cli_built_clear(&bt);
  cli_builder_free(b);
  flurry_response_free(resp);
  free(p);
  return 0;
}
