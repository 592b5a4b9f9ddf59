/* libcurl_floor.c: the least a libcurl client does per request, as a
 * bench/ peer ("libcurl floor"): libcurl's multi_socket interface on epoll,
 * CONCURRENCY transfers at a time over reused connections, URLs one per
 * line on stdin, bodies written to stdout as they come (as curl does),
 * nothing parsed, no timeout, no retry, no record. What flurry costs above
 * it is what flurry itself does per request.
 *
 * Build: cc -O2 -o libcurl-floor libcurl_floor.c $(pkg-config --cflags --libs libcurl)
 * Usage: libcurl-floor [CONCURRENCY] < urls.txt > bodies
 * Exit 0 when every transfer got a 200, 1 otherwise. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#define MAX_FD 65536

static int ep;
static long timeout_ms = -1;
static unsigned char watched[MAX_FD]; /* an fd's epoll events + 1; 0: not registered */
static unsigned char wanted[MAX_FD];  /* libcurl wants events of this fd */

static size_t on_body(char *p, size_t size, size_t n, void *u) {
  (void)u;
  return fwrite(p, size, n, stdout) * size;
}

/* libcurl's socket callback. An fd's epoll registration changes only when
 * the events wanted do; libcurl removes a connection's socket after every
 * transfer and adds it back for the next, so a removal is lazy, as in
 * libuv: the fd stays registered until an event comes that nobody wants
 * (and a closed fd leaves epoll by itself). */
static int on_socket(CURL *e, curl_socket_t s, int what, void *u, void *sp) {
  (void)e, (void)u, (void)sp;
  if (s < 0 || s >= MAX_FD)
    return -1;
  wanted[s] = what != CURL_POLL_REMOVE;
  if (what == CURL_POLL_REMOVE)
    return 0;
  struct epoll_event ev = {0};
  ev.data.fd = s;
  ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
  if (watched[s] == ev.events + 1)
    return 0;
  if (epoll_ctl(ep, watched[s] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) != 0 &&
      epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) != 0) /* a new socket on a closed one's fd */
    return -1;
  watched[s] = (unsigned char)(ev.events + 1);
  return 0;
}

static int on_timer(CURLM *m, long ms, void *u) {
  (void)m, (void)u;
  timeout_ms = ms;
  return 0;
}

int main(int argc, char **argv) {
  int conc = argc > 1 ? atoi(argv[1]) : 64;
  if (conc < 1 || conc > 10000) {
    fprintf(stderr, "libcurl-floor: CONCURRENCY must be 1..10000\n");
    return 2;
  }
  char line[8192];
  size_t started = 0, done = 0, failed = 0;
  int more = 1, running = 0, inflight = 0;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (ep = epoll_create1(0)) < 0)
    return 2;
  CURLM *m = curl_multi_init();
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
  CURL **idle = calloc((size_t)conc, sizeof *idle);
  int nidle = 0;
  for (;;) {
    /* start transfers up to the concurrency, reusing finished handles */
    while (more && inflight < conc) {
      if (fgets(line, sizeof line, stdin) == NULL) {
        more = 0;
        break;
      }
      line[strcspn(line, "\r\n")] = '\0';
      if (line[0] == '\0')
        continue;
      CURL *e = nidle ? idle[--nidle] : curl_easy_init();
      if (e == NULL)
        return 2;
      curl_easy_setopt(e, CURLOPT_URL, line); /* copied by libcurl */
      curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
      curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
      curl_multi_add_handle(m, e);
      inflight++;
      started++;
    }
    if (inflight == 0)
      break;
    struct epoll_event evs[64];
    int n = epoll_wait(ep, evs, 64, timeout_ms < 0 ? 1000 : (int)timeout_ms);
    if (n <= 0 || timeout_ms == 0) {
      timeout_ms = -1;
      curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (!wanted[fd]) { /* removed by libcurl: disarm it now */
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
        watched[fd] = 0;
        continue;
      }
      int f = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
              (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
              (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
      curl_multi_socket_action(m, fd, f, &running);
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left)) != NULL) {
      if (msg->msg != CURLMSG_DONE)
        continue;
      long code = 0;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
      failed += msg->data.result != CURLE_OK || code != 200;
      curl_multi_remove_handle(m, msg->easy_handle);
      idle[nidle++] = msg->easy_handle;
      inflight--;
      done++;
    }
  }
  while (nidle)
    curl_easy_cleanup(idle[--nidle]);
  curl_multi_cleanup(m);
  free(idle);
  fprintf(stderr, "libcurl-floor: %zu requests, %zu failed\n", done, failed);
  return failed ? 1 : started == done ? 0 : 1;
}
