/*
 * test_kafka_mock.h - herald's consumer (kafka.h) on librdkafka's
 * in-process mock cluster, driven by hand on a loop, for the tests of the
 * stages that talk to it (test_partitions.c, test_commit.c): produce to a
 * partition, count what each partition delivers, read what the group
 * committed, count the commit requests the broker got.
 */
#ifndef HERALD_TEST_KAFKA_MOCK_H
#define HERALD_TEST_KAFKA_MOCK_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "config.h"
#include "kafka.h"
#include "loop.h"

/* Partitions a test topic may have. */
#define KMOCK_MAX_PARTS 4
/* How long to wait for what must come (a group join, records). */
#define KMOCK_WAIT_MS 20000
/* How long records that must not come get to show up anyway: longer than
 * the consumer's fetch wait (fetch.wait.max.ms 500 ms by default). */
#define KMOCK_QUIET_MS 1500
/* One pump step. */
#define KMOCK_STEP_MS 5
/* The broker's API key of an OffsetCommit request. */
#define KMOCK_API_OFFSET_COMMIT 8

struct kmock {
    rd_kafka_t *producer; /* owns the mock cluster */
    rd_kafka_mock_cluster_t *mc;
    char bootstraps[256];
    char group[64];
    struct herald__loop *loop;
    struct herald__node *conf; /* the top-level YAML of the consumer */
    struct herald__kafka *k;
    int assigned, closed;
    size_t got[KMOCK_MAX_PARTS]; /* records delivered per partition */
    /* Called in the assigned callback (the table's turn). */
    void (*on_assigned)(void *ctx, const struct herald__tp *l, size_t n);
    /* Called for each record after it is counted (NULL: none). */
    void (*on_message)(void *ctx, const struct herald__kafka_msg *m);
    void *ctx;
};

static inline void kmock_wake(void *ctx)
{
    (void)ctx;
}

static inline void kmock_message(void *ctx, const struct herald__kafka_msg *m)
{
    struct kmock *km = ctx;
    assert_true(m->partition >= 0 && m->partition < KMOCK_MAX_PARTS);
    km->got[m->partition]++;
    if (km->on_message) {
        km->on_message(km->ctx, m);
    }
}

static inline void kmock_assigned(void *ctx, const struct herald__tp *l,
                                  size_t n)
{
    struct kmock *km = ctx;
    km->assigned = 1;
    if (km->on_assigned) {
        km->on_assigned(km->ctx, l, n);
    }
}

static inline void kmock_revoked(void *ctx, const struct herald__tp *l,
                                 size_t n, int lost)
{
    struct kmock *km = ctx;
    (void)lost;
    km->assigned = 0;
    herald__kafka_release(km->k, l, n);
}

static inline void kmock_commit_failed(void *ctx, const struct herald__tp *l,
                                       size_t n)
{
    (void)ctx;
    (void)l;
    (void)n;
}

static inline void kmock_fatal(void *ctx)
{
    (void)ctx;
    fail_msg("the consumer hit a fatal error");
}

static inline void kmock_closed(void *ctx)
{
    ((struct kmock *)ctx)->closed = 1;
}

/* A mock cluster with topic (partitions), no records yet. */
static inline struct kmock *kmock_new(const char *topic, int partitions)
{
    assert_true(partitions <= KMOCK_MAX_PARTS);
    struct kmock *km = calloc(1, sizeof *km);
    assert_non_null(km);
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(
        rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err, sizeof err),
        RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err),
                     RD_KAFKA_CONF_OK);
    km->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    assert_non_null(km->producer);
    km->mc = rd_kafka_handle_mock_cluster(km->producer);
    /* The group forms at once, not after the broker's 3 s default. */
    rd_kafka_mock_group_initial_rebalance_delay_ms(km->mc, 0);
    snprintf(km->bootstraps, sizeof km->bootstraps, "%s",
             rd_kafka_mock_cluster_bootstraps(km->mc));
    assert_int_equal(rd_kafka_mock_topic_create(km->mc, topic, partitions, 1),
                     0);
    km->loop = herald__loop_new();
    assert_non_null(km->loop);
    return km;
}

