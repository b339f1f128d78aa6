/*
 * config_yaml.c - the YAML tree: libyaml events into positioned nodes
 * (anchors and aliases expanded under a node budget, duplicate keys
 * refused), and the tree's lookups.
 *
 * This is the only file that includes yaml.h. libyaml reports success as 1;
 * that convention stops here.
 */
#include "config_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "buf.h"

/* Nodes a tree may hold once aliases are expanded ("billion laughs"). */
#define MAX_NODES 100000
/* Nesting of maps and lists; the tree is walked recursively. */
#define MAX_DEPTH 64

static struct herald__node *node_new(enum herald__node_type type,
                                     const char *file, int line, int col)
{
    struct herald__node *n = calloc(1, sizeof *n);

    if (!n) {
        return NULL;
    }
    n->type = type;
    n->file = file;
    n->line = line;
    n->col = col;
    return n;
}

/* Frees a node and its children; the file name is the tree's, not the
 * node's, and stays. */
static void node_free(struct herald__node *n)
{
    size_t i;

    if (!n) {
        return;
    }
    for (i = 0; i < n->n; i++) {
        if (n->keys) {
            free(n->keys[i]);
        }
        if (n->key_nodes) {
            node_free(n->key_nodes[i]);
        }
        node_free(n->items[i]);
    }
    free(n->keys);
    free(n->key_nodes);
    free(n->items);
    free(n->scalar);
    free(n->spans);
    free(n);
}

/* Frees a tree returned by the loader, including the file name it holds.
 * Accepts NULL. */
void herald__config_destroy(struct herald__node *root)
{
    char *file;

    if (!root) {
        return;
    }
    file = (char *)root->file;
    node_free(root);
    free(file);
}

const char *herald__node_type_name(const struct herald__node *n)
{
    switch (n->type) {
    case HERALD_NODE_MAP:
        return "a map";
    case HERALD_NODE_SEQ:
        return "a list";
    default:
        return "a scalar";
    }
}

/* Deep copy for an alias; *budget counts the nodes still allowed. */
static struct herald__node *node_copy(const struct herald__node *src,
                                      size_t *budget)
{
    struct herald__node *n;
    size_t i;

    if (*budget == 0) {
        return NULL;
    }
    (*budget)--;
    n = node_new(src->type, src->file, src->line, src->col);
    if (!n) {
        return NULL;
    }
    n->secret = src->secret;
    n->quoted = src->quoted;
    n->null_value = src->null_value;
    if (src->scalar) {
        n->scalar = herald__config_dup(src->scalar);
        if (!n->scalar) {
            goto fail;
        }
    }
    if (src->n_spans > 0) {
        n->spans = malloc(src->n_spans * sizeof *n->spans);
        if (!n->spans) {
            goto fail;
        }
        memcpy(n->spans, src->spans, src->n_spans * sizeof *n->spans);
        n->n_spans = src->n_spans;
    }
    if (src->n == 0) {
        return n;
    }
    n->items = calloc(src->n, sizeof *n->items);
    if (!n->items) {
        goto fail;
    }
    if (src->type == HERALD_NODE_MAP) {
        n->keys = calloc(src->n, sizeof *n->keys);
        n->key_nodes = calloc(src->n, sizeof *n->key_nodes);
        if (!n->keys || !n->key_nodes) {
            goto fail;
        }
    }
    /* A copy is complete: nothing appends to it, so exact sizes do. */
    for (i = 0; i < src->n; i++) {
        n->n = i + 1;
        n->items[i] = node_copy(src->items[i], budget);
        if (!n->items[i]) {
            goto fail;
        }
        n->items[i]->parent = n;
        if (src->type == HERALD_NODE_MAP) {
            n->keys[i] = herald__config_dup(src->keys[i]);
            n->key_nodes[i] = node_copy(src->key_nodes[i], budget);
            if (!n->keys[i] || !n->key_nodes[i]) {
                goto fail;
            }
            n->key_nodes[i]->parent = n;
        }
    }
    return n;
fail:
    node_free(n);
    return NULL;
}

/* Looks up a key in a map. Returns the value node (borrowed for the
 * tree's life) or NULL if map is NULL, not a map, or lacks the key. */
