/* flurry/admit.h: an admission hook: the caller's say before each start.
 *
 * The client starts a queued request when it has an in-flight slot and a
 * token of its own rate (FLURRY_OPT_RATE_MILLI). With a hook set, it then
 * asks the hook too, so that a limit kept elsewhere (another process,
 * another machine: a rate shared through Redis, a quota service) gates the
 * starts without a thread or a busy loop. The hook answers at once: GO
 * starts the request now; WAIT holds the queue (the request stays at its
 * head, nothing behind it starts) until the caller calls
 * flurry_client_admit_ready, typically when an asynchronous grant arrived
 * on the same loop. Retries go through the queue and the hook again;
 * redirect hops of one attempt do not. */
#ifndef FLURRY_ADMIT_H
#define FLURRY_ADMIT_H

#include "flurry/client.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum flurry_admit { FLURRY_ADMIT_GO = 0, FLURRY_ADMIT_WAIT = 1 } flurry_admit;

/* Asked before req starts (req borrowed for the call: read its method and
 * URL with flurry_request_method / flurry_request_url). Runs on the
 * client's loop from the scheduler, never inside flurry_client_submit; it
 * must not submit, cancel or free requests, nor free the client. */
typedef flurry_admit (*flurry_admit_cb)(flurry_client *client, const flurry_request *req,
                                        void *user_data);

/* Sets the hook (cb NULL: none, every start admitted). user_data is
 * borrowed and passed to cb. Returns FLURRY_OK, or FLURRY_EINVALID when
 * client is NULL. */
FLURRY_API int flurry_client_set_admit(flurry_client *client, flurry_admit_cb cb, void *user_data);

/* The hook may say GO now: the scheduler asks it again on the next loop
 * turn (never from inside this call). */
FLURRY_API void flurry_client_admit_ready(flurry_client *client);

#ifdef __cplusplus
}
#endif

#endif
