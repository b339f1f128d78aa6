/*
 * kafka.h - the one module that talks to librdkafka (kafka.c: the
 * consumer; kafka_producer.c: herald's own writes; kafka_marks.c: the
 * dedup marks topic). Everything else sees herald types only: topics,
 * partitions, offsets, key/value bytes, headers. No rd_kafka_* type
 * appears here, and no other framework file includes rdkafka.h
 * (scripts/check-includes.sh, run by `make test`, checks it).
 *
 * Every call is made on the loop thread and every callback arrives there:
 * librdkafka's queues wake the loop through a pipe (io events), and the
 * loop polls them; no callback runs inside librdkafka's own threads.
 * The few broker round trips a connector's start needs (metadata, topic
 * creation) and its stop (the close, freeing handles) do not block the
 * loop; the synchronous commit (revoke, stop) waits for the broker, and
 * herald__producer_partitions is for herald check only.
 */
#ifndef HERALD_KAFKA_H
#define HERALD_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct herald__loop;
struct herald_record;

/* One topic partition (and an offset where one is meant). topic is
 * borrowed: in a callback for the callback's duration. */
struct herald__tp {
    const char *topic;
    int32_t partition;
    int64_t offset;
};

/* ---- the consumer ------------------------------------------------------ */

struct herald__kafka;

/* One consumed record, valid for the callback's duration. */
struct herald__kafka_msg {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp; /* ms; -1 when the record has none */
    const void *key, *value;
    size_t key_len, value_len;
    const void *impl; /* the module's; see herald__kafka_msg_record */
};

struct herald__kafka_cbs {
    /* Something may be waiting: call herald__kafka_poll until it says
     * the queue is empty. */
    void (*wake)(void *ctx);
    /* A record (through herald__kafka_poll). */
    void (*message)(void *ctx, const struct herald__kafka_msg *m);
    /* Partitions given to this member, already assigned (records may
     * follow). parts[i].offset is unset. */
    void (*assigned)(void *ctx, const struct herald__tp *parts, size_t n);
    /* Partitions taken away. lost: the group moved on without us (commit
     * nothing for them). The member keeps them until the connector calls
     * herald__kafka_release (during the callback or later). */
    void (*revoked)(void *ctx, const struct herald__tp *parts, size_t n,
                    int lost);
    /* An asynchronous commit of these partitions failed. */
    void (*commit_failed)(void *ctx, const struct herald__tp *parts, size_t n);
    /* The consumer cannot go on (a fatal error). */
    void (*fatal)(void *ctx);
    /* The consumer finished closing (herald__kafka_close). */
    void (*closed)(void *ctx);
};

struct herald__kafka_opts {
    const char *name; /* the connector, for log lines; borrowed */
    const char *group_id;
    char *const *topics;
    size_t n_topics;
    const struct herald__node *global; /* the top-level kafka: map */
    const struct herald__node *local;  /* the connector's kafka: map */
    int notify; /* a notify connector: a smaller prefetch */
};

/* Create the consumer (the user's properties over herald's defaults, then
 * group.id and manual commits) and subscribe. Returns NULL with err.
 * cbs and ctx are kept; strings in o are copied. Loop thread. */
struct herald__kafka *herald__kafka_new(struct herald__loop *loop,
                                        const struct herald__kafka_opts *o,
                                        const struct herald__kafka_cbs *cbs,
                                        void *ctx, char *err, size_t errlen);
/* Take one event off the consumer's queue: a record (cbs->message), a
 * rebalance, an error. Returns 1 when one was taken, 0 when the queue is
 * empty. Callbacks may run inside. Records come off librdkafka's queue in
 * small batches kept inside k and handed on one per call; none of a
 * partition paused by herald__kafka_pause is handed on until it resumes,
 * and a rebalance drops those taken of the partitions it moves. Loop
 * thread. */
int herald__kafka_poll(struct herald__kafka *k);
/* The record of m, with its headers: a new herald record that borrows the
 * message's topic, value and headers and keeps the message alive until the
 * caller destroys it with herald__record_destroy (any thread); NULL when
 * out of memory. At most once per m, inside cbs->message. */
struct herald_record *
herald__kafka_msg_record(const struct herald__kafka_msg *m);
/* A quarter of max.poll.interval.ms: how long the consumer may comfortably
 * go unpolled (backpressure waits this long before pausing). */
uint64_t herald__kafka_quarter_poll_interval(const struct herald__kafka *k);
/* Pause (on) or resume one partition's fetching. */
void herald__kafka_pause(struct herald__kafka *k, const char *topic,
                         int32_t partition, int on);
/* Commit offsets (the next offset to read, per partition). sync: wait for
 * the broker (revoke, stop); else asynchronous, failures come back
 * through cbs->commit_failed. Returns 0, or -1 (logged) when the commit
 * failed at once. */
int herald__kafka_commit(struct herald__kafka *k, const struct herald__tp *l,
                         size_t n, int sync);
/* Whether periodic commits should wait: a cooperative rebalance is in its
 * rounds (an async commit meeting the next round's generation makes
 * librdkafka treat the partitions as lost). */
int herald__kafka_commit_paused(const struct herald__kafka *k);
/* Give up partitions revoked earlier (after their final commit). */
void herald__kafka_release(struct herald__kafka *k, const struct herald__tp *l,
                           size_t n);
/* Close the consumer without blocking: leaving the group goes on in the
 * background (the revoke callback still comes through herald__kafka_poll
 * or at once); cbs->closed follows. Idempotent. */
