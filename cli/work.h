/* work.h: `flurry work` and `flurry enqueue`: the CLI's requests and
 * records on Redis Streams (consumer groups), with hiredis's async API on
 * the client's libuv loop. Internal to the CLI.
 *
 * Keys, for --stream S (the defaults of --results and --dead):
 *   S            the requests: entries {line: an input line}
 *   S:results    the records: entries {job: S's entry id, record: JSON}
 *   S:dead       entries given up: {job, line, deliveries, record}
 *   S:done       hash: request identity ("key:HEX": the id, else method +
 *                URL + body) and entry id -> "r" (its records are in
 *                results) or "d" (dead-lettered): a redelivered entry, or
 *                the same request enqueued twice, adds nothing
 *   S:lasterr    hash: entry id -> its last failed record
 *   S:rate:KEY   the shared rate's GCRA state (--rate-scope shared) */
#ifndef FLURRY_CLI_WORK_H
#define FLURRY_CLI_WORK_H

#include "cli.h"
#include "io.h"

typedef struct cli_work cli_work;

/* Connects to o->work.redis on the client's loop (flurry_client_loop) and
 * makes the group if needed. Fills *src and *sink (each released by its
 * own close / free). kick(ud) runs when the run loop should look again
 * (lines arrived, a unit settled). Returns 0, 1 (Redis unreachable or
 * refusing: said), or 2 (bad options: said). */
int cli_work_open(cli_work **out, const cli_opts *o, flurry_client *client, cli_source *src,
                  cli_sink *sink, void (*kick)(void *), void *ud);
/* A signal: read no more entries; the source says EOF from now on. */
void cli_work_stop(cli_work *w);
/* flurry work --status: the group's state as one JSON line on stdout.
 * 0, or 1 after a message. */
int cli_work_status(const cli_opts *o);
/* flurry enqueue: argv[0] is "enqueue". The exit status. */
int cli_enqueue_main(int argc, char **argv);

/* redis_url.c: redis://[:PASSWORD@]HOST[:PORT][/DB] or HOST:PORT. */
typedef struct cli_redis_url {
  char host[256];
  int port;
  int db;
  char password[256];
} cli_redis_url;
/* 0, or -1 with why in err. */
int cli_redis_url_parse(const char *s, cli_redis_url *u, char *err, size_t errlen);

#endif
