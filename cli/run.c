/* run.c: the flurry command's main job. Reads input lazily, keeps the client
 * fed up to the in-flight window, writes one record per request (whole lines,
 * batched into few writes), shows progress and prints the summary. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define OUT_FLUSH_BYTES (64 * 1024)
#define QUEUE_SLACK 64 /* requests queued beyond the in-flight limit */

typedef struct run {
  cli_opts o;
  uv_loop_t loop;
  flurry_client *client;
  cli_input *in;
  cli_builder *builder;
  cli_stats *stats;
  record_opts ro;
  int out_fd;
  fl_buf out;
  uv_check_t flush_check;
  uv_timer_t progress_timer;
  uv_signal_t sigint, sigterm;
  cli_control *control;
  cli_journal *journal;
  uv_timer_t grace_timer;
  double last_sync_ms;
  uint64_t resumed;       /* lines skipped: already in the journal */
  uint64_t other_shards;  /* lines skipped: another shard's */
  int progress_tty;
  int progress_on;
  int64_t total;
  uint64_t next_seq, next_write; /* ordered output */
  char **ring;
  size_t window;
  uint64_t blank;
  size_t live; /* submitted or waiting in the ring, not yet written */
  int input_done;
  int stopping;
  int signal_exit;
  int exit_code;
  int out_failed;
  int finished;
} run;

typedef struct job {
  run *r;
  cli_built bt;
  uint64_t seq;
} job;

static void pump_input(run *r);

/* ---- output ---- */

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

static void out_flush(run *r) {
  if (r->out.len == 0 || r->out_failed)
    return;
  if (write_all(r->out_fd, r->out.data, r->out.len) != 0) {
    if (errno != EPIPE)
      fprintf(stderr, "flurry: writing output: %s\n", strerror(errno));
    r->out_failed = 1;
    r->stopping = 1;
    if (r->exit_code < 1)
      r->exit_code = 1;
  }
  fl_buf_reset(&r->out);
  double now = fl_now_ms();
  if (r->o.fsync_mode == FSYNC_ALWAYS ||
      (r->o.fsync_mode == FSYNC_BATCH && now - r->last_sync_ms >= 1000)) {
    fdatasync(r->out_fd);
    r->last_sync_ms = now;
  }
}

static void on_check(uv_check_t *h) { out_flush(h->data); }

/* Appends a finished record (text, NUL-terminated) in output order. */
static void emit(run *r, uint64_t seq, fl_buf *rec) {
  if (!r->o.ordered) {
    fl_buf_append(&r->out, rec->data, rec->len);
    r->live--;
  } else {
    r->ring[seq % r->window] = fl_buf_take(rec, NULL);
    while (r->ring[r->next_write % r->window] != NULL) {
      char **slot = &r->ring[r->next_write % r->window];
      fl_buf_puts(&r->out, *slot);
      fl_free(*slot);
      *slot = NULL;
      r->next_write++;
      r->live--;
    }
  }
  if (r->out.len >= OUT_FLUSH_BYTES)
    out_flush(r);
}

static void finish_record(run *r, job *j, const flurry_response *resp) {
  fl_buf rec = FL_BUF_INIT(0);
  if (cli_record(&rec, &r->ro, &j->bt, resp) != FL_OK) {
    fl_buf_reset(&rec);
    fl_buf_printf(&rec, "{\"id\":%s,\"line\":%llu,\"error\":{\"kind\":\"nomem\",\"message\":"
                  "\"out of memory writing the record\"}}\n",
                  j->bt.id_json ? j->bt.id_json : "null", (unsigned long long)j->bt.line);
  }
  cli_stats_add(r->stats, resp);
  emit(r, j->seq, &rec);
  fl_buf_free(&rec);
}

/* ---- requests ---- */

static void maybe_finish(run *r) {
  if ((r->input_done || r->stopping) && r->live == 0)
    r->finished = 1; /* the loop in cli_run runs one turn at a time */
}

static void on_done(flurry_request *req, flurry_response *resp, void *ud) {
  job *j = ud;
  run *r = j->r;
  (void)req;
  finish_record(r, j, resp);
  flurry_response_free(resp);
  cli_built_clear(&j->bt);
  fl_free(j);
  pump_input(r);
}

