/* sig.h: webhook signature verification, pure: parsers over a buffer and
 * HMAC-SHA256 (OpenSSL libcrypto), no I/O, no allocation of ours.
 *
 * Three schemes, each verified over the raw body bytes:
 *   github    X-Hub-Signature-256: sha256=<64 lowercase hex>
 *             HMAC(secret, body)
 *   stripe    Stripe-Signature: t=<unix s>,v1=<64 hex>[,v1=...][,v0=...]
 *             HMAC(secret, "<t>.<body>"); other keys (v0) are ignored
 *   standard  webhook-id, webhook-timestamp, webhook-signature:
 *             "v1,<base64>" tokens separated by spaces (v1a and other
 *             versions ignored); HMAC(key, "<id>.<timestamp>.<body>") with
 *             key the base64 after "whsec_" in the secret
 * Comparisons are constant time (CRYPTO_memcmp). Several secrets may be
 * given (rotation): any of them matching any signature accepts.
 *
 * Timestamps (stripe, standard) must lie within tolerance seconds of now,
 * in both directions, the bounds included: |now - t| <= tolerance. (Stripe's
 * own libraries only refuse old timestamps; refusing future ones too keeps
 * every replay of an accepted delivery inside 2 x tolerance of its first
 * arrival, where the receiver's dedup window covers it.)
 *
 * Cost: what can be refused without touching the body is refused first
 * (missing or malformed headers, a webhook-id that is not UTF-8 text, a
 * timestamp outside the tolerance, no v1 signature at all), so such a
 * delivery reports its fault whether or not it is authentic. Only then is
 * the body read, once per secret until one matches: a forged delivery with
 * a well-formed, fresh signature costs one HMAC-SHA256 pass over the body
 * per secret, on the caller's thread. */
#ifndef FLURRY_SIG_H
#define FLURRY_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "fl.h"

#define WHSIG_MAC_LEN 32            /* HMAC-SHA256 */
#define WHSIG_MAX 16                /* signatures read from one header */
#define WHSIG_KEY_MAX 512           /* bytes of one secret */
#define WHSIG_TOLERANCE_DEFAULT 300 /* seconds */
#define WHSIG_ID_MAX 256            /* bytes of a webhook-id */

typedef enum sig_scheme {
  WHSIG_NONE = 0, /* no verification (local testing only) */
  WHSIG_GITHUB,
  WHSIG_STRIPE,
  WHSIG_STANDARD
} sig_scheme;

/* Results. The HTTP status a receiver answers with is in brackets. */
enum {
  WHSIG_OK = 0,
  WHSIG_EMISSING = -1,   /* a required header is absent [401] */
  WHSIG_EMALFORMED = -2, /* a header or secret that does not parse
                                  [400] */
  WHSIG_ESTALE = -3,     /* timestamp outside tolerance, checked
                                  before the signature [401] */
  WHSIG_EMISMATCH = -4,  /* no signature matches any secret [401] */
  WHSIG_ECRYPTO = -5     /* libcrypto failed (out of memory) [500] */
};

/* A short description of a result ("signature mismatch"). */
const char *sig_strerror(int rc);

/* "none", "github", "stripe", "standard" <-> the scheme. parse returns 0,
 * or -1 for an unknown name (*out untouched). */
int sig_scheme_parse(const char *name, sig_scheme *out);
const char *sig_scheme_name(sig_scheme s);

/* The header a scheme's signature arrives in ("X-Hub-Signature-256"),
 * NULL for none. */
const char *sig_header(sig_scheme s);

/* The signatures of one header. For stripe, t and t_str/t_len (pointing
 * into the parsed buffer) are the timestamp. */
typedef struct sig_set {
  size_t n;   /* signatures in mac */
  size_t bad; /* v1 values (standard: tokens) skipped as malformed */
  unsigned char mac[WHSIG_MAX][WHSIG_MAC_LEN];
  int64_t t;
  const char *t_str;
  size_t t_len;
} sig_set;

