/*
 * api.h - the host side of the plugin ABI (api.c): plugin instances, batches,
 * the host API table, and the completion queue that brings outcomes reported
 * from any thread back to the loop thread.
 */
#ifndef HERALD_API_H
#define HERALD_API_H

#include <stddef.h>
#include <stdint.h>

#include "herald/plugin.h"

struct herald__loop;
struct herald__http;

/* Called on the loop thread for each item's outcome. reason is borrowed
 * for the call. */
typedef void (*herald__outcome_fn)(void *owner, struct herald_batch *b,
                                   size_t i, enum herald_outcome outcome,
                                   int64_t retry_after_ms, const char *reason);

struct herald__item {
    const struct herald_record *record;
    const struct herald_message *message; /* notify kind only */
    void *ctx;                            /* the owner's per-item state */
    int done;
};

struct herald_batch {
    struct herald_instance *inst;
    void *owner;
    herald__outcome_fn on_outcome;
    size_t n;
    size_t remaining;
    struct herald__item *items;
};

struct herald__counter {
    char *name;
    int64_t value;
};

struct herald_instance {
    char *name; /* channel or connector name, for logs */
    const struct herald_plugin *def;
    const char *plugin_path;
    struct herald_options *opts;
    void *state;
    int opened;
    struct herald__http *http;
    struct herald__counter *counters;
    size_t n_counters;
    size_t in_flight; /* items delivered and not completed */
};

/* The one host API table handed to every plugin's init. */
const struct herald_host_api *herald__host_api(void);

/* Set up the completion queue on the loop (once, before any deliver). */
int herald__api_start(struct herald__loop *loop);
void herald__api_stop(void);
/* Process queued completions now (the wakeup does this by itself). */
void herald__api_drain(void);

/* Instances. new takes ownership of opts. open calls the plugin's open. */
struct herald_instance *herald__instance_new(const char *name,
                                             const struct herald_plugin *def,
                                             const char *plugin_path,
                                             struct herald_options *opts,
                                             struct herald__http *http);
int herald__instance_open(struct herald_instance *inst, char *err,
                          size_t errlen);
/* Calls the plugin's close (after aborting its transfers) and frees. */
void herald__instance_destroy(struct herald_instance *inst);
int64_t herald__instance_counter(const struct herald_instance *inst,
                                 const char *name);

/* Batches: new with room for n items; the owner fills items[] and calls
 * deliver. The batch frees itself after the last outcome was dispatched. */
struct herald_batch *herald__batch_new(struct herald_instance *inst,
                                       void *owner, herald__outcome_fn fn,
                                       size_t n);
/* Hands the batch to the plugin. On a plugin error every item is reported
 * RETRY through the queue. */
void herald__batch_deliver(struct herald_batch *b);

#endif
