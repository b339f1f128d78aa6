/*
 * deadletter.h - the dead-letter topic writer (deadletter.c).
 *
 * A rejected record is produced to the connector's dead-letter topic with
 * its original key, value and headers byte for byte, plus Kafka Connect's
 * context headers (__connect.errors.topic, .partition, .offset,
 * .connector.name, .task.id, .stage, .class.name, .exception.class.name,
 * .exception.message) so Connect tooling reads them. The producer is
 * idempotent with acks=all; the caller learns the broker's verdict through
 * a callback on the loop thread, and only then may the source offset
 * become final.
 */
#ifndef HERALD_DEADLETTER_H
#define HERALD_DEADLETTER_H

#include <stddef.h>

#include "config.h"

struct herald__loop;
struct herald_record;
struct herald__deadletter;

/* ok: 1 when the broker acknowledged the write; else 0 and err says why.
 * Called on the loop thread. */
typedef void (*herald__deadletter_fn)(void *ctx, int ok, const char *err);

/* A writer for `topic`. kafka: the global librdkafka properties (the
 * connection settings; consumer-only ones are dropped). Returns NULL with
 * err on a configuration error. */
struct herald__deadletter *herald__deadletter_new(
    struct herald__loop *loop, const struct herald__node *kafka,
    const char *topic, const char *connector, char *err, size_t errlen);

/* Produce r with the context headers. stage is Connect's stage name
 * (e.g. "VALUE_CONVERTER", "TASK_PUT"), class_name the component that
 * failed, exception_class the kind of failure, message the reason. fn
 * runs once, later, on the loop thread (never from inside this call).
 * Returns 0, or -1 when the write could not even be queued (fn is not
 * called; the caller retries later). */
int herald__deadletter_send(struct herald__deadletter *d,
                            const struct herald_record *r, const char *stage,
                            const char *class_name,
                            const char *exception_class, const char *message,
                            herald__deadletter_fn fn, void *ctx);

/* Writes in flight. */
size_t herald__deadletter_pending(const struct herald__deadletter *d);

/* Whether the topic exists, asking the broker (timeout_ms). 1 yes, 0 no,
 * -1 broker unreachable (err says why). */
int herald__deadletter_topic_exists(struct herald__deadletter *d,
                                    int timeout_ms, char *err, size_t errlen);

/* Waits up to timeout_ms for writes in flight (their callbacks do not
 * run), then frees. NULL-safe. */
void herald__deadletter_destroy(struct herald__deadletter *d, int timeout_ms);

#endif
