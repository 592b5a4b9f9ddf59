/* run.c: the flurry command's main job. Reads input lazily, keeps the client
 * fed up to the in-flight window, writes one record per request (whole lines,
 * batched into few writes), shows progress and prints the summary. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "io.h"
#include "work.h"

#define QUEUE_SLACK 64 /* requests queued beyond the in-flight limit */

typedef struct run {
  cli_opts o;
  uv_loop_t loop;
  flurry_client *client;
  cli_source src; /* src.impl NULL: none (a single request) */
  cli_work *work; /* flurry work: the source and sink on Redis */
  cli_builder *builder;
  cli_stats *stats;
  cli_out *out;
  cli_tree *tree;
  cli_join *join;
  cli_ctx ctx;
  int out_fd;
  uv_check_t flush_check;
  uv_timer_t progress_timer;
  uv_signal_t sigint, sigterm;
  cli_control *control;
  cli_journal *journal;
  uv_timer_t grace_timer;
  uint64_t resumed;      /* lines skipped: already in the journal */
  uint64_t other_shards; /* lines skipped: another shard's */
  int progress_tty;
  int progress_on;
  int64_t total;
  uint64_t next_seq; /* the next line's place in the output */
  uint64_t blank;
  size_t live;      /* lines taken whose last record is not written yet */
  int single;       /* a template with no placeholder: one request, no input */
  int one_if_empty; /* the same, read from stdin: one request if it has no line */
  uint64_t lines;   /* input lines taken (blank ones aside) */
  int input_done;
  int stopping;
  int failed_fast; /* --fail-fast: a request failed, the rest was cancelled */
  int signal_exit;
  int exit_code;
  int finished;
  int give_up; /* grace over: end without the records the sink still holds */
  int in_turn; /* inside cli_run's uv_run */
} run;

static void pump_input(run *r);

/* ---- output ---- */

static void out_flush(run *r) {
  if (cli_out_flush(r->out) != 0 && !r->stopping) {
    r->stopping = 1;
    if (r->tree)
      cli_tree_stop(r->tree);
    if (r->exit_code < 1)
      r->exit_code = 1;
  }
}

static void on_check(uv_check_t *h) { out_flush(h->data); }

/* ---- requests ---- */

static void maybe_finish(run *r) {
  /* Records not stored yet (a worker's Redis away): waited for, up to the
   * grace period after a signal; then they stay pending there. */
  if ((r->input_done || r->stopping) && r->live == 0 &&
      (r->give_up || cli_out_unsettled(r->out) == 0)) {
    r->finished = 1; /* the loop in cli_run runs one turn at a time */
    /* From a timer callback, that turn would go on to poll with no timeout
     * left: a request failing at its start (a bad URL) hung the run. Not
     * outside the turn: the stop would cut the closing run short. */
    if (r->in_turn)
      uv_stop(&r->loop);
  }
}

static void on_unit_done(void *ud) {
  run *r = ud;
  r->live--;
  maybe_finish(r);
}

static void on_kick(void *ud) { pump_input(ud); }

/* --fail-fast: stop reading, drop what waits (recorded as cancelled) and
 * cancel what runs, from the failed request's completion callback (the
 * library allows it there). */
static void on_fail_fast_timer(uv_timer_t *t) {
  flurry_client_cancel_all(((run *)t->data)->client);
}

static void on_failed(void *ud) {
  run *r = ud;
  if (!r->o.fail_fast || r->failed_fast)
    return;
  r->failed_fast = 1;
  r->stopping = 1;
  if (r->tree)
    cli_tree_stop(r->tree);
  if (flurry_client_cancel_all(r->client) != FLURRY_OK) /* not in a completion: next turn */
    uv_timer_start(&r->grace_timer, on_fail_fast_timer, 0, 0);
  maybe_finish(r);
}

static int room_for_requests(run *r) {
  return flurry_client_pending(r->client) < (size_t)r->o.concurrency + QUEUE_SLACK;
}

