/* paginate.c: pagination chains. A request with a paginator is page 1 of a
 * chain; when a page completes, the chain works out the next one (a Link
 * rel="next", a next URL or request from a callback), checks it against
 * the pages already requested (a cycle) and the page limit, keeps the
 * credentials to page 1's origin, hands the page to the completion
 * callback, then submits the next page. When page 1 says how many pages
 * there are (rel="last", or the total callback), the rest go out at once,
 * as many in flight as the client's in-flight limit. The caller's hooks
 * (stop, build_url, checkpoint, first_page) let a client such as the
 * flurry command run its pages on these kinds: which page comes next is
 * decided here, once. */
#include <string.h>

#include "client_int.h"
#include "opt_int.h"
#include "paginate_int.h"
#include "request_int.h"
#include "url_int.h"

#define SEEN_LIMIT 1000000 /* pages remembered per chain, for cycles */
#define NEXT_URL_MAX 8192  /* a next URL from flurry_next_url_cb */

typedef struct flurry__chain {
  int refs; /* pages alive (submitted or not), +1 while one completes */
  flurry_paginator pg;
  uint64_t id;         /* page 1's request id */
  char *origin;        /* page 1's URL: credentials stay at its origin */
  flurry_dedupe *seen; /* identities of the pages requested */
  int64_t pages;       /* pages made */
  int64_t delivered;   /* pages handed to the callback */
  size_t outstanding;  /* submitted, not complete */
  flurry_done_cb cb;
  void *ud;
  /* pages known up front: known_next .. known_last by known_step */
  int known, stop, ended;
  int64_t known_next, known_last, known_step, known_page;
  flurry__page_range pr; /* Link pages: the next link with its parameter */
  char *known_url;
  flurry_request *tmpl; /* Link pages: a copy of page 1 */
  uint64_t parent_id;   /* page 1's provenance, for every page */
  char *path;
  const flurry_request *in_page; /* the page whose callback runs */
  flurry_request *handed;        /* MANUAL: the next page, from the callback */
  int64_t not_started;           /* pages handed over or built, then dropped */
  int stopped_here;              /* working out in_page's next stopped it */
  /* how it ends */
  int err;
  int detail; /* a flurry_detail */
  char *msg;
} flurry__chain;

/* ---- chain life ---- */

static void chain_release(flurry__chain *ch) {
  if (ch == NULL || --ch->refs > 0)
    return;
  if (ch->pg.on_free)
    ch->pg.on_free(ch->pg.user_data);
  flurry_dedupe_free(ch->seen);
  fl_free(ch->origin);
  fl_free(ch->known_url);
  flurry_request_free(ch->tmpl);
  fl_free(ch->msg);
  fl_free(ch->path);
  fl_free(ch);
}

void flurry__follow_free(flurry_request *req) {
  fl_free(req->path);
  chain_release(req->chain);
}

/* pg's kind has what it needs, and nothing it cannot use. */
static int paginator_valid(const flurry_paginator *pg) {
  switch (pg->kind) {
  case FLURRY_PAGINATE_LINK:
    return 1;
  case FLURRY_PAGINATE_NEXT_URL:
    return pg->next_url != NULL;
  case FLURRY_PAGINATE_CALLBACK:
    return pg->next != NULL && pg->build_url == NULL;
  case FLURRY_PAGINATE_MANUAL:
    return pg->stop == NULL && pg->build_url == NULL;
  default:
    return 0;
  }
}

FLURRY_API int flurry_request_set_paginator(flurry_request *req, const flurry_paginator *pg) {
  if (req == NULL || pg == NULL || req->state != REQ_NEW || req->chain || pg->max_pages < 0 ||
      pg->first_page < 0 || !paginator_valid(pg))
    return FLURRY_EINVALID;
  flurry__chain *ch = fl_calloc(1, sizeof *ch);
  if (ch == NULL || flurry_dedupe_new(&ch->seen, SEEN_LIMIT) != FLURRY_OK) {
    fl_free(ch);
    return FLURRY_ENOMEM;
  }
  ch->refs = 1;
  ch->pg = *pg;
  req->chain = ch;
  req->on_complete = flurry__chain_complete;
  req->page = pg->first_page > 1 ? pg->first_page : 1;
  return FLURRY_OK;
}

