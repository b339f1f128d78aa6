/*
 * test_kafka_poll.c - herald's consumer (kafka.h) hands records on from
 * batches it takes off librdkafka's queue; a pause must still mean what
 * it meant when records came one call at a time: from the moment a
 * partition is paused, none of its records is handed on, not even those
 * already taken in the current batch, and after the resume they come
 * first, in order, each once. Seen on librdkafka's mock cluster.
 */
#include "test_kafka_mock.h"

#define TOPIC "kp"
#define PER_PART 40
/* The offset of partition 0 whose record pauses that partition. */
#define PAUSE_AT 3

struct seen {
    struct kmock *km;
    int64_t offsets[KMOCK_MAX_PARTS][PER_PART * 2];
    size_t n[KMOCK_MAX_PARTS];
    int pause_partition; /* -1: pause all (backpressure's pause_all) */
    int paused;
    int trigger; /* the partition whose record PAUSE_AT paused */
};

static void on_message(void *ctx, const struct herald__kafka_msg *m)
{
    struct seen *s = ctx;
    assert_true(s->n[m->partition] < PER_PART * 2);
    s->offsets[m->partition][s->n[m->partition]++] = m->offset;
    /* Pausing one: at partition 0's record. Pausing all: at the first
     * partition to reach it (which partition a fetch brings first is the
     * broker's choice). */
    if (m->offset == PAUSE_AT && !s->paused &&
        (s->pause_partition < 0 || m->partition == 0)) {
        s->paused = 1;
        s->trigger = m->partition;
        for (int p = 0; p < 2; p++) {
            if (s->pause_partition < 0 || p == s->pause_partition) {
                herald__kafka_pause(s->km->k, TOPIC, p, 1);
            }
        }
    }
}

/* Every record of partition p came once, in order (offsets 0..n-1). */
static void assert_in_order(const struct seen *s, int p, size_t n)
{
    assert_int_equal(s->n[p], n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(s->offsets[p][i], (int64_t)i);
    }
}

static struct kmock *start(struct seen *s, int pause_partition,
                           const char *group)
{
    struct kmock *km = kmock_new(TOPIC, 2);
    /* Both partitions filled before the consumer joins, so that its first
     * fetch brings records of both and a batch holds some of each. */
    kmock_produce(km, TOPIC, 0, PER_PART);
    kmock_produce(km, TOPIC, 1, PER_PART);
    memset(s, 0, sizeof *s);
    s->km = km;
    s->pause_partition = pause_partition;
    km->on_message = on_message;
    km->ctx = s;
    kmock_consume(km, TOPIC, group);
    return km;
}

static void test_pause_holds_taken_records(void **state)
{
    (void)state;
    struct seen s;
    struct kmock *km = start(&s, 0, "kp-one");
    kmock_pump_until(km, &km->got[1], PER_PART);
    kmock_pump(km, KMOCK_QUIET_MS);
    /* Partition 0 stopped at the record that paused it; 1 went on. */
    assert_in_order(&s, 0, PAUSE_AT + 1);
    assert_in_order(&s, 1, PER_PART);
    herald__kafka_pause(km->k, TOPIC, 0, 0);
    kmock_pump_until(km, &km->got[0], PER_PART);
    kmock_pump(km, KMOCK_QUIET_MS); /* and nothing twice */
    assert_in_order(&s, 0, PER_PART);
    assert_in_order(&s, 1, PER_PART);
    kmock_destroy(km);
}

static void test_pause_all_then_resume(void **state)
{
    (void)state;
    struct seen s;
    struct kmock *km = start(&s, -1, "kp-all");
    for (int t = 0; !s.paused && t < KMOCK_WAIT_MS; t += KMOCK_STEP_MS) {
        kmock_pump(km, KMOCK_STEP_MS);
    }
    assert_true(s.paused);
    int a = s.trigger, b = 1 - a;
    kmock_pump(km, KMOCK_QUIET_MS);
    assert_in_order(&s, a, PAUSE_AT + 1);
    size_t before = s.n[b];
    assert_true(before < PER_PART);
    assert_in_order(&s, b, before);
    /* Resume the other partition first. */
    herald__kafka_pause(km->k, TOPIC, b, 0);
    kmock_pump_until(km, &km->got[b], PER_PART);
    assert_in_order(&s, b, PER_PART);
    assert_in_order(&s, a, PAUSE_AT + 1); /* still paused */
    herald__kafka_pause(km->k, TOPIC, a, 0);
    kmock_pump_until(km, &km->got[a], PER_PART);
    kmock_pump(km, KMOCK_QUIET_MS);
    assert_in_order(&s, 0, PER_PART);
    assert_in_order(&s, 1, PER_PART);
    kmock_destroy(km);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pause_holds_taken_records),
        cmocka_unit_test(test_pause_all_then_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
