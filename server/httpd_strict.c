/* httpd_strict.c: request-framing checks on a parsed head (see
 * httpd_strict.h). libmicrohttpd 0.9.75 frames a body by Transfer-Encoding
 * when present and ignores Content-Length then; with several Content-Length
 * lines it takes the first. A front proxy that frames by another rule would
 * see a different request boundary: the classic smuggling desync. flurry
 * refuses every ambiguous head instead. */
#include "httpd_strict.h"

#include <stdint.h>
#include <string.h>

#include "fl.h"

typedef struct head_scan {
  unsigned cl, te, host;
  const char *te_value;
  const char *cl_value;
  size_t cl_len;
  const char *bad; /* first problem seen, or NULL */
} head_scan;

/* RFC 9110 5.6.2 tchar. */
static int is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
    return 1;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_token(const char *s, size_t n) {
  if (n == 0)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!is_tchar((unsigned char)s[i]))
      return 0;
  return 1;
}

/* RFC 9110 5.5: no control byte but HTAB in a field value (a CR there is a
 * bare CR line end to a proxy that splits on it). */
static int is_field_value(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return 0;
  }
  return 1;
}

static int name_is(const char *key, size_t n, const char *name) {
  return n == strlen(name) && fl_strncaseeq(key, name, n);
}

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size) {
  (void)kind;
  head_scan *s = cls;
  if (!is_token(key, key_size)) {
    s->bad = "malformed header name";
    return MHD_NO;
  }
  if (!is_field_value(value, value_size)) {
    s->bad = "control character in a header value";
    return MHD_NO;
  }
  if (name_is(key, key_size, "Content-Length")) {
    s->cl++;
    s->cl_value = value;
    s->cl_len = value_size;
  } else if (name_is(key, key_size, "Transfer-Encoding")) {
    s->te++;
    s->te_value = value;
  } else if (name_is(key, key_size, "Host")) {
    s->host++;
  }
  return MHD_YES;
}

static int all_digits(const char *s, size_t n) {
  if (s == NULL || n == 0)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return 0;
  return 1;
}

static const char *framing(const head_scan *s, const char *version) {
  int http10 = version && fl_strcaseeq(version, "HTTP/1.0");
  if (s->te && s->cl)
    return "Content-Length and Transfer-Encoding both present";
  if (s->te > 1)
    return "more than one Transfer-Encoding";
  if (s->te && http10)
    return "Transfer-Encoding in an HTTP/1.0 request";
  if (s->te && !fl_strcaseeq(s->te_value ? s->te_value : "", "chunked"))
    return "Transfer-Encoding other than chunked";
  if (s->cl > 1)
    return "more than one Content-Length";
  if (s->cl && !all_digits(s->cl_value, s->cl_len))
    return "malformed Content-Length";
  if (!http10 && s->host != 1)
    return s->host ? "more than one Host" : "no Host";
  return NULL;
}

const char *httpd_strict_check(struct MHD_Connection *conn, const char *version) {
  head_scan s;
  memset(&s, 0, sizeof s);
  MHD_get_connection_values_n(conn, MHD_HEADER_KIND, scan_header, &s);
  return s.bad ? s.bad : framing(&s, version);
}

/* ---- the layout of the parsed head (libmicrohttpd 0.9.75 only) ------------
 *
 * "POST /p HTTP/1.1\r\nHost: x\r\n\r\n" is, once parsed in place:
 * "POST\0/p\0HTTP/1.1\0\0Host\0 x\0\0\0\0". Each line end of CR LF became
 * two NULs and the next line starts right after them; a header's value
 * follows its name, the colon (now NUL) and optional white space. Addresses
 * are compared as integers: all of them point into one pool block. */

typedef struct layout_scan {
  uintptr_t next; /* where the next header line must start */
  const char *bad;
} layout_scan;

static int crlf_at(const char *end) { return end[0] == '\0' && end[1] == '\0'; }

static enum MHD_Result scan_layout(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size) {
  (void)kind;
  layout_scan *s = cls;
  uintptr_t k = (uintptr_t)key, v = (uintptr_t)value;
  if (k != s->next || v <= k + key_size) {
    s->bad = "header line folded (obs-fold) or not where it was sent";
    return MHD_NO;
  }
  for (const char *p = key + key_size + 1; p < value; p++)
    if (*p != ' ' && *p != '\t') {
      s->bad = "NUL in a header line";
      return MHD_NO;
    }
  if (!crlf_at(value + value_size)) {
    s->bad = "header line not ended by CR LF (bare LF, bare CR or NUL)";
    return MHD_NO;
  }
  s->next = v + value_size + 2;
  return MHD_YES;
}

void httpd_raw_line_set(httpd_raw_line *line, const char *uri) {
  line->uri = uri;
  line->uri_len = uri ? strlen(uri) : 0;
  line->uri_ctl = 0;
  for (size_t i = 0; i < line->uri_len; i++)
    if ((unsigned char)uri[i] <= ' ' || uri[i] == 0x7f)
      line->uri_ctl = 1;
}

static const char *request_line(const char *method, const char *version,
                                const httpd_raw_line *line) {
  size_t ml = strlen(method);
  if (line->uri == NULL || (uintptr_t)line->uri != (uintptr_t)method + ml + 1)
    return "request line not METHOD SP URI SP VERSION";
  if ((uintptr_t)line->uri + line->uri_len + 1 != (uintptr_t)version)
    return "NUL or extra space in the request line";
  if (line->uri_ctl)
    return "space or control character in the URI";
  if (!crlf_at(version + strlen(version)))
    return "request line not ended by CR LF";
  return NULL;
}

const char *httpd_strict_layout(struct MHD_Connection *conn, const char *method,
                                const char *version, const httpd_raw_line *line) {
  static int known = -1;
  if (known < 0)
    known = strcmp(MHD_get_version(), "0.9.75") == 0;
  if (!known || line->uri == NULL || method == NULL || version == NULL)
    return NULL;
  const char *bad = request_line(method, version, line);
  if (bad)
    return bad;
  layout_scan s = {(uintptr_t)version + strlen(version) + 2, NULL};
  MHD_get_connection_values_n(conn, MHD_HEADER_KIND, scan_layout, &s);
  if (s.bad == NULL && !crlf_at((const char *)s.next))
    s.bad = "head not ended by CR LF CR LF";
  return s.bad;
}
