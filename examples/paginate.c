/* paginate.c: follow Link: <...>; rel="next" pages, 20 lists at once.
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
 * With the callback API the loop is the completion callback: it reads the
 * page, finds the next link and submits it. The pages of one list go one
 * after the other; the lists run at once. A relative next link resolves
 * against the client's base URL. (The flurry command does this with
 * `--paginate link --items '.[]'`, and more: cycles, pages known up front,
 * credentials kept to their origin.)
 *
 * Run: example_paginate [BASE_URL]   (default http://127.0.0.1:8080) */
#include <flurry.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#define LISTS 20
#define PER_PAGE 10
#define TOTAL 50 /* items per list: 5 pages each */

typedef struct list {
  flurry_client *client; /* where its next pages go */
  int pages, items, in_flight, max_in_flight, failed;
} list;

static int submit_page(list *l, const char *url);

/* The URI of the rel="next" link in a Link header value, copied into out;
 * 0 when there is none. A small parser for the example: it assumes no '<',
 * '>' or ',' inside a URI (cli/link.c in the flurry tree is the full one). */
static int next_link(const char *v, char *out, size_t outlen) {
  while (v && (v = strchr(v, '<')) != NULL) {
    const char *gt = strchr(v, '>');
    if (gt == NULL)
      return 0;
    const char *end = strchr(gt, ',');
    size_t params = end ? (size_t)(end - gt) : strlen(gt);
    const char *rel = strstr(gt, "rel=\"next\"");
    if (rel && (size_t)(rel - gt) < params && (size_t)(gt - v - 1) < outlen) {
      memcpy(out, v + 1, (size_t)(gt - v - 1));
      out[gt - v - 1] = '\0';
      return 1;
    }
    v = end;
  }
  return 0;
}

/* Items on a page: the mock's items are {"id":N,...}. */
static int count_items(const char *body) {
  int n = 0;
  for (const char *p = body; (p = strstr(p, "\"id\":")) != NULL; p += 5)
    n++;
  return n;
}

static void on_page(flurry_request *req, flurry_response *resp, void *user_data) {
  list *l = user_data;
  (void)req;
  l->in_flight--;
  if (flurry_response_error(resp) != FLURRY_OK) {
    fprintf(stderr, "page failed: %s\n", flurry_response_error_message(resp));
    l->failed = 1;
    flurry_response_free(resp);
    return;
  }
  l->pages++;
  l->items += count_items(flurry_response_body(resp, NULL));
  char next[512];
  const char *link = flurry_response_header(resp, "Link");
  /* Submitting from the callback is allowed: the next page of this list. */
  if (link && next_link(link, next, sizeof next) && submit_page(l, next) != FLURRY_OK)
    l->failed = 1;
  flurry_response_free(resp);
}

static int submit_page(list *l, const char *url) {
  flurry_request *req;
  int rc = flurry_request_new(&req, "GET", url);
  if (rc == FLURRY_OK && (rc = flurry_client_submit(l->client, req, on_page, l)) != FLURRY_OK)
    flurry_request_free(req); /* refused: still ours */
  if (rc == FLURRY_OK && ++l->in_flight > l->max_in_flight)
    l->max_in_flight = l->in_flight;
  return rc;
}

int main(int argc, char **argv) {
  const char *base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
  flurry_client *client;
  if (flurry_client_new(&client, NULL) != FLURRY_OK)
    return 1;
  if (flurry_client_set_base_url(client, base) != FLURRY_OK) {
    fprintf(stderr, "bad base URL '%s'\n", base);
    flurry_client_free(client);
    return 2;
  }
  list lists[LISTS];
  memset(lists, 0, sizeof lists);
  uint64_t t0 = uv_hrtime();
  for (int i = 0; i < LISTS; i++) { /* each page takes 20 ms on the mock */
    char url[128];
    snprintf(url, sizeof url, "/items?per_page=%d&total=%d&delay_ms=20&list=%d", PER_PAGE, TOTAL,
             i);
    lists[i].client = client;
    if (submit_page(&lists[i], url) != FLURRY_OK)
      lists[i].failed = 1;
  }
  flurry_client_run(client);
  double ms = (double)(uv_hrtime() - t0) / 1e6;

  int pages = 0, items = 0, complete = 0, sequential = 1;
  for (int i = 0; i < LISTS; i++) {
    pages += lists[i].pages;
    items += lists[i].items;
    complete += !lists[i].failed && lists[i].items == TOTAL;
    sequential &= lists[i].max_in_flight <= 1;
  }
  printf("paginated %d/%d lists: %d pages, %d items in %.0f ms\n", complete, LISTS, pages, items,
         ms);
  /* One list after the other would take 20 x 5 x 20 ms = 2 s. */
  printf("pages of a list one at a time: %s; the lists at once: %s\n", sequential ? "yes" : "no",
         ms < LISTS * (TOTAL / PER_PAGE) * 20 / 2 ? "yes" : "no");
  flurry_client_free(client);
  return complete == LISTS && sequential ? 0 : 1;
}
