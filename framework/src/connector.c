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
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "api.h"
#include "batch.h"
#include "channel.h"
#include "connector_config.h"
#include "decode.h"
#include "dedup.h"
#include "dedup_gate.h"
#include "kafka.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "offsets.h"
#include "partitions.h"
#include "commit.h"
#include "outcome.h"
#include "record.h"
#include "registry.h"
#include "stage_log.h"

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
/* Room for a reason with its prefix, and for a component's name. */
#define WHY_MAX 1024
#define CLASS_MAX 128

/* One record's life: each stage keeps its own state in its item. */
struct job {
    struct herald__connector *c;
    struct herald__part *part;
    struct herald_record *rec;
    struct herald__rendered *msg;
    struct herald__held held; /* waiting for a schema, in order */
    struct herald__batch_item b;
    struct herald__outcome_item o;
    struct herald__channel_item ch;
    struct herald__gate_item g;
};

#define JOB_OF(ptr, member)                                                    \
    ((struct job *)(void *)((char *)(ptr)-offsetof(struct job, member)))

struct herald__connector {
    const struct herald__connector_env *env;
    struct herald__connector_config cfg; /* every setting, parsed */

    /* the stages */
    struct herald__decoder *decoder;
    struct herald__notify *notify;
    struct herald__dedup *dedup;
    struct herald__gate *gate;
    struct herald__batcher *batcher;
    struct herald__outcome *outcome;
    struct herald__channel *channel;
    struct herald_instance *inst;
    struct herald__kafka_producer *producer; /* dead letters, dedup marks */
    struct herald__timer *marks_timer;       /* reads dedup marks back */

    /* kafka */
    struct herald__kafka *k; /* the consumer; NULL before start, after stop */
    int starting;            /* the dedup marks topic is being prepared */
    struct herald__timer *more_timer;
    struct herald__timer *commit_timer;
    struct herald__timer *drain_timer;
    struct herald__parts *parts;

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
     * busy() is at max_in_flight; only when that lasts longer than
     * pressure_grace_ms are the partitions paused, to keep polling. */
    uint64_t throttled_since; /* loop ms, 0: not throttled */
    int paused_for_pressure;
    uint64_t pressure_grace_ms;
};

static void pump(struct herald__connector *c);
static void process(struct herald__connector *c, struct job *j);
static void check_drain(struct herald__connector *c);
static void fail_connector(struct herald__connector *c);

#define logf_part(lv, c, r, ...)                                               \
    herald__stage_log((lv), (c)->cfg.name, (r), __VA_ARGS__)

/* ---- partitions -------------------------------------------------------- */

static void pressure_pause(struct herald__connector *c, int on)
{
    c->paused_for_pressure = on;
    herald__parts_pause_all(c->parts, HERALD__PAUSE_PRESSURE, on);
}

/* Records handed on and not final yet: batched, at the plugin, held for
 * the channel, or sent and waiting for their dedup mark or dead letter to
 * be acknowledged. A crash redelivers at most these, so max_in_flight
 * bounds them all. */
static int64_t busy(const struct herald__connector *c)
{
    struct herald__channel_status cs;
    herald__channel_status(c->channel, &cs);
    return herald__batcher_in_flight(c->batcher) +
           (int64_t)herald__batcher_batched(c->batcher) +
           herald__gate_writing(c->gate) + herald__outcome_writing(c->outcome) +
           cs.held;
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

/* Commit what is final for the partitions in only (NULL: all owned).
 * Synchronous on revoke and shutdown, asynchronous otherwise. */
static void commit_parts(struct herald__connector *c,
                         const struct herald__tp *only, size_t n_only, int sync)
{
    if (!c->env->tail) { /* tail reads with a throwaway group */
        herald__commit(c->parts, c->k, only, n_only, sync);
    }
}

static void on_commit_failed(void *ctx, const struct herald__tp *l, size_t n)
{
    struct herald__connector *c = ctx;
    herald__commit_failed(c->parts, l, n);
}

static void on_commit_timer(void *ctx)
{
    struct herald__connector *c = ctx;
    if (c->k && herald__kafka_commit_paused(c->k)) {
        return;
    }
    commit_parts(c, NULL, 0, 0);
}

/* ---- a job's life ------------------------------------------------------ */

static struct job *job_new(struct herald__connector *c, struct herald__part *p,
                           struct herald_record *r)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j) {
        return NULL;
    }
    j->c = c;
    j->rec = r;
    j->part = p;
    j->b.record = j->o.record = j->ch.record = j->g.record = r;
    j->b.bytes = r->value_len + r->key_len;
    j->o.first_ms = herald__loop_now_ms(c->env->loop);
    herald__part_ref(p);
    return j;
}

