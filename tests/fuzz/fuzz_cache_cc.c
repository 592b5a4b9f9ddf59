/* fuzz_cache_cc.c: what a server may send the HTTP cache: Cache-Control
 * values, HTTP dates, and the freshness worked out from them
 * (cache_fresh.c). */
#include "fuzz.h"
#include "internal.h"

#define NOW 1700000000.0 /* 2023-11-14, a fixed clock */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *v = fuzz_copy(data, size, 0);
  flurry__cc cc;
  flurry__cc_init(&cc);
  flurry__cc_parse(&cc, v, size);
  FUZZ_CHECK(cc.max_age >= -1 && cc.max_age <= 2147483648LL);
  FUZZ_CHECK(cc.swr >= -1 && cc.swr <= 2147483648LL);
  FUZZ_CHECK(cc.sie >= -1 && cc.sie <= 2147483648LL);
  int64_t date = flurry__http_date(v, size);
  flurry__fresh_in in = {200,        cc,      date, date, date >= 0 ? date - 86400 : -1,
                         cc.max_age, NOW - 1, NOW};
  double life = flurry__fresh_lifetime(&in), age = flurry__initial_age(&in);
  FUZZ_CHECK(life >= 0 && age >= 0);
  flurry__cache_meta m = {
      NOW, age, life, (double)cc.swr, (double)cc.sie, cc.no_cache, cc.must_revalidate};
  flurry__cache_verdict later = flurry__cache_judge(&m, NOW + 1e9);
  FUZZ_CHECK(later == FLURRY__CACHE_REVALIDATE || life + m.swr > 1e9 || life > 1e9);
  FUZZ_CHECK(!(cc.must_revalidate && flurry__cache_stale_on_error(&m, NOW + life + 1)));
  free(v);
  return 0;
}
