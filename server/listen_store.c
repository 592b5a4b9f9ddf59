/* listen_store.c: the event file of `flurry listen` (see listen_store.h). */
#include "listen_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fl.h"
#include "listen_event.h"

#define READ_BLOCK 65536u

int listen_store_open(listen_store *s, const char *path, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  s->fd = 1;
  s->saved_flags = -1;
  if (path == NULL || strcmp(path, "-") == 0)
    return 0;
  int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    snprintf(err, errlen, "'%s' is in use by another process (%s)", path,
             errno == EWOULDBLOCK ? "locked" : strerror(errno));
    close(fd);
    return -1;
  }
  s->fd = fd;
  s->own_fd = 1;
  s->is_file = S_ISREG(st.st_mode);
  s->regular = s->is_file;
  s->size = (uint64_t)st.st_size;
  return 0;
}

int listen_store_stream(listen_store *s) {
  struct stat st;
  if (fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode)) {
    s->regular = 1;
    s->size = (uint64_t)st.st_size;
    return 0;
  }
  char name[256];
  if (!s->own_fd && isatty(s->fd) && ttyname_r(s->fd, name, sizeof name) == 0) {
    int fd = open(name, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0) {
      s->fd = fd;
      s->own_fd = 1;
    }
  }
  s->saved_flags = fcntl(s->fd, F_GETFL);
  return 1;
}

/* Adds the id of one line's head to d when it is recent enough. */
static int load_line(const char *head, size_t n, listen_dedup *d, int64_t now_ms, int64_t window_ms,
                     listen_store_loaded *out) {
  const char *id;
  size_t id_len;
  int64_t ms;
  unsigned char key[LISTEN_DEDUP_KEY_LEN];
  out->lines++;
  if (listen_event_head_parse(head, n, &id, &id_len, &ms) != 0) {
    out->foreign++;
    return 0;
  }
  if (id == NULL || ms + window_ms <= now_ms)
    return 0;
  if (listen_dedup_key(id, id_len, key) != 0)
    return -1;
  if (listen_dedup_has(d, key))
    return 0;
  if (listen_dedup_add(d, key, ms + window_ms) != 0)
    return -1;
  out->ids++;
  return 0;
}

typedef struct loader {
  char head[LISTEN_EVENT_HEAD_MAX];
  size_t len; /* bytes of the current line's head */
  uint64_t line_bytes;
} loader;

/* Feeds one block to the loader: complete lines go to load_line. */
static int load_block(loader *l, const char *p, size_t n, listen_dedup *d, int64_t now_ms,
                      int64_t window_ms, listen_store_loaded *out) {
  while (n > 0) {
    const char *nl = memchr(p, '\n', n);
    size_t take = nl ? (size_t)(nl - p) : n;
    size_t room = sizeof l->head - l->len;
    memcpy(l->head + l->len, p, take < room ? take : room);
    l->len += take < room ? take : room;
    l->line_bytes += take;
    if (nl == NULL)
      return 0;
    if (load_line(l->head, l->len, d, now_ms, window_ms, out) != 0)
      return -1;
    l->len = 0;
    l->line_bytes = 0;
    p += take + 1;
    n -= take + 1;
  }
  return 0;
}

/* Ends a file whose last line has no newline with one. */
static int repair_tail(listen_store *s, listen_store_loaded *out) {
  char last = '\n';
  if (s->size > 0 && pread(s->fd, &last, 1, (off_t)(s->size - 1)) != 1)
    return -1;
  if (last == '\n')
    return 0;
  if (write(s->fd, "\n", 1) != 1)
    return -1;
  s->size++;
  out->repaired = 1;
  return 0;
}

int listen_store_load(listen_store *s, listen_dedup *d, int64_t now_ms, int64_t window_ms,
                      listen_store_loaded *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  if (!s->is_file)
    return 0;
  loader *l = fl_calloc(1, sizeof *l);
  char *block = fl_malloc(READ_BLOCK);
  int rc = l && block ? 0 : -1;
  uint64_t off = 0;
  while (rc == 0 && off < s->size) {
    ssize_t got = pread(s->fd, block, READ_BLOCK, (off_t)off);
    if (got <= 0) {
      rc = -1;
      break;
    }
    off += (uint64_t)got;
    rc = load_block(l, block, (size_t)got, d, now_ms, window_ms, out);
  }
  if (rc == 0 && l->line_bytes > 0)
    out->lines++, out->foreign++; /* the unfinished last line */
  if (rc == 0)
    rc = repair_tail(s, out);
  if (rc != 0)
    snprintf(err, errlen, "cannot read the event file back: %s",
             errno ? strerror(errno) : "out of memory");
  fl_free(block);
  fl_free(l);
  return rc;
}

int listen_store_append(listen_store *s, const char *line, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(s->fd, line + done, n - done);
    if (w > 0) {
      done += (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR)
      continue;
    int e = w < 0 ? errno : EIO; /* (0 bytes for a non-zero count) */
    if (done > 0 && s->regular)
      (void)ftruncate(s->fd, (off_t)s->size); /* best effort */
    errno = e;
    return -1;
  }
  s->size += n;
  return 0;
}

long listen_store_writev(listen_store *s, const struct iovec *iov, int n) {
  ssize_t w;
  do
    w = writev(s->fd, iov, n);
  while (w < 0 && errno == EINTR);
  return (long)w;
}

int listen_store_sync(listen_store *s) { return s->is_file ? fdatasync(s->fd) : 0; }

void listen_store_close(listen_store *s) {
  if (s->fd >= 0 && s->saved_flags >= 0)
    (void)fcntl(s->fd, F_SETFL, s->saved_flags);
  if (s->own_fd)
    close(s->fd);
  s->fd = -1;
  s->own_fd = 0;
}
