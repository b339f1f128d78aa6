/*
 * config_schema.c - the machinery of config_schema.h: unknown keys, typed
 * values with defaults and bounds, and the printed reference, all from the
 * framework's key tables (the tables themselves live with their parsers:
 * connector_config.c, worker_config.c, notify.c, hmac.c).
 */
#include "config_schema.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config_int.h"

/* Longest dotted path of a key ("connectors[].errors.channel_probe..."). */
#define PATH_MAX_LEN 256

const struct herald__key *herald__section_key(const struct herald__section *s,
                                              const char *name)
{
    for (; s; s = s->also) {
        for (const struct herald__key *k = s->keys; k->opt.name; k++) {
            if (strcmp(k->opt.name, name) == 0) {
                return k;
            }
        }
    }
    return NULL;
}

int herald__section_check_keys(const struct herald__node *map,
                               const struct herald__section *s,
                               struct herald__diag *d)
{
    /* Tables are small (a dozen keys); a fixed array of their names. */
    enum { MAX_KEYS = 64 };
    const char *names[MAX_KEYS + 1];
    size_t n = 0;

    for (; s; s = s->also) {
        for (const struct herald__key *k = s->keys; k->opt.name && n < MAX_KEYS;
             k++) {
            names[n++] = k->opt.name;
        }
    }
    names[n] = NULL;
    return herald__node_check_keys(map, names, d);
}

/* The key, or an error that the caller asked for a key its table lacks (a
 * bug, reported rather than crashed on). */
static const struct herald__key *need_key(const struct herald__node *map,
                                          const struct herald__section *s,
                                          const char *name,
                                          struct herald__diag *d)
{
    const struct herald__key *k = herald__section_key(s, name);

    if (!k) {
        herald__diag_add(d, map, "internal error: '%s' is not a key of '%s'",
                         name, s->name);
    }
    return k;
}

/* The rule a value of k follows. */
static struct herald__rule key_rule(const struct herald__key *k)
{
    struct herald__rule r = {.type = k->opt.type,
                             .min = k->min,
                             .max = k->max,
                             .example = k->example,
                             .enum_values = k->opt.enum_values,
                             .secret = k->opt.secret};

    return r;
}

static void bad_value(const struct herald__key *k,
                      const struct herald__node *at, struct herald__diag *d)
{
    struct herald__rule r = key_rule(k);

    herald__config_bad_value(d, at, k->opt.name, NULL, &r);
}

int herald__section_num(const struct herald__node *map,
                        const struct herald__section *s, const char *name,
                        int64_t *out, struct herald__diag *d)
{
    const struct herald__key *k = need_key(map, s, name, d);
    const struct herald__node *n = herald__node_get(map, name);
    int64_t v = 0;

    *out = 0;
    if (!k) {
        return -1;
    }
    if (k->opt.default_value &&
        herald__config_parse_number(k->opt.type, k->opt.default_value, out) !=
            0) {
        herald__diag_add(d, map, "internal error: bad default '%s' for '%s'",
                         k->opt.default_value, name);
        return -1;
    }
    if (!n) {
        return 0;
    }
    if (n->type != HERALD_NODE_SCALAR ||
        herald__config_parse_number(k->opt.type, n->scalar, &v) != 0 ||
        (k->opt.type != HERALD_OPT_BOOL &&
         (v < k->min || (k->max && v > k->max)))) {
        bad_value(k, n, d);
        return -1;
    }
    *out = v;
    return 0;
}

/* The value node of `name` in map (NULL: absent); *k its key (NULL, with
 * an internal error in d, if s lacks it) and *out the key's default. */
static const struct herald__node *
key_value(const struct herald__node *map, const struct herald__section *s,
          const char *name, const struct herald__key **k, const char **out,
          struct herald__diag *d)
{
    *k = need_key(map, s, name, d);
    *out = *k ? (*k)->opt.default_value : NULL;
    return herald__node_get(map, name);
}

