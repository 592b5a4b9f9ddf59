/* webhook.c: webhook signature parsers and HMAC-SHA256 verification
 * (flurry/webhook.h, webhook_int.h). Parsers never read past the length
 * they are given. Moved from server/ so that every client (flurry listen,
 * the Python package) verifies through the public API. */
#include "webhook_int.h"

#include "flurry/error.h"

#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define HEX_LEN (2 * FLURRY_WEBHOOK_MAC_LEN)
#define B64_LEN 44 /* padded base64 of 32 bytes */
#define TIME_DIGITS_MAX 15
#define STANDARD_PREFIX "whsec_"

static const char *const scheme_names[] = {"none", "github", "stripe", "standard"};

const char *flurry__sig_strerror(int rc) {
  switch (rc) {
  case FLURRY__SIG_OK:
    return "ok";
  case FLURRY__SIG_EMISSING:
    return "missing signature";
  case FLURRY__SIG_EMALFORMED:
    return "malformed signature";
  case FLURRY__SIG_ESTALE:
    return "timestamp outside the tolerance";
  case FLURRY__SIG_EMISMATCH:
    return "signature mismatch";
  default:
    return "signature check failed";
  }
}

int flurry__sig_scheme_parse(const char *name, flurry_webhook_scheme *out) {
  for (size_t i = 0; i < sizeof scheme_names / sizeof scheme_names[0]; i++)
    if (strcmp(name, scheme_names[i]) == 0) {
      *out = (flurry_webhook_scheme)i;
      return 0;
    }
  return -1;
}

const char *flurry__sig_scheme_name(flurry_webhook_scheme s) { return scheme_names[s]; }

const char *flurry__sig_header(flurry_webhook_scheme s) {
  switch (s) {
  case FLURRY_WEBHOOK_GITHUB:
    return "X-Hub-Signature-256";
  case FLURRY_WEBHOOK_STRIPE:
    return "Stripe-Signature";
  case FLURRY_WEBHOOK_STANDARD:
    return "webhook-signature";
  default:
    return NULL;
  }
}

/* ---- encodings ------------------------------------------------------------
 */

static int hex_digit(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1; /* upper case refused: one spelling per signature */
}

/* Exactly 64 lowercase hex digits into a MAC. */
static int parse_hex_mac(const char *v, size_t n, unsigned char *mac) {
  if (n != HEX_LEN)
    return -1;
  for (size_t i = 0; i < FLURRY_WEBHOOK_MAC_LEN; i++) {
    int hi = hex_digit((unsigned char)v[2 * i]);
    int lo = hex_digit((unsigned char)v[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return -1;
    mac[i] = (unsigned char)(hi << 4 | lo);
  }
  return 0;
}

static int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

/* Decodes one 4-character group; pad = '=' count (0..2, last group only).
 * The bits that padding leaves over must be zero (canonical encoding). */
static int b64_group(const char *s, int pad, unsigned char *out) {
  uint32_t v = 0;
  for (int k = 0; k < 4; k++) {
    int d = k < 4 - pad ? b64_value((unsigned char)s[k]) : 0;
    if (d < 0)
      return -1;
    v = v << 6 | (uint32_t)d;
  }
  if ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff)))
    return -1;
  out[0] = (unsigned char)(v >> 16);
  out[1] = (unsigned char)(v >> 8);
  out[2] = (unsigned char)v;
  return 3 - pad;
}

/* Canonical padded base64 (RFC 4648) of at most max bytes. Returns the
 * byte count, or -1. */
static long b64_decode(const char *s, size_t n, unsigned char *out, size_t max) {
  if (n == 0 || n % 4 != 0 || n / 4 * 3 > max + 2)
    return -1;
  size_t len = 0;
  for (size_t i = 0; i < n; i += 4) {
    int pad = 0;
    if (i + 4 == n)
      pad = s[n - 1] == '=' ? (s[n - 2] == '=' ? 2 : 1) : 0;
    unsigned char g[3];
    int got = b64_group(s + i, pad, g);
    if (got < 0 || len + (size_t)got > max)
      return -1;
    memcpy(out + len, g, (size_t)got);
    len += (size_t)got;
  }
  return (long)len;
}

/* ---- parsers ---------------------------------------------------------------
 */

int flurry__sig_parse_time(const char *v, size_t n, int64_t *out) {
  if (n == 0 || n > TIME_DIGITS_MAX || (n > 1 && v[0] == '0'))
    return FLURRY__SIG_EMALFORMED;
  int64_t t = 0;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9')
      return FLURRY__SIG_EMALFORMED;
    t = t * 10 + (v[i] - '0');
  }
  *out = t;
  return FLURRY__SIG_OK;
}

