/* work.c: `flurry work`: a source and a sink (io.h) on Redis Streams.
 *
 * Entries come from the consumer group (XREADGROUP: first this consumer's
 * own pending ones, then new ones; every so often XAUTOCLAIM takes over
 * the entries of a worker gone for --claim-after). Each entry's line goes
 * through the run loop like a line of stdin; its records are held until
 * the unit ends, then one script stores them and acknowledges the entry
 * at once (work_lua.h): nothing is acknowledged that is not stored, and an
 * entry already stored adds nothing. A lost connection is retried with
 * backoff; units that ended meanwhile are stored after the reconnection.
 * At most the window's entries are held (concurrency + 64), whatever the
 * stream's length. hiredis's async API runs on the client's loop
 * (adapters/libuv.h). */
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "work_int.h"

#define WINDOW_SLACK 64
#define POLL_IDLE_MS 50     /* an empty stream is asked again after this */
#define BACKOFF_MIN_MS 100  /* reconnect: doubling */
#define BACKOFF_MAX_MS 5000 /*   up to this */

typedef enum job_state { J_READY, J_OUT, J_STORE_WAIT, J_STORING } job_state;

/* The record classes, worst last: the class of a unit is its worst. */
enum { CLS_RESULT, CLS_RETRY, CLS_UNFINISHED };

typedef struct job {
  fl_list link; /* w->ready, w->out or w->store, as state says */
  job_state state;
  char id[64];   /* the entry id */
  char done[64]; /* its key in STREAM:done: the request's identity, else id */
  char *line;
  size_t len;
  uint64_t lineno;
  uint64_t seq;
  int has_seq;
  int cls;
  fl_buf records;
} job;

static void fetch(cli_work *w);
static void store(cli_work *w, job *j);
static void connect_async(cli_work *w);

/* ---- jobs ---- */

static job *job_of(fl_list *l) { return FL_CONTAINER(l, job, link); }

static void job_free(cli_work *w, job *j) {
  fl_list_remove(&j->link);
  w->held--;
  fl_buf_free(&j->records);
  fl_free(j->line);
  fl_free(j);
}

static void job_move(job *j, fl_list *to, job_state st) {
  fl_list_remove(&j->link);
  fl_list_push_back(to, &j->link);
  j->state = st;
}

static job *job_by_seq(cli_work *w, uint64_t seq) {
  fl_list *l;
  FL_LIST_FOREACH(l, &w->out) {
    job *j = job_of(l);
    if (j->has_seq && j->seq == seq)
      return j;
  }
  return NULL;
}

/* ---- commands ---- */

static int connected(const cli_work *w) { return w->ac != NULL && w->up; }

/* Sends argv (n strings, lengths in lens or NULL: C strings). 0 or -1. */
static int command(cli_work *w, redisCallbackFn *cb, void *priv, int n, const char **argv,
                   const size_t *lens) {
  size_t l[64];
  if (n > 64 && lens == NULL)
    return -1;
  for (int i = 0; lens == NULL && i < n; i++)
    l[i] = strlen(argv[i]);
  return redisAsyncCommandArgv(w->ac, cb, priv, n, argv, lens ? lens : l) == REDIS_OK ? 0 : -1;
}

