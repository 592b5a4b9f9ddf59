/* ws_cli.h: the `flurry ws` subcommand (cli/ws.c). */
#ifndef FLURRY_WS_CLI_H
#define FLURRY_WS_CLI_H

/* argv[0] is "ws". Returns the exit status: 0 a normal close, 1 an error or
 * another close code, 2 bad usage or a bad input line. */
int cli_ws_main(int argc, char **argv);

#endif