int flurry__sig_parse_github(const char *v, size_t n, flurry__sig_set *out) {
  static const char prefix[] = "sha256=";
  size_t pl = sizeof prefix - 1;
  memset(out, 0, sizeof *out);
  if (n < pl || memcmp(v, prefix, pl) != 0 || parse_hex_mac(v + pl, n - pl, out->mac[0]) != 0)
    return FLURRY__SIG_EMALFORMED;
  out->n = 1;
  return FLURRY__SIG_OK;
}

/* What a header with skipped values amounts to: malformed when nothing in
 * it was usable and something was broken. */
static int usable(const flurry__sig_set *set) {
  return set->n == 0 && set->bad > 0 ? FLURRY__SIG_EMALFORMED : FLURRY__SIG_OK;
}

static int is_alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* One "key=value" element of a Stripe-Signature header; the key is
 * letters and digits. */
static int stripe_element(const char *e, size_t n, flurry__sig_set *out) {
  const char *eq = memchr(e, '=', n);
  if (eq == NULL || eq == e)
    return -1;
  size_t kl = (size_t)(eq - e), vl = n - kl - 1;
  for (size_t i = 0; i < kl; i++)
    if (!is_alnum((unsigned char)e[i]))
      return -1;
  const char *val = eq + 1;
  if (kl == 1 && e[0] == 't') {
    if (out->t_str != NULL || flurry__sig_parse_time(val, vl, &out->t) != FLURRY__SIG_OK)
      return -1;
    out->t_str = val;
    out->t_len = vl;
    return 0;
  }
  if (kl == 2 && e[0] == 'v' && e[1] == '1') {
    if (out->n == FLURRY_WEBHOOK_MAX_SIGS)
      return -1;
    if (parse_hex_mac(val, vl, out->mac[out->n]) != 0)
      out->bad++; /* skipped, as Stripe's libraries do: not a match */
    else
      out->n++;
  }
  return 0; /* v0 and unknown schemes: ignored */
}

int flurry__sig_parse_stripe(const char *v, size_t n, flurry__sig_set *out) {
  memset(out, 0, sizeof *out);
  size_t i = 0;
  while (i <= n) {
    const char *comma = memchr(v + i, ',', n - i);
    size_t end = comma ? (size_t)(comma - v) : n;
    if (end == i || stripe_element(v + i, end - i, out) != 0)
      return FLURRY__SIG_EMALFORMED;
    i = end + 1;
  }
  return out->t_str ? usable(out) : FLURRY__SIG_EMALFORMED;
}

/* One "version,signature" token of a webhook-signature header. A token
 * that is not that shape, or a v1 signature that is not canonical base64
 * of 32 bytes, is skipped and counted in out->bad: the Standard Webhooks
 * reference libraries skip what they cannot use and try the next token. */
static int standard_token(const char *tok, size_t n, flurry__sig_set *out) {
  const char *comma = memchr(tok, ',', n);
  if (comma == NULL || comma == tok || comma + 1 == tok + n) {
    out->bad++;
    return 0;
  }
  size_t vl = (size_t)(comma - tok), sl = n - vl - 1;
  if (vl != 2 || memcmp(tok, "v1", 2) != 0)
    return 0; /* v1a and later versions: not ours */
  if (out->n == FLURRY_WEBHOOK_MAX_SIGS)
    return -1;
  if (sl != B64_LEN ||
      b64_decode(comma + 1, sl, out->mac[out->n], FLURRY_WEBHOOK_MAC_LEN) != FLURRY_WEBHOOK_MAC_LEN)
    out->bad++;
  else
    out->n++;
  return 0;
}

int flurry__sig_parse_standard(const char *v, size_t n, flurry__sig_set *out) {
  memset(out, 0, sizeof *out);
  size_t i = 0, tokens = 0;
  while (i < n) {
    if (v[i] == ' ') {
      i++;
      continue;
    }
    const char *sp = memchr(v + i, ' ', n - i);
    size_t end = sp ? (size_t)(sp - v) : n;
    if (standard_token(v + i, end - i, out) != 0)
      return FLURRY__SIG_EMALFORMED;
    tokens++;
    i = end;
  }
  return tokens ? usable(out) : FLURRY__SIG_EMALFORMED;
}

