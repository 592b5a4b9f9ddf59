/* tree_int.h: what tree.c (lines, nodes, follow-ups) and pages.c
 * (pagination chains) share. Internal to the CLI. */
#ifndef FLURRY_TREE_INT_H
#define FLURRY_TREE_INT_H

#include <jv.h>

#include "cli.h"

#define SHOWN_URL 300 /* bytes of a URL quoted in a message */

typedef struct troot troot;
typedef struct tchain tchain;
typedef struct tnode tnode;
typedef struct twork twork;

/* A page read once: its body and --items outputs, by the paginator's
 * callbacks (which run before the page's completion callback) and then by
 * the completion callback; with what those callbacks found wrong, written
 * after the page's records. */
typedef struct tread {
  const flurry_response *resp; /* the page read; NULL: none yet */
  jv body;                     /* as jq (null when its level needs none) */
  jv outs;                     /* --items outputs, else [body] */
  int64_t count;               /* items on the page; -1: unknown */
  int items_failed;            /* --items failed: items_err (NULL: no memory) */
  char *items_err;
  int has_err; /* an error record for the page */
  const char *err_kind, *err_detail;
  char *err_msg;
} tread;

typedef struct tlevel {
  const cli_level *lv;
  cli_pager pg;     /* kind PAGER_NONE when not paginated; items always here */
  cli_expr *each;   /* level >= 1: --each EXPR */
  int last;         /* no level after it: its responses are the records */
  int origin_fixed; /* its template names the origin: credentials go */
  twork *head, *tail;
} tlevel;

struct cli_tree {
  const cli_ctx *ctx;
  tlevel *lv;
  size_t n;
  flurry_dedupe *dedup;
  int dedup_warned;
  int stopping;
};

struct troot {
  cli_tree *t;
  uint64_t seq, lineno, key;
  char *id_json;
  char *line; /* level 0 pages are built again from it */
  size_t len;
  char *origin_url; /* the first request's URL: credentials stay at its origin */
  int refs;
  int failed;
  uint64_t dropped; /* requests not started (a signal) */
};

/* A paginated level's pages for one value: the library's paginator finds
 * the next page, detects cycles, keeps --max-pages and sends the pages
 * known up front; pages.c builds each page from the template and reads
 * the page once. */
struct tchain {
  int refs;
  troot *rt;
  tnode *parent; /* the parent of every page */
  size_t level;
  jv value; /* what the pages are built from (level >= 1) */
  uint64_t first_key;
  int secrets;     /* the first page had the credentials: every page gets
                    them, the library keeps them to its origin */
  int interrupted; /* stopped by a signal: known pages left are counted */
  char *ck_var;    /* the cursor or number of the page handed over last */
  tread rd;        /* the page whose completion is under way */
};

struct tnode {
  troot *rt;
  tnode *parent;
  tchain *ch;
  size_t level;
  int refs;
  jv value; /* the --each output that made it (level >= 1) */
  char *method, *url;
  uint64_t key;
  int64_t page; /* 1-based; 0 when the level is not paginated */
};

struct twork {
  twork *next;
  tnode *parent; /* --each outputs of parent, one request each */
  jv values;
  char *base; /* the parent's URL (after redirects): links in it are relative to it */
  int i, n;
};

/* ---- tree.c ---- */

/* A record's identity from base, a kind of thing and its text. */
uint64_t tree_key(uint64_t base, const char *what, const char *text);
/* An error of the tree itself (a jq error, a cycle) on nd's response:
 * kind, detail and message (NULL: out of memory). */
void tree_error(cli_tree *t, tnode *nd, const flurry_response *resp, const char *kind,
                const char *detail, const char *msg);
/* Builds a request of a level from the line (level 0) or value, with a
 * next link (url) or the paginator's variable (var_value; NULL: its first
 * value); without secrets a JSON line's own credential headers are left
 * out (the caller adds -H's: tree_add_secrets). 0 or FLURRY_ENOMEM;
 * bt->req NULL with bt->error on a bad one. */
int tree_build(cli_tree *t, troot *rt, size_t level, jv value, const char *url,
               const char *var_value, int secrets, cli_built *bt);
/* The same for a follow-up taken from the page at base (a URL the
 * template takes whole from the page is resolved against it, RFC 3986). */
int tree_build_from(cli_tree *t, troot *rt, size_t level, jv value, const char *base,
                    cli_built *bt);
/* A node holding rt, parent and ch (references taken); value taken over.
 * NULL: out of memory (value freed). */
tnode *tree_node_new(troot *rt, tnode *parent, tchain *ch, size_t level, jv value);
/* Moves bt's method, URL and request identity into nd. */
int tree_node_take(tnode *nd, cli_built *bt);
void tree_node_release(tnode *nd);
void tree_root_release(troot *rt);
/* Submits req (taken over) for nd (its reference taken over); a refusal
 * becomes nd's error record. */
void tree_submit(cli_tree *t, tnode *nd, flurry_request *req);
/* Adds the -H headers that carry credentials. 0 or FLURRY_ENOMEM. */
int tree_add_secrets(cli_tree *t, flurry_request *req);
/* 1 when a and b (--base-url applied) have the same origin. */
int tree_same_origin(cli_tree *t, const char *a, const char *b);
/* Reads page resp of a level into rd, unless rd holds it already. */
void tree_read(cli_tree *t, size_t level, const flurry_response *resp, tread *rd);
/* Frees what rd holds; it may be read again. */
void tree_read_clear(tread *rd);
/* Queues work for level (submitted by cli_tree_step, deepest first). */
void tree_work_push(cli_tree *t, size_t level, twork *w);
/* {}'s text of a value: a string as it is, the rest as JSON (fl_free). */
char *tree_value_text(jv v);

/* ---- pages.c ---- */

/* nd (a node of its level, built from value) is page `page` (1, or where
 * a resumed chain starts) of a new chain; req, its request, gets the
 * chain's paginator; secrets: it got the credentials. 0 or
 * FLURRY_ENOMEM. */
int pages_chain_start(tnode *nd, jv value, int secrets, flurry_request *req, int64_t page);
void pages_chain_release(tchain *ch); /* NULL ok */
/* From page req's callback, first: nd's page number; a signal stops the
 * chain. */
void pages_delivered(cli_tree *t, tnode *nd, flurry_request *req);
/* From page req's callback, after its records (ok: its --items ran): the
 * error the chain stopped with at this page, as a record; an empty page
 * known up front stops the chain. */
void pages_after(cli_tree *t, tnode *nd, flurry_request *req, const flurry_response *resp, int ok);

/* stream.c: makes the line's request a stream whose records go out as
 * they come (--stream). 0 or a FLURRY_E* code. */
int cli_stream_attach(troot *rt, flurry_request *req);

#endif
