/* mock_int.h: what the parts of `flurry mock` share: main (mock.c), the
 * plain endpoints (mock_routes.c), the keyed ones (mock_keyed.c), the
 * misbehaviours (mock_faults.c), fault injection (mock_inject.c) and their
 * helpers (mock_util.c). Internal to the flurry binary. */
#ifndef FLURRY_MOCK_INT_H
#define FLURRY_MOCK_INT_H

#include <stdint.h>

#include <uv.h>

#include "fl.h"
#include "httpd.h"
#include "mock_table.h"

#define MOCK_MAX_KEYS 100000u /* each table's key limit */
#define MOCK_JSON "application/json"
#define MOCK_BYTES_MAX (100u << 20) /* largest generated body */

typedef struct mock_server {
  uv_loop_t *loop;
  mock_table *flaky;  /* key -> attempts seen */
  mock_table *limits; /* "ip|key rate burst" -> token bucket */
  mock_table *faults; /* hash of a seeded URL -> requests seen */
  uint64_t rng;       /* state of the unseeded fault draws */
  fl_list ws;         /* open WebSocket connections (mock_ws.c) */
} mock_server;

/* An endpoint: arg is the path past a prefix route ("/delay/" + "300"),
 * NULL for an exact route. It must answer, defer or drop req. */
typedef void (*mock_route_fn)(mock_server *m, httpd_req *req, const char *arg);

/* `flurry mock send-webhook` (mock_send.c); argv[0] is "send-webhook".
 * Returns the exit status: 0 every answer 2xx, 1 otherwise, 2 bad usage. */
int cli_mock_send_main(int argc, char **argv);

/* Creates the tables and seeds the fault PRNG. Returns 0, or -1 (out of
 * memory: nothing is left allocated). */
int mock_init(mock_server *m, uv_loop_t *loop);
/* Frees the tables. */
void mock_free(mock_server *m);

/* The httpd callbacks; user is the mock_server. */
void mock_on_request(httpd_req *req, void *user);
void mock_on_abandon(httpd_req *req, void *user);

/* The endpoints' lines for --help and GET /, from the route table
 * (mock_routes.c): fn(line, len, ud) for each, in order (line is not
 * NUL-terminated at len). */
typedef void (*mock_line_fn)(const char *line, size_t len, void *ud);
void mock_endpoints_each(mock_line_fn fn, void *ud);
/* One line per fault-injection parameter, for --help and GET /.
 * NULL-terminated. */
extern const char *const mock_fault_help[];

/* ---- helpers (mock_util.c) ------------------------------------------------
 */

/* Answers with a static JSON body. */
void mock_send_static(httpd_req *req, unsigned status, const char *json);
/* Answers with b's content (rc: the accumulated fl_buf result; 500 if not
 * FL_OK) as JSON; b is emptied either way. */
void mock_send_buf(httpd_req *req, unsigned status, fl_buf *b, int rc);
/* Answers {"error": msg}. */
void mock_send_error(httpd_req *req, unsigned status, const char *msg);
/* Adds a response header with an integer value. Returns 0 or -1. */
int mock_header_i64(httpd_req *req, const char *name, int64_t v);
/* s (NULL: invalid) as an integer in [min, max]. Returns 0 or -1. */
int mock_parse_num(const char *s, int64_t min, int64_t max, int64_t *out);
/* Query argument name as an integer in [min, max]; def when absent.
 * Returns 0, or -1 when present but invalid. */
int mock_query_num(httpd_req *req, const char *name, int64_t min, int64_t max, int64_t def,
                   int64_t *out);
/* 1 when s is printable ASCII (and tab), 1..1024 bytes: safe in a header. */
int mock_header_value_ok(const char *s);
/* Adds Retry-After from ?retry_after= (seconds or an HTTP-date, verbatim)
 * if given. Returns 0, -1 when the value is not a safe header value, or -2
 * when the header could not be added (out of memory). */
int mock_retry_after(httpd_req *req);
/* The splitmix64 finaliser: a well-mixed 64-bit function of x. */
uint64_t mock_mix64(uint64_t x);

/* Called when a mock_defer() delay has passed; req is still
 * unanswered and must be answered or dropped. */
typedef void (*mock_fire_cb)(httpd_req *req, int64_t ms);

/* Defers req and runs fire(req, ms) after ms milliseconds, unless the
 * server closes first (the timer is then released by
 * mock_on_abandon). Only from an endpoint. Returns 0, or -1 (out of
 * memory: req is untouched, still to be answered). */
int mock_defer(mock_server *m, httpd_req *req, int64_t ms, mock_fire_cb fire);

/* ---- endpoints in other files ----------------------------------------------
 */

void mock_status(mock_server *m, httpd_req *req, const char *arg); /* mock_routes.c */
void mock_flaky(mock_server *m, httpd_req *req, const char *arg);  /* mock_keyed.c */
void mock_limited(mock_server *m, httpd_req *req, const char *arg);
void mock_reset(mock_server *m, httpd_req *req, const char *arg); /* mock_faults.c */
void mock_truncated(mock_server *m, httpd_req *req, const char *arg);
void mock_drip(mock_server *m, httpd_req *req, const char *arg);
void mock_hang(mock_server *m, httpd_req *req, const char *arg);
void mock_malformed(mock_server *m, httpd_req *req, const char *arg);
void mock_ndjson(mock_server *m, httpd_req *req, const char *arg); /* mock_stream.c */
void mock_lines(mock_server *m, httpd_req *req, const char *arg);
void mock_sse(mock_server *m, httpd_req *req, const char *arg);
void mock_ws(mock_server *m, httpd_req *req,
             const char *arg); /* mock_ws.c: /ws/echo, /ws/broadcast */
void mock_chat(mock_server *m, httpd_req *req, const char *arg);         /* mock_api.c */
void mock_huge_headers(mock_server *m, httpd_req *req, const char *arg); /* mock_hostile.c */
void mock_login(mock_server *m, httpd_req *req, const char *arg);        /* mock_session.c */
void mock_me(mock_server *m, httpd_req *req, const char *arg);
void mock_gzip_bomb(mock_server *m, httpd_req *req, const char *arg);

/* ---- fault injection (mock_inject.c) ---------------------------------------
 */

/* The kinds of fault, in the order of mock_fault_plan's p. */
enum mock_fault {
  MOCK_FAULT_RESET,
  MOCK_FAULT_STATUS,
  MOCK_FAULT_HANG,
  MOCK_FAULT_TRUNCATED,
  MOCK_FAULT_DRIP,
  MOCK_FAULT_MALFORMED,
  MOCK_FAULTS
};

/* Parses the fault parameters, exactly one of fail (a probability P in
 * 0..1, as "0", "1", "0.25" or ".5", split evenly between the kinds of the
 * comma-separated kind list, NULL: "status") or mix ("K:P,K:P...", the
 * sum at most 1), into p: the probability of each kind. No I/O, no
 * allocation. Returns 0, or -1 (p untouched) when both or neither are
 * given, or on a bad probability or kind name. */
int mock_fault_plan(const char *fail, const char *kind, const char *mix, double p[MOCK_FAULTS]);

/* Applies ?fail=P[&kind=K,...] or ?mix=K:P,... to req. Returns 1 when req
 * was handled (a fault, or 400 for bad parameters), 0 when the endpoint
 * answers normally. */
int mock_inject(mock_server *m, httpd_req *req);

#endif
