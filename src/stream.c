/* stream.c: streamed requests: the record callback, the body hook (records
 * out, nothing kept), the attempt's options (no total timeout,
 * Last-Event-ID) and what a stream's end means: done, or (SSE) connect
 * again after the server's retry delay. See include/flurry/stream.h. */
#include <string.h>

#include "opt_int.h"
#include "request_int.h"
#include "response_int.h"
#include "sched_int.h"
#include "stream_int.h"

struct flurry__stream {
  int mode;
  flurry_record_cb cb;
  void *ud;
  flurry_request *req;
  int64_t max_reconnects;
  int64_t retry_default_ms;
  int reconnect_mode; /* flurry_stream_reconnect */
  char *until;        /* the sentinel record's data, NULL = none */
  size_t until_len;
  int sentinel; /* the sentinel came: the framer stopped for it */
  flurry__framer fr;
  int decided;     /* this attempt: the response was judged */
  int active;      /* this attempt streams (a 2xx, an event stream) */
  int established; /* an attempt streamed: later drops reconnect (SSE) */
  int not_sse;     /* this attempt: 200 but not text/event-stream */
  int frame_rc;    /* this attempt: what ended the framer (FRAME_*) */
  int reconnects;
  struct curl_slist *hdrs; /* this attempt's request headers */
  int paused;              /* flurry_request_pause: refuse the next bytes */
  int curl_paused;         /* bytes were refused: libcurl holds them, paused */
};

static int on_record(void *ud, const flurry_stream_record *rec) {
  flurry__stream *s = ud;
  /* Kept up to date: a request cancelled mid-stream reports its records
   * (and, unless something better is known later, an end by error). */
  if (s->until && rec->len == s->until_len && memcmp(rec->data, s->until, rec->len) == 0) {
    s->sentinel = 1; /* not delivered: the stream ends here (frame_end) */
    return 1;
  }
  s->req->resp->stream.records = rec->seq;
  s->req->resp->stream.end = FLURRY_STREAM_END_ERROR;
  flurry_client *c = s->req->client;
  if (s->req->cancel_pending)
    return 0;       /* cancelled: nothing more is delivered */
  c->in_callback++; /* run, cancel, gather and free are refused, as in a completion */
  int rc = s->cb(s->req, rec, s->ud);
  c->in_callback--;
  return rc;
}

FLURRY_API int flurry_request_set_stream(flurry_request *req, int mode, flurry_record_cb cb,
                                         void *user_data) {
  if (req == NULL || cb == NULL || req->state != REQ_NEW ||
      (mode != FLURRY_STREAM_LINES && mode != FLURRY_STREAM_NDJSON && mode != FLURRY_STREAM_SSE))
    return FLURRY_EINVALID;
  flurry__stream *s = req->stream;
  if (s == NULL && (s = fl_calloc(1, sizeof *s)) == NULL)
    return FLURRY_ENOMEM;
  size_t max = s->fr.max_record ? s->fr.max_record : FLURRY_STREAM_MAX_RECORD_DEFAULT;
  flurry__framer_free(&s->fr);
  flurry__framer_init(&s->fr, mode, max, on_record, s);
  s->mode = mode;
  s->cb = cb;
  s->ud = user_data;
  s->req = req;
  if (req->stream == NULL) {
    s->max_reconnects = FLURRY_STREAM_MAX_RECONNECTS_DEFAULT;
    s->retry_default_ms = FLURRY_STREAM_RETRY_DEFAULT_MS;
    req->stream = s;
  }
  return FLURRY_OK;
}

FLURRY_API int flurry_request_set_stream_opt(flurry_request *req, flurry_stream_opt opt,
                                             int64_t value) {
  flurry__stream *s = req ? req->stream : NULL;
  if (s == NULL || req->state != REQ_NEW)
    return FLURRY_EINVALID;
  switch (opt) {
  case FLURRY_STREAM_MAX_RECORD_BYTES:
    if (value < FLURRY_STREAM_MAX_RECORD_MIN || value > FLURRY_STREAM_MAX_RECORD_MAX)
      return FLURRY_EINVALID;
    flurry__framer_init(&s->fr, s->mode, (size_t)value, on_record, s); /* nothing held yet */
    return FLURRY_OK;
  case FLURRY_STREAM_MAX_RECONNECTS:
    if (value < 0 || value > FLURRY_STREAM_MAX_RECONNECTS_MAX)
      return FLURRY_EINVALID;
    s->max_reconnects = value;
    return FLURRY_OK;
  case FLURRY_STREAM_RETRY_MS:
    if (value < 0 || value > FLURRY_STREAM_RETRY_CAP_MS)
      return FLURRY_EINVALID;
    s->retry_default_ms = value;
    return FLURRY_OK;
  case FLURRY_STREAM_RECONNECT:
    if (value < FLURRY_RECONNECT_AUTO || value > FLURRY_RECONNECT_ALWAYS)
      return FLURRY_EINVALID;
    s->reconnect_mode = (int)value;
    return FLURRY_OK;
  }
  return FLURRY_EINVALID;
}

