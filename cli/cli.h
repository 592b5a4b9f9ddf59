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

/* jv_parse_sized after flurry's own JSON check (fl_json_valid): libjq 1.6
 * leaks on some invalid input ('{"a" "b"}'), so jq only ever parses valid
 * JSON. Otherwise an invalid jv whose message gives the offset. */
static inline jv cli_jv_parse(const char *p, size_t n) {
  size_t off = 0;
  if (n > (size_t)INT32_MAX)
    return jv_invalid_with_msg(jv_string("too long for JSON"));
  if (fl_json_valid(p, n, &off) != FL_OK)
    return jv_invalid_with_msg(jv_string_fmt("invalid JSON at byte %zu", off));
  return jv_parse_sized(p, (int)n);
}

/* ---- args.c ---- */
typedef struct cli_header {
  char *name;
  char *value;
  int secret; /* carries credentials (flurry_header_is_secret): set by run.c */
} cli_header;

enum { FSYNC_NEVER = 0, FSYNC_BATCH = 1, FSYNC_ALWAYS = 2 };

typedef enum progress_mode { PROGRESS_AUTO, PROGRESS_ALWAYS, PROGRESS_NEVER } progress_mode;

/* One stage of the requests made for an input line: level 0 is the URL
 * template (or the line itself), level k the k-th --each. The options that
 * shape a level's requests (-X, -d, --json, --paginate, --items,
 * --stop-when, --total, --max-pages) apply to the last --each before them,
 * or to level 0. */
typedef struct cli_level {
  const char *each;         /* --each EXPR (level >= 1) */
  const char *template_url; /* NULL at level 0: lines are URLs or JSON */
  const char *method;       /* NULL = GET, or POST when a body is given */
  const char *data;         /* body template (-d / --json) */
  int data_is_json;
  const char *paginate;      /* --paginate SPEC */
  const char *items;         /* --items EXPR */
  const char *stop_when;     /* --stop-when EXPR */
  const char *total;         /* --total EXPR */
  int64_t max_pages;         /* --max-pages N (0 = no limit) */
  const char *graphql;       /* --graphql: the query (argv, or graphql_owned) */
  char *graphql_owned;       /* --graphql @FILE: the file's text */
  int graphql_flags;         /* FLURRY_GRAPHQL_* (--graphql-errors ok) */
  const char *graphql_pages; /* --graphql-pages [VAR=]PATH: paginate is made from it */
  char *paginate_owned;      /* that paginate spec */
} cli_level;

typedef struct cli_join_part {
  char *name; /* --join NAME=TEMPLATE */
  const char *template_url;
} cli_join_part;

/* flurry work (work.c): the options of a worker on Redis Streams. */
typedef struct cli_work_opts {
  int on;                 /* the subcommand is `work` */
  int status;             /* --status: print the group's state, exit */
  int drain;              /* --drain: exit once the group has nothing left */
  int rate_shared;        /* --rate-scope shared */
  int rate_scope_set;     /* --rate-scope given */
  const char *redis;      /* --redis URL */
  const char *stream;     /* --stream KEY: the requests */
  const char *group;      /* --group NAME */
  const char *results;    /* --results KEY (default STREAM:results) */
  const char *dead;       /* --dead KEY (default STREAM:dead) */
  const char *consumer;   /* --consumer NAME (default host-pid) */
  int64_t claim_after_ms; /* --claim-after DUR */
  int64_t max_deliveries; /* --max-deliveries N */
} cli_work_opts;

