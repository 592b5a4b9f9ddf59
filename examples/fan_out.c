/* fan_out.c: one call lists users, each user's posts, each post's comments;
 * a post shared by two users is fetched once.
 *
 * The tutorials chain gathers:
 *
 *     users = await get("/users")
 *     posts = await asyncio.gather(*(get(f"/users/{u['id']}/posts") for u in users))
 *     ids = {p["id"] for ps in posts for p in ps}           # de-duplicated
 *     comments = await asyncio.gather(*(get(f"/posts/{i}/comments") for i in ids))
 *
 * With the callback API each response submits the next level as soon as it
 * arrives (no waiting for the slowest of a level), and the client's
 * in-flight limit bounds them all. (The flurry command does this with
 * `--each '.[].id' URL/users/{}/posts --each '.[].id' URL/posts/{}/comments`,
 * and records each result's provenance.)
 *
 * Run: example_fan_out [BASE_URL]   (default http://127.0.0.1:8080) */
#include <flurry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USERS 50
#define MAX_ID 1000

typedef struct tree {
  flurry_client *client;
  unsigned char seen[MAX_ID + 1]; /* post ids already requested */
  int requests, failed, posts_listed, duplicates, comments;
} tree;

static void on_users(flurry_request *, flurry_response *, void *);
static void on_posts(flurry_request *, flurry_response *, void *);
static void on_comments(flurry_request *, flurry_response *, void *);

static void get(tree *t, const char *url, flurry_done_cb cb) {
  flurry_request *req;
  if (flurry_request_new(&req, "GET", url) != FLURRY_OK) {
    t->failed++;
    return;
  }
  if (flurry_client_submit(t->client, req, cb, t) != FLURRY_OK) {
    flurry_request_free(req); /* refused: still ours */
    t->failed++;
    return;
  }
  t->requests++;
}

/* Calls each(t, id) for every "id":N in a JSON body (the mock's lists). */
static void each_id(tree *t, const char *body, void (*each)(tree *, long)) {
  for (const char *p = body; (p = strstr(p, "\"id\":")) != NULL;) {
    char *end;
    long id = strtol(p + 5, &end, 10);
    each(t, id);
    p = end;
  }
}

static int ok(tree *t, flurry_response *resp) {
  if (flurry_response_error(resp) == FLURRY_OK)
    return 1;
  fprintf(stderr, "failed: %s\n", flurry_response_error_message(resp));
  t->failed++;
  return 0;
}

static void user(tree *t, long id) {
  char url[64];
  snprintf(url, sizeof url, "/users/%ld/posts", id);
  get(t, url, on_posts);
}

static void post(tree *t, long id) {
  t->posts_listed++;
  if (id < 0 || id > MAX_ID || t->seen[id]++) { /* already asked for: skip */
    t->duplicates++;
    return;
  }
  char url[64];
  snprintf(url, sizeof url, "/posts/%ld/comments", id);
  get(t, url, on_comments);
}

static void comment(tree *t, long id) {
  (void)id;
  t->comments++;
}

static void on_users(flurry_request *req, flurry_response *resp, void *ud) {
  (void)req;
  if (ok(ud, resp))
    each_id(ud, flurry_response_body(resp, NULL), user);
  flurry_response_free(resp);
}

static void on_posts(flurry_request *req, flurry_response *resp, void *ud) {
  (void)req;
  if (ok(ud, resp))
    each_id(ud, flurry_response_body(resp, NULL), post);
  flurry_response_free(resp);
}

static void on_comments(flurry_request *req, flurry_response *resp, void *ud) {
  (void)req;
  if (ok(ud, resp))
    each_id(ud, flurry_response_body(resp, NULL), comment);
  flurry_response_free(resp);
}

int main(int argc, char **argv) {
  const char *base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
  tree *t = calloc(1, sizeof *t);
  if (t == NULL || flurry_client_new(&t->client, NULL) != FLURRY_OK)
    return 1;
  if (flurry_client_set_base_url(t->client, base) != FLURRY_OK) {
    fprintf(stderr, "bad base URL '%s'\n", base);
    flurry_client_free(t->client);
    free(t);
    return 2;
  }
  flurry_client_set(t->client, FLURRY_OPT_MAX_IN_FLIGHT, 20);
  char url[64];
  snprintf(url, sizeof url, "/users?per_page=%d&total=%d", USERS, USERS);
  get(t, url, on_users);
  flurry_client_run(t->client);

  /* On the mock, user u has posts u .. u + u%3 and post p has 1 + p%3
   * comments: the expected figures, to check against. */
  int want_listed = 0, want_comments = 0, last = 0;
  for (int u = 1; u <= USERS; u++) {
    want_listed += 1 + u % 3;
    last = u + u % 3 > last ? u + u % 3 : last;
  }
  for (int p = 1; p <= last; p++)
    want_comments += 1 + p % 3;
  printf("%d requests: 1 list, %d users' posts, %d posts' comments\n", t->requests, USERS,
         t->requests - 1 - USERS);
  printf("posts listed %d, %d of them already fetched (skipped), comments %d\n",
         t->posts_listed, t->duplicates, t->comments);
  int good = t->failed == 0 && t->posts_listed == want_listed && t->comments == want_comments &&
             t->requests == 1 + USERS + last;
  printf("%s\n", good ? "fan-out matches the mock's data" : "fan-out does NOT match the mock's data");
  flurry_client_free(t->client);
  free(t);
  return good ? 0 : 1;
}
