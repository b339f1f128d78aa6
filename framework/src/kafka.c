/*
 * kafka.c - the consumer of a connector (kafka.h): librdkafka's
 * configuration with herald's defaults under the user's properties, log
 * and error routing, the loop wake-up (the consumer queue's io events on a
 * pipe), rebalance callbacks turned into herald__tp lists, commits,
 * pause/resume and a close that never blocks the loop. Also the demo's
 * mock cluster. With kafka_producer.c and kafka_marks.c the only files
 * that include rdkafka.h.
 */
#include "kafka.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka_int.h"
#include "log.h"
#include "loop.h"
#include "record.h"

/* Prefetch defaults (see herald__kafka_new), librdkafka >= 2.2. */
#define PREFETCH_BACKOFF_MS "5"
#define PREFETCH_KBYTES "2048"
#define PREFETCH_BACKOFF_MS_NOTIFY "10"
#define PREFETCH_KBYTES_NOTIFY "512"
/* librdkafka's default max.poll.interval.ms. */
#define MAX_POLL_INTERVAL_DEFAULT_MS 300000
/* The queue is polled at least this often even when the pipe is quiet
 * (rebalance and error events come through polling), and within a
 * quarter of max.poll.interval.ms. */
#define POLL_EVERY_MAX_MS 500
/* Periodic commits wait this long after a cooperative rebalance. */
#define COOPERATIVE_COMMIT_PAUSE_MS 5000
/* While closing, the close queue is served this often. */
#define CLOSE_POLL_MS 20
/* Room for librdkafka's error strings. */
#define ERR_MAX 512
/* Messages taken off the consumer queue in one librdkafka call. One call
 * per message read the clock four times and took the queue's lock each
 * time; a batch pays that once. Small: taken messages wait in the
 * consumer (their fetch buffers pinned) until handed on. */
#define POLL_BATCH 64
/* What librdkafka sends its own threads to end them at once (no other
 * user in herald: libuv handles SIGINT/SIGTERM/SIGCHLD). */
#define TERMINATION_SIGNAL SIGIO

/* A message taken off the queue and not handed on yet. */
struct taken {
    rd_kafka_message_t *m; /* NULL: handed on or dropped */
    int held;              /* its partition is paused */
};

struct herald__kafka {
    struct herald__loop *loop;
    struct herald__kafka_cbs cbs;
    void *ctx;
    char *name;
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue;
    rd_kafka_queue_t *close_q; /* the close's events: no records in it */
    int pipefd[2];
    struct herald__watch *watch;
    struct herald__timer *poll_timer;
    struct herald__timer *close_timer;
    int cooperative;
    uint64_t last_rebalance_ms; /* loop ms of the last rebalance callback */
    int closing, closed;
    /* Taken messages, in the order taken; those before `head` are gone.
     * Refilled only when none is left to hand on, so rebalance callbacks
     * (which run inside the refill) never fall between a message's taking
     * and its handing on. A pause holds the messages of its partition
     * until the resume: no record of a paused partition is handed on, as
     * when librdkafka purges its own queue of them on a pause (and
     * refetches from after the last message taken). */
    struct taken *taken;
    size_t head, n, cap;
    rd_kafka_message_t *batch[POLL_BATCH];
};

void herald__kafka_log_line(int level, const char *fields, const char *fac,
                            const char *buf)
{
    enum herald_log_level lv = level <= 3   ? HERALD_LOG_ERROR
                               : level <= 4 ? HERALD_LOG_WARN
                               : level <= 6 ? HERALD_LOG_INFO
                                            : HERALD_LOG_DEBUG;
    herald__log(lv, fields, "%s: %s", fac, buf);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    (void)rk;
    herald__kafka_log_line(level, "component=librdkafka", fac, buf);
}

