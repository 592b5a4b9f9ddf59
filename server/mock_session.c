/* mock_session.c: a login that sets a session cookie and an endpoint that
 * requires it, for clients that keep cookies (flurry --cookies). */
#include <stdio.h>
#include <string.h>

#include "mock_int.h"

#define USER_MAX 64

/* 1 when u is 1..64 letters, digits, '-' or '_'. */
static int user_ok(const char *u, size_t n) {
  if (n == 0 || n > USER_MAX)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((u[i] >= 'a' && u[i] <= 'z') || (u[i] >= 'A' && u[i] <= 'Z') ||
          (u[i] >= '0' && u[i] <= '9') || u[i] == '-' || u[i] == '_'))
      return 0;
  return 1;
}

/* ANY /login?user=U: 200 {"user":U}, Set-Cookie: session=s-U. */
void mock_login(mock_server *m, httpd_req *req, const char *arg) {
  (void)m, (void)arg;
  const char *u = httpd_req_query(req, "user");
  if (u == NULL || !user_ok(u, strlen(u))) {
    mock_send_error(req, 400, "user: 1..64 letters, digits, - or _");
    return;
  }
  char cookie[128];
  snprintf(cookie, sizeof cookie, "session=s-%s; Path=/; HttpOnly", u);
  fl_buf b = FL_BUF_INIT(256);
  int rc = fl_buf_printf(&b, "{\"user\":\"%s\"}", u);
  if (httpd_header(req, "Set-Cookie", cookie) != 0)
    rc = FL_ENOMEM;
  mock_send_buf(req, 200, &b, rc);
}

/* The cookie pairs of a Cookie header, one at a time: name [*n, *nl),
 * value [*v, *vl). 0 at the end. */
static int next_pair(const char **p, const char **n, size_t *nl, const char **v, size_t *vl) {
  while (**p == ' ' || **p == ';')
    (*p)++;
  if (**p == '\0')
    return 0;
  size_t len = strcspn(*p, ";");
  const char *eq = memchr(*p, '=', len);
  *n = *p;
  *nl = eq ? (size_t)(eq - *p) : len;
  *v = eq ? eq + 1 : *p + len;
  *vl = (size_t)(*p + len - *v);
  *p += len;
  return 1;
}

/* ANY /me: 200 {"user":U,"cookies":[names...],"cookie_headers":N} with the
 * cookie session=s-U, else 401. Names only: the values are credentials. */
void mock_me(mock_server *m, httpd_req *req, const char *arg) {
  (void)m, (void)arg;
  const char *h = httpd_req_header(req, "Cookie");
  fl_buf names = FL_BUF_INIT(16384);
  const char *user = NULL, *p = h ? h : "", *n, *v;
  size_t nl, vl, ulen = 0, count = 0;
  int rc = fl_buf_putc(&names, '[');
  while (next_pair(&p, &n, &nl, &v, &vl)) {
    if (count++)
      rc |= fl_buf_putc(&names, ',');
    rc |= fl_json_str(&names, n, nl);
    if (nl == 7 && memcmp(n, "session", 7) == 0 && vl > 2 && memcmp(v, "s-", 2) == 0 &&
        user_ok(v + 2, vl - 2)) {
      user = v + 2;
      ulen = vl - 2;
    }
  }
  rc |= fl_buf_putc(&names, ']');
  fl_buf b = FL_BUF_INIT(32768);
  if (user)
    rc |= fl_buf_printf(&b, "{\"user\":\"%.*s\",\"cookies\":%s}", (int)ulen, user,
                        names.data ? names.data : "[]");
  else
    rc |= fl_buf_printf(&b, "{\"error\":\"not logged in\",\"cookies\":%s}",
                        names.data ? names.data : "[]");
  fl_buf_free(&names);
  mock_send_buf(req, user ? 200 : 401, &b, rc);
}
