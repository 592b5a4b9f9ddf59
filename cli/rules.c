/* rules.c: what makes an answer a failure besides its status: --fail-if
 * EXPR (a 2xx whose body matches fails: http, body_rule; GraphQL's
 * .errors) and --strict-json (a body declared JSON that does not parse:
 * protocol, bad_json). The statuses (--retry-on, --ok-status) are the
 * library's (flurry/status.h). */
#include <string.h>

#include "cli.h"

struct cli_rules {
  cli_expr *fail_if;
  int strict_json;
};

int cli_rules_new(cli_rules **out, const cli_opts *o) {
  *out = NULL;
  if (o->fail_if == NULL && !o->strict_json)
    return 0;
  cli_rules *r = fl_calloc(1, sizeof *r);
  if (r == NULL)
    return 1;
  char err[2048];
  r->strict_json = o->strict_json;
  if (o->fail_if && cli_expr_compile(&r->fail_if, "--fail-if", o->fail_if, err, sizeof err) != 0) {
    fprintf(stderr, "flurry: %s\n", err);
    fl_free(r);
    return strcmp(err, "out of memory") == 0 ? 1 : 2;
  }
  *out = r;
  return 0;
}

void cli_rules_free(cli_rules *r) {
  if (r == NULL)
    return;
  cli_expr_free(r->fail_if);
  fl_free(r);
}

static int hit_msg(cli_rule_hit *hit, const char *kind, const char *detail, char *msg) {
  hit->kind = kind;
  hit->detail = detail;
  hit->msg = msg;
  return 1;
}

int cli_rules_check(cli_rules *r, const flurry_response *resp, cli_rule_hit *hit) {
  size_t off;
  fl_buf m = FL_BUF_INIT(0);
  if (r == NULL || cli_resp_failed(resp))
    return 0;
  if (r->strict_json && cli_body_bad_json(resp, &off)) {
    fl_buf_printf(&m,
                  "--strict-json: the body is declared JSON (Content-Type) but is not: "
                  "invalid JSON at byte %zu",
                  off);
    return hit_msg(hit, "protocol", "bad_json", fl_buf_take(&m, NULL));
  }
  int status = flurry_response_status(resp);
  if (r->fail_if == NULL || status < 200 || status > 299)
    return 0;
  jv out;
  char *err = NULL;
  if (cli_expr_first(r->fail_if, cli_body_jv(resp), &out, &err) != 0)
    return hit_msg(hit, "invalid_request", "jq", err);
  if (!cli_truthy(out))
    return 0;
  fl_buf_printf(&m, "--fail-if '%s' is true on the body (HTTP %d)", cli_expr_text(r->fail_if),
                status);
  return hit_msg(hit, "http", "body_rule", fl_buf_take(&m, NULL));
}
