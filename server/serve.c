/* serve.c: port announcement, signals and the run for the server
 * subcommands (see serve.h). */
#include "serve.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fl.h"

#define PORT_FILE_TMP_MAX 4096

/* Writes "PORT\n" to a temporary file next to path, then renames it over
 * path. */
static int write_port_file(const char *path, unsigned port) {
  char tmp[PORT_FILE_TMP_MAX];
  int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof tmp)
    return -1;
  FILE *f = fopen(tmp, "w");
  if (f == NULL)
    return -1;
  int ok = fprintf(f, "%u\n", port) > 0;
  ok = (fclose(f) == 0) && ok;
  if (ok && rename(tmp, path) == 0)
    return 0;
  unlink(tmp);
  return -1;
}

int serve_announce(const char *prog, unsigned port, const char *port_file) {
  printf("%u\n", port);
  fflush(stdout);
  if (port_file && write_port_file(port_file, port) != 0) {
    fprintf(stderr, "%s: cannot write port file '%s'\n", prog, port_file);
    return -1;
  }
  return 0;
}

static void on_signal(uv_signal_t *sig, int signum) {
  serve_signals *s = sig->data;
  if (s->fired)
    return;
  s->fired = 1;
  s->cb(s->arg, signum);
}

int serve_signals_start(serve_signals *s, uv_loop_t *loop, serve_stop_cb cb, void *arg) {
  s->cb = cb;
  s->arg = arg;
  s->fired = 0;
  uv_signal_init(loop, &s->sigint);
  uv_signal_init(loop, &s->sigterm);
  s->sigint.data = s->sigterm.data = s;
  if (uv_signal_start(&s->sigint, on_signal, SIGINT) != 0 ||
      uv_signal_start(&s->sigterm, on_signal, SIGTERM) != 0)
    return -1;
  return 0;
}

void serve_signals_close(serve_signals *s) {
  uv_close((uv_handle_t *)&s->sigint, NULL);
  uv_close((uv_handle_t *)&s->sigterm, NULL);
}

const char *serve_signame(int signum) { return signum == SIGINT ? "SIGINT" : "SIGTERM"; }

/* ---- a whole server run -----------------------------------------------------
 */

static void on_httpd_closed(void *arg) {
  serve_ctx *s = arg;
  s->httpd = NULL;
}

static void stop(serve_ctx *s) {
  if (s->stopping)
    return;
  s->stopping = 1;
  if (s->on_stop)
    s->on_stop(s->arg);
  serve_signals_close(&s->sig);
  httpd_close(s->httpd, on_httpd_closed, s);
}

static void on_stop_signal(void *arg, int signum) {
  serve_ctx *s = arg;
  if (!s->quiet)
    fprintf(stderr, "%s: %s, stopping\n", s->prog, serve_signame(signum));
  stop(s);
}

int serve_run(serve_ctx *s, uv_loop_t *loop, const httpd_opts *opts) {
  char err[256];
  s->stopping = 0;
  if (httpd_new(&s->httpd, loop, opts, err, sizeof err) != 0) {
    fprintf(stderr, "%s: %s\n", s->prog, err);
    return 1;
  }
  unsigned port = httpd_port(s->httpd);
  int status = 1;
  if (serve_signals_start(&s->sig, loop, on_stop_signal, s) == 0 &&
      serve_announce(s->prog, port, s->port_file) == 0)
    status = 0;
  if (status == 0 && s->on_ready)
    s->on_ready(s->arg, port);
  if (status != 0)
    stop(s);
  uv_run(loop, UV_RUN_DEFAULT);
  return status;
}
