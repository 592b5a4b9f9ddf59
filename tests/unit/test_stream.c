/* test_stream.c: the record framers of streamed responses
 * (src/stream_frame.c): exact records for lines, NDJSON and SSE corpora
 * (the WHATWG event-stream rules one by one), and the same records however
 * the bytes are split: at every split point, and one byte at a time, each
 * piece in a heap block of exactly its size so ASan sees any over-read.
 * Then the API (src/stream.c) with a client and flurry mock's stream
 * endpoints on one loop: records, stop from the callback, calls refused
 * there, the loop closed clean. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "mock_int.h"
#include "stream_int.h"

typedef struct sink {
  fl_buf out;        /* one "seq|event|id|retry|data" line per record */
  size_t stop_after; /* ask to stop after this many records (0: never) */
  size_t n;
} sink;

static int collect(void *ud, const flurry_stream_record *rec) {
  sink *s = ud;
  assert_int_equal(rec->data[rec->len], '\0');
  fl_buf_printf(&s->out, "%llu|%s|%s|%lld|", (unsigned long long)rec->seq,
                rec->event ? rec->event : "-", rec->id ? rec->id : "-", (long long)rec->retry_ms);
  fl_buf_append(&s->out, rec->data, rec->len);
  fl_buf_putc(&s->out, '\n');
  s->n++;
  return s->stop_after && s->n >= s->stop_after;
}

/* Feeds p[0..n) in pieces ending at the cut offsets (sorted, < n), then
 * finishes. Returns the records as text (free) and the last result. */
static char *frame_cuts(int mode, size_t max, const char *p, size_t n, const size_t *cuts,
                        size_t ncuts, int *rc, size_t stop_after) {
  sink s = {FL_BUF_INIT(0), stop_after, 0};
  flurry__framer f;
  flurry__framer_init(&f, mode, max, collect, &s);
  size_t at = 0;
  *rc = FRAME_OK;
  for (size_t i = 0; i <= ncuts && *rc == FRAME_OK; i++) {
    size_t end = i < ncuts ? cuts[i] : n;
    char *piece = malloc(end - at ? end - at : 1);
    assert_non_null(piece);
    memcpy(piece, p + at, end - at);
    *rc = flurry__framer_feed(&f, piece, end - at);
    free(piece);
    at = end;
  }
  if (*rc == FRAME_OK)
    *rc = flurry__framer_finish(&f);
  flurry__framer_free(&f);
  return fl_buf_take(&s.out, NULL);
}

static char *frame(int mode, const char *p, size_t n, int *rc) {
  return frame_cuts(mode, 1024, p, n, NULL, 0, rc, 0);
}

/* Whole, split once at every point, split twice at a grid of points, and
 * byte at a time: the same records and the same result every time. */
static void same_every_split(int mode, size_t max, const char *p, size_t n, const char *want,
                             int want_rc) {
  int rc;
  char *got = frame_cuts(mode, max, p, n, NULL, 0, &rc, 0);
  assert_string_equal(got, want);
  assert_int_equal(rc, want_rc);
  free(got);
  for (size_t k = 1; k < n; k++) {
    got = frame_cuts(mode, max, p, n, &k, 1, &rc, 0);
    assert_string_equal(got, want);
    assert_int_equal(rc, want_rc);
    free(got);
    for (size_t j = k + 1; j < n; j += 3) {
      size_t two[2] = {k, j};
      got = frame_cuts(mode, max, p, n, two, 2, &rc, 0);
      assert_string_equal(got, want);
      assert_int_equal(rc, want_rc);
      free(got);
    }
  }
  size_t *each = malloc(n * sizeof *each);
  assert_non_null(each);
  for (size_t k = 1; k < n; k++)
    each[k - 1] = k;
  got = frame_cuts(mode, max, p, n, each, n ? n - 1 : 0, &rc, 0);
  assert_string_equal(got, want);
  assert_int_equal(rc, want_rc);
  free(got);
  free(each);
}

#define CORPUS(s) s, sizeof s - 1

