/* out.c: the output. The front (cli_out) is what the record writers use:
 * a scratch buffer, out-of-memory accounting and, with --ordered, a ring
 * that holds a unit's records back until every unit before it has ended.
 * Behind it a sink (io.h) stores whole records: here the fd sink, which
 * batches them into few writes; `flurry work` has its own (work.c). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "io.h"

#define OUT_FLUSH_BYTES (64 * 1024)

/* ---- the fd sink: stdout or a file ---- */

typedef struct fd_sink {
  int fd;
  int fsync_mode;
  int failed;
  fl_buf buf;
  double last_sync_ms;
} fd_sink;

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int fd_flush(void *impl) {
  fd_sink *s = impl;
  if (s->buf.len == 0 || s->failed)
    return s->failed ? -1 : 0;
  if (write_all(s->fd, s->buf.data, s->buf.len) != 0) {
    if (errno != EPIPE)
      fprintf(stderr, "flurry: writing output: %s\n", strerror(errno));
    s->failed = 1;
  }
  fl_buf_reset(&s->buf);
  double now = fl_now_ms();
  if (s->fsync_mode == FSYNC_ALWAYS ||
      (s->fsync_mode == FSYNC_BATCH && now - s->last_sync_ms >= 1000)) {
    fdatasync(s->fd);
    s->last_sync_ms = now;
  }
  return s->failed ? -1 : 0;
}

static void fd_write(void *impl, uint64_t seq, const char *p, size_t n) {
  fd_sink *s = impl;
  (void)seq;
  if (fl_buf_append(&s->buf, p, n) != FL_OK) {
    fprintf(stderr, "flurry: out of memory: %zu bytes of records lost: stopping\n", n);
    s->failed = 1;
  }
  if (s->buf.len >= OUT_FLUSH_BYTES)
    fd_flush(s);
}

static void fd_sync(void *impl) {
  fd_sink *s = impl;
  if (s->fsync_mode != FSYNC_NEVER)
    fdatasync(s->fd);
}

static void fd_free(void *impl) {
  fd_sink *s = impl;
  fl_buf_free(&s->buf);
  fl_free(s);
}

int cli_fd_sink(cli_sink *out, int fd, int fsync_mode) {
  fd_sink *s = fl_calloc(1, sizeof *s);
  if (s == NULL)
    return FLURRY_ENOMEM;
  s->fd = fd;
  s->fsync_mode = fsync_mode;
  s->buf = (fl_buf)FL_BUF_INIT(0);
  *out =
      (cli_sink){.impl = s, .write = fd_write, .flush = fd_flush, .sync = fd_sync, .free = fd_free};
  return 0;
}

/* ---- the front ---- */

typedef struct slot {
  fl_buf held; /* records of a unit not yet at the head */
  int ended;
} slot;

struct cli_out {
  cli_sink sink;
  int ordered;
  int lost;       /* records lost to out of memory: the run stops, exit 1 */
  fl_buf scratch; /* cli_out_scratch: one record at a time */
  slot *ring;
  size_t window;
  uint64_t next_write; /* the unit at the head */
};

int cli_out_new_sink(cli_out **out, const cli_sink *sink, int ordered, size_t window) {
  cli_out *o = fl_calloc(1, sizeof *o);
  if (o == NULL) {
    sink->free(sink->impl);
    return FLURRY_ENOMEM;
  }
  o->sink = *sink;
  o->ordered = ordered;
  o->scratch = (fl_buf)FL_BUF_INIT(0);
  if (ordered) {
    o->window = window;
    o->ring = fl_calloc(window, sizeof *o->ring);
    if (o->ring == NULL) {
      cli_out_free(o);
      return FLURRY_ENOMEM;
    }
  }
  *out = o;
  return 0;
}

int cli_out_new(cli_out **out, int fd, int ordered, size_t window, int fsync_mode) {
  cli_sink s;
  if (cli_fd_sink(&s, fd, fsync_mode) != 0)
    return FLURRY_ENOMEM;
  return cli_out_new_sink(out, &s, ordered, window);
}

void cli_out_free(cli_out *o) {
  if (o == NULL)
    return;
  for (size_t i = 0; o->ring && i < o->window; i++)
    fl_buf_free(&o->ring[i].held);
  fl_free(o->ring);
  fl_buf_free(&o->scratch);
  o->sink.free(o->sink.impl);
  fl_free(o);
}

fl_buf *cli_out_scratch(cli_out *o) {
  if (o->scratch.cap > OUT_FLUSH_BYTES) /* a big record: not kept for the run */
    fl_buf_free(&o->scratch);
  fl_buf_reset(&o->scratch);
  return &o->scratch;
}

int cli_out_flush(cli_out *o) {
  int rc = o->sink.flush(o->sink.impl);
  return rc != 0 || o->lost ? -1 : 0;
}

void cli_out_sync(cli_out *o) {
  if (o->sink.sync)
    o->sink.sync(o->sink.impl);
}

size_t cli_out_unsettled(const cli_out *o) {
  return o->sink.unsettled ? o->sink.unsettled(o->sink.impl) : 0;
}

void cli_out_lost(cli_out *o, size_t n) {
  if (n)
    fprintf(stderr, "flurry: out of memory: %zu bytes of records lost: stopping\n", n);
  else
    fprintf(stderr, "flurry: out of memory: a record lost: stopping\n");
  o->lost = 1;
}

void cli_out_write(cli_out *o, uint64_t seq, const char *p, size_t n) {
  if (!o->ordered || seq == o->next_write) {
    o->sink.write(o->sink.impl, seq, p, n);
    return;
  }
  slot *s = &o->ring[seq % o->window];
  if (fl_buf_append(&s->held, p, n) != FL_OK)
    cli_out_lost(o, n);
}

static void sink_end(cli_out *o, uint64_t seq) {
  if (o->sink.end)
    o->sink.end(o->sink.impl, seq);
}

void cli_out_end(cli_out *o, uint64_t seq) {
  if (!o->ordered) {
    sink_end(o, seq);
    return;
  }
  o->ring[seq % o->window].ended = 1;
  for (;;) {
    slot *head = &o->ring[o->next_write % o->window];
    if (head->held.len) { /* the head writes straight through from now on */
      o->sink.write(o->sink.impl, o->next_write, head->held.data, head->held.len);
      fl_buf_free(&head->held);
    }
    if (!head->ended)
      return;
    head->ended = 0;
    sink_end(o, o->next_write);
    o->next_write++;
  }
}

uint64_t cli_out_written(const cli_out *o) { return o->next_write; }