FLURRY_API int flurry_request_page(const flurry_request *req, flurry_page *out) {
  if (req == NULL || out == NULL || req->chain == NULL)
    return FLURRY_EINVALID;
  out->chain = req->chain->id ? req->chain->id : req->id;
  out->number = req->page;
  out->known = req->page_known;
  return FLURRY_OK;
}

FLURRY_API int flurry_request_chain_stop(flurry_request *req) {
  if (req == NULL || req->chain == NULL || req->chain->in_page != req)
    return FLURRY_EINVALID;
  flurry__chain *ch = req->chain;
  if (!ch->stop) {
    ch->stop = 1;
    ch->detail = ch->detail ? ch->detail : FLURRY_DETAIL_STOPPED;
  }
  return FLURRY_OK;
}

/* Records why the chain stops (the first reason wins). msg: copied. */
static void chain_stop(flurry__chain *ch, int err, int detail, const char *msg) {
  if (ch->stop)
    return;
  ch->stop = 1;
  ch->err = err;
  ch->detail = detail;
  fl_free(ch->msg); /* a known page's build error, noted before */
  ch->msg = fl_strdup(msg ? msg : flurry_strerror(err));
}

/* ---- making pages ---- */

/* A callback's answer as an error code: a FLURRY_E* code, or EINVALID. */
static int callback_err(int rc) { return rc <= 0 || rc >= FLURRY_ERR_COUNT ? FLURRY_EINVALID : rc; }

/* A copy of src (not submitted) for url: method, headers, body, options and
 * provenance. NULL: no memory. */
static flurry_request *page_copy(const flurry_request *src, const char *url) {
  flurry_request *r;
  if (flurry_request_new(&r, src->method, url) != FLURRY_OK)
    return NULL;
  for (struct curl_slist *h = src->headers; h; h = h->next) {
    struct curl_slist *n = curl_slist_append(r->headers, h->data);
    if (n == NULL)
      goto fail;
    r->headers = n;
  }
  if (src->has_body && flurry_request_set_body(r, src->body, src->body_len) != FLURRY_OK)
    goto fail;
  if (src->path && (r->path = fl_strdup(src->path)) == NULL)
    goto fail;
  r->has_content_type = src->has_content_type;
  r->has_idempotency_key = src->has_idempotency_key;
  memcpy(r->opt, src->opt, sizeof r->opt);
  r->opt_set = src->opt_set;
  r->parent_id = src->parent_id;
  return r;
fail:
  flurry_request_free(r);
  return NULL;
}

/* The absolute URL a request not yet submitted will fetch (fl_free), or
 * NULL. */
static char *target_of(const flurry_client *c, const flurry_request *req) {
  if (req->resolved_url)
    return fl_strdup(req->resolved_url);
  char *abs = flurry__url_resolve(c ? c->base_url : NULL, req->url);
  if (abs == NULL || req->query.len == 0)
    return abs;
  fl_buf b = FL_BUF_INIT(0);
  fl_buf_printf(&b, "%s%c%s", abs, strchr(abs, '?') ? '&' : '?', req->query.data);
  fl_free(abs);
  return b.data ? fl_buf_take(&b, NULL) : NULL;
}

FLURRY_API uint64_t flurry_request_identity(const flurry_client *c, const flurry_request *req) {
  if (req == NULL)
    return 0;
  char *url = target_of(c, req);
  const char *u = url ? url : req->url;
  uint64_t h = fl_hash(FL_HASH_INIT, req->method, strlen(req->method) + 1);
  h = fl_hash(h, u, strlen(u) + 1);
  h = fl_hash_mix(fl_hash(h, req->body ? req->body : "", req->body_len));
  fl_free(url);
  return h;
}

/* Makes r a page of ch: numbered, checked for a cycle, its credentials
 * kept to page 1's origin. 0; 1 (a known page already requested: skip
 * it); or the chain stops (FLURRY_EPROTOCOL: a cycle, or another code).
 * On failure the caller still has r. */
