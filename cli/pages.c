/* pages.c: pagination chains on the library's paginators
 * (flurry/paginate.h): --paginate link is FLURRY_PAGINATE_LINK, EXPR
 * NEXT_URL, NAME=EXPR and NAME=START.. CALLBACK. The library finds the
 * next page (the Link header, resolving the next URL), sends the pages
 * known up front (rel="last"; for page numbers the total from
 * X-Total-Count or --total) and answers for cycles and --max-pages; here
 * each page is built from the template, with a node of its own (its page
 * data), the page is read once (the callbacks run before the page's
 * completion callback, which reuses what they read), --stop-when is the
 * stop callback, and with --resume a one-level chain leaves a checkpoint
 * before each next page goes out. */
#include <string.h>

#include "tree_int.h"

void pages_chain_release(tchain *ch) {
  if (ch == NULL || --ch->refs > 0)
    return;
  if (ch->parent)
    tree_node_release(ch->parent);
  jv_free(ch->value);
  fl_free(ch->ck_var);
  tree_read_clear(&ch->rd);
  tree_root_release(ch->rt);
  fl_free(ch);
}

static tchain *chain_new(troot *rt, tnode *parent, size_t level, jv value) {
  tchain *ch = fl_calloc(1, sizeof *ch);
  if (ch == NULL) {
    jv_free(value);
    return NULL;
  }
  ch->refs = 1;
  ch->rt = rt;
  rt->refs++;
  ch->parent = parent;
  if (parent)
    parent->refs++;
  ch->level = level;
  ch->value = value;
  ch->rd.body = ch->rd.outs = jv_null();
  return ch;
}

static cli_pager *pager_of(const tchain *ch) { return &ch->rt->t->lv[ch->level].pg; }

/* An error record for the page being read, written after its records. */
static void read_error(tchain *ch, const char *kind, const char *detail, const char *msg) {
  tread *rd = &ch->rd;
  if (rd->has_err)
    return;
  rd->has_err = 1;
  rd->err_kind = kind;
  rd->err_detail = detail;
  rd->err_msg = msg ? fl_strdup(msg) : NULL; /* NULL: "out of memory" */
}

/* The page the library asks about, read once; NULL when its chain makes
 * no more pages (a signal, or --items failed on it: no record beyond the
 * items error). */
static tread *read_page(tchain *ch, const flurry_response *resp) {
  cli_tree *t = ch->rt->t;
  if (t->stopping)
    return NULL;
  tree_read(t, ch->level, resp, &ch->rd);
  return ch->rd.items_failed ? NULL : &ch->rd;
}

/* ---- building pages ---- */

/* A node for page bt of ch, made the request's page data (NULL: no
 * memory). */
static tnode *page_node(tchain *ch, cli_built *bt) {
  tnode *nd = tree_node_new(ch->rt, ch->parent, ch, ch->level, jv_copy(ch->value));
  if (nd == NULL)
    return NULL;
  tree_node_take(nd, bt);
  flurry_request_set_page_data(bt->req, nd);
  return nd;
}

/* Builds the page with a next link or known page's URL, or the
 * paginator's variable, into *out, with its node. The credentials go on
 * every page when the first had them: the library sends none to another
 * origin (flurry_header_is_secret, the same rule). from: the page it
 * comes from (its bad template is its error record), NULL for a page
 * known up front. 0, FLURRY_EINVALID or FLURRY_ENOMEM. */
static int make_page(tchain *ch, const char *url, const char *var, const flurry_page *from,
                     flurry_request **out) {
  cli_tree *t = ch->rt->t;
  cli_built bt = {0};
  int rc = tree_build(t, ch->rt, ch->level, ch->value, url, var, ch->secrets, &bt);
  if (rc == 0 && bt.req && ch->secrets)
    rc = tree_add_secrets(t, bt.req);
  if (rc == 0 && bt.req == NULL) {
    if (from)
      read_error(ch, "invalid_request", "template", bt.error);
    rc = FLURRY_EINVALID;
  }
  if (rc == 0 && page_node(ch, &bt) == NULL)
    rc = FLURRY_ENOMEM;
  if (rc == 0) {
    *out = bt.req;
    bt.req = NULL;
  }
  cli_built_clear(&bt);
  return rc;
}

