/* fl_json.c: JSON text helpers used on the hot path (one pass, no tree):
 * string escaping, validate-and-compact, text detection, base64.
 * libjq stays the JSON library for values and filters; these exist because
 * writing a 200-byte body through jv_parse + jv_dump costs an allocation per
 * node, and the output only needs the same bytes without white space. */
#include <string.h>

#include "fl.h"

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n) {
  unsigned c = p[0];
  if (c < 0x80)
    return 1;
  size_t len;
  unsigned min;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  unsigned cp = c & (0x3F >> (len - 1));
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

/* 1 for bytes a JSON string may hold as they are (printable ASCII other than
 * '"' and '\\'): the fast path of both escaping and scanning. */
static const unsigned char plain[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    R16(0), R16(0),
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20: '"' is 0x22 */
    R16(1), R16(1),
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50: '\\' is 0x5C */
    R16(1), R16(1),
    R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0)
#undef R16
};

/* Appends the escape for byte p[*i] (a control, quote or backslash) or the
 * UTF-8 sequence starting there (U+FFFD when invalid); advances *i. */
static int str_special(fl_buf *b, const unsigned char *p, size_t n, size_t *i) {
  static const char hex[] = "0123456789abcdef";
  unsigned c = p[*i];
  char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
  size_t elen = 2;
  if (c == '\n' || c == '\r' || c == '\t') {
    esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
  } else if (c < 0x20) {
    memcpy(esc, "\\u00", 4);
    esc[4] = hex[c >> 4];
    esc[5] = hex[c & 15];
    elen = 6;
  } else if (c >= 0x80) {
    size_t ul = utf8_len(p + *i, n - *i);
    *i += ul ? ul : 1;
    return ul ? fl_buf_append(b, p + *i - ul, ul) : fl_buf_append(b, "\xEF\xBF\xBD", 3);
  }
  *i += 1;
  return fl_buf_append(b, esc, elen);
}

int fl_json_str(fl_buf *b, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  int rc = fl_buf_reserve(b, n + 2);
  if (rc != FL_OK)
    return rc;
  b->data[b->len++] = '"';
  size_t i = 0;
  while (i < n && rc == FL_OK) {
    size_t run = i;
    while (run < n && plain[p[run]])
      run++;
    if (run > i)
      rc = fl_buf_append(b, p + i, run - i);
    i = run;
    if (i < n && rc == FL_OK)
      rc = str_special(b, p, n, &i);
  }
  return rc == FL_OK ? fl_buf_putc(b, '"') : rc;
}

int fl_is_text(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned c = p[i];
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
        return 0;
      if (c == 0x7F)
        return 0;
      i++;
      continue;
    }
    size_t ul = utf8_len(p + i, n - i);
    if (ul == 0)
      return 0;
    i += ul;
  }
  return 1;
}

int fl_base64(fl_buf *b, const unsigned char *p, size_t n) {
  static const char tbl[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (n > (SIZE_MAX - 3) / 4 * 3)
    return FL_ELIMIT;
  size_t out = (n + 2) / 3 * 4;
  int rc = fl_buf_reserve(b, out);
  if (rc != FL_OK)
    return rc;
  char *d = b->data + b->len;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
    *d++ = tbl[v >> 18];
    *d++ = tbl[(v >> 12) & 63];
    *d++ = tbl[(v >> 6) & 63];
    *d++ = tbl[v & 63];
  }
  if (i < n) {
    unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
    *d++ = tbl[v >> 18];
    *d++ = tbl[(v >> 12) & 63];
    *d++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
    *d++ = '=';
  }
  b->len += out;
  b->data[b->len] = '\0';
  return FL_OK;
}

/* ---- validate + compact ---- */

typedef struct jscan {
  const unsigned char *p;
  size_t n, i;
  fl_buf *out; /* NULL: validate only */
  int err;     /* FL_EPARSE, FL_ENOMEM, FL_ELIMIT */
  int ws_seen; /* white space between tokens */
} jscan;

