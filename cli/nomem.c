/* nomem.c: how the flurry command says it ran out of memory. */
#include <stdio.h>

#include "cli.h"

int cli_nomem(const char *what) {
  /* stderr is unbuffered: this message needs no memory of its own */
  fprintf(stderr, "flurry: out of memory (%s): stopping\n", what);
  return 1;
}
