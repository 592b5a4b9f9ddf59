/* graphql.c: GraphQL over HTTP: the request body {"query","variables"}
 * and the "errors" array of a 200 taken for what it is, a failure. See
 * include/flurry/graphql.h. */
#include <string.h>

#include "graphql_int.h"
#include "request_int.h"
#include "response_int.h"

#define ERROR_TEXT_MAX 200 /* of the errors array, in the message */

FLURRY_API int flurry_request_set_graphql(flurry_request *req, const char *query,
                                          const char *variables, int flags) {
  if (req == NULL || query == NULL || *query == '\0' || req->state != REQ_NEW ||
      (flags & ~FLURRY_GRAPHQL_ERRORS_OK) != 0)
    return FLURRY_EINVALID;
  size_t off, len; /* a member lookup that checks variables is one JSON object */
  if (variables && fl_json_member(variables, strlen(variables), "", &off, &len) != FL_OK)
    return FLURRY_EINVALID;
  fl_buf b = FL_BUF_INIT(0);
  int rc = fl_buf_puts(&b, "{\"query\":");
  rc |= fl_json_str(&b, query, strlen(query));
  if (variables) {
    rc |= fl_buf_puts(&b, ",\"variables\":");
    rc |= fl_json_compact(&b, variables, strlen(variables), NULL);
  }
  rc |= fl_buf_putc(&b, '}');
  int frc = rc == FL_OK ? flurry_request_set_json(req, b.data, b.len) : FLURRY_ENOMEM;
  fl_buf_free(&b);
  if (frc == FLURRY_OK && !flurry__slist_has(req->headers, "Accept"))
    frc = flurry_request_add_header(req, "Accept",
                                    "application/graphql-response+json, application/json");
  if (frc == FLURRY_OK)
    req->graphql = 1 | flags << 1;
  return frc;
}

void flurry__graphql_check(const flurry_request *req, flurry_response *resp) {
  if (!req->graphql || (req->graphql >> 1 & FLURRY_GRAPHQL_ERRORS_OK) || resp->err ||
      resp->status < 200 || resp->status > 299 || resp->streamed)
    return;
  size_t off, len;
  if (fl_json_member(resp->body.data, resp->body.len, "errors", &off, &len) != FL_OK || len < 2 ||
      resp->body.data[off] != '[')
    return;
  const char *e = resp->body.data + off;
  if (e[1 + strspn(e + 1, " \t\r\n")] == ']')
    return; /* "errors": [] */
  flurry__response_set_error(resp, FLURRY_EHTTP, "GraphQL errors: %.*s%s",
                             (int)(len > ERROR_TEXT_MAX ? ERROR_TEXT_MAX : len), e,
                             len > ERROR_TEXT_MAX ? "..." : "");
  resp->detail = FLURRY_DETAIL_GRAPHQL_ERRORS;
}