FLURRY_API int flurry_request_set_stream_until(flurry_request *req, const char *data) {
  flurry__stream *s = req ? req->stream : NULL;
  if (s == NULL || req->state != REQ_NEW ||
      (data && (*data == '\0' || strlen(data) > s->fr.max_record)))
    return FLURRY_EINVALID;
  char *copy = NULL;
  if (data && (copy = fl_strdup(data)) == NULL)
    return FLURRY_ENOMEM;
  fl_free(s->until);
  s->until = copy;
  s->until_len = copy ? strlen(copy) : 0;
  return FLURRY_OK;
}

void flurry__stream_free(flurry__stream *s) {
  if (s == NULL)
    return;
  flurry__framer_free(&s->fr);
  curl_slist_free_all(s->hdrs);
  fl_free(s->until);
  fl_free(s);
}

FLURRY_API int flurry_response_stream(const flurry_response *resp, flurry_stream_info *out) {
  memset(out, 0, sizeof *out);
  if (!resp->streamed)
    return FLURRY_EINVALID;
  *out = resp->stream;
  return FLURRY_OK;
}

FLURRY_API const char *flurry_stream_end_name(int end) {
  static const char *const names[] = {"none", "eof", "stopped", "no_content", "error", "sentinel"};
  return end >= 0 && end <= FLURRY_STREAM_END_SENTINEL ? names[end] : "unknown";
}

/* ---- one attempt ---- */

/* The hop's headers (base: what redirect.c lets this hop carry) and for
 * SSE Accept, Cache-Control and Last-Event-ID (unless the caller set
 * them). Only adds to base: the list is built from it, never from the
 * request's own headers, so a cross-origin hop stays stripped. */
int flurry__stream_headers(flurry__stream *s, const struct curl_slist *base,
                           const struct curl_slist **out) {
  struct curl_slist *l = NULL;
  int rc = FLURRY_OK;
  curl_slist_free_all(s->hdrs);
  s->hdrs = NULL;
  *out = base;
  if (s->mode != FLURRY_STREAM_SSE)
    return FLURRY_OK;
  for (const struct curl_slist *b = base; b && rc == FLURRY_OK; b = b->next) {
    struct curl_slist *n = curl_slist_append(l, b->data);
    rc = n ? FLURRY_OK : FLURRY_ENOMEM;
    l = n ? n : l;
  }
  if (rc == FLURRY_OK && !flurry__slist_has(base, "Accept"))
    rc = flurry__slist_add(&l, "Accept", "text/event-stream");
  if (rc == FLURRY_OK && !flurry__slist_has(base, "Cache-Control"))
    rc = flurry__slist_add(&l, "Cache-Control", "no-cache");
  if (rc == FLURRY_OK && s->fr.last_id.len > 0 && !flurry__slist_has(base, "Last-Event-ID"))
    rc = flurry__slist_add(&l, "Last-Event-ID", s->fr.last_id.data);
  s->hdrs = l;
  if (rc == FLURRY_OK)
    *out = l;
  return rc;
}

void flurry__stream_configure(flurry_client *c, flurry_request *req, CURL *e, double now) {
  req->stream->curl_paused = 0; /* a new transfer: libcurl holds nothing */
  flurry__stream *s = req->stream;
  flurry__framer_reset(&s->fr);
  s->decided = s->active = s->not_sse = 0;
  s->frame_rc = FRAME_OK;
  req->resp->streamed = 1;
  /* No whole-request timeout: what is left of the deadline, if any. */
  int64_t deadline = flurry__opt(req, &c->opts, FLURRY_OPT_DEADLINE_MS);
  double left = deadline ? req->submit_ms + (double)deadline - now : 0;
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, deadline ? (long)(left < 1 ? 1 : left) : 0L);
  req->hop_timeout_ms = deadline ? (int64_t)(left < 1 ? 1 : left) : INT64_MAX; /* none */
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)0);
}

