/*
 * worker.h - the whole process (worker.c): loads the config, the plugins,
 * the schema registry client, the channels and the connectors, and runs
 * them on one loop until they stop.
 */
#ifndef HERALD_WORKER_H
#define HERALD_WORKER_H

#include <stdint.h>
#include <stdio.h>

#include "connector.h"

struct herald__worker;

enum herald__worker_mode {
    HERALD__MODE_RUN = 0,   /* consume and deliver */
    HERALD__MODE_CHECK = 1, /* validate only: no Kafka connection */
    HERALD__MODE_TAIL = 2,  /* print one connector's records as JSON */
};

struct herald__worker_opts {
    const char *config_path;
    enum herald__worker_mode mode;
    const char *only_connector;           /* tail: the connector to print */
    const char *bootstrap_override;       /* demo: the mock cluster */
    struct herald__connector_hooks hooks; /* given to every connector */
    const char *log_level;                /* --log-level, wins over config */
};

/* Load and validate everything. On errors, prints every one of them to
 * `errs` (one per line, with file:line:col) and returns NULL. */
struct herald__worker *herald__worker_new(const struct herald__worker_opts *o,
                                          FILE *errs);
/* Print the effective config with secrets redacted. */
void herald__worker_print_config(const struct herald__worker *w, FILE *out);
/* Start every connector and run until all have stopped (signals start a
 * graceful stop). Returns the exit code: 0, or 3 if a connector failed. */
int herald__worker_run(struct herald__worker *w);
/* Figures of every connector, added up (after run). */
struct herald__connector_stats;
void herald__worker_stats(const struct herald__worker *w,
                          struct herald__connector_stats *sum);
/* Calls fn(topic, ctx) for the dedup marks topic of every connector that
 * has one (after new, before run): the demo creates them in its mock
 * cluster, which does not serve CreateTopics. topic is borrowed. */
void herald__worker_each_marks_topic(const struct herald__worker *w,
                                     void (*fn)(const char *topic, void *ctx),
                                     void *ctx);
/* Free everything. The lifecycle rule: nothing reaches a freed connector.
 * A plugin completes items from any thread, into a queue dispatched on
 * the loop thread to the batch's owner (a connector's deliver stage). So
 * the queue is drained first, then every instance is closed, which reports
 * each item it still holds (RETRY under the close rule; the connectors,
 * stopped, let those records go in doubt), and only then are the
 * connectors freed: no batch names them any more. (A connector freed
 * while its instance lives, e.g. after a failed start, forgets itself as
 * owner at the plugin host first.) Loop thread, with the loop stopped. */
void herald__worker_destroy(struct herald__worker *w);

#endif
