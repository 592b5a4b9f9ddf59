/* host.c: what the client knows of each host (scheme, host and port): a
 * Retry-After pause, a per-host or adaptive rate, and a circuit breaker.
 * Requests the host cannot take yet are parked on it, in order, and go back
 * to the front of the queue when it can. */
#include <math.h>
#include <string.h>

#include "bucket_int.h"
#include "host_int.h"
#include "retry_int.h"
#include "sched_int.h"
#include "window_int.h"

#define IDLE_HOSTS_KEPT 4096 /* hosts with no request, kept for their state */

/* ---- the table ---- */

/* The map holds flurry__host pointers, found by key. */
static uint64_t host_hash(const void *elem, void *ud) {
  (void)ud;
  flurry__host *const *h = elem;
  return (*h)->hash;
}

static int host_eq(const void *elem, const void *key, void *ud) {
  (void)ud;
  flurry__host *const *h = elem;
  return strcmp((*h)->key, key) == 0;
}

static const fl_map_type host_type = {sizeof(flurry__host *), host_hash, host_eq};

static uint64_t key_hash(const char *key) {
  return fl_hash_mix(fl_hash(FL_HASH_INIT, key, strlen(key)));
}

void flurry__hosts_init(flurry_client *c) {
  fl_map_init(&c->hosts, &host_type, NULL, SIZE_MAX);
  fl_list_init(&c->idle);
}

/* "scheme://host:port", lower-cased, user info dropped, default port
 * added: into buf when it fits in cap bytes (every host name but the
 * longest: no allocation per request), else into a new allocation.
 * NULL when url has no "://" or out of memory. */
static char *host_key(const char *url, char *buf, size_t cap) {
  const char *sep = strstr(url, "://");
  if (sep == NULL)
    return NULL;
  const char *auth = sep + 3;
  size_t alen = strcspn(auth, "/?#");
  const char *at = NULL;
  for (const char *p = auth; p < auth + alen; p++)
    if (*p == '@')
      at = p;
  if (at) {
    alen -= (size_t)(at + 1 - auth);
    auth = at + 1;
  }
  const char *bracket = memchr(auth, ']', alen);
  const char *tail = bracket ? bracket : auth;
  int has_port = memchr(tail, ':', alen - (size_t)(tail - auth)) != NULL;
  const char *port = has_port ? "" : fl_strncaseeq(url, "https", 5) ? ":443" : ":80";
  size_t slen = (size_t)(sep + 3 - url);
  size_t plen = strlen(port), n = slen + alen + plen;
  char *k = n < cap ? buf : fl_malloc(n + 1);
  if (k == NULL)
    return NULL;
  memcpy(k, url, slen);
  memcpy(k + slen, auth, alen);
  memcpy(k + slen + alen, port, plen);
  k[n] = '\0';
  for (size_t i = 0; i < n; i++)
    if (k[i] >= 'A' && k[i] <= 'Z')
      k[i] = (char)(k[i] + 32);
  return k;
}

static void idle_unlink(flurry_client *c, flurry__host *h) {
  if (!fl_list_linked(&h->idle))
    return;
  fl_list_remove(&h->idle);
  c->nidle--;
}

static void host_destroy(flurry_client *c, flurry__host *h) {
  fl_map_remove(&c->hosts, fl_map_find(&c->hosts, h->hash, h->key));
  flurry__window_host_free(h);
  fl_free(h->key);
  fl_free(h);
}

static void host_init_rate(flurry_client *c, flurry__host *h, double now) {
  double fixed = (double)c->opts.v[FLURRY_OPT_HOST_RATE_MILLI] / 1000.0;
  double adapt = h->adapt_rate;
  double rate = fixed > 0 && (adapt <= 0 || fixed < adapt) ? fixed : adapt;
  double burst = fixed > 0 && rate == fixed ? (double)c->opts.v[FLURRY_OPT_HOST_BURST] : 1;
  flurry__bucket_set(&h->bucket, rate, burst, now);
}