typedef struct cli_opts {
  cli_level *levels; /* levels[0] always exists after cli_args_parse */
  size_t nlevels;
  /* Level 0 for callers that fill a cli_opts by hand (tests, fuzz targets)
   * and leave nlevels 0; cli_args_parse never sets them. */
  const char *template_url, *method, *data;
  int data_is_json;
  int tree; /* paginated, --items or --each: an input line may make many records */
  cli_join_part *joins;
  size_t njoins;
  const char *reduce;  /* --reduce EXPR (with --join) */
  int64_t dedup_limit; /* identical follow-ups remembered (0 = no de-duplication) */
  const char *input;   /* NULL or "-" = stdin */
  const char *output;  /* NULL or "-" = stdout */
  const char *base_url;
  const char *cacert;
  const char *cache; /* --cache FILE (the HTTP cache) */
  const char *control;
  cli_header *headers;
  size_t nheaders;
  const char **secret_names; /* --secret-header NAME (argv strings) */
  size_t nsecret_names;
  int64_t concurrency;
  int64_t per_host;
  int64_t opt[FLURRY_OPT_COUNT_];
  uint64_t opt_set; /* bit i: opt[i] was given */
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
  int stream_mode;          /* --stream: a flurry_stream_mode, 0 = none */
  int64_t max_record;       /* --max-record SIZE (0: the library's default) */
  int64_t max_reconnects;   /* --max-reconnects N (-1: the default) */
  int64_t sse_retry_ms;     /* --sse-retry DUR (-1: the default) */
  int64_t max_records;      /* --max-records N: stop each stream after N (0: never) */
  int reconnect_mode;       /* --reconnect: a flurry_stream_reconnect (0: auto) */
  const char *stream_until; /* --stream-until DATA (NULL: none) */
  int graphql_errors_ok;    /* --graphql-errors ok */
  /* sessions and status rules (args.c's block of them; run.c, rules.c) */
  const char *cookie_jar; /* --cookie-jar FILE */
  const char **cookies;   /* -b NAME=VALUE (argv strings) */
  size_t ncookies;
  const char *retry_on;  /* --retry-on LIST (flurry/status.h) */
  const char *ok_status; /* --ok-status LIST */
  const char *fail_if;   /* --fail-if EXPR */
  int strict_json;       /* --strict-json */
  int fail_fast;         /* --fail-fast */
  cli_work_opts work;
} cli_opts;

/* Parses argv (after the subcommand dispatch). Returns 0, 1 when it printed
 * --help or --version (exit 0), 2 after printing a usage error, or
 * CLI_ARGS_NOMEM after saying it ran out of memory (exit 1). */
int cli_args_parse(cli_opts *o, int argc, char **argv);
void cli_args_free(cli_opts *o);
/* Values: fl_parse_duration_ms, fl_parse_size, fl_parse_rate_milli (fl_args.h). */

/* ---- journal.c: --resume ---- */
typedef struct cli_journal cli_journal;
/* Opens (or creates) path as the journal: checks the sidecar path.resume
 * against fingerprint (created when the file is new), removes a torn last
 * line, loads the keys done (failed ones only without retry_failed; with it
 * the file is rewritten without them). Returns 0 or -1 with err set. */
int cli_journal_open(cli_journal **out, const char *path, const char *fingerprint, int retry_failed,
                     char *err, size_t errlen);
int cli_journal_fd(const cli_journal *j); /* for appending, at the end */
int cli_journal_done(const cli_journal *j, uint64_t key);
size_t cli_journal_count(const cli_journal *j);
/* Where a paginated line left without its done marker starts again: the
 * page number and its URL or paginator variable (one is NULL; borrowed
 * until cli_journal_close). 0, or -1 when there is no checkpoint. */
int cli_journal_checkpoint(const cli_journal *j, uint64_t chain, int64_t *page, const char **url,
                           const char **var);
uint64_t cli_journal_dropped(const cli_journal *j); /* failed records removed */
void cli_journal_close(cli_journal *j);             /* closes the fd; NULL ok */

/* ---- control.c: limits changed during a run ---- */
typedef struct cli_control cli_control;
/* Applies FILE now (a bad file: message, -1) and again when it changes or
 * on SIGHUP. *concurrency is the CLI's window, updated in place. */
int cli_control_start(cli_control **out, uv_loop_t *loop, const char *path, flurry_client *client,
                      int64_t *concurrency);
void cli_control_close(cli_control *ctl); /* the loop must run to free it */

/* ---- input.c: lazy line reader ---- */
typedef struct cli_input cli_input;
typedef enum {
  INPUT_LINE = 1,
  INPUT_AGAIN = 0,
  INPUT_EOF = -1,
  INPUT_ERROR = -2,
  INPUT_TOO_LONG = -3
} input_status;
/* Opens path (NULL or "-" = stdin). Returns 0 or -1 with a message in err. */
int cli_input_open(cli_input **out, const char *path, size_t max_line, uv_loop_t *loop, char *err,
                   size_t errlen);
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

/* ---- build.c: an input line (or a value) -> a request ---- */
typedef struct cli_built {
  flurry_request *req; /* NULL on error */
  char *id_json;       /* the record's id, as JSON text */
  char *method;        /* for the record */
  char *url;
  char *error;      /* message when req is NULL */
  uint64_t line;    /* input line number */
  uint64_t key;     /* request identity: the id, else method+URL+body */
  uint64_t req_key; /* method+URL+body, whatever the id */
  int explicit_id;  /* the line gave an id */
} cli_built;

