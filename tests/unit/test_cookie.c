/* test_cookie.c: the client's cookies (cookie.c): the checks of
 * flurry_client_add_cookie, the engine that stays on, and a jar file read
 * and written back in curl's format. Requests with cookies:
 * tests/integration/test_cookies.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static void test_cookie_add_checks(void **state) {
  (void)state;
  flurry_client *c = NULL;
  assert_int_equal(flurry_client_new(&c, NULL), FLURRY_OK);
  assert_int_equal(flurry_client_add_cookie(c, "sid", "abc"), FLURRY_OK);
  assert_int_equal(flurry_client_add_cookie(c, "q", "\"quoted\""), FLURRY_OK);
  const char *bad_values[] = {"a b", "a;b", "a,b", "a\"b", "a\\b", "a\rb", "\xc3\xa9"};
  for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++)
    assert_int_equal(flurry_client_add_cookie(c, "n", bad_values[i]), FLURRY_EINVALID);
  assert_int_equal(flurry_client_add_cookie(c, "", "v"), FLURRY_EINVALID);
  assert_int_equal(flurry_client_add_cookie(c, "a=b", "v"), FLURRY_EINVALID);
  assert_int_equal(flurry_client_add_cookie(c, "a b", "v"), FLURRY_EINVALID);
  assert_int_equal(flurry_client_add_cookie(NULL, "a", "v"), FLURRY_EINVALID);
  char big[9000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal(flurry_client_add_cookie(c, "big", big), FLURRY_EINVALID); /* 8 KiB in all */
  flurry_client_free(c);
}

static void test_cookie_engine_stays_on(void **state) {
  (void)state;
  flurry_client *c = NULL;
  assert_int_equal(flurry_client_new(&c, NULL), FLURRY_OK);
  assert_int_equal(flurry_client_save_cookies(c, "/nonexistent/x"), FLURRY_EINVALID); /* off */
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_COOKIES, 0), FLURRY_OK);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_COOKIES, 1), FLURRY_OK);
  assert_int_equal(c->opts.v[FLURRY_OPT_COOKIES], 1);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_COOKIES, 0), FLURRY_EINVALID);
  assert_int_equal(flurry_client_set(c, FLURRY_OPT_COOKIES, 1), FLURRY_OK); /* once */
  flurry_client_free(c);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void test_cookie_jar_round_trip(void **state) {
  (void)state;
  char dir[] = "/tmp/flurry_cookie_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char in[64], out[64], tmpdir[80];
  snprintf(in, sizeof in, "%s/in", dir);
  snprintf(out, sizeof out, "%s/out", dir);
  FILE *f = fopen(in, "w");
  assert_non_null(f);
  /* curl's own lines: a host-only session cookie and a domain one */
  fputs("# Netscape HTTP Cookie File\n"
        "api.example\tFALSE\t/\tFALSE\t0\tsid\ts-1\n"
        ".example.org\tTRUE\t/v1\tTRUE\t4102444800\ttok\tt-2\n",
        f);
  fclose(f);
  flurry_client *c = NULL;
  assert_int_equal(flurry_client_new(&c, NULL), FLURRY_OK);
  assert_int_equal(flurry_client_load_cookies(c, dir), FLURRY_EINVALID); /* a directory */
  assert_int_equal(flurry_client_load_cookies(c, in), FLURRY_OK);
  assert_int_equal(flurry_client_save_cookies(c, out), FLURRY_OK);
  struct stat st;
  assert_int_equal(stat(out, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  const char *text = slurp(out);
  assert_non_null(strstr(text, "api.example\tFALSE\t/\tFALSE\t0\tsid\ts-1\n"));
  assert_non_null(strstr(text, ".example.org\tTRUE\t/v1\tTRUE\t4102444800\ttok\tt-2\n"));
  /* a failed write leaves the file as it was, and no .tmp */
  snprintf(tmpdir, sizeof tmpdir, "%s/out.tmp", dir);
  assert_int_equal(mkdir(tmpdir, 0700), 0);
  assert_int_equal(flurry_client_save_cookies(c, out), FLURRY_EINVALID);
  assert_non_null(strstr(slurp(out), "sid\ts-1"));
  rmdir(tmpdir);
  /* a missing file is an empty jar */
  flurry_client *d = NULL;
  assert_int_equal(flurry_client_new(&d, NULL), FLURRY_OK);
  assert_int_equal(flurry_client_load_cookies(d, tmpdir), FLURRY_OK);
  assert_int_equal(flurry_client_save_cookies(d, out), FLURRY_OK);
  assert_null(strstr(slurp(out), "sid"));
  flurry_client_free(d);
  flurry_client_free(c);
  unlink(in);
  unlink(out);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cookie_add_checks),
      cmocka_unit_test(test_cookie_engine_stays_on),
      cmocka_unit_test(test_cookie_jar_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
