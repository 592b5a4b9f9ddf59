/* bucket.c: the token bucket behind every rate limit (client-wide, per host,
 * adaptive). Pure: the caller passes the time, so tests inject the clock. */
#include "bucket_int.h"

void flurry__bucket_set(flurry__bucket *b, double per_sec, double burst, double now_ms) {
  flurry__bucket_refill(b, now_ms);
  b->per_ms = per_sec > 0 ? per_sec / 1000.0 : 0;
  b->burst = burst >= 1 ? burst : 1;
  if (b->tokens > b->burst)
    b->tokens = b->burst;
}

void flurry__bucket_init(flurry__bucket *b, double per_sec, double burst, double now_ms) {
  b->at_ms = now_ms;
  b->tokens = burst >= 1 ? burst : 1;
  flurry__bucket_set(b, per_sec, burst, now_ms);
}

void flurry__bucket_refill(flurry__bucket *b, double now_ms) {
  if (now_ms > b->at_ms && b->per_ms > 0) {
    b->tokens += (now_ms - b->at_ms) * b->per_ms;
    if (b->tokens > b->burst)
      b->tokens = b->burst;
  }
  if (now_ms > b->at_ms)
    b->at_ms = now_ms;
}

int flurry__bucket_peek(flurry__bucket *b, double now_ms, double *wait_ms) {
  if (b->per_ms <= 0)
    return 1; /* no limit */
  flurry__bucket_refill(b, now_ms);
  if (b->tokens >= 1)
    return 1;
  *wait_ms = (1 - b->tokens) / b->per_ms;
  return 0;
}

int flurry__bucket_take(flurry__bucket *b, double now_ms, double *wait_ms) {
  if (!flurry__bucket_peek(b, now_ms, wait_ms))
    return 0;
  if (b->per_ms > 0)
    b->tokens -= 1;
  return 1;
}

double flurry__bucket_available(flurry__bucket *b, double now_ms) {
  if (b->per_ms <= 0)
    return -1;
  flurry__bucket_refill(b, now_ms);
  return b->tokens;
}
