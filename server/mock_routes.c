/* mock_routes.c: the plain endpoints of `flurry mock`, one small function
 * each, dispatched from one table after fault injection had its say. Every
 * endpoint accepts any method. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mock_int.h"
#include "mock_pages.h"

#define OUT_MAX (8u << 20) /* largest generated body: /echo of 1 MiB, escaped */
#define USERS_PAGE_DEFAULT 100
#define USERS_PAGE_MAX 1000
#define USERS_TOTAL_DEFAULT 1000
#define USER_ID_MAX 1000000
#define DELAY_MAX_MS 60000
#define BYTES_SEED 0x666c75727279ull /* "flurry" */
#define REDIRECT_MAX 100

static const char slideshow[] =
    "{\"slideshow\":{\"author\":\"Yours Truly\",\"date\":\"date of "
    "publication\",\"slides\":[{\"title\":\"Wake up to "
    "WonderWidgets!\",\"type\":\"all\"},{\"items\":[\"Why WonderWidgets are "
    "great\",\"Who buys WonderWidgets\"],\"title\":\"Overview\",\"type\":"
    "\"all\"}],\"title\":\"Sample Slide Show\"}}";

/* ---- GET / and /json ----------------------------------------------------- */

/* A JSON array being written: its buffer, the accumulated result, how
 * many elements so far. */
typedef struct json_lines {
  fl_buf *b;
  int rc;
  size_t n;
} json_lines;

static void put_line(const char *line, size_t len, void *ud) {
  json_lines *j = ud;
  j->rc |= j->n++ ? fl_buf_putc(j->b, ',') : FL_OK;
  j->rc |= fl_json_str(j->b, line, len);
}

static void r_index(mock_server *m, httpd_req *req, const char *arg) {
  (void)m;
  (void)arg;
  fl_buf b = FL_BUF_INIT(16384);
  json_lines j = {&b, fl_buf_puts(&b, "{\"endpoints\":["), 0};
  mock_endpoints_each(put_line, &j);
  j.rc |= fl_buf_puts(&b, "],\"faults\":[");
  j.n = 0;
  for (size_t i = 0; mock_fault_help[i]; i++)
    put_line(mock_fault_help[i], strlen(mock_fault_help[i]), &j);
  j.rc |= fl_buf_puts(&b, "]}");
  mock_send_buf(req, 200, &b, j.rc);
}

static void r_json(mock_server *m, httpd_req *req, const char *arg) {
  (void)m;
  (void)arg;
  httpd_reply(req, 200, MOCK_JSON, slideshow, sizeof slideshow - 1, HTTPD_STATIC);
}

/* ---- /delay/{ms}: a deferred reply driven by a uv timer ------------------ */

static void delay_reply(httpd_req *req, int64_t ms) {
  fl_buf b = FL_BUF_INIT(64);
  int rc = fl_buf_printf(&b, "{\"delay_ms\":%lld}", (long long)ms);
  mock_send_buf(req, 200, &b, rc);
}

static void r_delay(mock_server *m, httpd_req *req, const char *arg) {
  int64_t ms = 0;
  if (mock_parse_num(arg, 0, DELAY_MAX_MS, &ms) != 0) {
    mock_send_error(req, 400, "delay must be 0..60000 ms");
    return;
  }
  if (ms == 0 || mock_defer(m, req, ms, delay_reply) != 0)
    delay_reply(req, ms); /* out of memory: answer at once */
}

/* ---- /status/{code} ------------------------------------------------------ */

void mock_status(mock_server *m, httpd_req *req, const char *arg) {
  (void)m;
  int64_t code = 0;
  if (mock_parse_num(arg, 200, 599, &code) != 0) {
    mock_send_error(req, 400, "status must be 200..599 (1xx is not a final status)");
    return;
  }
  int ra = mock_retry_after(req);
  if (ra != 0) { /* -2: out of memory, not the client's fault */
    mock_send_error(req, ra == -1 ? 400 : 500, ra == -1 ? "bad retry_after" : "internal error");
    return;
  }
  if (code == 204 || code == 304) { /* no body allowed */
    httpd_reply(req, (unsigned)code, NULL, "", 0, HTTPD_STATIC);
    return;
  }
  fl_buf b = FL_BUF_INIT(64);
  int rc = fl_buf_printf(&b, "{\"status\":%lld}", (long long)code);
  mock_send_buf(req, (unsigned)code, &b, rc);
}

/* ---- /users -------------------------------------------------------------- */

