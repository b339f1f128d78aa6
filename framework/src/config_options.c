/*
 * config_options.c - typed option tables: unknown keys with a "did you
 * mean", and the validation of a map against a table of struct
 * herald_option (types, defaults, units, enums, required, secret) into the
 * options object plugins read through the getters.
 */
#include "config_int.h"

#include <ctype.h>
#include <errno.h>
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

static const char *type_word(enum herald_opt_type t)
{
    switch (t) {
    case HERALD_OPT_INT:
        return "an integer";
    case HERALD_OPT_BOOL:
        return "true or false";
    case HERALD_OPT_DURATION:
        return "a duration";
    case HERALD_OPT_SIZE:
        return "a size";
    case HERALD_OPT_ENUM:
        return "one of its values";
    case HERALD_OPT_LIST:
        return "a list";
    default:
        return "a string";
    }
}

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

/* Parses one scalar value of option `opt` into slot. at is the node to
 * blame (NULL for a table default). 0 or -1 (error added). */
/* Parses v into slot for opt's type. Errors quote `shown`, the value as it
 * may be printed (herald__node_display). 0, or -1 with the error in d. */
static int check_scalar_value(struct opt_slot *slot,
                              const struct herald_option *opt, const char *v,
                              const char *shown, const struct herald__node *at,
                              struct herald__diag *d)
{
    const char *what = at ? "" : "default ";

    switch (opt->type) {
    case HERALD_OPT_INT:
        if (herald__config_parse_number(opt->type, v, &slot->num) != 0) {
            herald__diag_add(d, at,
                             "%soption '%s' expects an integer, got "
                             "'%s'",
                             what, opt->name, shown);
            return -1;
        }
        return 0;
    case HERALD_OPT_BOOL:
        if (herald__config_parse_number(opt->type, v, &slot->num) != 0) {
            herald__diag_add(d, at,
                             "%soption '%s' expects true or false, got '%s'",
                             what, opt->name, shown);
            return -1;
        }
        return 0;
    case HERALD_OPT_DURATION:
        if (herald__config_parse_number(opt->type, v, &slot->num) != 0) {
            herald__diag_add(d, at,
                             "invalid %sduration '%s' for option '%s' (use "
                             "e.g. 250ms, 30s, 5m, 1h)",
                             what, shown, opt->name);
            return -1;
        }
        return 0;
    case HERALD_OPT_SIZE:
        if (herald__config_parse_number(opt->type, v, &slot->num) != 0) {
            herald__diag_add(d, at,
                             "invalid %ssize '%s' for option '%s' (use e.g. "
                             "512, 64KiB, 10MB, 1GiB)",
                             what, shown, opt->name);
            return -1;
        }
        return 0;
    case HERALD_OPT_ENUM:
        if (!herald__config_in_list(v, opt->enum_values)) {
            char *all = herald__config_join_list(opt->enum_values);

            herald__diag_add(d, at,
                             "invalid %svalue '%s' for option '%s' (expected "
                             "one of: %s)",
                             what, shown, opt->name, all ? all : "?");
            free(all);
            return -1;
        }
        return 0;
    default:
        return 0;
    }
}

/* check_scalar_value with the value shown as it may be printed: a
 * default as written, a config value through herald__node_display. */
static int parse_scalar_value(struct opt_slot *slot,
                              const struct herald_option *opt, const char *v,
                              const struct herald__node *at,
                              struct herald__diag *d)
{
    char *shown = at ? herald__node_display(at) : NULL;
    int rc;

    if (at && !shown) {
        herald__diag_add(d, at, "out of memory");
        return -1;
    }
    rc = check_scalar_value(slot, opt, v, shown ? shown : v, at, d);
    free(shown);
    return rc;
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

    if (opt->type == HERALD_OPT_LIST) {
        if (v->type == HERALD_NODE_MAP) {
            herald__diag_add(d, v, "option '%s' expects a list, got a map",
                             opt->name);
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
                herald__diag_add(d, it,
                                 "option '%s' expects a list of scalars, got "
                                 "%s in the list",
                                 opt->name, herald__node_type_name(it));
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
        herald__diag_add(d, v, "option '%s' expects %s, got %s", opt->name,
                         type_word(opt->type), herald__node_type_name(v));
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
            herald__diag_add(d, NULL,
                             "invalid default '%s' for option '%s' in the "
                             "plugin's table",
                             v, opt->name);
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
