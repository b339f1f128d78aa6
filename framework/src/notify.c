/*
 * notify.c - the notify stage: compile a connector's `notify:` section into
 * templates at load, render one record into a checked herald_message per
 * delivery. The checks here are what keep record data out of SMTP
 * commands and headers (see notify.h).
 */
#include "notify.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hdrtext.h"
#include "hmac.h"
#include "record.h"
#include "template.h"

#define ADDRESS_MAX 254
#define SENSITIVE_MIN_LEN 6
/* Bounds on a plugin's field declaration and a JSON field's YAML tree:
 * both come from outside the host (a plugin, a config file). */
#define FIELDS_MAX 64
#define FIELD_NAME_MAX 64
#define JSON_DEPTH_MAX 32

struct tlist {
    struct herald__template **t;
    size_t n;
};

struct nhdr {
    char *name;
    struct herald__template *t;
};

/* A compiled JSON field: the YAML tree's shape with a template at every
 * string leaf. */
enum jt_kind { JT_OBJECT, JT_ARRAY, JT_TEMPLATE, JT_LITERAL };

struct jtree {
    enum jt_kind kind;
    size_t n;           /* OBJECT, ARRAY */
    char **keys;        /* OBJECT */
    struct jtree *kids; /* OBJECT, ARRAY */
    struct herald__template *t;
    json_t *lit; /* a plain YAML number, true, false or null */
};

/* A field a channel declared (herald_plugin.fields), compiled. */
struct gfield {
    char *name;
    enum herald_field_kind kind;
    char **enums;               /* ENUM: NULL-terminated copy */
    struct herald__template *t; /* ADDRESS, HEADER_TEXT, TEXT, ENUM */
    struct tlist list;          /* ADDRESS_LIST */
    struct jtree *json;         /* JSON */
};

struct herald__notify {
    char *channel;
    struct gfield *fields; /* NULL: an email channel */
    size_t n_fields;
    struct herald__template *from;
    struct tlist to;
    struct tlist cc;
    struct herald__template *reply_to;
    struct herald__template *subject;
    struct herald__template *text;
    struct herald__template *html;
    struct nhdr *headers;
    size_t n_headers;
    struct herald__template *key;        /* explicit or dedup.key */
    struct herald__template *key_window; /* built-in defaults */
    struct herald__template *key_offset;
    char **sensitive;
    size_t n_sensitive;
    int allow_sensitive;
    const struct herald__hash_key *hash_key; /* borrowed from the worker */
};

static const struct herald__key notify_keys[] = {
    {.opt = {"channel", HERALD_OPT_STRING, NULL, 1, 0, NULL,
             "a name under channels:"},
     .min = 1},
    {.opt = {"idempotency_key", HERALD_OPT_STRING, NULL, 0, 0, NULL,
             "template of the key the channel gets as a keyed hash (default: "
             "dedup.key, else the record key and window start)"}},
    {.opt = {"sensitive", HERALD_OPT_LIST, "[card_number]", 0, 0, NULL,
             "field paths whose full value may never appear in a rendered "
             "message (such a message is rejected; [] turns it off)"}},
    {.opt = {"allow_sensitive", HERALD_OPT_BOOL, "false", 0, 0, NULL,
             "true turns the sensitive check off"}},
    HERALD__KEY_END,
};

const struct herald__section herald__notify_section = {
    "notify", "the message sent through a channel", notify_keys, NULL};

/* The fields of a channel that declares none (ABI 1.0's only shape: an
 * email), on top of herald__notify_section's keys. */
static const char *const email_fields[] = {
    "from", "to",        "cc",   "reply_to",  "subject",
    "text", "text_file", "html", "html_file", "headers",
};
#define N_EMAIL_FIELDS (sizeof email_fields / sizeof email_fields[0])
/* Room for the keys of notify_keys and email_fields, and the NULL. */
#define EMAIL_KEYS_MAX 16

/* Headers herald or the channel writes; a template may not set them. */
static const char *const reserved_headers[] = {
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "sender",
    "return-path",
    NULL,
};

/* ---- Load ------------------------------------------------------------ */

/* What a list of recipient templates must be, in its value error. */
#define TEMPLATE_LIST_WORDS "a template or a non-empty list of them"

/* The shared value error of a `notify:` value at (its path names it):
 * "'connectors[0].notify.subject' expects WHAT; got a map". */
static void bad_value(const struct herald__node *at, const char *name,
                      const char *what, struct herald__diag *d)
{
    const struct herald__key k = {
        .opt = {.name = name, .type = HERALD_OPT_STRING}};

    herald__key_bad_value(&k, at, what, d);
}

/* Compile a scalar node as a template starting where its text starts:
 * exact for plain and single-line quoted scalars; inside block scalars
 * (`|`, `>`) and after escapes the column is approximate. */
static struct herald__template *compile_node(const struct herald__node *v,
                                             const char *what, int html,
                                             struct herald__diag *d)
{
    if (v->type != HERALD_NODE_SCALAR || v->null_value) {
        bad_value(v, what, HERALD__TEMPLATE_WORDS, d);
        return NULL;
    }
    return herald__template_compile(v->scalar, v->file, v->line,
                                    v->col + (v->quoted ? 1 : 0), html, d);
}

static int compile_list(const struct herald__node *v, const char *what,
                        struct tlist *l, struct herald__diag *d)
{
    const struct herald__node *const *items = NULL;
    const struct herald__node *one = v;
    size_t n = 1;
    int rc = 0;

    if (v->type == HERALD_NODE_SEQ) {
        items = (const struct herald__node *const *)v->items;
        n = v->n;
        if (n == 0) {
            bad_value(v, what, TEMPLATE_LIST_WORDS, d);
            return -1;
        }
    } else if (v->type != HERALD_NODE_SCALAR) {
        bad_value(v, what, TEMPLATE_LIST_WORDS, d);
        return -1;
    }
    l->t = calloc(n, sizeof *l->t);
    if (l->t == NULL) {
        herald__diag_add(d, v, "out of memory");
        return -1;
    }
    l->n = n;
    for (size_t k = 0; k < n; k++) {
        l->t[k] = compile_node(items ? items[k] : one, what, 0, d);
        if (l->t[k] == NULL) {
            rc = -1;
        }
    }
    return rc;
}

/* text/text_file (or html/html_file): at most one of the pair. */
static int compile_body(const struct herald__node *map, const char *key,
                        const char *file_key, int html, const char *config_dir,
                        struct herald__template **out, struct herald__diag *d)
{
    const struct herald__node *inl = herald__node_get(map, key);
    const struct herald__node *file = herald__node_get(map, file_key);
    char *path = NULL;

