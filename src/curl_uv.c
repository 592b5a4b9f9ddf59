/* curl_uv.c: libcurl's multi_socket API driven by a libuv loop.
 *
 * One uv_timer_t per multi handle, (re)armed by curl's timer callback; one
 * uv_poll_t per open curl socket, found by descriptor, kept across the
 * transfers of a kept-alive connection and closed when libcurl closes the
 * socket. Completed transfers are drained after every action. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "glue_int.h"

static void timer_closed(uv_handle_t *h) {
  flurry_client *c = h->data;
  c->open_handles--;
  c->glue->closed(c);
}

static void sock_closed(uv_handle_t *h) {
  flurry__sock *s = (flurry__sock *)h;
  flurry_client *c = s->client;
  c->open_handles--;
  fl_free(s);
  c->glue->closed(c);
}

static flurry__sock *sock_get(flurry_client *c, curl_socket_t fd) {
  return fd >= 0 && (size_t)fd < c->fdmap_cap ? c->fdmap[fd] : NULL;
}

static int sock_map(flurry_client *c, curl_socket_t fd, flurry__sock *s) {
  if ((size_t)fd >= c->fdmap_cap) {
    size_t cap = c->fdmap_cap ? c->fdmap_cap : 64;
    while (cap <= (size_t)fd)
      cap *= 2;
    flurry__sock **m = fl_realloc(c->fdmap, cap * sizeof *m);
    if (m == NULL)
      return -1;
    memset(m + c->fdmap_cap, 0, (cap - c->fdmap_cap) * sizeof *m);
    c->fdmap = m;
    c->fdmap_cap = cap;
  }
  c->fdmap[fd] = s;
  return 0;
}

static void sock_close(flurry_client *c, flurry__sock *s) {
  c->fdmap[s->fd] = NULL;
  uv_close((uv_handle_t *)&s->poll, sock_closed); /* stops it, leaves epoll */
}

void flurry__glue_close(flurry_client *c) {
  for (size_t fd = 0; fd < c->fdmap_cap; fd++)
    if (c->fdmap[fd])
      sock_close(c, c->fdmap[fd]);
  uv_close((uv_handle_t *)&c->curl_timer, timer_closed);
}

static void drain_done(flurry_client *c) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
    if (msg->msg == CURLMSG_DONE)
      c->glue->done(c, msg->easy_handle, msg->data.result);
  }
}

static void socket_action(flurry_client *c, curl_socket_t fd, int events) {
  int running;
  curl_multi_socket_action(c->multi, fd, events, &running);
  c->glue->flush(c); /* transfers whose socket could not be watched: before the
                        completed ones are read, as a removed handle reports nothing */
  drain_done(c);
}

static void on_curl_timer(uv_timer_t *t);

/* The socket of easy's transfer could not be watched (out of memory):
 * libcurl 7.88 would leave it hanging, so the client remembers it and
 * ends it with FLURRY_ENOMEM (flush) after the current round, or after a
 * timeout round on the next loop turn when
 * libcurl called from elsewhere (adding or removing a handle). Returns 0, not
 * -1: an error from the socket callback makes libcurl 7.88 end the round
 * at once (CURLM_ABORTED_BY_CALLBACK) before the other transfers ran and
 * before it re-armed its timer (they then waited for ever), and a later
 * round could crash inside libcurl. The transfer is removed right after
 * the round instead. */
static int sock_failed(flurry_client *c, CURL *easy) {
  if (c->glue->sock_failed(c, easy) != 0)
    return -1; /* ended already (a WebSocket's connect) */
  uv_timer_start(&c->curl_timer, on_curl_timer, 0, 0);
  return 0;
}

static void on_poll(uv_poll_t *p, int status, int events) {
  flurry__sock *s = (flurry__sock *)p;
  if (s->owner_cb) {
    s->owner_cb(s->owner, status, events);
    return;
  }
  if (s->idle) { /* a kept-alive connection's peer closed or spoke out of
                    turn: stop watching; libcurl checks it before reuse */
    uv_poll_stop(p);
    s->events = 0;
    return;
  }
  int flags = 0;
  if (status < 0)
    flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE)
    flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE)
    flags |= CURL_CSELECT_OUT;
  socket_action(s->client, s->fd, flags);
}

static void on_curl_timer(uv_timer_t *t) { socket_action(t->data, CURL_SOCKET_TIMEOUT, 0); }

/* CURLMOPT_TIMERFUNCTION: only (re)arms the one timer. */
static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp) {
  flurry_client *c = userp;
  (void)multi;
  if (timeout_ms < 0)
    uv_timer_stop(&c->curl_timer);
  else
    uv_timer_start(&c->curl_timer, on_curl_timer, (uint64_t)timeout_ms, 0);
  return 0;
}