/* What a level's templates are filled from. */
typedef struct cli_src {
  const cli_level *lv;
  const char *text; /* {}: the line, or the value as text */
  size_t len;
  jv value;                    /* {.field}: the value (borrowed), or jv_invalid():
                            parse text when a field is asked for */
  const char *var;             /* {NAME}: a paginator's variable, NULL = none; */
  const char *var_value;       /* without {NAME} in the templates it is added as
                            a query parameter (when not empty) */
  const char *url;             /* a next link: instead of the template or line URL */
  const char *base;            /* the page a follow-up's value comes from: a URL the
                       template takes whole ({} or {.field}) is resolved
                       against it (RFC 3986); NULL: none */
  int no_secrets;              /* leave out a JSON line's own credential headers
                            (a follow-up at another origin) */
  const flurry_client *client; /* set by cli_build_src: whose headers are
                                  credentials */
} cli_src;

typedef struct cli_builder cli_builder;
/* client: whose rule says which headers are credentials
 * (flurry_header_is_secret; NULL: the fixed names); borrowed. */
int cli_builder_new(cli_builder **out, const cli_opts *o, const flurry_client *client, char *err,
                    size_t errlen);
void cli_builder_free(cli_builder *b);
/* Builds the request for one input line at level 0. Always fills id_json,
 * method, url (possibly "") and either req or error. Returns 0, or
 * FLURRY_ENOMEM. */
int cli_build(cli_builder *b, const char *line, size_t len, uint64_t lineno, cli_built *out);
/* The same from a source: a line at level 0 (a page of it: src->url or
 * src->var), or a value at a later level. */
int cli_build_src(cli_builder *b, const cli_src *src, uint64_t lineno, cli_built *out);
/* A --join part: its template filled from the line. */
int cli_build_part(cli_builder *b, const cli_level *lv, const char *line, size_t len,
                   uint64_t lineno, cli_built *bt);
void cli_built_clear(cli_built *bt);
/* 1 when the template puts the origin in literally (scheme and host given,
 * or a relative URL for --base-url): no placeholder before the path. */
int cli_template_origin_fixed(const char *tmpl);

/* ---- record.c: one result -> one JSON line ---- */
typedef struct record_opts {
  int with_key; /* lead with "key" and "ok" (resume journal, shards, trees) */
  int no_body;
  int with_headers;
  int with_timings;
  int with_attempts;
  const flurry_client *client; /* whose header names are secret (NULL: the
                                  fixed ones): flurry_header_is_secret */
} record_opts;

/* What one record says. Pointers are borrowed for the call. */
typedef struct cli_rec {
  uint64_t key;
  const char *id_json;
  uint64_t line;
  const char *method, *url;    /* NULL: left out (a join's record) */
  const char *extra;           /* members after url, each led by ',' */
  const flurry_response *resp; /* NULL: none arrived (or a join's record) */
  const char *err_kind;        /* this record's own error, over resp's: */
  const char *err_detail;      /* kind, detail ("" = none), message */
  const char *err_msg;
  int has_item; /* "item": item instead of "body" */
  jv item;
  int has_body; /* "body": body instead of resp's */
  jv body;
} cli_rec;
/* Appends one record, ending with '\n'. Returns FL_OK or FL_ENOMEM (then
 * nothing was appended). */
int cli_record_write(fl_buf *out, const record_opts *ro, const cli_rec *rec);
/* Appends the record for a finished level-0 request (resp may be NULL with
 * bt->error set for an input error). */
int cli_record(fl_buf *out, const record_opts *ro, const cli_built *bt,
               const flurry_response *resp);
/* The body as a jq value: JSON when the Content-Type is JSON (or absent) and
 * it parses, else a string when it is text, else null. */
jv cli_body_jv(const flurry_response *resp);
/* 1 when the body is declared JSON by its Content-Type (present) and does
 * not parse; *off: where it stops being JSON. */
int cli_body_bad_json(const flurry_response *resp, size_t *off);
/* 1 when the response failed (transport error or status >= 400). */
int cli_resp_failed(const flurry_response *resp);

