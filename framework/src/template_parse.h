/*
 * template_parse.h - the template compiler (template_parse.c): template
 * text into the parts template.c renders, path syntax, and a lookup over a
 * plain JSON tree. Syntax in template.h.
 *
 * A compiled template is owned by its compiler's caller and immutable
 * once returned.
 */
#ifndef HERALD_TEMPLATE_PARSE_H
#define HERALD_TEMPLATE_PARSE_H

#include <jansson.h>
#include <stddef.h>

#include "config.h"
#include "template_filter.h"

/* A literal run (path NULL) or one substitution. */
struct herald__template_part {
    char *text; /* literal bytes (len of them), owned */
    size_t len;
    char *path; /* the substitution's path, owned */
    struct herald__template_filter *filters; /* n_filters, owned */
    size_t n_filters;
    int raw; /* `raw` among the filters: no HTML escaping */
};

struct herald__template {
    struct herald__template_part *parts;
    size_t n_parts;
    size_t n_exprs;
    int html; /* HTML body: escape substitutions */
};

/* Compile `text`. file/line/col is where text starts, so every error
 * points at the offending character: "file:line:col: message" added to d
 * (for a quoted YAML scalar pass the column after the quote; columns count
 * code points, like libyaml). html_escape non-zero for HTML bodies.
 * Returns the template (caller destroys) or NULL after adding errors. */
struct herald__template *herald__template_compile(const char *text,
                                                  const char *file, int line,
                                                  int col, int html_escape,
                                                  struct herald__diag *d);

/* Read and compile a template file (at most 1 MiB, no NUL bytes); errors
 * inside point at the file's own line:col, an unreadable file is reported
 * at `at` (the YAML node naming it; may be NULL). Returns the template
 * (caller destroys) or NULL on error. */
struct herald__template *
herald__template_compile_file(const char *path, const struct herald__node *at,
                              int html_escape, struct herald__diag *d);

/* Free t and everything it owns. Accepts NULL. */
void herald__template_destroy(struct herald__template *t);

/* The number of substitutions in t (0: constant text; 0 for NULL). */
size_t herald__template_n_exprs(const struct herald__template *t);

/* Check a path's syntax as the template compiler does. Returns 0, or -1
 * with the reason in err. */
int herald__template_check_path(const char *path, char *err, size_t errlen);

/* A lookup over a plain JSON tree (a herald__lookup_fn, template.h): ctx
 * is the json_t * root; `@` paths are missing. Returns 0 with *out the
 * value, borrowed from the tree, or NULL, and *owned NULL; -1 for a
 * malformed path. For tests and for callers that have no record. */
int herald__template_lookup_json(void *ctx, const char *path, json_t **out,
                                 json_t **owned);

#endif
