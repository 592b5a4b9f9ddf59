/* stream.c: --stream ndjson|sse|lines: each record of a streamed response
 * becomes its own JSON line the moment it is complete, carrying the line's
 * id and the record's sequence number; the request's result record follows
 * as usual, with the stream's figures instead of a body. */
#include <string.h>

#include "tree_int.h"

int cli_stream_mode(const char *name) {
  if (strcmp(name, "lines") == 0)
    return FLURRY_STREAM_LINES;
  if (strcmp(name, "ndjson") == 0)
    return FLURRY_STREAM_NDJSON;
  if (strcmp(name, "sse") == 0)
    return FLURRY_STREAM_SSE;
  return 0;
}

/* {"id":ID,"seq":N[,"event":E,"event_id":I],"data":D}: D is the NDJSON
 * value as JSON, else a string. */
static int put_record(fl_buf *b, const troot *rt, const flurry_stream_record *rec, int mode) {
  int rc = fl_buf_puts(b, "{\"id\":");
  rc |= fl_buf_puts(b, rt->id_json);
  rc |= fl_buf_puts(b, ",\"seq\":");
  rc |= fl_buf_i64(b, (int64_t)rec->seq);
  if (rec->event) {
    rc |= fl_buf_puts(b, ",\"event\":");
    rc |= fl_json_str(b, rec->event, strlen(rec->event));
    rc |= fl_buf_puts(b, ",\"event_id\":");
    rc |= fl_json_str(b, rec->id, strlen(rec->id));
  }
  rc |= fl_buf_puts(b, ",\"data\":");
  rc |= mode == FLURRY_STREAM_NDJSON ? fl_buf_append(b, rec->data, rec->len)
                                     : fl_json_str(b, rec->data, rec->len);
  rc |= fl_buf_puts(b, "}\n");
  return rc;
}

static int on_record(flurry_request *req, const flurry_stream_record *rec, void *ud) {
  (void)req;
  troot *rt = ud;
  const cli_ctx *ctx = rt->t->ctx;
  fl_buf b = FL_BUF_INIT(0);
  if (put_record(&b, rt, rec, ctx->o->stream_mode) == FL_OK)
    cli_out_write(ctx->out, rt->seq, b.data, b.len);
  else
    fprintf(stderr, "flurry: out of memory: record %llu of line %llu lost\n",
            (unsigned long long)rec->seq, (unsigned long long)rt->lineno);
  fl_buf_free(&b);
  /* A signal stops streams at their next record (end "stopped"): they
   * may never end on their own. */
  return rt->t->stopping || (ctx->o->max_records > 0 && rec->seq >= (uint64_t)ctx->o->max_records);
}

int cli_stream_attach(troot *rt, flurry_request *req) {
  const cli_opts *o = rt->t->ctx->o;
  int rc = flurry_request_set_stream(req, o->stream_mode, on_record, rt);
  if (rc == FLURRY_OK && o->max_record)
    rc = flurry_request_set_stream_opt(req, FLURRY_STREAM_MAX_RECORD_BYTES, o->max_record);
  if (rc == FLURRY_OK && o->max_reconnects >= 0)
    rc = flurry_request_set_stream_opt(req, FLURRY_STREAM_MAX_RECONNECTS, o->max_reconnects);
  if (rc == FLURRY_OK && o->sse_retry_ms >= 0)
    rc = flurry_request_set_stream_opt(req, FLURRY_STREAM_RETRY_MS, o->sse_retry_ms);
  if (rc == FLURRY_OK && o->reconnect_mode)
    rc = flurry_request_set_stream_opt(req, FLURRY_STREAM_RECONNECT, o->reconnect_mode);
  if (rc == FLURRY_OK && o->stream_until)
    rc = flurry_request_set_stream_until(req, o->stream_until);
  return rc;
}

int cli_stream_put_info(fl_buf *out, const flurry_response *resp) {
  flurry_stream_info si;
  if (flurry_response_stream(resp, &si) != FLURRY_OK)
    return FL_OK;
  return fl_buf_printf(out, ",\"stream\":{\"records\":%llu,\"reconnects\":%d,\"end\":\"%s\"}",
                       (unsigned long long)si.records, si.reconnects,
                       flurry_stream_end_name(si.end));
}
