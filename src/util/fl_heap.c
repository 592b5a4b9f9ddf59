/* fl_heap.c: a binary min-heap of nodes embedded in their owners (backoff
 * deadlines, host wake-ups). Ties break by insertion order. */
#include "fl.h"

static int less(const fl_heap_node *a, const fl_heap_node *b) {
  return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static void swap(fl_heap *h, size_t a, size_t b) {
  fl_heap_node *t = h->v[a];
  h->v[a] = h->v[b];
  h->v[b] = t;
  h->v[a]->index = a;
  h->v[b]->index = b;
}

static void up(fl_heap *h, size_t i) {
  while (i > 0 && less(h->v[i], h->v[(i - 1) / 2])) {
    swap(h, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
}

static void down(fl_heap *h, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < h->len && less(h->v[l], h->v[m]))
      m = l;
    if (r < h->len && less(h->v[r], h->v[m]))
      m = r;
    if (m == i)
      return;
    swap(h, i, m);
    i = m;
  }
}

int fl_heap_reserve(fl_heap *h, size_t n) {
  if (n <= h->cap)
    return FL_OK;
  size_t cap = h->cap ? h->cap : 64;
  while (cap < n)
    cap *= 2;
  fl_heap_node **v = fl_realloc(h->v, cap * sizeof *v);
  if (v == NULL)
    return FL_ENOMEM;
  h->v = v;
  h->cap = cap;
  return FL_OK;
}

int fl_heap_push(fl_heap *h, fl_heap_node *n, double key) {
  if (h->len == h->cap && fl_heap_reserve(h, h->len + 1) != FL_OK)
    return FL_ENOMEM;
  n->key = key;
  n->seq = h->seq++;
  n->index = h->len;
  h->v[h->len++] = n;
  up(h, n->index);
  return FL_OK;
}

fl_heap_node *fl_heap_top(const fl_heap *h) { return h->len ? h->v[0] : NULL; }

void fl_heap_remove(fl_heap *h, fl_heap_node *n) {
  size_t i = n->index;
  h->len--;
  if (i != h->len) {
    h->v[i] = h->v[h->len];
    h->v[i]->index = i;
    down(h, i);
    up(h, i);
  }
  n->index = SIZE_MAX;
}

fl_heap_node *fl_heap_pop(fl_heap *h) {
  fl_heap_node *top = fl_heap_top(h);
  if (top)
    fl_heap_remove(h, top);
  return top;
}

int fl_heap_contains(const fl_heap_node *n) { return n->index != SIZE_MAX; }

void fl_heap_free(fl_heap *h) {
  fl_free(h->v);
  h->v = NULL;
  h->len = h->cap = 0;
}
