/*
 * demo.c - `herald demo`: the tutorial's fraud alert end to end with nothing
 * else running. An in-process librdkafka mock cluster stands in for Kafka;
 * the records are exactly what ksqlDB writes to possible_anomalies for the
 * tutorial's transactions (windowed KAFKA key, Confluent-framed Avro with
 * schema id 1, read from the registry-free schemas_dir), then a refinement
 * of the same window as a fourth transaction would cause. The configured
 * connector renders and delivers them; the demo exits once all are final.
 */
#include "demo.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "connector.h"
#include "kafka.h"
#include "log.h"
#include "worker.h"

struct buf {
    unsigned char b[1024];
    size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
    if (b->n + n <= sizeof b->b) {
        memcpy(b->b + b->n, p, n);
        b->n += n;
    }
}

static void put_long(struct buf *b, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    do {
        unsigned char c = z & 0x7f;
        z >>= 7;
        if (z) {
            c |= 0x80;
        }
        put(b, &c, 1);
    } while (z);
}

static void put_str(struct buf *b, const char *s)
{
    put_long(b, (int64_t)strlen(s));
    put(b, s, strlen(s));
}

static void put_be(struct buf *b, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        unsigned char c = (unsigned char)(v >> (8 * i));
        put(b, &c, 1);
    }
}

/* One PossibleAnomaly value: every field is a ["null", T] union, branch 1. */
static void anomaly(struct buf *b, int64_t n_attempts, int64_t cents,
                    const char *const *tx, int n_tx)
{
    put(b, "\0", 1);
    put_be(b, 1, 4); /* schema id 1: config/schemas/1.avsc */
    put_long(b, 1);
    put_str(b, "358579699410099");
    put_long(b, 1);
    put_str(b, "michael@example.com");
    put_long(b, 1);
    put_long(b, n_attempts);
    put_long(b, 1);
    /* decimal(12,2): big-endian two's complement of the unscaled value */
    unsigned char dec[3] = {(unsigned char)(cents >> 16),
                            (unsigned char)(cents >> 8), (unsigned char)cents};
    int skip = dec[0] == 0 && !(dec[1] & 0x80) ? 1 : 0;
    put_long(b, 3 - skip);
    put(b, dec + skip, (size_t)(3 - skip));
    put_long(b, 1);
    put_long(b, n_tx);
    for (int i = 0; i < n_tx; i++) {
        put_long(b, 1);
        put_str(b, tx[i]);
    }
    put_long(b, 0);
    put_long(b, 1);
    put_long(b, 1587525570000);
    put_long(b, 1);
    put_long(b, 1587525600000);
}

#define DEMO_TOPIC "possible_anomalies"
/* The demo's records: the window and its refinement. */
#define DEMO_RECORDS 2
#define FLUSH_TIMEOUT_MS 10000

static int produce(struct herald__kafka_mock *mc, const struct buf *key,
                   const struct buf *v)
{
    return herald__mock_produce(mc, DEMO_TOPIC, key->b, key->n, v->b, v->n);
}

/* The mock cluster answers no CreateTopics (librdkafka 2.8 names no
 * controller), so the marks topics herald would create are made here. */
static void create_marks_topic(const char *topic, void *mc)
{
    herald__mock_topic(mc, topic, 1);
}

/* The demo's stop condition: both records final (connector.h's hook). */
static int on_final(void *ctx, const struct herald__connector *c,
                    int64_t finals)
{
    (void)c;
    const int64_t *limit = ctx;
    return finals >= *limit;
}

int herald__demo_run(const char *config_path, const char *log_level)
{
    char err[512];
    struct herald__kafka_mock *mc = herald__mock_new(err, sizeof err);
    if (!mc) {
        fprintf(stderr, "demo: %s\n", err);
        return 1;
    }
    char bootstraps[256];
    snprintf(bootstraps, sizeof bootstraps, "%s", herald__mock_bootstraps(mc));
    herald__mock_topic(mc, DEMO_TOPIC, 1);

    /* ksqlDB's windowed KAFKA key: the card number, then the window start
     * as 8 big-endian bytes. */
    struct buf key = {.n = 0};
    put(&key, "358579699410099", 15);
    put_be(&key, 1587525570000ULL, 8);
    static const char *const tx[] = {"f88c5ebb-699c-4a7b-b544-45b30681cc39",
                                     "c5719d20-8d4a-47d4-8cd3-52ed784c89dc",
                                     "044530c0-b15d-4648-8f05-940acc321eb7",
                                     "9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"};
    struct buf first = {.n = 0}, refined = {.n = 0};
    anomaly(&first, 3, 23241, tx, 3);   /* 50.25 + 103.43 + 78.73 */
    anomaly(&refined, 4, 25241, tx, 4); /* a fourth charge of 20.00 */
    if (produce(mc, &key, &first) || produce(mc, &key, &refined) ||
        herald__mock_flush(mc, FLUSH_TIMEOUT_MS) != 0) {
        fprintf(stderr, "demo: could not produce to the mock cluster\n");
        herald__mock_destroy(mc);
        return 1;
    }
    printf("demo: mock Kafka cluster at %s; produced 2 records to "
           "possible_anomalies (the tutorial's window for card ending 0099, "
           "then its refinement)\n\n",
           bootstraps);
    fflush(stdout);

    int64_t stop = DEMO_RECORDS;
    struct herald__worker_opts o = {
        .config_path = config_path,
        .mode = HERALD__MODE_RUN,
        .bootstrap_override = bootstraps,
        .hooks = {.final = on_final, .ctx = &stop},
        .log_level = log_level ? log_level : "warn",
    };
    struct herald__worker *w = herald__worker_new(&o, stderr);
    int rc = 1;
    struct herald__connector_stats st = {0};
    if (w) {
        herald__worker_each_marks_topic(w, create_marks_topic, mc);
        rc = herald__worker_run(w);
        herald__worker_stats(w, &st);
        herald__worker_destroy(w);
    }
    /* The connectors used the cluster: destroy it last. */
    herald__mock_destroy(mc);
    if (rc == 0) {
        printf("\ndemo: %" PRId64 " records, %" PRId64 " email%s, %" PRId64
               " refinement%s skipped as a duplicate\n",
               st.consumed, st.delivered_ok, st.delivered_ok == 1 ? "" : "s",
               st.deduped, st.deduped == 1 ? "" : "s");
        printf("demo: all alerts delivered\n");
    }
    return rc;
}
