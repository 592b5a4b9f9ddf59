/* mock_pages.c: the paginated collections of `flurry mock` (Link header,
 * cursor in the body, offset/limit, a next link that loops, a next link to
 * anywhere) and nested lists for fan-out and --join (users' posts and
 * comments, posts' comments). Each /items request is counted, and with
 * ?delay_ms= the replies wait, so a test sees how many were in flight at
 * once (GET /items/stats). */
#include <stdio.h>
#include <string.h>

#include "mock_pages.h"

#define OUT_MAX (8u << 20)
#define ITEMS_TOTAL_DEFAULT 1000
#define ITEMS_TOTAL_MAX 1000000
#define ITEMS_PAGE_DEFAULT 50
#define ITEMS_PAGE_MAX 1000
#define DELAY_MAX_MS 10000
#define LOOP_PAGES 3
#define ID_MAX 1000000

/* What the /items endpoints saw (one mock per process in practice; tests
 * read them through /items/stats and reset them with ?reset=1). */
enum { K_ITEMS, K_CURSOR, K_OFFSET, K_LOOP, K_LINK, K_KINDS };
static const char *const kind_name[K_KINDS] = {"items", "cursor", "offset", "loop", "link"};
static struct {
  uint64_t requests[K_KINDS];
  int64_t in_flight, in_flight_max;
} seen;

/* ---- shared pieces ------------------------------------------------------ */

/* [{"id":first,...},...] up to count items, none past total. */
static int put_items(fl_buf *b, int64_t first, int64_t count, int64_t total) {
  int rc = fl_buf_putc(b, '[');
  for (int64_t id = first; id < first + count && id <= total; id++)
    rc |= fl_buf_printf(b, "%s{\"id\":%lld,\"name\":\"Item %lld\"}", id > first ? "," : "",
                        (long long)id, (long long)id);
  return rc | fl_buf_putc(b, ']');
}

/* "&delay_ms=D" when the request had it, so every page waits alike. */
static void delay_arg(httpd_req *req, char *out, size_t n) {
  int64_t d = 0;
  mock_query_num(req, "delay_ms", 0, DELAY_MAX_MS, 0, &d);
  if (d > 0)
    snprintf(out, n, "&delay_ms=%lld", (long long)d);
  else
    out[0] = '\0';
}

static void fire_done(void) { seen.in_flight--; }

/* Counts the request; answers now, or after ?delay_ms= (counted in flight
 * meanwhile). */
static void answer(mock_server *m, httpd_req *req, int kind, mock_fire_cb fire) {
  int64_t d = 0;
  seen.requests[kind]++;
  if (mock_query_num(req, "delay_ms", 0, DELAY_MAX_MS, 0, &d) != 0) {
    mock_send_error(req, 400, "delay_ms must be 0..10000");
    return;
  }
  if (++seen.in_flight > seen.in_flight_max)
    seen.in_flight_max = seen.in_flight;
  if (d == 0 || mock_defer(m, req, d, fire) != 0)
    fire(req, 0);
}

/* ---- /items?page=P&per_page=K&total=N: Link and X-Total-Count ----------- */

static int items_link(httpd_req *req, int64_t page, int64_t per, int64_t total) {
  int64_t last = total ? (total + per - 1) / per : 1;
  char d[32], link[1024];
  delay_arg(req, d, sizeof d);
  int n = snprintf(link, sizeof link,
                   "</items?page=1&per_page=%lld&total=%lld%s>; rel=\"first\", "
                   "</items?page=%lld&per_page=%lld&total=%lld%s>; rel=\"last\"",
                   (long long)per, (long long)total, d, (long long)last, (long long)per,
                   (long long)total, d);
  if (page < last)
    n += snprintf(link + n, sizeof link - (size_t)n,
                  ", </items?page=%lld&per_page=%lld&total=%lld%s>; rel=\"next\"",
                  (long long)(page + 1), (long long)per, (long long)total, d);
  if (page > 1)
    snprintf(link + n, sizeof link - (size_t)n,
             ", </items?page=%lld&per_page=%lld&total=%lld%s>; rel=\"prev\"", (long long)(page - 1),
             (long long)per, (long long)total, d);
  return httpd_header(req, "Link", link) | mock_header_i64(req, "X-Total-Count", total);
}

