/* work_rate.c: --rate-scope shared: --rate and --host-rate for all the
 * group's workers together. Each start asks Redis for a grant (the GCRA
 * script of work_lua.h, EVALSHA, one key per rate: STREAM:rate for --rate,
 * STREAM:rate:HOST for --host-rate), through the client's admission hook
 * (flurry/admit.h): the request at the queue's head waits until its
 * grants arrive. One question per key at a time; a "wait N" answer asks
 * again after N. The library's own rate options stay off, so the limit is
 * counted once. */
#include <hiredis/async.h>
#include <math.h>
#include <string.h>

#include "work_int.h"

#define RATE_HOSTS_MAX 1024 /* hosts with a shared --host-rate at once */

typedef struct rate_key {
  fl_list link;
  work_rate *rt;
  char *key;        /* the Redis key */
  int granted;      /* a start granted, not used yet */
  int asking;       /* a question in flight */
  uv_timer_t timer; /* "wait N": ask again then */
} rate_key;

struct work_rate {
  cli_work *w;
  char interval_us[32], burst[32];           /* --rate */
  char host_interval_us[32], host_burst[32]; /* --host-rate */
  rate_key *all;                             /* --rate: NULL when not shared */
  fl_list hosts;                             /* --host-rate: rate_key per host */
  size_t nhosts;
  int per_host;
  int refs; /* the object and each key's timer */
};

static void ask(rate_key *k);

static void rate_unref(work_rate *rt) {
  if (--rt->refs == 0)
    fl_free(rt);
}

static void on_key_closed(uv_handle_t *h) {
  rate_key *k = h->data;
  work_rate *rt = k->rt;
  fl_free(k->key);
  fl_free(k);
  rate_unref(rt);
}

static void on_wait_over(uv_timer_t *t) { ask(t->data); }

static void on_grant(redisAsyncContext *ac, void *reply, void *priv) {
  redisReply *r = reply;
  rate_key *k = priv;
  cli_work *w = ac->data;
  k->asking = 0;
  if (r == NULL || w->closing) /* asked again after the reconnection */
    return;
  if (cli_work__reply_noscript(r)) {
    w->store_eval = 1; /* the server lost its scripts: EVAL from now on */
    ask(k);
    return;
  }
  if (r->type != REDIS_REPLY_INTEGER) {
    cli_warn("redis: the shared rate: %s", r->type == REDIS_REPLY_ERROR ? r->str : "bad answer");
    uv_timer_start(&k->timer, on_wait_over, 1000, 0);
    return;
  }
  if (r->integer > 0) {
    uv_timer_start(&k->timer, on_wait_over, (uint64_t)((r->integer + 999) / 1000), 0);
    return;
  }
  k->granted = 1;
  flurry_client_admit_ready(w->client);
}

static void ask(rate_key *k) {
  cli_work *w = k->rt->w;
  if (k->asking || k->granted || w->ac == NULL || !w->up || w->closing)
    return;
  int host = k != k->rt->all;
  const char *argv[6];
  cli_work__script_head(w, WORK_LUA_GCRA, w->store_eval, argv);
  argv[2] = "1";
  argv[3] = k->key;
  argv[4] = host ? k->rt->host_interval_us : k->rt->interval_us;
  argv[5] = host ? k->rt->host_burst : k->rt->burst;
  size_t lens[6];
  for (int i = 0; i < 6; i++)
    lens[i] = strlen(argv[i]);
  if (redisAsyncCommandArgv(w->ac, on_grant, k, 6, argv, lens) == REDIS_OK)
    k->asking = 1;
}

static rate_key *key_new(work_rate *rt, const char *host, size_t hlen) {
  rate_key *k = fl_calloc(1, sizeof *k);
  fl_buf b = FL_BUF_INIT(0);
  if (k == NULL)
    return NULL;
  fl_buf_printf(&b, "%s:rate", rt->w->o->stream);
  if (host) {
    fl_buf_putc(&b, ':');
    fl_buf_append(&b, host, hlen);
  }
  k->key = fl_buf_take(&b, NULL);
  if (k->key == NULL) {
    fl_free(k);
    return NULL;
  }
  k->rt = rt;
  uv_timer_init(rt->w->loop, &k->timer);
  k->timer.data = k;
  rt->refs++;
  return k;
}

/* The host of a URL: after "://", up to '/', '?', '#' or the end. */
static const char *url_host(const char *url, size_t *n) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  *n = strcspn(p, "/?#");
  return p;
}

static rate_key *host_key(work_rate *rt, const flurry_request *req) {
  size_t n;
  const char *h = url_host(flurry_request_url(req), &n);
  fl_list *l;
  FL_LIST_FOREACH(l, &rt->hosts) {
    rate_key *k = FL_CONTAINER(l, rate_key, link);
    const char *kh = k->key + strlen(rt->w->o->stream) + 6; /* STREAM:rate:HOST[:PORT] */
    if (strlen(kh) == n && memcmp(kh, h, n) == 0)
      return k;
  }
  if (rt->nhosts >= RATE_HOSTS_MAX) /* the oldest goes when it has no grant */
    return NULL;
  rate_key *k = key_new(rt, h, n);
  if (k) {
    fl_list_push_back(&rt->hosts, &k->link);
    rt->nhosts++;
  }
  return k;
}

