/* test_paginate.c: the library's paginators, follow-ups and groups
 * (src/paginate.c, src/follow.c, src/group.c) against the real mock's
 * endpoints, served in-process on the test's own loop (two instances: two
 * origins). Callbacks are counted through user data and asserted after the
 * loop; every test ends with uv_loop_close() == 0. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mock_int.h"
#include "mock_inproc.h"

#define MAX_ID 1000

typedef struct fixture {
  uv_loop_t loop;
  mock_server mock;
  httpd_server *h[2];
  unsigned port[2];
  int closed;
  flurry_client *client;
} fixture;

/* What a chain saw. */
typedef struct chain_log {
  fixture *f;
  int pages, known, failed, ends;
  int end_err;
  int64_t end_pages;
  char end_detail[64];
  char end_msg[512];
  unsigned char seen[MAX_ID + 1]; /* items by id: how many times */
  int items, dup_items;
  int64_t numbers_sum; /* page numbers delivered */
  uint64_t chain;
  int same_chain;      /* every page named the same chain */
  char bodies[4][512]; /* the first pages' bodies */
  int64_t max_pages;
  int next_calls;
  int last_attempts;
  int stop_calls;
  int64_t stopped_at; /* flurry_request_chain_stopped said 1 at this page */
  int stopped_err, stopped_calls;
  char stopped_detail[64], stopped_msg[512];
} chain_log;

static void server_closed(void *arg) { ((fixture *)arg)->closed++; }

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  mock_inproc_start(&f->loop, &f->mock, f->h, f->port, 2);
  assert_int_equal(flurry_client_new(&f->client, &f->loop), FLURRY_OK);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  flurry_client_free(f->client); /* NULL: a test freed it */
  mock_inproc_stop(&f->loop, &f->mock, f->h, 2, server_closed, f, &f->closed);
  free(f);
  return 0;
}

static void url_on(const fixture *f, int server, const char *path, char *out, size_t n) {
  snprintf(out, n, "http://127.0.0.1:%u%s", f->port[server], path);
}

/* Counts every "id":N of a body in log->seen. */
static void count_items(chain_log *log, const char *body) {
  for (const char *p = body; (p = strstr(p, "\"id\":")) != NULL;) {
    char *end;
    long id = strtol(p + 5, &end, 10);
    p = end;
    if (id < 1 || id > MAX_ID)
      continue;
    log->items++;
    if (log->seen[id]++)
      log->dup_items++;
  }
}

static void on_page(flurry_request *req, flurry_response *resp, void *ud) {
  chain_log *log = ud;
  flurry_page pg;
  assert_int_equal(flurry_request_page(req, &pg), FLURRY_OK);
  if (log->pages == 0) {
    log->chain = pg.chain;
    log->same_chain = 1;
  }
  log->same_chain &= pg.chain == log->chain;
  if (log->pages < 4)
    snprintf(log->bodies[pg.number <= 4 ? pg.number - 1 : 0], sizeof log->bodies[0], "%s",
             flurry_response_body(resp, NULL));
  log->pages++;
  log->known += pg.known;
  log->numbers_sum += pg.number;
  log->last_attempts = flurry_response_attempts(resp);
  if (flurry_response_error(resp) != FLURRY_OK)
    log->failed++;
  else
    count_items(log, flurry_response_body(resp, NULL));
  flurry_response_free(resp);
}

static void on_end(const flurry_chain_end *end, void *ud) {
  chain_log *log = ud;
  log->ends++;
  log->end_err = end->error;
  log->end_pages = end->pages;
  snprintf(log->end_detail, sizeof log->end_detail, "%s", flurry_detail_name(end->detail));
  snprintf(log->end_msg, sizeof log->end_msg, "%s", end->message);
  assert_int_equal(end->chain, log->chain);
}

/* Page 1 of a chain from url with pg (callbacks' user data: log). */
static flurry_request *page_one(fixture *f, const char *url, flurry_paginator *pg, chain_log *log) {
  flurry_request *req;
  log->f = f;
  pg->on_end = on_end;
  pg->user_data = log;
  assert_int_equal(flurry_request_new(&req, "GET", url), FLURRY_OK);
  assert_int_equal(flurry_request_set_paginator(req, pg), FLURRY_OK);
  return req;
}

/* Submits a chain from url with pg (user data: log) and runs it. */
static void run_chain(fixture *f, const char *url, flurry_paginator *pg, chain_log *log) {
  flurry_request *req = page_one(f, url, pg, log);
  assert_int_equal(flurry_client_submit(f->client, req, on_page, log), FLURRY_OK);
  assert_int_equal(flurry_client_run(f->client), FLURRY_OK);
  assert_int_equal(log->ends, 1);
  assert_true(log->same_chain);
}

static void assert_all_items_once(const chain_log *log, int total) {
  assert_int_equal(log->dup_items, 0);
  assert_int_equal(log->items, total);
  for (int id = 1; id <= total; id++)
    assert_int_equal(log->seen[id], 1);
}

/* ---- Link ---- */

static void test_paginate_link_every_item_once_known_pages_concurrent(void **state) {
  fixture *f = *state;
  char url[256];
  chain_log *log = calloc(1, sizeof *log);
  flurry_paginator pg = {.kind = FLURRY_PAGINATE_LINK};
  url_on(f, 0, "/items?per_page=50&total=1000", url, sizeof url);
  run_chain(f, url, &pg, log);
  assert_int_equal(log->pages, 20);
  assert_int_equal(log->known, 19); /* rel="last": pages 2..20 at once */
  assert_int_equal(log->numbers_sum, 20 * 21 / 2);
  assert_int_equal(log->end_err, FLURRY_OK);
  assert_string_equal(log->end_detail, "");
  assert_int_equal(log->end_pages, 20);
  assert_all_items_once(log, 1000);
  free(log);
}

/* A Link chain without rel="last" (the loop) goes page by page and stops
 * at the cycle with a typed error. */
static void test_paginate_cycle_is_a_protocol_error(void **state) {
  fixture *f = *state;
  char url[256];
  chain_log *log = calloc(1, sizeof *log);
  flurry_paginator pg = {.kind = FLURRY_PAGINATE_LINK};
  url_on(f, 0, "/items/loop?page=1", url, sizeof url);
  run_chain(f, url, &pg, log);
  assert_int_equal(log->pages, 3);
  assert_int_equal(log->known, 0);
  assert_int_equal(log->end_err, FLURRY_EPROTOCOL);
  assert_string_equal(log->end_detail, "pagination_cycle");
  assert_non_null(strstr(log->end_msg, "/items/loop?page=1"));
  assert_int_equal(log->items, 30);
  free(log);
}

static void test_paginate_max_pages(void **state) {
  fixture *f = *state;
  char url[256];
  chain_log *log = calloc(1, sizeof *log);
  flurry_paginator pg = {.kind = FLURRY_PAGINATE_LINK, .max_pages = 2};
  url_on(f, 0, "/items/loop?page=1", url, sizeof url);
  run_chain(f, url, &pg, log);
  assert_int_equal(log->pages, 2);
  assert_int_equal(log->end_err, FLURRY_OK);
  assert_string_equal(log->end_detail, "max_pages");
  free(log);
  /* the option, on the client, also cuts pages known up front */
  log = calloc(1, sizeof *log);
  flurry_paginator known = {.kind = FLURRY_PAGINATE_LINK};
  assert_int_equal(flurry_client_set(f->client, FLURRY_OPT_MAX_PAGES, 5), FLURRY_OK);
  url_on(f, 0, "/items?per_page=10&total=1000", url, sizeof url);
  run_chain(f, url, &known, log);
  assert_int_equal(log->pages, 5);
  assert_int_equal(log->items, 50);
  assert_string_equal(log->end_detail, "max_pages");
  free(log);
}

