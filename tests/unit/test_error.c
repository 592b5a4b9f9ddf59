/* test_error.c: the error kinds and detail words, each from its one table
 * (flurry/error.h), and README.md listing every one of them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"

/* README.md, read whole (NUL-terminated); the test fails when it cannot. */
static char *read_readme(void) {
  FILE *f = fopen(FLURRY_SOURCE_DIR "/README.md", "rb");
  assert_non_null(f);
  char *buf = malloc(1 << 20);
  assert_non_null(buf);
  size_t n = fread(buf, 1, (1 << 20) - 1, f);
  assert_true(n > 0 && n < (1 << 20) - 1); /* whole */
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* 1 when name is [a-z_]+. */
static int is_word(const char *name) {
  if (*name == '\0')
    return 0;
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
      return 0;
  return 1;
}

static void test_error_detail_names_are_distinct_words(void **state) {
  (void)state;
  assert_string_equal(flurry_detail_name(FLURRY_DETAIL_NONE), "");
  for (int d = 1; d < FLURRY_DETAIL_COUNT; d++) {
    const char *name = flurry_detail_name(d);
    if (!is_word(name))
      fail_msg("detail %d: '%s' is not a word", d, name);
    assert_true(strlen(flurry_detail_description(d)) > 0);
    for (int e = 1; e < d; e++)
      if (strcmp(name, flurry_detail_name(e)) == 0)
        fail_msg("details %d and %d are both '%s'", e, d, name);
  }
  assert_string_equal(flurry_detail_name(FLURRY_DETAIL_COUNT), "unknown");
  assert_string_equal(flurry_detail_name(-1), "unknown");
  assert_string_equal(flurry_detail_description(FLURRY_DETAIL_COUNT), "unknown detail");
  assert_string_equal(flurry_detail_name(FLURRY_DETAIL_CONNECT_TIMEOUT), "connect_timeout");
}

/* Every word of both tables is a row of README.md's tables ("| `name` |"). */
static void test_error_readme_lists_every_kind_and_detail(void **state) {
  (void)state;
  char *readme = read_readme();
  char row[96];
  for (int e = 1; e < FLURRY_ERR_COUNT; e++) {
    if (e == FLURRY_EINTERNAL) /* a bug, never an outcome to document */
      continue;
    snprintf(row, sizeof row, "\n| `%s` |", flurry_err_name(e));
    if (strstr(readme, row) == NULL)
      fail_msg("README.md has no row for the error kind %s", flurry_err_name(e));
  }
  for (int d = 1; d < FLURRY_DETAIL_COUNT; d++) {
    snprintf(row, sizeof row, "\n| `%s` |", flurry_detail_name(d));
    if (strstr(readme, row) == NULL)
      fail_msg("README.md has no row for the detail %s", flurry_detail_name(d));
  }
  free(readme);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_error_detail_names_are_distinct_words),
      cmocka_unit_test(test_error_readme_lists_every_kind_and_detail),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