int flurry__sig_key_parse(flurry_webhook_scheme scheme, const char *s, size_t n,
                          flurry_webhook_key *out) {
  size_t pl = sizeof STANDARD_PREFIX - 1;
  if (scheme != FLURRY_WEBHOOK_STANDARD) {
    if (n == 0 || n > FLURRY_WEBHOOK_KEY_MAX)
      return FLURRY__SIG_EMALFORMED;
    memcpy(out->k, s, n);
    out->len = n;
    return FLURRY__SIG_OK;
  }
  if (n >= pl && memcmp(s, STANDARD_PREFIX, pl) == 0) {
    s += pl;
    n -= pl;
  }
  long len = b64_decode(s, n, out->k, FLURRY_WEBHOOK_KEY_MAX);
  if (len <= 0)
    return FLURRY__SIG_EMALFORMED;
  out->len = (size_t)len;
  return FLURRY__SIG_OK;
}

/* ---- HMAC ------------------------------------------------------------------
 */

typedef struct part {
  const void *p;
  size_t n;
} part;

/* An HMAC-SHA256 context; NULL when libcrypto fails. */
static EVP_MAC_CTX *hmac_new(void) {
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
  EVP_MAC_free(mac); /* the context holds its own reference */
  return ctx;
}

/* HMAC-SHA256 of the concatenated parts with key into out. Returns 0, or
 * -1 (libcrypto failed). */
static int hmac_one(EVP_MAC_CTX *ctx, const flurry_webhook_key *key, const part *parts,
                    size_t nparts, unsigned char out[FLURRY_WEBHOOK_MAC_LEN]) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  size_t len = 0;
  int ok = EVP_MAC_init(ctx, key->k, key->len, params) == 1;
  for (size_t i = 0; ok && i < nparts; i++)
    ok = EVP_MAC_update(ctx, parts[i].p, parts[i].n) == 1;
  ok = ok && EVP_MAC_final(ctx, out, &len, FLURRY_WEBHOOK_MAC_LEN) == 1 &&
       len == FLURRY_WEBHOOK_MAC_LEN;
  return ok ? 0 : -1;
}

/* The MAC of the parts with each key: macs[k]. Returns 0, or -1. */
static int hmac_all(const flurry_webhook_key *keys, size_t nkeys, const part *parts, size_t nparts,
                    unsigned char (*macs)[FLURRY_WEBHOOK_MAC_LEN]) {
  EVP_MAC_CTX *ctx = hmac_new();
  int rc = ctx ? 0 : -1;
  for (size_t k = 0; rc == 0 && k < nkeys; k++)
    rc = hmac_one(ctx, &keys[k], parts, nparts, macs[k]);
  EVP_MAC_CTX_free(ctx);
  return rc;
}

/* The parts signed: body (github), "t.body" (stripe), "id.t.body"
 * (standard). Returns their count. */
static size_t signed_parts(flurry_webhook_scheme scheme, const char *id, const char *t,
                           size_t t_len, const char *body, size_t body_len, part *parts) {
  size_t n = 0;
  if (scheme == FLURRY_WEBHOOK_STANDARD) {
    parts[n++] = (part){id, strlen(id)};
    parts[n++] = (part){".", 1};
  }
  if (scheme != FLURRY_WEBHOOK_GITHUB) {
    parts[n++] = (part){t, t_len};
    parts[n++] = (part){".", 1};
  }
  parts[n++] = (part){body, body_len};
  return n;
}

/* 1 when mac equals one of the signatures of set (constant time). */
static int in_set(const unsigned char *mac, const flurry__sig_set *set) {
  int hit = 0;
  for (size_t s = 0; s < set->n; s++)
    hit |= CRYPTO_memcmp(mac, set->mac[s], FLURRY_WEBHOOK_MAC_LEN) == 0;
  return hit;
}

/* Tries the keys in turn, stopping at the first whose MAC of the parts is
 * in set. Returns FLURRY__SIG_OK, EMISMATCH or ECRYPTO. */
static int match_keys(const flurry_webhook_key *keys, size_t nkeys, const part *parts,
                      size_t nparts, const flurry__sig_set *set) {
  EVP_MAC_CTX *ctx = hmac_new();
  int rc = ctx ? FLURRY__SIG_EMISMATCH : FLURRY__SIG_ECRYPTO;
  unsigned char mac[FLURRY_WEBHOOK_MAC_LEN];
  for (size_t k = 0; rc == FLURRY__SIG_EMISMATCH && k < nkeys; k++) {
    if (hmac_one(ctx, &keys[k], parts, nparts, mac) != 0)
      rc = FLURRY__SIG_ECRYPTO;
    else if (in_set(mac, set))
      rc = FLURRY__SIG_OK;
  }
  OPENSSL_cleanse(mac, sizeof mac);
  EVP_MAC_CTX_free(ctx);
  return rc;
}

