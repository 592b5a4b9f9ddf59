/* link.c: the Link header (RFC 8288), as GitHub and most paginated APIs
 * send it:  <https://api/x?page=2>; rel="next", <...?page=9>; rel="last"
 * A pure parser over a buffer: it reads only p[0..n), allocates nothing and
 * does no I/O. */
#include <string.h>

#include "fl.h"
#include "url_int.h"

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
 * quote. Returns FLURRY_LINK_OK, FLURRY_LINK_AGAIN (unterminated) or BAD. */
static int quoted(const char *p, size_t n, size_t i, size_t *end) {
  for (i++; i < n; i++) {
    if (p[i] == '\\') {
      if (++i == n)
        return FLURRY_LINK_AGAIN;
    } else if (p[i] == '"') {
      *end = i + 1;
      return FLURRY_LINK_OK;
    } else if ((unsigned char)p[i] < 0x20 && p[i] != '\t') {
      return FLURRY_LINK_BAD;
    }
  }
  return FLURRY_LINK_AGAIN;
}

/* One parameter at p[i] (after ';' and white space): name[=value]. Sets
 * the rel value when the name is rel. */
static int param(const char *p, size_t n, size_t *pi, flurry_link *out) {
  size_t i = *pi, name = i;
  while (i < n && is_tchar(p[i]))
    i++;
  if (i == name)
    return i == n ? FLURRY_LINK_AGAIN : FLURRY_LINK_BAD;
  size_t name_len = i - name;
  i = skip_ows(p, n, i);
  if (i == n || p[i] != '=') { /* a parameter without a value */
    *pi = i;
    return FLURRY_LINK_OK;
  }
  i = skip_ows(p, n, i + 1);
  if (i == n)
    return FLURRY_LINK_AGAIN;
  size_t v = i, vlen;
  if (p[i] == '"') {
    int rc = quoted(p, n, i, &i);
    if (rc != FLURRY_LINK_OK)
      return rc;
    v++;
    vlen = i - v - 1;
  } else {
    while (i < n && is_tchar(p[i]))
      i++;
    if (i == v)
      return FLURRY_LINK_BAD;
    vlen = i - v;
  }
  if (name_len == 3 && fl_strncaseeq(p + name, "rel", 3) && out->rel == NULL) {
    out->rel = p + v; /* the first rel counts (RFC 8288 3.3) */
    out->rel_len = vlen;
  }
  *pi = i;
  return FLURRY_LINK_OK;
}

FLURRY_API int flurry_link_parse(const char *p, size_t n, flurry_link *out, size_t *consumed) {
  memset(out, 0, sizeof *out);
  size_t i = 0;
  while (i < n && (is_ows(p[i]) || p[i] == ','))
    i++;
  if (i == n) {
    *consumed = n;
    return FLURRY_LINK_END;
  }
  if (p[i] != '<')
    return FLURRY_LINK_BAD;
  const char *gt = memchr(p + i + 1, '>', n - i - 1);
  if (gt == NULL)
    return FLURRY_LINK_AGAIN;
  out->uri = p + i + 1;
  out->uri_len = (size_t)(gt - out->uri);
  for (size_t k = 0; k < out->uri_len; k++)
    if ((unsigned char)out->uri[k] <= 0x20 || out->uri[k] == '<')
      return FLURRY_LINK_BAD;
  i = skip_ows(p, n, (size_t)(gt - p) + 1);
  while (i < n && p[i] == ';') {
    i = skip_ows(p, n, i + 1);
    int rc = param(p, n, &i, out);
    if (rc != FLURRY_LINK_OK)
      return rc;
    i = skip_ows(p, n, i);
  }
  if (i < n && p[i] != ',')
    return FLURRY_LINK_BAD;
  *consumed = i < n ? i + 1 : i;
  return FLURRY_LINK_OK;
}

FLURRY_API int flurry_link_rel_has(const flurry_link *l, const char *name) {
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

FLURRY_API int flurry_link_find(const char *p, size_t n, const char *rel, const char **uri,
                                size_t *len) {
  for (;;) {
    flurry_link l;
    size_t used;
    int rc = flurry_link_parse(p, n, &l, &used);
    if (rc == FLURRY_LINK_END)
      return 0;
    if (rc != FLURRY_LINK_OK)
      return rc;
    if (flurry_link_rel_has(&l, rel)) {
      *uri = l.uri;
      *len = l.uri_len;
      return 1;
    }
    p += used;
    n -= used;
  }
}

char *flurry__response_link(const flurry_response *resp, const char *rel) {
  size_t n = flurry_response_header_count(resp);
  for (size_t i = 0; i < n; i++) {
    const char *hn, *hv, *uri;
    size_t len;
    flurry_response_header_at(resp, i, &hn, &hv);
    if (!fl_strcaseeq(hn, "Link") || flurry_link_find(hv, strlen(hv), rel, &uri, &len) != 1)
      continue;
    char *ref = fl_strndup(uri, len);
    char *abs = ref ? flurry__url_resolve(flurry_response_effective_url(resp), ref) : NULL;
    fl_free(ref);
    return abs;
  }
  return NULL;
}
