/*
 * batch.h - the deliver stage (batch.c): records ready to go out are
 * gathered into batches (max_records, max_bytes, linger) and handed to
 * the plugin host (api.h); each record's outcome comes back through the
 * outcome callback.
 *
 * Owns: the records batched and not handed over yet (their items), the
 * linger timer, and the count of records at the plugin (in flight).
 * Does not own the records: an item belongs to its caller's job, linked
 * here while batched. Loop thread.
 */
#ifndef HERALD_BATCH_H
#define HERALD_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <herald/plugin.h>

struct herald__loop;
struct herald_instance;
struct herald__batcher;

/* One record's place in the stage, embedded in the caller's job. Fields
 * are the stage's. */
struct herald__batch_item {
    struct herald__batch_item *next;
    const struct herald_record *record;
    const struct herald_message *message; /* notify: the rendered message */
    size_t bytes;                         /* counted against max_bytes */
};

struct herald__batch_cbs {
    /* The plugin's outcome for it (in_flight is counted down before). */
    void (*outcome)(void *ctx, struct herald__batch_item *it,
                    enum herald_outcome outcome, int64_t retry_after_ms,
                    const char *reason);
    /* Whether nothing may go out now (the channel is unavailable): a flush
     * then hands each item to held instead, in order. */
    int (*blocked)(void *ctx);
    void (*held)(void *ctx, struct herald__batch_item *it);
    /* A batch went out (or records left otherwise): pressure may ease. */
    void (*sent)(void *ctx);
};

/* A stage delivering to inst. NULL when out of memory. cbs are copied. */
struct herald__batcher *
herald__batcher_new(struct herald__loop *loop, struct herald_instance *inst,
                    int64_t max_records, int64_t max_bytes, int64_t linger_ms,
                    const struct herald__batch_cbs *cbs, void *ctx);
/* Forget the owner at the plugin host, then free. Items still batched are
 * not touched (drop them first). NULL-safe. */
void herald__batcher_destroy(struct herald__batcher *b);

/* Add it (record, message and bytes set by the caller); a full batch goes
 * out at once. */
void herald__batcher_add(struct herald__batcher *b,
                         struct herald__batch_item *it);
/* Hand what is batched to the plugin now (or to held when blocked).
 * flush, drop, batched and in_flight accept NULL (a stage never made:
 * tail mode). */
void herald__batcher_flush(struct herald__batcher *b);
/* Send it alone, past the batch (a probe). 0, or -1 when no batch could be
 * allocated (nothing changed). */
int herald__batcher_send_one(struct herald__batcher *b,
                             struct herald__batch_item *it);
/* Take the batched items out: each for which keep says 0 goes to drop
 * (keep NULL: all). */
void herald__batcher_drop(struct herald__batcher *b,
                          int (*keep)(void *ctx, struct herald__batch_item *),
                          void (*drop)(void *ctx, struct herald__batch_item *),
                          void *ctx);
/* Records batched, and records at the plugin without an outcome yet. */
size_t herald__batcher_batched(const struct herald__batcher *b);
int64_t herald__batcher_in_flight(const struct herald__batcher *b);

#endif
