/* window.c: sliding-window limits on request starts ("5000 an hour", as
 * GitHub states its quota): never more than N starts in any window of the
 * period's length, for the client (FLURRY_OPT_WINDOW_LIMIT / _MS) and for
 * each host (FLURRY_OPT_HOST_WINDOW_LIMIT / _MS), together with the token
 * buckets and the in-flight limit. A ring keeps the last N start times: a
 * start at t may go when the N-th latest was at t - period or before.
 * Exact, whatever the timer's granularity: 8 bytes per unit of N. */
#include <math.h>
#include <string.h>

#include "host_int.h"
#include "window_int.h"

#define NOMEM_WAIT_MS 1000

/* Resizes the ring to cap, keeping the latest times. 0 or -1. */
static int resize(flurry__window *w, size_t cap) {
  double *t = fl_malloc(cap * sizeof *t);
  if (t == NULL)
    return -1;
  size_t keep = w->n < cap ? w->n : cap;
  for (size_t i = 0; i < keep; i++) /* the latest keep, oldest first */
    t[i] = w->t[(w->head + w->n - keep + i) % w->cap];
  fl_free(w->t);
  w->t = t;
  w->cap = cap;
  w->n = keep;
  w->head = 0;
  return 0;
}

int flurry__window_peek(flurry__window *w, int64_t limit, double period_ms, double now,
                        double *wait_ms) {
  if (limit <= 0)
    return 1;
  if ((size_t)limit != w->cap && resize(w, (size_t)limit) != 0) {
    *wait_ms = NOMEM_WAIT_MS;
    return 0;
  }
  if (w->n < w->cap)
    return 1;
  double free_at = w->t[w->head] + period_ms; /* the oldest leaves the window */
  if (now >= free_at)
    return 1;
  *wait_ms = free_at - now;
  return 0;
}

void flurry__window_note(flurry__window *w, int64_t limit, double now) {
  if (limit <= 0 || w->cap == 0)
    return;
  if (w->n < w->cap) {
    w->t[(w->head + w->n++) % w->cap] = now;
  } else {
    w->t[w->head] = now; /* the oldest goes */
    w->head = (w->head + 1) % w->cap;
  }
}

void flurry__window_free(flurry__window *w) {
  fl_free(w->t);
  memset(w, 0, sizeof *w);
}

/* The client's window lives in its own allocation (client_int.h keeps a
 * pointer); a host's too, made at its first start under a limit. */
static flurry__window *client_window(flurry_client *c) {
  if (c->window == NULL)
    c->window = fl_calloc(1, sizeof *c->window);
  return c->window;
}

static flurry__window *host_window(flurry__host *h) {
  if (h->window == NULL)
    h->window = fl_calloc(1, sizeof *h->window);
  return h->window;
}

#define OPT(o) c->opts.v[FLURRY_OPT_##o]

int flurry__windows_admit(flurry_client *c, flurry__host *h, double now, double *wait_ms,
                          double *until) {
  if (OPT(WINDOW_LIMIT) > 0) {
    flurry__window *w = client_window(c);
    if (w == NULL) {
      *wait_ms = NOMEM_WAIT_MS;
      return 1;
    }
    if (!flurry__window_peek(w, OPT(WINDOW_LIMIT), (double)OPT(WINDOW_MS), now, wait_ms))
      return 1;
  }
  if (OPT(HOST_WINDOW_LIMIT) > 0) {
    flurry__window *w = host_window(h);
    double wait = NOMEM_WAIT_MS;
    if (w == NULL ||
        !flurry__window_peek(w, OPT(HOST_WINDOW_LIMIT), (double)OPT(HOST_WINDOW_MS), now, &wait)) {
      *until = now + wait;
      return 2;
    }
  }
  return 0;
}

void flurry__windows_note(flurry_client *c, flurry__host *h, double now) {
  if (OPT(WINDOW_LIMIT) > 0 && c->window)
    flurry__window_note(c->window, OPT(WINDOW_LIMIT), now);
  if (OPT(HOST_WINDOW_LIMIT) > 0 && h->window)
    flurry__window_note(h->window, OPT(HOST_WINDOW_LIMIT), now);
}

#undef OPT

static void drop(flurry__window **w) {
  if (*w == NULL)
    return;
  flurry__window_free(*w);
  fl_free(*w);
  *w = NULL;
}

void flurry__window_host_free(flurry__host *h) { drop(&h->window); }

void flurry__windows_free(flurry_client *c) { drop(&c->window); }
