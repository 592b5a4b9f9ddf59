/* transfer_int.h: one attempt on the wire (transfer.c): starting it, and
 * what follows its end (another hop, a retry, completion). Internal. */
#ifndef FLURRY_TRANSFER_INT_H
#define FLURRY_TRANSFER_INT_H

#include "client_int.h"

/* Starts one attempt (or a redirect's next hop); on failure completes the
 * request with an error. */
void flurry__start(flurry_client *c, flurry_request *req);
/* libcurl reported the transfer of `easy` done. */
void flurry__transfer_done(flurry_client *c, CURL *easy, CURLcode result);
/* From inside libcurl: the socket of easy's transfer could not be watched;
 * it is remembered, and flurry__transfer_flush ends it. */
void flurry__transfer_sock_failed(flurry_client *c, CURL *easy);
/* Ends the transfers remembered by flurry__transfer_sock_failed, with
 * FLURRY_ENOMEM. */
void flurry__transfer_flush(flurry_client *c);
void flurry__easy_pool_free(flurry_client *c);

#endif