static void items_fire(httpd_req *req, int64_t ms) {
  (void)ms;
  fire_done();
  int64_t page, per, total;
  if (mock_query_num(req, "page", 1, ID_MAX, 1, &page) != 0 ||
      mock_query_num(req, "per_page", 1, ITEMS_PAGE_MAX, ITEMS_PAGE_DEFAULT, &per) != 0 ||
      mock_query_num(req, "total", 0, ITEMS_TOTAL_MAX, ITEMS_TOTAL_DEFAULT, &total) != 0) {
    mock_send_error(req, 400, "bad page, per_page (1..1000) or total (0..1000000)");
    return;
  }
  fl_buf b = FL_BUF_INIT(OUT_MAX);
  int rc = put_items(&b, (page - 1) * per + 1, per, total);
  rc |= items_link(req, page, per, total);
  mock_send_buf(req, 200, &b, rc);
}

void mock_items(mock_server *m, httpd_req *req, const char *arg) {
  (void)arg;
  answer(m, req, K_ITEMS, items_fire);
}

/* ---- /items/cursor?cursor=C&limit=K&total=N: cursor and next in the body - */

/* Cursors are opaque to clients: "c" and the offset in hex. */
static int parse_cursor(const char *c, int64_t *offset) {
  *offset = 0;
  if (c == NULL || *c == '\0')
    return 0;
  if (c[0] != 'c' || c[1] == '\0' || strlen(c) > 16)
    return -1;
  int64_t v = 0;
  for (const char *p = c + 1; *p; p++) {
    int h = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
    if (h < 0)
      return -1;
    v = v * 16 + h;
  }
  *offset = v;
  return 0;
}

static void cursor_fire(httpd_req *req, int64_t ms) {
  (void)ms;
  fire_done();
  int64_t off, limit, total;
  if (parse_cursor(httpd_req_query(req, "cursor"), &off) != 0 ||
      mock_query_num(req, "limit", 1, ITEMS_PAGE_MAX, ITEMS_PAGE_DEFAULT, &limit) != 0 ||
      mock_query_num(req, "total", 0, ITEMS_TOTAL_MAX, ITEMS_TOTAL_DEFAULT, &total) != 0) {
    mock_send_error(req, 400, "bad cursor, limit (1..1000) or total");
    return;
  }
  char d[32];
  delay_arg(req, d, sizeof d);
  fl_buf b = FL_BUF_INIT(OUT_MAX);
  int rc = fl_buf_puts(&b, "{\"items\":");
  rc |= put_items(&b, off + 1, limit, total);
  if (off + limit < total)
    rc |= fl_buf_printf(&b,
                        ",\"meta\":{\"next_cursor\":\"c%llx\",\"total\":%lld},\"next\":"
                        "\"/items/cursor?cursor=c%llx&limit=%lld&total=%lld%s\"}",
                        (unsigned long long)(off + limit), (long long)total,
                        (unsigned long long)(off + limit), (long long)limit, (long long)total, d);
  else
    rc |= fl_buf_printf(&b, ",\"meta\":{\"next_cursor\":null,\"total\":%lld},\"next\":null}",
                        (long long)total);
  mock_send_buf(req, 200, &b, rc);
}

/* ---- /items/offset?offset=O&limit=K&total=N ------------------------------ */

