/*
 * connector.c - one connector: Kafka -> decode -> [notify render] -> plugin
 * -> outcome -> offsets. Kafka is reached through kafka.h only.
 *
 * Delivery is at-least-once. Every consumed record is tracked per partition
 * (offsets.c) until its outcome is final: OK, or REJECT handled by the error
 * policy. Commits only ever name the first offset still in doubt. RETRY puts
 * the record on a backoff timer and pauses its partition; the others go on.
 * A record whose schema is not available yet holds its partition (the
 * records behind it queue up in order) until the registry answers.
 * UNAVAILABLE (the channel failed, not the record) pauses every partition
 * and holds the records until a probe gets through (see channel_down).
 * Rebalances are handled in the rebalance callback: on revoke the partitions
 * are paused, in-flight work drains up to drain_timeout, what is final is
 * committed synchronously, and only then is the assignment given up (the
 * unassign is deferred out of the callback, which librdkafka allows).
 */
#include "connector.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "api.h"
#include "connector_config.h"
#include "decode.h"
#include "dedup.h"
#include "kafka.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "offsets.h"
#include "record.h"
#include "registry.h"

enum {
    PAUSE_RETRY = 1,    /* a record of this partition waits for backoff */
    PAUSE_SCHEMA = 2,   /* a record waits for its schema */
    PAUSE_PRESSURE = 4, /* too many records in flight on the connector */
    PAUSE_REVOKE = 8,   /* being revoked: take nothing more */
    PAUSE_DLQ = 16,     /* a dead-letter or mark write failed: wait */
    PAUSE_MARKS = 32,   /* dedup marks not read back yet */
    PAUSE_CHANNEL = 64, /* the channel is unavailable (channel_down) */
};

/* While a channel is unavailable a line about it is logged at most this
 * often (plus one when it goes down and one when it comes back). */
#define CHANNEL_LOG_INTERVAL_MS 60000
#define CHANNEL_REASON_MAX 512
/* Room for a human-readable error from a setup call. */
#define ERR_MAX 512

/* How often the marks being read back are polled (loop ms). */
#define MARKS_POLL_MS 20
/* Records taken off the consumer per loop turn before yielding. */
#define PUMP_MAX_PER_TURN 5000
/* Dedup marks taken per loop turn. */
#define MARKS_MAX_PER_TURN 2000
/* A revoke or stop checks its drain this often. */
#define DRAIN_CHECK_MS 20
/* Backpressure pauses after a quarter of max.poll.interval.ms, at most
 * this long. */
#define PRESSURE_GRACE_MAX_MS 2000
/* After the consumer closed, writes still in flight (dead letters, marks)
 * get this long to be acknowledged. */
#define FLUSH_TIMEOUT_MS 5000
/* A closing consumer that does not finish is given up after this. */
#define CLOSE_TIMEOUT_MS 10000
/* A record waiting for another with the same dedup key looks again after
 * this. */
#define DEDUP_PARK_MS 50
/* A failed dead-letter or mark write is tried again no sooner than this. */
#define WRITE_RETRY_MIN_MS 100

struct job;

struct part {
    char *topic;
    int32_t partition;
    struct herald__partoffsets offs;
    int pause_mask;
    int revoked;                       /* given up: late outcomes are ignored */
    size_t jobs;                       /* jobs alive that point here */
    struct job *held_head, *held_tail; /* waiting for a schema, in order */
    size_t retrying;                   /* jobs on a backoff timer */
    size_t channel_held;               /* jobs held for the channel */
    struct part *next;
};

struct job {
    struct herald__connector *c;
    struct part *part;
    struct herald_record *rec;
    struct herald__rendered *msg;
    int attempts;
    uint64_t first_ms;
    struct herald__timer *retry_timer;
    struct job *next; /* held queue / batch list */
    int retrying;     /* waiting for its backoff (on c->timed) */
    uint64_t held_ms; /* loop ms it was held for the channel */
    /* dead-letter write in progress (or waiting to be tried again) */
    int dlq;
    char *dlq_stage, *dlq_class, *dlq_exc, *dlq_reason;
    struct herald__timer *dlq_timer;
    int dlq_attempts;
    /* dedup */
    char *dedup_key;           /* set when this record holds the key's turn */
    char *parked_key;          /* set while it waits for another's turn */
    struct job *tnext, *tprev; /* on c->timed while a timer owns it */
    int timed;
    int marked; /* its mark is written */
    int mark_attempts;
    struct herald__timer *dedup_timer;
};

struct herald__connector {
    const struct herald__connector_env *env;
    struct herald__connector_config cfg; /* every setting, parsed */

    struct herald__decoder *decoder;
    struct herald__notify *notify;
    struct herald_instance *inst;

    /* batching */
    struct job *batch_head, *batch_tail;
    size_t batch_n, batch_bytes;
    struct herald__timer *linger_timer;

    int64_t in_flight;

    /* errors */
    struct herald__kafka_producer *producer; /* dead letters, dedup marks */
    int64_t dlq_waiting; /* jobs whose dead-letter write is not acked */
    struct herald__dedup *dedup;
    int64_t marks_waiting;             /* jobs whose dedup mark is not acked */
    struct herald__timer *marks_timer; /* reads dedup marks back */
    int64_t dedup_parked; /* records waiting for a same-key record */
    struct job *timed;    /* jobs owned by a dedup or dead-letter timer */
    /* The channel said UNAVAILABLE: records are held (in the order they
     * came back) and one at a time is sent as a probe. */
    struct {
        int down;
        char reason[CHANNEL_REASON_MAX]; /* the last UNAVAILABLE's */
        uint64_t since;                  /* loop ms it went down */
        uint64_t last_log;               /* loop ms of the last line */
        int probes;                      /* failed probes since then */
        struct job *probe;               /* in flight as the probe */
        struct job *head, *tail;         /* held, linked by next */
        int64_t held;
        struct herald__timer *timer;
    } ch;

    /* kafka */
    struct herald__kafka *k; /* the consumer; NULL before start, after stop */
    int starting;            /* the dedup marks topic is being prepared */
    struct herald__timer *more_timer;
    struct herald__timer *commit_timer;
    struct herald__timer *drain_timer;
    struct part *parts;

    /* revoke in progress (topics owned) */
    struct herald__tp *revoking;
    size_t n_revoking;
    int revoke_lost;
    uint64_t revoke_deadline;

    /* stop */
    int stopping;
    int stopped;  /* drained: the consumer is closing or closed */
    int finished; /* on_stopped was called */
    int at_once;  /* a second stop: nothing more is waited for */
    int failed;
    uint64_t stop_deadline;
    uint64_t flush_deadline; /* waiting for the producer's last writes */

    struct herald__connector_stats stats;
    int64_t finals;
    /* backpressure: no more records are taken from the consumer while
     * in_flight is at max_in_flight; only when that lasts longer than
     * pressure_grace_ms are the partitions paused, to keep polling. */
    uint64_t throttled_since; /* loop ms, 0: not throttled */
    int paused_for_pressure;
    uint64_t pressure_grace_ms;
};

static void pump(struct herald__connector *c);
static void process(struct herald__connector *c, struct job *j);
static void finish_job(struct herald__connector *c, struct job *j);
static void check_drain(struct herald__connector *c);

