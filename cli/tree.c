/* tree.c: what an input line becomes. A line makes a request (level 0);
 * a paginated level follows its pages (pages.c: one at a time, or all at once when
 * their number is known); --items splits a page into records; each --each
 * turns a response into follow-up requests at the next level, identical
 * ones made once per run. Every record says where it came from.
 *
 * Lifetimes: a node (one request) holds its root (the line), its chain
 * (its pages) and its parent (the node whose response made it); work
 * waiting to be submitted holds its parent node or chain. The root ends,
 * and its last records go out, when its last node is released. */
#include <string.h>

#include "tree_int.h"

/* ---- keys ---- */

uint64_t tree_key(uint64_t base, const char *what, const char *text) {
  uint64_t h = fl_hash(FL_HASH_INIT ^ base, what, strlen(what) + 1);
  return fl_hash_mix(fl_hash(h, text, strlen(text)));
}

/* An item's identity: its chain and its content, so a resumed run knows it
 * wherever it moved. */
static uint64_t item_key(uint64_t chain_key, jv item) {
  jv s = jv_dump_string(jv_copy(item), JV_PRINT_SORTED);
  uint64_t k = tree_key(chain_key, "item", jv_string_value(s));
  jv_free(s);
  return k;
}

uint64_t cli_tree_done_key(const cli_tree *t, const cli_built *bt) {
  return t->ctx->o->tree ? tree_key(bt->key, "done", "") : bt->key;
}

/* ---- records ---- */

static int journal_has(cli_tree *t, uint64_t key) {
  return t->ctx->journal && cli_journal_done(t->ctx->journal, key);
}

static void out_record(cli_tree *t, troot *rt, cli_rec *rec) {
  if (journal_has(t, rec->key)) { /* written by an earlier run */
    cli_stats_count(t->ctx->stats, COUNT_RESUMED_RECORDS, 1);
    return;
  }
  fl_buf *b = cli_out_scratch(t->ctx->out);
  rec->id_json = rt->id_json;
  rec->line = rt->lineno;
  int rc = cli_record_write(b, &t->ctx->ro, rec);
  if (rc != FL_OK) { /* a failure, counted: the exit status says so */
    fl_buf_reset(b);
    rt->failed = 1;
    cli_stats_record_error(t->ctx->stats, "other");
    rc = fl_buf_printf(b,
                       "{\"id\":%s,\"line\":%llu,\"error\":{\"kind\":\"nomem\",\"message\":"
                       "\"out of memory writing the record\"}}\n",
                       rt->id_json, (unsigned long long)rt->lineno);
  }
  cli_stats_count(t->ctx->stats, COUNT_RECORDS, 1);
  if (rc == FL_OK)
    cli_out_write(t->ctx->out, rt->seq, b->data, b->len);
  else
    cli_out_lost(t->ctx->out, b->len);
}

/* "path":[{"each":".[].id","value":3},...] from level 1 down to nd. */
static int put_path(fl_buf *b, const cli_tree *t, const tnode *nd) {
  int rc = FL_OK;
  if (nd->parent && nd->parent->level >= 1) {
    rc |= put_path(b, t, nd->parent);
    rc |= fl_buf_putc(b, ',');
  }
  const char *e = t->lv[nd->level].lv->each;
  rc |= fl_buf_puts(b, "{\"each\":");
  rc |= fl_json_str(b, e, strlen(e));
  jv s = jv_dump_string(jv_copy(nd->value), 0);
  rc |= fl_buf_printf(b, ",\"value\":%s}", jv_string_value(s));
  jv_free(s);
  return rc;
}

