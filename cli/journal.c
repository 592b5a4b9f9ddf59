/* journal.c: --resume. The output file is the journal: every record is
 * appended whole and begins {"key":"<16 hex>","ok":true|false, so a restart
 * reads back which requests are done without parsing JSON. A sidecar
 * FILE.resume holds the options that shape requests; a rerun with other
 * such options is refused, since its keys would not mean the same requests.
 *
 * Why the output and not a separate journal: one append per record is the
 * cheapest durable write there is, and a record and its "done" mark can
 * never disagree. The sidecar is written once, at the start.
 *
 * A paginated line (one level, pages one at a time) also leaves a
 * checkpoint after each page's records: {"key":...,"ok":true,...,
 * "chain":"<its done key>","next_page":N,"url":U | "var":V}. The last one
 * of a line without its done marker says where to start again. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jv.h>

#include "cli.h"

#define KEY_PREFIX "{\"key\":\""
#define KEY_PREFIX_LEN 8
#define CHUNK (256 * 1024)

typedef struct checkpoint {
  uint64_t chain;
  int64_t page;
  char *url, *var; /* one of them */
} checkpoint;

struct cli_journal {
  uint64_t *done; /* sorted keys of finished requests */
  size_t ndone, cap;
  checkpoint *cps; /* sorted by chain: the last of each unfinished chain */
  size_t ncps, cpcap;
  uint64_t failed_dropped; /* failed records removed for --retry-failed */
  int fd;
};

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* 16 hex digits at p. 0 or -1. */
static int hex16(const char *p, uint64_t *out) {
  uint64_t k = 0;
  for (size_t i = 0; i < 16; i++) {
    int v = hexval(p[i]);
    if (v < 0)
      return -1;
    k = k << 4 | (uint64_t)v;
  }
  *out = k;
  return 0;
}

/* Reads the key and ok flag at the start of a record line. 0 or -1. */
static int parse_head(const char *p, size_t n, uint64_t *key, int *ok) {
  if (n < KEY_PREFIX_LEN + 16 + 7 || memcmp(p, KEY_PREFIX, KEY_PREFIX_LEN) != 0)
    return -1;
  uint64_t k;
  if (hex16(p + KEY_PREFIX_LEN, &k) != 0)
    return -1;
  const char *rest = p + KEY_PREFIX_LEN + 16;
  size_t left = n - KEY_PREFIX_LEN - 16;
  if (left >= 11 && memcmp(rest, "\",\"ok\":true", 11) == 0)
    *ok = 1;
  else if (left >= 12 && memcmp(rest, "\",\"ok\":false", 12) == 0)
    *ok = 0;
  else
    return -1;
  *key = k;
  return 0;
}

static int push_key(cli_journal *j, uint64_t key) {
  if (j->ndone == j->cap) {
    size_t cap = j->cap ? j->cap * 2 : 4096;
    uint64_t *d = fl_realloc(j->done, cap * sizeof *d);
    if (d == NULL)
      return -1;
    j->done = d;
    j->cap = cap;
  }
  j->done[j->ndone++] = key;
  return 0;
}

/* A checkpoint line (see the top): kept, the latest of its chain wins. */
static int push_checkpoint(cli_journal *j, const char *p, size_t n) {
  jv v = cli_jv_parse(p, n);
  jv chain = jv_object_get(jv_copy(v), jv_string("chain"));
  jv page = jv_object_get(jv_copy(v), jv_string("next_page"));
  jv url = jv_object_get(jv_copy(v), jv_string("url"));
  jv var = jv_object_get(jv_copy(v), jv_string("var"));
  int rc = 0;
  uint64_t key;
  if (jv_get_kind(chain) == JV_KIND_STRING && strlen(jv_string_value(chain)) == 16 &&
      hex16(jv_string_value(chain), &key) == 0 && jv_get_kind(page) == JV_KIND_NUMBER) {
    if (j->ncps == j->cpcap) {
      size_t cap = j->cpcap ? j->cpcap * 2 : 64;
      checkpoint *c = fl_realloc(j->cps, cap * sizeof *c);
      if (c == NULL)
        rc = -1;
      else
        j->cps = c, j->cpcap = cap;
    }
    if (rc == 0) {
      checkpoint *c = &j->cps[j->ncps++];
      c->chain = key;
      c->page = (int64_t)jv_number_value(page);
      c->url = jv_get_kind(url) == JV_KIND_STRING ? fl_strdup(jv_string_value(url)) : NULL;
      c->var = jv_get_kind(var) == JV_KIND_STRING ? fl_strdup(jv_string_value(var)) : NULL;
    }
  }
  jv_free(v);
  jv_free(chain);
  jv_free(page);
  jv_free(url);
  jv_free(var);
  return rc;
}

