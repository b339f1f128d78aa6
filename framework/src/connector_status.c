/*
 * connector_status.c - what a connector tells about itself: its name, its
 * figures, the admin endpoint's snapshot, and herald check's look at the
 * broker.
 */
#include "connector_int.h"

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
    HERALD__PARTS_EACH (p, c->parts) {
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
