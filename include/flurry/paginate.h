/* flurry/paginate.h: pages, follow-ups and joins on the callback API.
 *
 *  - The Link header parser (RFC 8288): flurry_link_parse, flurry_link_find.
 *  - A paginator on a request (flurry_request_set_paginator): the client
 *    follows the pages itself (Link rel="next", a next URL from the body, or
 *    any next request a callback builds), checks each against the pages
 *    already requested in the chain (a cycle ends it with FLURRY_EPROTOCOL),
 *    keeps credentials to the first page's origin, stops at max pages, and
 *    when the total is known after page 1 (rel="last", or a callback) sends
 *    the remaining pages concurrently. Each page goes to the request's
 *    completion callback; flurry_request_page() tells which page it is.
 *  - Follow-ups with provenance (flurry_request_set_parent) and a
 *    de-duplication set (flurry_dedupe, flurry_client_submit_unique).
 *  - A group of named requests sent together, with one callback when all of
 *    them are back (flurry_group).
 *
 * Every page, follow-up and part is an ordinary request: the in-flight
 * limit, rate limits, retries and the deadline apply to each. */
#ifndef FLURRY_PAGINATE_H
#define FLURRY_PAGINATE_H

#include <stddef.h>
#include <stdint.h>

#include "flurry/client.h"
#include "flurry/request.h"
#include "flurry/response.h"
#include "flurry/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the Link header (RFC 8288) ---------------------------------------- */

/* One link-value. Both pointers point into the parsed buffer (borrowed). */
typedef struct flurry_link {
  const char *uri; /* between < and >, not resolved */
  size_t uri_len;
  const char *rel; /* the rel parameter's value, quotes removed; NULL: none */
  size_t rel_len;
} flurry_link;

enum {
  FLURRY_LINK_OK = 1,    /* one link-value parsed */
  FLURRY_LINK_END = 0,   /* nothing but white space and commas left */
  FLURRY_LINK_BAD = -1,  /* not a link-value */
  FLURRY_LINK_AGAIN = -2 /* the value stops in the middle of a link */
};

/* Parses the first link-value of p[0..n) into *out. A pure parser: reads
 * nothing past p + n, allocates nothing. Returns FLURRY_LINK_OK (*consumed:
 * bytes used, the separating comma included; call again on the rest),
 * FLURRY_LINK_END, FLURRY_LINK_AGAIN or FLURRY_LINK_BAD. */
FLURRY_API int flurry_link_parse(const char *p, size_t n, flurry_link *out, size_t *consumed);

/* 1 when the link's rel (a space-separated list) holds `name` (any case),
 * else 0. */
FLURRY_API int flurry_link_rel_has(const flurry_link *l, const char *name);

/* The URI of the first link of p[0..n) whose rel holds `rel`: returns 1
 * (*uri, *len set, pointing into p), 0 when there is none, or
 * FLURRY_LINK_BAD / FLURRY_LINK_AGAIN when the value breaks before one. */
FLURRY_API int flurry_link_find(const char *p, size_t n, const char *rel, const char **uri,
                                size_t *len);

/* ---- paginators ---------------------------------------------------------- */

/* Which page a request is (see flurry_request_page). */
typedef struct flurry_page {
  uint64_t chain; /* the chain's id: the flurry_request_id of its page 1 */
  int64_t number; /* 1-based */
  int known;      /* 1: a page known up front, sent concurrently */
} flurry_page;

typedef enum flurry_paginate_kind {
  /* The Link header's rel="next"; when page 1 also has rel="last" and the
   * two differ in one integer query parameter (page=, offset=), every page
   * up to the last goes out concurrently. */
  FLURRY_PAGINATE_LINK = 1,
  /* A next URL (absolute, or relative to the page) from next_url. */
  FLURRY_PAGINATE_NEXT_URL = 2,
  /* Any next request, built by next: cursors, page numbers, offsets. */
  FLURRY_PAGINATE_CALLBACK = 3,
  /* Nothing before the completion callback: the callback itself, having
   * read the page once, hands the next page over with
   * flurry_request_chain_next, or the pages known up front with
   * flurry_request_chain_known (built by build_page), or neither (the
   * last page). */
  FLURRY_PAGINATE_MANUAL = 4
} flurry_paginate_kind;

/* FLURRY_PAGINATE_NEXT_URL: writes the next page's URL (NUL-terminated, at
 * most url_len bytes with the NUL) into url. `resp` (a successful page) is
 * borrowed for the call; it runs before the page reaches the completion
 * callback. Returns 1 (a next page), 0 (the last page) or a FLURRY_E* code,
 * which ends the chain with that error (detail FLURRY_DETAIL_NEXT). */
