/* test_fl_buf.c: the fl_ layer's bounded buffer, the allocation seam, and the
 * small string helpers (fl_parse_i64, fl_strcaseeq). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fl.h"

/* A snapshot of a buffer, to prove a failed call left it as it was. */
typedef struct snap {
  char *data;
  size_t len, cap, max;
  char bytes[512];
} snap;

static void snap_take(snap *s, const fl_buf *b) {
  s->data = b->data;
  s->len = b->len;
  s->cap = b->cap;
  s->max = b->max;
  assert_true(b->len < sizeof s->bytes);
  if (b->data)
    memcpy(s->bytes, b->data, b->len + 1);
}

static void snap_check(const snap *s, const fl_buf *b) {
  assert_ptr_equal(b->data, s->data);
  assert_int_equal(b->len, s->len);
  assert_int_equal(b->cap, s->cap);
  assert_int_equal(b->max, s->max);
  if (b->data) {
    assert_memory_equal(b->data, s->bytes, b->len);
    assert_int_equal(b->data[b->len], '\0');
  }
}

/* ---- fl_buf ---- */

static void test_fl_buf_append_grows_and_terminates(void **state) {
  (void)state;
  fl_buf b = FL_BUF_INIT(0);
  assert_null(b.data);
  assert_int_equal(fl_buf_append(&b, "abc", 3), FL_OK);
  assert_int_equal(b.len, 3);
  assert_string_equal(b.data, "abc");
  /* Past the first 64-byte block: the content survives reallocation. */
  for (int i = 0; i < 100; i++)
    assert_int_equal(fl_buf_putc(&b, (char)('a' + i % 26)), FL_OK);
  assert_int_equal(b.len, 103);
  assert_true(b.cap > b.len);
  assert_int_equal(b.data[103], '\0');
  assert_memory_equal(b.data, "abcabcdef", 9);
  assert_int_equal(fl_buf_puts(&b, "XYZ"), FL_OK);
  assert_string_equal(b.data + 103, "XYZ");
  /* Embedded NUL bytes are data like any other. */
  assert_int_equal(fl_buf_append(&b, "a\0b", 3), FL_OK);
  assert_int_equal(b.len, 109);
  assert_memory_equal(b.data + 106, "a\0b", 4);
  fl_buf_free(&b);
  assert_null(b.data);
  assert_int_equal(b.len, 0);
}

static void test_fl_buf_append_zero_bytes(void **state) {
  (void)state;
  fl_buf b = FL_BUF_INIT(0);
  assert_int_equal(fl_buf_append(&b, "", 0), FL_OK);
  assert_non_null(b.data); /* terminated even when empty */
  assert_string_equal(b.data, "");
  assert_int_equal(b.len, 0);
  fl_buf_free(&b);
}

static void test_fl_buf_limit_leaves_content_unchanged(void **state) {
  (void)state;
  fl_buf b = FL_BUF_INIT(8);
  assert_int_equal(fl_buf_append(&b, "12345", 5), FL_OK);
  snap s;
  snap_take(&s, &b);
  assert_int_equal(fl_buf_append(&b, "6789", 4), FL_ELIMIT);
  snap_check(&s, &b);
  assert_int_equal(fl_buf_puts(&b, "abcd"), FL_ELIMIT);
  snap_check(&s, &b);
  assert_int_equal(fl_buf_printf(&b, "%d", 1234), FL_ELIMIT);
  snap_check(&s, &b);
  /* Exactly up to the limit is fine, one byte more is not. */
  assert_int_equal(fl_buf_append(&b, "678", 3), FL_OK);
  assert_int_equal(b.len, 8);
  assert_string_equal(b.data, "12345678");
  snap_take(&s, &b);
  assert_int_equal(fl_buf_putc(&b, '9'), FL_ELIMIT);
  snap_check(&s, &b);
  assert_int_equal(fl_buf_append(&b, "", 0), FL_OK);
  fl_buf_free(&b);
  assert_int_equal(b.max, 8); /* free keeps the limit */
}

static void test_fl_buf_limit_on_long_printf(void **state) {
  (void)state;
  /* Longer than the 256-byte stack buffer printf tries first. */
  fl_buf b = FL_BUF_INIT(300);
  assert_int_equal(fl_buf_puts(&b, "head"), FL_OK);
  snap s;
  snap_take(&s, &b);
  assert_int_equal(fl_buf_printf(&b, "%400s", "x"), FL_ELIMIT);
  snap_check(&s, &b);
  assert_int_equal(fl_buf_printf(&b, "%296s", "x"), FL_OK);
  assert_int_equal(b.len, 300);
  fl_buf_free(&b);
}