flurry__host *flurry__host_acquire(flurry_client *c, const char *url) {
  char buf[256];
  char *key = host_key(url, buf, sizeof buf);
  if (key == NULL)
    return NULL;
  uint64_t hash = key_hash(key);
  flurry__host **found = fl_map_find(&c->hosts, hash, key);
  if (found) {
    if (key != buf)
      fl_free(key);
    idle_unlink(c, *found);
    (*found)->refs++;
    return *found;
  }
  if (key == buf && (key = fl_strdup(buf)) == NULL) /* the map keeps its own */
    return NULL;
  /* Room in the map, and in the wake-up heap for every host: parking one
   * can then never fail to schedule its wake-up (its requests would wait
   * for ever). */
  if (fl_map_reserve(&c->hosts, c->hosts.len + 1) != FL_OK ||
      fl_heap_reserve(&c->host_wake, c->hosts.len + 1) != FL_OK) {
    fl_free(key);
    return NULL;
  }
  flurry__host *h = fl_calloc(1, sizeof *h);
  if (h == NULL) {
    fl_free(key);
    return NULL;
  }
  h->key = key;
  h->hash = hash;
  h->wake.index = SIZE_MAX;
  flurry__bucket_init(&h->bucket, 0, 1, fl_now_ms());
  host_init_rate(c, h, fl_now_ms());
  fl_list_init(&h->park);
  (void)fl_map_insert(&c->hosts, hash, &h); /* room reserved: cannot fail */
  h->refs = 1;
  return h;
}

void flurry__host_release(flurry_client *c, flurry__host *h) {
  if (--h->refs > 0)
    return;
  fl_list_push_back(&c->idle, &h->idle);
  c->nidle++;
  while (c->nidle > IDLE_HOSTS_KEPT) { /* nidle counts that list */
    flurry__host *old = FL_CONTAINER(fl_list_first(&c->idle), flurry__host, idle);
    idle_unlink(c, old);
    if (fl_heap_contains(&old->wake))
      fl_heap_remove(&c->host_wake, &old->wake);
    host_destroy(c, old);
  }
}

/* The next host of the map, or NULL: *pos = 0 to start. */
static flurry__host *next_host(const flurry_client *c, size_t *pos) {
  flurry__host **h = fl_map_next(&c->hosts, pos);
  return h ? *h : NULL;
}

void flurry__hosts_free(flurry_client *c) {
  size_t pos = 0;
  for (flurry__host *h = next_host(c, &pos); h; h = next_host(c, &pos)) {
    flurry__window_host_free(h);
    fl_free(h->key);
    fl_free(h);
  }
  fl_map_free(&c->hosts);
  fl_heap_free(&c->host_wake);
}

/* ---- admission, parking, waking ---- */

flurry__verdict flurry__host_admit(flurry_client *c, flurry__host *h, const flurry_request *req,
                                   double now, double *until) {
  double wait;
  (void)c;
  if (h->breaker == BREAKER_OPEN) {
    if (now < h->breaker_until)
      return HOST_FAIL;
    h->breaker = BREAKER_HALF_OPEN;
    h->probe = NULL;
  }
  if (h->breaker == BREAKER_HALF_OPEN && h->probe) {
    *until = INFINITY; /* the probe's answer wakes the host */
    return HOST_WAIT;
  }
  if (h->paused_until > now) {
    *until = h->paused_until;
    return HOST_WAIT;
  }
  if (!flurry__bucket_take(&h->bucket, now, &wait)) {
    *until = now + wait;
    return HOST_WAIT;
  }
  if (h->breaker == BREAKER_HALF_OPEN)
    h->probe = req;
  if (h->last_start_ms > 0) {
    double gap = now - h->last_start_ms;
    h->start_gap_ms = h->start_gap_ms > 0 ? 0.9 * h->start_gap_ms + 0.1 * gap : gap;
  }
  h->last_start_ms = now;
  return HOST_GO;
}

static void wake_at(flurry_client *c, flurry__host *h, double until) {
  if (!isfinite(until))
    return;
  if (fl_heap_contains(&h->wake)) {
    if (h->wake.key <= until)
      return;
    fl_heap_remove(&c->host_wake, &h->wake);
  }
  if (fl_heap_push(&c->host_wake, &h->wake, until) == FL_OK)
    flurry__sched_in(c, until - fl_now_ms());
}

