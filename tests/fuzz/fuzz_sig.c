/* fuzz_sig.c: webhook signature headers (GitHub X-Hub-Signature-256, Stripe
 * Stripe-Signature, Standard Webhooks webhook-signature), timestamps and
 * secrets, from anyone who can reach `flurry listen`. Every parser reads the
 * whole input; then the input's lines are a delivery (signature, webhook-id,
 * webhook-timestamp, then the body) verified under each scheme; then the
 * input as a body is signed and must verify, and must not once changed. */
#include "fuzz.h"
#include "sig.h"

#define NOW 1700000000

static void parsers(const char *v, size_t n) {
  int (*const parse[])(const char *, size_t, sig_set *) = {sig_parse_github, sig_parse_stripe,
                                                           sig_parse_standard};
  for (size_t i = 0; i < 3; i++) {
    sig_set set;
    int rc = parse[i](v, n, &set);
    FUZZ_CHECK(rc == WHSIG_OK || rc == WHSIG_EMALFORMED);
    if (rc == WHSIG_OK)
      FUZZ_CHECK(set.n <= WHSIG_MAX);
    if (rc == WHSIG_OK && i == 1) /* stripe: t points into v */
      FUZZ_CHECK(set.t_str >= v && set.t_str + set.t_len <= v + n && set.t >= 0);
  }
  int64_t t = -1;
  if (sig_parse_time(v, n, &t) == WHSIG_OK)
    FUZZ_CHECK(t >= 0);
  for (int s = WHSIG_GITHUB; s <= WHSIG_STANDARD; s++) {
    sig_key key;
    if (sig_key_parse((sig_scheme)s, v, n, &key) == WHSIG_OK)
      FUZZ_CHECK(key.len > 0 && key.len <= WHSIG_KEY_MAX);
  }
}

static sig_key keys[4];

static void init_keys(void) {
  static const char *const secrets[] = {"It's a Secret to Everybody", "whsec_test_secret",
                                        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                        "c2Vjb25kIHNlY3JldCBmb3Igcm90YXRpb24="};
  static const sig_scheme schemes[] = {WHSIG_GITHUB, WHSIG_STRIPE, WHSIG_STANDARD, WHSIG_STANDARD};
  for (size_t i = 0; i < 4; i++)
    FUZZ_CHECK(sig_key_parse(schemes[i], secrets[i], strlen(secrets[i]), &keys[i]) == WHSIG_OK);
}

static void delivery(const char *p, size_t n) {
  const char *line[3] = {NULL, NULL, NULL};
  size_t len[3] = {0, 0, 0};
  char *copy[3] = {NULL, NULL, NULL};
  for (int i = 0; i < 3 && fuzz_line(&p, &n, &line[i], &len[i]); i++)
    copy[i] = fuzz_copy(line[i], len[i], 1);
  sig_delivery d = {copy[0], copy[1], copy[2], p, n};
  for (int s = WHSIG_NONE; s <= WHSIG_STANDARD; s++) {
    int rc = sig_verify((sig_scheme)s, keys, 4, 300, NOW, &d);
    FUZZ_CHECK(rc <= WHSIG_OK && rc >= WHSIG_EMISMATCH);
  }
  for (int i = 0; i < 3; i++)
    free(copy[i]);
}

static void round_trip(const char *body, size_t n) {
  for (int s = WHSIG_GITHUB; s <= WHSIG_STANDARD; s++) {
    const sig_key *k = s == WHSIG_STANDARD ? &keys[2] : &keys[s - 1];
    size_t nk = s == WHSIG_STANDARD ? 2 : 1;
    fl_buf sig = FL_BUF_INIT(0);
    FUZZ_CHECK(sig_sign((sig_scheme)s, k, nk, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", NOW, body, n,
                        &sig) == FL_OK);
    sig_delivery d = {sig.data, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "1700000000", body, n};
    FUZZ_CHECK(sig_verify((sig_scheme)s, keys, 4, 300, NOW, &d) == WHSIG_OK);
    FUZZ_CHECK(sig_verify((sig_scheme)s, keys, 4, 300, NOW + 301, &d) ==
               (s == WHSIG_GITHUB ? WHSIG_OK : WHSIG_ESTALE));
    if (n > 0) { /* one bit changed anywhere: refused */
      char *changed = fuzz_copy(body, n, 0);
      changed[n / 2] ^= 1;
      d.body = changed;
      FUZZ_CHECK(sig_verify((sig_scheme)s, keys, 4, 300, NOW, &d) == WHSIG_EMISMATCH);
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