/* LINK and NEXT_URL: the page at url (resolved by the library). */
static int build_url(const char *url, const flurry_page *from, flurry_request **out, void *ud) {
  tchain *ch = ud;
  if (from && ch->rt->t->stopping)
    return FLURRY_ECANCELLED; /* a signal: no next page */
  return make_page(ch, url, NULL, from, out);
}

/* CALLBACK: the page whose variable is var; kept for its checkpoint. */
static int var_page(tchain *ch, const char *var, const flurry_page *from, flurry_request **out) {
  int rc = make_page(ch, NULL, var, from, out);
  if (rc == 0 && from) {
    fl_free(ch->ck_var);
    ch->ck_var = fl_strdup(var);
  }
  return rc;
}

/* Page numbers known up front: page `number` has START + STEP * (number - 1). */
static int build_number(int64_t number, flurry_request **out, void *ud) {
  tchain *ch = ud;
  const cli_pager *pg = pager_of(ch);
  char num[32];
  snprintf(num, sizeof num, "%lld", (long long)(pg->start + pg->step * (number - 1)));
  return var_page(ch, num, NULL, out);
}

/* ---- what comes after a page ---- */

/* --stop-when: 1 on the last page. */
static int stop_when(const flurry_response *resp, const flurry_page *page, void *ud) {
  tchain *ch = ud;
  (void)page;
  tread *rd = read_page(ch, resp);
  if (rd == NULL)
    return 1;
  jv v;
  char *msg;
  if (cli_expr_first(pager_of(ch)->stop_when, jv_copy(rd->body), &v, &msg) != 0) {
    read_error(ch, "invalid_request", "jq", msg);
    fl_free(msg);
    return FLURRY_EINVALID;
  }
  return cli_truthy(v);
}

/* The --paginate expression's first output on the page: 0 and *v, 1 (null,
 * false or "": the end), or FLURRY_EINVALID (its error recorded). */
static int next_value(tchain *ch, const tread *rd, jv *v) {
  char *msg;
  if (cli_expr_first(pager_of(ch)->next, jv_copy(rd->body), v, &msg) != 0) {
    read_error(ch, "invalid_request", "jq", msg);
    fl_free(msg);
    return FLURRY_EINVALID;
  }
  jv_kind k = jv_get_kind(*v);
  if (k == JV_KIND_NULL || k == JV_KIND_FALSE ||
      (k == JV_KIND_STRING && jv_string_length_bytes(jv_copy(*v)) == 0)) {
    jv_free(*v);
    return 1;
  }
  return 0;
}

/* NEXT_URL: --paginate EXPR's URL (the library resolves it). */
static int next_url(const flurry_response *resp, const flurry_page *page, char *url, size_t len,
                    void *ud) {
  tchain *ch = ud;
  (void)page;
  tread *rd = read_page(ch, resp);
  jv v;
  int rc = rd ? next_value(ch, rd, &v) : 1;
  if (rc != 0)
    return rc == 1 ? 0 : rc;
  const char *s = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;
  if (s && strlen(s) < len) {
    memcpy(url, s, strlen(s) + 1);
    rc = 1;
  } else {
    char *text = tree_value_text(v);
    fl_buf m = FL_BUF_INIT(0);
    if (s)
      fl_buf_printf(&m, "the next URL is longer than %zu bytes", len - 1);
    else
      fl_buf_printf(&m, "--paginate '%s': the next URL is not a string: %.*s",
                    cli_expr_text(pager_of(ch)->next), SHOWN_URL, text ? text : "");
    read_error(ch, "invalid_request", s ? "pagination" : "jq", m.data);
    fl_buf_free(&m);
    fl_free(text);
    rc = FLURRY_EINVALID;
  }
  jv_free(v);
  return rc;
}

/* Page numbers need a way to know where they end. 0, or FLURRY_EINVALID
 * (recorded). */
static int numbers_end_known(tchain *ch, const tread *rd) {
  const cli_pager *pg = pager_of(ch);
  if (rd->count >= 0 || pg->stop_when || pg->total)
    return 0;
  read_error(ch, "invalid_request", "pagination",
             "page numbers need --items, --stop-when or --total to know where the pages "
             "end (this page is not an array)");
  return FLURRY_EINVALID;
}

/* CALLBACK: the next cursor, or the next page number (an empty page is
 * the last). */
