/* main.c: the flurry command's entry: dispatch to a subcommand. */
#include <string.h>

#include "cli.h"
#include "listen.h"
#include "mock.h"
#include "work.h"
#include "ws_cli.h"

int cli_run(int argc, char **argv);

#ifdef FLURRY_TEST_HOOKS
#include <stdio.h>
#include <stdlib.h>

#include "fl.h"

/* Test builds only (FLURRY_BUILD_TESTS): FLURRY_TEST_ALLOC_FAIL_AT=k fails
 * the k-th allocation through the fl_ seam; FLURRY_TEST_ALLOC_COUNT=1
 * prints the number made, at exit, on stderr. For test_nomem_cli.sh. */
static void print_alloc_count(void) {
  fprintf(stderr, "flurry-test: allocations %llu\n", (unsigned long long)fl_alloc_count());
}

static void test_hooks(void) {
  const char *k = getenv("FLURRY_TEST_ALLOC_FAIL_AT");
  int64_t v = 0;
  if (k && fl_parse_i64(k, strlen(k), 1, INT64_MAX, &v) == 0)
    fl_alloc_fail_at((uint64_t)v);
  if (getenv("FLURRY_TEST_ALLOC_COUNT"))
    atexit(print_alloc_count);
}
#else
static void test_hooks(void) {}
#endif

int main(int argc, char **argv) {
  test_hooks();
  if (argc > 1 && strcmp(argv[1], "mock") == 0)
    return cli_mock_main(argc - 1, argv + 1);
  if (argc > 1 && strcmp(argv[1], "listen") == 0)
    return cli_listen_main(argc - 1, argv + 1);
  if (argc > 1 && strcmp(argv[1], "ws") == 0)
    return cli_ws_main(argc - 1, argv + 1);
  if (argc > 1 && strcmp(argv[1], "enqueue") == 0)
    return cli_enqueue_main(argc - 1, argv + 1);
  if (argc > 1 && strcmp(argv[1], "work") == 0)
    return cli_run(argc - 1, argv + 1); /* cli_args_parse: argv[0] "work" */
  return cli_run(argc, argv);
}