typedef int (*flurry_next_url_cb)(const flurry_response *resp, const flurry_page *page, char *url,
                                  size_t url_len, void *user_data);

/* FLURRY_PAGINATE_CALLBACK: builds the next page's request with
 * flurry_request_new and stores it in *next (the chain takes it over), or
 * leaves *next NULL for the last page. Returns 0, or a FLURRY_E* code that
 * ends the chain with that error (detail FLURRY_DETAIL_NEXT; a request in *next is
 * freed). Runs as next_url does. */
typedef int (*flurry_next_cb)(const flurry_response *resp, const flurry_page *page,
                              flurry_request **next, void *user_data);

/* Optional, with build_page, for any kind: after page 1, the number of
 * pages in all (a count in the body, a header), or -1 when unknown (the
 * chain goes on page by page as its kind says). A total of 0 or 1 ends the
 * chain at page 1. */
typedef int64_t (*flurry_total_cb)(const flurry_response *first, void *user_data);

/* With total: builds page `number` (2..total) into *out (taken over).
 * Returns 0 or a FLURRY_E* code (that page is reported to on_end's error,
 * the others go on). */
typedef int (*flurry_build_page_cb)(int64_t number, flurry_request **out, void *user_data);

/* Optional, any kind but MANUAL: whether `page` (a successful page made
 * one after the other, not one known up front) is the last one. Runs
 * before its next page is worked out, before the page reaches the
 * completion callback; resp is borrowed for the call. Returns 1 (the last
 * page: the chain ends, FLURRY_OK, FLURRY_DETAIL_NONE), 0 (go on as the kind says)
 * or a FLURRY_E* code other than 1 (the chain ends with it, detail
 * FLURRY_DETAIL_NEXT). With stop, a Link chain does not send the pages of rel="last"
 * at once (stop would not see them): its pages go one after the other; a
 * total callback still sends them at once. */
typedef int (*flurry_stop_cb)(const flurry_response *resp, const flurry_page *page,
                              void *user_data);

/* Optional, FLURRY_PAGINATE_LINK and NEXT_URL: builds the page for `url`
 * (absolute http(s), borrowed for the call: a next link, a next URL, or a
 * page of rel="last" known up front) with flurry_request_new into *out
 * (the chain takes it over; it may carry page data). `from` is the page
 * the URL was found on, whose completion callback runs next, or NULL for
 * a page known up front (built later, when the in-flight limit lets it
 * go). Without build_url such a page is a copy of the page before it
 * (method, headers, body, options). For pages whose headers depend on
 * their URL (signatures) or that carry their own data. Returns 0, or a
 * FLURRY_E* code: the chain ends with it (detail FLURRY_DETAIL_NEXT); a page known up
 * front is skipped instead and the error reported to on_end (as
 * build_page's). A request left in *out on error is freed. */
typedef int (*flurry_build_url_cb)(const char *url, const flurry_page *from, flurry_request **out,
                                   void *user_data);

/* Optional: a page made one after the other (not known up front) is about
 * to be submitted, and the completion callback of the page before it has
 * returned: every page before `next` was delivered. The place to save a
 * checkpoint: a chain started again with next's URL (flurry_request_url)
 * as its first request and first_page = page->number repeats and loses
 * no page. `next` is borrowed for the call (not submitted yet); page
 * describes it. */
typedef void (*flurry_checkpoint_cb)(const flurry_request *next, const flurry_page *page,
                                     void *user_data);

/* How a chain ended. Pointers are borrowed for the callback. */
typedef struct flurry_chain_end {
  uint64_t chain;      /* the chain's id */
  int64_t pages;       /* pages delivered to the completion callback */
  int error;           /* FLURRY_OK, or why it stopped early */
  int detail;          /* a flurry_detail: FLURRY_DETAIL_NONE (the last
                          page said so), or MAX_PAGES, PAGINATION_CYCLE,
                          PAGE_FAILED, NEXT, SUBMIT, STOPPED (described at
                          FLURRY_DETAIL_MAP, flurry/error.h) */
  const char *message; /* "" or a sentence naming the page or URL */
  int64_t not_started; /* pages the chain knew of but never submitted:
                          known pages left when it stopped, and pages
                          handed over but dropped (see drop) */
} flurry_chain_end;

/* Runs once per chain, after the completion callback of its last page. */
typedef void (*flurry_chain_end_cb)(const flurry_chain_end *end, void *user_data);