/* n records ("v0", "v1", ...) into topic's partition. */
static inline void kmock_produce(struct kmock *km, const char *topic,
                                 int32_t partition, int n)
{
    for (int i = 0; i < n; i++) {
        char v[32];
        int len = snprintf(v, sizeof v, "v%d", i);
        assert_int_equal(
            rd_kafka_producev(km->producer, RD_KAFKA_V_TOPIC(topic),
                              RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_VALUE(v, (size_t)len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_END),
            0);
    }
    assert_int_equal(rd_kafka_flush(km->producer, KMOCK_WAIT_MS), 0);
}

/* Run the loop and the consumer for ms. */
static inline void kmock_pump(struct kmock *km, int ms)
{
    const struct timespec step = {0, KMOCK_STEP_MS * 1000000L};
    for (int t = 0; t < ms; t += KMOCK_STEP_MS) {
        herald__loop_run_once(km->loop, 0);
        while (km->k && herald__kafka_poll(km->k)) {
        }
        nanosleep(&step, NULL);
    }
}

/* Pump until *v reaches want (fails after KMOCK_WAIT_MS). */
static inline void kmock_pump_until(struct kmock *km, const size_t *v,
                                    size_t want)
{
    for (int t = 0; *v < want && t < KMOCK_WAIT_MS; t += KMOCK_STEP_MS) {
        kmock_pump(km, KMOCK_STEP_MS);
    }
    assert_int_equal(*v, want);
}

/* herald's consumer of topic in group, subscribed (km->k): nothing is
 * assigned before the next pump. */
static inline void kmock_consume(struct kmock *km, const char *topic,
                                 const char *group)
{
    snprintf(km->group, sizeof km->group, "%s", group);
    char yaml[512];
    int len = snprintf(yaml, sizeof yaml,
                       "kafka: { bootstrap.servers: \"%s\", "
                       "session.timeout.ms: 6000, heartbeat.interval.ms: 500, "
                       "log_level: 2 }\n",
                       km->bootstraps);
    struct herald__diag d;
    herald__diag_init(&d);
    km->conf = herald__config_load_string("test.yaml", yaml, (size_t)len, &d);
    assert_int_equal(d.n, 0);
    herald__diag_cleanup(&d);
    assert_non_null(km->conf);
    char *topics[] = {(char *)topic};
    struct herald__kafka_opts o = {
        .name = "t",
        .group_id = group,
        .topics = topics,
        .n_topics = 1,
        .global = herald__node_get(km->conf, "kafka"),
    };
    static const struct herald__kafka_cbs cbs = {
        .wake = kmock_wake,
        .message = kmock_message,
        .assigned = kmock_assigned,
        .revoked = kmock_revoked,
        .commit_failed = kmock_commit_failed,
        .fatal = kmock_fatal,
        .closed = kmock_closed,
    };
    char err[256] = "";
    km->k = herald__kafka_new(km->loop, &o, &cbs, km, err, sizeof err);
    if (!km->k) {
        fail_msg("herald__kafka_new: %s", err);
    }
}

/* Pump until the consumer's partitions are assigned (on_assigned ran). */
static inline void kmock_wait_assigned(struct kmock *km)
{
    for (int t = 0; !km->assigned && t < KMOCK_WAIT_MS; t += KMOCK_STEP_MS) {
        kmock_pump(km, KMOCK_STEP_MS);
    }
    assert_int_equal(km->assigned, 1);
}

/* The group's committed offsets of topic's first n partitions, read from
 * the broker by a fresh consumer (RD_KAFKA_OFFSET_INVALID: none). */
static inline void kmock_committed(const char *bootstraps, const char *group,
                                   const char *topic, int n, int64_t *out)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", group, err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    assert_non_null(c);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    for (int p = 0; p < n; p++) {
        rd_kafka_topic_partition_list_add(l, topic, p);
    }
    assert_int_equal(rd_kafka_committed(c, l, KMOCK_WAIT_MS), 0);
    for (int p = 0; p < n; p++) {
        out[p] = l->elems[p].offset;
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(c);
}

/* How many requests of api_key the broker got since the last call (or
 * since tracking started), and forget them. */
static inline size_t kmock_requests(struct kmock *km, int16_t api_key)
{
    size_t cnt = 0, n = 0;
    rd_kafka_mock_request_t **reqs = rd_kafka_mock_get_requests(km->mc, &cnt);
    for (size_t i = 0; i < cnt; i++) {
        n += rd_kafka_mock_request_api_key(reqs[i]) == api_key;
        rd_kafka_mock_request_destroy(reqs[i]);
    }
    free(reqs);
    rd_kafka_mock_clear_requests(km->mc);
    return n;
}

/* Close the consumer (waiting for it), then free everything. */
static inline void kmock_destroy(struct kmock *km)
{
    if (km->k) {
        herald__kafka_close(km->k);
        for (int t = 0; !km->closed && t < KMOCK_WAIT_MS; t += KMOCK_STEP_MS) {
            kmock_pump(km, KMOCK_STEP_MS);
        }
        herald__kafka_destroy(km->k);
    }
    herald__loop_destroy(km->loop);
    herald__config_destroy(km->conf);
    rd_kafka_destroy(km->producer);
    free(km);
}

#endif