static int has_room(run *r) {
  if (flurry_client_pending(r->client) >= (size_t)r->o.concurrency + QUEUE_SLACK)
    return 0;
  return !r->o.ordered || r->next_seq - r->next_write < r->window;
}

/* The error record of a line longer than --max-line. */
static void too_long(job *j, uint64_t lineno, int64_t max_line) {
  j->bt.line = lineno;
  j->bt.key = cli_hash(CLI_HASH_INIT ^ 0x3c, &lineno, sizeof lineno);
  fl_buf m = FL_BUF_INIT(0);
  fl_buf_printf(&m, "%llu", (unsigned long long)lineno);
  j->bt.id_json = fl_buf_take(&m, NULL);
  fl_buf_printf(&m, "line %llu: longer than --max-line (%lld bytes)", (unsigned long long)lineno,
                (long long)max_line);
  j->bt.error = fl_buf_take(&m, NULL);
  j->bt.method = fl_strdup("");
  j->bt.url = fl_strdup("");
}

/* 1 if this line is not this run's: another shard's, or already done. */
static int skip_line(run *r, const cli_built *bt) {
  if (r->o.shard_n > 0 && bt->key % (uint64_t)r->o.shard_n != (uint64_t)(r->o.shard_k - 1)) {
    r->other_shards++;
    return 1;
  }
  if (r->journal && cli_journal_done(r->journal, bt->key)) {
    r->resumed++;
    return 1;
  }
  return 0;
}

/* One input line (or an over-long one, line == NULL) becomes one request or
 * one error record. */
static void take_line(run *r, const char *line, size_t len, uint64_t lineno) {
  job *j = fl_calloc(1, sizeof *j);
  if (j == NULL) {
    fprintf(stderr, "flurry: out of memory at line %llu\n", (unsigned long long)lineno);
    r->stopping = 1;
    r->exit_code = 1;
    return;
  }
  j->r = r;
  int rc = line ? cli_build(r->builder, line, len, lineno, &j->bt) : 0;
  if (line == NULL)
    too_long(j, lineno, r->o.max_line);
  if (rc == 0 && skip_line(r, &j->bt)) {
    cli_built_clear(&j->bt);
    fl_free(j);
    return;
  }
  j->seq = r->next_seq++;
  r->live++;
  if (rc == 0 && j->bt.req) {
    rc = flurry_client_submit(r->client, j->bt.req, on_done, j);
    if (rc == FLURRY_OK) {
      j->bt.req = NULL; /* the client owns it now */
      return;
    }
    fl_free(j->bt.error);
    fl_buf m = FL_BUF_INIT(0);
    fl_buf_printf(&m, "line %llu: %s: %s", (unsigned long long)lineno, flurry_strerror(rc),
                  j->bt.url ? j->bt.url : "");
    j->bt.error = fl_buf_take(&m, NULL);
    flurry_request_free(j->bt.req);
    j->bt.req = NULL;
  }
  if (j->bt.id_json == NULL || j->bt.method == NULL || j->bt.url == NULL) {
    fprintf(stderr, "flurry: out of memory at line %llu\n", (unsigned long long)lineno);
    r->stopping = 1;
    r->exit_code = 1;
    r->live--;
    cli_built_clear(&j->bt);
    fl_free(j);
    return;
  }
  if (r->o.strict) {
    fprintf(stderr, "flurry: %s (--strict: stopping)\n", j->bt.error);
    r->stopping = 1;
    r->exit_code = 2;
  }
  finish_record(r, j, NULL);
  cli_built_clear(&j->bt);
  fl_free(j);
}

static int is_blank(const char *line, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (line[i] != ' ' && line[i] != '\t')
      return 0;
  return 1;
}

static void on_input_ready(void *ud) { pump_input(ud); }