const struct herald__node *herald__node_get(const struct herald__node *map,
                                            const char *key)
{
    size_t i;

    if (!map || map->type != HERALD_NODE_MAP || !key) {
        return NULL;
    }
    for (i = 0; i < map->n; i++) {
        if (strcmp(map->keys[i], key) == 0) {
            return map->items[i];
        }
    }
    return NULL;
}

/* Appends n's step below its parent: ".key" (no dot first) or "[i]". */
static void path_step(const struct herald__node *n, int first,
                      struct herald__buf *b)
{
    const struct herald__node *p = n->parent;

    for (size_t i = 0; i < p->n; i++) {
        if (p->type == HERALD_NODE_SEQ && p->items[i] == n) {
            herald__buf_printf(b, "[%zu]", i);
            return;
        }
        if (p->type == HERALD_NODE_MAP &&
            (p->items[i] == n || p->key_nodes[i] == n)) {
            herald__buf_printf(b, "%s%s", first ? "" : ".", p->keys[i]);
            return;
        }
    }
}

char *herald__node_path(const struct herald__node *n)
{
    /* The loader nests at most MAX_DEPTH levels; an alias expanded deep
     * down may go further, and then the path keeps its last levels. */
    const struct herald__node *up[2 * MAX_DEPTH];
    struct herald__buf b = HERALD__BUF_INIT;
    size_t depth = 0;

    for (; n && n->parent && depth < sizeof up / sizeof up[0]; n = n->parent) {
        up[depth++] = n;
    }
    while (depth > 0) {
        depth--;
        path_step(up[depth], b.len == 0, &b);
    }
    return herald__buf_take(&b);
}

/* The scalar of map[key]; def when the key is absent, null (`~`, empty)
 * or not a scalar. Borrowed for the tree's life. */
const char *herald__node_str(const struct herald__node *map, const char *key,
                             const char *def)
{
    const struct herald__node *v = herald__node_get(map, key);

    if (!v || v->type != HERALD_NODE_SCALAR || v->null_value) {
        return def;
    }
    return v->scalar;
}

/* ---- Loading ------------------------------------------------------- */

struct anchor {
    char *name;
    struct herald__node *node;
};

struct frame {
    struct herald__node *node;
    struct herald__node *key; /* MAP: the key waiting for its value */
    int bad_key;              /* MAP: key was not a scalar */
};

struct loader {
    const char *file;
    struct herald__diag *d;
    struct herald__node *root;
    struct frame *stack;
    size_t depth;
    size_t cap;
    struct anchor *anchors;
    size_t n_anchors;
    /* Nodes dropped from the tree (duplicate keys, bad keys) that an
     * anchor may still point to; freed with the loader. */
    struct herald__node **dropped;
    size_t n_dropped;
    size_t budget;
    int oom;
};

static void drop(struct loader *l, struct herald__node *n)
{
    void *np;

    if (!n) {
        return;
    }
    np = herald__config_grow(l->dropped, l->n_dropped, sizeof *l->dropped);

    if (!np) {
        /* Cannot keep it for anchors: leak rather than risk a dangling
         * alias. Only reached when out of memory. */
        l->oom = 1;
        return;
    }
    l->dropped = np;
    l->dropped[l->n_dropped++] = n;
}

static int map_append(struct herald__node *map, struct herald__node *key,
                      struct herald__node *val)
{
    char *k = herald__config_dup(key->scalar);
    void *np;

    if (!k) {
        return -1;
    }
    np = herald__config_grow(map->keys, map->n, sizeof *map->keys);
    if (!np) {
        goto fail;
    }
    map->keys = np;
    np = herald__config_grow(map->key_nodes, map->n, sizeof *map->key_nodes);
    if (!np) {
        goto fail;
    }
    map->key_nodes = np;
    np = herald__config_grow(map->items, map->n, sizeof *map->items);
    if (!np) {
        goto fail;
    }
    map->items = np;
    map->keys[map->n] = k;
    map->key_nodes[map->n] = key;
    map->items[map->n] = val;
    key->parent = map;
    val->parent = map;
    map->n++;
    return 0;
fail:
    free(k);
    return -1;
}

