/* mock_hostile.c: endpoints of `flurry mock` that attack the client:
 * /huge-headers (header bytes or header lines without end) and /gzip-bomb
 * (a small gzip body that inflates to a gigabyte). For the client's limits
 * (FLURRY_MAX_HEADER_BYTES, FLURRY_MAX_HEADER_LINES, --max-size). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <zlib.h>

#include "mock_int.h"

#define HUGE_BYTES_DEFAULT (300 * 1024)
#define HUGE_BYTES_MAX (64 << 20)
#define HUGE_LINES_DEFAULT 300
#define HUGE_LINES_MAX 1000000
#define HUGE_WRITE_MS 5000 /* the most a stalled client may hold the loop */
#define BOMB_MIB_DEFAULT 1024
#define BOMB_MIB_MAX 4096
#define BOMB_CHUNK (64 * 1024)

/* ---- /huge-headers: written raw, since libmicrohttpd bounds headers ----- */

/* Writes all n bytes to the non-blocking socket fd, waiting for room at
 * most until deadline (ms). 0, or -1 (the client left or stalled). */
static int send_all(int fd, const char *p, size_t n, double deadline) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return -1;
    double left = deadline - fl_now_ms();
    struct pollfd pfd = {fd, POLLOUT, 0};
    if (left <= 0 || (poll(&pfd, 1, (int)left + 1) < 0 && errno != EINTR))
      return -1;
  }
  return 0;
}

/* The response: 200, `lines` headers "X-Huge-<i>: ***" that make about
 * `bytes` bytes together, Content-Length 2 and "{}". */
static void huge_write(int fd, int64_t bytes, int64_t lines) {
  double deadline = fl_now_ms() + HUGE_WRITE_MS;
  static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";
  static const char tail[] = "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
  char line[8192];
  int64_t per = bytes / lines; /* bytes per line, "X-Huge-1: " and CRLF included */
  if (send_all(fd, head, sizeof head - 1, deadline) != 0)
    return;
  for (int64_t i = 0; i < lines; i++) {
    int k = snprintf(line, sizeof line, "X-Huge-%lld: ", (long long)i);
    int64_t fill = per - k - 2;
    if (fill < 1)
      fill = 1;
    if (fill > (int64_t)sizeof line - k - 2)
      fill = (int64_t)sizeof line - k - 2;
    memset(line + k, '*', (size_t)fill);
    memcpy(line + k + fill, "\r\n", 2);
    if (send_all(fd, line, (size_t)(k + fill + 2), deadline) != 0)
      return;
  }
  send_all(fd, tail, sizeof tail - 1, deadline);
}

void mock_huge_headers(mock_server *m, httpd_req *req, const char *arg) {
  (void)m;
  (void)arg;
  int64_t bytes, lines;
  if (mock_query_num(req, "bytes", 1, HUGE_BYTES_MAX, HUGE_BYTES_DEFAULT, &bytes) != 0 ||
      mock_query_num(req, "lines", 1, HUGE_LINES_MAX, HUGE_LINES_DEFAULT, &lines) != 0) {
    mock_send_error(req, 400, "bytes must be 1..67108864, lines 1..1000000");
    return;
  }
  int fd = httpd_req_fd(req);
  if (fd < 0) {
    mock_send_error(req, 500, "no socket");
    return;
  }
  huge_write(fd, bytes, lines);
  httpd_drop(req, HTTPD_CLOSE); /* after the bytes: a FIN */
}

/* ---- /gzip-bomb: zeros deflated on the fly, deterministic --------------- */

typedef struct bomb {
  z_stream z;
  uint64_t left; /* zero bytes not yet fed to deflate */
  int done;
} bomb;

static const unsigned char zeros[BOMB_CHUNK];

static ssize_t bomb_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  bomb *b = cls;
  if (b->done)
    return HTTPD_STREAM_END;
  b->z.next_out = (unsigned char *)buf;
  b->z.avail_out = (uInt)(max < UINT32_MAX ? max : UINT32_MAX);
  while (b->z.avail_out > 0 && !b->done) {
    if (b->z.avail_in == 0 && b->left > 0) {
      size_t n = b->left < BOMB_CHUNK ? (size_t)b->left : BOMB_CHUNK;
      b->z.next_in = (unsigned char *)zeros;
      b->z.avail_in = (uInt)n;
      b->left -= n;
    }
    int rc = deflate(&b->z, b->left == 0 && b->z.avail_in == 0 ? Z_FINISH : Z_NO_FLUSH);
    if (rc == Z_STREAM_END)
      b->done = 1;
    else if (rc != Z_OK && rc != Z_BUF_ERROR)
      return HTTPD_STREAM_CLOSE;
  }
  size_t n = max - b->z.avail_out;
  return n ? (ssize_t)n : HTTPD_STREAM_END;
}

static void bomb_free(void *cls) {
  bomb *b = cls;
  deflateEnd(&b->z);
  fl_free(b);
}

void mock_gzip_bomb(mock_server *m, httpd_req *req, const char *arg) {
  (void)m;
  (void)arg;
  int64_t mib;
  if (mock_query_num(req, "mib", 1, BOMB_MIB_MAX, BOMB_MIB_DEFAULT, &mib) != 0) {
    mock_send_error(req, 400, "mib must be 1..4096");
    return;
  }
  bomb *b = fl_calloc(1, sizeof *b);
  /* windowBits 15 + 16: a gzip wrapper; level 9: about 1 KiB per MiB */
  if (b == NULL || deflateInit2(&b->z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    fl_free(b);
    mock_send_error(req, 500, "out of memory");
    return;
  }
  b->left = (uint64_t)mib << 20;
  if (httpd_header(req, "Content-Encoding", "gzip") != 0) {
    bomb_free(b);
    mock_send_error(req, 500, "out of memory");
    return;
  }
  httpd_reply_stream(req, 200, "application/octet-stream", HTTPD_SIZE_UNKNOWN, bomb_read, b,
                     bomb_free, NULL);
}
