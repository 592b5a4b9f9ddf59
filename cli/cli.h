/* cli.h: the flurry command's pieces (args, input, request building, output,
 * stats). Internal to the CLI. */
#ifndef FLURRY_CLI_H
#define FLURRY_CLI_H

#include <stdint.h>
#include <stdio.h>
#include <jv.h>
#include <uv.h>

#include "fl.h"
#include "flurry.h"

/* ---- args.c ---- */
typedef struct cli_header {
  char *name;
  char *value;
} cli_header;

enum { FSYNC_NEVER = 0, FSYNC_BATCH = 1, FSYNC_ALWAYS = 2 };

typedef enum progress_mode { PROGRESS_AUTO, PROGRESS_ALWAYS, PROGRESS_NEVER } progress_mode;

typedef struct cli_opts {
  const char *template_url; /* positional; NULL = lines are URLs or JSON */
  const char *input;        /* NULL or "-" = stdin */
  const char *output;       /* NULL or "-" = stdout */
  const char *method;       /* NULL = GET, or POST when a body is given */
  const char *data;         /* body template (-d) */
  int data_is_json;         /* --json */
  const char *base_url;
  const char *cacert;
  const char *control;
  cli_header *headers;
  size_t nheaders;
  int64_t concurrency;
  int64_t per_host;
  int64_t opt[FLURRY_OPT_COUNT_];
  uint32_t opt_set;
  int ordered;
  int resume;
  int retry_failed;
  int64_t shard_k, shard_n; /* 0/0: no sharding */
  int fsync_mode;           /* FSYNC_NEVER / BATCH / ALWAYS */
  int64_t grace_ms;
  const char *stats_json;
  int64_t reorder_window;
  int no_body;
  int with_headers;
  int with_timings;
  int with_attempts;
  int strict;
  int quiet;
  progress_mode progress;
  int64_t max_line;
} cli_opts;

/* Parses argv (after the subcommand dispatch). Returns 0, 1 when it printed
 * --help or --version (exit 0), or 2 after printing a usage error. */
int cli_args_parse(cli_opts *o, int argc, char **argv);
void cli_args_free(cli_opts *o);
/* Parses "10s", "250ms", "2m", "1h" or a plain number of seconds. */
int cli_parse_duration_ms(const char *s, int64_t *ms);
/* Parses "20/s", "3000/min", "100/h" or a plain per-second number into
 * thousandths of a request per second. */
int cli_parse_rate_milli(const char *s, int64_t *milli);
/* Parses "1048576", "64k", "10M", "1G" (binary units). */
int cli_parse_size(const char *s, int64_t *bytes);

/* ---- journal.c: --resume ---- */
typedef struct cli_journal cli_journal;
/* Opens (or creates) path as the journal: checks the sidecar path.resume
 * against fingerprint (created when the file is new), removes a torn last
 * line, loads the keys done (failed ones only without retry_failed; with it
 * the file is rewritten without them). Returns 0 or -1 with err set. */
int cli_journal_open(cli_journal **out, const char *path, const char *fingerprint,
                     int retry_failed, char *err, size_t errlen);
int cli_journal_fd(const cli_journal *j);          /* for appending, at the end */
int cli_journal_done(const cli_journal *j, uint64_t key);
size_t cli_journal_count(const cli_journal *j);
uint64_t cli_journal_dropped(const cli_journal *j); /* failed records removed */
void cli_journal_close(cli_journal *j);             /* closes the fd; NULL ok */

/* ---- control.c: limits changed during a run ---- */
typedef struct cli_control cli_control;
/* Applies FILE now (a bad file: message, -1) and again when it changes or
 * on SIGHUP. *concurrency is the CLI's window, updated in place. */
int cli_control_start(cli_control **out, uv_loop_t *loop, const char *path,
                      flurry_client *client, int64_t *concurrency);
void cli_control_close(cli_control *ctl); /* the loop must run to free it */