static int put_user(fl_buf *b, int64_t id) {
  uint64_t h = mock_mix64((uint64_t)id);
  long long i = (long long)id;
  return fl_buf_printf(b,
                       "{\"id\":%lld,\"name\":\"User %lld\",\"username\":"
                       "\"user%lld\",\"email\":\"user%lld@example.com\","
                       "\"active\":%s,\"score\":%u}",
                       i, i, i, i, (h & 7) ? "true" : "false", (unsigned)(h % 1000));
}

static int users_link(httpd_req *req, int64_t page, int64_t per_page, int64_t total) {
  char link[128];
  if (page * per_page >= total)
    return mock_header_i64(req, "X-Total-Count", total);
  snprintf(link, sizeof link,
           "</users?page=%lld&per_page=%lld&total=%lld>; "
           "rel=\"next\"",
           (long long)(page + 1), (long long)per_page, (long long)total);
  return httpd_header(req, "Link", link) | mock_header_i64(req, "X-Total-Count", total);
}

static void r_users(mock_server *m, httpd_req *req, const char *arg) {
  (void)m;
  (void)arg;
  int64_t page, per_page, total;
  if (mock_query_num(req, "page", 1, USER_ID_MAX, 1, &page) != 0 ||
      mock_query_num(req, "per_page", 1, USERS_PAGE_MAX, USERS_PAGE_DEFAULT, &per_page) != 0 ||
      mock_query_num(req, "total", 0, USER_ID_MAX, USERS_TOTAL_DEFAULT, &total) != 0) {
    mock_send_error(req, 400, "bad page, per_page (1..1000) or total (0..1000000)");
    return;
  }
  fl_buf b = FL_BUF_INIT(OUT_MAX);
  int rc = fl_buf_putc(&b, '[');
  int64_t first = (page - 1) * per_page + 1;
  for (int64_t id = first; id < first + per_page && id <= total; id++) {
    rc |= id > first ? fl_buf_putc(&b, ',') : FL_OK;
    rc |= put_user(&b, id);
  }
  rc |= fl_buf_putc(&b, ']');
  rc |= users_link(req, page, per_page, total);
  mock_send_buf(req, 200, &b, rc);
}

static void r_user(mock_server *m, httpd_req *req, const char *arg) {
  int64_t id = 0;
  if (mock_user_sub(m, req, arg))
    return;
  if (mock_parse_num(arg, 1, USER_ID_MAX, &id) != 0) {
    mock_send_error(req, 404, "user not found");
    return;
  }
  fl_buf b = FL_BUF_INIT(512);
  int rc = put_user(&b, id);
  mock_send_buf(req, 200, &b, rc);
}

/* ---- /echo and /headers -------------------------------------------------- */

/* Appends name as a JSON string, lower-cased if lower. */
static int put_name(fl_buf *b, const char *name, int lower) {
  size_t n = strlen(name);
  char *tmp = lower ? fl_strndup(name, n) : NULL;
  if (lower && tmp == NULL)
    return FL_ENOMEM;
  if (tmp == NULL)
    return fl_json_str(b, name, n);
  for (size_t i = 0; i < n; i++)
    if (tmp[i] >= 'A' && tmp[i] <= 'Z')
      tmp[i] = (char)(tmp[i] - 'A' + 'a');
  int rc = fl_json_str(b, tmp, n);
  fl_free(tmp);
  return rc;
}

struct obj_ctx {
  fl_buf *b;
  int rc;
  int count;
  int lower;
};

static int put_member(void *cls, const char *name, const char *value) {
  struct obj_ctx *c = cls;
  c->rc |= c->count++ ? fl_buf_putc(c->b, ',') : FL_OK;
  c->rc |= put_name(c->b, name, c->lower);
  c->rc |= fl_buf_putc(c->b, ':');
  c->rc |= value ? fl_json_str(c->b, value, strlen(value)) : fl_buf_puts(c->b, "null");
  return c->rc != FL_OK;
}

/* Appends the headers (names lower-cased) or query arguments as an object. */
static int put_object(fl_buf *b, httpd_req *req, int kind) {
  struct obj_ctx c = {b, FL_OK, 0, kind == HTTPD_HEADERS};
  c.rc |= fl_buf_putc(b, '{');
  httpd_req_each(req, kind, put_member, &c);
  return c.rc | fl_buf_putc(b, '}');
}

/* "body":<JSON> if the body is JSON, "body":"<text>" if it is text, else
 * "body_base64":"...". */
