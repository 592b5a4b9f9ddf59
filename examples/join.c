/* join.c: three calls per user at once, one merged line per user when the
 * three are back; a failed call is named and the others kept.
 *
 * The tutorials gather per item:
 *
 *     profile, posts, comments = await asyncio.gather(
 *         get(f"/users/{u}"), get(f"/users/{u}/posts"), get(f"/users/{u}/comments"),
 *         return_exceptions=True)
 *
 * A flurry_group sends named requests at once and calls back once, when the
 * last is back, with each part's response or typed error. (The flurry
 * command does this with `--join profile=URL/users/{} --join posts=...
 * --reduce EXPR`.)
 *
 * Run: example_join [BASE_URL]   (default http://127.0.0.1:8080) */
#include <flurry.h>
#include <stdio.h>
#include <string.h>

#define PARTS 3

static const char *const names[PARTS] = {"profile", "posts", "comments"};
static const char *const paths[PARTS] = {"/users/%d", "/users/%d/posts", "/users/%d/comments"};

typedef struct tally {
  int joined, with_failure;
} tally;

typedef struct user {
  tally *t;
  int id;
} user;

/* {"user":U,"profile":...,"posts":...,"error":"part comments: ..."} */
static void on_joined(flurry_group *g, void *ud) {
  user *u = ud;
  const char *failed = NULL, *why = NULL;
  printf("{\"user\":%d", u->id);
  for (size_t i = 0; i < flurry_group_count(g); i++) {
    const flurry_response *r = flurry_group_response(g, i);
    if (flurry_group_error(g, i) == FLURRY_OK)
      printf(",\"%s\":%s", flurry_group_name(g, i), flurry_response_body(r, NULL));
    else if (failed == NULL) {
      failed = flurry_group_name(g, i);
      why = r ? flurry_response_error_message(r) : "not sent";
    }
  }
  if (failed)
    printf(",\"error\":\"part %s: %s\"", failed, why);
  printf("}\n");
  u->t->joined++;
  u->t->with_failure += flurry_group_failed(g) > 0;
  /* the group and its responses are freed when this returns */
}

/* Sends the parts of user u as one group. */
static int join_user(flurry_client *client, user *u) {
  flurry_group *g;
  if (flurry_group_new(&g, client) != FLURRY_OK)
    return -1;
  for (int i = 0; i < PARTS; i++) {
    char url[64];
    flurry_request *req;
    snprintf(url, sizeof url, paths[i], u->id);
    if (flurry_request_new(&req, "GET", url) != FLURRY_OK)
      continue;
    if (flurry_group_add(g, names[i], req) != FLURRY_OK)
      flurry_request_free(req); /* not added: still ours */
  }
  if (flurry_group_submit(g, on_joined, u) != FLURRY_OK) {
    flurry_group_free(g); /* nothing went: still ours */
    return -1;
  }
  return 0;
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
  tally t = {0, 0};
  user users[11];
  for (int u = 0; u <= 10; u++) { /* user 0 does not exist: its profile is a 404 */
    users[u] = (user){&t, u};
    join_user(client, &users[u]);
  }
  flurry_client_run(client);
  int joined = t.joined, with_failure = t.with_failure;
  printf("joined %d/11 users, %d with a failed part\n", joined, with_failure);
  flurry_client_free(client);
  return joined == 11 && with_failure == 1 ? 0 : 1;
}
