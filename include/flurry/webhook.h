/* flurry/webhook.h: verifying (and making) webhook signatures, for a
 * program that receives webhooks (flurry listen, a web framework's
 * endpoint): pure functions, HMAC-SHA256 (OpenSSL libcrypto), no I/O, no
 * allocation of ours; no client needed.
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
#ifndef FLURRY_WEBHOOK_H
#define FLURRY_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "flurry/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLURRY_WEBHOOK_MAC_LEN 32            /* HMAC-SHA256 */
#define FLURRY_WEBHOOK_MAX_SIGS 16           /* signatures read from one header */
#define FLURRY_WEBHOOK_KEY_MAX 512           /* bytes of one secret */
#define FLURRY_WEBHOOK_TOLERANCE_DEFAULT 300 /* seconds */
#define FLURRY_WEBHOOK_ID_MAX 256            /* bytes of a webhook-id */
/* Bytes a signature header value takes at most (flurry_webhook_sign). */
#define FLURRY_WEBHOOK_SIGNATURE_MAX 2048

typedef enum flurry_webhook_scheme {
  FLURRY_WEBHOOK_NONE = 0, /* no verification (local testing only) */
  FLURRY_WEBHOOK_GITHUB,
  FLURRY_WEBHOOK_STRIPE,
  FLURRY_WEBHOOK_STANDARD
} flurry_webhook_scheme;

/* What a delivery is found to be (flurry_webhook_verify's verdict). The
 * HTTP status a receiver answers with is in brackets. */
typedef enum flurry_webhook_verdict {
  FLURRY_WEBHOOK_OK = 0,        /* authentic and fresh [2xx] */
  FLURRY_WEBHOOK_MISSING = 1,   /* a required header is absent [401] */
  FLURRY_WEBHOOK_MALFORMED = 2, /* a header that does not parse [400] */
  FLURRY_WEBHOOK_STALE = 3,     /* timestamp outside the tolerance [401] */
  FLURRY_WEBHOOK_MISMATCH = 4   /* no signature matches any secret [401] */
} flurry_webhook_verdict;

/* One secret, as HMAC key bytes (flurry_webhook_key_parse). Callers embed
 * it (an array of keys for rotation). */
typedef struct flurry_webhook_key {
  size_t len;
  unsigned char k[FLURRY_WEBHOOK_KEY_MAX];
} flurry_webhook_key;

/* What one delivery brings. Header values are NUL-terminated, NULL when
 * absent; the body is borrowed for the call. */
typedef struct flurry_webhook_delivery {
  const char *signature; /* the scheme's signature header (flurry_webhook_header) */
  const char *id;        /* standard: webhook-id */
  const char *timestamp; /* standard: webhook-timestamp */
  const char *body;
  size_t body_len;
} flurry_webhook_delivery;

/* "none", "github", "stripe", "standard" -> *out. Returns 0, or
 * FLURRY_EINVALID for another name or NULL (*out untouched). */
FLURRY_API int flurry_webhook_scheme_parse(const char *name, flurry_webhook_scheme *out);

/* The scheme's name ("github"); "unknown" for another value. Static. */
FLURRY_API const char *flurry_webhook_scheme_name(flurry_webhook_scheme scheme);

/* The header a scheme's signature arrives in ("X-Hub-Signature-256",
 * "Stripe-Signature", "webhook-signature"), NULL for none. Static. */
FLURRY_API const char *flurry_webhook_header(flurry_webhook_scheme scheme);

/* The key for the secret s[0..n) under scheme: for standard, the canonical
 * base64 after an optional "whsec_" prefix, decoded; for the others the
 * bytes as they are (Stripe's "whsec_..." included). Returns 0, or
 * FLURRY_EINVALID (empty, longer than FLURRY_WEBHOOK_KEY_MAX, bad base64,
 * NULL). */
FLURRY_API int flurry_webhook_key_parse(flurry_webhook_scheme scheme, const char *s, size_t n,
                                        flurry_webhook_key *out);

/* Verifies d under scheme with any of keys[0..nkeys) at time now (Unix
 * seconds), timestamps allowed tolerance seconds either way, and stores
 * the verdict in *verdict. Checked in this order, the cheap ones first:
 * MISSING (no signature header; standard: no id or timestamp either),
 * MALFORMED (header syntax; standard: an id empty, longer than
 * FLURRY_WEBHOOK_ID_MAX or not UTF-8 text, a bad timestamp), STALE
 * (timestamp outside the tolerance, authentic or not), MISMATCH (no v1
 * signature, or none matches any key; compared in constant time); else
 * OK. FLURRY_WEBHOOK_NONE is always OK. Returns 0, FLURRY_EINVALID (NULL
 * d or verdict, keys NULL with nkeys > 0) or FLURRY_ENOMEM (libcrypto
 * failed; *verdict untouched). */
FLURRY_API int flurry_webhook_verify(flurry_webhook_scheme scheme, const flurry_webhook_key *keys,
                                     size_t nkeys, int64_t tolerance, int64_t now,
                                     const flurry_webhook_delivery *d, int *verdict);

/* A short description of a verdict ("signature mismatch"). Static. */
FLURRY_API const char *flurry_webhook_verdict_str(int verdict);

/* Writes to out (NUL-terminated, outlen bytes at most; FLURRY_WEBHOOK_
 * SIGNATURE_MAX always suffices) the signature header value for a delivery
 * of body[0..len) signed with each of keys[0..nkeys) (github: the first
 * key only), at time t (stripe, standard) with id (standard). For senders
 * and tests. Returns 0, FLURRY_EINVALID (NULL, nkeys 0 or over
 * FLURRY_WEBHOOK_MAX_SIGS), FLURRY_ETOO_LARGE (outlen too small) or
 * FLURRY_ENOMEM. */
FLURRY_API int flurry_webhook_sign(flurry_webhook_scheme scheme, const flurry_webhook_key *keys,
                                   size_t nkeys, const char *id, int64_t t, const char *body,
                                   size_t len, char *out, size_t outlen);

#ifdef __cplusplus
}
#endif
#endif