static void job_destroy(struct job *j)
{
    if (!j) {
        return;
    }
    herald__outcome_forget(j->c->outcome, &j->o);
    herald__gate_forget(j->c->gate, &j->g);
    herald__rendered_destroy(j->msg);
    herald__record_destroy(j->rec);
    herald__part_unref(j->part);
    free(j);
}

/* Let the job go in doubt (stop, revoke): it comes again from the last
 * commit. */
static void job_drop(struct job *j)
{
    struct herald__connector *c = j->c;
    job_destroy(j);
    herald__parts_gc(c->parts);
    check_drain(c);
}

/* The record's outcome is final: its offset may be committed. */
static void job_final(struct job *j)
{
    struct herald__connector *c = j->c;
    struct herald__part *p = j->part;
    if (!herald__part_revoked(p)) {
        herald__partoffsets_final(herald__part_offsets(p), j->rec->offset);
    }
    c->finals++;
    job_destroy(j);
    if (c->env->hooks.final &&
        c->env->hooks.final(c->env->hooks.ctx, c, c->finals) && !c->stopping) {
        herald__connector_stop(c);
    }
    check_drain(c);
}

/* Flags of outcome.h for j. */
static int job_state(const struct job *j)
{
    const struct herald__connector *c = j->c;
    return (herald__part_revoked(j->part) ? HERALD__OUTCOME_REVOKED : 0) |
           (c->stopping ? HERALD__OUTCOME_STOPPING : 0) |
           (c->stopped ? HERALD__OUTCOME_STOPPED : 0);
}

/* One of our own writes to Kafka (a dead letter, a dedup mark) was
 * acknowledged: the record is final. */
static void job_written(struct job *j)
{
    struct herald__connector *c = j->c;
    if (herald__part_paused(j->part, HERALD__PAUSE_WRITE)) {
        herald__parts_set_paused(c->parts, j->part, HERALD__PAUSE_WRITE, 0);
    }
    job_final(j);
    pressure_update(c);
}

static void reject_job(struct herald__connector *c, struct job *j,
                       const char *stage, const char *cls, const char *exc,
                       const char *reason)
{
    herald__outcome_reject(c->outcome, &j->o, stage, cls, exc, reason);
}

/* ---- outcome policy (outcome.h) callbacks ------------------------------ */

static void o_final(void *ctx, struct herald__outcome_item *it)
{
    (void)ctx;
    job_final(JOB_OF(it, o));
}

static void o_written(void *ctx, struct herald__outcome_item *it)
{
    (void)ctx;
    job_written(JOB_OF(it, o));
}

static void o_drop(void *ctx, struct herald__outcome_item *it)
{
    (void)ctx;
    job_drop(JOB_OF(it, o));
}

static void o_fail(void *ctx, struct herald__outcome_item *it)
{
    struct herald__connector *c = ctx;
    job_destroy(JOB_OF(it, o));
    fail_connector(c);
}

static void o_again(void *ctx, struct herald__outcome_item *it)
{
    struct herald__connector *c = ctx;
    herald__batcher_add(c->batcher, &JOB_OF(it, o)->b);
    herald__batcher_flush(c->batcher);
}

