/* join.c: --join NAME=TEMPLATE (repeatable). Every part of an input line
 * is requested at once, as one flurry_group; when the last one is back, one
 * record carries them all: "body" {NAME: body, ...} (of the parts that
 * succeeded, transformed by --reduce when all did), "parts" {NAME: {url,
 * status, attempts, elapsed_ms[, error]}}, and "error" naming the parts
 * that failed. */
#include <string.h>

#include "cli.h"

struct cli_join {
  const cli_ctx *ctx;
  cli_level *lv; /* one per part: its template, level 0's method and body */
  cli_expr *reduce;
};

typedef struct jpart {
  char *url;
  char *error; /* no request: the template failed, or the client refused */
} jpart;

typedef struct jline {
  cli_join *j;
  uint64_t seq, lineno, key;
  char *id_json;
  double start_ms;
  flurry_group *g; /* during the callback: the parts' responses */
  jpart part[];
} jline;

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

/* Part i's response (borrowed), or NULL when it was not sent. */
static const flurry_response *part_resp(const jline *l, size_t i) {
  int at = l->g ? flurry_group_find(l->g, l->j->ctx->o->joins[i].name) : -1;
  return at < 0 ? NULL : flurry_group_response(l->g, (size_t)at);
}

/* "parts":{NAME:{...},...}; *failed: the parts that failed, for the error
 * message; *kind: the first failed part's error kind. */
static void put_parts(jline *l, fl_buf *b, fl_buf *failed, const char **kind) {
  const cli_opts *o = l->j->ctx->o;
  fl_buf_puts(b, ",\"parts\":{");
  for (size_t i = 0; i < o->njoins; i++) {
    jpart *p = &l->part[i];
    const flurry_response *resp = part_resp(l, i);
    const char *name = o->joins[i].name;
    fl_buf_printf(b, "%s", i ? "," : "");
    fl_json_str(b, name, strlen(name));
    fl_buf_puts(b, ":{\"url\":");
    fl_json_str(b, p->url ? p->url : "", p->url ? strlen(p->url) : 0);
    const char *why = p->error;
    if (resp) {
      flurry_timings t;
      flurry_response_timings(resp, &t);
      if (flurry_response_status(resp))
        fl_buf_printf(b, ",\"status\":%d", flurry_response_status(resp));
      fl_buf_printf(b, ",\"attempts\":%d,\"elapsed_ms\":%.3f", flurry_response_attempts(resp),
                    t.elapsed_ms);
      if (cli_resp_failed(resp))
        why = flurry_response_error_message(resp);
    }
    if (why) {
      const char *k = resp ? flurry_err_name(flurry_response_error(resp)) : "invalid_request";
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
static jv merged(jline *l) {
  const cli_opts *o = l->j->ctx->o;
  jv body = jv_object();
  for (size_t i = 0; i < o->njoins; i++) {
    const flurry_response *resp = part_resp(l, i);
    if (resp && !cli_resp_failed(resp))
      body = jv_object_set(body, jv_string(o->joins[i].name), cli_body_jv(resp));
  }
  return body;
}

/* Every part is back (or none could go): the record. */
static void line_end(jline *g) {
  cli_join *j = g->j;
  const cli_ctx *ctx = j->ctx;
  fl_buf extra = FL_BUF_INIT(0), failed = FL_BUF_INIT(0), out = FL_BUF_INIT(0);
  const char *kind = NULL;
  fl_buf_printf(&extra, ",\"elapsed_ms\":%.3f", fl_now_ms() - g->start_ms);
  put_parts(g, &extra, &failed, &kind);
  jv body = merged(g);
  cli_rec rec = {.key = g->key,
                 .id_json = g->id_json,
                 .line = g->lineno,
                 .extra = extra.data,
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
    fl_free(g->part[i].url);
    fl_free(g->part[i].error);
  }
  fl_free(g->id_json);
  fl_free(g);
  int fail = rec.err_kind != NULL;
  ctx->unit_done(ctx->ud);
  if (fail && ctx->failed)
    ctx->failed(ctx->ud); /* last: it may cancel, completing others now */
}

static void on_group(flurry_group *group, void *ud) {
  jline *l = ud;
  const cli_ctx *ctx = l->j->ctx;
  for (size_t i = 0; i < flurry_group_count(group); i++)
    cli_stats_add(ctx->stats, flurry_group_response(group, i));
  l->g = group;
  line_end(l); /* the group and its responses go when this returns */
  ctx->kick(ctx->ud);
}

/* Builds part i into the group (or its error into the line). */
static void add_part(cli_join *j, jline *l, flurry_group *group, size_t i, const cli_unit *u) {
  const cli_ctx *ctx = j->ctx;
  cli_built bt;
  jpart *p = &l->part[i];
  int rc = cli_build_part(ctx->builder, &j->lv[i], u->line ? u->line : "", u->len, u->lineno, &bt);
  p->url = bt.url;
  bt.url = NULL;
  for (size_t h = 0; rc == 0 && bt.req && h < ctx->o->nheaders; h++)
    if (ctx->o->headers[h].secret &&
        flurry_request_add_header(bt.req, ctx->o->headers[h].name, ctx->o->headers[h].value) != 0)
      rc = FLURRY_ENOMEM;
  if (rc == 0 && bt.req && group &&
      (rc = flurry_group_add(group, ctx->o->joins[i].name, bt.req)) == FLURRY_OK) {
    bt.req = NULL; /* the group's now */
  } else {
    p->error = bt.error ? bt.error : fl_strdup(flurry_strerror(rc ? rc : FLURRY_ENOMEM));
    bt.error = NULL;
    cli_stats_add(ctx->stats, NULL);
  }
  cli_built_clear(&bt);
}

int cli_join_take(cli_join *j, cli_unit *u) {
  size_t n = j->ctx->o->njoins;
  jline *l = fl_calloc(1, sizeof *l + n * sizeof l->part[0]);
  flurry_group *group = NULL;
  if (l == NULL) { /* the unit ends now: run.c counted it live */
    cli_out_end(j->ctx->out, u->seq);
    j->ctx->unit_done(j->ctx->ud);
    return FLURRY_ENOMEM;
  }
  l->j = j;
  l->seq = u->seq;
  l->lineno = u->lineno;
  l->key = u->bt.key;
  l->id_json = u->bt.id_json;
  u->bt.id_json = NULL;
  l->start_ms = fl_now_ms();
  flurry_group_new(&group, j->ctx->client); /* NULL: each part says no memory */
  for (size_t i = 0; i < n; i++)
    add_part(j, l, group, i, u);
  int rc = flurry_group_count(group) ? flurry_group_submit(group, on_group, l) : FLURRY_EINVALID;
  if (rc != FLURRY_OK) { /* nothing went: the record now */
    for (size_t i = 0; i < n; i++)
      if (l->part[i].error == NULL && (l->part[i].error = fl_strdup(flurry_strerror(rc))) != NULL)
        cli_stats_add(j->ctx->stats, NULL);
    flurry_group_free(group);
    line_end(l);
  }
  return 0;
}
