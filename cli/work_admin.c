/* work_admin.c: the synchronous side of the Redis workers: the URL, the
 * first contact of `flurry work` (the group made, the scripts loaded; an
 * unreachable Redis is said at once, exit 1), `flurry work --status` and
 * `flurry enqueue`. hiredis's blocking API: these run before (or without)
 * the event loop. */
#include <hiredis/hiredis.h>
#include <string.h>
#include <unistd.h>

#include "fl_args.h"
#include "io.h"
#include "work_int.h"
#include "work_lua.h"

#define CONNECT_TIMEOUT_S 5
#define ENQUEUE_BATCH 1000 /* XADDs pipelined before reading their replies */

/* ---- the URL ---- */

static int copy_part(char *dst, size_t cap, const char *p, size_t n) {
  if (n >= cap)
    return -1;
  memcpy(dst, p, n);
  dst[n] = '\0';
  return 0;
}

int cli_redis_url_parse(const char *s, cli_redis_url *u, char *err, size_t errlen) {
  memset(u, 0, sizeof *u);
  u->port = 6379;
  if (strncmp(s, "redis://", 8) == 0)
    s += 8;
  const char *at = strrchr(s, '@');
  if (at) {
    const char *pw = memchr(s, ':', (size_t)(at - s));
    pw = pw ? pw + 1 : s;
    if (copy_part(u->password, sizeof u->password, pw, (size_t)(at - pw)) != 0) {
      snprintf(err, errlen, "password too long");
      return -1;
    }
    s = at + 1;
  }
  const char *slash = strchr(s, '/');
  const char *end = slash ? slash : s + strlen(s);
  const char *colon = memchr(s, ':', (size_t)(end - s));
  const char *hend = colon ? colon : end;
  int64_t v;
  if (hend == s || copy_part(u->host, sizeof u->host, s, (size_t)(hend - s)) != 0) {
    snprintf(err, errlen, "expected redis://HOST[:PORT][/DB]");
    return -1;
  }
  if (colon) {
    if (fl_parse_i64(colon + 1, (size_t)(end - colon - 1), 1, 65535, &v) != 0) {
      snprintf(err, errlen, "the port is not a number from 1 to 65535");
      return -1;
    }
    u->port = (int)v;
  }
  if (slash && slash[1]) {
    if (fl_parse_i64(slash + 1, strlen(slash + 1), 0, 100000, &v) != 0) {
      snprintf(err, errlen, "the database is not a number");
      return -1;
    }
    u->db = (int)v;
  }
  return 0;
}

/* ---- a blocking connection ---- */

static int reply_error(redisContext *c, redisReply *r, const char *what) {
  if (r == NULL)
    fprintf(stderr, "flurry: redis: %s: %s\n", what, c->errstr[0] ? c->errstr : "no answer");
  else if (r->type == REDIS_REPLY_ERROR)
    fprintf(stderr, "flurry: redis: %s: %s\n", what, r->str);
  else
    return 0;
  return 1;
}

/* Runs one command; 0 with *out (freeReplyObject it), or 1 after saying
 * why. */
static int run_cmd(redisContext *c, redisReply **out, const char *what, int n, const char **argv) {
  size_t lens[16];
  for (int i = 0; i < n && i < 16; i++)
    lens[i] = strlen(argv[i]);
  redisReply *r = redisCommandArgv(c, n, argv, lens);
  if (reply_error(c, r, what)) {
    freeReplyObject(r);
    return 1;
  }
  *out = r;
  return 0;
}

static int run_ok(redisContext *c, const char *what, int n, const char **argv) {
  redisReply *r;
  if (run_cmd(c, &r, what, n, argv) != 0)
    return 1;
  freeReplyObject(r);
  return 0;
}

/* Connects, authenticates, selects the database: the context, or NULL
 * after a message naming the URL, with *code the exit status: 2 for a bad
 * URL, 1 when Redis is unreachable or refuses. */
static redisContext *connect_sync(const char *url, cli_redis_url *u, int *code) {
  char err[256];
  *code = 2;
  if (cli_redis_url_parse(url, u, err, sizeof err) != 0) {
    fprintf(stderr, "flurry: --redis '%s': %s\n", url, err);
    return NULL;
  }
  *code = 1;
  struct timeval tv = {CONNECT_TIMEOUT_S, 0};
  redisContext *c = redisConnectWithTimeout(u->host, u->port, tv);
  if (c == NULL || c->err) {
    fprintf(stderr, "flurry: cannot reach Redis at %s:%d (--redis %s): %s\n", u->host, u->port, url,
            c ? c->errstr : "out of memory");
    redisFree(c);
    return NULL;
  }
  redisSetTimeout(c, tv);
  char db[16];
  snprintf(db, sizeof db, "%d", u->db);
  const char *auth[] = {"AUTH", u->password}, *sel[] = {"SELECT", db}, *ping[] = {"PING"};
  if ((u->password[0] && run_ok(c, "AUTH", 2, auth) != 0) ||
      (u->db && run_ok(c, "SELECT", 2, sel) != 0) || run_ok(c, "PING", 1, ping) != 0) {
    redisFree(c);
    return NULL;
  }
  return c;
}

