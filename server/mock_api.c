/* mock_api.c: endpoints of `flurry mock` shaped like today's web APIs:
 * /chat, an LLM-style completion that answers a POST with a short
 * text/event-stream ending in `data: [DONE]` (and no id:, no retry:), then
 * ends the body cleanly. Each call is counted per ?key= so a test can see
 * a POST that was repeated. */
#include <stdio.h>
#include <string.h>

#include "mock_int.h"

#define CHAT_KEY_MAX 256

/* ---- /chat ----------------------------------------------------------------- */

/* The call number for key (1 for the first call), 0 when not counted. */
static int64_t chat_call(mock_server *m, const char *key) {
  char k[CHAT_KEY_MAX + 8];
  int n = snprintf(k, sizeof k, "chat|%s", key);
  int created = 0;
  mock_slot *s = n > 0 && (size_t)n < sizeof k ? mock_table_get(m->flaky, k, (size_t)n, &created)
                                               : NULL;
  if (s == NULL)
    return 0;
  s->a += 1;
  return (int64_t)s->a;
}

void mock_chat(mock_server *m, httpd_req *req, const char *arg) {
  (void)arg;
  const char *key = httpd_req_query(req, "key");
  if (key == NULL || *key == '\0' || strlen(key) > CHAT_KEY_MAX) {
    mock_send_error(req, 400, "key= is required (1..256 bytes)");
    return;
  }
  if (strcmp(httpd_req_method(req), "POST") != 0) {
    mock_send_error(req, 405, "POST a prompt");
    return;
  }
  char body[256];
  int n = snprintf(body, sizeof body,
                   "data: {\"delta\":\"Hel\",\"call\":%lld}\n\n"
                   "data: {\"delta\":\"lo\"}\n\n"
                   "data: [DONE]\n\n",
                   (long long)chat_call(m, key));
  httpd_reply(req, 200, "text/event-stream", body, (size_t)n, HTTPD_COPY);
}
