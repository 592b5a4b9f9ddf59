/* test_request.c: building and validating a request (no I/O), option checks,
 * and the error names and descriptions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "internal.h"

/* A pointer value no allocator returns: proves *out was not written. */
#define UNTOUCHED ((flurry_request *)(uintptr_t)0x5a5a5a5a)

static flurry_request *new_req(const char *method, const char *url) {
  flurry_request *req = NULL;
  assert_int_equal(flurry_request_new(&req, method, url), FLURRY_OK);
  assert_non_null(req);
  return req;
}

/* The i-th line of the request's header list, or NULL. */
static const char *header_line(const flurry_request *req, int i) {
  const struct curl_slist *h = req->headers;
  for (; h && i > 0; i--)
    h = h->next;
  return h ? h->data : NULL;
}

/* ---- flurry_request_new ---- */

static void test_request_new_copies_method_and_url(void **state) {
  (void)state;
  char method[] = "GET";
  char url[] = "http://example.com/a?b=c";
  flurry_request *req = new_req(method, url);
  assert_string_equal(flurry_request_method(req), "GET");
  assert_string_equal(flurry_request_url(req), "http://example.com/a?b=c");
  assert_ptr_not_equal(flurry_request_method(req), method);
  assert_ptr_not_equal(flurry_request_url(req), url);
  method[0] = 'X';
  url[0] = 'X';
  assert_string_equal(flurry_request_method(req), "GET");
  assert_string_equal(flurry_request_url(req), "http://example.com/a?b=c");
  flurry_request_free(req);
  /* Any token is a method; a relative URL waits for the client's base. */
  const char *methods[] = {"PURGE", "M-SEARCH", "get", "X!#$%&'*+.^_`|~9"};
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
    flurry_request_free(new_req(methods[i], "/relative/path"));
  flurry_request_free(new_req("GET", "users/1"));
}

static void test_request_new_rejects_bad_method(void **state) {
  (void)state;
  const char *bad[] = {"GE T", "",     "G\r",  "G\n", "GET\t", " GET",  "GET ",
                       "G:T",  "G(T)", "G\"T", "G/T", "G@T",   "G\x7f", "G\xc3\xa9"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    flurry_request *req = UNTOUCHED;
    if (flurry_request_new(&req, bad[i], "http://example.com/") != FLURRY_EINVALID)
      fail_msg("method '%s' accepted", bad[i]);
    assert_ptr_equal(req, UNTOUCHED);
  }
  flurry_request *req = UNTOUCHED;
  assert_int_equal(flurry_request_new(&req, NULL, "http://example.com/"), FLURRY_EINVALID);
  assert_ptr_equal(req, UNTOUCHED);
}

static void test_request_new_rejects_bad_url(void **state) {
  (void)state;
  const char *bad[] = {"",
                       "http://example.com/a\r\nX-Injected: 1",
                       "http://example.com/\r",
                       "http://example.com/\n",
                       "http://example.com/a b",
                       "http://example.com/a\tb",
                       " http://example.com/",
                       "http://example.com/ "};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    flurry_request *req = UNTOUCHED;
    if (flurry_request_new(&req, "GET", bad[i]) != FLURRY_EINVALID)
      fail_msg("url '%s' accepted", bad[i]);
    assert_ptr_equal(req, UNTOUCHED);
  }
  flurry_request *req = UNTOUCHED;
  assert_int_equal(flurry_request_new(&req, "GET", NULL), FLURRY_EINVALID);
  assert_ptr_equal(req, UNTOUCHED);
  assert_int_equal(flurry_request_new(NULL, "GET", "http://example.com/"), FLURRY_EINVALID);
}

static void test_request_new_out_of_memory(void **state) {
  (void)state;
  /* Fail each allocation in turn until the constructor needs no more: every
   * failure is FLURRY_ENOMEM with *out untouched (and nothing leaked, which
   * LeakSanitizer checks at exit). */
  int failures = 0;
  for (uint64_t k = 1; k < 100; k++) {
    flurry_request *req = UNTOUCHED;
    fl_alloc_fail_at(k);
    int rc = flurry_request_new(&req, "GET", "http://example.com/");
    fl_alloc_fail_at(0);
    if (rc == FLURRY_OK) {
      assert_ptr_not_equal(req, UNTOUCHED);
      flurry_request_free(req);
      break;
    }
    assert_int_equal(rc, FLURRY_ENOMEM);
    assert_ptr_equal(req, UNTOUCHED);
    failures++;
  }
  assert_true(failures >= 3); /* the request, its method, its URL */
}