static int page_admit(flurry_client *c, flurry__chain *ch, flurry_request *r, int known) {
  char *url = target_of(c, r);
  int added = 0;
  int rc = flurry_dedupe_add(ch->seen, flurry_request_identity(c, r), &added);
  if (rc == FLURRY_OK && !added)
    rc = 1; /* already requested */
  if (rc == 1 && !known) {
    fl_buf m = FL_BUF_INIT(0);
    fl_buf_printf(&m,
                  "pagination cycle: the next page (%.300s) was already requested in this "
                  "chain; stopped after page %lld",
                  url ? url : r->url, (long long)ch->pages);
    chain_stop(ch, FLURRY_EPROTOCOL, FLURRY_DETAIL_PAGINATION_CYCLE, m.data);
    fl_buf_free(&m);
  } else if (rc != 0 && rc != 1) {
    chain_stop(ch, rc, FLURRY_DETAIL_SUBMIT,
               rc == FLURRY_ETOO_LARGE ? "too many pages to remember" : NULL);
  }
  if (rc != 0) { /* a known page already requested is skipped */
    fl_free(url);
    return rc == 1 && !known ? FLURRY_EPROTOCOL : rc; /* 1: a known page, skipped */
  }
  r->no_secrets = url == NULL || !flurry__url_same_origin(url, ch->origin);
  fl_free(url);
  if (r->chain != ch) {
    chain_release(r->chain);
    r->chain = ch;
    r->on_complete = flurry__chain_complete;
    ch->refs++;
  }
  r->page = ++ch->pages;
  r->page_known = known;
  if (r->parent_id == 0 && ch->parent_id) { /* a page built by a callback */
    r->parent_id = ch->parent_id;
    fl_free(r->path);
    r->path = ch->path ? fl_strdup(ch->path) : NULL;
  }
  return 0;
}

/* Frees a page never submitted; its own data goes back through drop. */
static void page_discard(flurry__chain *ch, flurry_request *r, int counted) {
  if (r && r->has_page_data && ch->pg.drop)
    ch->pg.drop(r->page_data, ch->pg.user_data);
  if (r && counted)
    ch->not_started++;
  flurry_request_free(r);
}

static void page_submit(flurry_client *c, flurry__chain *ch, flurry_request *r) {
  int rc = flurry_client_submit(c, r, ch->cb, r->has_page_data ? r->page_data : ch->ud);
  if (rc == FLURRY_OK) {
    ch->outstanding++;
    return;
  }
  chain_stop(ch, rc, FLURRY_DETAIL_SUBMIT, flurry_strerror(rc));
  page_discard(ch, r, 1);
}

static int64_t page_limit(const flurry_client *c, const flurry__chain *ch,
                          const flurry_request *req) {
  return ch->pg.max_pages ? ch->pg.max_pages : flurry__opt(req, &c->opts, FLURRY_OPT_MAX_PAGES);
}

/* Pages known up front: first..last by step, within the page limit. */
static void known_range(flurry__chain *ch, int64_t first, int64_t last, int64_t step, int64_t max) {
  if (max && ch->pages + (last - first) / step + 1 > max) {
    last = first + (max - ch->pages - 1) * step;
    ch->detail = FLURRY_DETAIL_MAX_PAGES; /* not an error: the chain ends there */
  }
  ch->known = 1;
  ch->known_next = first;
  ch->known_last = last;
  ch->known_step = step;
}

/* Known page v by the caller's callback (build_page, or build_url for a
 * Link page): NULL when it failed, noted for on_end (the other pages go
 * on). */
static flurry_request *known_by_callback(flurry__chain *ch, int64_t v, const char *url) {
  flurry_request *r = NULL;
  int rc = url ? ch->pg.build_url(url, NULL, &r, ch->pg.user_data)
               : ch->pg.build_page(v, &r, ch->pg.user_data);
  if (rc == FLURRY_OK && r)
    return r;
  page_discard(ch, r, 0);
  if (ch->err == FLURRY_OK)
    ch->err = rc != FLURRY_OK ? callback_err(rc) : FLURRY_EINVALID;
  if (ch->msg == NULL)
    ch->msg = fl_strdup(url ? "build_url gave no request" : "build_page gave no request");
  ch->detail = FLURRY_DETAIL_NEXT;
  return NULL;
}

