/* mock.c: `flurry mock`: options, start-up (port on stdout, port file),
 * signals and a clean shutdown. The endpoints are in mock_routes.c. */
#include "mock.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "fl.h"
#include "httpd.h"
#include "mock_int.h"
#include "serve.h"

typedef struct mock_opts {
  const char *host;
  const char *port_file;
  const char *port_str;
  uint16_t port;
  int quiet;
  int help;
} mock_opts;

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
  fputs("\nflurry mock send-webhook --url URL --scheme S --secret S [...]:\n"
        "  signs and POSTs webhooks (for flurry listen; see its --help)\n",
        f);
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
    int rc = flurry__serve_opt_value(argc, argv, i, names[k], dest[k]);
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
  return flurry__serve_parse_port("flurry mock", o->port_str, &o->port);
}

/* ---- start-up ------------------------------------------------------------ */

static void banner(void *arg, unsigned port) {
  const mock_opts *o = arg;
  if (!o->quiet)
    fprintf(stderr, "flurry mock: listening on http://%s:%u/ (GET / lists "
            "the endpoints)\n", o->host, port);
}

static int serve(flurry__mock *m, mock_opts *o) {
  flurry__httpd_opts ho;
  memset(&ho, 0, sizeof ho);
  ho.host = o->host;
  ho.port = o->port;
  ho.log_errors = !o->quiet;
  ho.on_request = flurry__mock_on_request;
  ho.on_abandon = flurry__mock_on_abandon;
  ho.user = m;
  flurry__serve s;
  memset(&s, 0, sizeof s);
  s.prog = "flurry mock";
  s.port_file = o->port_file;
  s.quiet = o->quiet;
  s.on_ready = banner;
  s.arg = o;
  return flurry__serve_run(&s, m->loop, &ho);
}

/* ---- main ---------------------------------------------------------------- */

int flurry_mock_main(int argc, char **argv) {
  mock_opts o;
  flurry__mock m;
  uv_loop_t loop;
  if (argc > 1 && strcmp(argv[1], "send-webhook") == 0)
    return flurry__mock_send_main(argc - 1, argv + 1);
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
  if (flurry__mock_init(&m, &loop) != 0) {
    fprintf(stderr, "flurry mock: out of memory\n");
    return 1;
  }
  if (uv_loop_init(&loop) != 0) {
    fprintf(stderr, "flurry mock: cannot create the event loop\n");
    flurry__mock_free(&m);
    return 1;
  }
  int status = serve(&m, &o);
  flurry__mock_free(&m);
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "flurry mock: handles left open at exit\n");
    status = 1;
  }
  return status;
}