static void test_request_free_null_is_noop(void **state) {
  (void)state;
  flurry_request_free(NULL);
  flurry_response_free(NULL);
}

/* ---- headers ---- */

static void test_request_add_header_validates(void **state) {
  (void)state;
  flurry_request *req = new_req("GET", "http://example.com/");
  const char *bad_names[] = {"Bad Name", "",    "X:Y", "X\r", "X\n", "X;Y", "(X)", "X\xc3\xa9",
                             "X,Y",      "X/Y", "X=Y", "{X}", "X\"", "X@Y", "\x7f"};
  for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
    if (flurry_request_add_header(req, bad_names[i], "v") != FLURRY_EINVALID)
      fail_msg("header name '%s' accepted", bad_names[i]);
  const char *bad_values[] = {"a\r\nX-Injected: 1", "a\r", "a\n", "\n", "\r"};
  for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++)
    if (flurry_request_add_header(req, "X-Ok", bad_values[i]) != FLURRY_EINVALID)
      fail_msg("header value %zu accepted", i);
  assert_int_equal(flurry_request_add_header(req, NULL, "v"), FLURRY_EINVALID);
  assert_int_equal(flurry_request_add_header(req, "X-Ok", NULL), FLURRY_EINVALID);
  assert_int_equal(flurry_request_add_header(NULL, "X-Ok", "v"), FLURRY_EINVALID);
  assert_null(req->headers); /* nothing was added by the refused calls */
  flurry_request_free(req);
}

static void test_request_add_header_keeps_order_and_empty_value(void **state) {
  (void)state;
  flurry_request *req = new_req("GET", "http://example.com/");
  assert_int_equal(flurry_request_add_header(req, "X-Empty", ""), FLURRY_OK);
  assert_int_equal(flurry_request_add_header(req, "Authorization", "Bearer t0k3n"), FLURRY_OK);
  assert_int_equal(flurry_request_add_header(req, "X-Tab", "a\tb c"), FLURRY_OK);
  assert_string_equal(header_line(req, 0), "X-Empty;"); /* libcurl's empty header */
  assert_string_equal(header_line(req, 1), "Authorization: Bearer t0k3n");
  assert_string_equal(header_line(req, 2), "X-Tab: a\tb c");
  assert_null(header_line(req, 3));
  flurry_request_free(req);
}

static void test_request_set_json_adds_content_type_once(void **state) {
  (void)state;
  flurry_request *req = new_req("POST", "http://example.com/");
  const char json[] = "{\"a\":1}";
  assert_int_equal(flurry_request_set_json(req, json, sizeof json - 1), FLURRY_OK);
  assert_int_equal(req->body_len, sizeof json - 1);
  assert_memory_equal(req->body, json, sizeof json - 1);
  assert_string_equal(header_line(req, 0), "Content-Type: application/json");
  assert_null(header_line(req, 1));
  flurry_request_free(req);
  /* A Content-Type the caller set (any case) is kept, not doubled. */
  req = new_req("POST", "http://example.com/");
  assert_int_equal(flurry_request_add_header(req, "content-type", "application/vnd.x+json"),
                   FLURRY_OK);
  assert_int_equal(flurry_request_set_json(req, "[]", 2), FLURRY_OK);
  assert_string_equal(header_line(req, 0), "content-type: application/vnd.x+json");
  assert_null(header_line(req, 1));
  flurry_request_free(req);
}

static void test_request_set_body_copies_binary(void **state) {
  (void)state;
  flurry_request *req = new_req("PUT", "http://example.com/");
  char body[] = {'a', '\0', 'b', '\xff'};
  assert_int_equal(flurry_request_set_body(req, body, sizeof body), FLURRY_OK);
  body[0] = 'X';
  assert_int_equal(req->body_len, 4);
  assert_memory_equal(req->body, "a\0b\xff", 4);
  /* Replacing the body frees the old one; an empty body is a body. */
  assert_int_equal(flurry_request_set_body(req, NULL, 0), FLURRY_OK);
  assert_int_equal(req->body_len, 0);
  assert_int_equal(req->has_body, 1);
  assert_int_equal(flurry_request_set_body(req, NULL, 3), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_body(NULL, "x", 1), FLURRY_EINVALID);
  fl_alloc_fail_at(1);
  assert_int_equal(flurry_request_set_body(req, "abc", 3), FLURRY_ENOMEM);
  fl_alloc_fail_at(0);
  assert_int_equal(req->body_len, 0); /* the old body stays */
  flurry_request_free(req);
}

