/*
 * test_connector.h - a worker on librdkafka's in-process mock cluster with
 * the test plugin, for the connector's tests (test_connector.c,
 * test_dedup_load.c): produce, run a worker until it took n records, and
 * read what it committed and what the plugin saw.
 */
#ifndef HERALD_TEST_CONNECTOR_H
#define HERALD_TEST_CONNECTOR_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "worker.h"

/* The tests' hash_key: dedup marks are keyed by HMAC-SHA-256 of the dedup
 * key under it (values from Python's hmac module). */
#define TEST_HASH_KEY "test-hash-key-0123456789"
/* HMAC-SHA-256(TEST_HASH_KEY, "kb") */
#define TEST_HMAC_KB                                                           \
    "176bae406c16be57c0e1fa50efb1370833a0d0ada6cd20b11168b59f727f03ae"

struct env {
    rd_kafka_t *producer; /* owns the mock cluster */
    char bootstraps[256];
    char dir[64];
};

static int setup_brokers(void **state, const char *brokers)
{
    struct env *e = calloc(1, sizeof *e);
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "test.mock.num.brokers", brokers, err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err);
    e->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    assert_non_null(e->producer);
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(e->producer);
    snprintf(e->bootstraps, sizeof e->bootstraps, "%s",
             rd_kafka_mock_cluster_bootstraps(mc));
    strcpy(e->dir, "/tmp/herald-conn-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    *state = e;
    return 0;
}

static int setup(void **state)
{
    return setup_brokers(state, "1");
}

static int teardown(void **state)
{
    struct env *e = *state;
    rd_kafka_destroy(e->producer);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    assert_int_equal(system(cmd), 0);
    free(e);
    return 0;
}

static void produce(struct env *e, const char *topic, int partitions,
                    int per_partition)
{
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(e->producer);
    assert_int_equal(rd_kafka_mock_topic_create(mc, topic, partitions, 1), 0);
    for (int p = 0; p < partitions; p++) {
        for (int i = 0; i < per_partition; i++) {
            char v[32];
            int n = snprintf(v, sizeof v, "v-%d-%d", p, i);
            assert_int_equal(
                rd_kafka_producev(
                    e->producer, RD_KAFKA_V_TOPIC(topic),
                    RD_KAFKA_V_PARTITION(p), RD_KAFKA_V_VALUE(v, (size_t)n),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                0);
        }
    }
    assert_int_equal(rd_kafka_flush(e->producer, 10000), 0);
}

/* Committed offsets of group for topic's partitions, read from the broker
 * with a fresh consumer. */
static void committed(struct env *e, const char *group, const char *topic,
                      int partitions, int64_t *out)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", e->bootstraps, err,
                      sizeof err);
    rd_kafka_conf_set(conf, "group.id", group, err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    assert_non_null(c);
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++) {
        rd_kafka_topic_partition_list_add(l, topic, p);
    }
    assert_int_equal(rd_kafka_committed(c, l, 10000), 0);
    for (int p = 0; p < partitions; p++) {
        out[p] = l->elems[p].offset;
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(c);
}

/* Stop a connector once stop_after of its records are final (the hook
 * herald's commands use for the same). */
static int stop_after_hook(void *ctx, const struct herald__connector *c,
                           int64_t finals)
{
    (void)c;
    int64_t limit = *(const int64_t *)ctx;
    return limit > 0 && finals >= limit;
}

static int run_worker(struct env *e, const char *yaml, int64_t stop_after)
{
    char path[128];
    snprintf(path, sizeof path, "%s/herald.yaml", e->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(yaml, f);
    fclose(f);
    struct herald__worker_opts o = {
        .config_path = path,
        .bootstrap_override = e->bootstraps,
        .hooks = {.final = stop_after_hook, .ctx = &stop_after},
        .log_level = getenv("TEST_LOG") ? getenv("TEST_LOG") : "warn",
    };
    struct herald__worker *w = herald__worker_new(&o, stderr);
    assert_non_null(w);
    int rc = herald__worker_run(w);
    herald__worker_destroy(w);
    return rc;
}

/* Count lines in the plugin's log equal to "topic p off OUTCOME". */
static int count_lines(const char *path, const char *want)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        return 0;
    }
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, want) == 0) {
            n++;
        }
    }
    fclose(f);
    return n;
}

/* The test plugin as a sink of topic for group, answering by script
 * (testplug.c); extra: lines of the sink map; errors_extra: lines of the
 * errors map (indented by 6). */
static void config_errors(char *buf, size_t len, const struct env *e,
                          const char *group, const char *topic,
                          const char *script, const char *tolerance,
                          const char *extra, const char *errors_extra)
{
    snprintf(buf, len,
             "kafka: { bootstrap.servers: \"x\", session.timeout.ms: 6000,\n"
             "         heartbeat.interval.ms: 500 }\n"
             "plugin_path: %s\n"
             "hash_key: \"" TEST_HASH_KEY "\"\n"
             "connectors:\n"
             "  - name: t\n"
             "    group_id: %s\n"
             "    topics: [%s]\n"
             "    key: { format: string }\n"
             "    value: { format: string }\n"
             "    batch: { max_records: 7, linger: 5ms }\n"
             "    commit_interval: 50ms\n"
             "    sink:\n"
             "      plugin: testplug\n"
             "      log_file: %s/plugin.log\n"
             "      script: \"%s\"\n"
             "%s"
             "    errors:\n"
             "      tolerance: %s\n"
             "      retry: { initial: 5ms, max: 20ms, timeout: 1s }\n"
             "%s",
             HERALD_TEST_PLUGIN_DIR, group, topic, e->dir, script, extra,
             tolerance, errors_extra);
}

/* inline: test_channel.c uses config_errors only */
static inline void config(char *buf, size_t len, const struct env *e,
                          const char *group, const char *topic,
                          const char *script, const char *tolerance,
                          const char *extra)
{
    config_errors(buf, len, e, group, topic, script, tolerance, extra, "");
}

#endif
