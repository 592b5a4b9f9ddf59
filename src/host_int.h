/* host_int.h: what the client knows of each host (host.c): its pause,
 * rate and circuit breaker, and the requests parked on it. Internal. */
#ifndef FLURRY_HOST_INT_H
#define FLURRY_HOST_INT_H

#include "client_int.h"

typedef enum { HOST_GO, HOST_WAIT, HOST_FAIL } flurry__verdict;
/* Empty host map and idle list, at the client's creation. */
void flurry__hosts_init(flurry_client *c);
/* The host of an absolute URL, created on first use (refs counted by
 * requests: acquire at submit, release at completion). NULL: no memory. */
flurry__host *flurry__host_acquire(flurry_client *c, const char *url);
void flurry__host_release(flurry_client *c, flurry__host *h);
/* May a request to h start now? HOST_WAIT sets *until (ms; INFINITY: until
 * a probe answers). HOST_GO takes the host's token. */
flurry__verdict flurry__host_admit(flurry_client *c, flurry__host *h, const flurry_request *req,
                                   double now, double *until);
/* A request is done (completed or cancelled): if it was the host's probe,
 * the requests waiting on it go on. */
void flurry__host_done(flurry_client *c, flurry__host *h, const flurry_request *req);
/* Learns from a finished attempt: breaker, Retry-After pause, adaptive rate. */
void flurry__host_learn(flurry_client *c, flurry__host *h, const flurry_request *req, double now);
/* Parks a request on its host until `until`. */
void flurry__host_park(flurry_client *c, flurry__host *h, flurry_request *req, double until);
/* Hosts whose wait ended: their parked requests go back to the queue. */
void flurry__host_wake_due(flurry_client *c, double now);
/* Cancels parked requests (all, or only those never started). */
void flurry__host_cancel_parked(flurry_client *c, int never_started_only);
void flurry__hosts_free(flurry_client *c);
double flurry__hosts_min_rate(const flurry_client *c);
void flurry__hosts_rate_changed(flurry_client *c);

#endif
