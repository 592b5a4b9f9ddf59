/* status.c: the client's status rules: which statuses of 400 to 599 are
 * retried (default 408, 429, 500, 502, 503, 504) and which are data, not
 * errors (default none). A bit per status; NULL rules are the defaults. */
#include <string.h>

#include "status_int.h"

#define LO 400
#define HI 599
#define NBITS (HI - LO + 1)
#define LIST_MAX 1024

struct flurry__status_rules {
  uint64_t bits[2][(NBITS + 63) / 64]; /* by flurry_status_rule */
};

static int bit(const uint64_t *b, int status) {
  return status >= LO && status <= HI && (b[(status - LO) / 64] >> ((status - LO) % 64)) & 1;
}

static void set_bit(uint64_t *b, int status) {
  b[(status - LO) / 64] |= (uint64_t)1 << ((status - LO) % 64);
}

static void set_default(uint64_t *b, flurry_status_rule rule) {
  static const int retried[] = {408, 429, 500, 502, 503, 504};
  memset(b, 0, sizeof(((struct flurry__status_rules *)0)->bits[0]));
  for (size_t i = 0; rule == FLURRY_STATUS_RETRY && i < sizeof retried / sizeof retried[0]; i++)
    set_bit(b, retried[i]);
}

/* One item, s[0..n): "404" or "5xx". 0 or -1. */
static int parse_item(uint64_t *b, const char *s, size_t n) {
  int64_t v;
  if (n == 3 && (s[1] == 'x' || s[1] == 'X') && (s[2] == 'x' || s[2] == 'X') &&
      (s[0] == '4' || s[0] == '5')) {
    for (int st = (s[0] - '0') * 100; st < (s[0] - '0') * 100 + 100; st++)
      set_bit(b, st);
    return 0;
  }
  if (n != 3 || fl_parse_i64(s, n, LO, HI, &v) != 0)
    return -1;
  set_bit(b, (int)v);
  return 0;
}

static int parse_list(uint64_t *b, const char *list) {
  memset(b, 0, sizeof(((struct flurry__status_rules *)0)->bits[0]));
  for (const char *p = list;;) {
    while (*p == ' ')
      p++;
    size_t n = strcspn(p, ",");
    size_t m = n;
    while (m && p[m - 1] == ' ')
      m--;
    if (parse_item(b, p, m) != 0)
      return -1;
    if (p[n] == '\0')
      return 0;
    p += n + 1;
  }
}

FLURRY_API int flurry_client_set_statuses(flurry_client *c, flurry_status_rule rule,
                                          const char *list) {
  if (c == NULL || (rule != FLURRY_STATUS_RETRY && rule != FLURRY_STATUS_OK) ||
      (list && strlen(list) > LIST_MAX))
    return FLURRY_EINVALID;
  uint64_t b[(NBITS + 63) / 64];
  if (list == NULL || *list == '\0')
    set_default(b, rule);
  else if (parse_list(b, list) != 0)
    return FLURRY_EINVALID;
  if (c->status == NULL) {
    c->status = fl_calloc(1, sizeof *c->status);
    if (c->status == NULL)
      return FLURRY_ENOMEM;
    set_default(c->status->bits[FLURRY_STATUS_RETRY], FLURRY_STATUS_RETRY);
    set_default(c->status->bits[FLURRY_STATUS_OK], FLURRY_STATUS_OK);
  }
  memcpy(c->status->bits[rule], b, sizeof b);
  return FLURRY_OK;
}

FLURRY_API int flurry_client_status_in(const flurry_client *c, flurry_status_rule rule,
                                       int status) {
  if (c == NULL || (rule != FLURRY_STATUS_RETRY && rule != FLURRY_STATUS_OK))
    return 0;
  if (c->status)
    return bit(c->status->bits[rule], status);
  uint64_t b[(NBITS + 63) / 64];
  set_default(b, rule);
  return bit(b, status);
}

int flurry__status_ok(const flurry_client *c, int status) {
  return c->status != NULL && bit(c->status->bits[FLURRY_STATUS_OK], status);
}

int flurry__status_retried(const flurry_client *c, const flurry_response *resp) {
  int answer = resp->err == FLURRY_EHTTP ||
               (resp->err == FLURRY_OK && resp->status >= LO && flurry__status_ok(c, resp->status));
  return answer ? flurry_client_status_in(c, FLURRY_STATUS_RETRY, resp->status) : -1;
}

void flurry__status_free(flurry_client *c) {
  fl_free(c->status);
  c->status = NULL;
}
