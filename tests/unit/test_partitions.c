/*
 * test_partitions.c - a connector's partition table (partitions.h),
 * through its interface: partitions added, found, revoked and collected;
 * the pause reasons set and cleared per partition, and what the consumer
 * is told (seen on librdkafka's mock cluster: a paused partition delivers
 * nothing, a resumed one delivers what waited); the retry count; the
 * records held for a schema, in order.
 */
#include "test_kafka_mock.h"

#include "partitions.h"

#define TOPIC "pt"
#define ALL_BITS                                                               \
    (HERALD__PAUSE_RETRY | HERALD__PAUSE_SCHEMA | HERALD__PAUSE_PRESSURE |     \
     HERALD__PAUSE_REVOKE | HERALD__PAUSE_WRITE | HERALD__PAUSE_MARKS |        \
     HERALD__PAUSE_CHANNEL)

static void test_add_find_revoke_gc(void **state)
{
    (void)state;
    struct herald__parts *ps = herald__parts_new();
    assert_non_null(ps);
    assert_null(herald__parts_next(ps, NULL));
    assert_null(herald__parts_find(ps, "a", 0));
    struct herald__part *a0 = herald__parts_add(ps, "a", 0);
    struct herald__part *a1 = herald__parts_add(ps, "a", 1);
    struct herald__part *b0 = herald__parts_add(ps, "b", 0);
    assert_non_null(a0);
    assert_non_null(a1);
    assert_non_null(b0);
    assert_ptr_equal(herald__parts_add(ps, "a", 0), a0); /* no second */
    assert_ptr_equal(herald__parts_find(ps, "a", 1), a1);
    assert_ptr_equal(herald__parts_find(ps, "b", 0), b0);
    assert_null(herald__parts_find(ps, "b", 1));
    assert_string_equal(herald__part_topic(b0), "b");
    assert_int_equal(herald__part_partition(a1), 1);
    assert_int_equal(herald__parts_assigned(ps), 3);
    size_t n = 0;
    HERALD__PARTS_EACH (p, ps) {
        assert_true(p == a0 || p == a1 || p == b0);
        n++;
    }
    assert_int_equal(n, 3);
    /* Each partition has its own tracker. */
    assert_ptr_not_equal(herald__part_offsets(a0), herald__part_offsets(a1));
    assert_ptr_equal(herald__part_offsets_c(a0), herald__part_offsets(a0));

    /* Revoked: not found, not assigned, but still in the table while a
     * record points to it; a new assignment of it is a new partition. */
    herald__part_ref(a0);
    herald__part_ref(a0);
    herald__part_set_revoked(a0);
    assert_int_equal(herald__part_revoked(a0), 1);
    assert_int_equal(herald__part_revoked(a1), 0);
    assert_null(herald__parts_find(ps, "a", 0));
    assert_int_equal(herald__parts_assigned(ps), 2);
    struct herald__part *a0again = herald__parts_add(ps, "a", 0);
    assert_non_null(a0again);
    assert_ptr_not_equal(a0again, a0);
    assert_int_equal(herald__parts_assigned(ps), 3);
    herald__parts_gc(ps);
    n = 0;
    HERALD__PARTS_EACH (p, ps) {
        n++;
    }
    assert_int_equal(n, 4); /* a0 is referenced twice */
    herald__part_unref(a0);
    herald__parts_gc(ps);
    n = 0;
    HERALD__PARTS_EACH (p, ps) {
        n++;
    }
    assert_int_equal(n, 4); /* once still */
    herald__part_unref(a0);
    herald__parts_gc(ps);
    n = 0;
    HERALD__PARTS_EACH (p, ps) {
        assert_ptr_not_equal(p, a0);
        n++;
    }
    assert_int_equal(n, 3);
    assert_ptr_equal(herald__parts_find(ps, "a", 0), a0again);
    herald__parts_destroy(ps);
    herald__parts_destroy(NULL);
}

/* Pause reasons are bits of a partition's own mask: setting one leaves the
 * others, clearing one leaves the rest, the same for every partition with
 * pause_all; a retry pauses while any record of the partition waits. No
 * consumer: nothing to tell. */