/* The provenance members of nd's records; index < 0: not an item. */
static char *provenance(const cli_tree *t, const tnode *nd, int64_t index) {
  fl_buf b = FL_BUF_INIT(0);
  int rc = FL_OK; /* a failed append leaves a hole: no members rather than broken JSON */
  if (nd->page)
    rc |= fl_buf_printf(&b, ",\"page\":%lld", (long long)nd->page);
  if (index >= 0) /* an item: where in which response */
    rc |= fl_buf_printf(&b, ",\"index\":%lld,\"request\":\"%016llx\"", (long long)index,
                        (unsigned long long)nd->key);
  if (nd->parent)
    rc |= fl_buf_printf(&b, ",\"parent\":\"%016llx\"", (unsigned long long)nd->parent->key);
  if (nd->level >= 1) {
    rc |= fl_buf_puts(&b, ",\"path\":[");
    rc |= put_path(&b, t, nd);
    rc |= fl_buf_putc(&b, ']');
  }
  if (rc != FL_OK) {
    fl_buf_free(&b);
    return NULL;
  }
  return fl_buf_take(&b, NULL);
}

/* The record of a request (its response), with its own error if any. */
static void request_record(cli_tree *t, tnode *nd, const flurry_response *resp, uint64_t key,
                           const char *kind, const char *detail, const char *msg) {
  char *extra = t->ctx->o->tree ? provenance(t, nd, -1) : NULL;
  cli_rec rec = {.key = key,
                 .method = nd->method,
                 .url = nd->url,
                 .extra = extra,
                 .resp = resp,
                 .err_kind = kind,
                 .err_detail = detail,
                 .err_msg = msg};
  if (kind || (resp && cli_resp_failed(resp)) || resp == NULL)
    nd->rt->failed = 1;
  if (kind)
    cli_stats_record_error(t->ctx->stats, detail);
  out_record(t, nd->rt, &rec);
  fl_free(extra);
  if ((kind || resp == NULL || cli_resp_failed(resp)) && t->ctx->failed)
    t->ctx->failed(t->ctx->ud); /* last: it may cancel, completing others now */
}

/* An error of the tree itself (a jq error, a cycle) on nd's response. */
void tree_error(cli_tree *t, tnode *nd, const flurry_response *resp, const char *kind,
                const char *detail, const char *msg) {
  request_record(t, nd, resp, tree_key(nd->key, detail, msg ? msg : ""), kind, detail,
                 msg ? msg : "out of memory");
}

static void item_records(cli_tree *t, tnode *nd, const flurry_response *resp, jv items) {
  uint64_t chain_key = nd->ch ? nd->ch->first_key : nd->key;
  int n = jv_array_length(jv_copy(items));
  for (int i = 0; i < n; i++) {
    jv item = jv_array_get(jv_copy(items), i);
    char *extra = provenance(t, nd, i);
    cli_rec rec = {.key = item_key(chain_key, item),
                   .method = nd->method,
                   .url = nd->url,
                   .extra = extra,
                   .resp = resp,
                   .has_item = 1,
                   .item = item};
    out_record(t, nd->rt, &rec);
    fl_free(extra);
    jv_free(item);
  }
  cli_stats_count(t->ctx->stats, COUNT_ITEMS, (uint64_t)n);
}

/* ---- roots ---- */

static void root_end(troot *rt) {
  cli_tree *t = rt->t;
  if (rt->dropped) {
    fl_buf m = FL_BUF_INIT(0);
    fl_buf_printf(&m, "stopped: %llu follow-up requests or pages not started",
                  (unsigned long long)rt->dropped);
    cli_rec rec = {.key = tree_key(rt->key, "cancelled", ""),
                   .err_kind = "cancelled",
                   .err_detail = "",
                   .err_msg = m.data ? m.data : "stopped"};
    rt->failed = 1;
    cli_stats_record_error(t->ctx->stats, "cancelled");
    out_record(t, rt, &rec);
    fl_buf_free(&m);
  }
  if (t->ctx->o->tree && t->ctx->journal) { /* resume: this line is done */
    fl_buf b = FL_BUF_INIT(0);
    fl_buf_printf(&b, "{\"key\":\"%016llx\",\"ok\":%s,\"id\":%s,\"line\":%llu,\"done\":true}\n",
                  (unsigned long long)tree_key(rt->key, "done", ""), rt->failed ? "false" : "true",
                  rt->id_json, (unsigned long long)rt->lineno);
    if (b.data)
      cli_out_write(t->ctx->out, rt->seq, b.data, b.len);
    fl_buf_free(&b);
  }
  cli_out_end(t->ctx->out, rt->seq);
  fl_free(rt->id_json);
  fl_free(rt->line);
  fl_free(rt->origin_url);
  void *ud = t->ctx->ud;
  void (*done)(void *) = t->ctx->unit_done;
  fl_free(rt);
  done(ud);
}

