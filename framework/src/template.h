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
 *
 * Files: template_parse.c compiles (and frees) templates, template.c
 * renders them, template_filter.c holds the filters and template_text.c
 * the text and number helpers. This header is the engine's whole API: it
 * includes the compiler's and the helpers' headers.
 */
#ifndef HERALD_TEMPLATE_H
#define HERALD_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

#include "template_parse.h"
#include "template_text.h"

/* What a configuration value that holds a template must be, in its value
 * error ("'notify.subject' expects a template; got a map"). */
#define HERALD__TEMPLATE_WORDS "a template"

/* Resolves path (as written in the template) for render. Returns 0 with
 * *out the value or NULL when missing; when the value had to be built,
 * *owned holds a new reference the engine drops after use (else NULL).
 * Returns -1 when the path cannot be resolved at all (malformed). */
typedef int (*herald__lookup_fn)(void *ctx, const char *path, json_t **out,
                                 json_t **owned);

/* Render t, resolving paths through lookup(ctx, ...). Returns 0 and *out
 * (malloc'd, NUL-terminated; the caller frees), or -1 with the reason in
 * err (e.g. "field 'email_address' is missing") and *out NULL. Thread:
 * any, concurrently on the same t. */
int herald__template_render(const struct herald__template *t,
                            herald__lookup_fn lookup, void *ctx, char **out,
                            char *err, size_t errlen);

#endif
