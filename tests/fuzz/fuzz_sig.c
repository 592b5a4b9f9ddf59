/* fuzz_sig.c: webhook signature headers (GitHub X-Hub-Signature-256, Stripe
 * Stripe-Signature, Standard Webhooks webhook-signature), timestamps and
 * secrets, from anyone who can reach `flurry listen`. Every parser reads the
 * whole input; then the input's lines are a delivery (signature, webhook-id,
 * webhook-timestamp, then the body) verified under each scheme; then the
 * input as a body is signed and must verify, and must not once changed. */
#include "fuzz.h"
#include "webhook_int.h"

#define NOW 1700000000

static void parsers(const char *v, size_t n) {
  int (*const parse[])(const char *, size_t, flurry__sig_set *) = {flurry__sig_parse_github,
                                                                   flurry__sig_parse_stripe,
                                                                   flurry__sig_parse_standard};
  for (size_t i = 0; i < 3; i++) {
    flurry__sig_set set;
    int rc = parse[i](v, n, &set);
    FUZZ_CHECK(rc == FLURRY__SIG_OK || rc == FLURRY__SIG_EMALFORMED);
    if (rc == FLURRY__SIG_OK)
      FUZZ_CHECK(set.n <= FLURRY_WEBHOOK_MAX_SIGS);
    if (rc == FLURRY__SIG_OK && i == 1) /* stripe: t points into v */
      FUZZ_CHECK(set.t_str >= v && set.t_str + set.t_len <= v + n && set.t >= 0);
  }
  int64_t t = -1;
  if (flurry__sig_parse_time(v, n, &t) == FLURRY__SIG_OK)
    FUZZ_CHECK(t >= 0);
  for (int s = FLURRY_WEBHOOK_GITHUB; s <= FLURRY_WEBHOOK_STANDARD; s++) {
    flurry_webhook_key key;
    if (flurry__sig_key_parse((flurry_webhook_scheme)s, v, n, &key) == FLURRY__SIG_OK)
      FUZZ_CHECK(key.len > 0 && key.len <= FLURRY_WEBHOOK_KEY_MAX);
  }
}

static flurry_webhook_key keys[4];

static void init_keys(void) {
  static const char *const secrets[] = {"It's a Secret to Everybody", "whsec_test_secret",
                                        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                        "c2Vjb25kIHNlY3JldCBmb3Igcm90YXRpb24="};
  static const flurry_webhook_scheme schemes[] = {FLURRY_WEBHOOK_GITHUB, FLURRY_WEBHOOK_STRIPE,
                                                  FLURRY_WEBHOOK_STANDARD, FLURRY_WEBHOOK_STANDARD};
  for (size_t i = 0; i < 4; i++)
    FUZZ_CHECK(flurry__sig_key_parse(schemes[i], secrets[i], strlen(secrets[i]), &keys[i]) ==
               FLURRY__SIG_OK);
}

static void delivery(const char *p, size_t n) {
  const char *line[3] = {NULL, NULL, NULL};
  size_t len[3] = {0, 0, 0};
  char *copy[3] = {NULL, NULL, NULL};
  for (int i = 0; i < 3 && fuzz_line(&p, &n, &line[i], &len[i]); i++)
    copy[i] = fuzz_copy(line[i], len[i], 1);
  flurry_webhook_delivery d = {copy[0], copy[1], copy[2], p, n};
  for (int s = FLURRY_WEBHOOK_NONE; s <= FLURRY_WEBHOOK_STANDARD; s++) {
    int rc = flurry__sig_verify((flurry_webhook_scheme)s, keys, 4, 300, NOW, &d);
    FUZZ_CHECK(rc <= FLURRY__SIG_OK && rc >= FLURRY__SIG_EMISMATCH);
  }
  for (int i = 0; i < 3; i++)
    free(copy[i]);
}

static void round_trip(const char *body, size_t n) {
  for (int s = FLURRY_WEBHOOK_GITHUB; s <= FLURRY_WEBHOOK_STANDARD; s++) {
    const flurry_webhook_key *k = s == FLURRY_WEBHOOK_STANDARD ? &keys[2] : &keys[s - 1];
    size_t nk = s == FLURRY_WEBHOOK_STANDARD ? 2 : 1;
    fl_buf sig = FL_BUF_INIT(0);
    FUZZ_CHECK(flurry__sig_sign((flurry_webhook_scheme)s, k, nk, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
                                NOW, body, n, &sig) == FL_OK);
    flurry_webhook_delivery d = {sig.data, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "1700000000", body,
                                 n};
    FUZZ_CHECK(flurry__sig_verify((flurry_webhook_scheme)s, keys, 4, 300, NOW, &d) ==
               FLURRY__SIG_OK);
    FUZZ_CHECK(flurry__sig_verify((flurry_webhook_scheme)s, keys, 4, 300, NOW + 301, &d) ==
               (s == FLURRY_WEBHOOK_GITHUB ? FLURRY__SIG_OK : FLURRY__SIG_ESTALE));
    if (n > 0) { /* one bit changed anywhere: refused */
      char *changed = fuzz_copy(body, n, 0);
      changed[n / 2] ^= 1;
      d.body = changed;
      FUZZ_CHECK(flurry__sig_verify((flurry_webhook_scheme)s, keys, 4, 300, NOW, &d) ==
                 FLURRY__SIG_EMISMATCH);
      free(changed);
    }
    fl_buf_free(&sig);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  if (!ready) {
    init_keys();
    ready = 1;
  }
  char *p = fuzz_copy(data, size, 0);
  parsers(p, size);
  delivery(p, size);
  round_trip(p, size);
  free(p);
  return 0;
}
