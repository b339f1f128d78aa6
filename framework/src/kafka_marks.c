/*
 * kafka_marks.c - the dedup marks topic (kafka.h): a consumer without a
 * group that reads marks partitions back from their beginning, and the
 * asynchronous preparation of the topic at a connector's start (the
 * partition counts of the source topics and the marks topic, then the
 * latter created if missing). librdkafka has no asynchronous metadata
 * call the mock cluster answers, so the counts are asked from a loop
 * timer with a short wait each (METADATA_STEP_MS), until DESCRIBE_TIMEOUT_MS;
 * the creation's result arrives on an admin queue whose io events wake
 * the loop. The loop never waits on the broker longer than one step, and
 * a stop can cancel at any time.
 * Part of the Kafka module.
 */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "kafka_int.h"
#include "log.h"
#include "loop.h"

/* How long the broker may take to describe the topics, and to create the
 * marks topic (what the blocking calls waited before). */
#define DESCRIBE_TIMEOUT_MS 10000
#define CREATE_TIMEOUT_MS 30000
/* Admin results are also polled this often (a missed wake-up), and
 * metadata asked again. */
#define POLL_EVERY_MS 100
/* The longest one metadata request may hold the loop. */
#define METADATA_STEP_MS 50
#define ERR_MAX 512

enum step { IDLE = 0, DESCRIBING, CREATING, READY };

struct herald__kafka_marks {
    struct herald__loop *loop;
    char *topic;
    rd_kafka_t *rk;
    /* preparation */
    rd_kafka_queue_t *admin_q;
    int pipefd[2];
    struct herald__watch *watch;
    struct herald__timer *timer;
    enum step step;
    char **topics;         /* the source topics, then the marks topic */
    size_t n_topics, next; /* next: the first not described yet */
    int64_t deadline;      /* loop ms the description gives up */
    int need;              /* partitions the marks topic needs */
    int have;              /* partitions the marks topic has */
    int64_t ttl_ms;
    herald__marks_ready_fn ready;
    void *ready_ctx;
};

static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    (void)rk;
    if (level <= 4) {
        herald__kafka_log_line(level, "component=librdkafka role=dedup", fac,
                               buf);
    }
}

