/* bucket_int.h: the token bucket (bucket.c), pure: the caller passes the
 * time. The client-wide rate and each host's rate are one. Internal. */
#ifndef FLURRY_BUCKET_INT_H
#define FLURRY_BUCKET_INT_H

/* A token bucket; per_ms 0 means no limit. */
typedef struct flurry__bucket {
  double per_ms;
  double burst;
  double tokens;
  double at_ms;
} flurry__bucket;

void flurry__bucket_init(flurry__bucket *b, double per_sec, double burst, double now_ms);
void flurry__bucket_set(flurry__bucket *b, double per_sec, double burst, double now_ms);
void flurry__bucket_refill(flurry__bucket *b, double now_ms);
/* 1 if a token is there (peek leaves it, take takes it), else 0 with
 * *wait_ms until there will be one. */
int flurry__bucket_peek(flurry__bucket *b, double now_ms, double *wait_ms);
int flurry__bucket_take(flurry__bucket *b, double now_ms, double *wait_ms);
/* Tokens now, or -1 when unlimited. */
double flurry__bucket_available(flurry__bucket *b, double now_ms);

#endif