/* ---- input.c: lazy line reader ---- */
typedef struct cli_input cli_input;
typedef enum { INPUT_LINE = 1, INPUT_AGAIN = 0, INPUT_EOF = -1, INPUT_ERROR = -2,
               INPUT_TOO_LONG = -3 } input_status;
/* Opens path (NULL or "-" = stdin). Returns 0 or -1 with a message in err. */
int cli_input_open(cli_input **out, const char *path, size_t max_line, uv_loop_t *loop,
                   char *err, size_t errlen);
/* The next line (without its newline; CR before it removed), or AGAIN (no
 * data yet: call cli_input_wait), EOF, ERROR, or TOO_LONG (the line numbered
 * *lineno was skipped). The line is borrowed until the next call. */
input_status cli_input_next(cli_input *in, const char **line, size_t *len, uint64_t *lineno);
/* Calls cb once when more input may be readable (pipes, terminals). */
void cli_input_wait(cli_input *in, void (*cb)(void *), void *ud);
/* Number of lines, counted ahead when the input is a regular file; -1 when
 * unknown. */
int64_t cli_input_total(cli_input *in);
/* Stops waiting; returns 0. The loop must run once more to close handles. */
void cli_input_close(cli_input *in);
const char *cli_input_errmsg(cli_input *in);

/* ---- build.c: an input line -> a request ---- */
typedef struct cli_built {
  flurry_request *req; /* NULL on error */
  char *id_json;       /* the record's id, as JSON text */
  char *method;        /* for the record */
  char *url;
  char *error;         /* message when req is NULL */
  uint64_t line;       /* input line number */
  uint64_t key;        /* request identity: the id, else method+URL+body */
  int explicit_id;     /* the line gave an id */
} cli_built;

typedef struct cli_builder cli_builder;
int cli_builder_new(cli_builder **out, const cli_opts *o, char *err, size_t errlen);
void cli_builder_free(cli_builder *b);
/* Builds the request for one input line. Always fills id_json, method, url
 * (possibly "") and either req or error. Returns 0, or FLURRY_ENOMEM. */
int cli_build(cli_builder *b, const char *line, size_t len, uint64_t lineno, cli_built *out);
void cli_built_clear(cli_built *bt);

/* 64-bit FNV-1a over n bytes, continuing from h (start: CLI_HASH_INIT). */
#define CLI_HASH_INIT 14695981039346656037ULL
uint64_t cli_hash(uint64_t h, const void *p, size_t n);

/* ---- record.c: one result -> one JSON line ---- */
typedef struct record_opts {
  int with_key; /* lead with "key" and "ok" (resume journal, shards) */
  int no_body;
  int with_headers;
  int with_timings;
  int with_attempts;
} record_opts;
/* Appends the record for a finished request (resp may be NULL with
 * bt->error set for an input error), ending with '\n'. */
int cli_record(fl_buf *out, const record_opts *ro, const cli_built *bt,
               const flurry_response *resp);

/* ---- expr.c: jq expressions (libjq) ---- */
typedef struct cli_expr cli_expr;
/* Compiles src for option (named in messages). Returns 0, or -1 with
 * "OPTION 'SRC': not a valid jq expression: ..." in err. */
int cli_expr_compile(cli_expr **out, const char *option, const char *src, char *err,
                     size_t errlen);
void cli_expr_free(cli_expr *e); /* NULL ok */
const char *cli_expr_text(const cli_expr *e);
/* Runs e on input (consumed). Returns 0 with every output in *outs (an
 * array), or -1 with *msg (the caller frees it) naming the option, the
 * expression and the input, or FLURRY_ENOMEM. */
int cli_expr_run(cli_expr *e, jv input, jv *outs, char **msg);
/* The same, keeping the first output only (null when there is none). */
int cli_expr_first(cli_expr *e, jv input, jv *out, char **msg);
/* jq truthiness (not null, not false); consumes v. */
int cli_truthy(jv v);

