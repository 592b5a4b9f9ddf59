/* pages.c: pagination chains. A chain's pages go one after the other
 * (the next link, the next URL or cursor from the body, the next number),
 * each checked against the pages already requested (a cycle) and
 * --max-pages; when the first page says how many there are (rel="last",
 * X-Total-Count, --total) the rest are queued at once. With --resume a
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
  flurry_dedupe_free(ch->seen);
  tree_root_release(ch->rt);
  fl_free(ch);
}

static tchain *chain_new(troot *rt, tnode *parent, size_t level, jv value) {
  tchain *ch = fl_calloc(1, sizeof *ch);
  if (ch == NULL || flurry_dedupe_new(&ch->seen, SIZE_MAX) != 0) {
    fl_free(ch);
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

/* nd is page 1 of a new chain of its level, built from value. */
int pages_chain_start(tnode *nd, jv value, int secrets) {
  tchain *ch = chain_new(nd->rt, nd->parent, nd->level, value);
  if (ch == NULL)
    return FLURRY_ENOMEM;
  ch->secrets = secrets;
  ch->first_url = fl_strdup(nd->url);
  /* items are known by their chain: at level 0 the line's identity, the
   * same when a resumed run starts the chain from a later page */
  ch->first_key = nd->level == 0 ? tree_key(nd->rt->key, "chain", "") : nd->key;
  ch->pages = 1;
  nd->ch = ch; /* the chain's first reference is the node's */
  nd->page = 1;
  return ch->first_url && flurry_dedupe_add(ch->seen, nd->key) == 0 ? 0 : FLURRY_ENOMEM;
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
  return t->ctx->journal && t->n == 1 && ch->level == 0 && !ch->fanning;
}

/* Whether a page of ch at url (NULL: from the template, as the first page)
 * gets the credentials: only at the origin of the chain's first page, and
 * only if that one had them. */
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

/* Starts page nd->page + 1 of nd's chain from a next link or variable:
 * checks the cycle and --max-pages, builds, submits. */
static void next_page(cli_tree *t, tnode *nd, const flurry_response *resp, const char *url,
                      const char *var_value) {
  tchain *ch = nd->ch;
  tlevel *L = &t->lv[ch->level];
  if (L->pg.max_pages && ch->pages >= L->pg.max_pages) {
    cli_stats_count(t->ctx->stats, COUNT_MAX_PAGES, 1);
    return;
  }
  cli_built bt = {0};
  int rc = build_page(t, ch, url, var_value, &bt);
  if (rc == 0 && bt.req == NULL) {
    tree_error(t, nd, resp, "invalid_request", "template", bt.error);
  } else if (rc == 0 && flurry_dedupe_add(ch->seen, bt.req_key) == 1) {
    fl_buf m = FL_BUF_INIT(0);
    fl_buf_printf(&m, "pagination cycle: the next page (%.*s) was already requested in this "
                  "chain; stopped after page %lld", SHOWN_URL, bt.url, (long long)nd->page);
    tree_error(t, nd, resp, "protocol", "pagination_cycle", m.data);
    fl_buf_free(&m);
  } else if (rc == 0) {
    tnode *next = tree_node_new(ch->rt, ch->parent, ch, ch->level, jv_copy(ch->value));
    if (next) {
      tree_node_take(next, &bt);
      next->page = nd->page + 1;
      ch->pages++;
      if (checkpointed(t, ch))
        checkpoint(t, ch->rt, next->page, url, url ? NULL : var_value);
      tree_submit(t, next, bt.req);
      bt.req = NULL;
    }
  }
  cli_built_clear(&bt);
}

/* The pages from fan_next to fan_last are known: they go out at once. */
static void fan_out(cli_tree *t, tchain *ch) {
  twork *w = fl_calloc(1, sizeof *w);
  if (w == NULL)
    return;
  tlevel *L = &t->lv[ch->level];
  if (L->pg.max_pages) {
    int64_t room = L->pg.max_pages - ch->pages;
    int64_t want = (ch->fan_last - ch->fan_next) / ch->fan_step + 1;
    if (want > room) {
      ch->fan_last = ch->fan_next + (room - 1) * ch->fan_step;
      cli_stats_count(t->ctx->stats, COUNT_MAX_PAGES, 1);
    }
  }
  if (ch->fan_last < ch->fan_next) {
    fl_free(w);
    return;
  }
  ch->fanning = 1;
  w->ch = ch;
  ch->refs++;
  w->values = jv_invalid();
  tree_work_push(t, ch->level, w);
}

