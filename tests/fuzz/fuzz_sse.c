/* fuzz_sse.c: the Server-Sent Events framer (src/stream_frame.c): any
 * bytes, whole and split, give the same events (see fuzz_stream.h). */
#include "fuzz_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_stream(FLURRY_STREAM_SSE, data, size);
  return 0;
}