/* A failed page ends the chain with its error. */
static void test_paginate_failed_page_ends_chain(void **state) {
  fixture *f = *state;
  char url[256];
  chain_log *log = calloc(1, sizeof *log);
  flurry_paginator pg = {.kind = FLURRY_PAGINATE_LINK};
  url_on(f, 0, "/items/link?next=/status/404", url, sizeof url);
  run_chain(f, url, &pg, log);
  assert_int_equal(log->pages, 2);
  assert_int_equal(log->failed, 1);
  assert_int_equal(log->end_err, FLURRY_EHTTP);
  assert_string_equal(log->end_detail, "page_failed");
  free(log);
}

/* Page 2 fails twice (503) then answers: the attempts page 1 was allowed
 * apply to it too. */
static void test_paginate_retries_apply_to_pages(void **state) {
  fixture *f = *state;
  char url[256];
  chain_log *log = calloc(1, sizeof *log);
  flurry_paginator pg = {.kind = FLURRY_PAGINATE_LINK};
  url_on(f, 0, "/items/link?next=%2Fflaky%3Fkey%3Dpages%26fail%3D2", url, sizeof url);
  flurry_request *req = page_one(f, url, &pg, log);
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_MAX_ATTEMPTS, 3), FLURRY_OK);
  assert_int_equal(flurry_request_set(req, FLURRY_OPT_RETRY_BASE_MS, 5), FLURRY_OK);
  assert_int_equal(flurry_client_submit(f->client, req, on_page, log), FLURRY_OK);
  assert_int_equal(flurry_client_run(f->client), FLURRY_OK);
  assert_int_equal(log->pages, 2);
  assert_int_equal(log->failed, 0);
  assert_int_equal(log->last_attempts, 3);
  assert_int_equal(log->end_err, FLURRY_OK);
  free(log);
}

/* The client goes away in the middle of a chain: on_end still runs once,
 * with the cancellation. */
static void test_paginate_client_freed_mid_chain(void **state) {
  fixture *f = *state;
  char url[256];
  chain_log *log = calloc(1, sizeof *log);
  flurry_paginator pg = {.kind = FLURRY_PAGINATE_LINK};
  url_on(f, 0, "/items?per_page=10&total=200&delay_ms=100", url, sizeof url);
  flurry_request *req = page_one(f, url, &pg, log);
  assert_int_equal(flurry_client_submit(f->client, req, on_page, log), FLURRY_OK);
  for (int turns = 0; turns < 100000 && log->pages == 0; turns++)
    uv_run(&f->loop, UV_RUN_ONCE); /* until page 1 is back */
  assert_int_equal(log->pages, 1);
  flurry_client_free(f->client); /* pages 2..20 in flight: cancelled */
  f->client = NULL;
  assert_int_equal(log->ends, 1);
  assert_int_equal(log->end_err, FLURRY_ECANCELLED);
  assert_string_equal(log->end_detail, "page_failed");
  assert_true(log->pages > 1 && log->pages <= 20);
  assert_int_equal(log->failed, log->pages - 1);
  free(log);
}

static int next_url_fails(const flurry_response *resp, const flurry_page *page, char *url,
                          size_t len, void *ud) {
  (void)resp, (void)page, (void)ud, (void)url, (void)len;
  return FLURRY_ETOO_LARGE;
}

static int next_fails(const flurry_response *resp, const flurry_page *page, flurry_request **next,
                      void *ud) {
  (void)resp, (void)page, (void)ud;
  *next = NULL;
  return FLURRY_EINVALID;
}

static void test_paginate_callback_error_ends_chain(void **state) {
  fixture *f = *state;
  char url[256];
  url_on(f, 0, "/items/cursor?limit=10&total=100", url, sizeof url);
  chain_log *log = calloc(1, sizeof *log);
  flurry_paginator a = {.kind = FLURRY_PAGINATE_NEXT_URL, .next_url = next_url_fails};
  run_chain(f, url, &a, log);
  assert_int_equal(log->pages, 1);
  assert_int_equal(log->end_err, FLURRY_ETOO_LARGE);
  assert_string_equal(log->end_detail, "next");
  free(log);
  log = calloc(1, sizeof *log);
  flurry_paginator b = {.kind = FLURRY_PAGINATE_CALLBACK, .next = next_fails};
  run_chain(f, url, &b, log);
  assert_int_equal(log->pages, 1);
  assert_int_equal(log->end_err, FLURRY_EINVALID);
  assert_string_equal(log->end_detail, "next");
  free(log);
}

/* ---- a next URL from the body ---- */

/* "next":"URL" of the mock's cursor pages; null ends. */
static int body_next(const flurry_response *resp, const flurry_page *page, char *url, size_t len,
                     void *ud) {
  chain_log *log = ud;
  (void)page;
  log->next_calls++;
  const char *p = strstr(flurry_response_body(resp, NULL), "\"next\":\"");
  if (p == NULL)
    return 0;
  p += 8;
  size_t n = strcspn(p, "\"");
  if (n >= len)
    return FLURRY_ETOO_LARGE;
  memcpy(url, p, n);
  url[n] = '\0';
  return 1;
}

static void test_paginate_next_url_from_body(void **state) {
  fixture *f = *state;
  char url[256];
  chain_log *log = calloc(1, sizeof *log);
  flurry_paginator pg = {.kind = FLURRY_PAGINATE_NEXT_URL, .next_url = body_next};
  url_on(f, 0, "/items/cursor?limit=100&total=1000", url, sizeof url);
  run_chain(f, url, &pg, log);
  assert_int_equal(log->pages, 10);
  assert_int_equal(log->next_calls, 10);
  assert_int_equal(log->end_err, FLURRY_OK);
  assert_all_items_once(log, 1000);
  free(log);
}

/* ---- a callback: offsets, with the total known after page 1 ---- */

static int64_t offset_total(const flurry_response *first, void *ud) {
  (void)ud;
  const char *p = strstr(flurry_response_body(first, NULL), "\"total\":");
  long total = p ? strtol(p + 8, NULL, 10) : -1;
  return total < 0 ? -1 : (total + 99) / 100;
}

static int offset_page(int64_t number, flurry_request **out, void *ud) {
  chain_log *log = ud;
  char url[256], path[128];
  snprintf(path, sizeof path, "/items/offset?offset=%lld&limit=100&total=1000",
           (long long)(number - 1) * 100);
  url_on(log->f, 0, path, url, sizeof url);
  return flurry_request_new(out, "GET", url);
}

static int offset_next(const flurry_response *resp, const flurry_page *page, flurry_request **next,
                       void *ud) {
  chain_log *log = ud;
  (void)resp;
  log->next_calls++;
  if (page->number >= 3)
    return 0; /* *next stays NULL: the end */
  return offset_page(page->number + 1, next, ud);
}

static void test_paginate_callback_total_sends_the_rest_at_once(void **state) {
  fixture *f = *state;
  char url[256];
  chain_log *log = calloc(1, sizeof *log);
  flurry_paginator pg = {.kind = FLURRY_PAGINATE_CALLBACK,
                         .next = offset_next,
                         .total = offset_total,
                         .build_page = offset_page};
  url_on(f, 0, "/items/offset?offset=0&limit=100&total=1000", url, sizeof url);
  run_chain(f, url, &pg, log);
  assert_int_equal(log->pages, 10);
  assert_int_equal(log->known, 9);
  assert_int_equal(log->next_calls, 0);
  assert_all_items_once(log, 1000);
  free(log);
  /* without a total: page by page, as next says */
  log = calloc(1, sizeof *log);
  flurry_paginator seq = {.kind = FLURRY_PAGINATE_CALLBACK, .next = offset_next};
  run_chain(f, url, &seq, log);
  assert_int_equal(log->pages, 3);
  assert_int_equal(log->known, 0);
  assert_int_equal(log->items, 300);
  assert_int_equal(log->end_err, FLURRY_OK);
  free(log);
}

