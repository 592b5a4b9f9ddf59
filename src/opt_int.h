/* opt_int.h: the options: defaults and ranges (opt.c's table) and the
 * value in force for a request (request.c). Internal. */
#ifndef FLURRY_OPT_INT_H
#define FLURRY_OPT_INT_H

#include "client_int.h"

/* The option value in force for req: its override or the client's. */
int64_t flurry__opt(const flurry_request *req, const flurry__opts *defaults, flurry_opt opt);
/* Checks a value for an option; 0 if acceptable. */
int flurry__opt_check(flurry_opt opt, int64_t value);
/* 1 for the options a request cannot override (pool and rate limits). */
int flurry__opt_client_only(flurry_opt opt);
/* The client's defaults, from opt.c's table. */
void flurry__opts_init(flurry__opts *o);
int64_t flurry__opt_default(flurry_opt opt);

#endif
