/* test_graphql.c: flurry_request_set_graphql (the body, the headers, the
 * refusals) and the errors check, against the in-process mock's /graphql
 * and /echo: a 200 with errors fails with detail graphql_errors unless
 * FLURRY_GRAPHQL_ERRORS_OK; a 200 without errors and a plain request with
 * the same body are untouched. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "flurry.h"
#include "httpd.h"
#include "mock_int.h"
#include "mock_inproc.h"

static void test_graphql_refusals(void **state) {
  (void)state;
  flurry_request *req;
  assert_int_equal(flurry_request_new(&req, "POST", "http://127.0.0.1:1/graphql"), FLURRY_OK);
  assert_int_equal(flurry_request_set_graphql(NULL, "{ a }", NULL, 0), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_graphql(req, "", NULL, 0), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_graphql(req, NULL, NULL, 0), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_graphql(req, "{ a }", "[1]", 0), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_graphql(req, "{ a }", "{\"a\":", 0), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_graphql(req, "{ a }", NULL, 4), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_graphql(req, "{ a }", " { \"x\" : 1 } ", 0), FLURRY_OK);
  flurry_request_free(req);
  assert_string_equal(flurry_detail_name(FLURRY_DETAIL_GRAPHQL_ERRORS), "graphql_errors");
}

typedef struct gq {
  int done, err, detail, status;
  char body[2048];
  char msg[256];
} gq;

static void on_done(flurry_request *req, flurry_response *resp, void *ud) {
  gq *g = ud;
  size_t n = 0;
  const char *b = flurry_response_body(resp, &n);
  (void)req;
  g->done++;
  g->err = flurry_response_error(resp);
  g->detail = flurry_response_detail(resp);
  g->status = flurry_response_status(resp);
  snprintf(g->body, sizeof g->body, "%.*s", (int)n, b ? b : "");
  snprintf(g->msg, sizeof g->msg, "%s", flurry_response_error_message(resp));
  flurry_response_free(resp);
}

/* GraphQL (flags >= 0) or a plain POST of the same body (flags < 0). */
static void submit(flurry_client *c, unsigned port, const char *path, const char *query, int flags,
                   gq *g) {
  char url[128];
  flurry_request *req;
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
  assert_int_equal(flurry_request_new(&req, "POST", url), FLURRY_OK);
  if (flags >= 0) {
    assert_int_equal(flurry_request_set_graphql(req, query, "{\"who\": \"ada\"}", flags), 0);
  } else {
    char body[256];
    snprintf(body, sizeof body, "{\"query\":\"%s\"}", query);
    assert_int_equal(flurry_request_set_json(req, body, strlen(body)), FLURRY_OK);
  }
  assert_int_equal(flurry_client_submit(c, req, on_done, g), FLURRY_OK);
}

static void count_closed(void *arg) { ++*(int *)arg; }

static void test_graphql_against_mock(void **state) {
  (void)state;
  uv_loop_t loop;
  mock_server m;
  httpd_server *h[1];
  unsigned port[1];
  int closed = 0;
  flurry_client *c;
  assert_int_equal(uv_loop_init(&loop), 0);
  mock_inproc_start(&loop, &m, h, port, 1);
  assert_int_equal(flurry_client_new(&c, &loop), FLURRY_OK);
  gq echo = {0}, fail = {0}, fail_ok = {0}, plain = {0}, good = {0};
  submit(c, port[0], "/echo", "{ echo }", 0, &echo);
  submit(c, port[0], "/graphql", "{ fail }", 0, &fail);
  submit(c, port[0], "/graphql", "{ fail }", FLURRY_GRAPHQL_ERRORS_OK, &fail_ok);
  submit(c, port[0], "/graphql", "{ fail }", -1, &plain);
  submit(c, port[0], "/graphql", "{ items { nodes { id } } }", 0, &good);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  flurry_client_free(c);
  mock_inproc_stop(&loop, &m, h, 1, count_closed, &closed, &closed);

  /* what went out: the body and both headers (the mock's /echo) */
  assert_int_equal(echo.err, FLURRY_OK);
  assert_non_null(
      strstr(echo.body, "\"body\":{\"query\":\"{ echo }\",\"variables\":{\"who\":\"ada\"}}"));
  assert_non_null(strstr(echo.body, "\"accept\":\"application/graphql-response+json, "
                                    "application/json\""));
  assert_non_null(strstr(echo.body, "\"content-type\":\"application/json\""));
  /* a 200 with errors fails, unless asked for partial results */
  assert_int_equal(fail.status, 200);
  assert_int_equal(fail.err, FLURRY_EHTTP);
  assert_int_equal(fail.detail, FLURRY_DETAIL_GRAPHQL_ERRORS);
  assert_non_null(strstr(fail.msg, "field fail failed"));
  assert_non_null(strstr(fail.body, "errors")); /* the body stays */
  assert_int_equal(fail_ok.err, FLURRY_OK);
  assert_int_equal(plain.err, FLURRY_OK); /* not a GraphQL request: not looked at */
  assert_int_equal(good.err, FLURRY_OK);
  assert_non_null(strstr(good.body, "pageInfo"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_graphql_refusals),
      cmocka_unit_test(test_graphql_against_mock),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
