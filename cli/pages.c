/* pages.c: pagination chains on the library's paginator (a MANUAL chain,
 * flurry/paginate.h). Each page's callback reads the page once and works
 * out the next step: the next page (the next link, the next URL or cursor
 * from the body, the next number), handed to the chain, which checks it
 * against the pages already requested (a cycle) and --max-pages; or,
 * when the first page says how many there are (rel="last",
 * X-Total-Count, --total), the rest, which the chain sends at once. Every
 * page is a node of its own (the page's user data). With --resume a
 * one-level chain leaves a checkpoint after each page. */
#include <string.h>

#include "tree_int.h"

void pages_chain_release(tchain *ch) {
  if (ch == NULL || --ch->refs > 0)
    return;
  if (ch->parent)
    tree_node_release(ch->parent);
  jv_free(ch->value);
  fl_free(ch->first_url);
  fl_free(ch->fan_url);
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
  return ch;
}

/* ---- the paginator's callbacks (user data: the chain) ---- */

static int known_build(int64_t value, void *ud, flurry_request **out);

/* A page built but never sent: its node goes. */
static void page_drop(void *page_data, void *ud) {
  (void)ud;
  tree_node_release(page_data);
}

static void chain_end(const flurry_chain_end *end, void *ud) {
  tchain *ch = ud;
  const cli_ctx *ctx = ch->rt->t->ctx;
  if (strcmp(end->detail, "max_pages") == 0)
    cli_stats_count(ctx->stats, COUNT_MAX_PAGES, 1);
  if (ch->interrupted && end->not_started > 0) { /* a signal: known pages left */
    ch->rt->dropped += (uint64_t)end->not_started;
    cli_stats_count(ctx->stats, COUNT_NOT_STARTED, (uint64_t)end->not_started);
  }
}

static void chain_free(void *ud) { pages_chain_release(ud); }

/* nd is page `page` (1, or where a resumed chain starts again) of a new
 * chain of its level, built from value; req, its request, becomes the
 * chain's first page. */
int pages_chain_start(tnode *nd, jv value, int secrets, flurry_request *req, int64_t page) {
  tchain *ch = chain_new(nd->rt, nd->parent, nd->level, value);
  if (ch == NULL)
    return FLURRY_ENOMEM;
  ch->secrets = secrets;
  ch->first_url = fl_strdup(nd->url);
  /* items are known by their chain: at level 0 the line's identity, the
   * same when a resumed run starts the chain from a later page */
  ch->first_key = nd->level == 0 ? tree_key(nd->rt->key, "chain", "") : nd->key;
  ch->base = page - 1;
  nd->ch = ch; /* the chain's first reference is the node's */
  nd->page = page;
  int64_t max = nd->rt->t->lv[nd->level].pg.max_pages;
  /* a resumed chain counts the pages before it: the limit is what is left */
  flurry_paginator pg = {.kind = FLURRY_PAGINATE_MANUAL, .build_page = known_build,
                         .on_end = chain_end, .drop = page_drop, .on_free = chain_free,
                         .max_pages = max ? (max - ch->base > 1 ? max - ch->base : 1) : 0,
                         .user_data = ch};
  if (ch->first_url == NULL || flurry_request_set_paginator(req, &pg) != FLURRY_OK)
    return FLURRY_ENOMEM;
  ch->refs++; /* the paginator's, until chain_free */
  return 0;
}

/* --resume, one level: where the chain starts again if the run stops now
 * (written after the records of the pages before it). */
static void checkpoint(cli_tree *t, troot *rt, int64_t page, const char *url, const char *var) {
  fl_buf b = FL_BUF_INIT(0);
  char num[32];
  uint64_t chain = tree_key(rt->key, "done", "");
  snprintf(num, sizeof num, "%lld", (long long)page);
  fl_buf_printf(&b, "{\"key\":\"%016llx\",\"ok\":true,\"id\":%s,\"line\":%llu,"
                "\"chain\":\"%016llx\",\"next_page\":%lld,\"%s\":",
                (unsigned long long)tree_key(chain, "page", num), rt->id_json,
                (unsigned long long)rt->lineno, (unsigned long long)chain, (long long)page,
                url ? "url" : "var");
  const char *v = url ? url : var ? var : "";
  fl_json_str(&b, v, strlen(v));
  fl_buf_puts(&b, "}\n");
  if (b.data)
    cli_out_write(t->ctx->out, rt->seq, b.data, b.len);
  fl_buf_free(&b);
}

/* One level, one page at a time: a chain that can start again from a
 * checkpoint. */
static int checkpointed(const cli_tree *t, const tchain *ch) {
  return t->ctx->journal && t->n == 1 && ch->level == 0;
}