void tree_root_release(troot *rt) {
  if (--rt->refs == 0)
    root_end(rt);
}


/* ---- nodes ---- */

void tree_node_release(tnode *nd) {
  if (--nd->refs > 0)
    return;
  if (nd->parent)
    tree_node_release(nd->parent);
  pages_chain_release(nd->ch);
  jv_free(nd->value);
  fl_free(nd->method);
  fl_free(nd->url);
  troot *rt = nd->rt;
  fl_free(nd);
  tree_root_release(rt);
}

tnode *tree_node_new(troot *rt, tnode *parent, tchain *ch, size_t level, jv value) {
  tnode *nd = fl_calloc(1, sizeof *nd);
  if (nd == NULL) {
    jv_free(value);
    return NULL;
  }
  nd->refs = 1;
  nd->rt = rt;
  rt->refs++;
  nd->parent = parent;
  if (parent)
    parent->refs++;
  nd->ch = ch;
  if (ch)
    ch->refs++;
  nd->level = level;
  nd->value = value;
  return nd;
}


/* ---- building and submitting ---- */

static void on_done(flurry_request *req, flurry_response *resp, void *ud);

/* The -H headers that carry credentials, for a request that may have them. */
int tree_add_secrets(cli_tree *t, flurry_request *req) {
  const cli_opts *o = t->ctx->o;
  for (size_t i = 0; i < o->nheaders; i++)
    if (o->headers[i].secret &&
        flurry_request_add_header(req, o->headers[i].name, o->headers[i].value) != FLURRY_OK)
      return FLURRY_ENOMEM;
  return 0;
}

int tree_same_origin(cli_tree *t, const char *a, const char *b) {
  return flurry_url_same_origin(t->ctx->o->base_url, a, b);
}

/* Submits nd with req (taken over either way). Failing that, nd gets an
 * error record. Takes over the caller's reference to nd. */
void tree_submit(cli_tree *t, tnode *nd, flurry_request *req) {
  if (t->stopping) {
    flurry_request_free(req);
    nd->rt->dropped++;
    cli_stats_count(t->ctx->stats, COUNT_NOT_STARTED, 1);
    tree_node_release(nd);
    return;
  }
  int rc = flurry_client_submit(t->ctx->client, req, on_done, nd);
  if (rc == FLURRY_OK)
    return;
  flurry_request_free(req);
  fl_buf m = FL_BUF_INIT(0);
  fl_buf_printf(&m, "%s: %.*s", flurry_strerror(rc), SHOWN_URL, nd->url);
  cli_stats_add(t->ctx->stats, NULL);
  request_record(t, nd, NULL, tree_key(nd->key, "submit", ""), flurry_err_name(rc), "",
                 m.data ? m.data : "out of memory");
  fl_buf_free(&m);
  tree_node_release(nd);
}

/* Takes bt's request into nd (method, URL and key copied). */
int tree_node_take(tnode *nd, cli_built *bt) {
  nd->method = bt->method;
  nd->url = bt->url;
  bt->method = bt->url = NULL;
  nd->key = bt->req_key;
  return 0;
}

/* A value's text for {}: strings as they are, the rest as JSON. */
char *tree_value_text(jv v) {
  if (jv_get_kind(v) == JV_KIND_STRING)
    return fl_strdup(jv_string_value(v));
  jv s = jv_dump_string(jv_copy(v), 0);
  char *out = fl_strdup(jv_string_value(s));
  jv_free(s);
  return out;
}

