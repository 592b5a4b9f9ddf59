/* join.c: three calls per user at once, one merged line per user when the
 * three are back; a failed call is named and the others kept.
 *
 * The tutorials gather per item:
 *
 *     profile, posts, comments = await asyncio.gather(
 *         get(f"/users/{u}"), get(f"/users/{u}/posts"), get(f"/users/{u}/comments"),
 *         return_exceptions=True)
 *
 * With the callback API a small struct counts the parts still out; the
 * last callback to arrive writes the line. (The flurry command does this
 * with `--join profile=URL/users/{} --join posts=... --reduce EXPR`.)
 *
 * Run: example_join [BASE_URL]   (default http://127.0.0.1:8080) */
#include <flurry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARTS 3

static const char *const names[PARTS] = {"profile", "posts", "comments"};
static const char *const paths[PARTS] = {"/users/%d", "/users/%d/posts", "/users/%d/comments"};

typedef struct group {
  int user;
  int left; /* parts not back yet */
  flurry_response *part[PARTS];
  int *joined, *with_failure;
} group;

typedef struct part_ref {
  group *g;
  int i;
} part_ref;

/* {"user":U,"profile":...,"posts":...,"error":"part comments: ..."} */
static void write_line(group *g) {
  printf("{\"user\":%d", g->user);
  const char *failed = NULL, *why = NULL;
  for (int i = 0; i < PARTS; i++) {
    flurry_response *r = g->part[i];
    if (r && flurry_response_error(r) == FLURRY_OK)
      printf(",\"%s\":%s", names[i], flurry_response_body(r, NULL));
    else if (failed == NULL) {
      failed = names[i];
      why = r ? flurry_response_error_message(r) : "not sent";
    }
  }
  if (failed)
    printf(",\"error\":\"part %s: %s\"", failed, why);
  printf("}\n");
  (*g->joined)++;
  *g->with_failure += failed != NULL;
}

static void on_part(flurry_request *req, flurry_response *resp, void *ud) {
  part_ref *ref = ud;
  group *g = ref->g;
  (void)req;
  g->part[ref->i] = resp; /* kept until the group is written */
  free(ref);
  if (--g->left > 0)
    return;
  write_line(g);
  for (int i = 0; i < PARTS; i++)
    flurry_response_free(g->part[i]);
  free(g);
}

/* Sends the parts of user u; the group is written when the last is back. */
static void join_user(flurry_client *client, int u, int *joined, int *with_failure) {
  group *g = calloc(1, sizeof *g);
  if (g == NULL)
    return;
  g->user = u;
  g->joined = joined;
  g->with_failure = with_failure;
  g->left = 1; /* held while sending, so no callback can write it early */
  for (int i = 0; i < PARTS; i++) {
    char url[64];
    snprintf(url, sizeof url, paths[i], u);
    flurry_request *req;
    part_ref *ref = malloc(sizeof *ref);
    if (ref == NULL || flurry_request_new(&req, "GET", url) != FLURRY_OK) {
      free(ref);
      continue; /* part[i] stays NULL: "not sent" */
    }
    *ref = (part_ref){g, i};
    g->left++;
    if (flurry_client_submit(client, req, on_part, ref) != FLURRY_OK) {
      flurry_request_free(req);
      free(ref);
      g->left--;
    }
  }
  if (--g->left == 0) { /* nothing could be sent */
    write_line(g);
    free(g);
  }
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
  int joined = 0, with_failure = 0;
  for (int u = 0; u <= 10; u++) /* user 0 does not exist: its profile is a 404 */
    join_user(client, u, &joined, &with_failure);
  flurry_client_run(client);
  printf("joined %d/11 users, %d with a failed part\n", joined, with_failure);
  flurry_client_free(client);
  return joined == 11 && with_failure == 1 ? 0 : 1;
}