int herald__section_enum(const struct herald__node *map,
                         const struct herald__section *s, const char *name,
                         const char **out, struct herald__diag *d)
{
    const struct herald__key *k;
    const struct herald__node *n = key_value(map, s, name, &k, out, d);

    if (!k) {
        return -1;
    }
    if (!n || (n->type == HERALD_NODE_SCALAR && n->null_value)) {
        return 0;
    }
    if (n->type == HERALD_NODE_SCALAR &&
        herald__config_in_list(n->scalar, k->opt.enum_values)) {
        *out = n->scalar;
        return 0;
    }
    bad_value(k, n, d);
    return -1;
}

/* What a key of a non-value shape holds, for its error. */
static const char *shape_words(enum herald__key_shape shape)
{
    switch (shape) {
    case HERALD__SHAPE_SECTIONS:
        return "a non-empty list of maps";
    case HERALD__SHAPE_PROPERTIES:
        return "a map of properties";
    case HERALD__SHAPE_INSTANCES:
        return "a map of names to plugin instances";
    case HERALD__SHAPE_VALUE:
        return NULL;
    default:
        return "a map";
    }
}

void herald__key_bad_value(const struct herald__key *k,
                           const struct herald__node *at, const char *what,
                           struct herald__diag *d)
{
    struct herald__rule r = key_rule(k);
    struct herald__buf b = HERALD__BUF_INIT;
    char *words = NULL;

    if (!what && k->shape != HERALD__SHAPE_VALUE) {
        herald__buf_puts(&b, shape_words(k->shape));
        if (k->example) {
            herald__buf_printf(&b, " (e.g. %s)", k->example);
        }
        words = herald__buf_take(&b);
        what = words ? words : shape_words(k->shape);
    }
    r.what = what;
    herald__config_bad_value(d, at, k->opt.name, NULL, &r);
    free(words);
}

int herald__key_str(const struct herald__node *n, const struct herald__key *k,
                    const char **out, struct herald__diag *d)
{
    *out = k->opt.default_value;
    if (n->type != HERALD_NODE_SCALAR || n->null_value ||
        strlen(n->scalar) < (size_t)(k->min > 0 ? k->min : 0)) {
        bad_value(k, n, d);
        return -1;
    }
    *out = n->scalar;
    return 0;
}

int herald__section_str(const struct herald__node *map,
                        const struct herald__section *s, const char *name,
                        const char **out, struct herald__diag *d)
{
    const struct herald__key *k;
    const struct herald__node *n = key_value(map, s, name, &k, out, d);

    if (k && n) {
        return herald__key_str(n, k, out, d);
    }
    return k ? 0 : -1;
}

/* Calls fn for each item of a default list: "[a, b]" or one word. */
static void default_items(const char *v,
                          void (*fn)(void *, const char *,
                                     const struct herald__node *),
                          void *ctx)
{
    char item[PATH_MAX_LEN];
    const char *p = v;
    int flow = v[0] == '[';

    if (!flow) {
        fn(ctx, v, NULL);
        return;
    }
    p++;
    while (*p && *p != ']') {
        size_t len = strcspn(p, ",]");
        size_t start = strspn(p, " ");

        while (len > start && p[len - 1] == ' ') {
            len--;
        }
        if (len > start && len - start < sizeof item) {
            memcpy(item, p + start, len - start);
            item[len - start] = '\0';
            fn(ctx, item, NULL);
        }
        p += strcspn(p, ",]");
        p += *p == ',';
    }
}

int herald__section_list(const struct herald__node *map,
                         const struct herald__section *s, const char *name,
                         void (*fn)(void *ctx, const char *item,
                                    const struct herald__node *at),
                         void *ctx, struct herald__diag *d)
{
    const struct herald__key *k;
    const char *dflt;
    const struct herald__node *n = key_value(map, s, name, &k, &dflt, d);
    int rc = 0;

    if (!k) {
        return -1;
    }
    if (!n) {
        if (dflt) {
            default_items(dflt, fn, ctx);
        }
        return 0;
    }
    if (n->type == HERALD_NODE_SCALAR && !n->null_value) {
        fn(ctx, n->scalar, n);
        return 0;
    }
    if (n->type != HERALD_NODE_SEQ) {
        bad_value(k, n, d);
        return -1;
    }
    for (size_t i = 0; i < n->n; i++) {
        const struct herald__node *it = n->items[i];

        if (it->type != HERALD_NODE_SCALAR || it->null_value) {
            herald__key_bad_value(k, it, "a string", d);
            rc = -1;
            continue;
        }
        fn(ctx, it->scalar, it);
    }
    return rc;
}