static int build_at(cli_tree *t, troot *rt, size_t level, jv value, const char *url,
                    const char *var_value, int secrets, const char *base, cli_built *bt) {
  tlevel *L = &t->lv[level];
  char start[32];
  if (var_value == NULL && L->pg.kind == PAGER_NUMBER) { /* the first page */
    snprintf(start, sizeof start, "%lld", (long long)L->pg.start);
    var_value = start;
  }
  char *text = level ? tree_value_text(value) : NULL;
  if (level && text == NULL)
    return FLURRY_ENOMEM;
  cli_src src = {.lv = L->lv,
                 .text = level ? text : rt->line,
                 .len = level ? strlen(text) : rt->len,
                 .value = level ? value : jv_invalid(),
                 .var = L->pg.kind == PAGER_CURSOR || L->pg.kind == PAGER_NUMBER ? L->pg.var : NULL,
                 .var_value = var_value,
                 .url = url,
                 .base = base,
                 .no_secrets = !secrets};
  int rc = cli_build_src(t->ctx->builder, &src, rt->lineno, bt);
  fl_free(text);
  return rc;
}

int tree_build(cli_tree *t, troot *rt, size_t level, jv value, const char *url,
               const char *var_value, int secrets, cli_built *bt) {
  return build_at(t, rt, level, value, url, var_value, secrets, NULL, bt);
}

int tree_build_from(cli_tree *t, troot *rt, size_t level, jv value, const char *base,
                    cli_built *bt) {
  return build_at(t, rt, level, value, NULL, NULL, 1, base, bt);
}


void tree_work_push(cli_tree *t, size_t level, twork *w) {
  tlevel *L = &t->lv[level];
  if (L->tail)
    L->tail->next = w;
  else
    L->head = w;
  L->tail = w;
}


/* ---- follow-ups and known pages, submitted as room allows ---- */

/* One follow-up of parent at level: dedup, build, submit. */
static void follow_up(cli_tree *t, tnode *parent, size_t level, jv value, const char *base) {
  troot *rt = parent->rt;
  tlevel *L = &t->lv[level];
  cli_built bt = {0};
  int rc = tree_build_from(t, rt, level, value, base, &bt);
  tnode *nd = rc == 0 ? tree_node_new(rt, parent, NULL, level, jv_copy(value)) : NULL;
  if (nd == NULL) {
    cli_built_clear(&bt);
    jv_free(value);
    return;
  }
  if (bt.req == NULL) {
    nd->method = bt.method;
    nd->url = bt.url;
    bt.method = bt.url = NULL;
    nd->key = tree_key(parent->key, "template", bt.error ? bt.error : "");
    tree_error(t, nd, NULL, "invalid_request", "template", bt.error);
    goto out;
  }
  tree_node_take(nd, &bt);
  int added = 1;
  int drc = t->dedup ? flurry_dedupe_add(t->dedup, nd->key, &added) : FLURRY_OK;
  if (drc == FLURRY_ETOO_LARGE && !t->dedup_warned++)
    fprintf(stderr,
            "flurry: --dedup-limit %lld reached: later follow-ups are not "
            "de-duplicated\n",
            (long long)t->ctx->o->dedup_limit);
  if (drc == FLURRY_OK && !added) {
    cli_stats_count(t->ctx->stats, COUNT_DEDUP, 1);
    goto out;
  }
  if (L->last && L->pg.kind == PAGER_NONE && !L->pg.items && journal_has(t, nd->key)) {
    cli_stats_count(t->ctx->stats, COUNT_RESUMED_RECORDS, 1);
    goto out;
  }
  int secrets = L->origin_fixed || tree_same_origin(t, nd->url, rt->origin_url);
  if (secrets && tree_add_secrets(t, bt.req) != 0)
    goto out;
  if (L->pg.kind != PAGER_NONE && pages_chain_start(nd, jv_copy(value), secrets, bt.req, 1) != 0)
    goto out;
  nd->refs++;
  tree_submit(t, nd, bt.req);
  bt.req = NULL;
out:
  cli_built_clear(&bt);
  jv_free(value);
  tree_node_release(nd);
}


static void work_free(twork *w) {
  tree_node_release(w->parent);
  jv_free(w->values);
  fl_free(w->base);
  fl_free(w);
}

