/* fuzz_json.c: the JSON text helpers every record goes through, on any
 * bytes a server may send as a body: fl_json_compact (validate + compact),
 * fl_json_str (escape), fl_is_text and fl_base64. libjq, the project's JSON
 * library, is the reference: what fl accepts as JSON, jq must parse, and a
 * string fl escaped must decode back to the same bytes. */
#include <jv.h>

#include "fuzz.h"

/* Nesting depth of compact JSON (brackets outside strings). */
static int depth_of(const char *p, size_t n) {
  int d = 0, max = 0, in_str = 0;
  for (size_t i = 0; i < n; i++) {
    if (in_str) {
      if (p[i] == '\\')
        i++;
      else if (p[i] == '"')
        in_str = 0;
    } else if (p[i] == '"') {
      in_str = 1;
    } else if (p[i] == '[' || p[i] == '{') {
      max = ++d > max ? d : max;
    } else if (p[i] == ']' || p[i] == '}') {
      d--;
    }
  }
  return max;
}

static void check_compact(const char *p, size_t n) {
  fl_buf b = FL_BUF_INIT(0);
  size_t off = (size_t)-1;
  int rc = fl_json_compact(&b, p, n, &off);
  FUZZ_CHECK(rc == FL_OK || rc == FL_EPARSE);
  if (rc != FL_OK) {
    FUZZ_CHECK(b.len == 0 && off <= n); /* nothing appended; offset inside */
    fl_buf_free(&b);
    return;
  }
  FUZZ_CHECK(b.len <= n && b.len > 0);
  /* Compact output is a fixed point. */
  fl_buf again = FL_BUF_INIT(0);
  FUZZ_CHECK(fl_json_compact(&again, b.data, b.len, NULL) == FL_OK);
  FUZZ_CHECK(again.len == b.len && memcmp(again.data, b.data, b.len) == 0);
  fl_buf_free(&again);
  /* A bounded buffer holds it whole or reports the limit, never more. */
  fl_buf small = FL_BUF_INIT(b.len / 2 + 1);
  rc = fl_json_compact(&small, p, n, NULL);
  FUZZ_CHECK(rc == (b.len <= small.max ? FL_OK : FL_ELIMIT));
  FUZZ_CHECK(small.len <= small.max && (rc != FL_OK || small.len == b.len));
  fl_buf_free(&small);
  /* jq parses it (jq 1.6 stops at 256 levels; fl allows 512). */
  if (depth_of(b.data, b.len) < 250) {
    jv v = jv_parse_sized(b.data, (int)b.len);
    if (!jv_is_valid(v))
      fprintf(stderr, "fl accepted, jq refused: %.*s\n", (int)b.len, b.data);
    FUZZ_CHECK(jv_is_valid(v));
    jv_free(v);
  }
  fl_buf_free(&b);
}

static void check_str(const char *p, size_t n) {
  fl_buf b = FL_BUF_INIT(0);
  FUZZ_CHECK(fl_json_str(&b, p, n) == FL_OK);
  fl_buf c = FL_BUF_INIT(0);
  FUZZ_CHECK(fl_json_compact(&c, b.data, b.len, NULL) == FL_OK); /* valid JSON */
  FUZZ_CHECK(c.len == b.len);
  fl_buf_free(&c);
  if (fl_is_text(p, n)) { /* valid UTF-8: decodes to the very same bytes */
    jv v = jv_parse_sized(b.data, (int)b.len);
    FUZZ_CHECK(jv_get_kind(v) == JV_KIND_STRING);
    FUZZ_CHECK((size_t)jv_string_length_bytes(jv_copy(v)) == n &&
               memcmp(jv_string_value(v), p, n) == 0);
    jv_free(v);
  }
  fl_buf_free(&b);
}

static int b64_val(char c) {
  const char *tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const char *at = c ? strchr(tbl, c) : NULL;
  return at ? (int)(at - tbl) : -1;
}

static void check_base64(const unsigned char *p, size_t n) {
  fl_buf b = FL_BUF_INIT(0);
  FUZZ_CHECK(fl_base64(&b, p, n) == FL_OK);
  FUZZ_CHECK(b.len == (n + 2) / 3 * 4);
  for (size_t i = 0, o = 0; i < b.len; i += 4) { /* decodes back */
    int v[4];
    for (int k = 0; k < 4; k++)
      v[k] = b.data[i + k] == '=' ? 0 : b64_val(b.data[i + k]);
    FUZZ_CHECK(v[0] >= 0 && v[1] >= 0 && v[2] >= 0 && v[3] >= 0);
    unsigned w = (unsigned)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    unsigned char dec[3] = {(unsigned char)(w >> 16), (unsigned char)(w >> 8), (unsigned char)w};
    for (int k = 0; k < 3 && o < n; k++, o++)
      FUZZ_CHECK(dec[k] == p[o]);
  }
  fl_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *p = fuzz_copy(data, size, 0);
  check_compact(p, size);
  check_str(p, size);
  check_base64((const unsigned char *)p, size);
  free(p);
  return 0;
}
