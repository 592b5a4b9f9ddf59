/* sched.c: the scheduler. Requests wait in a FIFO queue for an in-flight
 * slot and the client-wide rate; their host may park them (paused, rate
 * limited, probing); retries wait in a heap by due time. One timer wakes
 * whatever is due next. */
#include <math.h>

#include "internal.h"

static void on_sched(uv_timer_t *t);

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

void flurry__queue_front(flurry_client *c, flurry_request *req) {
  req->state = REQ_QUEUED;
  fl_list_push_front(&c->queue, &req->link);
  c->queued++;
}

void flurry__complete(flurry_client *c, flurry_request *req) {
  flurry_response *resp = req->resp;
  req->resp = NULL;
  req->state = REQ_DONE;
  /* From the first attempt on: time queued behind the in-flight limit is
   * the caller's choice of limit, not the request's latency. */
  resp->timings.elapsed_ms = fl_now_ms() - (req->first_ms > 0 ? req->first_ms : req->submit_ms);
  if (req->host) {
    flurry__host_done(c, req->host, req);
    flurry__host_release(c, req->host);
    req->host = NULL;
  }
  c->in_callback++;
  if (req->chain)
    flurry__chain_complete(c, req, resp); /* the page, then what follows */
  else
    req->cb(req, resp, req->user_data);
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
  if (fl_heap_push(&c->backoff, &req->backoff, fl_now_ms() + delay_ms) != FL_OK)
    return FLURRY_ENOMEM;
  req->state = REQ_BACKOFF;
  flurry__sched_in(c, delay_ms);
  return FLURRY_OK;
}

static flurry_request *backoff_req(fl_heap_node *n) {
  return FL_CONTAINER(n, flurry_request, backoff);
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
    double now = fl_now_ms(), wait, until;
    if (!flurry__bucket_peek(&c->rate, now, &wait)) {
      flurry__sched_in(c, wait);
      return;
    }
    flurry_request *req = flurry__req_of(fl_list_pop_front(&c->queue));
    c->queued--;
    switch (flurry__host_admit(c, req->host, req, now, &until)) {
    case HOST_GO:
      flurry__bucket_take(&c->rate, now, &wait);
      flurry__start(c, req);
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
  fl_list due = FL_LIST_INIT(due); /* newest first */
  for (fl_heap_node *n = fl_heap_top(&c->backoff); n && n->key <= now; n = fl_heap_top(&c->backoff)) {
    fl_heap_pop(&c->backoff);
    fl_list_push_front(&due, &backoff_req(n)->link);
  }
  for (fl_list *l = fl_list_pop_front(&due); l; l = fl_list_pop_front(&due))
    flurry__queue_front(c, flurry__req_of(l));
}

static void on_sched(uv_timer_t *t) {
  flurry_client *c = t->data;
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

/* Completes queued requests, parked ones and (unless queued_only) retries
 * waiting and running transfers, with FLURRY_ECANCELLED. queued_only keeps
 * what already made an attempt: a graceful stop lets it finish. */
void flurry__cancel_all(flurry_client *c, int queued_only) {
  for (fl_list *l = fl_list_pop_front(&c->queue); l; l = fl_list_pop_front(&c->queue)) {
    c->queued--;
    flurry__cancel(c, flurry__req_of(l));
  }
  flurry__host_cancel_parked(c, queued_only);
  if (queued_only)
    return;
  for (fl_heap_node *n = fl_heap_pop(&c->backoff); n; n = fl_heap_pop(&c->backoff))
    flurry__cancel(c, backoff_req(n));
  for (fl_list *l = fl_list_pop_front(&c->run); l; l = fl_list_pop_front(&c->run)) {
    flurry_request *req = flurry__req_of(l);
    curl_multi_remove_handle(c->multi, req->easy);
    curl_easy_cleanup(req->easy);
    req->easy = NULL;
    c->running--;
    flurry__cancel(c, req);
  }
  if (fl_list_empty(&c->queue) && c->backoff.len == 0 && c->host_wake.len == 0)
    uv_timer_stop(&c->sched_timer); /* nothing to wake: let the loop end */
}
