/*
 * connector_stop.c - a connector's stop: stop taking records, drain the
 * records in flight up to drain_timeout, commit what is final, close the
 * consumer without blocking, wait up to FLUSH_TIMEOUT_MS for the
 * producer's last writes; a second stop gives up on each of these at once.
 */
#include "connector_int.h"

/* Log a line of this connector (stage_log.h). */
#define logf_part(lv, c, r, ...)                                               \
    herald__stage_log((lv), (c)->cfg.name, (r), __VA_ARGS__)

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
        herald__connector_finish_revoke(c);
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
void herald__connector_on_closed(void *ctx)
{
    struct herald__connector *c = ctx;
    if (c->at_once || herald__producer_pending(c->producer) == 0) {
        stopped(c);
        return;
    }
    c->flush_deadline = herald__loop_now_ms(c->env->loop) + FLUSH_TIMEOUT_MS;
    herald__timer_start(c->drain_timer, 0, DRAIN_CHECK_MS);
}

/* Commit what is final and close the consumer; herald__connector_on_closed
 * follows. */
static void close_consumer(struct herald__connector *c)
{
    herald__timer_stop(c->commit_timer);
    herald__timer_stop(c->more_timer);
    herald__connector_commit(c, NULL, 0, 1);
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

void herald__connector_drop_waiting(struct herald__connector *c)
{
    /* Records not handed to the plugin are left in doubt: the next run
     * redelivers them from the committed offset. */
    HERALD__PARTS_EACH (p, c->parts) {
        herald__connector_drop_held(p);
    }
    herald__batcher_drop(c->batcher, NULL, herald__connector_drop_batched, c);
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

void herald__connector_check_drain(struct herald__connector *c)
{
    if (c->revoking &&
        herald__connector_pending_in(c, c->revoking, c->n_revoking) == 0) {
        herald__connector_finish_revoke(c);
    }
    if (c->stopping && !c->stopped && drained(c)) {
        /* Not from here: we may be inside pump() holding a message of the
         * consumer that finish_stop closes. The timer finishes it. */
        herald__timer_start(c->drain_timer, 0, DRAIN_CHECK_MS);
    }
}

void herald__connector_on_stop_timer(void *ctx)
{
    struct herald__connector *c = ctx;
    uint64_t now = herald__loop_now_ms(c->env->loop);
    if (c->revoking) {
        herald__connector_on_drain_timer(c);
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
    HERALD__PARTS_EACH (p, c->parts) {
        herald__parts_set_paused(c->parts, p, HERALD__PAUSE_REVOKE, 1);
    }
    herald__connector_drop_waiting(c);
    c->stop_deadline =
        herald__loop_now_ms(c->env->loop) + (uint64_t)c->cfg.drain_timeout_ms;
    herald__timer_start(c->drain_timer, 0, DRAIN_CHECK_MS);
}

void herald__connector_fail(struct herald__connector *c)
{
    c->failed = 1;
    if (!c->stopping) {
        herald__connector_stop(c);
    }
}
