/* opt.c: the library's options in one table: name, default, range and
 * whether a request may override it. The setters' checks
 * (flurry__opt_check), the client's defaults (flurry__opts_init), the
 * client-only rule and the public description (flurry_opt_info) all come
 * from the rows below; adding an option is one row here and one enum
 * value with its comment in include/flurry/request.h. */
#include <string.h>

#include "opt_int.h"

#define DAY_MS (24 * 3600 * 1000LL)

/* X(ENUM, name, default, min, max, client_only) */
#define FLURRY_OPT_TABLE(X)                                                                        \
  X(MAX_IN_FLIGHT, "max_in_flight", 64, 1, 1000000, 1)                                             \
  X(MAX_PER_HOST, "max_per_host", 0, 0, 100000, 1)                                                 \
  X(CONNECT_TIMEOUT_MS, "connect_timeout_ms", 10000, 1, 7 * DAY_MS, 0)                             \
  X(TIMEOUT_MS, "timeout_ms", 30000, 1, 7 * DAY_MS, 0)                                             \
  X(IDLE_TIMEOUT_MS, "idle_timeout_ms", 30000, 1, 7 * DAY_MS, 0)                                   \
  X(MAX_RESPONSE_BYTES, "max_response_bytes", 64 * 1024 * 1024, 1, (int64_t)1 << 40, 0)            \
  X(MAX_REDIRECTS, "max_redirects", 10, 0, 100000, 0)                                              \
  X(VERIFY_TLS, "verify_tls", 1, 0, 1, 0)                                                          \
  X(HTTP_VERSION, "http_version", FLURRY_HTTP_AUTO, FLURRY_HTTP_AUTO,                              \
    FLURRY_HTTP_2_PRIOR_KNOWLEDGE, 0)                                                              \
  X(MAX_ATTEMPTS, "max_attempts", 1, 1, 1000, 0)                                                   \
  X(RETRY_BASE_MS, "retry_base_ms", 100, 0, 3600 * 1000LL, 0)                                      \
  X(RETRY_CAP_MS, "retry_cap_ms", 10000, 0, 3600 * 1000LL, 0)                                      \
  X(RETRY_UNSAFE, "retry_unsafe", 0, 0, 1, 0)                                                      \
  X(RATE_MILLI, "rate_milli", 0, 0, 1000000000LL, 1)                                               \
  X(RATE_BURST, "rate_burst", 1, 1, 1000000, 1)                                                    \
  X(HOST_RATE_MILLI, "host_rate_milli", 0, 0, 1000000000LL, 1)                                     \
  X(HOST_BURST, "host_burst", 1, 1, 1000000, 1)                                                    \
  X(RATE_AUTO, "rate_auto", 0, 0, 1, 1)                                                            \
  X(DEADLINE_MS, "deadline_ms", 0, 0, 30 * DAY_MS, 0)                                              \
  X(RETRY_JITTER, "retry_jitter", FLURRY_JITTER_FULL, FLURRY_JITTER_FULL, FLURRY_JITTER_NONE, 0)   \
  X(RETRY_BUDGET, "retry_budget", 500, 0, 1000000000LL, 1)                                         \
  X(BREAKER_THRESHOLD, "breaker_threshold", 5, 0, 1000000, 1)                                      \
  X(BREAKER_COOLDOWN_MS, "breaker_cooldown_ms", 5000, 1, 3600 * 1000LL, 1)                         \
  X(MAX_PAGES, "max_pages", 0, 0, INT64_MAX / 4, 0)                                                \
  X(SECRET_NAME_HEURISTIC, "secret_name_heuristic", 0, 0, 1, 1)                                    \
  X(COOKIES, "cookies", 0, 0, 1, 1)

static const flurry_opt_info rows[FLURRY_OPT_COUNT_] = {
#define ROW(e, name, def, min, max, client_only)                                                   \
  [FLURRY_OPT_##e] = {name, def, min, max, client_only},
    FLURRY_OPT_TABLE(ROW)
#undef ROW
};

/* Every option has its row, and the request's override mask has its bit. */
/* NOLINTNEXTLINE(bugprone-macro-parentheses): each row is a term of a sum */
#define COUNT_ROW(e, name, def, min, max, client_only) +1
_Static_assert(1 FLURRY_OPT_TABLE(COUNT_ROW) == FLURRY_OPT_COUNT_,
               "one row in FLURRY_OPT_TABLE per flurry_opt");
#undef COUNT_ROW
_Static_assert(FLURRY_OPT_COUNT_ <= 8 * sizeof(((flurry_request *)0)->opt_set),
               "flurry_request.opt_set has a bit per option");

static const flurry_opt_info *row(flurry_opt opt) {
  return opt > 0 && opt < FLURRY_OPT_COUNT_ ? &rows[opt] : NULL;
}

int flurry__opt_check(flurry_opt opt, int64_t v) {
  const flurry_opt_info *r = row(opt);
  return r && v >= r->min && v <= r->max ? 0 : -1;
}

int flurry__opt_client_only(flurry_opt opt) {
  const flurry_opt_info *r = row(opt);
  return r && r->client_only;
}

void flurry__opts_init(flurry__opts *o) {
  for (int i = 1; i < FLURRY_OPT_COUNT_; i++)
    o->v[i] = rows[i].def;
}

int64_t flurry__opt_default(flurry_opt opt) {
  const flurry_opt_info *r = row(opt);
  return r ? r->def : 0;
}

FLURRY_API int flurry_opt_get_info(flurry_opt opt, flurry_opt_info *out) {
  const flurry_opt_info *r = row(opt);
  if (r == NULL || out == NULL)
    return FLURRY_EINVALID;
  *out = *r;
  return FLURRY_OK;
}

FLURRY_API int flurry_opt_from_name(const char *name, flurry_opt *out) {
  for (int i = 1; name && out && i < FLURRY_OPT_COUNT_; i++)
    if (strcmp(rows[i].name, name) == 0) {
      *out = (flurry_opt)i;
      return FLURRY_OK;
    }
  return FLURRY_EINVALID;
}