int cli_tree_step(cli_tree *t) {
  for (size_t level = t->n; level-- > 0;) { /* deepest first: keeps memory bounded */
    tlevel *L = &t->lv[level];
    twork *w = L->head;
    if (w == NULL)
      continue;
    follow_up(t, w->parent, level, jv_array_get(jv_copy(w->values), w->i++), w->base);
    if (w->i >= w->n) {
      L->head = w->next;
      if (L->head == NULL)
        L->tail = NULL;
      work_free(w);
    }
    return 1;
  }
  return 0;
}

void cli_tree_stop(cli_tree *t) {
  t->stopping = 1;
  for (size_t level = 0; level < t->n; level++) {
    tlevel *L = &t->lv[level];
    while (L->head) {
      twork *w = L->head;
      L->head = w->next;
      uint64_t left = (uint64_t)(w->n - w->i);
      w->parent->rt->dropped += left;
      cli_stats_count(t->ctx->stats, COUNT_NOT_STARTED, left);
      work_free(w);
    }
    L->tail = NULL;
  }
}

/* ---- a response ---- */

/* Whether a level needs the body as a jq value. */
static int needs_body(const tlevel *L) {
  return !L->last || L->pg.items || L->pg.kind == PAGER_URL || L->pg.kind == PAGER_CURSOR ||
         L->pg.kind == PAGER_NUMBER || L->pg.stop_when || L->pg.total;
}

void tree_read_clear(tread *rd) {
  jv_free(rd->body);
  jv_free(rd->outs);
  fl_free(rd->items_err);
  fl_free(rd->err_msg);
  memset(rd, 0, sizeof *rd);
  rd->body = rd->outs = jv_null();
}

/* The body, and the outputs of the page: --items, else the body itself;
 * count: items on the page (-1: unknown, the body is not an array). An
 * error a paginator callback noted before the read stays. */
void tree_read(cli_tree *t, size_t level, const flurry_response *resp, tread *rd) {
  tlevel *L = &t->lv[level];
  if (rd->resp == resp)
    return;
  if (rd->resp) /* another page's: on_done clears it, so not expected */
    tree_read_clear(rd);
  rd->resp = resp;
  rd->body = needs_body(L) ? cli_body_jv(resp) : jv_null();
  if (L->pg.items == NULL) {
    rd->outs = jv_array_append(jv_array(), jv_copy(rd->body));
    jv_kind k = jv_get_kind(rd->body);
    rd->count = k == JV_KIND_ARRAY  ? jv_array_length(jv_copy(rd->body))
                : k == JV_KIND_NULL ? 0
                                    : -1;
    return;
  }
  if (cli_expr_run(L->pg.items, jv_copy(rd->body), &rd->outs, &rd->items_err) != 0) {
    rd->items_failed = 1;
    rd->outs = jv_null();
    rd->count = -1;
    return;
  }
  rd->count = jv_array_length(jv_copy(rd->outs));
}

/* The next level's values from outputs, queued as follow-ups. */
static void queue_follow_ups(cli_tree *t, tnode *nd, const flurry_response *resp, jv outs) {
  cli_expr *each = t->lv[nd->level + 1].each;
  jv values = jv_array();
  int n = jv_array_length(jv_copy(outs));
  for (int i = 0; i < n; i++) {
    jv got;
    char *msg;
    if (cli_expr_run(each, jv_array_get(jv_copy(outs), i), &got, &msg) != 0) {
      tree_error(t, nd, resp, "invalid_request", "jq", msg);
      fl_free(msg);
      continue;
    }
    values = jv_array_concat(values, got);
  }
  int nv = jv_array_length(jv_copy(values));
  if (t->stopping) {
    nd->rt->dropped += (uint64_t)nv;
    cli_stats_count(t->ctx->stats, COUNT_NOT_STARTED, (uint64_t)nv);
    nv = 0;
  }
  twork *w = nv > 0 ? fl_calloc(1, sizeof *w) : NULL;
  const char *base = flurry_response_effective_url(resp);
  if (w && base) {
    w->base = fl_strdup(base);
    if (w->base == NULL) {
      fl_free(w);
      w = NULL;
    }
  }
  if (w == NULL) {
    jv_free(values);
    return;
  }
  w->parent = nd;
  nd->refs++;
  w->values = values;
  w->n = nv;
  tree_work_push(t, nd->level + 1, w);
}