static void test_pause_bits(void **state)
{
    (void)state;
    struct herald__parts *ps = herald__parts_new();
    assert_non_null(ps);
    struct herald__part *p = herald__parts_add(ps, "a", 0);
    struct herald__part *q = herald__parts_add(ps, "a", 1);
    assert_int_equal(herald__part_paused(p, ALL_BITS), 0);
    herald__parts_set_paused(ps, p, HERALD__PAUSE_SCHEMA, 1);
    herald__parts_set_paused(ps, p, HERALD__PAUSE_WRITE, 1);
    herald__parts_set_paused(ps, p, HERALD__PAUSE_WRITE, 1);
    assert_int_equal(herald__part_paused(p, ALL_BITS),
                     HERALD__PAUSE_SCHEMA | HERALD__PAUSE_WRITE);
    assert_int_equal(herald__part_paused(p, HERALD__PAUSE_WRITE),
                     HERALD__PAUSE_WRITE);
    assert_int_equal(herald__part_paused(p, HERALD__PAUSE_RETRY), 0);
    assert_int_equal(herald__part_paused(q, ALL_BITS), 0);
    herald__parts_set_paused(ps, p, HERALD__PAUSE_SCHEMA, 0);
    assert_int_equal(herald__part_paused(p, ALL_BITS), HERALD__PAUSE_WRITE);

    herald__parts_pause_all(ps, HERALD__PAUSE_CHANNEL, 1);
    assert_int_equal(herald__part_paused(p, ALL_BITS),
                     HERALD__PAUSE_WRITE | HERALD__PAUSE_CHANNEL);
    assert_int_equal(herald__part_paused(q, ALL_BITS), HERALD__PAUSE_CHANNEL);
    herald__parts_pause_all(ps, HERALD__PAUSE_CHANNEL, 0);
    assert_int_equal(herald__part_paused(p, ALL_BITS), HERALD__PAUSE_WRITE);
    assert_int_equal(herald__part_paused(q, ALL_BITS), 0);

    herald__part_mark_paused(q, HERALD__PAUSE_MARKS);
    assert_int_equal(herald__part_paused(q, ALL_BITS), HERALD__PAUSE_MARKS);

    /* Two records on a retry: paused until both are off it; one more
     * "off" than "on" changes nothing. */
    herald__parts_retrying(ps, q, 1);
    herald__parts_retrying(ps, q, 1);
    assert_int_equal(herald__part_paused(q, HERALD__PAUSE_RETRY),
                     HERALD__PAUSE_RETRY);
    herald__parts_retrying(ps, q, 0);
    assert_int_equal(herald__part_paused(q, HERALD__PAUSE_RETRY),
                     HERALD__PAUSE_RETRY);
    herald__parts_retrying(ps, q, 0);
    assert_int_equal(herald__part_paused(q, ALL_BITS), HERALD__PAUSE_MARKS);
    herald__parts_retrying(ps, q, 0);
    herald__parts_retrying(ps, q, 1);
    assert_int_equal(herald__part_paused(q, HERALD__PAUSE_RETRY),
                     HERALD__PAUSE_RETRY);
    herald__parts_retrying(ps, q, 0);
    assert_int_equal(herald__part_paused(q, HERALD__PAUSE_RETRY), 0);

    herald__part_channel_held(p, 1);
    herald__part_channel_held(p, 1);
    herald__part_channel_held(p, 0);
    assert_int_equal(herald__part_channel_held_n(p), 1);
    assert_int_equal(herald__part_channel_held_n(q), 0);
    herald__parts_destroy(ps);
}

/* A record with its link, as a job embeds it. */
struct job {
    int id;
    struct herald__held held;
};

#define JOB_OF(h)                                                              \
    ((struct job *)(void *)((char *)(h)-offsetof(struct job, held)))

/* Records held for a schema come back in the order they were held, per
 * partition. */
static void test_held_in_order(void **state)
{
    (void)state;
    struct herald__parts *ps = herald__parts_new();
    assert_non_null(ps);
    struct herald__part *p = herald__parts_add(ps, "a", 0);
    struct herald__part *q = herald__parts_add(ps, "a", 1);
    struct job j[5];
    for (int i = 0; i < 5; i++) {
        j[i] = (struct job){.id = i};
    }
    assert_int_equal(herald__part_holding(p), 0);
    assert_null(herald__part_unhold(p));
    herald__part_hold(p, &j[0].held);
    assert_int_equal(herald__part_holding(p), 1);
    assert_int_equal(herald__part_held_at_end(p, &j[0].held), 1);
    herald__part_hold(p, &j[1].held);
    herald__part_hold(q, &j[2].held);
    herald__part_hold(p, &j[3].held);
    assert_int_equal(herald__part_held_at_end(p, &j[0].held), 1); /* first */
    assert_int_equal(herald__part_held_at_end(p, &j[1].held), 0); /* middle */
    assert_int_equal(herald__part_held_at_end(p, &j[3].held), 1); /* last */
    assert_int_equal(herald__part_held_at_end(q, &j[0].held), 0);
    assert_int_equal(JOB_OF(herald__part_unhold(p))->id, 0);
    /* Held again after the first left: at the end. */
    herald__part_hold(p, &j[4].held);
    int want[] = {1, 3, 4};
    for (size_t i = 0; i < 3; i++) {
        struct herald__held *h = herald__part_unhold(p);
        assert_non_null(h);
        assert_null(h->next);
        assert_int_equal(JOB_OF(h)->id, want[i]);
    }
    assert_null(herald__part_unhold(p));
    assert_int_equal(herald__part_holding(p), 0);
    /* q's queue is its own; after p emptied, p takes new records. */
    assert_int_equal(herald__part_holding(q), 1);
    assert_int_equal(JOB_OF(herald__part_unhold(q))->id, 2);
    herald__part_hold(p, &j[1].held);
    assert_int_equal(JOB_OF(herald__part_unhold(p))->id, 1);
    assert_null(herald__part_unhold(q));
    herald__parts_destroy(ps);
}