void flurry__host_park(flurry_client *c, flurry__host *h, flurry_request *req, double until) {
  flurry__req_set_state(c, req, REQ_PARKED, NULL, 0); /* on req->host, h */
  wake_at(c, h, until);
}

/* Moves parked requests back to the front of the queue, oldest first: all
 * of them, or as many as the host's bucket has tokens for (at least one),
 * so a long park list is not churned for every token. */
static void unpark(flurry_client *c, flurry__host *h, double now) {
  if (fl_heap_contains(&h->wake))
    fl_heap_remove(&c->host_wake, &h->wake);
  if (fl_list_empty(&h->park))
    return;
  if (h->paused_until > now) {
    wake_at(c, h, h->paused_until);
    return;
  }
  double tokens = flurry__bucket_available(&h->bucket, now);
  size_t n = tokens < 0 ? h->parked : tokens >= 1 ? (size_t)tokens : 1;
  fl_list *front = fl_list_first(&c->queue); /* the first n go before it */
  for (size_t i = 0; i < n && !fl_list_empty(&h->park); i++)
    flurry__req_set_state(c, flurry__req_of(fl_list_first(&h->park)), REQ_QUEUED, front, 0);
  if (h->parked) {
    double wait = 1;
    flurry__bucket_peek(&h->bucket, now, &wait);
    wake_at(c, h, now + wait);
  }
  flurry__kick(c);
}

void flurry__host_wake_due(flurry_client *c, double now) {
  for (fl_heap_node *n = fl_heap_top(&c->host_wake); n && n->key <= now;
       n = fl_heap_top(&c->host_wake))
    unpark(c, FL_CONTAINER(n, flurry__host, wake), now);
}

void flurry__host_cancel_parked(flurry_client *c, int never_started_only) {
  fl_list doomed = FL_LIST_INIT(doomed);
  size_t pos = 0;
  for (flurry__host *h = next_host(c, &pos); h; h = next_host(c, &pos)) {
    fl_list *l, *tmp;
    FL_LIST_FOREACH_SAFE(l, tmp, &h->park) {
      if (!never_started_only || flurry__req_of(l)->resp->attempts == 0) {
        flurry__req_set_state(c, flurry__req_of(l), REQ_DONE, NULL, 0);
        fl_list_push_back(&doomed, l); /* done, in no list of the client's */
      }
    }
    if (h->parked == 0 && fl_heap_contains(&h->wake))
      fl_heap_remove(&c->host_wake, &h->wake);
  }
  /* after the walk: completing may free idle hosts */
  for (fl_list *l = fl_list_pop_front(&doomed); l; l = fl_list_pop_front(&doomed))
    flurry__cancel(c, flurry__req_of(l));
}

/* ---- learning from answers ---- */

static int connection_failed(const flurry_response *resp) {
  return resp->err == FLURRY_ECONNECT || resp->err == FLURRY_EDNS || resp->err == FLURRY_ETLS ||
         (resp->err == FLURRY_ETIMEOUT && resp->detail == FLURRY_DETAIL_CONNECT_TIMEOUT);
}

static void breaker_learn(flurry_client *c, flurry__host *h, const flurry_request *req,
                          double now) {
  const flurry_response *resp = req->resp;
  int64_t threshold = c->opts.v[FLURRY_OPT_BREAKER_THRESHOLD];
  int was_probe = h->probe == req;
  if (was_probe)
    h->probe = NULL;
  if (threshold == 0)
    return;
  if (!connection_failed(resp)) {
    h->fails = 0;
    h->breaker = BREAKER_CLOSED;
  } else if (++h->fails >= threshold || h->breaker == BREAKER_HALF_OPEN) {
    double base = (double)c->opts.v[FLURRY_OPT_BREAKER_COOLDOWN_MS];
    h->cooldown_ms = h->breaker == BREAKER_HALF_OPEN ? fmin(60000, h->cooldown_ms * 2) : base;
    h->breaker = BREAKER_OPEN;
    h->breaker_until = now + h->cooldown_ms;
  }
  if (was_probe)
    unpark(c, h, now); /* those waiting on the probe learn its answer */
}