static void o_retry_pause(void *ctx, struct herald__outcome_item *it, int on)
{
    struct herald__connector *c = ctx;
    herald__parts_retrying(c->parts, JOB_OF(it, o)->part, on);
}

static void o_write_pause(void *ctx, struct herald__outcome_item *it)
{
    herald__parts_set_paused(((struct herald__connector *)ctx)->parts,
                             JOB_OF(it, o)->part, HERALD__PAUSE_WRITE, 1);
}

static int o_state(void *ctx, const struct herald__outcome_item *it)
{
    (void)ctx;
    return job_state(JOB_OF(it, o));
}

/* ---- dedup gate (dedup_gate.h) callbacks ------------------------------- */

static void after_gate(struct herald__connector *c, struct job *j,
                       enum herald__gate_verdict v);

static void g_again(void *ctx, struct herald__gate_item *it)
{
    struct herald__connector *c = ctx;
    struct job *j = JOB_OF(it, g);
    after_gate(c, j, herald__gate_decide(c->gate, it, NULL));
}

static void g_written(void *ctx, struct herald__gate_item *it)
{
    (void)ctx;
    job_written(JOB_OF(it, g));
}

static void g_drop(void *ctx, struct herald__gate_item *it)
{
    (void)ctx;
    job_drop(JOB_OF(it, g));
}

static void g_write_pause(void *ctx, struct herald__gate_item *it)
{
    herald__parts_set_paused(((struct herald__connector *)ctx)->parts,
                             JOB_OF(it, g)->part, HERALD__PAUSE_WRITE, 1);
}

static int g_state(void *ctx, const struct herald__gate_item *it)
{
    (void)ctx;
    return job_state(JOB_OF(it, g));
}

/* ---- channel hold (channel.h) callbacks -------------------------------- */

static void ch_pause_all(void *ctx, int on)
{
    herald__parts_pause_all(((struct herald__connector *)ctx)->parts,
                            HERALD__PAUSE_CHANNEL, on);
}

static void ch_held(void *ctx, struct herald__channel_item *it, int on,
                    uint64_t held_for)
{
    (void)ctx;
    struct job *j = JOB_OF(it, ch);
    herald__part_channel_held(j->part, on);
    if (!on) {
        herald__outcome_hold_time(&j->o, held_for);
    }
}

static int ch_revoked(void *ctx, const struct herald__channel_item *it)
{
    (void)ctx;
    return herald__part_revoked(JOB_OF(it, ch)->part);
}

static void ch_drop(void *ctx, struct herald__channel_item *it)
{
    (void)ctx;
    job_drop(JOB_OF(it, ch));
}

static void ch_release(void *ctx, struct herald__channel_item *it)
{
    struct herald__connector *c = ctx;
    herald__batcher_add(c->batcher, &JOB_OF(it, ch)->b);
}

static void ch_released(void *ctx)
{
    struct herald__connector *c = ctx;
    herald__parts_gc(c->parts);
    herald__batcher_flush(c->batcher);
    pressure_update(c);
}

static int ch_probe(void *ctx, struct herald__channel_item *it)
{
    struct herald__connector *c = ctx;
    return herald__batcher_send_one(c->batcher, &JOB_OF(it, ch)->b);
}

static int ch_stopping(void *ctx)
{
    return ((struct herald__connector *)ctx)->stopping;
}

static size_t ch_partitions(void *ctx)
{
    return herald__parts_assigned(((struct herald__connector *)ctx)->parts);
}

/* ---- deliver (batch.h) callbacks --------------------------------------- */