int cli_work__reply_noscript(const redisReply *r) {
  return r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* The first two words of a script call: EVALSHA sha, or EVAL source (the
 * server lost its script cache: a restart). */
void cli_work__script_head(const cli_work *w, int script, int eval, const char **argv) {
  argv[0] = eval ? "EVAL" : "EVALSHA";
  argv[1] = eval ? w->lua[script] : w->sha[script];
}

static void warn_reply(cli_work *w, const char *what, const redisReply *r) {
  if (w->last_warned_ms + 1000 > fl_now_ms())
    return;
  w->last_warned_ms = fl_now_ms();
  cli_warn("redis: %s: %s", what, r && r->type == REDIS_REPLY_ERROR ? r->str : "no answer");
}

/* ---- entries in ---- */

/* 1 when the entry with this id is one this worker holds already (its
 * own pending entries read again after a reconnection). */
static int held_already(cli_work *w, const char *id) {
  fl_list *heads[] = {&w->ready, &w->out, &w->store};
  for (size_t h = 0; h < 3; h++) {
    fl_list *l;
    FL_LIST_FOREACH(l, heads[h]) {
      if (strcmp(job_of(l)->id, id) == 0)
        return 1;
    }
  }
  return 0;
}

/* An entry [id, [field, value, ...]]: a job, ready. 0, or -1 when it is
 * not one (a deleted entry: nothing to do). */
static int take_entry(cli_work *w, const redisReply *e) {
  if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 || e->element[0]->type != REDIS_REPLY_STRING)
    return -1;
  if (held_already(w, e->element[0]->str))
    return -1;
  const redisReply *f = e->element[1];
  const redisReply *line = NULL;
  for (size_t i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2)
    if (f->element[i]->type == REDIS_REPLY_STRING && strcmp(f->element[i]->str, "line") == 0)
      line = f->element[i + 1];
  job *j = fl_calloc(1, sizeof *j);
  if (j == NULL)
    return -1;
  snprintf(j->id, sizeof j->id, "%s", e->element[0]->str);
  snprintf(j->done, sizeof j->done, "%s", j->id);
  j->records = (fl_buf)FL_BUF_INIT(0);
  if (line && line->type == REDIS_REPLY_STRING) {
    j->line = fl_strndup(line->str, line->len);
    j->len = line->len;
  } else {
    j->line = fl_strdup(""); /* no line field: a blank line, acknowledged */
  }
  if (j->line == NULL) {
    fl_free(j);
    return -1;
  }
  j->lineno = ++w->lineno;
  fl_list_push_back(&w->ready, &j->link);
  j->state = J_READY;
  w->held++;
  return 0;
}

static void take_entries(cli_work *w, const redisReply *list) {
  for (size_t i = 0; list->type == REDIS_REPLY_ARRAY && i < list->elements; i++)
    take_entry(w, list->element[i]);
}

static void wake_reader(cli_work *w) {
  void (*cb)(void *) = w->wait_cb;
  w->wait_cb = NULL;
  if (cb)
    cb(w->wait_ud);
}

static void on_poll_timer(uv_timer_t *t) { fetch(t->data); }

static void idle_later(cli_work *w) {
  if (!w->closing)
    uv_timer_start(&w->poll_timer, on_poll_timer, POLL_IDLE_MS, 0);
}

/* The answer to a fetch (a read, a claim, the pending count): the fetch
 * is over; NULL when there is nothing to do with it (the connection went,
 * the worker is closing). */
static redisReply *fetch_answer(redisAsyncContext *ac, void *reply, cli_work **w) {
  *w = ac->data;
  (*w)->fetching = 0;
  return (*w)->closing ? NULL : reply;
}

static void on_pending(redisAsyncContext *ac, void *reply, void *priv) {
  cli_work *w;
  redisReply *r = fetch_answer(ac, reply, &w);
  (void)priv;
  if (r == NULL)
    return;
  /* XPENDING's summary: [count, min, max, consumers] */
  if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
      r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer == 0 && w->held == 0) {
    w->drained = 1;
    wake_reader(w);
    return;
  }
  idle_later(w);
}

/* --drain: nothing new came; the group done too? */
static void check_drained(cli_work *w) {
  const char *argv[] = {"XPENDING", w->o->stream, w->o->group};
  if (command(w, on_pending, NULL, 3, argv, NULL) == 0)
    w->fetching = 1;
}

/* new_read: the answer of a read of new entries (">"), the only one that
 * tells the stream has nothing more for the group. */
static void after_fetch(cli_work *w, size_t before, int new_read) {
  if (w->held > before) {
    wake_reader(w);
    return;
  }
  if (w->o->drain && new_read)
    check_drained(w);
  else if (!new_read)
    fetch(w); /* a claim or a history page found nothing: on to new entries */
  else
    idle_later(w);
}