void herald__kafka_close(struct herald__kafka *k);
/* Free now (closing first if it was not; without waiting for the group).
 * NULL-safe. */
void herald__kafka_destroy(struct herald__kafka *k);

/* ---- herald's own writes: dead letters, dedup marks --------------------- */

struct herald__kafka_producer;

/* ok: 1 when the broker acknowledged the write; else 0 and err says why.
 * Called on the loop thread, never from inside a send call. */
typedef void (*herald__producer_fn)(void *ctx, int ok, const char *err);

/* One idempotent (acks=all) producer. kafka: the global librdkafka
 * properties (consumer-only ones are dropped). NULL with err. */
struct herald__kafka_producer *
herald__producer_new(struct herald__loop *loop,
                     const struct herald__node *kafka, char *err,
                     size_t errlen);
/* Produce key/value (copied) to topic, partition (-1: the partitioner's
 * choice). Returns 0, or -1 when the write could not even be queued (fn is
 * not called; the caller retries later). */
int herald__producer_send(struct herald__kafka_producer *p, const char *topic,
                          int32_t partition, const void *key, size_t klen,
                          const void *value, size_t vlen,
                          herald__producer_fn fn, void *ctx);
/* Produce r as a dead letter to topic with Kafka Connect's context
 * headers (__connect.errors.topic, .partition, .offset, .connector.name,
 * .task.id, .stage, .class.name, .exception.class.name,
 * .exception.message) and r's own key, value and headers byte for byte.
 * Same contract as herald__producer_send. */
int herald__producer_send_dead_letter(struct herald__kafka_producer *p,
                                      const char *topic, const char *connector,
                                      const struct herald_record *r,
                                      const char *stage, const char *class_name,
                                      const char *exception_class,
                                      const char *message,
                                      herald__producer_fn fn, void *ctx);
/* Writes in flight. */
size_t herald__producer_pending(const struct herald__kafka_producer *p);
/* herald check only (blocks up to timeout_ms): the topic's partition count
 * from the broker: > 0; 0 when the topic does not exist; -1 when the
 * broker did not answer. err says why for 0 and -1. */
int herald__producer_partitions(struct herald__kafka_producer *p,
                                const char *topic, int timeout_ms, char *err,
                                size_t errlen);
/* Free at once: writes still in flight are dropped (their callbacks do
 * not run); wait for herald__producer_pending to reach 0 first to keep
 * them. NULL-safe. */
void herald__producer_destroy(struct herald__kafka_producer *p);

/* ---- the dedup marks topic -------------------------------------------- */

struct herald__kafka_marks;

/* A mark read back (key: the keyed hash, value NULL for a tombstone). */
typedef void (*herald__marks_fn)(void *ctx, int32_t partition, const void *key,
                                 size_t klen, const void *value, size_t vlen,
                                 int64_t ts);
/* A partition was read to its end. */
typedef void (*herald__marks_end_fn)(void *ctx, int32_t partition);
/* The preparation finished: ok, or not with err (a stop is in order). */
typedef void (*herald__marks_ready_fn)(void *ctx, int ok, const char *err);

/* A reader of the marks topic (no group, never commits). NULL with err. */
struct herald__kafka_marks *herald__marks_new(struct herald__loop *loop,
                                              const struct herald__node *kafka,
                                              const char *topic, char *err,
                                              size_t errlen);
/* Make sure the marks topic exists with at least as many partitions as
 * the source topics, creating it (compacted, retention ttl_ms) if missing;
 * asynchronous: ready is called on the loop later (never inside). Until
 * the broker answers this waits (logging each LOG_EVERY), as a consumer
 * would. Returns 0, or -1 with err when it cannot even start. */
int herald__marks_prepare(struct herald__kafka_marks *m, char *const *topics,
                          size_t n_topics, int64_t ttl_ms,
                          herald__marks_ready_fn ready, void *ctx, char *err,
                          size_t errlen);
/* Read marks partition p from its beginning (on) or stop reading it. 0,
 * or -1 with err. */
int herald__marks_assign(struct herald__kafka_marks *m, int32_t p, int on,
                         char *err, size_t errlen);
/* Take up to max marks read back without blocking: each to fn, partition
 * ends to end. Returns 1 if there may be more right away. */
int herald__marks_poll(struct herald__kafka_marks *m, int max,
                       herald__marks_fn fn, herald__marks_end_fn end,
                       void *ctx);
/* NULL-safe; never blocks on the broker. */
void herald__marks_destroy(struct herald__kafka_marks *m);

/* ---- the demo's mock cluster ------------------------------------------- */

struct herald__kafka_mock;

/* A librdkafka mock cluster with one broker (demo, fast tests). NULL with
 * err. */
struct herald__kafka_mock *herald__mock_new(char *err, size_t errlen);
/* Its bootstrap servers (borrowed for its life). */
const char *herald__mock_bootstraps(const struct herald__kafka_mock *m);
/* Create topic with partitions (one replica). 0 or -1. */
int herald__mock_topic(struct herald__kafka_mock *m, const char *topic,
                       int partitions);
/* Produce key/value (copied) to topic; 0 or -1. */
int herald__mock_produce(struct herald__kafka_mock *m, const char *topic,
                         const void *key, size_t klen, const void *value,
                         size_t vlen);
/* Wait for every produce (up to timeout_ms): 0 or -1. */
int herald__mock_flush(struct herald__kafka_mock *m, int timeout_ms);
void herald__mock_destroy(struct herald__kafka_mock *m);

#endif
