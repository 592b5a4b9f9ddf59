/* mock_inject.c: random faults on any endpoint of `flurry mock`.
 *
 * ?fail=P[&kind=K[,K...]] fails a request with probability P, split evenly
 * between the kinds (default status); ?mix=K:P[,K:P...] gives each kind its
 * own probability. A fault is the endpoint of that name (/reset, /hang...)
 * answering instead, with the request's query parameters. With &seed=S the
 * draw is a hash of the URL (path and every query argument, seed included)
 * and of how many times that URL was seen, so the n-th request for a URL
 * always gets the same outcome and a retry draws again; without it a PRNG
 * seeded at start-up decides. */
#include <string.h>

#include "mock_int.h"

#define PROB_DIGITS_MAX 12
#define FAULT_GOLDEN 0x9e3779b97f4a7c15ull

const char *const mock_fault_help[] = {
    "?fail=P                    answer with a fault with probability P"
    " (0..1; not on /flaky, whose fail= is a count)",
    "&kind=K[,K...]             reset|status|hang|truncated|drip|malformed"
    " (default status), P split evenly between them",
    "?mix=K:P[,K:P...]          per-kind probabilities instead, e.g."
    " mix=reset:0.2,status:0.1,hang:0.05 (sum <= 1)",
    "&seed=S                    deterministic: the n-th request for a URL"
    " always draws the same (else a PRNG seeded at start)",
    "the kind's parameters      as on its endpoint: status=S (503),"
    " retry_after=V, after=N, size=N, send=M, bytes=N, interval_ms=T, ms=T",
    NULL};

static void fault_status(mock_server *m, httpd_req *req, const char *arg) {
  (void)arg;
  const char *s = httpd_req_query(req, "status");
  mock_status(m, req, s ? s : "503");
}

/* In the order of enum mock_fault. */
static const struct kind {
  const char *name;
  mock_route_fn fn;
} kinds[MOCK_FAULTS] = {
    {"reset", mock_reset},         {"status", fault_status}, {"hang", mock_hang},
    {"truncated", mock_truncated}, {"drip", mock_drip},      {"malformed", mock_malformed},
};

#define NKINDS ((size_t)MOCK_FAULTS)

/* ---- parsing ------------------------------------------------------------- */

/* A probability in [0, 1] written "0", "1", "0.25", ".5", "1.0". Returns 0
 * or -1. */
static int parse_prob(const char *s, size_t n, double *out) {
  double v = 0, scale = 1;
  size_t i = 0, digits = 0;
  for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++)
    v = v * 10 + (s[i] - '0');
  if (i < n && s[i] == '.')
    for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++)
      v += (s[i] - '0') * (scale /= 10);
  if (i != n || digits == 0 || digits > PROB_DIGITS_MAX || v > 1.0)
    return -1;
  *out = v;
  return 0;
}

static int find_kind(const char *s, size_t n) {
  for (size_t k = 0; k < NKINDS; k++)
    if (strlen(kinds[k].name) == n && memcmp(kinds[k].name, s, n) == 0)
      return (int)k;
  return -1;
}

/* The items of a comma-separated list, one per call: *item and *len; 0 at
 * the end. */
static int next_item(const char **s, const char **item, size_t *len) {
  if (*s == NULL)
    return 0;
  const char *comma = strchr(*s, ',');
  *item = *s;
  *len = comma ? (size_t)(comma - *s) : strlen(*s);
  *s = comma ? comma + 1 : NULL;
  return 1;
}

/* fail=P with kind=K[,K...] (NULL: status). */
static int parse_fail(const char *fail, const char *kind, double *pl) {
  double p = 0;
  size_t n = 0, len = 0;
  const char *item = NULL, *s = kind ? kind : "status";
  if (parse_prob(fail, strlen(fail), &p) != 0)
    return -1;
  while (next_item(&s, &item, &len))
    n++;
  s = kind ? kind : "status";
  while (next_item(&s, &item, &len)) {
    int k = find_kind(item, len);
    if (k < 0)
      return -1;
    pl[k] += p / (double)n;
  }
  return 0;
}

