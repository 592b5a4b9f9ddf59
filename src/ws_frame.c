/* ws_frame.c: the frame heads of the server's byte stream, followed before
 * wslay reads them (a pure function: no I/O, no allocation).
 *
 * Two things wslay cannot be told to do, done here:
 * - Frame-level errors (a fragmented control frame, a control frame over
 *   125 bytes, a length not in its shortest form) make wslay fail without a
 *   close code; caught first, the connection closes with 1002.
 * - wslay queues a pong for every ping, with no limit. Each ping's opcode is
 *   rewritten to pong before wslay sees it, and remembered in a ring, so
 *   that ws.c can tell the two apart when wslay delivers them in order and
 *   answer only the latest ping (RFC 6455 5.5.3). */
#include <string.h>

#include "ws_int.h"

#define OP_PING 0x9
#define OP_PONG 0xA

static int is_ctrl(uint8_t b0) { return (b0 & 0x08) != 0; }

size_t flurry__ws_scan_room(const flurry__ws_scanner *s) { return FLURRY__WS_RING - s->count; }

int flurry__ws_scan_pop(flurry__ws_scanner *s) {
  if (s->count == 0)
    return 0;
  unsigned i = s->first;
  s->first = (s->first + 1) % FLURRY__WS_RING;
  s->count--;
  return (s->ring[i / 8] >> (i % 8)) & 1;
}

static int ring_push(flurry__ws_scanner *s, int was_ping) {
  if (s->count == FLURRY__WS_RING)
    return -1;
  unsigned i = (s->first + s->count) % FLURRY__WS_RING;
  s->ring[i / 8] = (uint8_t)((s->ring[i / 8] & ~(1u << (i % 8))) | ((unsigned)was_ping << (i % 8)));
  s->count++;
  return 0;
}

/* The first byte of a frame: FIN, RSV, opcode. */
static const char *head_byte0(flurry__ws_scanner *s, uint8_t *b) {
  if (is_ctrl(*b) && !(*b & 0x80))
    return "a fragmented control frame";
  uint8_t op = *b & 0x0f;
  if (op == OP_PING || op == OP_PONG) {
    if (ring_push(s, op == OP_PING) != 0)
      return "too many control frames in flight"; /* ws.c keeps the room */
    if (op == OP_PING)
      *b = (uint8_t)((*b & 0xf0) | OP_PONG);
  }
  s->b0 = *b;
  return NULL;
}

/* The second byte: MASK and the 7-bit length. */
static const char *head_byte1(flurry__ws_scanner *s, uint8_t b) {
  uint8_t len7 = b & 0x7f;
  if (is_ctrl(s->b0) && len7 > 125)
    return "a control frame over 125 bytes";
  s->ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  s->need = (uint8_t)(2 + s->ext + (b & 0x80 ? 4 : 0));
  s->len = s->ext ? 0 : len7;
  return NULL;
}

/* Byte k (2..) of the head: the extended length, then the mask key. */
static const char *head_byte(flurry__ws_scanner *s, uint8_t b) {
  if (s->have >= 2 + s->ext)
    return NULL; /* the mask key */
  if (s->ext == 8 && s->have == 2 && (b & 0x80))
    return "a frame length over 2^63";
  s->len = (s->len << 8) | b;
  if (s->have + 1 == 2 + s->ext &&
      ((s->ext == 2 && s->len < 126) || (s->ext == 8 && s->len < 65536)))
    return "a frame length not in its shortest form";
  return NULL;
}

size_t flurry__ws_scan(flurry__ws_scanner *s, uint8_t *p, size_t n, const char **bad) {
  size_t i = 0;
  *bad = NULL;
  while (i < n) {
    if (s->have == 0 && s->left > 0) { /* payload */
      size_t take = s->left < n - i ? (size_t)s->left : n - i;
      s->left -= take;
      i += take;
      continue;
    }
    const char *why = s->have == 0   ? head_byte0(s, &p[i])
                      : s->have == 1 ? head_byte1(s, p[i])
                                     : head_byte(s, p[i]);
    if (why != NULL) {
      *bad = why;
      return i; /* wslay gets nothing of the bad part */
    }
    i++;
    if (++s->have == s->need) {
      s->have = 0;
      s->need = 2;
      s->left = s->len;
    }
  }
  return n;
}

void flurry__ws_scan_init(flurry__ws_scanner *s) {
  memset(s, 0, sizeof *s);
  s->need = 2;
}