static void on_read(redisAsyncContext *ac, void *reply, void *priv) {
  cli_work *w;
  redisReply *r = fetch_answer(ac, reply, &w);
  (void)priv;
  if (r == NULL)
    return;
  if (r->type == REDIS_REPLY_ERROR) {
    warn_reply(w, "XREADGROUP", r);
    idle_later(w);
    return;
  }
  size_t before = w->held;
  /* [[stream, [entry, ...]]], or nil when nothing came */
  const redisReply *list = NULL;
  if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->type == REDIS_REPLY_ARRAY &&
      r->element[0]->elements >= 2)
    list = r->element[0]->element[1];
  size_t got = list && list->type == REDIS_REPLY_ARRAY ? list->elements : 0;
  if (got)
    take_entries(w, list);
  if (w->history && got == 0) { /* this consumer's own pending entries are all back */
    w->history = 0;
    fetch(w); /* now the new ones */
    return;
  }
  if (w->history && got) { /* the next page starts after the last entry */
    const redisReply *last = list->element[got - 1];
    if (last->type == REDIS_REPLY_ARRAY && last->elements > 0 &&
        last->element[0]->type == REDIS_REPLY_STRING)
      snprintf(w->history_from, sizeof w->history_from, "%s", last->element[0]->str);
    else
      w->history = 0;
  }
  if (w->history && w->held == before) {
    /* all held already: the next page on the next turn */
    uv_timer_start(&w->poll_timer, on_poll_timer, 0, 0);
    return;
  }
  after_fetch(w, before, !w->history);
}

static void on_claim(redisAsyncContext *ac, void *reply, void *priv) {
  cli_work *w;
  redisReply *r = fetch_answer(ac, reply, &w);
  (void)priv;
  if (r == NULL)
    return;
  if (cli_work__reply_noscript(r)) {
    w->claim_due = 1;
    w->claim_eval = 1;
    fetch(w);
    return;
  }
  w->claim_eval = 0;
  if (r->type == REDIS_REPLY_ERROR) {
    warn_reply(w, "claiming (XAUTOCLAIM)", r);
    idle_later(w);
    return;
  }
  size_t before = w->held;
  take_entries(w, r);
  after_fetch(w, before, 0);
}

static void on_claim_timer(uv_timer_t *t) {
  cli_work *w = t->data;
  w->claim_due = 1;
  fetch(w);
}

static size_t window(const cli_work *w) { return (size_t)w->o_all->concurrency + WINDOW_SLACK; }

static void claim(cli_work *w, size_t n) {
  char idle[32], count[32], max[32];
  snprintf(idle, sizeof idle, "%lld", (long long)w->o->claim_after_ms);
  snprintf(count, sizeof count, "%zu", n);
  snprintf(max, sizeof max, "%lld", (long long)w->o->max_deliveries);
  const char *argv[13];
  cli_work__script_head(w, WORK_LUA_CLAIM, w->claim_eval, argv);
  const char *rest[] = {"4",         w->o->stream, w->k_done, w->k_dead, w->k_lasterr,  w->o->group,
                        w->consumer, idle,         count,     max,       w->lost_record};
  memcpy(argv + 2, rest, sizeof rest);
  w->claim_due = 0;
  if (command(w, on_claim, NULL, 13, argv, NULL) == 0)
    w->fetching = 1;
}

/* Asks for as many entries as the window has room for. */
static void fetch(cli_work *w) {
  if (!connected(w) || w->fetching || w->stopped || w->closing || w->drained)
    return;
  size_t n = window(w) > w->held ? window(w) - w->held : 0;
  if (n == 0 || !fl_list_empty(&w->ready))
    return;
  uv_timer_stop(&w->poll_timer);
  if (w->claim_due && !w->history) {
    claim(w, n);
    return;
  }
  char count[32];
  snprintf(count, sizeof count, "%zu", n);
  const char *argv[] = {"XREADGROUP", "GROUP",      w->o->group,
                        w->consumer,  "COUNT",      count,
                        "STREAMS",    w->o->stream, w->history ? w->history_from : ">"};
  if (command(w, on_read, NULL, 9, argv, NULL) == 0)
    w->fetching = 1;
}

/* ---- keeping held entries ours ---- */

static void on_touched(redisAsyncContext *ac, void *reply, void *priv) {
  cli_work *w = ac->data;
  redisReply *r = reply;
  (void)priv;
  w->touching = 0;
  if (r && cli_work__reply_noscript(r))
    w->store_eval = 1; /* the next touch sends the source */
}

/* Every claim-after / 3: the entries this worker holds (read, running,
 * being stored) get their idle time reset, so that only a worker gone
 * (killed, stopped, cut off) for --claim-after has its entries claimed,
 * not a slow one. */
