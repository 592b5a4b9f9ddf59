/* group.c: named requests sent together, one callback when the last is
 * back (asyncio.gather of a few calls, by name): the join of several
 * endpoints into one record. */
#include <string.h>

#include "client_int.h"
#include "response_int.h"

#define GROUP_MAX_PARTS 1024

typedef struct gpart {
  char *name;
  flurry_request *req;   /* until submitted */
  flurry_response *resp; /* once back, until taken */
  int err;
} gpart;

struct flurry_group {
  flurry_client *client;
  gpart *part;
  size_t n, cap;
  size_t left; /* parts not back yet (+1 while submitting) */
  int submitted;
  flurry_group_cb cb;
  void *ud;
};

typedef struct gref {
  flurry_group *g;
  size_t i;
} gref;

FLURRY_API int flurry_group_new(flurry_group **out, flurry_client *client) {
  if (out == NULL || client == NULL)
    return FLURRY_EINVALID;
  flurry_group *g = fl_calloc(1, sizeof *g);
  if (g == NULL)
    return FLURRY_ENOMEM;
  g->client = client;
  *out = g;
  return FLURRY_OK;
}

FLURRY_API void flurry_group_free(flurry_group *g) {
  if (g == NULL)
    return;
  for (size_t i = 0; i < g->n; i++) {
    fl_free(g->part[i].name);
    flurry_request_free(g->part[i].req);
    flurry_response_free(g->part[i].resp);
  }
  fl_free(g->part);
  fl_free(g);
}

FLURRY_API int flurry_group_find(const flurry_group *g, const char *name) {
  for (size_t i = 0; g && name && i < g->n; i++)
    if (strcmp(g->part[i].name, name) == 0)
      return (int)i;
  return -1;
}

FLURRY_API int flurry_group_add(flurry_group *g, const char *name, flurry_request *req) {
  if (g == NULL || name == NULL || req == NULL || req->state != REQ_NEW || req->chain ||
      g->submitted || g->n >= GROUP_MAX_PARTS || flurry_group_find(g, name) >= 0)
    return FLURRY_EINVALID;
  if (g->n == g->cap) {
    size_t cap = g->cap ? g->cap * 2 : 4;
    gpart *p = fl_realloc(g->part, cap * sizeof *p);
    if (p == NULL)
      return FLURRY_ENOMEM;
    g->part = p;
    g->cap = cap;
  }
  gpart *p = &g->part[g->n];
  memset(p, 0, sizeof *p);
  if ((p->name = fl_strdup(name)) == NULL)
    return FLURRY_ENOMEM;
  p->req = req;
  g->n++;
  return FLURRY_OK;
}

/* The last part is back: the callback, then the group goes. */
static void group_release(flurry_group *g) {
  if (--g->left > 0)
    return;
  g->cb(g, g->ud);
  flurry_group_free(g);
}

static void on_part(flurry_request *req, flurry_response *resp, void *ud) {
  gref *ref = ud;
  flurry_group *g = ref->g;
  gpart *p = &g->part[ref->i];
  (void)req;
  fl_free(ref);
  p->resp = resp;
  p->err = resp->err;
  group_release(g);
}

/* A part the client refused: an error response in its place. */
static int refuse(gpart *p, int err) {
  flurry_response *resp = flurry__response_new(1);
  if (resp == NULL)
    return FLURRY_ENOMEM;
  flurry__response_set_error(resp, err, "%s: %s %s", flurry_strerror(err), p->req->method,
                             p->req->url);
  flurry_request_free(p->req);
  p->req = NULL;
  p->resp = resp;
  p->err = err;
  return FLURRY_OK;
}

FLURRY_API int flurry_group_submit(flurry_group *g, flurry_group_cb cb, void *user_data) {
  if (g == NULL || cb == NULL || g->n == 0 || g->submitted)
    return FLURRY_EINVALID;
  if (g->client->closing)
    return FLURRY_ECANCELLED;
  size_t sent = 0;
  int first_err = FLURRY_OK;
  g->cb = cb;
  g->ud = user_data;
  g->left = 1; /* held while submitting: no part can end the group early */
  for (size_t i = 0; i < g->n; i++) {
    gref *ref = fl_malloc(sizeof *ref);
    int rc = FLURRY_ENOMEM;
    if (ref) {
      ref->g = g;
      ref->i = i;
      rc = flurry_client_submit(g->client, g->part[i].req, on_part, ref);
    }
    if (rc == FLURRY_OK) {
      g->part[i].req = NULL; /* the client's now */
      g->left++;
      sent++;
    } else {
      fl_free(ref);
      g->part[i].err = rc;
      first_err = first_err ? first_err : rc;
    }
  }
  if (sent == 0) { /* nothing went: the caller keeps the group */
    for (size_t i = 0; i < g->n; i++)
      g->part[i].err = FLURRY_OK;
    g->left = 0;
    return first_err == FLURRY_ENOMEM || first_err == FLURRY_ECANCELLED ? first_err
                                                                        : FLURRY_EINVALID;
  }
  g->submitted = 1;
  for (size_t i = 0; i < g->n; i++)
    if (g->part[i].req && refuse(&g->part[i], g->part[i].err) != FLURRY_OK)
      g->part[i].err = FLURRY_ENOMEM; /* its slot stays without a response */
  g->left--;                          /* the parts are out: the last one back ends the group */
  return FLURRY_OK;
}

/* ---- in the callback ---- */

FLURRY_API size_t flurry_group_count(const flurry_group *g) { return g ? g->n : 0; }

FLURRY_API const char *flurry_group_name(const flurry_group *g, size_t i) {
  return g && i < g->n ? g->part[i].name : NULL;
}

FLURRY_API const flurry_response *flurry_group_response(const flurry_group *g, size_t i) {
  return g && i < g->n ? g->part[i].resp : NULL;
}

FLURRY_API int flurry_group_error(const flurry_group *g, size_t i) {
  return g && i < g->n ? g->part[i].err : FLURRY_EINVALID;
}

FLURRY_API size_t flurry_group_failed(const flurry_group *g) {
  size_t n = 0;
  for (size_t i = 0; g && i < g->n; i++)
    n += g->part[i].err != FLURRY_OK;
  return n;
}

FLURRY_API flurry_response *flurry_group_take(flurry_group *g, size_t i) {
  if (g == NULL || i >= g->n)
    return NULL;
  flurry_response *r = g->part[i].resp;
  g->part[i].resp = NULL;
  return r;
}