static void test_fl_buf_printf_growth(void **state) {
  (void)state;
  fl_buf b = FL_BUF_INIT(0);
  assert_int_equal(fl_buf_printf(&b, "%s=%d;", "a", 1), FL_OK);
  assert_string_equal(b.data, "a=1;");
  /* Longer than 256 bytes: the second, in-place vsnprintf path. */
  char big[1000];
  memset(big, 'q', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal(fl_buf_printf(&b, "<%s>%d", big, 42), FL_OK);
  assert_int_equal(b.len, 4 + 1 + 999 + 1 + 2);
  assert_memory_equal(b.data, "a=1;<qqq", 8);
  assert_string_equal(b.data + 4 + 1 + 999, ">42");
  /* Exactly 255 and 256 characters: either side of the stack buffer. */
  fl_buf_reset(&b);
  assert_int_equal(b.len, 0);
  assert_string_equal(b.data, "");
  assert_int_equal(fl_buf_printf(&b, "%255s", "y"), FL_OK);
  assert_int_equal(b.len, 255);
  assert_int_equal(fl_buf_printf(&b, "%256s", "z"), FL_OK);
  assert_int_equal(b.len, 511);
  assert_int_equal(b.data[254], 'y');
  assert_int_equal(b.data[510], 'z');
  assert_int_equal(b.data[511], '\0');
  fl_buf_free(&b);
}

static void test_fl_buf_take_hands_over_storage(void **state) {
  (void)state;
  fl_buf b = FL_BUF_INIT(100);
  assert_int_equal(fl_buf_puts(&b, "hello"), FL_OK);
  size_t len = 0;
  char *s = fl_buf_take(&b, &len);
  assert_non_null(s);
  assert_int_equal(len, 5);
  assert_string_equal(s, "hello");
  assert_null(b.data);
  assert_int_equal(b.len, 0);
  assert_int_equal(b.cap, 0);
  assert_int_equal(b.max, 100);
  fl_free(s);
  /* An empty buffer gives "" (never NULL), and len may be NULL. */
  s = fl_buf_take(&b, &len);
  assert_non_null(s);
  assert_string_equal(s, "");
  assert_int_equal(len, 0);
  fl_free(s);
  assert_int_equal(fl_buf_puts(&b, "again"), FL_OK);
  s = fl_buf_take(&b, NULL);
  assert_string_equal(s, "again");
  fl_free(s);
}

static void test_fl_buf_reserve_does_not_change_length(void **state) {
  (void)state;
  fl_buf b = FL_BUF_INIT(10);
  assert_int_equal(fl_buf_reserve(&b, 10), FL_OK);
  assert_int_equal(b.len, 0);
  assert_true(b.cap >= 11);
  assert_int_equal(fl_buf_reserve(&b, 11), FL_ELIMIT);
  fl_buf_free(&b);
}

/* ---- fl_buf_i64 / fl_buf_fixed3 ---- */

static void expect_i64(int64_t v, const char *want) {
  fl_buf b = FL_BUF_INIT(0);
  assert_int_equal(fl_buf_putc(&b, '<'), FL_OK);
  assert_int_equal(fl_buf_i64(&b, v), FL_OK);
  assert_string_equal(b.data + 1, want);
  assert_int_equal(b.len, 1 + strlen(want));
  fl_buf_free(&b);
}

static void test_fl_buf_i64_formats_decimal(void **state) {
  (void)state;
  expect_i64(0, "0");
  expect_i64(7, "7");
  expect_i64(-7, "-7");
  expect_i64(1234567890, "1234567890");
  expect_i64(INT64_MAX, "9223372036854775807");
  expect_i64(INT64_MIN, "-9223372036854775808");
  fl_buf b = FL_BUF_INIT(3);
  assert_int_equal(fl_buf_i64(&b, 1234), FL_ELIMIT);
  assert_int_equal(b.len, 0);
  assert_int_equal(fl_buf_i64(&b, -12), FL_OK);
  assert_string_equal(b.data, "-12");
  fl_buf_free(&b);
}

static void expect_fixed3(double v, const char *want) {
  fl_buf b = FL_BUF_INIT(0);
  assert_int_equal(fl_buf_fixed3(&b, v), FL_OK);
  if (strcmp(b.data, want) != 0)
    fail_msg("fixed3(%.17g) = '%s', want '%s'", v, b.data, want);
  fl_buf_free(&b);
}

static void test_fl_buf_fixed3_three_decimals(void **state) {
  (void)state;
  expect_fixed3(0.0, "0.000");
  expect_fixed3(1.5, "1.500");
  expect_fixed3(12.345, "12.345");
  expect_fixed3(0.0004, "0.000");
  expect_fixed3(0.0006, "0.001");
  expect_fixed3(0.9996, "1.000"); /* the carry reaches the integer part */
  expect_fixed3(99.9999, "100.000");
  expect_fixed3(123456.789, "123456.789");
  expect_fixed3(1e16, "10000000000000000.000"); /* past the fast path */
  /* Not a duration: shown as zero rather than as garbage. */
  expect_fixed3(-1.0, "0.000");
  expect_fixed3(NAN, "0.000");
  /* Agrees with printf away from exact halves. */
  for (int i = 0; i < 2000; i++) {
    double v = i * 1.2345678;
    char want[64];
    snprintf(want, sizeof want, "%.3f", v);
    expect_fixed3(v, want);
  }
}

/* ---- the allocation seam ---- */

static void test_fl_buf_alloc_seam_fails_kth_allocation(void **state) {
  (void)state;
  fl_alloc_fail_at(3);
  void *a = fl_malloc(8);
  char *b = fl_strdup("x");
  void *c = fl_calloc(2, 4); /* the third: fails */
  void *d = fl_malloc(8);    /* the seam disarms itself after firing */
  assert_non_null(a);
  assert_non_null(b);
  assert_null(c);
  assert_non_null(d);
  fl_free(a);
  fl_free(b);
  fl_free(d);
  fl_alloc_fail_at(1);
  assert_null(fl_realloc(NULL, 16));
  fl_alloc_fail_at(1);
  assert_null(fl_strndup("abc", 2));
  a = fl_malloc(1);
  assert_non_null(a);
  fl_free(a);
  fl_alloc_fail_at(0); /* 0 disables */
}

static void test_fl_buf_alloc_failure_leaves_buffer_unchanged(void **state) {
  (void)state;
  fl_buf b = FL_BUF_INIT(0);
  /* First allocation of an empty buffer. */
  fl_alloc_fail_at(1);
  assert_int_equal(fl_buf_puts(&b, "abc"), FL_ENOMEM);
  assert_null(b.data);
  assert_int_equal(b.len, 0);
  assert_int_equal(b.cap, 0);
  /* Growth of a filled buffer: append, putc, printf (both paths). */
  assert_int_equal(fl_buf_puts(&b, "abc"), FL_OK);
  while (b.len + 1 < b.cap)
    assert_int_equal(fl_buf_putc(&b, '.'), FL_OK);
  snap s;
  snap_take(&s, &b);
  fl_alloc_fail_at(1);
  assert_int_equal(fl_buf_append(&b, "0123456789", 10), FL_ENOMEM);
  snap_check(&s, &b);
  fl_alloc_fail_at(1);
  assert_int_equal(fl_buf_putc(&b, '!'), FL_ENOMEM);
  snap_check(&s, &b);
  fl_alloc_fail_at(1);
  assert_int_equal(fl_buf_printf(&b, "%d", 7), FL_ENOMEM);
  snap_check(&s, &b);
  fl_alloc_fail_at(1);
  assert_int_equal(fl_buf_printf(&b, "%300s", "w"), FL_ENOMEM);
  snap_check(&s, &b);
  /* Once the seam has fired, the same call succeeds. */
  assert_int_equal(fl_buf_putc(&b, '!'), FL_OK);
  assert_int_equal(b.data[b.len - 1], '!');
  fl_buf_free(&b);
  /* take of an empty buffer needs one allocation for "". */
  fl_alloc_fail_at(1);
  assert_null(fl_buf_take(&b, NULL));
  fl_alloc_fail_at(0);
}

/* ---- fl_parse_i64 ---- */

static int parse(const char *s, int64_t min, int64_t max, int64_t *out) {
  return fl_parse_i64(s, strlen(s), min, max, out);
}

static void test_fl_buf_parse_i64_accepts_whole_numbers(void **state) {
  (void)state;
  int64_t v = -1;
  assert_int_equal(parse("0", 0, 10, &v), 0);
  assert_int_equal(v, 0);
  assert_int_equal(parse("42", INT64_MIN, INT64_MAX, &v), 0);
  assert_int_equal(v, 42);
  assert_int_equal(parse("+7", INT64_MIN, INT64_MAX, &v), 0);
  assert_int_equal(v, 7);
  assert_int_equal(parse("-7", INT64_MIN, INT64_MAX, &v), 0);
  assert_int_equal(v, -7);
  assert_int_equal(parse("007", 0, 10, &v), 0);
  assert_int_equal(v, 7);
  assert_int_equal(parse("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
  assert_true(v == INT64_MAX);
  assert_int_equal(parse("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
  assert_true(v == INT64_MIN);
  /* Only n bytes are read: "12" of "123". */
  assert_int_equal(fl_parse_i64("123", 2, 0, 1000, &v), 0);
  assert_int_equal(v, 12);
}

static void test_fl_buf_parse_i64_rejects_overflow(void **state) {
  (void)state;
  int64_t v = 99;
  assert_int_equal(parse("9223372036854775808", INT64_MIN, INT64_MAX, &v), -1);
  assert_int_equal(parse("-9223372036854775809", INT64_MIN, INT64_MAX, &v), -1);
  assert_int_equal(parse("18446744073709551615", INT64_MIN, INT64_MAX, &v), -1);
  assert_int_equal(parse("18446744073709551616", INT64_MIN, INT64_MAX, &v), -1);
  assert_int_equal(parse("99999999999999999999999", INT64_MIN, INT64_MAX, &v), -1);
  assert_int_equal(v, 99); /* *out untouched on failure */
}

static void test_fl_buf_parse_i64_rejects_malformed(void **state) {
  (void)state;
  int64_t v = 99;
  const char *bad[] = {"",   "-",  "+",    "--1", "+-1", " 1",  "1 ",
                       "1a", "a1", "0x10", "1.0", "1e3", "\t5", "٣"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (parse(bad[i], INT64_MIN, INT64_MAX, &v) != -1)
      fail_msg("accepted '%s'", bad[i]);
  }
  assert_int_equal(fl_parse_i64("5", 0, 0, 10, &v), -1); /* n == 0 */
  assert_int_equal(v, 99);
}

static void test_fl_buf_parse_i64_enforces_bounds(void **state) {
  (void)state;
  int64_t v = 99;
  assert_int_equal(parse("10", 0, 10, &v), 0);
  assert_int_equal(v, 10);
  assert_int_equal(parse("11", 0, 10, &v), -1);
  assert_int_equal(parse("-1", 0, 10, &v), -1);
  assert_int_equal(parse("-5", -5, -1, &v), 0);
  assert_int_equal(v, -5);
  assert_int_equal(parse("-6", -5, -1, &v), -1);
  assert_int_equal(parse("0", -5, -1, &v), -1);
  assert_int_equal(v, -5);
}

/* ---- fl_strcaseeq ---- */

static void test_fl_buf_strcaseeq(void **state) {
  (void)state;
  assert_true(fl_strcaseeq("Content-Type", "content-type"));
  assert_true(fl_strcaseeq("ABC", "abc"));
  assert_true(fl_strcaseeq("", ""));
  assert_false(fl_strcaseeq("abc", "abcd"));
  assert_false(fl_strcaseeq("abcd", "abc"));
  assert_false(fl_strcaseeq("abc", "abd"));
  assert_false(fl_strcaseeq("", "a"));
  /* ASCII only: '@' (0x40) and '`' (0x60) differ by 32 but are not letters. */
  assert_false(fl_strcaseeq("@", "`"));
  assert_false(fl_strcaseeq("[", "{"));
  assert_false(fl_strcaseeq("\xc3\x89", "\xc3\xa9")); /* É vs é: bytes differ */
  assert_true(fl_strncaseeq("HeLLo world", "hello WORLD", 11));
  assert_true(fl_strncaseeq("abcX", "ABCy", 3));
  assert_false(fl_strncaseeq("abcX", "ABCy", 4));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fl_buf_append_grows_and_terminates),
      cmocka_unit_test(test_fl_buf_append_zero_bytes),
      cmocka_unit_test(test_fl_buf_limit_leaves_content_unchanged),
      cmocka_unit_test(test_fl_buf_limit_on_long_printf),
      cmocka_unit_test(test_fl_buf_printf_growth),
      cmocka_unit_test(test_fl_buf_take_hands_over_storage),
      cmocka_unit_test(test_fl_buf_reserve_does_not_change_length),
      cmocka_unit_test(test_fl_buf_i64_formats_decimal),
      cmocka_unit_test(test_fl_buf_fixed3_three_decimals),
      cmocka_unit_test(test_fl_buf_alloc_seam_fails_kth_allocation),
      cmocka_unit_test(test_fl_buf_alloc_failure_leaves_buffer_unchanged),
      cmocka_unit_test(test_fl_buf_parse_i64_accepts_whole_numbers),
      cmocka_unit_test(test_fl_buf_parse_i64_rejects_overflow),
      cmocka_unit_test(test_fl_buf_parse_i64_rejects_malformed),
      cmocka_unit_test(test_fl_buf_parse_i64_enforces_bounds),
      cmocka_unit_test(test_fl_buf_strcaseeq),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