/* ---- flurry work: before the loop ---- */

static char *key(const char *given, const char *stream, const char *suffix) {
  fl_buf b = FL_BUF_INIT(0);
  if (given)
    fl_buf_puts(&b, given);
  else
    fl_buf_printf(&b, "%s:%s", stream, suffix);
  return fl_buf_take(&b, NULL);
}

void cli_work__free_keys(cli_work *w) {
  fl_free(w->k_results);
  fl_free(w->k_dead);
  fl_free(w->k_done);
  fl_free(w->k_lasterr);
  fl_free(w->lost_record);
  w->k_results = w->k_dead = w->k_done = w->k_lasterr = w->lost_record = NULL;
}

static int make_keys(cli_work *w) {
  const cli_work_opts *o = w->o;
  w->k_results = key(o->results, o->stream, "results");
  w->k_dead = key(o->dead, o->stream, "dead");
  w->k_done = key(NULL, o->stream, "done");
  w->k_lasterr = key(NULL, o->stream, "lasterr");
  fl_buf b = FL_BUF_INIT(0);
  fl_buf_printf(&b,
                "{\"error\":{\"kind\":\"cancelled\",\"message\":\"delivered more than "
                "--max-deliveries (%lld) times without a result: a worker stopped or died on "
                "it each time\"}}",
                (long long)o->max_deliveries);
  w->lost_record = fl_buf_take(&b, NULL);
  char host[256] = "worker";
  gethostname(host, sizeof host - 1);
  snprintf(w->consumer, sizeof w->consumer, "%s-%ld", host, (long)getpid());
  if (o->consumer)
    snprintf(w->consumer, sizeof w->consumer, "%s", o->consumer);
  return w->k_results && w->k_dead && w->k_done && w->k_lasterr && w->lost_record ? 0 : -1;
}

static int load_scripts(cli_work *w, redisContext *c) {
  w->lua[WORK_LUA_STORE] = work_lua_store;
  w->lua[WORK_LUA_CLAIM] = work_lua_claim;
  w->lua[WORK_LUA_TOUCH] = work_lua_touch;
  w->lua[WORK_LUA_GCRA] = work_lua_gcra;
  for (int i = 0; i < WORK_LUA_COUNT_; i++) {
    const char *argv[] = {"SCRIPT", "LOAD", w->lua[i]};
    redisReply *r;
    if (run_cmd(c, &r, "SCRIPT LOAD", 3, argv) != 0)
      return 1;
    snprintf(w->sha[i], sizeof w->sha[i], "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
  }
  return 0;
}

int cli_work__prepare(cli_work *w) {
  if (make_keys(w) != 0)
    return cli_nomem("flurry work");
  int code;
  redisContext *c = connect_sync(w->o->redis, &w->url, &code);
  if (c == NULL)
    return code;
  /* From the stream's start: what was enqueued before the first worker. */
  const char *argv[] = {"XGROUP", "CREATE", w->o->stream, w->o->group, "0", "MKSTREAM"};
  redisReply *r = redisCommandArgv(c, 6, argv, NULL);
  int rc = 0;
  if (r == NULL || (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0))
    rc = reply_error(c, r, "XGROUP CREATE");
  freeReplyObject(r);
  if (rc == 0)
    rc = load_scripts(w, c);
  redisFree(c);
  return rc;
}

/* ---- flurry work --status ---- */

/* XINFO's flat [name, value, ...] as JSON members into b. */
static void put_info(fl_buf *b, const redisReply *r, int first) {
  for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
    const redisReply *k = r->element[i], *v = r->element[i + 1];
    if (k->type != REDIS_REPLY_STRING)
      continue;
    if (!first || i > 0)
      fl_buf_putc(b, ',');
    fl_json_str(b, k->str, k->len);
    fl_buf_putc(b, ':');
    if (v->type == REDIS_REPLY_INTEGER)
      fl_buf_i64(b, v->integer);
    else if (v->type == REDIS_REPLY_STRING || v->type == REDIS_REPLY_STATUS)
      fl_json_str(b, v->str, v->len);
    else
      fl_buf_puts(b, "null");
  }
}