/* Many chains with known pages: pages are built while the client has room
 * (or the chain has nothing out), so the client's queue stays near its
 * in-flight limit instead of every chain's limit at once. */
static size_t max_pending_at_build;

static int watched_page(int64_t number, flurry_request **out, void *ud) {
  chain_log *log = ud;
  size_t pending = flurry_client_pending(log->f->client);
  if (pending > max_pending_at_build)
    max_pending_at_build = pending;
  return offset_page(number, out, ud);
}

static void test_paginate_known_pages_share_the_window(void **state) {
  fixture *f = *state;
  char url[256];
  enum { CHAINS = 6, WINDOW = 3 };
  chain_log *logs = calloc(CHAINS, sizeof *logs);
  max_pending_at_build = 0;
  assert_int_equal(flurry_client_set(f->client, FLURRY_OPT_MAX_IN_FLIGHT, WINDOW), FLURRY_OK);
  url_on(f, 0, "/items/offset?offset=0&limit=100&total=1000&delay_ms=20", url, sizeof url);
  for (int i = 0; i < CHAINS; i++) {
    flurry_paginator pg = {.kind = FLURRY_PAGINATE_LINK,
                           .total = offset_total,
                           .build_page = watched_page};
    flurry_request *req = page_one(f, url, &pg, &logs[i]);
    assert_int_equal(flurry_client_submit(f->client, req, on_page, &logs[i]), FLURRY_OK);
  }
  assert_int_equal(flurry_client_run(f->client), FLURRY_OK);
  for (int i = 0; i < CHAINS; i++) {
    assert_int_equal(logs[i].ends, 1);
    assert_int_equal(logs[i].pages, 10);
    assert_all_items_once(&logs[i], 1000);
  }
  /* each chain's limit at once would be CHAINS * WINDOW */
  assert_true(max_pending_at_build < WINDOW + CHAINS);
  free(logs);
}

/* Page numbers with a total that is too high: the first empty page stops
 * the chain from its callback. */
static int64_t ten_pages(const flurry_response *first, void *ud) {
  (void)first, (void)ud;
  return 10;
}

static int numbered_page(int64_t number, flurry_request **out, void *ud) {
  chain_log *log = ud;
  char url[256], path[128];
  snprintf(path, sizeof path, "/items?page=%lld&per_page=100&total=500", (long long)number);
  url_on(log->f, 0, path, url, sizeof url);
  return flurry_request_new(out, "GET", url);
}

static void on_page_stop_when_empty(flurry_request *req, flurry_response *resp, void *ud) {
  int empty = strcmp(flurry_response_body(resp, NULL), "[]") == 0;
  if (empty)
    assert_int_equal(flurry_request_chain_stop(req), FLURRY_OK);
  on_page(req, resp, ud);
}

static void test_paginate_chain_stop_from_callback(void **state) {
  fixture *f = *state;
  char url[256];
  chain_log *log = calloc(1, sizeof *log);
  flurry_paginator pg = {.kind = FLURRY_PAGINATE_CALLBACK,
                         .next = offset_next,
                         .total = ten_pages,
                         .build_page = numbered_page};
  assert_int_equal(flurry_client_set(f->client, FLURRY_OPT_MAX_IN_FLIGHT, 2), FLURRY_OK);
  url_on(f, 0, "/items?page=1&per_page=100&total=500", url, sizeof url);
  flurry_request *req = page_one(f, url, &pg, log);
  assert_int_equal(flurry_request_chain_stop(req), FLURRY_EINVALID); /* not in its callback */
  assert_int_equal(flurry_client_submit(f->client, req, on_page_stop_when_empty, log), FLURRY_OK);
  assert_int_equal(flurry_client_run(f->client), FLURRY_OK);
  assert_int_equal(log->ends, 1);
  assert_int_equal(log->end_err, FLURRY_OK);
  assert_string_equal(log->end_detail, "stopped");
  assert_true(log->pages >= 6 && log->pages < 10); /* 2 at a time: 7 or 8 */
  assert_all_items_once(log, 500);
  free(log);
}

/* ---- MANUAL: the page's callback hands the next page over ---- */

/* One page's own user data. */
typedef struct page_tag {
  struct manual_log *log;
  int64_t number; /* the page it was made for */
  int delivered, dropped;
  int next_rc; /* what flurry_request_chain_next said from this page, */
  int queued;  /* and its *queued */
} page_tag;

typedef struct manual_log {
  chain_log base; /* the paginator's user data */
  page_tag tags[16];
  int ntags, frees, drops, wrong_data;
  int64_t not_started;
  int stop_after; /* MANUAL: chain_stop from this page, after handing over */
  int dup_value;  /* build_page: this value builds the page of value 2 */
} manual_log;

static page_tag *new_tag(manual_log *m, int64_t number) {
  assert_true(m->ntags < 16);
  page_tag *t = &m->tags[m->ntags++];
  t->log = m;
  t->number = number;
  return t;
}

static void manual_drop(void *page_data, void *ud) {
  manual_log *m = ud;
  page_tag *t = page_data;
  m->drops++;
  m->wrong_data += t->log != m;
  t->dropped++;
}

static void manual_free(void *ud) { ((manual_log *)ud)->frees++; }

static void manual_end(const flurry_chain_end *end, void *ud) {
  manual_log *m = ud;
  m->not_started = end->not_started;
  on_end(end, &m->base);
}

/* Reads the Link header once, in the callback, and hands the next over. */
static void on_manual_page(flurry_request *req, flurry_response *resp, void *ud) {
  page_tag *t = ud;
  manual_log *m = t->log;
  flurry_page pg;
  assert_int_equal(flurry_request_page(req, &pg), FLURRY_OK);
  m->wrong_data += pg.number != t->number;
  t->delivered++;
  const char *link = flurry_response_header(resp, "Link");
  const char *uri;
  size_t len;
  if (flurry_response_error(resp) == FLURRY_OK && link &&
      flurry_link_find(link, strlen(link), "next", &uri, &len) == 1) {
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%.*s", m->base.f->port[0], (int)len, uri);
    flurry_request *next;
    assert_int_equal(flurry_request_new(&next, "GET", url), FLURRY_OK);
    assert_int_equal(flurry_request_set_page_data(next, new_tag(m, pg.number + 1)), FLURRY_OK);
    t->queued = -1;
    t->next_rc = flurry_request_chain_next(req, next, &t->queued);
    if (t->next_rc == FLURRY_OK && t->queued) { /* one hand-over per page */
      flurry_request *again;
      int queued = -1;
      assert_int_equal(flurry_request_new(&again, "GET", url), FLURRY_OK);
      assert_int_equal(flurry_request_chain_next(req, again, &queued), FLURRY_EINVALID);
      assert_int_equal(queued, -1); /* untouched: not even looked at */
      flurry_request_free(again);
    }
  }
  if (m->stop_after == pg.number)
    assert_int_equal(flurry_request_chain_stop(req), FLURRY_OK);
  on_page(req, resp, &m->base);
}

/* Page 1 of a MANUAL chain at path on server 0 (user data: m, page 1's
 * tag), submitted and run. */