typedef struct flurry_paginator {
  flurry_paginate_kind kind;
  flurry_next_url_cb next_url;     /* FLURRY_PAGINATE_NEXT_URL */
  flurry_next_cb next;             /* FLURRY_PAGINATE_CALLBACK */
  flurry_total_cb total;           /* optional (with build_page) */
  flurry_build_page_cb build_page; /* optional (with total) */
  flurry_chain_end_cb on_end;      /* optional */
  int64_t max_pages;               /* 0: FLURRY_OPT_MAX_PAGES */
  void *user_data;                 /* for these callbacks */
  /* Optional: a page that carries its own data (flurry_request_set_page_data)
   * is freed by the chain without ever being submitted (a known page
   * already requested, the chain stopped, the client refused it): the
   * data goes back to the caller here, before the request is freed. */
  void (*drop)(void *page_data, void *user_data);
  /* Optional: runs once when the chain is done with user_data (after
   * on_end; or when page 1 is freed without completing), so user_data
   * may hold a reference the chain releases. */
  void (*on_free)(void *user_data);
  flurry_stop_cb stop;             /* optional (not MANUAL) */
  flurry_build_url_cb build_url;   /* optional (LINK, NEXT_URL) */
  flurry_checkpoint_cb checkpoint; /* optional */
  /* The number of the chain's first request: 0 or 1 for a new chain, N >
   * 1 for a chain started again at page N (from a checkpoint). Pages are
   * numbered from there (flurry_request_page); max_pages still counts from
   * page 1, so such a chain makes at most max_pages - N + 1 pages (at
   * least its first); neither rel="last" nor total is asked, those being
   * page 1's. */
  int64_t first_page;
} flurry_paginator;

/* Makes `req` the first page of a chain (the paginator is copied). Submit
 * it as usual: the completion callback then runs once per page (each page
 * a request of its own, with flurry_request_page telling which), and
 * pg->on_end once after the last one. Pages the paginator builds from a
 * URL (Link, NEXT_URL, known Link pages) copy the first page's method,
 * headers, body and options. A page at another origin than page 1 is sent
 * without the secret headers (Authorization, Proxy-Authorization, Cookie
 * and those named by flurry_client_add_secret_header), the client's
 * defaults included. Pages of one chain go one after the other
 * unless the total is known; then at most the client's in-flight limit of
 * them are submitted at a time, and only one while the client has that
 * many requests pending (the rest wait unbuilt: many chains do not fill
 * the client's queue). Many chains run at once. Each page is a
 * request of its own: retries, rate limits and the deadline
 * (FLURRY_OPT_DEADLINE_MS, from that page's submit) apply to each. At most
 * 1,000,000 pages are remembered per chain for cycles (past that:
 * FLURRY_ETOO_LARGE). A paginated request is for flurry_client_submit:
 * flurry_gather and flurry_group_add refuse it (FLURRY_EINVALID).
 * A MANUAL chain makes the pages its completion callback hands over
 * (flurry_request_chain_next, flurry_request_chain_known); a page may
 * carry its own user data (flurry_request_set_page_data).
 * Returns 0, FLURRY_EINVALID (NULL, a kind without its callback, stop
 * with MANUAL, build_url with CALLBACK or MANUAL, a negative max_pages or
 * first_page, or req already submitted or paginated) or FLURRY_ENOMEM.
 * pg->on_free runs only after a 0. */
FLURRY_API int flurry_request_set_paginator(flurry_request *req, const flurry_paginator *pg);

/* Which page of which chain `req` is: 0 and *out filled, or
 * FLURRY_EINVALID when it is not a page. */
FLURRY_API int flurry_request_page(const flurry_request *req, flurry_page *out);

/* From the completion callback of page `req`: the chain makes no more
 * pages (an empty page says the total was wrong, the caller has enough).
 * Pages already in flight still come to the callback; on_end follows with
 * FLURRY_OK and detail FLURRY_DETAIL_STOPPED (or the reason it had already). Returns 0,
 * or FLURRY_EINVALID when req is not a page whose callback is running. */
FLURRY_API int flurry_request_chain_stop(flurry_request *req);

