/*
 * kafka_producer.c - herald's own writes to Kafka (dead letters, dedup
 * marks; kafka.h): one idempotent librdkafka producer per connector, its
 * delivery reports brought to the loop through the main queue's io-event
 * pipe, like the consumer's queue. Part of the Kafka module.
 */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka.h"
#include "kafka_int.h"
#include "log.h"
#include "loop.h"
#include "record.h"

/* Delivery reports are also polled this often (a missed wake-up). */
#define POLL_EVERY_MS 500
/* A dead letter is given this long to be acknowledged. */
#define MESSAGE_TIMEOUT_MS "30000"
#define LINGER_MS "5"
/* The dead-letter context headers added to the record's own. */
#define CONNECT_HEADERS 9
#define ERR_MAX 512

struct pending {
    herald__producer_fn fn;
    void *ctx;
};

struct herald__kafka_producer {
    struct herald__loop *loop;
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue;
    int pipefd[2];
    struct herald__watch *watch;
    struct herald__timer *poll_timer;
    size_t pending;
    int closing;
};

/* Properties that only a consumer understands: a producer warns about
 * each, so they are left out of the dead-letter producer's config. */
static int consumer_only(const char *k)
{
    static const char *const prefixes[] = {"group.",
                                           "auto.",
                                           "enable.auto",
                                           "partition.assignment",
                                           "session.timeout",
                                           "heartbeat.",
                                           "max.poll",
                                           "fetch.",
                                           "isolation.level",
                                           "check.crcs",
                                           "queued.",
                                           "consume.",
                                           "enable.partition.eof",
                                           "allow.auto.create",
                                           "coordinator.",
                                           "offset.store",
                                           NULL};
    for (size_t i = 0; prefixes[i]; i++) {
        if (strncmp(k, prefixes[i], strlen(prefixes[i])) == 0) {
            return 1;
        }
    }
    return 0;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct herald__kafka_producer *d = opaque;
    struct pending *p = m->_private;
    if (!p) {
        return;
    }
    if (d->pending > 0) {
        d->pending--;
    }
    if (!d->closing) {
        if (m->err) {
            p->fn(p->ctx, 0, rd_kafka_err2str(m->err));
        } else {
            p->fn(p->ctx, 1, NULL);
        }
    }
    free(p);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    (void)rk;
    herald__kafka_log_line(level, "component=librdkafka role=producer", fac,
                           buf);
}

static void pump(struct herald__kafka_producer *d)
{
    if (d->rk) {
        rd_kafka_poll(d->rk, 0);
    }
}

static void on_readable(void *ctx, int fd, int events)
{
    (void)events;
    herald__kafka_drain_pipe(fd);
    pump(ctx);
}

static void on_poll_timer(void *ctx)
{
    pump(ctx);
}

struct herald__kafka_producer *
herald__producer_new(struct herald__loop *loop,
                     const struct herald__node *kafka, char *err, size_t errlen)
{
    struct herald__kafka_producer *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->loop = loop;
    d->pipefd[0] = d->pipefd[1] = -1;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    herald__kafka_conf_init(conf);
    char e[ERR_MAX];
    for (size_t i = 0; kafka && i < kafka->n; i++) {
        const struct herald__node *v = kafka->items[i];
        if (v->type != HERALD_NODE_SCALAR || consumer_only(kafka->keys[i])) {
            continue;
        }
        if (rd_kafka_conf_set(conf, kafka->keys[i], v->scalar, e, sizeof e) !=
            RD_KAFKA_CONF_OK) {
            snprintf(err, errlen,
                     "producer: kafka property "
                     "'%s': %s",
                     kafka->keys[i], e);
            rd_kafka_conf_destroy(conf);
            herald__producer_destroy(d);
            return NULL;
        }
    }
    /* Idempotent, acks=all: a dead letter is written once and durably. A
     * failed write comes back to the caller, who keeps the source record
     * in doubt and tries again. */
    rd_kafka_conf_set(conf, "enable.idempotence", "true", e, sizeof e);
    rd_kafka_conf_set(conf, "acks", "all", e, sizeof e);
    rd_kafka_conf_set(conf, "message.timeout.ms", MESSAGE_TIMEOUT_MS, e,
                      sizeof e);
    rd_kafka_conf_set(conf, "linger.ms", LINGER_MS, e, sizeof e);
    rd_kafka_conf_set_opaque(conf, d);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    d->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
    if (!d->rk) {
        snprintf(err, errlen, "producer: %s", e);
        herald__producer_destroy(d);
        return NULL;
    }
    d->queue = rd_kafka_queue_get_main(d->rk);
    d->poll_timer = herald__timer_new(loop, on_poll_timer, d);
    if (!d->poll_timer ||
        herald__kafka_wake_pipe(loop, d->queue, d->pipefd, &d->watch,
                                on_readable, d, err, errlen) != 0) {
        herald__producer_destroy(d);
        return NULL;
    }
    herald__timer_start(d->poll_timer, POLL_EVERY_MS, POLL_EVERY_MS);
    return d;
}