/* The webhook-id of a standard delivery: 1 to FLURRY_WEBHOOK_ID_MAX bytes of
 * UTF-8 text (no control character). */
static int id_ok(const char *id) {
  size_t n = strlen(id);
  return n > 0 && n <= FLURRY_WEBHOOK_ID_MAX && fl_is_text(id, n);
}

/* Parses the headers of d into set (and, for standard, the timestamp). */
static int parse_delivery(flurry_webhook_scheme scheme, const flurry_webhook_delivery *d,
                          flurry__sig_set *set) {
  if (d->signature == NULL)
    return FLURRY__SIG_EMISSING;
  size_t n = strlen(d->signature);
  if (scheme == FLURRY_WEBHOOK_GITHUB)
    return flurry__sig_parse_github(d->signature, n, set);
  if (scheme == FLURRY_WEBHOOK_STRIPE)
    return flurry__sig_parse_stripe(d->signature, n, set);
  if (d->id == NULL || d->timestamp == NULL)
    return FLURRY__SIG_EMISSING;
  int rc = flurry__sig_parse_standard(d->signature, n, set);
  if (rc == FLURRY__SIG_OK && !id_ok(d->id))
    rc = FLURRY__SIG_EMALFORMED;
  if (rc == FLURRY__SIG_OK) {
    set->t_str = d->timestamp;
    set->t_len = strlen(d->timestamp);
    rc = flurry__sig_parse_time(set->t_str, set->t_len, &set->t);
  }
  return rc;
}

int flurry__sig_verify(flurry_webhook_scheme scheme, const flurry_webhook_key *keys, size_t nkeys,
                       int64_t tolerance, int64_t now, const flurry_webhook_delivery *d) {
  if (scheme == FLURRY_WEBHOOK_NONE)
    return FLURRY__SIG_OK;
  flurry__sig_set set;
  int rc = parse_delivery(scheme, d, &set);
  if (rc != FLURRY__SIG_OK)
    return rc;
  /* everything that costs nothing first: the HMACs read the whole body
   * once per key */
  if (scheme != FLURRY_WEBHOOK_GITHUB && (set.t < now - tolerance || set.t > now + tolerance))
    return FLURRY__SIG_ESTALE;
  if (set.n == 0)
    return FLURRY__SIG_EMISMATCH;
  part parts[5];
  size_t np = signed_parts(scheme, d->id, set.t_str, set.t_len, d->body, d->body_len, parts);
  return match_keys(keys, nkeys < FLURRY_WEBHOOK_MAX_SIGS ? nkeys : FLURRY_WEBHOOK_MAX_SIGS, parts,
                    np, &set);
}

/* ---- signing ---------------------------------------------------------------
 */

static int put_hex(fl_buf *out, const unsigned char *mac) {
  static const char digits[] = "0123456789abcdef";
  char hex[HEX_LEN];
  for (size_t i = 0; i < FLURRY_WEBHOOK_MAC_LEN; i++) {
    hex[2 * i] = digits[mac[i] >> 4];
    hex[2 * i + 1] = digits[mac[i] & 15];
  }
  return fl_buf_append(out, hex, sizeof hex);
}

static int put_signatures(flurry_webhook_scheme scheme,
                          unsigned char (*macs)[FLURRY_WEBHOOK_MAC_LEN], size_t nkeys,
                          fl_buf *out) {
  int rc = FL_OK;
  for (size_t k = 0; rc == FL_OK && k < nkeys; k++) {
    if (scheme == FLURRY_WEBHOOK_STRIPE) {
      rc = fl_buf_puts(out, ",v1=");
      rc = rc == FL_OK ? put_hex(out, macs[k]) : rc;
    } else {
      rc = fl_buf_puts(out, k ? " v1," : "v1,");
      rc = rc == FL_OK ? fl_base64(out, macs[k], FLURRY_WEBHOOK_MAC_LEN) : rc;
    }
  }
  return rc;
}

