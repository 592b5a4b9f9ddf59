/* listen_event.c: event lines of `flurry listen` (see listen_event.h). */
#include "listen_event.h"

#include <string.h>
#include <time.h>

#define HEAD_ID "{\"id\":"
#define HEAD_TIME ",\"received_at\":\""
#define NAME_MAX_LOWER 256

/* ---- time
 * -------------------------------------------------------------------- */

static void put_digits(char *p, int v, int width) {
  for (int i = width - 1; i >= 0; i--) {
    p[i] = (char)('0' + v % 10);
    v /= 10;
  }
}

int listen_event_time_format(int64_t ms, char *out) {
  int64_t s = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  time_t t = (time_t)s;
  struct tm tm;
  if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
    return -1;
  memcpy(out, "0000-00-00T00:00:00.000Z", LISTEN_EVENT_TIME_LEN + 1);
  put_digits(out, tm.tm_year + 1900, 4);
  put_digits(out + 5, tm.tm_mon + 1, 2);
  put_digits(out + 8, tm.tm_mday, 2);
  put_digits(out + 11, tm.tm_hour, 2);
  put_digits(out + 14, tm.tm_min, 2);
  put_digits(out + 17, tm.tm_sec, 2);
  put_digits(out + 20, (int)(ms - s * 1000), 3);
  return 0;
}

/* width digits at p into *v. */
static int get_digits(const char *p, int width, int *v) {
  *v = 0;
  for (int i = 0; i < width; i++) {
    if (p[i] < '0' || p[i] > '9')
      return -1;
    *v = *v * 10 + (p[i] - '0');
  }
  return 0;
}

int listen_event_time_parse(const char *s, size_t n, int64_t *ms) {
  static const char shape[] = "0000-00-00T00:00:00.000Z";
  int y, mo, d, h, mi, sec, milli;
  if (n != LISTEN_EVENT_TIME_LEN)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (shape[i] != '0' && s[i] != shape[i])
      return -1;
  if (get_digits(s, 4, &y) || get_digits(s + 5, 2, &mo) || get_digits(s + 8, 2, &d) ||
      get_digits(s + 11, 2, &h) || get_digits(s + 14, 2, &mi) || get_digits(s + 17, 2, &sec) ||
      get_digits(s + 20, 3, &milli))
    return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return -1;
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  *ms = (int64_t)timegm(&tm) * 1000 + milli;
  return 0;
}

/* ---- reading compact JSON
 * ------------------------------------------------------ */

/* The end of the string token starting at p[i] (a quote), or 0. */
static size_t string_end(const char *p, size_t n, size_t i) {
  for (i++; i < n; i++) {
    if (p[i] == '\\')
      i++;
    else if (p[i] == '"')
      return i + 1;
  }
  return 0;
}

/* The end of the value starting at p[i] in valid compact JSON, or 0. */
static size_t value_end(const char *p, size_t n, size_t i) {
  size_t depth = 0;
  while (i < n) {
    char c = p[i];
    if (c == '"') {
      i = string_end(p, n, i);
      if (i == 0)
        return 0;
    } else if (c == '{' || c == '[') {
      depth++;
      i++;
    } else if (c == '}' || c == ']' || c == ',') {
      if (depth == 0)
        return i;
      if (c != ',')
        depth--;
      i++;
    } else {
      i++;
    }
    if (depth == 0 && i < n && (p[i] == ',' || p[i] == '}' || p[i] == ']'))
      return i;
  }
  return depth == 0 ? i : 0;
}

int listen_event_json_member(const char *json, size_t n, const char *key, size_t *off,
                             size_t *len) {
  size_t kl = strlen(key);
  if (n < 2 || json[0] != '{')
    return -1;
  size_t i = 1;
  while (i < n && json[i] == '"') {
    size_t kend = string_end(json, n, i);
    if (kend == 0 || kend >= n || json[kend] != ':')
      return -1;
    size_t vstart = kend + 1, vend = value_end(json, n, vstart);
    if (vend == 0 || vend == vstart)
      return -1;
    if (kend - i == kl + 2 && memcmp(json + i + 1, key, kl) == 0) {
      *off = vstart;
      *len = vend - vstart;
      return 0;
    }
    if (vend >= n || json[vend] != ',')
      return -1;
    i = vend + 1;
  }
  return -1;
}

int listen_event_head_parse(const char *line, size_t n, const char **id, size_t *id_len,
                            int64_t *ms) {
  size_t hl = sizeof HEAD_ID - 1, tl = sizeof HEAD_TIME - 1, i = hl;
  if (n < hl || memcmp(line, HEAD_ID, hl) != 0)
    return -1;
  if (n - i >= 4 && memcmp(line + i, "null", 4) == 0) {
    *id = NULL;
    *id_len = 0;
    i += 4;
  } else if (i < n && line[i] == '"') {
    size_t end = string_end(line, n, i);
    if (end == 0)
      return -1;
    *id = line + i;
    *id_len = end - i;
    i = end;
  } else {
    return -1;
  }
  if (n - i < tl + LISTEN_EVENT_TIME_LEN + 1 || memcmp(line + i, HEAD_TIME, tl) != 0 ||
      line[i + tl + LISTEN_EVENT_TIME_LEN] != '"')
    return -1;
  return listen_event_time_parse(line + i + tl, LISTEN_EVENT_TIME_LEN, ms);
}

