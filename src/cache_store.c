/* cache_store.c: the HTTP cache's SQLite file. One table of entries keyed
 * by (key, vary): key is a SHA-256 of method, URL and credentials, vary a
 * SHA-256 of the request headers the response's Vary names; no URL and no
 * credential is stored. The file carries application_id "flry" and
 * user_version 1: any other file is refused, never written. WAL journal
 * (readers never wait for a writer; a killed writer leaves the last
 * committed transaction), synchronous=NORMAL (a commit is not fsynced:
 * an OS crash may lose the last transactions, never make an entry
 * partial), busy timeout 5 s for other processes' writes. Writes are
 * queued and written by flurry__store_flush in one transaction. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cache_int.h"

#define APP_ID 0x666c7279 /* "flry" */
#define VERSION 1
#define BUSY_MS 5000

static const char schema[] =
    "CREATE TABLE entries("
    " key BLOB NOT NULL, vary BLOB NOT NULL, vary_names TEXT NOT NULL,"
    " status INTEGER NOT NULL, reason TEXT NOT NULL, headers BLOB NOT NULL,"
    " nheaders INTEGER NOT NULL, body BLOB NOT NULL,"
    " response_time REAL NOT NULL, initial_age REAL NOT NULL, lifetime REAL NOT NULL,"
    " swr REAL NOT NULL, sie REAL NOT NULL, flags INTEGER NOT NULL,"
    " size INTEGER NOT NULL, used INTEGER NOT NULL,"
    " PRIMARY KEY(key, vary));"
    "CREATE INDEX entries_used ON entries(used, size);" /* eviction reads only it */
    "PRAGMA application_id = 1718383225;"               /* APP_ID */
    "PRAGMA user_version = 1;";

#define COLS                                                                                       \
  "vary, vary_names, status, reason, headers, nheaders, body, response_time, initial_age, "        \
  "lifetime, swr, sie, flags"

/* A queued write: a whole entry, or a touch (e NULL). */
typedef struct op {
  fl_list link;
  unsigned char key[FLURRY_CACHE_KEY];
  unsigned char vary[FLURRY_CACHE_KEY];
  flurry__cache_entry *e;
} op;

struct flurry__store {
  sqlite3 *db;
  sqlite3_stmt *get, *put, *touch;
  fl_list ops;
  size_t nops;
};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The integer a one-row statement returns; SQLite's code. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      *out = sqlite3_column_int64(st, 0);
      rc = SQLITE_OK;
    }
  }
  sqlite3_finalize(st);
  return rc;
}

static int exec(sqlite3 *db, const char *sql) { return sqlite3_exec(db, sql, NULL, NULL, NULL); }

static int refuse(sqlite3 *db, char *msg, size_t n, const char *why) {
  snprintf(msg, n, "%s", why);
  sqlite3_close(db);
  return FLURRY_EINVALID;
}

/* A new (empty) file gets the schema; another process may be doing the
 * same: the write lock decides, the loser finds it made. */
static int create_schema(sqlite3 *db, int64_t *app) {
  int rc = exec(db, "BEGIN IMMEDIATE");
  if (rc == SQLITE_OK)
    rc = query_int(db, "PRAGMA application_id", app);
  if (rc == SQLITE_OK && *app == 0) {
    int64_t tables = 0;
    rc = query_int(db, "SELECT count(*) FROM sqlite_master", &tables);
    if (rc == SQLITE_OK && tables == 0) {
      rc = exec(db, schema);
      *app = APP_ID;
    }
  }
  if (rc == SQLITE_OK)
    rc = exec(db, "COMMIT");
  if (rc != SQLITE_OK)
    exec(db, "ROLLBACK");
  return rc;
}