static const char lines_in[] = "alpha\nbeta\r\n\n  spaced  \r\nno end";
static const char lines_want[] = "1|-|-|-1|alpha\n2|-|-|-1|beta\n3|-|-|-1|\n4|-|-|-1|  spaced  \n"
                                 "5|-|-|-1|no end\n";

static void test_stream_lines_every_split(void **state) {
  (void)state;
  same_every_split(FLURRY_STREAM_LINES, 1024, CORPUS(lines_in), lines_want, FRAME_OK);
}

static const char ndjson_in[] = "{\"a\": 1}\n\n  [1, 2 ,3]  \r\n\"s\\n\"\n42\n{\"b\":{\"c\":null}}";
static const char ndjson_want[] = "1|-|-|-1|{\"a\":1}\n2|-|-|-1|[1,2,3]\n3|-|-|-1|\"s\\n\"\n"
                                  "4|-|-|-1|42\n5|-|-|-1|{\"b\":{\"c\":null}}\n";

static void test_stream_ndjson_every_split(void **state) {
  (void)state;
  same_every_split(FLURRY_STREAM_NDJSON, 1024, CORPUS(ndjson_in), ndjson_want, FRAME_OK);
}

static void test_stream_ndjson_bad_line(void **state) {
  (void)state;
  static const char in[] = "{\"a\":1}\n{\"a\":\n{\"a\":3}\n";
  same_every_split(FLURRY_STREAM_NDJSON, 1024, CORPUS(in), "1|-|-|-1|{\"a\":1}\n", FRAME_BAD);
}

/* The spec's own examples and every rule: BOM, CR / LF / CRLF, comments,
 * a field without colon, one leading space removed, multi-line data,
 * event, id kept across events, id or event with NUL ignored, retry digits only,
 * empty data not dispatched, unknown fields ignored, the incomplete event
 * at the end dropped. */
static const char sse_in[] = "\xEF\xBB\xBF: a comment\n"
                             "data: first\n\n"
                             "event: add\r\ndata: a\r\ndata:  b\r\nid: 7\r\n\r\n"
                             "data\rdata\r\r"
                             "retry: 1500\ndata: c\n\n"
                             "retry: 15x0\ndata: d\nid: 8\0bad\n\n"
                             "event: empty\nid: 9\n\n"
                             "foo: bar\ndata:e\n\n"
                             "id\ndata: f\n\n"
                             "event: a\0b\ndata: g\n\n"
                             "data: never\nid: 10\n";
static const char sse_want[] = "1|message||-1|first\n"
                               "2|add|7|-1|a\n b\n"
                               "3|message|7|-1|\n\n"
                               "4|message|7|1500|c\n"
                               "5|message|7|1500|d\n"
                               "6|message|9|1500|e\n"
                               "7|message||1500|f\n"
                               "8|message||1500|g\n";

static void test_stream_sse_every_split(void **state) {
  (void)state;
  same_every_split(FLURRY_STREAM_SSE, 1024, CORPUS(sse_in), sse_want, FRAME_OK);
}

/* A BOM only at the start, and a BOM begun but not finished is data. */
static void test_stream_sse_bom(void **state) {
  (void)state;
  static const char in[] = "\xEF\xBB\xBF\xEF\xBB\xBF"
                           "data: x\n\n";
  int rc;
  char *got = frame(FLURRY_STREAM_SSE, CORPUS(in), &rc);
  assert_string_equal(got, ""); /* the field name holds a BOM: not "data" */
  free(got);
  static const char half[] = "\xEF\xBB"
                             "data: y\n\n";
  got = frame(FLURRY_STREAM_SSE, CORPUS(half), &rc);
  assert_string_equal(got, "");
  free(got);
  static const char plain[] = "data: z\n\n";
  got = frame(FLURRY_STREAM_SSE, CORPUS(plain), &rc);
  assert_string_equal(got, "1|message||-1|z\n");
  free(got);
}

/* The limit: a record of exactly max bytes passes, one more is an error,
 * wherever the bytes are split. */
