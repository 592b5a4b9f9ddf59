/* listen_store.h: the JSONL file `flurry listen` appends events to (or
 * its stdout), and what a restart reads back from it.
 *
 * The file is opened O_APPEND (created 0600: events may carry personal
 * data) and locked with flock(LOCK_EX | LOCK_NB): one receiver per file.
 * Each event is one write(2) of its whole line; a write that fails part
 * way is cut off again (ftruncate to the size before it), so the file only
 * ever holds whole lines written by us, plus whatever a crash of the
 * machine left at the end: a last line without its newline gets one on
 * the next start (and a warning), so that it stays alone on its line. */
#ifndef FLURRY_LISTEN_STORE_H
#define FLURRY_LISTEN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "listen_dedup.h"

typedef struct flurry__store {
  int fd;        /* 1 for stdout */
  int is_file;   /* a regular file: loadable, truncatable, syncable */
  uint64_t size; /* bytes in the file after our last whole write */
} flurry__store;

/* What flurry__store_load() found. */
typedef struct flurry__store_loaded {
  uint64_t lines;   /* whole lines read */
  uint64_t foreign; /* lines that do not start like ours: skipped */
  uint64_t ids;     /* ids added to the dedup set (within the window) */
  int repaired;     /* 1: the file did not end with a newline; one added */
} flurry__store_loaded;

/* Opens path for appending (NULL or "-": stdout). Returns 0, or -1 with a
 * message in err (cannot open, locked by another process). */
int flurry__store_open(flurry__store *s, const char *path, char *err,
                       size_t errlen);

/* Reads the file from the start and adds to d the id of every line
 * received within window_ms before now_ms (expiring window_ms after it was
 * received). Only the first FLURRY__EVENT_HEAD_MAX bytes of each line are
 * looked at. A no-op for stdout. Returns 0, or -1 (read error, out of
 * memory: message in err). */
int flurry__store_load(flurry__store *s, flurry__dedup *d, int64_t now_ms,
                       int64_t window_ms, flurry__store_loaded *out, char *err,
                       size_t errlen);

/* Appends line[0..n) with one write(2). Returns 0, or -1 with errno set
 * (nothing of the line is left in a file). */
int flurry__store_append(flurry__store *s, const char *line, size_t n);

/* fdatasync(2) of the file (0 for stdout). Returns 0, or -1 with errno. */
int flurry__store_sync(flurry__store *s);

/* Closes the file (not stdout). */
void flurry__store_close(flurry__store *s);

#endif