/* ---- query ---- */

static void test_request_add_query_percent_encodes(void **state) {
  (void)state;
  flurry_request *req = new_req("GET", "http://example.com/search");
  assert_int_equal(flurry_request_add_query(req, "q", "a b&c=d"), FLURRY_OK);
  assert_string_equal(req->query.data, "q=a%20b%26c%3Dd");
  assert_int_equal(flurry_request_add_query(req, "caf\xc3\xa9", "100%/#?+"), FLURRY_OK);
  assert_string_equal(req->query.data, "q=a%20b%26c%3Dd&caf%C3%A9=100%25%2F%23%3F%2B");
  assert_int_equal(flurry_request_add_query(req, "empty", ""), FLURRY_OK);
  assert_string_equal(req->query.data + strlen(req->query.data) - 7, "&empty=");
  /* Unreserved characters pass as they are. */
  fl_buf_reset(&req->query);
  assert_int_equal(flurry_request_add_query(req, "k", "AZaz09-._~"), FLURRY_OK);
  assert_string_equal(req->query.data, "k=AZaz09-._~");
  flurry_request_free(req);
}

static void test_request_add_query_rejects(void **state) {
  (void)state;
  flurry_request *req = new_req("GET", "http://example.com/");
  assert_int_equal(flurry_request_add_query(req, "", "v"), FLURRY_EINVALID);
  assert_int_equal(flurry_request_add_query(req, NULL, "v"), FLURRY_EINVALID);
  assert_int_equal(flurry_request_add_query(req, "k", NULL), FLURRY_EINVALID);
  assert_int_equal(flurry_request_add_query(NULL, "k", "v"), FLURRY_EINVALID);
  assert_int_equal(req->query.len, 0);
  /* The query string is bounded; a refused pair leaves it as it was. */
  char big[70000];
  memset(big, 'v', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal(flurry_request_add_query(req, "a", "1"), FLURRY_OK);
  assert_int_equal(flurry_request_add_query(req, "big", big), FLURRY_EINVALID);
  assert_string_equal(req->query.data, "a=1");
  flurry_request_free(req);
}

/* ---- options ---- */

static void test_request_set_overrides_options(void **state) {
  (void)state;
  flurry__opts defaults;
  memset(&defaults, 0, sizeof defaults);
  defaults.v[FLURRY_OPT_TIMEOUT_MS] = 30000;
  defaults.v[FLURRY_OPT_MAX_ATTEMPTS] = 1;
  flurry_request *req = new_req("GET", "http://example.com/");
  assert_int_equal(flurry__opt(req, &defaults, FLURRY_OPT_TIMEOUT_MS), 30000);
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_TIMEOUT_MS, 500), FLURRY_OK);
  assert_int_equal(flurry__opt(req, &defaults, FLURRY_OPT_TIMEOUT_MS), 500);
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_TIMEOUT_MS, 750), FLURRY_OK);
  assert_int_equal(flurry__opt(req, &defaults, FLURRY_OPT_TIMEOUT_MS), 750);
  /* An override of 0 is an override, not "unset". */
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_MAX_REDIRECTS, 0), FLURRY_OK);
  defaults.v[FLURRY_OPT_MAX_REDIRECTS] = 10;
  assert_int_equal(flurry__opt(req, &defaults, FLURRY_OPT_MAX_REDIRECTS), 0);
  /* Others still follow the defaults, even when they change later. */
  defaults.v[FLURRY_OPT_MAX_ATTEMPTS] = 4;
  assert_int_equal(flurry__opt(req, &defaults, FLURRY_OPT_MAX_ATTEMPTS), 4);
  /* Every per-request option accepts a sensible value. */
  const struct {
    flurry_opt opt;
    int64_t v;
  } ok[] = {{FLURRY_OPT_CONNECT_TIMEOUT_MS, 1},
            {FLURRY_OPT_TIMEOUT_MS, 1},
            {FLURRY_OPT_IDLE_TIMEOUT_MS, 1000},
            {FLURRY_OPT_MAX_RESPONSE_BYTES, 1},
            {FLURRY_OPT_MAX_REDIRECTS, 5},
            {FLURRY_OPT_VERIFY_TLS, 0},
            {FLURRY_OPT_HTTP_VERSION, FLURRY_HTTP_2_PRIOR_KNOWLEDGE},
            {FLURRY_OPT_MAX_ATTEMPTS, 1000},
            {FLURRY_OPT_RETRY_BASE_MS, 0},
            {FLURRY_OPT_RETRY_CAP_MS, 3600000},
            {FLURRY_OPT_RETRY_UNSAFE, 1}};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    if (flurry_request_set(req, ok[i].opt, ok[i].v) != FLURRY_OK)
      fail_msg("option %d = %lld refused", ok[i].opt, (long long)ok[i].v);
    assert_int_equal(flurry__opt(req, &defaults, ok[i].opt), ok[i].v);
  }
  flurry_request_free(req);
}

