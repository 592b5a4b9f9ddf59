"""flurry.webhooks: verifying webhook signatures (GitHub, Stripe, Standard
Webhooks) with the library's verifier."""