/* Puts a finished (or just opened) node where it belongs. Takes n; on a
 * problem n is dropped, never leaked. */
static void attach(struct loader *l, struct herald__node *n)
{
    struct frame *f;
    size_t i;

    if (l->depth == 0) {
        if (!l->root) {
            l->root = n;
        } else {
            drop(l, n);
        }
        return;
    }
    f = &l->stack[l->depth - 1];
    if (f->node->type == HERALD_NODE_SEQ) {
        void *np = herald__config_grow(f->node->items, f->node->n,
                                       sizeof *f->node->items);

        if (!np) {
            l->oom = 1;
            drop(l, n);
            return;
        }
        f->node->items = np;
        f->node->items[f->node->n++] = n;
        n->parent = f->node;
        return;
    }
    if (!f->key) {
        f->key = n;
        f->bad_key = n->type != HERALD_NODE_SCALAR;
        if (f->bad_key) {
            herald__diag_add(l->d, n, "map keys must be scalars, got %s",
                             herald__node_type_name(n));
        } else if (strcmp(n->scalar, "<<") == 0 && !n->quoted) {
            /* Merge keys are YAML 1.1 only and their override rules
             * surprise; refuse them rather than half-support them. */
            herald__diag_add(l->d, n,
                             "merge keys ('<<') are not supported; repeat "
                             "the keys or use an alias as a whole value");
            f->bad_key = 1;
        }
        return;
    }
    if (f->bad_key) {
        drop(l, f->key);
        drop(l, n);
        f->key = NULL;
        return;
    }
    for (i = 0; i < f->node->n; i++) {
        if (strcmp(f->node->keys[i], f->key->scalar) == 0) {
            const struct herald__node *first = f->node->key_nodes[i];

            herald__diag_add(l->d, f->key,
                             "duplicate key '%s' (first defined at %d:%d)",
                             f->key->scalar, first->line, first->col);
            drop(l, f->key);
            drop(l, n);
            f->key = NULL;
            return;
        }
    }
    if (map_append(f->node, f->key, n) != 0) {
        l->oom = 1;
        drop(l, f->key);
        drop(l, n);
    }
    f->key = NULL;
}

static int is_key_position(const struct loader *l)
{
    const struct frame *f;

    if (l->depth == 0) {
        return 0;
    }
    f = &l->stack[l->depth - 1];
    return f->node->type == HERALD_NODE_MAP && !f->key;
}

static void add_anchor(struct loader *l, const yaml_char_t *name,
                       struct herald__node *n)
{
    char *copy;
    void *np;

    if (!name) {
        return;
    }
    copy = herald__config_dup((const char *)name);
    np = copy
             ? herald__config_grow(l->anchors, l->n_anchors, sizeof *l->anchors)
             : NULL;
    if (!np) {
        free(copy);
        l->oom = 1;
        return;
    }
    l->anchors = np;
    /* A later anchor of the same name wins, as YAML says; search from the
     * end. */
    l->anchors[l->n_anchors].name = copy;
    l->anchors[l->n_anchors].node = n;
    l->n_anchors++;
}

static struct herald__node *find_anchor(const struct loader *l,
                                        const char *name)
{
    size_t i = l->n_anchors;

    while (i-- > 0) {
        if (strcmp(l->anchors[i].name, name) == 0) {
            return l->anchors[i].node;
        }
    }
    return NULL;
}

/* Room for one more frame on the stack. 0 or -1. */
static int reserve_frame(struct loader *l)
{
    struct frame *ns;
    size_t cap;

    if (l->depth < l->cap) {
        return 0;
    }
    cap = l->cap ? l->cap * 2 : 16;
    ns = realloc(l->stack, cap * sizeof *ns);
    if (!ns) {
        return -1;
    }
    l->stack = ns;
    l->cap = cap;
    return 0;
}

static int pos_line(const yaml_mark_t *m)
{
    return (int)m->line + 1;
}

static int pos_col(const yaml_mark_t *m)
{
    return (int)m->column + 1;
}