static void b_outcome(void *ctx, struct herald__batch_item *it,
                      enum herald_outcome outcome, int64_t retry_after_ms,
                      const char *reason)
{
    struct herald__connector *c = ctx;
    struct job *j = JOB_OF(it, b);
    int was_probe = herald__channel_took_probe(c->channel, &j->ch);
    if (c->stopped) {
        /* After the last commit (a drain timeout, then an instance that
         * closed): nothing can become final any more. */
        job_drop(j);
        return;
    }
    if (herald__part_revoked(j->part)) {
        /* Late outcome for a partition given up: another instance owns it
         * now and redelivers from the committed offset. */
        job_drop(j);
        if (was_probe && outcome == HERALD_UNAVAILABLE) {
            herald__channel_probe_lost(c->channel);
        }
    } else if (outcome == HERALD_UNAVAILABLE) {
        herald__channel_unavailable(c->channel, &j->ch, reason, was_probe);
    } else if (outcome == HERALD_OK) {
        c->stats.delivered_ok++;
        if (herald__gate_holds(&j->g)) {
            herald__gate_mark(c->gate, &j->g);
        } else {
            job_final(j);
        }
    } else if (outcome == HERALD_RETRY) {
        herald__outcome_retry(c->outcome, &j->o, retry_after_ms, reason,
                              c->inst->def->name);
    } else {
        char why[WHY_MAX], cls[CLASS_MAX];
        snprintf(why, sizeof why, "rejected by %s: %s", c->inst->def->name,
                 reason ? reason : "no reason given");
        snprintf(cls, sizeof cls, "herald.plugin.%s", c->inst->def->name);
        reject_job(c, j, "TASK_PUT", cls, "herald.Rejected", why);
    }
    if (was_probe && outcome != HERALD_UNAVAILABLE) {
        herald__channel_up(c->channel);
    }
    pressure_update(c);
}

static int b_blocked(void *ctx)
{
    return herald__channel_down(((struct herald__connector *)ctx)->channel);
}

static void b_held(void *ctx, struct herald__batch_item *it)
{
    struct herald__connector *c = ctx;
    herald__channel_hold(c->channel, &JOB_OF(it, b)->ch);
}

static void b_sent(void *ctx)
{
    pressure_update(ctx);
}

/* ---- the record's path ------------------------------------------------- */

/* The dedup key of j: for notify connectors the message's idempotency
 * key (notify.h), else dedup.key. NULL after rejecting j. */
static char *dedup_key(struct herald__connector *c, struct job *j)
{
    char err[ERR_MAX * 2] = "";
    char *key = NULL;
    if (c->notify) {
        if (herald__notify_key(c->notify, j->rec, &key, err, sizeof err) != 0) {
            /* What rendering reports first, as when render came first. */
            struct herald__rendered *m = NULL;
            if (herald__notify_render(c->notify, j->rec, &m, err, sizeof err) ==
                0) {
                herald__rendered_destroy(m);
            }
            reject_job(c, j, "TRANSFORMATION", "herald.notify",
                       "herald.RenderError", err);
            return NULL;
        }
        return key;
    }
    key = herald__dedup_key(c->dedup, j->rec, NULL, err, sizeof err);
    if (!key) {
        char why[WHY_MAX + ERR_MAX];
        snprintf(why, sizeof why, "dedup key: %s", err);
        reject_job(c, j, "TRANSFORMATION", "herald.dedup", "herald.RenderError",
                   why);
    }
    return key;
}

/* Render (notify) and hand over to the deliver stage. */
static void render_deliver(struct herald__connector *c, struct job *j)
{
    if (c->notify) {
        char err[ERR_MAX * 2] = "";
        if (herald__notify_render(c->notify, j->rec, &j->msg, err,
                                  sizeof err) != 0) {
            reject_job(c, j, "TRANSFORMATION", "herald.notify",
                       "herald.RenderError", err);
            return;
        }
        j->b.message = herald__rendered_message(j->msg);
    }
    if (c->gate) {
        herald__gate_hold(c->gate, &j->g);
    }
    herald__batcher_add(c->batcher, &j->b);
}

