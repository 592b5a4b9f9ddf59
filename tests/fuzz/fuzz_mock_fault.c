/* fuzz_mock_fault.c: the fault-injection parameters of `flurry mock`
 * (fail=, kind=, mix=), from any client. The input is a query string:
 * "fail=0.3&kind=reset,hang" or "mix=reset:0.1,status:0.2"; a parameter
 * absent is NULL, as the server passes it. */
#include <math.h>

#include "fuzz.h"
#include "mock_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *q = fuzz_copy(data, size, 1);
  const char *fail = NULL, *kind = NULL, *mix = NULL;
  for (char *arg = q, *next; arg; arg = next) { /* split in place at '&' */
    next = strchr(arg, '&');
    if (next)
      *next++ = '\0';
    if (strncmp(arg, "fail=", 5) == 0)
      fail = arg + 5;
    else if (strncmp(arg, "kind=", 5) == 0)
      kind = arg + 5;
    else if (strncmp(arg, "mix=", 4) == 0)
      mix = arg + 4;
  }
  double p[MOCK_FAULTS];
  for (size_t k = 0; k < MOCK_FAULTS; k++)
    p[k] = -3;
  int rc = mock_fault_plan(fail, kind, mix, p);
  FUZZ_CHECK(rc == 0 || rc == -1);
  double sum = 0;
  for (size_t k = 0; k < MOCK_FAULTS; k++) {
    if (rc != 0) {
      FUZZ_CHECK(p[k] == -3); /* untouched on failure */
      continue;
    }
    FUZZ_CHECK(!isnan(p[k]) && p[k] >= 0 && p[k] <= 1.0 + 1e-9); /* kinds may repeat */
    sum += p[k];
  }
  FUZZ_CHECK(sum <= 1.0 + 1e-6);
  if (rc == 0)
    FUZZ_CHECK((fail == NULL) != (mix == NULL));
  free(q);
  return 0;
}