static void logf_part(enum herald_log_level lv, struct herald__connector *c,
                      const struct herald_record *r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void logf_part(enum herald_log_level lv, struct herald__connector *c,
                      const struct herald_record *r, const char *fmt, ...)
{
    char msg[1536], fields[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r) {
        snprintf(fields, sizeof fields,
                 "connector=%s topic=%s partition=%" PRId32 " offset=%" PRId64,
                 c->cfg.name, r->topic, r->partition, r->offset);
    } else {
        snprintf(fields, sizeof fields, "connector=%s", c->cfg.name);
    }
    herald__log(lv, fields, "%s", msg);
}

/* ---- partitions -------------------------------------------------------- */

static struct part *part_find(struct herald__connector *c, const char *topic,
                              int32_t partition)
{
    for (struct part *p = c->parts; p; p = p->next) {
        if (!p->revoked && p->partition == partition &&
            strcmp(p->topic, topic) == 0) {
            return p;
        }
    }
    return NULL;
}

static struct part *part_add(struct herald__connector *c, const char *topic,
                             int32_t partition)
{
    struct part *p = part_find(c, topic, partition);
    if (p) {
        return p;
    }
    p = calloc(1, sizeof *p);
    if (!p) {
        return NULL;
    }
    p->topic = strdup(topic);
    p->partition = partition;
    herald__partoffsets_init(&p->offs);
    p->next = c->parts;
    c->parts = p;
    return p;
}

/* Tell librdkafka what p's pause bits say, whatever it believed before
 * (a pause outlives an unassign/assign cycle in librdkafka). */
static void apply_pause(struct herald__connector *c, struct part *p)
{
    herald__kafka_pause(c->k, p->topic, p->partition, p->pause_mask != 0);
}

/* Free revoked partitions no job points to any more. */
static void parts_gc(struct herald__connector *c)
{
    struct part **pp = &c->parts;
    while (*pp) {
        struct part *p = *pp;
        if (p->revoked && p->jobs == 0) {
            *pp = p->next;
            herald__partoffsets_cleanup(&p->offs);
            free(p->topic);
            free(p);
        } else {
            pp = &p->next;
        }
    }
}

static void set_paused(struct herald__connector *c, struct part *p, int bit,
                       int on)
{
    int before = p->pause_mask;
    p->pause_mask = on ? (before | bit) : (before & ~bit);
    if (!c->k || p->revoked || (before != 0) == (p->pause_mask != 0)) {
        return;
    }
    apply_pause(c, p);
}

static void pressure_pause(struct herald__connector *c, int on)
{
    c->paused_for_pressure = on;
    for (struct part *p = c->parts; p; p = p->next) {
        set_paused(c, p, PAUSE_PRESSURE, on);
    }
}

/* Records handed on and not final yet: batched, at the plugin, or sent
 * and waiting for their dedup mark or dead letter to be acknowledged. A
 * crash redelivers at most these, so max_in_flight bounds them all. */
static int64_t busy(const struct herald__connector *c)
{
    return c->in_flight + (int64_t)c->batch_n + c->marks_waiting +
           c->dlq_waiting + c->ch.held;
}

static int pressure_full(const struct herald__connector *c)
{
    return busy(c) >= c->cfg.max_in_flight;
}

/* After outcomes: once half drained, take records again. Pausing is the
 * last resort (pump): it makes librdkafka drop what it prefetched. */
static void pressure_update(struct herald__connector *c)
{
    if (c->throttled_since && busy(c) <= c->cfg.max_in_flight / 2) {
        c->throttled_since = 0;
        if (c->paused_for_pressure) {
            pressure_pause(c, 0);
        }
        if (c->k && !c->stopping) {
            herald__timer_start(c->more_timer, 0, 0);
        }
    }
}

/* ---- commits ----------------------------------------------------------- */

static int tp_in(const struct herald__tp *l, size_t n, const char *topic,
                 int32_t partition)
{
    for (size_t i = 0; i < n; i++) {
        if (l[i].partition == partition && strcmp(l[i].topic, topic) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Commit what is final for the partitions in only (NULL: all owned).
 * Synchronous on revoke and shutdown, asynchronous otherwise. */
static void commit_parts(struct herald__connector *c,
                         const struct herald__tp *only, size_t n_only, int sync)
{
    if (!c->k || c->env->tail) {
        return; /* tail reads with a throwaway group and commits nothing */
    }
    size_t cap = 0, n = 0;
    for (struct part *p = c->parts; p; p = p->next) {
        cap++;
    }
    struct herald__tp *l = cap ? calloc(cap, sizeof *l) : NULL;
    if (!l) {
        return; /* out of memory: the next commit tries again */
    }
    for (struct part *p = c->parts; p; p = p->next) {
        if (p->revoked ||
            (only && !tp_in(only, n_only, p->topic, p->partition))) {
            continue;
        }
        int64_t off = herald__partoffsets_committable(&p->offs);
        if (off < 0 || off == p->offs.committed) {
            continue;
        }
        l[n++] = (struct herald__tp){p->topic, p->partition, off};
        p->offs.committed = off;
    }
    if (n > 0 && herald__kafka_commit(c->k, l, n, sync) != 0) {
        for (size_t i = 0; i < n; i++) {
            struct part *p = part_find(c, l[i].topic, l[i].partition);
            if (p) {
                p->offs.committed = -1; /* try again next time */
            }
        }
    }
    free(l);
}

static void on_commit_failed(void *ctx, const struct herald__tp *l, size_t n)
{
    struct herald__connector *c = ctx;
    for (size_t i = 0; i < n; i++) {
        struct part *p = part_find(c, l[i].topic, l[i].partition);
        if (p) {
            p->offs.committed = -1;
        }
    }
}

static void on_commit_timer(void *ctx)
{
    struct herald__connector *c = ctx;
    if (c->k && herald__kafka_commit_paused(c->k)) {
        return;
    }
    commit_parts(c, NULL, 0, 0);
}

/* ---- outcomes ---------------------------------------------------------- */

/* Jobs whose only owner is a timer (a retry backoff, a dedup wait, a
 * dead-letter or mark write to try again) are listed, so a stop can drop
 * them. */
static void timed_add(struct herald__connector *c, struct job *j)
{
    if (j->timed) {
        return;
    }
    j->timed = 1;
    j->tprev = NULL;
    j->tnext = c->timed;
    if (c->timed) {
        c->timed->tprev = j;
    }
    c->timed = j;
}

static void timed_del(struct herald__connector *c, struct job *j)
{
    if (!j->timed) {
        return;
    }
    if (j->tprev) {
        j->tprev->tnext = j->tnext;
    } else {
        c->timed = j->tnext;
    }
    if (j->tnext) {
        j->tnext->tprev = j->tprev;
    }
    j->tnext = j->tprev = NULL;
    j->timed = 0;
}

/* The job's backoff is over (or it goes away): its partition may run. */
static void retry_unlink(struct herald__connector *c, struct job *j)
{
    if (!j->retrying) {
        return;
    }
    timed_del(c, j);
    j->retrying = 0;
    if (j->part->retrying > 0 && --j->part->retrying == 0) {
        set_paused(c, j->part, PAUSE_RETRY, 0);
    }
}

static void job_destroy(struct job *j)
{
    if (!j) {
        return;
    }
    retry_unlink(j->c, j);
    timed_del(j->c, j);
    if (j->dedup_key) {
        if (!j->marked) {
            /* Never notified: another record with this key may go. */
            herald__dedup_clear(j->c->dedup, j->dedup_key);
        }
        free(j->dedup_key);
    }
    if (j->parked_key) {
        j->c->dedup_parked--;
        free(j->parked_key);
    }
    herald__timer_destroy(j->dedup_timer);
    if (j->dlq) {
        j->c->dlq_waiting--;
        herald__timer_destroy(j->dlq_timer);
        free(j->dlq_stage);
        free(j->dlq_class);
        free(j->dlq_exc);
        free(j->dlq_reason);
    }
    herald__timer_destroy(j->retry_timer);
    herald__rendered_destroy(j->msg);
    herald__record_destroy(j->rec);
    if (j->part) {
        j->part->jobs--;
    }
    free(j);
}

/* The record's outcome is final: its offset may be committed. */
static void finish_job(struct herald__connector *c, struct job *j)
{
    struct part *p = j->part;
    if (!p->revoked) {
        herald__partoffsets_final(&p->offs, j->rec->offset);
    }
    c->finals++;
    job_destroy(j);
    if (c->env->hooks.final &&
        c->env->hooks.final(c->env->hooks.ctx, c, c->finals) && !c->stopping) {
        herald__connector_stop(c);
    }
    check_drain(c);
}

static void fail_connector(struct herald__connector *c);

static void dlq_send(struct herald__connector *c, struct job *j);
static int64_t backoff_ms(struct herald__connector *c, int attempts);

/* One of our own writes to Kafka (a dead letter, a dedup mark) was
 * acknowledged: the record is final. */
static void write_done(struct herald__connector *c, struct job *j)
{
    if (j->part->pause_mask & PAUSE_DLQ) {
        set_paused(c, j->part, PAUSE_DLQ, 0);
    }
    finish_job(c, j);
    pressure_update(c);
}

/* ... or it failed: the record stays in doubt and its partition waits, so
 * nothing is dropped; the write is tried again after a backoff on timer t
 * (the job's), unless the partition is gone or the connector stopped. */
static void write_again(struct herald__connector *c, struct job *j,
                        int *attempts, struct herald__timer *t,
                        const char *what, const char *err)
{
    (*attempts)++;
    int64_t wait = backoff_ms(c, *attempts);
    if (wait < WRITE_RETRY_MIN_MS) {
        wait = WRITE_RETRY_MIN_MS;
    }
    logf_part(HERALD_LOG_ERROR, c, j->rec,
              "cannot write %s (attempt %d, again in %" PRId64 " ms): %s", what,
              *attempts, wait, err ? err : "?");
    set_paused(c, j->part, PAUSE_DLQ, 1);
    if (j->part->revoked || c->stopped) {
        job_destroy(j);
        parts_gc(c);
        check_drain(c);
        return;
    }
    timed_add(c, j);
    herald__timer_start(t, (uint64_t)wait, 0);
}

static void on_dlq_done(void *ctx, int ok, const char *err)
{
    struct job *j = ctx;
    struct herald__connector *c = j->c;
    if (ok) {
        logf_part(HERALD_LOG_WARN, c, j->rec,
                  "record rejected, written to dead-letter topic %s: %s",
                  c->cfg.dead_letter_topic, j->dlq_reason);
        write_done(c, j);
        return;
    }
    char what[300];
    snprintf(what, sizeof what, "to dead-letter topic %s",
             c->cfg.dead_letter_topic);
    write_again(c, j, &j->dlq_attempts, j->dlq_timer, what, err);
}

static void on_dlq_timer(void *ctx)
{
    struct job *j = ctx;
    struct herald__connector *c = j->c;
    timed_del(c, j);
    if (c->stopped || j->part->revoked) {
        job_destroy(j);
        parts_gc(c);
        check_drain(c);
        return;
    }
    dlq_send(c, j);
}

static void dlq_send(struct herald__connector *c, struct job *j)
{
    if (herald__producer_send_dead_letter(c->producer, c->cfg.dead_letter_topic,
                                          c->cfg.name, j->rec, j->dlq_stage,
                                          j->dlq_class, j->dlq_exc,
                                          j->dlq_reason, on_dlq_done, j) != 0) {
        on_dlq_done(j, 0, "the producer queue refused the write");
    }
}

/* REJECT, poison, or retries exhausted. stage, cls and exc describe where
 * it failed, in Kafka Connect's terms, for the dead-letter headers. */
static void reject_job(struct herald__connector *c, struct job *j,
                       const char *stage, const char *cls, const char *exc,
                       const char *reason)
{
    c->stats.rejected++;
    if (!c->cfg.tolerance_all) {
        logf_part(HERALD_LOG_ERROR, c, j->rec,
                  "record rejected and errors.tolerance is none: stopping "
                  "the connector; nothing past this record is committed: %s",
                  reason);
        /* The record stays in doubt, so its offset is never committed. */
        job_destroy(j);
        fail_connector(c);
        return;
    }
    if (c->cfg.dead_letter_topic) {
        j->dlq = 1;
        c->dlq_waiting++;
        j->dlq_stage = strdup(stage);
        j->dlq_class = strdup(cls);
        j->dlq_exc = strdup(exc);
        j->dlq_reason = strdup(reason);
        j->dlq_timer = herald__timer_new(c->env->loop, on_dlq_timer, j);
        dlq_send(c, j);
        return;
    }
    logf_part(HERALD_LOG_WARN, c, j->rec, "record rejected: %s", reason);
    finish_job(c, j);
}

static int64_t backoff_ms(struct herald__connector *c, int attempts)
{
    int64_t cap = c->cfg.retry_initial_ms;
    for (int i = 1; i < attempts && cap < c->cfg.retry_max_ms; i++) {
        cap *= 2;
    }
    if (cap > c->cfg.retry_max_ms) {
        cap = c->cfg.retry_max_ms;
    }
    /* Full jitter: uniform in [0, cap]. */
    return cap > 0 ? (int64_t)((double)rand() / RAND_MAX * (double)cap) : 0;
}

static void batch_add(struct herald__connector *c, struct job *j);
static void batch_flush(struct herald__connector *c);

static void on_retry_timer(void *ctx)
{
    struct job *j = ctx;
    struct herald__connector *c = j->c;
    struct part *p = j->part;
    retry_unlink(c, j);
    if (p->revoked || c->stopping) {
        job_destroy(j);
        parts_gc(c);
        check_drain(c);
        return;
    }
    batch_add(c, j);
    batch_flush(c);
}

static void retry_job(struct herald__connector *c, struct job *j,
                      int64_t retry_after_ms, const char *reason)
{
    uint64_t now = herald__loop_now_ms(c->env->loop);
    c->stats.retried++;
    j->attempts++;
    if (c->stopping) {
        /* Shutting down: leave it in doubt; it is redelivered next run. */
        job_destroy(j);
        check_drain(c);
        return;
    }
    if ((int64_t)(now - j->first_ms) >= c->cfg.retry_timeout_ms) {
        char why[1024];
        snprintf(why, sizeof why, "retries exhausted after %d attempts: %s",
                 j->attempts, reason ? reason : "no reason given");
        char cls[128];
        snprintf(cls, sizeof cls, "herald.plugin.%s", c->inst->def->name);
        reject_job(c, j, "TASK_PUT", cls, "herald.RetriesExhausted", why);
        return;
    }
    int64_t wait = backoff_ms(c, j->attempts);
    if (retry_after_ms > wait) {
        wait = retry_after_ms;
    }
    logf_part(HERALD_LOG_INFO, c, j->rec,
              "delivery will be retried in %" PRId64 " ms (attempt %d): %s",
              wait, j->attempts, reason ? reason : "no reason given");
    if (!j->retry_timer) {
        j->retry_timer = herald__timer_new(c->env->loop, on_retry_timer, j);
    }
    j->part->retrying++;
    j->retrying = 1;
    timed_add(c, j);
    set_paused(c, j->part, PAUSE_RETRY, 1);
    herald__timer_start(j->retry_timer, (uint64_t)wait, 0);
}

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void write_mark(struct herald__connector *c, struct job *j);
static void dedup_gate(struct herald__connector *c, struct job *j);

/* j->dedup_timer: a mark write to try again, or a record waiting for
 * another record with the same key to finish. */
static void on_mark_timer(void *ctx)
{
    struct job *j = ctx;
    struct herald__connector *c = j->c;
    timed_del(c, j);
    if (j->part->revoked || c->stopped) {
        job_destroy(j);
        parts_gc(c);
        check_drain(c);
        return;
    }
    if (j->dedup_key && !j->marked && j->mark_attempts > 0) {
        write_mark(c, j);
    } else {
        c->dedup_parked--;
        j->dedup_key = j->parked_key;
        j->parked_key = NULL;
        dedup_gate(c, j);
    }
}

static void on_mark_done(void *ctx, int ok, const char *err)
{
    struct job *j = ctx;
    struct herald__connector *c = j->c;
    c->marks_waiting--;
    if (ok) {
        j->marked = 1;
        herald__dedup_set_marked(c->dedup, j->dedup_key, wall_ms());
        write_done(c, j);
        return;
    }
    /* The notification went out but its mark is not written: a crash now
     * would send it again (the one duplicate window). */
    if (!j->dedup_timer) {
        j->dedup_timer = herald__timer_new(c->env->loop, on_mark_timer, j);
    }
    char what[300];
    snprintf(what, sizeof what, "dedup mark to %s",
             herald__dedup_topic(c->dedup));
    write_again(c, j, &j->mark_attempts, j->dedup_timer, what, err);
}

static void write_mark(struct herald__connector *c, struct job *j)
{
    char val[512];
    int n =
        snprintf(val, sizeof val,
                 "{\"ts\":%" PRId64 ",\"topic\":\"%s\",\"partition\":%" PRId32
                 ",\"offset\":%" PRId64 "}",
                 wall_ms(), j->rec->topic, j->rec->partition, j->rec->offset);
    if (n < 0 || (size_t)n >= sizeof val) {
        n = snprintf(val, sizeof val, "{\"ts\":%" PRId64 "}", wall_ms());
    }
    c->marks_waiting++;
    if (herald__producer_send(c->producer, herald__dedup_topic(c->dedup),
                              j->rec->partition, j->dedup_key,
                              strlen(j->dedup_key), val, (size_t)n,
                              on_mark_done, j) != 0) {
        /* Queue full: the failure path tries again shortly. */
        on_mark_done(j, 0, "the producer queue refused the write");
    }
}

/* ---- an unavailable channel ------------------------------------------- */

/* HERALD_UNAVAILABLE: the channel failed (a refused credential, a TLS
 * failure), not the record; every record would fail the same way until
 * someone fixes it. So the record is neither final nor rejected: it is
 * held, every partition pauses, nothing more is sent but one held record
 * at a time as a probe (after errors.channel_probe's initial,
 * doubling up to its max), and the first probe that
 * comes back with any other outcome resumes everything. Held time is not
 * retry time: neither the attempt count nor errors.retry.timeout moves,
 * so an alert waits out a credential fixed two hours later. Commits stop
 * at the first held record, as at any record in doubt. */

static int deliver_list(struct herald__connector *c, struct job *head,
                        size_t n);

static void channel_hold(struct herald__connector *c, struct job *j,
                         int at_head)
{
    j->held_ms = herald__loop_now_ms(c->env->loop);
    j->next = NULL;
    if (at_head) {
        j->next = c->ch.head;
        c->ch.head = j;
        if (!c->ch.tail) {
            c->ch.tail = j;
        }
    } else if (c->ch.tail) {
        c->ch.tail->next = j;
        c->ch.tail = j;
    } else {
        c->ch.head = c->ch.tail = j;
    }
    c->ch.held++;
    j->part->channel_held++;
}

/* The first held record, its waiting struck off its retry clock; NULL
 * when none is held. */
static struct job *channel_unhold(struct herald__connector *c)
{
    struct job *j = c->ch.head;
    if (!j) {
        return NULL;
    }
    c->ch.head = j->next;
    if (!c->ch.head) {
        c->ch.tail = NULL;
    }
    j->next = NULL;
    c->ch.held--;
    j->part->channel_held--;
    j->first_ms += herald__loop_now_ms(c->env->loop) - j->held_ms;
    return j;
}

/* Stop or destroy: held records stay in doubt and come again next run. */
static void channel_drop(struct herald__connector *c)
{
    struct job *j;
    while ((j = channel_unhold(c))) {
        job_destroy(j);
    }
    if (c->ch.timer) {
        herald__timer_stop(c->ch.timer);
    }
}

static void channel_schedule(struct herald__connector *c)
{
    int64_t wait = c->cfg.probe_initial_ms;
    for (int i = 0; i < c->ch.probes && wait < c->cfg.probe_max_ms; i++) {
        wait *= 2;
    }
    if (wait > c->cfg.probe_max_ms) {
        wait = c->cfg.probe_max_ms;
    }
    herald__timer_start(c->ch.timer, (uint64_t)wait, 0);
}

/* A probe (or, with nothing left to probe with, the loss of the last held
 * record) ends the wait: every partition runs and the held records go out
 * in the order they were held. */
static void channel_up(struct herald__connector *c)
{
    if (!c->ch.down) {
        return;
    }
    size_t n = 0;
    for (struct part *p = c->parts; p; p = p->next) {
        n += !p->revoked;
    }
    logf_part(HERALD_LOG_WARN, c, NULL,
              "channel %s is available again after %" PRIu64
              " ms (%d failed probe(s)): resuming %zu partition(s), "
              "%" PRId64 " held record(s) go out",
              c->inst->name, herald__loop_now_ms(c->env->loop) - c->ch.since,
              c->ch.probes, n, c->ch.held);
    c->ch.down = 0;
    c->ch.probes = 0;
    c->ch.reason[0] = '\0';
    herald__timer_stop(c->ch.timer);
    for (struct part *p = c->parts; p; p = p->next) {
        set_paused(c, p, PAUSE_CHANNEL, 0);
    }
    struct job *j;
    while ((j = channel_unhold(c))) {
        if (j->part->revoked) {
            job_destroy(j);
        } else {
            batch_add(c, j);
        }
    }
    parts_gc(c);
    batch_flush(c);
    pressure_update(c);
}

/* Send the first held record alone; its outcome decides (on_outcome). */
static void on_channel_timer(void *ctx)
{
    struct herald__connector *c = ctx;
    if (!c->ch.down || c->ch.probe || c->stopping) {
        return;
    }
    struct job *j;
    while ((j = channel_unhold(c)) && j->part->revoked) {
        job_destroy(j);
    }
    parts_gc(c);
    if (!j) {
        /* Nothing to probe with (its partitions went to another member):
         * run again; the next record tells. */
        channel_up(c);
        return;
    }
    c->ch.probe = j;
    logf_part(HERALD_LOG_DEBUG, c, j->rec, "probing channel %s", c->inst->name);
    if (deliver_list(c, j, 1) != 0) {
        c->ch.probe = NULL;
        channel_hold(c, j, 1);
        channel_schedule(c);
    }
}

/* j came back UNAVAILABLE (was_probe: it was the probe). */
static void channel_down(struct herald__connector *c, struct job *j,
                         const char *reason, int was_probe)
{
    uint64_t now = herald__loop_now_ms(c->env->loop);
    c->stats.unavailable++;
    if (c->stopping) {
        /* Shutting down: leave it in doubt; it comes again next run. */
        job_destroy(j);
        check_drain(c);
        return;
    }
    channel_hold(c, j, was_probe); /* a probe keeps its place in front */
    snprintf(c->ch.reason, sizeof c->ch.reason, "%s",
             reason ? reason : "no reason given");
    /* Shown in JSON, Prometheus labels and logs: printable ASCII only (a
     * cut UTF-8 sequence or a control character cannot break them). */
    for (char *q = c->ch.reason; *q; q++) {
        if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e) {
            *q = '?';
        }
    }
    if (!c->ch.down) {
        c->ch.down = 1;
        c->ch.since = c->ch.last_log = now;
        c->ch.probes = 0;
        for (struct part *p = c->parts; p; p = p->next) {
            set_paused(c, p, PAUSE_CHANNEL, 1);
        }
        logf_part(HERALD_LOG_ERROR, c, j->rec,
                  "channel %s is unavailable: %s; every partition waits "
                  "and nothing is committed past the held records; a probe "
                  "goes out in %" PRId64 " ms, then backs off up to %" PRId64
                  " ms",
                  c->inst->name, c->ch.reason, c->cfg.probe_initial_ms,
                  c->cfg.probe_max_ms);
        channel_schedule(c);
        return;
    }
    if (!was_probe) {
        return; /* sent before the channel went down; the probe decides */
    }
    c->ch.probes++;
    if (now - c->ch.last_log >= CHANNEL_LOG_INTERVAL_MS) {
        c->ch.last_log = now;
        logf_part(HERALD_LOG_ERROR, c, NULL,
                  "channel %s is still unavailable after %" PRIu64
                  " s (%d failed probe(s), %" PRId64 " record(s) held): %s",
                  c->inst->name, (now - c->ch.since) / 1000, c->ch.probes,
                  c->ch.held, c->ch.reason);
    }
    channel_schedule(c);
}

static void on_outcome(void *owner, struct herald_batch *b, size_t i,
                       enum herald_outcome outcome, int64_t retry_after_ms,
                       const char *reason)
{
    struct herald__connector *c = owner;
    struct job *j = b->items[i].ctx;
    int was_probe = c->ch.probe == j;
    if (was_probe) {
        c->ch.probe = NULL;
    }
    c->in_flight--;
    c->stats.in_flight = c->in_flight;
    if (j->part->revoked) {
        /* Late outcome for a partition given up: another instance owns it
         * now and redelivers from the committed offset. */
        job_destroy(j);
        parts_gc(c);
        check_drain(c);
        if (was_probe && outcome == HERALD_UNAVAILABLE && !c->stopping) {
            c->ch.probes++;
            channel_schedule(c);
        }
    } else if (outcome == HERALD_UNAVAILABLE) {
        channel_down(c, j, reason, was_probe);
    } else if (outcome == HERALD_OK) {
        c->stats.delivered_ok++;
        if (j->dedup_key) {
            write_mark(c, j);
        } else {
            finish_job(c, j);
        }
    } else if (outcome == HERALD_RETRY) {
        retry_job(c, j, retry_after_ms, reason);
    } else {
        char why[1024], cls[128];
        snprintf(why, sizeof why, "rejected by %s: %s", c->inst->def->name,
                 reason ? reason : "no reason given");
        snprintf(cls, sizeof cls, "herald.plugin.%s", c->inst->def->name);
        reject_job(c, j, "TASK_PUT", cls, "herald.Rejected", why);
    }
    if (was_probe && outcome != HERALD_UNAVAILABLE) {
        channel_up(c);
    }
    pressure_update(c);
}

/* ---- batching ---------------------------------------------------------- */

/* Hand the n jobs linked from head to the plugin as one batch. 0, or -1
 * (nothing changed) when the batch cannot be allocated. */
static int deliver_list(struct herald__connector *c, struct job *head, size_t n)
{
    struct herald_batch *b = herald__batch_new(c->inst, c, on_outcome, n);
    if (!b) {
        return -1;
    }
    size_t i = 0;
    for (struct job *j = head; j && i < n;) {
        struct job *next = j->next;
        j->next = NULL;
        b->items[i].record = j->rec;
        b->items[i].message = j->msg ? herald__rendered_message(j->msg) : NULL;
        b->items[i].ctx = j;
        i++;
        j = next;
    }
    c->in_flight += (int64_t)i;
    c->stats.in_flight = c->in_flight;
    herald__batch_deliver(b);
    return 0;
}

static void batch_flush(struct herald__connector *c)
{
    herald__timer_stop(c->linger_timer);
    if (c->batch_n == 0) {
        return;
    }
    struct job *head = c->batch_head;
    size_t n = c->batch_n;
    if (c->ch.down) {
        /* The channel is unavailable: only probes go out. */
        c->batch_head = c->batch_tail = NULL;
        c->batch_n = 0;
        c->batch_bytes = 0;
        while (head) {
            struct job *next = head->next;
            channel_hold(c, head, 0);
            head = next;
        }
        return;
    }
    if (deliver_list(c, head, n) != 0) {
        return; /* retried at the next flush */
    }
    c->batch_head = c->batch_tail = NULL;
    c->batch_n = 0;
    c->batch_bytes = 0;
    pressure_update(c);
}

static void on_linger(void *ctx)
{
    batch_flush(ctx);
}

static void batch_add(struct herald__connector *c, struct job *j)
{
    j->next = NULL;
    if (c->batch_tail) {
        c->batch_tail->next = j;
    } else {
        c->batch_head = j;
        herald__timer_start(c->linger_timer, (uint64_t)c->cfg.linger_ms, 0);
    }
    c->batch_tail = j;
    c->batch_n++;
    c->batch_bytes += j->rec->value_len + j->rec->key_len;
    if ((int64_t)c->batch_n >= c->cfg.batch_max_records ||
        (int64_t)c->batch_bytes >= c->cfg.batch_max_bytes) {
        batch_flush(c);
    }
}

/* ---- the pipeline ------------------------------------------------------ */

/* Decode, skip tombstones, render, batch. Returns with the job owned by the
 * next stage (batch, held queue, or finished). */
static void process(struct herald__connector *c, struct job *j)
{
    char err[1024] = "";
    int rc = herald__decode_record(c->decoder, j->rec, err, sizeof err);
    if (rc == HERALD__DECODE_WAIT) {
        /* Hold the partition in order behind this record. */
        j->next = NULL;
        if (j->part->held_tail) {
            j->part->held_tail->next = j;
        } else {
            j->part->held_head = j;
        }
        j->part->held_tail = j;
        set_paused(c, j->part, PAUSE_SCHEMA, 1);
        return;
    }
    if (rc != 0) {
        c->stats.poison++;
        char why[1200];
        snprintf(why, sizeof why, "undecodable record: %s", err);
        int is_key = strncmp(err, "key:", 4) == 0;
        reject_job(c, j, is_key ? "KEY_CONVERTER" : "VALUE_CONVERTER",
                   is_key ? "herald.decode.key" : "herald.decode.value",
                   "herald.DecodeError", why);
        return;
    }
    if (c->env->tail) {
        if (c->env->hooks.decoded) {
            c->env->hooks.decoded(c->env->hooks.ctx, j->rec);
        }
        finish_job(c, j);
        return;
    }
    if (!j->rec->value_tree && c->cfg.skip_tombstones) {
        finish_job(c, j);
        return;
    }
    if (c->notify) {
        if (herald__notify_render(c->notify, j->rec, &j->msg, err,
                                  sizeof err) != 0) {
            reject_job(c, j, "TRANSFORMATION", "herald.notify",
                       "herald.RenderError", err);
            return;
        }
    }
    if (herald__dedup_active(c->dedup)) {
        j->dedup_key = herald__dedup_key(
            c->dedup, j->rec, j->msg ? herald__rendered_message(j->msg) : NULL,
            err, sizeof err);
        if (!j->dedup_key) {
            char why[1200];
            snprintf(why, sizeof why, "dedup key: %s", err);
            reject_job(c, j, "TRANSFORMATION", "herald.dedup",
                       "herald.RenderError", why);
            return;
        }
        dedup_gate(c, j);
        return;
    }
    batch_add(c, j);
}

/* One notification per dedup key: a key already notified is skipped (its
 * record is final); a key whose notification is in flight makes this
 * record wait for the outcome; a new key goes on and holds its turn. */
static void dedup_gate(struct herald__connector *c, struct job *j)
{
    switch (herald__dedup_state(c->dedup, j->dedup_key, wall_ms())) {
    case HERALD__DEDUP_SEEN:
        c->stats.deduped++;
        logf_part(HERALD_LOG_DEBUG, c, j->rec,
                  "already notified for this dedup key: skipped");
        free(j->dedup_key);
        j->dedup_key = NULL;
        finish_job(c, j);
        return;
    case HERALD__DEDUP_PENDING:
        if (!j->dedup_timer) {
            j->dedup_timer = herald__timer_new(c->env->loop, on_mark_timer, j);
        }
        c->dedup_parked++;
        timed_add(c, j);
        herald__timer_start(j->dedup_timer, DEDUP_PARK_MS, 0);
        /* not ours: keep job_destroy from clearing the other's turn */
        {
            char *k = j->dedup_key;
            j->dedup_key = NULL;
            j->parked_key = k;
        }
        return;
    case HERALD__DEDUP_NEW:
        break;
    }
    herald__dedup_set_pending(c->dedup, j->dedup_key);
    batch_add(c, j);
}

/* Retry held records of every partition, in order, after the registry
 * answered something. */
static void on_schema_ready(void *ctx)
{
    struct herald__connector *c = ctx;
    for (struct part *p = c->parts; p; p = p->next) {
        while (p->held_head) {
            struct job *j = p->held_head;
            p->held_head = j->next;
            if (!p->held_head) {
                p->held_tail = NULL;
            }
            j->next = NULL;
            if (p->revoked) {
                job_destroy(j);
                continue;
            }
            process(c, j);
            if (p->held_head == j) {
                break; /* it waits again */
            }
            /* process() may have re-queued j as the new tail: if so, the
             * partition is still waiting; stop for this partition. */
            if (p->held_tail == j) {
                break;
            }
        }
        if (!p->held_head) {
            set_paused(c, p, PAUSE_SCHEMA, 0);
        }
    }
    parts_gc(c);
    batch_flush(c);
}

static void on_message(void *ctx, const struct herald__kafka_msg *m)
{
    struct herald__connector *c = ctx;
    struct part *p = part_find(c, m->topic, m->partition);
    if (!p || (p->pause_mask & PAUSE_REVOKE) || c->stopping) {
        return; /* not ours any more, or stopping: refetched later */
    }
    if (herald__partoffsets_track(&p->offs, m->offset) != 0) {
        return; /* already seen (refetch after resume) */
    }
    struct job *j = calloc(1, sizeof *j);
    struct herald_record *r = j ? herald__kafka_msg_record(m) : NULL;
    if (!r) {
        free(j);
        logf_part(HERALD_LOG_ERROR, c, NULL, "out of memory");
        return; /* stays in doubt: never committed past */
    }
    j->c = c;
    j->rec = r;
    j->part = p;
    p->jobs++;
    j->first_ms = herald__loop_now_ms(c->env->loop);
    c->stats.consumed++;
    if (p->held_head) {
        j->next = NULL;
        p->held_tail->next = j;
        p->held_tail = j;
        return;
    }
    process(c, j);
}

static void on_fatal(void *ctx)
{
    fail_connector(ctx);
}

/* Drain the consumer queue until empty (bounded per turn to keep the loop
 * fair; a zero timer continues). */
static void pump(struct herald__connector *c)
{
    if (!c->k) {
        return;
    }
    for (int n = 0; n < PUMP_MAX_PER_TURN; n++) {
        if (pressure_full(c) && !c->paused_for_pressure) {
            uint64_t now = herald__loop_now_ms(c->env->loop);
            if (!c->throttled_since) {
                c->throttled_since = now;
            }
            if (now - c->throttled_since < c->pressure_grace_ms) {
                /* Leave the records in librdkafka's queue (bounded by
                 * queued.max.messages.kbytes): it stops fetching. */
                batch_flush(c);
                return;
            }
            /* Full for long: pause, and poll on for rebalances and
             * within max.poll.interval.ms. */
            pressure_pause(c, 1);
        }
        if (!herald__kafka_poll(c->k)) {
            batch_flush(c);
            return;
        }
        if (!c->k) {
            return;
        }
    }
    batch_flush(c);
    herald__timer_start(c->more_timer, 0, 0);
}

static void on_wake(void *ctx)
{
    pump(ctx);
}

static void on_pump_timer(void *ctx)
{
    pump(ctx);
}

/* ---- rebalance --------------------------------------------------------- */

static size_t pending_in(struct herald__connector *c,
                         const struct herald__tp *l, size_t n_l)
{
    size_t n = 0;
    for (struct part *p = c->parts; p; p = p->next) {
        if (!p->revoked && tp_in(l, n_l, p->topic, p->partition)) {
            /* Records held for an unavailable channel cannot finish:
             * waiting for them would only stall the group. */
            n += herald__partoffsets_pending(&p->offs) - p->channel_held;
        }
    }
    return n;
}

static void free_tps(struct herald__tp *l, size_t n)
{
    for (size_t i = 0; l && i < n; i++) {
        free((char *)l[i].topic);
    }
    free(l);
}

/* Give up the partitions being revoked: commit what is final first. */
static void finish_revoke(struct herald__connector *c)
{
    struct herald__tp *l = c->revoking;
    size_t n = c->n_revoking;
    c->revoking = NULL;
    c->n_revoking = 0;
    herald__timer_stop(c->drain_timer);
    if (!c->revoke_lost) {
        commit_parts(c, l, n, 1);
    }
    for (struct part *p = c->parts; p; p = p->next) {
        if (tp_in(l, n, p->topic, p->partition)) {
            /* Jobs still in flight see revoked and are dropped on return;
             * held records are dropped now. */
            while (p->held_head) {
                struct job *j = p->held_head;
                p->held_head = j->next;
                job_destroy(j);
            }
            p->held_tail = NULL;
            p->revoked = 1;
        }
    }
    if (c->dedup) {
        for (size_t i = 0; i < n; i++) {
            int32_t pn = l[i].partition;
            int still = 0;
            for (struct part *p = c->parts; p; p = p->next) {
                still |= !p->revoked && p->partition == pn;
            }
            if (!still) {
                herald__dedup_forget(c->dedup, pn);
            }
        }
    }
    /* Records still batched for revoked partitions never go out. */
    struct job **jj = &c->batch_head;
    c->batch_tail = NULL;
    c->batch_n = 0;
    while (*jj) {
        struct job *j = *jj;
        if (j->part->revoked) {
            *jj = j->next;
            job_destroy(j);
        } else {
            c->batch_tail = j;
            c->batch_n++;
            jj = &j->next;
        }
    }
    herald__kafka_release(c->k, l, n);
    free_tps(l, n);
    parts_gc(c);
}

static void on_drain_timer(void *ctx)
{
    struct herald__connector *c = ctx;
    if (!c->revoking) {
        return;
    }
    size_t left = pending_in(c, c->revoking, c->n_revoking);
    if (left == 0 || herald__loop_now_ms(c->env->loop) >= c->revoke_deadline) {
        if (left) {
            logf_part(HERALD_LOG_WARN, c, NULL,
                      "drain timeout: %zu record(s) still in flight are "
                      "left to the next owner",
                      left);
        }
        finish_revoke(c);
    }
}

/* Dedup marks are read back asynchronously (dedup.c, polled by the marks
 * timer): a partition waits, paused (PAUSE_MARKS), until the marks of its
 * partition number are in memory, else it could notify twice. */
static void marks_wait_log(struct herald__connector *c, int32_t partition,
                           const char *err)
{
    for (struct part *p = c->parts; p; p = p->next) {
        if (!p->revoked && p->partition == partition &&
            (p->pause_mask & PAUSE_MARKS)) {
            logf_part(HERALD_LOG_WARN, c, NULL,
                      "partition %s [%" PRId32 "] waits for its dedup marks "
                      "(trying again): %s",
                      p->topic, p->partition, err);
        }
    }
}

static void on_marks_failed(void *ctx, int32_t partition, const char *err)
{
    marks_wait_log(ctx, partition, err);
}

/* Start reading p's marks back unless they are in memory already: then
 * 0, else p waits (paused once assigned) and 1. A failure to start is
 * logged if `loud` (the marks timer tries again quietly). */
static int load_marks(struct herald__connector *c, struct part *p, int loud)
{
    char err[512];
    int rc = herald__dedup_load_start(c->dedup, p->partition, err, sizeof err);
    if (rc == 1) {
        return 0;
    }
    p->pause_mask |= PAUSE_MARKS; /* applied once assigned */
    if (rc < 0 && loud) {
        marks_wait_log(c, p->partition, err);
    }
    return 1;
}

static void on_marks_timer(void *ctx)
{
    struct herald__connector *c = ctx;
    /* Bounded per turn; a zero timeout continues when there is more. */
    int more =
        herald__dedup_poll(c->dedup, MARKS_MAX_PER_TURN, on_marks_failed, c);
    int waiting = 0;
    for (struct part *p = c->parts; p; p = p->next) {
        if (p->revoked || !(p->pause_mask & PAUSE_MARKS) ||
            load_marks(c, p, 0) != 0) {
            waiting |= !p->revoked && (p->pause_mask & PAUSE_MARKS);
            continue;
        }
        logf_part(HERALD_LOG_INFO, c, NULL,
                  "partition %s [%" PRId32 "]: dedup marks read back, "
                  "resuming",
                  p->topic, p->partition);
        set_paused(c, p, PAUSE_MARKS, 0);
    }
    if (more) {
        herald__timer_start(c->marks_timer, 0, MARKS_POLL_MS);
    } else if (!waiting && !herald__dedup_loading(c->dedup)) {
        herald__timer_stop(c->marks_timer);
    }
}

static void on_assigned(void *ctx, const struct herald__tp *parts, size_t n)
{
    struct herald__connector *c = ctx;
    int marks_missing = 0;
    for (size_t i = 0; i < n; i++) {
        struct part *p = part_add(c, parts[i].topic, parts[i].partition);
        if (!p) {
            logf_part(HERALD_LOG_ERROR, c, NULL, "out of memory");
            continue;
        }
        if (herald__dedup_active(c->dedup) && load_marks(c, p, 1) != 0) {
            marks_missing = 1;
        }
        /* librdkafka remembers a pause across unassign/assign: say for
         * every assigned partition whether it runs. Parts whose marks
         * are not in memory yet wait (else they could notify twice); the
         * marks timer reads them and resumes the parts. */
        if (c->paused_for_pressure) {
            p->pause_mask |= PAUSE_PRESSURE;
        }
        if (c->ch.down) {
            p->pause_mask |= PAUSE_CHANNEL;
        }
        apply_pause(c, p);
    }
    if (marks_missing) {
        herald__timer_start(c->marks_timer, 0, MARKS_POLL_MS);
    }
    pressure_update(c);
}

static void on_revoked(void *ctx, const struct herald__tp *parts, size_t n,
                       int lost)
{
    struct herald__connector *c = ctx;
    if (c->revoking) {
        /* A second revoke before the first finished: finish now. */
        finish_revoke(c);
    }
    for (size_t i = 0; i < n; i++) {
        struct part *p = part_find(c, parts[i].topic, parts[i].partition);
        if (p) {
            set_paused(c, p, PAUSE_REVOKE, 1);
        }
    }
    batch_flush(c);
    struct herald__tp *copy = calloc(n ? n : 1, sizeof *copy);
    for (size_t i = 0; copy && i < n; i++) {
        copy[i] = parts[i];
        copy[i].topic = strdup(parts[i].topic);
        if (!copy[i].topic) {
            free_tps(copy, i);
            copy = NULL;
        }
    }
    if (!copy) {
        /* Out of memory: give them up now, committing what is final. */
        logf_part(HERALD_LOG_ERROR, c, NULL, "out of memory");
        if (!lost) {
            commit_parts(c, parts, n, 1);
        }
        herald__kafka_release(c->k, parts, n);
        return;
    }
    c->revoking = copy;
    c->n_revoking = n;
    c->revoke_lost = lost;
    c->revoke_deadline =
        herald__loop_now_ms(c->env->loop) + (uint64_t)c->cfg.drain_timeout_ms;
    size_t pending = pending_in(c, parts, n);
    if (lost || pending == 0 || c->stopped) {
        finish_revoke(c);
    } else {
        logf_part(HERALD_LOG_INFO, c, NULL,
                  "revoking %zu partition(s): draining %zu record(s) in "
                  "flight first",
                  n, pending);
        herald__timer_start(c->drain_timer, DRAIN_CHECK_MS, DRAIN_CHECK_MS);
    }
}

/* ---- stop -------------------------------------------------------------- */

/* The last step of a stop: the consumer is closed (or given up) and the
 * producer's last writes are acknowledged (or given up). */
static void stopped(struct herald__connector *c)
{
    if (c->finished) {
        return;
    }
    c->finished = 1;
    herald__timer_stop(c->drain_timer);
    if (c->revoking) {
        finish_revoke(c);
    }
    herald__kafka_destroy(c->k);
    c->k = NULL;
    if (c->env->on_stopped) {
        c->env->on_stopped(c->env->ctx, c, c->failed);
    }
}

/* The consumer closed: the producer's writes still in flight (a drain
 * timeout) get FLUSH_TIMEOUT_MS, waited for on the drain timer. */
static void on_closed(void *ctx)
{
    struct herald__connector *c = ctx;
    if (c->at_once || herald__producer_pending(c->producer) == 0) {
        stopped(c);
        return;
    }
    c->flush_deadline = herald__loop_now_ms(c->env->loop) + FLUSH_TIMEOUT_MS;
    herald__timer_start(c->drain_timer, 0, DRAIN_CHECK_MS);
}

/* Commit what is final and close the consumer; on_closed follows. */
static void close_consumer(struct herald__connector *c)
{
    herald__timer_stop(c->commit_timer);
    herald__timer_stop(c->more_timer);
    commit_parts(c, NULL, 0, 1);
    /* The close's revoke callback releases at once: nothing is in flight
     * any more (or the drain timed out). */
    c->stopped = 1;
    c->stop_deadline = herald__loop_now_ms(c->env->loop) + CLOSE_TIMEOUT_MS;
    herald__timer_start(c->drain_timer, DRAIN_CHECK_MS, DRAIN_CHECK_MS);
    if (!c->k || c->at_once) {
        stopped(c);
        return;
    }
    herald__kafka_close(c->k);
}

static void drop_waiting(struct herald__connector *c)
{
    /* Records not handed to the plugin are left in doubt: the next run
     * redelivers them from the committed offset. */
    for (struct part *p = c->parts; p; p = p->next) {
        while (p->held_head) {
            struct job *j = p->held_head;
            p->held_head = j->next;
            job_destroy(j);
        }
        p->held_tail = NULL;
    }
    while (c->batch_head) {
        struct job *j = c->batch_head;
        c->batch_head = j->next;
        job_destroy(j);
    }
    c->batch_tail = NULL;
    c->batch_n = 0;
    while (c->timed) {
        job_destroy(c->timed);
    }
    channel_drop(c);
}

static void finish_stop(struct herald__connector *c)
{
    if (c->stopped) {
        return;
    }
    herald__timer_stop(c->drain_timer);
    close_consumer(c);
}

static int drained(const struct herald__connector *c)
{
    return c->in_flight == 0 && c->dlq_waiting == 0 && c->marks_waiting == 0;
}

static void check_drain(struct herald__connector *c)
{
    if (c->revoking && pending_in(c, c->revoking, c->n_revoking) == 0) {
        finish_revoke(c);
    }
    if (c->stopping && !c->stopped && drained(c)) {
        /* Not from here: we may be inside pump() holding a message of the
         * consumer that finish_stop closes. The timer finishes it. */
        herald__timer_start(c->drain_timer, 0, DRAIN_CHECK_MS);
    }
}

static void on_stop_timer(void *ctx)
{
    struct herald__connector *c = ctx;
    uint64_t now = herald__loop_now_ms(c->env->loop);
    if (c->revoking) {
        on_drain_timer(c);
    }
    if (c->finished || !c->stopping) {
        return;
    }
    if (c->stopped) {
        /* Closing, or flushing the producer after the close. */
        if (c->flush_deadline) {
            if (herald__producer_pending(c->producer) == 0 ||
                now >= c->flush_deadline) {
                stopped(c);
            }
        } else if (now >= c->stop_deadline) {
            logf_part(HERALD_LOG_WARN, c, NULL,
                      "the consumer did not close in %d ms: leaving the group "
                      "to its session timeout",
                      CLOSE_TIMEOUT_MS);
            stopped(c);
        }
        return;
    }
    if (drained(c) || now >= c->stop_deadline) {
        if (c->in_flight > 0) {
            logf_part(HERALD_LOG_WARN, c, NULL,
                      "drain timeout: %" PRId64
                      " record(s) still in flight stay uncommitted",
                      c->in_flight);
        }
        finish_stop(c);
    }
}

void herald__connector_stop(struct herald__connector *c)
{
    if (c->finished) {
        return;
    }
    if (c->stopping) {
        /* Second signal: stop now, committing only what is final. */
        logf_part(HERALD_LOG_WARN, c, NULL, "stopping at once");
        c->at_once = 1;
        if (c->stopped) {
            stopped(c); /* closing or flushing: wait no more */
        } else {
            finish_stop(c);
        }
        return;
    }
    c->stopping = 1;
    logf_part(HERALD_LOG_INFO, c, NULL,
              "stopping: draining %" PRId64 " record(s) in flight first",
              c->in_flight);
    for (struct part *p = c->parts; p; p = p->next) {
        set_paused(c, p, PAUSE_REVOKE, 1);
    }
    drop_waiting(c);
    c->stop_deadline =
        herald__loop_now_ms(c->env->loop) + (uint64_t)c->cfg.drain_timeout_ms;
    herald__timer_start(c->drain_timer, 0, DRAIN_CHECK_MS);
}

static void fail_connector(struct herald__connector *c)
{
    c->failed = 1;
    if (!c->stopping) {
        herald__connector_stop(c);
    }
}

/* ---- construction ------------------------------------------------------ */

struct herald__connector *
herald__connector_new(const struct herald__connector_env *env,
                      const struct herald__node *map, struct herald__diag *d)
{
    size_t errs = d->n;
    if (!map || map->type != HERALD_NODE_MAP) {
        herald__diag_add(d, map, "a connector must be a map");
        return NULL;
    }
    struct herald__connector *c = calloc(1, sizeof *c);
    if (!c) {
        return NULL;
    }
    c->env = env;
    struct herald__connector_config *cfg = &c->cfg;
    herald__connector_config_parse(map, env->tail, cfg, d);
    if (!cfg->name) { /* out of memory, reported */
        herald__connector_destroy(c);
        return NULL;
    }

    if (cfg->formats_ok && !env->registry &&
        (cfg->key_format.format == HERALD__FORMAT_AVRO ||
         cfg->value_format.format == HERALD__FORMAT_AVRO)) {
        herald__diag_add(d, map,
                         "connector '%s' reads avro but no "
                         "'schema_registry' is configured (url or "
                         "schemas_dir)",
                         cfg->name);
    } else if (cfg->formats_ok) {
        char err[ERR_MAX];
        c->decoder = herald__decoder_new(&cfg->key_format, &cfg->value_format,
                                         env->registry, on_schema_ready, c, err,
                                         sizeof err);
        if (!c->decoder) {
            herald__diag_add(d, map, "%s", err);
        }
    }

    const struct herald__node *notify = cfg->notify;
    if (notify && !cfg->sink) {
        /* The channel first: its plugin says which fields the notify
         * section may and must have (herald_plugin.fields). */
        const struct herald__node *ch = herald__node_get(notify, "channel");
        if (ch && ch->type == HERALD_NODE_SCALAR) {
            c->inst = env->instance(env->ctx, ch->scalar, ch,
                                    HERALD_PLUGIN_NOTIFY, d);
        }
        /* A channel that did not load has had its error; checking
         * the section against a guess (email) would only add wrong
         * ones ("'to' is required" for a webhook). */
        if (c->inst || !ch || ch->type != HERALD_NODE_SCALAR) {
            c->notify = herald__notify_new_for(
                notify, cfg->dedup, c->inst ? c->inst->def : NULL,
                env->config_dir, env->hash_key, d);
        }
        if (ch && ch->type == HERALD_NODE_SCALAR) {
            const struct herald__node *chmap =
                env->channels ? herald__node_get(env->channels, ch->scalar)
                              : NULL;
            const struct herald__node *from =
                chmap ? herald__node_get(chmap, "from") : NULL;
            if (c->notify && from) {
                herald__notify_default_from(c->notify, from, d);
            }
        }
    } else if (cfg->sink && !notify) {
        c->inst = env->instance(env->ctx, cfg->name, cfg->sink,
                                HERALD_PLUGIN_SINK, d);
    }

    if (cfg->dedup) {
        c->dedup = herald__dedup_new(cfg->dedup, notify != NULL, cfg->group_id,
                                     env->hash_key, env->loop, d);
    }

    c->linger_timer = herald__timer_new(env->loop, on_linger, c);
    c->more_timer = herald__timer_new(env->loop, on_pump_timer, c);
    c->commit_timer = herald__timer_new(env->loop, on_commit_timer, c);
    c->drain_timer = herald__timer_new(env->loop, on_stop_timer, c);
    c->ch.timer = herald__timer_new(env->loop, on_channel_timer, c);
    if (d->n > errs) {
        herald__connector_destroy(c);
        return NULL;
    }
    return c;
}

/* Create the consumer and subscribe: the last step of the start. */
static int start_consumer(struct herald__connector *c, char *err, size_t errlen)
{
    static const struct herald__kafka_cbs cbs = {
        .wake = on_wake,
        .message = on_message,
        .assigned = on_assigned,
        .revoked = on_revoked,
        .commit_failed = on_commit_failed,
        .fatal = on_fatal,
        .closed = on_closed,
    };
    struct herald__kafka_opts o = {
        .name = c->cfg.name,
        .group_id = c->cfg.group_id,
        .topics = c->cfg.topics,
        .n_topics = c->cfg.n_topics,
        .global = c->env->kafka,
        .local = c->cfg.kafka,
        .notify = c->notify != NULL,
    };
    c->k = herald__kafka_new(c->env->loop, &o, &cbs, c, err, errlen);
    if (!c->k) {
        return -1;
    }
    /* Poll well within max.poll.interval.ms even when the pipe is quiet:
     * the module's poll timer does; backpressure waits a quarter of it. */
    uint64_t quarter = herald__kafka_quarter_poll_interval(c->k);
    c->pressure_grace_ms =
        quarter < PRESSURE_GRACE_MAX_MS ? quarter : PRESSURE_GRACE_MAX_MS;
    herald__timer_start(c->commit_timer, (uint64_t)c->cfg.commit_interval_ms,
                        (uint64_t)c->cfg.commit_interval_ms);
    logf_part(HERALD_LOG_INFO, c, NULL, "started: group %s, %zu topic(s)",
              c->cfg.group_id, c->cfg.n_topics);
    return 0;
}

/* The dedup marks topic is ready (or not): go on with the start. */
static void on_dedup_ready(void *ctx, int ok, const char *err)
{
    struct herald__connector *c = ctx;
    c->starting = 0;
    if (c->stopping) {
        return; /* stopped meanwhile; the stop finishes on its own */
    }
    char e[ERR_MAX];
    if (ok && start_consumer(c, e, sizeof e) == 0) {
        return;
    }
    logf_part(HERALD_LOG_ERROR, c, NULL, "%s", ok ? e : err);
    fail_connector(c);
}

int herald__connector_start(struct herald__connector *c, char *err,
                            size_t errlen)
{
    if ((c->cfg.dead_letter_topic || herald__dedup_active(c->dedup)) &&
        !c->env->tail) {
        c->producer =
            herald__producer_new(c->env->loop, c->env->kafka, err, errlen);
        if (!c->producer) {
            return -1;
        }
    }
    if (herald__dedup_active(c->dedup)) {
        c->marks_timer = herald__timer_new(c->env->loop, on_marks_timer, c);
        if (!c->marks_timer) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        /* Asynchronous: the consumer starts once the marks topic is there
         * (on_dedup_ready), and a stop meanwhile is not held up. */
        int rc = herald__dedup_start(c->dedup, c->env->loop, c->env->kafka,
                                     c->cfg.topics, c->cfg.n_topics,
                                     on_dedup_ready, c, err, errlen);
        if (rc < 0) {
            return -1;
        }
        c->starting = rc > 0;
        if (c->starting) {
            return 0;
        }
    }
    return start_consumer(c, err, errlen);
}

void herald__connector_destroy(struct herald__connector *c)
{
    if (!c) {
        return;
    }
    c->stopping = 1;
    drop_waiting(c);
    herald__kafka_destroy(c->k);
    c->k = NULL;
    if (c->revoking) {
        free_tps(c->revoking, c->n_revoking);
        c->revoking = NULL;
    }
    /* Items still with the plugin (drain timeout) must not report to a
     * freed connector when they complete or the instance closes. */
    herald__instance_forget_owner(c->inst, c);
    herald__timer_destroy(c->linger_timer);
    herald__timer_destroy(c->more_timer);
    herald__timer_destroy(c->commit_timer);
    herald__timer_destroy(c->drain_timer);
    herald__timer_destroy(c->ch.timer);
    /* Jobs on retry timers: their timers belong to them. */
    for (struct part *p = c->parts; p; p = p->next) {
        p->revoked = 1;
    }
    herald__decoder_destroy(c->decoder);
    herald__notify_destroy(c->notify);
    herald__producer_destroy(c->producer);
    herald__timer_destroy(c->marks_timer);
    herald__dedup_destroy(c->dedup);
    herald__connector_config_cleanup(&c->cfg);
    if (c->parts) {
        /* Parts with live jobs (retry timers, in flight) leak deliberately
         * only if the plugin never answers; normally all are gone here. */
        struct part *p = c->parts;
        while (p) {
            struct part *next = p->next;
            herald__partoffsets_cleanup(&p->offs);
            free(p->topic);
            free(p);
            p = next;
        }
    }
    free(c);
}

const char *herald__connector_name(const struct herald__connector *c)
{
    return c->cfg.name;
}

const char *herald__connector_marks_topic(const struct herald__connector *c)
{
    return c->dedup ? herald__dedup_topic(c->dedup) : NULL;
}

void herald__connector_stats(const struct herald__connector *c,
                             struct herald__connector_stats *out)
{
    *out = c->stats;
}

int herald__connector_status(const struct herald__connector *c,
                             struct herald__connector_status *out)
{
    memset(out, 0, sizeof *out);
    out->name = c->cfg.name;
    out->group_id = c->cfg.group_id;
    out->topics = c->cfg.topics;
    out->n_topics = c->cfg.n_topics;
    out->inst = c->inst;
    out->stats = c->stats;
    out->stats.in_flight = c->in_flight;
    out->channel_unavailable = c->ch.down;
    out->channel_reason = c->ch.down ? c->ch.reason : NULL;
    out->channel_unavailable_ms =
        c->ch.down ? (int64_t)(herald__loop_now_ms(c->env->loop) - c->ch.since)
                   : 0;
    out->channel_held = c->ch.held;
    out->state = c->failed     ? HERALD__CONNECTOR_FAILED
                 : c->stopped  ? HERALD__CONNECTOR_STOPPED
                 : c->stopping ? HERALD__CONNECTOR_STOPPING
                 : c->k        ? HERALD__CONNECTOR_RUNNING
                               : HERALD__CONNECTOR_CREATED;
    size_t n = 0;
    for (const struct part *p = c->parts; p; p = p->next) {
        n += !p->revoked;
    }
    if (n == 0) {
        return 0;
    }
    out->parts = calloc(n, sizeof *out->parts);
    if (!out->parts) {
        return -1;
    }
    for (const struct part *p = c->parts; p; p = p->next) {
        if (p->revoked) {
            continue;
        }
        struct herald__partition_status *s = &out->parts[out->n_parts++];
        s->topic = p->topic;
        s->partition = p->partition;
        s->committed = p->offs.committed;
        s->next = herald__partoffsets_committable(&p->offs);
        s->in_doubt = (int64_t)herald__partoffsets_pending(&p->offs);
        s->paused = p->pause_mask != 0;
    }
    return 0;
}

void herald__connector_status_cleanup(struct herald__connector_status *s)
{
    if (s) {
        free(s->parts);
        s->parts = NULL;
        s->n_parts = 0;
    }
}

int herald__connector_check_remote(struct herald__connector *c,
                                   struct herald__diag *d, FILE *notes)
{
    if (!c->cfg.dead_letter_topic) {
        return 0;
    }
    char err[512];
    struct herald__kafka_producer *w =
        herald__producer_new(c->env->loop, c->env->kafka, err, sizeof err);
    if (!w) {
        herald__diag_add(d, c->cfg.dead_letter_node, "%s", err);
        return -1;
    }
    int rc = herald__producer_partitions(w, c->cfg.dead_letter_topic, 5000, err,
                                         sizeof err);
    herald__producer_destroy(w);
    if (rc == 0) {
        herald__diag_add(d, c->cfg.dead_letter_node,
                         "dead-letter topic '%s' does not exist on the "
                         "broker (%s); create it first",
                         c->cfg.dead_letter_topic, err);
        return -1;
    }
    if (rc < 0) {
        fprintf(notes,
                "note: connector %s: broker not reachable (%s); dead-letter "
                "topic '%s' not checked\n",
                c->cfg.name, err, c->cfg.dead_letter_topic);
    }
    return 0;
}