static int cmp_checkpoint(const void *a, const void *b) {
  const checkpoint *x = a, *y = b;
  if (x->chain != y->chain)
    return x->chain < y->chain ? -1 : 1;
  return x->page < y->page ? -1 : x->page > y->page;
}

static void checkpoint_free(checkpoint *c) {
  fl_free(c->url);
  fl_free(c->var);
}

/* Keeps the last checkpoint of each chain not done. */
static void keep_last_checkpoints(cli_journal *j) {
  size_t out = 0;
  if (j->ncps > 1)
    qsort(j->cps, j->ncps, sizeof *j->cps, cmp_checkpoint);
  for (size_t i = 0; i < j->ncps; i++) {
    int last = i + 1 == j->ncps || j->cps[i + 1].chain != j->cps[i].chain;
    if (last && !cli_journal_done(j, j->cps[i].chain))
      j->cps[out++] = j->cps[i];
    else
      checkpoint_free(&j->cps[i]);
  }
  j->ncps = out;
}

/* 1 when the line is a checkpoint (see the top). */
static int is_checkpoint(const char *p, size_t n) {
  static const char tag[] = "\"next_page\":";
  for (const char *q = p; (q = memchr(q, '"', n - (size_t)(q - p))) != NULL; q++)
    if (n - (size_t)(q - p) >= sizeof tag - 1 && memcmp(q, tag, sizeof tag - 1) == 0)
      return 1;
  return 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Walks the file's complete lines. For each record: its key joins the done
 * set (failed ones too, unless retry_failed), and with keep_fd >= 0 the
 * lines kept are copied there. *good_end is where the last whole record
 * ends: anything after it is a torn line. Returns 0, or -1 with err set. */
static int scan(cli_journal *j, int fd, int retry_failed, int keep_fd, off_t *good_end, char *err,
                size_t errlen) {
  char *buf = fl_malloc(CHUNK);
  fl_buf line = FL_BUF_INIT(0);
  uint64_t lineno = 0;
  off_t off = 0;
  int rc = 0;
  *good_end = 0;
  for (ssize_t r; rc == 0 && buf && (r = pread(fd, buf, CHUNK, off)) > 0; off += r) {
    for (ssize_t i = 0; rc == 0 && i < r;) {
      char *nl = memchr(buf + i, '\n', (size_t)(r - i));
      size_t take = nl ? (size_t)(nl - (buf + i)) + 1 : (size_t)(r - i);
      if (fl_buf_append(&line, buf + i, take) != FL_OK)
        rc = -1;
      i += (ssize_t)take;
      if (!nl || rc)
        continue;
      lineno++;
      uint64_t key;
      int ok;
      if (parse_head(line.data, line.len, &key, &ok) != 0) {
        snprintf(err, errlen, "line %llu is not a flurry --resume record",
                 (unsigned long long)lineno);
        rc = -1;
      } else if (ok || !retry_failed) {
        rc = push_key(j, key);
        if (rc == 0 && is_checkpoint(line.data, line.len))
          rc = push_checkpoint(j, line.data, line.len);
        if (rc == 0 && keep_fd >= 0 && write(keep_fd, line.data, line.len) != (ssize_t)line.len)
          rc = -1;
      } else {
        j->failed_dropped++;
      }
      *good_end = off + i;
      fl_buf_reset(&line);
    }
  }
  fl_free(buf);
  fl_buf_free(&line);
  if (rc == 0 && buf == NULL)
    rc = -1;
  if (rc != 0 && err[0] == '\0')
    snprintf(err, errlen, "reading the journal: %s", strerror(errno ? errno : ENOMEM));
  return rc;
}

/* FILE.resume: the options that shape requests. Returns 0 if it matches or
 * was created, -1 with err set. */
static int check_sidecar(const char *path, const char *fingerprint, int fresh, char *err,
                         size_t errlen) {
  fl_buf side = FL_BUF_INIT(0);
  fl_buf_printf(&side, "%s.resume", path);
  FILE *f = fopen(side.data, "r");
  int rc = 0;
  if (f) {
    char old[8192];
    size_t n = fread(old, 1, sizeof old - 1, f);
    old[n] = '\0';
    fclose(f);
    if (strcmp(old, fingerprint) != 0) {
      snprintf(err, errlen,
               "the options that shape requests changed since %s was written "
               "(see %s: it holds the old ones); refusing to resume (use another -o)",
               path, side.data);
      rc = -1;
    }
  } else if (!fresh) {
    snprintf(err, errlen,
             "%s exists but %s does not: it was not written by flurry "
             "--resume (remove it or use another -o)",
             path, side.data);
    rc = -1;
  } else {
    fl_buf tmp = FL_BUF_INIT(0);
    fl_buf_printf(&tmp, "%s.tmp", side.data);
    FILE *w = fopen(tmp.data, "w");
    if (w == NULL || fputs(fingerprint, w) < 0 || fclose(w) != 0 ||
        rename(tmp.data, side.data) != 0) {
      snprintf(err, errlen, "cannot write %s: %s", side.data, strerror(errno));
      rc = -1;
    }
    fl_buf_free(&tmp);
  }
  fl_buf_free(&side);
  return rc;
}

/* --retry-failed: the file is rewritten without its failed records (into
 * FILE.tmp, then renamed over), so each id keeps one final record. */
static int drop_failed(cli_journal *j, const char *path, int fd, char *err, size_t errlen) {
  fl_buf tmp = FL_BUF_INIT(0);
  fl_buf_printf(&tmp, "%s.tmp", path);
  int out = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  off_t end;
  int rc = out < 0 ? -1 : scan(j, fd, 1, out, &end, err, errlen);
  if (rc == 0 && (fdatasync(out) != 0 || rename(tmp.data, path) != 0))
    rc = -1;
  if (rc != 0 && err[0] == '\0')
    snprintf(err, errlen, "rewriting %s: %s", path, strerror(errno));
  if (out >= 0)
    close(out);
  fl_buf_free(&tmp);
  return rc;
}

int cli_journal_open(cli_journal **out, const char *path, const char *fingerprint, int retry_failed,
                     char *err, size_t errlen) {
  err[0] = '\0';
  cli_journal *j = fl_calloc(1, sizeof *j);
  if (j == NULL)
    return -1;
  j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  struct stat st;
  int rc = j->fd < 0 || fstat(j->fd, &st) != 0 ? -1 : 0;
  if (rc != 0)
    snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
  if (rc == 0)
    rc = check_sidecar(path, fingerprint, st.st_size == 0, err, errlen);
  off_t good_end = 0;
  if (rc == 0)
    rc = scan(j, j->fd, 0, -1, &good_end, err, errlen);
  if (rc == 0 && good_end < st.st_size) {
    fprintf(stderr, "flurry: %s: removing a torn last line (%lld bytes)\n", path,
            (long long)(st.st_size - good_end));
    rc = ftruncate(j->fd, good_end);
  }
  if (rc == 0 && retry_failed) {
    j->ndone = 0; /* read again, without the failed records */
    for (size_t i = 0; i < j->ncps; i++)
      checkpoint_free(&j->cps[i]);
    j->ncps = 0;
    rc = drop_failed(j, path, j->fd, err, errlen);
    if (rc == 0) { /* the renamed file is the journal now */
      close(j->fd);
      j->fd = open(path, O_RDWR | O_CLOEXEC);
      rc = j->fd < 0 ? -1 : 0;
    }
  }
  if (rc == 0 && j->ndone > 0)
    qsort(j->done, j->ndone, sizeof *j->done, cmp_u64);
  if (rc == 0)
    keep_last_checkpoints(j);
  if (rc == 0 && lseek(j->fd, 0, SEEK_END) < 0)
    rc = -1;
  if (rc != 0) {
    if (err[0] == '\0')
      snprintf(err, errlen, "%s: %s", path, strerror(errno));
    cli_journal_close(j);
    return -1;
  }
  *out = j;
  return 0;
}

int cli_journal_checkpoint(const cli_journal *j, uint64_t chain, int64_t *page, const char **url,
                           const char **var) {
  size_t lo = 0, hi = j->ncps;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (j->cps[mid].chain < chain)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == j->ncps || j->cps[lo].chain != chain)
    return -1;
  *page = j->cps[lo].page;
  *url = j->cps[lo].url;
  *var = j->cps[lo].var;
  return 0;
}

int cli_journal_fd(const cli_journal *j) { return j->fd; }

size_t cli_journal_count(const cli_journal *j) { return j->ndone; }

uint64_t cli_journal_dropped(const cli_journal *j) { return j->failed_dropped; }

int cli_journal_done(const cli_journal *j, uint64_t key) {
  size_t lo = 0, hi = j->ndone;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (j->done[mid] < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < j->ndone && j->done[lo] == key;
}

void cli_journal_close(cli_journal *j) {
  if (j == NULL)
    return;
  if (j->fd >= 0)
    close(j->fd);
  for (size_t i = 0; i < j->ncps; i++)
    checkpoint_free(&j->cps[i]);
  fl_free(j->cps);
  fl_free(j->done);
  fl_free(j);
}
