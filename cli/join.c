/* join.c: --join NAME=TEMPLATE (repeatable). Every part of an input line
 * is requested at once; when the last one is back, one record carries them
 * all: "body" {NAME: body, ...} (of the parts that succeeded, transformed
 * by --reduce when all did), "parts" {NAME: {url, status, attempts,
 * elapsed_ms[, error]}}, and "error" naming the parts that failed. */
#include <string.h>

#include "cli.h"

struct cli_join {
  const cli_ctx *ctx;
  cli_level *lv; /* one per part: its template, level 0's method and body */
  cli_expr *reduce;
};

typedef struct jpart {
  char *url;
  flurry_response *resp;
  char *error; /* the template failed: no request */
} jpart;

typedef struct jgroup {
  cli_join *j;
  uint64_t seq, lineno, key;
  char *id_json;
  double start_ms;
  size_t left; /* parts not back yet (+1 while they are being sent) */
  jpart part[];
} jgroup;

typedef struct jref {
  jgroup *g;
  size_t i;
} jref;

int cli_join_new(cli_join **out, const cli_ctx *ctx) {
  char err[2048];
  const cli_opts *o = ctx->o;
  cli_join *j = fl_calloc(1, sizeof *j);
  if (j == NULL || (j->lv = fl_calloc(o->njoins, sizeof *j->lv)) == NULL) {
    fl_free(j);
    return 1;
  }
  j->ctx = ctx;
  for (size_t i = 0; i < o->njoins; i++) {
    j->lv[i] = o->levels[0];
    j->lv[i].template_url = o->joins[i].template_url;
  }
  if (o->reduce && cli_expr_compile(&j->reduce, "--reduce", o->reduce, err, sizeof err) != 0) {
    fprintf(stderr, "flurry: %s\n", err);
    cli_join_free(j);
    return 2;
  }
  *out = j;
  return 0;
}

void cli_join_free(cli_join *j) {
  if (j == NULL)
    return;
  cli_expr_free(j->reduce);
  fl_free(j->lv);
  fl_free(j);
}

/* "parts":{NAME:{...},...}; *failed: the parts that failed, for the error
 * message; *kind: the first failed part's error kind. */
static void put_parts(jgroup *g, fl_buf *b, fl_buf *failed, const char **kind) {
  const cli_opts *o = g->j->ctx->o;
  fl_buf_puts(b, ",\"parts\":{");
  for (size_t i = 0; i < o->njoins; i++) {
    jpart *p = &g->part[i];
    const char *name = o->joins[i].name;
    fl_buf_printf(b, "%s", i ? "," : "");
    fl_json_str(b, name, strlen(name));
    fl_buf_puts(b, ":{\"url\":");
    fl_json_str(b, p->url ? p->url : "", p->url ? strlen(p->url) : 0);
    const char *why = p->error;
    if (p->resp) {
      flurry_timings t;
      flurry_response_timings(p->resp, &t);
      if (flurry_response_status(p->resp))
        fl_buf_printf(b, ",\"status\":%d", flurry_response_status(p->resp));
      fl_buf_printf(b, ",\"attempts\":%d,\"elapsed_ms\":%.3f", flurry_response_attempts(p->resp),
                    t.elapsed_ms);
      if (cli_resp_failed(p->resp))
        why = flurry_response_error_message(p->resp);
    }
    if (why) {
      const char *k = p->resp ? flurry_err_name(flurry_response_error(p->resp)) : "invalid_request";
      *kind = *kind ? *kind : k;
      fl_buf_printf(b, ",\"error\":{\"kind\":\"%s\",\"message\":", k);
      fl_json_str(b, why, strlen(why));
      fl_buf_putc(b, '}');
      fl_buf_printf(failed, "%spart '%s': %s", failed->len ? "; " : "", name, why);
    }
    fl_buf_putc(b, '}');
  }
  fl_buf_putc(b, '}');
}

/* {NAME: body} of the parts that succeeded. */
static jv merged(jgroup *g) {
  const cli_opts *o = g->j->ctx->o;
  jv body = jv_object();
  for (size_t i = 0; i < o->njoins; i++)
    if (g->part[i].resp && !cli_resp_failed(g->part[i].resp))
      body = jv_object_set(body, jv_string(o->joins[i].name), cli_body_jv(g->part[i].resp));
  return body;
}