/* Checks what the file is before anything is written to it. */
static int check_file(sqlite3 *db, char *msg, size_t n) {
  int64_t app = 0, ver = 0, tables = 0;
  /* The first read: a file that is not SQLite fails here (SQLITE_NOTADB).
   * One read transaction: another process creating the schema meanwhile
   * is seen whole or not at all. */
  int rc = exec(db, "BEGIN");
  if (rc == SQLITE_OK)
    rc = query_int(db, "PRAGMA application_id", &app);
  if (rc == SQLITE_OK)
    rc = query_int(db, "PRAGMA user_version", &ver);
  if (rc == SQLITE_OK)
    rc = query_int(db, "SELECT count(*) FROM sqlite_master", &tables);
  if (!sqlite3_get_autocommit(db))
    exec(db, "COMMIT");
  if (rc != SQLITE_OK) {
    snprintf(msg, n, "not a flurry cache: %s", sqlite3_errmsg(db));
    return FLURRY_EINVALID;
  }
  if (app == 0 && ver == 0 && tables == 0) {
    if (create_schema(db, &app) != SQLITE_OK) {
      snprintf(msg, n, "cannot create the cache: %s", sqlite3_errmsg(db));
      return FLURRY_EINVALID;
    }
    ver = VERSION;
  }
  if (app != APP_ID) {
    snprintf(msg, n, "not a flurry cache (an SQLite database with application_id %lld)",
             (long long)app);
    return FLURRY_EINVALID;
  }
  if (ver != VERSION) {
    snprintf(msg, n, "a flurry cache of version %lld, this flurry reads version %d", (long long)ver,
             VERSION);
    return FLURRY_EINVALID;
  }
  return FLURRY_OK;
}

static int prepare(flurry__store *s) {
  return sqlite3_prepare_v2(s->db, "SELECT " COLS " FROM entries WHERE key = ?1", -1, &s->get,
                            NULL) != SQLITE_OK ||
                 sqlite3_prepare_v2(
                     s->db,
                     "INSERT OR REPLACE INTO entries(key, " COLS ", size, used) "
                     "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)",
                     -1, &s->put, NULL) != SQLITE_OK ||
                 sqlite3_prepare_v2(s->db,
                                    "UPDATE entries SET used = ?3 WHERE key = ?1 AND vary = ?2", -1,
                                    &s->touch, NULL) != SQLITE_OK
             ? -1
             : 0;
}

/* Switches the file to WAL. Another process opening it at the same time
 * may hold the lock the switch needs, and SQLite may answer SQLITE_BUSY
 * without waiting (seen under valgrind with four processes): try again,
 * within the busy timeout, until the switch or the other process made it
 * WAL. */
static int to_wal(sqlite3 *db) {
  int rc = SQLITE_BUSY;
  for (int waited = 0; waited <= BUSY_MS; waited += 20) {
    rc = exec(db, "PRAGMA journal_mode=WAL");
    if (rc == SQLITE_OK || (rc != SQLITE_BUSY && rc != SQLITE_LOCKED))
      return rc;
    sqlite3_sleep(20);
  }
  return rc;
}

int flurry__store_open(flurry__store **out, const char *path, char *msg, size_t msglen) {
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc == SQLITE_NOMEM) {
    sqlite3_close(db);
    return FLURRY_ENOMEM;
  }
  if (rc != SQLITE_OK) {
    snprintf(msg, msglen, "cannot open: %s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return FLURRY_EINVALID;
  }
  sqlite3_busy_timeout(db, BUSY_MS);
  if (check_file(db, msg, msglen) != FLURRY_OK) {
    sqlite3_close(db);
    return FLURRY_EINVALID;
  }
  /* Only now, the file being ours: WAL changes the file's header. */
  if (to_wal(db) != SQLITE_OK || exec(db, "PRAGMA synchronous=NORMAL") != SQLITE_OK)
    return refuse(db, msg, msglen, "cannot switch the cache to WAL mode");
  flurry__store *s = fl_calloc(1, sizeof *s);
  if (s == NULL) {
    sqlite3_close(db);
    return FLURRY_ENOMEM;
  }
  s->db = db;
  fl_list_init(&s->ops);
  if (prepare(s) != 0) {
    snprintf(msg, msglen, "not a flurry cache: %s", sqlite3_errmsg(db));
    flurry__store_close(s);
    return FLURRY_EINVALID;
  }
  *out = s;
  return FLURRY_OK;
}

void flurry__cache_entry_free(flurry__cache_entry *e) {
  if (e == NULL)
    return;
  fl_free(e->vary_names);
  fl_free(e->reason);
  fl_buf_free(&e->hdrs);
  fl_buf_free(&e->body);
  fl_free(e);
}

static void op_free(op *o) {
  flurry__cache_entry_free(o->e);
  fl_free(o);
}

void flurry__store_close(flurry__store *s) {
  if (s == NULL)
    return;
  flurry__store_flush(s, 0);
  sqlite3_finalize(s->get);
  sqlite3_finalize(s->put);
  sqlite3_finalize(s->touch);
  sqlite3_close(s->db);
  fl_free(s);
}