/* mix=K:P[,K:P...], the sum at most 1. */
static int parse_mix(const char *mix, double *pl) {
  double sum = 0, p = 0;
  size_t len = 0;
  const char *item = NULL, *s = mix;
  while (next_item(&s, &item, &len)) {
    const char *colon = memchr(item, ':', len);
    int k = colon ? find_kind(item, (size_t)(colon - item)) : -1;
    if (k < 0 || parse_prob(colon + 1, len - (size_t)(colon + 1 - item), &p) != 0)
      return -1;
    pl[k] += p;
    sum += p;
  }
  return sum <= 1.0 + 1e-9 ? 0 : -1;
}

int mock_fault_plan(const char *fail, const char *kind, const char *mix, double p[MOCK_FAULTS]) {
  double tmp[MOCK_FAULTS] = {0};
  if ((fail == NULL) == (mix == NULL))
    return -1;
  if (mix ? parse_mix(mix, tmp) : parse_fail(fail, kind, tmp))
    return -1;
  memcpy(p, tmp, sizeof tmp);
  return 0;
}

/* ---- drawing ------------------------------------------------------------- */

static double unit(uint64_t x) { return (double)(x >> 11) * 0x1.0p-53; }

static int hash_arg(void *cls, const char *name, const char *value) {
  uint64_t *h = cls;
  static const char absent = '\xff';
  *h = fl_hash(*h, name, strlen(name) + 1);
  *h = value ? fl_hash(*h, value, strlen(value) + 1) : fl_hash(*h, &absent, 1);
  return 0;
}

/* Seeded: a function of the URL and of its request count. Returns 0, or -1
 * when out of memory. */
static int seeded_draw(mock_server *m, httpd_req *req, double *u) {
  const char *path = httpd_req_path(req);
  uint64_t h = fl_hash(FL_HASH_INIT, path, strlen(path) + 1);
  char key[sizeof h];
  int created = 0;
  httpd_req_each(req, HTTPD_QUERY, hash_arg, &h);
  memcpy(key, &h, sizeof h);
  mock_slot *s = mock_table_get(m->faults, key, sizeof key, &created);
  if (s == NULL)
    return -1;
  uint64_t n = (uint64_t)s->a;
  s->a += 1;
  *u = unit(mock_mix64(h ^ mock_mix64(n)));
  return 0;
}

static int draw(mock_server *m, httpd_req *req, double *u) {
  if (httpd_req_query(req, "seed"))
    return seeded_draw(m, req, u);
  m->rng += FAULT_GOLDEN; /* splitmix64 */
  *u = unit(mock_mix64(m->rng));
  return 0;
}

/* The kind u in [0, 1) falls on, or -1 for no fault. */
static int pick(const double *pl, double u) {
  double cum = 0;
  for (size_t k = 0; k < NKINDS; k++) {
    cum += pl[k];
    if (u < cum)
      return (int)k;
  }
  return -1;
}

int mock_inject(mock_server *m, httpd_req *req) {
  const char *mix = httpd_req_query(req, "mix");
  const char *fail = strcmp(httpd_req_path(req), "/flaky") != 0 ? httpd_req_query(req, "fail")
                                                                : NULL;
  double pl[MOCK_FAULTS];
  double u = 0;
  if (mix == NULL && fail == NULL)
    return 0;
  if (mock_fault_plan(fail, httpd_req_query(req, "kind"), mix, pl) != 0) {
    mock_send_error(req, 400,
                    "fault injection wants fail=P (0..1) "
                    "[&kind=K[,K...]] or mix=K:P[,K:P...] (sum <= 1), "
                    "K: reset|status|hang|truncated|drip|malformed");
    return 1;
  }
  if (draw(m, req, &u) != 0) {
    mock_send_error(req, 500, "internal error");
    return 1;
  }
  int k = pick(pl, u);
  if (k < 0)
    return 0;
  httpd_header(req, "X-Flurry-Fault", kinds[k].name);
  kinds[k].fn(m, req, NULL);
  return 1;
}