static void group_end(jgroup *g) {
  cli_join *j = g->j;
  const cli_ctx *ctx = j->ctx;
  fl_buf extra = FL_BUF_INIT(0), failed = FL_BUF_INIT(0), out = FL_BUF_INIT(0);
  const char *kind = NULL;
  fl_buf_printf(&extra, ",\"elapsed_ms\":%.3f", fl_now_ms() - g->start_ms);
  put_parts(g, &extra, &failed, &kind);
  jv body = merged(g);
  cli_rec rec = {.key = g->key, .id_json = g->id_json, .line = g->lineno, .extra = extra.data,
                 .has_body = 1};
  char *msg = NULL;
  if (kind) {
    rec.err_kind = kind;
    rec.err_detail = "join_part";
    rec.err_msg = failed.data;
    cli_stats_record_error(ctx->stats, "join_part");
  } else if (j->reduce) {
    jv reduced;
    if (cli_expr_first(j->reduce, jv_copy(body), &reduced, &msg) == 0) {
      jv_free(body);
      body = reduced;
    } else {
      rec.err_kind = "invalid_request";
      rec.err_detail = "jq";
      rec.err_msg = msg ? msg : "out of memory";
      cli_stats_record_error(ctx->stats, "jq");
    }
  }
  rec.body = body;
  if (ctx->journal && cli_journal_done(ctx->journal, g->key))
    cli_stats_count(ctx->stats, COUNT_RESUMED_RECORDS, 1);
  else if (extra.data && cli_record_write(&out, &ctx->ro, &rec) == FL_OK)
    cli_out_write(ctx->out, g->seq, out.data, out.len);
  cli_stats_count(ctx->stats, COUNT_RECORDS, 1);
  cli_out_end(ctx->out, g->seq);
  jv_free(body);
  fl_free(msg);
  fl_buf_free(&extra);
  fl_buf_free(&failed);
  fl_buf_free(&out);
  for (size_t i = 0; i < ctx->o->njoins; i++) {
    flurry_response_free(g->part[i].resp);
    fl_free(g->part[i].url);
    fl_free(g->part[i].error);
  }
  fl_free(g->id_json);
  fl_free(g);
  ctx->unit_done(ctx->ud);
}

static void group_release(jgroup *g) {
  if (--g->left == 0)
    group_end(g);
}

static void on_part(flurry_request *req, flurry_response *resp, void *ud) {
  jref *ref = ud;
  jgroup *g = ref->g;
  const cli_ctx *ctx = g->j->ctx;
  (void)req;
  cli_stats_add(ctx->stats, resp);
  g->part[ref->i].resp = resp;
  fl_free(ref);
  group_release(g);
  ctx->kick(ctx->ud);
}

/* Builds and sends part i. */
static void send_part(cli_join *j, jgroup *g, size_t i, const cli_unit *u) {
  const cli_ctx *ctx = j->ctx;
  cli_built bt;
  jpart *p = &g->part[i];
  int sent = 0;
  int rc = cli_build_part(ctx->builder, &j->lv[i], u->line ? u->line : "", u->len, u->lineno,
                          &bt);
  p->url = bt.url;
  bt.url = NULL;
  jref *ref = rc == 0 && bt.req ? fl_malloc(sizeof *ref) : NULL;
  for (size_t h = 0; ref && h < ctx->o->nheaders; h++)
    if (ctx->o->headers[h].secret)
      flurry_request_add_header(bt.req, ctx->o->headers[h].name, ctx->o->headers[h].value);
  if (ref) {
    ref->g = g;
    ref->i = i;
    g->left++;
    rc = flurry_client_submit(ctx->client, bt.req, on_part, ref);
    if (rc == FLURRY_OK) {
      bt.req = NULL;
      sent = 1;
    } else {
      g->left--;
      fl_free(ref);
      fl_free(bt.error);
      bt.error = fl_strdup(flurry_strerror(rc));
    }
  }
  if (!sent) {
    p->error = bt.error ? bt.error : fl_strdup("out of memory");
    bt.error = NULL;
    cli_stats_add(ctx->stats, NULL);
  }
  cli_built_clear(&bt);
}

int cli_join_take(cli_join *j, cli_unit *u) {
  size_t n = j->ctx->o->njoins;
  jgroup *g = fl_calloc(1, sizeof *g + n * sizeof g->part[0]);
  if (g == NULL)
    return FLURRY_ENOMEM;
  g->j = j;
  g->seq = u->seq;
  g->lineno = u->lineno;
  g->key = u->bt.key;
  g->id_json = u->bt.id_json;
  u->bt.id_json = NULL;
  g->start_ms = fl_now_ms();
  g->left = 1;
  for (size_t i = 0; i < n; i++)
    send_part(j, g, i, u);
  group_release(g);
  return 0;
}
