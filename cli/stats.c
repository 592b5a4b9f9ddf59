/* stats.c: counts by status and error kind, retries, and a log-bucketed
 * latency histogram (2% precision) for the progress line and the summary. */
#include <math.h>
#include <string.h>

#include "cli.h"

#define HIST_BASE 1.02
#define HIST_BUCKETS 1400 /* 1.02^1400 us is far beyond any timeout */

struct cli_stats {
  double start_ms;
  uint64_t done, failed, retries;
  uint64_t by_status[600];
  uint64_t by_kind[FLURRY_ERR_COUNT];
  uint64_t input_errors;
  uint64_t record_errors; /* failed records with no failed request behind them */
  uint64_t by_detail[16]; /* by details[] */
  uint64_t counts[COUNT_KINDS_];
  uint64_t by_cache[FLURRY_CACHE_BYPASS + 1]; /* flurry_cache_status */
  uint64_t origin_saved;                      /* answered with no origin request */
  uint64_t hist[HIST_BUCKETS];
  uint64_t nlat;
  double max_ms;
};

cli_stats *cli_stats_new(void) {
  cli_stats *s = fl_calloc(1, sizeof *s);
  if (s)
    s->start_ms = fl_now_ms();
  return s;
}

void cli_stats_free(cli_stats *s) { fl_free(s); }

uint64_t cli_stats_done(const cli_stats *s) { return s->done; }

uint64_t cli_stats_failed(const cli_stats *s) { return s->failed + s->record_errors; }

/* The details a record error may have, in summary order. */
static const char *const details[] = {"jq",        "pagination_cycle", "pagination",
                                      "template",  "join_part",        "cancelled",
                                      "body_rule", "bad_json",         "other",
                                      NULL};
_Static_assert(sizeof details / sizeof details[0] - 1 <=
                   sizeof(((cli_stats *)0)->by_detail) / sizeof(uint64_t),
               "a counter per detail");

void cli_stats_record_error(cli_stats *s, const char *detail) {
  size_t i = 0;
  while (details[i + 1] && strcmp(details[i], detail ? detail : "") != 0)
    i++;
  s->by_detail[i]++;
  if (strcmp(details[i], "join_part") != 0) /* a join's failed part is a failed request */
    s->record_errors++;
}

void cli_stats_count(cli_stats *s, cli_count what, uint64_t n) { s->counts[what] += n; }

static const char *const count_names[COUNT_KINDS_] = {"records",         "items",
                                                      "deduplicated",    "max_pages_stops",
                                                      "resumed_records", "not_started",
                                                      "chains_resumed"};

static int bucket(double ms) {
  double us = ms * 1000.0;
  if (us < 1)
    return 0;
  int b = (int)(log(us) / log(HIST_BASE));
  return b >= HIST_BUCKETS ? HIST_BUCKETS - 1 : b;
}

/* Where the answer came from, with --cache. */
static void count_cache(cli_stats *s, const flurry_response *resp) {
  int cs = flurry_response_cache(resp);
  if (cs <= FLURRY_CACHE_NONE || cs > FLURRY_CACHE_BYPASS)
    return;
  s->by_cache[cs]++;
  if ((cs == FLURRY_CACHE_HIT || cs == FLURRY_CACHE_STALE) && flurry_response_attempts(resp) == 0)
    s->origin_saved++;
}

static uint64_t cache_total(const cli_stats *s) {
  uint64_t n = 0;
  for (int i = FLURRY_CACHE_HIT; i <= FLURRY_CACHE_BYPASS; i++)
    n += s->by_cache[i];
  return n;
}

