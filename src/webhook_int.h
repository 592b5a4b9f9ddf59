/* webhook_int.h: the webhook verifier's internals (webhook.c): the
 * signature header parsers and the verifier with its detailed result codes,
 * behind the public flurry/webhook.h (which says what each scheme signs).
 * For the library, its unit tests and the fuzz target. */
#ifndef FLURRY_WEBHOOK_INT_H
#define FLURRY_WEBHOOK_INT_H

#include <stddef.h>
#include <stdint.h>

#include "fl.h"
#include "flurry/webhook.h"

/* Results. The HTTP status a receiver answers with is in brackets. */
enum {
  FLURRY__SIG_OK = 0,
  FLURRY__SIG_EMISSING = -1,   /* a required header is absent [401] */
  FLURRY__SIG_EMALFORMED = -2, /* a header or secret that does not parse
                                  [400] */
  FLURRY__SIG_ESTALE = -3,     /* timestamp outside tolerance, checked
                                  before the signature [401] */
  FLURRY__SIG_EMISMATCH = -4,  /* no signature matches any secret [401] */
  FLURRY__SIG_ECRYPTO = -5     /* libcrypto failed (out of memory) [500] */
};

/* A short description of a result ("signature mismatch"). */
const char *flurry__sig_strerror(int rc);

/* "none", "github", "stripe", "standard" <-> the scheme. parse returns 0,
 * or -1 for an unknown name (*out untouched). */
int flurry__sig_scheme_parse(const char *name, flurry_webhook_scheme *out);
const char *flurry__sig_scheme_name(flurry_webhook_scheme s);

/* The header a scheme's signature arrives in ("X-Hub-Signature-256"),
 * NULL for none. */
const char *flurry__sig_header(flurry_webhook_scheme s);

/* The signatures of one header. For stripe, t and t_str/t_len (pointing
 * into the parsed buffer) are the timestamp. */
typedef struct flurry__sig_set {
  size_t n;   /* signatures in mac */
  size_t bad; /* v1 values (standard: tokens) skipped as malformed */
  unsigned char mac[FLURRY_WEBHOOK_MAX_SIGS][FLURRY_WEBHOOK_MAC_LEN];
  int64_t t;
  const char *t_str;
  size_t t_len;
} flurry__sig_set;

/* The parsers read exactly v[0..n) (no NUL needed) and fill *out. Each
 * returns FLURRY__SIG_OK or FLURRY__SIG_EMALFORMED (*out then undefined):
 *   github:   exactly "sha256=" and 64 lowercase hex digits.
 *   stripe:   comma-separated key=value (keys letters and digits, no white
 *             space); exactly one t (a timestamp); v1 values 64 lowercase
 *             hex, at most FLURRY_WEBHOOK_MAX_SIGS of them (out->n may be 0: no
 *             v1); other keys ignored.
 *   standard: tokens separated by spaces (runs of spaces allowed), each
 *             "version,signature"; v1 signatures canonical padded base64 of
 *             32 bytes, at most FLURRY_WEBHOOK_MAX_SIGS; other versions ignored.
 * A v1 value that does not parse (standard: also a token that is not
 * "version,signature") is skipped and counted in out->bad, as the senders'
 * reference libraries skip what cannot match: a broken value next to a
 * good one does not refuse the delivery. A header whose every v1 value was
 * skipped is EMALFORMED; more than FLURRY_WEBHOOK_MAX_SIGS well-formed v1 values
 * too. */
int flurry__sig_parse_github(const char *v, size_t n, flurry__sig_set *out);
int flurry__sig_parse_stripe(const char *v, size_t n, flurry__sig_set *out);
int flurry__sig_parse_standard(const char *v, size_t n, flurry__sig_set *out);

/* A Unix timestamp in seconds: 1 to 15 decimal digits, no sign, no
 * leading zero (so that the text signed is the number). Returns
 * FLURRY__SIG_OK or FLURRY__SIG_EMALFORMED. */
int flurry__sig_parse_time(const char *v, size_t n, int64_t *out);

/* The key for secret s[0..n) under scheme: for standard, the canonical
 * base64 after an optional "whsec_" prefix, decoded; for the others the
 * bytes as they are (Stripe's "whsec_..." included). Returns FLURRY__SIG_OK,
 * or FLURRY__SIG_EMALFORMED (empty, longer than FLURRY_WEBHOOK_KEY_MAX, bad
 * base64). */
int flurry__sig_key_parse(flurry_webhook_scheme scheme, const char *s, size_t n,
                          flurry_webhook_key *out);

/* Verifies d under scheme with any of keys[0..nkeys) at time now (Unix
 * seconds; injectable), timestamps allowed tolerance seconds either way.
 * Checked in this order, the cheap ones first: EMISSING (no signature
 * header; standard: no id or timestamp either), EMALFORMED (header syntax;
 * standard: an id empty, longer than FLURRY_WEBHOOK_ID_MAX or not UTF-8 text
 * (fl_is_text), a bad timestamp), ESTALE (timestamp outside the tolerance,
 * authentic or not), EMISMATCH (no v1 signature, or none matches any key),
 * ECRYPTO; else FLURRY__SIG_OK. FLURRY_WEBHOOK_NONE always returns
 * FLURRY__SIG_OK. */
int flurry__sig_verify(flurry_webhook_scheme scheme, const flurry_webhook_key *keys, size_t nkeys,
                       int64_t tolerance, int64_t now, const flurry_webhook_delivery *d);

/* Appends to out the signature header value for a delivery signed with
 * each of keys[0..nkeys) (github: the first key only), at time t (stripe,
 * standard) with id (standard). Returns FL_OK, FL_ENOMEM, FL_ELIMIT, or
 * FLURRY__SIG_ECRYPTO. For the sender (`flurry mock send-webhook`) and the
 * tests. */
int flurry__sig_sign(flurry_webhook_scheme scheme, const flurry_webhook_key *keys, size_t nkeys,
                     const char *id, int64_t t, const char *body, size_t body_len, fl_buf *out);

#endif