static int js_fail(jscan *s, int err) {
  if (s->err == FL_OK)
    s->err = err;
  return -1;
}

static void js_ws(jscan *s) {
  size_t start = s->i;
  while (s->i < s->n) {
    unsigned c = s->p[s->i];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
      break;
    s->i++;
  }
  s->ws_seen |= s->i != start;
}

static int js_emit(jscan *s, size_t from) {
  if (s->out == NULL)
    return 0;
  int rc = fl_buf_append(s->out, s->p + from, s->i - from);
  return rc == FL_OK ? 0 : js_fail(s, rc);
}

static int is_hex(unsigned c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The code unit of the "\\uXXXX" at s->p + at, or -1 when there is none. */
static long u_escape(const jscan *s, size_t at) {
  if (at + 6 > s->n || s->p[at] != '\\' || s->p[at + 1] != 'u')
    return -1;
  long v = 0;
  for (size_t k = 2; k < 6; k++) {
    unsigned c = s->p[at + k];
    if (!is_hex(c))
      return -1;
    v = v * 16 + (long)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return v;
}

/* A string; unpaired UTF-16 surrogate escapes are refused (jq would refuse
 * the whole document, and they name no character). */
static int js_string(jscan *s) {
  size_t from = s->i++; /* opening quote */
  while (s->i < s->n) {
    while (s->i < s->n && plain[s->p[s->i]])
      s->i++;
    if (s->i >= s->n)
      break;
    unsigned c = s->p[s->i];
    if (c == '"') {
      s->i++;
      return js_emit(s, from);
    }
    if (c < 0x20)
      return js_fail(s, FL_EPARSE);
    if (c == '\\') {
      if (s->i + 1 >= s->n)
        return js_fail(s, FL_EPARSE);
      unsigned e = s->p[s->i + 1];
      if (e == 'u') {
        long u = u_escape(s, s->i);
        if (u >= 0xDC00 && u <= 0xDFFF) /* a low surrogate alone */
          return js_fail(s, FL_EPARSE);
        if (u >= 0xD800 && u <= 0xDBFF) { /* a high one: its low one must follow */
          long lo = u_escape(s, s->i + 6);
          if (lo < 0xDC00 || lo > 0xDFFF)
            return js_fail(s, FL_EPARSE);
          s->i += 6;
        }
        if (u < 0)
          return js_fail(s, FL_EPARSE);
        s->i += 6;
      } else if (strchr("\"\\/bfnrt", (int)e) != NULL && e != 0) {
        s->i += 2;
      } else {
        return js_fail(s, FL_EPARSE);
      }
      continue;
    }
    if (c < 0x80) {
      s->i++;
      continue;
    }
    size_t ul = utf8_len(s->p + s->i, s->n - s->i);
    if (ul == 0)
      return js_fail(s, FL_EPARSE);
    s->i += ul;
  }
  return js_fail(s, FL_EPARSE);
}

static size_t digits(jscan *s) {
  size_t start = s->i;
  while (s->i < s->n && s->p[s->i] >= '0' && s->p[s->i] <= '9')
    s->i++;
  return s->i - start;
}

static int js_number(jscan *s) {
  size_t from = s->i;
  if (s->p[s->i] == '-')
    s->i++;
  if (s->i < s->n && s->p[s->i] == '0')
    s->i++;
  else if (digits(s) == 0)
    return js_fail(s, FL_EPARSE);
  if (s->i < s->n && s->p[s->i] == '.') {
    s->i++;
    if (digits(s) == 0)
      return js_fail(s, FL_EPARSE);
  }
  if (s->i < s->n && (s->p[s->i] == 'e' || s->p[s->i] == 'E')) {
    s->i++;
    if (s->i < s->n && (s->p[s->i] == '+' || s->p[s->i] == '-'))
      s->i++;
    if (digits(s) == 0)
      return js_fail(s, FL_EPARSE);
  }
  return js_emit(s, from);
}

static int js_literal(jscan *s, const char *lit) {
  size_t len = strlen(lit);
  if (s->n - s->i < len || memcmp(s->p + s->i, lit, len) != 0)
    return js_fail(s, FL_EPARSE);
  size_t from = s->i;
  s->i += len;
  return js_emit(s, from);
}

static int js_value(jscan *s, int depth);

static int js_put(jscan *s, char c) {
  if (s->out == NULL)
    return 0;
  int rc = fl_buf_putc(s->out, c);
  return rc == FL_OK ? 0 : js_fail(s, rc);
}

/* Object or array: open/close bracket, members separated by commas. */
static int js_container(jscan *s, int depth, unsigned char close) {
  if (depth >= 512) /* the outermost value is depth 0: 512 levels at most */
    return js_fail(s, FL_EPARSE);
  if (js_put(s, (char)s->p[s->i++]) < 0)
    return -1;
  js_ws(s);
  if (s->i < s->n && s->p[s->i] == close) {
    s->i++;
    return js_put(s, (char)close);
  }
  for (;;) {
    js_ws(s);
    if (close == '}') {
      if (s->i >= s->n || s->p[s->i] != '"' || js_string(s) < 0)
        return js_fail(s, FL_EPARSE);
      js_ws(s);
      if (s->i >= s->n || s->p[s->i] != ':')
        return js_fail(s, FL_EPARSE);
      s->i++;
      if (js_put(s, ':') < 0)
        return -1;
    }
    if (js_value(s, depth + 1) < 0)
      return -1;
    js_ws(s);
    if (s->i >= s->n)
      return js_fail(s, FL_EPARSE);
    unsigned char c = s->p[s->i++];
    if (c == close)
      return js_put(s, (char)close);
    if (c != ',')
      return js_fail(s, FL_EPARSE);
    if (js_put(s, ',') < 0)
      return -1;
  }
}

static int js_value(jscan *s, int depth) {
  js_ws(s);
  if (s->i >= s->n)
    return js_fail(s, FL_EPARSE);
  switch (s->p[s->i]) {
  case '{':
    return js_container(s, depth, '}');
  case '[':
    return js_container(s, depth, ']');
  case '"':
    return js_string(s);
  case 't':
    return js_literal(s, "true");
  case 'f':
    return js_literal(s, "false");
  case 'n':
    return js_literal(s, "null");
  default:
    if (s->p[s->i] == '-' || (s->p[s->i] >= '0' && s->p[s->i] <= '9'))
      return js_number(s);
    return js_fail(s, FL_EPARSE);
  }
}

/* One pass over p: validates, and appends compacted output when out is set.
 * Returns FL_OK or the error, with *ws_seen and *err_off filled. */
static int scan(fl_buf *out, const char *p, size_t n, int *ws_seen, size_t *err_off) {
  jscan s = {(const unsigned char *)p, n, 0, out, FL_OK, 0};
  if (js_value(&s, 0) == 0) {
    js_ws(&s);
    if (s.i != n)
      js_fail(&s, FL_EPARSE);
  }
  *ws_seen = s.ws_seen;
  *err_off = s.i;
  return s.err;
}

int fl_json_valid(const char *p, size_t n, size_t *err_off) {
  size_t off;
  int ws;
  int rc = scan(NULL, p, n, &ws, &off);
  if (rc != FL_OK && err_off)
    *err_off = off;
  return rc;
}

int fl_json_compact(fl_buf *b, const char *p, size_t n, size_t *err_off) {
  size_t mark = b->len, off;
  int ws;
  /* Validate first: most API bodies carry no white space, and then the
   * output is the input, appended in one copy. */
  int rc = scan(NULL, p, n, &ws, &off);
  if (rc == FL_OK)
    rc = ws ? scan(b, p, n, &ws, &off) : fl_buf_append(b, p, n);
  if (rc == FL_OK)
    return FL_OK;
  b->len = mark;
  if (b->data)
    b->data[mark] = '\0';
  if (err_off)
    *err_off = off;
  return rc;
}
