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
    R16(0), R16(0), 1,      1,      0,      1,      1,      1,      1,      1,     1,
    1,      1,      1,      1,      1,      1,      1, /* 0x20: '"' is 0x22 */
    R16(1), R16(1), 1,      1,      1,      1,      1,      1,      1,      1,     1,
    1,      1,      1,      0,      1,      1,      1, /* 0x50: '\\' is 0x5C */
    R16(1), R16(1), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0)
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

int fl_utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    size_t ul = utf8_len(p + i, n - i);
    if (ul == 0)
      return 0;
    i += ul;
  }
  return 1;
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
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
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

/* One pass, no recursion and no call per token: the open containers are a
 * stack of closing brackets, and the output is the input copied in spans,
 * cut only where white space between tokens is left out (a compact body
 * with a final newline is one copy). */

#define JS_MAX_DEPTH 512 /* nested arrays and objects */

typedef struct jscan {
  const unsigned char *p;
  size_t n, i;
  fl_buf *out;   /* NULL: validate only (or the output failed) */
  size_t copied; /* p before this is in out already, or left out */
  int out_err;   /* FL_ENOMEM or FL_ELIMIT from out, reported if the text is valid */
} jscan;

static int is_ws(unsigned c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

/* Appends p[copied, to) to the output; on failure the scan goes on, to
 * tell invalid text (FL_EPARSE first) from a full buffer. */
static void js_flush(jscan *s, size_t to) {
  if (s->out == NULL || to <= s->copied)
    return;
  int rc = fl_buf_append(s->out, s->p + s->copied, to - s->copied);
  if (rc != FL_OK) {
    s->out_err = rc;
    s->out = NULL;
  }
}

static void js_ws(jscan *s) {
  if (s->i >= s->n || !is_ws(s->p[s->i]))
    return;
  size_t start = s->i;
  while (s->i < s->n && is_ws(s->p[s->i]))
    s->i++;
  js_flush(s, start);
  s->copied = s->i;
}

static int is_hex(unsigned c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The code unit of the "\\uXXXX" at p + at, or -1 when there is none. */
static long u_escape(const unsigned char *p, size_t n, size_t at) {
  if (at + 6 > n || p[at] != '\\' || p[at + 1] != 'u')
    return -1;
  long v = 0;
  for (size_t k = 2; k < 6; k++) {
    unsigned c = p[at + k];
    if (!is_hex(c))
      return -1;
    v = v * 16 + (long)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return v;
}

/* Length of the escape at p + at (a backslash), or 0 if it is not one.
 * Unpaired UTF-16 surrogate escapes are refused (jq would refuse the whole
 * document, and they name no character). */
static size_t escape_len(const unsigned char *p, size_t n, size_t at) {
  if (at + 1 >= n)
    return 0;
  unsigned e = p[at + 1];
  if (e != 'u')
    return e != 0 && strchr("\"\\/bfnrt", (int)e) != NULL ? 2 : 0;
  long u = u_escape(p, n, at);
  if (u < 0 || (u >= 0xDC00 && u <= 0xDFFF)) /* not hex, or a low surrogate alone */
    return 0;
  if (u < 0xD800 || u > 0xDBFF)
    return 6;
  long lo = u_escape(p, n, at + 6); /* a high one: its low one must follow */
  return lo >= 0xDC00 && lo <= 0xDFFF ? 12 : 0;
}

/* The string at s->i (its opening quote). 0 with s->i past it, or -1 with
 * s->i at the offending byte (n: unterminated). */
static int js_string(jscan *s) {
  const unsigned char *p = s->p;
  size_t n = s->n, i = s->i + 1;
  for (;;) {
    while (i + 4 <= n && plain[p[i]] && plain[p[i + 1]] && plain[p[i + 2]] && plain[p[i + 3]])
      i += 4;
    while (i < n && plain[p[i]])
      i++;
    if (i >= n)
      break;
    unsigned c = p[i];
    size_t len;
    if (c == '"') {
      s->i = i + 1;
      return 0;
    }
    if (c == '\\')
      len = escape_len(p, n, i);
    else
      len = c < 0x80 ? 0 : utf8_len(p + i, n - i); /* a control character: 0 */
    if (len == 0)
      break;
    i += len;
  }
  s->i = i;
  return -1;
}

static size_t digits(jscan *s) {
  size_t start = s->i;
  while (s->i < s->n && s->p[s->i] >= '0' && s->p[s->i] <= '9')
    s->i++;
  return s->i - start;
}

static int js_number(jscan *s) {
  if (s->p[s->i] == '-')
    s->i++;
  if (s->i < s->n && s->p[s->i] == '0')
    s->i++;
  else if (digits(s) == 0)
    return -1;
  if (s->i < s->n && s->p[s->i] == '.') {
    s->i++;
    if (digits(s) == 0)
      return -1;
  }
  if (s->i < s->n && (s->p[s->i] == 'e' || s->p[s->i] == 'E')) {
    s->i++;
    if (s->i < s->n && (s->p[s->i] == '+' || s->p[s->i] == '-'))
      s->i++;
    if (digits(s) == 0)
      return -1;
  }
  return 0;
}

static int js_literal(jscan *s, const char *lit, size_t len) {
  if (s->n - s->i < len || memcmp(s->p + s->i, lit, len) != 0)
    return -1;
  s->i += len;
  return 0;
}

/* A string, number or literal starting at s->i. */
static int js_scalar(jscan *s) {
  unsigned c = s->p[s->i];
  switch (c) {
  case '"':
    return js_string(s);
  case 't':
    return js_literal(s, "true", 4);
  case 'f':
    return js_literal(s, "false", 5);
  case 'n':
    return js_literal(s, "null", 4);
  default:
    return c == '-' || (c >= '0' && c <= '9') ? js_number(s) : -1;
  }
}

/* An object member's name and its colon. */
static int js_key(jscan *s) {
  js_ws(s);
  if (s->i >= s->n || s->p[s->i] != '"' || js_string(s) < 0)
    return -1;
  js_ws(s);
  if (s->i >= s->n || s->p[s->i] != ':')
    return -1;
  s->i++;
  return 0;
}

/* One JSON text, white space around it allowed: 0, or -1 with s->i at the
 * offending byte. The outermost value is at depth 0; JS_MAX_DEPTH levels of
 * arrays and objects at most. */
static int js_text(jscan *s) {
  unsigned char close[JS_MAX_DEPTH]; /* the closing bracket of each open container */
  size_t depth = 0;
  int want_value = 1;
  for (;;) {
    js_ws(s);
    if (s->i >= s->n)
      return -1;
    unsigned c = s->p[s->i];
    if (want_value && (c == '{' || c == '[')) {
      if (depth == JS_MAX_DEPTH)
        return -1;
      close[depth++] = c == '{' ? '}' : ']';
      s->i++;
      js_ws(s);
      if (s->i >= s->n || s->p[s->i] != close[depth - 1]) {
        if (c == '{' && js_key(s) < 0)
          return -1;
        continue; /* the first member's value */
      }
      depth--; /* empty */
      s->i++;
      want_value = 0;
    } else if (want_value) {
      if (js_scalar(s) < 0)
        return -1;
      want_value = 0;
    } else if (depth > 0 && c == ',') {
      s->i++;
      if (close[depth - 1] == '}' && js_key(s) < 0)
        return -1;
      want_value = 1;
      continue;
    } else if (depth > 0 && c == close[depth - 1]) {
      depth--;
      s->i++;
    } else {
      s->i++; /* after a value, the offset past the wrong byte, as ever ("at byte N") */
      return -1;
    }
    if (depth == 0) {
      js_ws(s);
      return s->i == s->n ? 0 : -1;
    }
  }
}

/* One pass over p: validates, and appends compacted output when out is set.
 * Returns FL_OK or the error (FL_EPARSE first), with *err_off filled. */
static int scan(fl_buf *out, const char *p, size_t n, size_t *err_off) {
  jscan s = {(const unsigned char *)p, n, 0, out, 0, FL_OK};
  int rc = js_text(&s);
  *err_off = s.i;
  if (rc < 0)
    return FL_EPARSE;
  js_flush(&s, n);
  return s.out_err;
}

int fl_json_valid(const char *p, size_t n, size_t *err_off) {
  size_t off;
  int rc = scan(NULL, p, n, &off);
  if (rc != FL_OK && err_off)
    *err_off = off;
  return rc;
}

int fl_json_compact(fl_buf *b, const char *p, size_t n, size_t *err_off) {
  size_t mark = b->len, off;
  int rc = scan(b, p, n, &off);
  if (rc == FL_OK)
    return FL_OK;
  b->len = mark;
  if (b->data)
    b->data[mark] = '\0';
  if (err_off)
    *err_off = off;
  return rc;
}
