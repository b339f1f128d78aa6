/*
 * connector_commit.c - a connector's backpressure (records in flight
 * bounded by max_in_flight: first the consumer is left alone, then its
 * partitions pause) and its commits (periodic and asynchronous; through
 * commit.h).
 */
#include "connector_int.h"

/* ---- backpressure ------------------------------------------------------ */

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
void herald__connector_pressure_update(struct herald__connector *c)
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

/* Whether the consumer must be left alone for now: too many records in
 * flight for less than the grace; when that lasts longer, the partitions
 * pause instead and polling goes on (rebalances, max.poll.interval.ms). */
int herald__connector_pressure_wait(struct herald__connector *c)
{
    if (!pressure_full(c) || c->paused_for_pressure) {
        return 0;
    }
    uint64_t now = herald__loop_now_ms(c->env->loop);
    if (!c->throttled_since) {
        c->throttled_since = now;
    }
    if (now - c->throttled_since < c->pressure_grace_ms) {
        /* Leave the records in librdkafka's queue (bounded by
         * queued.max.messages.kbytes): it stops fetching. */
        return 1;
    }
    /* Full for long: pause, and poll on for rebalances and within
     * max.poll.interval.ms. */
    pressure_pause(c, 1);
    return 0;
}

/* ---- commits ----------------------------------------------------------- */

/* Commit what is final for the partitions in only (NULL: all owned).
 * Synchronous on revoke and shutdown, asynchronous otherwise. */
void herald__connector_commit(struct herald__connector *c,
                              const struct herald__tp *only, size_t n_only,
                              int sync)
{
    if (!c->env->tail) { /* tail reads with a throwaway group */
        herald__commit(c->parts, c->k, only, n_only, sync);
    }
}

void herald__connector_on_commit_failed(void *ctx, const struct herald__tp *l,
                                        size_t n)
{
    struct herald__connector *c = ctx;
    herald__commit_failed(c->parts, l, n);
}

void herald__connector_on_commit_timer(void *ctx)
{
    struct herald__connector *c = ctx;
    if (c->k && herald__kafka_commit_paused(c->k)) {
        return;
    }
    herald__connector_commit(c, NULL, 0, 0);
}