/* Known page v: from the Link pages' URL (a copy of page 1, or built by
 * build_url) or by build_page. NULL: not made (no memory stops the
 * chain). */
static flurry_request *known_page(flurry__chain *ch, int64_t v) {
  if (ch->known_url == NULL)
    return known_by_callback(ch, v, NULL);
  char *url = flurry__url_page(ch->known_url, &ch->pr, v);
  flurry_request *r = url == NULL        ? NULL
                      : ch->pg.build_url ? known_by_callback(ch, v, url)
                                         : page_copy(ch->tmpl, url);
  if (r == NULL && (url == NULL || ch->pg.build_url == NULL))
    chain_stop(ch, FLURRY_ENOMEM, FLURRY_DETAIL_SUBMIT, NULL);
  fl_free(url);
  return r;
}

/* Submits known pages while the chain has room in the in-flight limit and
 * the client too (with many chains, pages wait here, not built in the
 * client's queue); a chain with none outstanding always sends one. */
static void known_pump(flurry_client *c, flurry__chain *ch) {
  size_t window = (size_t)c->opts.v[FLURRY_OPT_MAX_IN_FLIGHT];
  while (ch->known && !ch->stop && ch->known_next <= ch->known_last && ch->outstanding < window &&
         (ch->outstanding == 0 || flurry_client_pending(c) < window)) {
    int64_t v = ch->known_next;
    ch->known_next += ch->known_step;
    flurry_request *r = known_page(ch, v);
    if (r && page_admit(c, ch, r, 1) == 0)
      page_submit(c, ch, r);
    else
      page_discard(ch, r, 0);
  }
}

/* A Link paginator's page 1 with a last link: every page is known. */
static int link_known(flurry__chain *ch, const flurry_request *req, const flurry_response *resp,
                      const char *next, int64_t max) {
  char *last = flurry__response_link(resp, "last");
  int ok = last &&
           flurry__url_page_range(flurry_response_effective_url(resp), next, last, &ch->pr) == 0;
  fl_free(last);
  if (!ok || (ch->known_url = fl_strdup(next)) == NULL ||
      (ch->pg.build_url == NULL && (ch->tmpl = page_copy(req, req->url)) == NULL))
    return -1;
  known_range(ch, ch->pr.first, ch->pr.last, ch->pr.step, max);
  return 0;
}

/* The next page from a URL found on page `from`: the caller's build_url,
 * else a copy of this page for it. NULL: the chain stopped. */
static flurry_request *next_from_url(flurry__chain *ch, const flurry_request *req,
                                     const flurry_page *from, const char *url) {
  flurry_request *r = NULL;
  if (ch->pg.build_url) {
    int rc = ch->pg.build_url(url, from, &r, ch->pg.user_data);
    if (rc == FLURRY_OK && r)
      return r;
    page_discard(ch, r, 0);
    chain_stop(ch, rc == FLURRY_OK ? FLURRY_EINVALID : callback_err(rc), FLURRY_DETAIL_NEXT,
               rc == FLURRY_OK ? "build_url gave no request" : "the build_url callback failed");
    return NULL;
  }
  r = page_copy(req, url);
  if (r == NULL)
    chain_stop(ch, FLURRY_ENOMEM, FLURRY_DETAIL_SUBMIT, NULL);
  return r;
}

/* NEXT_URL: the callback's URL, resolved against the page's. */
static flurry_request *next_url(flurry__chain *ch, const flurry_request *req,
                                const flurry_response *resp, const flurry_page *page) {
  char *buf = fl_malloc(NEXT_URL_MAX);
  if (buf == NULL) {
    chain_stop(ch, FLURRY_ENOMEM, FLURRY_DETAIL_SUBMIT, NULL);
    return NULL;
  }
  buf[0] = '\0';
  int rc = ch->pg.next_url(resp, page, buf, NEXT_URL_MAX, ch->pg.user_data);
  buf[NEXT_URL_MAX - 1] = '\0';
  flurry_request *r = NULL;
  if (rc < 0 || rc > 1) {
    chain_stop(ch, callback_err(rc), FLURRY_DETAIL_NEXT, "the next_url callback failed");
  } else if (rc == 1) {
    char *abs = flurry__url_resolve(flurry_response_effective_url(resp), buf);
    if (abs == NULL)
      chain_stop(ch, FLURRY_EINVALID, FLURRY_DETAIL_NEXT, "the next URL is not an http(s) URL");
    else
      r = next_from_url(ch, req, page, abs);
    fl_free(abs);
  }
  fl_free(buf);
  return r;
}