static void run_manual(fixture *f, const char *path, flurry_paginator *pg, manual_log *m,
                       flurry_done_cb cb) {
  char url[256];
  url_on(f, 0, path, url, sizeof url);
  pg->drop = manual_drop;
  pg->on_free = manual_free;
  flurry_request *req = page_one(f, url, pg, &m->base);
  assert_int_equal(flurry_request_set_paginator(req, pg), FLURRY_EINVALID); /* once */
  pg->on_end = manual_end; /* page_one set on_end; set it again */
  pg->user_data = m;
  flurry_request_free(req); /* freed unsubmitted: on_free runs */
  assert_int_equal(m->frees, 1);
  assert_int_equal(flurry_request_new(&req, "GET", url), FLURRY_OK);
  assert_int_equal(flurry_request_set_paginator(req, pg), FLURRY_OK);
  assert_int_equal(flurry_request_chain_next(req, req, NULL), FLURRY_EINVALID); /* no callback */
  assert_int_equal(flurry_client_submit(f->client, req, cb, new_tag(m, 1)), FLURRY_OK);
  assert_int_equal(flurry_client_run(f->client), FLURRY_OK);
  assert_int_equal(m->base.ends, 1);
  assert_int_equal(m->frees, 2);
  assert_int_equal(m->wrong_data, 0);
}

/* The cycle is the answer to the page that caused it; every page got its
 * own data. */
static void test_paginate_manual_next_cycle_at_its_page(void **state) {
  fixture *f = *state;
  manual_log *m = calloc(1, sizeof *m);
  flurry_paginator pg = {.kind = FLURRY_PAGINATE_MANUAL};
  run_manual(f, "/items/loop?page=1", &pg, m, on_manual_page);
  assert_int_equal(m->base.pages, 3);
  assert_int_equal(m->base.items, 30);
  assert_int_equal(m->tags[0].next_rc, FLURRY_OK);
  assert_int_equal(m->tags[1].next_rc, FLURRY_OK);
  assert_int_equal(m->tags[2].next_rc, FLURRY_EPROTOCOL); /* page 3 links to page 1 */
  for (int i = 0; i < 3; i++)
    assert_int_equal(m->tags[i].delivered, 1);
  assert_int_equal(m->tags[3].delivered + m->tags[3].dropped, 0); /* the caller's */
  assert_int_equal(m->base.end_err, FLURRY_EPROTOCOL);
  assert_string_equal(m->base.end_detail, "pagination_cycle");
  assert_int_equal(m->not_started, 0);
  free(m);
}

/* The page limit; a page handed over, then stopped: dropped, counted. */
static void test_paginate_manual_limit_and_drop(void **state) {
  fixture *f = *state;
  manual_log *m = calloc(1, sizeof *m);
  flurry_paginator pg = {.kind = FLURRY_PAGINATE_MANUAL, .max_pages = 2};
  run_manual(f, "/items/loop?page=1", &pg, m, on_manual_page);
  assert_int_equal(m->base.pages, 2);
  assert_int_equal(m->tags[0].next_rc, FLURRY_OK); /* page 2: queued */
  assert_int_equal(m->tags[0].queued, 1);
  assert_int_equal(m->tags[1].next_rc, FLURRY_OK); /* page 3: over the limit, freed */
  assert_int_equal(m->tags[1].queued, 0);
  assert_string_equal(m->base.end_detail, "max_pages");
  assert_int_equal(m->base.end_err, FLURRY_OK);
  free(m);
  m = calloc(1, sizeof *m);
  m->stop_after = 2;
  flurry_paginator stop = {.kind = FLURRY_PAGINATE_MANUAL};
  run_manual(f, "/items/loop?page=1", &stop, m, on_manual_page);
  assert_int_equal(m->base.pages, 2);
  assert_int_equal(m->tags[1].next_rc, FLURRY_OK);
  assert_int_equal(m->drops, 1); /* page 3, handed over by page 2 */
  assert_int_equal(m->tags[2].dropped, 1);
  assert_int_equal(m->tags[2].delivered, 0);
  assert_int_equal(m->not_started, 1);
  assert_string_equal(m->base.end_detail, "stopped");
  free(m);
}

/* Known pages from the callback: built with their own data; one built
 * twice is skipped (dropped, not counted); a stop counts the rest. */
static int manual_build(int64_t number, flurry_request **out, void *ud) {
  manual_log *m = ud;
  char url[256], path[128];
  int64_t n = number == m->dup_value ? 2 : number;
  snprintf(path, sizeof path, "/items?page=%lld&per_page=10&total=100", (long long)n);
  url_on(m->base.f, 0, path, url, sizeof url);
  int rc = flurry_request_new(out, "GET", url);
  if (rc == FLURRY_OK)
    rc = flurry_request_set_page_data(*out, new_tag(m, 0));
  return rc;
}

static void on_known_page(flurry_request *req, flurry_response *resp, void *ud) {
  page_tag *t = ud;
  manual_log *m = t->log;
  flurry_page pg;
  assert_int_equal(flurry_request_page(req, &pg), FLURRY_OK);
  t->delivered++;
  if (pg.number == 1) {
    assert_int_equal(flurry_request_chain_known(req, 2, 10, 0), FLURRY_EINVALID);
    assert_int_equal(flurry_request_chain_known(req, 2, 10, 1), FLURRY_OK);
    assert_int_equal(flurry_request_chain_known(req, 2, 10, 1), FLURRY_EINVALID); /* twice */
  } else {
    assert_int_equal(flurry_request_chain_known(req, 2, 10, 1), FLURRY_EINVALID);
  }
  if (m->stop_after && m->base.pages + 1 == m->stop_after)
    assert_int_equal(flurry_request_chain_stop(req), FLURRY_OK);
  on_page(req, resp, &m->base);
}

static void test_paginate_manual_known_pages(void **state) {
  fixture *f = *state;
  manual_log *m = calloc(1, sizeof *m);
  m->dup_value = 3; /* value 3 builds page 2 again */
  flurry_paginator pg = {.kind = FLURRY_PAGINATE_MANUAL, .build_page = manual_build};
  run_manual(f, "/items?page=1&per_page=10&total=100", &pg, m, on_known_page);
  assert_int_equal(m->base.pages, 9); /* 10 but the duplicate */
  assert_int_equal(m->base.known, 8);
  assert_int_equal(m->drops, 1);
  assert_int_equal(m->not_started, 0);
  assert_int_equal(m->base.dup_items, 0);
  assert_int_equal(m->base.items, 90);
  assert_string_equal(m->base.end_detail, "");
  free(m);
  /* stopped at the 3rd page delivered, 2 in flight at a time: every page
   * is delivered or counted as not started */
  m = calloc(1, sizeof *m);
  m->stop_after = 3;
  assert_int_equal(flurry_client_set(f->client, FLURRY_OPT_MAX_IN_FLIGHT, 2), FLURRY_OK);
  flurry_paginator stop = {.kind = FLURRY_PAGINATE_MANUAL, .build_page = manual_build};
  run_manual(f, "/items?page=1&per_page=10&total=100", &stop, m, on_known_page);
  assert_true(m->base.pages >= 3 && m->base.pages < 10);
  assert_int_equal(m->base.pages + m->not_started, 10);
  assert_int_equal(m->drops, 0);
  assert_string_equal(m->base.end_detail, "stopped");
  free(m);
}

/* The total callback works with any kind: 1 page ends a looping chain. */
static int64_t one_page(const flurry_response *first, void *ud) {
  (void)first, (void)ud;
  return 1;
}

static void test_paginate_total_with_link_kind(void **state) {
  fixture *f = *state;
  char url[256];
  chain_log *log = calloc(1, sizeof *log);
  flurry_paginator pg = {.kind = FLURRY_PAGINATE_LINK,
                         .total = one_page,
                         .build_page = numbered_page};
  url_on(f, 0, "/items/loop?page=1", url, sizeof url);
  run_chain(f, url, &pg, log);
  assert_int_equal(log->pages, 1);
  assert_int_equal(log->end_err, FLURRY_OK);
  assert_string_equal(log->end_detail, "");
  free(log);
}

/* ---- hooks: stop, build_url, checkpoint, first_page, chain_stopped ---- */

static int stop_at_3(const flurry_response *resp, const flurry_page *page, void *ud) {
  chain_log *log = ud;
  assert_int_equal(flurry_response_error(resp), FLURRY_OK);
  log->stop_calls++;
  assert_int_equal(log->pages, page->number - 1); /* before the page's callback */
  return page->number >= 3;
}

