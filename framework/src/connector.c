/*
 * connector.c - one connector: the state machine of a record's life (a
 * job) through the stages of docs/architecture.md: Kafka (kafka.h) ->
 * decode and the tombstone filter (decode_stage.h) -> dedup gate ->
 * [notify render] -> deliver (batch.h) -> outcome -> offsets. Here: a
 * job's life, the record's path, the consumer's pump, construction and
 * start. The partitions' table is partitions.h, committing commit.h;
 * backpressure and the commit timer are connector_commit.c, the stages'
 * callbacks connector_stages.c, rebalances connector_rebalance.c, the
 * stop connector_stop.c, the status connector_status.c (connector_int.h).
 *
 * Delivery is at-least-once. Every consumed record is tracked per partition
 * (offsets.c) until its outcome is final: OK, or REJECT handled by the error
 * policy. Commits only ever name the first offset still in doubt. A record
 * whose schema is not available yet holds its partition (the records
 * behind it queue up in order) until the registry answers.
 */
#include "connector_int.h"
#include "decode_stage.h"

/* Log a line of this connector (stage_log.h). */
#define logf_part(lv, c, r, ...)                                               \
    herald__stage_log((lv), (c)->cfg.name, (r), __VA_ARGS__)

static void pump(struct herald__connector *c);
static void process(struct herald__connector *c, struct job *j);

/* Ended jobs kept for reuse: more than a full batch in flight, so the
 * steady state takes every job from the pool. */
#define JOB_POOL_MAX 4096u

/* ---- a job's life ------------------------------------------------------ */

static struct job *job_new(struct herald__connector *c, struct herald__part *p,
                           struct herald_record *r)
{
    struct job *j = c->free_jobs;
    if (j) {
        c->free_jobs = j->next_free;
        c->n_free_jobs--;
        memset(j, 0, sizeof *j);
    } else if (!(j = calloc(1, sizeof *j))) {
        return NULL;
    }
    j->c = c;
    j->rec = r;
    j->part = p;
    j->b.record = j->o.record = j->ch.record = j->g.record = r;
    j->b.bytes = r->value_len + r->key_len;
    /* the start of its retry budget: the loop iteration's time will do */
    j->o.first_ms = herald__loop_cached_ms(c->env->loop);
    herald__part_ref(p);
    return j;
}

void herald__connector_job_destroy(struct job *j)
{
    if (!j) {
        return;
    }
    herald__outcome_forget(j->c->outcome, &j->o);
    herald__gate_forget(j->c->gate, &j->g);
    herald__rendered_destroy(j->msg);
    herald__record_destroy(j->rec);
    herald__part_unref(j->part);
    struct herald__connector *c = j->c;
    if (c->n_free_jobs < JOB_POOL_MAX) {
        j->next_free = c->free_jobs;
        c->free_jobs = j;
        c->n_free_jobs++;
    } else {
        free(j);
    }
}

/* Let the job go in doubt (stop, revoke): it comes again from the last
 * commit. */
void herald__connector_job_drop(struct job *j)
{
    struct herald__connector *c = j->c;
    herald__connector_job_destroy(j);
    herald__parts_gc(c->parts);
    herald__connector_check_drain(c);
}

/* The record's outcome is final: its offset may be committed. */
void herald__connector_job_final(struct job *j)
{
    struct herald__connector *c = j->c;
    struct herald__part *p = j->part;
    if (!herald__part_revoked(p)) {
        herald__partoffsets_final(herald__part_offsets(p), j->rec->offset);
    }
    c->finals++;
    herald__connector_job_destroy(j);
    if (c->env->hooks.final &&
        c->env->hooks.final(c->env->hooks.ctx, c, c->finals) && !c->stopping) {
        herald__connector_stop(c);
    }
    herald__connector_check_drain(c);
}

/* Flags of outcome.h for j. */
int herald__connector_job_state(const struct job *j)
{
    const struct herald__connector *c = j->c;
    return (herald__part_revoked(j->part) ? HERALD__OUTCOME_REVOKED : 0) |
           (c->stopping ? HERALD__OUTCOME_STOPPING : 0) |
           (c->stopped ? HERALD__OUTCOME_STOPPED : 0);
}

/* One of our own writes to Kafka (a dead letter, a dedup mark) was
 * acknowledged: the record is final. */
void herald__connector_job_written(struct job *j)
{
    struct herald__connector *c = j->c;
    if (herald__part_paused(j->part, HERALD__PAUSE_WRITE)) {
        herald__parts_set_paused(c->parts, j->part, HERALD__PAUSE_WRITE, 0);
    }
    herald__connector_job_final(j);
    herald__connector_pressure_update(c);
}