static int room_for_lines(run *r) {
  return room_for_requests(r) &&
         (!r->o.ordered || r->next_seq - cli_out_written(r->out) < (uint64_t)r->o.reorder_window);
}

/* The error of a line longer than --max-line. */
static void too_long(cli_built *bt, uint64_t lineno, int64_t max_line) {
  bt->line = lineno;
  bt->key = fl_hash(FL_HASH_INIT ^ 0x3c, &lineno, sizeof lineno);
  bt->req_key = bt->key;
  fl_buf m = FL_BUF_INIT(0);
  /* id_json NULL (take_line: out of memory) unless the number is whole */
  if (fl_buf_i64(&m, (int64_t)lineno) == FL_OK)
    bt->id_json = fl_buf_take(&m, NULL);
  fl_buf_free(&m);
  fl_buf_printf(&m, "line %llu: longer than --max-line (%lld bytes)", (unsigned long long)lineno,
                (long long)max_line);
  bt->error = fl_buf_take(&m, NULL);
  bt->method = fl_strdup("");
  bt->url = fl_strdup("");
}

/* 1 if this line is not this run's: another shard's, or already done. */
static int skip_line(run *r, const cli_built *bt) {
  if (r->o.shard_n > 0 && bt->key % (uint64_t)r->o.shard_n != (uint64_t)(r->o.shard_k - 1)) {
    r->other_shards++;
    return 1;
  }
  uint64_t done = r->tree ? cli_tree_done_key(r->tree, bt) : bt->key;
  if (r->journal && cli_journal_done(r->journal, done)) {
    r->resumed++;
    return 1;
  }
  return 0;
}

static void out_of_memory(run *r, uint64_t lineno) {
  fprintf(stderr,
          "flurry: out of memory at line %llu: stopping (no record for it or the "
          "lines after it)\n",
          (unsigned long long)lineno);
  r->stopping = 1;
  r->exit_code = 1;
}

/* Tells the source what line lineno became (io.h). */
static void placed(run *r, uint64_t lineno, int64_t seq, const cli_built *bt) {
  uint64_t key = bt && r->tree ? cli_tree_done_key(r->tree, bt) : bt ? bt->key : 0;
  if (r->src.placed)
    r->src.placed(r->src.impl, lineno, seq, bt && bt->req ? &key : NULL);
}

/* One input line (or an over-long one, line == NULL) becomes its requests
 * or one error record. */
static void take_line(run *r, const char *line, size_t len, uint64_t lineno) {
  cli_unit u = {.lineno = lineno, .line = line, .len = len};
  int rc = line ? cli_build(r->builder, line, len, lineno, &u.bt) : 0;
  if (line == NULL)
    too_long(&u.bt, lineno, r->o.max_line);
  if (rc != 0 || u.bt.id_json == NULL || u.bt.method == NULL || u.bt.url == NULL) {
    cli_built_clear(&u.bt);
    out_of_memory(r, lineno);
    return;
  }
  if (skip_line(r, &u.bt)) {
    cli_built_clear(&u.bt);
    placed(r, lineno, -1, NULL);
    return;
  }
  if (u.bt.req == NULL && u.bt.error && r->o.strict) {
    cli_warn("%s (--strict: stopping)", u.bt.error);
    r->stopping = 1;
    r->exit_code = 2;
  }
  u.seq = r->next_seq++;
  r->live++;
  placed(r, lineno, (int64_t)u.seq, &u.bt);
  rc = r->join ? cli_join_take(r->join, &u) : cli_tree_take(r->tree, &u);
  cli_built_clear(&u.bt);
  if (rc != 0)
    out_of_memory(r, lineno);
}

static int is_blank(const char *line, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (line[i] != ' ' && line[i] != '\t')
      return 0;
  return 1;
}

static void on_input_ready(void *ud) { pump_input(ud); }

