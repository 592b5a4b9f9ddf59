/* test_listen_sig.c: webhook signature parsers and verification (sig.c).
 *
 * Vectors:
 *   GitHub's documented one: secret "It's a Secret to Everybody", payload
 *   "Hello, World!", X-Hub-Signature-256
 *   sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17.
 *
 *   Standard Webhooks' reference one: key
 * whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, id msg_p5jXN8AQM9LWM0D4loKWxJek,
 * timestamp 1614265330, payload
 *   {"test": 2432232314}, signature
 * v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=. Tolerance per the reference
 * libraries (Go: now - t > 5 min is too old, t > now + 5 min too new): exactly
 * 300 s either way is accepted, 301 s refused.
 *
 *   Stripe, computed with the openssl CLI:
 *     printf %s '1700000000.{"id":"evt_test_1","object":"event"}' \
 *       | openssl dgst -sha256 -hmac 'whsec_flurry_test_secret'
 *       -> c0e606c0e15a27ed35ba7b4c636ca40200988fdb7db80e2597dfd76c9662d43e
 *     (same with -hmac 'whsec_old_secret')
 *       -> 96c90e277402e8941b687da1b8dde3c82b6f2d5345c60062edf3a1a2c40481ac
 *
 * Every parser is fed every prefix of its input from an exactly-sized heap
 * copy (ASan catches a read past the end). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fl.h"
#include "webhook_int.h"

#define GH_SECRET "It's a Secret to Everybody"
#define GH_BODY "Hello, World!"
#define GH_SIG "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

#define SW_KEY "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_TS "1614265330"
#define SW_T 1614265330
#define SW_BODY "{\"test\": 2432232314}"
#define SW_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

#define ST_SECRET "whsec_flurry_test_secret"
#define ST_OLD "whsec_old_secret"
#define ST_T 1700000000
#define ST_BODY "{\"id\":\"evt_test_1\",\"object\":\"event\"}"
#define ST_V1 "c0e606c0e15a27ed35ba7b4c636ca40200988fdb7db80e2597dfd76c9662d43e"
#define ST_V1_OLD "96c90e277402e8941b687da1b8dde3c82b6f2d5345c60062edf3a1a2c40481ac"

#define TOL FLURRY_WEBHOOK_TOLERANCE_DEFAULT

static flurry_webhook_key key_of(flurry_webhook_scheme s, const char *secret) {
  flurry_webhook_key k;
  assert_int_equal(flurry__sig_key_parse(s, secret, strlen(secret), &k), FLURRY__SIG_OK);
  return k;
}

static int verify_github(const char *sig, const char *body, size_t len) {
  flurry_webhook_key k = key_of(FLURRY_WEBHOOK_GITHUB, GH_SECRET);
  flurry_webhook_delivery d = {sig, NULL, NULL, body, len};
  return flurry__sig_verify(FLURRY_WEBHOOK_GITHUB, &k, 1, TOL, 0, &d);
}

static int verify_standard(const char *sig, const char *id, const char *ts, int64_t now) {
  flurry_webhook_key k = key_of(FLURRY_WEBHOOK_STANDARD, SW_KEY);
  flurry_webhook_delivery d = {sig, id, ts, SW_BODY, strlen(SW_BODY)};
  return flurry__sig_verify(FLURRY_WEBHOOK_STANDARD, &k, 1, TOL, now, &d);
}

static int verify_stripe(const char *sig, const flurry_webhook_key *keys, size_t nkeys,
                         int64_t now) {
  flurry_webhook_delivery d = {sig, NULL, NULL, ST_BODY, strlen(ST_BODY)};
  return flurry__sig_verify(FLURRY_WEBHOOK_STRIPE, keys, nkeys, TOL, now, &d);
}

/* ---- GitHub -----------------------------------------------------------------
 */

static void test_listen_sig_github_vector(void **state) {
  (void)state;
  assert_int_equal(verify_github(GH_SIG, GH_BODY, strlen(GH_BODY)), FLURRY__SIG_OK);
  assert_int_equal(verify_github(NULL, GH_BODY, strlen(GH_BODY)), FLURRY__SIG_EMISSING);
  /* the wrong secret */
  flurry_webhook_key k = key_of(FLURRY_WEBHOOK_GITHUB, "It's a secret to everybody");
  flurry_webhook_delivery d = {GH_SIG, NULL, NULL, GH_BODY, strlen(GH_BODY)};
  assert_int_equal(flurry__sig_verify(FLURRY_WEBHOOK_GITHUB, &k, 1, TOL, 0, &d),
                   FLURRY__SIG_EMISMATCH);
}

