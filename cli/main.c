/* main.c: the flurry command's entry: dispatch to a subcommand. */
#include <string.h>

#include "cli.h"
#include "listen.h"
#include "mock.h"
#include "ws_cli.h"

int cli_run(int argc, char **argv);

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "mock") == 0)
    return flurry_mock_main(argc - 1, argv + 1);
  if (argc > 1 && strcmp(argv[1], "listen") == 0)
    return flurry_listen_main(argc - 1, argv + 1);
  if (argc > 1 && strcmp(argv[1], "ws") == 0)
    return flurry_ws_main(argc - 1, argv + 1);
  return cli_run(argc, argv);
}
