/* sched_int.h: the scheduler (sched.c): the one place a submitted
 * request's state changes, the queue, the backoff heap, completion and
 * cancelling, the timer that starts what is due. Internal. */
#ifndef FLURRY_SCHED_INT_H
#define FLURRY_SCHED_INT_H

#include "client_int.h"

/* Moves req to state `to`: it leaves its state's list or heap and counter
 * (client_int.h: the queue, the run list, its host's park list, the
 * backoff heap) and joins to's:
 *   REQ_QUEUED   the queue, before `before` (a node of the queue; NULL: at
 *                the back),
 *   REQ_RUNNING  the run list, at the back,
 *   REQ_PARKED   its host's park list, at the back (the host's wake-up is
 *                host.c's),
 *   REQ_BACKOFF  the backoff heap, due at due_ms,
 *   REQ_DONE     none.
 * Every write of req->state goes through here (tests/lint/run.sh). Returns
 * FLURRY_OK, or FLURRY_ENOMEM when the backoff heap cannot grow (req then
 * stays where it was). */
int flurry__req_set_state(flurry_client *c, flurry_request *req, req_state to, fl_list *before,
                          double due_ms);
/* 0 when every counter equals its list's length and every request on a
 * list is in that list's state; -1 otherwise. O(requests): for tests and
 * debug builds. */
int flurry__sched_check(const flurry_client *c);

/* Runs the scheduler on the next loop turn (never inside submit). */
void flurry__kick(flurry_client *c);
/* Starts queued requests while there are slots and tokens. */
void flurry__pump(flurry_client *c);
/* Arms the scheduler timer to fire in `ms` unless it already fires sooner. */
void flurry__sched_in(flurry_client *c, double ms);
/* The request ends: its host released, its callback (or on_complete) run,
 * then it is freed. */
void flurry__complete(flurry_client *c, flurry_request *req);
/* Waits delay_ms in the backoff heap, then goes to the queue's front. */
int flurry__backoff_push(flurry_client *c, flurry_request *req, double delay_ms);
void flurry__cancel(flurry_client *c, flurry_request *req);
/* Cancels queued and parked requests and, unless queued_only, retries
 * waiting and running transfers. */
void flurry__cancel_all(flurry_client *c, int queued_only);
double flurry__rng(flurry_client *c);

#endif
