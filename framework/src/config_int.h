/*
 * config_int.h - what the config_*.c files share and nothing else sees:
 * small allocation helpers, positioned diagnostics without a node, and
 * the hooks between the YAML reader, the providers and the option tables.
 *
 * The configuration is split along its seams:
 *   config_diag.c      diagnostics ("file:line:col: message")
 *   config_yaml.c      the YAML tree (the only file that includes yaml.h)
 *   config_provider.c  ${env:NAME}, ${env:NAME:-default}, ${file:PATH}
 *   config_units.c     durations and sizes
 *   config_options.c   typed option tables (plugins'), and the one
 *                      wording of a bad value (herald__config_bad_value)
 *   config_schema.c    the framework's own tables (config_schema.h)
 *   config_print.c     redacted printing
 * All run on the thread that loads the configuration.
 */
#ifndef HERALD_CONFIG_INT_H
#define HERALD_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"

/* Largest file a ${file:} reference or a config file may name. */
#define HERALD__CONFIG_MAX_FILE_BYTES (4 * 1024 * 1024)

/* A NUL-terminated copy of s[0..n), or NULL on ENOMEM. Caller frees. */
char *herald__config_dup_n(const char *s, size_t n);

/* A copy of s (NULL stays NULL), or NULL on ENOMEM. Caller frees. */
char *herald__config_dup(const char *s);

/* An array of n elements, grown when n reaches a power of two (4 at
 * least), so no capacity needs storing next to it. Returns the array to
 * use (possibly moved), or NULL when out of memory (arr is still valid). */
void *herald__config_grow(void *arr, size_t n, size_t elem);

/* Appends "file:line:col: <fmt...>" ("file: " when line is 0, nothing
 * when file is NULL); for errors that have no node (a file that cannot be
 * read, a syntax error). The message is redacted and copied; d owns it. */
void herald__diag_at(struct herald__diag *d, const char *file, int line,
                     int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* "a map", "a list" or "a scalar", for messages. Static storage. */
const char *herald__node_type_name(const struct herald__node *n);

/* Resolves ${env:}/${file:} in the scalar n, in place: n->scalar becomes
 * the resolved text, n->spans the substituted bytes, n->secret is set for
 * ${file:}. Errors go to d at n's position; on error the scalar keeps its
 * written text. */
void herald__config_substitute(struct herald__node *n, struct herald__diag *d);

/* 1 if s is one of the NULL-terminated list (NULL list: 0). */
int herald__config_in_list(const char *s, const char *const *list);

/* "a, b, c" of a NULL-terminated list (NULL: ""); NULL on ENOMEM. Caller
 * frees. */
char *herald__config_join_list(const char *const *list);

/* The value of s for a number-like option type: INT (decimal int64),
 * BOOL ("true" 1, "false" 0), DURATION (ms), SIZE (bytes). 0, or -1
 * (out untouched) if s is not one; other types: -1. */
int herald__config_parse_number(enum herald_opt_type t, const char *s,
                                int64_t *out);

/* min of a rule that has no lower bound (a plugin's INT option). */
#define HERALD__NO_MIN INT64_MIN

/* What a value must be: the one description its error and the reference
 * (`herald check --describe`) give. Plugin options and the framework's
 * keys (config_schema.h) both reduce to one. */
struct herald__rule {
    enum herald_opt_type type;
    /* INT, DURATION (ms), SIZE (bytes): the smallest value allowed
     * (HERALD__NO_MIN: none) and the largest (0: no upper bound);
     * STRING: the fewest bytes (0: any). */
    int64_t min;
    int64_t max;
    /* DURATION, SIZE, STRING: the examples shown "(e.g. ...)"; NULL: the
     * type's own. */
    const char *example;
    const char *const *enum_values; /* ENUM, NULL-terminated */
    int secret;                     /* STRING: the value is never shown */
    /* Words that replace the type's ("a map of librdkafka properties",
     * "a template or a list of them"); NULL: the type's. */
    const char *what;
};

/* Appends what a value of r must be: "an integer >= 1", "a duration (e.g.
 * 250ms, 30s, 5m, 1h)", "one of: none, all", "true or false", ...; with
 * article 0 the leading "a"/"an" is left out (the reference's form). */
void herald__rule_text(const struct herald__rule *r, int article,
                       struct herald__buf *b);

/* The one error of a value that is not what r says, framework and plugin
 * alike:
 *     FILE:LINE:COL: 'PATH' expects WHAT; got 'VALUE'
 * PATH is at's place in the tree (herald__node_path; `name` when at is a
 * root), WHAT herald__rule_text's, VALUE as it may be printed
 * (herald__node_display: "<redacted>" for what a provider produced; a
 * secret string shows its length only: "got 5 bytes"); a map or a list
 * reads "got a map". at NULL stands for the default of a plugin's table,
 * `value`: "'NAME' expects WHAT; got 'VALUE' (the plugin's default)". */
void herald__config_bad_value(struct herald__diag *d,
                              const struct herald__node *at, const char *name,
                              const char *value, const struct herald__rule *r);

#endif
