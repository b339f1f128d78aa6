/*
 * test_timed.c - the list of timer-held items (timed.h), through its
 * interface: insertion at the head, removal from any place, a second add
 * or del a no-op, and a stop's drop-all by popping every link.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "timed.h"

/* An item as a stage embeds the link: its own fields, then the link. */
struct item {
    int id;
    struct herald__timed timed;
};

/* The ids on l from head to tail, written to ids (at most max); returns how
 * many; also checks each prev link points back. */
static size_t ids_of(const struct herald__timed_list *l, int *ids, size_t max)
{
    size_t n = 0;
    const struct herald__timed *prev = NULL;
    for (struct herald__timed *t = l->head; t && n < max; t = t->next) {
        assert_ptr_equal(t->prev, prev);
        assert_int_equal(t->on, 1);
        ids[n++] = HERALD__TIMED_ITEM(t, struct item)->id;
        prev = t;
    }
    return n;
}

static void test_add_puts_at_head_once(void **state)
{
    (void)state;
    struct herald__timed_list l = {0};
    struct item a = {.id = 1}, b = {.id = 2}, c = {.id = 3};
    herald__timed_add(&l, &a.timed);
    herald__timed_add(&l, &b.timed);
    herald__timed_add(&l, &c.timed);
    /* On already: nothing changes (no cycle, no second entry). */
    herald__timed_add(&l, &a.timed);
    herald__timed_add(&l, &c.timed);
    int ids[8];
    assert_int_equal(ids_of(&l, ids, 8), 3);
    assert_int_equal(ids[0], 3);
    assert_int_equal(ids[1], 2);
    assert_int_equal(ids[2], 1);
}

static void test_del_from_head_middle_tail(void **state)
{
    (void)state;
    struct herald__timed_list l = {0};
    struct item it[5];
    for (int i = 0; i < 5; i++) {
        it[i] = (struct item){.id = i};
        herald__timed_add(&l, &it[i].timed);
    }
    /* Head to tail: 4 3 2 1 0. */
    herald__timed_del(&l, &it[2].timed); /* middle */
    herald__timed_del(&l, &it[4].timed); /* head */
    herald__timed_del(&l, &it[0].timed); /* tail */
    int ids[8];
    assert_int_equal(ids_of(&l, ids, 8), 2);
    assert_int_equal(ids[0], 3);
    assert_int_equal(ids[1], 1);
    /* A removed link is cleared and a second del changes nothing. */
    for (int i = 0; i < 5; i += 2) {
        assert_int_equal(it[i].timed.on, 0);
        assert_null(it[i].timed.next);
        assert_null(it[i].timed.prev);
        herald__timed_del(&l, &it[i].timed);
    }
    assert_int_equal(ids_of(&l, ids, 8), 2);
    assert_int_equal(ids[0], 3);
    assert_int_equal(ids[1], 1);
    /* Taken off, it can go on again: at the head. */
    herald__timed_add(&l, &it[2].timed);
    assert_int_equal(ids_of(&l, ids, 8), 3);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], 3);
    assert_int_equal(ids[2], 1);
}

/* A stop drops every item: pop until NULL gives each once, head first,
 * each off the list, and leaves the list empty. */
static void test_pop_drops_all(void **state)
{
    (void)state;
    struct herald__timed_list l = {0};
    assert_null(herald__timed_pop(&l));
    struct item it[4];
    for (int i = 0; i < 4; i++) {
        it[i] = (struct item){.id = i};
        herald__timed_add(&l, &it[i].timed);
    }
    herald__timed_del(&l, &it[1].timed);
    int want[] = {3, 2, 0};
    for (size_t i = 0; i < 3; i++) {
        struct herald__timed *t = herald__timed_pop(&l);
        assert_non_null(t);
        struct item *x = HERALD__TIMED_ITEM(t, struct item);
        assert_int_equal(x->id, want[i]);
        assert_int_equal(t->on, 0);
        assert_null(t->next);
        assert_null(t->prev);
        if (l.head) {
            assert_null(l.head->prev);
        }
    }
    assert_null(herald__timed_pop(&l));
    assert_null(l.head);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_puts_at_head_once),
        cmocka_unit_test(test_del_from_head_middle_tail),
        cmocka_unit_test(test_pop_drops_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
