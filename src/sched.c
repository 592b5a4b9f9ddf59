/* sched.c: the scheduler. Requests wait in a FIFO queue for an in-flight
 * slot and the client-wide rate; their host may park them (paused, rate
 * limited, probing); retries wait in a heap by due time. One timer wakes
 * whatever is due next. flurry__req_set_state is the one place a request's
 * state changes, with its list and counter (docs/internals.md). */
#include <math.h>

#include "cache_int.h"
#include "host_int.h"
#include "request_int.h"
#include "response_int.h"
#include "sched_int.h"
#include "transfer_int.h"
#include "window_int.h"

static void on_sched(uv_timer_t *t);
static void cancel_marked(flurry_client *c);

double flurry__rng(flurry_client *c) { /* xorshift64*, uniform [0,1) */
  c->rng ^= c->rng >> 12;
  c->rng ^= c->rng << 25;
  c->rng ^= c->rng >> 27;
  return (double)((c->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* Arms the scheduler timer to fire in `ms` unless it already fires sooner. */
void flurry__sched_in(flurry_client *c, double ms) {
  uv_timer_t *t = &c->sched_timer;
  uint64_t due = ms > 0 ? (uint64_t)ceil(ms) : 0;
  if (c->closing)
    return;
  if (!uv_is_active((uv_handle_t *)t) || uv_timer_get_due_in(t) > due)
    uv_timer_start(t, on_sched, due, 0);
}

/* Runs the scheduler on the next loop turn: never from inside submit, so a
 * callback cannot run before submit returns. */
void flurry__kick(flurry_client *c) { flurry__sched_in(c, 0); }

/* ---- the request's state ---- */

static flurry_request *backoff_req(fl_heap_node *n) {
  return FL_CONTAINER(n, flurry_request, backoff);
}

/* Takes req out of its state's list or heap and counter. */
static void state_leave(flurry_client *c, flurry_request *req) {
  switch (req->state) {
  case REQ_QUEUED:
    fl_list_remove(&req->link);
    c->queued--;
    break;
  case REQ_RUNNING:
    fl_list_remove(&req->link);
    c->running--;
    break;
  case REQ_PARKED:
    fl_list_remove(&req->link);
    req->host->parked--;
    c->parked--;
    break;
  case REQ_BACKOFF:
    if (fl_heap_contains(&req->backoff))
      fl_heap_remove(&c->backoff, &req->backoff);
    break;
  case REQ_NEW:
  case REQ_DONE:
    break;
  }
}

int flurry__req_set_state(flurry_client *c, flurry_request *req, req_state to, fl_list *before,
                          double due_ms) {
  /* The one join that may fail, before leaving (never from REQ_BACKOFF). */
  if (to == REQ_BACKOFF && fl_heap_push(&c->backoff, &req->backoff, due_ms) != FL_OK)
    return FLURRY_ENOMEM;
  state_leave(c, req);
  req->state = to;
  switch (to) {
  case REQ_QUEUED:
    fl_list_push_back(before ? before : &c->queue, &req->link); /* before `before` */
    c->queued++;
    break;
  case REQ_RUNNING:
    fl_list_push_back(&c->run, &req->link);
    c->running++;
    break;
  case REQ_PARKED:
    fl_list_push_back(&req->host->park, &req->link);
    req->host->parked++;
    c->parked++;
    break;
  case REQ_BACKOFF: /* joined above */
  case REQ_NEW:
  case REQ_DONE:
    break;
  }
  return FLURRY_OK;
}

/* Counts a list whose requests must all be in state st; SIZE_MAX when one
 * is not. */
static size_t list_check(const fl_list *head, req_state st) {
  size_t n = 0;
  const fl_list *l;
  FL_LIST_FOREACH(l, head) {
    if (flurry__req_of((fl_list *)l)->state != st)
      return SIZE_MAX;
    n++;
  }
  return n;
}

int flurry__sched_check(const flurry_client *c) {
  if (list_check(&c->queue, REQ_QUEUED) != c->queued ||
      list_check(&c->run, REQ_RUNNING) != c->running)
    return -1;
  size_t parked = 0, pos = 0;
  for (flurry__host **h = fl_map_next(&c->hosts, &pos); h; h = fl_map_next(&c->hosts, &pos)) {
    if (list_check(&(*h)->park, REQ_PARKED) != (*h)->parked)
      return -1;
    parked += (*h)->parked;
  }
  for (size_t i = 0; i < c->backoff.len; i++)
    if (backoff_req(c->backoff.v[i])->state != REQ_BACKOFF)
      return -1;
  return parked == c->parked ? 0 : -1;
}

/* ---- completion ---- */

void flurry__complete(flurry_client *c, flurry_request *req) {
  flurry_response *resp = req->resp;
  req->resp = NULL;
  flurry__req_set_state(c, req, REQ_DONE, NULL, 0);
  /* From the first attempt on: time queued behind the in-flight limit is
   * the caller's choice of limit, not the request's latency. */
  resp->timings.elapsed_ms = fl_now_ms() - (req->first_ms > 0 ? req->first_ms : req->submit_ms);
  if (req->host) {
    flurry__host_done(c, req->host, req);
    flurry__host_release(c, req->host);
    req->host = NULL;
  }
  if (req->cancel_pending) { /* flurry_request_cancel, deferred: one result, cancelled */
    c->cancel_pending--;
    req->cancel_pending = 0;
    if (resp->err != FLURRY_ECANCELLED)
      flurry__response_set_error(resp, FLURRY_ECANCELLED, "cancelled before completion");
  }
  if (req->cache) /* a 304 becomes the stored response; collapsed ones answered */
    flurry__cache_complete(c, req, resp);
  c->in_callback++;
  c->in_complete++;
  if (req->on_complete)
    req->on_complete(c, req, resp); /* a page: then what follows (paginate.c) */
  else
    req->cb(req, resp, req->user_data);
  c->in_complete--;
  c->in_callback--;
  flurry_request_free(req);
  /* The last one, completed from a timer: uv_run(UV_RUN_ONCE) would go on
   * to block in its poll phase until some other handle fires (seconds, or
   * never), and flurry_client_run would return only then. */
  if (c->in_run && flurry_client_pending(c) == 0)
    uv_stop(c->loop);
}

void flurry__cancel(flurry_client *c, flurry_request *req) {
  flurry__response_set_error(req->resp, FLURRY_ECANCELLED, "cancelled before completion");
  flurry__complete(c, req);
}

int flurry__backoff_push(flurry_client *c, flurry_request *req, double delay_ms) {
  if (flurry__req_set_state(c, req, REQ_BACKOFF, NULL, fl_now_ms() + delay_ms) != FLURRY_OK)
    return FLURRY_ENOMEM;
  flurry__sched_in(c, delay_ms);
  return FLURRY_OK;
}

/* Fails a request at once: its host's circuit is open. A retry keeps the
 * error of its last attempt. */
static void fail_fast(flurry_client *c, flurry_request *req) {
  flurry_response *resp = req->resp;
  if (resp->attempts == 0) {
    flurry__response_set_error(resp, FLURRY_ECONNECT,
                               "circuit open: too many consecutive connection failures "
                               "to this host; not tried");
    fl_free(resp->effective_url);
    resp->effective_url = fl_strdup(flurry__target_url(req));
  } else {
    flurry__response_set_error(resp, resp->err, "%s (circuit open: not retried)",
                               resp->errmsg ? resp->errmsg : "");
  }
  resp->detail = FLURRY_DETAIL_CIRCUIT_OPEN;
  flurry__complete(c, req);
}

void flurry__pump(flurry_client *c) {
  size_t max = (size_t)c->opts.v[FLURRY_OPT_MAX_IN_FLIGHT];
  while (!fl_list_empty(&c->queue) && c->running < max && !c->closing) {
    if (flurry__cache_intercept(c, flurry__req_of(fl_list_first(&c->queue))))
      continue; /* answered from the cache, or waiting on an identical request */
    double now = fl_now_ms(), wait, until;
    if (!flurry__bucket_peek(&c->rate, now, &wait)) {
      flurry__sched_in(c, wait);
      return;
    }
    flurry_request *req = flurry__req_of(fl_list_first(&c->queue));
    int window = flurry__windows_admit(c, req->host, now, &wait, &until); /* window.c */
    if (window == 1) {
      flurry__sched_in(c, wait);
      return;
    }
    if (window == 2) {
      flurry__host_park(c, req->host, req, until);
      continue;
    }
    flurry__host *host = req->host; /* req may be gone after the start */
    if (c->admit_cb && c->admit_cb(c, req, c->admit_ud) != FLURRY_ADMIT_GO)
      return; /* held: flurry_client_admit_ready asks again */
    switch /* each way out takes req out of the queue */ (
        flurry__host_admit(c, req->host, req, now, &until)) {
    case HOST_GO:
      flurry__bucket_take(&c->rate, now, &wait);
      flurry__start(c, req);
      flurry__windows_note(c, host, fl_now_ms()); /* at or after the attempt's start */
      break;
    case HOST_WAIT:
      flurry__host_park(c, req->host, req, until);
      break;
    case HOST_FAIL:
      fail_fast(c, req);
      break;
    }
  }
}

/* Due retries go to the front of the queue, oldest first. */
static void backoff_due(flurry_client *c, double now) {
  fl_list *front = fl_list_first(&c->queue); /* they go before it, oldest first */
  for (fl_heap_node *n = fl_heap_top(&c->backoff); n && n->key <= now; n = fl_heap_top(&c->backoff))
    flurry__req_set_state(c, backoff_req(n), REQ_QUEUED, front, 0);
}

static void on_sched(uv_timer_t *t) {
  flurry_client *c = t->data;
  if (c->cancel_pending > 0)
    cancel_marked(c);
  double now = fl_now_ms();
  backoff_due(c, now);
  flurry__host_wake_due(c, now);
  flurry__pump(c);
  now = fl_now_ms();
  fl_heap_node *next = fl_heap_top(&c->backoff);
  if (next)
    flurry__sched_in(c, next->key - now);
  next = fl_heap_top(&c->host_wake);
  if (next)
    flurry__sched_in(c, next->key - now);
}

/* Takes a running request's transfer off the multi handle and cancels it.
 * Returns FLURRY_OK, or FLURRY_EINVALID when libcurl refuses because one of
 * its callbacks is on the stack (then nothing changed). */
static int cancel_running(flurry_client *c, flurry_request *req) {
  if (curl_multi_remove_handle(c->multi, req->easy) == CURLM_RECURSIVE_API_CALL)
    return FLURRY_EINVALID;
  if (req->on_failed_list) { /* off the socket-failure list: it would outlive req */
    flurry_request **pp = &c->sock_failed;
    while (*pp != req)
      pp = &(*pp)->failed_next;
    *pp = req->failed_next;
    req->failed_next = NULL;
    req->on_failed_list = 0;
  }
  curl_easy_cleanup(req->easy);
  req->easy = NULL;
  flurry__cancel(c, req);
  return FLURRY_OK;
}

FLURRY_API int flurry_request_cancel(flurry_request *req) {
  if (req == NULL || req->state == REQ_NEW || req->state == REQ_DONE || req->client == NULL)
    return FLURRY_EINVALID;
  flurry_client *c = req->client;
  if (req->cancel_pending)
    return FLURRY_OK;
  if (req->state == REQ_RUNNING) {
    if (cancel_running(c, req) == FLURRY_OK) {
      flurry__kick(c); /* its slot is free: the queue may go on */
      return FLURRY_OK;
    }
    /* From inside libcurl (a record callback): on the next loop turn. */
    req->cancel_pending = 1;
    c->cancel_pending++;
    flurry__kick(c);
    return FLURRY_OK;
  }
  flurry__cancel(c, req); /* queued, parked or waiting to retry: leaves its list */
  return FLURRY_OK;
}

/* Cancels the running requests flurry_request_cancel marked from inside
 * libcurl. */
static void cancel_marked(flurry_client *c) {
  fl_list *l, *tmp;
  FL_LIST_FOREACH_SAFE(l, tmp, &c->run) {
    flurry_request *req = flurry__req_of(l);
    if (req->cancel_pending && cancel_running(c, req) != FLURRY_OK)
      return;
    if (c->cancel_pending == 0)
      return;
  }
}

/* Completes queued requests, parked ones and (unless queued_only) retries
 * waiting and running transfers, with FLURRY_ECANCELLED. queued_only keeps
 * what already made an attempt: a graceful stop lets it finish. A
 * completion callback may call it (flurry_client_cancel_all), also one it
 * completes: every loop takes the first of a list again, so what a nested
 * call took is not seen twice, and nothing runs inside libcurl. */
void flurry__cancel_all(flurry_client *c, int queued_only) {
  while (!fl_list_empty(&c->queue))
    flurry__cancel(c, flurry__req_of(fl_list_first(&c->queue)));
  flurry__host_cancel_parked(c, queued_only);
  if (queued_only)
    return;
  /* Every running transfer goes: none may stay on the list of those whose
   * socket failed (a completion callback may cancel while that list is
   * being flushed, transfer.c). */
  while (c->sock_failed) {
    flurry_request *req = c->sock_failed;
    c->sock_failed = req->failed_next;
    req->failed_next = NULL;
    req->on_failed_list = 0;
  }
  for (fl_heap_node *n = fl_heap_top(&c->backoff); n; n = fl_heap_top(&c->backoff))
    flurry__cancel(c, backoff_req(n));
  while (!fl_list_empty(&c->run)) {
    flurry_request *req = flurry__req_of(fl_list_first(&c->run));
    curl_multi_remove_handle(c->multi, req->easy);
    curl_easy_cleanup(req->easy);
    req->easy = NULL;
    flurry__cancel(c, req);
  }
  if (fl_list_empty(&c->queue) && c->backoff.len == 0 && c->host_wake.len == 0)
    uv_timer_stop(&c->sched_timer); /* nothing to wake: let the loop end */
}

/* ---- the admission hook (flurry/admit.h) ---- */

FLURRY_API int flurry_client_set_admit(flurry_client *c, flurry_admit_cb cb, void *user_data) {
  if (c == NULL)
    return FLURRY_EINVALID;
  c->admit_cb = cb;
  c->admit_ud = user_data;
  return FLURRY_OK;
}

FLURRY_API void flurry_client_admit_ready(flurry_client *c) {
  if (c)
    flurry__kick(c);
}
