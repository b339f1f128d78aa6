/* test_offsets.c - the committable offset never passes a record in doubt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "offsets.h"

static void test_in_order(void **state)
{
    (void)state;
    struct herald__partoffsets p;
    herald__partoffsets_init(&p);
    assert_int_equal(herald__partoffsets_committable(&p), -1);
    for (int64_t o = 10; o < 15; o++) {
        assert_int_equal(herald__partoffsets_track(&p, o), 0);
    }
    assert_int_equal(herald__partoffsets_committable(&p), 10);
    assert_int_equal(herald__partoffsets_final(&p, 10), 0);
    assert_int_equal(herald__partoffsets_committable(&p), 11);
    herald__partoffsets_cleanup(&p);
}

static void test_out_of_order_holds_at_first_gap(void **state)
{
    (void)state;
    struct herald__partoffsets p;
    herald__partoffsets_init(&p);
    /* Gaps in offsets (compaction, transactions) are normal. */
    int64_t offs[] = {3, 4, 7, 8, 20};
    for (size_t i = 0; i < 5; i++) {
        herald__partoffsets_track(&p, offs[i]);
    }
    herald__partoffsets_final(&p, 20);
    herald__partoffsets_final(&p, 7);
    herald__partoffsets_final(&p, 4);
    assert_int_equal(herald__partoffsets_committable(&p), 3);
    assert_int_equal(herald__partoffsets_pending(&p), 2);
    herald__partoffsets_final(&p, 3);
    assert_int_equal(herald__partoffsets_committable(&p), 8);
    herald__partoffsets_final(&p, 8);
    assert_int_equal(herald__partoffsets_committable(&p), 21);
    assert_int_equal(herald__partoffsets_pending(&p), 0);
    /* A late outcome for an offset no longer tracked is refused. */
    assert_int_equal(herald__partoffsets_final(&p, 8), -1);
    assert_int_equal(herald__partoffsets_final(&p, 99), -1);
    /* Offsets must increase. */
    assert_int_equal(herald__partoffsets_track(&p, 20), -1);
    herald__partoffsets_cleanup(&p);
}

static void test_ring_wraps_and_grows(void **state)
{
    (void)state;
    struct herald__partoffsets p;
    herald__partoffsets_init(&p);
    int64_t next = 0, done = 0;
    /* Keep ~100 in flight while 10,000 pass: the ring wraps and grows, and
     * random completion order never lets the committable offset pass the
     * oldest record in doubt. */
    srand(7);
    char *fin = calloc(10000, 1);
    while (done < 10000) {
        while (next < 10000 && next - done < 100) {
            assert_int_equal(herald__partoffsets_track(&p, next++), 0);
        }
        int64_t pick = done + rand() % (next - done);
        if (!fin[pick]) {
            fin[pick] = 1;
            assert_int_equal(herald__partoffsets_final(&p, pick), 0);
        }
        while (done < 10000 && fin[done]) {
            done++;
        }
        int64_t want = done < next ? done : next;
        assert_int_equal(herald__partoffsets_committable(&p), want);
    }
    free(fin);
    herald__partoffsets_cleanup(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_out_of_order_holds_at_first_gap),
        cmocka_unit_test(test_ring_wraps_and_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