/* A Link paginator's first page with a last link: all pages known. */
static int link_fan(cli_tree *t, tnode *nd, const flurry_response *resp, const char *next) {
  char *last = flurry__response_link(resp, "last");
  tchain *ch = nd->ch;
  int rc = -1;
  const char *cur = flurry_response_effective_url(resp);
  if (last && flurry__url_page_range(cur, next, last, &ch->pr) == 0) {
    ch->fan_url = fl_strdup(next);
    ch->fan_next = ch->pr.first;
    ch->fan_last = ch->pr.last;
    ch->fan_step = ch->pr.step;
    rc = ch->fan_url ? 0 : -1;
    if (rc == 0)
      fan_out(t, ch);
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
static void number_next(cli_tree *t, tnode *nd, const flurry_response *resp, jv body,
                        int64_t count) {
  tchain *ch = nd->ch;
  cli_pager *pg = &t->lv[ch->level].pg;
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
      ch->fan_next = pg->start + pg->step;
      ch->fan_last = pg->start + pg->step * (pages - 1);
      ch->fan_step = pg->step;
      fan_out(t, ch);
      return;
    }
  }
  char num[32];
  snprintf(num, sizeof num, "%lld", (long long)(pg->start + pg->step * nd->page));
  next_page(t, nd, resp, NULL, num);
}

/* The next step of a chain after page nd. */
void pages_next(cli_tree *t, tnode *nd, const flurry_response *resp, jv body,
                      int64_t count) {
  tchain *ch = nd->ch;
  cli_pager *pg = &t->lv[ch->level].pg;
  char *msg = NULL;
  if (nd->fanned) {
    if (count == 0)
      ch->stop = 1; /* the total was wrong: no more */
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
    number_next(t, nd, resp, body, count);
    return;
  }
  if (pg->kind == PAGER_LINK) {
    char *next = flurry__response_link(resp, "next");
    if (next && !(nd->page == 1 && !pg->stop_when && link_fan(t, nd, resp, next) == 0))
      next_page(t, nd, resp, next, NULL);
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
    next_page(t, nd, resp, NULL, text);
  } else if (k != JV_KIND_STRING) {
    fl_buf m = FL_BUF_INIT(0);
    fl_buf_printf(&m, "--paginate '%s': the next URL is not a string: %.*s",
                  cli_expr_text(pg->next), SHOWN_URL, text ? text : "");
    tree_error(t, nd, resp, "invalid_request", "jq", m.data);
    fl_buf_free(&m);
  } else {
    char *abs = flurry__url_resolve(flurry_response_effective_url(resp), text);
    if (abs)
      next_page(t, nd, resp, abs, NULL);
    else
      tree_error(t, nd, resp, "invalid_request", "pagination", "the next URL is not a URL");
    fl_free(abs);
  }
  fl_free(text);
  jv_free(v);
}

/* One known page of a chain. */
void pages_known(cli_tree *t, tchain *ch) {
  int64_t v = ch->fan_next;
  ch->fan_next += ch->fan_step;
  tlevel *L = &t->lv[ch->level];
  char num[32];
  snprintf(num, sizeof num, "%lld", (long long)v);
  /* link pages: the next link with the page parameter set; else {NAME} */
  char *url = L->pg.kind == PAGER_LINK ? flurry__url_page(ch->fan_url, &ch->pr, v) : NULL;
  cli_built bt = {0};
  int rc = L->pg.kind != PAGER_LINK ? build_page(t, ch, NULL, num, &bt)
           : url                    ? build_page(t, ch, url, NULL, &bt)
                                    : FLURRY_ENOMEM;
  fl_free(url);
  if (rc == 0 && bt.req && flurry_dedupe_add(ch->seen, bt.req_key) != 1) {
    tnode *nd = tree_node_new(ch->rt, ch->parent, ch, ch->level, jv_copy(ch->value));
    if (nd) {
      tree_node_take(nd, &bt);
      nd->fanned = 1;
      nd->page = ch->pages + 1;
      ch->pages++;
      tree_submit(t, nd, bt.req);
      bt.req = NULL;
    }
  }
  cli_built_clear(&bt);
}
