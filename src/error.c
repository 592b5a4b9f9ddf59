/* error.c: names and descriptions of the error kinds and the detail words,
 * each from its one table (flurry/error.h). Both enums count from 0 with no
 * gaps, so a code indexes its row. */
#include "flurry/error.h"

#define X_NAME(e, name, desc) name,
#define X_DESC(e, name, desc) desc,
static const char *const err_names[] = {FLURRY_ERRNO_MAP(X_NAME)};
static const char *const err_descs[] = {FLURRY_ERRNO_MAP(X_DESC)};
static const char *const detail_names[] = {FLURRY_DETAIL_MAP(X_NAME)};
static const char *const detail_descs[] = {FLURRY_DETAIL_MAP(X_DESC)};
#undef X_NAME
#undef X_DESC

_Static_assert(sizeof err_names / sizeof err_names[0] == FLURRY_ERR_COUNT, "one row a kind");
_Static_assert(sizeof detail_names / sizeof detail_names[0] == FLURRY_DETAIL_COUNT,
               "one row a detail");

/* Row `code` of a table of `n` rows, or `unknown`. */
static const char *row(const char *const *table, int n, int code, const char *unknown) {
  return code >= 0 && code < n ? table[code] : unknown;
}

FLURRY_API const char *flurry_strerror(int err) {
  return row(err_descs, FLURRY_ERR_COUNT, err, "unknown error");
}

FLURRY_API const char *flurry_err_name(int err) {
  return row(err_names, FLURRY_ERR_COUNT, err, "unknown");
}

FLURRY_API const char *flurry_detail_name(int detail) {
  return row(detail_names, FLURRY_DETAIL_COUNT, detail, "unknown");
}

FLURRY_API const char *flurry_detail_description(int detail) {
  return row(detail_descs, FLURRY_DETAIL_COUNT, detail, "unknown detail");
}
