/* work_int.h: what work.c, work_admin.c and work_rate.c share: the
 * worker's state. Internal to the CLI. */
#ifndef FLURRY_CLI_WORK_INT_H
#define FLURRY_CLI_WORK_INT_H

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "work.h"

enum { WORK_LUA_STORE, WORK_LUA_CLAIM, WORK_LUA_TOUCH, WORK_LUA_GCRA, WORK_LUA_COUNT_ };

typedef struct work_rate work_rate; /* work_rate.c */

struct cli_work {
  const cli_work_opts *o;
  const cli_opts *o_all;
  flurry_client *client;
  uv_loop_t *loop;
  cli_redis_url url;
  char consumer[300];
  char *k_results, *k_dead, *k_done, *k_lasterr; /* the keys (work.h) */
  char *lost_record;                             /* the record of an entry no worker finished */
  const char *lua[WORK_LUA_COUNT_];
  char sha[WORK_LUA_COUNT_][48];
  redisAsyncContext *ac; /* NULL while disconnected */
  int up;                /* ac connected */
  int down_said;
  double backoff_ms;
  double last_warned_ms;
  uv_timer_t poll_timer, claim_timer, reconnect_timer, touch_timer;
  fl_list ready, out, store; /* jobs (work.c) */
  size_t held;               /* jobs in all three */
  uint64_t lineno;
  void *current; /* the job the run loop read last */
  int fetching, claim_due, claim_eval, store_eval, touching;
  int history; /* reading this consumer's own pending entries first */
  char history_from[64];
  int stopped, drained, closing, failed;
  int refs;
  uint64_t count[4]; /* the store script's answers: results, dead, dup, retry */
  void (*wait_cb)(void *);
  void *wait_ud;
  void (*kick)(void *);
  void *kick_ud;
  work_rate *rate;
};

/* work.c */
int cli_work__reply_noscript(const redisReply *r);
void cli_work__script_head(const cli_work *w, int script, int eval, const char **argv);
/* work_admin.c: the keys, the consumer name, a synchronous first contact
 * (PING, the group, the scripts loaded): 0, 1 or 2 after a message. */
int cli_work__prepare(cli_work *w);
void cli_work__free_keys(cli_work *w);
/* work_rate.c: --rate-scope shared. open: 0 or 2 after a message (the
 * admission hook set on the client when shared); resume after a
 * reconnection; close before the connection goes. */
int cli_work__rate_open(cli_work *w);
void cli_work__rate_resume(cli_work *w);
void cli_work__rate_close(cli_work *w);

#endif
