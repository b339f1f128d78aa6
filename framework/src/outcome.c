/*
 * outcome.c - the outcome policy (outcome.h): retry with backoff, dead
 * letters, rejects.
 */
#include "outcome.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "loop.h"
#include "stage_log.h"

/* A failed dead-letter write is tried again no sooner than this. */
#define WRITE_RETRY_MIN_MS 100
/* Room for a reason with its prefix, and for a component's name. */
#define WHY_MAX 1024
#define CLASS_MAX 128

struct herald__outcome {
    struct herald__loop *loop;
    struct herald__outcome_opts o;
    struct herald__outcome_cbs cbs;
    void *ctx;
    struct herald__kafka_producer *producer;
    struct herald__timed_list timed; /* items only a timer holds */
    int64_t writing;
    int64_t rejected, retried;
};

int64_t herald__backoff_ms(int64_t initial_ms, int64_t max_ms, int attempts)
{
    int64_t cap = initial_ms;
    for (int i = 1; i < attempts && cap < max_ms; i++) {
        cap *= 2;
    }
    if (cap > max_ms) {
        cap = max_ms;
    }
    /* Full jitter: uniform in [0, cap]. */
    return cap > 0 ? (int64_t)((double)rand() / RAND_MAX * (double)cap) : 0;
}

struct herald__outcome *
herald__outcome_new(struct herald__loop *loop,
                    const struct herald__outcome_opts *o,
                    const struct herald__outcome_cbs *cbs, void *ctx)
{
    struct herald__outcome *s = calloc(1, sizeof *s);
    if (!s) {
        return NULL;
    }
    s->loop = loop;
    s->o = *o;
    s->cbs = *cbs;
    s->ctx = ctx;
    return s;
}

void herald__outcome_destroy(struct herald__outcome *o)
{
    free(o);
}

void herald__outcome_set_producer(struct herald__outcome *o,
                                  struct herald__kafka_producer *p)
{
    o->producer = p;
}

/* The backoff is over (or it goes away): its partition may run. */
static void retry_unlink(struct herald__outcome *o,
                         struct herald__outcome_item *it)
{
    if (!it->retrying) {
        return;
    }
    herald__timed_del(&o->timed, &it->timed);
    it->retrying = 0;
    o->cbs.retry_pause(o->ctx, it, 0);
}

void herald__outcome_forget(struct herald__outcome *o,
                            struct herald__outcome_item *it)
{
    retry_unlink(o, it);
    herald__timed_del(&o->timed, &it->timed);
    if (it->dlq) {
        o->writing--;
        herald__timer_destroy(it->dlq_timer);
        free(it->dlq_stage);
        free(it->dlq_class);
        free(it->dlq_exc);
        free(it->dlq_reason);
        it->dlq = 0;
    }
    herald__timer_destroy(it->retry_timer);
    it->retry_timer = NULL;
}

void herald__outcome_hold_time(struct herald__outcome_item *it, uint64_t ms)
{
    it->first_ms += ms;
}

void herald__outcome_drop_timed(struct herald__outcome *o)
{
    struct herald__timed *t;
    while (o && (t = herald__timed_pop(&o->timed))) {
        o->cbs.drop(o->ctx, HERALD__TIMED_ITEM(t, struct herald__outcome_item));
    }
}

int64_t herald__outcome_writing(const struct herald__outcome *o)
{
    return o ? o->writing : 0;
}

void herald__outcome_counts(const struct herald__outcome *o, int64_t *rejected,
                            int64_t *retried)
{
    *rejected = o ? o->rejected : 0;
    *retried = o ? o->retried : 0;
}

static void dlq_send(struct herald__outcome *o,
                     struct herald__outcome_item *it);

/* The write failed: the record stays in doubt and its partition waits, so
 * nothing is dropped; the write is tried again after a backoff, unless the
 * partition is gone or the connector stopped. */
static void write_again(struct herald__outcome *o,
                        struct herald__outcome_item *it, const char *err)
{
    it->dlq_attempts++;
    int64_t wait = herald__backoff_ms(o->o.retry_initial_ms, o->o.retry_max_ms,
                                      it->dlq_attempts);
    if (wait < WRITE_RETRY_MIN_MS) {
        wait = WRITE_RETRY_MIN_MS;
    }
    herald__stage_log(HERALD_LOG_ERROR, o->o.connector, it->record,
                      "cannot write to dead-letter topic %s (attempt %d, "
                      "again in %" PRId64 " ms): %s",
                      o->o.dead_letter_topic, it->dlq_attempts, wait,
                      err ? err : "?");
    o->cbs.write_pause(o->ctx, it);
    int st = o->cbs.state(o->ctx, it);
    if (st & (HERALD__OUTCOME_REVOKED | HERALD__OUTCOME_STOPPED)) {
        o->cbs.drop(o->ctx, it);
        return;
    }
    herald__timed_add(&o->timed, &it->timed);
    herald__timer_start(it->dlq_timer, (uint64_t)wait, 0);
}

static void on_dlq_done(void *ctx, int ok, const char *err)
{
    struct herald__outcome_item *it = ctx;
    struct herald__outcome *o = it->stage;
    if (ok) {
        herald__stage_log(HERALD_LOG_WARN, o->o.connector, it->record,
                          "record rejected, written to dead-letter topic "
                          "%s: %s",
                          o->o.dead_letter_topic, it->dlq_reason);
        o->cbs.written(o->ctx, it);
        return;
    }
    write_again(o, it, err);
}