static void test_stream_record_limit(void **state) {
  (void)state;
  static const char in[] = "0123456789abcdef\n0123456789abcdefX\n";
  same_every_split(FLURRY_STREAM_LINES, 16, CORPUS(in), "1|-|-|-1|0123456789abcdef\n",
                   FRAME_TOO_LARGE);
  /* SSE: the data of one event, over several lines */
  static const char sse[] = "data: 01234567\ndata: 0123456\n\ndata: 01234567\ndata: 01234567\n\n";
  same_every_split(FLURRY_STREAM_SSE, 16, CORPUS(sse), "1|message||-1|01234567\n0123456\n",
                   FRAME_TOO_LARGE);
}

/* Stop from the callback: nothing after that record is looked at. */
static void test_stream_stop(void **state) {
  (void)state;
  int rc;
  char *got = frame_cuts(FLURRY_STREAM_LINES, 64, CORPUS("a\nb\nc\n"), NULL, 0, &rc, 2);
  assert_string_equal(got, "1|-|-|-1|a\n2|-|-|-1|b\n");
  assert_int_equal(rc, FRAME_STOP);
  free(got);
}

/* A new connection drops the partial record and the event being built,
 * keeps seq, the last event ID and the retry delay. */
static void test_stream_reset_drops_partial(void **state) {
  (void)state;
  sink s = {FL_BUF_INIT(0), 0, 0};
  flurry__framer f;
  flurry__framer_init(&f, FLURRY_STREAM_SSE, 1024, collect, &s);
  static const char one[] = "retry: 20\nid: 1\ndata: one\n\nid: 2\ndata: tw";
  assert_int_equal(flurry__framer_feed(&f, one, sizeof one - 1), FRAME_OK);
  assert_int_equal(flurry__framer_finish(&f), FRAME_OK); /* EOF: dropped */
  assert_string_equal(f.last_id.data, "1");
  flurry__framer_reset(&f);
  static const char two[] = "\xEF\xBB\xBF"
                            "data: two\nid: 2\n\n";
  assert_int_equal(flurry__framer_feed(&f, two, sizeof two - 1), FRAME_OK);
  flurry__framer_free(&f);
  char *got = fl_buf_take(&s.out, NULL);
  assert_string_equal(got, "1|message|1|20|one\n2|message|2|20|two\n");
  fl_free(got);
}

static void test_stream_pure_helpers(void **state) {
  (void)state;
  size_t eol = 0;
  assert_int_equal(flurry__line_end("ab\r\ncd", 6, 1, &eol), 2);
  assert_int_equal(eol, 2);
  assert_int_equal(flurry__line_end("ab\r", 3, 1, &eol), 2);
  assert_int_equal(eol, 1);
  assert_int_equal(flurry__line_end("ab\rcd\n", 6, 0, &eol), 5);
  assert_int_equal(flurry__line_end("abc", 3, 1, &eol), -1);
  int64_t ms = 0;
  assert_int_equal(flurry__sse_retry("0", 1, &ms), 0);
  assert_int_equal(ms, 0);
  assert_int_equal(flurry__sse_retry("99999999999999999999999", 23, &ms), 0);
  assert_true(ms == INT64_MAX);
  assert_int_equal(flurry__sse_retry("", 0, &ms), -1);
  assert_int_equal(flurry__sse_retry(" 1", 2, &ms), -1);
  assert_int_equal(flurry__sse_retry("-1", 2, &ms), -1);
  const char *fl, *v;
  size_t fn, vn;
  assert_int_equal(flurry__sse_field(": x", 3, &fl, &fn, &v, &vn), 0);
  assert_int_equal(flurry__sse_field("data:  x", 8, &fl, &fn, &v, &vn), 1);
  assert_int_equal(fn, 4);
  assert_int_equal(vn, 2); /* one space removed, not two */
  assert_int_equal(flurry__sse_field("data", 4, &fl, &fn, &v, &vn), 1);
  assert_int_equal(fn, 4);
  assert_int_equal(vn, 0);
}

/* ---- the API, against flurry mock on the same loop ---- */

