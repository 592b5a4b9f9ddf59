/* ws_handshake.c: the RFC 6455 opening handshake, as pure functions: the
 * URL's parts, the key and its accept value (SHA-1 + base64 via libcrypto
 * and fl_base64), the request text, the parse of the server's answer. No
 * I/O; the parser allocates nothing. */
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "flurry.h"
#include "ws_int.h"

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

FLURRY_API int flurry_ws_accept_key(const char *key, char *out, size_t outlen) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  char cat[256 + sizeof ws_guid];
  if (key == NULL || out == NULL || outlen < FLURRY__WS_ACCEPT_LEN + 1)
    return FLURRY_EINVALID;
  size_t n = strlen(key);
  if (n > 256)
    return FLURRY_EINVALID;
  memcpy(cat, key, n);
  memcpy(cat + n, ws_guid, sizeof ws_guid - 1);
  if (EVP_Digest(cat, n + sizeof ws_guid - 1, md, &mdlen, EVP_sha1(), NULL) != 1)
    return FLURRY_EINTERNAL;
  char tmp[FLURRY__WS_ACCEPT_LEN + 4];
  fl_buf b = {tmp, 0, sizeof tmp, sizeof tmp - 1}; /* fixed: never grows */
  if (fl_base64(&b, md, mdlen) != FL_OK)
    return FLURRY_EINTERNAL;
  memcpy(out, tmp, b.len);
  out[b.len] = '\0';
  return FLURRY_OK;
}

int flurry__ws_new_key(char *key) {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1)
    return FLURRY_EINTERNAL;
  char tmp[FLURRY__WS_KEY_LEN + 4];
  fl_buf b = {tmp, 0, sizeof tmp, sizeof tmp - 1};
  if (fl_base64(&b, raw, sizeof raw) != FL_OK)
    return FLURRY_EINTERNAL;
  memcpy(key, tmp, b.len);
  key[b.len] = '\0';
  return FLURRY_OK;
}

/* ---- the URL ------------------------------------------------------------- */

void flurry__ws_url_free(flurry__ws_url *u) {
  fl_free(u->connect_url);
  fl_free(u->host);
  fl_free(u->target);
  memset(u, 0, sizeof *u);
}

/* The parts libcurl gives (curl_free) turned into the three strings. */
static int url_build(CURLU *h, const char *scheme, flurry__ws_url *u) {
  char *host = NULL, *port = NULL, *path = NULL, *query = NULL, *url = NULL;
  int rc = FLURRY_EINVALID;
  int tls = strcmp(scheme, "wss") == 0;
  if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || *host == '\0' ||
      curl_url_get(h, CURLUPART_PATH, &path, 0) != CURLUE_OK)
    goto done;
  (void)curl_url_get(h, CURLUPART_PORT, &port, 0); /* absent: default */
  (void)curl_url_get(h, CURLUPART_QUERY, &query, 0);
  if (curl_url_set(h, CURLUPART_SCHEME, tls ? "https" : "http", 0) != CURLUE_OK ||
      curl_url_set(h, CURLUPART_PATH, "/", 0) != CURLUE_OK ||
      curl_url_set(h, CURLUPART_QUERY, NULL, 0) != CURLUE_OK ||
      curl_url_set(h, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
      curl_url_get(h, CURLUPART_URL, &url, 0) != CURLUE_OK)
    goto done;
  fl_buf hb = FL_BUF_INIT(0), tb = FL_BUF_INIT(0);
  int r = fl_buf_puts(&hb, host);
  if (r == FL_OK && port)
    r = fl_buf_printf(&hb, ":%s", port);
  if (r == FL_OK)
    r = fl_buf_puts(&tb, path);
  if (r == FL_OK && query)
    r = fl_buf_printf(&tb, "?%s", query);
  u->connect_url = fl_strdup(url);
  u->host = r == FL_OK ? fl_buf_take(&hb, NULL) : NULL;
  u->target = r == FL_OK ? fl_buf_take(&tb, NULL) : NULL;
  fl_buf_free(&hb);
  fl_buf_free(&tb);
  rc = FLURRY_OK;
  if (u->connect_url == NULL || u->host == NULL || u->target == NULL) {
    flurry__ws_url_free(u);
    rc = FLURRY_ENOMEM;
  }
done:
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_free(query);
  curl_free(url);
  return rc;
}

int flurry__ws_url_parse(const char *url, flurry__ws_url *out) {
  CURLU *h = curl_url();
  char *scheme = NULL;
  flurry__ws_url u = {NULL, NULL, NULL};
  if (h == NULL)
    return FLURRY_ENOMEM;
  int rc = FLURRY_EINVALID;
  if (url != NULL && curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
      curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      (strcmp(scheme, "ws") == 0 || strcmp(scheme, "wss") == 0))
    rc = url_build(h, scheme, &u);
  curl_free(scheme);
  curl_url_cleanup(h);
  if (rc == FLURRY_OK)
    *out = u;
  return rc;
}