void cli_stats_add(cli_stats *s, const flurry_response *resp) {
  s->done++;
  if (resp == NULL) {
    s->failed++;
    s->input_errors++;
    return;
  }
  int err = flurry_response_error(resp);
  int status = flurry_response_status(resp);
  if (err != FLURRY_OK) {
    s->failed++;
    if (err > 0 && err < FLURRY_ERR_COUNT)
      s->by_kind[err]++;
  }
  if (status > 0 && status < 600)
    s->by_status[status]++;
  int attempts = flurry_response_attempts(resp);
  flurry_stream_info si; /* an SSE reconnect is not a retry */
  if (flurry_response_stream(resp, &si) == FLURRY_OK)
    attempts -= si.reconnects;
  if (attempts > 1)
    s->retries += (uint64_t)(attempts - 1);
  count_cache(s, resp);
  flurry_timings t;
  flurry_response_timings(resp, &t);
  s->hist[bucket(t.elapsed_ms)]++;
  s->nlat++;
  if (t.elapsed_ms > s->max_ms)
    s->max_ms = t.elapsed_ms;
}

static double percentile(const cli_stats *s, double p) {
  if (s->nlat == 0)
    return 0;
  uint64_t want = (uint64_t)ceil(p * (double)s->nlat);
  if (want == 0)
    want = 1;
  uint64_t seen = 0;
  for (int b = 0; b < HIST_BUCKETS; b++) {
    seen += s->hist[b];
    if (seen >= want) {
      double ms = pow(HIST_BASE, b + 0.5) / 1000.0; /* bucket middle */
      return ms > s->max_ms ? s->max_ms : ms;
    }
  }
  return s->max_ms;
}

static void fmt_duration(fl_buf *out, double secs) {
  if (secs < 60)
    fl_buf_printf(out, "%.0fs", secs);
  else if (secs < 3600)
    fl_buf_printf(out, "%.0fm%02.0fs", floor(secs / 60), fmod(secs, 60));
  else
    fl_buf_printf(out, "%.0fh%02.0fm", floor(secs / 3600), fmod(secs / 60, 60));
}

void cli_stats_progress(const cli_stats *s, int64_t total, double limit, fl_buf *out) {
  double secs = (fl_now_ms() - s->start_ms) / 1000.0;
  double rate = secs > 0 ? (double)s->done / secs : 0;
  if (total >= 0)
    fl_buf_printf(out, "%llu/%lld (%.0f%%)", (unsigned long long)s->done, (long long)total,
                  total ? 100.0 * (double)s->done / (double)total : 100.0);
  else
    fl_buf_printf(out, "%llu done", (unsigned long long)s->done);
  fl_buf_printf(out, "  %.0f req/s  %llu errors  %llu retries", rate, (unsigned long long)s->failed,
                (unsigned long long)s->retries);
  if (limit > 0)
    fl_buf_printf(out, "  limit %.4g/s", limit);
  if (total > 0 && rate > 0 && (uint64_t)total > s->done) {
    fl_buf_puts(out, "  ETA ");
    fmt_duration(out, (double)((uint64_t)total - s->done) / rate);
  }
}