/* ---- redact.c: no credential in what flurry writes ---- */
/* 1 when s[0..n) has a URL with userinfo (user:password@). */
int cli_redact_needed(const char *s, size_t n);
/* Appends s[0..n) with every URL's password (or lone user name) as ***. */
int cli_redact_append(fl_buf *out, const char *s, size_t n);
/* fl_json_str of s, redacted. */
int cli_json_str_redacted(fl_buf *out, const char *s);
/* A redacted copy (fl_free it), NULL when out of memory. */
char *cli_redact_dup(const char *s);
const char *cli_redact_mask(void); /* what a secret value becomes */
/* Appends "sha256:HEX" of a secret value: what a file may keep of it. */
int cli_secret_digest(fl_buf *out, const char *value);
/* Prints "flurry: MESSAGE\n" to stderr, redacted. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* nomem.c: prints "flurry: out of memory (WHAT): stopping" to stderr and
 * returns 1, the exit status of a run that ran out of memory. */
int cli_nomem(const char *what);
/* cli_args_parse's status when out of memory (after the message): exit 1. */
#define CLI_ARGS_NOMEM 3

/* ---- expr.c: jq expressions (libjq) ---- */
typedef struct cli_expr cli_expr;
/* Compiles src for option (named in messages). Returns 0, or -1 with
 * "OPTION 'SRC': not a valid jq expression: ..." in err. */
int cli_expr_compile(cli_expr **out, const char *option, const char *src, char *err, size_t errlen);
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

/* ---- pager.c: --paginate SPEC ---- */
typedef enum cli_pager_kind {
  PAGER_NONE = 0,
  PAGER_LINK,   /* link: the Link header's rel="next" */
  PAGER_URL,    /* EXPR: the next URL from the body */
  PAGER_CURSOR, /* NAME=EXPR: {NAME} takes the value from the body */
  PAGER_NUMBER  /* NAME=START.. or NAME=START..+STEP: {NAME} counts */
} cli_pager_kind;

typedef struct cli_pager {
  cli_pager_kind kind;
  char var[64];
  int64_t start, step;
  cli_expr *next; /* PAGER_URL, PAGER_CURSOR */
  cli_expr *items, *stop_when, *total;
  int64_t max_pages;
} cli_pager;
/* Parses a level's --paginate and compiles its expressions (also --items
 * without --paginate). Returns 0 or -1 with err set. */
int cli_pager_init(cli_pager *p, const cli_level *lv, char *err, size_t errlen);
void cli_pager_free(cli_pager *p);

/* ---- rules.c: --fail-if, --strict-json ---- */
typedef struct cli_rules cli_rules;
/* NULL in *out when no rule is given. 0, 1 (out of memory, said) or 2
 * after printing a bad expression. */
int cli_rules_new(cli_rules **out, const cli_opts *o);
void cli_rules_free(cli_rules *r); /* NULL ok */
/* What a rule says of an answer: kind, detail and message (fl_free it). */
typedef struct cli_rule_hit {
  const char *kind, *detail;
  char *msg; /* NULL: out of memory */
} cli_rule_hit;
/* 1 when an answer that did not fail breaks a rule (*hit filled), else 0.
 * r may be NULL. */
int cli_rules_check(cli_rules *r, const flurry_response *resp, cli_rule_hit *hit);

/* ---- stats.c ---- */
typedef struct cli_stats cli_stats;
cli_stats *cli_stats_new(void);
void cli_stats_free(cli_stats *s);
void cli_stats_add(cli_stats *s, const flurry_response *resp); /* NULL = input error */
/* A record that failed with no failed request behind it: a jq error, a
 * pagination cycle, a template field missing in a value, a join part. */
void cli_stats_record_error(cli_stats *s, const char *detail);
/* Records written, and what trees did besides. */
typedef enum cli_count {
  COUNT_RECORDS,
  COUNT_ITEMS,
  COUNT_DEDUP,
  COUNT_MAX_PAGES,
  COUNT_RESUMED_RECORDS,
  COUNT_NOT_STARTED,
  COUNT_CHAINS_RESUMED,
  COUNT_KINDS_
} cli_count;
void cli_stats_count(cli_stats *s, cli_count what, uint64_t n);
uint64_t cli_stats_done(const cli_stats *s);
uint64_t cli_stats_failed(const cli_stats *s); /* requests and records */
/* One progress line (no newline); rate: the rate limit in force (0: none). */
void cli_stats_progress(const cli_stats *s, int64_t total, double rate, fl_buf *out);
void cli_stats_summary(const cli_stats *s, FILE *f, uint64_t blank_lines);
/* The summary as a JSON object left open ({"requests":...,"latency_ms":{...}
 * without the final '}'), for the caller to add fields and close. */
