/*
 * connector_stages.c - the connector's side of each stage's callbacks
 * (outcome.h, dedup_gate.h, channel.h, batch.h): what a stage's report
 * means for the job, and the stages' construction.
 */
#include "connector_int.h"

/* ---- outcome policy (outcome.h) callbacks ------------------------------ */

static void o_final(void *ctx, struct herald__outcome_item *it)
{
    (void)ctx;
    herald__connector_job_final(JOB_OF(it, o));
}

static void o_written(void *ctx, struct herald__outcome_item *it)
{
    (void)ctx;
    herald__connector_job_written(JOB_OF(it, o));
}

static void o_drop(void *ctx, struct herald__outcome_item *it)
{
    (void)ctx;
    herald__connector_job_drop(JOB_OF(it, o));
}

static void o_fail(void *ctx, struct herald__outcome_item *it)
{
    struct herald__connector *c = ctx;
    herald__connector_job_destroy(JOB_OF(it, o));
    herald__connector_fail(c);
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
    return herald__connector_job_state(JOB_OF(it, o));
}

/* ---- dedup gate (dedup_gate.h) callbacks ------------------------------- */

static void g_again(void *ctx, struct herald__gate_item *it)
{
    struct herald__connector *c = ctx;
    struct job *j = JOB_OF(it, g);
    herald__connector_after_gate(c, j, herald__gate_decide(c->gate, it, NULL));
}

static void g_written(void *ctx, struct herald__gate_item *it)
{
    (void)ctx;
    herald__connector_job_written(JOB_OF(it, g));
}

static void g_drop(void *ctx, struct herald__gate_item *it)
{
    (void)ctx;
    herald__connector_job_drop(JOB_OF(it, g));
}

static void g_write_pause(void *ctx, struct herald__gate_item *it)
{
    herald__parts_set_paused(((struct herald__connector *)ctx)->parts,
                             JOB_OF(it, g)->part, HERALD__PAUSE_WRITE, 1);
}

static int g_state(void *ctx, const struct herald__gate_item *it)
{
    (void)ctx;
    return herald__connector_job_state(JOB_OF(it, g));
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
    herald__connector_job_drop(JOB_OF(it, ch));
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
    herald__connector_pressure_update(c);
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
        herald__connector_job_drop(j);
        return;
    }
    if (herald__part_revoked(j->part)) {
        /* Late outcome for a partition given up: another instance owns it
         * now and redelivers from the committed offset. */
        herald__connector_job_drop(j);
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
            herald__connector_job_final(j);
        }
    } else if (outcome == HERALD_RETRY) {
        herald__outcome_retry(c->outcome, &j->o, retry_after_ms, reason,
                              c->inst->def->name);
    } else {
        char why[WHY_MAX], cls[CLASS_MAX];
        snprintf(why, sizeof why, "rejected by %s: %s", c->inst->def->name,
                 reason ? reason : "no reason given");
        snprintf(cls, sizeof cls, "herald.plugin.%s", c->inst->def->name);
        herald__connector_reject(c, j, "TASK_PUT", cls, "herald.Rejected", why);
    }
    if (was_probe && outcome != HERALD_UNAVAILABLE) {
        herald__channel_up(c->channel);
    }
    herald__connector_pressure_update(c);
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
    herald__connector_pressure_update(ctx);
}

/* ---- construction ------------------------------------------------------ */

/* The stages after decode, wired to the job's life. 0, or -1 when out of
 * memory. */
int herald__connector_new_stages(struct herald__connector *c)
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
