/* serve.h: what the server subcommands (`flurry mock`, `flurry listen`)
 * share around their httpd: the port announcement (alone on stdout's first
 * line, and atomically in a port file), stopping on SIGINT/SIGTERM, and
 * the run that ties them together.
 * Internal to the flurry binary. */
#ifndef FLURRY_SERVE_H
#define FLURRY_SERVE_H

#include <stdint.h>

#include <uv.h>

#include "httpd.h"

/* Prints "PORT\n" on stdout (flushed) and, when port_file is not NULL,
 * writes the same line to a temporary file next to it and renames it over
 * port_file, so readers see nothing or the whole line. Returns 0, or -1
 * after a message on stderr (the port file could not be written). */
int serve_announce(const char *prog, unsigned port, const char *port_file);

/* ---- signals ------------------------------------------------------------ */

/* Called once, on the first SIGINT or SIGTERM; signum says which. */
typedef void (*serve_stop_cb)(void *arg, int signum);

typedef struct serve_signals {
  uv_signal_t sigint, sigterm;
  serve_stop_cb cb;
  void *arg;
  int fired;
} serve_signals;

/* Watches SIGINT and SIGTERM on loop; cb(arg, signum) runs on the first
 * one. Returns 0, or -1 (the handles are open all the same: close them). */
int serve_signals_start(serve_signals *s, uv_loop_t *loop, serve_stop_cb cb, void *arg);

/* Closes both handles (from a loop callback, or before uv_run). */
void serve_signals_close(serve_signals *s);

/* "SIGINT" or "SIGTERM". */
const char *serve_signame(int signum);

/* ---- a whole server run -----------------------------------------------------
 */

/* What serve_run() needs besides the httpd options. */
typedef struct serve_ctx {
  const char *prog;      /* "flurry mock": prefix of the messages */
  const char *port_file; /* NULL: none */
  int quiet;             /* no "SIGTERM, stopping" on stderr */
  /* After the port was announced (may be NULL): e.g. a banner. */
  void (*on_ready)(void *arg, unsigned port);
  /* On SIGINT/SIGTERM, before the server closes (may be NULL). */
  void (*on_stop)(void *arg);
  void *arg;
  /* private */
  httpd_server *httpd;
  serve_signals sig;
  int stopping;
} serve_ctx;

/* Starts an httpd with opts on loop, prints its port (and writes the port
 * file, see serve_announce), runs loop until SIGINT or SIGTERM has
 * closed the server and every handle. Returns 0 (stopped by a signal), or
 * 1 (could not start: a message is on stderr; nothing is left on loop). */
int serve_run(serve_ctx *s, uv_loop_t *loop, const httpd_opts *opts);

#endif