    if (inl != NULL && file != NULL) {
        herald__diag_add(d, file, "use either '%s' or '%s', not both", key,
                         file_key);
        return -1;
    }
    if (inl != NULL) {
        *out = compile_node(inl, key, html, d);
        return *out ? 0 : -1;
    }
    if (file == NULL) {
        return 0;
    }
    if (file->type != HERALD_NODE_SCALAR || file->null_value ||
        file->scalar[0] == '\0') {
        bad_value(file, file_key, "a file path", d);
        return -1;
    }
    if (file->scalar[0] == '/' || config_dir == NULL || config_dir[0] == '\0') {
        path = strdup(file->scalar);
    } else {
        size_t len = strlen(config_dir) + strlen(file->scalar) + 2;
        path = malloc(len);
        if (path != NULL) {
            snprintf(path, len, "%s/%s", config_dir, file->scalar);
        }
    }
    if (path == NULL) {
        herald__diag_add(d, file, "out of memory");
        return -1;
    }
    *out = herald__template_compile_file(path, file, html, d);
    free(path);
    return *out ? 0 : -1;
}

static int valid_header_name(const char *s)
{
    if (s[0] == '\0' || strlen(s) > 76) {
        return 0;
    }
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 33 || ch > 126 || ch == ':') {
            return 0;
        }
    }
    return 1;
}

static int compile_headers(const struct herald__node *v,
                           struct herald__notify *n, struct herald__diag *d)
{
    int rc = 0;

    if (v->type != HERALD_NODE_MAP) {
        bad_value(v, "headers", "a map of name: template", d);
        return -1;
    }
    n->headers = calloc(v->n ? v->n : 1, sizeof *n->headers);
    if (n->headers == NULL) {
        herald__diag_add(d, v, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < v->n; k++) {
        const char *name = v->keys[k];
        const struct herald__node *at = v->key_nodes ? v->key_nodes[k] : v;
        if (!valid_header_name(name)) {
            herald__diag_add(d, at,
                             "'%s' is not a valid header name (printable "
                             "ASCII without ':' or spaces, at most 76)",
                             name);
            rc = -1;
            continue;
        }
        int reserved = 0;
        for (size_t r = 0; reserved_headers[r] != NULL; r++) {
            if (strcasecmp(name, reserved_headers[r]) == 0) {
                reserved = 1;
            }
        }
        if (reserved) {
            herald__diag_add(d, at,
                             "header '%s' is set by herald or the channel; "
                             "use the notify keys (from, to, cc, reply_to, "
                             "subject) instead",
                             name);
            rc = -1;
            continue;
        }
        struct nhdr *h = &n->headers[n->n_headers];
        h->t = compile_node(v->items[k], name, 0, d);
        if (h->t == NULL) {
            rc = -1;
            continue;
        }
        h->name = strdup(name);
        if (h->name == NULL) {
            herald__template_destroy(h->t);
            h->t = NULL;
            herald__diag_add(d, at, "out of memory");
            return -1;
        }
        n->n_headers++;
    }
    return rc;
}

struct sensitive_ctx {
    struct herald__notify *n;
    struct herald__diag *d;
    int rc;
};

/* One path of `sensitive:` (at NULL: the table's default). */
static void add_sensitive(void *ctx, const char *path,
                          const struct herald__node *at)
{
    struct sensitive_ctx *c = ctx;
    struct herald__notify *n = c->n;
    char why[256];
    char **grown;

    if (herald__template_check_path(path, why, sizeof why) != 0) {
        herald__diag_add(c->d, at, "malformed path '%s': %s", path, why);
        c->rc = -1;
        return;
    }
    grown = realloc(n->sensitive, (n->n_sensitive + 1) * sizeof *grown);
    if (!grown) {
        herald__diag_add(c->d, at, "out of memory");
        c->rc = -1;
        return;
    }
    n->sensitive = grown;
    grown[n->n_sensitive] = strdup(path);
    if (!grown[n->n_sensitive]) {
        herald__diag_add(c->d, at, "out of memory");
        c->rc = -1;
        return;
    }
    n->n_sensitive++;
}

/* sensitive: (default from the table) and allow_sensitive:. */
static void load_sensitive(const struct herald__node *notify,
                           struct herald__notify *n, struct herald__diag *d)
{
    struct sensitive_ctx c = {n, d, 0};
    int64_t allow = 0;

    herald__section_list(notify, &herald__notify_section, "sensitive",
                         add_sensitive, &c, d);
    if (herald__section_num(notify, &herald__notify_section, "allow_sensitive",
                            &allow, d) == 0) {
        n->allow_sensitive = (int)allow;
    }
}

/* The unknown-key check of an email channel's `notify:`: the table's
 * keys and the email fields. */
static void check_email_keys(const struct herald__node *notify,
                             struct herald__diag *d)
{
    const char *names[EMAIL_KEYS_MAX];
    size_t k = 0;

    for (const struct herald__key *key = notify_keys; key->opt.name; key++) {
        names[k++] = key->opt.name;
    }
    for (size_t f = 0; f < N_EMAIL_FIELDS; f++) {
        names[k++] = email_fields[f];
    }
    names[k] = NULL;
    herald__node_check_keys(notify, names, d);
}

/* The email fields of a channel without a declaration (ABI 1.0's only
 * shape): to and subject required, a body, addresses checked. */
static void load_email(const struct herald__node *notify,
                       const char *config_dir, struct herald__notify *n,
                       struct herald__diag *d)
{
    const struct herald__node *v;