/* From the completion callback of page `req`: whether working out the
 * page after it (which happens before the callback runs) stopped the
 * chain, so that this page is its last one made one after the other: a
 * cycle (FLURRY_DETAIL_PAGINATION_CYCLE, FLURRY_EPROTOCOL), the page limit
 * (FLURRY_DETAIL_MAX_PAGES, FLURRY_OK), a next URL that is not an http(s) URL or a
 * callback's error (FLURRY_DETAIL_NEXT), no memory (FLURRY_DETAIL_SUBMIT), or the page itself
 * failed (FLURRY_DETAIL_PAGE_FAILED). Returns 1 with *out as on_end will report it
 * (the chain, the pages delivered so far, error, detail and message,
 * borrowed until the callback returns; not_started 0); 0 when it did not
 * (a next page follows, or the chain ends as its kind or stop says, or it
 * had stopped before); FLURRY_EINVALID (NULL, or req not a page whose
 * callback runs). For a caller that reports the stop with the page it
 * happened at (the flurry command's error record). */
FLURRY_API int flurry_request_chain_stopped(const flurry_request *req, flurry_chain_end *out);

/* Gives a page (not submitted yet, built by build_page or for
 * flurry_request_chain_next) its own user data: its completion callback
 * gets `data` instead of page 1's user data. Ownership of data stays with
 * the caller; a page freed unsubmitted hands it to the paginator's drop.
 * Returns 0, or FLURRY_EINVALID (NULL req, or req submitted). */
FLURRY_API int flurry_request_set_page_data(flurry_request *req, void *data);

/* From the completion callback of page `page` of a FLURRY_PAGINATE_MANUAL
 * chain: `next` (not submitted) is the next page. It is checked at once
 * against the pages already requested and the page limit, so the answer
 * belongs to the page whose callback runs; credentials are kept to page
 * 1's origin as for any page. Returns:
 *  0                 next is the chain's; *queued (when not NULL) says
 *                    what became of it: 1, submitted when the callback
 *                    returns (unless flurry_request_chain_stop follows:
 *                    then dropped as the paginator's drop says); 0, the
 *                    chain is at its page limit: next is freed and the
 *                    chain ends (FLURRY_OK, FLURRY_DETAIL_MAX_PAGES);
 *  FLURRY_EPROTOCOL  a cycle: next was already requested in this chain;
 *                    next is freed, the chain ends
 *                    (FLURRY_DETAIL_PAGINATION_CYCLE);
 *  FLURRY_ECANCELLED the chain was stopped already; next is freed;
 *  FLURRY_ETOO_LARGE, FLURRY_ENOMEM: next is freed, the chain ends;
 *  FLURRY_EINVALID   (NULL, page not a MANUAL page whose callback runs, a
 *                    next page handed over already for it, or next
 *                    submitted or paginated): the caller keeps next.
 * When next is freed, its page data is not dropped: it stays the
 * caller's. *queued is 0 on every error. */
FLURRY_API int flurry_request_chain_next(flurry_request *page, flurry_request *next, int *queued);

/* From the completion callback of page 1 of a FLURRY_PAGINATE_MANUAL chain
 * whose paginator has build_page: the pages with the values first, first
 * + step, ..., last are known and go out when the callback returns, each
 * built by build_page(value, ...), at most the client's in-flight limit
 * of them at a time, clipped to the page limit (detail FLURRY_DETAIL_MAX_PAGES). A
 * built page already requested in the chain is skipped. Returns 0 (an
 * empty range, last < first, is the end), or FLURRY_EINVALID (NULL, page
 * not page 1 of such a chain in its callback, step < 1, called twice,
 * or a next page was handed over). */
FLURRY_API int flurry_request_chain_known(flurry_request *page, int64_t first, int64_t last,
                                          int64_t step);

/* ---- follow-ups: provenance and de-duplication ------------------------ */

/* The request's id, unique in its client, given at submit (0 before). */
FLURRY_API uint64_t flurry_request_id(const flurry_request *req);

/* Marks `req` (not submitted yet) as a follow-up of `parent` (submitted,
 * typically in its completion callback), made by `step` (copied; e.g.
 * ".[].id=3", the expression and value that produced it). The path of req
 * is the parent's path, then "/", then step. Pages of a chain keep the
 * first page's parent and path. Returns 0, FLURRY_EINVALID (NULL, req
 * submitted, or parent not), FLURRY_ETOO_LARGE (a path over 4096 bytes) or
 * FLURRY_ENOMEM. */
FLURRY_API int flurry_request_set_parent(flurry_request *req, const flurry_request *parent,
                                         const char *step);

/* The parent's id (0: none) and the provenance path ("": none; borrowed). */
FLURRY_API uint64_t flurry_request_parent(const flurry_request *req);
FLURRY_API const char *flurry_request_path(const flurry_request *req);

/* A bounded set of 64-bit identities, shared by any number of requests of
 * one client run. 16 bytes per entry at most. */
typedef struct flurry_dedupe flurry_dedupe;