static int put_body(fl_buf *b, httpd_req *req) {
  size_t n = 0;
  const char *p = httpd_req_body(req, &n);
  size_t mark = b->len;
  int rc = fl_buf_puts(b, ",\"body\":");
  if (rc != FL_OK)
    return rc;
  rc = n ? fl_json_compact(b, p, n, NULL) : FL_EPARSE;
  if (rc != FL_EPARSE)
    return rc;
  if (fl_is_text(p, n))
    return fl_json_str(b, p, n);
  b->len = mark;
  rc = fl_buf_puts(b, ",\"body_base64\":\"");
  rc |= fl_base64(b, (const unsigned char *)p, n);
  return rc | fl_buf_putc(b, '"');
}

static void r_echo(mock_server *m, httpd_req *req, const char *arg) {
  (void)m;
  (void)arg;
  const char *method = httpd_req_method(req);
  const char *path = httpd_req_path(req);
  fl_buf b = FL_BUF_INIT(OUT_MAX);
  int rc = fl_buf_puts(&b, "{\"method\":");
  rc |= fl_json_str(&b, method, strlen(method));
  rc |= fl_buf_puts(&b, ",\"path\":");
  rc |= fl_json_str(&b, path, strlen(path));
  rc |= fl_buf_puts(&b, ",\"query\":");
  rc |= put_object(&b, req, HTTPD_QUERY);
  rc |= fl_buf_puts(&b, ",\"headers\":");
  rc |= put_object(&b, req, HTTPD_HEADERS);
  rc |= rc == FL_OK ? put_body(&b, req) : FL_OK;
  rc |= fl_buf_putc(&b, '}');
  mock_send_buf(req, 200, &b, rc);
}

static void r_headers(mock_server *m, httpd_req *req, const char *arg) {
  (void)m;
  (void)arg;
  fl_buf b = FL_BUF_INIT(OUT_MAX);
  int rc = fl_buf_puts(&b, "{\"headers\":");
  rc |= put_object(&b, req, HTTPD_HEADERS);
  rc |= fl_buf_putc(&b, '}');
  mock_send_buf(req, 200, &b, rc);
}

/* ---- /bytes/{n}: streamed, byte at offset p depends only on p ------------ */

static void fill_bytes(char *buf, uint64_t pos, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint64_t p = pos + i;
    uint64_t w = mock_mix64(BYTES_SEED + p / 8);
    for (unsigned k = (unsigned)(p % 8); k < 8 && i < n; k++, i++)
      buf[i] = (char)(unsigned char)(w >> (8 * k));
  }
}

static ssize_t bytes_read(void *cls, uint64_t pos, char *buf, size_t max) {
  uint64_t size = (uint64_t)(uintptr_t)cls; /* the size rides in the pointer */
  if (pos >= size)
    return -1;
  size_t n = size - pos < max ? (size_t)(size - pos) : max;
  fill_bytes(buf, pos, n);
  return (ssize_t)n;
}

static void r_bytes(mock_server *m, httpd_req *req, const char *arg) {
  (void)m;
  int64_t n = 0;
  if (mock_parse_num(arg, 0, MOCK_BYTES_MAX, &n) != 0) {
    mock_send_error(req, 400, "n must be 0..104857600");
    return;
  }
  const char *ct = "application/octet-stream";
  if (n == 0) {
    httpd_reply(req, 200, ct, "", 0, HTTPD_STATIC);
    return;
  }
  httpd_reply_stream(req, 200, ct, (uint64_t)n, bytes_read, (void *)(uintptr_t)n, NULL, NULL);
}

/* ---- redirects ----------------------------------------------------------- */

static void send_redirect(httpd_req *req, unsigned status, const char *location) {
  fl_buf b = FL_BUF_INIT(4096);
  int rc = httpd_header(req, "Location", location) ? FL_ENOMEM : FL_OK;
  rc |= fl_buf_puts(&b, "{\"location\":");
  rc |= fl_json_str(&b, location, strlen(location));
  rc |= fl_buf_putc(&b, '}');
  mock_send_buf(req, status, &b, rc);
}

static void r_redirect(mock_server *m, httpd_req *req, const char *arg) {
  int64_t n = 0;
  char loc[64];
  if (mock_parse_num(arg, 0, REDIRECT_MAX, &n) != 0) {
    mock_send_error(req, 400, "n must be 0..100");
    return;
  }
  if (n == 0) {
    r_json(m, req, NULL);
    return;
  }
  if (n == 1)
    snprintf(loc, sizeof loc, "/json");
  else
    snprintf(loc, sizeof loc, "/redirect/%lld", (long long)(n - 1));
  send_redirect(req, 302, loc);
}

