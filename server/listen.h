/* listen.h: `flurry listen`, the verified webhook receiver. */
#ifndef FLURRY_LISTEN_H
#define FLURRY_LISTEN_H

/* argv[0] is "listen". Returns the process exit status: 0 (stopped by
 * SIGINT or SIGTERM, or --help), 1 (cannot start), 2 (bad usage). */
int cli_listen_main(int argc, char **argv);

#endif
