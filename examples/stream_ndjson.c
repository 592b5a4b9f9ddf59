/* stream_ndjson.c: consume an NDJSON feed record by record, and stop it.
 *
 * The httpx tutorials read a feed line by line:
 *
 *     async with client.stream("GET", url) as r:
 *         async for line in r.aiter_lines():
 *             total += json.loads(line)["seq"]
 *             if total > limit: break
 *
 * Here the request is made a stream (flurry_request_set_stream): the record
 * callback gets each JSON value the moment its line is complete, and none
 * of the body is kept, so memory stays flat however long the feed runs.
 * Returning non-zero from the callback stops the stream (the `break`); the
 * request then completes without error, its end "stopped".
 *
 * Against the mock's /ndjson?n=N ({"seq":1} ... {"seq":N}) it reads two
 * feeds at once: one of 1,000 records to its end, and an endless-looking
 * one of 1,000,000 it stops after 100 records.
 *
 * Run: example_stream_ndjson [BASE_URL]   (default http://127.0.0.1:8080) */
#include <flurry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct feed {
  const char *what;
  unsigned long long stop_after; /* 0: read to the end */
  unsigned long long records, sum;
  int bad; /* a record not as expected */
  int done_ok;
  const char *end;
} feed;

/* One record: {"seq":N}. rec->data is the value, compact JSON (a C string). */
static int on_record(flurry_request *req, const flurry_stream_record *rec, void *user_data) {
  feed *f = user_data;
  (void)req;
  const char *p = strstr(rec->data, "\"seq\":");
  unsigned long long seq = p ? strtoull(p + 6, NULL, 10) : 0;
  f->bad |= seq != rec->seq; /* the feed's numbers and ours agree */
  f->records++;
  f->sum += seq;
  return f->stop_after && f->records >= f->stop_after; /* non-zero: stop */
}

static void on_done(flurry_request *req, flurry_response *resp, void *user_data) {
  feed *f = user_data;
  (void)req;
  flurry_stream_info si;
  flurry_response_stream(resp, &si);
  f->end = flurry_stream_end_name(si.end);
  f->done_ok = flurry_response_error(resp) == FLURRY_OK && si.records == f->records;
  printf("%-28s -> %s, status %d, %llu records, sum %llu, end %s\n", f->what,
         flurry_response_error(resp) ? flurry_response_error_message(resp) : "ok",
         flurry_response_status(resp), f->records, f->sum, f->end);
  flurry_response_free(resp);
}

static int submit(flurry_client *client, const char *url, feed *f) {
  flurry_request *req;
  if (flurry_request_new(&req, "GET", url) != FLURRY_OK)
    return -1;
  if (flurry_request_set_stream(req, FLURRY_STREAM_NDJSON, on_record, f) != FLURRY_OK ||
      flurry_client_submit(client, req, on_done, f) != FLURRY_OK) {
    flurry_request_free(req);
    return -1;
  }
  return 0;
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
  feed whole = {"/ndjson?n=1000", 0, 0, 0, 0, 0, ""};
  feed stopped = {"/ndjson?n=1000000, stop at 100", 100, 0, 0, 0, 0, ""};
  if (submit(client, "/ndjson?n=1000", &whole) != 0 ||
      submit(client, "/ndjson?n=1000000", &stopped) != 0) {
    fprintf(stderr, "out of memory\n");
    flurry_client_free(client);
    return 1;
  }
  flurry_client_run(client);
  flurry_client_free(client);
  int ok = whole.done_ok && !whole.bad && whole.sum == 500500 && strcmp(whole.end, "eof") == 0 &&
           stopped.done_ok && !stopped.bad && stopped.records == 100 &&
           strcmp(stopped.end, "stopped") == 0;
  printf("%s\n", ok ? "both feeds read as expected" : "unexpected results");
  return ok ? 0 : 1;
}