static void offset_fire(httpd_req *req, int64_t ms) {
  (void)ms;
  fire_done();
  int64_t off, limit, total;
  if (mock_query_num(req, "offset", 0, ITEMS_TOTAL_MAX, 0, &off) != 0 ||
      mock_query_num(req, "limit", 1, ITEMS_PAGE_MAX, ITEMS_PAGE_DEFAULT, &limit) != 0 ||
      mock_query_num(req, "total", 0, ITEMS_TOTAL_MAX, ITEMS_TOTAL_DEFAULT, &total) != 0) {
    mock_send_error(req, 400, "bad offset, limit (1..1000) or total");
    return;
  }
  fl_buf b = FL_BUF_INIT(OUT_MAX);
  int rc = fl_buf_puts(&b, "{\"items\":");
  rc |= put_items(&b, off + 1, limit, total);
  rc |= fl_buf_printf(&b, ",\"total\":%lld,\"offset\":%lld,\"limit\":%lld}", (long long)total,
                      (long long)off, (long long)limit);
  mock_send_buf(req, 200, &b, rc);
}

/* ---- /items/loop?page=P: page 3's next link is page 1 -------------------- */

static void loop_fire(httpd_req *req, int64_t ms) {
  (void)ms;
  fire_done();
  int64_t page;
  if (mock_query_num(req, "page", 1, LOOP_PAGES, 1, &page) != 0) {
    mock_send_error(req, 400, "page must be 1..3");
    return;
  }
  char link[128];
  snprintf(link, sizeof link, "</items/loop?page=%lld>; rel=\"next\"",
           (long long)(page % LOOP_PAGES + 1));
  fl_buf b = FL_BUF_INIT(OUT_MAX);
  int rc = put_items(&b, (page - 1) * 10 + 1, 10, ITEMS_TOTAL_MAX);
  rc |= httpd_header(req, "Link", link);
  mock_send_buf(req, 200, &b, rc);
}

/* ---- /items/link?next=U: the request headers, and a next link to U ------- */

static void link_fire(httpd_req *req, int64_t ms) {
  (void)ms;
  fire_done();
  const char *next = httpd_req_query(req, "next");
  if (next && !mock_header_value_ok(next)) {
    mock_send_error(req, 400, "next= must be printable ASCII");
    return;
  }
  static const char *const shown[] = {"Authorization", "Cookie", "X-Api-Key", "Accept", "X-Trace"};
  fl_buf b = FL_BUF_INIT(OUT_MAX);
  int rc = fl_buf_puts(&b, "{\"authorization\":");
  const char *auth = httpd_req_header(req, "Authorization");
  rc |= auth ? fl_json_str(&b, auth, strlen(auth)) : fl_buf_puts(&b, "null");
  rc |= fl_buf_puts(&b, ",\"header_names\":[");
  int first = 1;
  for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++) {
    if (httpd_req_header(req, shown[i]) == NULL)
      continue;
    rc |= fl_buf_printf(&b, "%s\"%s\"", first ? "" : ",", shown[i]);
    first = 0;
  }
  rc |= fl_buf_puts(&b, "]}");
  if (next) {
    fl_buf link = FL_BUF_INIT(2048);
    rc |= fl_buf_printf(&link, "<%s>; rel=\"next\"", next);
    rc |= httpd_header(req, "Link", link.data ? link.data : "") ? FL_ENOMEM : FL_OK;
    fl_buf_free(&link);
  }
  mock_send_buf(req, 200, &b, rc);
}

/* ---- /items/stats[?reset=1] ---------------------------------------------- */

void mock_items_stats(mock_server *m, httpd_req *req, const char *arg) {
  (void)m;
  (void)arg;
  fl_buf b = FL_BUF_INIT(4096);
  int rc = fl_buf_puts(&b, "{\"requests\":{");
  for (int k = 0; k < K_KINDS; k++)
    rc |= fl_buf_printf(&b, "%s\"%s\":%llu", k ? "," : "", kind_name[k],
                        (unsigned long long)seen.requests[k]);
  rc |= fl_buf_printf(&b, "},\"in_flight\":%lld,\"in_flight_max\":%lld}", (long long)seen.in_flight,
                      (long long)seen.in_flight_max);
  if (httpd_req_query(req, "reset"))
    memset(&seen, 0, sizeof seen);
  mock_send_buf(req, 200, &b, rc);
}

void mock_items_cursor(mock_server *m, httpd_req *req, const char *arg) {
  (void)arg;
  answer(m, req, K_CURSOR, cursor_fire);
}