static void pump_input(run *r) {
  while (!r->input_done && !r->stopping && has_room(r)) {
    const char *line;
    size_t len;
    uint64_t lineno;
    input_status st = cli_input_next(r->in, &line, &len, &lineno);
    if (st == INPUT_AGAIN) {
      cli_input_wait(r->in, on_input_ready, r);
      return;
    }
    if (st == INPUT_EOF) {
      r->input_done = 1;
    } else if (st == INPUT_ERROR) {
      fprintf(stderr, "flurry: %s\n", cli_input_errmsg(r->in));
      r->input_done = 1;
      r->exit_code = 2;
    } else if (st == INPUT_TOO_LONG) {
      take_line(r, NULL, 0, lineno);
    } else if (is_blank(line, len)) {
      r->blank++;
    } else {
      take_line(r, line, len, lineno);
    }
  }
  maybe_finish(r);
}

/* ---- progress and signals ---- */

static void draw_progress(run *r, int final) {
  fl_buf line = FL_BUF_INIT(512);
  flurry_client_stats cs;
  flurry_client_stats_get(r->client, &cs);
  cli_stats_progress(r->stats, r->total, cs.rate, &line);
  if (r->progress_tty)
    fprintf(stderr, "\r\033[K%s%s", line.data ? line.data : "", final ? "\n" : "");
  else
    fprintf(stderr, "flurry: %s\n", line.data ? line.data : "");
  fl_buf_free(&line);
}

static void on_progress(uv_timer_t *t) { draw_progress(t->data, 0); }

static void on_grace(uv_timer_t *t) {
  run *r = t->data;
  fprintf(stderr, "flurry: grace period over: cancelling %zu requests\n",
          flurry_client_pending(r->client));
  flurry_client_cancel_all(r->client);
}

static void on_signal(uv_signal_t *h, int signum) {
  run *r = h->data;
  if (!r->stopping || r->signal_exit == 0) {
    r->stopping = 1;
    r->signal_exit = 128 + signum;
    /* Lines read but not started are recorded as cancelled: nothing read is
     * ever dropped without a record. */
    flurry_client_cancel_queued(r->client);
    fprintf(stderr, "\nflurry: %s: finishing %zu requests in flight for up to %.0fs "
            "(again to cancel them)\n", signum == SIGINT ? "interrupted" : "terminated",
            flurry_client_pending(r->client), (double)r->o.grace_ms / 1000);
    uv_timer_start(&r->grace_timer, on_grace, (uint64_t)r->o.grace_ms, 0);
    maybe_finish(r);
    return;
  }
  flurry_client_cancel_all(r->client);
}

/* ---- setup and teardown ---- */

static int configure_client(run *r) {
  cli_opts *o = &r->o;
  flurry_client_set(r->client, FLURRY_OPT_MAX_IN_FLIGHT, o->concurrency);
  flurry_client_set(r->client, FLURRY_OPT_MAX_PER_HOST, o->per_host);
  for (int opt = 1; opt < FLURRY_OPT_COUNT_; opt++) {
    if (!(o->opt_set & (1u << opt)))
      continue;
    if (flurry_client_set(r->client, (flurry_opt)opt, o->opt[opt]) != FLURRY_OK) {
      fprintf(stderr, "flurry: option value out of range (%lld)\n", (long long)o->opt[opt]);
      return 2;
    }
  }
  if (o->base_url && flurry_client_set_base_url(r->client, o->base_url) != FLURRY_OK) {
    fprintf(stderr, "flurry: --base-url '%s': not an absolute http(s) URL\n", o->base_url);
    return 2;
  }
  if (o->cacert && access(o->cacert, R_OK) != 0) {
    fprintf(stderr, "flurry: --cacert '%s': %s\n", o->cacert, strerror(errno));
    return 2;
  }
  if (o->cacert && flurry_client_set_ca_file(r->client, o->cacert) != FLURRY_OK)
    return 1;
  for (size_t i = 0; i < o->nheaders; i++) {
    if (flurry_client_add_header(r->client, o->headers[i].name, o->headers[i].value) !=
        FLURRY_OK) {
      fprintf(stderr, "flurry: --header '%s': invalid name or value\n", o->headers[i].name);
      return 2;
    }
  }
  return 0;
}

