/* test_fl_list.c: the fl_ layer's intrusive doubly linked list: every
 * operation, both walking directions, and removal while walking. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fl.h"

typedef struct item {
  int value;
  fl_list link;
} item;

static int value_of(const fl_list *n) { return FL_CONTAINER(n, item, link)->value; }

/* The list's values front to back into out (at most max); checks that the
 * back-to-front walk and every prev link agree. Returns the count. */
static size_t values(const fl_list *head, int *out, size_t max) {
  size_t n = 0;
  for (const fl_list *l = fl_list_first(head); l; l = fl_list_next(head, l)) {
    assert_true(n < max);
    assert_ptr_equal(l->next->prev, l);
    out[n++] = value_of(l);
  }
  size_t back = n;
  for (const fl_list *l = fl_list_last(head); l; l = fl_list_prev(head, l)) {
    assert_true(back > 0);
    assert_int_equal(value_of(l), out[--back]);
  }
  assert_int_equal(back, 0);
  return n;
}

static void expect(const fl_list *head, const int *want, size_t n) {
  int got[32];
  assert_int_equal(values(head, got, 32), n);
  if (n)
    assert_memory_equal(got, want, n * sizeof *want);
  assert_int_equal(fl_list_empty(head), n == 0);
}

static void test_fl_list_empty_head(void **state) {
  (void)state;
  fl_list head;
  fl_list_init(&head);
  assert_true(fl_list_empty(&head));
  assert_null(fl_list_first(&head));
  assert_null(fl_list_last(&head));
  assert_null(fl_list_pop_front(&head));
  fl_list st = FL_LIST_INIT(st); /* the static initialiser is the same */
  assert_true(fl_list_empty(&st));
  assert_ptr_equal(st.prev, &st);
}

static void test_fl_list_push_back_and_front_keep_order(void **state) {
  (void)state;
  fl_list head = FL_LIST_INIT(head);
  item it[4] = {{1, {0}}, {2, {0}}, {3, {0}}, {4, {0}}};
  fl_list_push_back(&head, &it[1].link);
  fl_list_push_back(&head, &it[2].link);
  fl_list_push_front(&head, &it[0].link);
  fl_list_insert_after(&it[2].link, &it[3].link); /* after a node: the tail here */
  expect(&head, (const int[]){1, 2, 3, 4}, 4);
  assert_ptr_equal(fl_list_first(&head), &it[0].link);
  assert_ptr_equal(fl_list_last(&head), &it[3].link);
  assert_null(fl_list_next(&head, &it[3].link));
  assert_null(fl_list_prev(&head, &it[0].link));
}

static void test_fl_list_linked_state(void **state) {
  (void)state;
  fl_list head = FL_LIST_INIT(head);
  item a;
  memset(&a, 0, sizeof a); /* as calloc leaves an owner */
  assert_false(fl_list_linked(&a.link));
  fl_list_push_back(&head, &a.link);
  assert_true(fl_list_linked(&a.link));
  fl_list_remove(&a.link);
  assert_false(fl_list_linked(&a.link));
  fl_list_remove(&a.link); /* again: nothing happens */
  assert_false(fl_list_linked(&a.link));
  assert_true(fl_list_empty(&head));
  /* and it can go in again, into another list */
  fl_list other = FL_LIST_INIT(other);
  fl_list_push_front(&other, &a.link);
  assert_ptr_equal(fl_list_first(&other), &a.link);
  assert_true(fl_list_empty(&head));
}

static void test_fl_list_remove_first_middle_last_only(void **state) {
  (void)state;
  fl_list head = FL_LIST_INIT(head);
  item it[5];
  for (int i = 0; i < 5; i++) {
    it[i].value = i;
    fl_list_push_back(&head, &it[i].link);
  }
  fl_list_remove(&it[2].link); /* middle */
  expect(&head, (const int[]){0, 1, 3, 4}, 4);
  fl_list_remove(&it[0].link); /* first */
  expect(&head, (const int[]){1, 3, 4}, 3);
  fl_list_remove(&it[4].link); /* last */
  expect(&head, (const int[]){1, 3}, 2);
  assert_ptr_equal(fl_list_pop_front(&head), &it[1].link);
  assert_false(fl_list_linked(&it[1].link));
  fl_list_remove(&it[3].link); /* the only one */
  expect(&head, NULL, 0);
  assert_ptr_equal(head.next, &head);
  assert_ptr_equal(head.prev, &head);
}