static void test_request_set_refuses_client_only_and_out_of_range(void **state) {
  (void)state;
  flurry_request *req = new_req("GET", "http://example.com/");
  /* Pool limits belong to the client. */
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_MAX_IN_FLIGHT, 10), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_MAX_PER_HOST, 2), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_RATE_AUTO, 1), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_RETRY_BUDGET, 10), FLURRY_EINVALID);
  /* Every body has a limit: no "0 = unlimited". */
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_MAX_RESPONSE_BYTES, 0), FLURRY_EINVALID);
  const struct {
    flurry_opt opt;
    int64_t v;
  } bad[] = {{FLURRY_OPT_TIMEOUT_MS, 0}, /* never unbounded */
             {FLURRY_OPT_TIMEOUT_MS, -1},
             {FLURRY_OPT_CONNECT_TIMEOUT_MS, 0},
             {FLURRY_OPT_IDLE_TIMEOUT_MS, 0},
             {FLURRY_OPT_TIMEOUT_MS, INT64_MAX},
             {FLURRY_OPT_MAX_RESPONSE_BYTES, -1},
             {FLURRY_OPT_MAX_REDIRECTS, -1},
             {FLURRY_OPT_VERIFY_TLS, 2},
             {FLURRY_OPT_VERIFY_TLS, -1},
             {FLURRY_OPT_HTTP_VERSION, 4},
             {FLURRY_OPT_HTTP_VERSION, -1},
             {FLURRY_OPT_MAX_ATTEMPTS, 0},
             {FLURRY_OPT_MAX_ATTEMPTS, 1001},
             {FLURRY_OPT_RETRY_BASE_MS, -1},
             {FLURRY_OPT_RETRY_CAP_MS, INT64_MIN},
             {FLURRY_OPT_RETRY_UNSAFE, 2},
             /* not options at all */
             {(flurry_opt)0, 1},
             {FLURRY_OPT_COUNT_, 1},
             {(flurry_opt)-1, 1},
             {(flurry_opt)100, 1}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (flurry_request_set(req, bad[i].opt, bad[i].v) != FLURRY_EINVALID)
      fail_msg("option %d = %lld accepted", bad[i].opt, (long long)bad[i].v);
  }
  assert_int_equal(req->opt_set, 0); /* no refused call left a trace */
  assert_int_equal(flurry_request_set(NULL, FLURRY_OPT_TIMEOUT_MS, 5), FLURRY_EINVALID);
  flurry_request_free(req);
}

/* Every option, from its row: the bounds are taken and one past them is
 * refused, by the client and (unless client-only) by a request; names
 * round-trip; the defaults are a fresh client's. */