static void on_touch_timer(uv_timer_t *t) {
  cli_work *w = t->data;
  if (!connected(w) || w->touching || w->held == 0)
    return;
  const char **argv = fl_calloc(6 + w->held, sizeof *argv);
  if (argv == NULL)
    return;
  cli_work__script_head(w, WORK_LUA_TOUCH, w->store_eval, argv);
  argv[2] = "1";
  argv[3] = w->o->stream;
  argv[4] = w->o->group;
  argv[5] = w->consumer;
  int n = 6;
  fl_list *heads[] = {&w->ready, &w->out, &w->store};
  for (size_t h = 0; h < 3; h++) {
    fl_list *l;
    FL_LIST_FOREACH(l, heads[h]) { argv[n++] = job_of(l)->id; }
  }
  size_t *lens = fl_calloc((size_t)n, sizeof *lens);
  for (int i = 0; lens && i < n; i++)
    lens[i] = strlen(argv[i]);
  if (lens && redisAsyncCommandArgv(w->ac, on_touched, NULL, n, argv, lens) == REDIS_OK)
    w->touching = 1;
  fl_free(lens);
  fl_free(argv);
}

/* ---- the source ---- */

static input_status src_next(void *impl, const char **line, size_t *len, uint64_t *lineno) {
  cli_work *w = impl;
  if (w->stopped || w->drained)
    return INPUT_EOF;
  fl_list *l = fl_list_first(&w->ready);
  if (l == NULL) {
    fetch(w);
    return INPUT_AGAIN;
  }
  job *j = job_of(l);
  job_move(j, &w->out, J_OUT);
  w->current = j;
  *lineno = j->lineno;
  if (j->len > (size_t)w->o_all->max_line)
    return INPUT_TOO_LONG;
  *line = j->line;
  *len = j->len;
  if (*len && (*line)[*len - 1] == '\r')
    (*len)--;
  return INPUT_LINE;
}

static void src_wait(void *impl, void (*cb)(void *), void *ud) {
  cli_work *w = impl;
  w->wait_cb = cb;
  w->wait_ud = ud;
  fetch(w);
}

static void src_placed(void *impl, uint64_t lineno, int64_t seq, const uint64_t *key) {
  cli_work *w = impl;
  job *j = w->current;
  if (j == NULL || j->lineno != lineno)
    return;
  w->current = NULL;
  /* One result per request identity, also for the same request enqueued
   * twice; a bad line has none: its entry's id stands for it. */
  if (key)
    snprintf(j->done, sizeof j->done, "key:%016llx", (unsigned long long)*key);
  if (seq >= 0) {
    j->seq = (uint64_t)seq;
    j->has_seq = 1;
    return;
  }
  store(w, j); /* a blank line: acknowledged, no record */
}

static int64_t src_total(void *impl) {
  (void)impl;
  return -1;
}

static const char *src_errmsg(void *impl) {
  (void)impl;
  return "redis";
}

static void release(cli_work *w);

static void on_handle_closed(uv_handle_t *h) { release(h->data); }

static void src_close(void *impl) {
  cli_work *w = impl;
  if (!w->o_all->quiet)
    fprintf(stderr,
            "flurry work: %llu stored, %llu dead-lettered, %llu already stored (duplicates "
            "skipped), %llu failed and left for another delivery\n",
            (unsigned long long)w->count[0], (unsigned long long)w->count[1],
            (unsigned long long)w->count[2], (unsigned long long)w->count[3]);
  w->closing = 1;
  w->wait_cb = NULL;
  if (w->ac) {
    redisAsyncContext *ac = w->ac;
    w->ac = NULL;
    redisAsyncFree(ac);
  }
  cli_work__rate_close(w);
  w->refs += 4;
  uv_close((uv_handle_t *)&w->touch_timer, on_handle_closed);
  uv_close((uv_handle_t *)&w->poll_timer, on_handle_closed);
  uv_close((uv_handle_t *)&w->claim_timer, on_handle_closed);
  uv_close((uv_handle_t *)&w->reconnect_timer, on_handle_closed);
  release(w);
}

void cli_work_stop(cli_work *w) {
  w->stopped = 1;
  /* entries read and not started stay pending: another worker claims them */
  while (!fl_list_empty(&w->ready))
    job_free(w, job_of(fl_list_first(&w->ready)));
}

/* ---- the sink ---- */

/* What one record means for its entry (work.h): a result, a failure worth
 * another delivery (a transport error, or a status --retry-on retries:
 * 408/429/500/502/503/504 by default), or not finished (cancelled: a
 * signal). */