static int is_null_text(const char *s)
{
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static struct herald__node *scalar_node(struct loader *l,
                                        const yaml_event_t *ev, int is_key)
{
    const yaml_mark_t *m = &ev->start_mark;
    struct herald__node *n;
    yaml_scalar_style_t style = ev->data.scalar.style;

    if (l->budget == 0) {
        return NULL;
    }
    l->budget--;
    n = node_new(HERALD_NODE_SCALAR, l->file, pos_line(m), pos_col(m));
    if (!n) {
        return NULL;
    }
    n->scalar = herald__config_dup_n((const char *)ev->data.scalar.value,
                                     ev->data.scalar.length);
    if (!n->scalar) {
        free(n);
        return NULL;
    }
    n->quoted = style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    n->null_value = style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag &&
                    is_null_text(n->scalar);
    if (!is_key && !n->null_value) {
        herald__config_substitute(n, l->d);
    }
    return n;
}

static void syntax_error(struct loader *l, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "invalid YAML";

    if (p->error == YAML_MEMORY_ERROR) {
        herald__diag_at(l->d, l->file, 0, 0, "out of memory while parsing");
        return;
    }
    if (p->context) {
        herald__diag_at(l->d, l->file, pos_line(&p->problem_mark),
                        pos_col(&p->problem_mark), "%s (%s at %d:%d)", problem,
                        p->context, pos_line(&p->context_mark),
                        pos_col(&p->context_mark));
    } else {
        herald__diag_at(l->d, l->file, pos_line(&p->problem_mark),
                        pos_col(&p->problem_mark), "%s", problem);
    }
}

/* Runs the parser over the events; returns 0, or -1 when the document
 * could not be built (syntax error, out of memory). */
static int run_parser(struct loader *l, yaml_parser_t *p)
{
    yaml_event_t ev;
    int docs = 0;
    int done = 0;
    int rc = 0;

    while (!done) {
        struct herald__node *n = NULL;
        const yaml_mark_t *m;

        if (!yaml_parser_parse(p, &ev)) {
            syntax_error(l, p);
            return -1;
        }
        m = &ev.start_mark;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                herald__diag_at(l->d, l->file, pos_line(m), pos_col(m),
                                "only one YAML document is allowed");
                rc = -1;
                done = 1;
            }
            break;
        case YAML_SCALAR_EVENT:
            n = scalar_node(l, &ev, is_key_position(l));
            if (!n) {
                rc = -1;
                done = 1;
                break;
            }
            add_anchor(l, ev.data.scalar.anchor, n);
            attach(l, n);
            break;
        case YAML_ALIAS_EVENT: {
            const char *name = (const char *)ev.data.alias.anchor;
            const struct herald__node *src = find_anchor(l, name);

            if (!src) {
                herald__diag_at(l->d, l->file, pos_line(m), pos_col(m),
                                "unknown alias '*%s'", name);
                rc = -1;
                done = 1;
                break;
            }
            n = node_copy(src, &l->budget);
            if (!n) {
                l->oom = l->budget > 0;
                rc = -1;
                done = 1;
                break;
            }
            n->line = pos_line(m);
            n->col = pos_col(m);
            attach(l, n);
            break;
        }
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT: {
            int is_map = ev.type == YAML_MAPPING_START_EVENT;

            if (l->depth >= MAX_DEPTH) {
                herald__diag_at(l->d, l->file, pos_line(m), pos_col(m),
                                "maps and lists nested deeper than %d levels",
                                MAX_DEPTH);
                rc = -1;
                done = 1;
                break;
            }
            if (l->budget == 0) {
                rc = -1;
                done = 1;
                break;
            }
            l->budget--;
            n = node_new(is_map ? HERALD_NODE_MAP : HERALD_NODE_SEQ, l->file,
                         pos_line(m), pos_col(m));
            if (!n || reserve_frame(l) != 0) {
                free(n);
                l->oom = 1;
                rc = -1;
                done = 1;
                break;
            }
            add_anchor(l,
                       is_map ? ev.data.mapping_start.anchor
                              : ev.data.sequence_start.anchor,
                       n);
            attach(l, n);
            l->stack[l->depth].node = n;
            l->stack[l->depth].key = NULL;
            l->stack[l->depth].bad_key = 0;
            l->depth++;
            break;
        }
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            if (l->depth > 0) {
                l->depth--;
            }
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    if (l->budget == 0) {
        herald__diag_at(
            l->d, l->file, 0, 0,
            "configuration too large (more than %d nodes once aliases "
            "are expanded)",
            MAX_NODES);
    }
    return rc;
}

static void loader_cleanup(struct loader *l)
{
    size_t i;

    for (i = 0; i < l->n_anchors; i++) {
        free(l->anchors[i].name);
    }
    free(l->anchors);
    for (i = 0; i < l->n_dropped; i++) {
        node_free(l->dropped[i]);
    }
    free(l->dropped);
    /* A key opened but never given its value (parser stopped). */
    for (i = 0; i < l->depth; i++) {
        if (l->stack[i].key) {
            node_free(l->stack[i].key);
        }
    }
    free(l->stack);
}

/* Parses text as one YAML document whose top level must be a map. The
 * tree is returned whenever the YAML itself parsed, even if substitution
 * problems were added to d, so later checks can add theirs; the config is
 * valid only if d gained no message. NULL after a syntax error, an empty
 * document, a top level that is not a map, or no memory. The caller
 * destroys the tree with herald__config_destroy. Any thread; getenv()
 * must not race with setenv(). */
struct herald__node *herald__config_load_string(const char *name,
                                                const char *text, size_t len,
                                                struct herald__diag *d)
{
    struct loader l;
    yaml_parser_t parser;
    struct herald__node *ret = NULL;
    int rc;

    memset(&l, 0, sizeof(l));
    l.d = d;
    l.budget = MAX_NODES;
    l.file = herald__config_dup(name ? name : "<string>");
    if (!l.file) {
        herald__diag_at(d, name, 0, 0, "out of memory");
        return NULL;
    }
    if (!yaml_parser_initialize(&parser)) {
        herald__diag_at(d, l.file, 0, 0, "out of memory");
        free((char *)l.file);
        return NULL;
    }
    yaml_parser_set_input_string(
        &parser, (const unsigned char *)(text ? text : ""), len);
    rc = run_parser(&l, &parser);
    yaml_parser_delete(&parser);
    if (l.oom) {
        herald__diag_at(d, l.file, 0, 0, "out of memory");
        rc = -1;
    }
    /* The parser may stop with nodes still open: they hang off the root
     * already, so freeing the root frees them. */
    if (rc != 0) {
        goto out;
    }
    if (!l.root || (l.root->type == HERALD_NODE_SCALAR && l.root->null_value)) {
        herald__diag_at(d, l.file, 0, 0, "configuration is empty");
        goto out;
    }
    if (l.root->type != HERALD_NODE_MAP) {
        herald__diag_add(d, l.root,
                         "the top level of the configuration must be a map, "
                         "got %s",
                         herald__node_type_name(l.root));
        goto out;
    }
    ret = l.root;
    l.root = NULL;
out:
    loader_cleanup(&l);
    node_free(l.root);
    if (!ret) {
        free((char *)l.file);
    }
    return ret;
}

/* Reads the file at path and parses it as herald__config_load_string does,
 * with path as the name in every position. */
struct herald__node *herald__config_load_file(const char *path,
                                              struct herald__diag *d)
{
    FILE *f;
    struct herald__buf b = HERALD__BUF_INIT;
    char buf[8192];
    size_t got;
    struct herald__node *root = NULL;

    f = fopen(path, "rb");
    if (!f) {
        herald__diag_at(d, path, 0, 0, "cannot read configuration: %s",
                        strerror(errno));
        return NULL;
    }
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (b.len + got > HERALD__CONFIG_MAX_FILE_BYTES) {
            herald__diag_at(d, path, 0, 0, "configuration larger than %d bytes",
                            HERALD__CONFIG_MAX_FILE_BYTES);
            goto out;
        }
        herald__buf_add(&b, buf, got);
    }
    if (ferror(f)) {
        herald__diag_at(d, path, 0, 0, "cannot read configuration: %s",
                        strerror(errno));
        goto out;
    }
    if (b.failed) {
        herald__diag_at(d, path, 0, 0, "out of memory");
        goto out;
    }
    root = herald__config_load_string(path, b.p ? b.p : "", b.len, d);
out:
    free(b.p);
    fclose(f);
    return root;
}
