/* listen_int.h: what the parts of `flurry listen` share: main and options
 * (listen.c), the request handler (listen_handler.c) and the output with
 * the replies that wait for it (listen_out.c). Internal to the flurry
 * binary. */
#ifndef FLURRY_LISTEN_INT_H
#define FLURRY_LISTEN_INT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "fl.h"
#include "httpd.h"
#include "listen_dedup.h"
#include "listen_store.h"
#include "flurry/error.h"
#include "flurry/webhook.h"

#define LISTEN_SECRETS_MAX FLURRY_WEBHOOK_MAX_SIGS

/* The settings, fixed at start-up. */
typedef struct listen_cfg {
  flurry_webhook_scheme scheme;
  flurry_webhook_key keys[LISTEN_SECRETS_MAX];
  size_t nkeys;
  int64_t tolerance_s; /* timestamp tolerance, either way */
  int64_t window_ms;   /* how long an id is remembered */
  const char *path;    /* the only path served; NULL: any */
  size_t max_body;
  size_t max_queue; /* bytes of lines waiting for the output (one always) */
  size_t max_wait;  /* replies waiting for the output (half the conns) */
  int headers;      /* write the request headers */
  int fsync;        /* durable before the 2xx */
  int quiet;
} listen_cfg;

/* A delivery whose reply waits: for its line to be written (a slow
 * pipe or terminal), or made durable (--fsync); a duplicate, for the
 * lines before it. Also the queue entry of its line, while queued. */
typedef struct listen_wait {
  httpd_req *req; /* NULL once abandoned */
  uint64_t need;  /* the line (number) that must be done first */
  int owns_key;   /* its line holds key (removed if it fails) */
  int duplicate;
  int err; /* errno that failed it (ECANCELED: shutting down), or 0 */
  unsigned char key[LISTEN_DEDUP_KEY_LEN];
  struct listen_wait *next; /* waiting replies, in order */
  /* its line while queued (queued = 1): line[off..len) still to write */
  struct listen_wait *next_line;
  char *line; /* borrowed (l->line) until owned */
  size_t len, off;
  int queued, owned;
  int unsynced; /* err came from fdatasync */
} listen_wait;

typedef struct listen_server {
  listen_cfg cfg;
  uv_loop_t *loop;
  listen_dedup *dedup;
  listen_store store;
  fl_buf line;    /* the event line being built (reused) */
  fl_buf json;    /* the compact body (reused) */
  fl_buf scratch; /* headers object (reused) */
  /* Lines are numbered from 1 as they are handed over (queued); written:
   * every line up to it is written or failed; synced: up to it every
   * fdatasync has ended (--fsync).
   * Replies wait in order (wait_head: FIFO), nwait of them at most
   * cfg.max_wait; the lines not yet written, out_bytes of them at most
   * cfg.max_queue, in order too (out_head). */
  uint64_t queued, written, synced, sync_target;
  listen_wait *wait_head, *wait_tail;
  size_t nwait;
  listen_wait *out_head, *out_tail;
  size_t out_bytes;
  int streaming;   /* the output is written from out_poll (non-blocking) */
  int out_handles; /* out_poll, out_drain: open until closed */
  int polling;
  uv_poll_t out_poll;
  uv_timer_t out_drain; /* shutdown: time left to finish a started line */
  uv_fs_t fsreq;
  int syncing;
  int closing;
  /* counts, for the summary on exit */
  uint64_t accepted, duplicates, rejected, failed, busy;
} listen_server;

/* The httpd callbacks; user is the listen_server. */
void listen_on_request(httpd_req *req, void *user);
void listen_on_abandon(httpd_req *req, void *user);

/* Wall-clock Unix milliseconds. */
int64_t listen_now_ms(void);

/* Answers req with status and {"error": msg}. */
void listen_reply_error(httpd_req *req, unsigned status, const char *msg);

/* ---- the output (listen_out.c) ---------------------------------------- */

/* How long a Retry-After a 503 (output backed up) asks for, seconds. */
#define LISTEN_RETRY_AFTER "5"
/* At shutdown, how long a line already begun may take to finish. */
#define LISTEN_DRAIN_MS 5000

/* Starts the output once the port line is out: a pipe, terminal or socket
 * is then written without blocking. */
void listen_out_start(listen_server *l);

/* Shutting down: no new fdatasync; lines not begun are dropped (their
 * deliveries answered 503); a line begun is given LISTEN_DRAIN_MS
 * to finish; then the output's handles close. */
void listen_out_stop(listen_server *l);

/* Hands an accepted delivery's line (l->line, taken over when it has to
 * wait) to the output and answers req: 200 once the line is written (and,
 * with --fsync, durable), 500 with the error if it cannot be, 503 with
 * Retry-After when the queue is full (nothing written). key (NULL: no id)
 * goes into the dedup set until expires, and out again on failure. From
 * on_request only. */
void listen_commit(listen_server *l, httpd_req *req, const unsigned char *key, int64_t expires);

/* Answers a duplicate: 200 once every line handed over so far is written
 * (and durable), or 500/503 as for its original. From on_request only. */
void listen_commit_dup(listen_server *l, httpd_req *req);

/* Frees what is left (after the loop ran to its end). */
void listen_free_waits(listen_server *l);

#endif