static int api_record(flurry_request *req, const flurry_stream_record *rec, void *ud);

static void test_stream_api_rejects(void **state) {
  (void)state;
  flurry_request *req;
  assert_int_equal(flurry_request_new(&req, "GET", "http://127.0.0.1:1/"), FLURRY_OK);
  assert_int_equal(flurry_request_set_stream_opt(req, FLURRY_STREAM_MAX_RECONNECTS, 1),
                   FLURRY_EINVALID); /* not a stream yet */
  assert_int_equal(flurry_request_set_stream(req, 0, api_record, NULL), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_stream(req, 4, api_record, NULL), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_stream(req, FLURRY_STREAM_SSE, NULL, NULL), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_stream(req, FLURRY_STREAM_SSE, api_record, NULL), FLURRY_OK);
  assert_int_equal(flurry_request_set_stream_opt(req, FLURRY_STREAM_MAX_RECORD_BYTES, 15),
                   FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_stream_opt(req, FLURRY_STREAM_MAX_RECORD_BYTES, 16),
                   FLURRY_OK);
  assert_int_equal(flurry_request_set_stream_opt(req, FLURRY_STREAM_MAX_RECONNECTS, -1),
                   FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_stream_opt(req, FLURRY_STREAM_RETRY_MS, 60001),
                   FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_stream_opt(req, (flurry_stream_opt)99, 1), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_stream_opt(req, FLURRY_STREAM_RECONNECT, 4), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_stream_opt(req, FLURRY_STREAM_RECONNECT,
                                                 FLURRY_RECONNECT_ON_ERROR),
                   FLURRY_OK);
  assert_int_equal(flurry_request_set_stream_until(req, ""), FLURRY_EINVALID);
  assert_int_equal(flurry_request_set_stream_until(req, "[DONE]"), FLURRY_OK);
  assert_int_equal(flurry_request_set_stream_until(req, "[END]"), FLURRY_OK); /* replaced */
  flurry_request_free(req); /* the stream's state with it (ASan: no leak) */
  assert_string_equal(flurry_stream_end_name(FLURRY_STREAM_END_STOPPED), "stopped");
  assert_string_equal(flurry_stream_end_name(42), "unknown");
  assert_string_equal(flurry_stream_end_name(FLURRY_STREAM_END_SENTINEL), "sentinel");
  assert_string_equal(flurry_err_name(FLURRY_ESTREAM), "stream");
}

typedef struct api_case {
  flurry_client *client;
  uint64_t stop_at; /* 0: never */
  uint64_t records;
  int refused; /* calls refused inside the record callback */
  int done;
  int err;
  flurry_stream_info info;
  size_t body_len;
} api_case;

static int api_record(flurry_request *req, const flurry_stream_record *rec, void *ud) {
  api_case *a = ud;
  (void)req;
  a->records++;
  assert_int_equal(rec->seq, a->records);
  a->refused += flurry_client_cancel_all(a->client) == FLURRY_EINVALID;
  a->refused += flurry_client_run(a->client) == FLURRY_EINVALID;
  return a->stop_at && rec->seq >= a->stop_at;
}

static void api_done(flurry_request *req, flurry_response *resp, void *ud) {
  api_case *a = ud;
  (void)req;
  a->done++;
  a->err = flurry_response_error(resp);
  assert_int_equal(flurry_response_stream(resp, &a->info), FLURRY_OK);
  flurry_response_body(resp, &a->body_len);
  flurry_response_free(resp);
}

/* A GET (or, with until set, a POST ending at that sentinel; "" none). */
static void api_submit_until(flurry_client *c, unsigned port, const char *path, int mode,
                             api_case *a, const char *until) {
  char url[256];
  flurry_request *req;
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
  a->client = c;
  assert_int_equal(flurry_request_new(&req, until ? "POST" : "GET", url), FLURRY_OK);
  assert_int_equal(flurry_request_set_stream(req, mode, api_record, a), FLURRY_OK);
  assert_int_equal(flurry_request_set_stream_opt(req, FLURRY_STREAM_MAX_RECONNECTS, 3), FLURRY_OK);
  if (until && *until)
    assert_int_equal(flurry_request_set_stream_until(req, until), FLURRY_OK);
  assert_int_equal(flurry_client_submit(c, req, api_done, a), FLURRY_OK);
}