static void sock_watch(flurry__sock *s, int events) {
  if (events == s->events)
    return; /* unchanged: no epoll_ctl at all */
  if (events)
    uv_poll_start(&s->poll, events, on_poll);
  else
    uv_poll_stop(&s->poll);
  s->events = events;
}

/* A poll handle for fd, mapped; NULL when out of memory or refused. */
static flurry__sock *sock_open(flurry_client *c, curl_socket_t fd) {
  flurry__sock *s = fl_calloc(1, sizeof *s);
  if (s == NULL)
    return NULL;
  if (uv_poll_init_socket(c->loop, &s->poll, fd) != 0) {
    fl_free(s);
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) == 0) {
    s->dev = st.st_dev;
    s->ino = st.st_ino;
  }
  s->fd = fd;
  s->client = c;
  c->open_handles++;
  if (sock_map(c, fd, s) != 0) {
    uv_close((uv_handle_t *)&s->poll, sock_closed);
    return NULL;
  }
  return s;
}

flurry__sock *flurry__glue_adopt(flurry_client *c, curl_socket_t fd,
                                 void (*owner_cb)(void *, int, int), void *owner) {
  flurry__sock *s = sock_get(c, fd);
  if (s == NULL && (s = sock_open(c, fd)) == NULL)
    return NULL;
  s->idle = 0;
  s->owner_cb = owner_cb;
  s->owner = owner;
  return s;
}

void flurry__glue_watch(flurry__sock *s, int events) { sock_watch(s, events); }

/* 1 when the socket s was made for is closed: libcurl 7.88.0 to 8.2.0
 * close a socket that never connected (a connect timeout, a transfer
 * removed while connecting) without CURLOPT_CLOSESOCKETFUNCTION and say
 * CURL_POLL_REMOVE after the close (curl pull request 11439). Its number
 * may already name another file: the inode tells. A handle kept for it
 * would make libuv's next epoll_ctl fail, and libuv abort()s on that. */
static int sock_gone(const flurry__sock *s) {
  struct stat st;
  return fstat(s->fd, &st) != 0 || st.st_ino != s->ino || st.st_dev != s->dev;
}

/* sock_gone, asked only while easy's transfer has no response yet. A
 * response came through its connection's socket, and libcurl closes a
 * socket that connected through close_socket below (7.88's sockets closed
 * alone are those that never connected): the fstat, a system call per
 * request, is for the transfers that failed or ended before an answer. */
static int sock_maybe_gone(CURL *easy, const flurry__sock *s) {
  long code = 0;
  if (easy != NULL && curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
      code != 0)
    return 0;
  return sock_gone(s);
}

/* CURLMOPT_SOCKETFUNCTION. A socket keeps its poll handle for as long as it
 * is open, across the transfers of a kept-alive connection: CURL_POLL_REMOVE
 * only turns it to "idle, readable", so the next transfer on that
 * connection, which asks for the same events, costs no epoll_ctl (a handle
 * per transfer cost two or three per request). The handle goes when libcurl
 * closes the socket (close_socket below), or on CURL_POLL_REMOVE when
 * libcurl closed it alone (sock_maybe_gone). */
static int curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  flurry_client *c = userp;
  flurry__sock *s = sock_get(c, fd);
  (void)socketp;
  if (s && s->owner_cb)
    return 0; /* adopted: its owner watches it */
  if (what == CURL_POLL_REMOVE) {
    if (s && sock_maybe_gone(easy, s))
      sock_close(c, s);
    else if (s) {
      s->idle = 1;
      sock_watch(s, UV_READABLE);
    }
    return 0;
  }
  if (s == NULL && (s = sock_open(c, fd)) == NULL)
    return sock_failed(c, easy);
  s->idle = 0;
  int events = 0;
  if (what & CURL_POLL_IN)
    events |= UV_READABLE;
  if (what & CURL_POLL_OUT)
    events |= UV_WRITABLE;
  sock_watch(s, events);
  return 0;
}

/* CURLOPT_CLOSESOCKETFUNCTION: the socket's poll handle leaves epoll before
 * the descriptor is closed, so a new socket reusing the number starts
 * clean. */
int flurry__glue_close_socket(void *clientp, curl_socket_t fd) {
  flurry_client *c = clientp;
  flurry__sock *s = sock_get(c, fd);
  if (s)
    sock_close(c, s);
  return close(fd);
}

int flurry__glue_init(flurry_client *c, const flurry__glue_cb *cb) {
  c->glue = cb;
  if (uv_timer_init(c->loop, &c->curl_timer) != 0)
    return FLURRY_EINTERNAL;
  c->curl_timer.data = c;
  c->open_handles++;
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
  return FLURRY_OK;
}
