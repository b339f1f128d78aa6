/*
 * channel.c - the channel-unavailable hold and its probes (channel.h).
 */
#include "channel.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "loop.h"
#include "stage_log.h"

/* While a channel is unavailable a line about it is logged at most this
 * often (plus one when it goes down and one when it comes back). */
#define LOG_INTERVAL_MS 60000
#define REASON_MAX 512
#define MS_PER_S 1000
/* Printable ASCII: what the reason may hold (JSON, Prometheus labels). */
#define PRINTABLE_MIN 0x20
#define PRINTABLE_MAX 0x7e

struct herald__channel {
    struct herald__loop *loop;
    const char *connector, *name;
    int64_t initial_ms, max_ms;
    struct herald__channel_cbs cbs;
    void *ctx;
    int down;
    char reason[REASON_MAX];                  /* the last UNAVAILABLE's */
    uint64_t since;                           /* loop ms it went down */
    uint64_t last_log;                        /* loop ms of the last line */
    int probes;                               /* failed probes since then */
    const struct herald__channel_item *probe; /* in flight as the probe */
    struct herald__channel_item *head, *tail; /* held */
    int64_t held;
    int64_t unavailable;
    struct herald__timer *timer;
};

static void on_timer(void *ctx);

struct herald__channel *
herald__channel_new(struct herald__loop *loop, const char *connector,
                    const char *name, int64_t probe_initial_ms,
                    int64_t probe_max_ms, const struct herald__channel_cbs *cbs,
                    void *ctx)
{
    struct herald__channel *ch = calloc(1, sizeof *ch);
    if (!ch) {
        return NULL;
    }
    ch->loop = loop;
    ch->connector = connector;
    ch->name = name;
    ch->initial_ms = probe_initial_ms;
    ch->max_ms = probe_max_ms;
    ch->cbs = *cbs;
    ch->ctx = ctx;
    ch->timer = herald__timer_new(loop, on_timer, ch);
    if (!ch->timer) {
        free(ch);
        return NULL;
    }
    return ch;
}

void herald__channel_destroy(struct herald__channel *ch)
{
    if (ch) {
        herald__timer_destroy(ch->timer);
        free(ch);
    }
}

int herald__channel_down(const struct herald__channel *ch)
{
    return ch && ch->down;
}

static void hold(struct herald__channel *ch, struct herald__channel_item *it,
                 int at_head)
{
    it->held_ms = herald__loop_now_ms(ch->loop);
    it->next = NULL;
    if (at_head) {
        it->next = ch->head;
        ch->head = it;
        if (!ch->tail) {
            ch->tail = it;
        }
    } else if (ch->tail) {
        ch->tail->next = it;
        ch->tail = it;
    } else {
        ch->head = ch->tail = it;
    }
    ch->held++;
    ch->cbs.held(ch->ctx, it, 1, 0);
}

void herald__channel_hold(struct herald__channel *ch,
                          struct herald__channel_item *it)
{
    hold(ch, it, 0);
}

/* The first held record, its waiting struck off its retry clock; NULL
 * when none is held. */
static struct herald__channel_item *unhold(struct herald__channel *ch)
{
    struct herald__channel_item *it = ch->head;
    if (!it) {
        return NULL;
    }
    ch->head = it->next;
    if (!ch->head) {
        ch->tail = NULL;
    }
    it->next = NULL;
    ch->held--;
    ch->cbs.held(ch->ctx, it, 0, herald__loop_now_ms(ch->loop) - it->held_ms);
    return it;
}

void herald__channel_drop_all(struct herald__channel *ch)
{
    if (!ch) {
        return;
    }
    struct herald__channel_item *it;
    while ((it = unhold(ch))) {
        ch->cbs.drop(ch->ctx, it);
    }
    herald__timer_stop(ch->timer);
}

static void schedule(struct herald__channel *ch)
{
    int64_t wait = ch->initial_ms;
    for (int i = 0; i < ch->probes && wait < ch->max_ms; i++) {
        wait *= 2;
    }
    if (wait > ch->max_ms) {
        wait = ch->max_ms;
    }
    herald__timer_start(ch->timer, (uint64_t)wait, 0);
}

