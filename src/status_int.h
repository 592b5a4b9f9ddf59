/* status_int.h: the client's status rules (status.c): statuses retried
 * and statuses taken as data. Internal. */
#ifndef FLURRY_STATUS_INT_H
#define FLURRY_STATUS_INT_H

#include "client_int.h"

/* 1 when an answer with this status is data (FLURRY_STATUS_OK). */
int flurry__status_ok(const flurry_client *c, int status);
/* For an attempt that ended with an answer of 400 or more (an error, or
 * data by FLURRY_STATUS_OK): 1 if its status is retried, else 0. -1 when
 * the outcome is not such an answer (a transport error, a success). */
int flurry__status_retried(const flurry_client *c, const flurry_response *resp);
void flurry__status_free(flurry_client *c);

#endif
