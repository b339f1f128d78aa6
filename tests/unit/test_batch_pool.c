/*
 * test_batch_pool.c - the host's batches (api.c) cost no allocation in
 * steady state: a finished batch and the completion queue a drain emptied
 * are kept for the next deliver, so a sink that acknowledges batch after
 * batch makes the loop thread allocate nothing (issue 13: no malloc per
 * record). And a kept batch is a clean one: the right size, every item
 * reported once to its own owner.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc_count.h"
#include "api.h"

#define ROUNDS 200
#define MAX_N 300

struct owner {
    size_t outcomes;
    size_t seen[MAX_N]; /* per item index */
};

static const struct herald_host_api *host;

/* A sink that acknowledges every item at once, in reverse order. */
static int ack_all(void *state, struct herald_batch *b)
{
    (void)state;
    for (size_t i = host->batch_count(b); i-- > 0;) {
        host->complete(b, i, HERALD_OK, 0, NULL);
    }
    return 0;
}

static const struct herald_plugin sink = {
    HERALD_PLUGIN_HEADER,       .name = "acker",    .version = "1.0.0",
    .kind = HERALD_PLUGIN_SINK, .deliver = ack_all,
};

static void on_outcome(void *ctx, struct herald_batch *b, size_t i,
                       enum herald_outcome o, int64_t retry_after_ms,
                       const char *reason)
{
    struct owner *ow = ctx;
    (void)b;
    (void)retry_after_ms;
    (void)reason;
    assert_int_equal(o, HERALD_OK);
    assert_true(i < MAX_N);
    ow->outcomes++;
    ow->seen[i]++;
}

/* One batch of n items to a fresh owner, delivered and drained; every
 * item must come back exactly once. */
static void round_trip(struct herald_instance *inst, size_t n)
{
    static struct owner ow;
    memset(&ow, 0, sizeof ow);
    struct herald_batch *b = herald__batch_new(inst, &ow, on_outcome, n);
    assert_non_null(b);
    assert_int_equal(host->batch_count(b), n);
    for (size_t i = 0; i < n; i++) {
        assert_null(b->items[i].record); /* nothing left of the last one */
        assert_int_equal(b->items[i].done, 0);
    }
    herald__batch_deliver(b);
    herald__api_drain();
    assert_int_equal(ow.outcomes, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ow.seen[i], 1);
    }
}

static void test_steady_batches_allocate_nothing(void **state)
{
    (void)state;
    host = herald__host_api();
    struct herald_instance *inst =
        herald__instance_new("acker", &sink, "acker.so", NULL, NULL);
    assert_non_null(inst);
    for (int i = 0; i < 3; i++) { /* warm: the pool and the queue fill */
        round_trip(inst, 64);
    }
#if ALLOC_COUNT
    uint64_t before = alloc_calls;
#endif
    for (int i = 0; i < ROUNDS; i++) {
        round_trip(inst, 1 + (size_t)i % 64);
    }
#if ALLOC_COUNT
    assert_int_equal(alloc_calls - before, 0);
#endif
    /* A batch larger than any kept one grows one, and is still right. */
    round_trip(inst, MAX_N);
    round_trip(inst, 5);
    herald__instance_destroy(inst);
    herald__api_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steady_batches_allocate_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
