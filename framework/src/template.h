/*
 * template.h - the template engine (template.c): `{{path | filter arg}}`
 * templates compiled once at load, rendered per record.
 *
 * Syntax
 *   Literal text, with substitutions `{{ path }}` and
 *   `{{ path | filter arg arg | filter2 }}`. Whitespace (spaces, tabs,
 *   newlines) inside the braces is free. `{{{{` writes a literal `{{`;
 *   `}}` outside a substitution is literal text.
 *   A path is what herald__record_lookup() takes: `a.b[2].c`, `@key`,
 *   `@key.x`, `@value` (the whole value), `@topic`, `@partition`,
 *   `@offset`, `@timestamp`, `@window.start`, `@window.end`,
 *   `@headers.NAME` (the rest of the path is the name, dots included).
 *   Segment names are made of [A-Za-z0-9_-]; `[N]` indexes an array.
 *   Filter arguments are double-quoted strings (escapes \" \\ \n \t),
 *   numbers (-12, 3.5) or bare words (letters, digits, _ . / + - :).
 *
 * Values
 *   strings as they are; integers in decimal; reals in their shortest
 *   round-trip form (%.15g..%.17g, so 0.1 is "0.1" and 3.0 is "3");
 *   booleans "true"/"false"; null ""; objects and arrays as compact JSON.
 *   A missing field (the lookup finds nothing) is a render error
 *   ("field 'email_address' is missing") unless a `default` filter gives
 *   a value. JSON null counts as missing for `default`; without a default
 *   it renders as "". Filters other than `default` and `json` pass a
 *   missing or null value through untouched. An empty string is a value.
 *
 * Filters
 *   last4           last 4 characters (code points) of the string form;
 *                   a value of 4 characters or fewer is masked entirely
 *                   ("123" -> "***"), since showing it would show it all.
 *   mask [N]        every character but the last N (default 4) becomes
 *                   `*`; a value of N characters or fewer is all `*`.
 *   upper, lower    ASCII letters only; other UTF-8 bytes are kept.
 *   default "x"     "x" when the value is missing or null.
 *   datetime ["FMT" ["ZONE"]]
 *                   integer epoch milliseconds (or a string of digits) to
 *                   strftime(FMT) in the IANA zone ZONE (default UTC, format
 *                   default "%Y-%m-%d %H:%M:%S %Z"). The zone must exist
 *                   under $TZDIR or /usr/share/zoneinfo; it is loaded
 *                   once, at compile, and converted in by tz.h without
 *                   touching TZ. %s is the instant itself, in any zone.
 *   decimal N       a number or decimal string to exactly N places
 *                   (0..30), by string arithmetic, rounding half up (away
 *                   from zero): "2.345" -> "2.35", "-2.345" -> "-2.35".
 *   join ["SEP"]    array items (string form) joined by SEP (default ", ").
 *   json            the value as compact JSON (null -> "null").
 *   raw             no HTML escaping for this substitution.
 *
 * HTML bodies (html_escape non-zero) escape & < > " ' in every
 * substitution, after all filters, unless the expression uses `raw`.
 *
 * Threads: a compiled template is immutable; render may run on any thread,
 * concurrently, and changes no process-wide state (no TZ, no locale).
 */
#ifndef HERALD_TEMPLATE_H
#define HERALD_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

#include "config.h"

struct herald__template;

/* Resolves path (as written in the template) for render. Returns 0 with
 * *out the value or NULL when missing; when the value had to be built,
 * *owned holds a new reference the engine drops after use (else NULL).
 * Returns -1 when the path cannot be resolved at all (malformed). */
typedef int (*herald__lookup_fn)(void *ctx, const char *path, json_t **out,
                                 json_t **owned);

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
 * at `at` (the YAML node naming it; may be NULL). Returns NULL on error. */
struct herald__template *
herald__template_compile_file(const char *path, const struct herald__node *at,
                              int html_escape, struct herald__diag *d);

void herald__template_destroy(struct herald__template *t);

/* Render t, resolving paths through lookup(ctx, ...). Returns 0 and *out
 * (malloc'd, NUL-terminated; the caller frees), or -1 with the reason in
 * err (e.g. "field 'email_address' is missing") and *out NULL. */
int herald__template_render(const struct herald__template *t,
                            herald__lookup_fn lookup, void *ctx, char **out,
                            char *err, size_t errlen);

/* The number of substitutions in t (0: constant text). */
size_t herald__template_n_exprs(const struct herald__template *t);

/* Check a path's syntax as the template compiler does. Returns 0, or -1
 * with the reason in err. */
int herald__template_check_path(const char *path, char *err, size_t errlen);

/* A lookup over a plain JSON tree: ctx is the json_t * root; `@` paths are
 * missing. For tests and for callers that have no record. */
int herald__template_lookup_json(void *ctx, const char *path, json_t **out,
                                 json_t **owned);

/* The string form a substitution gives a value (see "Values" above).
 * Returns a malloc'd string or NULL on allocation failure; NULL value and
 * JSON null give "". */
char *herald__template_value_string(const json_t *v);

#endif