static int stop_fails(const flurry_response *resp, const flurry_page *page, void *ud) {
  (void)resp, (void)page, (void)ud;
  return FLURRY_ETOO_LARGE;
}

/* A stop callback ends the chain at its page; with it, rel="last" sends
 * nothing at once (the predicate would not see those pages). */
static void test_paginate_stop_callback(void **state) {
  fixture *f = *state;
  char url[256];
  chain_log *log = calloc(1, sizeof *log);
  flurry_paginator pg = {.kind = FLURRY_PAGINATE_LINK, .stop = stop_at_3};
  url_on(f, 0, "/items?per_page=50&total=1000", url, sizeof url);
  run_chain(f, url, &pg, log);
  assert_int_equal(log->pages, 3);
  assert_int_equal(log->known, 0);
  assert_int_equal(log->stop_calls, 3);
  assert_int_equal(log->end_err, FLURRY_OK);
  assert_string_equal(log->end_detail, "");
  assert_all_items_once(log, 150);
  free(log);
  log = calloc(1, sizeof *log);
  flurry_paginator bad = {.kind = FLURRY_PAGINATE_LINK, .stop = stop_fails};
  run_chain(f, url, &bad, log);
  assert_int_equal(log->pages, 1);
  assert_int_equal(log->end_err, FLURRY_ETOO_LARGE);
  assert_string_equal(log->end_detail, "next");
  free(log);
  /* a total callback still sends the pages at once */
  log = calloc(1, sizeof *log);
  flurry_paginator total = {.kind = FLURRY_PAGINATE_CALLBACK,
                            .next = offset_next,
                            .stop = stop_at_3,
                            .total = offset_total,
                            .build_page = offset_page};
  url_on(f, 0, "/items/offset?offset=0&limit=100&total=1000", url, sizeof url);
  run_chain(f, url, &total, log);
  assert_int_equal(log->pages, 10);
  assert_int_equal(log->known, 9);
  assert_int_equal(log->stop_calls, 1);
  free(log);
}

/* Pages built by the caller from the URLs the paginator found, each with
 * its own data; a page made and not sent gives its data back. */
typedef struct url_log {
  chain_log base;
  int built_known, built_next, drops, tagged, wrong_from;
  struct url_tag *first;
} url_log;

typedef struct url_tag {
  url_log *log;
  int64_t from; /* the page it was built from (0: known up front) */
} url_tag;

static int build_tagged(const char *url, const flurry_page *from, flurry_request **out, void *ud) {
  url_log *u = ud;
  assert_true(strncmp(url, "http://127.0.0.1:", 17) == 0); /* absolute, resolved */
  if (from) {
    u->built_next++;
    u->wrong_from += from->number != u->base.pages + 1; /* its callback runs next */
  } else {
    u->built_known++;
  }
  int rc = flurry_request_new(out, "GET", url);
  url_tag *t = rc == FLURRY_OK ? malloc(sizeof *t) : NULL;
  if (t == NULL)
    return rc == FLURRY_OK ? FLURRY_ENOMEM : rc;
  t->log = u;
  t->from = from ? from->number : 0;
  return flurry_request_set_page_data(*out, t);
}

static void url_drop(void *page_data, void *ud) {
  url_log *u = ud;
  assert_ptr_equal(((url_tag *)page_data)->log, u);
  u->drops++;
  free(page_data);
}

static void on_url_page(flurry_request *req, flurry_response *resp, void *ud) {
  url_tag *t = ud;
  url_log *u = t->log;
  u->tagged += t != u->first;
  on_page(req, resp, &u->base);
  if (t != u->first)
    free(t);
}

/* Runs a chain from path on server 0 with build_url (user data: u). */
static void run_built(fixture *f, const char *path, flurry_paginator *pg, url_log *u) {
  char url[256];
  url_tag first = {u, 0};
  u->first = &first;
  pg->build_url = build_tagged;
  pg->drop = url_drop;
  url_on(f, 0, path, url, sizeof url);
  flurry_request *req = page_one(f, url, pg, &u->base);
  assert_int_equal(flurry_client_submit(f->client, req, on_url_page, &first), FLURRY_OK);
  assert_int_equal(flurry_client_run(f->client), FLURRY_OK);
  assert_int_equal(u->base.ends, 1);
  assert_int_equal(u->wrong_from, 0);
  assert_int_equal(u->tagged, u->base.pages - 1); /* every page but the first */
}

static void test_paginate_build_url_pages_carry_data(void **state) {
  fixture *f = *state;
  url_log *u = calloc(1, sizeof *u);
  flurry_paginator known = {.kind = FLURRY_PAGINATE_LINK};
  run_built(f, "/items?per_page=10&total=100", &known, u);
  assert_int_equal(u->base.pages, 10);
  assert_int_equal(u->built_known, 9); /* rel="last": built as the window allows */
  assert_int_equal(u->built_next, 0);
  assert_int_equal(u->drops, 0);
  assert_all_items_once(&u->base, 100);
  free(u);
  /* one after the other: the cycle's page is dropped, its data given back */
  u = calloc(1, sizeof *u);
  flurry_paginator loop = {.kind = FLURRY_PAGINATE_LINK};
  run_built(f, "/items/loop?page=1", &loop, u);
  assert_int_equal(u->base.pages, 3);
  assert_int_equal(u->built_next, 3);
  assert_int_equal(u->drops, 1);
  assert_string_equal(u->base.end_detail, "pagination_cycle");
  free(u);
  /* the page limit drops the page made past it */
  u = calloc(1, sizeof *u);
  flurry_paginator limit = {.kind = FLURRY_PAGINATE_LINK, .max_pages = 2};
  run_built(f, "/items/loop?page=1", &limit, u);
  assert_int_equal(u->base.pages, 2);
  assert_int_equal(u->drops, 1);
  assert_string_equal(u->base.end_detail, "max_pages");
  free(u);
  /* a next URL from the body, resolved against the page */
  u = calloc(1, sizeof *u);
  flurry_paginator next = {.kind = FLURRY_PAGINATE_NEXT_URL, .next_url = body_next};
  run_built(f, "/items/cursor?limit=100&total=300", &next, u);
  assert_int_equal(u->base.pages, 3);
  assert_int_equal(u->built_next, 2);
  assert_all_items_once(&u->base, 300);
  free(u);
}

/* Checkpoints: after the page before has been delivered, before the next
 * is sent; a chain started again there with first_page goes on. */
typedef struct ck_log {
  chain_log base;
  int n;
  int64_t number[16];
  int delivered[16];
  char url[16][256];
} ck_log;

static void checkpoint(const flurry_request *next, const flurry_page *page, void *ud) {
  ck_log *k = ud;
  assert_true(k->n < 16);
  k->number[k->n] = page->number;
  k->delivered[k->n] = k->base.pages;
  snprintf(k->url[k->n], sizeof k->url[0], "%s", flurry_request_url(next));
  k->n++;
}

/* A NEXT_URL chain from url, its first request numbered `first`, with
 * checkpoints (user data: k, whose first member is the chain_log that
 * on_page, on_end and body_next take). */
static void resume_at(fixture *f, ck_log *k, const char *url, int64_t first, int64_t max) {
  memset(k, 0, sizeof *k);
  flurry_paginator pg = {.kind = FLURRY_PAGINATE_NEXT_URL,
                         .next_url = body_next,
                         .checkpoint = checkpoint,
                         .first_page = first,
                         .max_pages = max,
                         .on_end = on_end,
                         .user_data = k};
  flurry_request *req;
  assert_int_equal(flurry_request_new(&req, "GET", url), FLURRY_OK);
  assert_int_equal(flurry_request_set_paginator(req, &pg), FLURRY_OK);
  assert_int_equal(flurry_client_submit(f->client, req, on_page, k), FLURRY_OK);
  assert_int_equal(flurry_client_run(f->client), FLURRY_OK);
  assert_int_equal(k->base.ends, 1);
}