static void walk(const struct herald__section *s, const char *prefix,
                 void (*fn)(const char *, const struct herald__key *, void *),
                 void *ctx)
{
    for (const struct herald__key *k = s->keys; k->opt.name; k++) {
        char path[PATH_MAX_LEN];
        char sub[PATH_MAX_LEN];

        int n = snprintf(path, sizeof path, "%s%s%s", prefix,
                         prefix[0] ? "." : "", k->opt.name);

        if (n < 0 || (size_t)n >= sizeof path) {
            continue; /* deeper than any table goes */
        }
        fn(path, k, ctx);
        if (!k->section) {
            continue;
        }
        n = snprintf(sub, sizeof sub, "%s%s", path,
                     k->shape == HERALD__SHAPE_SECTIONS ? "[]" : "");
        if (n > 0 && (size_t)n < sizeof sub) {
            walk(k->section, sub, fn, ctx);
        }
    }
    if (s->also) {
        walk(s->also, prefix, fn, ctx);
    }
}

void herald__section_walk(const struct herald__section *s, const char *prefix,
                          void (*fn)(const char *path,
                                     const struct herald__key *k, void *ctx),
                          void *ctx)
{
    walk(s, prefix ? prefix : "", fn, ctx);
}

/* "integer >= 1", "duration (e.g. 250ms, 30s)", "one of: a, b", ...:
 * for a value, the words of its error (herald__rule_text). */
static void type_text(const struct herald__key *k, struct herald__buf *b)
{
    struct herald__rule r = key_rule(k);

    switch (k->shape) {
    case HERALD__SHAPE_SECTION:
        herald__buf_puts(b, "section");
        return;
    case HERALD__SHAPE_SECTIONS:
        herald__buf_puts(b, "list of sections");
        return;
    case HERALD__SHAPE_PROPERTIES:
        herald__buf_puts(b, "map of properties, passed through");
        return;
    case HERALD__SHAPE_INSTANCES:
        herald__buf_puts(b, "map of NAME: plugin instance (plugin: NAME and "
                            "its options, see `herald plugins describe`)");
        return;
    case HERALD__SHAPE_INSTANCE:
        herald__buf_puts(b, "plugin instance (plugin: NAME and its options, "
                            "see `herald plugins describe`)");
        return;
    case HERALD__SHAPE_MESSAGE:
        herald__buf_puts(b, "section, plus the fields the channel's plugin "
                            "declares (see `herald plugins describe`)");
        return;
    default:
        break;
    }
    herald__rule_text(&r, 0, b);
}

static void describe_key(const char *path, const struct herald__key *k,
                         void *ctx)
{
    FILE *out = ctx;
    struct herald__buf b = HERALD__BUF_INIT;
    char *line;

    herald__buf_printf(&b, "%s\n    ", path);
    if (k->opt.secret) {
        herald__buf_puts(&b, "secret ");
    }
    type_text(k, &b);
    if (k->opt.required) {
        herald__buf_puts(&b, "; required");
    }
    if (k->opt.default_value) {
        herald__buf_printf(&b, "; default %s", k->opt.default_value);
    }
    if (k->opt.help) {
        herald__buf_printf(&b, "\n    %s", k->opt.help);
    }
    herald__buf_puts(&b, "\n");
    line = herald__buf_take(&b);
    fputs(line ? line : "(out of memory)\n", out);
    free(line);
}

void herald__section_describe(const struct herald__section *s, FILE *out)
{
    herald__section_walk(s, "", describe_key, out);
}
