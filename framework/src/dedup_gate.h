/*
 * dedup_gate.h - the dedup gate and the dedup mark (dedup_gate.c), the
 * stages around delivery that keep one notification per dedup key
 * (dedup.h holds the table and the marks topic's reading).
 *
 * Before render: a key already notified is skipped (the record is final
 * without being rendered or sent), a key whose notification is in flight
 * makes the record wait (parked, looked at again every DEDUP_PARK_MS), a
 * new key goes on and, once the record is rendered, holds the key's turn
 * (herald__gate_hold). After the channel's OK: the mark is written to the
 * marks topic and only its acknowledgement makes the record final; a
 * failed write is tried again after a backoff while its partition waits.
 *
 * Owns: each record's dedup key and its mark write (in struct
 * herald__gate_item), the park and write-again timers, the list of records
 * only those timers hold. The table (dedup.h) and the producer are
 * borrowed. Reports out through struct herald__gate_cbs. Loop thread.
 */
#ifndef HERALD_DEDUP_GATE_H
#define HERALD_DEDUP_GATE_H

#include "timed.h"

#include <stddef.h>
#include <stdint.h>

#include <herald/plugin.h>

struct herald__loop;
struct herald__timer;
struct herald__dedup;
struct herald__kafka_producer;
struct herald__gate;

/* One record's state in the stage, embedded in its job (zeroed, record
 * set by the caller); the rest is the stage's. */
struct herald__gate_item {
    const struct herald_record *record;
    char *key;        /* set while the record holds the key's turn */
    char *parked_key; /* set while it waits for another's turn */
    int held;         /* key is ours: cleared on leaving unless marked */
    int marked;       /* its mark is written */
    int mark_attempts;
    struct herald__timer *timer; /* park, or a mark to write again */
    struct herald__timed timed;  /* on the list only a timer holds */
    struct herald__gate *stage;
};

enum herald__gate_verdict {
    HERALD__GATE_GO = 0, /* a new key: render, then herald__gate_hold */
    HERALD__GATE_SKIP,   /* notified before: the record is final */
    HERALD__GATE_PARKED, /* waits for the key's turn; cbs->again later */
};

/* What the caller tells about an item (outcome.h's flags). */
struct herald__gate_cbs {
    /* A parked record's wait is over: decide again (its key is kept). */
    void (*again)(void *ctx, struct herald__gate_item *it);
    /* Its mark was acknowledged: the record is final. */
    void (*written)(void *ctx, struct herald__gate_item *it);
    /* It stays in doubt and is let go (stopped, revoked). */
    void (*drop)(void *ctx, struct herald__gate_item *it);
    /* A mark write failed: its partition waits (until written). */
    void (*write_pause)(void *ctx, struct herald__gate_item *it);
    /* HERALD__OUTCOME_* flags (outcome.h) for it now. */
    int (*state)(void *ctx, const struct herald__gate_item *it);
};

struct herald__gate_opts {
    const char *connector;                  /* for logs; borrowed */
    int64_t retry_initial_ms, retry_max_ms; /* write-again backoff */
};

/* dd borrowed (active). NULL when out of memory. */
struct herald__gate *herald__gate_new(struct herald__loop *loop,
                                      struct herald__dedup *dd,
                                      const struct herald__gate_opts *o,
                                      const struct herald__gate_cbs *cbs,
                                      void *ctx);
void herald__gate_destroy(struct herald__gate *g);
void herald__gate_set_producer(struct herald__gate *g,
                               struct herald__kafka_producer *p);

/* Decide on it with its dedup key (key: taken over; NULL on a parked
 * record's again, which keeps its own). */
enum herald__gate_verdict herald__gate_decide(struct herald__gate *g,
                                              struct herald__gate_item *it,
                                              char *key);
/* The record went on (rendered): it holds the key's turn. */
void herald__gate_hold(struct herald__gate *g, struct herald__gate_item *it);
/* Whether it holds a key (then its OK needs a mark). */
int herald__gate_holds(const struct herald__gate_item *it);
/* The channel said OK: write the mark; cbs->written follows. */
void herald__gate_mark(struct herald__gate *g, struct herald__gate_item *it);
/* It leaves: a key it holds but never marked is free again. */
void herald__gate_forget(struct herald__gate *g, struct herald__gate_item *it);
/* Hand every item only a timer of this stage holds to cbs->drop. */
void herald__gate_drop_timed(struct herald__gate *g);
/* Marks written and not acknowledged; records skipped so far. */
int64_t herald__gate_writing(const struct herald__gate *g);
int64_t herald__gate_skipped(const struct herald__gate *g);

#endif
