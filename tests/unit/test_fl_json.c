/* test_fl_json.c: the fl_ JSON text helpers: validate-and-compact, string
 * escaping, text detection and base64. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fl.h"

/* Compacts `in` into a buffer that already holds "keep:" and returns the rc;
 * on success *out is the compacted text (without the prefix). On failure it
 * checks the buffer still holds exactly "keep:". The input is copied to an
 * exactly-sized heap block so that ASan sees any read past its end. */
static int compact(const char *in, size_t n, char *out, size_t outsz, size_t *err_off) {
  char *copy = malloc(n ? n : 1);
  assert_non_null(copy);
  memcpy(copy, in, n);
  fl_buf b = FL_BUF_INIT(0);
  assert_int_equal(fl_buf_puts(&b, "keep:"), FL_OK);
  int rc = fl_json_compact(&b, copy, n, err_off);
  if (rc == FL_OK) {
    assert_true(b.len - 5 < outsz);
    memcpy(out, b.data + 5, b.len - 5 + 1);
  } else {
    assert_int_equal(b.len, 5);
    assert_string_equal(b.data, "keep:");
  }
  fl_buf_free(&b);
  free(copy);
  return rc;
}

static void expect_compact(const char *in, const char *want) {
  char out[1024];
  size_t off = 12345;
  int rc = compact(in, strlen(in), out, sizeof out, &off);
  if (rc != FL_OK)
    fail_msg("rejected (rc %d at %zu): %s", rc, off, in);
  assert_string_equal(out, want);
  assert_int_equal(off, 12345); /* untouched on success */
}

static void expect_invalid(const char *in, size_t n) {
  char out[1024];
  int rc = compact(in, n, out, sizeof out, NULL);
  if (rc != FL_EPARSE)
    fail_msg("not rejected (rc %d): %.*s", rc, (int)n, in);
}

/* ---- fl_json_compact: valid documents ---- */

static void test_fl_json_compact_removes_white_space(void **state) {
  (void)state;
  expect_compact(" {\n\t\"a\" : [ 1 , 2 ] ,\r\n \"b\" : { } , \"c\" : [ ] }\n ",
                 "{\"a\":[1,2],\"b\":{},\"c\":[]}");
  /* White space inside strings is content. */
  expect_compact("[ \"a b\\t c\" ,\"  \" ]", "[\"a b\\t c\",\"  \"]");
  expect_compact("\t\r\n 42 \t\r\n", "42");
  expect_compact("true", "true");
  expect_compact(" false", "false");
  expect_compact("null ", "null");
  expect_compact("\"\"", "\"\"");
}

static void test_fl_json_compact_nested(void **state) {
  (void)state;
  expect_compact("{\"a\": {\"b\": {\"c\": [[[], {}], [null, [true, [false]]]]}}, \"d\": 0}",
                 "{\"a\":{\"b\":{\"c\":[[[],{}],[null,[true,[false]]]]}},\"d\":0}");
  expect_compact("[{\"x\":[{\"y\":[{}]}]}]", "[{\"x\":[{\"y\":[{}]}]}]");
  /* Duplicate keys are valid JSON text and are kept as they are. */
  expect_compact("{\"k\":1,\"k\":2}", "{\"k\":1,\"k\":2}");
}

static void test_fl_json_compact_numbers(void **state) {
  (void)state;
  expect_compact(
      "[0, -0, 1, -1, 1e5, 1E5, 1e+5, 1e-5, 1.5E-3, -0.0, 0.25, 123456789012345678901234567890]",
      "[0,-0,1,-1,1e5,1E5,1e+5,1e-5,1.5E-3,-0.0,0.25,123456789012345678901234567890]");
  expect_compact("-0", "-0");
  expect_compact("1.5E-3", "1.5E-3");
  expect_compact("  1e5", "1e5");
  expect_compact("-12.5e+003", "-12.5e+003"); /* leading zeros in the exponent are fine */
}

