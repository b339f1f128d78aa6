/*
 * config.c - the YAML configuration loader: libyaml events into a tree of
 * positioned nodes, ${env:}/${file:} substitution, diagnostics with
 * file:line:col, plugin option validation and redacted printing.
 *
 * This is the only file that includes yaml.h. libyaml reports success as 1;
 * that convention stops here.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "buf.h"
#include "redact.h"
#include "textdist.h"

/* Largest file a ${file:} reference or a config file may name. */
#define MAX_FILE_BYTES (4 * 1024 * 1024)
/* Nodes a tree may hold once aliases are expanded ("billion laughs"). */
#define MAX_NODES 100000
/* Nesting of maps and lists; the tree is walked recursively. */
#define MAX_DEPTH 64

/* Key names whose string values are never printed, wherever they appear:
 * an exact match, or a key ending in ".", "_" or "-" followed by one of
 * them ("sasl.password", "smtp_password", "ssl.key.password", and header
 * names such as "X-Api-Key" or "X-Auth-Token"); case-insensitive, '-'
 * and '_' alike. The one list the
 * printer consults; framework-owned maps (schema_registry, kafka) rely on
 * it since they have no options table. */
static const char *const secret_key_names[] = {
    "password",
    "passwd",
    "api_key",
    "apikey",
    "secret",
    "token",
    "basic_auth",
    "authorization",
    "credentials",
    "private_key",
    "hash_key", /* the top-level HMAC key (hmac.h) */
    "sasl.password",
    "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.config",
    "sasl.oauthbearer.extensions",
    "cookie",
    "ssl.key.password",
    "ssl.key.pem",
    "ssl.keystore.password",
    "ssl.truststore.password",
    NULL,
};

/* ---- Small helpers ------------------------------------------------- */

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p == NULL) {
        return NULL;
    }
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static char *dup_s(const char *s)
{
    return s == NULL ? NULL : dup_n(s, strlen(s));
}

/* An array of n elements, grown when n reaches a power of two (4 at
 * least), so no capacity needs storing next to it. Returns the array to
 * use (possibly moved), or NULL when out of memory (arr is still valid). */
static void *grow(void *arr, size_t n, size_t elem)
{
    if (n != 0 && (n < 4 || (n & (n - 1)) != 0)) {
        return arr;
    }
    return realloc(arr, (n == 0 ? 4 : n * 2) * elem);
}

/* ---- Diagnostics --------------------------------------------------- */

/* Initialises an empty list. Caller's storage. */
void herald__diag_init(struct herald__diag *d)
{
    d->msgs = NULL;
    d->n = 0;
    d->cap = 0;
}

/* Frees every message. Accepts NULL. */
void herald__diag_cleanup(struct herald__diag *d)
{
    size_t i;

    if (d == NULL) {
        return;
    }
    for (i = 0; i < d->n; i++) {
        free(d->msgs[i]);
    }
    free(d->msgs);
    herald__diag_init(d);
}

static void diag_vadd(struct herald__diag *d, const char *file, int line,
                      int col, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static void diag_vadd(struct herald__diag *d, const char *file, int line,
                      int col, const char *fmt, va_list ap)
{
    char *pre = NULL;
    char *msg = NULL;
    char *all = NULL;
    int plen = 0;
    int mlen;
    va_list cp;

    if (d == NULL) {
        return;
    }
    if (file != NULL) {
        plen = line > 0 ? snprintf(NULL, 0, "%s:%d:%d: ", file, line, col)
                        : snprintf(NULL, 0, "%s: ", file);
        pre = malloc((size_t)plen + 1);
        if (pre == NULL) {
            goto out;
        }
        if (line > 0) {
            snprintf(pre, (size_t)plen + 1, "%s:%d:%d: ", file, line, col);
        } else {
            snprintf(pre, (size_t)plen + 1, "%s: ", file);
        }
    }
    va_copy(cp, ap);
    mlen = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (mlen < 0) {
        goto out;
    }
    msg = malloc((size_t)mlen + 1);
    if (msg == NULL) {
        goto out;
    }
    vsnprintf(msg, (size_t)mlen + 1, fmt, ap);
    {
        /* A message may quote a value: never one from ${env:}/${file:}. */
        size_t clean_len = 0;
        char *clean = herald__redact_text(msg, (size_t)mlen, &clean_len);

        if (clean == NULL) {
            goto out;
        }
        free(msg);
        msg = clean;
        mlen = (int)clean_len;
    }
    all = malloc((size_t)plen + (size_t)mlen + 1);
    if (all == NULL) {
        goto out;
    }
    if (pre != NULL) {
        memcpy(all, pre, (size_t)plen);
    }
    memcpy(all + plen, msg, (size_t)mlen + 1);
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        char **nm = realloc(d->msgs, cap * sizeof(*nm));

        if (nm == NULL) {
            goto out;
        }
        d->msgs = nm;
        d->cap = cap;
    }
    d->msgs[d->n++] = all;
    all = NULL;
out:
    free(all);
    free(msg);
    free(pre);
}