static long long xlen(redisContext *c, const char *k) {
  redisReply *r = redisCommand(c, "XLEN %s", k);
  long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
  freeReplyObject(r);
  return n;
}

static int status_group(redisContext *c, const cli_work_opts *o, fl_buf *b) {
  const char *argv[] = {"XINFO", "GROUPS", o->stream};
  redisReply *r;
  if (run_cmd(c, &r, "XINFO GROUPS", 3, argv) != 0)
    return 1;
  int found = 0;
  for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
    const redisReply *g = r->element[i];
    for (size_t k = 0; g->type == REDIS_REPLY_ARRAY && k + 1 < g->elements; k += 2)
      if (g->element[k]->type == REDIS_REPLY_STRING && strcmp(g->element[k]->str, "name") == 0 &&
          g->element[k + 1]->type == REDIS_REPLY_STRING &&
          strcmp(g->element[k + 1]->str, o->group) == 0) {
        fl_buf_puts(b, ",\"group\":{");
        put_info(b, g, 1);
        fl_buf_putc(b, '}');
        found = 1;
      }
  }
  freeReplyObject(r);
  if (!found) {
    fprintf(stderr, "flurry: redis: no group '%s' on stream '%s'\n", o->group, o->stream);
    return 1;
  }
  const char *cargv[] = {"XINFO", "CONSUMERS", o->stream, o->group};
  if (run_cmd(c, &r, "XINFO CONSUMERS", 4, cargv) != 0)
    return 1;
  fl_buf_puts(b, ",\"consumers\":[");
  for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
    fl_buf_puts(b, i ? ",{" : "{");
    put_info(b, r->element[i], 1);
    fl_buf_putc(b, '}');
  }
  fl_buf_putc(b, ']');
  freeReplyObject(r);
  return 0;
}

int cli_work_status(const cli_opts *o) {
  cli_work w = {.o = &o->work, .o_all = o};
  if (make_keys(&w) != 0) {
    cli_work__free_keys(&w);
    return cli_nomem("--status");
  }
  int rc;
  redisContext *c = connect_sync(o->work.redis, &w.url, &rc);
  fl_buf b = FL_BUF_INIT(0);
  if (c) {
    fl_buf_puts(&b, "{\"stream\":");
    fl_json_str(&b, o->work.stream, strlen(o->work.stream));
    fl_buf_printf(&b, ",\"length\":%lld", xlen(c, o->work.stream));
    rc = status_group(c, &o->work, &b);
    fl_buf_printf(&b, ",\"results\":%lld,\"dead\":%lld}\n", xlen(c, w.k_results),
                  xlen(c, w.k_dead));
  }
  if (rc == 0 && b.data && fwrite(b.data, 1, b.len, stdout) != b.len)
    rc = 1;
  fl_buf_free(&b);
  redisFree(c);
  cli_work__free_keys(&w);
  return rc;
}

/* ---- flurry enqueue ---- */

typedef struct enq_opts {
  const char *redis, *stream, *input;
  int64_t max_line;
  int quiet;
} enq_opts;

typedef struct enq_row {
  fl_arg arg;
  size_t field;
  int kind; /* 0 string, 1 size, 2 flag, 3 help */
} enq_row;

static const enq_row enq_table[] = {
    {{NULL, 0, NULL,
      "Usage: flurry enqueue --redis URL --stream KEY [--input FILE] < input\n"
      "\n"
      "Adds each non-blank input line (a URL, a JSON request object or a template\n"
      "value, as flurry reads them) to the Redis stream KEY as an entry {line}, for\n"
      "`flurry work` to run. Exit: 0 all added, 1 Redis failed, 2 usage or a line\n"
      "longer than --max-line (not added).\n\nOptions:\n",
      0},
     0,
     3},
    {{"redis", 0, "URL", "redis://[:PASSWORD@]HOST[:PORT][/DB]", 0}, offsetof(enq_opts, redis), 0},
    {{"stream", 0, "KEY", "the stream the workers read", 0}, offsetof(enq_opts, stream), 0},
    {{"input", 'i', "FILE", "read lines from FILE (default stdin)", 0},
     offsetof(enq_opts, input),
     0},
    {{"max-line", 0, "SIZE", "longest line (default 1M)", 0}, offsetof(enq_opts, max_line), 1},
    {{"quiet", 'q', NULL, "no summary", 0}, offsetof(enq_opts, quiet), 2},
    {{"help", 'h', NULL, "this help", 0}, 0, 3},
};

