/* listen_out.c: where accepted events go, and when their senders hear so.
 *
 * A delivery is acknowledged (200) only once its line is whole in the
 * output: written to the -o file (with --fsync: durable too) or to the
 * pipe, terminal or socket on stdout. A regular file is written at once
 * (listen_store_append: the whole line, or cut off again). Anything else
 * is written without blocking: what does not fit waits in a queue and goes
 * out when uv_poll says the output is writable, its delivery's reply
 * waiting with it (a suspended connection), while the loop serves
 * everything else. When the queue is full (cfg.max_queue bytes, or
 * cfg.max_wait replies waiting) a delivery is refused with 503 and
 * Retry-After, nothing written. A line once begun is finished (a short
 * write goes on where it stopped), so the output holds whole lines only. A
 * write error (EPIPE: the reader is gone) fails the lines queued with it:
 * their deliveries get 500 with that error, and their ids are forgotten so
 * that the sender's retry is written again.
 *
 * --fsync: fdatasync runs on libuv's thread pool, one at a time, each
 * covering every line written before it started (group commit).
 *
 * Replies go out in line order (FIFO), each once what it needs is done:
 * its line (a duplicate: every line handed over before it). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "listen_int.h"

#define JSON_TYPE "application/json"
#define IOV_BATCH 64 /* lines per writev */

static const char ok_body[] = "{\"ok\":true}";
static const char dup_body[] = "{\"ok\":true,\"duplicate\":true}";

/* ---- replies ------------------------------------------------------------- */

static void reply_ok(httpd_req *req, int duplicate) {
  const char *b = duplicate ? dup_body : ok_body;
  httpd_reply(req, 200, JSON_TYPE, b, strlen(b), HTTPD_STATIC);
}

static void reply_busy(httpd_req *req, const char *why) {
  httpd_header(req, "Retry-After", LISTEN_RETRY_AFTER);
  listen_reply_error(req, 503, why);
}

/* The reply of a delivery that failed with w->err. */
static void reply_failed(httpd_req *req, const listen_wait *w) {
  char msg[192];
  if (w->err == ECANCELED) {
    reply_busy(req, "server shutting down");
    return;
  }
  snprintf(msg, sizeof msg, "%s: %s",
           w->unsynced ? "cannot make the event durable" : "cannot write the event",
           strerror(w->err));
  listen_reply_error(req, 500, msg);
}

/* ---- the replies waiting ------------------------------------------------- */

static uint64_t done_upto(const listen_server *l) { return l->cfg.fsync ? l->synced : l->written; }

static void free_wait(listen_wait *w) {
  if (w->owned)
    fl_free(w->line);
  fl_free(w);
}

/* Marks w failed with e; its id is forgotten at once, so that a retry (or
 * a duplicate arriving meanwhile) is not taken for a written event. */
static void fail(listen_server *l, listen_wait *w, int e) {
  w->err = e;
  if (w->owns_key)
    listen_dedup_remove(l->dedup, w->key);
  w->owns_key = 0;
}

static void wait_add(listen_server *l, listen_wait *w) {
  if (l->wait_tail)
    l->wait_tail->next = w;
  else
    l->wait_head = w;
  l->wait_tail = w;
  l->nwait++;
  httpd_req_set_data(w->req, w);
  httpd_defer(w->req);
}

/* Answers (abandoned: drops) the replies at the head that are settled. */
static void release(listen_server *l) {
  uint64_t done = done_upto(l);
  while (l->wait_head && (l->wait_head->err || l->wait_head->need <= done)) {
    listen_wait *w = l->wait_head;
    l->wait_head = w->next;
    if (l->wait_head == NULL)
      l->wait_tail = NULL;
    l->nwait--;
    if (w->err && w->err != ECANCELED)
      l->failed++;
    if (w->req && w->err)
      reply_failed(w->req, w);
    else if (w->req)
      reply_ok(w->req, w->duplicate);
    free_wait(w);
  }
}

void listen_on_abandon(httpd_req *req, void *user) {
  (void)user;
  listen_wait *w = httpd_req_data(req);
  if (w)
    w->req = NULL; /* freed when settled, or at exit */
}

void listen_free_waits(listen_server *l) {
  while (l->wait_head) {
    listen_wait *w = l->wait_head;
    l->wait_head = w->next;
    free_wait(w);
  }
  l->wait_tail = NULL;
  l->out_head = l->out_tail = NULL; /* every queued line had a reply */
  l->nwait = 0;
}

/* ---- the queue of lines -------------------------------------------------- */

static void queue_add(listen_server *l, listen_wait *w) {
  w->queued = 1;
  if (l->out_tail)
    l->out_tail->next_line = w;
  else
    l->out_head = w;
  l->out_tail = w;
  l->out_bytes += w->len;
}

