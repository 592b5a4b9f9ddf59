/* mock.c: `flurry mock`: options, start-up (port on stdout, port file),
 * signals and a clean shutdown. The endpoints are in mock_routes.c. */
#include "mock.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fl.h"
#include "httpd.h"
#include "mock_int.h"

#define PORT_FILE_TMP_MAX 4096

typedef struct mock_opts {
  const char *host;
  const char *port_file;
  const char *port_str;
  int64_t port;
  int quiet;
  int help;
} mock_opts;

typedef struct mock_run {
  flurry__mock m;
  flurry__httpd *httpd;
  uv_signal_t sigint, sigterm;
  int stopping;
  int quiet;
} mock_run;

/* ---- options ------------------------------------------------------------- */

static void usage(FILE *f) {
  fputs("usage: flurry mock [--port N] [--host ADDR] [--port-file FILE] "
        "[--quiet]\n\n"
        "A local HTTP API that misbehaves on request. Prints the bound port\n"
        "alone on the first line of stdout, then serves until SIGINT or\n"
        "SIGTERM.\n\n"
        "  --port N          port to bind (default 0: any free port)\n"
        "  --host ADDR       address to bind (default 127.0.0.1)\n"
        "  --port-file FILE  also write the port to FILE (atomically)\n"
        "  --quiet           nothing on stderr but fatal errors\n"
        "  --help            this text\n\n"
        "Endpoints (every one answers any method; JSON unless stated):\n",
        f);
  for (size_t i = 0; flurry__mock_endpoints[i]; i++)
    fprintf(f, "  %s\n", flurry__mock_endpoints[i]);
  fputs("\nFault injection on any endpoint (query parameters):\n", f);
  for (size_t i = 0; flurry__mock_fault_help[i]; i++)
    fprintf(f, "  %s\n", flurry__mock_fault_help[i]);
}

/* "--name value" or "--name=value". Returns 1 and sets *value (advancing
 * *i) when argv[*i] is this option, 0 when it is not, -1 when the value is
 * missing. */
static int opt_value(int argc, char **argv, int *i, const char *name,
                     const char **value) {
  size_t n = strlen(name);
  const char *a = argv[*i];
  if (strncmp(a, name, n) != 0 || (a[n] != '=' && a[n] != '\0'))
    return 0;
  if (a[n] == '=') {
    *value = a + n + 1;
    return 1;
  }
  if (*i + 1 >= argc)
    return -1;
  *i += 1;
  *value = argv[*i];
  return 1;
}

static int parse_one(int argc, char **argv, int *i, mock_opts *o) {
  static const char *const names[] = {"--port", "--host", "--port-file"};
  const char **dest[] = {&o->port_str, &o->host, &o->port_file};
  const char *a = argv[*i];
  if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
    o->quiet = 1;
    return 0;
  }
  if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
    o->help = 1;
    return 0;
  }
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
    int rc = opt_value(argc, argv, i, names[k], dest[k]);
    if (rc < 0)
      fprintf(stderr, "flurry mock: %s needs a value\n", a);
    if (rc != 0)
      return rc > 0 ? 0 : -1;
  }
  fprintf(stderr, "flurry mock: unknown option '%s'\n", a);
  return -1;
}

static int parse_opts(int argc, char **argv, mock_opts *o) {
  memset(o, 0, sizeof *o);
  o->host = "127.0.0.1";
  for (int i = 1; i < argc; i++)
    if (parse_one(argc, argv, &i, o) != 0)
      return -1;
  if (o->port_file && o->port_file[0] == '\0') {
    fprintf(stderr, "flurry mock: --port-file needs a file name\n");
    return -1;
  }
  if (o->port_str &&
      fl_parse_i64(o->port_str, strlen(o->port_str), 0, 65535, &o->port) != 0) {
    fprintf(stderr, "flurry mock: --port wants 0..65535, got '%s'\n",
            o->port_str);
    return -1;
  }
  return 0;
}