/* Whether a page of ch at url (NULL: from the template, as the first page)
 * gets the credentials: only at the origin of the chain's first page, and
 * only if that one had them. The CLI's notion of a credential header is
 * wider than the client's secret names (any name with "token", "key",
 * ... in a JSON line), so the CLI decides; the library's paginator strips
 * the client's secret headers at another origin as well. */
static int page_secrets(cli_tree *t, const tchain *ch, const char *url) {
  return ch->secrets && (url == NULL || tree_same_origin(t, url, ch->first_url));
}

/* Builds page value/url of ch: the JSON line's own credentials and the -H
 * ones only at the first page's origin. 0 or FLURRY_ENOMEM. */
static int build_page(cli_tree *t, tchain *ch, const char *url, const char *var_value,
                      cli_built *bt) {
  int secrets = page_secrets(t, ch, url);
  int rc = tree_build(t, ch->rt, ch->level, ch->value, url, var_value, secrets, bt);
  if (rc == 0 && bt->req && secrets && page_secrets(t, ch, bt->url))
    rc = tree_add_secrets(t, bt->req);
  return rc;
}

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

/* Hands page nd->page + 1 of nd's chain (from a next link or variable) to
 * the chain, which answers for this page: a cycle, --max-pages. */
static void next_page(cli_tree *t, tnode *nd, flurry_request *req, const flurry_response *resp,
                      const char *url, const char *var_value) {
  tchain *ch = nd->ch;
  cli_built bt = {0};
  int rc = build_page(t, ch, url, var_value, &bt);
  tnode *next = rc == 0 && bt.req ? page_node(ch, &bt) : NULL;
  if (rc == 0 && bt.req == NULL) {
    tree_error(t, nd, resp, "invalid_request", "template", bt.error);
  } else if (next) {
    rc = flurry_request_chain_next(req, bt.req);
    if (rc != FLURRY_EINVALID)
      bt.req = NULL; /* the chain's */
    if (rc == FLURRY_OK && checkpointed(t, ch))
      checkpoint(t, ch->rt, nd->page + 1, url, url ? NULL : var_value);
    if (rc == FLURRY_EPROTOCOL) {
      fl_buf m = FL_BUF_INIT(0);
      fl_buf_printf(&m, "pagination cycle: the next page (%.*s) was already requested in "
                    "this chain; stopped after page %lld", SHOWN_URL, next->url,
                    (long long)nd->page);
      tree_error(t, nd, resp, "protocol", "pagination_cycle", m.data);
      fl_buf_free(&m);
    }
    if (rc != FLURRY_OK)
      tree_node_release(next);
  }
  cli_built_clear(&bt);
}

/* A Link paginator's first page with a last link: all pages known. */
static int link_fan(tnode *nd, flurry_request *req, const flurry_response *resp,
                    const char *next) {
  char *last = flurry__response_link(resp, "last");
  tchain *ch = nd->ch;
  int rc = -1;
  const char *cur = flurry_response_effective_url(resp);
  if (last && flurry__url_page_range(cur, next, last, &ch->pr) == 0) {
    ch->fan_url = fl_strdup(next);
    rc = ch->fan_url ? flurry_request_chain_known(req, ch->pr.first, ch->pr.last, ch->pr.step)
                     : -1;
  }
  fl_free(last);
  return rc;
}