/* Reads one line into take_line. 0 to go on, -1 to wait for input. */
static int read_line(run *r) {
  const char *line;
  size_t len;
  uint64_t lineno;
  if (r->single) {
    r->input_done = 1;
    take_line(r, "", 0, 1);
    return 0;
  }
  input_status st = r->src.next(r->src.impl, &line, &len, &lineno);
  if (st == INPUT_AGAIN) {
    r->src.wait(r->src.impl, on_input_ready, r);
    return -1;
  }
  if (st == INPUT_EOF && r->one_if_empty && r->lines == 0) {
    r->input_done = 1; /* `flurry URL < /dev/null`: one request, like curl */
    r->total = 1;
    take_line(r, "", 0, 1);
  } else if (st == INPUT_EOF) {
    r->input_done = 1;
  } else if (st == INPUT_ERROR) {
    fprintf(stderr, "flurry: %s\n", r->src.errmsg(r->src.impl));
    r->input_done = 1;
    r->exit_code = 2;
  } else if (st == INPUT_TOO_LONG) {
    r->lines++;
    take_line(r, NULL, 0, lineno);
  } else if (is_blank(line, len)) {
    r->blank++;
    placed(r, lineno, -1, NULL);
  } else {
    r->lines++;
    take_line(r, line, len, lineno);
  }
  return 0;
}

/* Follow-ups and pages first (deepest first), then new lines. */
static void pump_input(run *r) {
  while (!r->stopping && room_for_requests(r)) {
    if (r->tree && cli_tree_step(r->tree))
      continue;
    if (r->input_done || !room_for_lines(r) || read_line(r) != 0)
      break;
  }
  maybe_finish(r);
}

/* ---- progress and signals ---- */

static void draw_progress(run *r, int final) {
  fl_buf line = FL_BUF_INIT(512);
  flurry_client_stats cs;
  flurry_client_stats_get(r->client, &cs);
  /* A line may make many requests (pages, follow-ups, parts): no total. */
  int many = r->o.tree || r->o.njoins;
  cli_stats_progress(r->stats, many ? -1 : r->total, cs.rate, &line);
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
  r->give_up = 1;
  maybe_finish(r);
}

static void on_signal(uv_signal_t *h, int signum) {
  run *r = h->data;
  if (!r->stopping || r->signal_exit == 0) {
    r->stopping = 1;
    r->signal_exit = 128 + signum;
    /* Lines read but not started are recorded as cancelled: nothing read is
     * ever dropped without a record. */
    if (r->tree)
      cli_tree_stop(r->tree);
    flurry_client_cancel_queued(r->client);
    if (r->work)
      cli_work_stop(r->work);
    fprintf(stderr,
            "\nflurry: %s: finishing %zu requests in flight for up to %.0fs "
            "(again to cancel them)\n",
            signum == SIGINT ? "interrupted" : "terminated", flurry_client_pending(r->client),
            (double)r->o.grace_ms / 1000);
    uv_timer_start(&r->grace_timer, on_grace, (uint64_t)r->o.grace_ms, 0);
    maybe_finish(r);
    return;
  }
  flurry_client_cancel_all(r->client);
  r->give_up = 1;
  maybe_finish(r);
}

/* ---- setup and teardown ---- */

/* One notion of a credential header, the library's (flurry_header_is_secret):
 * Authorization, Cookie, the --secret-header names and, the input being
 * anyone's, any name with auth, token, key, secret... in it. The -H
 * headers it takes are sent as the origin allows (tree.c), their digest
 * kept in the journal, and their names masked in records, as the
 * client's own names. Before the output opens: the journal's fingerprint
 * needs them. */
static int mark_secrets(run *r) {
  cli_opts *o = &r->o;
  flurry_client_set(r->client, FLURRY_OPT_SECRET_NAME_HEURISTIC, 1);
  for (size_t i = 0; i < o->nsecret_names; i++)
    if (flurry_client_add_secret_header(r->client, o->secret_names[i]) == FLURRY_ENOMEM)
      return cli_nomem("--secret-header");
  for (size_t i = 0; i < o->nheaders; i++) {
    o->headers[i].secret = flurry_header_is_secret(r->client, o->headers[i].name,
                                                   FLURRY_HEADER_REQUEST);
    if (o->headers[i].secret &&
        flurry_client_add_secret_header(r->client, o->headers[i].name) == FLURRY_ENOMEM)
      return cli_nomem("--header");
  }
  return 0;
}