static void on_dlq_timer(void *ctx)
{
    struct herald__outcome_item *it = ctx;
    struct herald__outcome *o = it->stage;
    herald__timed_del(&o->timed, &it->timed);
    int st = o->cbs.state(o->ctx, it);
    if (st & (HERALD__OUTCOME_REVOKED | HERALD__OUTCOME_STOPPED)) {
        o->cbs.drop(o->ctx, it);
        return;
    }
    dlq_send(o, it);
}

static void dlq_send(struct herald__outcome *o, struct herald__outcome_item *it)
{
    if (!o->producer ||
        herald__producer_send_dead_letter(
            o->producer, o->o.dead_letter_topic, o->o.connector, it->record,
            it->dlq_stage, it->dlq_class, it->dlq_exc, it->dlq_reason,
            on_dlq_done, it) != 0) {
        on_dlq_done(it, 0, "the producer queue refused the write");
    }
}

void herald__outcome_reject(struct herald__outcome *o,
                            struct herald__outcome_item *it, const char *stage,
                            const char *cls, const char *exc,
                            const char *reason)
{
    it->stage = o;
    o->rejected++;
    if (!o->o.tolerance_all) {
        herald__stage_log(HERALD_LOG_ERROR, o->o.connector, it->record,
                          "record rejected and errors.tolerance is none: "
                          "stopping the connector; nothing past this record "
                          "is committed: %s",
                          reason);
        /* The record stays in doubt, so its offset is never committed. */
        o->cbs.fail(o->ctx, it);
        return;
    }
    if (o->o.dead_letter_topic) {
        it->dlq = 1;
        o->writing++;
        it->dlq_stage = strdup(stage);
        it->dlq_class = strdup(cls);
        it->dlq_exc = strdup(exc);
        it->dlq_reason = strdup(reason);
        it->dlq_timer = herald__timer_new(o->loop, on_dlq_timer, it);
        if (!it->dlq_stage || !it->dlq_class || !it->dlq_exc ||
            !it->dlq_reason || !it->dlq_timer) {
            /* Out of memory: it stays in doubt, like a failed write. */
            herald__stage_log(HERALD_LOG_ERROR, o->o.connector, it->record,
                              "out of memory");
            o->cbs.drop(o->ctx, it);
            return;
        }
        dlq_send(o, it);
        return;
    }
    herald__stage_log(HERALD_LOG_WARN, o->o.connector, it->record,
                      "record rejected: %s", reason);
    o->cbs.final(o->ctx, it);
}

static void on_retry_timer(void *ctx)
{
    struct herald__outcome_item *it = ctx;
    struct herald__outcome *o = it->stage;
    retry_unlink(o, it);
    int st = o->cbs.state(o->ctx, it);
    if (st & (HERALD__OUTCOME_REVOKED | HERALD__OUTCOME_STOPPING)) {
        o->cbs.drop(o->ctx, it);
        return;
    }
    o->cbs.again(o->ctx, it);
}

void herald__outcome_retry(struct herald__outcome *o,
                           struct herald__outcome_item *it,
                           int64_t retry_after_ms, const char *reason,
                           const char *plugin)
{
    it->stage = o;
    uint64_t now = herald__loop_now_ms(o->loop);
    o->retried++;
    it->attempts++;
    if (o->cbs.state(o->ctx, it) & HERALD__OUTCOME_STOPPING) {
        /* Shutting down: leave it in doubt; it is redelivered next run. */
        o->cbs.drop(o->ctx, it);
        return;
    }
    if ((int64_t)(now - it->first_ms) >= o->o.retry_timeout_ms) {
        char why[WHY_MAX], cls[CLASS_MAX];
        snprintf(why, sizeof why, "retries exhausted after %d attempts: %s",
                 it->attempts, reason ? reason : "no reason given");
        snprintf(cls, sizeof cls, "herald.plugin.%s", plugin);
        herald__outcome_reject(o, it, "TASK_PUT", cls,
                               "herald.RetriesExhausted", why);
        return;
    }
    int64_t wait = herald__backoff_ms(o->o.retry_initial_ms, o->o.retry_max_ms,
                                      it->attempts);
    if (retry_after_ms > wait) {
        wait = retry_after_ms;
    }
    herald__stage_log(HERALD_LOG_INFO, o->o.connector, it->record,
                      "delivery will be retried in %" PRId64
                      " ms (attempt %d): %s",
                      wait, it->attempts, reason ? reason : "no reason given");
    if (!it->retry_timer) {
        it->retry_timer = herald__timer_new(o->loop, on_retry_timer, it);
    }
    if (!it->retry_timer) {
        herald__stage_log(HERALD_LOG_ERROR, o->o.connector, it->record,
                          "out of memory");
        o->cbs.drop(o->ctx, it);
        return;
    }
    it->retrying = 1;
    o->cbs.retry_pause(o->ctx, it, 1);
    herald__timed_add(&o->timed, &it->timed);
    herald__timer_start(it->retry_timer, (uint64_t)wait, 0);
}
