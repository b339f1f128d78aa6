/*
 * config_options.c - typed option tables: unknown keys with a "did you
 * mean", and the validation of a map against a table of struct
 * herald_option (types, defaults, units, enums, required, secret) into the
 * options object plugins read through the getters.
 */
#include "config_int.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "textdist.h"

int herald__config_in_list(const char *s, const char *const *list)
{
    size_t i;

    if (!list) {
        return 0;
    }
    for (i = 0; list[i]; i++) {
        if (strcmp(s, list[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* "a, b, c" of a NULL-terminated list; NULL if out of memory. */
char *herald__config_join_list(const char *const *list)
{
    struct herald__buf b = HERALD__BUF_INIT;
    size_t i;

    for (i = 0; list && list[i]; i++) {
        if (i > 0) {
            herald__buf_puts(&b, ", ");
        }
        herald__buf_puts(&b, list[i]);
    }
    return herald__buf_take(&b);
}

static void unknown_key(const struct herald__node *at, const char *key,
                        const char *const *allowed, struct herald__diag *d)
{
    const char *near = herald__suggest_from(key, allowed);
    char *all;

    if (near) {
        herald__diag_add(d, at, "unknown key '%s' (did you mean '%s'?)", key,
                         near);
        return;
    }
    all = herald__config_join_list(allowed);
    herald__diag_add(d, at, "unknown key '%s' (expected one of: %s)", key,
                     all ? all : "?");
    free(all);
}

/* Adds an error for every key of map not in allowed (NULL-terminated),
 * with a "did you mean" or the list of allowed keys. Returns the number of
 * unknown keys; a map that is not a map is reported and counts as 1; NULL
 * counts as 0. */
int herald__node_check_keys(const struct herald__node *map,
                            const char *const *allowed, struct herald__diag *d)
{
    static const char *const none[] = {NULL};
    size_t i;
    int bad = 0;

    if (!map) {
        return 0;
    }
    if (!allowed) {
        allowed = none;
    }
    if (map->type != HERALD_NODE_MAP) {
        herald__diag_add(d, map, "expected a map, got %s",
                         herald__node_type_name(map));
        return 1;
    }
    for (i = 0; i < map->n; i++) {
        if (!herald__config_in_list(map->keys[i], allowed)) {
            unknown_key(map->key_nodes[i], map->keys[i], allowed, d);
            bad++;
        }
    }
    return bad;
}

/* ---- Option tables ------------------------------------------------- */

struct opt_slot {
    char *name;
    enum herald_opt_type type;
    int set;     /* given in YAML */
    int present; /* given in YAML or defaulted */
    char *raw;   /* text as written (lists: items joined by ", ") */
    int64_t num; /* INT, BOOL, DURATION (ms), SIZE (bytes) */
    char **items;
    size_t n_items;
};

struct herald_options {
    size_t n;
    struct opt_slot *slots;
};

static int parse_int(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (s[0] == '\0' || isspace((unsigned char)s[0])) {
        return -1;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

int herald__config_parse_number(enum herald_opt_type t, const char *s,
                                int64_t *out)
{
    switch (t) {
    case HERALD_OPT_INT:
        return parse_int(s, out);
    case HERALD_OPT_BOOL:
        if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
            *out = s[0] == 't';
            return 0;
        }
        return -1;
    case HERALD_OPT_DURATION:
        return herald__parse_duration_ms(s, out);
    case HERALD_OPT_SIZE:
        return herald__parse_size(s, out);
    default:
        return -1;
    }
}

/* The examples a type's error and reference show when a rule names none. */
#define DURATION_EXAMPLE "250ms, 30s, 5m, 1h"
#define SIZE_EXAMPLE "512, 64KiB, 10MB, 1GiB"

/* "integer", "duration", ... with its article. */
static void type_noun(enum herald_opt_type t, int article,
                      struct herald__buf *b)
{
    const char *noun;

    switch (t) {
    case HERALD_OPT_INT:
        noun = "integer";
        break;
    case HERALD_OPT_DURATION:
        noun = "duration";
        break;
    case HERALD_OPT_SIZE:
        noun = "size";
        break;
    case HERALD_OPT_LIST:
        noun = "list of strings (or one string)";
        break;
    default:
        noun = "string";
        break;
    }
    if (article) {
        herald__buf_puts(b, noun[0] == 'i' ? "an " : "a ");
    }
    herald__buf_puts(b, noun);
}

void herald__rule_text(const struct herald__rule *r, int article,
                       struct herald__buf *b)
{
    int bounded = r->min != HERALD__NO_MIN &&
                  (r->type == HERALD_OPT_INT || r->min > 0 || r->max > 0);

    if (r->what) {
        herald__buf_puts(b, r->what);
        return;
    }
    if (r->type == HERALD_OPT_BOOL) {
        herald__buf_puts(b, "true or false");
        return;
    }
    if (r->type == HERALD_OPT_ENUM) {
        char *all = herald__config_join_list(r->enum_values);

        herald__buf_printf(b, "one of: %s", all ? all : "?");
        free(all);
        return;
    }
    if (r->min == 1 && r->max == 0 &&
        (r->type == HERALD_OPT_DURATION || r->type == HERALD_OPT_SIZE)) {
        herald__buf_puts(b, article ? "a positive " : "positive ");
        type_noun(r->type, 0, b);
    } else if (r->min == 1 && r->type == HERALD_OPT_STRING) {
        herald__buf_puts(b, article ? "a non-empty " : "non-empty ");
        type_noun(r->type, 0, b);
    } else {
        type_noun(r->type, article, b);
    }
    if (r->type == HERALD_OPT_STRING && r->min > 1) {
        herald__buf_printf(b, " of at least %" PRId64 " bytes", r->min);
    } else if (bounded && r->max > 0) {
        herald__buf_printf(b, " from %" PRId64 " to %" PRId64, r->min, r->max);
    } else if (bounded && (r->type == HERALD_OPT_INT || r->min > 1)) {
        herald__buf_printf(b, " >= %" PRId64, r->min);
    }
    if (r->example || r->type == HERALD_OPT_DURATION ||
        r->type == HERALD_OPT_SIZE) {
        herald__buf_printf(b, " (e.g. %s)",
                           r->example                       ? r->example
                           : r->type == HERALD_OPT_DURATION ? DURATION_EXAMPLE
                                                            : SIZE_EXAMPLE);
    }
}

void herald__config_bad_value(struct herald__diag *d,
                              const struct herald__node *at, const char *name,
                              const char *value, const struct herald__rule *r)
{
    struct herald__buf what = HERALD__BUF_INIT;
    char *path = at ? herald__node_path(at) : NULL;
    char *shown = NULL;
    char *w;
    const char *who = path && path[0] ? path : name;

    herald__rule_text(r, 1, &what);
    w = herald__buf_take(&what);
    if (!at) {
        herald__diag_add(d, NULL,
                         "'%s' expects %s; got '%s' (the plugin's default)",
                         who, w ? w : "?", value);
    } else if (at->type != HERALD_NODE_SCALAR) {
        herald__diag_add(d, at, "'%s' expects %s; got %s", who ? who : "?",
                         w ? w : "?", herald__node_type_name(at));
    } else if (r->type == HERALD_OPT_STRING && (r->secret || at->secret)) {
        herald__diag_add(d, at, "'%s' expects %s; got %zu bytes",
                         who ? who : "?", w ? w : "?", strlen(at->scalar));
    } else {
        shown = herald__node_display(at);
        herald__diag_add(d, at, "'%s' expects %s; got '%s'", who ? who : "?",
                         w ? w : "?", shown ? shown : "?");
    }
    free(shown);
    free(w);
    free(path);
}

/* The rule of a plugin's option: its type, no bounds. */
static struct herald__rule option_rule(const struct herald_option *opt)
{
    struct herald__rule r = {.type = opt->type,
                             .min = HERALD__NO_MIN,
                             .enum_values = opt->enum_values};

    return r;
}

/* Parses the scalar v into slot for opt's type. at is the node to blame
 * (NULL for a table default). 0, or -1 with the error in d. */
static int parse_scalar_value(struct opt_slot *slot,
                              const struct herald_option *opt, const char *v,
                              const struct herald__node *at,
                              struct herald__diag *d)
{
    struct herald__rule r = option_rule(opt);
    int ok;

    switch (opt->type) {
    case HERALD_OPT_INT:
    case HERALD_OPT_BOOL:
    case HERALD_OPT_DURATION:
    case HERALD_OPT_SIZE:
        ok = herald__config_parse_number(opt->type, v, &slot->num) == 0;
        break;
    case HERALD_OPT_ENUM:
        ok = herald__config_in_list(v, opt->enum_values);
        break;
    default:
        ok = 1;
        break;
    }
    if (!ok) {
        herald__config_bad_value(d, at, opt->name, v, &r);
        return -1;
    }
    return 0;
}

static void slot_clear(struct opt_slot *s)
{
    size_t i;

    free(s->raw);
    for (i = 0; i < s->n_items; i++) {
        free(s->items[i]);
    }
    free(s->items);
    s->raw = NULL;
    s->items = NULL;
    s->n_items = 0;
    s->num = 0;
    s->present = 0;
    s->set = 0;
}

static int slot_add_item(struct opt_slot *s, const char *v)
{
    char *c = herald__config_dup(v);
    void *np =
        c ? herald__config_grow(s->items, s->n_items, sizeof *s->items) : NULL;

    if (!np) {
        free(c);
        return -1;
    }
    s->items = np;
    s->items[s->n_items++] = c;
    return 0;
}

/* Fills slot from a YAML node. 0, or -1 with errors in d. */
static int slot_from_node(struct opt_slot *slot,
                          const struct herald_option *opt,
                          struct herald__node *v, struct herald__diag *d)
{
    size_t i;
    struct herald__buf joined = HERALD__BUF_INIT;
    struct herald__rule rule = option_rule(opt);

    if (opt->type == HERALD_OPT_LIST) {
        if (v->type == HERALD_NODE_MAP) {
            herald__config_bad_value(d, v, opt->name, NULL, &rule);
            return -1;
        }
        if (v->type == HERALD_NODE_SCALAR) {
            v->secret = v->secret || opt->secret;
            slot->raw = herald__config_dup(v->scalar);
            if (!slot->raw || slot_add_item(slot, v->scalar) != 0) {
                goto oom;
            }
            return 0;
        }
        for (i = 0; i < v->n; i++) {
            struct herald__node *it = v->items[i];

            if (it->type != HERALD_NODE_SCALAR) {
                rule.type = HERALD_OPT_STRING;
                herald__config_bad_value(d, it, opt->name, NULL, &rule);
                free(joined.p);
                return -1;
            }
            it->secret = it->secret || opt->secret;
            if (slot_add_item(slot, it->scalar) != 0) {
                goto oom;
            }
            if (i > 0) {
                herald__buf_puts(&joined, ", ");
            }
            herald__buf_puts(&joined, it->scalar);
        }
        slot->raw = herald__buf_take(&joined);
        if (!slot->raw) {
            goto oom;
        }
        return 0;
    }
    if (v->type != HERALD_NODE_SCALAR) {
        herald__config_bad_value(d, v, opt->name, NULL, &rule);
        return -1;
    }
    v->secret = v->secret || opt->secret;
    slot->raw = herald__config_dup(v->scalar);
    if (!slot->raw) {
        goto oom;
    }
    return parse_scalar_value(slot, opt, v->scalar, v, d);
oom:
    free(joined.p);
    herald__diag_add(d, v, "out of memory");
    return -1;
}

/* Fills slot from the table's default text. 0, or -1 with errors in d. */
static int slot_from_default(struct opt_slot *slot,
                             const struct herald_option *opt,
                             struct herald__diag *d)
{
    const char *v = opt->default_value;

    if (opt->type == HERALD_OPT_LIST && v[0] == '[') {
        /* A flow list as it would be written in YAML: parse it as such. */
        struct herald__diag tmp;
        struct herald__buf doc = HERALD__BUF_INIT;
        struct herald__node *root;
        int rc = -1;

        herald__diag_init(&tmp);
        herald__buf_puts(&doc, "v: ");
        herald__buf_puts(&doc, v);
        if (doc.failed) {
            free(doc.p);
            return -1;
        }
        root = herald__config_load_string("<default>", doc.p, doc.len, &tmp);
        free(doc.p);
        if (root && tmp.n == 0) {
            rc = slot_from_node(slot, opt, root->items[0], &tmp);
        }
        if (rc != 0) {
            struct herald__rule r = option_rule(opt);

            herald__config_bad_value(d, NULL, opt->name, v, &r);
        }
        herald__config_destroy(root);
        herald__diag_cleanup(&tmp);
        return rc;
    }
    slot->raw = herald__config_dup(v);
    if (!slot->raw) {
        return -1;
    }
    if (opt->type == HERALD_OPT_LIST) {
        return slot_add_item(slot, v);
    }
    return parse_scalar_value(slot, opt, v, NULL, d);
}

static const struct opt_slot *find_slot(const struct herald_options *o,
                                        const char *name)
{
    size_t i;

    if (!o || !name) {
        return NULL;
    }
    for (i = 0; i < o->n; i++) {
        if (strcmp(o->slots[i].name, name) == 0) {
            return &o->slots[i];
        }
    }
    return NULL;
}

/* Validates map against table and returns the options, or NULL if any
 * error was added to d (all of them are). map may be NULL (no options
 * given). Nodes of secret options are marked secret in the tree (the one
 * write this function makes to it). The result copies everything it needs
 * and outlives the tree; destroy with herald__options_destroy. */
struct herald_options *herald__options_new(const struct herald__node *map,
                                           const struct herald_option *table,
                                           const char *const *skip,
                                           struct herald__diag *d)
{
    struct herald_options *o = NULL;
    const char **names = NULL;
    size_t n = 0;
    size_t i;
    int errors = 0;

    while (table && table[n].name) {
        n++;
    }
    o = calloc(1, sizeof *o);
    names = calloc(n + 1, sizeof *names);
    if (!o || !names) {
        goto oom;
    }
    if (n > 0) {
        o->slots = calloc(n, sizeof *o->slots);
        if (!o->slots) {
            goto oom;
        }
    }
    for (i = 0; i < n; i++) {
        names[i] = table[i].name;
    }
    o->n = n;
    for (i = 0; i < n; i++) {
        o->slots[i].name = herald__config_dup(table[i].name);
        o->slots[i].type = table[i].type;
        if (!o->slots[i].name) {
            goto oom;
        }
    }
    if (map && map->type != HERALD_NODE_MAP) {
        herald__diag_add(d, map, "expected a map of options, got %s",
                         herald__node_type_name(map));
        herald__options_destroy(o);
        free(names);
        return NULL;
    }
    for (i = 0; map && i < map->n; i++) {
        const char *key = map->keys[i];

        if (!herald__config_in_list(key, names) &&
            !herald__config_in_list(key, skip)) {
            unknown_key(map->key_nodes[i], key, names, d);
            errors++;
        }
    }
    for (i = 0; i < n; i++) {
        const struct herald_option *opt = &table[i];
        struct opt_slot *slot = &o->slots[i];
        /* The tree is the caller's heap memory; marking secrets is the
         * documented side effect. */
        struct herald__node *v =
            (struct herald__node *)herald__node_get(map, opt->name);

        if (v && v->type == HERALD_NODE_SCALAR && v->null_value) {
            v = NULL; /* `key:` or `key: ~` means unset */
        }
        if (v) {
            if (slot_from_node(slot, opt, v, d) != 0) {
                slot_clear(slot);
                errors++;
                continue;
            }
            slot->set = 1;
            slot->present = 1;
        } else if (opt->required) {
            if (map) {
                herald__diag_add(d, map, "missing required option '%s'",
                                 opt->name);
            } else {
                herald__diag_add(d, NULL, "missing required option '%s'",
                                 opt->name);
            }
            errors++;
        } else if (opt->default_value) {
            if (slot_from_default(slot, opt, d) != 0) {
                slot_clear(slot);
                errors++;
                continue;
            }
            slot->present = 1;
        }
    }
    free(names);
    if (errors > 0) {
        herald__options_destroy(o);
        return NULL;
    }
    return o;
oom:
    free(names);
    herald__options_destroy(o);
    herald__diag_add(d, map, "out of memory");
    return NULL;
}

/* Frees the options. Accepts NULL. */
void herald__options_destroy(struct herald_options *o)
{
    size_t i;

    if (!o) {
        return;
    }
    for (i = 0; i < o->n; i++) {
        slot_clear(&o->slots[i]);
        free(o->slots[i].name);
    }
    free(o->slots);
    free(o);
}

/* Getters: o may be NULL and name unknown (NULL/0). Strings live as long
 * as o. Any thread, as o is read-only after herald__options_new. */

/* The text as written (or the default) for any type; lists joined by
 * ", ". NULL when unset without default. */
const char *herald__opt_string(const struct herald_options *o, const char *name)
{
    const struct opt_slot *s = find_slot(o, name);

    return s && s->present ? s->raw : NULL;
}

static int64_t slot_num(const struct herald_options *o, const char *name)
{
    const struct opt_slot *s = find_slot(o, name);

    if (!s || !s->present) {
        return 0;
    }
    return s->num;
}

/* INT value (also the number of any numeric type); 0 when unset. */
int64_t herald__opt_int(const struct herald_options *o, const char *name)
{
    return slot_num(o, name);
}

/* 1 for true, 0 for false or unset. */
int herald__opt_bool(const struct herald_options *o, const char *name)
{
    return slot_num(o, name) != 0;
}

/* DURATION in ms; 0 when unset. */
int64_t herald__opt_duration_ms(const struct herald_options *o,
                                const char *name)
{
    return slot_num(o, name);
}

/* SIZE in bytes; 0 when unset. */
int64_t herald__opt_size(const struct herald_options *o, const char *name)
{
    return slot_num(o, name);
}

/* Items of a LIST option (one for a scalar); 0 when unset. */
size_t herald__opt_list_count(const struct herald_options *o, const char *name)
{
    const struct opt_slot *s = find_slot(o, name);

    return s && s->present ? s->n_items : 0;
}

/* Item i of a LIST option, NULL when out of range. */
const char *herald__opt_list_item(const struct herald_options *o,
                                  const char *name, size_t i)
{
    const struct opt_slot *s = find_slot(o, name);

    if (!s || !s->present || i >= s->n_items) {
        return NULL;
    }
    return s->items[i];
}

/* 1 if the option was written in the YAML (a default does not count). */
int herald__opt_is_set(const struct herald_options *o, const char *name)
{
    const struct opt_slot *s = find_slot(o, name);

    return s && s->set;
}
