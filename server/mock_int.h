/* mock_int.h: what the parts of `flurry mock` share (main + routes).
 * Internal to the flurry binary. */
#ifndef FLURRY_MOCK_INT_H
#define FLURRY_MOCK_INT_H

#include <uv.h>

#include "httpd.h"
#include "mock_table.h"

#define FLURRY__MOCK_MAX_KEYS 100000u /* /flaky and /limited table limit */

typedef struct flurry__mock {
  uv_loop_t *loop;
  flurry__mock_table *flaky;  /* key -> attempts seen */
  flurry__mock_table *limits; /* "ip rate burst" -> token bucket */
} flurry__mock;

/* The httpd callbacks; user is the flurry__mock. */
void flurry__mock_on_request(flurry__httpd_req *req, void *user);
void flurry__mock_on_abandon(flurry__httpd_req *req, void *user);

/* One line per endpoint, for --help and GET /. */
extern const char *const flurry__mock_endpoints[];

#endif