static void test_paginate_checkpoint_and_first_page(void **state) {
  fixture *f = *state;
  char url[256], again[256];
  ck_log *k = calloc(1, sizeof *k);
  url_on(f, 0, "/items/cursor?limit=100&total=1000", url, sizeof url);
  resume_at(f, k, url, 0, 0);
  assert_int_equal(k->base.pages, 10);
  assert_int_equal(k->n, 9);
  for (int i = 0; i < 9; i++) {
    assert_int_equal(k->number[i], i + 2);
    assert_int_equal(k->delivered[i], i + 1); /* every page before it */
  }
  snprintf(again, sizeof again, "%s", k->url[4]); /* page 6 */
  assert_non_null(strstr(again, "/items/cursor?cursor="));
  /* started again at page 6: pages 6..10, items 501..1000 */
  resume_at(f, k, again, 6, 0);
  assert_int_equal(k->base.pages, 5);
  assert_int_equal(k->base.numbers_sum, 6 + 7 + 8 + 9 + 10);
  assert_int_equal(k->base.items, 500);
  assert_int_equal(k->base.dup_items, 0);
  for (int id = 501; id <= 1000; id++)
    assert_int_equal(k->base.seen[id], 1);
  assert_int_equal(k->number[0], 7);
  /* max_pages counts from page 1: 6, 7, 8 */
  resume_at(f, k, again, 6, 8);
  assert_int_equal(k->base.pages, 3);
  assert_string_equal(k->base.end_detail, "max_pages");
  /* past it already: the first page alone */
  resume_at(f, k, again, 6, 4);
  assert_int_equal(k->base.pages, 1);
  assert_string_equal(k->base.end_detail, "max_pages");
  free(k);
  /* a Link chain started again at page 5: no rel="last" fan-out, no
   * checkpoint for pages known up front */
  chain_log *log = calloc(1, sizeof *log);
  flurry_paginator link = {.kind = FLURRY_PAGINATE_LINK, .first_page = 5};
  url_on(f, 0, "/items?page=5&per_page=50&total=1000", url, sizeof url);
  run_chain(f, url, &link, log);
  assert_int_equal(log->pages, 16);
  assert_int_equal(log->known, 0);
  assert_int_equal(log->numbers_sum, (5 + 20) * 16 / 2);
  assert_int_equal(log->items, 800);
  free(log);
  k = calloc(1, sizeof *k);
  flurry_paginator fan = {.kind = FLURRY_PAGINATE_LINK,
                          .checkpoint = checkpoint,
                          .on_end = on_end,
                          .user_data = k};
  url_on(f, 0, "/items?per_page=50&total=1000", url, sizeof url);
  flurry_request *req;
  assert_int_equal(flurry_request_new(&req, "GET", url), FLURRY_OK);
  assert_int_equal(flurry_request_set_paginator(req, &fan), FLURRY_OK);
  assert_int_equal(flurry_client_submit(f->client, req, on_page, k), FLURRY_OK);
  assert_int_equal(flurry_client_run(f->client), FLURRY_OK);
  assert_int_equal(k->base.pages, 20);
  assert_int_equal(k->n, 0);
  free(k);
}

/* The page whose next page stopped the chain learns why, in its own
 * callback. */
static void on_page_stopped(flurry_request *req, flurry_response *resp, void *ud) {
  chain_log *log = ud;
  flurry_chain_end e;
  flurry_page pg;
  assert_int_equal(flurry_request_page(req, &pg), FLURRY_OK);
  int rc = flurry_request_chain_stopped(req, &e);
  assert_true(rc == 0 || rc == 1);
  assert_int_equal(flurry_request_chain_stopped(req, NULL), FLURRY_EINVALID);
  if (rc == 1) {
    log->stopped_calls++;
    log->stopped_at = pg.number;
    log->stopped_err = e.error;
    assert_int_equal(e.chain, pg.chain);
    assert_int_equal(e.pages, pg.number);
    snprintf(log->stopped_detail, sizeof log->stopped_detail, "%s", flurry_detail_name(e.detail));
    snprintf(log->stopped_msg, sizeof log->stopped_msg, "%s", e.message);
  }
  on_page(req, resp, ud);
}

static int next_url_ftp(const flurry_response *resp, const flurry_page *page, char *url, size_t len,
                        void *ud) {
  (void)resp, (void)page, (void)ud;
  snprintf(url, len, "ftp://127.0.0.1/items");
  return 1;
}

static void run_stopped(fixture *f, const char *path, flurry_paginator *pg, chain_log *log) {
  char url[256];
  url_on(f, 0, path, url, sizeof url);
  flurry_request *req = page_one(f, url, pg, log);
  assert_int_equal(flurry_request_chain_stopped(req, &(flurry_chain_end){0}), FLURRY_EINVALID);
  assert_int_equal(flurry_client_submit(f->client, req, on_page_stopped, log), FLURRY_OK);
  assert_int_equal(flurry_client_run(f->client), FLURRY_OK);
  assert_int_equal(log->ends, 1);
}

static void test_paginate_chain_stopped_at_its_page(void **state) {
  fixture *f = *state;
  chain_log *log = calloc(1, sizeof *log);
  flurry_paginator loop = {.kind = FLURRY_PAGINATE_LINK};
  run_stopped(f, "/items/loop?page=1", &loop, log);
  assert_int_equal(log->stopped_calls, 1);
  assert_int_equal(log->stopped_at, 3);
  assert_int_equal(log->stopped_err, FLURRY_EPROTOCOL);
  assert_string_equal(log->stopped_detail, "pagination_cycle");
  assert_non_null(strstr(log->stopped_msg, "stopped after page 3"));
  free(log);
  log = calloc(1, sizeof *log);
  flurry_paginator ftp = {.kind = FLURRY_PAGINATE_NEXT_URL, .next_url = next_url_ftp};
  run_stopped(f, "/items/cursor?limit=10&total=100", &ftp, log);
  assert_int_equal(log->stopped_at, 1);
  assert_int_equal(log->stopped_err, FLURRY_EINVALID);
  assert_string_equal(log->stopped_detail, "next");
  assert_string_equal(log->end_detail, "next");
  free(log);
  log = calloc(1, sizeof *log);
  flurry_paginator limit = {.kind = FLURRY_PAGINATE_LINK, .max_pages = 2};
  run_stopped(f, "/items/loop?page=1", &limit, log);
  assert_int_equal(log->stopped_at, 2);
  assert_int_equal(log->stopped_err, FLURRY_OK);
  assert_string_equal(log->stopped_detail, "max_pages");
  free(log);
  /* an end as the kind says, and pages known up front: no stop */
  log = calloc(1, sizeof *log);
  flurry_paginator known = {.kind = FLURRY_PAGINATE_LINK};
  run_stopped(f, "/items?per_page=50&total=200", &known, log);
  assert_int_equal(log->pages, 4);
  assert_int_equal(log->stopped_calls, 0);
  free(log);
}

/* ---- credentials stay at page 1's origin ---- */