size_t flurry__store_queued(const flurry__store *s) { return s->nops; }

static int blob_to_buf(fl_buf *b, sqlite3_stmt *st, int col) {
  const void *p = sqlite3_column_blob(st, col);
  size_t n = (size_t)sqlite3_column_bytes(st, col);
  int rc = fl_buf_reserve(b, n + 1);
  if (rc != FL_OK)
    return rc;
  if (n)
    memcpy(b->data, p, n);
  b->len = n;
  b->data[n] = '\0';
  return FL_OK;
}

static char *text_dup(sqlite3_stmt *st, int col) {
  const unsigned char *t = sqlite3_column_text(st, col);
  return fl_strdup(t ? (const char *)t : "");
}

/* The row under the cursor as an entry; NULL when out of memory. */
static flurry__cache_entry *row_entry(sqlite3_stmt *st) {
  flurry__cache_entry *e = fl_calloc(1, sizeof *e);
  if (e == NULL)
    return NULL;
  e->hdrs = (fl_buf)FL_BUF_INIT(0);
  e->body = (fl_buf)FL_BUF_INIT(0);
  if (sqlite3_column_bytes(st, 0) == FLURRY_CACHE_KEY)
    memcpy(e->vary, sqlite3_column_blob(st, 0), FLURRY_CACHE_KEY);
  e->vary_names = text_dup(st, 1);
  e->status = sqlite3_column_int(st, 2);
  e->reason = text_dup(st, 3);
  e->nhdrs = (size_t)sqlite3_column_int64(st, 5);
  e->meta.response_time = sqlite3_column_double(st, 7);
  e->meta.initial_age = sqlite3_column_double(st, 8);
  e->meta.lifetime = sqlite3_column_double(st, 9);
  e->meta.swr = sqlite3_column_double(st, 10);
  e->meta.sie = sqlite3_column_double(st, 11);
  int flags = sqlite3_column_int(st, 12);
  e->meta.no_cache = flags & 1;
  e->meta.must_revalidate = (flags >> 1) & 1;
  if (e->vary_names == NULL || e->reason == NULL || blob_to_buf(&e->hdrs, st, 4) != FL_OK ||
      blob_to_buf(&e->body, st, 6) != FL_OK) {
    flurry__cache_entry_free(e);
    return NULL;
  }
  return e;
}

static int queued_for(const flurry__store *s, const unsigned char *key) {
  const fl_list *l;
  FL_LIST_FOREACH(l, &s->ops) {
    if (memcmp(FL_CONTAINER(l, op, link)->key, key, FLURRY_CACHE_KEY) == 0)
      return 1;
  }
  return 0;
}

int flurry__store_get(flurry__store *s, const unsigned char key[FLURRY_CACHE_KEY],
                      int (*match)(const flurry__cache_entry *e, void *ud), void *ud,
                      flurry__cache_entry **out) {
  *out = NULL;
  if (queued_for(s, key)) /* this process's own write of it comes first */
    flurry__store_flush(s, 0);
  sqlite3_stmt *st = s->get;
  sqlite3_bind_blob(st, 1, key, FLURRY_CACHE_KEY, SQLITE_STATIC);
  int rc, err = FLURRY_OK;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && *out == NULL) {
    flurry__cache_entry *e = row_entry(st);
    if (e == NULL) {
      err = FLURRY_ENOMEM;
      break;
    }
    if (match(e, ud))
      *out = e;
    else
      flurry__cache_entry_free(e);
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    err = FLURRY_EINTERNAL;
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return *out ? FLURRY_OK : err;
}

static int queue(flurry__store *s, const unsigned char *key, const unsigned char *vary,
                 flurry__cache_entry *e) {
  op *o = fl_calloc(1, sizeof *o);
  if (o == NULL) {
    flurry__cache_entry_free(e);
    return FLURRY_ENOMEM;
  }
  memcpy(o->key, key, FLURRY_CACHE_KEY);
  memcpy(o->vary, vary, FLURRY_CACHE_KEY);
  o->e = e;
  fl_list_push_back(&s->ops, &o->link);
  s->nops++;
  return FLURRY_OK;
}

