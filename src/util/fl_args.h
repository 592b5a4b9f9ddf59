/* fl_args.h: command-line options from one table, for the flurry command
 * and its subcommands (mock, mock send-webhook, listen, ws). A row per
 * option gives getopt_long's table, the --help lines and the dispatch;
 * the value parsers name the option in every message. Part of the helper
 * layer, but only the programs use it: the library never prints. */
#ifndef FL_ARGS_H
#define FL_ARGS_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The first member of a program's own row type (which adds what its
 * dispatch needs: a setter, a field, a range). */
typedef struct fl_arg {
  const char *name;    /* long name without "--"; NULL: a line of text in --help */
  int short_name;      /* 'c', or 0 */
  const char *metavar; /* "N", "DUR"...; NULL: the option takes no value */
  const char *help;    /* after the option's column, '\n' between lines; NULL: hidden */
  int help_only;       /* 1: another --help line of an option named in an earlier row */
} fl_arg;

#define FL_ARGS_MAX 128

typedef struct fl_args {
  const char *prog; /* "flurry", "flurry mock": the prefix of messages */
  const char *rows; /* the first row's fl_arg */
  size_t n, stride; /* rows, and the size of one */
  struct option longopts[FL_ARGS_MAX + 1];
  char shortopts[2 * FL_ARGS_MAX + 2];
  int in_order; /* positional arguments come back in order (getopt's "-") */
} fl_args;

/* Builds getopt_long's tables from n rows of stride bytes each, the
 * first's fl_arg at rows. Returns 0, or -1 when there are more than
 * FL_ARGS_MAX options (a bug in the table). */
int fl_args_init(fl_args *a, const char *prog, const fl_arg *rows, size_t n, size_t stride,
                 int in_order);
#define FL_ARGS_INIT(a, prog, table, in_order)                                                     \
  fl_args_init((a), (prog), &(table)[0].arg, sizeof(table) / sizeof((table)[0]),                   \
               sizeof((table)[0]), (in_order))
/* Starts parsing argv again (getopt's state is global; its own messages
 * are off). */
void fl_args_start(fl_args *a);
/* The next argument: 0 for an option (*row its row, *arg its value or
 * NULL), 1 for a positional argument (in_order) in *arg, -1 at the end,
 * or '?' after a message on stderr ("PROG: unknown option '--x'", "PROG:
 * --name needs a value"). */
int fl_args_next(fl_args *a, int argc, char **argv, const fl_arg **row, const char **arg);
/* Called for each option (row and value, NULL for a flag) and, in order,
 * each positional argument (row NULL); returns 0 to go on. */
typedef int (*fl_args_fn)(const fl_arg *row, const char *value, void *ud);
/* Parses argv from the start with fn. Returns 0, fn's first non-zero
 * answer, or 2 after a message (an unknown option, a missing value, an
 * argument that is not an option when positional ones are not taken). */
int fl_args_parse(fl_args *a, int argc, char **argv, fl_args_fn fn, void *ud);
/* Writes the rows' help: "  -c, --name META" padded to column 26 (or two
 * spaces after a longer one), then the help, continuation lines at column
 * 26; a text row as it is. */
void fl_args_help(const fl_args *a, FILE *out);

/* Prints "PROG: --name 'value': why (see PROG --help)" and returns 2. */
int fl_args_bad(const fl_args *a, const fl_arg *row, const char *value, const char *why);

/* Value parsers: 0, or -1 (nothing written). */
int fl_parse_duration_ms(const char *s, int64_t *ms);   /* 10s, 250ms, 2m, 1h, seconds */
int fl_parse_size(const char *s, int64_t *bytes);       /* 1048576, 64k, 10M, 1G (binary) */
int fl_parse_rate_milli(const char *s, int64_t *milli); /* 20/s, 3000/min, 100/h, per second */

/* The same with the range [min, max] and a message naming the option when
 * the value is not one: 0, or 2 after the message. The message gives the
 * range in the value's own units (durations as 1h, 500ms...). */
int fl_args_int(const fl_args *a, const fl_arg *row, const char *s, int64_t min, int64_t max,
                int64_t *out);
int fl_args_duration(const fl_args *a, const fl_arg *row, const char *s, int64_t min, int64_t max,
                     int64_t *out);
int fl_args_size(const fl_args *a, const fl_arg *row, const char *s, int64_t min, int64_t max,
                 int64_t *out);

#endif