/* The stop callback: 1 when page is the last one (the chain may have
 * stopped with its error). */
static int stop_here(flurry__chain *ch, const flurry_response *resp, const flurry_page *page) {
  int rc = ch->pg.stop ? ch->pg.stop(resp, page, ch->pg.user_data) : 0;
  if (rc != 0 && rc != 1)
    chain_stop(ch, callback_err(rc), FLURRY_DETAIL_NEXT, "the stop callback failed");
  return rc != 0;
}

/* The step after a sequential page: the next page (returned, not yet
 * admitted), pages known up front, or the end. Page 1 of the chain (not a
 * resumed chain's first page) may know the total. */
static flurry_request *next_page(flurry_client *c, flurry__chain *ch, const flurry_request *req,
                                 const flurry_response *resp, const flurry_page *page) {
  int64_t max = page_limit(c, ch, req), total;
  flurry_request *r = NULL;
  if (stop_here(ch, resp, page))
    return NULL;
  if (req->page == 1 && ch->pg.total && ch->pg.build_page &&
      (total = ch->pg.total(resp, ch->pg.user_data)) >= 0) {
    if (total >= 2) /* any kind: the total callback knows best */
      known_range(ch, 2, total, 1, max);
  } else if (ch->pg.kind == FLURRY_PAGINATE_LINK) {
    char *next = flurry__response_link(resp, "next");
    /* with stop, pages one by one: known pages would not be asked */
    int fan_out = req->page == 1 && ch->pg.stop == NULL;
    if (next && !(fan_out && link_known(ch, req, resp, next, max) == 0))
      r = next_from_url(ch, req, page, next);
    fl_free(next);
  } else if (ch->pg.kind == FLURRY_PAGINATE_NEXT_URL) {
    r = next_url(ch, req, resp, page);
  } else if (ch->pg.kind == FLURRY_PAGINATE_CALLBACK) {
    int rc = ch->pg.next(resp, page, &r, ch->pg.user_data);
    if (rc != FLURRY_OK) {
      page_discard(ch, r, 0);
      r = NULL;
      chain_stop(ch, callback_err(rc), FLURRY_DETAIL_NEXT, "the next callback failed");
    }
  }
  if (r && max && ch->pages >= max) {
    page_discard(ch, r, 0);
    r = NULL;
    chain_stop(ch, FLURRY_OK, FLURRY_DETAIL_MAX_PAGES, "");
  }
  return r;
}

/* After the last page's callback: on_end, once. */
static void maybe_end(flurry__chain *ch) {
  if (ch->ended || ch->outstanding > 0 ||
      (ch->known && !ch->stop && ch->known_next <= ch->known_last))
    return;
  ch->ended = 1;
  if (ch->pg.on_end == NULL)
    return;
  int64_t left = ch->known && ch->known_next <= ch->known_last
                     ? (ch->known_last - ch->known_next) / ch->known_step + 1
                     : 0;
  flurry_chain_end end = {ch->id,     ch->delivered,          ch->err,
                          ch->detail, ch->msg ? ch->msg : "", ch->not_started + left};
  ch->pg.on_end(&end, ch->pg.user_data);
}

