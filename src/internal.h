/* internal.h: every internal interface at once, for the unit tests and
 * fuzz targets only. Library sources include the <module>_int.h headers
 * they use, so that their include lines are the dependency graph
 * (docs/internals.md); tests/lint/run.sh fails on a src/ file that
 * includes this one. Not installed. */
#ifndef FLURRY_INTERNAL_H
#define FLURRY_INTERNAL_H

#include "bucket_int.h"
#include "client_int.h"
#include "cookie_int.h"
#include "glue_int.h"
#include "host_int.h"
#include "opt_int.h"
#include "paginate_int.h"
#include "redirect_int.h"
#include "request_int.h"
#include "response_int.h"
#include "retry_int.h"
#include "sched_int.h"
#include "status_int.h"
#include "secret_int.h"
#include "transfer_int.h"
#include "url_int.h"

#endif
