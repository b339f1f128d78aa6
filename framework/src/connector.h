/*
 * connector.h - one connector (connector.c): a Kafka consumer, the decoder,
 * the notify stage or a sink, batching, retries, and the offset tracker that
 * makes delivery at-least-once. All on the loop thread.
 */
#ifndef HERALD_CONNECTOR_H
#define HERALD_CONNECTOR_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"

struct herald__loop;
struct herald__http;
struct herald__registry;
struct herald_instance;
struct herald__connector;

/* What a connector needs from the worker around it. */
struct herald__connector_env {
    struct herald__loop *loop;
    struct herald__http *http;
    struct herald__registry *registry;   /* may be NULL */
    const struct herald__node *kafka;    /* global librdkafka properties */
    const struct herald__node *channels; /* the channels: map */
    const char *config_dir;              /* for template files */
    /* Resolve a sink/notify target to an opened plugin instance. */
    struct herald_instance *(*instance)(void *ctx, const char *name,
                                        const struct herald__node *at, int kind,
                                        struct herald__diag *d);
    void *ctx;
    /* Called when the connector stopped by itself (errors.tolerance none,
     * fatal consumer error) or finished draining after stop. */
    void (*on_stopped)(void *ctx, struct herald__connector *c, int failed);
    /* Tail mode: print decoded records as JSON lines, no plugin. */
    int tail;
    /* Stop after this many final records (0: never). Used by the demo. */
    int64_t stop_after;
};

/* Validate the connector map and build it (no network yet). NULL on error,
 * with every problem in d. */
struct herald__connector *
herald__connector_new(const struct herald__connector_env *env,
                      const struct herald__node *map, struct herald__diag *d);
/* Create the consumer and subscribe. 0 or -1 with err. */
int herald__connector_start(struct herald__connector *c, char *err,
                            size_t errlen);
/* Graceful stop: stop taking records, drain in-flight work up to the drain
 * timeout, commit what is final, close the consumer; on_stopped follows.
 * Called again (second signal), it stops at once, still committing only
 * final offsets. */
void herald__connector_stop(struct herald__connector *c);
void herald__connector_destroy(struct herald__connector *c);
/* herald check: what needs the broker. A missing dead-letter topic is an
 * error in d; an unreachable broker only a note. 0 or -1. */
int herald__connector_check_remote(struct herald__connector *c,
                                   struct herald__diag *d, FILE *notes);
const char *herald__connector_name(const struct herald__connector *c);

/* Figures for tests and the benchmark. */
struct herald__connector_stats {
    int64_t consumed, delivered_ok, rejected, retried, poison, in_flight;
    int64_t deduped; /* skipped: their dedup key was notified before */
};
void herald__connector_stats(const struct herald__connector *c,
                             struct herald__connector_stats *out);

#endif
