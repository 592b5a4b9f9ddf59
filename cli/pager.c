/* pager.c: a level's --paginate SPEC and its jq expressions:
 *   link              the Link header's rel="next" (rel="last": all at once)
 *   EXPR              the next URL from the body (null or "" ends)
 *   NAME=EXPR         a cursor from the body, put in {NAME} (or ?NAME=)
 *   NAME=START..      a page number from START, one more each page
 *   NAME=START..+STEP an offset from START, STEP more each page */
#include <string.h>

#include "cli.h"

static int is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

/* "START.." or "START..+STEP": 1 when it is one, 0 when not, -1 when it
 * looks like one but is broken. */
static int parse_range(cli_pager *p, const char *s) {
  const char *dots = strstr(s, "..");
  if (dots == NULL || dots == s ||
      fl_parse_i64(s, (size_t)(dots - s), 0, INT64_MAX / 4, &p->start) != 0)
    return 0;
  const char *rest = dots + 2;
  p->step = 1;
  if (*rest == '\0')
    return 1;
  if (*rest != '+' || fl_parse_i64(rest + 1, strlen(rest + 1), 1, INT64_MAX / 4, &p->step) != 0)
    return -1;
  return 1;
}

static int parse_spec(cli_pager *p, const char *spec, const char *opt, char *err, size_t errlen) {
  if (spec[0] == '\0') {
    snprintf(err, errlen, "%s '': expected link, EXPR, NAME=EXPR or NAME=START..", opt);
    return -1;
  }
  if (strcmp(spec, "link") == 0) {
    p->kind = PAGER_LINK;
    return 0;
  }
  size_t n = 0;
  while (is_name_char(spec[n]))
    n++;
  if (n == 0 || spec[n] != '=' || spec[n + 1] == '=') {
    p->kind = PAGER_URL;
    return cli_expr_compile(&p->next, opt, spec, err, errlen);
  }
  if (n >= sizeof p->var) {
    snprintf(err, errlen, "%s '%s': the name is too long", opt, spec);
    return -1;
  }
  memcpy(p->var, spec, n);
  p->var[n] = '\0';
  int range = parse_range(p, spec + n + 1);
  if (range < 0) {
    snprintf(err, errlen, "%s '%s': expected NAME=START.. or NAME=START..+STEP", opt, spec);
    return -1;
  }
  if (range) {
    p->kind = PAGER_NUMBER;
    return 0;
  }
  p->kind = PAGER_CURSOR;
  return cli_expr_compile(&p->next, opt, spec + n + 1, err, errlen);
}

static int compile(cli_expr **e, const char *option, const char *src, char *err, size_t errlen) {
  return src ? cli_expr_compile(e, option, src, err, errlen) : 0;
}

int cli_pager_init(cli_pager *p, const cli_level *lv, char *err, size_t errlen) {
  memset(p, 0, sizeof *p);
  p->max_pages = lv->max_pages;
  const char *opt = lv->graphql_pages ? "--graphql-pages" : "--paginate";
  if (lv->paginate && parse_spec(p, lv->paginate, opt, err, errlen) != 0)
    return -1;
  if (compile(&p->items, "--items", lv->items, err, errlen) != 0 ||
      compile(&p->stop_when, "--stop-when", lv->stop_when, err, errlen) != 0 ||
      compile(&p->total, "--total", lv->total, err, errlen) != 0) {
    cli_pager_free(p);
    return -1;
  }
  return 0;
}

void cli_pager_free(cli_pager *p) {
  cli_expr_free(p->next);
  cli_expr_free(p->items);
  cli_expr_free(p->stop_when);
  cli_expr_free(p->total);
  memset(p, 0, sizeof *p);
}