static void after_gate(struct herald__connector *c, struct job *j,
                       enum herald__gate_verdict v)
{
    if (v == HERALD__GATE_SKIP) {
        job_final(j);
    } else if (v == HERALD__GATE_GO) {
        render_deliver(c, j);
    } /* PARKED: the gate has it */
}

/* Decode, skip tombstones, dedup gate, render, batch. Returns with the job
 * owned by the next stage (batch, a hold, a timer, or finished). */
static void process(struct herald__connector *c, struct job *j)
{
    char err[ERR_MAX * 2] = "";
    int rc = herald__decode_record(c->decoder, j->rec, err, sizeof err);
    if (rc == HERALD__DECODE_WAIT) {
        /* Hold the partition in order behind this record. */
        herald__part_hold(j->part, &j->held);
        herald__parts_set_paused(c->parts, j->part, HERALD__PAUSE_SCHEMA, 1);
        return;
    }
    if (rc != 0) {
        c->stats.poison++;
        char why[ERR_MAX * 3];
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
        job_final(j);
        return;
    }
    if (!j->rec->value_tree && c->cfg.skip_tombstones) {
        job_final(j);
        return;
    }
    if (c->gate) {
        char *key = dedup_key(c, j);
        if (key) {
            after_gate(c, j, herald__gate_decide(c->gate, &j->g, key));
        }
        return;
    }
    render_deliver(c, j);
}

/* Retry held records of every partition, in order, after the registry
 * answered something. */
static void on_schema_ready(void *ctx)
{
    struct herald__connector *c = ctx;
    HERALD__PARTS_EACH(p, c->parts)
    {
        struct herald__held *h;
        while ((h = herald__part_unhold(p))) {
            struct job *j = JOB_OF(h, held);
            if (herald__part_revoked(p)) {
                job_destroy(j);
                continue;
            }
            process(c, j);
            if (herald__part_held_at_end(p, h)) {
                break; /* it waits again */
            }
        }
        if (!herald__part_holding(p)) {
            herald__parts_set_paused(c->parts, p, HERALD__PAUSE_SCHEMA, 0);
        }
    }
    herald__parts_gc(c->parts);
    herald__batcher_flush(c->batcher);
}

static void on_message(void *ctx, const struct herald__kafka_msg *m)
{
    struct herald__connector *c = ctx;
    struct herald__part *p =
        herald__parts_find(c->parts, m->topic, m->partition);
    if (!p || herald__part_paused(p, HERALD__PAUSE_REVOKE) || c->stopping) {
        return; /* not ours any more, or stopping: refetched later */
    }
    if (herald__partoffsets_track(herald__part_offsets(p), m->offset) != 0) {
        return; /* already seen (refetch after resume) */
    }
    struct herald_record *r = herald__kafka_msg_record(m);
    struct job *j = r ? job_new(c, p, r) : NULL;
    if (!j) {
        herald__record_destroy(r);
        logf_part(HERALD_LOG_ERROR, c, NULL, "out of memory");
        return; /* stays in doubt: never committed past */
    }
    c->stats.consumed++;
    if (herald__part_holding(p)) {
        herald__part_hold(p, &j->held);
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
                herald__batcher_flush(c->batcher);
                return;
            }
            /* Full for long: pause, and poll on for rebalances and
             * within max.poll.interval.ms. */
            pressure_pause(c, 1);
        }
        if (!herald__kafka_poll(c->k)) {
            herald__batcher_flush(c->batcher);
            return;
        }
        if (!c->k) {
            return;
        }
    }
    herald__batcher_flush(c->batcher);
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
    HERALD__PARTS_EACH(p, c->parts)
    {
        if (!herald__part_revoked(p) &&
            herald__tp_in(l, n_l, herald__part_topic(p),
                          herald__part_partition(p))) {
            /* Records held for an unavailable channel cannot finish:
             * waiting for them would only stall the group. */
            n += herald__partoffsets_pending(herald__part_offsets(p)) -
                 herald__part_channel_held_n(p);
        }
    }
    return n;
}