/* The options that shape requests: a resumed run must have the same. */
static char *fingerprint(const cli_opts *o) {
  fl_buf f = FL_BUF_INIT(0);
  fl_buf_printf(&f, "flurry --resume 1\ntemplate: %s\nmethod: %s\nbody: %s\nbody-is-json: %d\n"
                "base-url: %s\n",
                o->template_url ? o->template_url : "", o->method ? o->method : "",
                o->data ? o->data : "", o->data_is_json, o->base_url ? o->base_url : "");
  for (size_t i = 0; i < o->nheaders; i++)
    fl_buf_printf(&f, "header: %s: %s\n", o->headers[i].name, o->headers[i].value);
  return fl_buf_take(&f, NULL);
}

static int open_journal(run *r) {
  char err[1024];
  char *fp = fingerprint(&r->o);
  int rc = fp ? cli_journal_open(&r->journal, r->o.output, fp, r->o.retry_failed, err, sizeof err)
              : -1;
  fl_free(fp);
  if (rc != 0) {
    fprintf(stderr, "flurry: --resume: %s\n", fp ? err : "out of memory");
    return 2;
  }
  r->out_fd = cli_journal_fd(r->journal);
  if (!r->o.quiet && (cli_journal_count(r->journal) || cli_journal_dropped(r->journal)))
    fprintf(stderr, "flurry: resuming %s: %zu requests done%s\n", r->o.output,
            cli_journal_count(r->journal),
            cli_journal_dropped(r->journal) ? ", failed ones removed to be redone" : "");
  return 0;
}

