#ifndef FLURRY_VISIBILITY_H
#define FLURRY_VISIBILITY_H
#if defined(__GNUC__) || defined(__clang__)
#define FLURRY_API __attribute__((visibility("default")))
#else
#define FLURRY_API
#endif
#endif
