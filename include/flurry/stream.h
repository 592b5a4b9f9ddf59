/* flurry/stream.h: streamed responses, one record at a time.
 *
 * Some APIs never finish a response: NDJSON feeds, Server-Sent Events, log
 * tails. A request set to stream hands each complete record to a callback
 * the moment its last byte arrives, and keeps none of the body: memory stays
 * flat however long the stream runs. A record longer than the record limit
 * ends the request with FLURRY_ETOO_LARGE (detail FLURRY_DETAIL_RECORD_TOO_LARGE); a
 * record cut short by a dropped connection is never reported.
 *
 * Only a successful response streams (2xx; for SSE, 200 with Content-Type
 * text/event-stream, per the WHATWG event-stream format). Any other
 * response keeps its body as usual, bounded by FLURRY_OPT_MAX_RESPONSE_BYTES,
 * and completes as an ordinary request. Retries (FLURRY_OPT_MAX_ATTEMPTS),
 * rate limits and the deadline apply to the first connection as to any
 * request. Once streaming, FLURRY_OPT_TIMEOUT_MS does not apply (a stream
 * may run for ever); FLURRY_OPT_IDLE_TIMEOUT_MS (no byte for that long) and
 * FLURRY_OPT_DEADLINE_MS still do.
 *
 * SSE reconnects: when an event stream drops (the server closes it, the
 * connection breaks, or it goes idle), the request connects again after the
 * server's `retry:` delay (FLURRY_STREAM_RETRY_MS when the server gave
 * none; a server's value is capped at 60 s), sending Last-Event-ID when an
 * event had an id, up to FLURRY_STREAM_MAX_RECONNECTS times in all; then it
 * ends with FLURRY_ESTREAM (detail FLURRY_DETAIL_RECONNECTS_EXHAUSTED). A reconnect
 * answered 204 ends the stream cleanly; with another status than 200 (or
 * another Content-Type) it ends with that error. Lines and NDJSON streams
 * never reconnect (they have no way to resume).
 *
 * A reconnect repeats the request, so it is made only where repeating is
 * safe, as for retries: GET and HEAD, or a request with an Idempotency-Key
 * header or FLURRY_OPT_RETRY_UNSAFE. Any other stream (an LLM-style POST
 * answered with text/event-stream) is never repeated: a clean end of its
 * body is its end (FLURRY_OK, FLURRY_STREAM_END_EOF), a broken connection
 * its error. FLURRY_STREAM_RECONNECT narrows when a repeatable stream
 * reconnects, and flurry_request_set_stream_until() ends a stream at a
 * sentinel record such as "[DONE]".
 *
 * Ownership: the record and every pointer in it are borrowed for the
 * duration of the callback only. */
#ifndef FLURRY_STREAM_H
#define FLURRY_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "flurry/request.h"
#include "flurry/response.h"
#include "flurry/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum flurry_stream_mode {
  /* One record per line (LF or CRLF ends a line; the end is not part of
   * the record). At a clean end of the body, a last line without a line
   * end is a record too. */
  FLURRY_STREAM_LINES = 1,
  /* One JSON value per line (https://github.com/ndjson/ndjson-spec): blank
   * lines are skipped; a line that is not exactly one JSON value ends the
   * request with FLURRY_EPROTOCOL (detail FLURRY_DETAIL_BAD_RECORD). */
  FLURRY_STREAM_NDJSON = 2,
  /* Server-Sent Events: one record per dispatched event. */
  FLURRY_STREAM_SSE = 3
} flurry_stream_mode;

/* One record. Strings are followed by a NUL byte not counted in their
 * length (data may hold NUL bytes of its own). */
typedef struct flurry_stream_record {
  uint64_t seq;      /* 1 for the request's first record, across reconnects */
  const char *data;  /* LINES: the line; NDJSON: the value, validated, without
                       insignificant white space; SSE: the data lines joined
                       with LF */
  size_t len;        /* bytes in data */
  const char *event; /* SSE: the event type ("message" when none given;
                        an event field holding NUL is ignored, as the spec
                        does for id); NULL in the other modes */
  const char *id;    /* SSE: the last event ID ("" when none); else NULL */
  int64_t retry_ms;  /* SSE: the reconnection delay the server set with
                        `retry:`, -1 when it set none; -1 in other modes */
} flurry_stream_record;

/* Called for each record, on the loop thread, between submit and the
 * completion callback (never after it). Return 0 to go on, or non-zero to
 * stop the stream: the transfer ends at once and the request completes
 * with FLURRY_OK and FLURRY_STREAM_END_STOPPED. As in a completion
 * callback, flurry_client_run(), flurry_client_cancel_all(),
 * flurry_client_cancel_queued() and flurry_gather() are refused there
 * (FLURRY_EINVALID) and flurry_client_free() does nothing: return non-zero
 * instead. Submitting other requests is fine. */