static fl_args enq_args;

static int enq_one(const fl_arg *row, const char *v, void *ud) {
  enq_opts *o = ud;
  if (row == NULL) {
    fprintf(stderr, "flurry enqueue: unexpected argument '%s'\n", v);
    return 2;
  }
  const enq_row *r = FL_CONTAINER(row, enq_row, arg);
  char *f = (char *)o + r->field;
  if (r->kind == 0)
    *(const char **)(void *)f = v;
  else if (r->kind == 1)
    return fl_args_size(&enq_args, row, v, 16, 512LL * 1024 * 1024, (int64_t *)(void *)f);
  else if (r->kind == 2)
    *(int *)(void *)f = 1;
  else {
    fl_args_help(&enq_args, stdout);
    return 1;
  }
  return 0;
}

/* Reads the replies of n pipelined XADDs: 0, or 1 after a message. */
static int enq_replies(redisContext *c, size_t n) {
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    void *r = NULL;
    if (redisGetReply(c, &r) != REDIS_OK)
      return reply_error(c, NULL, "XADD");
    if (rc == 0)
      rc = reply_error(c, r, "XADD");
    freeReplyObject(r);
  }
  return rc;
}

static void on_more(void *ud) { *(int *)ud = 1; }

/* The next line, waiting for it on the loop when the input is a pipe. */
static input_status enq_next(cli_input *in, uv_loop_t *loop, const char **line, size_t *len,
                             uint64_t *lineno) {
  for (;;) {
    input_status st = cli_input_next(in, line, len, lineno);
    if (st != INPUT_AGAIN)
      return st;
    int more = 0;
    cli_input_wait(in, on_more, &more);
    while (!more)
      uv_run(loop, UV_RUN_ONCE);
  }
}

static int enqueue(const enq_opts *o, redisContext *c, cli_input *in, uv_loop_t *loop) {
  const char *line;
  size_t len, pending = 0;
  uint64_t lineno, added = 0, too_long = 0;
  int rc = 0;
  input_status st;
  while (rc == 0 && (st = enq_next(in, loop, &line, &len, &lineno)) != INPUT_EOF) {
    if (st == INPUT_ERROR) {
      fprintf(stderr, "flurry enqueue: %s\n", cli_input_errmsg(in));
      return 2;
    }
    if (st == INPUT_TOO_LONG) {
      fprintf(stderr, "flurry enqueue: line %llu: longer than --max-line: not added\n",
              (unsigned long long)lineno);
      too_long++;
      continue;
    }
    size_t sp = 0;
    while (sp < len && (line[sp] == ' ' || line[sp] == '\t'))
      sp++;
    if (sp == len)
      continue; /* blank */
    const char *argv[] = {"XADD", o->stream, "*", "line", line};
    size_t lens[] = {4, strlen(o->stream), 1, 4, len};
    redisAppendCommandArgv(c, 5, argv, lens);
    added++;
    if (++pending == ENQUEUE_BATCH) {
      rc = enq_replies(c, pending);
      pending = 0;
    }
  }
  if (rc == 0)
    rc = enq_replies(c, pending);
  if (!o->quiet)
    fprintf(stderr, "flurry enqueue: %llu requests added to %s\n", (unsigned long long)added,
            o->stream);
  return rc ? 1 : too_long ? 2 : 0;
}

int cli_enqueue_main(int argc, char **argv) {
  enq_opts o = {.max_line = 1024 * 1024};
  int rc = FL_ARGS_INIT(&enq_args, "flurry enqueue", enq_table, 0) != 0
               ? 2
               : fl_args_parse(&enq_args, argc, argv, enq_one, &o);
  if (rc != 0)
    return rc == 1 ? 0 : 2;
  if (!o.redis || !o.stream) {
    fprintf(stderr, "flurry enqueue: --redis URL and --stream KEY are needed (see --help)\n");
    return 2;
  }
  uv_loop_t loop;
  char err[512];
  cli_input *in;
  cli_redis_url u;
  if (uv_loop_init(&loop) != 0)
    return 1;
  if (cli_input_open(&in, o.input, (size_t)o.max_line, &loop, err, sizeof err) != 0) {
    fprintf(stderr, "flurry enqueue: %s\n", err);
    uv_loop_close(&loop);
    return 2;
  }
  redisContext *c = connect_sync(o.redis, &u, &rc);
  if (c)
    rc = enqueue(&o, c, in, &loop);
  redisFree(c);
  cli_input_close(in);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return rc;
}
