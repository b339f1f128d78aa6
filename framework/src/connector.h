/*
 * connector.h - one connector (connector.c): the state machine of a record's
 * life (a job) that wires the stages of docs/architecture.md: the Kafka
 * module's consumer (kafka.h), decode, the tombstone filter, the dedup gate
 * (dedup_gate.h), render (notify.h) or a sink, deliver (batch.h), the
 * outcome policy (outcome.h, channel.h), the dedup mark and the offset
 * tracker (offsets.h) that makes delivery at-least-once. All on the loop
 * thread.
 */
#ifndef HERALD_CONNECTOR_H
#define HERALD_CONNECTOR_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"

struct herald__hash_key;
struct herald_record;

struct herald__loop;
struct herald__http;
struct herald__registry;
struct herald_instance;
struct herald__connector;

/* What the command running the connectors adds to them (herald tail
 * prints records, the demo stops after its two): called on the loop
 * thread; either may be NULL. */
struct herald__connector_hooks {
    /* Tail mode: each decoded record (borrowed for the call), in place of
     * a plugin; the record is final afterwards. */
    void (*decoded)(void *ctx, const struct herald_record *r);
    /* After each record of c whose outcome became final; finals is how
     * many of c's are. Nonzero: stop c (gracefully). */
    int (*final)(void *ctx, const struct herald__connector *c, int64_t finals);
    void *ctx;
};

/* What a connector needs from the worker around it. */
struct herald__connector_env {
    struct herald__loop *loop;
    struct herald__http *http;
    struct herald__registry *registry;   /* may be NULL */
    const struct herald__node *kafka;    /* global librdkafka properties */
    const struct herald__node *channels; /* the channels: map */
    const char *config_dir;              /* for template files */
    /* The deployment's hash_key (hmac.h), NULL when not configured: notify
     * and dedup refuse to start without it. Borrowed. */
    const struct herald__hash_key *hash_key;
    /* Resolve a sink/notify target to an opened plugin instance. */
    struct herald_instance *(*instance)(void *ctx, const char *name,
                                        const struct herald__node *at, int kind,
                                        struct herald__diag *d);
    void *ctx;
    /* Called when the connector stopped by itself (errors.tolerance none,
     * fatal consumer error) or finished draining after stop. */
    void (*on_stopped)(void *ctx, struct herald__connector *c, int failed);
    /* Tail mode: a throwaway group, no commits, no plugin: decoded
     * records go to hooks.decoded. */
    int tail;
    struct herald__connector_hooks hooks;
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
/* Free c (NULL-safe; without waiting for the broker). The lifecycle rule
 * (worker.h): free a connector only once no completion can reach it, that
 * is after its plugin instance was closed (every item it held reported),
 * or else it forgets itself as the owner of its batches at the plugin
 * host first; records still at the plugin then leak rather than dangle.
 * Loop thread, loop not running. */
void herald__connector_destroy(struct herald__connector *c);
/* herald check: what needs the broker. A missing dead-letter topic is an
 * error in d; an unreachable broker only a note. 0 or -1. */
int herald__connector_check_remote(struct herald__connector *c,
                                   struct herald__diag *d, FILE *notes);
const char *herald__connector_name(const struct herald__connector *c);
/* The dedup marks topic of c, or NULL when c has no dedup. Borrowed for
 * c's life. */
const char *herald__connector_marks_topic(const struct herald__connector *c);

/* Figures for tests and the benchmark. */
struct herald__connector_stats {
    int64_t consumed, delivered_ok, rejected, retried, poison, in_flight;
    int64_t deduped; /* skipped: their dedup key was notified before */
    /* UNAVAILABLE outcomes: the channel, not the record, failed (a held
     * record sent again as a probe counts each time) */
    int64_t unavailable;
};
void herald__connector_stats(const struct herald__connector *c,
                             struct herald__connector_stats *out);

/* Where a connector is in its life, for the admin endpoint. */
enum herald__connector_state {
    HERALD__CONNECTOR_CREATED = 0, /* built; not started */
    HERALD__CONNECTOR_RUNNING,     /* consumer created and subscribed */
    HERALD__CONNECTOR_STOPPING,    /* draining after a stop */
    HERALD__CONNECTOR_STOPPED,     /* stopped after a stop */
    HERALD__CONNECTOR_FAILED,      /* stopping or stopped on an error */
};

/* One assigned partition. topic is borrowed from the connector. */
struct herald__partition_status {
    const char *topic;
    int32_t partition;
    int64_t committed; /* last offset this process committed; -1: none */
    int64_t next;      /* committable offset now; -1: nothing consumed */
    int64_t in_doubt;  /* records tracked whose outcome is not final */
    int paused;
};

struct herald__connector_status {
    const char *name; /* borrowed, like every pointer here but parts */
    const char *group_id;
    char *const *topics;
    size_t n_topics;
    enum herald__connector_state state;
    const struct herald_instance *inst; /* its channel or sink; may be NULL */
    struct herald__connector_stats stats;
    struct herald__partition_status *parts; /* assigned; heap */
    size_t n_parts;
    /* The channel answered UNAVAILABLE and no probe got through yet: every
     * partition waits. reason is the plugin's last one (NULL when
     * available); held counts the records waiting for the channel. */
    int channel_unavailable;
    const char *channel_reason;
    int64_t channel_unavailable_ms; /* for how long */
    int64_t channel_held;
};

/* A snapshot of c on the loop thread. The borrowed pointers are valid until
 * the loop runs again. 0, or -1 when out of memory (out->parts NULL and
 * n_parts 0, the rest filled). Free with herald__connector_status_cleanup
 * (NULL-safe). */
int herald__connector_status(const struct herald__connector *c,
                             struct herald__connector_status *out);
void herald__connector_status_cleanup(struct herald__connector_status *s);

#endif