/* ---- what the consumer is told ------------------------------------------ */

struct ctx {
    struct herald__parts *ps;
};

/* As the connector does with dedup: a new partition is paused until its
 * marks are read back, from its assignment on. Partition 0 only. */
static void on_assigned(void *arg, const struct herald__tp *l, size_t n)
{
    struct ctx *c = arg;
    for (size_t i = 0; i < n; i++) {
        struct herald__part *p =
            herald__parts_add(c->ps, l[i].topic, l[i].partition);
        assert_non_null(p);
        if (l[i].partition == 0) {
            herald__part_mark_paused(p, HERALD__PAUSE_MARKS);
        }
        herald__parts_apply_pause(c->ps, p);
    }
}

static void test_consumer_told_on_change(void **state)
{
    (void)state;
    struct kmock *km = kmock_new(TOPIC, 2);
    kmock_produce(km, TOPIC, 0, 5);
    kmock_produce(km, TOPIC, 1, 5);
    struct ctx c = {.ps = herald__parts_new()};
    assert_non_null(c.ps);
    km->on_assigned = on_assigned;
    km->ctx = &c;
    kmock_consume(km, TOPIC, "gpt");
    herald__parts_set_kafka(c.ps, km->k);
    kmock_wait_assigned(km);
    struct herald__part *p0 = herald__parts_find(c.ps, TOPIC, 0);
    struct herald__part *p1 = herald__parts_find(c.ps, TOPIC, 1);
    assert_non_null(p0);
    assert_non_null(p1);

    /* Paused at its assignment: partition 0 delivers nothing. */
    kmock_pump_until(km, &km->got[1], 5);
    kmock_pump(km, KMOCK_QUIET_MS);
    assert_int_equal(km->got[0], 0);

    /* A second reason, then the first cleared: still paused. */
    herald__parts_set_paused(c.ps, p0, HERALD__PAUSE_SCHEMA, 1);
    herald__parts_set_paused(c.ps, p0, HERALD__PAUSE_MARKS, 0);
    assert_int_equal(herald__part_paused(p0, ALL_BITS), HERALD__PAUSE_SCHEMA);
    kmock_pump(km, KMOCK_QUIET_MS);
    assert_int_equal(km->got[0], 0);
    /* The last reason cleared: resumed, its records come. */
    herald__parts_set_paused(c.ps, p0, HERALD__PAUSE_SCHEMA, 0);
    kmock_pump_until(km, &km->got[0], 5);

    /* Two records of partition 1 on a retry: paused until both are off
     * it. */
    herald__parts_retrying(c.ps, p1, 1);
    herald__parts_retrying(c.ps, p1, 1);
    kmock_produce(km, TOPIC, 1, 3);
    kmock_pump(km, KMOCK_QUIET_MS);
    assert_int_equal(km->got[1], 5);
    herald__parts_retrying(c.ps, p1, 0);
    kmock_pump(km, KMOCK_QUIET_MS);
    assert_int_equal(km->got[1], 5);
    herald__parts_retrying(c.ps, p1, 0);
    kmock_pump_until(km, &km->got[1], 8);

    /* Every partition at once (the channel is down), and back. */
    herald__parts_pause_all(c.ps, HERALD__PAUSE_CHANNEL, 1);
    kmock_produce(km, TOPIC, 0, 2);
    kmock_produce(km, TOPIC, 1, 2);
    kmock_pump(km, KMOCK_QUIET_MS);
    assert_int_equal(km->got[0], 5);
    assert_int_equal(km->got[1], 8);
    herald__parts_pause_all(c.ps, HERALD__PAUSE_CHANNEL, 0);
    kmock_pump_until(km, &km->got[0], 7);
    kmock_pump_until(km, &km->got[1], 10);

    /* A revoked partition's pause bits change without the consumer
     * hearing of it; apply_pause tells it what they say. */
    herald__parts_set_paused(c.ps, p1, HERALD__PAUSE_REVOKE, 1);
    kmock_produce(km, TOPIC, 1, 2);
    kmock_pump(km, KMOCK_QUIET_MS);
    assert_int_equal(km->got[1], 10);
    herald__part_set_revoked(p1);
    herald__parts_set_paused(c.ps, p1, HERALD__PAUSE_REVOKE, 0);
    assert_int_equal(herald__part_paused(p1, ALL_BITS), 0);
    kmock_pump(km, KMOCK_QUIET_MS);
    assert_int_equal(km->got[1], 10);
    herald__parts_apply_pause(c.ps, p1);
    kmock_pump_until(km, &km->got[1], 12);
    assert_int_equal(km->got[0], 7);

    kmock_destroy(km);
    herald__parts_destroy(c.ps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_find_revoke_gc),
        cmocka_unit_test(test_pause_bits),
        cmocka_unit_test(test_held_in_order),
        cmocka_unit_test(test_consumer_told_on_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