static void test_fl_list_foreach_visits_in_order(void **state) {
  (void)state;
  fl_list head = FL_LIST_INIT(head);
  item it[6];
  for (int i = 0; i < 6; i++) {
    it[i].value = 10 * i;
    fl_list_push_back(&head, &it[i].link);
  }
  int seen = 0;
  fl_list *n;
  FL_LIST_FOREACH(n, &head) {
    assert_int_equal(value_of(n), 10 * seen);
    seen++;
  }
  assert_int_equal(seen, 6);
}

/* Removing (and freeing) the current node mid-walk: every node is seen
 * once, the rest stay linked. */
static void test_fl_list_foreach_safe_removes_while_walking(void **state) {
  (void)state;
  fl_list head = FL_LIST_INIT(head);
  for (int i = 0; i < 10; i++) {
    item *x = test_malloc(sizeof *x);
    x->value = i;
    x->link.prev = x->link.next = NULL;
    fl_list_push_back(&head, &x->link);
  }
  fl_list *n, *tmp;
  int seen = 0;
  FL_LIST_FOREACH_SAFE(n, tmp, &head) {
    assert_int_equal(value_of(n), seen++);
    if (value_of(n) % 2 == 0) {
      fl_list_remove(n);
      test_free(FL_CONTAINER(n, item, link));
    }
  }
  assert_int_equal(seen, 10);
  expect(&head, (const int[]){1, 3, 5, 7, 9}, 5);
  /* and all of them, as a teardown does */
  FL_LIST_FOREACH_SAFE(n, tmp, &head) {
    fl_list_remove(n);
    test_free(FL_CONTAINER(n, item, link));
  }
  assert_true(fl_list_empty(&head));
}

/* A node added at the back during the walk is visited too (the walk ends
 * at the head, wherever it is). */
static void test_fl_list_foreach_safe_sees_nodes_added_behind(void **state) {
  (void)state;
  fl_list head = FL_LIST_INIT(head);
  item it[4] = {{0, {0}}, {1, {0}}, {2, {0}}, {3, {0}}};
  fl_list_push_back(&head, &it[0].link);
  fl_list_push_back(&head, &it[1].link);
  fl_list *n, *tmp;
  int seen = 0;
  FL_LIST_FOREACH_SAFE(n, tmp, &head) {
    if (value_of(n) < 2)
      fl_list_push_back(&head, &it[value_of(n) + 2].link);
    seen++;
  }
  assert_int_equal(seen, 4);
  expect(&head, (const int[]){0, 1, 2, 3}, 4);
}

/* Moving a list's nodes elsewhere one by one, in reverse, with prev. */
static void test_fl_list_walk_backwards_while_moving(void **state) {
  (void)state;
  fl_list from = FL_LIST_INIT(from), to = FL_LIST_INIT(to);
  item it[5];
  for (int i = 0; i < 5; i++) {
    it[i].value = i;
    fl_list_push_back(&from, &it[i].link);
  }
  fl_list *n = fl_list_next(&from, fl_list_first(&from)); /* the second */
  while (n) {
    fl_list *prev = fl_list_prev(&from, n);
    fl_list_remove(n);
    fl_list_push_front(&to, n);
    n = prev;
  }
  expect(&to, (const int[]){0, 1}, 2);
  expect(&from, (const int[]){2, 3, 4}, 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fl_list_empty_head),
      cmocka_unit_test(test_fl_list_push_back_and_front_keep_order),
      cmocka_unit_test(test_fl_list_linked_state),
      cmocka_unit_test(test_fl_list_remove_first_middle_last_only),
      cmocka_unit_test(test_fl_list_foreach_visits_in_order),
      cmocka_unit_test(test_fl_list_foreach_safe_removes_while_walking),
      cmocka_unit_test(test_fl_list_foreach_safe_sees_nodes_added_behind),
      cmocka_unit_test(test_fl_list_walk_backwards_while_moving),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