void cli_stats_summary(const cli_stats *s, FILE *f, uint64_t blank_lines) {
  double secs = (fl_now_ms() - s->start_ms) / 1000.0;
  fprintf(f, "flurry: %llu requests in %.2fs (%.0f req/s): %llu ok, %llu failed",
          (unsigned long long)s->done, secs, secs > 0 ? (double)s->done / secs : 0.0,
          (unsigned long long)(s->done - s->failed), (unsigned long long)s->failed);
  if (s->retries)
    fprintf(f, ", %llu retries", (unsigned long long)s->retries);
  if (blank_lines)
    fprintf(f, ", %llu blank lines skipped", (unsigned long long)blank_lines);
  fputc('\n', f);
  int any = 0;
  for (int st = 0; st < 600; st++) {
    if (s->by_status[st] == 0)
      continue;
    fprintf(f, "%s %d: %llu", any ? "," : "  status", st, (unsigned long long)s->by_status[st]);
    any = 1;
  }
  if (any)
    fputc('\n', f);
  any = 0;
  for (int k = 1; k < FLURRY_ERR_COUNT; k++) {
    if (s->by_kind[k] == 0)
      continue;
    fprintf(f, "%s %s: %llu", any ? "," : "  errors", flurry_err_name(k),
            (unsigned long long)s->by_kind[k]);
    any = 1;
  }
  if (s->input_errors)
    fprintf(f, "%s invalid input lines: %llu", any ? "," : "  errors",
            (unsigned long long)s->input_errors);
  if (any || s->input_errors)
    fputc('\n', f);
  if (s->counts[COUNT_RECORDS] != s->done || s->record_errors) {
    fprintf(f, "  records: %llu", (unsigned long long)s->counts[COUNT_RECORDS]);
    for (int k = 1; k < COUNT_KINDS_; k++)
      if (s->counts[k])
        fprintf(f, ", %s: %llu", count_names[k], (unsigned long long)s->counts[k]);
    for (int d = 0; details[d]; d++)
      if (s->by_detail[d])
        fprintf(f, ", errors %s: %llu", details[d], (unsigned long long)s->by_detail[d]);
    fputc('\n', f);
  }
  if (cache_total(s)) {
    fputs("  cache:", f);
    for (int i = FLURRY_CACHE_HIT; i <= FLURRY_CACHE_BYPASS; i++)
      fprintf(f, "%s %s %llu", i > FLURRY_CACHE_HIT ? "," : "", flurry_cache_status_name(i),
              (unsigned long long)s->by_cache[i]);
    fprintf(f, "; origin requests saved: %llu\n", (unsigned long long)s->origin_saved);
  }
  if (s->nlat)
    fprintf(f, "  latency ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n", percentile(s, 0.50),
            percentile(s, 0.90), percentile(s, 0.99), s->max_ms);
}

void cli_stats_json(const cli_stats *s, fl_buf *out) {
  double secs = (fl_now_ms() - s->start_ms) / 1000.0;
  fl_buf_printf(out,
                "{\"requests\":%llu,\"ok\":%llu,\"failed\":%llu,\"retries\":%llu,"
                "\"elapsed_s\":%.3f,\"req_per_s\":%.1f,\"status\":{",
                (unsigned long long)s->done, (unsigned long long)(s->done - s->failed),
                (unsigned long long)s->failed, (unsigned long long)s->retries, secs,
                secs > 0 ? (double)s->done / secs : 0.0);
  const char *sep = "";
  for (int st = 0; st < 600; st++) {
    if (s->by_status[st]) {
      fl_buf_printf(out, "%s\"%d\":%llu", sep, st, (unsigned long long)s->by_status[st]);
      sep = ",";
    }
  }
  fl_buf_puts(out, "},\"errors\":{");
  sep = "";
  for (int k = 1; k < FLURRY_ERR_COUNT; k++) {
    if (s->by_kind[k]) {
      fl_buf_printf(out, "%s\"%s\":%llu", sep, flurry_err_name(k),
                    (unsigned long long)s->by_kind[k]);
      sep = ",";
    }
  }
  fl_buf_puts(out, "}");
  for (int k = 0; k < COUNT_KINDS_; k++)
    fl_buf_printf(out, ",\"%s\":%llu", count_names[k], (unsigned long long)s->counts[k]);
  fl_buf_puts(out, ",\"record_errors\":{");
  sep = "";
  for (int d = 0; details[d]; d++) {
    if (s->by_detail[d]) {
      fl_buf_printf(out, "%s\"%s\":%llu", sep, details[d], (unsigned long long)s->by_detail[d]);
      sep = ",";
    }
  }
  if (cache_total(s)) {
    fl_buf_puts(out, "},\"cache\":{");
    for (int i = FLURRY_CACHE_HIT; i <= FLURRY_CACHE_BYPASS; i++)
      fl_buf_printf(out, "\"%s\":%llu,", flurry_cache_status_name(i),
                    (unsigned long long)s->by_cache[i]);
    fl_buf_printf(out, "\"origin_saved\":%llu", (unsigned long long)s->origin_saved);
  }
  fl_buf_printf(out,
                "},\"invalid_input_lines\":%llu,\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,"
                "\"p99\":%.3f,\"max\":%.3f}",
                (unsigned long long)s->input_errors, percentile(s, 0.50), percentile(s, 0.90),
                percentile(s, 0.99), s->max_ms);
}