static int record_class(const flurry_client *client, const char *p, size_t n) {
  jv v = cli_jv_parse(p, n);
  if (!jv_is_valid(v) || jv_get_kind(v) != JV_KIND_OBJECT) {
    jv_free(v);
    return CLS_RESULT;
  }
  jv kind = jv_getpath(jv_copy(v), JV_ARRAY(jv_string("error"), jv_string("kind")));
  jv status = jv_object_get(v, jv_string("status"));
  int st = jv_get_kind(status) == JV_KIND_NUMBER ? (int)jv_number_value(status) : 0;
  const char *k = jv_get_kind(kind) == JV_KIND_STRING ? jv_string_value(kind) : "";
  int cls = CLS_RESULT;
  if (strcmp(k, "cancelled") == 0)
    cls = CLS_UNFINISHED;
  else if (strcmp(k, "connect") == 0 || strcmp(k, "dns") == 0 || strcmp(k, "timeout") == 0 ||
           strcmp(k, "reset") == 0 ||
           (strcmp(k, "http") == 0 && flurry_client_status_in(client, FLURRY_STATUS_RETRY, st)))
    cls = CLS_RETRY;
  jv_free(kind);
  jv_free(status);
  return cls;
}

static void sink_write(void *impl, uint64_t seq, const char *p, size_t n) {
  cli_work *w = impl;
  job *j = job_by_seq(w, seq);
  if (j == NULL)
    return;
  for (size_t off = 0; off < n;) {
    const char *nl = memchr(p + off, '\n', n - off);
    size_t len = nl ? (size_t)(nl - (p + off)) : n - off;
    int cls = record_class(w->client, p + off, len);
    if (cls > j->cls)
      j->cls = cls;
    off += len + 1;
  }
  if (fl_buf_append(&j->records, p, n) != FL_OK)
    w->failed = 1;
}

static void sink_end(void *impl, uint64_t seq) {
  cli_work *w = impl;
  job *j = job_by_seq(w, seq);
  if (j == NULL)
    return;
  if (j->cls == CLS_UNFINISHED) { /* left pending: claimed again later */
    job_free(w, j);
    w->kick(w->kick_ud);
    return;
  }
  store(w, j);
}

static void on_stored(redisAsyncContext *ac, void *reply, void *priv) {
  cli_work *w = ac->data;
  redisReply *r = reply;
  job *j = priv;
  if (r == NULL) { /* the connection went: stored again after the reconnection */
    if (j->state == J_STORING)
      job_move(j, &w->store, J_STORE_WAIT);
    return;
  }
  if (cli_work__reply_noscript(r)) {
    job_move(j, &w->store, J_STORE_WAIT);
    w->store_eval = 1;
    store(w, j);
    return;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    /* not stored: left pending, claimed again after --claim-after */
    warn_reply(w, "storing records", r);
  } else if (r->type == REDIS_REPLY_STRING) {
    w->count[strcmp(r->str, "r") == 0     ? 0
             : strcmp(r->str, "d") == 0   ? 1
             : strcmp(r->str, "dup") == 0 ? 2
                                          : 3]++;
  }
  job_free(w, j);
  if (!w->closing) {
    w->kick(w->kick_ud);
    fetch(w);
  }
}

/* The script's arguments: EVALSHA sha 5 keys... group id kind max done
 * line records... */
static void store(cli_work *w, job *j) {
  job_move(j, &w->store, J_STORE_WAIT);
  if (!connected(w))
    return;
  size_t nrec = 0;
  for (size_t i = 0; i < j->records.len; i++)
    nrec += j->records.data[i] == '\n';
  size_t n = 14 + nrec;
  const char **argv = fl_calloc(n, sizeof *argv);
  size_t *lens = fl_calloc(n, sizeof *lens);
  if (argv == NULL || lens == NULL) {
    fl_free(argv);
    fl_free(lens);
    w->failed = 1;
    return;
  }
  char max[32];
  snprintf(max, sizeof max, "%lld", (long long)w->o->max_deliveries);
  cli_work__script_head(w, WORK_LUA_STORE, w->store_eval, argv);
  const char *rest[] = {"5",         w->o->stream, w->k_results,
                        w->k_done,   w->k_dead,    w->k_lasterr,
                        w->o->group, j->id,        j->cls == CLS_RETRY ? "f" : "r",
                        max,         j->done};
  memcpy(argv + 2, rest, sizeof rest);
  for (size_t i = 0; i < 13; i++)
    lens[i] = strlen(argv[i]);
  argv[13] = j->line;
  lens[13] = j->len;
  size_t k = 14;
  for (size_t off = 0; off < j->records.len && k < n;) {
    const char *p = j->records.data + off;
    const char *nl = memchr(p, '\n', j->records.len - off);
    size_t len = nl ? (size_t)(nl - p) : j->records.len - off;
    argv[k] = p;
    lens[k++] = len;
    off += len + 1;
  }
  int rc = redisAsyncCommandArgv(w->ac, on_stored, j, (int)k, argv, lens);
  fl_free(argv);
  fl_free(lens);
  if (rc == REDIS_OK)
    j->state = J_STORING;
}