static void adapt_set(flurry_client *c, flurry__host *h, double rate, double now) {
  h->adapt_rate = rate;
  h->adapt_at = now;
  host_init_rate(c, h, now);
}

/* Successes over the last second (sliding, from two one-second counts). */
static double accepted_rate(flurry__host *h, double now) {
  if (now - h->ok_window_ms >= 2000) {
    h->ok_prev = h->ok_cur = 0;
    h->ok_window_ms = now;
  } else if (now - h->ok_window_ms >= 1000) {
    h->ok_prev = h->ok_cur;
    h->ok_cur = 0;
    h->ok_window_ms += 1000;
  }
  double frac = (now - h->ok_window_ms) / 1000.0;
  return h->ok_prev * (1 - frac) + h->ok_cur;
}

/* AIMD on the host's rate. Told to slow down: 90% of what the host
 * accepted over the last second (so a server's limit is found in one step),
 * or half the rate when nothing was accepted, at most every 500 ms. A
 * stated RateLimit-Policy is taken as it is. Healthy: +10% a second. */
static void adapt_learn(flurry_client *c, flurry__host *h, const flurry_response *resp,
                        double now) {
  double policy = 0, reset_ms = -1;
  int spent = 0;
  int has = flurry__ratelimit_parse(resp, &policy, &spent, &reset_ms);
  int slow_down = resp->status == 429 || resp->status == 503 || (has && spent);
  if (policy > 0) {
    h->adapt_cap = policy;
    if (h->adapt_rate <= 0 || h->adapt_rate > policy)
      adapt_set(c, h, policy, now);
  }
  double accepted = accepted_rate(h, now);
  if (resp->err == FLURRY_OK)
    h->ok_cur++;
  if (slow_down) {
    if (h->adapt_rate <= 0 || now - h->adapt_at >= 500) {
      double seen = h->start_gap_ms > 0 ? 1000.0 / h->start_gap_ms : 10;
      double cur = h->adapt_rate > 0 ? h->adapt_rate : seen;
      double next = accepted >= 1 ? fmin(cur, accepted) * 0.9 : cur / 2;
      adapt_set(c, h, fmax(0.5, next), now);
    }
    if (spent && reset_ms > 0)
      h->paused_until = fmax(h->paused_until, now + fmin(reset_ms, FLURRY_MAX_RETRY_AFTER_MS));
  } else if (resp->err == FLURRY_OK && h->adapt_rate > 0 && now - h->adapt_at >= 1000) {
    double r = h->adapt_rate * 1.1;
    adapt_set(c, h, h->adapt_cap > 0 && r > h->adapt_cap ? h->adapt_cap : r, now);
  }
}

void flurry__host_learn(flurry_client *c, flurry__host *h, const flurry_request *req, double now) {
  const flurry_response *resp = req->resp;
  breaker_learn(c, h, req, now);
  int64_t delay = flurry__server_delay(resp);
  if (delay > 0) /* Retry-After pauses the whole host, not just this request */
    h->paused_until = fmax(h->paused_until, now + fmin((double)delay, FLURRY_MAX_RETRY_AFTER_MS));
  if (c->opts.v[FLURRY_OPT_RATE_AUTO])
    adapt_learn(c, h, resp, now);
}

double flurry__hosts_min_rate(const flurry_client *c) {
  double min = 0;
  size_t pos = 0;
  for (const flurry__host *h = next_host(c, &pos); h; h = next_host(c, &pos))
    if (h->bucket.per_ms > 0 && (min == 0 || h->bucket.per_ms * 1000 < min))
      min = h->bucket.per_ms * 1000;
  return min;
}

void flurry__hosts_rate_changed(flurry_client *c) {
  double now = fl_now_ms();
  size_t pos = 0;
  for (flurry__host *h = next_host(c, &pos); h; h = next_host(c, &pos)) {
    if (!c->opts.v[FLURRY_OPT_RATE_AUTO])
      h->adapt_rate = 0;
    host_init_rate(c, h, now);
  }
}

void flurry__host_done(flurry_client *c, flurry__host *h, const flurry_request *req) {
  if (h->probe != req)
    return;
  h->probe = NULL; /* the probe never reached the wire: let another go */
  unpark(c, h, fl_now_ms());
}