static int is_event_stream(const flurry_response *resp) {
  const char *ct = flurry_response_header(resp, "Content-Type");
  static const char want[] = "text/event-stream";
  if (ct == NULL || !fl_strncaseeq(ct, want, sizeof want - 1))
    return 0;
  char next = ct[sizeof want - 1];
  return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

/* Judges the response once its head is in: does this attempt stream? */
static void decide(flurry__stream *s, const flurry_response *resp) {
  if (s->decided)
    return;
  s->decided = 1;
  if (s->mode != FLURRY_STREAM_SSE) {
    s->active = resp->status >= 200 && resp->status < 300;
  } else if (resp->status == 200) {
    s->active = is_event_stream(resp);
    s->not_sse = !s->active;
  } else if (resp->status >= 300 && resp->status < 400) {
    /* kept as usual: redirect.c may follow it; one it does not follow is
     * judged at the end (flurry__stream_done) */
  } else {
    s->not_sse = resp->status != 204 && resp->status < 400; /* 2xx, 3xx: no stream */
  }
  if (s->active)
    s->established = 1;
}

int flurry__stream_wants_body(flurry_request *req) {
  flurry__stream *s = req->stream;
  decide(s, req->resp);
  return s->active || s->not_sse;
}

size_t flurry__stream_body(flurry_request *req, const char *data, size_t len) {
  flurry__stream *s = req->stream;
  if (s->not_sse)
    return 0;      /* not an event stream: abort (reported at the end) */
  if (s->paused) { /* flurry_request_pause: libcurl keeps these bytes, reads no more */
    s->curl_paused = 1;
    return CURL_WRITEFUNC_PAUSE;
  }
  s->frame_rc = flurry__framer_feed(&s->fr, data, len);
  return s->frame_rc == FRAME_OK ? len : 0;
}

FLURRY_API int flurry_request_pause(flurry_request *req, int paused) {
  if (req == NULL || req->stream == NULL || req->state != REQ_RUNNING || req->easy == NULL)
    return FLURRY_EINVALID;
  flurry__stream *s = req->stream;
  s->paused = paused != 0;
  if (paused || !s->curl_paused)
    return FLURRY_OK; /* the body hook refuses the next bytes (CURL_WRITEFUNC_PAUSE) */
  /* libcurl hands back the bytes it kept from inside the call (the record
   * callback may run from here) and re-arms its timer itself. */
  s->curl_paused = 0;
  return curl_easy_pause(req->easy, CURLPAUSE_CONT) == CURLE_OK ? FLURRY_OK : FLURRY_EINTERNAL;
}

/* ---- the end of an attempt ---- */

static void set_info(flurry_response *resp, const flurry__stream *s, int end) {
  resp->streamed = 1;
  resp->stream.records = s->fr.seq - (uint64_t)s->sentinel; /* the sentinel is not one */
  resp->stream.reconnects = s->reconnects;
  resp->stream.end = end;
  flurry_attempt *a = flurry__response_log(resp, resp->attempts - 1);
  if (a != NULL) /* the attempt's log says what the stream made of it */
    a->error = resp->err;
}

/* A clean end: no error, whatever libcurl said of the aborted transfer. */
static int end_ok(flurry_response *resp, const flurry__stream *s, int end) {
  resp->err = FLURRY_OK;
  fl_free(resp->errmsg);
  resp->errmsg = NULL;
  resp->detail = FLURRY_DETAIL_NONE;
  resp->curl_code = 0;
  resp->os_errno = 0;
  set_info(resp, s, end);
  return FLURRY__STREAM_FINAL;
}

static int end_error(flurry_response *resp, const flurry__stream *s) {
  set_info(resp, s, FLURRY_STREAM_END_ERROR);
  return FLURRY__STREAM_FINAL;
}

/* The framer stopped the transfer: its reason is the request's. */
static int frame_end(flurry_response *resp, flurry__stream *s) {
  switch (s->frame_rc) {
  case FRAME_STOP:
    return end_ok(resp, s, s->sentinel ? FLURRY_STREAM_END_SENTINEL : FLURRY_STREAM_END_STOPPED);
  case FRAME_TOO_LARGE:
    flurry__response_set_error(resp, FLURRY_ETOO_LARGE, "a record larger than %zu bytes",
                               s->fr.max_record);
    resp->detail = FLURRY_DETAIL_RECORD_TOO_LARGE;
    break;
  case FRAME_BAD:
    flurry__response_set_error(resp, FLURRY_EPROTOCOL, "record %zu is not a JSON value",
                               s->fr.bad_at);
    resp->detail = FLURRY_DETAIL_BAD_RECORD;
    break;
  default:
    flurry__response_set_error(resp, FLURRY_ENOMEM, "out of memory framing the stream");
  }
  resp->curl_code = 0;
  return end_error(resp, s);
}

/* SSE: whether a stream that ended (clean: the server ended the body) is
 * connected again. Only a request that may be repeated, as for retries. */
static int may_reconnect(flurry_client *c, flurry_request *req, int clean) {
  const flurry__stream *s = req->stream;
  int repeatable = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0 ||
                   req->has_idempotency_key || flurry__opt(req, &c->opts, FLURRY_OPT_RETRY_UNSAFE);
  if (!repeatable || s->reconnect_mode == FLURRY_RECONNECT_NEVER)
    return 0;
  return s->reconnect_mode != FLURRY_RECONNECT_ON_ERROR || !clean;
}

/* SSE: the stream dropped; connect again after the retry delay, or give up. */
static int reconnect(flurry_client *c, flurry_request *req, double now) {
  flurry__stream *s = req->stream;
  flurry_response *resp = req->resp;
  const char *why = resp->err ? flurry_err_name(resp->err) : "eof";
  if (s->reconnects >= s->max_reconnects) {
    flurry__response_set_error(resp, FLURRY_ESTREAM,
                               "the event stream dropped (%s) and %d reconnects were made", why,
                               s->reconnects);
    resp->detail = FLURRY_DETAIL_RECONNECTS_EXHAUSTED;
    return end_error(resp, s);
  }
  int64_t delay = s->fr.retry_ms >= 0 ? s->fr.retry_ms : s->retry_default_ms;
  if (delay > FLURRY_STREAM_RETRY_CAP_MS)
    delay = FLURRY_STREAM_RETRY_CAP_MS;
  int64_t deadline = flurry__opt(req, &c->opts, FLURRY_OPT_DEADLINE_MS);
  if (deadline && now + (double)delay >= req->submit_ms + (double)deadline) {
    flurry__response_set_error(resp, FLURRY_ETIMEOUT,
                               "the event stream dropped (%s); the deadline comes before "
                               "the next reconnect",
                               why);
    resp->detail = FLURRY_DETAIL_DEADLINE;
    return end_error(resp, s);
  }
  if (flurry__response_log_room(resp) != FLURRY_OK ||
      flurry__backoff_push(c, req, (double)delay) != FLURRY_OK) {
    flurry__response_set_error(resp, FLURRY_ENOMEM, "out of memory");
    return end_error(resp, s);
  }
  flurry_attempt *a = resp->attempts <= FLURRY_ATTEMPT_LOG
                          ? flurry__response_log(resp, resp->attempts - 1)
                          : NULL;
  if (a != NULL)
    a->wait_ms = (double)delay;
  s->reconnects++;
  set_info(resp, s, FLURRY_STREAM_END_ERROR); /* what a cancel now would mean */
  return FLURRY__STREAM_AGAIN;
}

int flurry__stream_done(flurry_client *c, flurry_request *req, CURLcode result, double now) {
  flurry__stream *s = req->stream;
  flurry_response *resp = req->resp;
  if (resp->status > 0 && !s->decided)
    decide(s, resp); /* a response with no body at all */
  if (s->frame_rc != FRAME_OK)
    return frame_end(resp, s);
  if (s->mode == FLURRY_STREAM_SSE && resp->status >= 300 && resp->status < 400 && !resp->err)
    s->not_sse = 1; /* a redirect that was not followed: no stream */
  if (s->not_sse) {
    flurry__response_set_error(resp, FLURRY_EPROTOCOL,
                               "not an event stream (status %d, Content-Type: %s)", resp->status,
                               flurry_response_header(resp, "Content-Type")
                                   ? flurry_response_header(resp, "Content-Type")
                                   : "none");
    resp->detail = FLURRY_DETAIL_NOT_EVENT_STREAM;
    resp->curl_code = 0;
    return end_error(resp, s);
  }
  if (s->mode == FLURRY_STREAM_SSE && resp->status == 204 && result == CURLE_OK)
    return end_ok(resp, s, FLURRY_STREAM_END_NO_CONTENT);
  if (s->mode == FLURRY_STREAM_SSE && (s->active || (s->established && resp->status == 0))) {
    if (may_reconnect(c, req, result == CURLE_OK && !resp->err))
      return reconnect(c, req, now);
    if (!s->active)
      return end_error(resp, s); /* a reconnect that failed: its error */
  }
  if (s->active) { /* the body ended (lines, NDJSON, SSE not reconnected) */
    if (result != CURLE_OK)
      return end_error(resp, s); /* cut: a partial last record is dropped */
    s->frame_rc = flurry__framer_finish(&s->fr);
    return s->frame_rc == FRAME_OK ? end_ok(resp, s, FLURRY_STREAM_END_EOF) : frame_end(resp, s);
  }
  set_info(resp, s, s->established ? FLURRY_STREAM_END_ERROR : FLURRY_STREAM_END_NONE);
  /* Never streamed: the usual retry policy, unless a stream ran before. */
  return s->established ? FLURRY__STREAM_FINAL : FLURRY__STREAM_USUAL;
}
