/* fuzz_ws_frame.c: what a WebSocket server sends the client: the answer to
 * the handshake, then frames. The first byte picks the message size limit
 * and the chunk size the frames are fed in; the rest goes to the answer's
 * parser and, whole, to the client's receive path (flurry__ws_feed: wslay
 * framing, the callbacks, the limits, the close logic). */
#include "fuzz.h"
#include "ws_int.h"

#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

typedef struct seen {
  size_t max;
  int closes, after_close;
} seen;

static void on_message(flurry_ws *ws, flurry_ws_type type, const char *data, size_t len, void *ud) {
  seen *s = ud;
  (void)ws;
  (void)data;
  FUZZ_CHECK(type == FLURRY_WS_TEXT || type == FLURRY_WS_BINARY);
  FUZZ_CHECK(len <= s->max);
  s->after_close += s->closes;
}

static void on_control(flurry_ws *ws, flurry_ws_type type, const char *data, size_t len, void *ud) {
  (void)ws;
  (void)data;
  (void)ud;
  FUZZ_CHECK(type == FLURRY_WS_PING || type == FLURRY_WS_PONG);
  FUZZ_CHECK(len <= 125);
}

static void on_close(flurry_ws *ws, const flurry_ws_status *st, void *ud) {
  seen *s = ud;
  (void)ws;
  s->closes++;
  FUZZ_CHECK(st->err >= 0 && st->err < FLURRY_ERR_COUNT);
  FUZZ_CHECK(st->code >= 1000 && st->code <= 65535);
  FUZZ_CHECK(st->reason_len <= 123 && st->reason != NULL && st->message != NULL);
}

static void answer(const char *p, size_t n) {
  int status = -1, err = 0;
  const char *why = NULL;
  flurry__ws_expect x = {ACCEPT, "chat, superchat", NULL, {0, 0}};
  long r = flurry__ws_response_parse(p, n, &x, &status, &err, &why);
  FUZZ_CHECK(x.chosen[0] + x.chosen[1] <= n);
  FUZZ_CHECK(r >= -1 && r <= (long)n);
  FUZZ_CHECK(status == 0 || (status >= 100 && status <= 599));
  if (r < 0)
    FUZZ_CHECK(why != NULL && (err == FLURRY_EPROTOCOL || err == FLURRY_EHTTP));
  if (r > 0)
    FUZZ_CHECK(status == 101 && r >= 4 && memcmp(p + r - 4, "\r\n\r\n", 4) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  size_t step = (size_t)(data[0] & 0x0f) + 1;
  seen s = {data[0] & 0x10 ? 64 : FLURRY_WS_DEFAULT_MAX_MESSAGE, 0, 0};
  char *copy = fuzz_copy((const char *)data + 1, size - 1, 0);
  answer(copy, size - 1);
  flurry_ws_opts o;
  flurry_ws_opts_init(&o);
  o.max_message = s.max;
  flurry_ws *ws = NULL;
  flurry_ws_callbacks cbs = {NULL, on_message, on_control, on_close};
  FUZZ_CHECK(flurry__ws_detached_new(&ws, &o, &cbs, &s) == 0);
  int ended = 0;
  for (size_t i = 0; i < size - 1 && !ended; i += step) {
    size_t n = size - 1 - i < step ? size - 1 - i : step;
    ended = flurry__ws_feed(ws, copy + i, n);
  }
  flurry__ws_detached_free(ws);
  FUZZ_CHECK(s.closes == 1 && s.after_close == 0);
  free(copy);
  return 0;
}