void mock_items_offset(mock_server *m, httpd_req *req, const char *arg) {
  (void)arg;
  answer(m, req, K_OFFSET, offset_fire);
}

void mock_items_loop(mock_server *m, httpd_req *req, const char *arg) {
  (void)arg;
  answer(m, req, K_LOOP, loop_fire);
}

void mock_items_link(mock_server *m, httpd_req *req, const char *arg) {
  (void)arg;
  answer(m, req, K_LINK, link_fire);
}

/* ---- users' posts and comments, posts' comments -------------------------- */

/* "7/posts" -> 7 and "posts". 0 or -1. */
static int split_id(const char *arg, int64_t *id, const char **rest) {
  const char *slash = strchr(arg, '/');
  size_t n = slash ? (size_t)(slash - arg) : strlen(arg);
  *rest = slash ? slash + 1 : "";
  return fl_parse_i64(arg, n, 1, ID_MAX, id);
}

static void user_posts(httpd_req *req, int64_t u) {
  fl_buf b = FL_BUF_INIT(OUT_MAX);
  int rc = fl_buf_putc(&b, '[');
  for (int64_t p = u; p <= u + u % 3; p++)
    rc |= fl_buf_printf(&b, "%s{\"id\":%lld,\"title\":\"Post %lld\"}", p > u ? "," : "",
                        (long long)p, (long long)p);
  rc |= fl_buf_putc(&b, ']');
  mock_send_buf(req, 200, &b, rc);
}

static void user_comments(httpd_req *req, int64_t u) {
  fl_buf b = FL_BUF_INIT(OUT_MAX);
  int rc = fl_buf_putc(&b, '[');
  for (int64_t k = 0; k < u % 4; k++)
    rc |= fl_buf_printf(&b, "%s{\"id\":%lld,\"user_id\":%lld,\"post_id\":%lld}", k ? "," : "",
                        (long long)(100000 + 10 * u + k), (long long)u, (long long)(u + k));
  rc |= fl_buf_putc(&b, ']');
  mock_send_buf(req, 200, &b, rc);
}

int mock_user_sub(mock_server *m, httpd_req *req, const char *arg) {
  (void)m;
  int64_t u;
  const char *rest;
  if (strchr(arg, '/') == NULL || split_id(arg, &u, &rest) != 0)
    return 0;
  if (strcmp(rest, "posts") == 0)
    user_posts(req, u);
  else if (strcmp(rest, "comments") == 0)
    user_comments(req, u);
  else
    return 0;
  return 1;
}

static int put_comments(fl_buf *b, int64_t p) {
  int rc = fl_buf_putc(b, '[');
  for (int64_t k = 0; k <= p % 3; k++)
    rc |= fl_buf_printf(b,
                        "%s{\"id\":%lld,\"post_id\":%lld,\"body\":\"Comment %lld on post "
                        "%lld\"}",
                        k ? "," : "", (long long)(10 * p + k), (long long)p, (long long)k,
                        (long long)p);
  return rc | fl_buf_putc(b, ']');
}

void mock_post(mock_server *m, httpd_req *req, const char *arg) {
  (void)m;
  int64_t p;
  const char *rest;
  fl_buf b = FL_BUF_INIT(OUT_MAX);
  if (split_id(arg, &p, &rest) != 0 || (*rest && strcmp(rest, "comments") != 0)) {
    mock_send_error(req, 404, "post not found");
    return;
  }
  int rc;
  if (*rest) {
    rc = put_comments(&b, p);
  } else {
    rc = fl_buf_printf(&b, "{\"id\":%lld,\"title\":\"Post %lld\",\"comment_ids\":[", (long long)p,
                       (long long)p);
    for (int64_t k = 0; k <= p % 3; k++)
      rc |= fl_buf_printf(&b, "%s%lld", k ? "," : "", (long long)(10 * p + k));
    rc |= fl_buf_puts(&b, "]}");
  }
  mock_send_buf(req, 200, &b, rc);
}