int flurry__store_put(flurry__store *s, const unsigned char key[FLURRY_CACHE_KEY],
                      flurry__cache_entry *e) {
  return queue(s, key, e->vary, e);
}

void flurry__store_touch(flurry__store *s, const unsigned char key[FLURRY_CACHE_KEY],
                         const unsigned char vary[FLURRY_CACHE_KEY]) {
  queue(s, key, vary, NULL); /* out of memory: the order is a little off */
}

static int run_op(flurry__store *s, const op *o, int64_t used) {
  sqlite3_stmt *st = o->e ? s->put : s->touch;
  const flurry__cache_entry *e = o->e;
  sqlite3_bind_blob(st, 1, o->key, FLURRY_CACHE_KEY, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, o->vary, FLURRY_CACHE_KEY, SQLITE_STATIC);
  if (e == NULL) {
    sqlite3_bind_int64(st, 3, used);
  } else {
    sqlite3_bind_text(st, 3, e->vary_names, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, e->status);
    sqlite3_bind_text(st, 5, e->reason, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(st, 6, e->hdrs.len ? e->hdrs.data : "", e->hdrs.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, (int64_t)e->nhdrs);
    sqlite3_bind_blob64(st, 8, e->body.len ? e->body.data : "", e->body.len, SQLITE_STATIC);
    sqlite3_bind_double(st, 9, e->meta.response_time);
    sqlite3_bind_double(st, 10, e->meta.initial_age);
    sqlite3_bind_double(st, 11, e->meta.lifetime);
    sqlite3_bind_double(st, 12, e->meta.swr);
    sqlite3_bind_double(st, 13, e->meta.sie);
    sqlite3_bind_int(st, 14, (e->meta.no_cache ? 1 : 0) | (e->meta.must_revalidate ? 2 : 0));
    sqlite3_bind_int64(st, 15, (int64_t)(e->hdrs.len + e->body.len));
    sqlite3_bind_int64(st, 16, used);
  }
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Deletes the least recently used entries while the total is over max. */
static int evict(flurry__store *s, int64_t max) {
  int64_t total = 0;
  int rc = query_int(s->db, "SELECT coalesce(sum(size), 0) FROM entries", &total);
  if (rc != SQLITE_OK || total <= max)
    return rc;
  sqlite3_stmt *sel = NULL, *del = NULL;
  rc = sqlite3_prepare_v2(s->db, "SELECT rowid, size FROM entries ORDER BY used, rowid", -1, &sel,
                          NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(s->db, "DELETE FROM entries WHERE rowid = ?1", -1, &del, NULL);
  fl_buf victims = FL_BUF_INIT(0); /* rowids: no delete while the select runs */
  while (rc == SQLITE_OK && total > max && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(sel, 0);
    total -= sqlite3_column_int64(sel, 1);
    rc = fl_buf_append(&victims, &id, sizeof id) == FL_OK ? SQLITE_OK : SQLITE_NOMEM;
  }
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    rc = SQLITE_OK;
  sqlite3_finalize(sel);
  for (size_t i = 0; rc == SQLITE_OK && i + sizeof(int64_t) <= victims.len; i += sizeof(int64_t)) {
    int64_t id;
    memcpy(&id, victims.data + i, sizeof id);
    sqlite3_bind_int64(del, 1, id);
    rc = sqlite3_step(del) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    sqlite3_reset(del);
  }
  sqlite3_finalize(del);
  fl_buf_free(&victims);
  return rc;
}

void flurry__store_flush(flurry__store *s, int64_t max_bytes) {
  if (s->nops == 0 && max_bytes == 0)
    return;
  /* A write another process holds: wait for it (busy timeout); failing
   * that, the batch is dropped (a cache may forget). */
  int rc = exec(s->db, "BEGIN IMMEDIATE");
  int64_t used = now_ms();
  while (!fl_list_empty(&s->ops)) {
    op *o = FL_CONTAINER(fl_list_pop_front(&s->ops), op, link);
    s->nops--;
    if (rc == SQLITE_OK)
      rc = run_op(s, o, used);
    op_free(o);
  }
  if (rc == SQLITE_OK && max_bytes > 0)
    rc = evict(s, max_bytes);
  if (rc == SQLITE_OK)
    rc = exec(s->db, "COMMIT");
  if (rc != SQLITE_OK && !sqlite3_get_autocommit(s->db))
    exec(s->db, "ROLLBACK");
}
