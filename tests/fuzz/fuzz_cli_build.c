/* fuzz_cli_build.c: input lines -> requests, the way `flurry` builds them:
 * URL lines, JSON request objects, and values substituted into a URL
 * template and a -d/--json body template. The input's first line sets the
 * command line: "TEMPLATE<TAB>DATA<TAB>FLAGS" (each may be empty; FLAGS: j
 * for --json, p for -X PUT); every further line is one input line. Each
 * request (or input error) must become one JSON record line, and nothing
 * with CR or LF may reach a URL or a header. */
#include <jv.h>

#include "cli.h"
#include "fuzz.h"
#include "internal.h"

/* The tab-separated field i of the options line, as a new C string, or
 * NULL when empty. */
static char *field(const char *p, size_t n, int i) {
  for (; i > 0; i--) {
    const char *tab = memchr(p, '\t', n);
    if (tab == NULL)
      return NULL;
    n -= (size_t)(tab + 1 - p);
    p = tab + 1;
  }
  const char *tab = memchr(p, '\t', n);
  size_t len = tab ? (size_t)(tab - p) : n;
  return len ? fuzz_copy(p, len, 1) : NULL;
}

static int has_crlf(const char *s) { return strpbrk(s, "\r\n") != NULL; }

static void check_request(const cli_opts *o, const cli_built *bt, int object_line) {
  const flurry_request *req = bt->req;
  FUZZ_CHECK(req->url && *req->url && !has_crlf(req->url) && strcmp(req->url, bt->url) == 0);
  FUZZ_CHECK(req->method && *req->method && strpbrk(req->method, "\r\n :") == NULL);
  for (const struct curl_slist *h = req->headers; h; h = h->next)
    FUZZ_CHECK(!has_crlf(h->data));
  FUZZ_CHECK(req->query.len == 0 || !has_crlf(req->query.data));
  /* --json bodies are checked (a JSON request line brings its own body). */
  if (o->data_is_json && o->data && (o->template_url || !object_line)) {
    FUZZ_CHECK(req->has_body);
    fl_buf c = FL_BUF_INIT(0);
    FUZZ_CHECK(fl_json_compact(&c, req->body, req->body_len, NULL) == FL_OK);
    fl_buf_free(&c);
  }
}

static void check_record(const cli_built *bt) {
  fl_buf out = FL_BUF_INIT(0);
  record_opts ro = {1, 0, 1, 1, 1, NULL};
  flurry_response *resp = NULL;
  if (bt->req) { /* a plain success: the request's side of the record */
    resp = flurry__response_new(1024);
    FUZZ_CHECK(resp != NULL);
    resp->status = 200;
    resp->attempts = 1;
  }
  FUZZ_CHECK(cli_record(&out, &ro, bt, resp) == FL_OK);
  fuzz_check_record(&out, 0);
  flurry_response_free(resp);
  fl_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data, *line;
  size_t n = size, len;
  if (!fuzz_line(&p, &n, &line, &len))
    return 0;
  char *tmpl = field(line, len, 0), *body = field(line, len, 1), *flags = field(line, len, 2);
  cli_opts o;
  memset(&o, 0, sizeof o);
  o.template_url = tmpl;
  o.data = body;
  o.data_is_json = flags && strchr(flags, 'j');
  o.method = flags && strchr(flags, 'p') ? "PUT" : NULL;
  cli_builder *b = NULL;
  char err[256];
  FUZZ_CHECK(cli_builder_new(&b, &o, NULL, err, sizeof err) == 0);
  for (uint64_t lineno = 1; fuzz_line(&p, &n, &line, &len); lineno++) {
    char *copy = fuzz_copy(line, len, 0);
    cli_built bt;
    FUZZ_CHECK(cli_build(b, copy, len, lineno, &bt) == 0);
    FUZZ_CHECK(bt.id_json && bt.method && bt.url && bt.line == lineno);
    FUZZ_CHECK((bt.req == NULL) != (bt.error == NULL));
    if (bt.req)
      check_request(&o, &bt, len > 0 && copy[0] == '{');
    check_record(&bt);
    cli_built_clear(&bt);
    free(copy);
  }
  cli_builder_free(b);
  free(tmpl);
  free(body);
  free(flags);
  return 0;
}
