/*
 * partitions.h - a connector's table of assigned partitions (partitions.c):
 * per partition the offset tracker (offsets.h), the reasons its fetching
 * is paused, and the records held in order for a schema.
 *
 * Owns: each partition's topic copy, tracker and pause mask. The records
 * held for a schema are the connector's (a struct herald__held link in its
 * job); the table only chains them. The consumer (kafka.h) is borrowed to
 * pause and resume fetching. A revoked partition stays in the table while
 * a record still points to it (herald__part_ref), then
 * herald__parts_gc frees it. Loop thread.
 */
#ifndef HERALD_PARTITIONS_H
#define HERALD_PARTITIONS_H

#include <stddef.h>
#include <stdint.h>

struct herald__kafka;
struct herald__partoffsets;
struct herald__parts;
struct herald__part;

/* Why a partition's fetching is paused: bits of its pause mask. */
enum {
    HERALD__PAUSE_RETRY = 1,  /* a record of this partition waits for backoff */
    HERALD__PAUSE_SCHEMA = 2, /* a record waits for its schema */
    HERALD__PAUSE_PRESSURE = 4, /* too many records in flight */
    HERALD__PAUSE_REVOKE = 8,   /* being revoked: take nothing more */
    HERALD__PAUSE_WRITE = 16,   /* a dead-letter or mark write failed: wait */
    HERALD__PAUSE_MARKS = 32,   /* dedup marks not read back yet */
    HERALD__PAUSE_CHANNEL = 64, /* the channel is unavailable */
};

/* A record's link in its partition's queue of records held for a schema;
 * embedded in the record's job. */
struct herald__held {
    struct herald__held *next;
};

/* An empty table, NULL when out of memory. Free with
 * herald__parts_destroy (NULL-safe), which frees every partition left. */
struct herald__parts *herald__parts_new(void);
void herald__parts_destroy(struct herald__parts *ps);
/* The consumer pauses go to from now on (borrowed; NULL: none). */
void herald__parts_set_kafka(struct herald__parts *ps, struct herald__kafka *k);

/* The assigned (not revoked) partition, or NULL. */
struct herald__part *herald__parts_find(struct herald__parts *ps,
                                        const char *topic, int32_t partition);
/* The assigned partition, added when new; NULL when out of memory. */
struct herald__part *herald__parts_add(struct herald__parts *ps,
                                       const char *topic, int32_t partition);
/* Every partition in the table, revoked ones included: the first with p
 * NULL, else the one after p; NULL at the end. */
struct herald__part *herald__parts_next(const struct herald__parts *ps,
                                        const struct herald__part *p);
/* For each partition p of ps (revoked ones included). */
#define HERALD__PARTS_EACH(p, ps)                                              \
    for (struct herald__part *p = herald__parts_next((ps), NULL); p;           \
         p = herald__parts_next((ps), p))
/* How many partitions are assigned (not revoked). */
size_t herald__parts_assigned(const struct herald__parts *ps);
/* Free the revoked partitions no record points to any more. */
void herald__parts_gc(struct herald__parts *ps);

/* Set or clear a pause bit of p; the consumer hears of it when p's
 * fetching changes (not for a revoked p). */
void herald__parts_set_paused(struct herald__parts *ps, struct herald__part *p,
                              int bit, int on);
/* The same for every partition. */
void herald__parts_pause_all(struct herald__parts *ps, int bit, int on);
/* Tell the consumer what p's pause bits say, whatever it believed before
 * (a pause outlives an unassign/assign cycle in librdkafka). */
void herald__parts_apply_pause(struct herald__parts *ps,
                               struct herald__part *p);
/* A record of p waits for a retry (on) or no longer (off): p is paused
 * while any does. */
void herald__parts_retrying(struct herald__parts *ps, struct herald__part *p,
                            int on);

const char *herald__part_topic(const struct herald__part *p);
int32_t herald__part_partition(const struct herald__part *p);
/* p's tracker; borrowed for p's life. */
struct herald__partoffsets *herald__part_offsets(struct herald__part *p);
const struct herald__partoffsets *
herald__part_offsets_c(const struct herald__part *p);
/* The pause bits of p among bits (0: none of them). */
int herald__part_paused(const struct herald__part *p, int bits);
/* Set a pause bit without telling the consumer (herald__parts_apply_pause
 * does, once p is assigned). */
void herald__part_mark_paused(struct herald__part *p, int bit);
/* Given up (revoked): late outcomes of its records are ignored. */
int herald__part_revoked(const struct herald__part *p);
void herald__part_set_revoked(struct herald__part *p);
/* A record points to p (ref) or no longer (unref). */
void herald__part_ref(struct herald__part *p);
void herald__part_unref(struct herald__part *p);
/* A record of p is held for the channel (on) or no longer; and how many
 * are. */
void herald__part_channel_held(struct herald__part *p, int on);
size_t herald__part_channel_held_n(const struct herald__part *p);

/* Queue h at the end of p's records held for a schema. */
void herald__part_hold(struct herald__part *p, struct herald__held *h);
/* The first held record, taken off the queue; NULL when none. */
struct herald__held *herald__part_unhold(struct herald__part *p);
/* Whether any record is held. */
int herald__part_holding(const struct herald__part *p);
/* Whether h is the first or the last held record. */
int herald__part_held_at_end(const struct herald__part *p,
                             const struct herald__held *h);

#endif