/* Takes the head line off the queue (written or dropped). */
static listen_wait *queue_pop(listen_server *l) {
  listen_wait *w = l->out_head;
  l->out_head = w->next_line;
  if (l->out_head == NULL)
    l->out_tail = NULL;
  l->out_bytes -= w->len;
  w->next_line = NULL;
  w->queued = 0;
  if (w->owned)
    fl_free(w->line);
  w->line = NULL;
  w->owned = 0;
  return w;
}

static void watch(listen_server *l, int on);

/* Fails with e the lines not yet written (keep_begun: but for one already
 * begun, to be finished), and the duplicates that wait for them. */
static void drop_lines(listen_server *l, int e, int keep_begun) {
  listen_wait *keep = NULL;
  if (keep_begun && l->out_head && l->out_head->off > 0) {
    keep = l->out_head;
    l->out_head = keep->next_line;
    l->out_bytes -= keep->len;
    keep->next_line = NULL;
  }
  uint64_t last = keep ? keep->need : l->written; /* failed past it */
  while (l->out_head)
    fail(l, queue_pop(l), e);
  for (listen_wait *w = l->wait_head; w; w = w->next)
    if (!w->err && w->need > last)
      fail(l, w, e);
  if (keep) {
    l->out_head = l->out_tail = keep;
    l->out_bytes += keep->len;
    return;
  }
  l->written = l->queued; /* every line so far is written or failed */
  watch(l, 0);
}

/* The head line is written. */
static void line_written(listen_server *l) {
  l->written = queue_pop(l)->need;
  l->accepted++;
}

/* Counts n bytes written from the head of the queue. */
static void advance(listen_server *l, size_t n) {
  while (n > 0) {
    listen_wait *w = l->out_head;
    size_t left = w->len - w->off;
    if (n < left) {
      w->off += n;
      return;
    }
    n -= left;
    w->off = w->len;
    line_written(l);
  }
}

/* Writes what fits now. On a stream, a batch of lines per writev; EAGAIN
 * waits for the output to be writable. A write error drops the queue. */
static void pump(listen_server *l) {
  while (l->out_head) {
    listen_wait *w = l->out_head;
    if (!l->streaming) {
      if (listen_store_append(&l->store, w->line, w->len) != 0) {
        drop_lines(l, errno, 0);
        return;
      }
      line_written(l);
      continue;
    }
    struct iovec iov[IOV_BATCH];
    int n = 0;
    for (; w && n < IOV_BATCH; w = w->next_line, n++) {
      iov[n].iov_base = w->line + w->off;
      iov[n].iov_len = w->len - w->off;
    }
    long got = listen_store_writev(&l->store, iov, n);
    if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      drop_lines(l, errno, 0);
      return;
    }
    if (got <= 0) {
      watch(l, 1);
      return;
    }
    advance(l, (size_t)got);
  }
  watch(l, 0);
}

/* ---- the stream's handles ------------------------------------------------ */

static void on_out_closed(uv_handle_t *h) {
  listen_server *l = h->data;
  l->out_handles--;
}

static void close_out(listen_server *l) {
  if (!l->streaming || uv_is_closing((uv_handle_t *)&l->out_poll))
    return;
  uv_close((uv_handle_t *)&l->out_poll, on_out_closed);
  uv_close((uv_handle_t *)&l->out_drain, on_out_closed);
  l->polling = 0;
}

static void on_writable(uv_poll_t *p, int status, int events) {
  (void)events;
  listen_server *l = p->data;
  if (status < 0)   /* libuv stopped the handle: the write says why */
    l->polling = 0; /* (POLLERR is reported as UV_EBADF, EPIPE is real) */
  pump(l);
  release(l);
  if (l->closing && l->out_head == NULL)
    close_out(l);
}

static void watch(listen_server *l, int on) {
  if (!l->streaming || on == l->polling || uv_is_closing((uv_handle_t *)&l->out_poll))
    return;
  int rc = on ? uv_poll_start(&l->out_poll, UV_WRITABLE, on_writable) : uv_poll_stop(&l->out_poll);
  l->polling = on && rc == 0;
  if (on && rc != 0)
    drop_lines(l, -rc, 0);
}

/* Shutdown, and a line begun that the reader did not take in time. */
static void on_drain_timeout(uv_timer_t *t) {
  listen_server *l = t->data;
  if (l->out_head)
    fprintf(stderr,
            "flurry listen: the output was not read for %d ms: its "
            "last line is left unfinished\n",
            LISTEN_DRAIN_MS);
  drop_lines(l, ECANCELED, 0);
  release(l);
  close_out(l);
}

void listen_out_start(listen_server *l) {
  if (l->store.is_file || listen_store_stream(&l->store) == 0)
    return; /* a regular file */
  if (uv_poll_init(l->loop, &l->out_poll, l->store.fd) != 0)
    return; /* not pollable (/dev/null): written at once, blocking */
  uv_timer_init(l->loop, &l->out_drain);
  l->out_poll.data = l;
  l->out_drain.data = l;
  l->out_handles = 2;
  l->streaming = 1;
}

