/* main.c: the flurry command's entry: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "mock.h"

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "mock") == 0)
    return flurry_mock_main(argc - 1, argv + 1);
  fprintf(stderr, "flurry: not yet\n");
  return 2;
}