/* Every substitution (by each of the 254 other non-NUL byte values) and
 * every deletion of one character of the header value is refused; so is
 * every insertion of a hex digit or '='. */
static void test_listen_sig_github_every_mutation_rejected(void **state) {
  (void)state;
  char m[sizeof GH_SIG + 1];
  size_t n = strlen(GH_SIG), tried = 0;
  for (size_t i = 0; i < n; i++) {
    for (int c = 1; c < 256; c++) {
      if (c == (unsigned char)GH_SIG[i])
        continue;
      memcpy(m, GH_SIG, n + 1);
      m[i] = (char)c;
      assert_int_not_equal(verify_github(m, GH_BODY, strlen(GH_BODY)), FLURRY__SIG_OK);
      tried++;
    }
    memcpy(m, GH_SIG, i); /* deletion of character i */
    memcpy(m + i, GH_SIG + i + 1, n - i);
    assert_int_not_equal(verify_github(m, GH_BODY, strlen(GH_BODY)), FLURRY__SIG_OK);
  }
  for (size_t i = 0; i <= n; i++) {
    memcpy(m, GH_SIG, i); /* insertion before character i */
    m[i] = i % 2 ? '0' : '=';
    memcpy(m + i + 1, GH_SIG + i, n - i + 1);
    assert_int_not_equal(verify_github(m, GH_BODY, strlen(GH_BODY)), FLURRY__SIG_OK);
  }
  assert_int_equal(tried, n * 254);
}

/* The payload too: every byte substituted (incl. NUL), deleted, or one
 * byte appended. */
static void test_listen_sig_github_every_payload_mutation_rejected(void **s) {
  (void)s;
  char m[sizeof GH_BODY + 1];
  size_t n = strlen(GH_BODY);
  for (size_t i = 0; i < n; i++) {
    for (int c = 0; c < 256; c++) {
      if (c == (unsigned char)GH_BODY[i])
        continue;
      memcpy(m, GH_BODY, n);
      m[i] = (char)c;
      assert_int_equal(verify_github(GH_SIG, m, n), FLURRY__SIG_EMISMATCH);
    }
    memcpy(m, GH_BODY, i);
    memcpy(m + i, GH_BODY + i + 1, n - i - 1);
    assert_int_equal(verify_github(GH_SIG, m, n - 1), FLURRY__SIG_EMISMATCH);
  }
  memcpy(m, GH_BODY, n);
  m[n] = '\n';
  assert_int_equal(verify_github(GH_SIG, m, n + 1), FLURRY__SIG_EMISMATCH);
  assert_int_equal(verify_github(GH_SIG, m, 0), FLURRY__SIG_EMISMATCH);
}