struct herald__kafka_marks *herald__marks_new(struct herald__loop *loop,
                                              const struct herald__node *kafka,
                                              const char *topic, char *err,
                                              size_t errlen)
{
    struct herald__kafka_marks *m = calloc(1, sizeof *m);
    if (!m || !(m->topic = strdup(topic))) {
        free(m);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->loop = loop;
    m->pipefd[0] = m->pipefd[1] = -1;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    herald__kafka_conf_init(conf);
    char e[ERR_MAX];
    if (herald__kafka_apply(conf, kafka, err, errlen) != 0) {
        rd_kafka_conf_destroy(conf);
        herald__marks_destroy(m);
        return NULL;
    }
    /* A group id is needed to assign; it never joins or commits. */
    rd_kafka_conf_set(conf, "group.id", "herald-dedup-reader", e, sizeof e);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", e, sizeof e);
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", e, sizeof e);
    /* Marks removed by retention meanwhile: read on from the oldest. */
    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", e, sizeof e);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    m->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
    if (!m->rk) {
        snprintf(err, errlen, "dedup reader: %s", e);
        herald__marks_destroy(m);
        return NULL;
    }
    return m;
}

static void finish(struct herald__kafka_marks *m, int ok, const char *err)
{
    m->step = ok ? READY : IDLE;
    herald__timer_stop(m->timer);
    m->ready(m->ready_ctx, ok, err);
}

static void start_create(struct herald__kafka_marks *m)
{
    char e[ERR_MAX], ms[32];
    rd_kafka_NewTopic_t *nt =
        rd_kafka_NewTopic_new(m->topic, m->need, -1, e, sizeof e);
    if (!nt) {
        char err[ERR_MAX + 128];
        snprintf(err, sizeof err, "dedup topic %s: %s", m->topic, e);
        finish(m, 0, err);
        return;
    }
    snprintf(ms, sizeof ms, "%" PRId64, m->ttl_ms);
    rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact,delete");
    rd_kafka_NewTopic_set_config(nt, "retention.ms", ms);
    rd_kafka_AdminOptions_t *o =
        rd_kafka_AdminOptions_new(m->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(o, CREATE_TIMEOUT_MS, e,
                                              sizeof e);
    m->step = CREATING;
    rd_kafka_CreateTopics(m->rk, &nt, 1, o, m->admin_q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_NewTopic_destroy(nt);
}

/* Partition count of topic (0: it does not exist) into *out: 1; 0 when the
 * broker did not answer within the step; -1 with err. */
static int partitions_of(struct herald__kafka_marks *m, const char *topic,
                         int *out, char *err, size_t errlen)
{
    rd_kafka_topic_t *t = rd_kafka_topic_new(m->rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e =
        rd_kafka_metadata(m->rk, 0, t, &md, METADATA_STEP_MS);
    int rc = -1;
    if (e == RD_KAFKA_RESP_ERR__TIMED_OUT ||
        e == RD_KAFKA_RESP_ERR__TRANSPORT) {
        rc = 0;
        snprintf(err, errlen, "metadata for %s: %s", topic,
                 rd_kafka_err2str(e));
    } else if (e) {
        snprintf(err, errlen, "metadata for %s: %s", topic,
                 rd_kafka_err2str(e));
    } else {
        if (md->topic_cnt == 1 && md->topics[0].err == 0) {
            *out = md->topics[0].partition_cnt;
            rc = 1;
        } else if (md->topic_cnt == 1 &&
                   md->topics[0].err ==
                       RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
            *out = 0;
            rc = 1;
        } else {
            snprintf(err, errlen, "metadata for %s: %s", topic,
                     md->topic_cnt ? rd_kafka_err2str(md->topics[0].err)
                                   : "no answer");
        }
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(t);
    return rc;
}

/* One step of the description: the next topic's count, then create or
 * check once all are known. */
static void describe_step(struct herald__kafka_marks *m)
{
    char err[ERR_MAX + 256];
    while (m->next < m->n_topics) {
        const char *topic = m->topics[m->next];
        int np = 0;
        int rc = partitions_of(m, topic, &np, err, sizeof err);
        if (rc < 0 || (rc == 0 &&
                       herald__loop_now_ms(m->loop) >= (uint64_t)m->deadline)) {
            finish(m, 0, err);
            return;
        }
        if (rc == 0) {
            return; /* the broker is not there yet: next tick */
        }
        if (m->next == m->n_topics - 1) {
            m->have = np;
        } else if (np > m->need) {
            m->need = np;
        }
        m->next++;
    }
    if (m->have == 0) {
        herald__log(HERALD_LOG_INFO, NULL,
                    "creating dedup marks topic %s (%d partitions, "
                    "compacted, retention %" PRId64 " ms)",
                    m->topic, m->need, m->ttl_ms);
        start_create(m);
    } else if (m->have < m->need) {
        snprintf(err, sizeof err,
                 "dedup topic %s has %d partitions, fewer than the %d of "
                 "the source topics: marks are written to the source "
                 "partition's number",
                 m->topic, m->have, m->need);
        finish(m, 0, err);
    } else {
        finish(m, 1, NULL);
    }
}

static void on_created(struct herald__kafka_marks *m, rd_kafka_event_t *ev)
{
    char err[ERR_MAX + 256];
    const rd_kafka_CreateTopics_result_t *res =
        rd_kafka_event_CreateTopics_result(ev);
    size_t cnt = 0;
    const rd_kafka_topic_result_t **tr =
        res ? rd_kafka_CreateTopics_result_topics(res, &cnt) : NULL;
    rd_kafka_resp_err_t te = cnt == 1 ? rd_kafka_topic_result_error(tr[0])
                                      : rd_kafka_event_error(ev);
    if (te == RD_KAFKA_RESP_ERR_NO_ERROR ||
        te == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        finish(m, 1, NULL);
        return;
    }
    if (te == RD_KAFKA_RESP_ERR__TIMED_OUT) {
        snprintf(err, sizeof err, "dedup topic %s: no answer to CreateTopics",
                 m->topic);
    } else {
        snprintf(err, sizeof err, "dedup topic %s: cannot create it: %s",
                 m->topic, rd_kafka_err2str(te));
    }
    finish(m, 0, err);
}

static void serve(struct herald__kafka_marks *m)
{
    rd_kafka_event_t *ev;
    while (m->step == CREATING && (ev = rd_kafka_queue_poll(m->admin_q, 0))) {
        if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_CREATETOPICS_RESULT) {
            on_created(m, ev);
        }
        rd_kafka_event_destroy(ev);
    }
}

static void on_readable(void *ctx, int fd, int events)
{
    (void)events;
    herald__kafka_drain_pipe(fd);
    serve(ctx);
}

static void on_timer(void *ctx)
{
    struct herald__kafka_marks *m = ctx;
    if (m->step == DESCRIBING) {
        describe_step(m);
    } else {
        serve(m);
    }
}

int herald__marks_prepare(struct herald__kafka_marks *m, char *const *topics,
                          size_t n_topics, int64_t ttl_ms,
                          herald__marks_ready_fn ready, void *ctx, char *err,
                          size_t errlen)
{
    m->ready = ready;
    m->ready_ctx = ctx;
    m->ttl_ms = ttl_ms;
    m->need = 1;
    m->admin_q = rd_kafka_queue_new(m->rk);
    m->timer = herald__timer_new(m->loop, on_timer, m);
    m->topics = calloc(n_topics + 1, sizeof *m->topics);
    if (!m->timer || !m->topics ||
        herald__kafka_wake_pipe(m->loop, m->admin_q, m->pipefd, &m->watch,
                                on_readable, m, err, errlen) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i <= n_topics; i++) {
        m->topics[i] = strdup(i < n_topics ? topics[i] : m->topic);
        if (!m->topics[i]) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        m->n_topics++;
    }
    m->step = DESCRIBING;
    m->deadline = (int64_t)herald__loop_now_ms(m->loop) + DESCRIBE_TIMEOUT_MS;
    /* The first step on the next loop turn: ready never runs inside. */
    herald__timer_start(m->timer, 0, POLL_EVERY_MS);
    return 0;
}

int herald__marks_assign(struct herald__kafka_marks *m, int32_t p, int on,
                         char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, m->topic, p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_error_t *e = on ? rd_kafka_incremental_assign(m->rk, l)
                             : rd_kafka_incremental_unassign(m->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (!e) {
        return 0;
    }
    snprintf(err, errlen, "dedup topic %s [%" PRId32 "]: %s", m->topic, p,
             rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    return -1;
}

int herald__marks_poll(struct herald__kafka_marks *m, int max,
                       herald__marks_fn fn, herald__marks_end_fn end, void *ctx)
{
    int n = 0;
    for (; n < max; n++) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(m->rk, 0);
        if (!msg) {
            break;
        }
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            end(ctx, msg->partition);
        } else if (msg->err) {
            herald__log(HERALD_LOG_WARN, NULL, "reading dedup marks: %s",
                        rd_kafka_message_errstr(msg));
        } else {
            int64_t ts = rd_kafka_message_timestamp(msg, NULL);
            fn(ctx, msg->partition, msg->key, msg->key_len, msg->payload,
               msg->len, ts);
        }
        rd_kafka_message_destroy(msg);
    }
    return n >= max;
}

void herald__marks_destroy(struct herald__kafka_marks *m)
{
    if (!m) {
        return;
    }
    herald__timer_destroy(m->timer);
    herald__watch_destroy(m->watch);
    if (m->admin_q) {
        /* The handle is freed on another thread after the pipe is closed:
         * nothing may write to the pipe's (reusable) fd any more. */
        rd_kafka_queue_io_event_enable(m->admin_q, -1, NULL, 0);
        rd_kafka_queue_destroy(m->admin_q);
    }
    if (m->rk) {
        herald__kafka_reap(m->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
    herald__kafka_close_pipe(m->pipefd);
    for (size_t i = 0; i < m->n_topics; i++) {
        free(m->topics[i]);
    }
    free(m->topics);
    free(m->topic);
    free(m);
}
