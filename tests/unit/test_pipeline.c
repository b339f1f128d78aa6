/*
 * test_pipeline.c - the order of the record's stages and the connector's
 * lifecycle, on librdkafka's mock cluster with the test plugins:
 *  - dedup decides before render (design.md: tombstone -> dedup -> render
 *    -> deliver): a refinement whose key was notified is skipped without
 *    being rendered, so a template that cannot render it (a field the
 *    refinement lacks: REJECT, and with errors.tolerance none the
 *    connector would stop on error) never sees it;
 *  - a plugin completion that arrives after drain_timeout, when the worker
 *    is torn down, touches no freed connector (run under ASan by `make
 *    test-asan`: a use after free or a leaked record fails it).
 */
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "test_connector.h"

/* Records with string keys and JSON values, one partition. */
static void produce_json(struct env *e, const char *topic,
                         const char *const *keys, const char *const *values,
                         size_t n)
{
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(e->producer);
    assert_int_equal(rd_kafka_mock_topic_create(mc, topic, 1, 1), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(
            rd_kafka_producev(
                e->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                RD_KAFKA_V_KEY(keys[i], strlen(keys[i])),
                RD_KAFKA_V_VALUE((void *)values[i], strlen(values[i])),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
            0);
    }
    assert_int_equal(rd_kafka_flush(e->producer, 10000), 0);
}

/* k1 {"name":"a"} is notified; k1 {} is its refinement, which the subject
 * template cannot render ("{{name}}" is missing: REJECT); k2 {"name":"b"}
 * is a new key. Rendered first, the refinement is a REJECT and
 * errors.tolerance none stops the connector (exit 3, commit 1). Deduped
 * first, it is skipped: exit 0, two notifications, everything committed. */
static void test_deduped_refinement_is_never_rendered(void **state)
{
    struct env *e = *state;
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(e->producer);
    assert_int_equal(rd_kafka_mock_topic_create(mc, "p1.marks", 1, 1), 0);
    static const char *const keys[] = {"k1", "k1", "k2"};
    static const char *const values[] = {"{\"name\":\"a\"}", "{}",
                                         "{\"name\":\"b\"}"};
    produce_json(e, "p1", keys, values, 3);
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "kafka: { bootstrap.servers: \"x\", session.timeout.ms: 6000,\n"
             "         heartbeat.interval.ms: 500 }\n"
             "plugin_path: %s\n"
             "hash_key: \"" TEST_HASH_KEY "\"\n"
             "channels:\n"
             "  tn:\n"
             "    plugin: testnotify\n"
             "    log_file: %s/plugin.log\n"
             "connectors:\n"
             "  - name: t\n"
             "    group_id: gp1\n"
             "    topics: [p1]\n"
             "    key: { format: string }\n"
             "    value: { format: json }\n"
             "    batch: { max_records: 1, linger: 1ms }\n"
             "    commit_interval: 50ms\n"
             "    notify:\n"
             "      channel: tn\n"
             "      to: a@example.com\n"
             "      subject: \"alert {{name}}\"\n"
             "      text: \"{{name}}\"\n"
             "    dedup: { key: \"{{@key}}\", topic: p1.marks }\n"
             "    errors:\n"
             "      tolerance: none\n",
             HERALD_TEST_PLUGIN_DIR, e->dir);
    assert_int_equal(run_worker(e, yaml, 3), 0);
    int64_t off[1];
    committed(e, "gp1", "p1", 1, off);
    assert_int_equal(off[0], 3);
    char path[128];
    snprintf(path, sizeof path, "%s/plugin.log", e->dir);
    assert_int_equal(
        count_lines(path, "p1 0 0 OK to=a@example.com subject=alert a"), 1);
    assert_int_equal(
        count_lines(path, "p1 0 2 OK to=a@example.com subject=alert b"), 1);
}

/* SIGTERM to this process after a while, from a thread: the worker's
 * graceful stop, as `herald run` gets it. */
static void *sigterm_later(void *arg)
{
    const struct timespec t = {.tv_sec = *(long *)arg / 1000,
                               .tv_nsec = *(long *)arg % 1000 * 1000000L};
    nanosleep(&t, NULL);
    kill(getpid(), SIGTERM);
    return NULL;
}

/* The plugin completes each batch from its own thread 4 s after delivery;
 * the mock cluster assigns the partition about 3 s after the start (its
 * initial rebalance delay) and the records go out at once, so at the
 * SIGTERM (5 s) they are at the plugin. The connector's drain_timeout is
 * 50 ms, so the stop gives up
 * on the records in flight and the worker is torn down while the plugin
 * still holds them, and completes them after. Nothing may touch the freed
 * connector or leak the records: their completions come back while the
 * worker closes the plugin (the close rule) and the records are let go
 * in doubt. Nothing is committed past them (they were never final). */
static void test_completion_after_drain_timeout(void **state)
{
    struct env *e = *state;
    produce(e, "p2", 1, 5);
    char yaml[2048];
    config(yaml, sizeof yaml, e, "gp2", "p2", "", "all",
           "      delay: 4s\n"
           "      on_close: drop\n"
           "    drain_timeout: 50ms\n");
    long wait_ms = 5000;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, sigterm_later, &wait_ms), 0);
    int rc = run_worker(e, yaml, 0);
    pthread_join(t, NULL);
    assert_int_equal(rc, 0);
    int64_t off[1];
    committed(e, "gp2", "p2", 1, off);
    assert_true(off[0] < 0 || off[0] == 0);
    /* Let the plugin's thread finish its late completions. */
    const struct timespec settle = {.tv_sec = 4, .tv_nsec = 0};
    nanosleep(&settle, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_deduped_refinement_is_never_rendered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_completion_after_drain_timeout,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