static int next_var(const flurry_response *resp, const flurry_page *page, flurry_request **out,
                    void *ud) {
  tchain *ch = ud;
  const cli_pager *pg = pager_of(ch);
  tread *rd = read_page(ch, resp);
  if (rd == NULL)
    return 0;
  if (pg->kind == PAGER_NUMBER) {
    if (rd->count == 0)
      return 0;
    int rc = numbers_end_known(ch, rd);
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)(pg->start + pg->step * page->number));
    return rc ? rc : var_page(ch, num, page, out);
  }
  jv v;
  int rc = next_value(ch, rd, &v);
  if (rc != 0)
    return rc == 1 ? 0 : rc;
  char *text = tree_value_text(v);
  jv_free(v);
  rc = text ? var_page(ch, text, page, out) : FLURRY_ENOMEM;
  fl_free(text);
  return rc;
}

/* X-Total-Count, or --total on the body: -1 when unknown, -2 after an
 * error (recorded). */
static int64_t item_total(tchain *ch, const flurry_response *resp, const tread *rd) {
  const cli_pager *pg = pager_of(ch);
  if (pg->total) {
    char *msg;
    jv v;
    if (cli_expr_first(pg->total, jv_copy(rd->body), &v, &msg) != 0) {
      read_error(ch, "invalid_request", "jq", msg);
      fl_free(msg);
      return -2;
    }
    double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1;
    jv_free(v);
    return d >= 0 && d < 1e15 ? (int64_t)d : -1;
  }
  const char *h = flurry_response_header(resp, "X-Total-Count");
  int64_t n;
  return h && fl_parse_i64(h, strlen(h), 0, INT64_MAX / 4, &n) == 0 ? n : -1;
}

/* Page numbers, page 1: the pages in all from the item total (0: the
 * end), or -1 (one after the other). --stop-when says where the pages
 * end: only an explicit --total overrules it, not a header. */
static int64_t page_total(const flurry_response *first, void *ud) {
  tchain *ch = ud;
  const cli_pager *pg = pager_of(ch);
  tread *rd = read_page(ch, first);
  if (rd == NULL || rd->count == 0 || numbers_end_known(ch, rd) != 0)
    return 0;
  if (!pg->total && pg->stop_when)
    return -1;
  int64_t total = item_total(ch, first, rd);
  int64_t per = pg->step == 1 ? rd->count : pg->step;
  if (total == -2)
    return 0;
  return total >= 0 && per > 0 ? (total + per - 1) / per : -1;
}

/* ---- the chain ---- */

/* A page built but never sent: its node goes. */
static void page_drop(void *page_data, void *ud) {
  (void)ud;
  tree_node_release(page_data);
}

static void chain_end(const flurry_chain_end *end, void *ud) {
  tchain *ch = ud;
  const cli_ctx *ctx = ch->rt->t->ctx;
  if (end->detail == FLURRY_DETAIL_MAX_PAGES)
    cli_stats_count(ctx->stats, COUNT_MAX_PAGES, 1);
  if (ch->interrupted && end->not_started > 0) { /* a signal: known pages left */
    ch->rt->dropped += (uint64_t)end->not_started;
    cli_stats_count(ctx->stats, COUNT_NOT_STARTED, (uint64_t)end->not_started);
  }
}

static void chain_free(void *ud) { pages_chain_release(ud); }

/* --resume, one level: where the chain starts again if the run stops now
 * (written after the records of the pages before it). */
static void checkpoint(const flurry_request *next, const flurry_page *page, void *ud) {
  tchain *ch = ud;
  troot *rt = ch->rt;
  const char *url = pager_of(ch)->kind == PAGER_LINK || pager_of(ch)->kind == PAGER_URL
                        ? flurry_request_url(next)
                        : NULL;
  fl_buf b = FL_BUF_INIT(0);
  char num[32];
  uint64_t chain = tree_key(rt->key, "done", "");
  snprintf(num, sizeof num, "%lld", (long long)page->number);
  fl_buf_printf(&b,
                "{\"key\":\"%016llx\",\"ok\":true,\"id\":%s,\"line\":%llu,"
                "\"chain\":\"%016llx\",\"next_page\":%lld,\"%s\":",
                (unsigned long long)tree_key(chain, "page", num), rt->id_json,
                (unsigned long long)rt->lineno, (unsigned long long)chain, (long long)page->number,
                url ? "url" : "var");
  const char *v = url ? url : ch->ck_var ? ch->ck_var : "";
  fl_json_str(&b, v, strlen(v));
  fl_buf_puts(&b, "}\n");
  if (b.data)
    cli_out_write(rt->t->ctx->out, rt->seq, b.data, b.len);
  fl_buf_free(&b);
}

