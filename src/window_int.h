/* window_int.h: sliding-window limits on request starts (window.c): never
 * more than N starts in any window of a given length, for the client and
 * for each host (FLURRY_OPT_WINDOW_LIMIT, FLURRY_OPT_HOST_WINDOW_LIMIT).
 * A ring of the last N start times; pure but for allocation: the caller
 * passes the time. Internal. */
#ifndef FLURRY_WINDOW_INT_H
#define FLURRY_WINDOW_INT_H

#include <stddef.h>
#include <stdint.h>

#include "client_int.h"

typedef struct flurry__window {
  double *t;   /* the last n start times, oldest at head */
  size_t cap;  /* ring size: the limit it was sized for */
  size_t n;    /* times held (<= cap) */
  size_t head; /* index of the oldest */
} flurry__window;

/* 1 when one more start at now keeps every window of period_ms at most
 * limit starts (limit 0: no limit), else 0 with *wait_ms until it will.
 * Sizes the ring for limit (keeping the latest times); when that fails it
 * says wait (1 s): never a start it cannot count. */
int flurry__window_peek(flurry__window *w, int64_t limit, double period_ms, double now,
                        double *wait_ms);
/* Counts a start at now (after a peek that said yes). */
void flurry__window_note(flurry__window *w, int64_t limit, double now);
void flurry__window_free(flurry__window *w);

/* The scheduler's check (sched.c) for the queue's first request: the
 * client's window, then its host's. 0: it may start; 1: the client must
 * wait *wait_ms; 2: its host must, until *until (park it). */
int flurry__windows_admit(flurry_client *c, flurry__host *h, double now, double *wait_ms,
                          double *until);
/* Counts a start on the client's and the host's windows. */
void flurry__windows_note(flurry_client *c, flurry__host *h, double now);
/* Frees a host's window (host.c, when the host goes). */
void flurry__window_host_free(flurry__host *h);
void flurry__windows_free(flurry_client *c);

#endif
