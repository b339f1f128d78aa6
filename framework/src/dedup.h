/*
 * dedup.h - one notification per dedup key (dedup.c), durable in Kafka.
 *
 * ksqlDB refines a window's row with every new transaction (count 3, 4,
 * 5 ...): each refinement is a record with the same key. dedup keeps one
 * notification per key (by default the record key and the window start):
 * after the channel's OK, a mark is written to a compacted marks topic,
 * keyed by the keyed hash of the dedup key (HMAC-SHA-256 under the
 * top-level `hash_key`; a mark never holds the key, which holds record
 * data such as the card number), in the same partition number as the source
 * record, and only then is the source offset final. On assignment an
 * instance reads back the marks of exactly the partitions it was given,
 * so marks survive restarts and follow partitions between instances, and
 * herald keeps no local state. The one duplicate window left is a crash
 * between a send and its mark.
 *
 * connector:
 *   dedup:
 *     key: "{{card_number}}@{{start_boundary}}"  default: the notify
 *                            idempotency key, i.e. {{@key}}@{{@window.start}}
 *     topic: NAME            marks topic; default herald-dedup-<group id>;
 *                            created (compacted, retention = ttl) if missing
 *     ttl: 7d                marks older than this are ignored, and
 *                            dropped from memory by a periodic sweep
 *     policy: first          first: one notification per key;
 *                            every: dedup off (each refinement notifies)
 */
#ifndef HERALD_DEDUP_H
#define HERALD_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "config_schema.h"

struct herald_record;
struct herald_message;
struct herald__dedup;
struct herald__hash_key;
struct herald__loop;

enum herald__dedup_state {
    HERALD__DEDUP_NEW = 0, /* never notified: go */
    HERALD__DEDUP_SEEN,    /* a mark exists within the TTL: skip */
    HERALD__DEDUP_PENDING, /* another record with this key is in flight */
};

/* The keys of `dedup:` (key, topic, ttl, policy): read here, described in
 * the connector's table (connector_config.c) and the reference. */
extern const struct herald__section herald__dedup_section;

/* Parse the `dedup:` map (NULL: defaults). notify: whether the connector
 * renders messages (then the key is the message's idempotency key, already
 * keyed by notify.c; notify compiles `key`). hk: the deployment's hash key
 * (borrowed), required when dedup is active without notify. loop (may be
 * NULL: no sweep, tests call herald__dedup_expire) runs the periodic
 * sweep of expired keys. Returns NULL on errors in d. */
struct herald__dedup *herald__dedup_new(const struct herald__node *map,
                                        int notify, const char *group_id,
                                        const struct herald__hash_key *hk,
                                        struct herald__loop *loop,
                                        struct herald__diag *d);
void herald__dedup_destroy(struct herald__dedup *dd);

/* policy first: 1; every: 0 (no marks, nothing skipped). */
int herald__dedup_active(const struct herald__dedup *dd);
const char *herald__dedup_topic(const struct herald__dedup *dd);

/* The start finished: ok, or not with err (the connector cannot run). */
typedef void (*herald__dedup_ready_fn)(void *ctx, int ok, const char *err);
/* Connect to Kafka: make sure the marks topic exists with at least as
 * many partitions as the source topics (creating it if missing), and set
 * up the reader of marks. Never blocks: returns 1 and ready follows on
 * the loop; 0 when dedup is inactive (ready is not called); -1 with err
 * when it cannot start. herald__dedup_destroy cancels it. Loop thread. */
int herald__dedup_start(struct herald__dedup *dd, struct herald__loop *loop,
                        const struct herald__node *kafka, char *const *topics,
                        size_t n_topics, herald__dedup_ready_fn ready,
                        void *ctx, char *err, size_t errlen);

/* Start reading back the marks of marks-partition `partition` (never
 * blocks; herald__dedup_poll does the reading). 1: read back already (or
 * dedup inactive); 0: being read; -1 with err. Idempotent per partition
 * until forget. */
int herald__dedup_load_start(struct herald__dedup *dd, int32_t partition,
                             char *err, size_t errlen);
/* A read back stalled (err says why): it starts over by itself. */
typedef void (*herald__dedup_failed_fn)(void *ctx, int32_t partition,
                                        const char *err);
/* Take up to max marks read back, without blocking (loop thread). Returns
 * 1 if there may be more right away. */
int herald__dedup_poll(struct herald__dedup *dd, int max,
                       herald__dedup_failed_fn failed, void *ctx);
/* Whether some partition is being read back. */
int herald__dedup_loading(const struct herald__dedup *dd);
/* The partition was released: stop reading it back, and read it again
 * when it comes back. */
void herald__dedup_forget(struct herald__dedup *dd, int32_t partition);

/* The dedup key of a record (m: its rendered message, may be NULL), as the
 * marks topic and the table hold it: HMAC-SHA-256 of the rendered key
 * under the hash key, 64 lowercase hex (for notify connectors the
 * message's idempotency key, which is that already). Never the key itself:
 * it holds record data, by default the card number. Returns a new string
 * the caller frees, or NULL with err. */
char *herald__dedup_key(const struct herald__dedup *dd,
                        const struct herald_record *r,
                        const struct herald_message *m, char *err,
                        size_t errlen);

enum herald__dedup_state herald__dedup_state(struct herald__dedup *dd,
                                             const char *key, int64_t now_ms);
void herald__dedup_set_pending(struct herald__dedup *dd, const char *key);
/* The pending notification failed: the key is free again. */
void herald__dedup_clear(struct herald__dedup *dd, const char *key);
/* The mark is written (or read back): ts in ms. */
void herald__dedup_set_marked(struct herald__dedup *dd, const char *key,
                              int64_t ts_ms);
/* Number of keys known (marked or pending), for tests. */
size_t herald__dedup_size(const struct herald__dedup *dd);

/* Drop every marked key whose mark is older than the TTL at now_ms (wall
 * clock ms); pending keys stay. Returns how many were dropped. The loop's
 * sweep timer calls it every herald__dedup_sweep_ms(), so keys that never
 * come back do not stay for the life of the process. */
size_t herald__dedup_expire(struct herald__dedup *dd, int64_t now_ms);
/* The sweep period: a quarter of the TTL, within 100 ms .. 60 s. */
uint64_t herald__dedup_sweep_ms(const struct herald__dedup *dd);

#endif
