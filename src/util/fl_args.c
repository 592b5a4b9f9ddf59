/* fl_args.c: command-line options from one table (see fl_args.h). */
#include "fl_args.h"

#include <stdlib.h>
#include <string.h>

#include "fl.h"

#define HELP_COL 26

static const fl_arg *row_at(const fl_args *a, size_t i) {
  return (const fl_arg *)(const void *)(a->rows + i * a->stride);
}

int fl_args_init(fl_args *a, const char *prog, const fl_arg *rows, size_t n, size_t stride,
                 int in_order) {
  memset(a, 0, sizeof *a);
  a->prog = prog;
  a->rows = (const char *)rows;
  a->n = n;
  a->stride = stride;
  a->in_order = in_order;
  size_t k = 0, s = 0;
  if (in_order)
    a->shortopts[s++] = '-';
  for (size_t i = 0; i < n; i++) {
    const fl_arg *r = row_at(a, i);
    if (r->name == NULL || r->help_only)
      continue;
    if (k == FL_ARGS_MAX)
      return -1;
    a->longopts[k].name = r->name;
    a->longopts[k].has_arg = r->metavar ? required_argument : no_argument;
    a->longopts[k].flag = NULL;
    a->longopts[k++].val = 256 + (int)i;
    if (r->short_name) {
      a->shortopts[s++] = (char)r->short_name;
      if (r->metavar)
        a->shortopts[s++] = ':';
    }
  }
  return 0;
}

void fl_args_start(fl_args *a) {
  (void)a;
  optind = 1;
  opterr = 0; /* fl_args_next says what was wrong, with the program's name */
}

/* getopt refused argv[optind - 1]: a value missing, or no such option. */
static int refused(const fl_args *a, char **argv) {
  const char *what = argv[optind - 1];
  if (optopt >= 256 && (size_t)(optopt - 256) < a->n)
    fprintf(stderr, "%s: --%s needs a value (see %s --help)\n", a->prog,
            row_at(a, (size_t)(optopt - 256))->name, a->prog);
  else if (optopt > 0 && optopt < 256 && strchr(a->shortopts, optopt))
    fprintf(stderr, "%s: -%c needs a value (see %s --help)\n", a->prog, optopt, a->prog);
  else if (optopt > 0 && optopt < 256)
    fprintf(stderr, "%s: unknown option '-%c' (see %s --help)\n", a->prog, optopt, a->prog);
  else
    fprintf(stderr, "%s: unknown option '%s' (see %s --help)\n", a->prog, what, a->prog);
  return '?';
}

int fl_args_next(fl_args *a, int argc, char **argv, const fl_arg **row, const char **arg) {
  int ch = getopt_long(argc, argv, a->shortopts, a->longopts, NULL);
  *arg = optarg;
  *row = NULL;
  if (ch == '?')
    return refused(a, argv);
  if (ch == -1 || ch == 1)
    return ch;
  if (ch >= 256 && (size_t)(ch - 256) < a->n) {
    *row = row_at(a, (size_t)(ch - 256));
    return 0;
  }
  for (size_t i = 0; i < a->n; i++) /* a short name: its row */
    if (row_at(a, i)->name && !row_at(a, i)->help_only && row_at(a, i)->short_name == ch) {
      *row = row_at(a, i);
      return 0;
    }
  return '?';
}

static void help_row(const fl_arg *r, FILE *out) {
  char col[128];
  int len = snprintf(col, sizeof col, "  %c%c%s--%s%s%s", r->short_name ? '-' : ' ',
                     r->short_name ? r->short_name : ' ', r->short_name ? ", " : "  ", r->name,
                     r->metavar ? " " : "", r->metavar ? r->metavar : "");
  fputs(col, out);
  int pad = len < HELP_COL - 1 ? HELP_COL - len : 2;
  for (const char *p = r->help; *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    fprintf(out, "%*s%.*s\n", pad, "", (int)n, p);
    pad = HELP_COL;
    p += n + (nl != NULL);
  }
}

void fl_args_help(const fl_args *a, FILE *out) {
  for (size_t i = 0; i < a->n; i++) {
    const fl_arg *r = row_at(a, i);
    if (r->name == NULL)
      fputs(r->help, out);
    else if (r->help)
      help_row(r, out);
  }
}

int fl_args_bad(const fl_args *a, const fl_arg *r, const char *value, const char *why) {
  fprintf(stderr, "%s: --%s '%s': %s (see %s --help)\n", a->prog, r ? r->name : "?",
          value ? value : "", why, a->prog);
  return 2;
}

int fl_args_parse(fl_args *a, int argc, char **argv, fl_args_fn fn, void *ud) {
  const fl_arg *row;
  const char *v;
  int ch, rc = 0;
  fl_args_start(a);
  while (rc == 0 && (ch = fl_args_next(a, argc, argv, &row, &v)) != -1)
    rc = ch == '?' ? 2 : fn(ch == 1 ? NULL : row, v, ud);
  while (rc == 0 && optind < argc) { /* after "--", or any when not in order */
    if (!a->in_order) {
      fprintf(stderr, "%s: unexpected argument '%s' (see %s --help)\n", a->prog, argv[optind],
              a->prog);
      return 2;
    }
    rc = fn(NULL, argv[optind++], ud);
  }
  return rc;
}

