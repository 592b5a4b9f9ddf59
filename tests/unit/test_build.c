/* test_build.c: templates (cli/build.c): {} and {.field} from a line or a
 * --each value, a paginator's {NAME}, next links, JSON bodies (GraphQL
 * style), the errors of a missing field, and request identities. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "internal.h"
/* The CLI is not a library: its pure files are compiled in here. */
#include "../../cli/build.c"

typedef struct fixture {
  cli_opts o;
  cli_level lv[2];
  cli_builder *b;
  cli_built bt;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  char err[128];
  f->o.levels = f->lv;
  f->o.nlevels = 2;
  assert_int_equal(cli_builder_new(&f->b, &f->o, NULL, err, sizeof err), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  cli_built_clear(&f->bt);
  cli_builder_free(f->b);
  free(f);
  return 0;
}

/* Builds level lv from a line (value invalid) or a value. */
static cli_built *build(fixture *f, size_t lv, const char *text, jv value, const char *var,
                        const char *var_value, const char *url) {
  cli_built_clear(&f->bt);
  cli_src src = {.lv = &f->lv[lv],
                 .text = text,
                 .len = strlen(text),
                 .value = value,
                 .var = var,
                 .var_value = var_value,
                 .url = url};
  assert_int_equal(cli_build_src(f->b, &src, 3, &f->bt), 0);
  return &f->bt;
}

static cli_built *line(fixture *f, const char *tmpl, const char *text) {
  f->lv[0].template_url = tmpl;
  return build(f, 0, text, jv_invalid(), NULL, NULL, NULL);
}

static void test_build_line_placeholders(void **state) {
  fixture *f = *state;
  assert_string_equal(line(f, "http://h/s?q={}", "a b&c/é")->url,
                      "http://h/s?q=a%20b%26c%2F%C3%A9");
  assert_string_equal(line(f, "{}", "http://h/x?y=1 2")->url, "http://h/x?y=1 2"); /* raw */
  assert_null(line(f, "{}", "http://h/x?y=1 2")->req); /* ... and then refused */
  assert_string_equal(line(f, "{.url}", "{\"url\":\"http://h/a?b=c\"}")->url, "http://h/a?b=c");
  cli_built *bt = line(f, "http://h/u/{.a.b}/{.n}", "{\"id\":9,\"a\":{\"b\":\"x y\"},\"n\":5}");
  assert_string_equal(bt->url, "http://h/u/x%20y/5");
  assert_string_equal(bt->id_json, "9");
  assert_true(bt->explicit_id && bt->key != bt->req_key);
  assert_string_equal(line(f, "http://h/{nope}/{ x}", "1")->url, "http://h/{nope}/{ x}");
}

/* A NUL byte in a templated line, or one a value brings (\u0000), is an
 * input error with method and URL set (once taken for out of memory). */
static void test_build_nul_byte_is_a_line_error(void **state) {
  fixture *f = *state;
  f->lv[0].template_url = "http://h/{}";
  cli_built_clear(&f->bt);
  cli_src src = {.lv = &f->lv[0], .text = "a\0b", .len = 3, .value = jv_invalid()};
  assert_int_equal(cli_build_src(f->b, &src, 3, &f->bt), 0);
  assert_null(f->bt.req);
  assert_string_equal(f->bt.error, "line 3: NUL byte in the input line");
  assert_non_null(f->bt.method);
  assert_non_null(f->bt.url);
  cli_built *bt = line(f, "{.u}", "{\"u\":\"http://h/a\\u0000.evil\"}");
  assert_null(bt->req);
  assert_string_equal(bt->error, "line 3: NUL byte in the URL");
  bt = line(f, NULL, "{\"url\":\"http://h/\",\"headers\":{\"X-A\\u0000B\":\"v\"}}");
  assert_null(bt->req);
  assert_string_equal(bt->error, "line 3: header \"X-A\" has a NUL byte in its name");
  bt = line(f, NULL, "{\"url\":\"http://h/\" \"x\"}"); /* libjq 1.6 would leak */
  assert_null(bt->req);
  assert_string_equal(bt->error, "line 3: not a JSON request object: invalid JSON at byte 20");
}

static void test_build_missing_field_is_clear(void **state) {
  fixture *f = *state;
  cli_built *bt = line(f, "http://h/u/{.a.c}", "{\"a\":{\"b\":1}}");
  assert_null(bt->req);
  assert_string_equal(bt->error, "line 3: field .a.c is missing or null");
  bt = line(f, "http://h/u/{.a}", "7");
  assert_string_equal(bt->error, "line 3: {.a} needs a JSON object line");
  f->lv[1].template_url = "http://h/p/{.id}";
  jv v = jv_parse("{\"x\":1}");
  bt = build(f, 1, "{\"x\":1}", v, NULL, NULL, NULL);
  jv_free(v);
  assert_string_equal(bt->error, "line 3: field .id is missing or null in the value {\"x\":1}");
}

static void test_build_value_source(void **state) {
  fixture *f = *state;
  f->lv[1].template_url = "http://h/u/{.id}/posts?n={.name}&all={}";
  jv v = jv_parse("{\"id\":7,\"name\":\"x y\"}");
  cli_built *bt = build(f, 1, "{\"id\":7,\"name\":\"x y\"}", v, NULL, NULL, NULL);
  assert_string_equal(bt->url, "http://h/u/7/posts?n=x%20y"
                               "&all=%7B%22id%22%3A7%2C%22name%22%3A%22x%20y%22%7D");
  jv_free(v);
  f->lv[1].template_url = "{}"; /* a URL from the body, as it is */
  v = jv_string("http://h/next?a=1");
  assert_string_equal(build(f, 1, "http://h/next?a=1", v, NULL, NULL, NULL)->url,
                      "http://h/next?a=1");
  jv_free(v);
}

static void test_build_paginator_variable(void **state) {
  fixture *f = *state;
  f->lv[0].template_url = "http://h/items?page={page}&per_page=5";
  cli_built *bt = build(f, 0, "", jv_invalid(), "page", "4", NULL);
  assert_string_equal(bt->url, "http://h/items?page=4&per_page=5");
  uint64_t k4 = bt->req_key;
  bt = build(f, 0, "", jv_invalid(), "page", "5", NULL);
  assert_true(bt->req_key != k4); /* each page its own identity */
  /* not in the template: a query parameter, when there is a value */
  f->lv[0].template_url = "http://h/items?limit=5";
  assert_string_equal(build(f, 0, "", jv_invalid(), "cursor", "c 1", NULL)->url,
                      "http://h/items?limit=5&cursor=c%201");
  assert_string_equal(build(f, 0, "", jv_invalid(), "cursor", "", NULL)->url,
                      "http://h/items?limit=5");
  f->lv[0].template_url = NULL; /* a URL line */
  assert_string_equal(build(f, 0, "http://h/i", jv_invalid(), "cursor", "x", NULL)->url,
                      "http://h/i?cursor=x");
  /* a next link replaces the URL */
  bt = build(f, 0, "{\"url\":\"http://h/i\",\"query\":{\"a\":1}}", jv_invalid(), NULL, NULL,
             "http://h/i?a=1&page=2");
  assert_string_equal(bt->url, "http://h/i?a=1&page=2");
  assert_int_equal(bt->req->query.len, 0); /* the link has the query already */
}

static void test_build_json_body_graphql(void **state) {
  fixture *f = *state;
  f->lv[0].template_url = "http://h/graphql";
  f->lv[0].data = "{\"query\":\"query($q:String,$a:String){search(q:$q,after:$a){id}}\","
                  "\"variables\":{\"q\":\"{.q}\",\"a\":\"{cursor}\"}}";
  f->lv[0].data_is_json = 1;
  cli_built *bt = build(f, 0, "{\"q\":\"ada\"}", jv_invalid(), "cursor", "c9", NULL);
  assert_non_null(bt->req);
  assert_string_equal(bt->method, "POST");
  assert_string_equal(bt->req->body,
                      "{\"query\":\"query($q:String,$a:String){search(q:$q,after:$a){id}}\","
                      "\"variables\":{\"q\":\"ada\",\"a\":\"c9\"}}");
  assert_string_equal(bt->url, "http://h/graphql"); /* {cursor} is in the body */
  bt = build(f, 0, "{\"q\":\"a\\\"b\"}", jv_invalid(), NULL, NULL, NULL);
  assert_null(bt->req); /* a quote breaks the JSON: said so, not sent */
  assert_non_null(strstr(bt->error, "not valid JSON"));
  bt = build(f, 0, "{\"x\":1}", jv_invalid(), NULL, NULL, NULL);
  assert_string_equal(bt->error, "line 3: field .q is missing or null");
  f->lv[0].data = NULL;
}

static void test_build_origin_fixed(void **state) {
  (void)state;
  assert_true(cli_template_origin_fixed("https://api.x/u/{}"));
  assert_true(cli_template_origin_fixed("http://api.x:8080?q={.a}"));
  assert_true(cli_template_origin_fixed("/users/{}")); /* --base-url's origin */
  assert_false(cli_template_origin_fixed("{}"));
  assert_false(cli_template_origin_fixed("{.url}?page=2"));
  assert_false(cli_template_origin_fixed("https://{.host}/x"));
  assert_false(cli_template_origin_fixed("http://api.{}.x/"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_build_line_placeholders, setup, teardown),
      cmocka_unit_test_setup_teardown(test_build_missing_field_is_clear, setup, teardown),
      cmocka_unit_test_setup_teardown(test_build_value_source, setup, teardown),
      cmocka_unit_test_setup_teardown(test_build_paginator_variable, setup, teardown),
      cmocka_unit_test_setup_teardown(test_build_json_body_graphql, setup, teardown),
      cmocka_unit_test(test_build_origin_fixed),
      cmocka_unit_test_setup_teardown(test_build_nul_byte_is_a_line_error, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
