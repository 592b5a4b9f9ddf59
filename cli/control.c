/* control.c: limits changed while a run is going. `--control FILE` names a
 * file of `key value` lines (rate, burst, host-rate, host-burst,
 * concurrency, retries; '#' starts a comment). It is read at start, again
 * whenever it changes (polled every second) and on SIGHUP. A file with a
 * bad line is refused whole, with a message naming the line. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "fl_args.h"

struct cli_control {
  uv_fs_poll_t poll;
  uv_signal_t hup;
  char *path;
  flurry_client *client;
  int64_t *concurrency;
  int open_handles;
};

typedef struct setting {
  const char *key;
  int64_t value;
} setting;

/* One "key value" line into (option, value); returns 0 or -1 with why. */
static int parse_line(char *line, flurry_opt *opt, int64_t *v, int64_t *conc, const char **why) {
  char *key = line + strspn(line, " \t");
  size_t klen = strcspn(key, " \t=");
  char *val = key + klen;
  val += strspn(val, " \t=");
  val[strcspn(val, " \t\r\n")] = '\0';
  key[klen] = '\0';
  *why = "expected 'rate R|auto|off', 'burst N', 'host-rate R|off', 'host-burst N', "
         "'concurrency N' or 'retries N'";
  *conc = -1;
  if (strcmp(key, "rate") == 0 || strcmp(key, "host-rate") == 0) {
    int host = key[0] == 'h';
    if (strcmp(val, "auto") == 0) {
      *opt = FLURRY_OPT_RATE_AUTO;
      *v = 1;
      return 0;
    }
    *opt = host ? FLURRY_OPT_HOST_RATE_MILLI : FLURRY_OPT_RATE_MILLI;
    if (strcmp(val, "off") == 0 || strcmp(val, "0") == 0) {
      *v = 0;
      return 0;
    }
    return fl_parse_rate_milli(val, v);
  }
  if (strcmp(key, "burst") == 0 || strcmp(key, "host-burst") == 0) {
    *opt = key[0] == 'h' ? FLURRY_OPT_HOST_BURST : FLURRY_OPT_RATE_BURST;
    return fl_parse_i64(val, strlen(val), 1, 1000000, v);
  }
  if (strcmp(key, "retries") == 0) {
    *opt = FLURRY_OPT_MAX_ATTEMPTS;
    int rc = fl_parse_i64(val, strlen(val), 0, 999, v);
    *v += 1;
    return rc;
  }
  if (strcmp(key, "concurrency") == 0) {
    *opt = FLURRY_OPT_MAX_IN_FLIGHT;
    int rc = fl_parse_i64(val, strlen(val), 1, 100000, v);
    *conc = *v;
    return rc;
  }
  return -1;
}

#define MAX_SETTINGS 32

/* Reads the file; applies it only when every line is good. */
static int apply(cli_control *ctl, int at_start) {
  FILE *f = fopen(ctl->path, "r");
  if (f == NULL) {
    fprintf(stderr, "flurry: --control '%s': %s\n", ctl->path, strerror(errno));
    return -1;
  }
  flurry_opt opts[MAX_SETTINGS];
  int64_t vals[MAX_SETTINGS], conc = -1;
  size_t n = 0;
  char line[512];
  int lineno = 0, bad = 0;
  while (!bad && fgets(line, sizeof line, f) != NULL) {
    lineno++;
    line[strcspn(line, "#\r\n")] = '\0';
    if (line[strspn(line, " \t")] == '\0')
      continue;
    const char *why;
    int64_t c;
    if (n == MAX_SETTINGS || parse_line(line, &opts[n], &vals[n], &c, &why) != 0) {
      fprintf(stderr, "flurry: --control '%s' line %d: %s; %s\n", ctl->path, lineno,
              n == MAX_SETTINGS ? "too many settings" : why,
              at_start ? "not started" : "the file is ignored, limits unchanged");
      bad = 1;
      break;
    }
    if (c > 0)
      conc = c;
    n++;
  }
  fclose(f);
  if (bad)
    return -1;
  for (size_t i = 0; i < n; i++) {
    if (opts[i] == FLURRY_OPT_RATE_MILLI || opts[i] == FLURRY_OPT_HOST_RATE_MILLI)
      flurry_client_set(ctl->client, FLURRY_OPT_RATE_AUTO, 0);
    flurry_client_set(ctl->client, opts[i], vals[i]);
  }
  if (conc > 0)
    *ctl->concurrency = conc;
  if (!at_start)
    fprintf(stderr, "flurry: --control '%s': %zu settings applied\n", ctl->path, n);
  return 0;
}

static void on_change(uv_fs_poll_t *h, int status, const uv_stat_t *prev, const uv_stat_t *curr) {
  (void)prev;
  (void)curr;
  if (status == 0)
    apply(h->data, 0);
}

static void on_hup(uv_signal_t *h, int signum) {
  (void)signum;
  apply(h->data, 0);
}

int cli_control_start(cli_control **out, uv_loop_t *loop, const char *path, flurry_client *client,
                      int64_t *concurrency) {
  cli_control *ctl = fl_calloc(1, sizeof *ctl);
  if (ctl == NULL)
    return -1;
  ctl->path = fl_strdup(path);
  ctl->client = client;
  ctl->concurrency = concurrency;
  if (ctl->path == NULL || apply(ctl, 1) != 0) {
    fl_free(ctl->path);
    fl_free(ctl);
    return -1;
  }
  uv_fs_poll_init(loop, &ctl->poll);
  uv_signal_init(loop, &ctl->hup);
  ctl->poll.data = ctl->hup.data = ctl;
  uv_fs_poll_start(&ctl->poll, on_change, ctl->path, 1000);
  uv_signal_start(&ctl->hup, on_hup, SIGHUP);
  *out = ctl;
  return 0;
}

static void on_closed(uv_handle_t *h) {
  cli_control *ctl = h->data;
  if (--ctl->open_handles == 0) { /* the two close in no set order */
    fl_free(ctl->path);
    fl_free(ctl);
  }
}

void cli_control_close(cli_control *ctl) {
  if (ctl == NULL)
    return;
  ctl->open_handles = 2;
  uv_close((uv_handle_t *)&ctl->poll, on_closed);
  uv_close((uv_handle_t *)&ctl->hup, on_closed);
}