/* ---- the request --------------------------------------------------------- */

/* Headers the handshake writes itself: a caller's copy would break it.
 * Every Sec-WebSocket-* header is the handshake's too (subprotocols go
 * through flurry_ws_opts.protocols, whose answer is checked). */
static const char *const own_headers[] = {"Host",           "Upgrade",           "Connection",
                                          "Content-Length", "Transfer-Encoding", NULL};
static const char sec_ws[] = "Sec-WebSocket-";

static size_t name_len(const char *line) { return strcspn(line, ":"); }

static int is_own(const char *line, size_t n) {
  if (n >= sizeof sec_ws - 1 && fl_strncaseeq(line, sec_ws, sizeof sec_ws - 1))
    return 1;
  for (size_t i = 0; own_headers[i]; i++)
    if (strlen(own_headers[i]) == n && fl_strncaseeq(line, own_headers[i], n))
      return 1;
  return 0;
}

int flurry__ws_header_ok(const char *line) {
  size_t n = name_len(line);
  if (n == 0 || line[n] != ':' || is_own(line, n))
    return 0;
  for (size_t i = 0; i < n; i++)
    if (strchr("!#$%&'*+-.^_`|~", line[i]) == NULL &&
        !((line[i] >= '0' && line[i] <= '9') || (line[i] >= 'a' && line[i] <= 'z') ||
          (line[i] >= 'A' && line[i] <= 'Z')))
      return 0;
  return strpbrk(line + n, "\r\n") == NULL;
}

FLURRY_API int flurry_ws_header_valid(const char *line) {
  return line != NULL && flurry__ws_header_ok(line);
}

static int set_by(const char *const *extra, const char *line) {
  size_t n = name_len(line);
  for (size_t i = 0; extra && extra[i]; i++)
    if (name_len(extra[i]) == n && fl_strncaseeq(extra[i], line, n))
      return 1;
  return 0;
}

/* A default line with a value ("Expect:" has none: skipped). */
static int default_usable(const char *line) {
  const char *v = strchr(line, ':');
  return v && v[1 + strspn(v + 1, " \t")] != '\0' && flurry__ws_header_ok(line);
}

/* Whether the request's own lines or the client's defaults name a
 * User-Agent: it replaces flurry's. */
static int own_user_agent(const char *const *extra, const struct curl_slist *defaults) {
  static const char *const ua[] = {"User-Agent:", NULL};
  for (size_t i = 0; extra && extra[i]; i++)
    if (set_by(ua, extra[i]))
      return 1;
  for (const struct curl_slist *d = defaults; d; d = d->next)
    if (default_usable(d->data) && set_by(ua, d->data))
      return 1;
  return 0;
}

int flurry__ws_request(fl_buf *b, const flurry__ws_url *u, const char *key, const char *protocols,
                       const char *const *extra, const struct curl_slist *defaults) {
  int rc = fl_buf_printf(b,
                         "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                         "Sec-WebSocket-Version: 13\r\n",
                         u->target, u->host, key);
  if (rc == FL_OK && !own_user_agent(extra, defaults))
    rc = fl_buf_puts(b, "User-Agent: flurry/" FLURRY_VERSION "\r\n");
  if (rc == FL_OK && protocols && *protocols)
    rc = fl_buf_printf(b, "Sec-WebSocket-Protocol: %s\r\n", protocols);
  for (size_t i = 0; rc == FL_OK && extra && extra[i]; i++)
    rc = fl_buf_printf(b, "%s\r\n", extra[i]);
  for (const struct curl_slist *d = defaults; rc == FL_OK && d; d = d->next)
    if (default_usable(d->data) && !set_by(extra, d->data))
      rc = fl_buf_printf(b, "%s\r\n", d->data);
  return rc == FL_OK ? fl_buf_puts(b, "\r\n") : rc;
}

/* ---- the answer ---------------------------------------------------------- */

static const char *find_crlf2(const char *p, size_t n) {
  for (size_t i = 0; i + 3 < n; i++)
    if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
      return p + i;
  return NULL;
}

static int parse_status(const char *p, size_t n) {
  if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ')
    return -1;
  int64_t v;
  if (fl_parse_i64(p + 9, 3, 100, 599, &v) != 0 || (n > 12 && p[12] != ' ' && p[12] != '\r'))
    return -1;
  return (int)v;
}

/* 1 if the comma-separated list v[0..n) holds token tok[0..tl) (any case). */
static int has_token(const char *v, size_t n, const char *tok, size_t tl) {
  size_t i = 0;
  while (i < n) {
    while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
      i++;
    size_t s = i;
    while (i < n && v[i] != ',')
      i++;
    size_t e = i;
    while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
      e--;
    if (e - s == tl && fl_strncaseeq(v + s, tok, tl))
      return 1;
  }
  return 0;
}