/* ---- values ---- */

int fl_parse_duration_ms(const char *s, int64_t *ms) {
  char *end = NULL;
  double v = strtod(s, &end);
  if (end == s || v < 0 || v > 1e12)
    return -1;
  double mul;
  if (strcmp(end, "ms") == 0)
    mul = 1;
  else if (strcmp(end, "s") == 0 || *end == '\0')
    mul = 1000;
  else if (strcmp(end, "m") == 0)
    mul = 60000;
  else if (strcmp(end, "h") == 0)
    mul = 3600000;
  else
    return -1;
  *ms = (int64_t)(v * mul + 0.5);
  return 0;
}

int fl_parse_rate_milli(const char *s, int64_t *milli) {
  char *end = NULL;
  double v = strtod(s, &end);
  if (end == s || !(v > 0) || v > 1e6)
    return -1;
  double per;
  if (*end == '\0' || strcmp(end, "/s") == 0 || strcmp(end, "/sec") == 0)
    per = 1;
  else if (strcmp(end, "/m") == 0 || strcmp(end, "/min") == 0)
    per = 60;
  else if (strcmp(end, "/h") == 0 || strcmp(end, "/hour") == 0)
    per = 3600;
  else
    return -1;
  double m = v * 1000.0 / per;
  if (m < 1)
    return -1;
  *milli = (int64_t)(m + 0.5);
  return 0;
}

int fl_parse_size(const char *s, int64_t *bytes) {
  char *end = NULL;
  double v = strtod(s, &end);
  if (end == s || v < 0)
    return -1;
  double mul = 1;
  if (*end == 'k' || *end == 'K')
    mul = 1024.0;
  else if (*end == 'm' || *end == 'M')
    mul = 1024.0 * 1024;
  else if (*end == 'g' || *end == 'G')
    mul = 1024.0 * 1024 * 1024;
  else if (*end != '\0')
    return -1;
  if (*end && end[1] != '\0' && strcmp(end + 1, "B") != 0 && strcmp(end + 1, "iB") != 0)
    return -1;
  if (v * mul > 1e13)
    return -1;
  *bytes = (int64_t)(v * mul);
  return 0;
}

/* A kind of value: its parser, what it is called, and its units for
 * messages (the largest whole one is used: 3600000 ms "1h"). */
typedef struct kind {
  int (*parse)(const char *s, int64_t *out);
  const char *what;
  int64_t mul[4];
  const char *unit[4];
} kind;

static int parse_int(const char *s, int64_t *out) {
  return fl_parse_i64(s, strlen(s), INT64_MIN, INT64_MAX, out);
}

static const kind k_int = {parse_int, "a whole number", {1, 1, 1, 1}, {"", "", "", ""}};
static const kind k_duration = {fl_parse_duration_ms,
                                "a duration (500ms, 10s, 2m, 1h)",
                                {1, 1000, 60000, 3600000},
                                {"ms", "s", "m", "h"}};
static const kind k_size = {fl_parse_size,
                            "a size (bytes, or with k, M, G)",
                            {1, 1024, 1024 * 1024, 1024 * 1024 * 1024},
                            {"", "k", "M", "G"}};

static const char *unit_str(char *buf, size_t cap, int64_t v, const kind *k) {
  int i = 3;
  while (i > 0 && (v == 0 || v % k->mul[i] != 0))
    i--;
  snprintf(buf, cap, "%lld%s", (long long)(v / k->mul[i]), k->unit[i]);
  return buf;
}

static int ranged(const fl_args *a, const fl_arg *row, const char *s, int64_t min, int64_t max,
                  int64_t *out, const kind *k) {
  char lo[32], hi[32], why[160];
  int64_t v;
  if (k->parse(s, &v) == 0 && v >= min && v <= max) {
    *out = v;
    return 0;
  }
  snprintf(why, sizeof why, "expected %s from %s to %s", k->what, unit_str(lo, sizeof lo, min, k),
           unit_str(hi, sizeof hi, max, k));
  return fl_args_bad(a, row, s, why);
}

int fl_args_int(const fl_args *a, const fl_arg *row, const char *s, int64_t min, int64_t max,
                int64_t *out) {
  return ranged(a, row, s, min, max, out, &k_int);
}

int fl_args_duration(const fl_args *a, const fl_arg *row, const char *s, int64_t min, int64_t max,
                     int64_t *out) {
  return ranged(a, row, s, min, max, out, &k_duration);
}

int fl_args_size(const fl_args *a, const fl_arg *row, const char *s, int64_t min, int64_t max,
                 int64_t *out) {
  return ranged(a, row, s, min, max, out, &k_size);
}
