/*
 * test_commit.c - committing a connector's offsets (commit.h), through its
 * interface, on librdkafka's mock cluster: the offset a commit carries is
 * the next one to read after the contiguous final records (never past a
 * record in doubt), only for the partitions asked and not revoked, only
 * when it moved; a failed commit is sent again. What the group committed
 * is read back from the broker, and the broker's OffsetCommit requests
 * are counted.
 */
#include "test_kafka_mock.h"

#include "commit.h"
#include "offsets.h"
#include "partitions.h"

#define TOPIC "ct"
#define GROUP "gct"
/* A commit error the client does not retry by itself. */
#define COMMIT_ERR RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE

static void on_assigned(void *arg, const struct herald__tp *l, size_t n)
{
    struct herald__parts *ps = arg;
    for (size_t i = 0; i < n; i++) {
        assert_non_null(herald__parts_add(ps, l[i].topic, l[i].partition));
    }
}

static void track(struct herald__part *p, int64_t from, int64_t to)
{
    for (int64_t o = from; o <= to; o++) {
        assert_int_equal(herald__partoffsets_track(herald__part_offsets(p), o),
                         0);
    }
}

static void final(struct herald__part *p, int64_t o)
{
    assert_int_equal(herald__partoffsets_final(herald__part_offsets(p), o), 0);
}

/* The broker's committed offsets for partitions 0 and 1 are want0, want1. */
static void expect_committed(struct kmock *km, int64_t want0, int64_t want1)
{
    int64_t off[2];
    kmock_committed(km->bootstraps, GROUP, TOPIC, 2, off);
    assert_int_equal(off[0], want0);
    assert_int_equal(off[1], want1);
}