/* ---- link.c: the Link header (RFC 8288), a pure parser ---- */
typedef struct cli_link {
  const char *uri; /* inside p, between < and > */
  size_t uri_len;
  const char *rel; /* the rel parameter's value, quotes removed; NULL: none */
  size_t rel_len;
} cli_link;
enum { CLI_LINK_OK = 1, CLI_LINK_END = 0, CLI_LINK_BAD = -1, CLI_LINK_AGAIN = -2 };
/* Parses the first link-value of p[0..n) into *out, reading nothing past
 * p + n. Returns CLI_LINK_OK (*consumed: bytes used, the separating comma
 * included), CLI_LINK_END (only white space and commas left), CLI_LINK_AGAIN
 * (the value stops in the middle) or CLI_LINK_BAD (not a link-value). */
int cli_link_parse(const char *p, size_t n, cli_link *out, size_t *consumed);
/* 1 when the rel value (a space-separated list) holds name (any case). */
int cli_link_rel_has(const cli_link *l, const char *name);
/* The URI of the first link with rel name: 1 (uri, len set), 0 none, or
 * CLI_LINK_BAD / CLI_LINK_AGAIN when the value breaks before one. */
int cli_link_find(const char *p, size_t n, const char *rel, const char **uri, size_t *len);

/* ---- url.c ---- */
/* ref resolved against base (NULL: ref must be absolute), as an absolute
 * http(s) URL to fl_free, or NULL. */
char *cli_url_resolve(const char *base, const char *ref);
/* 1 when a and b have the same scheme, host and port. */
int cli_url_same_origin(const char *a, const char *b);
/* The pages between a next link and a last link: one query parameter
 * differs, an integer going first, first + step, ..., last. */
typedef struct cli_page_range {
  int64_t first, last, step;
  size_t name_at, value_at, value_end; /* in the next link */
} cli_page_range;
/* From the current page's URL and its next and last links. 0, or -1 when
 * they do not differ in one integer parameter with a whole step. */
int cli_url_page_range(const char *cur, const char *next, const char *last, cli_page_range *out);
/* The next link with the parameter set to value (fl_free), NULL: no memory. */
char *cli_url_page(const char *next, const cli_page_range *pr, int64_t value);

/* ---- keyset.c: a bounded set of 64-bit keys ---- */
typedef struct cli_keyset cli_keyset;
enum { CLI_KEYSET_FULL = -1 };
/* limit: most keys held (16 bytes each at most). 0 or FLURRY_ENOMEM. */
int cli_keyset_new(cli_keyset **out, size_t limit);
void cli_keyset_free(cli_keyset *s); /* NULL ok */
/* 0 added, 1 already there, CLI_KEYSET_FULL (at the limit: not added) or
 * FLURRY_ENOMEM. */
int cli_keyset_add(cli_keyset *s, uint64_t key);
int cli_keyset_has(const cli_keyset *s, uint64_t key);
size_t cli_keyset_count(const cli_keyset *s);

/* ---- stats.c ---- */
typedef struct cli_stats cli_stats;
cli_stats *cli_stats_new(void);
void cli_stats_free(cli_stats *s);
void cli_stats_add(cli_stats *s, const flurry_response *resp); /* NULL = input error */
uint64_t cli_stats_done(const cli_stats *s);
uint64_t cli_stats_failed(const cli_stats *s);
/* One progress line (no newline); rate: the rate limit in force (0: none). */
void cli_stats_progress(const cli_stats *s, int64_t total, double rate, fl_buf *out);
void cli_stats_summary(const cli_stats *s, FILE *f, uint64_t blank_lines);
/* The summary as a JSON object left open ({"requests":...,"latency_ms":{...}
 * without the final '}'), for the caller to add fields and close. */
void cli_stats_json(const cli_stats *s, fl_buf *out);

#endif