static int b_keep(void *ctx, struct herald__batch_item *it)
{
    (void)ctx;
    return !herald__part_revoked(JOB_OF(it, b)->part);
}

static void b_drop(void *ctx, struct herald__batch_item *it)
{
    (void)ctx;
    job_destroy(JOB_OF(it, b));
}

/* Drop the records of p held for a schema: they stay in doubt. */
static void drop_held(struct herald__part *p)
{
    struct herald__held *h;
    while ((h = herald__part_unhold(p))) {
        job_destroy(JOB_OF(h, held));
    }
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
    HERALD__PARTS_EACH(p, c->parts)
    {
        if (herald__tp_in(l, n, herald__part_topic(p),
                          herald__part_partition(p))) {
            /* Jobs still in flight see revoked and are dropped on return;
             * held records are dropped now. */
            drop_held(p);
            herald__part_set_revoked(p);
        }
    }
    if (c->dedup) {
        for (size_t i = 0; i < n; i++) {
            int32_t pn = l[i].partition;
            int still = 0;
            HERALD__PARTS_EACH(p, c->parts)
            {
                still |=
                    !herald__part_revoked(p) && herald__part_partition(p) == pn;
            }
            if (!still) {
                herald__dedup_forget(c->dedup, pn);
            }
        }
    }
    /* Records still batched for revoked partitions never go out. */
    herald__batcher_drop(c->batcher, b_keep, b_drop, c);
    herald__kafka_release(c->k, l, n);
    herald__tps_free(l, n);
    herald__parts_gc(c->parts);
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
 * timer): a partition waits, paused (HERALD__PAUSE_MARKS), until the marks of
 * its partition number are in memory, else it could notify twice. */