/* The parsers read exactly v[0..n) (no NUL needed) and fill *out. Each
 * returns WHSIG_OK or WHSIG_EMALFORMED (*out then undefined):
 *   github:   exactly "sha256=" and 64 lowercase hex digits.
 *   stripe:   comma-separated key=value (keys letters and digits, no white
 *             space); exactly one t (a timestamp); v1 values 64 lowercase
 *             hex, at most WHSIG_MAX of them (out->n may be 0: no
 *             v1); other keys ignored.
 *   standard: tokens separated by spaces (runs of spaces allowed), each
 *             "version,signature"; v1 signatures canonical padded base64 of
 *             32 bytes, at most WHSIG_MAX; other versions ignored.
 * A v1 value that does not parse (standard: also a token that is not
 * "version,signature") is skipped and counted in out->bad, as the senders'
 * reference libraries skip what cannot match: a broken value next to a
 * good one does not refuse the delivery. A header whose every v1 value was
 * skipped is EMALFORMED; more than WHSIG_MAX well-formed v1 values
 * too. */
int sig_parse_github(const char *v, size_t n, sig_set *out);
int sig_parse_stripe(const char *v, size_t n, sig_set *out);
int sig_parse_standard(const char *v, size_t n, sig_set *out);

/* A Unix timestamp in seconds: 1 to 15 decimal digits, no sign, no
 * leading zero (so that the text signed is the number). Returns
 * WHSIG_OK or WHSIG_EMALFORMED. */
int sig_parse_time(const char *v, size_t n, int64_t *out);

/* One secret, as HMAC key bytes. */
typedef struct sig_key {
  size_t len;
  unsigned char k[WHSIG_KEY_MAX];
} sig_key;

/* The key for secret s[0..n) under scheme: for standard, the canonical
 * base64 after an optional "whsec_" prefix, decoded; for the others the
 * bytes as they are (Stripe's "whsec_..." included). Returns WHSIG_OK,
 * or WHSIG_EMALFORMED (empty, longer than WHSIG_KEY_MAX, bad
 * base64). */
int sig_key_parse(sig_scheme scheme, const char *s, size_t n, sig_key *out);

/* What one delivery brings. Header values are NUL-terminated, NULL when
 * absent; the body is borrowed for the call. */
typedef struct sig_delivery {
  const char *signature; /* the scheme's signature header */
  const char *id;        /* standard: webhook-id */
  const char *timestamp; /* standard: webhook-timestamp */
  const char *body;
  size_t body_len;
} sig_delivery;

/* Verifies d under scheme with any of keys[0..nkeys) at time now (Unix
 * seconds; injectable), timestamps allowed tolerance seconds either way.
 * Checked in this order, the cheap ones first: EMISSING (no signature
 * header; standard: no id or timestamp either), EMALFORMED (header syntax;
 * standard: an id empty, longer than WHSIG_ID_MAX or not UTF-8 text
 * (fl_is_text), a bad timestamp), ESTALE (timestamp outside the tolerance,
 * authentic or not), EMISMATCH (no v1 signature, or none matches any key),
 * ECRYPTO; else WHSIG_OK. WHSIG_NONE always returns
 * WHSIG_OK. */
int sig_verify(sig_scheme scheme, const sig_key *keys, size_t nkeys, int64_t tolerance, int64_t now,
               const sig_delivery *d);

/* Appends to out the signature header value for a delivery signed with
 * each of keys[0..nkeys) (github: the first key only), at time t (stripe,
 * standard) with id (standard). Returns FL_OK, FL_ENOMEM, FL_ELIMIT, or
 * WHSIG_ECRYPTO. For the sender (`flurry mock send-webhook`) and the
 * tests. */
int sig_sign(sig_scheme scheme, const sig_key *keys, size_t nkeys, const char *id, int64_t t,
             const char *body, size_t body_len, fl_buf *out);

#endif
