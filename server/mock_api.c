/* mock_api.c: endpoints of `flurry mock` shaped like today's web APIs:
 * /chat, an LLM-style completion that answers a POST with a short
 * text/event-stream ending in `data: [DONE]` (and no id:, no retry:), then
 * ends the body cleanly; each call is counted per ?key= so a test can see
 * a POST that was repeated. /graphql, a tiny GraphQL endpoint (the query
 * text is not parsed: a word in it picks the answer): a Relay connection
 * with pageInfo cursors, a field that fails (200 with "errors") and the
 * variables echoed. */
#include <stdio.h>
#include <string.h>

#include "mock_int.h"

#define CHAT_KEY_MAX 256

/* ---- /chat ----------------------------------------------------------------- */

/* The call number for key (1 for the first call), 0 when not counted. */
static int64_t chat_call(mock_server *m, const char *key) {
  char k[CHAT_KEY_MAX + 8];
  int n = snprintf(k, sizeof k, "chat|%s", key);
  int created = 0;
  mock_slot *s = n > 0 && (size_t)n < sizeof k ? mock_table_get(m->flaky, k, (size_t)n, &created)
                                               : NULL;
  if (s == NULL)
    return 0;
  s->a += 1;
  return (int64_t)s->a;
}

void mock_chat(mock_server *m, httpd_req *req, const char *arg) {
  (void)arg;
  const char *key = httpd_req_query(req, "key");
  if (key == NULL || *key == '\0' || strlen(key) > CHAT_KEY_MAX) {
    mock_send_error(req, 400, "key= is required (1..256 bytes)");
    return;
  }
  if (strcmp(httpd_req_method(req), "POST") != 0) {
    mock_send_error(req, 405, "POST a prompt");
    return;
  }
  char body[256];
  int n = snprintf(body, sizeof body,
                   "data: {\"delta\":\"Hel\",\"call\":%lld}\n\n"
                   "data: {\"delta\":\"lo\"}\n\n"
                   "data: [DONE]\n\n",
                   (long long)chat_call(m, key));
  httpd_reply(req, 200, "text/event-stream", body, (size_t)n, HTTPD_COPY);
}

/* ---- /graphql ----------------------------------------------------------- */

#define GQL_TOTAL_MAX 100000
#define GQL_FIRST_MAX 1000

/* variables.name as an integer in [min, max] (def when absent or null).
 * 0, or -1 when it is something else. */
static int gql_int(const char *vars, size_t vlen, const char *name, int64_t min, int64_t max,
                   int64_t def, int64_t *out) {
  size_t off, len;
  char num[24];
  *out = def;
  if (vars == NULL || fl_json_member(vars, vlen, name, &off, &len) != FL_OK || len == 0 ||
      (len == 4 && memcmp(vars + off, "null", 4) == 0))
    return 0;
  if (len >= sizeof num)
    return -1;
  memcpy(num, vars + off, len);
  num[len] = '\0';
  return mock_parse_num(num, min, max, out);
}

/* variables.after: "cN" (N items already seen), null or absent: 0. */
static int gql_after(const char *vars, size_t vlen, int64_t *after) {
  size_t off, len;
  char num[24];
  *after = 0;
  if (vars == NULL || fl_json_member(vars, vlen, "after", &off, &len) != FL_OK || len == 0 ||
      (len == 4 && memcmp(vars + off, "null", 4) == 0))
    return 0;
  if (len < 4 || len - 3 >= sizeof num || memcmp(vars + off, "\"c", 2) != 0 ||
      vars[off + len - 1] != '"')
    return -1;
  memcpy(num, vars + off + 2, len - 3);
  num[len - 3] = '\0';
  return mock_parse_num(num, 0, GQL_TOTAL_MAX, after);
}

/* {"data":{"items":{"nodes":[{"id":i}...],"pageInfo":{...}}}}: items after
 * the cursor, `first` of them (2), of `total` (5). */
static void gql_items(httpd_req *req, const char *vars, size_t vlen) {
  int64_t first, total, after;
  if (gql_int(vars, vlen, "first", 1, GQL_FIRST_MAX, 2, &first) != 0 ||
      gql_int(vars, vlen, "total", 0, GQL_TOTAL_MAX, 5, &total) != 0 ||
      gql_after(vars, vlen, &after) != 0) {
    mock_send_static(req, 200,
                     "{\"errors\":[{\"message\":\"bad variables: first (1..1000), total "
                     "(0..100000), after (a cursor \\\"cN\\\")\"}]}");
    return;
  }
  int64_t end = after + first < total ? after + first : total;
  fl_buf b = FL_BUF_INIT(1 << 20);
  int rc = fl_buf_puts(&b, "{\"data\":{\"items\":{\"nodes\":[");
  for (int64_t i = after + 1; i <= end; i++)
    rc |= fl_buf_printf(&b, "%s{\"id\":%lld}", i > after + 1 ? "," : "", (long long)i);
  rc |= fl_buf_printf(&b, "],\"pageInfo\":{\"hasNextPage\":%s,\"endCursor\":",
                      end < total ? "true" : "false");
  rc |= end > after ? fl_buf_printf(&b, "\"c%lld\"}}}}", (long long)end)
                    : fl_buf_puts(&b, "null}}}}");
  mock_send_buf(req, 200, &b, rc);
}

void mock_graphql(mock_server *m, httpd_req *req, const char *arg) {
  (void)m, (void)arg;
  size_t n = 0, qoff, qlen, voff, vlen;
  const char *body = httpd_req_body(req, &n);
  if (strcmp(httpd_req_method(req), "POST") != 0 || body == NULL ||
      fl_json_member(body, n, "query", &qoff, &qlen) != FL_OK || qlen < 2 || body[qoff] != '"' ||
      fl_json_member(body, n, "variables", &voff, &vlen) != FL_OK ||
      (vlen > 0 && body[voff] != '{' && !(vlen == 4 && memcmp(body + voff, "null", 4) == 0))) {
    mock_send_static(req, 400,
                     "{\"errors\":[{\"message\":\"POST a JSON object {\\\"query\\\": "
                     "string, \\\"variables\\\": object}\"}]}");
    return;
  }
  const char *vars = vlen > 0 && body[voff] == '{' ? body + voff : NULL;
  char q[1024];
  size_t ql = qlen - 2 < sizeof q - 1 ? qlen - 2 : sizeof q - 1;
  memcpy(q, body + qoff + 1, ql);
  q[ql] = '\0';
  if (strstr(q, "items")) {
    gql_items(req, vars, vars ? vlen : 0);
  } else if (strstr(q, "fail")) {
    mock_send_static(req, 200,
                     "{\"data\":null,\"errors\":[{\"message\":\"field fail failed\","
                     "\"path\":[\"fail\"]}]}");
  } else if (strstr(q, "echo")) {
    fl_buf b = FL_BUF_INIT(1 << 20);
    int rc = fl_buf_puts(&b, "{\"data\":{\"echo\":");
    rc |= vars ? fl_buf_append(&b, vars, vlen) : fl_buf_puts(&b, "null");
    rc |= fl_buf_puts(&b, "}}");
    mock_send_buf(req, 200, &b, rc);
  } else {
    mock_send_static(req, 200,
                     "{\"errors\":[{\"message\":\"unknown field: the mock knows items, "
                     "fail and echo\"}]}");
  }
}