void listen_out_stop(listen_server *l) {
  l->closing = 1;
  if (!l->streaming)
    return;
  drop_lines(l, ECANCELED, 1);
  release(l);
  if (l->out_head)
    uv_timer_start(&l->out_drain, on_drain_timeout, LISTEN_DRAIN_MS, 0);
  else
    close_out(l);
}

/* ---- --fsync: group commit ----------------------------------------------- */

static int start_sync(listen_server *l);

/* The fdatasync that ended with e: the replies it covers fail. */
static void sync_failed(listen_server *l, int e) {
  for (listen_wait *w = l->wait_head; w; w = w->next)
    if (!w->err && w->need <= l->sync_target) {
      fail(l, w, e);
      w->unsynced = 1;
    }
  l->synced = l->sync_target; /* settled: not retried for these */
}

static void on_synced(uv_fs_t *r) {
  listen_server *l = r->data;
  ssize_t rc = r->result;
  uv_fs_req_cleanup(r);
  l->syncing = 0;
  if (rc < 0)
    sync_failed(l, (int)-rc);
  else
    l->synced = l->sync_target;
  release(l);
  if (start_sync(l) != 0)
    release(l);
}

/* Starts an fdatasync covering every line written so far, unless one runs
 * or none is needed. Returns 0, or the errno when it cannot start (the
 * replies waiting for it are failed, not answered). */
static int start_sync(listen_server *l) {
  if (!l->cfg.fsync || l->syncing || l->closing || l->synced >= l->written)
    return 0;
  l->sync_target = l->written;
  l->syncing = 1;
  l->fsreq.data = l;
  int rc = uv_fs_fdatasync(l->loop, &l->fsreq, l->store.fd, on_synced);
  if (rc == 0)
    return 0;
  l->syncing = 0;
  sync_failed(l, -rc);
  return -rc;
}

/* ---- handing deliveries over --------------------------------------------- */

/* 1 when one more reply (and line of len bytes) cannot wait. */
static int full(const listen_server *l, size_t len) {
  if (l->nwait >= l->cfg.max_wait)
    return 1;
  return l->out_head != NULL && l->out_bytes + len > l->cfg.max_queue;
}

/* A reply for req that may have to wait (with a line of len bytes), or
 * NULL when req was answered instead: 503, the queue is full; 500. */
static listen_wait *wait_new(listen_server *l, httpd_req *req, size_t len) {
  if (full(l, len)) {
    l->busy++;
    reply_busy(req, "the output is backed up: retry later");
    return NULL;
  }
  listen_wait *w = fl_calloc(1, sizeof *w);
  if (w == NULL) {
    l->failed++;
    listen_reply_error(req, 500, "out of memory");
    return NULL;
  }
  w->req = req;
  return w;
}

/* Right after w was handed over, from on_request: answers it now when its
 * fate is known, else makes it wait (req deferred). */
static void settle_now(listen_server *l, listen_wait *w) {
  int e = 0;
  if (!w->err && l->cfg.fsync && w->need <= l->written)
    e = start_sync(l);
  if (e != 0) {
    fail(l, w, e);
    w->unsynced = 1;
  }
  if (w->err) {
    if (w->err != ECANCELED)
      l->failed++;
    reply_failed(w->req, w);
    free_wait(w);
  } else if (w->need > done_upto(l)) {
    wait_add(l, w);
  } else {
    reply_ok(w->req, w->duplicate);
    free_wait(w);
  }
  release(l); /* the others the writes settled (all suspended) */
}

void listen_commit(listen_server *l, httpd_req *req, const unsigned char *key, int64_t expires) {
  listen_wait *w = wait_new(l, req, l->line.len);
  if (w == NULL)
    return;
  if (key && listen_dedup_add(l->dedup, key, expires) == 0) {
    memcpy(w->key, key, sizeof w->key); /* else not recognised again */
    w->owns_key = 1;
  }
  w->need = ++l->queued;
  w->line = l->line.data; /* borrowed: taken over below if it must wait */
  w->len = l->line.len;
  queue_add(l, w);
  pump(l);
  if (w->queued) {
    w->line = fl_buf_take(&l->line, NULL); /* the same bytes, now ours */
    w->owned = 1;
  }
  settle_now(l, w);
}

void listen_commit_dup(listen_server *l, httpd_req *req) {
  if (l->queued <= done_upto(l)) {
    reply_ok(req, 1);
    return;
  }
  listen_wait *w = wait_new(l, req, 0);
  if (w == NULL)
    return;
  w->need = l->queued;
  w->duplicate = 1;
  settle_now(l, w);
}