/* --cache FILE: a file that is not a flurry cache is refused (exit 2),
 * never written. */
static int open_cache(run *r) {
  char msg[512];
  int rc = flurry_client_set_cache(r->client, r->o.cache, msg, sizeof msg);
  if (rc == FLURRY_ENOMEM)
    return cli_nomem("--cache");
  if (rc != FLURRY_OK) {
    cli_warn("--cache '%s': %s", r->o.cache, msg);
    return 2;
  }
  return 0;
}

static int configure_client(run *r) {
  cli_opts *o = &r->o;
  flurry_client_set(r->client, FLURRY_OPT_MAX_IN_FLIGHT, o->concurrency);
  flurry_client_set(r->client, FLURRY_OPT_MAX_PER_HOST, o->per_host);
  for (int opt = 1; opt < FLURRY_OPT_COUNT_; opt++) {
    if (!(o->opt_set & ((uint64_t)1 << opt)))
      continue;
    if (flurry_client_set(r->client, (flurry_opt)opt, o->opt[opt]) != FLURRY_OK) {
      flurry_opt_info in = {"?", 0, 0, 0, 0};
      flurry_opt_get_info((flurry_opt)opt, &in); /* args.c checked the range: a bug */
      fprintf(stderr, "flurry: option %s: value out of range (%lld)\n", in.name,
              (long long)o->opt[opt]);
      return 2;
    }
  }
  int rc = o->base_url ? flurry_client_set_base_url(r->client, o->base_url) : FLURRY_OK;
  if (rc == FLURRY_ENOMEM)
    return cli_nomem("--base-url");
  if (rc != FLURRY_OK) {
    cli_warn("--base-url '%s': not an absolute http(s) URL", o->base_url);
    return 2;
  }
  if (o->cacert && access(o->cacert, R_OK) != 0) {
    fprintf(stderr, "flurry: --cacert '%s': %s\n", o->cacert, strerror(errno));
    return 2;
  }
  if (o->cacert && flurry_client_set_ca_file(r->client, o->cacert) != FLURRY_OK)
    return cli_nomem("--cacert");
  if (o->cache && (rc = open_cache(r)) != 0)
    return rc;
  for (size_t i = 0; i < o->nheaders; i++) {
    /* Credentials go on each request, as its origin allows (tree.c). */
    rc = o->headers[i].secret
             ? FLURRY_OK
             : flurry_client_add_header(r->client, o->headers[i].name, o->headers[i].value);
    if (rc == FLURRY_ENOMEM)
      return cli_nomem("--header");
    if (rc != FLURRY_OK) {
      fprintf(stderr, "flurry: --header '%s': invalid name or value\n", o->headers[i].name);
      return 2;
    }
  }
  return 0;
}

/* --cookie-jar FILE and -b NAME=VALUE (--cookies is a library option).
 * 0, or 2 after a message naming the option (never the cookie's value). */
static int setup_cookies(run *r) {
  const cli_opts *o = &r->o;
  int rc = o->cookie_jar ? flurry_client_load_cookies(r->client, o->cookie_jar) : FLURRY_OK;
  if (rc == FLURRY_ENOMEM)
    return cli_nomem("--cookie-jar");
  if (rc != FLURRY_OK) {
    cli_warn("--cookie-jar '%s': %s", o->cookie_jar,
             rc == FLURRY_EINVALID ? strerror(errno) : flurry_strerror(rc));
    return 2;
  }
  for (size_t i = 0; i < o->ncookies; i++) {
    const char *eq = strchr(o->cookies[i], '=');
    char *name = fl_strndup(o->cookies[i], (size_t)(eq - o->cookies[i]));
    rc = name ? flurry_client_add_cookie(r->client, name, eq + 1) : FLURRY_ENOMEM;
    if (rc == FLURRY_EINVALID)
      fprintf(stderr,
              "flurry: --cookie '%s=***': not a cookie name (a token) and value (no "
              "space, control character, '\"', ',', ';' or '\\'; 8K in all) (see flurry "
              "--help)\n",
              name);
    fl_free(name);
    if (rc != FLURRY_OK)
      return rc == FLURRY_ENOMEM ? cli_nomem("--cookie") : 2;
  }
  return 0;
}