static void api_submit(flurry_client *c, unsigned port, const char *path, int mode, api_case *a) {
  api_submit_until(c, port, path, mode, a, NULL);
}

static void test_stream_api_on_one_loop(void **state) {
  (void)state;
  uv_loop_t loop;
  mock_server m;
  httpd_server *h;
  flurry_client *c;
  char err[256];
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(mock_init(&m, &loop), 0);
  httpd_opts o;
  memset(&o, 0, sizeof o);
  o.on_request = mock_on_request;
  o.on_abandon = mock_on_abandon;
  o.user = &m;
  assert_int_equal(httpd_new(&h, &loop, &o, err, sizeof err), 0);
  unsigned port = httpd_port(h);
  assert_int_equal(flurry_client_new(&c, &loop), FLURRY_OK);
  api_case whole = {0}, stopped = {0}, sse = {0}, post = {0}, done = {0};
  stopped.stop_at = 5;
  api_submit(c, port, "/ndjson?n=200&pad=100", FLURRY_STREAM_NDJSON, &whole);
  api_submit(c, port, "/lines?n=1000000", FLURRY_STREAM_LINES, &stopped);
  api_submit(c, port, "/sse?n=7&cut_every=3&retry=1", FLURRY_STREAM_SSE, &sse);
  api_submit_until(c, port, "/chat?key=u1", FLURRY_STREAM_SSE, &post, "");
  api_submit_until(c, port, "/chat?key=u2", FLURRY_STREAM_SSE, &done, "[DONE]");
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  httpd_close(h, NULL, NULL);
  flurry_client_free(c);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  mock_free(&m);
  assert_int_equal(uv_loop_close(&loop), 0);

  assert_int_equal(whole.done, 1);
  assert_int_equal(whole.err, FLURRY_OK);
  assert_int_equal(whole.info.records, 200);
  assert_int_equal(whole.info.end, FLURRY_STREAM_END_EOF);
  assert_int_equal(whole.body_len, 0); /* nothing of the body kept */
  assert_int_equal(whole.refused, 2 * 200);
  assert_int_equal(stopped.err, FLURRY_OK);
  assert_int_equal(stopped.records, 5);
  assert_int_equal(stopped.info.end, FLURRY_STREAM_END_STOPPED);
  assert_int_equal(sse.err, FLURRY_OK);
  assert_int_equal(sse.records, 7);
  assert_int_equal(sse.info.reconnects, 3); /* cut after 3, after 6, end; then 204 */
  assert_int_equal(sse.info.end, FLURRY_STREAM_END_NO_CONTENT);
  /* SSE over POST: never repeated; the clean end is the end (issue 11) */
  assert_int_equal(post.err, FLURRY_OK);
  assert_int_equal(post.records, 3);
  assert_int_equal(post.info.reconnects, 0);
  assert_int_equal(post.info.end, FLURRY_STREAM_END_EOF);
  assert_int_equal(done.err, FLURRY_OK);
  assert_int_equal(done.records, 2); /* [DONE] is not given to the callback */
  assert_int_equal(done.info.records, 2);
  assert_int_equal(done.info.end, FLURRY_STREAM_END_SENTINEL);
}

/* A stream redirected to another origin carries no credential (issue 14):
 * two mocks on one loop (two ports: two origins); /headers is one NDJSON
 * record listing the headers it got. The same redirect within the origin
 * keeps them: the check can fail. */
typedef struct hdr_case {
  char record[4096];
  int done, err;
} hdr_case;

static int hdr_record(flurry_request *req, const flurry_stream_record *rec, void *ud) {
  hdr_case *h = ud;
  (void)req;
  snprintf(h->record, sizeof h->record, "%.*s", (int)rec->len, rec->data);
  return 0;
}