void herald__connector_reject(struct herald__connector *c, struct job *j,
                              const char *stage, const char *cls,
                              const char *exc, const char *reason)
{
    herald__outcome_reject(c->outcome, &j->o, stage, cls, exc, reason);
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
            herald__connector_reject(c, j, "TRANSFORMATION", "herald.notify",
                                     "herald.RenderError", err);
            return NULL;
        }
        return key;
    }
    key = herald__dedup_key(c->dedup, j->rec, NULL, err, sizeof err);
    if (!key) {
        char why[WHY_MAX + ERR_MAX];
        snprintf(why, sizeof why, "dedup key: %s", err);
        herald__connector_reject(c, j, "TRANSFORMATION", "herald.dedup",
                                 "herald.RenderError", why);
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
            herald__connector_reject(c, j, "TRANSFORMATION", "herald.notify",
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

void herald__connector_after_gate(struct herald__connector *c, struct job *j,
                                  enum herald__gate_verdict v)
{
    if (v == HERALD__GATE_SKIP) {
        herald__connector_job_final(j);
    } else if (v == HERALD__GATE_GO) {
        render_deliver(c, j);
    } /* PARKED: the gate has it */
}

/* Decode, skip tombstones, dedup gate, render, batch. Returns with the job
 * owned by the next stage (batch, a hold, a timer, or finished). */
static void process(struct herald__connector *c, struct job *j)
{
    struct herald__decode_reject rej;
    /* In tail mode every record goes to the hook, tombstones too. */
    enum herald__decoded v = herald__decode_stage(
        c->decoder, j->rec, c->cfg.skip_tombstones && !c->env->tail, &rej);
    if (v == HERALD__DECODED_WAIT) {
        /* Hold the partition in order behind this record. */
        herald__part_hold(j->part, &j->held);
        herald__parts_set_paused(c->parts, j->part, HERALD__PAUSE_SCHEMA, 1);
        return;
    }
    if (v == HERALD__DECODED_POISON) {
        c->stats.poison++;
        herald__connector_reject(c, j, rej.stage, rej.cls, rej.exc, rej.reason);
        return;
    }
    if (v == HERALD__DECODED_SKIP) {
        herald__connector_job_final(j);
        return;
    }
    if (c->env->tail) {
        if (c->env->hooks.decoded) {
            c->env->hooks.decoded(c->env->hooks.ctx, j->rec);
        }
        herald__connector_job_final(j);
        return;
    }
    if (c->gate) {
        char *key = dedup_key(c, j);
        if (key) {
            herald__connector_after_gate(
                c, j, herald__gate_decide(c->gate, &j->g, key));
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
    HERALD__PARTS_EACH (p, c->parts) {
        struct herald__held *h;
        while ((h = herald__part_unhold(p))) {
            struct job *j = JOB_OF(h, held);
            if (herald__part_revoked(p)) {
                herald__connector_job_destroy(j);
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
    herald__connector_fail(ctx);
}

/* Drain the consumer queue until empty (bounded per turn to keep the loop
 * fair; a zero timer continues). */
static void pump(struct herald__connector *c)
{
    if (!c->k) {
        return;
    }
    for (int n = 0; n < PUMP_MAX_PER_TURN; n++) {
        if (herald__connector_pressure_wait(c)) {
            herald__batcher_flush(c->batcher);
            return;
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
    c->commit_timer =
        herald__timer_new(env->loop, herald__connector_on_commit_timer, c);
    c->drain_timer =
        herald__timer_new(env->loop, herald__connector_on_stop_timer, c);
    if (d->n == errs &&
        (herald__connector_new_stages(c) != 0 || !c->more_timer ||
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
        .assigned = herald__connector_on_assigned,
        .revoked = herald__connector_on_revoked,
        .commit_failed = herald__connector_on_commit_failed,
        .fatal = on_fatal,
        .closed = herald__connector_on_closed,
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
    herald__connector_fail(c);
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
        c->marks_timer = herald__timer_new(c->env->loop,
                                           herald__connector_on_marks_timer, c);
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
    herald__connector_drop_waiting(c);
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
    HERALD__PARTS_EACH (p, c->parts) {
        herald__part_set_revoked(p);
    }
    herald__decoder_destroy(c->decoder);
    herald__notify_destroy(c->notify);
    herald__producer_destroy(c->producer);
    herald__timer_destroy(c->marks_timer);
    herald__dedup_destroy(c->dedup);
    herald__connector_config_cleanup(&c->cfg);
    herald__parts_destroy(c->parts);
    while (c->free_jobs) {
        struct job *j = c->free_jobs;
        c->free_jobs = j->next_free;
        free(j);
    }
    free(c);
}
