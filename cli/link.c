/* link.c: the Link header (RFC 8288), as GitHub and most paginated APIs
 * send it:  <https://api/x?page=2>; rel="next", <...?page=9>; rel="last"
 * A pure parser over a buffer: it reads only p[0..n), allocates nothing and
 * does no I/O. */
#include <string.h>

#include "cli.h"

static int is_ows(char c) { return c == ' ' || c == '\t'; }

/* RFC 9110 tchar. */
static int is_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static size_t skip_ows(const char *p, size_t n, size_t i) {
  while (i < n && is_ows(p[i]))
    i++;
  return i;
}

/* A quoted-string starting at p[i] == '"': sets *end past the closing
 * quote. Returns CLI_LINK_OK, CLI_LINK_AGAIN (unterminated) or BAD. */
static int quoted(const char *p, size_t n, size_t i, size_t *end) {
  for (i++; i < n; i++) {
    if (p[i] == '\\') {
      if (++i == n)
        return CLI_LINK_AGAIN;
    } else if (p[i] == '"') {
      *end = i + 1;
      return CLI_LINK_OK;
    } else if ((unsigned char)p[i] < 0x20 && p[i] != '\t') {
      return CLI_LINK_BAD;
    }
  }
  return CLI_LINK_AGAIN;
}

/* One parameter at p[i] (after ';' and white space): name[=value]. Sets
 * the rel value when the name is rel. */
static int param(const char *p, size_t n, size_t *pi, cli_link *out) {
  size_t i = *pi, name = i;
  while (i < n && is_tchar(p[i]))
    i++;
  if (i == name)
    return i == n ? CLI_LINK_AGAIN : CLI_LINK_BAD;
  size_t name_len = i - name;
  i = skip_ows(p, n, i);
  if (i == n || p[i] != '=') { /* a parameter without a value */
    *pi = i;
    return CLI_LINK_OK;
  }
  i = skip_ows(p, n, i + 1);
  if (i == n)
    return CLI_LINK_AGAIN;
  size_t v = i, vlen;
  if (p[i] == '"') {
    int rc = quoted(p, n, i, &i);
    if (rc != CLI_LINK_OK)
      return rc;
    v++;
    vlen = i - v - 1;
  } else {
    while (i < n && is_tchar(p[i]))
      i++;
    if (i == v)
      return CLI_LINK_BAD;
    vlen = i - v;
  }
  if (name_len == 3 && fl_strncaseeq(p + name, "rel", 3) && out->rel == NULL) {
    out->rel = p + v; /* the first rel counts (RFC 8288 3.3) */
    out->rel_len = vlen;
  }
  *pi = i;
  return CLI_LINK_OK;
}

int cli_link_parse(const char *p, size_t n, cli_link *out, size_t *consumed) {
  memset(out, 0, sizeof *out);
  size_t i = 0;
  while (i < n && (is_ows(p[i]) || p[i] == ','))
    i++;
  if (i == n) {
    *consumed = n;
    return CLI_LINK_END;
  }
  if (p[i] != '<')
    return CLI_LINK_BAD;
  const char *gt = memchr(p + i + 1, '>', n - i - 1);
  if (gt == NULL)
    return CLI_LINK_AGAIN;
  out->uri = p + i + 1;
  out->uri_len = (size_t)(gt - out->uri);
  for (size_t k = 0; k < out->uri_len; k++)
    if ((unsigned char)out->uri[k] <= 0x20 || out->uri[k] == '<')
      return CLI_LINK_BAD;
  i = skip_ows(p, n, (size_t)(gt - p) + 1);
  while (i < n && p[i] == ';') {
    i = skip_ows(p, n, i + 1);
    int rc = param(p, n, &i, out);
    if (rc != CLI_LINK_OK)
      return rc;
    i = skip_ows(p, n, i);
  }
  if (i < n && p[i] != ',')
    return CLI_LINK_BAD;
  *consumed = i < n ? i + 1 : i;
  return CLI_LINK_OK;
}

int cli_link_rel_has(const cli_link *l, const char *name) {
  size_t len = strlen(name), i = 0;
  while (l->rel && i < l->rel_len) {
    while (i < l->rel_len && (is_ows(l->rel[i])))
      i++;
    size_t start = i;
    while (i < l->rel_len && !is_ows(l->rel[i]))
      i++;
    if (i - start == len && fl_strncaseeq(l->rel + start, name, len))
      return 1;
  }
  return 0;
}

int cli_link_find(const char *p, size_t n, const char *rel, const char **uri, size_t *len) {
  for (;;) {
    cli_link l;
    size_t used;
    int rc = cli_link_parse(p, n, &l, &used);
    if (rc == CLI_LINK_END)
      return 0;
    if (rc != CLI_LINK_OK)
      return rc;
    if (cli_link_rel_has(&l, rel)) {
      *uri = l.uri;
      *len = l.uri_len;
      return 1;
    }
    p += used;
    n -= used;
  }
}
