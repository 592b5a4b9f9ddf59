/* cookie.c: the client's cookies. The jar is libcurl's cookie engine: one
 * CURLSH share of CURL_LOCK_DATA_COOKIE, attached to every transfer of the
 * client, so a Set-Cookie stored by one is sent by the next as RFC 6265
 * says (libcurl's rules, not ours). One more easy handle, never run, loads
 * and lists the jar. The cookies the caller adds (flurry_client_add_cookie)
 * go out with CURLOPT_COOKIE, which libcurl puts in the jar's Cookie line,
 * only at the request's own origin (as the secret headers). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cookie_int.h"
#include "request_int.h"
#include "transfer_int.h"

#define MAX_COOKIE_LINE 8192

struct flurry__cookies {
  CURLSH *share; /* NULL: the engine is off */
  CURL *jar;     /* loads and lists the shared jar; never run */
  fl_buf line;   /* "a=1; b=2": flurry_client_add_cookie's */
};

static struct flurry__cookies *cookies_get(flurry_client *c) {
  if (c->cookies == NULL)
    c->cookies = fl_calloc(1, sizeof *c->cookies);
  if (c->cookies != NULL && c->cookies->line.max == 0)
    c->cookies->line = (fl_buf)FL_BUF_INIT(MAX_COOKIE_LINE);
  return c->cookies;
}

/* Turns the engine on (once). 0, FLURRY_ENOMEM or FLURRY_EINTERNAL. */
static int engine_on(flurry_client *c) {
  struct flurry__cookies *k = cookies_get(c);
  if (k == NULL)
    return FLURRY_ENOMEM;
  if (k->share != NULL)
    return FLURRY_OK;
  CURLSH *sh = curl_share_init();
  CURL *jar = curl_easy_init();
  if (sh == NULL || jar == NULL) {
    curl_share_cleanup(sh);
    curl_easy_cleanup(jar);
    return FLURRY_ENOMEM;
  }
  if (curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE) != CURLSHE_OK ||
      curl_easy_setopt(jar, CURLOPT_SHARE, sh) != CURLE_OK ||
      curl_easy_setopt(jar, CURLOPT_COOKIEFILE, "") != CURLE_OK) {
    curl_easy_cleanup(jar);
    curl_share_cleanup(sh);
    return FLURRY_EINTERNAL; /* a libcurl built without cookies */
  }
  k->share = sh;
  k->jar = jar;
  c->opts.v[FLURRY_OPT_COOKIES] = 1;
  return FLURRY_OK;
}

int flurry__cookies_opt(flurry_client *c, int64_t value) {
  if (value == 0)
    return c->cookies && c->cookies->share ? FLURRY_EINVALID : FLURRY_OK;
  return engine_on(c);
}

int flurry__cookies_configure(flurry_client *c, const flurry_request *req, CURL *e) {
  const struct flurry__cookies *k = c->cookies;
  if (k == NULL)
    return 0;
  if (k->share) {
    curl_easy_setopt(e, CURLOPT_SHARE, k->share);
    curl_easy_setopt(e, CURLOPT_COOKIEFILE, ""); /* the engine on, no file */
  }
  /* hop_headers: a redirect left the first origin (redirect.c);
   * no_secrets: a page at another origin than page 1's */
  if (k->line.len > 0 && req->hop_headers == NULL && !req->no_secrets)
    curl_easy_setopt(e, CURLOPT_COOKIE, k->line.data);
  return k->share != NULL || k->line.len > 0;
}

void flurry__cookies_release(flurry_client *c, CURL *e) {
  if (c->cookies && c->cookies->share)             /* libcurl 7.88's reset leaks the file list */
    curl_easy_setopt(e, CURLOPT_COOKIEFILE, NULL); /* a shared jar stays as it is */
}

void flurry__cookies_free(flurry_client *c) {
  struct flurry__cookies *k = c->cookies;
  if (k == NULL)
    return;
  curl_easy_cleanup(k->jar);
  curl_share_cleanup(k->share);
  fl_buf_free(&k->line);
  fl_free(k);
  c->cookies = NULL;
}

