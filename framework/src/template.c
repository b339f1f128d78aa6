/*
 * template.c - rendering a compiled template (template_parse.c compiles
 * it): each part's literal text, or its path looked up through the
 * caller's callback, run through its filters (template_filter.c) and
 * HTML-escaped for HTML bodies. Contract in template.h.
 */
#include "template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "template_filter.h"

/* Evaluate one substitution into b. */
static int render_expr(const struct herald__template *t,
                       const struct herald__template_part *p,
                       herald__lookup_fn lookup, void *ctx,
                       struct herald__buf *b, char *err, size_t errlen)
{
    json_t *found = NULL;
    json_t *owned = NULL;
    json_t *cur = NULL;
    char *s = NULL;
    int rc = -1;

    if (lookup(ctx, p->path, &found, &owned) != 0) {
        snprintf(err, errlen, "malformed path '%s'", p->path);
        json_decref(owned);
        return -1;
    }
    cur = found ? json_incref(found) : NULL;
    json_decref(owned);
    for (size_t k = 0; k < p->n_filters; k++) {
        const struct herald__template_filter *f = &p->filters[k];
        json_t *next = NULL;
        if (f->spec->kind == HERALD__FILTER_RAW) {
            continue;
        }
        if (f->spec->kind == HERALD__FILTER_DEFAULT) {
            if (!cur || json_is_null(cur)) {
                json_decref(cur);
                cur = json_string_nocheck(f->s1);
                if (!cur) {
                    snprintf(err, errlen, "out of memory");
                    goto done;
                }
            }
            continue;
        }
        if (!cur ||
            (json_is_null(cur) && f->spec->kind != HERALD__FILTER_JSON)) {
            continue;
        }
        if (herald__template_filter_apply(f, p->path, cur, &next, err,
                                          errlen) != 0) {
            goto done;
        }
        json_decref(cur);
        cur = next;
    }
    if (!cur) {
        snprintf(err, errlen, "field '%s' is missing", p->path);
        goto done;
    }
    s = herald__template_value_string(cur);
    if (!s) {
        snprintf(err, errlen, "out of memory rendering field '%s'", p->path);
        goto done;
    }
    if (json_is_string(cur) && strlen(s) != json_string_length(cur)) {
        snprintf(err, errlen, "field '%s' contains a NUL character", p->path);
        goto done;
    }
    if (t->html && !p->raw) {
        herald__template_html_escape(b, s);
    } else {
        herald__buf_puts(b, s);
    }
    rc = 0;
done:
    free(s);
    json_decref(cur);
    return rc;
}

int herald__template_render(const struct herald__template *t,
                            herald__lookup_fn lookup, void *ctx, char **out,
                            char *err, size_t errlen)
{
    struct herald__buf b = HERALD__BUF_INIT;

    *out = NULL;
    for (size_t k = 0; k < t->n_parts; k++) {
        const struct herald__template_part *p = &t->parts[k];
        if (!p->path) {
            herald__buf_add(&b, p->text, p->len);
        } else if (render_expr(t, p, lookup, ctx, &b, err, errlen) != 0) {
            herald__buf_cleanup(&b);
            return -1;
        }
    }
    *out = herald__buf_take(&b);
    if (!*out) {
        snprintf(err, errlen, "out of memory rendering a template");
        return -1;
    }
    return 0;
}