    if ((v = herald__node_get(notify, "from")) != NULL) {
        n->from = compile_node(v, "from", 0, d);
    }
    if ((v = herald__node_get(notify, "to")) != NULL) {
        compile_list(v, "to", &n->to, d);
    } else {
        herald__diag_add(d, notify,
                         "'to' is required: one or more "
                         "recipient templates");
    }
    if ((v = herald__node_get(notify, "cc")) != NULL) {
        compile_list(v, "cc", &n->cc, d);
    }
    if ((v = herald__node_get(notify, "reply_to")) != NULL) {
        n->reply_to = compile_node(v, "reply_to", 0, d);
    }
    if ((v = herald__node_get(notify, "subject")) != NULL) {
        n->subject = compile_node(v, "subject", 0, d);
    } else {
        herald__diag_add(d, notify, "'subject' is required");
    }
    compile_body(notify, "text", "text_file", 0, config_dir, &n->text, d);
    compile_body(notify, "html", "html_file", 1, config_dir, &n->html, d);
    if (!herald__node_get(notify, "text") &&
        !herald__node_get(notify, "text_file") &&
        !herald__node_get(notify, "html") &&
        !herald__node_get(notify, "html_file")) {
        herald__diag_add(d, notify,
                         "a body is required: 'text', "
                         "'text_file', 'html' or 'html_file'");
    }
    if ((v = herald__node_get(notify, "headers")) != NULL) {
        compile_headers(v, n, d);
    }
}

/* ---- Declared fields (ABI 1.1) ---------------------------------------- */

static void jtree_cleanup(struct jtree *j)
{
    if (j == NULL) {
        return;
    }
    for (size_t k = 0; k < j->n; k++) {
        if (j->keys != NULL) {
            free(j->keys[k]);
        }
        if (j->kids != NULL) {
            jtree_cleanup(&j->kids[k]);
        }
    }
    free(j->keys);
    free(j->kids);
    herald__template_destroy(j->t);
    json_decref(j->lit);
}

/* A plain (unquoted) YAML scalar that is a JSON number, true, false or
 * null keeps its type; everything else is a template of a string. */
static json_t *plain_literal(const struct herald__node *v)
{
    json_t *lit;

    if (v->quoted) {
        return NULL;
    }
    if (v->null_value) {
        return json_null();
    }
    lit = json_loads(v->scalar, JSON_DECODE_ANY, NULL);
    if (lit != NULL && !json_is_number(lit) && !json_is_boolean(lit)) {
        json_decref(lit);
        return NULL;
    }
    return lit;
}

/* Compile the YAML value v of JSON field `what` into j (zeroed by the
 * caller). Returns 0, or -1 after adding errors to d. */
static int jtree_compile(const struct herald__node *v, const char *what,
                         int depth, struct jtree *j, struct herald__diag *d)
{
    int rc = 0;

    if (depth > JSON_DEPTH_MAX) {
        herald__diag_add(d, v, "'%s' is nested deeper than %d levels", what,
                         JSON_DEPTH_MAX);
        return -1;
    }
    if (v->type == HERALD_NODE_SCALAR) {
        j->lit = plain_literal(v);
        if (j->lit != NULL) {
            j->kind = JT_LITERAL;
            return 0;
        }
        j->kind = JT_TEMPLATE;
        j->t = herald__template_compile(v->scalar, v->file, v->line,
                                        v->col + (v->quoted ? 1 : 0), 0, d);
        return j->t != NULL ? 0 : -1;
    }
    j->kind = v->type == HERALD_NODE_MAP ? JT_OBJECT : JT_ARRAY;
    j->kids = calloc(v->n ? v->n : 1, sizeof *j->kids);
    if (j->kind == JT_OBJECT) {
        j->keys = calloc(v->n ? v->n : 1, sizeof *j->keys);
    }
    if (j->kids == NULL || (j->kind == JT_OBJECT && j->keys == NULL)) {
        herald__diag_add(d, v, "out of memory");
        return -1;
    }
    j->n = v->n;
    for (size_t k = 0; k < v->n; k++) {
        if (j->kind == JT_OBJECT) {
            j->keys[k] = strdup(v->keys[k]);
            if (j->keys[k] == NULL) {
                herald__diag_add(d, v, "out of memory");
                return -1;
            }
        }
        if (jtree_compile(v->items[k], what, depth + 1, &j->kids[k], d) != 0) {
            rc = -1;
        }
    }
    return rc;
}

/* Read entry k of a plugin's field table with the plugin's stride, into a
 * zeroed struct: members a plugin built against an older header lacks
 * read as 0. */
static void read_decl(const struct herald_plugin *def, size_t k,
                      struct herald_field *f)
{
    size_t len = def->field_size < sizeof *f ? def->field_size : sizeof *f;

    memset(f, 0, sizeof *f);
    memcpy(f, (const char *)def->fields + k * def->field_size, len);
}

static int valid_field_name(const char *s)
{
    if (s[0] == '\0' || strlen(s) > FIELD_NAME_MAX) {
        return 0;
    }
    for (; *s; s++) {
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) ||
              *s == '_')) {
            return 0;
        }
    }
    return 1;
}

/* Copy and check the plugin's declaration into n->fields. A broken table
 * is the plugin's fault: reported at `at` (the connector's channel) with
 * the plugin's name. */
static int load_decl(const struct herald_plugin *def,
                     const struct herald__node *at, struct herald__notify *n,
                     struct herald__diag *d)
{
    size_t count = 0;
    struct herald_field f;

    if (def->field_size < offsetof(struct herald_field, help)) {
        herald__diag_add(d, at,
                         "plugin %s: field_size %u is too small for a field "
                         "declaration (set it with HERALD_FIELDS)",
                         def->name, (unsigned)def->field_size);
        return -1;
    }
    for (;; count++) {
        if (count > FIELDS_MAX) {
            herald__diag_add(d, at,
                             "plugin %s declares more than %d fields (is its "
                             "table missing the NULL entry at the end?)",
                             def->name, FIELDS_MAX);
            return -1;
        }
        read_decl(def, count, &f);
        if (f.name == NULL) {
            break;
        }
    }
    n->fields = calloc(count ? count : 1, sizeof *n->fields);
    if (n->fields == NULL) {
        herald__diag_add(d, at, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < count; k++) {
        struct gfield *g = &n->fields[k];
        read_decl(def, k, &f);
        int bad = !valid_field_name(f.name) ||
                  f.kind < HERALD_FIELD_ADDRESS_LIST ||
                  f.kind > HERALD_FIELD_ENUM ||
                  (f.kind == HERALD_FIELD_ENUM &&
                   (f.enum_values == NULL || f.enum_values[0] == NULL));
        bad = bad || herald__section_key(&herald__notify_section, f.name);
        for (size_t o = 0; !bad && o < k; o++) {
            bad = strcmp(f.name, n->fields[o].name) == 0;
        }
        if (bad) {
            herald__diag_add(d, at,
                             "plugin %s: field %zu ('%.*s') is not a valid "
                             "declaration (a unique [a-z0-9_] name other "
                             "than channel, idempotency_key, sensitive, "
                             "allow_sensitive; a known kind; enum values "
                             "for an enum)",
                             def->name, k, FIELD_NAME_MAX, f.name);
            return -1;
        }
        g->name = strdup(f.name);
        g->kind = f.kind;
        if (g->name == NULL) {
            herald__diag_add(d, at, "out of memory");
            return -1;
        }
        n->n_fields = k + 1;
        if (f.kind == HERALD_FIELD_ENUM) {
            size_t ne = 0;
            while (f.enum_values[ne] != NULL) {
                ne++;
            }
            g->enums = calloc(ne + 1, sizeof *g->enums);
            for (size_t e = 0; g->enums != NULL && e < ne; e++) {
                g->enums[e] = strdup(f.enum_values[e]);
                if (g->enums[e] == NULL) {
                    herald__diag_add(d, at, "out of memory");
                    return -1;
                }
            }
            if (g->enums == NULL) {
                herald__diag_add(d, at, "out of memory");
                return -1;
            }
        }
    }
    return 0;
}

/* "a, b, c" of the declared names, for messages. */
static void field_names(const struct herald__notify *n, char *buf,
                        size_t buflen)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t k = 0; k < n->n_fields && used < buflen; k++) {
        int w = snprintf(buf + used, buflen - used, "%s%s", k ? ", " : "",
                         n->fields[k].name);
        if (w < 0) {
            break;
        }
        used += (size_t)w;
    }
}