static void test_commit_offsets(void **state)
{
    (void)state;
    struct kmock *km = kmock_new(TOPIC, 2);
    struct herald__parts *ps = herald__parts_new();
    assert_non_null(ps);
    km->on_assigned = on_assigned;
    km->ctx = ps;
    kmock_consume(km, TOPIC, GROUP);
    kmock_wait_assigned(km);
    struct herald__part *p0 = herald__parts_find(ps, TOPIC, 0);
    struct herald__part *p1 = herald__parts_find(ps, TOPIC, 1);
    assert_non_null(p0);
    assert_non_null(p1);
    rd_kafka_mock_start_request_tracking(km->mc);
    kmock_requests(km, KMOCK_API_OFFSET_COMMIT);

    /* Nothing consumed: nothing to commit, no request. */
    herald__commit(ps, km->k, NULL, 0, 1);
    assert_int_equal(kmock_requests(km, KMOCK_API_OFFSET_COMMIT), 0);
    expect_committed(km, RD_KAFKA_OFFSET_INVALID, RD_KAFKA_OFFSET_INVALID);

    /* 0..5 consumed; 0, 1, 3, 4 final: 2 is in doubt, so 2 is the next
     * offset to read; partition 1 has nothing. */
    track(p0, 0, 5);
    final(p0, 0);
    final(p0, 1);
    final(p0, 3);
    final(p0, 4);
    herald__commit(ps, km->k, NULL, 0, 1);
    assert_int_equal(kmock_requests(km, KMOCK_API_OFFSET_COMMIT), 1);
    expect_committed(km, 2, RD_KAFKA_OFFSET_INVALID);

    /* Nothing moved: no request. */
    herald__commit(ps, km->k, NULL, 0, 1);
    assert_int_equal(kmock_requests(km, KMOCK_API_OFFSET_COMMIT), 0);

    /* 2 final: 0..4 are, 5 is not. */
    final(p0, 2);
    herald__commit(ps, km->k, NULL, 0, 1);
    expect_committed(km, 5, RD_KAFKA_OFFSET_INVALID);
    /* Asynchronous: the same offset once the broker has it. */
    final(p0, 5);
    herald__commit(ps, km->k, NULL, 0, 0);
    int64_t off[2] = {0, 0};
    for (int t = 0; off[0] != 6 && t < KMOCK_WAIT_MS; t += KMOCK_QUIET_MS) {
        kmock_pump(km, KMOCK_STEP_MS);
        kmock_committed(km->bootstraps, GROUP, TOPIC, 2, off);
    }
    expect_committed(km, 6, RD_KAFKA_OFFSET_INVALID);
    kmock_requests(km, KMOCK_API_OFFSET_COMMIT);

    /* Only the partitions asked for. */
    track(p1, 10, 11);
    final(p1, 11);
    final(p1, 10);
    const struct herald__tp only0[] = {{TOPIC, 0, 0}};
    const struct herald__tp only1[] = {{TOPIC, 1, 0}};
    herald__commit(ps, km->k, only0, 1, 1);
    assert_int_equal(kmock_requests(km, KMOCK_API_OFFSET_COMMIT), 0);
    expect_committed(km, 6, RD_KAFKA_OFFSET_INVALID);
    herald__commit(ps, km->k, only1, 1, 1);
    assert_int_equal(kmock_requests(km, KMOCK_API_OFFSET_COMMIT), 1);
    expect_committed(km, 6, 12);

    /* An asynchronous commit of partition 0 failed: the next commit sends
     * its offset again although it did not move; partition 1's not. */
    herald__commit_failed(ps, only0, 1);
    herald__commit(ps, km->k, NULL, 0, 1);
    assert_int_equal(kmock_requests(km, KMOCK_API_OFFSET_COMMIT), 1);
    herald__commit(ps, km->k, NULL, 0, 1);
    assert_int_equal(kmock_requests(km, KMOCK_API_OFFSET_COMMIT), 0);
    expect_committed(km, 6, 12);

    /* A commit the broker refuses is tried again the next time. */
    track(p0, 6, 6);
    final(p0, 6);
    rd_kafka_mock_push_request_errors(km->mc, KMOCK_API_OFFSET_COMMIT, 1,
                                      COMMIT_ERR);
    herald__commit(ps, km->k, NULL, 0, 1);
    assert_int_equal(kmock_requests(km, KMOCK_API_OFFSET_COMMIT), 1);
    expect_committed(km, 6, 12);
    herald__commit(ps, km->k, NULL, 0, 1);
    assert_int_equal(kmock_requests(km, KMOCK_API_OFFSET_COMMIT), 1);
    expect_committed(km, 7, 12);

    /* A revoked partition is not committed (its final commit was made
     * when it was revoked). */
    track(p1, 12, 12);
    final(p1, 12);
    herald__part_set_revoked(p1);
    herald__commit(ps, km->k, NULL, 0, 1);
    assert_int_equal(kmock_requests(km, KMOCK_API_OFFSET_COMMIT), 0);
    expect_committed(km, 7, 12);

    /* No consumer: nothing is sent. */
    track(p0, 7, 7);
    final(p0, 7);
    herald__commit(ps, NULL, NULL, 0, 1);
    assert_int_equal(kmock_requests(km, KMOCK_API_OFFSET_COMMIT), 0);
    expect_committed(km, 7, 12);
    /* ...and nothing counts as committed: the consumer's next commit
     * carries it. */
    herald__commit(ps, km->k, NULL, 0, 1);
    assert_int_equal(kmock_requests(km, KMOCK_API_OFFSET_COMMIT), 1);
    expect_committed(km, 8, 12);

    kmock_destroy(km);
    herald__parts_destroy(ps);
}

static void test_tp_list(void **state)
{
    (void)state;
    char a[] = "a", b[] = "bb";
    const struct herald__tp l[] = {{a, 0, 5}, {b, 3, 7}};
    assert_int_equal(herald__tp_in(l, 2, "a", 0), 1);
    assert_int_equal(herald__tp_in(l, 2, "bb", 3), 1);
    assert_int_equal(herald__tp_in(l, 2, "a", 3), 0);
    assert_int_equal(herald__tp_in(l, 2, "b", 3), 0);
    assert_int_equal(herald__tp_in(l, 1, "bb", 3), 0);
    assert_int_equal(herald__tp_in(NULL, 0, "a", 0), 0);
    struct herald__tp *copy = herald__tps_dup(l, 2);
    assert_non_null(copy);
    a[0] = b[0] = 'z'; /* the copy owns its topics */
    assert_string_equal(copy[0].topic, "a");
    assert_string_equal(copy[1].topic, "bb");
    assert_int_equal(copy[1].partition, 3);
    assert_int_equal(copy[1].offset, 7);
    herald__tps_free(copy, 2);
    struct herald__tp *none = herald__tps_dup(NULL, 0);
    assert_non_null(none);
    herald__tps_free(none, 0);
    herald__tps_free(NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_offsets),
        cmocka_unit_test(test_tp_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