enum { SEEN_UPGRADE = 1, SEEN_CONNECTION = 2, SEEN_ACCEPT = 4, SEEN_PROTOCOL = 8 };

/* The server's Sec-WebSocket-Protocol v[0..vl): one of those offered (RFC
 * 6455 4.1: anything else fails the connection), once. */
static int check_protocol(const char *v, size_t vl, flurry__ws_expect *x, int seen,
                          const char **why) {
  if (seen & SEEN_PROTOCOL) {
    *why = "the server chose a subprotocol twice";
    return -1;
  }
  if (x->offered == NULL || vl == 0 || memchr(v, ',', vl) != NULL ||
      !has_token(x->offered, strlen(x->offered), v, vl)) {
    *why = "the server chose a subprotocol that was not offered";
    return -1;
  }
  x->chosen[0] = (size_t)(v - x->base);
  x->chosen[1] = vl;
  return SEEN_PROTOCOL;
}

/* Checks one header line; returns the SEEN_ bit it earned, 0, or -1 with
 * *why. */
static int check_line(const char *l, size_t n, flurry__ws_expect *x, int seen, const char **why) {
  const char *accept = x->accept;
  const char *colon = memchr(l, ':', n);
  if (colon == NULL) {
    *why = "malformed header line in the handshake answer";
    return -1;
  }
  size_t nl = (size_t)(colon - l);
  const char *v = colon + 1;
  size_t vl = n - nl - 1;
  while (vl && (*v == ' ' || *v == '\t'))
    v++, vl--;
  while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
    vl--;
#define IS(name) (nl == sizeof(name) - 1 && fl_strncaseeq(l, name, nl))
  if (IS("Upgrade"))
    return has_token(v, vl, "websocket", 9) ? SEEN_UPGRADE : 0;
  if (IS("Connection"))
    return has_token(v, vl, "upgrade", 7) ? SEEN_CONNECTION : 0;
  if (IS("Sec-WebSocket-Protocol"))
    return check_protocol(v, vl, x, seen, why);
  if (IS("Sec-WebSocket-Accept")) {
    if (vl == strlen(accept) && memcmp(v, accept, vl) == 0)
      return SEEN_ACCEPT;
    *why = "wrong Sec-WebSocket-Accept in the handshake answer";
    return -1;
  }
  if (IS("Sec-WebSocket-Extensions")) {
    *why = "the server chose an extension that was not offered";
    return -1;
  }
#undef IS
  return 0;
}

static long fail_with(int *err, int kind, const char **why, const char *text) {
  *err = kind;
  *why = text;
  return -1;
}

long flurry__ws_response_parse(const char *p, size_t n, flurry__ws_expect *x, int *status, int *err,
                               const char **why) {
  x->base = p;
  x->chosen[0] = x->chosen[1] = 0;
  const char *eol = memchr(p, '\n', n);
  *status = 0;
  if (eol == NULL)
    return n >= FLURRY__WS_MAX_HEAD ? fail_with(err, FLURRY_EPROTOCOL, why, "no status line") : 0;
  int st = parse_status(p, (size_t)(eol - p));
  if (st < 0)
    return fail_with(err, FLURRY_EPROTOCOL, why, "not an HTTP/1.1 answer to the handshake");
  *status = st;
  const char *end = find_crlf2(p, n);
  if (end == NULL)
    return n >= FLURRY__WS_MAX_HEAD
               ? fail_with(err, FLURRY_EPROTOCOL, why, "handshake answer headers too large")
               : 0;
  if (st != 101)
    return fail_with(err, st >= 400 ? FLURRY_EHTTP : FLURRY_EPROTOCOL, why,
                     "the server did not switch protocols (no 101 answer)");
  int seen = 0;
  for (const char *l = eol + 1; l < end + 2;) {
    const char *nl = memchr(l, '\n', (size_t)(end + 2 - l));
    size_t len = (size_t)(nl - l);
    if (len && l[len - 1] == '\r')
      len--;
    int r = check_line(l, len, x, seen, why);
    if (r < 0) {
      *err = FLURRY_EPROTOCOL;
      return -1;
    }
    seen |= r;
    l = nl + 1;
  }
  if (!(seen & SEEN_UPGRADE) || !(seen & SEEN_CONNECTION))
    return fail_with(err, FLURRY_EPROTOCOL, why,
                     "missing Upgrade: websocket or Connection: upgrade");
  if (!(seen & SEEN_ACCEPT))
    return fail_with(err, FLURRY_EPROTOCOL, why, "missing Sec-WebSocket-Accept");
  return (long)(end + 4 - p);
}
