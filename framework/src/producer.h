/*
 * producer.h - herald's own writes to Kafka (producer.c): dead letters and
 * dedup marks.
 *
 * One idempotent (acks=all) librdkafka producer per connector, driven by
 * the loop. The caller learns the broker's verdict through a callback on
 * the loop thread, and only then may the source offset become final.
 *
 * A dead letter is the rejected record with its original key, value and
 * headers byte for byte, plus Kafka Connect's context headers
 * (__connect.errors.topic, .partition, .offset, .connector.name, .task.id,
 * .stage, .class.name, .exception.class.name, .exception.message) so
 * Connect tooling reads them.
 */
#ifndef HERALD_PRODUCER_H
#define HERALD_PRODUCER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct herald__loop;
struct herald_record;
struct herald__producer;

/* ok: 1 when the broker acknowledged the write; else 0 and err says why.
 * Called on the loop thread, never from inside a send call. */
typedef void (*herald__producer_fn)(void *ctx, int ok, const char *err);

/* A producer. kafka: the global librdkafka properties (the connection
 * settings; consumer-only ones are dropped). Returns NULL with err on a
 * configuration error. */
struct herald__producer *herald__producer_new(struct herald__loop *loop,
                                              const struct herald__node *kafka,
                                              char *err, size_t errlen);

/* Produce key/value (copied) to topic, partition (-1: the partitioner's
 * choice). Returns 0, or -1 when the write could not even be queued (fn is
 * not called; the caller retries later). */
int herald__producer_send(struct herald__producer *p, const char *topic,
                          int32_t partition, const void *key, size_t klen,
                          const void *value, size_t vlen,
                          herald__producer_fn fn, void *ctx);

/* Produce r as a dead letter to topic with the context headers. stage is
 * Connect's stage name (e.g. "VALUE_CONVERTER", "TASK_PUT"), class_name the
 * component that failed, exception_class the kind of failure, message the
 * reason. Same contract as herald__producer_send. */
int herald__producer_send_dead_letter(struct herald__producer *p,
                                      const char *topic, const char *connector,
                                      const struct herald_record *r,
                                      const char *stage, const char *class_name,
                                      const char *exception_class,
                                      const char *message,
                                      herald__producer_fn fn, void *ctx);

/* Writes in flight. */
size_t herald__producer_pending(const struct herald__producer *p);

/* The topic's partition count from the broker (timeout_ms): > 0; 0 when
 * the topic does not exist; -1 when the broker did not answer. err says
 * why for 0 and -1. */
int herald__producer_partitions(struct herald__producer *p, const char *topic,
                                int timeout_ms, char *err, size_t errlen);

/* Waits up to timeout_ms for writes in flight (their callbacks do not
 * run), then frees. NULL-safe. */
void herald__producer_destroy(struct herald__producer *p, int timeout_ms);

#endif
