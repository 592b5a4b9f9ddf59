/* retry_int.h: retry.c, what a response says about trying again:
 * Retry-After, rate-limit headers, backoff, retryable outcomes. Pure but
 * for the clock passed in. Internal. */
#ifndef FLURRY_RETRY_INT_H
#define FLURRY_RETRY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "flurry.h"

#define FLURRY_MAX_RETRY_AFTER_MS 60000 /* longer: give up instead */

/* Parses a Retry-After value (delay-seconds or an HTTP-date in any of the
 * three RFC 9110 formats) relative to `now_unix` (seconds since the epoch).
 * Returns 0 and the delay in ms (>= 0) or -1 when unparsable. */
int flurry__retry_after_parse(const char *value, size_t n, int64_t now_unix, int64_t *delay_ms);
/* Ms the server asked to wait (Retry-After on 429 or 503), or -1 when it
 * did not say. */
int64_t flurry__server_delay(const flurry_response *resp);
/* Full-jitter backoff before attempt `attempt`+1 (attempt >= 1): uniform in
 * [0, min(cap, base * 2^(attempt-1))], with `rnd` uniform in [0,1). */
int64_t flurry__backoff_ms(int attempt, int64_t base, int64_t cap, double rnd);
/* min(cap, base * 2^(attempt-1)): the full-jitter ceiling, and the delay
 * itself without jitter (FLURRY_JITTER_NONE). */
int64_t flurry__backoff_ceiling_ms(int attempt, int64_t base, int64_t cap);
/* The delay before attempt `attempt`+1 by a flurry_jitter: full (above),
 * decorrelated (min(cap, uniform in [base, 3 * max(base, prev_ms)])) or
 * none (the ceiling, exactly). rnd uniform in [0,1). */
double flurry__backoff_delay_ms(int jitter, int attempt, int64_t base, int64_t cap, double prev_ms,
                                double rnd);
/* 1 if this outcome is worth another attempt. may_repeat: the method is
 * idempotent, or the caller allowed it. nothing_sent: no byte left us. */
int flurry__retryable(int err, int status, int may_repeat, int nothing_sent);
/* Reads a response's rate-limit headers (IETF RateLimit and
 * RateLimit-Policy, X-RateLimit-* as GitHub sends them): *policy_rate the
 * stated rate in req/s (0 unknown), *spent 1 when no quota is left,
 * *reset_ms until it refills (-1 unknown). Returns 1 if any was found. */
int flurry__ratelimit_parse(const flurry_response *resp, double *policy_rate, int *spent,
                            double *reset_ms);

#endif
