/* listen_event.h: the JSON line `flurry listen` writes per accepted event,
 * and reading back the start of such lines on restart. Pure: no I/O.
 *
 * A line (one JSON object, members in this order, then "\n"):
 *   {"id":"<delivery id>"|null,"received_at":"2024-05-01T12:34:56.789Z",
 *    "scheme":"github","path":"/hook",["headers":{...},]
 *    "body":<JSON>|"body_text":"..."|"body_base64":"..."}
 * "id" comes first and "received_at" second so that a restart reads only
 * the head of each line. */
#ifndef FLURRY_LISTEN_EVENT_H
#define FLURRY_LISTEN_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "fl.h"

#define LISTEN_EVENT_TIME_LEN 24   /* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
#define LISTEN_EVENT_HEAD_MAX 2048 /* bytes of a line read on restart */

/* Formats Unix milliseconds as RFC 3339 UTC with milliseconds into out
 * (LISTEN_EVENT_TIME_LEN characters and a NUL). Returns 0, or -1 (out of
 * the years 0000..9999). */
int listen_event_time_format(int64_t ms, char *out);

/* Parses exactly that form (s[0..n), n == LISTEN_EVENT_TIME_LEN) into
 * Unix milliseconds. Returns 0, or -1. */
int listen_event_time_parse(const char *s, size_t n, int64_t *ms);

/* Finds the top-level member key (plain, no escapes) of the compact JSON
 * object json[0..n) (as fl_json_compact writes it). Returns 0 with
 * *off and *len the span of its value, or -1 (not an object, no such key). */
int listen_event_json_member(const char *json, size_t n, const char *key, size_t *off, size_t *len);

/* Reads the head of a line: {"id":<string|null>,"received_at":"<time>".
 * line[0..n) may be cut anywhere after the time. On success *id and *id_len
 * are the id's JSON string token, quotes included (NULL/0 for null) and
 * *ms the time. Returns 0, or -1 (not a line of ours). */
int listen_event_head_parse(const char *line, size_t n, const char **id, size_t *id_len,
                            int64_t *ms);

/* What an event line holds. id is a JSON string token (NULL: null); body
 * is the raw body, json (NULL when the body is not JSON) its compact form;
 * headers (NULL: none) a JSON object text. */
typedef struct listen_event {
  const char *id;
  size_t id_len;
  int64_t received_ms;
  const char *scheme;
  const char *path;
  const char *headers;
  size_t headers_len;
  const char *body;
  size_t body_len;
  const char *json;
  size_t json_len;
} listen_event;

/* Appends the event's line, "\n" included. Returns FL_OK, FL_ENOMEM or
 * FL_ELIMIT (b is then restored to its length before the call). */
int listen_event_line(fl_buf *b, const listen_event *ev);

/* Appends a JSON object of the headers kv[0..2n) (name, value pairs):
 * names lower-cased; a repeated name's values joined with ", " in order;
 * Authorization, Proxy-Authorization and Cookie given as "[redacted]".
 * Returns FL_OK, FL_ENOMEM, FL_ELIMIT. */
int listen_event_headers(fl_buf *b, const char *const *kv, size_t n);

#endif
