/* listen_store.h: the JSONL file `flurry listen` appends events to (or
 * its stdout), and what a restart reads back from it.
 *
 * The file is opened O_APPEND (created 0600: events may carry personal
 * data) and locked with flock(LOCK_EX | LOCK_NB): one receiver per file.
 * Each event is written whole (listen_store_append); a write that fails
 * part way is cut off again (ftruncate to the size before it), so a
 * regular file (-o, or stdout redirected to one) only ever holds whole
 * lines written by us, plus whatever a crash of the machine left at the
 * end: a last line without its newline gets one on the next start (and a
 * warning), so that it stays alone on its line.
 *
 * Any other output (a pipe, a terminal, a socket) is written without
 * blocking from the event loop (listen_out.c): listen_store_stream()
 * prepares it, listen_store_writev() writes what fits. */
#ifndef FLURRY_LISTEN_STORE_H
#define FLURRY_LISTEN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "listen_dedup.h"

typedef struct listen_store {
  int fd;          /* 1 for stdout, or its terminal reopened */
  int is_file;     /* -o, a regular file: loadable, syncable */
  int regular;     /* a regular file (-o or stdout): truncatable */
  uint64_t size;   /* regular: bytes in it after our last whole write */
  int saved_flags; /* status flags to put back on close; -1: none */
  int own_fd;      /* fd was opened here: closed by listen_store_close */
} listen_store;

/* What listen_store_load() found. */
typedef struct listen_store_loaded {
  uint64_t lines;   /* whole lines read */
  uint64_t foreign; /* lines that do not start like ours: skipped */
  uint64_t ids;     /* ids added to the dedup set (within the window) */
  int repaired;     /* 1: the file did not end with a newline; one added */
} listen_store_loaded;

/* Opens path for appending (NULL or "-": stdout). Returns 0, or -1 with a
 * message in err (cannot open, locked by another process). */
int listen_store_open(listen_store *s, const char *path, char *err, size_t errlen);

/* Reads the file from the start and adds to d the id of every line
 * received within window_ms before now_ms (expiring window_ms after it was
 * received). Only the first LISTEN_EVENT_HEAD_MAX bytes of each line are
 * looked at. A no-op for stdout. Returns 0, or -1 (read error, out of
 * memory: message in err). */
int listen_store_load(listen_store *s, listen_dedup *d, int64_t now_ms, int64_t window_ms,
                      listen_store_loaded *out, char *err, size_t errlen);

/* Prepares an output that is not the -o file, once the port line was
 * printed. A regular file (stdout redirected): returns 0, and its size is
 * taken. Anything else returns 1: a terminal is reopened (its own file
 * description, so that non-blocking mode does not reach the shell's), and
 * the status flags are saved, to be put back by listen_store_close (the
 * caller may then make fd non-blocking, uv_poll_init does). */
int listen_store_stream(listen_store *s);

/* Appends line[0..n), all of it: short writes are continued, so a failure
 * reports the error that stopped it (ENOSPC, EFBIG, EPIPE, EIO), never a
 * made-up one. Returns 0, or -1 with errno set (on a regular file nothing
 * of the line is left: cut off again). Blocks on a blocking fd. */
int listen_store_append(listen_store *s, const char *line, size_t n);

/* One writev(2) of iov[0..n) (EINTR retried). Returns the bytes written,
 * or -1 with errno (EAGAIN: nothing fits now). */
struct iovec;
long listen_store_writev(listen_store *s, const struct iovec *iov, int n);

/* fdatasync(2) of the file (0 for stdout). Returns 0, or -1 with errno. */
int listen_store_sync(listen_store *s);

/* Closes the file (not stdout: its status flags are put back). */
void listen_store_close(listen_store *s);

#endif