int flurry__sig_sign(flurry_webhook_scheme scheme, const flurry_webhook_key *keys, size_t nkeys,
                     const char *id, int64_t t, const char *body, size_t body_len, fl_buf *out) {
  char ts[24];
  unsigned char macs[FLURRY_WEBHOOK_MAX_SIGS][FLURRY_WEBHOOK_MAC_LEN];
  part parts[5];
  if (scheme == FLURRY_WEBHOOK_NONE || nkeys == 0)
    return FL_OK;
  if (scheme == FLURRY_WEBHOOK_GITHUB || nkeys > FLURRY_WEBHOOK_MAX_SIGS)
    nkeys = scheme == FLURRY_WEBHOOK_GITHUB ? 1 : FLURRY_WEBHOOK_MAX_SIGS;
  int tl = snprintf(ts, sizeof ts, "%lld", (long long)t);
  size_t np = signed_parts(scheme, id ? id : "", ts, (size_t)tl, body, body_len, parts);
  if (hmac_all(keys, nkeys, parts, np, macs) != 0)
    return FLURRY__SIG_ECRYPTO;
  if (scheme == FLURRY_WEBHOOK_GITHUB) {
    int rc = fl_buf_puts(out, "sha256=");
    return rc == FL_OK ? put_hex(out, macs[0]) : rc;
  }
  if (scheme == FLURRY_WEBHOOK_STRIPE) {
    int rc = fl_buf_puts(out, "t=");
    rc = rc == FL_OK ? fl_buf_append(out, ts, (size_t)tl) : rc;
    if (rc != FL_OK)
      return rc;
  }
  return put_signatures(scheme, macs, nkeys, out);
}

/* ---- the public API (flurry/webhook.h) ---- */

FLURRY_API int flurry_webhook_scheme_parse(const char *name, flurry_webhook_scheme *out) {
  if (name == NULL || out == NULL)
    return FLURRY_EINVALID;
  return flurry__sig_scheme_parse(name, out) == 0 ? FLURRY_OK : FLURRY_EINVALID;
}

FLURRY_API const char *flurry_webhook_scheme_name(flurry_webhook_scheme scheme) {
  if ((unsigned)scheme > FLURRY_WEBHOOK_STANDARD)
    return "unknown";
  return flurry__sig_scheme_name(scheme);
}

FLURRY_API const char *flurry_webhook_header(flurry_webhook_scheme scheme) {
  return flurry__sig_header(scheme);
}

FLURRY_API int flurry_webhook_key_parse(flurry_webhook_scheme scheme, const char *s, size_t n,
                                        flurry_webhook_key *out) {
  if (s == NULL || out == NULL)
    return FLURRY_EINVALID;
  return flurry__sig_key_parse(scheme, s, n, out) == FLURRY__SIG_OK ? FLURRY_OK : FLURRY_EINVALID;
}

FLURRY_API int flurry_webhook_verify(flurry_webhook_scheme scheme, const flurry_webhook_key *keys,
                                     size_t nkeys, int64_t tolerance, int64_t now,
                                     const flurry_webhook_delivery *d, int *verdict) {
  if (d == NULL || verdict == NULL || (keys == NULL && nkeys > 0) ||
      (unsigned)scheme > FLURRY_WEBHOOK_STANDARD)
    return FLURRY_EINVALID;
  int rc = flurry__sig_verify(scheme, keys, nkeys, tolerance, now, d);
  if (rc == FLURRY__SIG_ECRYPTO)
    return FLURRY_ENOMEM;
  *verdict = -rc; /* FLURRY__SIG_E* are the verdicts, negated */
  return FLURRY_OK;
}

FLURRY_API const char *flurry_webhook_verdict_str(int verdict) {
  return flurry__sig_strerror(-verdict);
}

FLURRY_API int flurry_webhook_sign(flurry_webhook_scheme scheme, const flurry_webhook_key *keys,
                                   size_t nkeys, const char *id, int64_t t, const char *body,
                                   size_t len, char *out, size_t outlen) {
  if (keys == NULL || nkeys == 0 || nkeys > FLURRY_WEBHOOK_MAX_SIGS || out == NULL || outlen == 0 ||
      (body == NULL && len > 0) || (unsigned)scheme > FLURRY_WEBHOOK_STANDARD)
    return FLURRY_EINVALID;
  fl_buf b = FL_BUF_INIT(FLURRY_WEBHOOK_SIGNATURE_MAX);
  int rc = flurry__sig_sign(scheme, keys, nkeys, id ? id : "", t, body ? body : "", len, &b);
  if (rc == FL_OK && b.len >= outlen)
    rc = FL_ELIMIT;
  if (rc == FL_OK)
    memcpy(out, b.data ? b.data : "", b.len + 1);
  fl_buf_free(&b);
  if (rc == FL_OK)
    return FLURRY_OK;
  return rc == FL_ELIMIT ? FLURRY_ETOO_LARGE : FLURRY_ENOMEM;
}