typedef int (*flurry_record_cb)(flurry_request *req, const flurry_stream_record *rec,
                                void *user_data);

/* Makes req a streamed request in `mode` (one of flurry_stream_mode), with
 * cb called for each record and user_data passed to it (borrowed: it must
 * stay valid until the completion callback). Only before submit. Returns
 * 0, FLURRY_EINVALID (unknown mode, cb NULL) or FLURRY_ENOMEM. */
FLURRY_API int flurry_request_set_stream(flurry_request *req, int mode, flurry_record_cb cb,
                                         void *user_data);

typedef enum flurry_stream_opt {
  /* Largest record, in bytes: a line, an NDJSON value, an SSE event's data
   * (and any one line of the event stream; an SSE event type or id is
   * limited to 1 KiB). Default 1 MiB, range 16..1 GiB. */
  FLURRY_STREAM_MAX_RECORD_BYTES = 1,
  /* SSE: reconnects allowed in all (0: none). Default 5, range
   * 0..1000000. */
  FLURRY_STREAM_MAX_RECONNECTS,
  /* SSE: the delay before a reconnect when the server set no `retry:`, in
   * ms. Default 3000 (what browsers use), range 0..60000. */
  FLURRY_STREAM_RETRY_MS,
  /* SSE: when a stream whose request may be repeated (GET, HEAD, an
   * Idempotency-Key, FLURRY_OPT_RETRY_UNSAFE: see above) reconnects, one of
   * flurry_stream_reconnect. Default FLURRY_RECONNECT_AUTO. A request that
   * may not be repeated never reconnects, whatever this says. */
  FLURRY_STREAM_RECONNECT
} flurry_stream_opt;

typedef enum flurry_stream_reconnect {
  /* ALWAYS when the request may be repeated, else NEVER. */
  FLURRY_RECONNECT_AUTO = 0,
  /* Never: a clean end is FLURRY_STREAM_END_EOF, a drop the error. */
  FLURRY_RECONNECT_NEVER,
  /* Only after an error (reset, idle timeout, a failed reconnect): a
   * clean end of the body by the server is FLURRY_STREAM_END_EOF. */
  FLURRY_RECONNECT_ON_ERROR,
  /* After any end, clean or not (what browsers' EventSource does). */
  FLURRY_RECONNECT_ALWAYS
} flurry_stream_reconnect;

/* Sets a stream option on a request made a stream with
 * flurry_request_set_stream(). Only before submit. Returns 0 or
 * FLURRY_EINVALID (not a stream, unknown option, value out of range). */
FLURRY_API int flurry_request_set_stream_opt(flurry_request *req, flurry_stream_opt opt,
                                             int64_t value);

/* Ends the stream at the first record whose data is exactly `data` (SSE:
 * the event's data; LINES: the line; NDJSON: the compact value, so a
 * sentinel must be valid JSON there): that record is not given to the
 * callback nor counted, the transfer ends at once, the request completes
 * with FLURRY_OK and FLURRY_STREAM_END_SENTINEL, and no reconnect is made.
 * OpenAI-style APIs end with "[DONE]". data is copied; NULL removes the
 * sentinel. Only before submit, on a stream. Returns 0, FLURRY_EINVALID
 * (not a stream, submitted, data empty or longer than the record limit)
 * or FLURRY_ENOMEM. */
FLURRY_API int flurry_request_set_stream_until(flurry_request *req, const char *data);

/* How a stream ended. */
typedef enum flurry_stream_end {
  FLURRY_STREAM_END_NONE = 0,   /* no stream began (an error before it) */
  FLURRY_STREAM_END_EOF,        /* the server ended the body (LINES, NDJSON; SSE
                                   when no reconnect is made) */
  FLURRY_STREAM_END_STOPPED,    /* the record callback asked to stop */
  FLURRY_STREAM_END_NO_CONTENT, /* SSE: the server answered 204: no more */
  FLURRY_STREAM_END_ERROR,      /* see flurry_response_error() */
  FLURRY_STREAM_END_SENTINEL    /* the sentinel record came (set_stream_until) */
} flurry_stream_end;

typedef struct flurry_stream_info {
  uint64_t records; /* records delivered to the callback */
  int reconnects;   /* SSE reconnects made */
  int end;          /* one of flurry_stream_end */
} flurry_stream_info;

/* The stream figures of a streamed request's response. Returns 0, or
 * FLURRY_EINVALID when the request was not a stream (or was cancelled
 * before its first attempt); *out is then zeroed. */
FLURRY_API int flurry_response_stream(const flurry_response *resp, flurry_stream_info *out);

/* "none", "eof", "stopped", "no_content", "error", "sentinel" (static
 * storage). */
FLURRY_API const char *flurry_stream_end_name(int end);

#ifdef __cplusplus
}
#endif
#endif
