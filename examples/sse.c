/* sse.c: subscribe to Server-Sent Events, resuming after a dropped
 * connection.
 *
 * The JavaScript way, in every SSE tutorial:
 *
 *     const es = new EventSource("/sse");
 *     es.addEventListener("tick", e => console.log(e.lastEventId, e.data));
 *
 * flurry_request_set_stream(FLURRY_STREAM_SSE) follows the same WHATWG
 * rules: the callback gets each event (type, data lines joined with LF, last
 * event ID); when the connection drops, the request connects again after
 * the server's `retry:` delay with a Last-Event-ID header, so the server
 * resumes after the last event received; a 204 ends the stream. Reconnects
 * are bounded (FLURRY_STREAM_MAX_RECONNECTS), then the request fails with
 * FLURRY_ESTREAM.
 *
 * The mock's /sse?n=12&cut_every=5&retry=20 sends 12 events but cuts the
 * connection in the middle of every 6th one; the example checks that each
 * event arrives exactly once, in order.
 *
 * Run: example_sse [BASE_URL]   (default http://127.0.0.1:8080) */
#include <flurry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS 12

typedef struct sub {
  int seen[EVENTS + 1]; /* times each event id arrived */
  int out_of_order;
  long last_id;
} sub;

static int on_event(flurry_request *req, const flurry_stream_record *ev, void *user_data) {
  sub *s = user_data;
  (void)req;
  long id = strtol(ev->id, NULL, 10);
  char first_line[64];
  size_t n = strcspn(ev->data, "\n");
  snprintf(first_line, sizeof first_line, "%.*s", (int)n, ev->data);
  printf("event %s id %s: %s (+%zu bytes)\n", ev->event, ev->id, first_line, ev->len - n);
  if (id >= 1 && id <= EVENTS)
    s->seen[id]++;
  s->out_of_order |= id != s->last_id + 1;
  s->last_id = id;
  return 0; /* go on */
}

static void on_done(flurry_request *req, flurry_response *resp, void *user_data) {
  (void)req;
  int *ok = user_data;
  flurry_stream_info si;
  flurry_response_stream(resp, &si);
  printf("stream ended: %s, %llu events, %d reconnects, end %s\n",
         flurry_response_error(resp) ? flurry_response_error_message(resp) : "ok",
         (unsigned long long)si.records, si.reconnects, flurry_stream_end_name(si.end));
  *ok = flurry_response_error(resp) == FLURRY_OK && si.end == FLURRY_STREAM_END_NO_CONTENT &&
        si.records == EVENTS && si.reconnects >= 2;
  flurry_response_free(resp);
}

int main(int argc, char **argv) {
  const char *base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
  flurry_client *client;
  int rc = flurry_client_new(&client, NULL);
  if (rc != FLURRY_OK) {
    fprintf(stderr, "flurry_client_new: %s\n", flurry_strerror(rc));
    return 1;
  }
  if (flurry_client_set_base_url(client, base) != FLURRY_OK) {
    fprintf(stderr, "bad base URL '%s'\n", base);
    flurry_client_free(client);
    return 2;
  }
  sub s = {{0}, 0, 0};
  int ok = 0;
  flurry_request *req;
  if (flurry_request_new(&req, "GET", "/sse?n=12&cut_every=5&retry=20") != FLURRY_OK ||
      flurry_request_set_stream(req, FLURRY_STREAM_SSE, on_event, &s) != FLURRY_OK ||
      flurry_request_set_stream_opt(req, FLURRY_STREAM_MAX_RECONNECTS, 10) != FLURRY_OK ||
      flurry_client_submit(client, req, on_done, &ok) != FLURRY_OK) {
    fprintf(stderr, "cannot submit the request\n");
    flurry_client_free(client);
    return 1;
  }
  flurry_client_run(client);
  flurry_client_free(client);
  int once = 1;
  for (int i = 1; i <= EVENTS; i++)
    once &= s.seen[i] == 1;
  printf("%s\n", ok && once && !s.out_of_order ? "every event exactly once, in order"
                                               : "events lost, repeated or out of order");
  return ok && once && !s.out_of_order ? 0 : 1;
}
