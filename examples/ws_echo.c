/* ws_echo.c: a WebSocket conversation, like aiohttp's
 *
 *     async with session.ws_connect(base + "/ws/echo") as ws:
 *         for m in ["one", "two"]:
 *             await ws.send_str(m)
 *         await ws.send_bytes(b"\x00\x01\xff")
 *         async for msg in ws:             # three echoes, then
 *             ...                          # await ws.close()
 *
 * The connection runs on the client's loop: on_open sends, on_message
 * counts the echoes and closes (1000) after the last one, on_close (always
 * exactly once) says how it ended. Pings from the server are answered by
 * the library.
 *
 * Run: example_ws_echo [BASE_URL]   (default http://127.0.0.1:8080: flurry
 * mock; its http:// becomes ws://) */
#include <flurry.h>
#include <stdio.h>
#include <string.h>

typedef struct chat {
  int echoes;
  int ok;
  int clean;
} chat;

static const char *const texts[] = {"one", "two"};
static const unsigned char bytes[] = {0x00, 0x01, 0xff};

static void on_open(flurry_ws *ws, void *ud) {
  (void)ud;
  printf("open\n");
  for (size_t i = 0; i < 2; i++)
    flurry_ws_send(ws, FLURRY_WS_TEXT, texts[i], strlen(texts[i]));
  flurry_ws_send(ws, FLURRY_WS_BINARY, bytes, sizeof bytes);
}

static void on_message(flurry_ws *ws, flurry_ws_type type, const char *data, size_t len, void *ud) {
  chat *c = ud;
  int n = c->echoes++;
  if (type == FLURRY_WS_TEXT) {
    printf("echo %d: text \"%.*s\"\n", n + 1, (int)len, data);
    c->ok += n < 2 && len == strlen(texts[n]) && memcmp(data, texts[n], len) == 0;
  } else {
    printf("echo %d: %zu bytes\n", n + 1, len);
    c->ok += n == 2 && len == sizeof bytes && memcmp(data, bytes, len) == 0;
  }
  if (c->echoes == 3)
    flurry_ws_close(ws, 1000, "bye");
}

static void on_close(flurry_ws *ws, const flurry_ws_status *st, void *ud) {
  chat *c = ud;
  (void)ws;
  if (st->err)
    printf("error: %s: %s\n", flurry_err_name(st->err), st->message);
  printf("closed: code %d by the %s\n", st->code, st->by_server ? "server" : "client");
  c->clean = st->err == 0 && st->code == 1000;
}

int main(int argc, char **argv) {
  const char *base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
  char url[512];
  if (strncmp(base, "http://", 7) != 0 ||
      snprintf(url, sizeof url, "ws://%s/ws/echo", base + 7) >= (int)sizeof url) {
    fprintf(stderr, "usage: example_ws_echo [http://HOST:PORT]\n");
    return 2;
  }
  flurry_client *client;
  if (flurry_client_new(&client, NULL) != FLURRY_OK)
    return 1;
  chat c = {0, 0, 0};
  flurry_ws_callbacks cbs = {on_open, on_message, NULL, on_close};
  flurry_ws *ws;
  int rc = flurry_ws_connect(&ws, client, url, NULL, NULL, &cbs, &c);
  if (rc != FLURRY_OK) {
    fprintf(stderr, "connect: %s\n", flurry_strerror(rc));
    flurry_client_free(client);
    return 1;
  }
  /* flurry_client_run() waits for HTTP requests only: run the loop itself
   * until the connection (and everything else on it) is done. */
  uv_run(flurry_client_loop(client), UV_RUN_DEFAULT);
  flurry_client_free(client);
  int good = c.ok == 3 && c.clean;
  printf("%s\n", good ? "3/3 echoes, closed cleanly" : "something went wrong");
  return good ? 0 : 1;
}