static int sink_flush(void *impl) {
  cli_work *w = impl;
  if (w->failed) {
    cli_warn("out of memory holding records: stopping");
    return -1;
  }
  return 0;
}

static size_t sink_unsettled(void *impl) {
  cli_work *w = impl;
  size_t n = 0;
  fl_list *l;
  FL_LIST_FOREACH(l, &w->store) { n++; }
  return n;
}

static void sink_free(void *impl) { release(impl); }

/* ---- the connection ---- */

static void on_reconnect_timer(uv_timer_t *t) { connect_async(t->data); }

static void reconnect_later(cli_work *w) {
  if (w->closing)
    return;
  uv_timer_start(&w->reconnect_timer, on_reconnect_timer, (uint64_t)w->backoff_ms, 0);
  w->backoff_ms = w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
}

static void on_connect(const redisAsyncContext *ac, int status) {
  cli_work *w = ac->data;
  if (status != REDIS_OK) {
    w->ac = NULL; /* hiredis frees it */
    if (!w->down_said) {
      cli_warn("redis %s:%d: %s: reconnecting", w->url.host, w->url.port, ac->errstr);
      w->down_said = 1;
    }
    reconnect_later(w);
    return;
  }
  w->up = 1;
  w->backoff_ms = BACKOFF_MIN_MS;
  if (w->down_said)
    cli_warn("redis %s:%d: connected again", w->url.host, w->url.port);
  w->down_said = 0;
  w->history = 1; /* what this consumer had pending before comes back first */
  snprintf(w->history_from, sizeof w->history_from, "0");
  fl_list *l, *tmp;
  FL_LIST_FOREACH_SAFE(l, tmp, &w->store) {
    job *j = job_of(l);
    if (j->state == J_STORE_WAIT)
      store(w, j);
  }
  cli_work__rate_resume(w);
  fetch(w);
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
  cli_work *w = ac->data;
  w->ac = NULL; /* hiredis frees it */
  w->up = 0;
  w->fetching = 0;
  w->touching = 0;
  if (w->closing)
    return;
  if (!w->down_said) {
    cli_warn("redis %s:%d: connection lost (%s): reconnecting", w->url.host, w->url.port,
             status == REDIS_OK ? "closed" : ac->errstr);
    w->down_said = 1;
  }
  reconnect_later(w);
}

/* hiredis 0.14's libuv adapter drops the poll callback's error status:
 * libuv reports a reset socket (POLLERR) only that way and stops the
 * handle, so a Redis killed mid-run left the connection dead and nobody
 * told. These replace its event hooks with hiredis 1.x's fix: on an error,
 * read and write as asked, so hiredis sees the failure and disconnects
 * (then on_disconnect reconnects). Its handle and cleanup stay. */
static void poll_cb(uv_poll_t *handle, int status, int events) {
  redisLibuvEvents *p = handle->data;
  int ev = status ? p->events : events;
  if (p->context != NULL && (ev & UV_READABLE))
    redisAsyncHandleRead(p->context);
  if (p->context != NULL && (ev & UV_WRITABLE))
    redisAsyncHandleWrite(p->context);
}

static void poll_events(redisLibuvEvents *p, int add, int ev) {
  p->events = add ? p->events | ev : p->events & ~ev;
  if (p->events)
    uv_poll_start(&p->handle, p->events, poll_cb);
  else
    uv_poll_stop(&p->handle);
}

static void ev_add_read(void *priv) { poll_events(priv, 1, UV_READABLE); }
static void ev_del_read(void *priv) { poll_events(priv, 0, UV_READABLE); }
static void ev_add_write(void *priv) { poll_events(priv, 1, UV_WRITABLE); }
static void ev_del_write(void *priv) { poll_events(priv, 0, UV_WRITABLE); }

