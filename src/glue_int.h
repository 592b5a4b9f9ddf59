/* glue_int.h: libcurl's multi_socket API on the libuv loop (curl_uv.c).
 * The glue knows sockets, timers and the multi handle, never requests: what
 * happens to a transfer goes up through the callbacks the client set at
 * init (flurry__glue_cb). Internal. */
#ifndef FLURRY_GLUE_INT_H
#define FLURRY_GLUE_INT_H

#include <curl/curl.h>
#include <sys/types.h>
#include <uv.h>

#include "client_int.h"

/* The glue's up-calls, set once by flurry__glue_init. */
typedef struct flurry__glue_cb {
  /* libcurl reported easy's transfer done (CURLMSG_DONE). */
  void (*done)(flurry_client *c, CURL *easy, CURLcode result);
  /* From inside libcurl's socket callback: easy's socket could not be
   * watched (out of memory). 0: remembered, to be ended by flush after the
   * round (the glue arms a round on the next loop turn); -1: ended already,
   * libcurl is told. No curl call allowed. */
  int (*sock_failed)(flurry_client *c, CURL *easy);
  /* After every round of libcurl's, before its completed transfers are
   * read: ends what sock_failed remembered. */
  void (*flush)(flurry_client *c);
  /* One of the client's uv handles closed (open_handles went down). */
  void (*closed)(flurry_client *c);
} flurry__glue_cb;

/* One open socket's poll handle. */
struct flurry__sock {
  uv_poll_t poll;
  curl_socket_t fd;
  flurry_client *client;
  int events; /* UV_READABLE | UV_WRITABLE being watched */
  int idle;   /* no transfer on it: its connection is kept alive */
  dev_t dev;  /* the socket's identity (fstat), to tell when libcurl */
  ino_t ino;  /* closed it without a word and the number was reused */
  /* Adopted (flurry__glue_adopt): readiness goes to owner_cb, not curl. */
  void (*owner_cb)(void *owner, int status, int events);
  void *owner;
};

/* The curl timer and the multi handle's callbacks; cb lives as long as c. */
int flurry__glue_init(flurry_client *c, const flurry__glue_cb *cb);
/* CURLOPT_CLOSESOCKETFUNCTION for every transfer (clientp: the client). */
int flurry__glue_close_socket(void *clientp, curl_socket_t fd);
/* Closes every poll handle still open and the curl timer (after
 * curl_multi_cleanup); each close ends in cb->closed. */
void flurry__glue_close(flurry_client *c);
/* Hands fd's poll handle (created if libcurl never asked for one) to
 * owner_cb(owner, status, events), e.g. a CONNECT_ONLY connection now driven
 * by its owner; libcurl still closes it (and the handle) when it closes the
 * connection. NULL: out of memory or libuv refused. */
flurry__sock *flurry__glue_adopt(flurry_client *c, curl_socket_t fd,
                                 void (*owner_cb)(void *, int, int), void *owner);
/* Watches events (UV_READABLE | UV_WRITABLE, 0: none) on an adopted socket. */
void flurry__glue_watch(flurry__sock *s, int events);

#endif
