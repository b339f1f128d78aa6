/*
 * outcome.h - the outcome policy (outcome.c): what happens to a record
 * the plugin did not take. RETRY waits a backoff (exponential with full
 * jitter, errors.retry) and goes out again, until errors.retry.timeout
 * turns it into a REJECT; a REJECT (also poison, render errors) stops
 * the connector (errors.tolerance none), or is written to the dead-letter
 * topic (acknowledged before the record is final; a failed write is tried
 * again and its partition waits), or is final with a warning.
 *
 * Owns: the retry and dead-letter timers and what the dead letter needs
 * (its headers' texts), per record, in struct herald__outcome_item; the
 * list of records only a timer of this stage holds. Reports out through
 * struct herald__outcome_cbs. The producer is borrowed. Loop thread.
 */
#ifndef HERALD_OUTCOME_H
#define HERALD_OUTCOME_H

#include "timed.h"

#include <stddef.h>
#include <stdint.h>

#include <herald/plugin.h>

struct herald__loop;
struct herald__timer;
struct herald__kafka_producer;
struct herald__outcome;

/* One record's state in the stage, embedded in the caller's job: zero it,
 * set record and first_ms. Fields other than those are the stage's. */
struct herald__outcome_item {
    const struct herald_record *record;
    uint64_t first_ms; /* loop ms of its first delivery (retry clock) */
    int attempts;
    struct herald__timer *retry_timer;
    int retrying; /* waiting for its backoff */
    /* dead-letter write in progress (or waiting to be tried again) */
    int dlq;
    char *dlq_stage, *dlq_class, *dlq_exc, *dlq_reason;
    struct herald__timer *dlq_timer;
    int dlq_attempts;
    struct herald__timed timed;    /* on the list only a timer holds */
    struct herald__outcome *stage; /* set by the stage on first use */
};

/* What the caller tells about an item's partition and connector. */
enum {
    HERALD__OUTCOME_REVOKED = 1,  /* its partition was given up */
    HERALD__OUTCOME_STOPPING = 2, /* the connector is stopping */
    HERALD__OUTCOME_STOPPED = 4,  /* ... and has drained */
};

struct herald__outcome_cbs {
    /* The record is final (rejected and let go). */
    void (*final)(void *ctx, struct herald__outcome_item *it);
    /* Its dead letter was acknowledged: final, and its partition may run
     * (see write_pause). */
    void (*written)(void *ctx, struct herald__outcome_item *it);
    /* It stays in doubt and is let go (stopping, revoked). */
    void (*drop)(void *ctx, struct herald__outcome_item *it);
    /* errors.tolerance none met a REJECT: the record stays in doubt and
     * the connector must stop on error. */
    void (*fail)(void *ctx, struct herald__outcome_item *it);
    /* Its backoff is over: deliver it again. */
    void (*again)(void *ctx, struct herald__outcome_item *it);
    /* Its partition waits for its backoff (on 1) or not any more (0);
     * counted per partition by the caller. */
    void (*retry_pause)(void *ctx, struct herald__outcome_item *it, int on);
    /* A write of ours failed: its partition waits (until written). */
    void (*write_pause)(void *ctx, struct herald__outcome_item *it);
    /* HERALD__OUTCOME_* flags for it now. */
    int (*state)(void *ctx, const struct herald__outcome_item *it);
};

struct herald__outcome_opts {
    const char *connector;         /* for logs and dead letters; borrowed */
    int tolerance_all;             /* errors.tolerance all */
    const char *dead_letter_topic; /* or NULL; borrowed */
    int64_t retry_initial_ms, retry_max_ms, retry_timeout_ms;
};

/* NULL when out of memory. Strings in o are borrowed for the stage's
 * life; cbs copied. */
struct herald__outcome *
herald__outcome_new(struct herald__loop *loop,
                    const struct herald__outcome_opts *o,
                    const struct herald__outcome_cbs *cbs, void *ctx);
/* Items must have been forgotten first. NULL-safe. */
void herald__outcome_destroy(struct herald__outcome *o);
/* The producer dead letters go through (borrowed; NULL: none yet). */
void herald__outcome_set_producer(struct herald__outcome *o,
                                  struct herald__kafka_producer *p);

/* The plugin said RETRY (retry_after_ms: its hint, 0 none; plugin: its
 * name for the dead letter). */
void herald__outcome_retry(struct herald__outcome *o,
                           struct herald__outcome_item *it,
                           int64_t retry_after_ms, const char *reason,
                           const char *plugin);
/* REJECT at stage (Connect's name, e.g. VALUE_CONVERTER, TASK_PUT) by
 * cls with exception class exc, for reason. */
void herald__outcome_reject(struct herald__outcome *o,
                            struct herald__outcome_item *it, const char *stage,
                            const char *cls, const char *exc,
                            const char *reason);
/* It leaves (its job is destroyed): unlink it, free what it holds; its
 * retry pause is lifted. */
void herald__outcome_forget(struct herald__outcome *o,
                            struct herald__outcome_item *it);
/* A channel hold does not count against errors.retry.timeout: move its
 * retry clock forward by ms. */
void herald__outcome_hold_time(struct herald__outcome_item *it, uint64_t ms);
/* Hand every item only a timer of this stage holds to cbs->drop (a
 * stop). */
void herald__outcome_drop_timed(struct herald__outcome *o);
/* Dead letters written and not acknowledged yet. */
int64_t herald__outcome_writing(const struct herald__outcome *o);
/* Counters: records rejected, and RETRY outcomes. */
void herald__outcome_counts(const struct herald__outcome *o, int64_t *rejected,
                            int64_t *retried);

/* Full-jitter backoff for attempt n: uniform in [0, min(max, initial *
 * 2^(n-1))]. */
int64_t herald__backoff_ms(int64_t initial_ms, int64_t max_ms, int attempts);

#endif