static int attach(redisAsyncContext *ac, uv_loop_t *loop) {
  if (redisLibuvAttach(ac, loop) != REDIS_OK)
    return -1;
  ac->ev.addRead = ev_add_read;
  ac->ev.delRead = ev_del_read;
  ac->ev.addWrite = ev_add_write;
  ac->ev.delWrite = ev_del_write;
  return 0;
}

static void connect_async(cli_work *w) {
  redisAsyncContext *ac = redisAsyncConnect(w->url.host, w->url.port);
  if (ac == NULL || ac->err) {
    if (ac)
      redisAsyncFree(ac);
    reconnect_later(w);
    return;
  }
  ac->data = w;
  if (attach(ac, w->loop) != 0) {
    redisAsyncFree(ac);
    reconnect_later(w);
    return;
  }
  redisEnableKeepAlive(&ac->c); /* a peer gone without a word is noticed too */
  redisAsyncSetConnectCallback(ac, on_connect);
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
  w->ac = ac;
  /* queued before anything else on this connection */
  if (w->url.password[0]) {
    const char *argv[] = {"AUTH", w->url.password};
    command(w, NULL, NULL, 2, argv, NULL);
  }
  if (w->url.db) {
    char db[16];
    snprintf(db, sizeof db, "%d", w->url.db);
    const char *argv[] = {"SELECT", db};
    command(w, NULL, NULL, 2, argv, NULL);
  }
}

/* ---- open and close ---- */

static void release(cli_work *w) {
  if (--w->refs > 0)
    return;
  while (!fl_list_empty(&w->ready))
    job_free(w, job_of(fl_list_first(&w->ready)));
  while (!fl_list_empty(&w->out))
    job_free(w, job_of(fl_list_first(&w->out)));
  while (!fl_list_empty(&w->store))
    job_free(w, job_of(fl_list_first(&w->store)));
  cli_work__free_keys(w);
  fl_free(w);
}

static void start_timers(cli_work *w) {
  uv_timer_init(w->loop, &w->poll_timer);
  uv_timer_init(w->loop, &w->claim_timer);
  uv_timer_init(w->loop, &w->reconnect_timer);
  uv_timer_init(w->loop, &w->touch_timer);
  w->poll_timer.data = w->claim_timer.data = w->reconnect_timer.data = w->touch_timer.data = w;
  int64_t touch = w->o->claim_after_ms / 3;
  touch = touch < 10 ? 10 : touch > 10000 ? 10000 : touch;
  uv_timer_start(&w->touch_timer, on_touch_timer, (uint64_t)touch, (uint64_t)touch);
  int64_t every = w->o->claim_after_ms / 4;
  every = every < 50 ? 50 : every > 5000 ? 5000 : every;
  uv_timer_start(&w->claim_timer, on_claim_timer, (uint64_t)every, (uint64_t)every);
}

int cli_work_open(cli_work **out, const cli_opts *o, flurry_client *client, cli_source *src,
                  cli_sink *sink, void (*kick)(void *), void *ud) {
  cli_work *w = fl_calloc(1, sizeof *w);
  if (w == NULL)
    return cli_nomem("flurry work");
  w->o = &o->work;
  w->o_all = o;
  w->client = client;
  w->loop = flurry_client_loop(client);
  w->kick = kick;
  w->kick_ud = ud;
  w->refs = 2; /* the source and the sink */
  w->backoff_ms = BACKOFF_MIN_MS;
  fl_list_init(&w->ready);
  fl_list_init(&w->out);
  fl_list_init(&w->store);
  int rc = cli_work__prepare(w); /* keys, and Redis reachable: checked now */
  if (rc == 0)
    rc = cli_work__rate_open(w);
  if (rc != 0) {
    cli_work__free_keys(w);
    fl_free(w);
    return rc;
  }
  start_timers(w);
  connect_async(w);
  *src = (cli_source){.impl = w,
                      .next = src_next,
                      .wait = src_wait,
                      .placed = src_placed,
                      .total = src_total,
                      .errmsg = src_errmsg,
                      .close = src_close};
  *sink = (cli_sink){.impl = w,
                     .write = sink_write,
                     .end = sink_end,
                     .flush = sink_flush,
                     .unsettled = sink_unsettled,
                     .free = sink_free};
  *out = w;
  return 0;
}
