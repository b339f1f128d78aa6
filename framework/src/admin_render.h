/*
 * admin_render.h - what the admin routes answer (admin_render.c), as pure
 * functions of a snapshot of the worker: the readiness verdict, the
 * Prometheus text and the connectors as JSON. The server (admin.h) calls
 * these and they know nothing of it: the include goes one way only.
 */
#ifndef HERALD_ADMIN_RENDER_H
#define HERALD_ADMIN_RENDER_H

#include <stddef.h>

#include "connector.h"

struct herald_instance;

/* What the routes report: borrowed for one request. */
struct herald__admin_snapshot {
    const struct herald__connector_status *connectors;
    size_t n_connectors;
    /* Every plugin instance: the channels, then the sinks. */
    const struct herald_instance *const *instances;
    size_t n_instances;
};

/* The bodies. Each returns a heap string the caller frees (NUL-terminated;
 * its length in *len) or NULL when out of memory. Pure; any thread. readyz
 * also says whether the worker is ready (1) or not (0) through *ready. */
char *herald__admin_render_readyz(const struct herald__admin_snapshot *snap,
                                  int *ready, size_t *len);
char *herald__admin_render_metrics(const struct herald__admin_snapshot *snap,
                                   size_t *len);
char *herald__admin_render_connectors(const struct herald__admin_snapshot *snap,
                                      size_t *len);
/* "created", "running", "stopping", "stopped", "failed". */
const char *herald__admin_state_name(enum herald__connector_state s);

#endif