static void test_request_opt_table_drives_checks(void **state) {
  (void)state;
  flurry_client *c;
  assert_int_equal(flurry_client_new(&c, NULL), FLURRY_OK);
  int client_only = 0;
  for (int i = 1; i < FLURRY_OPT_COUNT_; i++) {
    flurry_opt opt = (flurry_opt)i, back;
    flurry_opt_info in;
    assert_int_equal(flurry_opt_get_info(opt, &in), FLURRY_OK);
    assert_non_null(in.name);
    assert_int_equal(flurry_opt_from_name(in.name, &back), FLURRY_OK);
    assert_int_equal(back, opt);
    assert_true(in.min <= in.def && in.def <= in.max);
    assert_true(c->opts.v[i] == in.def);
    flurry_request *req = new_req("GET", "http://example.com/");
    for (int k = 0; k < 4; k++) {
      int64_t v = k == 0 ? in.min : k == 1 ? in.max : k == 2 ? in.min - 1 : in.max + 1;
      int want = k < 2 ? FLURRY_OK : FLURRY_EINVALID;
      if (flurry_client_set(c, opt, v) != want)
        fail_msg("client: %s = %lld", in.name, (long long)v);
      if (flurry_request_set(req, opt, v) != (in.client_only ? FLURRY_EINVALID : want))
        fail_msg("request: %s = %lld", in.name, (long long)v);
    }
    client_only += in.client_only;
    flurry_request_free(req);
  }
  assert_int_equal(client_only, 12);
  flurry_opt_info in;
  flurry_opt o;
  assert_int_equal(flurry_opt_get_info((flurry_opt)0, &in), FLURRY_EINVALID);
  assert_int_equal(flurry_opt_get_info(FLURRY_OPT_COUNT_, &in), FLURRY_EINVALID);
  assert_int_equal(flurry_opt_get_info(FLURRY_OPT_TIMEOUT_MS, NULL), FLURRY_EINVALID);
  assert_int_equal(flurry_opt_get_info(FLURRY_OPT_TIMEOUT_MS, &in), FLURRY_OK);
  assert_string_equal(in.name, "timeout_ms");
  assert_int_equal(in.def, 30000);
  assert_int_equal(flurry_opt_from_name("no_such_option", &o), FLURRY_EINVALID);
  assert_int_equal(flurry_opt_from_name(NULL, &o), FLURRY_EINVALID);
  flurry_client_free(c);
}

/* ---- error names ---- */

static void test_request_error_names_and_strings(void **state) {
  (void)state;
  /* Spelled out here, not generated from the table, so that renaming a
   * kind (a breaking change for the CLI's error.kind) fails this test. */
  const struct {
    int err;
    const char *name;
  } want[] = {{FLURRY_OK, "ok"},
              {FLURRY_ECONNECT, "connect"},
              {FLURRY_EDNS, "dns"},
              {FLURRY_ETLS, "tls"},
              {FLURRY_ETIMEOUT, "timeout"},
              {FLURRY_ERESET, "reset"},
              {FLURRY_EHTTP, "http"},
              {FLURRY_EPROTOCOL, "protocol"},
              {FLURRY_ETOO_LARGE, "too_large"},
              {FLURRY_ECANCELLED, "cancelled"},
              {FLURRY_ESTREAM, "stream"},
              {FLURRY_EINVALID, "invalid_request"},
              {FLURRY_ENOMEM, "nomem"},
              {FLURRY_EINTERNAL, "internal"}};
  size_t n = sizeof want / sizeof want[0];
  assert_int_equal(n, FLURRY_ERR_COUNT);
  assert_int_equal(FLURRY_OK, 0);
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(flurry_err_name(want[i].err), want[i].name);
    const char *desc = flurry_strerror(want[i].err);
    assert_non_null(desc);
    assert_true(strlen(desc) > 3);
    assert_string_not_equal(desc, "unknown error");
    for (size_t j = 0; j < i; j++) {
      assert_string_not_equal(flurry_err_name(want[i].err), flurry_err_name(want[j].err));
      assert_string_not_equal(desc, flurry_strerror(want[j].err));
    }
  }
  assert_string_equal(flurry_strerror(FLURRY_ETIMEOUT), "the request timed out");
  assert_string_equal(flurry_strerror(FLURRY_OK), "success");
  const int unknown[] = {-1, FLURRY_ERR_COUNT, FLURRY_ERR_COUNT + 1, 1000, INT32_MIN, INT32_MAX};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    assert_string_equal(flurry_err_name(unknown[i]), "unknown");
    assert_string_equal(flurry_strerror(unknown[i]), "unknown error");
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_request_new_copies_method_and_url),
      cmocka_unit_test(test_request_new_rejects_bad_method),
      cmocka_unit_test(test_request_new_rejects_bad_url),
      cmocka_unit_test(test_request_new_out_of_memory),
      cmocka_unit_test(test_request_free_null_is_noop),
      cmocka_unit_test(test_request_add_header_validates),
      cmocka_unit_test(test_request_add_header_keeps_order_and_empty_value),
      cmocka_unit_test(test_request_set_json_adds_content_type_once),
      cmocka_unit_test(test_request_set_body_copies_binary),
      cmocka_unit_test(test_request_add_query_percent_encodes),
      cmocka_unit_test(test_request_add_query_rejects),
      cmocka_unit_test(test_request_set_overrides_options),
      cmocka_unit_test(test_request_set_refuses_client_only_and_out_of_range),
      cmocka_unit_test(test_request_opt_table_drives_checks),
      cmocka_unit_test(test_request_error_names_and_strings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
