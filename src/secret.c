/* secret.c: which request headers carry credentials. A secret header is
 * never sent to an origin other than the request's own (redirects), and its
 * value never appears in a message or a record. Authorization,
 * Proxy-Authorization and Cookie always are; flurry_client_add_secret_header
 * adds more (X-Api-Key...). */
#include <string.h>

#include "internal.h"

#define MAX_SECRET_NAMES 256
#define MAX_SECRET_NAME 256

static int same_name(const char *a, size_t na, const char *b, size_t nb) {
  return na == nb && fl_strncaseeq(a, b, na);
}

int flurry__header_is_secret(const flurry_client *c, const char *name, size_t len) {
  static const char *const always[] = {"Authorization", "Proxy-Authorization", "Cookie"};
  if (name == NULL)
    return 0;
  for (size_t i = 0; i < sizeof always / sizeof always[0]; i++)
    if (same_name(name, len, always[i], strlen(always[i])))
      return 1;
  for (size_t i = 0; c != NULL && i < c->nsecrets; i++)
    if (same_name(name, len, c->secrets[i], strlen(c->secrets[i])))
      return 1;
  return 0;
}

FLURRY_API int flurry_client_add_secret_header(flurry_client *c, const char *name) {
  if (c == NULL || !flurry__header_valid(name, "") || strlen(name) > MAX_SECRET_NAME)
    return FLURRY_EINVALID;
  if (flurry__header_is_secret(c, name, strlen(name)))
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