/* --retry-on or --ok-status: a library status rule. 0, or 2 after a
 * message naming the option. */
static int set_statuses(run *r, const char *opt, flurry_status_rule rule, const char *list) {
  int rc = list ? flurry_client_set_statuses(r->client, rule, list) : FLURRY_OK;
  if (rc == FLURRY_ENOMEM)
    return cli_nomem(opt);
  if (rc != FLURRY_OK || (list && *list == '\0')) {
    fprintf(stderr,
            "flurry: %s '%s': expected statuses from 400 to 599 and classes 4xx, 5xx "
            "separated by commas, e.g. 404,409,5xx (see flurry --help)\n",
            opt, list);
    return 2;
  }
  return 0;
}

/* Saves --cookie-jar at the end: 0, or 1 after a message. */
static int save_cookies(run *r) {
  if (r->o.cookie_jar == NULL || flurry_client_save_cookies(r->client, r->o.cookie_jar) == 0)
    return 0;
  cli_warn("--cookie-jar '%s': cannot save the cookies: %s", r->o.cookie_jar, strerror(errno));
  return 1;
}

/* The options that shape requests: a resumed run must have the same. */
static char *fingerprint(const cli_opts *o) {
  fl_buf f = FL_BUF_INIT(0);
  const cli_level *l0 = &o->levels[0];
  fl_buf_printf(&f,
                "flurry --resume 1\ntemplate: %s\nmethod: %s\nbody: %s\nbody-is-json: %d\n"
                "base-url: %s\n",
                l0->template_url ? l0->template_url : "", l0->method ? l0->method : "",
                l0->data ? l0->data : "", l0->data_is_json, o->base_url ? o->base_url : "");
  for (size_t i = 0; i < o->nheaders; i++) { /* a credential: its digest, not itself */
    fl_buf_printf(&f, "header: %s: ", o->headers[i].name);
    if (o->headers[i].secret)
      cli_secret_digest(&f, o->headers[i].value);
    else
      fl_buf_puts(&f, o->headers[i].value);
    fl_buf_putc(&f, '\n');
  }
  for (size_t i = 0; i < o->nlevels; i++) { /* pages, items and follow-ups: other records */
    const cli_level *l = &o->levels[i];
    if (i > 0)
      fl_buf_printf(&f, "each: %s\ntemplate: %s\nmethod: %s\nbody: %s\nbody-is-json: %d\n", l->each,
                    l->template_url, l->method ? l->method : "", l->data ? l->data : "",
                    l->data_is_json);
    if (l->graphql)
      fl_buf_printf(&f, "graphql: %s\ngraphql-flags: %d\n", l->graphql, l->graphql_flags);
    if (l->paginate || l->items)
      fl_buf_printf(&f, "paginate: %s\nitems: %s\nstop-when: %s\ntotal: %s\nmax-pages: %lld\n",
                    l->paginate ? l->paginate : "", l->items ? l->items : "",
                    l->stop_when ? l->stop_when : "", l->total ? l->total : "",
                    (long long)l->max_pages);
  }
  for (size_t i = 0; i < o->njoins; i++)
    fl_buf_printf(&f, "join: %s=%s\n", o->joins[i].name, o->joins[i].template_url);
  if (o->reduce)
    fl_buf_printf(&f, "reduce: %s\n", o->reduce);
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

/* A URL template with no placeholder, the input stdin. */
static int fixed_request(const cli_opts *o) {
  const cli_level *l0 = &o->levels[0];
  const char *t = l0->template_url, *d = l0->data ? l0->data : "";
  return t && o->input == NULL && !o->njoins && !strstr(t, "{}") && !strstr(t, "{.") &&
         !strstr(d, "{}") && !strstr(d, "{.");
}

/* One request, nothing read: a fixed request for pages or follow-ups (but
 * --graphql: lines are its variables), or one whose stdin is a terminal
 * (`flurry URL`, as curl and httpie). */
static int single_request(const cli_opts *o) {
  /* a worker's lines come from its stream, whatever the template */
  return !o->work.on && fixed_request(o) &&
         ((o->tree && !o->levels[0].graphql) || isatty(STDIN_FILENO));
}

/* The jq expressions first: a bad one stops the run before the output is
 * opened or anything is sent. */
static int setup_units(run *r) {
  r->ctx.o = &r->o;
  r->ctx.unit_done = on_unit_done;
  r->ctx.kick = on_kick;
  r->ctx.failed = on_failed;
  r->ctx.ud = r;
  r->ctx.ro.with_key = r->o.resume || r->o.shard_n > 0 || r->o.tree;
  r->ctx.ro.no_body = r->o.no_body;
  r->ctx.ro.with_headers = r->o.with_headers;
  r->ctx.ro.with_timings = r->o.with_timings;
  r->ctx.ro.with_attempts = r->o.with_attempts;
  r->single = single_request(&r->o);
  r->one_if_empty = !r->o.work.on && fixed_request(&r->o);
  int rc = cli_rules_new(&r->ctx.rules, &r->o);
  if (rc != 0)
    return rc;
  return r->o.njoins ? cli_join_new(&r->join, &r->ctx) : cli_tree_new(&r->tree, &r->ctx);
}

static int setup_work(run *r);
static int setup_rest(run *r);

static int setup(run *r) {
  char err[512];
  int rc = uv_loop_init(&r->loop);
  if (rc != 0) {
    fprintf(stderr, "flurry: cannot start the event loop: %s\n", uv_strerror(rc));
    return 1;
  }
  rc = setup_units(r);
  if (rc == 1) /* 2: a bad expression, said */
    return cli_nomem("setup");
  if (rc)
    return rc;
  rc = flurry_client_new(&r->client, &r->loop);
  if (rc != FLURRY_OK) {
    fprintf(stderr, "flurry: cannot create the HTTP client: %s\n", flurry_strerror(rc));
    return 1;
  }
  r->ctx.ro.client = r->client;
  rc = mark_secrets(r);
  if (rc == 0)
    rc = open_output(r);
  if (rc == 0)
    rc = configure_client(r);
  if (rc == 0)
    rc = setup_cookies(r);
  if (rc == 0)
    rc = set_statuses(r, "--retry-on", FLURRY_STATUS_RETRY, r->o.retry_on);
  if (rc == 0)
    rc = set_statuses(r, "--ok-status", FLURRY_STATUS_OK, r->o.ok_status);
  if (rc)
    return rc;
  if (cli_builder_new(&r->builder, &r->o, r->client, err, sizeof err) != 0) {
    fprintf(stderr, "flurry: %s\n", err);
    return 1; /* out of memory */
  }
  if (r->o.work.on)
    return setup_work(r);
  if (!r->single &&
      cli_file_source(&r->src, r->o.input, (size_t)r->o.max_line, &r->loop, err, sizeof err) != 0) {
    fprintf(stderr, "flurry: %s\n", err);
    return strcmp(err, "out of memory") == 0 ? 1 : 2; /* else: a bad input file */
  }
  r->stats = cli_stats_new();
  if (r->stats == NULL || cli_out_new(&r->out, r->out_fd, r->o.ordered, (size_t)r->o.reorder_window,
                                      r->o.fsync_mode) != 0)
    return cli_nomem("setup");
  return setup_rest(r);
}

/* flurry work: lines from a Redis stream, records to another (work.c). */
static int setup_work(run *r) {
  cli_sink sink;
  int rc = cli_work_open(&r->work, &r->o, r->client, &r->src, &sink, on_kick, r);
  if (rc != 0)
    return rc;
  r->stats = cli_stats_new();
  if (r->stats == NULL || cli_out_new_sink(&r->out, &sink, 0, 0) != 0)
    return cli_nomem("setup");
  return setup_rest(r);
}

static int setup_rest(run *r) {
  if (r->o.control &&
      cli_control_start(&r->control, &r->loop, r->o.control, r->client, &r->o.concurrency) != 0)
    return 2;
  r->total = r->single ? 1 : r->src.total(r->src.impl);
  r->ctx.client = r->client;
  r->ctx.builder = r->builder;
  r->ctx.out = r->out;
  r->ctx.stats = r->stats;
  r->ctx.journal = r->journal;
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
  if (r->src.impl)
    r->src.close(r->src.impl);
  uv_run(&r->loop, UV_RUN_DEFAULT);
  uv_loop_close(&r->loop);
  cli_tree_free(r->tree);
  cli_join_free(r->join);
  cli_rules_free(r->ctx.rules);
  cli_builder_free(r->builder);
  cli_stats_free(r->stats);
  cli_out_free(r->out);
  if (r->journal)
    cli_journal_close(r->journal); /* owns out_fd */
  else if (r->out_fd > STDOUT_FILENO)
    close(r->out_fd);
  cli_args_free(&r->o);
}

static int exit_status(run *r) {
  if (r->exit_code == 2)
    return 2;
  if (r->work) /* a failed request is a record in the results: the worker did its job */
    return r->exit_code ? r->exit_code : r->signal_exit == 128 + SIGINT ? r->signal_exit : 0;
  if (r->signal_exit)
    return r->signal_exit;
  if (r->exit_code || cli_stats_failed(r->stats))
    return 1;
  return 0;
}

static int write_stats_json(run *r) {
  fl_buf j = FL_BUF_INIT(0);
  cli_stats_json(r->stats, &j);
  fl_buf_printf(&j,
                ",\"skipped_blank\":%llu,\"skipped_done\":%llu,\"skipped_other_shards\":%llu,"
                "\"exit\":%d}\n",
                (unsigned long long)r->blank, (unsigned long long)r->resumed,
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
    return cli_nomem("start-up");
  signal(SIGPIPE, SIG_IGN);
  int rc = cli_args_parse(&r->o, argc, argv);
  if (rc != 0) {
    cli_args_free(&r->o);
    fl_free(r);
    return rc == 1 ? 0 : rc == CLI_ARGS_NOMEM ? 1 : 2;
  }
  r->out_fd = -1;
  if (r->o.work.status) {
    rc = cli_work_status(&r->o);
    cli_args_free(&r->o);
    fl_free(r);
    return rc;
  }
  rc = setup(r);
  if (rc == 0) {
    start_handles(r);
    pump_input(r);
    while (!r->finished) {
      r->in_turn = 1;
      uv_run(&r->loop, UV_RUN_ONCE);
      r->in_turn = 0;
    }
    /* A stale-while-revalidate answer's background revalidation: let it
     * refresh the cache before the command exits (cancelled by a signal). */
    if (r->o.cache && !r->stopping)
      flurry_client_run(r->client);
    out_flush(r);
    cli_out_sync(r->out);
    size_t unsettled = cli_out_unsettled(r->out);
    if (unsettled) { /* the grace ran out with a worker's Redis away */
      cli_warn("%zu requests' records could not be stored: left pending for another worker",
               unsettled);
      r->exit_code = r->exit_code ? r->exit_code : 1;
    }
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
    if (save_cookies(r) != 0 && r->exit_code == 0)
      r->exit_code = 1;
    close_handles(r);
    rc = exit_status(r);
  }
  teardown(r);
  fl_free(r);
  return rc;
}