static void on_done(flurry_request *req, flurry_response *resp, void *ud) {
  tnode *nd = ud;
  troot *rt = nd->rt;
  cli_tree *t = rt->t;
  tlevel *L = &t->lv[nd->level];
  cli_stats_add(t->ctx->stats, resp);
  uint64_t plain_key = t->ctx->o->tree ? nd->key : rt->key;
  pages_delivered(t, nd, req); /* a failed page ends its chain (the library) */
  /* a page: its chain's callbacks may have read it already */
  tread own = {.body = jv_null(), .outs = jv_null()}, *rd = nd->ch ? &nd->ch->rd : &own;
  cli_rule_hit hit;
  if (cli_rules_check(t->ctx->rules, resp, &hit)) { /* --fail-if, --strict-json */
    if (t->ctx->o->tree)
      tree_error(t, nd, resp, hit.kind, hit.detail, hit.msg);
    else
      request_record(t, nd, resp, plain_key, hit.kind, hit.detail,
                     hit.msg ? hit.msg : "out of memory");
    fl_free(hit.msg);
    if (nd->ch)
      pages_after(t, nd, req, resp, 0);
  } else if (cli_resp_failed(resp) || !t->ctx->o->tree) {
    request_record(t, nd, resp, plain_key, NULL, NULL, NULL);
  } else {
    tree_read(t, nd->level, resp, rd);
    int ok = !rd->items_failed;
    if (!ok)
      tree_error(t, nd, resp, "invalid_request", "jq", rd->items_err);
    else if (L->last && L->pg.items)
      item_records(t, nd, resp, rd->outs);
    else if (L->last)
      request_record(t, nd, resp, nd->key, NULL, NULL, NULL);
    else
      queue_follow_ups(t, nd, resp, rd->outs);
    if (nd->ch)
      pages_after(t, nd, req, resp, ok);
  }
  tree_read_clear(rd);
  flurry_response_free(resp);
  tree_node_release(nd);
  t->ctx->kick(t->ctx->ud);
}

/* ---- an input line ---- */

/* The first page of a paginated level at level 0: built again with the
 * paginator's first value ({page} = START, {cursor} = ""), or from where an
 * earlier run left it (--resume). */
static int first_page(cli_tree *t, troot *rt, cli_built *bt, const char *url, const char *var,
                      int *secrets) {
  cli_built first = {0};
  /* a resumed chain's next link: credentials only at the line's origin */
  *secrets = url == NULL || tree_same_origin(t, url, bt->url);
  int rc = tree_build(t, rt, 0, jv_null(), url, var, *secrets, &first);
  if (rc == 0) {
    fl_free(first.id_json); /* the line's identity stays */
    first.id_json = bt->id_json;
    first.key = bt->key;
    bt->id_json = NULL;
    cli_built_clear(bt);
    *bt = first;
  } else {
    cli_built_clear(&first);
  }
  return rc;
}

/* A bad line: one error record. */
static void bad_line(cli_tree *t, troot *rt, cli_built *bt) {
  cli_rec rec = {.key = rt->key,
                 .method = bt->method,
                 .url = bt->url,
                 .err_kind = "invalid_request",
                 .err_detail = "",
                 .err_msg = bt->error ? bt->error : "invalid request"};
  cli_stats_add(t->ctx->stats, NULL);
  rt->failed = 1;
  out_record(t, rt, &rec);
}

