/* secret.c: which headers carry credentials: the one rule, for the
 * library (redirects and pages to another origin go without them) and for
 * its clients (flurry_header_is_secret: the command's -H headers, its
 * input lines' headers, what it masks in records). Authorization,
 * Proxy-Authorization and Cookie always are; flurry_client_add_secret_header
 * adds names (X-Api-Key...); FLURRY_OPT_SECRET_NAME_HEURISTIC adds every
 * request header whose name has a credential's word in it. A response
 * header is looked at by name only, and Set-Cookie is one. */
#include <string.h>

#include "client_int.h"
#include "request_int.h"
#include "secret_int.h"

#define MAX_SECRET_NAMES 256
#define MAX_SECRET_NAME 256

static int same_name(const char *a, size_t na, const char *b, size_t nb) {
  return na == nb && fl_strncaseeq(a, b, na);
}

/* Authorization, Proxy-Authorization, Cookie, or one of c's names. */
static int named_secret(const flurry_client *c, const char *name, size_t len) {
  static const char *const always[] = {"Authorization", "Proxy-Authorization", "Cookie"};
  for (size_t i = 0; i < sizeof always / sizeof always[0]; i++)
    if (same_name(name, len, always[i], strlen(always[i])))
      return 1;
  for (size_t i = 0; c != NULL && i < c->nsecrets; i++)
    if (same_name(name, len, c->secrets[i], strlen(c->secrets[i])))
      return 1;
  return 0;
}

/* A name with a credential's word in it: X-Api-Key, X-Auth-Token... */
static int word_secret(const char *name, size_t len) {
  static const char *const words[] = {"auth",    "cookie", "token",      "key",      "secret",
                                      "session", "passw",  "credential", "signature"};
  for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
    size_t wl = strlen(words[w]);
    for (size_t i = 0; i + wl <= len; i++)
      if (fl_strncaseeq(name + i, words[w], wl))
        return 1;
  }
  return 0;
}

int flurry__header_is_secret(const flurry_client *c, const char *name, size_t len) {
  if (name == NULL)
    return 0;
  int words = c != NULL && c->opts.v[FLURRY_OPT_SECRET_NAME_HEURISTIC];
  return named_secret(c, name, len) || (words && word_secret(name, len));
}

FLURRY_API int flurry_header_is_secret(const flurry_client *client, const char *name,
                                       flurry_header_dir dir) {
  if (name == NULL)
    return 0;
  size_t len = strlen(name);
  if (dir == FLURRY_HEADER_RESPONSE)
    return named_secret(client, name, len) || same_name(name, len, "Set-Cookie", 10);
  return dir == FLURRY_HEADER_REQUEST && flurry__header_is_secret(client, name, len);
}


FLURRY_API int flurry_client_add_secret_header(flurry_client *c, const char *name) {
  if (c == NULL || !flurry__header_valid(name, "") || strlen(name) > MAX_SECRET_NAME)
    return FLURRY_EINVALID;
  if (named_secret(c, name, strlen(name))) /* the heuristic's aside: a name is
                                              both ways */
    return FLURRY_OK;
  if (c->nsecrets >= MAX_SECRET_NAMES)
    return FLURRY_EINVALID;
  char **v = fl_realloc(c->secrets, (c->nsecrets + 1) * sizeof *v);
  if (v == NULL)
    return FLURRY_ENOMEM;
  c->secrets = v;
  v[c->nsecrets] = fl_strdup(name);
  if (v[c->nsecrets] == NULL)
    return FLURRY_ENOMEM;
  c->nsecrets++;
  return FLURRY_OK;
}

void flurry__secrets_free(flurry_client *c) {
  for (size_t i = 0; i < c->nsecrets; i++)
    fl_free(c->secrets[i]);
  fl_free(c->secrets);
  c->secrets = NULL;
  c->nsecrets = 0;
}

/* A "Name: value" line whose header is secret: a page at another origin
 * than page 1's drops it (client.c). */
int flurry__secret_line(const flurry_client *c, const char *line) {
  return flurry__header_is_secret(c, line, strcspn(line, ":;"));
}