void herald__channel_up(struct herald__channel *ch)
{
    if (!ch->down) {
        return;
    }
    herald__stage_log(HERALD_LOG_WARN, ch->connector, NULL,
                      "channel %s is available again after %" PRIu64
                      " ms (%d failed probe(s)): resuming %zu partition(s), "
                      "%" PRId64 " held record(s) go out",
                      ch->name, herald__loop_now_ms(ch->loop) - ch->since,
                      ch->probes, ch->cbs.partitions(ch->ctx), ch->held);
    ch->down = 0;
    ch->probes = 0;
    ch->reason[0] = '\0';
    herald__timer_stop(ch->timer);
    ch->cbs.pause_all(ch->ctx, 0);
    struct herald__channel_item *it;
    while ((it = unhold(ch))) {
        if (ch->cbs.revoked(ch->ctx, it)) {
            ch->cbs.drop(ch->ctx, it);
        } else {
            ch->cbs.release(ch->ctx, it);
        }
    }
    ch->cbs.released(ch->ctx);
}

/* Send the first held record alone; its outcome decides. */
static void on_timer(void *ctx)
{
    struct herald__channel *ch = ctx;
    if (!ch->down || ch->probe || ch->cbs.stopping(ch->ctx)) {
        return;
    }
    struct herald__channel_item *it;
    while ((it = unhold(ch)) && ch->cbs.revoked(ch->ctx, it)) {
        ch->cbs.drop(ch->ctx, it);
    }
    if (!it) {
        /* Nothing to probe with (its partitions went to another member):
         * run again; the next record tells. */
        herald__channel_up(ch);
        return;
    }
    ch->probe = it;
    herald__stage_log(HERALD_LOG_DEBUG, ch->connector, it->record,
                      "probing channel %s", ch->name);
    if (ch->cbs.probe(ch->ctx, it) != 0) {
        ch->probe = NULL;
        hold(ch, it, 1);
        schedule(ch);
    }
}

int herald__channel_took_probe(struct herald__channel *ch,
                               const struct herald__channel_item *it)
{
    if (!ch || ch->probe != it) {
        return 0;
    }
    ch->probe = NULL;
    return 1;
}

void herald__channel_probe_lost(struct herald__channel *ch)
{
    if (ch->cbs.stopping(ch->ctx)) {
        return;
    }
    ch->probes++;
    schedule(ch);
}

void herald__channel_unavailable(struct herald__channel *ch,
                                 struct herald__channel_item *it,
                                 const char *reason, int was_probe)
{
    uint64_t now = herald__loop_now_ms(ch->loop);
    ch->unavailable++;
    if (ch->cbs.stopping(ch->ctx)) {
        /* Shutting down: leave it in doubt; it comes again next run. */
        ch->cbs.drop(ch->ctx, it);
        return;
    }
    hold(ch, it, was_probe); /* a probe keeps its place in front */
    snprintf(ch->reason, sizeof ch->reason, "%s",
             reason ? reason : "no reason given");
    /* Shown in JSON, Prometheus labels and logs: printable ASCII only (a
     * cut UTF-8 sequence or a control character cannot break them). */
    for (char *q = ch->reason; *q; q++) {
        if ((unsigned char)*q < PRINTABLE_MIN ||
            (unsigned char)*q > PRINTABLE_MAX) {
            *q = '?';
        }
    }
    if (!ch->down) {
        ch->down = 1;
        ch->since = ch->last_log = now;
        ch->probes = 0;
        ch->cbs.pause_all(ch->ctx, 1);
        herald__stage_log(HERALD_LOG_ERROR, ch->connector, it->record,
                          "channel %s is unavailable: %s; every partition "
                          "waits and nothing is committed past the held "
                          "records; a probe goes out in %" PRId64
                          " ms, then backs off up to %" PRId64 " ms",
                          ch->name, ch->reason, ch->initial_ms, ch->max_ms);
        schedule(ch);
        return;
    }
    if (!was_probe) {
        return; /* sent before the channel went down; the probe decides */
    }
    ch->probes++;
    if (now - ch->last_log >= LOG_INTERVAL_MS) {
        ch->last_log = now;
        herald__stage_log(HERALD_LOG_ERROR, ch->connector, NULL,
                          "channel %s is still unavailable after %" PRIu64
                          " s (%d failed probe(s), %" PRId64
                          " record(s) held): %s",
                          ch->name, (now - ch->since) / MS_PER_S, ch->probes,
                          ch->held, ch->reason);
    }
    schedule(ch);
}

void herald__channel_status(const struct herald__channel *ch,
                            struct herald__channel_status *out)
{
    out->down = ch && ch->down;
    out->reason = out->down ? ch->reason : NULL;
    out->down_ms =
        out->down ? (int64_t)(herald__loop_now_ms(ch->loop) - ch->since) : 0;
    out->held = ch ? ch->held : 0;
    out->unavailable = ch ? ch->unavailable : 0;
}
