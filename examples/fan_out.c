/* fan_out.c: one call lists users, each user's posts, each post's comments;
 * a post shared by two users is fetched once, and every request knows its
 * parent and the path that made it.
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
 * in-flight limit bounds them all. flurry_request_set_parent records the
 * provenance (parent request id, path of steps); flurry_client_submit_unique
 * with a flurry_dedupe set skips a request made before. (The flurry
 * command does this with
 * `--each '.[].id' URL/users/{}/posts --each '.[].id' URL/posts/{}/comments`,
 * and records each result's provenance.)
 *
 * Run: example_fan_out [BASE_URL]   (default http://127.0.0.1:8080) */
#include <flurry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USERS 50

#define MAX_REQUESTS 4096

typedef struct tree {
  flurry_client *client;
  flurry_dedupe *dedupe;                    /* follow-ups already made */
  unsigned char is_post_list[MAX_REQUESTS]; /* by request id */
  int requests, failed, posts_listed, duplicates, comments, bad_provenance;
  const flurry_request *parent; /* the response being read */
} tree;

static void on_users(flurry_request *, flurry_response *, void *);
static void on_posts(flurry_request *, flurry_response *, void *);
static void on_comments(flurry_request *, flurry_response *, void *);

/* A follow-up of t->parent made by step (NULL: the first request). */
static void get(tree *t, const char *url, const char *step, flurry_done_cb cb) {
  flurry_request *req;
  if (flurry_request_new(&req, "GET", url) != FLURRY_OK ||
      (step && flurry_request_set_parent(req, t->parent, step) != FLURRY_OK)) {
    flurry_request_free(req);
    t->failed++;
    return;
  }
  int submitted = 0;
  int rc = flurry_client_submit_unique(t->client, req, t->dedupe, cb, t, &submitted);
  if (rc != FLURRY_OK || !submitted) {
    flurry_request_free(req); /* refused or a duplicate: still ours */
    if (rc == FLURRY_OK)
      t->duplicates++;
    else
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
  char url[64], step[64];
  snprintf(url, sizeof url, "/users/%ld/posts", id);
  snprintf(step, sizeof step, "user %ld", id);
  get(t, url, step, on_posts);
}

static void post(tree *t, long id) {
  char url[64], step[64];
  t->posts_listed++;
  snprintf(url, sizeof url, "/posts/%ld/comments", id);
  snprintf(step, sizeof step, "post %ld", id);
  get(t, url, step, on_comments); /* a post listed twice is fetched once */
}

static void comment(tree *t, long id) {
  (void)id;
  t->comments++;
}

/* Reads the ids of a response, each making a follow-up of req. */
static void read_ids(tree *t, flurry_request *req, flurry_response *resp,
                     void (*each)(tree *, long)) {
  t->parent = req;
  if (ok(t, resp))
    each_id(t, flurry_response_body(resp, NULL), each);
  flurry_response_free(resp);
}

static void on_users(flurry_request *req, flurry_response *resp, void *ud) {
  read_ids(ud, req, resp, user);
}

static void on_posts(flurry_request *req, flurry_response *resp, void *ud) {
  tree *t = ud;
  uint64_t id = flurry_request_id(req);
  if (id < MAX_REQUESTS)
    t->is_post_list[id] = 1;
  /* "user U": one step from the users list */
  t->bad_provenance += strncmp(flurry_request_path(req), "user ", 5) != 0;
  read_ids(t, req, resp, post);
}

static void on_comments(flurry_request *req, flurry_response *resp, void *ud) {
  tree *t = ud;
  uint64_t parent = flurry_request_parent(req);
  /* "user U/post P": its parent is a posts list */
  t->bad_provenance += parent >= MAX_REQUESTS || !t->is_post_list[parent] ||
                       strstr(flurry_request_path(req), "/post ") == NULL;
  read_ids(t, req, resp, comment);
}

int main(int argc, char **argv) {
  const char *base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
  tree *t = calloc(1, sizeof *t);
  if (t == NULL || flurry_client_new(&t->client, NULL) != FLURRY_OK ||
      flurry_dedupe_new(&t->dedupe, 100000) != FLURRY_OK)
    return 1;
  if (flurry_client_set_base_url(t->client, base) != FLURRY_OK) {
    fprintf(stderr, "bad base URL '%s'\n", base);
    flurry_client_free(t->client);
    flurry_dedupe_free(t->dedupe);
    free(t);
    return 2;
  }
  flurry_client_set(t->client, FLURRY_OPT_MAX_IN_FLIGHT, 20);
  char url[64];
  snprintf(url, sizeof url, "/users?per_page=%d&total=%d", USERS, USERS);
  get(t, url, NULL, on_users);
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
  printf("posts listed %d, %d of them already fetched (skipped), comments %d\n", t->posts_listed,
         t->duplicates, t->comments);
  printf("provenance: every request names its parent and path: %s\n",
         t->bad_provenance ? "no" : "yes");
  int good = t->failed == 0 && t->posts_listed == want_listed && t->comments == want_comments &&
             t->requests == 1 + USERS + last && t->bad_provenance == 0;
  printf("%s\n",
         good ? "fan-out matches the mock's data" : "fan-out does NOT match the mock's data");
  flurry_client_free(t->client);
  flurry_dedupe_free(t->dedupe);
  free(t);
  return good ? 0 : 1;
}