static int enum_has(const struct gfield *g, const char *v)
{
    for (size_t e = 0; g->enums[e] != NULL; e++) {
        if (strcmp(g->enums[e], v) == 0) {
            return 1;
        }
    }
    return 0;
}

static void enum_list(const struct gfield *g, char *buf, size_t buflen)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t e = 0; g->enums[e] != NULL && used < buflen; e++) {
        int w = snprintf(buf + used, buflen - used, "%s%s", e ? ", " : "",
                         g->enums[e]);
        if (w < 0) {
            break;
        }
        used += (size_t)w;
    }
}

/* A constant enum template is checked now, so herald check finds it. */
static void check_enum_constant(const struct gfield *g,
                                const struct herald__node *v,
                                struct herald__diag *d)
{
    char *out = NULL;
    char why[64];

    if (g->t == NULL || herald__template_n_exprs(g->t) != 0 ||
        herald__template_render(g->t, herald__template_lookup_json, NULL, &out,
                                why, sizeof why) != 0) {
        return;
    }
    if (!enum_has(g, out)) {
        const struct herald__key k = {
            .opt = {.name = g->name,
                    .type = HERALD_OPT_ENUM,
                    .enum_values = (const char *const *)g->enums}};
        herald__key_bad_value(&k, v, NULL, d);
    }
    free(out);
}

/* The `notify:` keys of a channel that declares its fields: the common
 * keys, each declared field (NAME_file too for text), nothing else. */
static void load_fields(const struct herald__node *notify,
                        const struct herald_plugin *def,
                        const struct herald__node *at, const char *config_dir,
                        struct herald__notify *n, struct herald__diag *d)
{
    char names[512];

    if (load_decl(def, at, n, d) != 0) {
        return;
    }
    field_names(n, names, sizeof names);
    for (size_t k = 0; k < notify->n; k++) {
        const char *key = notify->keys[k];
        size_t klen = strlen(key);
        int known = herald__section_key(&herald__notify_section, key) != NULL;
        for (size_t f = 0; !known && f < n->n_fields; f++) {
            const char *fn = n->fields[f].name;
            size_t fl = strlen(fn);
            known =
                strcmp(key, fn) == 0 ||
                (n->fields[f].kind == HERALD_FIELD_TEXT && klen == fl + 5 &&
                 strncmp(key, fn, fl) == 0 && strcmp(key + fl, "_file") == 0);
        }
        if (!known) {
            herald__diag_add(d, notify->key_nodes ? notify->key_nodes[k] : at,
                             "unknown field '%s' for channel '%s' (plugin "
                             "%s takes: %s)",
                             key, n->channel ? n->channel : "?", def->name,
                             names);
        }
    }
    for (size_t k = 0; k < n->n_fields; k++) {
        struct gfield *g = &n->fields[k];
        struct herald_field f;
        char file_key[FIELD_NAME_MAX + 8];
        const struct herald__node *v = herald__node_get(notify, g->name);

        read_decl(def, k, &f);
        snprintf(file_key, sizeof file_key, "%s_file", g->name);
        if (g->kind == HERALD_FIELD_TEXT) {
            compile_body(notify, g->name, file_key, 0, config_dir, &g->t, d);
            v = v ? v : herald__node_get(notify, file_key);
        } else if (v == NULL) {
            /* reported below when required */
        } else if (g->kind == HERALD_FIELD_ADDRESS_LIST) {
            compile_list(v, g->name, &g->list, d);
        } else if (g->kind == HERALD_FIELD_JSON) {
            g->json = calloc(1, sizeof *g->json);
            if (g->json == NULL) {
                herald__diag_add(d, v, "out of memory");
            } else {
                jtree_compile(v, g->name, 0, g->json, d);
            }
        } else {
            g->t = compile_node(v, g->name, 0, d);
            if (g->kind == HERALD_FIELD_ENUM) {
                check_enum_constant(g, v, d);
            }
        }
        if (v == NULL && f.required) {
            herald__diag_add(d, notify,
                             "'%s' is required by channel '%s' (plugin %s)%s%s",
                             g->name, n->channel ? n->channel : "?", def->name,
                             f.help ? ": " : "", f.help ? f.help : "");
        }
    }
}

struct herald__notify *herald__notify_new(const struct herald__node *notify,
                                          const struct herald__node *dedup,
                                          const char *config_dir,
                                          const struct herald__hash_key *hk,
                                          struct herald__diag *d)
{
    return herald__notify_new_for(notify, dedup, NULL, config_dir, hk, d);
}

