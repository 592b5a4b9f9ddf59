/* test_pager.c: --paginate SPEC (cli/pager.c) and the jq wrapper under it
 * (cli/expr.c): which paginator a spec names, its variable, start and
 * step; compile errors naming the option and expression; runtime errors
 * naming the input; outputs collected whole. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

/* The CLI is not a library: its pure files are compiled in here. */
#include "../../cli/expr.c"
#include "../../cli/pager.c"

static int init(cli_pager *p, const char *spec, char *err, size_t errlen) {
  cli_level lv = {.paginate = spec};
  err[0] = '\0';
  return cli_pager_init(p, &lv, err, errlen);
}

static void test_pager_kinds(void **state) {
  (void)state;
  char err[512];
  cli_pager p;
  assert_int_equal(init(&p, "link", err, sizeof err), 0);
  assert_int_equal(p.kind, PAGER_LINK);
  cli_pager_free(&p);
  assert_int_equal(init(&p, ".next", err, sizeof err), 0);
  assert_int_equal(p.kind, PAGER_URL);
  assert_non_null(p.next);
  cli_pager_free(&p);
  assert_int_equal(init(&p, ".a == 1", err, sizeof err), 0); /* == is jq, not NAME= */
  assert_int_equal(p.kind, PAGER_URL);
  cli_pager_free(&p);
  assert_int_equal(init(&p, "cursor=.meta.next_cursor // empty", err, sizeof err), 0);
  assert_int_equal(p.kind, PAGER_CURSOR);
  assert_string_equal(p.var, "cursor");
  cli_pager_free(&p);
  assert_int_equal(init(&p, "page=1..", err, sizeof err), 0);
  assert_true(p.kind == PAGER_NUMBER && p.start == 1 && p.step == 1);
  assert_string_equal(p.var, "page");
  cli_pager_free(&p);
  assert_int_equal(init(&p, "offset=0..+50", err, sizeof err), 0);
  assert_true(p.kind == PAGER_NUMBER && p.start == 0 && p.step == 50);
  assert_string_equal(p.var, "offset");
  cli_pager_free(&p);
  assert_int_equal(init(&p, "start-at=3..", err, sizeof err), 0);
  assert_string_equal(p.var, "start-at");
  cli_pager_free(&p);
}

static void test_pager_errors_name_the_spec(void **state) {
  (void)state;
  char err[512];
  cli_pager p;
  const char *bad[] = {"offset=0..+0", "page=1..x", "page=1..+", "cursor=.a[", ".next[", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (init(&p, bad[i], err, sizeof err) != -1)
      fail_msg("'%s' accepted", bad[i]);
    if (strncmp(err, "--paginate '", 12) != 0)
      fail_msg("'%s': message [%s]", bad[i], err);
  }
  assert_non_null(strstr(err, "expected link, EXPR"));
  /* modules are not looked for (libjq 1.6 aborted without a search path) */
  cli_level mod = {.paginate = "link", .items = "import \"a\" as a; .[]"};
  assert_int_equal(cli_pager_init(&p, &mod, err, sizeof err), -1);
  assert_non_null(strstr(err, "--items 'import \"a\" as a; .[]': not a valid jq expression: "));
  cli_level lv = {.paginate = "link", .items = ".[", .stop_when = "true"};
  assert_int_equal(cli_pager_init(&p, &lv, err, sizeof err), -1);
  assert_non_null(strstr(err, "--items '.[': not a valid jq expression: syntax error"));
  assert_null(strchr(err, '\n')); /* one line */
}

static void test_expr_runs_whole_or_fails(void **state) {
  (void)state;
  char err[256];
  cli_expr *e;
  assert_int_equal(cli_expr_compile(&e, "--items", ".items[] | .id", err, sizeof err), 0);
  jv outs;
  char *msg;
  assert_int_equal(cli_expr_run(e, jv_parse("{\"items\":[{\"id\":1},{\"id\":2}]}"), &outs, &msg),
                   0);
  jv s = jv_dump_string(outs, 0);
  assert_string_equal(jv_string_value(s), "[1,2]");
  jv_free(s);
  /* a failure half-way drops the outputs before it */
  assert_int_equal(cli_expr_run(e, jv_parse("{\"items\":[{\"id\":1},7]}"), &outs, &msg), -1);
  assert_string_equal(msg, "--items '.items[] | .id': Cannot index number with string \"id\" "
                           "(input: {\"items\":[{\"id\":1},7]})");
  fl_free(msg);
  jv first;
  assert_int_equal(cli_expr_first(e, jv_parse("{\"items\":[]}"), &first, &msg), 0);
  assert_int_equal(jv_get_kind(first), JV_KIND_NULL); /* no output: null */
  jv_free(first);
  cli_expr_free(e);
  /* a long input is cut in the message */
  assert_int_equal(cli_expr_compile(&e, "--total", "error(\"no\")", err, sizeof err), 0);
  char big[600];
  memset(big, 'a', sizeof big);
  big[0] = big[sizeof big - 1] = '"';
  assert_int_equal(cli_expr_first(e, jv_parse_sized(big, sizeof big), &first, &msg), -1);
  assert_true(strlen(msg) < 250 && strstr(msg, "...)") != NULL);
  fl_free(msg);
  cli_expr_free(e);
  assert_true(cli_truthy(jv_true()) && cli_truthy(jv_number(0)) && !cli_truthy(jv_null()) &&
              !cli_truthy(jv_false()));
}

/* libjq 1.6 leaves the debug and input callbacks unset: these crashed
 * (under ASan) until expr.c set them. */
static void test_expr_builtins_that_reach_out(void **state) {
  (void)state;
  const struct {
    const char *src;
    int rc;
    const char *want; /* the outputs, or the start of the message */
  } cases[] = {
      {"debug | .[]", 0, "[1,2]"},
      {"[inputs]", 0, "[[]]"},
      {"input", -1, "--x 'input': No more inputs (input: [1,2])"},
      {"halt", 0, "[]"},
      {"\"stop\" | halt_error", -1, "--x '\"stop\" | halt_error': stop (input: [1,2])"},
      {"first(.[])", 0, "[1]"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char err[256];
    cli_expr *e;
    assert_int_equal(cli_expr_compile(&e, "--x", cases[i].src, err, sizeof err), 0);
    for (int round = 0; round < 2; round++) { /* the state is used again */
      jv outs;
      char *msg = NULL;
      int rc = cli_expr_run(e, jv_parse("[1,2]"), &outs, &msg);
      if (rc != cases[i].rc)
        fail_msg("%s: rc %d (%s)", cases[i].src, rc, msg ? msg : "");
      if (rc == 0) {
        jv s = jv_dump_string(outs, 0);
        assert_string_equal(jv_string_value(s), cases[i].want);
        jv_free(s);
      } else {
        assert_string_equal(msg, cases[i].want);
        fl_free(msg);
      }
    }
    cli_expr_free(e);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pager_kinds),
      cmocka_unit_test(test_pager_errors_name_the_spec),
      cmocka_unit_test(test_expr_runs_whole_or_fails),
      cmocka_unit_test(test_expr_builtins_that_reach_out),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