static void test_paginate_other_origin_gets_no_credentials(void **state) {
  fixture *f = *state;
  char url[512], other[256], path[300];
  chain_log *log = calloc(1, sizeof *log);
  flurry_paginator pg = {.kind = FLURRY_PAGINATE_LINK};
  /* page 1 on server 0 -> page 2 on server 1 -> page 3 back on server 0 */
  url_on(f, 0, "/items/link", other, sizeof other);
  snprintf(path, sizeof path, "/items/link?next=%s", other);
  url_on(f, 1, path, other, sizeof other);
  snprintf(path, sizeof path, "/items/link?next=%s", other);
  url_on(f, 0, path, url, sizeof url);
  assert_int_equal(flurry_client_add_header(f->client, "Authorization", "Bearer s3cret"),
                   FLURRY_OK);
  assert_int_equal(flurry_client_add_secret_header(f->client, "X-Api-Key"), FLURRY_OK);
  flurry_request *req = page_one(f, url, &pg, log);
  assert_int_equal(flurry_request_add_header(req, "X-Api-Key", "k"), FLURRY_OK);
  assert_int_equal(flurry_request_add_header(req, "X-Trace", "t"), FLURRY_OK);
  assert_int_equal(flurry_client_submit(f->client, req, on_page, log), FLURRY_OK);
  assert_int_equal(flurry_client_run(f->client), FLURRY_OK);
  assert_int_equal(log->pages, 3);
  assert_string_equal(log->bodies[0], "{\"authorization\":\"Bearer s3cret\",\"header_names\":"
                                      "[\"Authorization\",\"X-Api-Key\",\"Accept\",\"X-Trace\"]}");
  assert_string_equal(log->bodies[1],
                      "{\"authorization\":null,\"header_names\":[\"Accept\",\"X-Trace\"]}");
  assert_string_equal(log->bodies[2], "{\"authorization\":\"Bearer s3cret\",\"header_names\":"
                                      "[\"Authorization\",\"X-Api-Key\",\"Accept\",\"X-Trace\"]}");
  free(log);
}

/* With the name heuristic (FLURRY_OPT_SECRET_NAME_HEURISTIC), a page's
 * own header named like a credential stays at page 1's origin too. */
static void test_paginate_other_origin_heuristic_names(void **state) {
  fixture *f = *state;
  char url[512], other[256], path[300];
  chain_log *log = calloc(1, sizeof *log);
  flurry_paginator pg = {.kind = FLURRY_PAGINATE_LINK};
  url_on(f, 1, "/items/link", other, sizeof other);
  snprintf(path, sizeof path, "/items/link?next=%s", other);
  url_on(f, 0, path, url, sizeof url);
  assert_int_equal(flurry_client_set(f->client, FLURRY_OPT_SECRET_NAME_HEURISTIC, 1), FLURRY_OK);
  flurry_request *req = page_one(f, url, &pg, log);
  /* not given to flurry_client_add_secret_header: a name with "key" */
  assert_int_equal(flurry_request_add_header(req, "X-Api-Key", "k"), FLURRY_OK);
  assert_int_equal(flurry_request_add_header(req, "X-Trace", "t"), FLURRY_OK);
  assert_int_equal(flurry_client_submit(f->client, req, on_page, log), FLURRY_OK);
  assert_int_equal(flurry_client_run(f->client), FLURRY_OK);
  assert_int_equal(log->pages, 2);
  assert_string_equal(log->bodies[0], "{\"authorization\":null,\"header_names\":"
                                      "[\"X-Api-Key\",\"Accept\",\"X-Trace\"]}");
  assert_string_equal(log->bodies[1],
                      "{\"authorization\":null,\"header_names\":[\"Accept\",\"X-Trace\"]}");
  free(log);
}

static void test_paginate_set_paginator_checks(void **state) {
  (void)state;
  flurry_request *req;
  flurry_page page;
  assert_int_equal(flurry_request_new(&req, "GET", "http://127.0.0.1:1/"), FLURRY_OK);
  flurry_paginator none = {0}, no_cb = {.kind = FLURRY_PAGINATE_NEXT_URL},
                   neg = {.kind = FLURRY_PAGINATE_LINK, .max_pages = -1},
                   neg_first = {.kind = FLURRY_PAGINATE_LINK, .first_page = -1},
                   manual_stop = {.kind = FLURRY_PAGINATE_MANUAL, .stop = stop_at_3},
                   manual_url = {.kind = FLURRY_PAGINATE_MANUAL, .build_url = build_tagged},
                   cb_url = {.kind = FLURRY_PAGINATE_CALLBACK,
                             .next = next_fails,
                             .build_url = build_tagged},
                   ok = {.kind = FLURRY_PAGINATE_LINK};
  assert_int_equal(flurry_request_set_paginator(req, &none), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_paginator(req, &no_cb), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_paginator(req, &neg), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_paginator(req, &neg_first), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_paginator(req, &manual_stop), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_paginator(req, &manual_url), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_paginator(req, &cb_url), FLURRY_EINVALID);
  assert_int_equal(flurry_request_page(req, &page), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_paginator(req, &ok), FLURRY_OK);
  assert_int_equal(flurry_request_set_paginator(req, &ok), FLURRY_EINVALID); /* once */
  assert_int_equal(flurry_request_page(req, &page), FLURRY_OK);
  assert_int_equal(page.number, 1);
  flurry_request_free(req); /* never submitted: the chain goes with it */
  flurry_paginator later = {.kind = FLURRY_PAGINATE_LINK, .first_page = 7};
  assert_int_equal(flurry_request_new(&req, "GET", "http://127.0.0.1:1/"), FLURRY_OK);
  assert_int_equal(flurry_request_set_paginator(req, &later), FLURRY_OK);
  assert_int_equal(flurry_request_page(req, &page), FLURRY_OK);
  assert_int_equal(page.number, 7);
  flurry_request_free(req);
}

/* Once per page does not fit one slot (gather) or one part (group). */
static void test_paginate_refused_by_gather_and_group(void **state) {
  fixture *f = *state;
  char url[256];
  flurry_paginator pg = {.kind = FLURRY_PAGINATE_LINK};
  flurry_request *req;
  flurry_response *out = NULL;
  url_on(f, 0, "/items?per_page=10&total=30", url, sizeof url);
  assert_int_equal(flurry_request_new(&req, "GET", url), FLURRY_OK);
  assert_int_equal(flurry_request_set_paginator(req, &pg), FLURRY_OK);
  flurry_group *g;
  assert_int_equal(flurry_group_new(&g, f->client), FLURRY_OK);
  assert_int_equal(flurry_group_add(g, "pages", req), FLURRY_EINVALID);
  flurry_group_free(g);
  assert_int_equal(flurry_gather(f->client, &req, 1, &out), FLURRY_OK); /* takes req */
  assert_non_null(out);
  assert_int_equal(flurry_response_error(out), FLURRY_EINVALID);
  flurry_response_free(out);
}

/* ---- follow-ups ---- */

typedef struct tree_log {
  fixture *f;
  flurry_dedupe *dedupe;
  int users, posts, duplicates, wrong_parent;
  uint64_t users_id;
  char path[128];
} tree_log;

static void on_post_list(flurry_request *req, flurry_response *resp, void *ud) {
  tree_log *t = ud;
  if (flurry_request_parent(req) != t->users_id)
    t->wrong_parent++;
  if (t->posts++ == 0)
    snprintf(t->path, sizeof t->path, "%s", flurry_request_path(req));
  flurry_response_free(resp);
}

static void on_users(flurry_request *req, flurry_response *resp, void *ud) {
  tree_log *t = ud;
  t->users_id = flurry_request_id(req);
  const char *body = flurry_response_body(resp, NULL);
  for (const char *p = body; (p = strstr(p, "\"id\":")) != NULL;) {
    char *end, url[256], path[64], step[32];
    long id = strtol(p + 5, &end, 10);
    p = end;
    t->users++;
    for (int twice = 0; twice < 2; twice++) { /* the second is a duplicate */
      flurry_request *r;
      snprintf(path, sizeof path, "/users/%ld/posts", id);
      url_on(t->f, 0, path, url, sizeof url);
      snprintf(step, sizeof step, ".[].id=%ld", id);
      assert_int_equal(flurry_request_new(&r, "GET", url), FLURRY_OK);
      assert_int_equal(flurry_request_set_parent(r, req, step), FLURRY_OK);
      int submitted = -1;
      assert_int_equal(flurry_client_submit_unique(t->f->client, r, t->dedupe, on_post_list, t,
                                                   &submitted),
                       FLURRY_OK);
      assert_int_equal(submitted, !twice);
      if (!submitted) {
        t->duplicates++;
        flurry_request_free(r);
      }
    }
  }
  flurry_response_free(resp);
}

