/* mock.c: `flurry mock`: options, start-up (port on stdout, port file),
 * signals and a clean shutdown. The endpoints are in mock_routes.c. */
#include "mock.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "fl.h"
#include "fl_args.h"
#include "httpd.h"
#include "mock_int.h"
#include "serve.h"

typedef struct mock_opts {
  const char *host;
  const char *port_file;
  uint16_t port;
  int quiet;
  int help;
} mock_opts;

/* ---- options ------------------------------------------------------------- */

typedef struct opt_row {
  fl_arg arg;
  int key;
} opt_row;

enum { O_PORT = 1, O_HOST, O_PORT_FILE, O_QUIET, O_HELP };

static const opt_row table[] = {
    {{"port", 0, "N", "port to bind (default 0: any free port)", 0}, O_PORT},
    {{"host", 0, "ADDR", "address to bind (default 127.0.0.1)", 0}, O_HOST},
    {{"port-file", 0, "FILE", "also write the port to FILE (atomically)", 0}, O_PORT_FILE},
    {{"quiet", 'q', NULL, "nothing on stderr but fatal errors", 0}, O_QUIET},
    {{"help", 'h', NULL, "this text", 0}, O_HELP},
};

static void help_line(const char *line, size_t len, void *f) {
  fprintf(f, "  %.*s\n", (int)len, line);
}

static void usage(const fl_args *a, FILE *f) {
  fputs("usage: flurry mock [--port N] [--host ADDR] [--port-file FILE] "
        "[--quiet]\n\n"
        "A local HTTP API that misbehaves on request. Prints the bound port\n"
        "alone on the first line of stdout, then serves until SIGINT or\n"
        "SIGTERM.\n\n",
        f);
  fl_args_help(a, f);
  fputs("\nEndpoints (every one answers any method; JSON unless stated):\n", f);
  mock_endpoints_each(help_line, f);
  fputs("\nFault injection on any endpoint (query parameters):\n", f);
  for (size_t i = 0; mock_fault_help[i]; i++)
    fprintf(f, "  %s\n", mock_fault_help[i]);
  fputs("\nflurry mock send-webhook --url URL --scheme S --secret S [...]:\n"
        "  signs and POSTs webhooks (for flurry listen; see its --help)\n",
        f);
}

typedef struct parse_ctx {
  fl_args *a;
  mock_opts *o;
} parse_ctx;

static int one_option(const fl_arg *row, const char *v, void *ud) {
  const fl_args *a = ((parse_ctx *)ud)->a;
  mock_opts *o = ((parse_ctx *)ud)->o;
  const opt_row *r = FL_CONTAINER(row, opt_row, arg);
  int64_t port;
  switch (r->key) {
  case O_PORT:
    if (fl_args_int(a, &r->arg, v, 0, 65535, &port) != 0)
      return -1;
    o->port = (uint16_t)port;
    return 0;
  case O_HOST:
    o->host = v;
    return 0;
  case O_PORT_FILE:
    if (v[0] == '\0') {
      fl_args_bad(a, &r->arg, v, "needs a file name");
      return -1;
    }
    o->port_file = v;
    return 0;
  case O_QUIET:
    o->quiet = 1;
    return 0;
  default:
    o->help = 1;
    return 0;
  }
}

static int parse_opts(int argc, char **argv, fl_args *a, mock_opts *o) {
  memset(o, 0, sizeof *o);
  o->host = "127.0.0.1";
  parse_ctx ctx = {a, o};
  return FL_ARGS_INIT(a, "flurry mock", table, 0) != 0
             ? -1
             : fl_args_parse(a, argc, argv, one_option, &ctx);
}

/* ---- start-up ------------------------------------------------------------ */

static void banner(void *arg, unsigned port) {
  const mock_opts *o = arg;
  if (!o->quiet)
    fprintf(stderr,
            "flurry mock: listening on http://%s:%u/ (GET / lists "
            "the endpoints)\n",
            o->host, port);
}

static int serve(mock_server *m, mock_opts *o) {
  httpd_opts ho;
  memset(&ho, 0, sizeof ho);
  ho.host = o->host;
  ho.port = o->port;
  ho.log_errors = !o->quiet;
  ho.on_request = mock_on_request;
  ho.on_abandon = mock_on_abandon;
  ho.user = m;
  serve_ctx s;
  memset(&s, 0, sizeof s);
  s.prog = "flurry mock";
  s.port_file = o->port_file;
  s.quiet = o->quiet;
  s.on_ready = banner;
  s.arg = o;
  return serve_run(&s, m->loop, &ho);
}

/* ---- main ---------------------------------------------------------------- */

int cli_mock_main(int argc, char **argv) {
  mock_opts o;
  fl_args a;
  mock_server m;
  uv_loop_t loop;
  if (argc > 1 && strcmp(argv[1], "send-webhook") == 0)
    return cli_mock_send_main(argc - 1, argv + 1);
  if (parse_opts(argc, argv, &a, &o) != 0)
    return 2; /* said, naming the option */
  if (o.help) {
    usage(&a, stdout);
    return 0;
  }
  signal(SIGPIPE, SIG_IGN);
  if (mock_init(&m, &loop) != 0) {
    fprintf(stderr, "flurry mock: out of memory\n");
    return 1;
  }
  if (uv_loop_init(&loop) != 0) {
    fprintf(stderr, "flurry mock: cannot create the event loop\n");
    mock_free(&m);
    return 1;
  }
  int status = serve(&m, &o);
  mock_free(&m);
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "flurry mock: handles left open at exit\n");
    status = 1;
  }
  return status;
}
