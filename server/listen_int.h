/* listen_int.h: what the parts of `flurry listen` share: main and options
 * (listen.c) and the request handler with its durable replies
 * (listen_handler.c). Internal to the flurry binary. */
#ifndef FLURRY_LISTEN_INT_H
#define FLURRY_LISTEN_INT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "fl.h"
#include "httpd.h"
#include "listen_dedup.h"
#include "listen_store.h"
#include "sig.h"

#define FLURRY__LISTEN_SECRETS_MAX FLURRY__SIG_MAX

/* The settings, fixed at start-up. */
typedef struct flurry__listen_cfg {
  flurry__sig_scheme scheme;
  flurry__sig_key keys[FLURRY__LISTEN_SECRETS_MAX];
  size_t nkeys;
  int64_t tolerance_s; /* timestamp tolerance, either way */
  int64_t window_ms;   /* how long an id is remembered */
  const char *path;    /* the only path served; NULL: any */
  size_t max_body;
  int headers; /* write the request headers */
  int fsync;   /* durable before the 2xx */
  int quiet;
} flurry__listen_cfg;

/* A reply that waits for fdatasync (--fsync). */
typedef struct flurry__listen_wait {
  flurry__httpd_req *req; /* NULL once abandoned */
  uint64_t need;          /* lines that must be durable first */
  int owns_key;           /* the line written for this request holds key */
  int duplicate;
  unsigned char key[FLURRY__DEDUP_KEY_LEN];
  struct flurry__listen_wait *next;
} flurry__listen_wait;

typedef struct flurry__listen {
  flurry__listen_cfg cfg;
  uv_loop_t *loop;
  flurry__dedup *dedup;
  flurry__store store;
  fl_buf line;    /* the event line being built (reused) */
  fl_buf json;    /* the compact body (reused) */
  fl_buf scratch; /* headers object (reused) */
  /* --fsync: group commit. Lines written so far, lines known durable, the
   * count the running fdatasync covers, the replies waiting (FIFO). */
  uv_fs_t fsreq;
  int syncing;
  int closing;
  uint64_t written, synced, sync_target;
  flurry__listen_wait *wait_head, *wait_tail;
  /* counts, for the summary on exit */
  uint64_t accepted, duplicates, rejected, failed;
} flurry__listen;

/* The httpd callbacks; user is the flurry__listen. */
void flurry__listen_on_request(flurry__httpd_req *req, void *user);
void flurry__listen_on_abandon(flurry__httpd_req *req, void *user);

/* Wall-clock Unix milliseconds. */
int64_t flurry__listen_now_ms(void);

/* Frees the waiters left (after the loop ran to its end). */
void flurry__listen_free_waits(flurry__listen *l);

#endif