void flurry__chain_complete(flurry_client *c, flurry_request *req, flurry_response *resp) {
  flurry__chain *ch = req->chain;
  ch->refs++;
  if (ch->id == 0) { /* its first page: the chain starts */
    ch->id = req->id;
    ch->cb = req->cb;
    ch->ud = req->user_data;
    ch->pages = req->page; /* 1, or where a resumed chain starts */
    ch->origin = fl_strdup(flurry__target_url(req));
    ch->parent_id = req->parent_id;
    if (req->path)
      ch->path = fl_strdup(req->path);
    if (ch->origin == NULL || (req->path && ch->path == NULL))
      chain_stop(ch, FLURRY_ENOMEM, FLURRY_DETAIL_SUBMIT, NULL);
    else
      flurry_dedupe_add(ch->seen, flurry_request_identity(c, req), NULL);
  } else {
    ch->outstanding--;
  }
  flurry_page page = {ch->id, req->page, req->page_known};
  flurry_request *next = NULL;
  int stopped = ch->stop;
  if (resp->err != FLURRY_OK) {
    chain_stop(ch, resp->err, FLURRY_DETAIL_PAGE_FAILED, resp->errmsg);
  } else if (!req->page_known && !ch->stop) {
    next = next_page(c, ch, req, resp, &page);
    if (next && page_admit(c, ch, next, 0) != 0) {
      page_discard(ch, next, 0);
      next = NULL;
    }
  }
  ch->stopped_here = !stopped && ch->stop; /* flurry_request_chain_stopped */
  ch->delivered++;
  ch->in_page = req;
  req->cb(req, resp, req->user_data);
  ch->in_page = NULL;
  if (next == NULL) /* MANUAL: flurry_request_chain_next in the callback */
    next = ch->handed;
  ch->handed = NULL;
  if (next && ch->stop) { /* flurry_request_chain_stop in the callback */
    page_discard(ch, next, 1);
  } else if (next) {
    if (ch->pg.checkpoint) { /* every page before next was delivered */
      flurry_page np = {ch->id, next->page, 0};
      ch->pg.checkpoint(next, &np, ch->pg.user_data);
    }
    page_submit(c, ch, next);
  }
  known_pump(c, ch);
  maybe_end(ch);
  chain_release(ch);
}

FLURRY_API int flurry_request_chain_stopped(const flurry_request *req, flurry_chain_end *out) {
  if (req == NULL || out == NULL || req->chain == NULL || req->chain->in_page != req)
    return FLURRY_EINVALID;
  const flurry__chain *ch = req->chain;
  if (!ch->stopped_here)
    return 0;
  out->chain = ch->id;
  out->pages = ch->delivered;
  out->error = ch->err;
  out->detail = ch->detail;
  out->message = ch->msg ? ch->msg : "";
  out->not_started = 0;
  return 1;
}

FLURRY_API int flurry_request_set_page_data(flurry_request *req, void *data) {
  if (req == NULL || req->state != REQ_NEW)
    return FLURRY_EINVALID;
  req->page_data = data;
  req->has_page_data = 1;
  return FLURRY_OK;
}

/* page is a MANUAL page whose callback runs, nothing handed over yet. */
static flurry__chain *manual_page(const flurry_request *page) {
  flurry__chain *ch = page ? page->chain : NULL;
  return ch && ch->in_page == page && ch->pg.kind == FLURRY_PAGINATE_MANUAL && !ch->handed ? ch
                                                                                           : NULL;
}

FLURRY_API int flurry_request_chain_next(flurry_request *page, flurry_request *next, int *queued) {
  flurry__chain *ch = manual_page(page);
  if (ch == NULL || next == NULL || next->state != REQ_NEW || next->chain)
    return FLURRY_EINVALID;
  if (queued)
    *queued = 0;
  flurry_client *c = page->client;
  int64_t max = page_limit(c, ch, page);
  int rc = ch->stop ? FLURRY_ECANCELLED : FLURRY_OK;
  int at_limit = rc == FLURRY_OK && max && ch->pages >= max;
  if (at_limit)
    chain_stop(ch, FLURRY_OK, FLURRY_DETAIL_MAX_PAGES, "");
  else if (rc == FLURRY_OK)
    rc = page_admit(c, ch, next, 0);
  if (rc != FLURRY_OK || at_limit) {
    flurry_request_free(next); /* its page data stays the caller's */
    return rc;
  }
  ch->handed = next;
  if (queued)
    *queued = 1;
  return FLURRY_OK;
}

FLURRY_API int flurry_request_chain_known(flurry_request *page, int64_t first, int64_t last,
                                          int64_t step) {
  flurry__chain *ch = manual_page(page);
  if (ch == NULL || page->page != 1 || ch->known || ch->pg.build_page == NULL || step < 1)
    return FLURRY_EINVALID;
  if (!ch->stop)
    known_range(ch, first, last, step, page_limit(page->client, ch, page));
  return FLURRY_OK;
}
