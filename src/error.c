/* error.c: names and descriptions of the error kinds, from the one table. */
#include "flurry/error.h"

FLURRY_API const char *flurry_strerror(int err) {
  switch (err) {
#define FLURRY_X_DESC(e, name, desc)                                           \
  case FLURRY_##e:                                                             \
    return desc;
    FLURRY_ERRNO_MAP(FLURRY_X_DESC)
#undef FLURRY_X_DESC
  default:
    return "unknown error";
  }
}

FLURRY_API const char *flurry_err_name(int err) {
  switch (err) {
#define FLURRY_X_NAME(e, name, desc)                                           \
  case FLURRY_##e:                                                             \
    return name;
    FLURRY_ERRNO_MAP(FLURRY_X_NAME)
#undef FLURRY_X_NAME
  default:
    return "unknown";
  }
}

FLURRY_API const char *flurry_detail_name(int detail) {
  switch (detail) {
#define FLURRY_X_NAME(e, name, desc)                                           \
  case FLURRY_DETAIL_##e:                                                      \
    return name;
    FLURRY_DETAIL_MAP(FLURRY_X_NAME)
#undef FLURRY_X_NAME
  default:
    return "unknown";
  }
}

FLURRY_API const char *flurry_detail_description(int detail) {
  switch (detail) {
#define FLURRY_X_DESC(e, name, desc)                                           \
  case FLURRY_DETAIL_##e:                                                      \
    return desc;
    FLURRY_DETAIL_MAP(FLURRY_X_DESC)
#undef FLURRY_X_DESC
  default:
    return "unknown detail";
  }
}