static int open_output(run *r) {
  if (r->o.output == NULL || strcmp(r->o.output, "-") == 0) {
    r->out_fd = STDOUT_FILENO;
    return 0;
  }
  if (r->o.resume)
    return open_journal(r);
  r->out_fd = open(r->o.output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (r->out_fd < 0) {
    fprintf(stderr, "flurry: cannot open output '%s': %s\n", r->o.output, strerror(errno));
    return 2;
  }
  return 0;
}

static int setup(run *r) {
  char err[512];
  if (uv_loop_init(&r->loop) != 0)
    return 1;
  int rc = open_output(r);
  if (rc)
    return rc;
  if (flurry_client_new(&r->client, &r->loop) != FLURRY_OK) {
    fprintf(stderr, "flurry: cannot create the HTTP client\n");
    return 1;
  }
  rc = configure_client(r);
  if (rc)
    return rc;
  if (cli_builder_new(&r->builder, &r->o, err, sizeof err) != 0 ||
      cli_input_open(&r->in, r->o.input, (size_t)r->o.max_line, &r->loop, err, sizeof err) != 0) {
    fprintf(stderr, "flurry: %s\n", err);
    return 2;
  }
  r->stats = cli_stats_new();
  if (r->o.ordered) {
    r->window = (size_t)r->o.reorder_window;
    r->ring = fl_calloc(r->window, sizeof *r->ring);
  }
  if (r->stats == NULL || (r->o.ordered && r->ring == NULL)) {
    fprintf(stderr, "flurry: out of memory\n");
    return 1;
  }
  if (r->o.control &&
      cli_control_start(&r->control, &r->loop, r->o.control, r->client, &r->o.concurrency) != 0)
    return 2;
  r->total = cli_input_total(r->in);
  r->ro.with_key = r->o.resume || r->o.shard_n > 0;
  r->ro.no_body = r->o.no_body;
  r->ro.with_headers = r->o.with_headers;
  r->ro.with_timings = r->o.with_timings;
  r->ro.with_attempts = r->o.with_attempts;
  return 0;
}

static void start_handles(run *r) {
  uv_check_init(&r->loop, &r->flush_check);
  r->flush_check.data = r;
  uv_check_start(&r->flush_check, on_check);
  uv_signal_init(&r->loop, &r->sigint);
  uv_signal_init(&r->loop, &r->sigterm);
  r->sigint.data = r->sigterm.data = r;
  uv_signal_start(&r->sigint, on_signal, SIGINT);
  uv_signal_start(&r->sigterm, on_signal, SIGTERM);
  uv_timer_init(&r->loop, &r->grace_timer);
  r->grace_timer.data = r;
  uv_timer_init(&r->loop, &r->progress_timer);
  r->progress_timer.data = r;
  r->progress_tty = isatty(STDERR_FILENO);
  /* A terminal gets one redrawn line; a log file or pipe a plain line now
   * and then (auto: every 10 s, always: every 2 s). */
  r->progress_on = !r->o.quiet && r->o.progress != PROGRESS_NEVER;
  uint64_t every = r->progress_tty ? 200 : r->o.progress == PROGRESS_ALWAYS ? 2000 : 10000;
  if (r->progress_on)
    uv_timer_start(&r->progress_timer, on_progress, every, every);
}

static void close_handles(run *r) {
  uv_close((uv_handle_t *)&r->flush_check, NULL);
  uv_close((uv_handle_t *)&r->sigint, NULL);
  uv_close((uv_handle_t *)&r->sigterm, NULL);
  uv_close((uv_handle_t *)&r->progress_timer, NULL);
  uv_close((uv_handle_t *)&r->grace_timer, NULL);
  cli_control_close(r->control);
  r->control = NULL;
}

static void teardown(run *r) {
  flurry_client_free(r->client);
  cli_input_close(r->in);
  uv_run(&r->loop, UV_RUN_DEFAULT);
  uv_loop_close(&r->loop);
  cli_builder_free(r->builder);
  cli_stats_free(r->stats);
  for (size_t i = 0; r->ring && i < r->window; i++)
    fl_free(r->ring[i]);
  fl_free(r->ring);
  fl_buf_free(&r->out);
  if (r->journal)
    cli_journal_close(r->journal); /* owns out_fd */
  else if (r->out_fd > STDOUT_FILENO)
    close(r->out_fd);
  cli_args_free(&r->o);
}

static int exit_status(run *r) {
  if (r->exit_code == 2)
    return 2;
  if (r->signal_exit)
    return r->signal_exit;
  if (r->exit_code || cli_stats_failed(r->stats))
    return 1;
  return 0;
}

static int write_stats_json(run *r) {
  fl_buf j = FL_BUF_INIT(0);
  cli_stats_json(r->stats, &j);
  fl_buf_printf(&j, ",\"skipped_blank\":%llu,\"skipped_done\":%llu,\"skipped_other_shards\":%llu,"
                "\"exit\":%d}\n", (unsigned long long)r->blank, (unsigned long long)r->resumed,
                (unsigned long long)r->other_shards, exit_status(r));
  FILE *f = fopen(r->o.stats_json, "w");
  int rc = f && fwrite(j.data, 1, j.len, f) == j.len ? 0 : -1;
  if (f && fclose(f) != 0)
    rc = -1;
  fl_buf_free(&j);
  return rc;
}


int cli_run(int argc, char **argv) {
  run *r = fl_calloc(1, sizeof *r);
  if (r == NULL)
    return 1;
  signal(SIGPIPE, SIG_IGN);
  int rc = cli_args_parse(&r->o, argc, argv);
  if (rc != 0) {
    cli_args_free(&r->o);
    fl_free(r);
    return rc == 1 ? 0 : 2;
  }
  r->out_fd = -1;
  rc = setup(r);
  if (rc == 0) {
    start_handles(r);
    pump_input(r);
    while (!r->finished)
      uv_run(&r->loop, UV_RUN_ONCE);
    out_flush(r);
    if (r->o.fsync_mode != FSYNC_NEVER)
      fdatasync(r->out_fd);
    if (r->progress_on && r->progress_tty)
      draw_progress(r, 1);
    if (!r->o.quiet)
      cli_stats_summary(r->stats, stderr, r->blank);
    if (!r->o.quiet && (r->resumed || r->other_shards))
      fprintf(stderr, "  skipped: %llu already done (resume), %llu other shards'\n",
              (unsigned long long)r->resumed, (unsigned long long)r->other_shards);
    if (r->o.stats_json && write_stats_json(r) != 0) {
      fprintf(stderr, "flurry: --stats-json '%s': %s\n", r->o.stats_json, strerror(errno));
      r->exit_code = r->exit_code ? r->exit_code : 1;
    }
    close_handles(r);
    rc = exit_status(r);
  }
  teardown(r);
  fl_free(r);
  return rc;
}