void cli_stats_json(const cli_stats *s, fl_buf *out);

/* ---- out.c: the output, in completion or input order ---- */
typedef struct cli_out cli_out;
/* Writes to fd (not closed). ordered: units come out in the order of their
 * numbers, at most window of them held back. 0 or FLURRY_ENOMEM. */
int cli_out_new(cli_out **out, int fd, int ordered, size_t window, int fsync_mode);
void cli_out_free(cli_out *o); /* NULL ok */
/* Appends whole records of unit seq. */
void cli_out_write(cli_out *o, uint64_t seq, const char *p, size_t n);
/* An empty buffer to build a record in before cli_out_write, the same one
 * each time (no allocation per record); valid until the next call. */
fl_buf *cli_out_scratch(cli_out *o);
/* A record of n bytes lost to out of memory: says so; flushes fail from
 * now on (the run stops, exit 1). */
void cli_out_lost(cli_out *o, size_t n);
/* Unit seq writes nothing more. */
void cli_out_end(cli_out *o, uint64_t seq);
/* Units (numbered from 0) written whole so far, in ordered mode. */
uint64_t cli_out_written(const cli_out *o);
/* Writes what is buffered (fdatasync as fsync_mode says). -1 once a write
 * failed or a record was lost to out of memory (the message was printed):
 * the run stops with exit 1. */
int cli_out_flush(cli_out *o);
void cli_out_sync(cli_out *o); /* fdatasync unless FSYNC_NEVER */

/* ---- stream.c: --stream ---- */
/* "lines", "ndjson", "sse" as a flurry_stream_mode, or 0. */
int cli_stream_mode(const char *name);
/* ,"stream":{records, reconnects, end} for a streamed response, else
 * nothing. FL_OK or FL_ENOMEM. */
int cli_stream_put_info(fl_buf *out, const flurry_response *resp);

/* ---- tree.c and join.c: what an input line becomes ---- */
/* What they share with the main loop (run.c). */
typedef struct cli_ctx {
  const cli_opts *o;
  flurry_client *client;
  cli_builder *builder;
  cli_out *out;
  cli_stats *stats;
  cli_journal *journal; /* NULL without --resume */
  record_opts ro;
  cli_rules *rules;            /* --fail-if, --strict-json: NULL = none */
  void (*failed)(void *ud);    /* a request's record says it failed (--fail-fast) */
  void (*unit_done)(void *ud); /* an input line wrote its last record */
  void (*kick)(void *ud);      /* a request finished: room for more */
  void *ud;
} cli_ctx;

/* A line's identity, as run.c skips lines by it (shards, resume). */
typedef struct cli_unit {
  uint64_t seq; /* output order */
  uint64_t lineno;
  cli_built bt; /* level 0, built; taken over */
  const char *line;
  size_t len;
} cli_unit;

typedef struct cli_tree cli_tree;
/* Compiles every expression of every level: 0, or 2 after printing the
 * error (a bad expression: nothing was sent). ctx is borrowed until
 * cli_tree_free; its fields may be filled in after this call. */
int cli_tree_new(cli_tree **out, const cli_ctx *ctx);
void cli_tree_free(cli_tree *t); /* NULL ok; after the last unit ended */
/* The identity run.c checks in the journal for an input line. */
uint64_t cli_tree_done_key(const cli_tree *t, const cli_built *bt);
/* Starts the requests of one input line; unit_done runs once, later or
 * now, when its last record is written, also on failure (the unit ends
 * then, maybe with no record). 0 or FLURRY_ENOMEM. */
int cli_tree_take(cli_tree *t, cli_unit *u);
/* Submits one waiting follow-up or page, if any: 1 when it did something. */
int cli_tree_step(cli_tree *t);
/* Stops making new requests (a signal): what waits is dropped, and counted
 * in a "cancelled" record per line. */
void cli_tree_stop(cli_tree *t);

typedef struct cli_join cli_join;
int cli_join_new(cli_join **out, const cli_ctx *ctx);
void cli_join_free(cli_join *j);
int cli_join_take(cli_join *j, cli_unit *u);

#endif
