/* httpd_strict.h: the request-framing checks libmicrohttpd 0.9.75 leaves to
 * the application (request smuggling, RFC 9112 sections 2.2, 3.2 and 6).
 * Run on the access handler's first call, after the head was parsed and
 * before any byte of the body was read. Internal to the flurry binary. */
#ifndef FLURRY_HTTPD_STRICT_H
#define FLURRY_HTTPD_STRICT_H

#include <microhttpd.h>

/* NULL when the head of conn's current request is acceptable, else a short
 * static reason ("Content-Length and Transfer-Encoding both present"): the
 * request must be answered 400 and the connection closed. version is the
 * access handler's version argument. Rejected: Transfer-Encoding with
 * Content-Length, in HTTP/1.0, more than once, or other than "chunked";
 * more than one Content-Length (equal or not); a Content-Length that is not
 * digits only; a header name that is not an RFC 9110 token (white space
 * before the colon, control bytes); an HTTP/1.1 request without exactly
 * one Host. */
const char *httpd_strict_check(struct MHD_Connection *conn, const char *version);

/* The raw request line of the coming request, as the URI log callback saw
 * it (before libmicrohttpd unescapes the URI in place). */
typedef struct httpd_raw_line {
  const char *uri; /* NULL: unknown, the line checks are skipped */
  size_t uri_len;  /* strlen(uri) then: a NUL in the URI shortens it */
  int uri_ctl;     /* a space or control byte in the URI then */
} httpd_raw_line;

/* Fills *line from the URI log callback's uri (may be NULL); the bytes are
 * looked at now: libmicrohttpd rewrites them afterwards. */
void httpd_raw_line_set(httpd_raw_line *line, const char *uri);

/* NULL when the head was sent as RFC 9112 wants its lines, else a short
 * static reason: a bare LF or bare CR as a line end, an obs-fold
 * continuation line, a NUL in the request line or in a header line, more
 * than one space between method and URI. libmicrohttpd 0.9.75 accepts all
 * of these and offers no option to refuse them; it parses the head in place
 * in its read buffer (a line end becomes one NUL per byte, a folded line
 * moves its header out of the buffer), so the layout of the strings it
 * hands over shows what the raw bytes were. That layout is an
 * implementation detail: the check runs only with libmicrohttpd 0.9.75
 * (MHD_get_version()) and returns NULL with any other version. method and
 * version are the access handler's arguments. */
const char *httpd_strict_layout(struct MHD_Connection *conn, const char *method,
                                const char *version, const httpd_raw_line *line);

#endif
