/* out.c: the output. Records are whole lines, batched into few writes.
 * Unordered, they go out as they come. Ordered, each unit (an input line,
 * with all the records it makes) has a number: the unit at the head writes
 * straight through, later ones wait in a ring slot until every unit before
 * them has ended. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define OUT_FLUSH_BYTES (64 * 1024)

typedef struct slot {
  fl_buf held; /* records of a unit not yet at the head */
  int ended;
} slot;

struct cli_out {
  int fd;
  int ordered;
  int fsync_mode;
  int failed;
  int lost; /* records lost to out of memory: the run stops, exit 1 */
  fl_buf buf;
  fl_buf scratch; /* cli_out_scratch: one record at a time */
  slot *ring;
  size_t window;
  uint64_t next_write; /* the unit at the head */
  double last_sync_ms;
};

int cli_out_new(cli_out **out, int fd, int ordered, size_t window, int fsync_mode) {
  cli_out *o = fl_calloc(1, sizeof *o);
  if (o == NULL)
    return FLURRY_ENOMEM;
  o->fd = fd;
  o->ordered = ordered;
  o->fsync_mode = fsync_mode;
  o->buf = (fl_buf)FL_BUF_INIT(0);
  o->scratch = (fl_buf)FL_BUF_INIT(0);
  if (ordered) {
    o->window = window;
    o->ring = fl_calloc(window, sizeof *o->ring);
    if (o->ring == NULL) {
      fl_free(o);
      return FLURRY_ENOMEM;
    }
  }
  *out = o;
  return 0;
}

void cli_out_free(cli_out *o) {
  if (o == NULL)
    return;
  for (size_t i = 0; o->ring && i < o->window; i++)
    fl_buf_free(&o->ring[i].held);
  fl_free(o->ring);
  fl_buf_free(&o->buf);
  fl_buf_free(&o->scratch);
  fl_free(o);
}

fl_buf *cli_out_scratch(cli_out *o) {
  if (o->scratch.cap > OUT_FLUSH_BYTES) /* a big record: not kept for the run */
    fl_buf_free(&o->scratch);
  fl_buf_reset(&o->scratch);
  return &o->scratch;
}

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

int cli_out_flush(cli_out *o) {
  if (o->buf.len == 0 || o->failed)
    return o->failed || o->lost ? -1 : 0;
  if (write_all(o->fd, o->buf.data, o->buf.len) != 0) {
    if (errno != EPIPE)
      fprintf(stderr, "flurry: writing output: %s\n", strerror(errno));
    o->failed = 1;
  }
  fl_buf_reset(&o->buf);
  double now = fl_now_ms();
  if (o->fsync_mode == FSYNC_ALWAYS ||
      (o->fsync_mode == FSYNC_BATCH && now - o->last_sync_ms >= 1000)) {
    fdatasync(o->fd);
    o->last_sync_ms = now;
  }
  return o->failed || o->lost ? -1 : 0;
}

void cli_out_sync(cli_out *o) {
  if (o->fsync_mode != FSYNC_NEVER)
    fdatasync(o->fd);
}

void cli_out_lost(cli_out *o, size_t n) {
  if (n)
    fprintf(stderr, "flurry: out of memory: %zu bytes of records lost: stopping\n", n);
  else
    fprintf(stderr, "flurry: out of memory: a record lost: stopping\n");
  o->lost = 1;
}

static void append(cli_out *o, const char *p, size_t n) {
  if (fl_buf_append(&o->buf, p, n) != FL_OK)
    cli_out_lost(o, n);
  if (o->buf.len >= OUT_FLUSH_BYTES)
    cli_out_flush(o);
}

void cli_out_write(cli_out *o, uint64_t seq, const char *p, size_t n) {
  if (!o->ordered || seq == o->next_write) {
    append(o, p, n);
    return;
  }
  slot *s = &o->ring[seq % o->window];
  if (fl_buf_append(&s->held, p, n) != FL_OK)
    cli_out_lost(o, n);
}

void cli_out_end(cli_out *o, uint64_t seq) {
  if (!o->ordered)
    return;
  o->ring[seq % o->window].ended = 1;
  for (;;) {
    slot *head = &o->ring[o->next_write % o->window];
    if (head->held.len) { /* the head writes straight through from now on */
      append(o, head->held.data, head->held.len);
      fl_buf_free(&head->held);
    }
    if (!head->ended)
      return;
    head->ended = 0;
    o->next_write++;
  }
}

uint64_t cli_out_written(const cli_out *o) { return o->next_write; }