struct herald__notify *herald__notify_new_for(
    const struct herald__node *notify, const struct herald__node *dedup,
    const struct herald_plugin *channel, const char *config_dir,
    const struct herald__hash_key *hk, struct herald__diag *d)
{
    struct herald__notify *n = NULL;
    const struct herald__node *v;
    const char *channel_name;
    size_t errs = d->n;
    struct herald__diag scratch;
    int declared = channel != NULL && channel->fields != NULL;

    if (notify == NULL || notify->type != HERALD_NODE_MAP) {
        herald__diag_add(d, notify, "'notify' must be a map");
        return NULL;
    }
    if (!declared) {
        check_email_keys(notify, d);
    }
    n = calloc(1, sizeof *n);
    if (n == NULL) {
        herald__diag_add(d, notify, "out of memory");
        return NULL;
    }
    n->hash_key = hk;
    if (hk == NULL) {
        herald__diag_add(d, notify,
                         "a notify connector needs the top-level "
                         "'hash_key' (a secret of at least %d bytes, e.g. "
                         "${file:/run/secrets/herald_hash_key}): the "
                         "Message-ID and dedup marks are a keyed hash of "
                         "the dedup key, which holds record data",
                         HERALD__HASH_KEY_MIN);
    }

    v = herald__node_get(notify, "channel");
    if (!v) {
        herald__diag_add(d, notify,
                         "'channel' is required: the name of an "
                         "entry under 'channels'");
    } else if (herald__section_str(notify, &herald__notify_section, "channel",
                                   &channel_name, d) == 0) {
        n->channel = strdup(channel_name);
        if (!n->channel) {
            herald__diag_add(d, v, "out of memory");
        }
    }

    if (declared) {
        load_fields(notify, channel, v ? v : notify, config_dir, n, d);
    } else {
        load_email(notify, config_dir, n, d);
    }
    if ((v = herald__node_get(notify, "idempotency_key")) != NULL) {
        n->key = compile_node(v, "idempotency_key", 0, d);
    } else if (dedup != NULL && dedup->type == HERALD_NODE_MAP &&
               (v = herald__node_get(dedup, "key")) != NULL) {
        n->key = compile_node(v, "key", 0, d);
    }
    load_sensitive(notify, n, d);

    /* Built-in idempotency keys; constant text, cannot fail to compile. */
    herald__diag_init(&scratch);
    n->key_window = herald__template_compile("{{@key}}@{{@window.start}}",
                                             "<builtin>", 1, 1, 0, &scratch);
    n->key_offset =
        herald__template_compile("{{@topic}}-{{@partition}}-{{@offset}}",
                                 "<builtin>", 1, 1, 0, &scratch);
    herald__diag_cleanup(&scratch);
    if (n->key_window == NULL || n->key_offset == NULL) {
        herald__diag_add(d, notify, "out of memory");
    }

    if (d->n > errs) {
        herald__notify_destroy(n);
        return NULL;
    }
    return n;
}

static const char *field_kind_name(enum herald_field_kind k)
{
    switch (k) {
    case HERALD_FIELD_ADDRESS_LIST:
        return "address list";
    case HERALD_FIELD_ADDRESS:
        return "address";
    case HERALD_FIELD_HEADER_TEXT:
        return "one line";
    case HERALD_FIELD_TEXT:
        return "text";
    case HERALD_FIELD_JSON:
        return "json";
    case HERALD_FIELD_ENUM:
        return "enum";
    }
    return "?";
}

void herald__notify_describe_fields(const struct herald_plugin *p, FILE *out)
{
    struct herald_field f;

    if (p->kind != HERALD_PLUGIN_NOTIFY) {
        return;
    }
    if (p->fields == NULL ||
        p->field_size < offsetof(struct herald_field, help)) {
        fprintf(out, "fields:      email (from, to, cc, reply_to, subject, "
                     "text, html, headers)\n");
        return;
    }
    fprintf(out, "fields:\n");
    for (size_t k = 0; k < FIELDS_MAX; k++) {
        read_decl(p, k, &f);
        if (f.name == NULL) {
            break;
        }
        fprintf(out, "  %s (%s", f.name, field_kind_name(f.kind));
        for (size_t e = 0;
             f.kind == HERALD_FIELD_ENUM && f.enum_values && f.enum_values[e];
             e++) {
            fprintf(out, "%s%s", e ? "|" : ": ", f.enum_values[e]);
        }
        fprintf(out, "%s)\n", f.required ? ", required" : "");
        if (f.help != NULL && f.help[0] != '\0') {
            fprintf(out, "      %s\n", f.help);
        }
    }
}

static void tlist_cleanup(struct tlist *l)
{
    for (size_t k = 0; k < l->n; k++) {
        herald__template_destroy(l->t[k]);
    }
    free(l->t);
}

void herald__notify_destroy(struct herald__notify *n)
{
    if (n == NULL) {
        return;
    }
    for (size_t k = 0; k < n->n_fields; k++) {
        struct gfield *g = &n->fields[k];
        free(g->name);
        for (size_t e = 0; g->enums != NULL && g->enums[e] != NULL; e++) {
            free(g->enums[e]);
        }
        free(g->enums);
        herald__template_destroy(g->t);
        tlist_cleanup(&g->list);
        jtree_cleanup(g->json);
        free(g->json);
    }
    free(n->fields);
    free(n->channel);
    herald__template_destroy(n->from);
    tlist_cleanup(&n->to);
    tlist_cleanup(&n->cc);
    herald__template_destroy(n->reply_to);
    herald__template_destroy(n->subject);
    herald__template_destroy(n->text);
    herald__template_destroy(n->html);
    for (size_t k = 0; k < n->n_headers; k++) {
        free(n->headers[k].name);
        herald__template_destroy(n->headers[k].t);
    }
    free(n->headers);
    herald__template_destroy(n->key);
    herald__template_destroy(n->key_window);
    herald__template_destroy(n->key_offset);
    for (size_t k = 0; k < n->n_sensitive; k++) {
        free(n->sensitive[k]);
    }
    free(n->sensitive);
    free(n);
}

const char *herald__notify_channel(const struct herald__notify *n)
{
    return n ? n->channel : NULL;
}

int herald__notify_default_from(struct herald__notify *n,
                                const struct herald__node *from,
                                struct herald__diag *d)
{
    if (n == NULL || n->from != NULL || from == NULL || n->fields != NULL) {
        return 0;
    }
    n->from = compile_node(from, "from", 0, d);
    return n->from ? 0 : -1;
}

/* ---- Checks ------------------------------------------------------------ */

/* No control character may reach a header or an SMTP command. */
/* The code-point rule of hdrtext.h, TAB refused too: valid UTF-8 and no
 * C0, DEL, C1 (NEL), U+2028 or U+2029. */
static int check_header_value(const char *what, const char *s, char *err,
                              size_t errlen)
{
    size_t off = 0;
    uint32_t cp = 0;

    if (hdrtext_check(s, 0, &off, &cp) == 0) {
        return 0;
    }
    if (cp == HDRTEXT_INVALID) {
        snprintf(err, errlen, "'%s' is not valid UTF-8 (at byte %zu)", what,
                 off);
    } else if (cp == '\r' || cp == '\n' || cp == '\t') {
        snprintf(err, errlen, "'%s' contains a control character (%s)", what,
                 cp == '\r'   ? "CR"
                 : cp == '\n' ? "LF"
                              : "TAB");
    } else if (cp < 0x80) {
        snprintf(err, errlen, "'%s' contains a control character (0x%02x)",
                 what, (unsigned)cp);
    } else {
        snprintf(err, errlen, "'%s' contains a control character (U+%04X)",
                 what, (unsigned)cp);
    }
    return -1;
}

