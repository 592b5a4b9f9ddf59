/* redact.c: what the flurry command writes never shows a credential: the
 * userinfo of a URL (user:password@) becomes "user:***@" ("***@" without a
 * password: a token as user name), and the value of a secret response
 * header (flurry_header_is_secret: Authorization, Proxy-Authorization,
 * Cookie, Set-Cookie, --secret-header names and the -H ones taken for
 * credentials, which run.c gives the client) becomes "***". For records
 * (url, effective_url, error messages, --headers) and stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

#include "cli.h"

#define MASK "***"

/* The userinfo of the URL whose "://" is at s + at: [*u0, *u1) ends just
 * before '@'. 0 when there is none. */
static int userinfo_at(const char *s, size_t n, size_t at, size_t *u0, size_t *u1) {
  size_t a = at + 3, e = a;
  while (e < n && !strchr("/?#@ \t\r\n\"'<>", s[e]))
    e++;
  if (e >= n || s[e] != '@' || e == a)
    return 0;
  *u0 = a;
  *u1 = e;
  return 1;
}

int cli_redact_needed(const char *s, size_t n) {
  for (const char *p = s; (p = memchr(p, ':', (size_t)(s + n - p))) != NULL; p++) {
    size_t u0, u1;
    if (s + n - p >= 3 && p[1] == '/' && p[2] == '/' &&
        userinfo_at(s, n, (size_t)(p - s), &u0, &u1))
      return 1;
  }
  return 0;
}

int cli_redact_append(fl_buf *out, const char *s, size_t n) {
  size_t done = 0;
  for (size_t i = 0; i + 3 <= n; i++) {
    size_t u0, u1;
    if (s[i] != ':' || s[i + 1] != '/' || s[i + 2] != '/' || !userinfo_at(s, n, i, &u0, &u1))
      continue;
    const char *colon = memchr(s + u0, ':', u1 - u0);
    size_t keep = colon ? (size_t)(colon + 1 - s) : u0; /* "user:" stays */
    int rc = fl_buf_append(out, s + done, keep - done);
    if (rc == FL_OK)
      rc = fl_buf_puts(out, MASK);
    if (rc != FL_OK)
      return rc;
    done = u1; /* from the '@' on */
    i = u1;
  }
  return fl_buf_append(out, s + done, n - done);
}

int cli_json_str_redacted(fl_buf *out, const char *s) {
  size_t n = strlen(s);
  if (!cli_redact_needed(s, n))
    return fl_json_str(out, s, n);
  fl_buf tmp = FL_BUF_INIT(0);
  int rc = cli_redact_append(&tmp, s, n);
  if (rc == FL_OK)
    rc = fl_json_str(out, tmp.data, tmp.len);
  fl_buf_free(&tmp);
  return rc;
}

char *cli_redact_dup(const char *s) {
  fl_buf tmp = FL_BUF_INIT(0);
  if (cli_redact_append(&tmp, s, strlen(s)) != FL_OK) {
    fl_buf_free(&tmp);
    return NULL;
  }
  return fl_buf_take(&tmp, NULL);
}

const char *cli_redact_mask(void) { return MASK; }

void cli_warn(const char *fmt, ...) {
  fl_buf m = FL_BUF_INIT(64 * 1024);
  va_list ap;
  va_start(ap, fmt);
  int rc = fl_buf_vprintf(&m, fmt, ap);
  va_end(ap);
  char *r = rc == FL_OK ? cli_redact_dup(m.data ? m.data : "") : NULL;
  fprintf(stderr, "flurry: %s\n", r ? r : "(message lost: out of memory)");
  fl_free(r);
  fl_buf_free(&m);
}

int cli_secret_digest(fl_buf *out, const char *value) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(value, strlen(value), md, &n, EVP_sha256(), NULL) != 1)
    return FL_ENOMEM;
  int rc = fl_buf_puts(out, "sha256:");
  for (unsigned int i = 0; i < n && rc == FL_OK; i++)
    rc = fl_buf_printf(out, "%02x", md[i]);
  return rc;
}