static void logf_k(enum herald_log_level lv, const struct herald__kafka *k,
                   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void logf_k(enum herald_log_level lv, const struct herald__kafka *k,
                   const char *fmt, ...)
{
    char msg[1024], fields[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(fields, sizeof fields, "connector=%s", k->name);
    herald__log(lv, fields, "%s", msg);
}

void herald__kafka_conf_init(void *conf)
{
    char sig[16];
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, TERMINATION_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    snprintf(sig, sizeof sig, "%d", TERMINATION_SIGNAL);
    rd_kafka_conf_set(conf, "internal.termination.signal", sig, NULL, 0);
}

struct reap {
    rd_kafka_t *rk;
    int flags;
};

static void *reap_main(void *arg)
{
    struct reap *r = arg;
    rd_kafka_destroy_flags(r->rk, r->flags);
    free(r);
    return NULL;
}

void herald__kafka_reap(void *rk, int flags)
{
    struct reap *r = malloc(sizeof *r);
    pthread_attr_t attr;
    pthread_t t;
    if (r && pthread_attr_init(&attr) == 0) {
        r->rk = rk;
        r->flags = flags;
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&t, &attr, reap_main, r);
        pthread_attr_destroy(&attr);
        if (rc == 0) {
            return;
        }
    }
    free(r);
    rd_kafka_destroy_flags(rk, flags);
}

int herald__kafka_set(void *conf, const char *k, const char *v, char *err,
                      size_t errlen)
{
    char e[ERR_MAX];
    if (rd_kafka_conf_set(conf, k, v, e, sizeof e) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka property '%s': %s", k, e);
        return -1;
    }
    return 0;
}

int herald__kafka_apply(void *conf, const struct herald__node *m, char *err,
                        size_t errlen)
{
    for (size_t i = 0; m && i < m->n; i++) {
        const struct herald__node *v = m->items[i];
        if (v->type != HERALD_NODE_SCALAR) {
            snprintf(err, errlen,
                     "%s:%d:%d: kafka property '%s' must be a "
                     "scalar",
                     v->file, v->line, v->col, m->keys[i]);
            return -1;
        }
        if (herald__kafka_set(conf, m->keys[i], v->scalar, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

int herald__kafka_wake_pipe(struct herald__loop *loop, void *queue, int fds[2],
                            struct herald__watch **watch,
                            void (*fn)(void *ctx, int fd, int events),
                            void *ctx, char *err, size_t errlen)
{
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        fds[0] = fds[1] = -1;
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    rd_kafka_queue_io_event_enable(queue, fds[1], "1", 1);
    *watch = herald__watch_new(loop, fds[0], fn, ctx);
    if (!*watch) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    herald__watch_set(*watch, HERALD__WATCH_READ);
    return 0;
}

void herald__kafka_drain_pipe(int fd)
{
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0) {
    }
}

void herald__kafka_close_pipe(int fds[2])
{
    for (int i = 0; i < 2; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
}

/* rd_kafka_topic_partition_list -> herald__tp array (topics borrowed from
 * the list). NULL with n 0 when empty or out of memory. */
static struct herald__tp *tps_of(const rd_kafka_topic_partition_list_t *l,
                                 size_t *n)
{
    *n = 0;
    if (!l || l->cnt <= 0) {
        return NULL;
    }
    struct herald__tp *a = calloc((size_t)l->cnt, sizeof *a);
    if (!a) {
        return NULL;
    }
    for (int i = 0; i < l->cnt; i++) {
        a[i].topic = l->elems[i].topic;
        a[i].partition = l->elems[i].partition;
        a[i].offset = l->elems[i].offset;
    }
    *n = (size_t)l->cnt;
    return a;
}

static rd_kafka_topic_partition_list_t *list_of(const struct herald__tp *l,
                                                size_t n, int offsets)
{
    rd_kafka_topic_partition_list_t *r =
        rd_kafka_topic_partition_list_new((int)(n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        rd_kafka_topic_partition_t *e =
            rd_kafka_topic_partition_list_add(r, l[i].topic, l[i].partition);
        if (offsets) {
            e->offset = l[i].offset;
        }
    }
    return r;
}

/* ---- messages taken off the queue --------------------------------------- */

static int taken_of(const struct taken *t, const char *topic, int32_t partition)
{
    return t->m && t->m->partition == partition &&
           strcmp(rd_kafka_topic_name(t->m->rkt), topic) == 0;
}

/* Hold (paused) or release the messages of topic/partition. */
static void taken_hold(struct herald__kafka *k, const char *topic,
                       int32_t partition, int paused)
{
    for (size_t i = k->head; i < k->n; i++) {
        if (taken_of(&k->taken[i], topic, partition)) {
            k->taken[i].held = paused;
        }
    }
}

/* Destroy the messages of topic/partition (topic NULL: all of them). */
static void taken_drop(struct herald__kafka *k, const char *topic,
                       int32_t partition)
{
    for (size_t i = k->head; i < k->n; i++) {
        struct taken *t = &k->taken[i];
        if (t->m && (!topic || taken_of(t, topic, partition))) {
            rd_kafka_message_destroy(t->m);
            t->m = NULL;
        }
    }
}

/* Take a batch off the queue after the held messages (callbacks may run
 * inside). 0, or -1 when memory ran out for the list. */
static int taken_refill(struct herald__kafka *k)
{
    size_t keep = 0;
    for (size_t i = k->head; i < k->n; i++) {
        if (k->taken[i].m) {
            k->taken[keep++] = k->taken[i];
        }
    }
    k->head = 0;
    k->n = keep;
    if (k->n + POLL_BATCH > k->cap) {
        size_t cap = k->cap ? k->cap * 2 : POLL_BATCH;
        while (cap < k->n + POLL_BATCH) {
            cap *= 2;
        }
        struct taken *t = realloc(k->taken, cap * sizeof *t);
        if (!t) {
            return -1;
        }
        k->taken = t;
        k->cap = cap;
    }
    ssize_t got =
        rd_kafka_consume_batch_queue(k->queue, 0, k->batch, POLL_BATCH);
    for (ssize_t i = 0; i < got; i++) {
        k->taken[k->n++] = (struct taken){k->batch[i], 0};
    }
    if (k->closing) {
        taken_drop(k, NULL, 0); /* closed inside a callback */
    }
    return 0;
}

/* The next message to hand on, or NULL when there is none. */
static rd_kafka_message_t *next_message(struct herald__kafka *k)
{
    for (int pass = 0; pass < 2; pass++) {
        while (k->head < k->n && !k->taken[k->head].m) {
            k->head++;
        }
        for (size_t i = k->head; i < k->n; i++) {
            struct taken *t = &k->taken[i];
            if (t->m && !t->held) {
                rd_kafka_message_t *m = t->m;
                t->m = NULL;
                return m;
            }
        }
        if (pass == 0 && taken_refill(k) != 0) {
            /* No room to take a batch: one message, as librdkafka
             * hands it. */
            return rd_kafka_consumer_poll(k->rk, 0);
        }
    }
    return NULL;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct herald__kafka *k = opaque;
    k->last_rebalance_ms = herald__loop_now_ms(k->loop);
    size_t n = 0;
    struct herald__tp *a = tps_of(parts, &n);
    /* Taken messages of these partitions (held by a pause) belong to the
     * assignment that ends: the next owner, or this one anew, fetches
     * from the committed offset. */
    for (int i = 0; i < parts->cnt; i++) {
        taken_drop(k, parts->elems[i].topic, parts->elems[i].partition);
    }
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        logf_k(HERALD_LOG_INFO, k, "assigned %d partition(s) (%s)", parts->cnt,
               rd_kafka_rebalance_protocol(rk));
        if (k->cooperative) {
            rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
            if (e) {
                logf_k(HERALD_LOG_ERROR, k, "assign: %s",
                       rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
            }
        } else {
            rd_kafka_assign(rk, parts);
        }
        k->cbs.assigned(k->ctx, a, n);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        int lost = rd_kafka_assignment_lost(rk);
        if (lost) {
            logf_k(HERALD_LOG_WARN, k,
                   "%d partition(s) lost (the group moved on without "
                   "us): records final since the last commit will be "
                   "delivered again by their next owner",
                   parts->cnt);
        }
        k->cbs.revoked(k->ctx, a, n, lost);
    } else {
        logf_k(HERALD_LOG_ERROR, k, "rebalance error: %s",
               rd_kafka_err2str(err));
        rd_kafka_assign(rk, NULL);
    }
    free(a);
}

static void on_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    (void)rk;
    struct herald__kafka *k = opaque;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR ||
        err == RD_KAFKA_RESP_ERR__NO_OFFSET) {
        return;
    }
    logf_k(HERALD_LOG_WARN, k, "async commit failed: %s",
           rd_kafka_err2str(err));
    size_t n = 0;
    struct herald__tp *a = tps_of(offsets, &n);
    if (a) {
        k->cbs.commit_failed(k->ctx, a, n);
    }
    free(a);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct herald__kafka *k = opaque;
    logf_k(HERALD_LOG_WARN, k, "kafka: %s: %s",
           rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[ERR_MAX];
        rd_kafka_fatal_error(rk, buf, sizeof buf);
        logf_k(HERALD_LOG_ERROR, k, "fatal kafka error: %s", buf);
    }
}

static void on_readable(void *ctx, int fd, int events)
{
    (void)events;
    struct herald__kafka *k = ctx;
    herald__kafka_drain_pipe(fd);
    k->cbs.wake(k->ctx);
}

static void on_poll_timer(void *ctx)
{
    struct herald__kafka *k = ctx;
    k->cbs.wake(k->ctx);
}

struct herald__kafka *herald__kafka_new(struct herald__loop *loop,
                                        const struct herald__kafka_opts *o,
                                        const struct herald__kafka_cbs *cbs,
                                        void *ctx, char *err, size_t errlen)
{
    struct herald__kafka *k = calloc(1, sizeof *k);
    if (!k || !(k->name = strdup(o->name))) {
        free(k);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    k->loop = loop;
    k->cbs = *cbs;
    k->ctx = ctx;
    k->pipefd[0] = k->pipefd[1] = -1;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    herald__kafka_conf_init(conf);
    /* Prefetch (bench/RESULTS.md): librdkafka fills a queue of up to 64 MB
     * by default, and once it is full looks again only after
     * fetch.queue.backoff.ms (1 s by default). A small queue looked at
     * often costs no throughput: herald drains 2 MB (~7,000 records) in
     * ~20 ms, longer than the 5 ms backoff, so the fetcher stays ahead at
     * ~31 MB peak RSS against 78 MB with 16 MB. Notify connectors wait on
     * a channel of ~1,000 emails/s, so 512 KB (~140,000 records/s, 22 MB)
     * is plenty. queued.min.messages stays librdkafka's: with these byte
     * limits it never binds first. A user's kafka: settings come after and
     * win. */
    if (herald__kafka_set(conf, "auto.offset.reset", "earliest", err, errlen) ||
        herald__kafka_set(conf, "fetch.queue.backoff.ms",
                          o->notify ? PREFETCH_BACKOFF_MS_NOTIFY
                                    : PREFETCH_BACKOFF_MS,
                          err, errlen) ||
        herald__kafka_set(conf, "queued.max.messages.kbytes",
                          o->notify ? PREFETCH_KBYTES_NOTIFY : PREFETCH_KBYTES,
                          err, errlen) ||
        herald__kafka_apply(conf, o->global, err, errlen) ||
        herald__kafka_apply(conf, o->local, err, errlen) ||
        herald__kafka_set(conf, "group.id", o->group_id, err, errlen) ||
        herald__kafka_set(conf, "enable.auto.commit", "false", err, errlen) ||
        herald__kafka_set(conf, "enable.auto.offset.store", "false", err,
                          errlen)) {
        rd_kafka_conf_destroy(conf);
        herald__kafka_destroy(k);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(conf, on_commit_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    char e[ERR_MAX];
    size_t sz = sizeof e;
    int64_t poll_ms = MAX_POLL_INTERVAL_DEFAULT_MS;
    if (rd_kafka_conf_get(conf, "max.poll.interval.ms", e, &sz) ==
        RD_KAFKA_CONF_OK) {
        poll_ms = strtoll(e, NULL, 10);
    }
    k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
    if (!k->rk) {
        snprintf(err, errlen, "kafka consumer: %s", e);
        herald__kafka_destroy(k);
        return NULL;
    }
    size_t psz = sizeof e;
    if (rd_kafka_conf_get(rd_kafka_conf(k->rk), "partition.assignment.strategy",
                          e, &psz) == RD_KAFKA_CONF_OK &&
        strstr(e, "cooperative")) {
        k->cooperative = 1;
    }
    rd_kafka_poll_set_consumer(k->rk);
    k->queue = rd_kafka_queue_get_consumer(k->rk);
    k->poll_timer = herald__timer_new(loop, on_poll_timer, k);
    if (!k->poll_timer ||
        herald__kafka_wake_pipe(loop, k->queue, k->pipefd, &k->watch,
                                on_readable, k, err, errlen) != 0) {
        herald__kafka_destroy(k);
        return NULL;
    }
    rd_kafka_topic_partition_list_t *subs =
        rd_kafka_topic_partition_list_new((int)o->n_topics);
    for (size_t i = 0; i < o->n_topics; i++) {
        rd_kafka_topic_partition_list_add(subs, o->topics[i],
                                          RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t rerr = rd_kafka_subscribe(k->rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (rerr) {
        snprintf(err, errlen, "subscribe: %s", rd_kafka_err2str(rerr));
        herald__kafka_destroy(k);
        return NULL;
    }
    uint64_t every = poll_ms / 4 < POLL_EVERY_MAX_MS ? (uint64_t)(poll_ms / 4)
                                                     : POLL_EVERY_MAX_MS;
    herald__timer_start(k->poll_timer, every, every);
    return k;
}

uint64_t herald__kafka_quarter_poll_interval(const struct herald__kafka *k)
{
    char e[ERR_MAX];
    size_t sz = sizeof e;
    int64_t poll_ms = MAX_POLL_INTERVAL_DEFAULT_MS;
    if (rd_kafka_conf_get(rd_kafka_conf(k->rk), "max.poll.interval.ms", e,
                          &sz) == RD_KAFKA_CONF_OK) {
        poll_ms = strtoll(e, NULL, 10);
    }
    return (uint64_t)(poll_ms / 4);
}

int herald__kafka_poll(struct herald__kafka *k)
{
    if (!k->rk || k->closing) {
        return 0;
    }
    rd_kafka_message_t *m = next_message(k);
    if (!m) {
        return 0;
    }
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            logf_k(HERALD_LOG_WARN, k, "consumer: %s",
                   rd_kafka_message_errstr(m));
            if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
                k->cbs.fatal(k->ctx);
            }
        }
        rd_kafka_message_destroy(m);
        return 1;
    }
    rd_kafka_timestamp_type_t tstype;
    /* herald__kafka_msg_record takes the message (sets lend to NULL) when
     * it makes a record that borrows from it. */
    rd_kafka_message_t *lend = m;
    struct herald__kafka_msg msg = {
        .topic = rd_kafka_topic_name(m->rkt),
        .partition = m->partition,
        .offset = m->offset,
        .timestamp = rd_kafka_message_timestamp(m, &tstype),
        .key = m->key,
        .key_len = m->key_len,
        .value = m->payload,
        .value_len = m->len,
        .impl = &lend,
    };
    k->cbs.message(k->ctx, &msg);
    if (lend) {
        rd_kafka_message_destroy(lend);
    }
    return 1;
}

/* A record's release callback: the message it borrowed from. Any thread
 * (librdkafka's messages may be destroyed from any). */
static void release_message(void *opaque)
{
    rd_kafka_message_destroy(opaque);
}

/* The record's headers from its message, on first use (record.h): names
 * and values live in the message's header list, which lives as long as
 * the message (librdkafka NUL-terminates values). Parsing them allocates
 * even for a message without any, so it waits until someone asks. */
static int load_headers(void *opaque, struct herald_record *r)
{
    rd_kafka_headers_t *hdrs = NULL;
    const char *name;
    const void *val;
    size_t len;

    if (rd_kafka_message_headers(opaque, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return 0; /* none */
    }
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &len) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR;
         i++) {
        if (herald__record_borrow_header(r, name, val, len) != 0) {
            return -1;
        }
    }
    return 0;
}

struct herald_record *
herald__kafka_msg_record(const struct herald__kafka_msg *m)
{
    rd_kafka_message_t **lend = (rd_kafka_message_t **)m->impl;
    rd_kafka_message_t *rm = *lend;
    if (!rm) {
        return NULL; /* already taken */
    }
    struct herald_record *r = herald__record_borrow(
        m->topic, m->partition, m->offset, m->timestamp, m->key, m->key_len,
        m->value, m->value_len, release_message, rm);
    if (!r) {
        return NULL;
    }
    *lend = NULL; /* the record releases it now */
    herald__record_defer_headers(r, load_headers);
    return r;
}

void herald__kafka_pause(struct herald__kafka *k, const char *topic,
                         int32_t partition, int on)
{
    if (!k || !k->rk) {
        return;
    }
    taken_hold(k, topic, partition, on);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition);
    if (on) {
        rd_kafka_pause_partitions(k->rk, l);
    } else {
        rd_kafka_resume_partitions(k->rk, l);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

int herald__kafka_commit(struct herald__kafka *k, const struct herald__tp *l,
                         size_t n, int sync)
{
    if (!k || !k->rk || n == 0) {
        return 0;
    }
    rd_kafka_topic_partition_list_t *rl = list_of(l, n, 1);
    rd_kafka_resp_err_t err = rd_kafka_commit(k->rk, rl, !sync);
    rd_kafka_topic_partition_list_destroy(rl);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        logf_k(HERALD_LOG_WARN, k, "commit failed: %s", rd_kafka_err2str(err));
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        logf_k(HERALD_LOG_DEBUG, k,
               "commit %s [%" PRId32 "] offset %" PRId64 "%s", l[i].topic,
               l[i].partition, l[i].offset, sync ? " (sync)" : "");
    }
    return 0;
}

int herald__kafka_commit_paused(const struct herald__kafka *k)
{
    /* A cooperative rebalance runs in several rounds, and librdkafka
     * (2.0.2 and 2.8.0 alike) treats an async commit that meets the next
     * round's generation as lost partitions (ILLEGAL_GENERATION): their
     * records since the last commit come again (it4_rebalance without
     * this pause: 180 duplicates for 60 in flight on 2.8.0). Periodic
     * commits pause for a few seconds after a rebalance; revoke and
     * shutdown still commit synchronously. */
    return k->cooperative && k->last_rebalance_ms &&
           herald__loop_now_ms(k->loop) - k->last_rebalance_ms <
               COOPERATIVE_COMMIT_PAUSE_MS;
}

void herald__kafka_release(struct herald__kafka *k, const struct herald__tp *l,
                           size_t n)
{
    if (!k || !k->rk) {
        return;
    }
    logf_k(HERALD_LOG_INFO, k, "released %zu partition(s)", n);
    if (k->cooperative) {
        rd_kafka_topic_partition_list_t *rl = list_of(l, n, 0);
        rd_kafka_error_t *e = rd_kafka_incremental_unassign(k->rk, rl);
        rd_kafka_topic_partition_list_destroy(rl);
        if (e) {
            logf_k(HERALD_LOG_WARN, k, "unassign: %s",
                   rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
    } else {
        rd_kafka_assign(k->rk, NULL);
    }
}

static void on_close_timer(void *ctx)
{
    struct herald__kafka *k = ctx;
    /* The close's events come as events on a queue of its own: the
     * revoke is handed to the same rebalance handling as ever. */
    rd_kafka_event_t *ev;
    while (!k->closed && (ev = rd_kafka_queue_poll(k->close_q, 0))) {
        if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE) {
            rebalance_cb(k->rk, rd_kafka_event_error(ev),
                         rd_kafka_event_topic_partition_list(ev), k);
        }
        rd_kafka_event_destroy(ev);
    }
    if (k->closed || !rd_kafka_consumer_closed(k->rk)) {
        return;
    }
    k->closed = 1;
    herald__timer_stop(k->close_timer);
    logf_k(HERALD_LOG_DEBUG, k, "consumer closed");
    k->cbs.closed(k->ctx);
}

void herald__kafka_close(struct herald__kafka *k)
{
    if (!k || !k->rk || k->closing) {
        return;
    }
    k->closing = 1;
    taken_drop(k, NULL, 0);
    herald__timer_stop(k->poll_timer);
    k->close_q = rd_kafka_queue_new(k->rk);
    rd_kafka_error_t *e = rd_kafka_consumer_close_queue(k->rk, k->close_q);
    if (e) {
        logf_k(HERALD_LOG_WARN, k, "close: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
    k->close_timer = herald__timer_new(k->loop, on_close_timer, k);
    if (!k->close_timer) {
        k->closed = 1; /* cannot wait: destroy will not close */
        k->cbs.closed(k->ctx);
        return;
    }
    herald__timer_start(k->close_timer, 0, CLOSE_POLL_MS);
}

void herald__kafka_destroy(struct herald__kafka *k)
{
    if (!k) {
        return;
    }
    taken_drop(k, NULL, 0);
    free(k->taken);
    herald__timer_destroy(k->poll_timer);
    herald__timer_destroy(k->close_timer);
    herald__watch_destroy(k->watch);
    if (k->queue) {
        /* The handle is freed on another thread after the pipe is closed:
         * nothing may write to the pipe's (reusable) fd any more. */
        rd_kafka_queue_io_event_enable(k->queue, -1, NULL, 0);
        rd_kafka_queue_destroy(k->queue);
    }
    if (k->close_q) {
        rd_kafka_queue_destroy(k->close_q);
    }
    if (k->rk) {
        /* Closed already, or given up on (a second signal): never wait
         * here for the group. */
        herald__kafka_reap(k->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
    herald__kafka_close_pipe(k->pipefd);
    free(k->name);
    free(k);
}

/* ---- the demo's mock cluster ------------------------------------------- */

struct herald__kafka_mock {
    rd_kafka_t *rk; /* the producer that holds the cluster */
    rd_kafka_mock_cluster_t *mc;
    char *bootstraps;
};

struct herald__kafka_mock *herald__mock_new(char *err, size_t errlen)
{
    struct herald__kafka_mock *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err, errlen) !=
        RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        free(m);
        return NULL;
    }
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (!m->rk) {
        free(m);
        return NULL;
    }
    m->mc = rd_kafka_handle_mock_cluster(m->rk);
    m->bootstraps = strdup(rd_kafka_mock_cluster_bootstraps(m->mc));
    if (!m->bootstraps) {
        snprintf(err, errlen, "out of memory");
        herald__mock_destroy(m);
        return NULL;
    }
    return m;
}

const char *herald__mock_bootstraps(const struct herald__kafka_mock *m)
{
    return m->bootstraps;
}

int herald__mock_topic(struct herald__kafka_mock *m, const char *topic,
                       int partitions)
{
    return rd_kafka_mock_topic_create(m->mc, topic, partitions, 1) ? -1 : 0;
}

int herald__mock_produce(struct herald__kafka_mock *m, const char *topic,
                         const void *key, size_t klen, const void *value,
                         size_t vlen)
{
    rd_kafka_resp_err_t err = rd_kafka_producev(
        m->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY((void *)key, klen),
        RD_KAFKA_V_VALUE((void *)value, vlen),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    return err ? -1 : 0;
}

int herald__mock_flush(struct herald__kafka_mock *m, int timeout_ms)
{
    return rd_kafka_flush(m->rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0
                                                                           : -1;
}

void herald__mock_destroy(struct herald__kafka_mock *m)
{
    if (!m) {
        return;
    }
    rd_kafka_destroy(m->rk);
    free(m->bootstraps);
    free(m);
}