static void test_listen_sig_github_syntax(void **state) {
  (void)state;
  const char *bad[] = {
      "",
      "sha256=",
      "sha1=757107ea0eb2509fc211221cce984b8a37570b6d",
      "SHA256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
      "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17",
      "sha256= "
      "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
      GH_SIG " ",
      GH_SIG "00",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(verify_github(bad[i], GH_BODY, strlen(GH_BODY)), FLURRY__SIG_EMALFORMED);
}

/* ---- Standard Webhooks --------------------------------------------------- */

static void test_listen_sig_standard_vector(void **state) {
  (void)state;
  assert_int_equal(verify_standard(SW_SIG, SW_ID, SW_TS, SW_T), FLURRY__SIG_OK);
  /* the signed content is id.timestamp.body: each part counts */
  assert_int_equal(verify_standard(SW_SIG, "msg_p5jXN8AQM9LWM0D4loKWxJeK", SW_TS, SW_T),
                   FLURRY__SIG_EMISMATCH);
  assert_int_equal(verify_standard(SW_SIG, SW_ID, "1614265331", SW_T), FLURRY__SIG_EMISMATCH);
  assert_int_equal(verify_standard(NULL, SW_ID, SW_TS, SW_T), FLURRY__SIG_EMISSING);
  assert_int_equal(verify_standard(SW_SIG, NULL, SW_TS, SW_T), FLURRY__SIG_EMISSING);
  assert_int_equal(verify_standard(SW_SIG, SW_ID, NULL, SW_T), FLURRY__SIG_EMISSING);
  assert_int_equal(verify_standard(SW_SIG, "", SW_TS, SW_T), FLURRY__SIG_EMALFORMED);
  assert_int_equal(verify_standard(SW_SIG, SW_ID, "01614265330", SW_T), FLURRY__SIG_EMALFORMED);
  assert_int_equal(verify_standard(SW_SIG, SW_ID, "-1", SW_T), FLURRY__SIG_EMALFORMED);
}

static void test_listen_sig_standard_tolerance(void **state) {
  (void)state;
  assert_int_equal(verify_standard(SW_SIG, SW_ID, SW_TS, SW_T + 300), FLURRY__SIG_OK);
  assert_int_equal(verify_standard(SW_SIG, SW_ID, SW_TS, SW_T - 300), FLURRY__SIG_OK);
  assert_int_equal(verify_standard(SW_SIG, SW_ID, SW_TS, SW_T + 301), FLURRY__SIG_ESTALE);
  assert_int_equal(verify_standard(SW_SIG, SW_ID, SW_TS, SW_T - 301), FLURRY__SIG_ESTALE);
  /* the time is checked before the signature: stale, forged or not */
  assert_int_equal(verify_standard("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=", SW_ID, SW_TS,
                                   SW_T + 3600),
                   FLURRY__SIG_ESTALE);
  assert_int_equal(verify_standard("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=", SW_ID, SW_TS,
                                   SW_T),
                   FLURRY__SIG_EMISMATCH);
}

static void test_listen_sig_standard_several_signatures(void **state) {
  (void)state;
  const char *ok[] = {
      "v1,Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE= " SW_SIG,
      SW_SIG " v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXq",
      "v2,whatever  " SW_SIG,
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    assert_int_equal(verify_standard(ok[i], SW_ID, SW_TS, SW_T), FLURRY__SIG_OK);
  const char *bad[] = {
      "",
      "   ",
      "v1",
      "v1,",
      ",abc",
      "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE",  /* no padding */
      "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=", /* stray bits */
      "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1O==", /* 31 bytes */
      "v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE=", /* url alphabet */
      SW_SIG ",x",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(verify_standard(bad[i], SW_ID, SW_TS, SW_T), FLURRY__SIG_EMALFORMED);
  /* only other versions: parses, matches nothing */
  assert_int_equal(verify_standard("v1a,abc v2,def", SW_ID, SW_TS, SW_T), FLURRY__SIG_EMISMATCH);
  /* a broken token next to a good one is skipped, as the reference
   * libraries do (Go: "len(sigParts) < 2: continue"; JS and Go compare
   * strings, so a malformed v1 is merely not a match): either order */
  char h[256];
  for (size_t i = 2; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(h, sizeof h, "%s %s", bad[i], SW_SIG);
    assert_int_equal(verify_standard(h, SW_ID, SW_TS, SW_T), FLURRY__SIG_OK);
    snprintf(h, sizeof h, "%s %s", SW_SIG, bad[i]);
    assert_int_equal(verify_standard(h, SW_ID, SW_TS, SW_T), FLURRY__SIG_OK);
    /* and next to a well-formed wrong one: a mismatch, not malformed */
    snprintf(h, sizeof h, "%s v1,Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE=", bad[i]);
    assert_int_equal(verify_standard(h, SW_ID, SW_TS, SW_T), FLURRY__SIG_EMISMATCH);
  }
  flurry__sig_set set;
  const char *two = "v1, " SW_SIG " v1,x";
  assert_int_equal(flurry__sig_parse_standard(two, strlen(two), &set), FLURRY__SIG_OK);
  assert_int_equal(set.n, 1);
  assert_int_equal(set.bad, 2);
}

static void test_listen_sig_standard_id_must_be_text(void **state) {
  (void)state;
  /* distinct ids must not collapse into one dedup key: bytes that are not
   * UTF-8 (which JSON would turn into U+FFFD) are refused */
  assert_int_equal(verify_standard(SW_SIG, "msg\xff", SW_TS, SW_T), FLURRY__SIG_EMALFORMED);
  assert_int_equal(verify_standard(SW_SIG, "msg\xc3", SW_TS, SW_T), FLURRY__SIG_EMALFORMED);
  assert_int_equal(verify_standard(SW_SIG, "msg\x01", SW_TS, SW_T), FLURRY__SIG_EMALFORMED);
  /* UTF-8 text is an id like any other: the signature decides */
  assert_int_equal(verify_standard(SW_SIG, "msg_\xc3\xa9", SW_TS, SW_T), FLURRY__SIG_EMISMATCH);
  char id[FLURRY_WEBHOOK_ID_MAX + 2];
  memset(id, 'i', sizeof id - 1);
  id[sizeof id - 1] = '\0';
  assert_int_equal(verify_standard(SW_SIG, id, SW_TS, SW_T), FLURRY__SIG_EMALFORMED);
  id[FLURRY_WEBHOOK_ID_MAX] = '\0';
  assert_int_equal(verify_standard(SW_SIG, id, SW_TS, SW_T), FLURRY__SIG_EMISMATCH);
}

static void test_listen_sig_standard_keys(void **state) {
  (void)state;
  flurry_webhook_key k;
  const char *raw = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"; /* prefix optional */
  assert_int_equal(flurry__sig_key_parse(FLURRY_WEBHOOK_STANDARD, raw, strlen(raw), &k),
                   FLURRY__SIG_OK);
  assert_int_equal(k.len, 24);
  const char *bad[] = {"whsec_", "whsec_abc", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La!aSw", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(flurry__sig_key_parse(FLURRY_WEBHOOK_STANDARD, bad[i], strlen(bad[i]), &k),
                     FLURRY__SIG_EMALFORMED);
  assert_int_equal(flurry__sig_key_parse(FLURRY_WEBHOOK_GITHUB, "", 0, &k), FLURRY__SIG_EMALFORMED);
  char big[FLURRY_WEBHOOK_KEY_MAX + 1];
  memset(big, 'k', sizeof big);
  assert_int_equal(flurry__sig_key_parse(FLURRY_WEBHOOK_GITHUB, big, sizeof big, &k),
                   FLURRY__SIG_EMALFORMED);
  assert_int_equal(flurry__sig_key_parse(FLURRY_WEBHOOK_GITHUB, big, sizeof big - 1, &k),
                   FLURRY__SIG_OK);
}

/* ---- Stripe ----------------------------------------------------------------
 */

static void test_listen_sig_stripe_vector(void **state) {
  (void)state;
  flurry_webhook_key k = key_of(FLURRY_WEBHOOK_STRIPE, ST_SECRET);
  assert_int_equal(verify_stripe("t=1700000000,v1=" ST_V1, &k, 1, ST_T), FLURRY__SIG_OK);
  /* v0 and unknown keys are ignored, order does not matter */
  assert_int_equal(verify_stripe("v0=abc,v1=" ST_V1 ",t=1700000000,x=y", &k, 1, ST_T),
                   FLURRY__SIG_OK);
  /* the timestamp is signed */
  assert_int_equal(verify_stripe("t=1700000001,v1=" ST_V1, &k, 1, ST_T), FLURRY__SIG_EMISMATCH);
  assert_int_equal(verify_stripe("t=1700000000,v0=" ST_V1, &k, 1, ST_T), FLURRY__SIG_EMISMATCH);
  assert_int_equal(verify_stripe(NULL, &k, 1, ST_T), FLURRY__SIG_EMISSING);
}

static void test_listen_sig_stripe_several_v1_and_secrets(void **state) {
  (void)state;
  flurry_webhook_key keys[2] = {key_of(FLURRY_WEBHOOK_STRIPE, ST_OLD),
                                key_of(FLURRY_WEBHOOK_STRIPE, ST_SECRET)};
  const char *other = "v1=0000000000000000000000000000000000000000000000000000000000000000";
  char h[512];
  snprintf(h, sizeof h, "t=1700000000,%s,v1=%s", other, ST_V1);
  assert_int_equal(verify_stripe(h, &keys[1], 1, ST_T), FLURRY__SIG_OK);
  /* rotation: the header signed with the old secret, either key set works */
  snprintf(h, sizeof h, "t=1700000000,v1=%s", ST_V1_OLD);
  assert_int_equal(verify_stripe(h, keys, 2, ST_T), FLURRY__SIG_OK);
  assert_int_equal(verify_stripe(h, &keys[0], 1, ST_T), FLURRY__SIG_OK);
  assert_int_equal(verify_stripe(h, &keys[1], 1, ST_T), FLURRY__SIG_EMISMATCH);
  /* the sender signing with both */
  fl_buf b = FL_BUF_INIT(0);
  assert_int_equal(flurry__sig_sign(FLURRY_WEBHOOK_STRIPE, keys, 2, NULL, ST_T, ST_BODY,
                                    strlen(ST_BODY), &b),
                   FL_OK);
  assert_string_equal(b.data, "t=1700000000,v1=" ST_V1_OLD ",v1=" ST_V1);
  fl_buf_free(&b);
}

static void test_listen_sig_stripe_tolerance(void **state) {
  (void)state;
  flurry_webhook_key k = key_of(FLURRY_WEBHOOK_STRIPE, ST_SECRET);
  const char *h = "t=1700000000,v1=" ST_V1;
  assert_int_equal(verify_stripe(h, &k, 1, ST_T + 300), FLURRY__SIG_OK);
  assert_int_equal(verify_stripe(h, &k, 1, ST_T - 300), FLURRY__SIG_OK);
  assert_int_equal(verify_stripe(h, &k, 1, ST_T + 301), FLURRY__SIG_ESTALE);
  assert_int_equal(verify_stripe(h, &k, 1, ST_T - 301), FLURRY__SIG_ESTALE);
  flurry_webhook_delivery d = {h, NULL, NULL, ST_BODY, strlen(ST_BODY)};
  assert_int_equal(flurry__sig_verify(FLURRY_WEBHOOK_STRIPE, &k, 1, 10, ST_T + 11, &d),
                   FLURRY__SIG_ESTALE);
  assert_int_equal(flurry__sig_verify(FLURRY_WEBHOOK_STRIPE, &k, 1, 10, ST_T + 10, &d),
                   FLURRY__SIG_OK);
}

static void test_listen_sig_stripe_syntax(void **state) {
  (void)state;
  flurry_webhook_key k = key_of(FLURRY_WEBHOOK_STRIPE, ST_SECRET);
  const char *bad[] = {
      "",
      "v1=" ST_V1,                           /* no t */
      "t=,v1=" ST_V1,                        /* empty t */
      "t=17e8,v1=" ST_V1,                    /* not digits */
      "t=1700000000,t=1700000000,v1=" ST_V1, /* two t */
      "t=1700000000,v1=" ST_V1 ",",          /* trailing comma */
      "t=1700000000,,v1=" ST_V1,             /* empty element */
      "t=1700000000, v1=" ST_V1,             /* white space */
      "t=1700000000,v1",                     /* no '=' */
      "t=1700000000,=x",                     /* no key */
      "t=1700000000,v1=abc",                 /* short v1 */
      "t=1700000000,v1=" ST_V1 "0",          /* long v1 */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(verify_stripe(bad[i], &k, 1, ST_T), FLURRY__SIG_EMALFORMED);
  /* at most FLURRY_WEBHOOK_MAX_SIGS v1 entries */
  fl_buf b = FL_BUF_INIT(0);
  assert_int_equal(fl_buf_puts(&b, "t=1700000000"), FL_OK);
  for (int i = 0; i < FLURRY_WEBHOOK_MAX_SIGS; i++)
    assert_int_equal(fl_buf_puts(&b, ",v1=" ST_V1), FL_OK);
  assert_int_equal(verify_stripe(b.data, &k, 1, ST_T), FLURRY__SIG_OK);
  assert_int_equal(fl_buf_puts(&b, ",v1=" ST_V1), FL_OK);
  assert_int_equal(verify_stripe(b.data, &k, 1, ST_T), FLURRY__SIG_EMALFORMED);
  fl_buf_free(&b);
  /* a malformed v1 value next to a good one is skipped, as Stripe's
   * libraries (which compare strings) do */
  const char *skipped[] = {
      "t=1700000000,v1=abc,v1=" ST_V1,
      "t=1700000000,v1=" ST_V1 ",v1=",
      "t=1700000000,v1=" ST_V1 "0,v1=" ST_V1,
      "t=1700000000,v1=C0E606C0E15A27ED35BA7B4C636CA40200988FDB7DB80E2597DFD76C"
      "9662D43E,v1=" ST_V1,
  };
  for (size_t i = 0; i < sizeof skipped / sizeof skipped[0]; i++)
    assert_int_equal(verify_stripe(skipped[i], &k, 1, ST_T), FLURRY__SIG_OK);
  assert_int_equal(verify_stripe("t=1700000000,v1=abc,v1=00000000000000000000"
                                 "00000000000000000000000000000000000000000000",
                                 &k, 1, ST_T),
                   FLURRY__SIG_EMISMATCH);
}

/* ---- what is refused before the body is read ---------------------------- */

/* A body that cannot be read: any HMAC over it faults. */
static const char *unreadable_body(size_t *len) {
  long page = sysconf(_SC_PAGESIZE);
  void *p = mmap(NULL, (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(p != MAP_FAILED);
  *len = (size_t)page;
  return p;
}

static void test_listen_sig_cheap_checks_first(void **state) {
  (void)state;
  size_t len;
  const char *body = unreadable_body(&len);
  flurry_webhook_key keys[FLURRY_WEBHOOK_MAX_SIGS];
  for (size_t i = 0; i < FLURRY_WEBHOOK_MAX_SIGS; i++)
    keys[i] = key_of(FLURRY_WEBHOOK_STANDARD, SW_KEY);
  const struct {
    flurry_webhook_scheme scheme;
    const char *sig, *id, *ts;
    int want;
  } cases[] = {
      /* stale: refused before any of the 16 HMACs */
      {FLURRY_WEBHOOK_STANDARD, SW_SIG, SW_ID, "1614260000", FLURRY__SIG_ESTALE},
      {FLURRY_WEBHOOK_STRIPE, "t=1614260000,v1=" ST_V1, NULL, NULL, FLURRY__SIG_ESTALE},
      /* no v1 signature at all: nothing can match */
      {FLURRY_WEBHOOK_STANDARD, "v1a,abc", SW_ID, SW_TS, FLURRY__SIG_EMISMATCH},
      {FLURRY_WEBHOOK_STRIPE, "t=1614265330,v0=" ST_V1, NULL, NULL, FLURRY__SIG_EMISMATCH},
      /* an id that is not text, a malformed header, none at all */
      {FLURRY_WEBHOOK_STANDARD, SW_SIG, "id\xfe", SW_TS, FLURRY__SIG_EMALFORMED},
      {FLURRY_WEBHOOK_STANDARD, "v1,x", SW_ID, SW_TS, FLURRY__SIG_EMALFORMED},
      {FLURRY_WEBHOOK_GITHUB, "sha256=x", NULL, NULL, FLURRY__SIG_EMALFORMED},
      {FLURRY_WEBHOOK_GITHUB, NULL, NULL, NULL, FLURRY__SIG_EMISSING},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    flurry_webhook_delivery d = {cases[i].sig, cases[i].id, cases[i].ts, body, len};
    assert_int_equal(flurry__sig_verify(cases[i].scheme, keys, FLURRY_WEBHOOK_MAX_SIGS, TOL, SW_T,
                                        &d),
                     cases[i].want);
  }
  munmap((void *)body, len);
}

/* ---- signing round trips ------------------------------------------------- */

static void test_listen_sig_sign_matches_vectors(void **state) {
  (void)state;
  fl_buf b = FL_BUF_INIT(0);
  flurry_webhook_key k = key_of(FLURRY_WEBHOOK_GITHUB, GH_SECRET);
  assert_int_equal(flurry__sig_sign(FLURRY_WEBHOOK_GITHUB, &k, 1, NULL, 0, GH_BODY, strlen(GH_BODY),
                                    &b),
                   FL_OK);
  assert_string_equal(b.data, GH_SIG);
  fl_buf_reset(&b);
  k = key_of(FLURRY_WEBHOOK_STANDARD, SW_KEY);
  flurry_webhook_key two[2] = {k, key_of(FLURRY_WEBHOOK_STANDARD, SW_KEY)};
  assert_int_equal(flurry__sig_sign(FLURRY_WEBHOOK_STANDARD, two, 2, SW_ID, SW_T, SW_BODY,
                                    strlen(SW_BODY), &b),
                   FL_OK);
  assert_string_equal(b.data, SW_SIG " " SW_SIG);
  assert_int_equal(verify_standard(b.data, SW_ID, SW_TS, SW_T), FLURRY__SIG_OK);
  fl_buf_free(&b);
}

/* ---- every prefix ----------------------------------------------------------
 */

typedef int (*parse_fn)(const char *v, size_t n, flurry__sig_set *out);

/* Feeds every prefix of s to fn from an exactly-sized heap copy; the
 * whole input must give want, and every proper prefix must not crash (nor
 * read past its end). Returns how many proper prefixes parsed. */
static size_t feed_prefixes(parse_fn fn, const char *s, int want) {
  size_t n = strlen(s), parsed = 0;
  flurry__sig_set set;
  for (size_t len = 0; len <= n; len++) {
    char *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, s, len);
    int rc = fn(p, len, &set);
    assert_true(rc == FLURRY__SIG_OK || rc == FLURRY__SIG_EMALFORMED);
    if (len == n)
      assert_int_equal(rc, want);
    else
      parsed += rc == FLURRY__SIG_OK;
    free(p);
  }
  return parsed;
}

static int parse_time(const char *v, size_t n, flurry__sig_set *out) {
  return flurry__sig_parse_time(v, n, &out->t);
}

static void test_listen_sig_parsers_every_prefix(void **state) {
  (void)state;
  assert_int_equal(feed_prefixes(flurry__sig_parse_github, GH_SIG, FLURRY__SIG_OK), 0);
  assert_int_equal(feed_prefixes(flurry__sig_parse_standard, SW_SIG, FLURRY__SIG_OK), 0);
  /* "v1a,x v1,<sig>": "v1a,x" alone and "v1a,x " parse (other version) */
  assert_int_equal(feed_prefixes(flurry__sig_parse_standard, "v1a,x " SW_SIG, FLURRY__SIG_OK), 2);
  /* "t=1", "t=17", ... parse on their own; any cut inside v1 does not */
  assert_int_equal(feed_prefixes(flurry__sig_parse_stripe, "t=1700000000,v1=" ST_V1,
                                 FLURRY__SIG_OK),
                   10);
  assert_int_equal(feed_prefixes(flurry__sig_parse_stripe, "t=1700000000,v1=" ST_V1 ",v0=ab",
                                 FLURRY__SIG_OK),
                   10 + 1 + 2);
  feed_prefixes(flurry__sig_parse_stripe, "t=1,v1=x,,=", FLURRY__SIG_EMALFORMED);
  feed_prefixes(flurry__sig_parse_standard, "v1,abc= ,", FLURRY__SIG_EMALFORMED);
  assert_int_equal(feed_prefixes(parse_time, "1614265330", FLURRY__SIG_OK), 9);
  feed_prefixes(parse_time, "9999999999999999", FLURRY__SIG_EMALFORMED);
}

static void test_listen_sig_scheme_names(void **state) {
  (void)state;
  flurry_webhook_scheme s = FLURRY_WEBHOOK_NONE;
  const char *names[] = {"none", "github", "stripe", "standard"};
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(flurry__sig_scheme_parse(names[i], &s), 0);
    assert_string_equal(flurry__sig_scheme_name(s), names[i]);
  }
  assert_int_equal(flurry__sig_scheme_parse("GitHub", &s), -1);
  assert_null(flurry__sig_header(FLURRY_WEBHOOK_NONE));
  assert_string_equal(flurry__sig_header(FLURRY_WEBHOOK_STRIPE), "Stripe-Signature");
  flurry_webhook_delivery d = {NULL, NULL, NULL, "", 0};
  assert_int_equal(flurry__sig_verify(FLURRY_WEBHOOK_NONE, NULL, 0, TOL, 0, &d), FLURRY__SIG_OK);
  assert_string_equal(flurry__sig_strerror(FLURRY__SIG_ESTALE), "timestamp outside the tolerance");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_listen_sig_github_vector),
      cmocka_unit_test(test_listen_sig_github_every_mutation_rejected),
      cmocka_unit_test(test_listen_sig_github_every_payload_mutation_rejected),
      cmocka_unit_test(test_listen_sig_github_syntax),
      cmocka_unit_test(test_listen_sig_standard_vector),
      cmocka_unit_test(test_listen_sig_standard_tolerance),
      cmocka_unit_test(test_listen_sig_standard_several_signatures),
      cmocka_unit_test(test_listen_sig_standard_keys),
      cmocka_unit_test(test_listen_sig_standard_id_must_be_text),
      cmocka_unit_test(test_listen_sig_cheap_checks_first),
      cmocka_unit_test(test_listen_sig_stripe_vector),
      cmocka_unit_test(test_listen_sig_stripe_several_v1_and_secrets),
      cmocka_unit_test(test_listen_sig_stripe_tolerance),
      cmocka_unit_test(test_listen_sig_stripe_syntax),
      cmocka_unit_test(test_listen_sig_sign_matches_vectors),
      cmocka_unit_test(test_listen_sig_parsers_every_prefix),
      cmocka_unit_test(test_listen_sig_scheme_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