static void diag_at(struct herald__diag *d, const char *file, int line, int col,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void diag_at(struct herald__diag *d, const char *file, int line, int col,
                    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_vadd(d, file, line, col, fmt, ap);
    va_end(ap);
}

/* Appends "file:line:col: message" (just "message" when at is NULL). The
 * message is copied; d owns it. Allocation failure drops the message. */
void herald__diag_add(struct herald__diag *d, const struct herald__node *at,
                      const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (at != NULL) {
        diag_vadd(d, at->file, at->line, at->col, fmt, ap);
    } else {
        diag_vadd(d, NULL, 0, 0, fmt, ap);
    }
    va_end(ap);
}

/* ---- Nodes --------------------------------------------------------- */

static struct herald__node *node_new(enum herald__node_type type,
                                     const char *file, int line, int col)
{
    struct herald__node *n = calloc(1, sizeof(*n));

    if (n == NULL) {
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

    if (n == NULL) {
        return;
    }
    for (i = 0; i < n->n; i++) {
        if (n->keys != NULL) {
            free(n->keys[i]);
        }
        if (n->key_nodes != NULL) {
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

    if (root == NULL) {
        return;
    }
    file = (char *)root->file;
    node_free(root);
    free(file);
}

static const char *type_name(const struct herald__node *n)
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
    if (n == NULL) {
        return NULL;
    }
    n->secret = src->secret;
    n->quoted = src->quoted;
    n->null_value = src->null_value;
    if (src->scalar != NULL) {
        n->scalar = dup_s(src->scalar);
        if (n->scalar == NULL) {
            goto fail;
        }
    }
    if (src->n_spans > 0) {
        n->spans = malloc(src->n_spans * sizeof(*n->spans));
        if (n->spans == NULL) {
            goto fail;
        }
        memcpy(n->spans, src->spans, src->n_spans * sizeof(*n->spans));
        n->n_spans = src->n_spans;
    }
    if (src->n == 0) {
        return n;
    }
    n->items = calloc(src->n, sizeof(*n->items));
    if (n->items == NULL) {
        goto fail;
    }
    if (src->type == HERALD_NODE_MAP) {
        n->keys = calloc(src->n, sizeof(*n->keys));
        n->key_nodes = calloc(src->n, sizeof(*n->key_nodes));
        if (n->keys == NULL || n->key_nodes == NULL) {
            goto fail;
        }
    }
    /* A copy is complete: nothing appends to it, so exact sizes do. */
    for (i = 0; i < src->n; i++) {
        n->n = i + 1;
        n->items[i] = node_copy(src->items[i], budget);
        if (n->items[i] == NULL) {
            goto fail;
        }
        if (src->type == HERALD_NODE_MAP) {
            n->keys[i] = dup_s(src->keys[i]);
            n->key_nodes[i] = node_copy(src->key_nodes[i], budget);
            if (n->keys[i] == NULL || n->key_nodes[i] == NULL) {
                goto fail;
            }
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

    if (map == NULL || map->type != HERALD_NODE_MAP || key == NULL) {
        return NULL;
    }
    for (i = 0; i < map->n; i++) {
        if (strcmp(map->keys[i], key) == 0) {
            return map->items[i];
        }
    }
    return NULL;
}

/* The scalar of map[key]; def when the key is absent, null (`~`, empty)
 * or not a scalar. Borrowed for the tree's life. */
const char *herald__node_str(const struct herald__node *map, const char *key,
                             const char *def)
{
    const struct herald__node *v = herald__node_get(map, key);

    if (v == NULL || v->type != HERALD_NODE_SCALAR || v->null_value) {
        return def;
    }
    return v->scalar;
}

/* ---- Substitution -------------------------------------------------- */

static int valid_env_name(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_')) {
            return 0;
        }
    }
    return 1;
}

/* Reads a whole file for ${file:}; one trailing newline is dropped.
 * Returns the contents or NULL with a message added to d. */
static char *read_secret_file(const char *path, const struct herald__node *at,
                              struct herald__diag *d)
{
    FILE *f = NULL;
    struct herald__buf b = HERALD__BUF_INIT;
    char buf[4096];
    size_t got;
    char *out = NULL;

    f = fopen(path, "rb");
    if (f == NULL) {
        herald__diag_add(d, at, "cannot read file '%s': %s", path,
                         strerror(errno));
        goto out;
    }
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (memchr(buf, '\0', got) != NULL) {
            herald__diag_add(d, at, "file '%s' contains a NUL byte", path);
            goto out;
        }
        if (b.len + got > MAX_FILE_BYTES) {
            herald__diag_add(d, at, "file '%s' is larger than %d bytes", path,
                             MAX_FILE_BYTES);
            goto out;
        }
        herald__buf_add(&b, buf, got);
    }
    if (ferror(f)) {
        herald__diag_add(d, at, "cannot read file '%s': %s", path,
                         strerror(errno));
        goto out;
    }
    if (b.len > 0 && b.p[b.len - 1] == '\n') {
        b.p[--b.len] = '\0';
        if (b.len > 0 && b.p[b.len - 1] == '\r') {
            b.p[--b.len] = '\0';
        }
    }
    out = herald__buf_take(&b);
    if (out == NULL) {
        herald__diag_add(d, at, "out of memory");
    }
out:
    free(b.p);
    if (f != NULL) {
        fclose(f);
    }
    return out;
}

/* Resolves ${env:NAME}, ${env:NAME:-default}, ${file:PATH} and the $${
 * escape in n->scalar, in place. Every problem goes to d (positioned at
 * the scalar); on any problem the scalar keeps its written text. */
/* Records that b's bytes from `from` to its end came from a substitution
 * and registers them as a secret for every printed line (redact.h). */
static int add_span(struct herald__node *n, const struct herald__buf *b,
                    size_t from)
{
    struct herald__span *grown;

    if (b->failed || b->len == from) {
        return b->failed ? -1 : 0;
    }
    grown = realloc(n->spans, (n->n_spans + 1) * sizeof(*grown));
    if (grown == NULL) {
        return -1;
    }
    n->spans = grown;
    n->spans[n->n_spans].off = from;
    n->spans[n->n_spans].len = b->len - from;
    n->n_spans++;
    return herald__redact_register(b->p + from, b->len - from);
}

/* path, or, if relative, the directory of the config file `file` joined
 * with it (like templates and schemas_dir); NULL on ENOMEM. */
static char *config_relative_path(const char *file, const char *path)
{
    const char *slash = file != NULL ? strrchr(file, '/') : NULL;
    char *out;
    size_t dlen;

    if (path[0] == '/' || slash == NULL) {
        return dup_s(path);
    }
    dlen = (size_t)(slash - file);
    out = malloc(dlen + 1 + strlen(path) + 1);
    if (out == NULL) {
        return NULL;
    }
    memcpy(out, file, dlen);
    out[dlen] = '/';
    strcpy(out + dlen + 1, path);
    return out;
}

static void substitute(struct herald__node *n, struct herald__diag *d)
{
    const char *s = n->scalar;
    struct herald__buf b = HERALD__BUF_INIT;
    int errors = 0;
    int secret = 0;
    size_t from;

    if (strchr(s, '$') == NULL) {
        return;
    }
    while (*s != '\0') {
        const char *end;
        const char *body;
        size_t blen;

        if (s[0] == '$' && s[1] == '$' && s[2] == '{') {
            herald__buf_add(&b, "${", 2);
            s += 3;
            continue;
        }
        if (s[0] != '$' || s[1] != '{') {
            herald__buf_add(&b, s, 1);
            s++;
            continue;
        }
        body = s + 2;
        end = strchr(body, '}');
        if (end == NULL) {
            herald__diag_add(d, n,
                             "unterminated '${' in value (write $${ for a "
                             "literal ${)");
            errors++;
            break;
        }
        blen = (size_t)(end - body);
        if (blen >= 4 && strncmp(body, "env:", 4) == 0) {
            const char *name = body + 4;
            const char *def = NULL;
            size_t nlen = blen - 4;
            const char *sep = strstr(name, ":-");
            char *key;
            const char *val;

            if (sep != NULL && sep < end) {
                def = sep + 2;
                nlen = (size_t)(sep - name);
            }
            if (!valid_env_name(name, nlen)) {
                herald__diag_add(d, n,
                                 "invalid environment variable name '%.*s' "
                                 "in ${env:}",
                                 (int)nlen, name);
                errors++;
                s = end + 1;
                continue;
            }
            key = dup_n(name, nlen);
            if (key == NULL) {
                b.failed = 1;
                break;
            }
            val = getenv(key);
            /* As in the shell, ":-" also replaces a variable set empty. A
             * default is text of the config file, not a secret. */
            if (val != NULL && (val[0] != '\0' || def == NULL)) {
                from = b.len;
                herald__buf_puts(&b, val);
                if (add_span(n, &b, from) != 0) {
                    b.failed = 1;
                }
            } else if (def != NULL) {
                herald__buf_add(&b, def, (size_t)(end - def));
            } else {
                herald__diag_add(d, n,
                                 "environment variable '%s' is not set (use "
                                 "${env:%s:-default} for a default)",
                                 key, key);
                errors++;
            }
            free(key);
        } else if (blen >= 5 && strncmp(body, "file:", 5) == 0) {
            char *path = dup_n(body + 5, blen - 5);
            char *val;

            if (path == NULL) {
                b.failed = 1;
                break;
            }
            secret = 1;
            if (path[0] == '\0') {
                herald__diag_add(d, n, "empty path in ${file:}");
                errors++;
                free(path);
                s = end + 1;
                continue;
            }
            {
                char *full = config_relative_path(n->file, path);

                free(path);
                if (full == NULL) {
                    b.failed = 1;
                    break;
                }
                path = full;
            }
            val = read_secret_file(path, n, d);
            if (val == NULL) {
                errors++;
            } else {
                from = b.len;
                herald__buf_puts(&b, val);
                free(val);
                if (add_span(n, &b, from) != 0) {
                    b.failed = 1;
                }
            }
            free(path);
        } else {
            herald__diag_add(d, n,
                             "unknown substitution '${%.*s}' (use "
                             "${env:NAME}, ${env:NAME:-default} or "
                             "${file:PATH}; $${ for a literal ${)",
                             (int)blen, body);
            errors++;
        }
        s = end + 1;
    }
    /* A value that named a file stays secret even if reading failed, so
     * nothing about it is ever printed. */
    n->secret = n->secret || secret;
    if (b.failed || errors > 0) {
        if (b.failed) {
            herald__diag_add(d, n, "out of memory");
        }
        /* The scalar keeps its written text: no span applies to it. */
        free(n->spans);
        n->spans = NULL;
        n->n_spans = 0;
        free(b.p);
        return;
    }
    free(n->scalar);
    n->scalar = herald__buf_take(&b);
    if (n->scalar == NULL) {
        n->scalar = dup_s("");
    }
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

    if (n == NULL) {
        return;
    }
    np = grow(l->dropped, l->n_dropped, sizeof(*l->dropped));

    if (np == NULL) {
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
    char *k = dup_s(key->scalar);
    void *np;

    if (k == NULL) {
        return -1;
    }
    np = grow(map->keys, map->n, sizeof(*map->keys));
    if (np == NULL) {
        goto fail;
    }
    map->keys = np;
    np = grow(map->key_nodes, map->n, sizeof(*map->key_nodes));
    if (np == NULL) {
        goto fail;
    }
    map->key_nodes = np;
    np = grow(map->items, map->n, sizeof(*map->items));
    if (np == NULL) {
        goto fail;
    }
    map->items = np;
    map->keys[map->n] = k;
    map->key_nodes[map->n] = key;
    map->items[map->n] = val;
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
        if (l->root == NULL) {
            l->root = n;
        } else {
            drop(l, n);
        }
        return;
    }
    f = &l->stack[l->depth - 1];
    if (f->node->type == HERALD_NODE_SEQ) {
        void *np = grow(f->node->items, f->node->n, sizeof(*f->node->items));

        if (np == NULL) {
            l->oom = 1;
            drop(l, n);
            return;
        }
        f->node->items = np;
        f->node->items[f->node->n++] = n;
        return;
    }
    if (f->key == NULL) {
        f->key = n;
        f->bad_key = n->type != HERALD_NODE_SCALAR;
        if (f->bad_key) {
            herald__diag_add(l->d, n, "map keys must be scalars, got %s",
                             type_name(n));
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
    return f->node->type == HERALD_NODE_MAP && f->key == NULL;
}

static void add_anchor(struct loader *l, const yaml_char_t *name,
                       struct herald__node *n)
{
    char *copy;
    void *np;

    if (name == NULL) {
        return;
    }
    copy = dup_s((const char *)name);
    np = copy != NULL ? grow(l->anchors, l->n_anchors, sizeof(*l->anchors))
                      : NULL;
    if (np == NULL) {
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
    ns = realloc(l->stack, cap * sizeof(*ns));
    if (ns == NULL) {
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
    if (n == NULL) {
        return NULL;
    }
    n->scalar =
        dup_n((const char *)ev->data.scalar.value, ev->data.scalar.length);
    if (n->scalar == NULL) {
        free(n);
        return NULL;
    }
    n->quoted = style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    n->null_value = style == YAML_PLAIN_SCALAR_STYLE &&
                    ev->data.scalar.tag == NULL && is_null_text(n->scalar);
    if (!is_key && !n->null_value) {
        substitute(n, l->d);
    }
    return n;
}

static void syntax_error(struct loader *l, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "invalid YAML";

    if (p->error == YAML_MEMORY_ERROR) {
        diag_at(l->d, l->file, 0, 0, "out of memory while parsing");
        return;
    }
    if (p->context != NULL) {
        diag_at(l->d, l->file, pos_line(&p->problem_mark),
                pos_col(&p->problem_mark), "%s (%s at %d:%d)", problem,
                p->context, pos_line(&p->context_mark),
                pos_col(&p->context_mark));
    } else {
        diag_at(l->d, l->file, pos_line(&p->problem_mark),
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
                diag_at(l->d, l->file, pos_line(m), pos_col(m),
                        "only one YAML document is allowed");
                rc = -1;
                done = 1;
            }
            break;
        case YAML_SCALAR_EVENT:
            n = scalar_node(l, &ev, is_key_position(l));
            if (n == NULL) {
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

            if (src == NULL) {
                diag_at(l->d, l->file, pos_line(m), pos_col(m),
                        "unknown alias '*%s'", name);
                rc = -1;
                done = 1;
                break;
            }
            n = node_copy(src, &l->budget);
            if (n == NULL) {
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
                diag_at(l->d, l->file, pos_line(m), pos_col(m),
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
            if (n == NULL || reserve_frame(l) != 0) {
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
        diag_at(l->d, l->file, 0, 0,
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
        if (l->stack[i].key != NULL) {
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
    l.file = dup_s(name != NULL ? name : "<string>");
    if (l.file == NULL) {
        diag_at(d, name, 0, 0, "out of memory");
        return NULL;
    }
    if (!yaml_parser_initialize(&parser)) {
        diag_at(d, l.file, 0, 0, "out of memory");
        free((char *)l.file);
        return NULL;
    }
    yaml_parser_set_input_string(
        &parser, (const unsigned char *)(text != NULL ? text : ""), len);
    rc = run_parser(&l, &parser);
    yaml_parser_delete(&parser);
    if (l.oom) {
        diag_at(d, l.file, 0, 0, "out of memory");
        rc = -1;
    }
    /* The parser may stop with nodes still open: they hang off the root
     * already, so freeing the root frees them. */
    if (rc != 0) {
        goto out;
    }
    if (l.root == NULL ||
        (l.root->type == HERALD_NODE_SCALAR && l.root->null_value)) {
        diag_at(d, l.file, 0, 0, "configuration is empty");
        goto out;
    }
    if (l.root->type != HERALD_NODE_MAP) {
        herald__diag_add(d, l.root,
                         "the top level of the configuration must be a map, "
                         "got %s",
                         type_name(l.root));
        goto out;
    }
    ret = l.root;
    l.root = NULL;
out:
    loader_cleanup(&l);
    node_free(l.root);
    if (ret == NULL) {
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
    if (f == NULL) {
        diag_at(d, path, 0, 0, "cannot read configuration: %s",
                strerror(errno));
        return NULL;
    }
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (b.len + got > MAX_FILE_BYTES) {
            diag_at(d, path, 0, 0, "configuration larger than %d bytes",
                    MAX_FILE_BYTES);
            goto out;
        }
        herald__buf_add(&b, buf, got);
    }
    if (ferror(f)) {
        diag_at(d, path, 0, 0, "cannot read configuration: %s",
                strerror(errno));
        goto out;
    }
    if (b.failed) {
        diag_at(d, path, 0, 0, "out of memory");
        goto out;
    }
    root = herald__config_load_string(path, b.p != NULL ? b.p : "", b.len, d);
out:
    free(b.p);
    fclose(f);
    return root;
}

/* ---- Durations and sizes ------------------------------------------- */

/* Leading decimal digits of s into *v; returns the first other char, or
 * NULL on no digits or overflow. */
static const char *parse_digits(const char *s, int64_t *v)
{
    int64_t acc = 0;
    const char *p = s;

    while (*p >= '0' && *p <= '9') {
        int digit = *p - '0';

        if (acc > (INT64_MAX - digit) / 10) {
            return NULL;
        }
        acc = acc * 10 + digit;
        p++;
    }
    if (p == s) {
        return NULL;
    }
    *v = acc;
    return p;
}

/* "250ms", "30s", "5m", "1h", "1d"; a bare number is ms. Units are lower
 * case, no sign, no space. Returns 0 and *out in ms, or -1 (out
 * untouched) on a malformed value or overflow. */
int herald__parse_duration_ms(const char *s, int64_t *out)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {
        {"", 1},          {"ms", 1},          {"s", 1000},
        {"m", 60 * 1000}, {"h", 3600 * 1000}, {"d", 86400 * 1000},
    };
    int64_t v;
    const char *rest;
    size_t i;

    if (s == NULL || (rest = parse_digits(s, &v)) == NULL) {
        return -1;
    }
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(rest, units[i].unit) == 0) {
            if (v > INT64_MAX / units[i].ms) {
                return -1;
            }
            *out = v * units[i].ms;
            return 0;
        }
    }
    return -1;
}

/* "512", "512B", "64KB", "64KiB", "10MB", "10MiB", "1GB", "1GiB", "1TB",
 * "1TiB"; units are case-insensitive, KB = 1000 and KiB = 1024. Returns 0
 * and *out in bytes, or -1 (out untouched) on a malformed value or
 * overflow. */
int herald__parse_size(const char *s, int64_t *out)
{
    static const struct {
        const char *unit;
        int64_t mul;
    } units[] = {
        {"", 1},
        {"b", 1},
        {"kb", 1000},
        {"kib", 1024},
        {"mb", 1000 * 1000},
        {"mib", 1024 * 1024},
        {"gb", 1000 * 1000 * 1000},
        {"gib", (int64_t)1024 * 1024 * 1024},
        {"tb", (int64_t)1000 * 1000 * 1000 * 1000},
        {"tib", (int64_t)1024 * 1024 * 1024 * 1024},
    };
    int64_t v;
    const char *rest;
    size_t i;

    if (s == NULL || (rest = parse_digits(s, &v)) == NULL) {
        return -1;
    }
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(rest, units[i].unit) == 0) {
            if (v > INT64_MAX / units[i].mul) {
                return -1;
            }
            *out = v * units[i].mul;
            return 0;
        }
    }
    return -1;
}

/* ---- Unknown keys -------------------------------------------------- */

static int in_list(const char *s, const char *const *list)
{
    size_t i;

    if (list == NULL) {
        return 0;
    }
    for (i = 0; list[i] != NULL; i++) {
        if (strcmp(s, list[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* "a, b, c" of a NULL-terminated list; NULL if out of memory. */
static char *join_list(const char *const *list)
{
    struct herald__buf b = HERALD__BUF_INIT;
    size_t i;

    for (i = 0; list != NULL && list[i] != NULL; i++) {
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

    if (near != NULL) {
        herald__diag_add(d, at, "unknown key '%s' (did you mean '%s'?)", key,
                         near);
        return;
    }
    all = join_list(allowed);
    herald__diag_add(d, at, "unknown key '%s' (expected one of: %s)", key,
                     all != NULL ? all : "?");
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

    if (map == NULL) {
        return 0;
    }
    if (allowed == NULL) {
        allowed = none;
    }
    if (map->type != HERALD_NODE_MAP) {
        herald__diag_add(d, map, "expected a map, got %s", type_name(map));
        return 1;
    }
    for (i = 0; i < map->n; i++) {
        if (!in_list(map->keys[i], allowed)) {
            unknown_key(map->key_nodes[i], map->keys[i], allowed, d);
            bad++;
        }
    }
    return bad;
}

/* ---- Plugin options ------------------------------------------------ */

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

/* Parses one scalar value of option `opt` into slot. at is the node to
 * blame (NULL for a table default). 0 or -1 (error added). */
/* Parses v into slot for opt's type. Errors quote `shown`, the value as it
 * may be printed (herald__node_display). 0, or -1 with the error in d. */
static int check_scalar_value(struct opt_slot *slot,
                              const struct herald_option *opt, const char *v,
                              const char *shown, const struct herald__node *at,
                              struct herald__diag *d)
{
    const char *what = at != NULL ? "" : "default ";

    switch (opt->type) {
    case HERALD_OPT_INT:
        if (parse_int(v, &slot->num) != 0) {
            herald__diag_add(d, at,
                             "%soption '%s' expects an integer, got "
                             "'%s'",
                             what, opt->name, shown);
            return -1;
        }
        return 0;
    case HERALD_OPT_BOOL:
        if (strcmp(v, "true") == 0) {
            slot->num = 1;
        } else if (strcmp(v, "false") == 0) {
            slot->num = 0;
        } else {
            herald__diag_add(d, at,
                             "%soption '%s' expects true or false, got '%s'",
                             what, opt->name, shown);
            return -1;
        }
        return 0;
    case HERALD_OPT_DURATION:
        if (herald__parse_duration_ms(v, &slot->num) != 0) {
            herald__diag_add(d, at,
                             "invalid %sduration '%s' for option '%s' (use "
                             "e.g. 250ms, 30s, 5m, 1h)",
                             what, shown, opt->name);
            return -1;
        }
        return 0;
    case HERALD_OPT_SIZE:
        if (herald__parse_size(v, &slot->num) != 0) {
            herald__diag_add(d, at,
                             "invalid %ssize '%s' for option '%s' (use e.g. "
                             "512, 64KiB, 10MB, 1GiB)",
                             what, shown, opt->name);
            return -1;
        }
        return 0;
    case HERALD_OPT_ENUM:
        if (!in_list(v, opt->enum_values)) {
            char *all = join_list(opt->enum_values);

            herald__diag_add(d, at,
                             "invalid %svalue '%s' for option '%s' (expected "
                             "one of: %s)",
                             what, shown, opt->name, all != NULL ? all : "?");
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
    char *shown = at != NULL ? herald__node_display(at) : NULL;
    int rc;

    if (at != NULL && shown == NULL) {
        herald__diag_add(d, at, "out of memory");
        return -1;
    }
    rc = check_scalar_value(slot, opt, v, shown != NULL ? shown : v, at, d);
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
    char *c = dup_s(v);
    void *np = c != NULL ? grow(s->items, s->n_items, sizeof(*s->items)) : NULL;

    if (np == NULL) {
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
            slot->raw = dup_s(v->scalar);
            if (slot->raw == NULL || slot_add_item(slot, v->scalar) != 0) {
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
                                 opt->name, type_name(it));
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
        if (slot->raw == NULL) {
            goto oom;
        }
        return 0;
    }
    if (v->type != HERALD_NODE_SCALAR) {
        herald__diag_add(d, v, "option '%s' expects %s, got %s", opt->name,
                         type_word(opt->type), type_name(v));
        return -1;
    }
    v->secret = v->secret || opt->secret;
    slot->raw = dup_s(v->scalar);
    if (slot->raw == NULL) {
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
        if (root != NULL && tmp.n == 0) {
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
    slot->raw = dup_s(v);
    if (slot->raw == NULL) {
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

    if (o == NULL || name == NULL) {
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

    while (table != NULL && table[n].name != NULL) {
        n++;
    }
    o = calloc(1, sizeof(*o));
    names = calloc(n + 1, sizeof(*names));
    if (o == NULL || names == NULL) {
        goto oom;
    }
    if (n > 0) {
        o->slots = calloc(n, sizeof(*o->slots));
        if (o->slots == NULL) {
            goto oom;
        }
    }
    for (i = 0; i < n; i++) {
        names[i] = table[i].name;
    }
    o->n = n;
    for (i = 0; i < n; i++) {
        o->slots[i].name = dup_s(table[i].name);
        o->slots[i].type = table[i].type;
        if (o->slots[i].name == NULL) {
            goto oom;
        }
    }
    if (map != NULL && map->type != HERALD_NODE_MAP) {
        herald__diag_add(d, map, "expected a map of options, got %s",
                         type_name(map));
        herald__options_destroy(o);
        free(names);
        return NULL;
    }
    for (i = 0; map != NULL && i < map->n; i++) {
        const char *key = map->keys[i];

        if (!in_list(key, names) && !in_list(key, skip)) {
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

        if (v != NULL && v->type == HERALD_NODE_SCALAR && v->null_value) {
            v = NULL; /* `key:` or `key: ~` means unset */
        }
        if (v != NULL) {
            if (slot_from_node(slot, opt, v, d) != 0) {
                slot_clear(slot);
                errors++;
                continue;
            }
            slot->set = 1;
            slot->present = 1;
        } else if (opt->required) {
            if (map != NULL) {
                herald__diag_add(d, map, "missing required option '%s'",
                                 opt->name);
            } else {
                herald__diag_add(d, NULL, "missing required option '%s'",
                                 opt->name);
            }
            errors++;
        } else if (opt->default_value != NULL) {
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

    if (o == NULL) {
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

    return s != NULL && s->present ? s->raw : NULL;
}

static int64_t slot_num(const struct herald_options *o, const char *name)
{
    const struct opt_slot *s = find_slot(o, name);

    if (s == NULL || !s->present) {
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

    return s != NULL && s->present ? s->n_items : 0;
}

/* Item i of a LIST option, NULL when out of range. */
const char *herald__opt_list_item(const struct herald_options *o,
                                  const char *name, size_t i)
{
    const struct opt_slot *s = find_slot(o, name);

    if (s == NULL || !s->present || i >= s->n_items) {
        return NULL;
    }
    return s->items[i];
}

/* 1 if the option was written in the YAML (a default does not count). */
int herald__opt_is_set(const struct herald_options *o, const char *name)
{
    const struct opt_slot *s = find_slot(o, name);

    return s != NULL && s->set;
}

/* ---- Printing ------------------------------------------------------ */

struct printer {
    void (*write)(void *ctx, const char *s, size_t len);
    void *ctx;
};

static void out(const struct printer *p, const char *s)
{
    p->write(p->ctx, s, strlen(s));
}

static void out_indent(const struct printer *p, int n)
{
    static const char spaces[] = "                                ";

    while (n > 0) {
        int k = n < 32 ? n : 32;

        p->write(p->ctx, spaces, (size_t)k);
        n -= k;
    }
}

/* Case-insensitive equality of n bytes, '-' and '_' alike (header names
 * say "X-Api-Key" where YAML keys say "api_key"). */
static int key_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int ca = tolower((unsigned char)a[i]);
        int cb = tolower((unsigned char)b[i]);

        ca = ca == '-' ? '_' : ca;
        cb = cb == '-' ? '_' : cb;
        if (ca != cb) {
            return 0;
        }
    }
    return 1;
}

/* Whether key names a secret: an entry of secret_key_names, or a key
 * ending in ".", "_" or "-" and one of them. */
int herald__config_key_is_secret(const char *key)
{
    size_t klen;
    size_t i;

    if (key == NULL) {
        return 0;
    }
    klen = strlen(key);
    for (i = 0; secret_key_names[i] != NULL; i++) {
        const char *s = secret_key_names[i];
        size_t slen = strlen(s);
        char sep;

        if (klen == slen && key_eq(key, s, slen)) {
            return 1;
        }
        if (klen <= slen || !key_eq(key + klen - slen, s, slen)) {
            continue;
        }
        sep = key[klen - slen - 1];
        if (sep == '.' || sep == '_' || sep == '-') {
            return 1;
        }
    }
    return 0;
}

static int looks_special(const char *s)
{
    static const char *const words[] = {
        "~",     "null",  "Null", "NULL", "true", "True", "TRUE", "false",
        "False", "FALSE", "yes",  "Yes",  "YES",  "no",   "No",   "NO",
        "on",    "On",    "ON",   "off",  "Off",  "OFF",  NULL,
    };

    return in_list(s, words);
}

/* Whether s must be quoted to read back as the same string. */
static int needs_quotes(const char *s)
{
    size_t len = strlen(s);
    size_t i;

    if (len == 0 || looks_special(s)) {
        return 1;
    }
    if (strchr("-?:,[]{}#&*!|>'\"%@` \t", s[0]) != NULL) {
        return 1;
    }
    if (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == ':') {
        return 1;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f) {
            return 1;
        }
    }
    return strstr(s, ": ") != NULL || strstr(s, " #") != NULL ||
           strstr(s, ":\t") != NULL;
}

/* Writes s as a plain scalar, doubling the $ of every "${" so the text
 * reads back as itself rather than as a substitution. */
static void out_plain(const struct printer *p, const char *s)
{
    const char *ref;

    while ((ref = strstr(s, "${")) != NULL) {
        p->write(p->ctx, s, (size_t)(ref - s));
        out(p, "$");
        p->write(p->ctx, ref, 2);
        s = ref + 2;
    }
    out(p, s);
}

/* Double-quoted with escapes; esc_dollar as in out_plain (values only:
 * keys are never substituted). */
static void out_quoted(const struct printer *p, const char *s, int esc_dollar)
{
    char esc[8];

    out(p, "\"");
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        switch (c) {
        case '"':
            out(p, "\\\"");
            break;
        case '\\':
            out(p, "\\\\");
            break;
        case '\n':
            out(p, "\\n");
            break;
        case '\t':
            out(p, "\\t");
            break;
        case '\r':
            out(p, "\\r");
            break;
        case '$':
            out(p, esc_dollar && s[1] == '{' ? "$$" : "$");
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                snprintf(esc, sizeof(esc), "\\x%02x", c);
                out(p, esc);
            } else {
                p->write(p->ctx, s, 1);
            }
        }
    }
    out(p, "\"");
}

char *herald__node_display(const struct herald__node *n)
{
    struct herald__buf b = HERALD__BUF_INIT;
    size_t at = 0;

    if (n == NULL || n->type != HERALD_NODE_SCALAR || n->scalar == NULL) {
        return NULL;
    }
    if (n->secret) {
        return dup_s(HERALD__REDACTED);
    }
    /* Spans are in order and apart: substitution appends left to right. */
    for (size_t i = 0; i < n->n_spans; i++) {
        herald__buf_add(&b, n->scalar + at, n->spans[i].off - at);
        herald__buf_puts(&b, HERALD__REDACTED);
        at = n->spans[i].off + n->spans[i].len;
    }
    herald__buf_puts(&b, n->scalar + at);
    return herald__buf_take(&b);
}

static void out_scalar(const struct printer *p, const struct herald__node *n,
                       int redact)
{
    char *shown;

    if (n->null_value) {
        out(p, "null");
        return;
    }
    shown = redact ? NULL : herald__node_display(n);
    if (shown == NULL || n->secret) {
        out(p, "\"" HERALD__REDACTED "\"");
    } else if (n->quoted || needs_quotes(shown)) {
        out_quoted(p, shown, 1);
    } else {
        out_plain(p, shown);
    }
    free(shown);
}

static void out_key(const struct printer *p, const char *k)
{
    if (needs_quotes(k)) {
        out_quoted(p, k, 0);
    } else {
        out(p, k);
    }
}

static void print_node(const struct printer *p, const struct herald__node *n,
                       int indent, int inline_first, int redact);

/* The value after "key:" or "-": inline for scalars and empty
 * collections, on the next lines otherwise. */
static void print_value(const struct printer *p, const struct herald__node *v,
                        int indent, int redact, int after_dash)
{
    if (v->type == HERALD_NODE_SCALAR) {
        out(p, " ");
        out_scalar(p, v, redact);
        out(p, "\n");
    } else if (v->n == 0) {
        out(p, v->type == HERALD_NODE_MAP ? " {}\n" : " []\n");
    } else if (after_dash && v->type == HERALD_NODE_MAP) {
        out(p, " ");
        print_node(p, v, indent + 2, 1, 0);
    } else {
        out(p, "\n");
        print_node(p, v, indent + 2, 0, redact);
    }
}

static void print_node(const struct printer *p, const struct herald__node *n,
                       int indent, int inline_first, int redact)
{
    size_t i;

    for (i = 0; i < n->n; i++) {
        if (i > 0 || !inline_first) {
            out_indent(p, indent);
        }
        if (n->type == HERALD_NODE_MAP) {
            out_key(p, n->keys[i]);
            out(p, ":");
            /* Only a secret key's own strings (or list of strings) are
             * hidden; its nested maps are walked with their own keys. */
            print_value(p, n->items[i], indent,
                        herald__config_key_is_secret(n->keys[i]) &&
                            n->items[i]->type != HERALD_NODE_MAP,
                        0);
        } else {
            out(p, "-");
            print_value(p, n->items[i], indent, redact, 1);
        }
    }
}

/* Writes root as block-style YAML through write(ctx, s, len), a piece at a
 * time. Secret scalars (from ${file:}, secret options, or under a key
 * that names a secret, see secret_key_names) print as "<redacted>". The
 * output parses back to the same tree apart from those. */
void herald__config_print_redacted(const struct herald__node *root,
                                   void (*write)(void *ctx, const char *s,
                                                 size_t len),
                                   void *ctx)
{
    struct printer p = {write, ctx};

    if (root == NULL) {
        return;
    }
    if (root->type == HERALD_NODE_SCALAR) {
        out_scalar(&p, root, 0);
        out(&p, "\n");
    } else if (root->n == 0) {
        out(&p, root->type == HERALD_NODE_MAP ? "{}\n" : "[]\n");
    } else {
        print_node(&p, root, 0, 0, 0);
    }
}