/* limit: the most identities held. Returns 0 or FLURRY_ENOMEM (then *out
 * is untouched). */
FLURRY_API int flurry_dedupe_new(flurry_dedupe **out, size_t limit);
FLURRY_API void flurry_dedupe_free(flurry_dedupe *d); /* NULL is a no-op */
/* Adds a key. Returns 0, with *added (when not NULL) 1 (added) or 0
 * (already there); FLURRY_ETOO_LARGE (the set is at its limit: not added)
 * or FLURRY_ENOMEM (*added 0). */
FLURRY_API int flurry_dedupe_add(flurry_dedupe *d, uint64_t key, int *added);
FLURRY_API int flurry_dedupe_has(const flurry_dedupe *d, uint64_t key);
FLURRY_API size_t flurry_dedupe_count(const flurry_dedupe *d);

/* A request's identity: a 64-bit hash of its method, URL (the client's
 * base URL, when client is not NULL, and the query applied) and body.
 * Equal requests, equal identities; 0 for NULL. */
FLURRY_API uint64_t flurry_request_identity(const flurry_client *client, const flurry_request *req);

/* Submits `req` unless an identical one (flurry_request_identity) was
 * submitted through `d` before. Returns 0 with *submitted 1 (submitted: as
 * flurry_client_submit) or 0 (a request already made: not submitted, the
 * callback never runs and the caller still owns req); FLURRY_EINVALID
 * (NULL client, req, d or submitted); or what flurry_client_submit
 * returns (*submitted 0). Once d is full, requests are submitted without
 * being remembered. */
FLURRY_API int flurry_client_submit_unique(flurry_client *client, flurry_request *req,
                                           flurry_dedupe *d, flurry_done_cb cb, void *user_data,
                                           int *submitted);

/* ---- groups: named requests sent together, one callback ---------------- */

typedef struct flurry_group flurry_group;

/* Runs once when every part of the group is back, success or error. The
 * group is borrowed: the client frees it after the callback returns
 * (responses not taken with flurry_group_take included). */
typedef void (*flurry_group_cb)(flurry_group *group, void *user_data);

/* Creates an empty group for `client`. Returns 0, FLURRY_EINVALID (NULL)
 * or FLURRY_ENOMEM; on failure *out is untouched. */
FLURRY_API int flurry_group_new(flurry_group **out, flurry_client *client);

/* Adds part `name` (copied; unique in the group) with `req`, which the
 * group takes over on success. At most 1024 parts. Returns 0,
 * FLURRY_EINVALID (NULL, a name already used, req submitted or paginated,
 * the group submitted or full) or FLURRY_ENOMEM (the caller keeps req). */
FLURRY_API int flurry_group_add(flurry_group *g, const char *name, flurry_request *req);

/* Submits every part at once (the client's limits apply). On 0, cb runs
 * once, later, when the last part is back; a part the client refused gets
 * an error response with the refusal's code, so each part has a response.
 * On failure the callback never runs and the caller still owns the group:
 * FLURRY_EINVALID (no parts, already submitted, cb NULL, or every part
 * refused as invalid), FLURRY_ECANCELLED (the client is being freed) or
 * FLURRY_ENOMEM. */
FLURRY_API int flurry_group_submit(flurry_group *g, flurry_group_cb cb, void *user_data);

/* Parts, in the order they were added. */
FLURRY_API size_t flurry_group_count(const flurry_group *g);
FLURRY_API const char *flurry_group_name(const flurry_group *g, size_t i);
/* The index of part `name`, or -1. */
FLURRY_API int flurry_group_find(const flurry_group *g, const char *name);
/* Part i's response in the callback (borrowed; NULL once taken, or for
 * i out of range). */
FLURRY_API const flurry_response *flurry_group_response(const flurry_group *g, size_t i);
/* Part i's error kind (FLURRY_OK, FLURRY_EHTTP for a status >= 400, ...);
 * FLURRY_EINVALID for i out of range. */
FLURRY_API int flurry_group_error(const flurry_group *g, size_t i);
/* Parts that failed (error other than FLURRY_OK). */
FLURRY_API size_t flurry_group_failed(const flurry_group *g);
/* Hands part i's response over to the caller (flurry_response_free it);
 * NULL when already taken or out of range. */
FLURRY_API flurry_response *flurry_group_take(flurry_group *g, size_t i);
/* Frees a group never submitted (or whose submit failed), with its
 * requests. NULL is a no-op. */
FLURRY_API void flurry_group_free(flurry_group *g);

#ifdef __cplusplus
}
#endif
#endif
