/* input.c: reads input lines lazily, so memory is bounded by the in-flight
 * window and never by the input's size. A regular file is read with plain
 * blocking reads (they never wait); a pipe or terminal is made non-blocking
 * and watched with a uv_poll_t, so a slow producer never stalls the loop. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "io.h"

#define CHUNK (64 * 1024)

struct cli_input {
  int fd;
  int own_fd;
  int regular;
  int restore_flags; /* original fcntl flags, to restore; -1 = untouched */
  int eof;
  char *buf;
  size_t cap, start, end; /* unread bytes are buf[start..end) */
  size_t max_line;
  uint64_t lineno;
  int skipping; /* inside an over-long line: drop bytes up to '\n' */
  int64_t total;
  uv_poll_t poll;
  int polling;
  int poll_init;
  void (*wait_cb)(void *);
  void *wait_ud;
  char errmsg[256];
};

static int64_t count_lines(int fd) {
  char buf[CHUNK];
  int64_t n = 0, last_nl = 1;
  off_t off = 0;
  for (;;) {
    ssize_t r = pread(fd, buf, sizeof buf, off);
    if (r < 0)
      return -1;
    if (r == 0)
      break;
    for (char *p = buf; (p = memchr(p, '\n', (size_t)(buf + r - p))) != NULL; p++)
      n++;
    last_nl = buf[r - 1] == '\n';
    off += r;
  }
  return n + (off > 0 && !last_nl);
}

int cli_input_open(cli_input **out, const char *path, size_t max_line, uv_loop_t *loop, char *err,
                   size_t errlen) {
  cli_input *in = fl_calloc(1, sizeof *in);
  if (in == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  in->restore_flags = -1;
  in->max_line = max_line;
  in->total = -1;
  if (path == NULL || strcmp(path, "-") == 0) {
    in->fd = STDIN_FILENO;
  } else {
    in->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (in->fd < 0) {
      snprintf(err, errlen, "cannot open input '%s': %s", path, strerror(errno));
      fl_free(in);
      return -1;
    }
    in->own_fd = 1;
  }
  struct stat st;
  if (fstat(in->fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "input '%s' is not readable", path ? path : "-");
    cli_input_close(in);
    return -1;
  }
  in->regular = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
  if (in->regular) {
    in->total = count_lines(in->fd);
  } else {
    int flags = fcntl(in->fd, F_GETFL);
    if (flags >= 0 && !(flags & O_NONBLOCK)) {
      in->restore_flags = flags;
      fcntl(in->fd, F_SETFL, flags | O_NONBLOCK);
    }
    if (uv_poll_init(loop, &in->poll, in->fd) == 0) {
      in->poll_init = 1;
      in->poll.data = in;
    } else {
      in->regular = 1; /* e.g. /dev/null: not pollable, reads never block */
    }
  }
  in->cap = CHUNK + max_line;
  in->buf = fl_malloc(in->cap);
  if (in->buf == NULL) {
    snprintf(err, errlen, "out of memory");
    cli_input_close(in);
    return -1;
  }
  *out = in;
  return 0;
}

int64_t cli_input_total(cli_input *in) { return in->total; }

const char *cli_input_errmsg(cli_input *in) { return in->errmsg; }

/* Reads more bytes. Returns >0 bytes, 0 at EOF, -1 would block, -2 error. */
static ssize_t fill(cli_input *in) {
  if (in->start > 0) {
    memmove(in->buf, in->buf + in->start, in->end - in->start);
    in->end -= in->start;
    in->start = 0;
  }
  for (;;) {
    ssize_t r = read(in->fd, in->buf + in->end, in->cap - in->end);
    if (r >= 0) {
      in->end += (size_t)r;
      return r;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return -1;
    snprintf(in->errmsg, sizeof in->errmsg, "reading input: %s", strerror(errno));
    return -2;
  }
}

input_status cli_input_next(cli_input *in, const char **line, size_t *len, uint64_t *lineno) {
  for (;;) {
    char *base = in->buf + in->start;
    size_t avail = in->end - in->start;
    char *nl = memchr(base, '\n', avail);
    if (nl != NULL || (in->eof && avail > 0)) {
      size_t n = nl ? (size_t)(nl - base) : avail;
      in->start += nl ? n + 1 : n;
      if (in->skipping) {
        in->skipping = 0;
        continue; /* the tail of a line already reported as too long */
      }
      in->lineno++;
      *lineno = in->lineno;
      if (n > in->max_line)
        return INPUT_TOO_LONG;
      if (n && base[n - 1] == '\r')
        n--;
      *line = base;
      *len = n;
      return INPUT_LINE;
    }
    if (in->eof)
      return INPUT_EOF;
    if (avail > in->max_line) { /* no newline within the limit */
      in->start = in->end;
      if (!in->skipping) {
        in->skipping = 1;
        in->lineno++;
        *lineno = in->lineno;
        return INPUT_TOO_LONG;
      }
      continue;
    }
    ssize_t r = fill(in);
    if (r == 0)
      in->eof = 1;
    else if (r == -1)
      return INPUT_AGAIN;
    else if (r == -2)
      return INPUT_ERROR;
  }
}

static void on_readable(uv_poll_t *p, int status, int events) {
  cli_input *in = p->data;
  (void)status;
  (void)events;
  uv_poll_stop(&in->poll);
  in->polling = 0;
  if (in->wait_cb)
    in->wait_cb(in->wait_ud);
}

void cli_input_wait(cli_input *in, void (*cb)(void *), void *ud) {
  in->wait_cb = cb;
  in->wait_ud = ud;
  if (in->poll_init && !in->polling) {
    uv_poll_start(&in->poll, UV_READABLE | UV_DISCONNECT, on_readable);
    in->polling = 1;
  }
}

static void free_input(uv_handle_t *h) {
  cli_input *in = h->data;
  fl_free(in->buf);
  fl_free(in);
}

void cli_input_close(cli_input *in) {
  if (in == NULL)
    return;
  if (in->restore_flags >= 0)
    fcntl(in->fd, F_SETFL, in->restore_flags);
  if (in->own_fd)
    close(in->fd);
  if (in->poll_init) {
    uv_poll_stop(&in->poll);
    uv_close((uv_handle_t *)&in->poll, free_input);
    return;
  }
  fl_free(in->buf);
  fl_free(in);
}

/* ---- as a source (io.h) ---- */

static input_status src_next(void *impl, const char **line, size_t *len, uint64_t *lineno) {
  return cli_input_next(impl, line, len, lineno);
}

static void src_wait(void *impl, void (*cb)(void *), void *ud) { cli_input_wait(impl, cb, ud); }

static int64_t src_total(void *impl) { return cli_input_total(impl); }

static const char *src_errmsg(void *impl) { return cli_input_errmsg(impl); }

static void src_close(void *impl) { cli_input_close(impl); }

int cli_file_source(cli_source *out, const char *path, size_t max_line, uv_loop_t *loop, char *err,
                    size_t errlen) {
  cli_input *in;
  if (cli_input_open(&in, path, max_line, loop, err, errlen) != 0)
    return -1;
  *out = (cli_source){.impl = in,
                      .next = src_next,
                      .wait = src_wait,
                      .total = src_total,
                      .errmsg = src_errmsg,
                      .close = src_close};
  return 0;
}
