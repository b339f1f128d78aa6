/*
 * worker_config.h - the top level of the configuration file: its
 * description (config_schema.h) and the parsing of the keys the worker
 * owns (log, admin, schema_registry, plugin_path and the shape of kafka,
 * channels and connectors), apart from what the worker builds from them
 * (worker_config.c). Connectors are connector_config.h's; channels and
 * sinks are plugin instances, validated against their plugin's table.
 *
 * Pure: reads the tree, reports into the diagnostics (each at its
 * file:line:col) and, for log:, sets the logger's level and format. The
 * thread that loads the configuration.
 */
#ifndef HERALD_WORKER_CONFIG_H
#define HERALD_WORKER_CONFIG_H

#include "admin.h"
#include "config.h"
#include "registry.h"

struct herald__section;

/* The whole configuration file, for `herald check --describe` and tests. */
extern const struct herald__section herald__config_section;

/* Adds an error for each unknown top-level key of root. */
void herald__worker_config_check(const struct herald__node *root,
                                 struct herald__diag *d);

/* log: { level, format }: sets the logger's level and format from it
 * (absent: unchanged). Errors to d. */
void herald__worker_config_log(const struct herald__node *root,
                               struct herald__diag *d);

/* admin: { listen }. Returns 1 and *at, *node (the node to blame for a
 * failure to listen, borrowed from the tree) when the endpoint is
 * configured and valid; 0 when absent; -1 with errors in d. */
int herald__worker_config_admin(const struct herald__node *root,
                                struct herald__admin_listen *at,
                                const struct herald__node **node,
                                struct herald__diag *d);

/* schema_registry: into *cfg (zeroed first; strings borrowed from the
 * tree, except *dir_out: schemas_dir made absolute against config_dir,
 * owned by the caller, who frees it, possibly NULL). Returns 1 when
 * configured and valid, 0 when absent, -1 with errors in d. */
int herald__worker_config_registry(const struct herald__node *root,
                                   const char *config_dir,
                                   struct herald__registry_config *cfg,
                                   char **dir_out, struct herald__diag *d);

/* plugin_path: a directory or a list of them; fn is called for each entry
 * that is a non-empty scalar (entries of another kind are errors). */
void herald__worker_config_plugin_path(
    const struct herald__node *root,
    void (*fn)(void *ctx, const struct herald__node *dir,
               struct herald__diag *d),
    void *ctx, struct herald__diag *d);

/* The shapes of kafka (a map), channels (a map) and connectors (a
 * non-empty list). Each out pointer gets its node, or NULL when absent or
 * of the wrong shape (reported in d). */
void herald__worker_config_sections(const struct herald__node *root,
                                    const struct herald__node **kafka,
                                    const struct herald__node **channels,
                                    const struct herald__node **connectors,
                                    struct herald__diag *d);

#endif
