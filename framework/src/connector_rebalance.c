/*
 * connector_rebalance.c - a connector's assignments and revokes: on revoke
 * the partitions are paused, the records in flight drain up to
 * drain_timeout, what is final is committed synchronously, and only then
 * is the assignment given up (kafka.h allows the release after the
 * callback). A partition assigned waits, paused, until its dedup marks are
 * read back.
 */
#include "connector_int.h"

/* Log a line of this connector (stage_log.h). */
#define logf_part(lv, c, r, ...)                                               \
    herald__stage_log((lv), (c)->cfg.name, (r), __VA_ARGS__)

size_t herald__connector_pending_in(struct herald__connector *c,
                                    const struct herald__tp *l, size_t n_l)
{
    size_t n = 0;
    HERALD__PARTS_EACH (p, c->parts) {
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

void herald__connector_drop_batched(void *ctx, struct herald__batch_item *it)
{
    (void)ctx;
    herald__connector_job_destroy(JOB_OF(it, b));
}

/* Drop the records of p held for a schema: they stay in doubt. */
void herald__connector_drop_held(struct herald__part *p)
{
    struct herald__held *h;
    while ((h = herald__part_unhold(p))) {
        herald__connector_job_destroy(JOB_OF(h, held));
    }
}

/* Give up the partitions being revoked: commit what is final first. */
void herald__connector_finish_revoke(struct herald__connector *c)
{
    struct herald__tp *l = c->revoking;
    size_t n = c->n_revoking;
    c->revoking = NULL;
    c->n_revoking = 0;
    herald__timer_stop(c->drain_timer);
    if (!c->revoke_lost) {
        herald__connector_commit(c, l, n, 1);
    }
    HERALD__PARTS_EACH (p, c->parts) {
        if (herald__tp_in(l, n, herald__part_topic(p),
                          herald__part_partition(p))) {
            /* Jobs still in flight see revoked and are dropped on return;
             * held records are dropped now. */
            herald__connector_drop_held(p);
            herald__part_set_revoked(p);
        }
    }
    if (c->dedup) {
        for (size_t i = 0; i < n; i++) {
            int32_t pn = l[i].partition;
            int still = 0;
            HERALD__PARTS_EACH (p, c->parts) {
                still |=
                    !herald__part_revoked(p) && herald__part_partition(p) == pn;
            }
            if (!still) {
                herald__dedup_forget(c->dedup, pn);
            }
        }
    }
    /* Records still batched for revoked partitions never go out. */
    herald__batcher_drop(c->batcher, b_keep, herald__connector_drop_batched, c);
    herald__kafka_release(c->k, l, n);
    herald__tps_free(l, n);
    herald__parts_gc(c->parts);
}

void herald__connector_on_drain_timer(void *ctx)
{
    struct herald__connector *c = ctx;
    if (!c->revoking) {
        return;
    }
    size_t left = herald__connector_pending_in(c, c->revoking, c->n_revoking);
    if (left == 0 || herald__loop_now_ms(c->env->loop) >= c->revoke_deadline) {
        if (left) {
            logf_part(HERALD_LOG_WARN, c, NULL,
                      "drain timeout: %zu record(s) still in flight are "
                      "left to the next owner",
                      left);
        }
        herald__connector_finish_revoke(c);
    }
}

/* Dedup marks are read back asynchronously (dedup.c, polled by the marks
 * timer): a partition waits, paused (HERALD__PAUSE_MARKS), until the marks of
 * its partition number are in memory, else it could notify twice. */
static void marks_wait_log(struct herald__connector *c, int32_t partition,
                           const char *err)
{
    HERALD__PARTS_EACH (p, c->parts) {
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

void herald__connector_on_marks_timer(void *ctx)
{
    struct herald__connector *c = ctx;
    /* Bounded per turn; a zero timeout continues when there is more. */
    int more =
        herald__dedup_poll(c->dedup, MARKS_MAX_PER_TURN, on_marks_failed, c);
    int waiting = 0;
    HERALD__PARTS_EACH (p, c->parts) {
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

void herald__connector_on_assigned(void *ctx, const struct herald__tp *parts,
                                   size_t n)
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
    herald__connector_pressure_update(c);
}

void herald__connector_on_revoked(void *ctx, const struct herald__tp *parts,
                                  size_t n, int lost)
{
    struct herald__connector *c = ctx;
    if (c->revoking) {
        /* A second revoke before the first finished: finish now. */
        herald__connector_finish_revoke(c);
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
            herald__connector_commit(c, parts, n, 1);
        }
        herald__kafka_release(c->k, parts, n);
        return;
    }
    c->revoking = copy;
    c->n_revoking = n;
    c->revoke_lost = lost;
    c->revoke_deadline =
        herald__loop_now_ms(c->env->loop) + (uint64_t)c->cfg.drain_timeout_ms;
    size_t pending = herald__connector_pending_in(c, parts, n);
    if (lost || pending == 0 || c->stopped) {
        herald__connector_finish_revoke(c);
    } else {
        logf_part(HERALD_LOG_INFO, c, NULL,
                  "revoking %zu partition(s): draining %zu record(s) in "
                  "flight first",
                  n, pending);
        herald__timer_start(c->drain_timer, DRAIN_CHECK_MS, DRAIN_CHECK_MS);
    }
}