FLURRY_API int flurry_client_load_cookies(flurry_client *c, const char *path) {
  if (c == NULL || path == NULL)
    return FLURRY_EINVALID;
  struct stat st;
  int exists = stat(path, &st) == 0;
  if (!exists && errno != ENOENT)
    return FLURRY_EINVALID;
  if (exists && !S_ISREG(st.st_mode)) {
    errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    return FLURRY_EINVALID;
  }
  if (exists && access(path, R_OK) != 0)
    return FLURRY_EINVALID;
  int rc = engine_on(c);
  if (rc != FLURRY_OK || !exists)
    return rc;
  CURL *jar = c->cookies->jar;
  /* The jar handle never runs: its file list is read here only (and
   * COOKIEFILE NULL would detach it from the share). */
  if (curl_easy_setopt(jar, CURLOPT_COOKIEFILE, path) != CURLE_OK ||
      curl_easy_setopt(jar, CURLOPT_COOKIELIST, "RELOAD") != CURLE_OK)
    return FLURRY_ENOMEM;
  return FLURRY_OK;
}

/* Writes the jar's lines to fd. 0 or -1 (errno set). */
static int write_jar(int fd, const struct curl_slist *l) {
  static const char head[] = "# Netscape HTTP Cookie File\n"
                             "# Written by flurry (libcurl's cookie engine). Edit at your own "
                             "risk.\n\n";
  fl_buf b = FL_BUF_INIT(0);
  int rc = fl_buf_puts(&b, head);
  for (; l && rc == FL_OK; l = l->next) {
    rc = fl_buf_puts(&b, l->data);
    if (rc == FL_OK)
      rc = fl_buf_putc(&b, '\n');
  }
  if (rc != FL_OK) {
    fl_buf_free(&b);
    errno = ENOMEM;
    return -1;
  }
  size_t off = 0;
  while (off < b.len) {
    ssize_t n = write(fd, b.data + off, b.len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    off += (size_t)n;
  }
  int ok = off == b.len;
  fl_buf_free(&b);
  return ok ? 0 : -1;
}

FLURRY_API int flurry_client_save_cookies(flurry_client *c, const char *path) {
  if (c == NULL || path == NULL || c->cookies == NULL || c->cookies->share == NULL)
    return FLURRY_EINVALID;
  struct curl_slist *list = NULL;
  if (curl_easy_getinfo(c->cookies->jar, CURLINFO_COOKIELIST, &list) != CURLE_OK)
    return FLURRY_ENOMEM;
  fl_buf tmp = FL_BUF_INIT(0);
  if (fl_buf_printf(&tmp, "%s.tmp", path) != FL_OK) {
    curl_slist_free_all(list);
    return FLURRY_ENOMEM;
  }
  int rc = FLURRY_EINVALID;
  int fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) {
    int wrote = write_jar(fd, list) == 0 && fchmod(fd, 0600) == 0;
    int saved = errno;
    wrote = close(fd) == 0 && wrote;
    if (wrote && rename(tmp.data, path) == 0) {
      rc = FLURRY_OK;
    } else {
      if (saved != 0 && !wrote)
        errno = saved;
      unlink(tmp.data);
      if (errno == ENOMEM)
        rc = FLURRY_ENOMEM;
    }
  }
  curl_slist_free_all(list);
  fl_buf_free(&tmp);
  return rc;
}

/* RFC 6265 cookie-octets, or the same between double quotes. */
static int cookie_value_ok(const char *v) {
  size_t n = strlen(v), i = 0;
  if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
    i = 1, n--;
  for (; i < n; i++) {
    unsigned char ch = (unsigned char)v[i];
    if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == ',' || ch == ';' || ch == '\\')
      return 0;
  }
  return 1;
}

FLURRY_API int flurry_client_add_cookie(flurry_client *c, const char *name, const char *value) {
  if (c == NULL || name == NULL || value == NULL || *name == '\0' ||
      !flurry__header_valid(name, "") || !cookie_value_ok(value))
    return FLURRY_EINVALID;
  struct flurry__cookies *k = cookies_get(c);
  if (k == NULL)
    return FLURRY_ENOMEM;
  size_t mark = k->line.len;
  int rc = k->line.len ? fl_buf_puts(&k->line, "; ") : FL_OK;
  if (rc == FL_OK)
    rc = fl_buf_printf(&k->line, "%s=%s", name, value);
  if (rc == FL_OK)
    return FLURRY_OK;
  k->line.len = mark;
  if (k->line.data)
    k->line.data[mark] = '\0';
  return rc == FL_ELIMIT ? FLURRY_EINVALID : FLURRY_ENOMEM;
}