/* ---- writing
 * ----------------------------------------------------------------- */

static int is_redacted(const char *name) {
  return fl_strcaseeq(name, "authorization") || fl_strcaseeq(name, "proxy-authorization") ||
         fl_strcaseeq(name, "cookie");
}

static int put_lower(fl_buf *b, const char *name) {
  char low[NAME_MAX_LOWER];
  size_t n = strlen(name);
  if (n > sizeof low)
    n = sizeof low; /* header names are short; a longer one is cut */
  for (size_t i = 0; i < n; i++)
    low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
  return fl_json_str(b, low, n);
}

/* Appends "name":"v1, v2" for the first occurrence of kv[2i]. */
static int put_header(fl_buf *b, const char *const *kv, size_t n, size_t i) {
  int rc = put_lower(b, kv[2 * i]);
  rc |= fl_buf_putc(b, ':');
  if (is_redacted(kv[2 * i]))
    return rc | fl_buf_puts(b, "\"[redacted]\"");
  fl_buf joined = FL_BUF_INIT(b->max);
  for (size_t j = i; j < n && rc == FL_OK; j++) {
    if (j != i && !fl_strcaseeq(kv[2 * j], kv[2 * i]))
      continue;
    if (joined.len)
      rc |= fl_buf_puts(&joined, ", ");
    rc |= fl_buf_puts(&joined, kv[2 * j + 1] ? kv[2 * j + 1] : "");
  }
  if (rc == FL_OK)
    rc = fl_json_str(b, joined.data ? joined.data : "", joined.len);
  fl_buf_free(&joined);
  return rc;
}

int listen_event_headers(fl_buf *b, const char *const *kv, size_t n) {
  int rc = fl_buf_putc(b, '{');
  int first = 1;
  for (size_t i = 0; i < n && rc == FL_OK; i++) {
    size_t k = 0;
    while (k < i && !fl_strcaseeq(kv[2 * k], kv[2 * i]))
      k++;
    if (k < i)
      continue; /* joined at its first occurrence */
    if (!first)
      rc = fl_buf_putc(b, ',');
    first = 0;
    if (rc == FL_OK)
      rc = put_header(b, kv, n, i);
  }
  return rc == FL_OK ? fl_buf_putc(b, '}') : rc;
}

static int put_body(fl_buf *b, const listen_event *ev) {
  int rc;
  if (ev->json) {
    rc = fl_buf_puts(b, ",\"body\":");
    return rc == FL_OK ? fl_buf_append(b, ev->json, ev->json_len) : rc;
  }
  if (fl_is_text(ev->body, ev->body_len)) {
    rc = fl_buf_puts(b, ",\"body_text\":");
    return rc == FL_OK ? fl_json_str(b, ev->body, ev->body_len) : rc;
  }
  rc = fl_buf_puts(b, ",\"body_base64\":\"");
  if (rc == FL_OK)
    rc = fl_base64(b, (const unsigned char *)ev->body, ev->body_len);
  return rc == FL_OK ? fl_buf_putc(b, '"') : rc;
}

/* Worst failure code of a chain of appends: ELIMIT beats ENOMEM's -1 in
 * a plain OR, so keep the first. */
static int first_error(int rc, int next) { return rc != FL_OK ? rc : next; }

int listen_event_line(fl_buf *b, const listen_event *ev) {
  size_t mark = b->len;
  char when[LISTEN_EVENT_TIME_LEN + 1];
  if (listen_event_time_format(ev->received_ms, when) != 0)
    memcpy(when, "1970-01-01T00:00:00.000Z", sizeof when);
  int rc = fl_buf_puts(b, HEAD_ID);
  rc = first_error(rc, ev->id ? fl_buf_append(b, ev->id, ev->id_len) : fl_buf_puts(b, "null"));
  rc = first_error(rc, fl_buf_puts(b, HEAD_TIME));
  rc = first_error(rc, fl_buf_append(b, when, LISTEN_EVENT_TIME_LEN));
  rc = first_error(rc, fl_buf_puts(b, "\",\"scheme\":"));
  rc = first_error(rc, fl_json_str(b, ev->scheme, strlen(ev->scheme)));
  rc = first_error(rc, fl_buf_puts(b, ",\"path\":"));
  rc = first_error(rc, fl_json_str(b, ev->path, strlen(ev->path)));
  if (ev->headers) {
    rc = first_error(rc, fl_buf_puts(b, ",\"headers\":"));
    rc = first_error(rc, fl_buf_append(b, ev->headers, ev->headers_len));
  }
  rc = first_error(rc, put_body(b, ev));
  rc = first_error(rc, fl_buf_puts(b, "}\n"));
  if (rc != FL_OK) {
    b->len = mark;
    if (b->data)
      b->data[mark] = '\0';
  }
  return rc;
}
