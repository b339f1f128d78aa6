/*
 * dedup_gate.c - the dedup gate before render and the dedup mark after
 * delivery (dedup_gate.h).
 */
#include "dedup_gate.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "dedup.h"
#include "kafka.h"
#include "loop.h"
#include "outcome.h"
#include "record.h"
#include "stage_log.h"

/* A record waiting for another with the same dedup key looks again after
 * this. */
#define PARK_MS 50
/* A failed mark write is tried again no sooner than this. */
#define WRITE_RETRY_MIN_MS 100
/* Room for a mark's value: {"ts":..,"topic":..,"partition":..,"offset":..} */
#define MARK_MAX 512
#define WHAT_MAX 300
#define MS_PER_S 1000
#define US_PER_MS 1000

struct herald__gate {
    struct herald__loop *loop;
    struct herald__dedup *dd;
    struct herald__gate_opts o;
    struct herald__gate_cbs cbs;
    void *ctx;
    struct herald__kafka_producer *producer;
    struct herald__timed_list timed; /* items only a timer holds */
    int64_t writing, skipped, parked;
};

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * MS_PER_S + tv.tv_usec / US_PER_MS;
}

struct herald__gate *herald__gate_new(struct herald__loop *loop,
                                      struct herald__dedup *dd,
                                      const struct herald__gate_opts *o,
                                      const struct herald__gate_cbs *cbs,
                                      void *ctx)
{
    struct herald__gate *g = calloc(1, sizeof *g);
    if (!g) {
        return NULL;
    }
    g->loop = loop;
    g->dd = dd;
    g->o = *o;
    g->cbs = *cbs;
    g->ctx = ctx;
    return g;
}

void herald__gate_destroy(struct herald__gate *g)
{
    free(g);
}

void herald__gate_set_producer(struct herald__gate *g,
                               struct herald__kafka_producer *p)
{
    g->producer = p;
}

static void write_mark(struct herald__gate *g, struct herald__gate_item *it);

/* it->timer: a mark write to try again, or a parked record. */
static void on_timer(void *ctx)
{
    struct herald__gate_item *it = ctx;
    struct herald__gate *g = it->stage;
    herald__timed_del(&g->timed, &it->timed);
    int st = g->cbs.state(g->ctx, it);
    if (st & (HERALD__OUTCOME_REVOKED | HERALD__OUTCOME_STOPPED)) {
        g->cbs.drop(g->ctx, it);
        return;
    }
    if (it->key && !it->marked && it->mark_attempts > 0) {
        write_mark(g, it);
    } else {
        g->cbs.again(g->ctx, it);
    }
}

static int ensure_timer(struct herald__gate *g, struct herald__gate_item *it)
{
    it->stage = g;
    if (!it->timer) {
        it->timer = herald__timer_new(g->loop, on_timer, it);
    }
    return it->timer ? 0 : -1;
}

enum herald__gate_verdict herald__gate_decide(struct herald__gate *g,
                                              struct herald__gate_item *it,
                                              char *key)
{
    it->stage = g;
    if (key) {
        free(it->key);
        it->key = key;
    } else if (it->parked_key) {
        g->parked--;
        it->key = it->parked_key;
        it->parked_key = NULL;
    }
    switch (herald__dedup_state(g->dd, it->key, wall_ms())) {
    case HERALD__DEDUP_SEEN:
        g->skipped++;
        herald__stage_log(HERALD_LOG_DEBUG, g->o.connector, it->record,
                          "already notified for this dedup key: skipped");
        free(it->key);
        it->key = NULL;
        return HERALD__GATE_SKIP;
    case HERALD__DEDUP_PENDING:
        if (ensure_timer(g, it) != 0) {
            /* Out of memory: it goes on as if new; a duplicate at worst. */
            return HERALD__GATE_GO;
        }
        g->parked++;
        herald__timed_add(&g->timed, &it->timed);
        herald__timer_start(it->timer, PARK_MS, 0);
        /* not ours: keep forget from clearing the other's turn */
        it->parked_key = it->key;
        it->key = NULL;
        return HERALD__GATE_PARKED;
    case HERALD__DEDUP_NEW:
        break;
    }
    return HERALD__GATE_GO;
}