/* The admission hook: GO once every shared key has granted a start. */
static flurry_admit admit(flurry_client *c, const flurry_request *req, void *ud) {
  work_rate *rt = ud;
  (void)c;
  rate_key *keys[2] = {rt->all, rt->per_host ? host_key(rt, req) : NULL};
  if (rt->per_host && keys[1] == NULL)
    return FLURRY_ADMIT_GO; /* past the hosts' bound: this host is not limited */
  int ready = 1;
  for (int i = 0; i < 2; i++)
    if (keys[i] && !keys[i]->granted) {
      ready = 0;
      ask(keys[i]);
    }
  if (!ready)
    return FLURRY_ADMIT_WAIT;
  for (int i = 0; i < 2; i++)
    if (keys[i])
      keys[i]->granted = 0;
  return FLURRY_ADMIT_GO;
}

/* R in milli-requests per second: the interval between starts in
 * microseconds. */
static void interval(char *dst, size_t cap, int64_t milli) {
  double us = 1e9 / (double)milli;
  snprintf(dst, cap, "%.0f", ceil(us));
}

int cli_work__rate_open(cli_work *w) {
  const cli_opts *o = w->o_all;
  uint64_t set = o->opt_set;
  int rate = (set >> FLURRY_OPT_RATE_MILLI) & 1, host = (set >> FLURRY_OPT_HOST_RATE_MILLI) & 1;
  if (!w->o->rate_shared)
    return 0;
  if ((set >> FLURRY_OPT_RATE_AUTO) & 1) {
    fprintf(stderr, "flurry: --rate-scope shared needs fixed rates, not --rate auto\n");
    return 2;
  }
  if ((rate && o->opt[FLURRY_OPT_RATE_MILLI] <= 0) ||
      (host && o->opt[FLURRY_OPT_HOST_RATE_MILLI] <= 0)) {
    fprintf(stderr, "flurry: --rate-scope shared: the rates must be above 0\n");
    return 2;
  }
  if (!rate && !host) {
    fprintf(stderr, "flurry: --rate-scope shared: no --rate or --host-rate to share\n");
    return 2;
  }
  work_rate *rt = fl_calloc(1, sizeof *rt);
  if (rt == NULL)
    return cli_nomem("--rate-scope");
  rt->w = w;
  rt->refs = 1;
  fl_list_init(&rt->hosts);
  int64_t burst = (set >> FLURRY_OPT_RATE_BURST) & 1 ? o->opt[FLURRY_OPT_RATE_BURST] : 1;
  int64_t hburst = (set >> FLURRY_OPT_HOST_BURST) & 1 ? o->opt[FLURRY_OPT_HOST_BURST] : 1;
  w->rate = rt;
  if (rate) {
    interval(rt->interval_us, sizeof rt->interval_us, o->opt[FLURRY_OPT_RATE_MILLI]);
    snprintf(rt->burst, sizeof rt->burst, "%lld", (long long)burst);
    rt->all = key_new(rt, NULL, 0);
    if (rt->all == NULL)
      return cli_nomem("--rate-scope");
    flurry_client_set(w->client, FLURRY_OPT_RATE_MILLI, 0); /* counted in Redis only */
  }
  if (host) {
    interval(rt->host_interval_us, sizeof rt->host_interval_us, o->opt[FLURRY_OPT_HOST_RATE_MILLI]);
    snprintf(rt->host_burst, sizeof rt->host_burst, "%lld", (long long)hburst);
    rt->per_host = 1;
    flurry_client_set(w->client, FLURRY_OPT_HOST_RATE_MILLI, 0);
  }
  flurry_client_set_admit(w->client, admit, rt);
  return 0;
}

void cli_work__rate_resume(cli_work *w) {
  work_rate *rt = w->rate;
  if (rt == NULL)
    return;
  /* questions lost with the connection: the queue's head asks again */
  flurry_client_admit_ready(w->client);
}

static void key_close(rate_key *k) { uv_close((uv_handle_t *)&k->timer, on_key_closed); }

void cli_work__rate_close(cli_work *w) {
  work_rate *rt = w->rate;
  if (rt == NULL)
    return;
  w->rate = NULL; /* the client is gone already (run.c frees it first) */
  if (rt->all)
    key_close(rt->all);
  while (!fl_list_empty(&rt->hosts)) {
    rate_key *k = FL_CONTAINER(fl_list_pop_front(&rt->hosts), rate_key, link);
    key_close(k);
  }
  rate_unref(rt);
}
