/* fuzz_ndjson.c: the NDJSON and lines framers (src/stream_frame.c): any
 * bytes, whole and split, give the same records (see fuzz_stream.h); the
 * input's second byte, when odd, picks lines instead of NDJSON. */
#include "fuzz_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int mode = size > 1 && (data[1] & 1) ? FLURRY_STREAM_LINES : FLURRY_STREAM_NDJSON;
  fuzz_stream(mode, data, size);
  return 0;
}