static void hdr_done(flurry_request *req, flurry_response *resp, void *ud) {
  hdr_case *h = ud;
  (void)req;
  h->done++;
  h->err = flurry_response_error(resp);
  flurry_response_free(resp);
}

static void hdr_submit(flurry_client *c, unsigned from, unsigned to, int mode, hdr_case *h) {
  char url[256];
  flurry_request *req;
  snprintf(url, sizeof url,
           "http://127.0.0.1:%u/redirect-to?url=http%%3A%%2F%%2F127.0.0.1%%3A%u%%2Fheaders", from,
           to);
  assert_int_equal(flurry_request_new(&req, "GET", url), FLURRY_OK);
  assert_int_equal(flurry_request_add_header(req, "Cookie", "sid=REQ_SECRET"), FLURRY_OK);
  assert_int_equal(flurry_request_set_stream(req, mode, hdr_record, h), FLURRY_OK);
  assert_int_equal(flurry_client_submit(c, req, hdr_done, h), FLURRY_OK);
}

static void test_stream_cross_origin_redirect_drops_credentials(void **state) {
  (void)state;
  uv_loop_t loop;
  mock_server m;
  httpd_server *h[2];
  unsigned port[2];
  flurry_client *c;
  char err[256];
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(mock_init(&m, &loop), 0);
  for (int i = 0; i < 2; i++) {
    httpd_opts o;
    memset(&o, 0, sizeof o);
    o.on_request = mock_on_request;
    o.on_abandon = mock_on_abandon;
    o.user = &m;
    assert_int_equal(httpd_new(&h[i], &loop, &o, err, sizeof err), 0);
    port[i] = httpd_port(h[i]);
  }
  assert_int_equal(flurry_client_new(&c, &loop), FLURRY_OK);
  assert_int_equal(flurry_client_add_header(c, "Authorization", "Bearer CLIENT_SECRET"), FLURRY_OK);
  assert_int_equal(flurry_client_add_header(c, "X-Plain", "visible"), FLURRY_OK);
  hdr_case cross_nd = {0}, cross_lines = {0}, same = {0};
  hdr_submit(c, port[0], port[1], FLURRY_STREAM_NDJSON, &cross_nd);
  hdr_submit(c, port[0], port[1], FLURRY_STREAM_LINES, &cross_lines);
  hdr_submit(c, port[0], port[0], FLURRY_STREAM_NDJSON, &same);
  assert_int_equal(flurry_client_run(c), FLURRY_OK);
  for (int i = 0; i < 2; i++)
    httpd_close(h[i], NULL, NULL);
  flurry_client_free(c);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  mock_free(&m);
  assert_int_equal(uv_loop_close(&loop), 0);

  hdr_case *cross[] = {&cross_nd, &cross_lines};
  for (int i = 0; i < 2; i++) {
    assert_int_equal(cross[i]->done, 1);
    assert_int_equal(cross[i]->err, FLURRY_OK);
    assert_non_null(strstr(cross[i]->record, "visible"));
    assert_null(strstr(cross[i]->record, "CLIENT_SECRET"));
    assert_null(strstr(cross[i]->record, "REQ_SECRET"));
  }
  assert_int_equal(same.err, FLURRY_OK);
  assert_non_null(strstr(same.record, "CLIENT_SECRET"));
  assert_non_null(strstr(same.record, "REQ_SECRET"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stream_lines_every_split),
      cmocka_unit_test(test_stream_ndjson_every_split),
      cmocka_unit_test(test_stream_ndjson_bad_line),
      cmocka_unit_test(test_stream_sse_every_split),
      cmocka_unit_test(test_stream_sse_bom),
      cmocka_unit_test(test_stream_record_limit),
      cmocka_unit_test(test_stream_stop),
      cmocka_unit_test(test_stream_reset_drops_partial),
      cmocka_unit_test(test_stream_pure_helpers),
      cmocka_unit_test(test_stream_api_rejects),
      cmocka_unit_test(test_stream_cross_origin_redirect_drops_credentials),
      cmocka_unit_test(test_stream_api_on_one_loop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