/* A number, from --total or X-Total-Count: -1 when unknown. */
static int64_t page_total(cli_tree *t, tnode *nd, const flurry_response *resp, jv body) {
  tlevel *L = &t->lv[nd->ch->level];
  if (L->pg.total) {
    char *msg;
    jv v;
    if (cli_expr_first(L->pg.total, jv_copy(body), &v, &msg) != 0) {
      tree_error(t, nd, resp, "invalid_request", "jq", msg);
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

/* Numbered pages: the next number, or all of them when the total is
 * known after page 1. count: items on this page (-1 unknown). */
static void number_next(cli_tree *t, tnode *nd, flurry_request *req,
                        const flurry_response *resp, jv body, int64_t count) {
  cli_pager *pg = &t->lv[nd->ch->level].pg;
  if (count == 0)
    return; /* an empty page: the end */
  if (count < 0 && !pg->stop_when && !pg->total) {
    tree_error(t, nd, resp, "invalid_request", "pagination",
               "page numbers need --items, --stop-when or --total to know where the pages "
               "end (this page is not an array)");
    return;
  }
  /* --stop-when says where the pages end: only an explicit --total
   * overrules it, not a header */
  if (nd->page == 1 && (pg->total || !pg->stop_when)) {
    int64_t total = page_total(t, nd, resp, body);
    if (total == -2)
      return;
    int64_t per = pg->step == 1 ? count : pg->step;
    if (total >= 0 && per > 0) {
      int64_t pages = (total + per - 1) / per;
      flurry_request_chain_known(req, pg->start + pg->step, pg->start + pg->step * (pages - 1),
                                 pg->step);
      return;
    }
  }
  char num[32];
  snprintf(num, sizeof num, "%lld", (long long)(pg->start + pg->step * nd->page));
  next_page(t, nd, req, resp, NULL, num);
}

/* The next step of a chain after page nd. */
void pages_next(cli_tree *t, tnode *nd, flurry_request *req, const flurry_response *resp,
                jv body, int64_t count) {
  cli_pager *pg = &t->lv[nd->ch->level].pg;
  char *msg = NULL;
  flurry_page page;
  if (flurry_request_page(req, &page) == FLURRY_OK && page.known) {
    if (count == 0)
      flurry_request_chain_stop(req); /* the total was wrong: no more */
    return;
  }
  if (pg->stop_when) {
    jv v;
    if (cli_expr_first(pg->stop_when, jv_copy(body), &v, &msg) != 0) {
      tree_error(t, nd, resp, "invalid_request", "jq", msg);
      fl_free(msg);
      return;
    }
    if (cli_truthy(v))
      return;
  }
  if (pg->kind == PAGER_NUMBER) {
    number_next(t, nd, req, resp, body, count);
    return;
  }
  if (pg->kind == PAGER_LINK) {
    char *next = flurry__response_link(resp, "next");
    if (next && !(nd->page == 1 && !pg->stop_when && link_fan(nd, req, resp, next) == 0))
      next_page(t, nd, req, resp, next, NULL);
    fl_free(next);
    return;
  }
  jv v; /* PAGER_URL, PAGER_CURSOR */
  if (cli_expr_first(pg->next, jv_copy(body), &v, &msg) != 0) {
    tree_error(t, nd, resp, "invalid_request", "jq", msg);
    fl_free(msg);
    return;
  }
  jv_kind k = jv_get_kind(v);
  if (k == JV_KIND_NULL || k == JV_KIND_FALSE ||
      (k == JV_KIND_STRING && jv_string_length_bytes(jv_copy(v)) == 0)) {
    jv_free(v);
    return;
  }
  char *text = tree_value_text(v);
  if (pg->kind == PAGER_CURSOR) {
    next_page(t, nd, req, resp, NULL, text);
  } else if (k != JV_KIND_STRING) {
    fl_buf m = FL_BUF_INIT(0);
    fl_buf_printf(&m, "--paginate '%s': the next URL is not a string: %.*s",
                  cli_expr_text(pg->next), SHOWN_URL, text ? text : "");
    tree_error(t, nd, resp, "invalid_request", "jq", m.data);
    fl_buf_free(&m);
  } else {
    char *abs = flurry__url_resolve(flurry_response_effective_url(resp), text);
    if (abs)
      next_page(t, nd, req, resp, abs, NULL);
    else
      tree_error(t, nd, resp, "invalid_request", "pagination", "the next URL is not a URL");
    fl_free(abs);
  }
  fl_free(text);
  jv_free(v);
}

/* build_page: the known page with this value ({NAME}, or the link page
 * parameter), a node of its own. */
static int known_build(int64_t value, void *ud, flurry_request **out) {
  tchain *ch = ud;
  cli_tree *t = ch->rt->t;
  tlevel *L = &t->lv[ch->level];
  char num[32];
  snprintf(num, sizeof num, "%lld", (long long)value);
  /* link pages: the next link with the page parameter set; else {NAME} */
  char *url = L->pg.kind == PAGER_LINK ? flurry__url_page(ch->fan_url, &ch->pr, value) : NULL;
  cli_built bt = {0};
  int rc = L->pg.kind != PAGER_LINK ? build_page(t, ch, NULL, num, &bt)
           : url                    ? build_page(t, ch, url, NULL, &bt)
                                    : FLURRY_ENOMEM;
  fl_free(url);
  if (rc == 0 && bt.req == NULL)
    rc = FLURRY_EINVALID;
  if (rc == 0 && page_node(ch, &bt) == NULL)
    rc = FLURRY_ENOMEM;
  if (rc == 0) {
    *out = bt.req;
    bt.req = NULL;
  }
  cli_built_clear(&bt);
  return rc;
}

void pages_delivered(cli_tree *t, tnode *nd, flurry_request *req) {
  flurry_page page;
  if (nd->ch == NULL || flurry_request_page(req, &page) != FLURRY_OK)
    return;
  nd->page = nd->ch->base + page.number;
  if (t->stopping) { /* no more pages; those known and left are counted */
    nd->ch->interrupted = 1;
    flurry_request_chain_stop(req);
  }
}
