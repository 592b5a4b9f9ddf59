/* mock_send.c: `flurry mock send-webhook`: signs webhook deliveries the
 * way GitHub, Stripe or a Standard Webhooks sender does and POSTs them to a
 * URL, one after the other on one kept-alive connection (a plain libcurl
 * easy loop), printing each HTTP status on its own line. For the demo and
 * the tests of `flurry listen`. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fl_args.h"
#include "mock_int.h"
#include "serve.h"
#include "flurry/error.h"
#include "flurry/webhook.h"

#define PROG "flurry mock send-webhook"
#define COUNT_MAX 10000000
#define OFFSET_MAX (10 * 365 * 86400)
#define TIMEOUT_MS 30000L

typedef struct send_opts {
  const char *url, *scheme_name, *body, *id;
  const char *secrets[FLURRY_WEBHOOK_MAX_SIGS];
  size_t nsecrets;
  flurry_webhook_scheme scheme;
  flurry_webhook_key keys[FLURRY_WEBHOOK_MAX_SIGS];
  int64_t count, offset;
  int same_id, bad_signature, help;
} send_opts;

typedef struct opt_row {
  fl_arg arg;
  int key;
} opt_row;

enum { O_URL = 1, O_SCHEME, O_SECRET, O_COUNT, O_SAME_ID, O_ID, O_BODY, O_OFFSET, O_BAD, O_HELP };

static const opt_row table[] = {
    {{"url", 0, "URL", "where to POST (required)", 0}, O_URL},
    {{"scheme", 0, "S", "github, stripe, standard or none", 0}, O_SCHEME},
    {{"secret", 0, "S",
      "signing secret (repeatable: stripe and standard\n"
      "send one signature per secret, github uses the\n"
      "first). standard: whsec_<base64>",
      0},
     O_SECRET},
    {{"count", 0, "N", "deliveries (default 1)", 0}, O_COUNT},
    {{"same-id", 0, NULL,
      "every delivery is the same one (same id, same\n"
      "body): a redelivery",
      0},
     O_SAME_ID},
    {{"id", 0, "ID",
      "the delivery id (default: random); with\n"
      "--count N > 1 the i-th gets ID-i (unless\n"
      "--same-id)",
      0},
     O_ID},
    {{"body", 0, "JSON",
      "the body (default {\"id\":ID,\"object\":\"event\",...});\n"
      "Stripe's event id is the body's \"id\"",
      0},
     O_BODY},
    {{"timestamp-offset", 0, "SECONDS",
      "sign with now + SECONDS (stripe,\n"
      "standard): test the tolerance",
      0},
     O_OFFSET},
    {{"bad-signature", 0, NULL, "sign with a wrong secret", 0}, O_BAD},
    {{"help", 'h', NULL, "this text", 0}, O_HELP},
};

static void usage(const fl_args *a, FILE *f) {
  fputs("usage: flurry mock send-webhook --url URL --scheme S --secret S... "
        "[options]\n\n"
        "Signs and POSTs webhook deliveries to URL, one at a time, and prints\n"
        "each HTTP status on its own line (000: no answer). Exit status 0 when\n"
        "every answer was 2xx, else 1.\n\n",
        f);
  fl_args_help(a, f);
}

typedef struct parse_ctx {
  fl_args *a;
  send_opts *o;
} parse_ctx;

static int one_option(const fl_arg *row, const char *v, void *ud) {
  const fl_args *a = ((parse_ctx *)ud)->a;
  send_opts *o = ((parse_ctx *)ud)->o;
  const opt_row *r = FL_CONTAINER(row, opt_row, arg);
  switch (r->key) {
  case O_URL:
    o->url = v;
    return 0;
  case O_SCHEME:
    o->scheme_name = v;
    return 0;
  case O_ID:
    o->id = v;
    return 0;
  case O_BODY:
    o->body = v;
    return 0;
  case O_SAME_ID:
    o->same_id = 1;
    return 0;
  case O_BAD:
    o->bad_signature = 1;
    return 0;
  case O_HELP:
    o->help = 1;
    return 0;
  case O_COUNT:
    return fl_args_int(a, &r->arg, v, 1, COUNT_MAX, &o->count);
  case O_OFFSET:
    return fl_args_int(a, &r->arg, v, -OFFSET_MAX, OFFSET_MAX, &o->offset);
  default: /* O_SECRET */
    if (o->nsecrets == FLURRY_WEBHOOK_MAX_SIGS)
      return fl_args_bad(a, &r->arg, "", "too many secrets");
    o->secrets[o->nsecrets++] = v;
    return 0;
  }
}

static int check_opts(send_opts *o) {
  if (o->url == NULL || o->scheme_name == NULL ||
      flurry_webhook_scheme_parse(o->scheme_name, &o->scheme) != 0) {
    fprintf(stderr, PROG ": needs --url and --scheme "
                         "github|stripe|standard|none\n");
    return -1;
  }
  if (o->scheme != FLURRY_WEBHOOK_NONE && o->nsecrets == 0) {
    fprintf(stderr, PROG ": --scheme %s needs --secret\n", o->scheme_name);
    return -1;
  }
  for (size_t k = 0; k < o->nsecrets; k++) {
    flurry_webhook_key *key = &o->keys[k];
    if (flurry_webhook_key_parse(o->scheme, o->secrets[k], strlen(o->secrets[k]), key) != 0) {
      fprintf(stderr, PROG ": not a valid secret for --scheme %s\n", o->scheme_name);
      return -1;
    }
    if (o->bad_signature)
      key->k[key->len - 1] ^= 1;
  }
  return 0;
}

