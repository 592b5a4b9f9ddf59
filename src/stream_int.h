/* stream_int.h: the record framers of streamed responses (stream_frame.c)
 * and the request glue that feeds them (stream.c). Private to the library
 * (and its unit tests and fuzz targets). */
#ifndef FLURRY_STREAM_INT_H
#define FLURRY_STREAM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "fl.h"
#include "flurry.h"

#define FLURRY_STREAM_MAX_RECORD_DEFAULT (1024 * 1024)
#define FLURRY_STREAM_MAX_RECORD_MIN 16
#define FLURRY_STREAM_MAX_RECORD_MAX (1024 * 1024 * 1024)
#define FLURRY_STREAM_MAX_RECONNECTS_DEFAULT 5
#define FLURRY_STREAM_MAX_RECONNECTS_MAX 1000000
#define FLURRY_STREAM_RETRY_DEFAULT_MS 3000
#define FLURRY_STREAM_RETRY_CAP_MS 60000 /* a server's retry: is capped here */
#define FLURRY_STREAM_ID_MAX 1024        /* a longer id: the event is too large */

/* What the framer's feed and finish return. */
enum {
  FRAME_OK = 0,         /* every byte taken; more may come */
  FRAME_STOP = 1,       /* the emit callback asked to stop */
  FRAME_TOO_LARGE = -1, /* a record (or an SSE line) above the limit */
  FRAME_BAD = -2,       /* NDJSON: a line that is not one JSON value */
  FRAME_NOMEM = -3
};

/* Receives each record; returns 0 to go on, non-zero to stop. */
typedef int (*flurry__emit_fn)(void *ud, const flurry_stream_record *rec);

/* A framer: bytes in, records out. Holds at most one partial record (and,
 * for SSE, the event being built), each bounded by max_record. */
typedef struct flurry__framer {
  int mode; /* flurry_stream_mode */
  size_t max_record;
  flurry__emit_fn emit;
  void *ud;
  uint64_t seq; /* records emitted (across resets) */
  fl_buf line;  /* the current line (partial, or complete for emit) */
  fl_buf value; /* NDJSON: the compacted value */
  int cr;       /* SSE: the last line ended with CR (skip one LF) */
  int bom;      /* SSE: bytes of the UTF-8 BOM matched; 3: past the start */
  fl_buf data;  /* SSE: the data buffer */
  fl_buf event; /* SSE: the event type buffer */
  int has_event;
  fl_buf id_buf;    /* SSE: the last event ID buffer (this connection) */
  fl_buf last_id;   /* SSE: the last event ID string (kept across resets) */
  int64_t retry_ms; /* SSE: the server's reconnection time, -1 none */
  size_t bad_at;    /* NDJSON: the record number of a FRAME_BAD line */
} flurry__framer;

/* Sets up a framer; no allocation until bytes come. */
void flurry__framer_init(flurry__framer *f, int mode, size_t max_record, flurry__emit_fn emit,
                         void *ud);
/* A new connection: the partial record and the event being built are
 * dropped (never emitted); seq, the last event ID and the retry delay
 * stay. */
void flurry__framer_reset(flurry__framer *f);
/* Feeds n bytes. Returns FRAME_OK, FRAME_STOP (emit said stop: the bytes
 * after that record are not looked at), or an error (the framer must be
 * reset before more bytes). */
int flurry__framer_feed(flurry__framer *f, const char *p, size_t n);
/* The body ended cleanly: LINES and NDJSON emit a last line that had no
 * line end; SSE drops an incomplete event (the spec). Returns as feed. */
int flurry__framer_finish(flurry__framer *f);
void flurry__framer_free(flurry__framer *f);

/* Pure: the end of the first line in p[0..n). For SSE (sse != 0) CR, LF
 * and CRLF end a line, else LF (a CR before it is the caller's to strip).
 * Returns the line's length and sets *eol to the length of its end (1 or
 * 2), or returns -1 when no line end is there yet. A CR at p[n-1] in SSE
 * mode ends the line (eol 1): the caller skips an LF that follows. */
ptrdiff_t flurry__line_end(const char *p, size_t n, int sse, size_t *eol);

/* Pure: splits an SSE line (no line end) into field and value: a comment
 * (starts with ':') returns 0; else 1 with the field (before the first
 * ':', or the whole line) and the value (after it, one leading space
 * removed; empty when there is no ':'). */
int flurry__sse_field(const char *p, size_t n, const char **field, size_t *flen, const char **value,
                      size_t *vlen);

/* Pure: an SSE retry value: ASCII digits only (at least one). Returns 0
 * with *ms (saturated at INT64_MAX), or -1 (to be ignored). */
int flurry__sse_retry(const char *p, size_t n, int64_t *ms);

/* ---- stream.c: the request glue (called from transfer.c) ---- */
#include <curl/curl.h>

typedef struct flurry__stream flurry__stream;

/* What flurry__stream_done decided. */
enum {
  FLURRY__STREAM_USUAL = 0, /* not streamed yet: the usual retry policy */
  FLURRY__STREAM_FINAL,     /* complete the request now */
  FLURRY__STREAM_AGAIN      /* SSE: a reconnect waits in the backoff heap */
};
/* Before an attempt: the stream's options over the easy handle's (never
 * its headers: see flurry__stream_headers). */
void flurry__stream_configure(flurry_client *c, flurry_request *req, CURL *e, double now);
/* The attempt's header list: base (the hop's, from flurry__hop_headers)
 * or, for SSE, a copy of it with Accept, Cache-Control and Last-Event-ID
 * added; *out stays valid until the next call or the stream's free.
 * Returns 0 or FLURRY_ENOMEM (*out is base then). Called only from
 * transfer.c's set_headers, the one place that sets CURLOPT_HTTPHEADER. */
int flurry__stream_headers(flurry__stream *s, const struct curl_slist *base,
                           const struct curl_slist **out);
/* From the body callback: 1 when the body goes to the stream (or aborts
 * it), 0 when it is kept as usual (an error status). */
int flurry__stream_wants_body(flurry_request *req);
/* Feeds body bytes; returns len, or 0 to abort the transfer. */
size_t flurry__stream_body(flurry_request *req, const char *data, size_t len);
/* After an attempt (the response filled in): FLURRY__STREAM_*. */
int flurry__stream_done(flurry_client *c, flurry_request *req, CURLcode result, double now);
void flurry__stream_free(flurry__stream *s); /* NULL ok */

#endif