void herald__gate_hold(struct herald__gate *g, struct herald__gate_item *it)
{
    herald__dedup_set_pending(g->dd, it->key);
    it->held = 1;
}

int herald__gate_holds(const struct herald__gate_item *it)
{
    return it->key != NULL && it->held;
}

static void on_mark_done(void *ctx, int ok, const char *err)
{
    struct herald__gate_item *it = ctx;
    struct herald__gate *g = it->stage;
    g->writing--;
    if (ok) {
        it->marked = 1;
        herald__dedup_set_marked(g->dd, it->key, wall_ms());
        g->cbs.written(g->ctx, it);
        return;
    }
    /* The notification went out but its mark is not written: a crash now
     * would send it again (the one duplicate window). */
    it->mark_attempts++;
    int64_t wait = herald__backoff_ms(g->o.retry_initial_ms, g->o.retry_max_ms,
                                      it->mark_attempts);
    if (wait < WRITE_RETRY_MIN_MS) {
        wait = WRITE_RETRY_MIN_MS;
    }
    char what[WHAT_MAX];
    snprintf(what, sizeof what, "dedup mark to %s", herald__dedup_topic(g->dd));
    herald__stage_log(HERALD_LOG_ERROR, g->o.connector, it->record,
                      "cannot write %s (attempt %d, again in %" PRId64
                      " ms): %s",
                      what, it->mark_attempts, wait, err ? err : "?");
    g->cbs.write_pause(g->ctx, it);
    int st = g->cbs.state(g->ctx, it);
    if ((st & (HERALD__OUTCOME_REVOKED | HERALD__OUTCOME_STOPPED)) ||
        ensure_timer(g, it) != 0) {
        g->cbs.drop(g->ctx, it);
        return;
    }
    herald__timed_add(&g->timed, &it->timed);
    herald__timer_start(it->timer, (uint64_t)wait, 0);
}

static void write_mark(struct herald__gate *g, struct herald__gate_item *it)
{
    char val[MARK_MAX];
    const struct herald_record *r = it->record;
    int n =
        snprintf(val, sizeof val,
                 "{\"ts\":%" PRId64 ",\"topic\":\"%s\",\"partition\":%" PRId32
                 ",\"offset\":%" PRId64 "}",
                 wall_ms(), r->topic, r->partition, r->offset);
    if (n < 0 || (size_t)n >= sizeof val) {
        n = snprintf(val, sizeof val, "{\"ts\":%" PRId64 "}", wall_ms());
    }
    g->writing++;
    if (!g->producer ||
        herald__producer_send(g->producer, herald__dedup_topic(g->dd),
                              r->partition, it->key, strlen(it->key), val,
                              (size_t)n, on_mark_done, it) != 0) {
        /* Queue full: the failure path tries again shortly. */
        on_mark_done(it, 0, "the producer queue refused the write");
    }
}

void herald__gate_mark(struct herald__gate *g, struct herald__gate_item *it)
{
    it->stage = g;
    write_mark(g, it);
}

void herald__gate_forget(struct herald__gate *g, struct herald__gate_item *it)
{
    if (!g) {
        return;
    }
    herald__timed_del(&g->timed, &it->timed);
    if (it->key) {
        if (it->held && !it->marked) {
            /* Never notified: another record with this key may go. */
            herald__dedup_clear(g->dd, it->key);
        }
        free(it->key);
        it->key = NULL;
    }
    if (it->parked_key) {
        g->parked--;
        free(it->parked_key);
        it->parked_key = NULL;
    }
    herald__timer_destroy(it->timer);
    it->timer = NULL;
}

void herald__gate_drop_timed(struct herald__gate *g)
{
    struct herald__timed *t;
    while (g && (t = herald__timed_pop(&g->timed))) {
        g->cbs.drop(g->ctx, HERALD__TIMED_ITEM(t, struct herald__gate_item));
    }
}

int64_t herald__gate_writing(const struct herald__gate *g)
{
    return g ? g->writing : 0;
}

int64_t herald__gate_skipped(const struct herald__gate *g)
{
    return g ? g->skipped : 0;
}