static void test_follow_provenance_and_dedupe(void **state) {
  fixture *f = *state;
  tree_log t = {.f = f};
  char url[256];
  flurry_request *req;
  assert_int_equal(flurry_dedupe_new(&t.dedupe, 1000), FLURRY_OK);
  url_on(f, 0, "/users?per_page=20&total=20", url, sizeof url);
  assert_int_equal(flurry_request_new(&req, "GET", url), FLURRY_OK);
  assert_int_equal(flurry_request_id(req), 0);
  assert_int_equal(flurry_client_submit(f->client, req, on_users, &t), FLURRY_OK);
  assert_int_equal(flurry_client_run(f->client), FLURRY_OK);
  assert_int_equal(t.users, 20);
  assert_int_equal(t.posts, 20);
  assert_int_equal(t.duplicates, 20);
  assert_int_equal(t.wrong_parent, 0);
  assert_true(t.users_id > 0);
  assert_true(strncmp(t.path, ".[].id=", 7) == 0);
  assert_int_equal(flurry_dedupe_count(t.dedupe), 20);
  flurry_dedupe_free(t.dedupe);
}

static void test_follow_set_parent_checks(void **state) {
  (void)state;
  flurry_request *a, *b;
  assert_int_equal(flurry_request_new(&a, "GET", "http://127.0.0.1:1/a"), FLURRY_OK);
  assert_int_equal(flurry_request_new(&b, "GET", "http://127.0.0.1:1/b"), FLURRY_OK);
  /* the parent must have been submitted (it has an id) */
  assert_int_equal(flurry_request_set_parent(b, a, "x"), FLURRY_EINVALID);
  a->id = 7; /* as submit gives */
  a->path = strdup("users");
  assert_int_equal(flurry_request_set_parent(b, a, ".[0]"), FLURRY_OK);
  assert_string_equal(flurry_request_path(b), "users/.[0]");
  assert_int_equal(flurry_request_parent(b), 7);
  char big[5000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal(flurry_request_set_parent(b, a, big), FLURRY_ETOO_LARGE);
  assert_string_equal(flurry_request_path(b), "users/.[0]"); /* unchanged */
  free(a->path);
  a->path = NULL;
  flurry_request_free(a);
  flurry_request_free(b);
}

/* ---- groups ---- */

typedef struct group_log {
  int calls;
  size_t count, failed;
  int err_profile, err_missing, err_bad;
  char profile[256];
  flurry_response *kept;
} group_log;

static void on_group(flurry_group *g, void *ud) {
  group_log *l = ud;
  l->calls++;
  l->count = flurry_group_count(g);
  l->failed = flurry_group_failed(g);
  l->err_profile = flurry_group_error(g, (size_t)flurry_group_find(g, "profile"));
  l->err_missing = flurry_group_error(g, (size_t)flurry_group_find(g, "missing"));
  l->err_bad = flurry_group_error(g, (size_t)flurry_group_find(g, "bad"));
  const flurry_response *r = flurry_group_response(g, 0);
  snprintf(l->profile, sizeof l->profile, "%s", r ? flurry_response_body(r, NULL) : "");
  l->kept = flurry_group_take(g, 1);
  assert_null(flurry_group_take(g, 1));
}

static void add_part(fixture *f, flurry_group *g, const char *name, const char *path) {
  char url[256];
  flurry_request *req;
  if (path[0] == '/')
    url_on(f, 0, path, url, sizeof url);
  else
    snprintf(url, sizeof url, "%s", path);
  assert_int_equal(flurry_request_new(&req, "GET", url), FLURRY_OK);
  assert_int_equal(flurry_group_add(g, name, req), FLURRY_OK);
}

static void test_group_one_callback_with_every_part(void **state) {
  fixture *f = *state;
  flurry_group *g;
  group_log l = {0};
  assert_int_equal(flurry_group_new(&g, f->client), FLURRY_OK);
  add_part(f, g, "profile", "/users/3");
  add_part(f, g, "posts", "/users/3/posts");
  add_part(f, g, "missing", "/status/404");
  add_part(f, g, "bad", "relative/without/base"); /* refused at submit */
  flurry_request *dup;
  assert_int_equal(flurry_request_new(&dup, "GET", "http://127.0.0.1:1/"), FLURRY_OK);
  assert_int_equal(flurry_group_add(g, "posts", dup), FLURRY_EINVALID); /* a name twice */
  flurry_request_free(dup);
  assert_int_equal(flurry_group_submit(g, on_group, &l), FLURRY_OK);
  assert_int_equal(l.calls, 0); /* never from inside submit */
  assert_int_equal(flurry_client_run(f->client), FLURRY_OK);
  assert_int_equal(l.calls, 1);
  assert_int_equal(l.count, 4);
  assert_int_equal(l.failed, 2);
  assert_int_equal(l.err_profile, FLURRY_OK);
  assert_int_equal(l.err_missing, FLURRY_EHTTP);
  assert_int_equal(l.err_bad, FLURRY_EINVALID);
  assert_non_null(strstr(l.profile, "\"id\":3"));
  assert_non_null(l.kept);
  assert_non_null(strstr(flurry_response_body(l.kept, NULL), "Post 3"));
  flurry_response_free(l.kept);
}

static void test_group_refused_entirely_stays_callers(void **state) {
  fixture *f = *state;
  flurry_group *g;
  group_log l = {0};
  assert_int_equal(flurry_group_new(&g, f->client), FLURRY_OK);
  assert_int_equal(flurry_group_submit(g, on_group, &l), FLURRY_EINVALID); /* empty */
  add_part(f, g, "a", "no/base");
  add_part(f, g, "b", "no/base/either");
  assert_int_equal(flurry_group_submit(g, on_group, &l), FLURRY_EINVALID);
  assert_int_equal(flurry_client_run(f->client), FLURRY_OK);
  assert_int_equal(l.calls, 0);
  flurry_group_free(g);
  flurry_group_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_paginate_link_every_item_once_known_pages_concurrent,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_paginate_cycle_is_a_protocol_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paginate_max_pages, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paginate_failed_page_ends_chain, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paginate_retries_apply_to_pages, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paginate_client_freed_mid_chain, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paginate_callback_error_ends_chain, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paginate_next_url_from_body, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paginate_callback_total_sends_the_rest_at_once, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_paginate_chain_stop_from_callback, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paginate_known_pages_share_the_window, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paginate_total_with_link_kind, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paginate_manual_next_cycle_at_its_page, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paginate_manual_limit_and_drop, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paginate_manual_known_pages, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paginate_stop_callback, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paginate_build_url_pages_carry_data, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paginate_checkpoint_and_first_page, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paginate_chain_stopped_at_its_page, setup, teardown),
      cmocka_unit_test_setup_teardown(test_paginate_other_origin_gets_no_credentials, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_paginate_other_origin_heuristic_names, setup, teardown),
      cmocka_unit_test(test_paginate_set_paginator_checks),
      cmocka_unit_test_setup_teardown(test_paginate_refused_by_gather_and_group, setup, teardown),
      cmocka_unit_test_setup_teardown(test_follow_provenance_and_dedupe, setup, teardown),
      cmocka_unit_test(test_follow_set_parent_checks),
      cmocka_unit_test_setup_teardown(test_group_one_callback_with_every_part, setup, teardown),
      cmocka_unit_test_setup_teardown(test_group_refused_entirely_stays_callers, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