static void test_fl_json_compact_strings_kept_byte_exact(void **state) {
  (void)state;
  /* Escapes are validated, not decoded; UTF-8 passes through. */
  expect_compact("[\"\\u00e9\\u00E9\", \"\\ud83d\\ude00\", \"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]",
                 "[\"\\u00e9\\u00E9\",\"\\ud83d\\ude00\",\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]");
  expect_compact("{\"caf\xc3\xa9\": \"\xe2\x82\xac \xf0\x9f\x98\x80\"}",
                 "{\"caf\xc3\xa9\":\"\xe2\x82\xac \xf0\x9f\x98\x80\"}");
  expect_compact("\"\x7f\"", "\"\x7f\""); /* DEL is not a control character in JSON */
}

static void test_fl_json_compact_appends_after_content(void **state) {
  (void)state;
  fl_buf b = FL_BUF_INIT(0);
  assert_int_equal(fl_buf_puts(&b, "{\"body\":"), FL_OK);
  assert_int_equal(fl_json_compact(&b, " [ 1 , 2 ] ", 11, NULL), FL_OK);
  assert_int_equal(fl_buf_putc(&b, '}'), FL_OK);
  assert_string_equal(b.data, "{\"body\":[1,2]}");
  assert_int_equal(b.len, strlen(b.data));
  fl_buf_free(&b);
}

/* ---- fl_json_compact: invalid documents ---- */

