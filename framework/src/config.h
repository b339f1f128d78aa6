/*
 * config.h - the YAML configuration tree and its diagnostics (config_*.c,
 * see config_int.h for which file holds what).
 *
 * The loader parses YAML with libyaml into a tree of nodes, each carrying
 * the file:line:col it came from, resolves ${env:NAME}, ${env:NAME:-default}
 * and ${file:PATH} in scalars (marking ${file:} values and values of options
 * declared secret as secret, and remembering which bytes of each scalar a
 * substitution produced: those are printed as "<redacted>" everywhere, see
 * redact.h; a relative ${file:} path is relative to the config file's
 * directory), and collects every error found rather than
 * stopping at the first. Other modules read the tree with the getters here
 * and report their own errors through herald__diag_add() so that
 * `herald check` prints all of them, each with its position.
 */
#ifndef HERALD_CONFIG_H
#define HERALD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "herald/plugin.h"

enum herald__node_type {
    HERALD_NODE_SCALAR = 1,
    HERALD_NODE_MAP,
    HERALD_NODE_SEQ,
};

/* Bytes [off, off + len) of a scalar that a substitution produced. */
struct herald__span {
    size_t off;
    size_t len;
};

/* One YAML node. Owned by the tree; borrowed by every reader for the life
 * of the tree. */
struct herald__node {
    enum herald__node_type type;
    const char *file; /* path as given to the loader */
    int line;         /* 1-based */
    int col;          /* 1-based */
    char *scalar;     /* SCALAR: the resolved value */
    int secret;       /* SCALAR: came from ${file:} or a secret option */
    struct herald__span *spans; /* SCALAR: parts from ${env:}/${file:} */
    size_t n_spans;
    int quoted;                      /* SCALAR: written quoted in YAML */
    int null_value;                  /* SCALAR: plain `~`, `null` or empty */
    size_t n;                        /* MAP: pairs; SEQ: items */
    char **keys;                     /* MAP: keys[i] */
    struct herald__node **key_nodes; /* MAP: the key nodes (positions) */
    struct herald__node **items;     /* MAP: values; SEQ: items */
    /* The map or list that holds this node (as a key or a value); NULL
     * for a root. Gives every node its path, for messages. */
    const struct herald__node *parent;
};

/* A list of human-readable errors, each "file:line:col: message". */
struct herald__diag {
    char **msgs;
    size_t n;
    size_t cap;
};

void herald__diag_init(struct herald__diag *d);
void herald__diag_cleanup(struct herald__diag *d);
/* Appends "file:line:col: <fmt...>" (node may be NULL: no position). */
void herald__diag_add(struct herald__diag *d, const struct herald__node *at,
                      const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parse a YAML file into a tree. Returns the root (a MAP) or NULL; every
 * problem found is added to d. The caller destroys the tree. */
struct herald__node *herald__config_load_file(const char *path,
                                              struct herald__diag *d);
/* The same from a buffer; `name` stands for the file in positions. */
struct herald__node *herald__config_load_string(const char *name,
                                                const char *text, size_t len,
                                                struct herald__diag *d);
void herald__config_destroy(struct herald__node *root);

/* Map lookup: the value node for key, or NULL. */
const struct herald__node *herald__node_get(const struct herald__node *map,
                                            const char *key);
/* Where n is in its tree, as a user writes it: "connectors[0].batch.linger"
 * (map keys joined by dots, list items as [i]); "" for a root. NULL on
 * ENOMEM. Caller frees. */
char *herald__node_path(const struct herald__node *n);
/* Scalar of map[key], or def if absent. */
const char *herald__node_str(const struct herald__node *map, const char *key,
                             const char *def);

/* Parse "250ms", "30s", "5m", "1h", "1d" (a bare number is ms). 0 or -1. */
int herald__parse_duration_ms(const char *s, int64_t *out);
/* Parse "512", "64KiB", "64KB", "10MiB", "10MB", "1GiB". 0 or -1. */
int herald__parse_size(const char *s, int64_t *out);

/* Allowed keys of a map the framework owns. Each unknown key gets an error
 * with a "did you mean" when a near name exists. Returns the number of
 * unknown keys. */
int herald__node_check_keys(const struct herald__node *map,
                            const char *const *allowed, struct herald__diag *d);

/* Validated options of one plugin instance (the opaque struct of plugin.h).
 * Built from the instance's map node against the plugin's options table:
 * unknown keys (did you mean), wrong types, bad durations/sizes/enums,
 * missing required options all go to d. `skip` lists keys the framework
 * owns in the same map (e.g. "plugin"), NULL-terminated, may be NULL.
 * Returns NULL if any error was found. */
struct herald_options *herald__options_new(const struct herald__node *map,
                                           const struct herald_option *table,
                                           const char *const *skip,
                                           struct herald__diag *d);
void herald__options_destroy(struct herald_options *o);

/* The getters handed to plugins through the host API. */
const char *herald__opt_string(const struct herald_options *o,
                               const char *name);
int64_t herald__opt_int(const struct herald_options *o, const char *name);
int herald__opt_bool(const struct herald_options *o, const char *name);
int64_t herald__opt_duration_ms(const struct herald_options *o,
                                const char *name);
int64_t herald__opt_size(const struct herald_options *o, const char *name);
size_t herald__opt_list_count(const struct herald_options *o, const char *name);
const char *herald__opt_list_item(const struct herald_options *o,
                                  const char *name, size_t i);
int herald__opt_is_set(const struct herald_options *o, const char *name);

/* The scalar of n as it may be printed: "<redacted>" if n is secret,
 * otherwise its text with every part that came from ${env:} or ${file:}
 * replaced by "<redacted>" ("smtp://u:${env:PW}@h" -> "smtp://u:<redacted>
 * @h"). NULL on ENOMEM or if n is not a scalar. Caller frees. */
char *herald__node_display(const struct herald__node *n);

/* Print a tree as YAML with every secret replaced by "<redacted>". */
void herald__config_print_redacted(const struct herald__node *root,
                                   void (*write)(void *ctx, const char *s,
                                                 size_t len),
                                   void *ctx);

/* 1 if a key of this name holds a secret wherever it appears ("password",
 * "api_key", "sasl.password", "smtp_password", ...: the one list the
 * printer uses), 0 otherwise. For modules that log or expose maps without
 * an options table (kafka properties, schema_registry). Any thread. */
int herald__config_key_is_secret(const char *key);

#endif
