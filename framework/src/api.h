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
    struct herald_instance *inst; /* NULL once the instance closed */
    void *owner;                  /* NULL once the owner forgot it */
    herald__outcome_fn on_outcome;
    size_t n;
    size_t remaining;
    struct herald__item *items; /* room for cap; n used */
    size_t cap;
    /* The instance's list of batches with items outstanding. */
    struct herald_batch *prev, *next;
    /* The plugin's name, for logs after the instance closed (it lives in
     * the .so, loaded until after the host API stops). */
    const char *plugin;
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
    size_t in_flight;             /* items delivered and not completed */
    struct herald_batch *batches; /* with items outstanding */
    char **opt_warned;            /* opt_get names already logged */
    size_t n_opt_warned;
};

/* The one host API table handed to every plugin's init. */
const struct herald_host_api *herald__host_api(void);

/* Set up the completion queue on the loop (once, before any deliver). */
int herald__api_start(struct herald__loop *loop);
/* Stops the wakeup, dispatches what is queued, and frees the batches kept
 * after their instance closed (so late completions could be recognised).
 * Safe without a start. */
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
/* Aborts the instance's transfers, calls the plugin's close, dispatches
 * what the plugin completed until close returned, and then enforces the
 * close rule (plugin.h): every item still outstanding is reported RETRY to
 * its owner ("plugin NAME closed with the item outstanding"). A complete()
 * for such a batch after that is logged and ignored until
 * herald__api_stop(). Frees the instance. NULL is accepted. Loop thread. */
void herald__instance_destroy(struct herald_instance *inst);
/* Forget `owner` (going away) in every batch of inst with items
 * outstanding: their later outcomes are dropped instead of reported to
 * it. Loop thread. */
void herald__instance_forget_owner(struct herald_instance *inst,
                                   const void *owner);
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
