/* io.h: where the flurry command's input lines come from (a source) and
 * where its records go (a sink). The run loop (run.c) only knows these two
 * interfaces: stdin or a file (input.c) and stdout or a file (out.c) are
 * implementations, and so are the Redis Streams of `flurry work`
 * (work.c). Internal to the CLI. */
#ifndef FLURRY_CLI_IO_H
#define FLURRY_CLI_IO_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* A source of input lines. impl is the implementation's object. */
typedef struct cli_source {
  void *impl;
  /* The next line (borrowed until the next call), or INPUT_AGAIN (call
   * wait), INPUT_EOF, INPUT_ERROR (errmsg says why) or INPUT_TOO_LONG
   * (line *lineno skipped). Line numbers are unique within a run. */
  input_status (*next)(void *impl, const char **line, size_t *len, uint64_t *lineno);
  /* cb(ud) once when next may have more. */
  void (*wait)(void *impl, void (*cb)(void *), void *ud);
  /* What became of line lineno: seq >= 0, the output unit that carries its
   * records (the sink is told when it ends); -1, none (a blank line,
   * another shard's, already done). key: the request's identity (the id,
   * else method + URL + body: what --resume and --shard go by), NULL when
   * the line made no request (a bad line). NULL: nothing to do. */
  void (*placed)(void *impl, uint64_t lineno, int64_t seq, const uint64_t *key);
  /* Lines in all when known up front, else -1. */
  int64_t (*total)(void *impl);
  const char *(*errmsg)(void *impl);
  /* Stops waiting and frees; the loop must run once more. */
  void (*close)(void *impl);
} cli_source;

/* Where whole records go. cli_out (out.c) is the front the record writers
 * use (a scratch buffer, out-of-memory accounting, --ordered); the sink
 * behind it stores them. */
typedef struct cli_sink {
  void *impl;
  /* Whole records ('\n'-terminated) of unit seq. */
  void (*write)(void *impl, uint64_t seq, const char *p, size_t n);
  /* Unit seq writes nothing more. NULL: nothing to do. */
  void (*end)(void *impl, uint64_t seq);
  /* Pushes what is buffered; -1 once the output failed (the run stops,
   * exit 1; the message was printed). */
  int (*flush)(void *impl);
  /* fdatasync or the like at the end; NULL: nothing to do. */
  void (*sync)(void *impl);
  /* Units ended whose records are not stored for good yet: the run ends
   * only at 0. NULL: always 0. */
  size_t (*unsettled)(void *impl);
  void (*free)(void *impl);
} cli_sink;

/* The file implementations. */
/* Opens path (NULL or "-": stdin) as a source. 0, or -1 with err set. */
int cli_file_source(cli_source *out, const char *path, size_t max_line, uv_loop_t *loop, char *err,
                    size_t errlen);
/* fd (not closed) as a sink: records batched, fdatasync as fsync_mode
 * says. 0 or FLURRY_ENOMEM. */
int cli_fd_sink(cli_sink *out, int fd, int fsync_mode);

/* A cli_out over a sink (taken over: freed with the cli_out). ordered:
 * units reach the sink in the order of their numbers, at most window of
 * them held back. 0 or FLURRY_ENOMEM (the sink is freed then). */
int cli_out_new_sink(cli_out **out, const cli_sink *sink, int ordered, size_t window);
/* Units ended and not stored for good yet (the sink's unsettled). */
size_t cli_out_unsettled(const cli_out *o);

#endif