static int is_atext(int ch)
{
    return isalnum(ch) || (ch != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", ch));
}

/* local@domain, ASCII dot-atom and LDH labels. */
static int check_addr_spec(const char *s, size_t len, char *err, size_t errlen)
{
    const char *at = NULL;

    if (len == 0) {
        snprintf(err, errlen, "empty address");
        return -1;
    }
    if (len > ADDRESS_MAX) {
        snprintf(err, errlen, "longer than %d octets", ADDRESS_MAX);
        return -1;
    }
    for (size_t k = 0; k < len; k++) {
        if (s[k] == '@') {
            at = s + k;
        }
    }
    if (at == NULL) {
        snprintf(err, errlen, "no '@'");
        return -1;
    }
    size_t llen = (size_t)(at - s);
    size_t dlen = len - llen - 1;
    if (llen == 0 || llen > 64) {
        snprintf(err, errlen, "the local part must be 1 to 64 octets");
        return -1;
    }
    for (size_t k = 0; k < llen; k++) {
        unsigned char ch = (unsigned char)s[k];
        if (ch == '.') {
            if (k == 0 || k == llen - 1 || s[k - 1] == '.') {
                snprintf(err, errlen, "misplaced '.' in the local part");
                return -1;
            }
        } else if (!is_atext(ch)) {
            if (ch >= 0x21 && ch < 0x7F) {
                snprintf(err, errlen,
                         "character '%c' not allowed in the "
                         "local part",
                         ch);
            } else {
                snprintf(err, errlen,
                         "character 0x%02x not allowed in the "
                         "local part",
                         ch);
            }
            return -1;
        }
    }
    if (dlen == 0 || dlen > 253) {
        snprintf(err, errlen, "the domain must be 1 to 253 octets");
        return -1;
    }
    const char *dom = at + 1;
    size_t label = 0;
    for (size_t k = 0; k <= dlen; k++) {
        unsigned char ch = k < dlen ? (unsigned char)dom[k] : '.';
        if (ch == '.') {
            if (label == 0 || label > 63 || dom[k - 1] == '-' ||
                dom[k - label] == '-') {
                snprintf(err, errlen, "bad domain label");
                return -1;
            }
            label = 0;
        } else if (isalnum(ch) || ch == '-') {
            label++;
        } else {
            if (ch >= 0x21 && ch < 0x7F) {
                snprintf(err, errlen,
                         "character '%c' not allowed in the "
                         "domain",
                         ch);
            } else {
                snprintf(err, errlen,
                         "character 0x%02x not allowed in the "
                         "domain (use punycode)",
                         ch);
            }
            return -1;
        }
    }
    return 0;
}

int herald__notify_check_address(const char *s, char *err, size_t errlen)
{
    size_t len = strlen(s);
    char why[128];

    if (check_header_value("address", s, err, errlen) != 0) {
        return -1;
    }
    if (len > 0 && s[len - 1] == '>') {
        const char *lt = strrchr(s, '<');
        if (lt == NULL) {
            snprintf(err, errlen, "'>' without '<'");
            return -1;
        }
        if (check_addr_spec(lt + 1, (size_t)(s + len - 1 - (lt + 1)), why,
                            sizeof why) != 0) {
            snprintf(err, errlen, "%s", why);
            return -1;
        }
        size_t nlen = (size_t)(lt - s);
        while (nlen > 0 && s[nlen - 1] == ' ') {
            nlen--;
        }
        if (nlen == 0) {
            return 0;
        }
        if (s[0] == '"') {
            if (nlen < 2 || s[nlen - 1] != '"') {
                snprintf(err, errlen, "unterminated quoted display name");
                return -1;
            }
            for (size_t k = 1; k + 1 < nlen; k++) {
                if (s[k] == '"' || s[k] == '\\') {
                    snprintf(err, errlen,
                             "character '%c' not allowed in a "
                             "display name",
                             s[k]);
                    return -1;
                }
            }
            return 0;
        }
        for (size_t k = 0; k < nlen; k++) {
            if (strchr("\"<>,;:@\\()[]", s[k]) != NULL) {
                snprintf(err, errlen,
                         "character '%c' not allowed in an "
                         "unquoted display name",
                         s[k]);
                return -1;
            }
        }
        return 0;
    }
    if (check_addr_spec(s, len, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    return 0;
}

/* ---- Render ------------------------------------------------------------ */

static int lookup_record(void *ctx, const char *path, json_t **out,
                         json_t **owned)
{
    return herald__record_lookup(ctx, path, out, owned);
}

static int render_one(const struct herald__template *t, const char *what,
                      const struct herald_record *r, char **out, char *err,
                      size_t errlen)
{
    char why[512];

    if (herald__template_render(t, lookup_record, (void *)r, out, why,
                                sizeof why) != 0) {
        snprintf(err, errlen, "%s: %s", what, why);
        return -1;
    }
    return 0;
}

static int render_address(const struct herald__template *t, const char *what,
                          const struct herald_record *r, char **out, char *err,
                          size_t errlen)
{
    char why[256];

    if (render_one(t, what, r, out, err, errlen) != 0 ||
        check_header_value(what, *out, err, errlen) != 0) {
        return -1;
    }
    if (herald__notify_check_address(*out, why, sizeof why) != 0) {
        snprintf(err, errlen, "'%s' is not a valid address: %s", what, why);
        return -1;
    }
    return 0;
}

static int render_list(const struct tlist *l, const char *what,
                       const struct herald_record *r, char ***out, char *err,
                       size_t errlen)
{
    if (l->n == 0) {
        return 0;
    }
    *out = calloc(l->n, sizeof **out);
    if (*out == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < l->n; k++) {
        if (render_address(l->t[k], what, r, &(*out)[k], err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

/* CRLF and lone CR become LF. */
static void normalize_newlines(char *s)
{
    char *w = s;
    for (const char *p = s; *p; p++) {
        if (*p == '\r') {
            *w++ = '\n';
            if (p[1] == '\n') {
                p++;
            }
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
}

static int contains(const char *hay, const char *needle)
{
    return hay != NULL && strstr(hay, needle) != NULL;
}

/* The safety net: no sensitive field's full value in anything the
 * recipient reads. */
static int check_sensitive(const struct herald__notify *n,
                           const struct herald_record *r,
                           const struct herald__rendered *m, char *err,
                           size_t errlen)
{
    if (n->allow_sensitive) {
        return 0;
    }
    for (size_t k = 0; k < n->n_sensitive; k++) {
        json_t *v = NULL;
        json_t *owned = NULL;
        int found = 0;
        if (herald__record_lookup(r, n->sensitive[k], &v, &owned) != 0 ||
            v == NULL || json_is_null(v)) {
            json_decref(owned);
            continue;
        }
        char *s = herald__template_value_string(v);
        json_decref(owned);
        if (s == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        /* Short values would match by chance and protect nothing. */
        if (strlen(s) >= SENSITIVE_MIN_LEN) {
            found = contains(m->subject, s) || contains(m->text, s) ||
                    contains(m->html, s) || contains(m->from, s) ||
                    contains(m->reply_to, s);
            for (size_t i = 0; !found && i < m->msg.n_to; i++) {
                found = contains(m->to[i], s);
            }
            for (size_t i = 0; !found && i < m->msg.n_cc; i++) {
                found = contains(m->cc[i], s);
            }
            for (size_t i = 0; !found && i < m->msg.n_headers; i++) {
                found = contains(m->header_values[i], s);
            }
            for (size_t i = 0; !found && i < m->n_fields; i++) {
                found = contains(m->field_values[i], s);
                for (size_t a = 0; !found && a < m->field_n_items[i]; a++) {
                    found = contains(m->field_items[i][a], s);
                }
            }
        }
        free(s);
        if (found) {
            snprintf(err, errlen,
                     "rendered message contains the full value "
                     "of sensitive field '%s'",
                     n->sensitive[k]);
            return -1;
        }
    }
    return 0;
}

/* The dedup key: explicit/dedup template, else the built-in one for the
 * record's shape. A built-in key that cannot be used (no key, odd bytes in
 * it) falls back to the record's coordinates. */
static int render_dedup_key(const struct herald__notify *n,
                            const struct herald_record *r, char **out,
                            char *err, size_t errlen)
{
    char why[256];

    if (n->key != NULL) {
        if (render_one(n->key, "idempotency_key", r, out, err, errlen) != 0) {
            return -1;
        }
        return check_header_value("idempotency_key", *out, err, errlen);
    }
    if (r->has_window &&
        herald__template_render(n->key_window, lookup_record, (void *)r, out,
                                why, sizeof why) == 0) {
        if (check_header_value("idempotency_key", *out, why, sizeof why) == 0) {
            return 0;
        }
        free(*out);
        *out = NULL;
    }
    return render_one(n->key_offset, "idempotency_key", r, out, err, errlen);
}

/* The idempotency key a channel gets: HMAC-SHA-256 of the dedup key under
 * the deployment's hash_key, as hex. The dedup key holds record data (by
 * default the card number); only this keyed value leaves herald, so the
 * card number cannot be brute-forced back out of a Message-ID. */
static int render_key(const struct herald__notify *n,
                      const struct herald_record *r, char **out, char *err,
                      size_t errlen)
{
    char *plain = NULL;

    *out = NULL;
    if (render_dedup_key(n, r, &plain, err, errlen) != 0) {
        free(plain);
        return -1;
    }
    *out = herald__hmac_hex_dup(n->hash_key, plain);
    free(plain);
    if (*out == NULL) {
        snprintf(err, errlen, "idempotency_key: keyed hash failed");
        return -1;
    }
    return 0;
}

int herald__notify_key(const struct herald__notify *n,
                       const struct herald_record *r, char **out, char *err,
                       size_t errlen)
{
    return render_key(n, r, out, err, errlen);
}

/* Valid UTF-8 throughout (newlines and other controls allowed: a text
 * field is never a header, and JSON escapes them). */
static int check_utf8(const char *what, const char *s, char *err, size_t errlen)
{
    size_t len = strlen(s);
    uint32_t cp;

    for (size_t off = 0; off < len;) {
        size_t k =
            hdrtext_utf8_next((const unsigned char *)s + off, len - off, &cp);
        if (k == 0) {
            snprintf(err, errlen, "'%s' is not valid UTF-8 (at byte %zu)", what,
                     off);
            return -1;
        }
        off += k;
    }
    return 0;
}

/* Build the JSON value of a compiled tree for record r. */
static json_t *jtree_render(const struct jtree *j, const char *what,
                            const struct herald_record *r, char *err,
                            size_t errlen)
{
    json_t *out = NULL;
    char *s = NULL;

    switch (j->kind) {
    case JT_LITERAL:
        return json_incref(j->lit);
    case JT_TEMPLATE:
        if (render_one(j->t, what, r, &s, err, errlen) != 0 ||
            check_utf8(what, s, err, errlen) != 0) {
            free(s);
            return NULL;
        }
        out = json_string(s);
        free(s);
        break;
    case JT_OBJECT:
    case JT_ARRAY:
        out = j->kind == JT_OBJECT ? json_object() : json_array();
        for (size_t k = 0; out != NULL && k < j->n; k++) {
            json_t *kid = jtree_render(&j->kids[k], what, r, err, errlen);
            int rc = -1;
            if (kid == NULL) {
                json_decref(out);
                return NULL;
            }
            rc = j->kind == JT_OBJECT
                     ? json_object_set_new(out, j->keys[k], kid)
                     : json_array_append_new(out, kid);
            if (rc != 0) {
                json_decref(out);
                out = NULL;
            }
        }
        break;
    }
    if (out == NULL) {
        snprintf(err, errlen, "%s: out of memory", what);
    }
    return out;
}

/* Render one declared field into the message's storage slot k. */
static int render_field(const struct gfield *g, const struct herald_record *r,
                        struct herald__rendered *m, size_t k, char *err,
                        size_t errlen)
{
    struct herald_field_value *fv = &m->fields[k];
    char **value = &m->field_values[k];
    char all[512];

    fv->name = g->name;
    switch (g->kind) {
    case HERALD_FIELD_ADDRESS_LIST:
        if (g->list.n == 0) {
            return 0;
        }
        if (render_list(&g->list, g->name, r, &m->field_items[k], err,
                        errlen) != 0) {
            m->field_n_items[k] = g->list.n;
            return -1;
        }
        m->field_n_items[k] = g->list.n;
        fv->items = (const char *const *)m->field_items[k];
        fv->n_items = g->list.n;
        fv->value = fv->items[0];
        return 0;
    case HERALD_FIELD_JSON: {
        if (g->json == NULL) {
            return 0;
        }
        json_t *j = jtree_render(g->json, g->name, r, err, errlen);
        if (j == NULL) {
            return -1;
        }
        *value = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(j);
        if (*value == NULL) {
            snprintf(err, errlen, "%s: out of memory", g->name);
            return -1;
        }
        break;
    }
    case HERALD_FIELD_ADDRESS:
        if (g->t != NULL &&
            render_address(g->t, g->name, r, value, err, errlen) != 0) {
            return -1;
        }
        break;
    case HERALD_FIELD_TEXT:
        if (g->t != NULL &&
            (render_one(g->t, g->name, r, value, err, errlen) != 0 ||
             check_utf8(g->name, *value, err, errlen) != 0)) {
            return -1;
        }
        if (*value != NULL) {
            normalize_newlines(*value);
        }
        break;
    case HERALD_FIELD_HEADER_TEXT:
    case HERALD_FIELD_ENUM:
        if (g->t != NULL &&
            (render_one(g->t, g->name, r, value, err, errlen) != 0 ||
             check_header_value(g->name, *value, err, errlen) != 0)) {
            return -1;
        }
        if (*value != NULL && g->kind == HERALD_FIELD_ENUM &&
            !enum_has(g, *value)) {
            enum_list(g, all, sizeof all);
            snprintf(err, errlen, "'%s' must be one of: %s", g->name, all);
            return -1;
        }
        break;
    }
    fv->value = *value;
    return 0;
}

static int render_fields(const struct herald__notify *n,
                         const struct herald_record *r,
                         struct herald__rendered *m, char *err, size_t errlen)
{
    size_t c = n->n_fields ? n->n_fields : 1;

    m->fields = calloc(c, sizeof *m->fields);
    m->field_values = calloc(c, sizeof *m->field_values);
    m->field_items = calloc(c, sizeof *m->field_items);
    m->field_n_items = calloc(c, sizeof *m->field_n_items);
    if (m->fields == NULL || m->field_values == NULL ||
        m->field_items == NULL || m->field_n_items == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    m->n_fields = n->n_fields;
    for (size_t k = 0; k < n->n_fields; k++) {
        if (render_field(&n->fields[k], r, m, k, err, errlen) != 0) {
            return -1;
        }
    }
    m->msg.fields = m->fields;
    m->msg.n_fields = n->n_fields;
    return 0;
}

int herald__notify_render(const struct herald__notify *n,
                          const struct herald_record *r,
                          struct herald__rendered **out, char *err,
                          size_t errlen)
{
    struct herald__rendered *m = NULL;
    struct herald_message *msg;

    *out = NULL;
    m = calloc(1, sizeof *m);
    if (m == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    msg = &m->msg;
    msg->struct_size = sizeof *msg;
    msg->header_size = sizeof(struct herald_header);
    msg->topic = r->topic;
    msg->partition = r->partition;
    msg->offset = r->offset;
    msg->record = r;

    if (n->fields != NULL) {
        if (render_fields(n, r, m, err, errlen) != 0 ||
            render_key(n, r, &m->idempotency_key, err, errlen) != 0) {
            goto fail;
        }
        msg->idempotency_key = m->idempotency_key;
        if (check_sensitive(n, r, m, err, errlen) != 0) {
            goto fail;
        }
        *out = m;
        return 0;
    }
    if (n->from != NULL &&
        render_address(n->from, "from", r, &m->from, err, errlen) != 0) {
        goto fail;
    }
    if (render_list(&n->to, "to", r, &m->to, err, errlen) != 0) {
        goto fail;
    }
    msg->n_to = n->to.n;
    if (render_list(&n->cc, "cc", r, &m->cc, err, errlen) != 0) {
        goto fail;
    }
    msg->n_cc = n->cc.n;
    if (n->reply_to != NULL && render_address(n->reply_to, "reply_to", r,
                                              &m->reply_to, err, errlen) != 0) {
        goto fail;
    }
    if (render_one(n->subject, "subject", r, &m->subject, err, errlen) != 0 ||
        check_header_value("subject", m->subject, err, errlen) != 0) {
        goto fail;
    }
    if (n->text != NULL) {
        if (render_one(n->text, "text", r, &m->text, err, errlen) != 0) {
            goto fail;
        }
        normalize_newlines(m->text);
    }
    if (n->html != NULL) {
        if (render_one(n->html, "html", r, &m->html, err, errlen) != 0) {
            goto fail;
        }
        normalize_newlines(m->html);
    }
    if (n->n_headers > 0) {
        m->headers = calloc(n->n_headers, sizeof *m->headers);
        m->header_values = calloc(n->n_headers, sizeof *m->header_values);
        if (m->headers == NULL || m->header_values == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        for (size_t k = 0; k < n->n_headers; k++) {
            const char *name = n->headers[k].name;
            if (render_one(n->headers[k].t, name, r, &m->header_values[k], err,
                           errlen) != 0 ||
                check_header_value(name, m->header_values[k], err, errlen) !=
                    0) {
                goto fail;
            }
            m->headers[k].name = name;
            m->headers[k].value = m->header_values[k];
            msg->n_headers = k + 1;
        }
    }
    if (render_key(n, r, &m->idempotency_key, err, errlen) != 0) {
        goto fail;
    }
    msg->from = m->from;
    msg->to = (const char *const *)m->to;
    msg->cc = (const char *const *)m->cc;
    msg->reply_to = m->reply_to;
    msg->subject = m->subject;
    msg->text = m->text;
    msg->html = m->html;
    msg->headers = m->headers;
    msg->idempotency_key = m->idempotency_key;
    if (check_sensitive(n, r, m, err, errlen) != 0) {
        goto fail;
    }
    *out = m;
    return 0;
fail:
    /* Lists are sized by the notify, not by what was filled. */
    msg->n_to = n->to.n;
    msg->n_cc = n->cc.n;
    msg->n_headers = n->n_headers;
    herald__rendered_destroy(m);
    return -1;
}

const struct herald_message *
herald__rendered_message(const struct herald__rendered *m)
{
    return m ? &m->msg : NULL;
}

void herald__rendered_destroy(struct herald__rendered *m)
{
    if (m == NULL) {
        return;
    }
    free(m->from);
    for (size_t k = 0; m->to != NULL && k < m->msg.n_to; k++) {
        free(m->to[k]);
    }
    free(m->to);
    for (size_t k = 0; m->cc != NULL && k < m->msg.n_cc; k++) {
        free(m->cc[k]);
    }
    free(m->cc);
    free(m->reply_to);
    free(m->subject);
    free(m->text);
    free(m->html);
    for (size_t k = 0; m->header_values != NULL && k < m->msg.n_headers; k++) {
        free(m->header_values[k]);
    }
    free(m->header_values);
    free(m->headers);
    for (size_t k = 0; k < m->n_fields; k++) {
        free(m->field_values[k]);
        for (size_t a = 0; m->field_items[k] != NULL && a < m->field_n_items[k];
             a++) {
            free(m->field_items[k][a]);
        }
        free(m->field_items[k]);
    }
    free(m->fields);
    free(m->field_values);
    free(m->field_items);
    free(m->field_n_items);
    free(m->idempotency_key);
    free(m);
}