static void r_redirect_to(mock_server *m, httpd_req *req, const char *arg) {
  (void)m;
  (void)arg;
  const char *url = httpd_req_query(req, "url");
  int64_t status = 302;
  if (url == NULL || !mock_header_value_ok(url)) {
    mock_send_error(req, 400, "url= is required (printable ASCII)");
    return;
  }
  if (mock_query_num(req, "status", 300, 399, 302, &status) != 0) {
    mock_send_error(req, 400, "status must be 300..399");
    return;
  }
  send_redirect(req, (unsigned)status, url);
}

/* ---- dispatch ------------------------------------------------------------ */

/* A route: an exact path, or a prefix followed by a non-empty argument;
 * its handler; its lines in --help and GET / ('\n' between them; NULL:
 * described in another row). A request takes the first row that matches;
 * the help lists the rows in this order. */
static const struct route {
  const char *path;
  int prefix; /* 1: path + non-empty argument */
  mock_route_fn fn;
  const char *help;
} routes[] = {
    {"/", 0, r_index, "GET  /                     this list, as JSON"},
    {"/json", 0, r_json, "GET  /json                 a fixed JSON document (~250 bytes)"},
    {"/delay/", 1, r_delay, "ANY  /delay/{ms}           answer after ms milliseconds (0..60000)"},
    {"/status/", 1, mock_status,
     "ANY  /status/{code}        answer with status code (200..599)"
     " [?retry_after=V: seconds or an HTTP-date, verbatim]"},
    {"/users", 0, r_users,
     "GET  /users                100 users [?page=P&per_page=K&total=N]"
     " (Link: rel=next)"},
    {"/users/", 1, r_user,
     "GET  /users/{id}           one user (1..1000000), else 404\n"
     "GET  /users/{id}/posts     posts id .. id + id%3 (neighbours share posts)\n"
     "GET  /users/{id}/comments  id%4 comments by the user"},
    {"/echo", 0, r_echo,
     "ANY  /echo                 method, path, query, headers and body as JSON"},
    {"/bytes/", 1, r_bytes,
     "GET  /bytes/{n}            n pseudo-random bytes (0..104857600),"
     " deterministic"},
    {"/redirect/", 1, r_redirect, "GET  /redirect/{n}         302 n times (0..100), then /json"},
    {"/redirect-to", 0, r_redirect_to,
     "GET  /redirect-to?url=U    redirect to U [&status=3xx, default 302]"},
    {"/headers", 0, r_headers, "GET  /headers              the request headers as JSON"},
    {"/flaky", 0, mock_flaky,
     "ANY  /flaky?key=K          the first N requests with key K fail"
     " [&fail=N (1)&kind=status|reset&status=S (503)&retry_after=V]"},
    {"/limited", 0, mock_limited,
     "ANY  /limited              token bucket per client address or per key:"
     " 429 + Retry-After past it, RateLimit-*, RateLimit, RateLimit-Policy and"
     " X-RateLimit-* headers [?rate=R (10/s)&burst=B (R)&key=K"
     "&status=429|403 (403: GitHub style, no Retry-After)]"},
    {"/reset", 0, mock_reset,
     "ANY  /reset                reset the connection (TCP RST), no answer"
     " [?after=N: after the headers and N body bytes]"},
    {"/truncated", 0, mock_truncated,
     "ANY  /truncated            Content-Length: N, only M bytes, then close"
     " [?size=N (1024)&send=M (N/2)]"},
    {"/drip", 0, mock_drip,
     "ANY  /drip                 headers, then N bytes of '*', one every T ms"
     " [?bytes=N (10, 0..100000)&interval_ms=T (100, 1..60000)]"},
    {"/hang", 0, mock_hang,
     "ANY  /hang                 read the request, never answer"
     " [?ms=T: close after T ms (1..3600000), still no answer]"},
    {"/malformed", 0, mock_malformed,
     "ANY  /malformed            200, application/json, a body that is not JSON"},
    {"/huge-headers", 0, mock_huge_headers,
     "ANY  /huge-headers         200 with LINES headers making about BYTES bytes"
     " [?bytes=BYTES (307200)&lines=LINES (300)]"},
    {"/gzip-bomb", 0, mock_gzip_bomb,
     "ANY  /gzip-bomb            Content-Encoding: gzip, about 1 KiB per MiB of"
     " zeros it inflates to [?mib=N (1024: 1 GiB from ~1 MiB)]"},
    {"/items", 0, mock_items,
     "GET  /items                items {id,name}, Link rel=first/prev/next/last and"
     " X-Total-Count [?page=P&per_page=K (50)&total=N (1000)]"},
    {"/items/cursor", 0, mock_items_cursor,
     "GET  /items/cursor         {items, meta:{next_cursor,total}, next (a URL)}"
     " [?cursor=C&limit=K (50)&total=N (1000)]"},
    {"/items/offset", 0, mock_items_offset,
     "GET  /items/offset         {items, total, offset, limit}"
     " [?offset=O&limit=K (50)&total=N (1000)]"},
    {"/items/loop", 0, mock_items_loop,
     "GET  /items/loop?page=P    3 pages whose next links go round (page 3 -> 1)"},
    {"/items/link", 0, mock_items_link,
     "GET  /items/link?next=U    the Authorization and other request headers;"
     " Link: <U>; rel=\"next\"\n"
     "     /items*               &delay_ms=D: answer after D ms (in flight meanwhile)"},
    {"/items/stats", 0, mock_items_stats,
     "GET  /items/stats          requests per /items endpoint, most in flight at once"
     " [?reset=1]"},
    {"/posts/", 1, mock_post,
     "GET  /posts/{id}           a post with its comment_ids\n"
     "GET  /posts/{id}/comments  1 + id%3 comments"},
    {"/ndjson", 0, mock_ndjson,
     "GET  /ndjson, /lines, /sse  n records {\"seq\":i} / \"line i\" / events"
     " (id i, event tick, data \"tick i\\nof n\"; resumes after Last-Event-ID,"
     " 204 when none is left) [?n=N (10)&interval_ms=T (0: at once)&pad=P"
     " (ndjson)&retry=MS (sse)&crlf=1 (lines)&cut_every=K: close midway"
     " through the record after K]"},
    {"/lines", 0, mock_lines, NULL},
    {"/sse", 0, mock_sse, NULL},
    {"/chat", 0, mock_chat,
     "POST /chat?key=K           an LLM-style SSE answer: two events with"
     " {\"delta\", \"call\": the Nth call with key K}, then data: [DONE]; the"
     " body then ends cleanly"},
    {"/login", 0, mock_login,
     "ANY  /login?user=U         200 {user} and Set-Cookie: session=s-U (Path=/)"},
    {"/me", 0, mock_me,
     "ANY  /me                   200 {user, cookies: the names sent} with the cookie"
     " session=s-U, else 401"},
    {"/ws/", 1, mock_ws,
     "WS   /ws/echo              WebSocket: every message back, same type"
     " [?close=CODE&after=N: close with CODE after N messages; ?big=N: send"
     " an N-byte message first; ?ping=1: ping, then report the pong as"
     " {\"pong\":DATA}; ?mute=1: answer nothing, not even pongs;"
     " ?bad_accept=1: a wrong Sec-WebSocket-Accept; ?protocol=NAME: the client"
     " must offer subprotocol NAME (else 400), chosen; ?choose=NAME: chosen,"
     " offered or not; ?flood=N: N messages \"flood i\" at once]\n"
     "WS   /ws/broadcast         WebSocket: every message to every client"
     " connected here (sender too); same options"},
};

#define NROUTES (sizeof routes / sizeof routes[0])

void mock_endpoints_each(mock_line_fn fn, void *ud) {
  for (size_t i = 0; i < NROUTES; i++)
    for (const char *p = routes[i].help; p && *p;) {
      const char *nl = strchr(p, '\n');
      size_t n = nl ? (size_t)(nl - p) : strlen(p);
      fn(p, n, ud);
      p += n + (nl != NULL);
    }
}

void mock_on_request(httpd_req *req, void *user) {
  const char *path = httpd_req_path(req);
  if (mock_inject(user, req))
    return;
  for (size_t i = 0; i < NROUTES; i++) {
    const struct route *r = &routes[i];
    size_t n = strlen(r->path);
    if (r->prefix && strncmp(path, r->path, n) == 0 && path[n] != '\0') {
      r->fn(user, req, path + n);
      return;
    }
    if (!r->prefix && strcmp(path, r->path) == 0) {
      r->fn(user, req, NULL);
      return;
    }
  }
  mock_send_static(req, 404, "{\"error\":\"not found\"}");
}
