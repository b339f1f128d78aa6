/*
 * template_filter.h - the template filters (template_filter.c): the table
 * of filters and their arguments, the check of a filter's arguments when a
 * template compiles, and applying a filter to a value when it renders.
 * What each filter does is documented in template.h.
 *
 * A built filter is immutable: any number of threads may apply it at once.
 * The parser (template_parse.c) owns the filters it builds and cleans them
 * up with the template.
 */
#ifndef HERALD_TEMPLATE_FILTER_H
#define HERALD_TEMPLATE_FILTER_H

#include <jansson.h>
#include <stddef.h>

struct herald__tz;

/* No filter takes more arguments than this. */
#define HERALD__TEMPLATE_FILTER_MAX_ARGS 3

enum herald__template_filter_kind {
    HERALD__FILTER_LAST4,
    HERALD__FILTER_MASK,
    HERALD__FILTER_UPPER,
    HERALD__FILTER_LOWER,
    HERALD__FILTER_DEFAULT,
    HERALD__FILTER_DATETIME,
    HERALD__FILTER_DECIMAL,
    HERALD__FILTER_JOIN,
    HERALD__FILTER_JSON,
    HERALD__FILTER_RAW,
};

/* What each filter accepts: argument types are 's' (any argument, kept as
 * text) and 'i' (an integer). */
struct herald__template_filter_spec {
    const char *name;
    enum herald__template_filter_kind kind;
    int min_args;
    int max_args;
    const char *types;
    const char *usage;
};

/* One filter of a substitution, as built at compile. */
struct herald__template_filter {
    const struct herald__template_filter_spec *spec; /* static */
    char *s1; /* default text, datetime format, join separator; owned */
    struct herald__tz *zone; /* datetime zone, NULL for UTC; owned */
    long n;                  /* mask visible characters, decimal places */
};

/* An argument as the parser read it. */
enum herald__template_arg_type {
    HERALD__ARG_STRING, /* "quoted", escapes resolved */
    HERALD__ARG_WORD,
    HERALD__ARG_INT,
    HERALD__ARG_REAL,
};

struct herald__template_arg {
    enum herald__template_arg_type type;
    char *text; /* owned by the parser until a filter takes it */
    size_t off; /* where it starts in the template */
};

/* The filter named `name`, or NULL. The result is static. */
const struct herald__template_filter_spec *
herald__template_filter_find(const char *name);

/* The filter name closest to a mistyped `name` (textdist.h's rule), or
 * NULL. The result is static. */
const char *herald__template_filter_suggest(const char *name);

/* Check args (n_args of them) against spec and fill *f (zeroed by the
 * caller), taking the argument texts it keeps (their pointers set NULL)
 * and opening a datetime zone. name_off is where the filter's name starts.
 * Returns 0; or -1 with the message in err and its offset in the template
 * in *err_off, or -1 with err "" when out of memory. On -1, f may hold
 * something: herald__template_filter_cleanup() it. Thread: any. */
int herald__template_filter_build(
    const struct herald__template_filter_spec *spec, size_t name_off,
    struct herald__template_arg *args, int n_args,
    struct herald__template_filter *f, size_t *err_off, char *err,
    size_t errlen);

/* Free what f owns; f is left empty. Accepts NULL. */
void herald__template_filter_cleanup(struct herald__template_filter *f);

/* Apply f to a present, non-null value v (JSON null reaches only `json`)
 * found at `path` (for messages). Returns 0 with *res a new reference the
 * caller drops, or -1 with err ("filter 'decimal' on field 'x': ...") and
 * *res NULL. default and raw are the renderer's business, not this one's.
 * Thread: any; reads no process-wide state. */
int herald__template_filter_apply(const struct herald__template_filter *f,
                                  const char *path, const json_t *v,
                                  json_t **res, char *err, size_t errlen);

#endif