static void test_fl_json_compact_rejects_invalid(void **state) {
  (void)state;
  const char *bad[] = {
      "",
      " ",
      "[1,]",
      "{\"a\":1,}",
      "[,1]",
      "{,}",
      "01",
      "-01",
      "[01]",
      "00",
      "-",
      "[-]",
      "1.",
      ".5",
      "1e",
      "1e+",
      "+1",
      "0x10",
      "1.5.2",
      "NaN",
      "Infinity",
      "tru",
      "nul",
      "falsey",
      "True",
      "\"\\x\"",
      "\"\\u12G4\"",
      "\"\\u12\"",
      "\"\\\"",
      "\"abc",
      "\"a\tb\"",
      "\"a\nb\"",
      "\"\x01\"",
      "\"\x1f\"",
      "\"\xff\"",
      "\"\xc0\xaf\"",
      "\"\xed\xa0\x80\"",
      "\"\xf4\x90\x80\x80\"",
      "\"\xe2\x82\"",
      "1 2",
      "[] []",
      "{}{}",
      "\"a\" \"b\"",
      "[1 2]",
      "{\"a\" 1}",
      "{\"a\":}",
      "{1:2}",
      "{a:1}",
      "{\"a\"}",
      "[",
      "]",
      "{",
      "}",
      "[}",
      "{]",
      "'a'",
      "\xef\xbb\xbf{}",
      "/* */ 1",
      "[1]x",
      "\xff",
      "\"\\",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_invalid(bad[i], strlen(bad[i]));
  /* A NUL byte is not white space, in or out of a string. */
  expect_invalid("1\0", 2);
  expect_invalid("\"a\0b\"", 5);
  expect_invalid("\0", 1);
}

static void test_fl_json_compact_reports_error_offset(void **state) {
  (void)state;
  char out[64];
  size_t off = 999;
  assert_int_equal(compact("[1,]", 4, out, sizeof out, &off), FL_EPARSE);
  assert_int_equal(off, 3);
  off = 999;
  assert_int_equal(compact("{\"a\":1} x", 9, out, sizeof out, &off), FL_EPARSE);
  assert_int_equal(off, 8);
  /* After a value inside brackets, a byte that is neither ',' nor the
   * closing one: the offset is past it (the CLI's "invalid JSON at byte N"
   * has always said so). */
  off = 999;
  assert_int_equal(compact("[1 2]", 5, out, sizeof out, &off), FL_EPARSE);
  assert_int_equal(off, 4);
  off = 999;
  assert_int_equal(compact("{\"a\":1]", 7, out, sizeof out, &off), FL_EPARSE);
  assert_int_equal(off, 7);
  /* err_off may be NULL. */
  assert_int_equal(compact("[", 1, out, sizeof out, NULL), FL_EPARSE);
}

static char *nested(int depth, size_t *len) {
  char *p = malloc((size_t)depth * 2);
  assert_non_null(p);
  memset(p, '[', (size_t)depth);
  memset(p + depth, ']', (size_t)depth);
  *len = (size_t)depth * 2;
  return p;
}

static int compact_nested(int depth) {
  size_t n;
  char *p = nested(depth, &n);
  fl_buf b = FL_BUF_INIT(0);
  int rc = fl_json_compact(&b, p, n, NULL);
  if (rc == FL_OK) {
    assert_int_equal(b.len, n);
    assert_memory_equal(b.data, p, n);
  } else {
    assert_int_equal(b.len, 0);
  }
  fl_buf_free(&b);
  free(p);
  return rc;
}

static void test_fl_json_compact_depth_limit(void **state) {
  (void)state;
  assert_int_equal(compact_nested(1), FL_OK);
  assert_int_equal(compact_nested(512), FL_OK);
  assert_int_equal(compact_nested(600), FL_EPARSE);
  /* Deep enough to overflow the stack if the limit did not hold. */
  assert_int_equal(compact_nested(200000), FL_EPARSE);
  /* The same with objects: {"a":{"a":...}} */
  fl_buf doc = FL_BUF_INIT(0);
  for (int i = 0; i < 1000; i++)
    assert_int_equal(fl_buf_puts(&doc, "{\"a\":"), FL_OK);
  assert_int_equal(fl_buf_puts(&doc, "1"), FL_OK);
  for (int i = 0; i < 1000; i++)
    assert_int_equal(fl_buf_putc(&doc, '}'), FL_OK);
  fl_buf b = FL_BUF_INIT(0);
  assert_int_equal(fl_json_compact(&b, doc.data, doc.len, NULL), FL_EPARSE);
  assert_int_equal(b.len, 0);
  fl_buf_free(&b);
  fl_buf_free(&doc);
}

/* Was a bug (fixed): the documented depth limit is 512, but 513 nested
 * containers are accepted (the check is `depth > 512` with depth 0 for the
 * outermost container). */
static void test_fl_json_compact_depth_513_rejected(void **state) {
  (void)state;
  assert_int_equal(compact_nested(513), FL_EPARSE);
}

/* ---- every prefix ---- */

/* Feeds doc[0..k) for every k. For a container document every prefix that
 * stops before its closing bracket must be rejected; none may crash (the
 * prefix sits in an exactly-sized heap block, see compact()). */
static void check_prefixes(const char *doc, int is_container) {
  size_t n = strlen(doc);
  size_t end = n; /* the value ends before any trailing white space */
  while (end > 0 && strchr(" \t\r\n", doc[end - 1]) != NULL)
    end--;
  char out[1024];
  for (size_t k = 0; k <= n; k++) {
    int rc = compact(doc, k, out, sizeof out, NULL);
    if (k >= end) {
      if (rc != FL_OK)
        fail_msg("document rejected at length %zu: %s", k, doc);
    } else if (is_container && rc != FL_EPARSE) {
      fail_msg("strict prefix of length %zu accepted (rc %d): %.*s", k, rc, (int)k, doc);
    } else if (rc != FL_OK && rc != FL_EPARSE) {
      fail_msg("prefix of length %zu gave rc %d", k, rc);
    }
  }
}

static void test_fl_json_compact_every_prefix(void **state) {
  (void)state;
  check_prefixes("{\"a\":[1,{\"b\":null}],\"c\":\"\\u00e9x\\n\",\"d\":-1.5e+3,"
                 "\"e\":[true,false,{},[]],\"f\":\"\xe2\x82\xac\xf0\x9f\x98\x80\"}",
                 1);
  check_prefixes(" [ { \"k\" : \"v\" } , 0 , -0.5E-2 , \"\\\"\\\\\" ] ", 1);
  check_prefixes("[[[[[]]]]]", 1);
  check_prefixes("{}", 1);
  check_prefixes("\"string \\u0041\\ud83d\\ude00 \xc3\xa9\"", 0);
  check_prefixes("true", 0);
}

static void test_fl_json_compact_number_prefixes(void **state) {
  (void)state;
  /* A number is complete at some prefixes and not at others. */
  const char *doc = "-12.5e+3";
  const int ok[] = {0, 0, 1, 1, 0, 1, 0, 0, 1}; /* by prefix length */
  char out[64];
  for (size_t k = 0; k <= strlen(doc); k++) {
    int rc = compact(doc, k, out, sizeof out, NULL);
    if ((rc == FL_OK) != ok[k])
      fail_msg("prefix '%.*s': rc %d", (int)k, doc, rc);
    if (rc == FL_OK)
      assert_memory_equal(out, doc, k);
  }
}

/* ---- fl_json_compact: resource errors ---- */

static void test_fl_json_compact_nomem_leaves_buffer_unchanged(void **state) {
  (void)state;
  const char *doc = "[\"0123456789012345678901234567890123456789\", "
                    "\"0123456789012345678901234567890123456789\", "
                    "\"0123456789012345678901234567890123456789\", {\"k\": [1, 2, 3]}]";
  /* Fail the first, then the second allocation: the second happens
   * mid-document (the output passes 128 bytes), after some was appended. */
  for (uint64_t k = 1; k <= 2; k++) {
    fl_buf b = FL_BUF_INIT(0);
    assert_int_equal(fl_buf_puts(&b, "keep:"), FL_OK);
    if (k == 1) {
      while (b.len + 1 < b.cap) /* full: the next byte needs a realloc */
        assert_int_equal(fl_buf_putc(&b, '.'), FL_OK);
    }
    char before[128];
    size_t before_len = b.len;
    memcpy(before, b.data, b.len + 1);
    fl_alloc_fail_at(k);
    int rc = fl_json_compact(&b, doc, strlen(doc), NULL);
    fl_alloc_fail_at(0);
    assert_int_equal(rc, FL_ENOMEM);
    assert_int_equal(b.len, before_len);
    assert_string_equal(b.data, before);
    fl_buf_free(&b);
  }
}

static void test_fl_json_compact_limit(void **state) {
  (void)state;
  fl_buf b = FL_BUF_INIT(10);
  assert_int_equal(fl_buf_puts(&b, "ab"), FL_OK);
  assert_int_equal(fl_json_compact(&b, "[1, 2, 3, 4, 5]", 15, NULL), FL_ELIMIT);
  assert_string_equal(b.data, "ab");
  assert_int_equal(b.len, 2);
  assert_int_equal(fl_json_compact(&b, "[1, 2, 3]", 9, NULL), FL_OK);
  assert_string_equal(b.data, "ab[1,2,3]");
  fl_buf_free(&b);
}

/* ---- fl_json_str ---- */

static void expect_str(const char *in, size_t n, const char *want) {
  fl_buf b = FL_BUF_INIT(0);
  assert_int_equal(fl_json_str(&b, in, n), FL_OK);
  assert_string_equal(b.data, want);
  assert_int_equal(b.len, strlen(want));
  /* Whatever went in, what comes out is one valid JSON string. */
  fl_buf c = FL_BUF_INIT(0);
  assert_int_equal(fl_json_compact(&c, b.data, b.len, NULL), FL_OK);
  assert_string_equal(c.data, b.data);
  fl_buf_free(&c);
  fl_buf_free(&b);
}

static void test_fl_json_str_escapes_quotes_and_backslash(void **state) {
  (void)state;
  expect_str("", 0, "\"\"");
  expect_str("plain", 5, "\"plain\"");
  expect_str("say \"hi\"", 8, "\"say \\\"hi\\\"\"");
  expect_str("C:\\dir\\", 7, "\"C:\\\\dir\\\\\"");
  expect_str("/", 1, "\"/\""); /* solidus needs no escape */
}

static void test_fl_json_str_escapes_control_chars(void **state) {
  (void)state;
  expect_str("a\nb\rc\td", 7, "\"a\\nb\\rc\\td\"");
  expect_str("\x01\x1f", 2, "\"\\u0001\\u001f\"");
  expect_str("\b\f", 2, "\"\\u0008\\u000c\"");
  expect_str("x\0y", 3, "\"x\\u0000y\"");
  expect_str("\x7f", 1, "\"\x7f\""); /* DEL is allowed raw in JSON */
  expect_str(" ", 1, "\" \"");
}

static void test_fl_json_str_replaces_invalid_utf8(void **state) {
  (void)state;
#define FFFD "\xef\xbf\xbd"
  expect_str("a\xff"
             "b",
             3, "\"a" FFFD "b\"");
  expect_str("\x80", 1, "\"" FFFD "\"");                            /* lone continuation */
  expect_str("\xc0\xaf", 2, "\"" FFFD FFFD "\"");                   /* overlong '/' */
  expect_str("\xed\xa0\x80", 3, "\"" FFFD FFFD FFFD "\"");          /* surrogate */
  expect_str("\xf4\x90\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\""); /* > U+10FFFF */
  expect_str("\xe2\x82", 2, "\"" FFFD FFFD "\"");                   /* truncated at the end */
  expect_str("\xe2\x82x", 3, "\"" FFFD FFFD "x\"");                 /* truncated mid-string */
#undef FFFD
}

static void test_fl_json_str_keeps_valid_multibyte(void **state) {
  (void)state;
  expect_str("caf\xc3\xa9", 5, "\"caf\xc3\xa9\"");
  expect_str("\xe2\x82\xac", 3, "\"\xe2\x82\xac\"");
  expect_str("\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"");
  expect_str("\xf4\x8f\xbf\xbf", 4, "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF */
  expect_str("\xc2\x80", 2, "\"\xc2\x80\"");                 /* U+0080 */
}

static void test_fl_json_str_every_byte_gives_valid_json(void **state) {
  (void)state;
  /* Every single byte, and a pseudo-random byte soup, escape to valid JSON. */
  for (int c = 0; c < 256; c++) {
    char in = (char)c;
    fl_buf b = FL_BUF_INIT(0);
    assert_int_equal(fl_json_str(&b, &in, 1), FL_OK);
    fl_buf v = FL_BUF_INIT(0);
    if (fl_json_compact(&v, b.data, b.len, NULL) != FL_OK)
      fail_msg("byte 0x%02x escaped to invalid JSON: %s", c, b.data);
    fl_buf_free(&v);
    fl_buf_free(&b);
  }
  uint32_t x = 12345;
  char soup[4096];
  for (size_t i = 0; i < sizeof soup; i++) {
    x = x * 1103515245u + 12345u;
    soup[i] = (char)(x >> 16);
  }
  fl_buf b = FL_BUF_INIT(0);
  assert_int_equal(fl_json_str(&b, soup, sizeof soup), FL_OK);
  fl_buf v = FL_BUF_INIT(0);
  assert_int_equal(fl_json_compact(&v, b.data, b.len, NULL), FL_OK);
  fl_buf_free(&v);
  fl_buf_free(&b);
}

/* ---- fl_is_text ---- */

static void test_fl_json_is_text(void **state) {
  (void)state;
  assert_int_equal(fl_is_text("", 0), 1);
  assert_int_equal(fl_is_text("hello, world", 12), 1);
  assert_int_equal(fl_is_text("a\tb\r\nc", 6), 1);
  assert_int_equal(fl_is_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14), 1);
  assert_int_equal(fl_is_text("\xf4\x8f\xbf\xbf", 4), 1);
  assert_int_equal(fl_is_text("a\0b", 3), 0);
  assert_int_equal(fl_is_text("\x01", 1), 0);
  assert_int_equal(fl_is_text("\x1b[0m", 4), 0); /* ESC */
  assert_int_equal(fl_is_text("\xff", 1), 0);
  assert_int_equal(fl_is_text("\x80", 1), 0);
  assert_int_equal(fl_is_text("\xc0\x80", 2), 0);         /* overlong NUL */
  assert_int_equal(fl_is_text("\xed\xa0\x80", 3), 0);     /* surrogate */
  assert_int_equal(fl_is_text("\xf4\x90\x80\x80", 4), 0); /* > U+10FFFF */
  assert_int_equal(fl_is_text("ok\xe2\x82", 4), 0);       /* truncated */
  /* Only n bytes count: the invalid byte after them is not looked at. */
  assert_int_equal(fl_is_text("ok\xff", 2), 1);
  /* A PNG signature is binary. */
  assert_int_equal(fl_is_text("\x89PNG\r\n\x1a\n", 8), 0);
}

/* fl_utf8_valid: UTF-8 only (control characters and NUL are valid). */
static void test_fl_json_utf8_valid(void **state) {
  (void)state;
  assert_int_equal(fl_utf8_valid("", 0), 1);
  assert_int_equal(fl_utf8_valid("a\0\x01\x1b", 4), 1);
  assert_int_equal(fl_utf8_valid("caf\xc3\xa9 \xf0\x9f\x98\x80", 10), 1);
  assert_int_equal(fl_utf8_valid("\xff\xfe", 2), 0);
  assert_int_equal(fl_utf8_valid("\xc0\x80", 2), 0);     /* overlong */
  assert_int_equal(fl_utf8_valid("\xed\xa0\x80", 3), 0); /* surrogate */
  assert_int_equal(fl_utf8_valid("ok\xe2\x82", 4), 0);   /* truncated */
  assert_int_equal(fl_utf8_valid("ok\xff", 2), 1);       /* only n bytes */
}

/* ---- fl_base64 ---- */

static void expect_b64(const char *in, size_t n, const char *want) {
  fl_buf b = FL_BUF_INIT(0);
  assert_int_equal(fl_buf_puts(&b, ">"), FL_OK);
  assert_int_equal(fl_base64(&b, (const unsigned char *)in, n), FL_OK);
  assert_string_equal(b.data + 1, want);
  assert_int_equal(b.len, 1 + strlen(want));
  fl_buf_free(&b);
}

static void test_fl_json_base64_rfc4648_vectors(void **state) {
  (void)state;
  expect_b64("", 0, "");
  expect_b64("f", 1, "Zg==");
  expect_b64("fo", 2, "Zm8=");
  expect_b64("foo", 3, "Zm9v");
  expect_b64("foob", 4, "Zm9vYg==");
  expect_b64("fooba", 5, "Zm9vYmE=");
  expect_b64("foobar", 6, "Zm9vYmFy");
}

static void test_fl_json_base64_binary(void **state) {
  (void)state;
  expect_b64("\xff\xfe\xfd", 3, "//79");
  expect_b64("\0\0\0", 3, "AAAA");
  expect_b64("\0", 1, "AA==");
  expect_b64("\xfb\xff", 2, "+/8=");
  fl_buf b = FL_BUF_INIT(6);
  assert_int_equal(fl_base64(&b, (const unsigned char *)"foobar", 6), FL_ELIMIT);
  assert_int_equal(b.len, 0);
  fl_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fl_json_compact_removes_white_space),
      cmocka_unit_test(test_fl_json_compact_nested),
      cmocka_unit_test(test_fl_json_compact_numbers),
      cmocka_unit_test(test_fl_json_compact_strings_kept_byte_exact),
      cmocka_unit_test(test_fl_json_compact_appends_after_content),
      cmocka_unit_test(test_fl_json_compact_rejects_invalid),
      cmocka_unit_test(test_fl_json_compact_reports_error_offset),
      cmocka_unit_test(test_fl_json_compact_depth_limit),
      cmocka_unit_test(test_fl_json_compact_depth_513_rejected),
      cmocka_unit_test(test_fl_json_compact_every_prefix),
      cmocka_unit_test(test_fl_json_compact_number_prefixes),
      cmocka_unit_test(test_fl_json_compact_nomem_leaves_buffer_unchanged),
      cmocka_unit_test(test_fl_json_compact_limit),
      cmocka_unit_test(test_fl_json_str_escapes_quotes_and_backslash),
      cmocka_unit_test(test_fl_json_str_escapes_control_chars),
      cmocka_unit_test(test_fl_json_str_replaces_invalid_utf8),
      cmocka_unit_test(test_fl_json_str_keeps_valid_multibyte),
      cmocka_unit_test(test_fl_json_str_every_byte_gives_valid_json),
      cmocka_unit_test(test_fl_json_is_text),
      cmocka_unit_test(test_fl_json_utf8_valid),
      cmocka_unit_test(test_fl_json_base64_rfc4648_vectors),
      cmocka_unit_test(test_fl_json_base64_binary),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
