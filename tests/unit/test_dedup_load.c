/*
 * test_dedup_load.c - dedup marks are read back without blocking the
 * loop: a partition whose marks are slow (or cannot be read) waits while
 * the others are delivered, and a stop meanwhile neither hangs nor leaks.
 * On librdkafka's mock cluster (test_connector.h).
 */
#include <pthread.h>

#include "test_connector.h"

static int setup2(void **state)
{
    return setup_brokers(state, "2");
}

struct marks_watch {
    char path[128];
    int p0_first; /* partition 0 was delivered while 1 waited */
    int p1_early; /* partition 1 delivered before its marks were readable */
};

/* While marks partition 1 is slow to answer: wait for partition 0's
 * records, then check none of partition 1's went out. */
static void *marks_watcher(void *arg)
{
    struct marks_watch *w = arg;
    char want[64];
    for (int tries = 0; tries < 200 && !w->p0_first; tries++) {
        usleep(50000);
        w->p0_first = 1;
        for (int i = 0; i < 3; i++) {
            snprintf(want, sizeof want, "t6 0 %d OK", i);
            w->p0_first &= count_lines(w->path, want) == 1;
        }
    }
    usleep(500000);
    for (int i = 0; i < 3; i++) {
        snprintf(want, sizeof want, "t6 1 %d OK", i);
        w->p1_early |= count_lines(w->path, want) != 0;
    }
    return NULL;
}

/* dedup: reading back the marks of one partition does not hold up the
 * loop: another partition is delivered meanwhile, and the waiting one only
 * once its marks are in memory (its key marked before is skipped). */
static void test_dedup_marks_read_back_without_blocking(void **state)
{
    struct env *e = *state;
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(e->producer);
    assert_int_equal(rd_kafka_mock_topic_create(mc, "t6", 2, 1), 0);
    assert_int_equal(rd_kafka_mock_topic_create(mc, "t6.marks", 2, 1), 0);
    /* Broker 2 leads marks partition 1 only. */
    for (int p = 0; p < 2; p++) {
        assert_int_equal(rd_kafka_mock_partition_set_leader(mc, "t6", p, 1), 0);
        assert_int_equal(
            rd_kafka_mock_partition_set_leader(mc, "t6.marks", p, p + 1), 0);
    }
    /* A mark of an earlier run for key kb of partition 1 (keyed by its
     * HMAC), and one in the old format (the plain key kc), which is
     * ignored: kc is delivered. */
    assert_int_equal(
        rd_kafka_producev(
            e->producer, RD_KAFKA_V_TOPIC("t6.marks"), RD_KAFKA_V_PARTITION(1),
            RD_KAFKA_V_KEY(TEST_HMAC_KB, strlen(TEST_HMAC_KB)),
            RD_KAFKA_V_VALUE("1", 1), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_END),
        0);
    assert_int_equal(
        rd_kafka_producev(
            e->producer, RD_KAFKA_V_TOPIC("t6.marks"), RD_KAFKA_V_PARTITION(1),
            RD_KAFKA_V_KEY("kc", 2), RD_KAFKA_V_VALUE("1", 1),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
        0);
    static const char *const keys[2][3] = {{"ka", "kx", "ky"},
                                           {"kb", "kc", "kd"}};
    for (int p = 0; p < 2; p++) {
        for (int i = 0; i < 3; i++) {
            assert_int_equal(
                rd_kafka_producev(
                    e->producer, RD_KAFKA_V_TOPIC("t6"),
                    RD_KAFKA_V_PARTITION(p), RD_KAFKA_V_KEY(keys[p][i], 2),
                    RD_KAFKA_V_VALUE("v", 1),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                0);
        }
    }
    assert_int_equal(rd_kafka_flush(e->producer, 10000), 0);
    /* Reading marks partition 1 back takes seconds: its offsets (ListOffsets,
     * API key 2) and records (Fetch, 1) come late. */
    for (int16_t api = 1; api <= 2; api++) {
        assert_int_equal(rd_kafka_mock_broker_push_request_error_rtts(
                             mc, 2, api, 2, RD_KAFKA_RESP_ERR_NO_ERROR, 2500,
                             RD_KAFKA_RESP_ERR_NO_ERROR, 2500),
                         0);
    }

    struct marks_watch w = {0};
    snprintf(w.path, sizeof w.path, "%s/plugin.log", e->dir);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, marks_watcher, &w), 0);
    char yaml[2048];
    config(yaml, sizeof yaml, e, "g6", "t6", "", "all", "");
    strcat(yaml, "    dedup: { key: \"{{@key}}\", topic: t6.marks }\n");
    assert_int_equal(run_worker(e, yaml, 6), 0);
    pthread_join(th, NULL);
    assert_true(w.p0_first);
    assert_false(w.p1_early);
    int64_t off[2];
    committed(e, "g6", "t6", 2, off);
    assert_int_equal(off[0], 3);
    assert_int_equal(off[1], 3);
    assert_int_equal(count_lines(w.path, "t6 1 0 OK"), 0); /* kb: marked */
    assert_int_equal(count_lines(w.path, "t6 1 1 OK"), 1); /* kc: old mark */
    assert_int_equal(count_lines(w.path, "t6 1 2 OK"), 1);
}

/* dedup: a stop while a partition's marks cannot be read back (its marks
 * partition has no leader) neither hangs nor leaks, and that partition
 * delivered nothing. */
static void test_dedup_stop_while_marks_load(void **state)
{
    struct env *e = *state;
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(e->producer);
    assert_int_equal(rd_kafka_mock_topic_create(mc, "t7.marks", 2, 1), 0);
    produce(e, "t7", 2, 3);
    assert_int_equal(rd_kafka_mock_partition_set_leader(mc, "t7.marks", 1, -1),
                     0);
    char yaml[2048];
    config(yaml, sizeof yaml, e, "g7", "t7", "", "all", "");
    strcat(yaml, "    dedup: { key: \"{{@partition}}-{{@offset}}\", "
                 "topic: t7.marks }\n");
    assert_int_equal(run_worker(e, yaml, 3), 0);
    int64_t off[2];
    committed(e, "g7", "t7", 2, off);
    assert_int_equal(off[0], 3);
    assert_true(off[1] < 0); /* nothing committed */
    char path[128];
    snprintf(path, sizeof path, "%s/plugin.log", e->dir);
    assert_int_equal(count_lines(path, "t7 1 0 OK"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_dedup_marks_read_back_without_blocking, setup2, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_stop_while_marks_load, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
