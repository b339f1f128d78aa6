/*
 * channel.h - the channel-unavailable hold (channel.c). HERALD_UNAVAILABLE
 * means the channel failed (a refused credential, a TLS failure), not the
 * record; every record would fail the same way until someone fixes it.
 * So the record is neither final nor rejected: it is held, every
 * partition pauses, nothing more is sent but one held record at a time
 * as a probe (after errors.channel_probe's initial, doubling up to its
 * max), and the first probe that comes back with any other outcome
 * resumes everything, the held records going out in the order they were
 * held. Held time is not retry time (the caller moves the record's retry
 * clock by it). Commits stop at the first held record, as at any record
 * in doubt.
 *
 * Owns: whether the channel is down and why, the held records' queue
 * (linked through their items; the records stay their jobs'), the probe
 * timer. Reports out through struct herald__channel_cbs. Loop thread.
 */
#ifndef HERALD_CHANNEL_H
#define HERALD_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include <herald/plugin.h>

struct herald__loop;
struct herald__channel;

/* One record's place in the stage, embedded in its job; the stage's. */
struct herald__channel_item {
    struct herald__channel_item *next;
    const struct herald_record *record;
    uint64_t held_ms; /* loop ms it was held */
};

struct herald__channel_cbs {
    /* Every partition waits (on 1) or runs again (0). */
    void (*pause_all)(void *ctx, int on);
    /* it was held (1) or let out of the hold (0) after held_for ms. */
    void (*held)(void *ctx, struct herald__channel_item *it, int on,
                 uint64_t held_for);
    /* Whether its partition was given up. */
    int (*revoked)(void *ctx, const struct herald__channel_item *it);
    /* It stays in doubt and is let go. */
    void (*drop)(void *ctx, struct herald__channel_item *it);
    /* The channel is back: deliver it (in held order). */
    void (*release)(void *ctx, struct herald__channel_item *it);
    /* Every held record was released (or dropped): flush, gc. */
    void (*released)(void *ctx);
    /* Send it alone as the probe: 0, or -1 when it could not go out. */
    int (*probe)(void *ctx, struct herald__channel_item *it);
    /* Whether the connector is stopping. */
    int (*stopping)(void *ctx);
    /* Partitions owned, for the log line when it comes back. */
    size_t (*partitions)(void *ctx);
};

/* name: the channel (inst->name) for logs; connector likewise. Both
 * borrowed for the stage's life. NULL when out of memory. */
struct herald__channel *
herald__channel_new(struct herald__loop *loop, const char *connector,
                    const char *name, int64_t probe_initial_ms,
                    int64_t probe_max_ms, const struct herald__channel_cbs *cbs,
                    void *ctx);
/* Held items must have been dropped first. NULL-safe. */
void herald__channel_destroy(struct herald__channel *ch);

/* Whether the channel is down (records are held, not sent). */
int herald__channel_down(const struct herald__channel *ch);
/* Hold it (a batch flushed while down). */
void herald__channel_hold(struct herald__channel *ch,
                          struct herald__channel_item *it);
/* it came back; returns 1 if it was the probe (which then is no more). */
int herald__channel_took_probe(struct herald__channel *ch,
                               const struct herald__channel_item *it);
/* it came back UNAVAILABLE (was_probe: it was the probe). */
void herald__channel_unavailable(struct herald__channel *ch,
                                 struct herald__channel_item *it,
                                 const char *reason, int was_probe);
/* The probe's partition was given up before its UNAVAILABLE came back:
 * probe again later. */
void herald__channel_probe_lost(struct herald__channel *ch);
/* A probe got any other outcome: the channel is back. */
void herald__channel_up(struct herald__channel *ch);
/* Stop or destroy: held records are dropped (they come again next run). */
void herald__channel_drop_all(struct herald__channel *ch);

/* For the admin endpoint and stats. reason is borrowed until the stage
 * changes (NULL when up). */
struct herald__channel_status {
    int down;
    const char *reason;
    int64_t down_ms;
    int64_t held;
    int64_t unavailable; /* UNAVAILABLE outcomes so far */
};
void herald__channel_status(const struct herald__channel *ch,
                            struct herald__channel_status *out);

#endif
