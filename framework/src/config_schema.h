/*
 * config_schema.h - the declarative description of herald's own
 * configuration (config_schema.c), built from the same struct
 * herald_option that plugins declare their options with.
 *
 * A section (a YAML map herald owns: the top level, schema_registry, a
 * connector, its batch, errors, ...) is a table of keys. Each key carries
 * its name, type, default, allowed values and one line of help (the struct
 * herald_option), plus what a plugin option does not need: its shape (a
 * plain value, a nested section, a list of sections, free-form
 * properties, plugin instances), bounds, and the example its error shows.
 * From one table come the unknown-key check (with the shared "did you
 * mean", textdist.h), each value's validation and default, and the
 * reference `herald check --describe` prints; so a key cannot be accepted
 * without being described, nor described without being accepted.
 *
 * A bad value gets the one wording plugin options get too
 * (herald__config_bad_value, config_int.h), at its node's file:line:col:
 * "'connectors[0].max_in_flight' expects an integer >= 1; got '0'"; the
 * words after "expects" are the reference's.
 *
 * Tables are static and read-only; the functions only read the tree and
 * add to the diagnostics: any thread, the caller's.
 */
#ifndef HERALD_CONFIG_SCHEMA_H
#define HERALD_CONFIG_SCHEMA_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"

/* What a key holds. */
enum herald__key_shape {
    HERALD__SHAPE_VALUE = 0,  /* a scalar of opt.type (LIST: a list or one) */
    HERALD__SHAPE_SECTION,    /* a map of `section`'s keys */
    HERALD__SHAPE_SECTIONS,   /* a list of such maps */
    HERALD__SHAPE_PROPERTIES, /* a map of free-form properties */
    HERALD__SHAPE_INSTANCES,  /* a map of names to plugin instances */
    HERALD__SHAPE_INSTANCE,   /* a map: `plugin: NAME` and its options */
    HERALD__SHAPE_MESSAGE,    /* `section`'s keys plus the channel's fields */
};

struct herald__section;

/* One key of a section. */
struct herald__key {
    struct herald_option opt; /* name, type, default, required, secret,
                                 enum values, help */
    enum herald__key_shape shape;
    const struct herald__section *section; /* SECTION(S), MESSAGE */
    /* INT, DURATION (ms), SIZE (bytes): smallest value allowed, and the
     * largest (0: no upper bound); STRING: the fewest bytes (1: not
     * empty). */
    int64_t min;
    int64_t max;
    /* DURATION, SIZE, STRING: the examples of "(e.g. ...)"; SECTION: the
     * example of "must be a map, e.g. ...". NULL: the type's own. */
    const char *example;
};

/* The entry that ends a table of keys. */
#define HERALD__KEY_END                                                        \
    {                                                                          \
        .opt = {.name = NULL }                                                 \
    }

/* A map herald owns: its keys, terminated by a key whose opt.name is
 * NULL. */
struct herald__section {
    const char *name; /* for the reference: "errors.retry" */
    const char *help;
    const struct herald__key *keys;
    /* More keys of the same map, in a table the module that parses them
     * owns (hash_key: hmac.c); NULL: none. */
    const struct herald__section *also;
};

/* The key `name` of s, or NULL. */
const struct herald__key *herald__section_key(const struct herald__section *s,
                                              const char *name);

/* Adds an "unknown key" error (with "did you mean") for every key of map
 * that s does not describe; a map that is not a map gets "expected a map,
 * got ...". Returns the number of errors added; NULL map: 0. */
int herald__section_check_keys(const struct herald__node *map,
                               const struct herald__section *s,
                               struct herald__diag *d);

/* Reads the INT, DURATION (ms), SIZE (bytes) or BOOL (0/1) key `name` of
 * s from map (map may be NULL: absent). Absent: the table's default (0
 * without one). Sets *out either way. Returns 0, or -1 with one error in
 * d at the value's position (wrong type, malformed, out of bounds). */
int herald__section_num(const struct herald__node *map,
                        const struct herald__section *s, const char *name,
                        int64_t *out, struct herald__diag *d);

/* Reads the ENUM key `name`: *out is the value given (borrowed from the
 * tree) or the table's default (static). Returns 0, or -1 with "'PATH'
 * expects one of: ...; got 'x'" in d (*out: the default). */
int herald__section_enum(const struct herald__node *map,
                         const struct herald__section *s, const char *name,
                         const char **out, struct herald__diag *d);

/* Reads the STRING key `name`: *out is the scalar given (borrowed from
 * the tree) or the table's default (static; NULL without one). Returns 0,
 * or -1 with the value error in d (*out: the default) when the value is
 * not a scalar, is null, or is shorter than the key's min bytes. */
int herald__section_str(const struct herald__node *map,
                        const struct herald__section *s, const char *name,
                        const char **out, struct herald__diag *d);

/* The same check for the value node n of key k, found by other means
 * (n may not be NULL). */
int herald__key_str(const struct herald__node *n, const struct herald__key *k,
                    const char **out, struct herald__diag *d);

/* Reads the LIST key `name`: calls fn(ctx, item, at) for each string
 * given (one scalar is a list of one; at is its node) or, when absent,
 * for each item of the table's default ("[a, b]" or one word; at NULL).
 * Returns 0 (fn's items all given), or -1 with the value error in d for
 * a value that is neither a string nor a list of strings (fn is then not
 * called for the bad item). */
int herald__section_list(const struct herald__node *map,
                         const struct herald__section *s, const char *name,
                         void (*fn)(void *ctx, const char *item,
                                    const struct herald__node *at),
                         void *ctx, struct herald__diag *d);

/* Adds the value error of key k for the node at: "'PATH' expects WHAT;
 * got a list". WHAT is `what` when not NULL, else the key's: its type's
 * words, or for a section "a map" (with the key's example: "a map (e.g.
 * { format: string })"). */
void herald__key_bad_value(const struct herald__key *k,
                           const struct herald__node *at, const char *what,
                           struct herald__diag *d);

/* Calls fn for every key reachable from s, depth first, with its dotted
 * path ("connectors[].errors.retry.initial"; `prefix` is prepended).
 * For tests and the reference. */
void herald__section_walk(const struct herald__section *s, const char *prefix,
                          void (*fn)(const char *path,
                                     const struct herald__key *k, void *ctx),
                          void *ctx);

/* Prints the reference of s and everything under it: one block per key,
 * "path: type, default X" then its allowed values, unit and help. */
void herald__section_describe(const struct herald__section *s, FILE *out);

#endif