/* The library's paginator for a level's pager. */
static flurry_paginator paginator(const cli_tree *t, tchain *ch, int64_t page) {
  const cli_pager *p = pager_of(ch);
  flurry_paginator pg = {.on_end = chain_end,
                         .drop = page_drop,
                         .on_free = chain_free,
                         .max_pages = p->max_pages,
                         .user_data = ch,
                         .first_page = page,
                         .stop = p->stop_when ? stop_when : NULL};
  /* one level, one page at a time: a chain that can start again */
  if (t->ctx->journal && t->n == 1 && ch->level == 0)
    pg.checkpoint = checkpoint;
  switch (p->kind) {
  case PAGER_LINK:
    pg.kind = FLURRY_PAGINATE_LINK;
    pg.build_url = build_url;
    break;
  case PAGER_URL:
    pg.kind = FLURRY_PAGINATE_NEXT_URL;
    pg.next_url = next_url;
    pg.build_url = build_url;
    break;
  case PAGER_NUMBER:
    pg.total = page_total;
    pg.build_page = build_number;
    /* fall through */
  default: /* PAGER_CURSOR */
    pg.kind = FLURRY_PAGINATE_CALLBACK;
    pg.next = next_var;
    break;
  }
  return pg;
}

/* nd is page `page` (1, or where a resumed chain starts again) of a new
 * chain of its level, built from value; req, its request, becomes the
 * chain's first page. */
int pages_chain_start(tnode *nd, jv value, int secrets, flurry_request *req, int64_t page) {
  tchain *ch = chain_new(nd->rt, nd->parent, nd->level, value);
  if (ch == NULL)
    return FLURRY_ENOMEM;
  ch->secrets = secrets;
  /* items are known by their chain: at level 0 the line's identity, the
   * same when a resumed run starts the chain from a later page */
  ch->first_key = nd->level == 0 ? tree_key(nd->rt->key, "chain", "") : nd->key;
  nd->ch = ch; /* the chain's first reference is the node's */
  nd->page = page;
  flurry_paginator pg = paginator(nd->rt->t, ch, page);
  if (flurry_request_set_paginator(req, &pg) != FLURRY_OK)
    return FLURRY_ENOMEM;
  ch->refs++; /* the paginator's, until chain_free */
  return 0;
}

void pages_delivered(cli_tree *t, tnode *nd, flurry_request *req) {
  flurry_page page;
  if (nd->ch == NULL || flurry_request_page(req, &page) != FLURRY_OK)
    return;
  nd->page = page.number;
  if (t->stopping) { /* no more pages; those known and left are counted */
    nd->ch->interrupted = 1;
    flurry_request_chain_stop(req);
  }
}

void pages_after(cli_tree *t, tnode *nd, flurry_request *req, const flurry_response *resp, int ok) {
  tread *rd = &nd->ch->rd;
  flurry_page page;
  flurry_chain_end end;
  int known = flurry_request_page(req, &page) == FLURRY_OK && page.known;
  if (known || t->stopping) {
    if (known && ok && rd->count == 0)
      flurry_request_chain_stop(req); /* the total was wrong: no more */
    return;
  }
  if (!ok) { /* --items failed: the page's next one is not sent */
    flurry_request_chain_stop(req);
    return;
  }
  if (rd->has_err) {
    tree_error(t, nd, resp, rd->err_kind, rd->err_detail, rd->err_msg);
  } else if (flurry_request_chain_stopped(req, &end) == 1) {
    /* the library's own reasons; ours are in rd */
    if (end.detail == FLURRY_DETAIL_PAGINATION_CYCLE)
      tree_error(t, nd, resp, flurry_err_name(end.error), flurry_detail_name(end.detail),
                 end.message);
    else if (end.detail == FLURRY_DETAIL_NEXT && end.error != FLURRY_ENOMEM)
      tree_error(t, nd, resp, flurry_err_name(end.error), "pagination",
                 pager_of(nd->ch)->kind == PAGER_URL ? "the next URL is not a URL" : end.message);
  }
}