int cli_tree_take(cli_tree *t, cli_unit *u) {
  troot *rt = fl_calloc(1, sizeof *rt);
  if (rt == NULL) { /* the unit ends now: run.c counted it live */
    cli_out_end(t->ctx->out, u->seq);
    t->ctx->unit_done(t->ctx->ud);
    return FLURRY_ENOMEM;
  }
  rt->t = t;
  rt->refs = 1;
  rt->seq = u->seq;
  rt->lineno = u->lineno;
  rt->key = u->bt.key;
  rt->id_json = u->bt.id_json;
  u->bt.id_json = NULL;
  tlevel *L = &t->lv[0];
  int rc = 0;
  if (t->ctx->o->tree && u->bt.req) { /* pages are built again from the line */
    rt->len = u->len;
    if (u->line && (rt->line = fl_strndup(u->line, u->len)) == NULL)
      rc = FLURRY_ENOMEM;
  }
  int64_t page = 1;
  int secrets = 1;
  const char *url = NULL, *var = NULL;
  if (rc == 0 && u->bt.req && L->pg.kind != PAGER_NONE && t->n == 1 && t->ctx->journal &&
      cli_journal_checkpoint(t->ctx->journal, tree_key(rt->key, "done", ""), &page, &url, &var) ==
          0)
    cli_stats_count(t->ctx->stats, COUNT_CHAINS_RESUMED, 1);
  if (rc == 0 && u->bt.req &&
      (L->pg.kind == PAGER_NUMBER || L->pg.kind == PAGER_CURSOR || page > 1))
    rc = first_page(t, rt, &u->bt, url, var, &secrets);
  tnode *nd = rc == 0 ? tree_node_new(rt, NULL, NULL, 0, jv_null()) : NULL;
  if (nd && u->bt.req == NULL) {
    bad_line(t, rt, &u->bt);
  } else if (nd) {
    tree_node_take(nd, &u->bt);
    rt->origin_url = fl_strdup(nd->url);
    rc = rt->origin_url == NULL ? FLURRY_ENOMEM : secrets ? tree_add_secrets(t, u->bt.req) : 0;
    if (rc == 0 && t->ctx->o->stream_mode)
      rc = cli_stream_attach(rt, u->bt.req);
    /* resumed at a later page: the pages before are not known */
    if (rc == 0 && L->pg.kind != PAGER_NONE)
      rc = pages_chain_start(nd, jv_null(), secrets, u->bt.req, page);
    if (rc == 0) {
      nd->refs++;
      tree_submit(t, nd, u->bt.req);
      u->bt.req = NULL;
    }
  }
  if (nd)
    tree_node_release(nd);
  tree_root_release(rt);
  return nd ? rc : FLURRY_ENOMEM;
}

/* ---- setup ---- */

static int level_init(cli_tree *t, size_t i, char *err, size_t errlen) {
  tlevel *L = &t->lv[i];
  L->lv = &t->ctx->o->levels[i];
  L->last = i + 1 == t->n;
  L->origin_fixed = L->lv->template_url && cli_template_origin_fixed(L->lv->template_url);
  if (cli_pager_init(&L->pg, L->lv, err, errlen) != 0)
    return -1;
  return i == 0 ? 0 : cli_expr_compile(&L->each, "--each", L->lv->each, err, errlen);
}

int cli_tree_new(cli_tree **out, const cli_ctx *ctx) {
  char err[2048];
  cli_tree *t = fl_calloc(1, sizeof *t);
  if (t == NULL)
    return 1;
  t->ctx = ctx;
  t->n = ctx->o->nlevels;
  t->lv = fl_calloc(t->n, sizeof *t->lv);
  int rc = t->lv ? 0 : 1;
  for (size_t i = 0; rc == 0 && i < t->n; i++)
    if (level_init(t, i, err, sizeof err) != 0) {
      fprintf(stderr, "flurry: %s\n", err);
      rc = 2;
    }
  if (rc == 0 && ctx->o->dedup_limit > 0 && t->n > 1 &&
      flurry_dedupe_new(&t->dedup, (size_t)ctx->o->dedup_limit) != 0)
    rc = 1;
  if (rc != 0) {
    cli_tree_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

void cli_tree_free(cli_tree *t) {
  if (t == NULL)
    return;
  for (size_t i = 0; t->lv && i < t->n; i++) {
    cli_pager_free(&t->lv[i].pg);
    cli_expr_free(t->lv[i].each);
  }
  fl_free(t->lv);
  flurry_dedupe_free(t->dedup);
  fl_free(t);
}
