/*
 * batch.c - the deliver stage (batch.h): batching by count, bytes and
 * linger, and the hand-over to the plugin host (api.h).
 */
#include "batch.h"

#include <stdlib.h>

#include "api.h"
#include "loop.h"

struct herald__batcher {
    struct herald_instance *inst;
    struct herald__batch_cbs cbs;
    void *ctx;
    int64_t max_records, max_bytes, linger_ms;
    struct herald__batch_item *head, *tail;
    size_t n, bytes;
    int64_t in_flight;
    struct herald__timer *linger;
};

static void on_outcome(void *owner, struct herald_batch *hb, size_t i,
                       enum herald_outcome outcome, int64_t retry_after_ms,
                       const char *reason)
{
    struct herald__batcher *b = owner;
    b->in_flight--;
    b->cbs.outcome(b->ctx, hb->items[i].ctx, outcome, retry_after_ms, reason);
}

/* Hand the n items linked from head to the plugin as one batch. 0, or -1
 * (nothing changed) when the batch cannot be allocated. */
static int deliver_list(struct herald__batcher *b,
                        struct herald__batch_item *head, size_t n)
{
    struct herald_batch *hb = herald__batch_new(b->inst, b, on_outcome, n);
    if (!hb) {
        return -1;
    }
    size_t i = 0;
    for (struct herald__batch_item *it = head; it && i < n;) {
        struct herald__batch_item *next = it->next;
        it->next = NULL;
        hb->items[i].record = it->record;
        hb->items[i].message = it->message;
        hb->items[i].ctx = it;
        i++;
        it = next;
    }
    b->in_flight += (int64_t)i;
    herald__batch_deliver(hb);
    return 0;
}

static void take_all(struct herald__batcher *b)
{
    b->head = b->tail = NULL;
    b->n = 0;
    b->bytes = 0;
}

void herald__batcher_flush(struct herald__batcher *b)
{
    if (!b) {
        return;
    }
    herald__timer_stop(b->linger);
    if (b->n == 0) {
        return;
    }
    struct herald__batch_item *head = b->head;
    if (b->cbs.blocked(b->ctx)) {
        /* The channel is unavailable: only probes go out. */
        take_all(b);
        while (head) {
            struct herald__batch_item *next = head->next;
            head->next = NULL;
            b->cbs.held(b->ctx, head);
            head = next;
        }
        return;
    }
    if (deliver_list(b, head, b->n) != 0) {
        return; /* tried again at the next flush */
    }
    take_all(b);
    b->cbs.sent(b->ctx);
}

static void on_linger(void *ctx)
{
    herald__batcher_flush(ctx);
}

struct herald__batcher *
herald__batcher_new(struct herald__loop *loop, struct herald_instance *inst,
                    int64_t max_records, int64_t max_bytes, int64_t linger_ms,
                    const struct herald__batch_cbs *cbs, void *ctx)
{
    struct herald__batcher *b = calloc(1, sizeof *b);
    if (!b) {
        return NULL;
    }
    b->inst = inst;
    b->cbs = *cbs;
    b->ctx = ctx;
    b->max_records = max_records;
    b->max_bytes = max_bytes;
    b->linger_ms = linger_ms;
    b->linger = herald__timer_new(loop, on_linger, b);
    if (!b->linger) {
        free(b);
        return NULL;
    }
    return b;
}

void herald__batcher_destroy(struct herald__batcher *b)
{
    if (!b) {
        return;
    }
    /* Items still with the plugin must not report to a freed stage when
     * they complete or the instance closes. None are once the instance
     * closed (the worker closes instances first: worker.h), and the
     * instance may be gone then; with some, it is still alive. */
    if (b->in_flight > 0) {
        herald__instance_forget_owner(b->inst, b);
    }
    herald__timer_destroy(b->linger);
    free(b);
}

void herald__batcher_add(struct herald__batcher *b,
                         struct herald__batch_item *it)
{
    it->next = NULL;
    if (b->tail) {
        b->tail->next = it;
    } else {
        b->head = it;
        herald__timer_start(b->linger, (uint64_t)b->linger_ms, 0);
    }
    b->tail = it;
    b->n++;
    b->bytes += it->bytes;
    if ((int64_t)b->n >= b->max_records || (int64_t)b->bytes >= b->max_bytes) {
        herald__batcher_flush(b);
    }
}

int herald__batcher_send_one(struct herald__batcher *b,
                             struct herald__batch_item *it)
{
    it->next = NULL;
    return deliver_list(b, it, 1);
}

void herald__batcher_drop(struct herald__batcher *b,
                          int (*keep)(void *ctx, struct herald__batch_item *),
                          void (*drop)(void *ctx, struct herald__batch_item *),
                          void *ctx)
{
    if (!b) {
        return;
    }
    struct herald__batch_item **pp = &b->head;
    b->tail = NULL;
    b->n = 0;
    b->bytes = 0;
    while (*pp) {
        struct herald__batch_item *it = *pp;
        if (keep && keep(ctx, it)) {
            b->tail = it;
            b->n++;
            b->bytes += it->bytes;
            pp = &it->next;
        } else {
            *pp = it->next;
            it->next = NULL;
            drop(ctx, it);
        }
    }
    if (!b->head) {
        herald__timer_stop(b->linger);
    }
}

size_t herald__batcher_batched(const struct herald__batcher *b)
{
    return b ? b->n : 0;
}

int64_t herald__batcher_in_flight(const struct herald__batcher *b)
{
    return b ? b->in_flight : 0;
}