static void add_header(rd_kafka_headers_t *h, const char *name,
                       const char *value)
{
    rd_kafka_header_add(h, name, -1, value, -1);
}

static int produce(struct herald__kafka_producer *d, const char *topic,
                   int32_t partition, const void *key, size_t klen,
                   const void *value, size_t vlen, rd_kafka_headers_t *h,
                   int64_t timestamp, herald__producer_fn fn, void *ctx)
{
    struct pending *p = malloc(sizeof *p);
    if (!p) {
        rd_kafka_headers_destroy(h);
        return -1;
    }
    p->fn = fn;
    p->ctx = ctx;
    rd_kafka_resp_err_t err = rd_kafka_producev(
        d->rk, RD_KAFKA_V_TOPIC(topic),
        RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
        RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE((void *)value, vlen),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
        RD_KAFKA_V_TIMESTAMP(timestamp > 0 ? timestamp : 0),
        RD_KAFKA_V_OPAQUE(p), RD_KAFKA_V_END);
    if (err) {
        rd_kafka_headers_destroy(h); /* not taken on failure */
        free(p);
        herald__log(HERALD_LOG_WARN, NULL, "topic %s: cannot queue a write: %s",
                    topic, rd_kafka_err2str(err));
        return -1;
    }
    d->pending++;
    return 0;
}

int herald__producer_send(struct herald__kafka_producer *p, const char *topic,
                          int32_t partition, const void *key, size_t klen,
                          const void *value, size_t vlen,
                          herald__producer_fn fn, void *ctx)
{
    return produce(p, topic, partition, key, klen, value, vlen,
                   rd_kafka_headers_new(0), 0, fn, ctx);
}

int herald__producer_send_dead_letter(struct herald__kafka_producer *p,
                                      const char *topic, const char *connector,
                                      const struct herald_record *r,
                                      const char *stage, const char *class_name,
                                      const char *exception_class,
                                      const char *message,
                                      herald__producer_fn fn, void *ctx)
{
    size_t n_hs;
    const struct herald__header *hs = herald__record_headers(r, &n_hs);
    rd_kafka_headers_t *h = rd_kafka_headers_new(n_hs + CONNECT_HEADERS);
    for (size_t i = 0; i < n_hs; i++) {
        rd_kafka_header_add(h, hs[i].name, -1, hs[i].value, (ssize_t)hs[i].len);
    }
    char num[32];
    add_header(h, "__connect.errors.topic", r->topic);
    snprintf(num, sizeof num, "%" PRId32, r->partition);
    add_header(h, "__connect.errors.partition", num);
    snprintf(num, sizeof num, "%" PRId64, r->offset);
    add_header(h, "__connect.errors.offset", num);
    add_header(h, "__connect.errors.connector.name", connector);
    add_header(h, "__connect.errors.task.id", "0");
    add_header(h, "__connect.errors.stage", stage);
    add_header(h, "__connect.errors.class.name", class_name);
    add_header(h, "__connect.errors.exception.class.name", exception_class);
    add_header(h, "__connect.errors.exception.message", message);
    return produce(p, topic, -1, r->key, r->key_len, r->value, r->value_len, h,
                   r->timestamp, fn, ctx);
}

size_t herald__producer_pending(const struct herald__kafka_producer *d)
{
    return d ? d->pending : 0;
}

int herald__producer_partitions(struct herald__kafka_producer *d,
                                const char *topic, int timeout_ms, char *err,
                                size_t errlen)
{
    rd_kafka_topic_t *t = rd_kafka_topic_new(d->rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(d->rk, 0, t, &md, timeout_ms);
    int rc;
    if (e) {
        snprintf(err, errlen, "%s", rd_kafka_err2str(e));
        rc = -1;
    } else {
        rc = 0;
        if (md->topic_cnt == 1 && md->topics[0].err == 0) {
            rc = md->topics[0].partition_cnt;
        } else if (md->topic_cnt == 1) {
            snprintf(err, errlen, "%s", rd_kafka_err2str(md->topics[0].err));
        }
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(t);
    return rc;
}

void herald__producer_destroy(struct herald__kafka_producer *d)
{
    if (!d) {
        return;
    }
    d->closing = 1;
    herald__watch_destroy(d->watch);
    herald__timer_destroy(d->poll_timer);
    if (d->queue) {
        /* The handle is freed on another thread after the pipe is closed:
         * nothing may write to the pipe's (reusable) fd any more. */
        rd_kafka_queue_io_event_enable(d->queue, -1, NULL, 0);
        rd_kafka_queue_destroy(d->queue);
    }
    if (d->rk) {
        /* Never wait here: what is still in flight is dropped (its source
         * records stay in doubt and come again). The connector waits for
         * herald__producer_pending to drain before it gets here. */
        rd_kafka_purge(d->rk, RD_KAFKA_PURGE_F_QUEUE |
                                  RD_KAFKA_PURGE_F_INFLIGHT |
                                  RD_KAFKA_PURGE_F_NON_BLOCKING);
        herald__kafka_reap(d->rk, 0);
    }
    herald__kafka_close_pipe(d->pipefd);
    free(d);
}