static int parse_opts(int argc, char **argv, fl_args *a, send_opts *o) {
  memset(o, 0, sizeof *o);
  o->count = 1;
  parse_ctx ctx = {a, o};
  if (FL_ARGS_INIT(a, PROG, table, 0) != 0 || fl_args_parse(a, argc, argv, one_option, &ctx) != 0)
    return -1;
  return o->help ? 0 : check_opts(o);
}

/* ---- one delivery
 * ------------------------------------------------------------ */

typedef struct delivery {
  fl_buf id, body, sig, line;
  struct curl_slist *headers;
} delivery;

static int add_header(delivery *d, const char *name, const char *value) {
  fl_buf_reset(&d->line);
  if (fl_buf_printf(&d->line, "%s: %s", name, value) != FL_OK)
    return -1;
  struct curl_slist *l = curl_slist_append(d->headers, d->line.data);
  if (l == NULL)
    return -1;
  d->headers = l;
  return 0;
}

/* The i-th delivery's id, body, signature and headers. */
static int prepare(const send_opts *o, const char *base, int64_t i, delivery *d) {
  char ts[24];
  int64_t t = (int64_t)time(NULL) + o->offset;
  snprintf(ts, sizeof ts, "%lld", (long long)t);
  fl_buf_reset(&d->id);
  fl_buf_reset(&d->body);
  fl_buf_reset(&d->sig);
  curl_slist_free_all(d->headers);
  d->headers = NULL;
  int rc = o->same_id || o->count == 1 ? fl_buf_puts(&d->id, base)
                                       : fl_buf_printf(&d->id, "%s-%lld", base, (long long)i);
  if (o->body)
    rc |= fl_buf_puts(&d->body, o->body);
  else
    rc |= fl_buf_printf(&d->body,
                        "{\"id\":\"%s\",\"object\":\"event\","
                        "\"type\":\"flurry.test\",\"data\":{\"n\":%lld}}",
                        d->id.data, (long long)(o->same_id ? 0 : i));
  char sig[FLURRY_WEBHOOK_SIGNATURE_MAX];
  if (rc != FL_OK || (o->scheme == FLURRY_WEBHOOK_NONE && o->nsecrets == 0))
    sig[0] = '\0';
  else if (flurry_webhook_sign(o->scheme, o->keys, o->nsecrets, d->id.data, t, d->body.data,
                               d->body.len, sig, sizeof sig) != FLURRY_OK)
    return -1;
  if (rc != FL_OK || fl_buf_puts(&d->sig, sig) != FL_OK)
    return -1;
  const char *hdr = flurry_webhook_header(o->scheme);
  rc = add_header(d, "Content-Type", "application/json");
  if (o->scheme == FLURRY_WEBHOOK_GITHUB || o->scheme == FLURRY_WEBHOOK_NONE) {
    rc |= add_header(d, "X-GitHub-Delivery", d->id.data);
    rc |= add_header(d, "X-GitHub-Event", "ping");
  }
  if (o->scheme == FLURRY_WEBHOOK_STANDARD) {
    rc |= add_header(d, "webhook-id", d->id.data);
    rc |= add_header(d, "webhook-timestamp", ts);
  }
  if (hdr)
    rc |= add_header(d, hdr, d->sig.data);
  return rc;
}

static size_t discard(char *p, size_t size, size_t n, void *user) {
  (void)p;
  (void)user;
  return size * n;
}

/* POSTs the delivery; returns the HTTP status, 0 for no answer. */
static long post(CURL *c, const char *url, const delivery *d) {
  long status = 0;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body.data);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->body.len);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, d->headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, TIMEOUT_MS);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "flurry-mock-send-webhook");
  if (curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

static int send_all(const send_opts *o, CURL *c) {
  char base[40];
  uint64_t r = mock_mix64(uv_hrtime() ^ ((uint64_t)getpid() << 32));
  snprintf(base, sizeof base, "d-%016llx", (unsigned long long)r);
  delivery d;
  memset(&d, 0, sizeof d);
  int all_2xx = 1;
  for (int64_t i = 0; i < o->count; i++) {
    if (prepare(o, o->id ? o->id : base, i, &d) != 0) {
      fprintf(stderr, PROG ": out of memory\n");
      all_2xx = 0;
      break;
    }
    long status = post(c, o->url, &d);
    printf("%03ld\n", status);
    all_2xx &= status >= 200 && status < 300;
  }
  fflush(stdout);
  curl_slist_free_all(d.headers);
  fl_buf_free(&d.id);
  fl_buf_free(&d.body);
  fl_buf_free(&d.sig);
  fl_buf_free(&d.line);
  return all_2xx ? 0 : 1;
}

int cli_mock_send_main(int argc, char **argv) {
  send_opts o;
  fl_args a;
  if (parse_opts(argc, argv, &a, &o) != 0) {
    fprintf(stderr, "usage: " PROG " --url URL --scheme S --secret S "
                    "(see --help)\n");
    return 2;
  }
  if (o.help) {
    usage(&a, stdout);
    return 0;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return 1;
  CURL *c = curl_easy_init();
  int status = c ? send_all(&o, c) : 1;
  curl_easy_cleanup(c);
  curl_global_cleanup();
  return status;
}
