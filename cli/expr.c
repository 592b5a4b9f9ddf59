/* expr.c: jq expressions (libjq). Each one is compiled once, at start, so a
 * bad one stops the run before any request is sent; running one collects
 * every output, or fails whole with a message that names the option, the
 * expression and the offending input. */
#include <jq.h>
#include <string.h>

#include "cli.h"

#define INPUT_SHOWN 160 /* bytes of the offending input quoted in a message */

struct cli_expr {
  jq_state *jq;
  char *option; /* "--items" */
  char *src;    /* ".[]" */
  fl_buf errs;  /* compile messages */
};

/* libjq reports compile errors through this callback, one message each. */
static void on_jq_error(void *ud, jv msg) {
  fl_buf *errs = ud;
  jv text = jv_get_kind(msg) == JV_KIND_STRING ? jv_copy(msg) : jv_dump_string(jv_copy(msg), 0);
  const char *s = jv_string_value(text);
  if (strncmp(s, "jq: ", 4) == 0)
    s += 4;
  if (strncmp(s, "error: ", 7) == 0)
    s += 7;
  if (strstr(s, "compile error") == NULL || errs->len == 0) { /* skip "1 compile error" */
    fl_buf_printf(errs, "%s", errs->len ? "; " : "");
    for (; *s; s++) /* one line: the message's new lines become spaces */
      fl_buf_putc(errs, *s == '\n' ? ' ' : *s);
    while (errs->len && errs->data[errs->len - 1] == ' ')
      errs->data[--errs->len] = '\0';
  }
  jv_free(text);
  jv_free(msg);
}

/* After compiling, errors come back from jq_next: nothing to collect. */
static void drop_jq_error(void *ud, jv msg) {
  (void)ud;
  jv_free(msg);
}

/* debug: on stderr, as jq prints it. */
static void on_jq_debug(void *ud, jv value) {
  (void)ud;
  jv s = jv_dump_string(JV_ARRAY(jv_string("DEBUG:"), value), 0);
  fprintf(stderr, "%s\n", jv_string_value(s));
  jv_free(s);
}

/* input, inputs: an expression sees one response at a time. As jq's own
 * reader at the end: invalid without a message ("No more inputs"). */
static jv no_input(jq_state *jq, void *ud) {
  (void)jq;
  (void)ud;
  return jv_invalid();
}

int cli_expr_compile(cli_expr **out, const char *option, const char *src, char *err,
                     size_t errlen) {
  cli_expr *e = fl_calloc(1, sizeof *e);
  if (e == NULL || (e->jq = jq_init()) == NULL) {
    snprintf(err, errlen, "%s: out of memory", option);
    cli_expr_free(e);
    return -1;
  }
  e->option = fl_strdup(option);
  e->src = fl_strdup(src);
  jq_set_error_cb(e->jq, on_jq_error, &e->errs);
  /* libjq 1.6 leaves these unset (garbage): debug or input would crash */
  jq_set_debug_cb(e->jq, on_jq_debug, NULL);
  jq_set_input_cb(e->jq, no_input, NULL);
  /* no module search path: import and include fail to compile (without
   * one, libjq 1.6 aborts on an assertion) */
  jq_set_attr(e->jq, jv_string("JQ_LIBRARY_PATH"), jv_array());
  if (e->option == NULL || e->src == NULL || !jq_compile(e->jq, src)) {
    snprintf(err, errlen, "%s '%s': not a valid jq expression: %s", option, src,
             e->errs.data ? e->errs.data : "out of memory");
    cli_expr_free(e);
    return -1;
  }
  jq_set_error_cb(e->jq, drop_jq_error, NULL);
  *out = e;
  return 0;
}

void cli_expr_free(cli_expr *e) {
  if (e == NULL)
    return;
  if (e->jq)
    jq_teardown(&e->jq);
  fl_free(e->option);
  fl_free(e->src);
  fl_buf_free(&e->errs);
  fl_free(e);
}

const char *cli_expr_text(const cli_expr *e) { return e->src; }

/* "--items '.[]': Cannot iterate over null (input: {"a":1})". Consumes
 * why and input. */
static char *runtime_error(const cli_expr *e, jv why, jv input) {
  fl_buf m = FL_BUF_INIT(0);
  jv text = jv_get_kind(why) == JV_KIND_STRING ? jv_copy(why) : jv_dump_string(jv_copy(why), 0);
  jv shown = jv_dump_string(input, 0);
  const char *in = jv_string_value(shown);
  size_t n = strlen(in);
  const char *what = jv_string_value(text);
  if (strcmp(what, "break") == 0) /* libjq 1.6's word for input at the end */
    what = "No more inputs";
  fl_buf_printf(&m, "%s '%s': %s (input: %.*s%s)", e->option, e->src, what,
                (int)(n > INPUT_SHOWN ? INPUT_SHOWN : n), in, n > INPUT_SHOWN ? "..." : "");
  jv_free(shown);
  jv_free(text);
  jv_free(why);
  return fl_buf_take(&m, NULL);
}

int cli_expr_run(cli_expr *e, jv input, jv *outs, char **msg) {
  *msg = NULL;
  jv all = jv_array();
  jq_start(e->jq, jv_copy(input), 0);
  for (;;) {
    jv v = jq_next(e->jq);
    if (jv_is_valid(v)) {
      all = jv_array_append(all, v);
      continue;
    }
    if (jv_invalid_has_msg(jv_copy(v))) {
      *msg = runtime_error(e, jv_invalid_get_msg(v), input);
      jv_free(all);
      return *msg ? -1 : FLURRY_ENOMEM;
    }
    jv_free(v);
    break;
  }
  if (jq_halted(e->jq)) { /* halt_error: the message is the error */
    jv why = jq_get_error_message(e->jq);
    if (jv_is_valid(why) && jv_get_kind(why) != JV_KIND_NULL) {
      *msg = runtime_error(e, why, input);
      jv_free(all);
      return *msg ? -1 : FLURRY_ENOMEM;
    }
    jv_free(why);
  }
  jv_free(input);
  *outs = all;
  return 0;
}

int cli_expr_first(cli_expr *e, jv input, jv *out, char **msg) {
  jv all;
  int rc = cli_expr_run(e, input, &all, msg);
  if (rc != 0)
    return rc;
  *out = jv_array_length(jv_copy(all)) > 0 ? jv_array_get(jv_copy(all), 0) : jv_null();
  jv_free(all);
  return 0;
}

int cli_truthy(jv v) {
  jv_kind k = jv_get_kind(v);
  jv_free(v);
  return k != JV_KIND_NULL && k != JV_KIND_FALSE && k != JV_KIND_INVALID;
}