/* ---- start-up ------------------------------------------------------------ */

/* Writes "PORT\n" to a temporary file next to path, then renames it over
 * path, so readers see either nothing or the whole line. */
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

static void on_httpd_closed(void *arg) {
  mock_run *r = arg;
  r->httpd = NULL;
}

static void stop(mock_run *r) {
  if (r->stopping)
    return;
  r->stopping = 1;
  uv_close((uv_handle_t *)&r->sigint, NULL);
  uv_close((uv_handle_t *)&r->sigterm, NULL);
  flurry__httpd_close(r->httpd, on_httpd_closed, r);
}

static void on_signal(uv_signal_t *s, int signum) {
  mock_run *r = s->data;
  if (!r->quiet)
    fprintf(stderr, "flurry mock: %s, stopping\n",
            signum == SIGINT ? "SIGINT" : "SIGTERM");
  stop(r);
}

static int start_signals(mock_run *r) {
  uv_signal_init(r->m.loop, &r->sigint);
  uv_signal_init(r->m.loop, &r->sigterm);
  r->sigint.data = r->sigterm.data = r;
  if (uv_signal_start(&r->sigint, on_signal, SIGINT) != 0 ||
      uv_signal_start(&r->sigterm, on_signal, SIGTERM) != 0)
    return -1;
  return 0;
}

static int start_server(mock_run *r, const mock_opts *o) {
  char err[256];
  flurry__httpd_opts ho;
  memset(&ho, 0, sizeof ho);
  ho.host = o->host;
  ho.port = (uint16_t)o->port;
  ho.log_errors = !o->quiet;
  ho.on_request = flurry__mock_on_request;
  ho.on_abandon = flurry__mock_on_abandon;
  ho.user = &r->m;
  if (flurry__httpd_new(&r->httpd, r->m.loop, &ho, err, sizeof err) != 0) {
    fprintf(stderr, "flurry mock: %s\n", err);
    return -1;
  }
  return 0;
}

static int announce(mock_run *r, const mock_opts *o) {
  unsigned port = flurry__httpd_port(r->httpd);
  printf("%u\n", port);
  fflush(stdout);
  if (o->port_file && write_port_file(o->port_file, port) != 0) {
    fprintf(stderr, "flurry mock: cannot write port file '%s'\n", o->port_file);
    return -1;
  }
  if (!o->quiet)
    fprintf(stderr, "flurry mock: listening on http://%s:%u/ (GET / lists "
            "the endpoints)\n", o->host, port);
  return 0;
}

/* ---- main ---------------------------------------------------------------- */

static int serve(mock_run *r, const mock_opts *o) {
  int status = 1;
  if (start_server(r, o) != 0)
    return 1;
  if (start_signals(r) == 0 && announce(r, o) == 0)
    status = 0;
  if (status != 0)
    stop(r);
  uv_run(r->m.loop, UV_RUN_DEFAULT);
  return status;
}

int flurry_mock_main(int argc, char **argv) {
  mock_opts o;
  mock_run r;
  uv_loop_t loop;
  if (parse_opts(argc, argv, &o) != 0) {
    fprintf(stderr, "usage: flurry mock [--port N] [--host ADDR] "
            "[--port-file FILE] [--quiet] (see --help)\n");
    return 2;
  }
  if (o.help) {
    usage(stdout);
    return 0;
  }
  signal(SIGPIPE, SIG_IGN);
  memset(&r, 0, sizeof r);
  r.quiet = o.quiet;
  if (flurry__mock_init(&r.m, &loop) != 0) {
    fprintf(stderr, "flurry mock: out of memory\n");
    return 1;
  }
  if (uv_loop_init(&loop) != 0) {
    fprintf(stderr, "flurry mock: cannot create the event loop\n");
    flurry__mock_free(&r.m);
    return 1;
  }
  int status = serve(&r, &o);
  flurry__mock_free(&r.m);
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "flurry mock: handles left open at exit\n");
    status = 1;
  }
  return status;
}
