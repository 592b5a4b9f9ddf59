/* paginate.c: the client follows the pages itself: 20 lists by their Link
 * headers, a list whose next URL is in the body, a list whose next links
 * go round, and a next link to another origin.
 *
 * The tutorials paginate with a loop per list:
 *
 *     async def fetch_all(url):
 *         while url:
 *             async with session.get(url) as r:
 *                 items += await r.json()
 *                 url = r.links.get("next", {}).get("url")
 *     await asyncio.gather(*(fetch_all(u) for u in lists))
 *
 * With a paginator on the first request (flurry_request_set_paginator)
 * there is no loop to write: every page comes to the completion callback,
 * flurry_request_page() says which, and on_end says how the chain ended.
 * When page 1 has rel="last" the other pages go out at once; a next link
 * already requested in the chain ends it with FLURRY_EPROTOCOL
 * ("pagination_cycle"); a page at another origin is sent without the
 * credentials. (The flurry command does the same with
 * `--paginate link --items '.[]'`.)
 *
 * Run: example_paginate [BASE_URL [OTHER_ORIGIN_URL]]
 *      (default http://127.0.0.1:8080; the other origin is optional) */
#include <ctype.h>
#include <flurry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LISTS 20
#define PER_PAGE 10
#define TOTAL 50 /* items per list: 5 pages each */
#define MAX_ID 1000

typedef struct list {
  int pages, items, dups, known, ends, end_err, end_detail, failed;
  unsigned char seen[MAX_ID + 1]; /* items by id */
  char body[2][1024];             /* the first two pages, as they came */
} list;

/* Counts the "id":N of a page in l->seen. */
static void count_items(list *l, const char *body) {
  for (const char *p = body; (p = strstr(p, "\"id\":")) != NULL;) {
    char *end;
    long id = strtol(p + 5, &end, 10);
    p = end;
    if (id < 1 || id > MAX_ID)
      continue;
    l->items++;
    l->dups += l->seen[id]++ > 0;
  }
}

/* Every page of every chain comes here. */
static void on_page(flurry_request *req, flurry_response *resp, void *user_data) {
  list *l = user_data;
  flurry_page page;
  flurry_request_page(req, &page);
  l->pages++;
  l->known += page.known;
  if (page.number <= 2)
    snprintf(l->body[page.number - 1], sizeof l->body[0], "%s", flurry_response_body(resp, NULL));
  if (flurry_response_error(resp) == FLURRY_OK)
    count_items(l, flurry_response_body(resp, NULL));
  else
    l->failed++;
  flurry_response_free(resp);
}

/* Once per chain, after its last page. */
static void on_end(const flurry_chain_end *end, void *user_data) {
  list *l = user_data;
  l->ends++;
  l->end_err = end->error;
  l->end_detail = end->detail;
}

/* The mock's cursor pages say "next":"/items/cursor?cursor=..." (or null). */
static int next_in_body(const flurry_response *resp, const flurry_page *page, char *url, size_t len,
                        void *user_data) {
  (void)page;
  (void)user_data;
  const char *p = strstr(flurry_response_body(resp, NULL), "\"next\":\"");
  if (p == NULL)
    return 0; /* the last page */
  p += strlen("\"next\":\"");
  size_t n = strcspn(p, "\"");
  if (n >= len)
    return FLURRY_ETOO_LARGE;
  memcpy(url, p, n);
  url[n] = '\0';
  return 1;
}

/* Starts a chain at url. */
static int paginate(flurry_client *client, const char *url, flurry_paginate_kind kind, list *l) {
  flurry_paginator pg = {.kind = kind, .next_url = next_in_body, .on_end = on_end, .user_data = l};
  flurry_request *req;
  int rc = flurry_request_new(&req, "GET", url);
  if (rc == FLURRY_OK)
    rc = flurry_request_set_paginator(req, &pg);
  if (rc == FLURRY_OK)
    rc = flurry_client_submit(client, req, on_page, l);
  if (rc != FLURRY_OK) {
    flurry_request_free(req); /* refused: still ours */
    l->failed++;
  }
  return rc;
}

/* 1 when every item 1..total came exactly once. */
static int each_once(const list *l, int total) {
  for (int id = 1; id <= total; id++)
    if (l->seen[id] != 1)
      return 0;
  return l->items == total && l->dups == 0;
}

static int has_authorization(const char *body) {
  char lower[1024];
  size_t i = 0;
  for (; body[i] && i + 1 < sizeof lower; i++)
    lower[i] = (char)tolower((unsigned char)body[i]);
  lower[i] = '\0';
  return strstr(lower, "\"authorization\":\"") != NULL;
}