static void marks_wait_log(struct herald__connector *c, int32_t partition,
                           const char *err)
{
    HERALD__PARTS_EACH(p, c->parts)
    {
        if (!herald__part_revoked(p) &&
            herald__part_partition(p) == partition &&
            herald__part_paused(p, HERALD__PAUSE_MARKS)) {
            logf_part(HERALD_LOG_WARN, c, NULL,
                      "partition %s [%" PRId32 "] waits for its dedup marks "
                      "(trying again): %s",
                      herald__part_topic(p), herald__part_partition(p), err);
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
static int load_marks(struct herald__connector *c, struct herald__part *p,
                      int loud)
{
    char err[512];
    int rc = herald__dedup_load_start(c->dedup, herald__part_partition(p), err,
                                      sizeof err);
    if (rc == 1) {
        return 0;
    }
    herald__part_mark_paused(p, HERALD__PAUSE_MARKS); /* once assigned */
    if (rc < 0 && loud) {
        marks_wait_log(c, herald__part_partition(p), err);
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
    HERALD__PARTS_EACH(p, c->parts)
    {
        int marks = herald__part_paused(p, HERALD__PAUSE_MARKS);
        if (herald__part_revoked(p) || !marks || load_marks(c, p, 0) != 0) {
            waiting |= !herald__part_revoked(p) && marks;
            continue;
        }
        logf_part(HERALD_LOG_INFO, c, NULL,
                  "partition %s [%" PRId32 "]: dedup marks read back, "
                  "resuming",
                  herald__part_topic(p), herald__part_partition(p));
        herald__parts_set_paused(c->parts, p, HERALD__PAUSE_MARKS, 0);
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
        struct herald__part *p =
            herald__parts_add(c->parts, parts[i].topic, parts[i].partition);
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
            herald__part_mark_paused(p, HERALD__PAUSE_PRESSURE);
        }
        if (herald__channel_down(c->channel)) {
            herald__part_mark_paused(p, HERALD__PAUSE_CHANNEL);
        }
        herald__parts_apply_pause(c->parts, p);
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
        struct herald__part *p =
            herald__parts_find(c->parts, parts[i].topic, parts[i].partition);
        if (p) {
            herald__parts_set_paused(c->parts, p, HERALD__PAUSE_REVOKE, 1);
        }
    }
    herald__batcher_flush(c->batcher);
    struct herald__tp *copy = herald__tps_dup(parts, n);
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
    herald__parts_set_kafka(c->parts, NULL);
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
    HERALD__PARTS_EACH(p, c->parts)
    {
        drop_held(p);
    }
    herald__batcher_drop(c->batcher, NULL, b_drop, c);
    herald__outcome_drop_timed(c->outcome);
    herald__gate_drop_timed(c->gate);
    herald__channel_drop_all(c->channel);
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
    return herald__batcher_in_flight(c->batcher) == 0 &&
           herald__outcome_writing(c->outcome) == 0 &&
           herald__gate_writing(c->gate) == 0;
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
        int64_t in_flight = herald__batcher_in_flight(c->batcher);
        if (in_flight > 0) {
            logf_part(HERALD_LOG_WARN, c, NULL,
                      "drain timeout: %" PRId64
                      " record(s) still in flight stay uncommitted",
                      in_flight);
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
              herald__batcher_in_flight(c->batcher));
    HERALD__PARTS_EACH(p, c->parts)
    {
        herald__parts_set_paused(c->parts, p, HERALD__PAUSE_REVOKE, 1);
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

/* The stages after decode, wired to the job's life. 0, or -1 when out of
 * memory. */
static int new_stages(struct herald__connector *c)
{
    static const struct herald__outcome_cbs ocbs = {
        .final = o_final,
        .written = o_written,
        .drop = o_drop,
        .fail = o_fail,
        .again = o_again,
        .retry_pause = o_retry_pause,
        .write_pause = o_write_pause,
        .state = o_state,
    };
    static const struct herald__gate_cbs gcbs = {
        .again = g_again,
        .written = g_written,
        .drop = g_drop,
        .write_pause = g_write_pause,
        .state = g_state,
    };
    static const struct herald__channel_cbs chcbs = {
        .pause_all = ch_pause_all,
        .held = ch_held,
        .revoked = ch_revoked,
        .drop = ch_drop,
        .release = ch_release,
        .released = ch_released,
        .probe = ch_probe,
        .stopping = ch_stopping,
        .partitions = ch_partitions,
    };
    static const struct herald__batch_cbs bcbs = {
        .outcome = b_outcome,
        .blocked = b_blocked,
        .held = b_held,
        .sent = b_sent,
    };
    const struct herald__connector_config *cfg = &c->cfg;
    struct herald__loop *loop = c->env->loop;
    struct herald__outcome_opts oo = {
        .connector = cfg->name,
        .tolerance_all = cfg->tolerance_all,
        .dead_letter_topic = cfg->dead_letter_topic,
        .retry_initial_ms = cfg->retry_initial_ms,
        .retry_max_ms = cfg->retry_max_ms,
        .retry_timeout_ms = cfg->retry_timeout_ms,
    };
    c->outcome = herald__outcome_new(loop, &oo, &ocbs, c);
    if (!c->outcome) {
        return -1;
    }
    if (herald__dedup_active(c->dedup)) {
        struct herald__gate_opts go = {
            .connector = cfg->name,
            .retry_initial_ms = cfg->retry_initial_ms,
            .retry_max_ms = cfg->retry_max_ms,
        };
        c->gate = herald__gate_new(loop, c->dedup, &go, &gcbs, c);
        if (!c->gate) {
            return -1;
        }
    }
    if (!c->inst) {
        return 0; /* tail: nothing is delivered */
    }
    c->channel = herald__channel_new(loop, cfg->name, c->inst->name,
                                     cfg->probe_initial_ms, cfg->probe_max_ms,
                                     &chcbs, c);
    c->batcher =
        herald__batcher_new(loop, c->inst, cfg->batch_max_records,
                            cfg->batch_max_bytes, cfg->linger_ms, &bcbs, c);
    return c->channel && c->batcher ? 0 : -1;
}

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
    if (!c || !(c->parts = herald__parts_new())) {
        free(c);
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

    c->more_timer = herald__timer_new(env->loop, on_pump_timer, c);
    c->commit_timer = herald__timer_new(env->loop, on_commit_timer, c);
    c->drain_timer = herald__timer_new(env->loop, on_stop_timer, c);
    if (d->n == errs && (new_stages(c) != 0 || !c->more_timer ||
                         !c->commit_timer || !c->drain_timer)) {
        herald__diag_add(d, map, "out of memory");
    }
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
    herald__parts_set_kafka(c->parts, c->k);
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
        herald__outcome_set_producer(c->outcome, c->producer);
        if (c->gate) {
            herald__gate_set_producer(c->gate, c->producer);
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
    herald__parts_set_kafka(c->parts, NULL);
    if (c->revoking) {
        herald__tps_free(c->revoking, c->n_revoking);
        c->revoking = NULL;
    }
    /* Items still with the plugin (drain timeout) must not report to a
     * freed connector when they complete or the instance closes: the
     * batcher forgets its owner at the plugin host. */
    herald__batcher_destroy(c->batcher);
    herald__channel_destroy(c->channel);
    herald__gate_destroy(c->gate);
    herald__outcome_destroy(c->outcome);
    herald__timer_destroy(c->more_timer);
    herald__timer_destroy(c->commit_timer);
    herald__timer_destroy(c->drain_timer);
    /* Jobs on retry timers: their timers belong to them. */
    HERALD__PARTS_EACH(p, c->parts)
    {
        herald__part_set_revoked(p);
    }
    herald__decoder_destroy(c->decoder);
    herald__notify_destroy(c->notify);
    herald__producer_destroy(c->producer);
    herald__timer_destroy(c->marks_timer);
    herald__dedup_destroy(c->dedup);
    herald__connector_config_cleanup(&c->cfg);
    herald__parts_destroy(c->parts);
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
    struct herald__channel_status cs;
    *out = c->stats;
    herald__outcome_counts(c->outcome, &out->rejected, &out->retried);
    out->deduped = herald__gate_skipped(c->gate);
    herald__channel_status(c->channel, &cs);
    out->unavailable = cs.unavailable;
    out->in_flight = herald__batcher_in_flight(c->batcher);
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
    herald__connector_stats(c, &out->stats);
    struct herald__channel_status cs;
    herald__channel_status(c->channel, &cs);
    out->channel_unavailable = cs.down;
    out->channel_reason = cs.reason;
    out->channel_unavailable_ms = cs.down_ms;
    out->channel_held = cs.held;
    out->state = c->failed     ? HERALD__CONNECTOR_FAILED
                 : c->stopped  ? HERALD__CONNECTOR_STOPPED
                 : c->stopping ? HERALD__CONNECTOR_STOPPING
                 : c->k        ? HERALD__CONNECTOR_RUNNING
                               : HERALD__CONNECTOR_CREATED;
    size_t n = herald__parts_assigned(c->parts);
    if (n == 0) {
        return 0;
    }
    out->parts = calloc(n, sizeof *out->parts);
    if (!out->parts) {
        return -1;
    }
    HERALD__PARTS_EACH(p, c->parts)
    {
        if (herald__part_revoked(p)) {
            continue;
        }
        const struct herald__partoffsets *offs = herald__part_offsets_c(p);
        struct herald__partition_status *s = &out->parts[out->n_parts++];
        s->topic = herald__part_topic(p);
        s->partition = herald__part_partition(p);
        s->committed = offs->committed;
        s->next = herald__partoffsets_committable(offs);
        s->in_doubt = (int64_t)herald__partoffsets_pending(offs);
        s->paused = herald__part_paused(p, ~0) != 0;
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
