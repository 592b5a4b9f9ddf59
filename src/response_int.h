/* response_int.h: building a response (response.c): errors, header
 * lines, libcurl's results as error kinds. Internal. */
#ifndef FLURRY_RESPONSE_INT_H
#define FLURRY_RESPONSE_INT_H

#include <curl/curl.h>
#include <stddef.h>

#include "flurry.h"

#define FLURRY_MAX_HEADER_BYTES (256 * 1024) /* raw header bytes of one response, */
#define FLURRY_MAX_HEADER_LINES 1000         /* and lines, 1xx ones included */

flurry_response *flurry__response_new(size_t max_body);

/* The log entry of attempt i (0-based; past the 63rd, the last entry), or
 * NULL when it has no room (flurry__response_log_room not called). */
flurry_attempt *flurry__response_log(flurry_response *resp, int i);

/* Makes room in the log for the next attempt: call before scheduling one.
 * Returns FLURRY_OK or FLURRY_ENOMEM. */
int flurry__response_log_room(flurry_response *resp);
void flurry__response_reset(flurry_response *resp); /* for a new attempt */
int flurry__response_set_error(flurry_response *resp, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Feeds one raw header line (as libcurl delivers it, CRLF included). Returns
 * 0 or FLURRY_ETOO_LARGE / FLURRY_ENOMEM. */
int flurry__response_header_line(flurry_response *resp, const char *line, size_t n);
/* Maps a libcurl result to an error kind. */
int flurry__curl_kind(CURLcode code);

#endif