/* The most pages the mock had in flight at once since the last reset
 * (GET /items/stats?reset=1 reads and resets). */
static long server_in_flight_max(flurry_client *client) {
  flurry_request *req;
  flurry_response *resp = NULL;
  if (flurry_request_new(&req, "GET", "/items/stats?reset=1") != FLURRY_OK ||
      flurry_gather(client, &req, 1, &resp) != FLURRY_OK || resp == NULL)
    return -1;
  const char *p = strstr(flurry_response_body(resp, NULL), "\"in_flight_max\":");
  long n = p ? strtol(p + 16, NULL, 10) : -1;
  flurry_response_free(resp);
  return n;
}

int main(int argc, char **argv) {
  const char *base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
  const char *other = argc > 2 ? argv[2] : NULL;
  flurry_client *client;
  if (flurry_client_new(&client, NULL) != FLURRY_OK)
    return 1;
  if (flurry_client_set_base_url(client, base) != FLURRY_OK) {
    fprintf(stderr, "bad base URL '%s'\n", base);
    flurry_client_free(client);
    return 2;
  }
  flurry_client_add_header(client, "Authorization", "Bearer example-token");
  list *lists = calloc(LISTS + 4, sizeof *lists);
  if (lists == NULL)
    return 1;
  list *big = &lists[LISTS], *cursor = &lists[LISTS + 1], *loop = &lists[LISTS + 2],
       *away = &lists[LISTS + 3];
  /* One list of 1,000 items, 20 pages of 50 ms: rel="last" on page 1 says
   * there are 20, so pages 2..20 go out at once. */
  server_in_flight_max(client); /* reset the mock's count */
  paginate(client, "/items?per_page=50&total=1000&delay_ms=50", FLURRY_PAGINATE_LINK, big);
  flurry_client_run(client);
  long in_flight = server_in_flight_max(client);
  int big_ok = big->ends == 1 && big->end_err == FLURRY_OK && each_once(big, 1000);
  printf("one list: %d pages (%d known up front), %d items, each once: %s\n", big->pages,
         big->known, big->items, big_ok ? "yes" : "no");
  printf("the server had up to %ld pages in flight at once\n", in_flight);

  char url[512];
  for (int i = 0; i < LISTS; i++) { /* each page takes 20 ms on the mock */
    snprintf(url, sizeof url, "/items?per_page=%d&total=%d&delay_ms=20&list=%d", PER_PAGE, TOTAL,
             i);
    paginate(client, url, FLURRY_PAGINATE_LINK, &lists[i]);
  }
  paginate(client, "/items/cursor?limit=100&total=1000", FLURRY_PAGINATE_NEXT_URL, cursor);
  paginate(client, "/items/loop?page=1", FLURRY_PAGINATE_LINK, loop);
  if (other) {
    snprintf(url, sizeof url, "/items/link?next=%s/headers", other);
    paginate(client, url, FLURRY_PAGINATE_LINK, away);
  }
  flurry_client_run(client);

  int pages = 0, items = 0, complete = 0, known = 0;
  for (int i = 0; i < LISTS; i++) {
    pages += lists[i].pages;
    items += lists[i].items;
    known += lists[i].known;
    complete += lists[i].ends == 1 && lists[i].end_err == FLURRY_OK && each_once(&lists[i], TOTAL);
  }
  int good = big_ok && in_flight > 1 && complete == LISTS;
  printf("%d lists at once: %d/%d complete, %d pages (%d known up front), %d items, each once\n",
         LISTS, complete, LISTS, pages, known, items);
  int cursor_ok = cursor->ends == 1 && cursor->end_err == FLURRY_OK && each_once(cursor, 1000);
  printf("next URL in the body: %d pages, %d items, each once: %s\n", cursor->pages, cursor->items,
         cursor_ok ? "yes" : "no");
  printf("loop: stopped after %d pages: %s/%s\n", loop->pages, flurry_err_name(loop->end_err),
         flurry_detail_name(loop->end_detail));
  good &= cursor_ok && loop->ends == 1 && loop->end_err == FLURRY_EPROTOCOL &&
          loop->end_detail == FLURRY_DETAIL_PAGINATION_CYCLE;
  if (other) {
    int first = has_authorization(away->body[0]), second = has_authorization(away->body[1]);
    printf("Authorization sent to page 1: %s; to page 2 at another origin: %s\n",
           first ? "yes" : "no", second ? "yes" : "no");
    good &= away->pages == 2 && away->failed == 0 && first && !second;
  }
  flurry_client_free(client);
  free(lists);
  return good ? 0 : 1;
}
