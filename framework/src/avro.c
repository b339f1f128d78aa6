/*
 * avro.c - Avro schemas (validated by avro-c, walked with jansson for logical
 * types, then compiled to a flat array of decode steps) and a bounds-checked
 * Avro binary decoder that builds compact values in an arena (value.h), or
 * jansson trees through it. The only file that includes avro-c. Contract in
 * avro_decode.h.
 */
#include "avro_decode.h"

#include <avro.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "bytes.h"
#include "decode_budget.h"
#include "value.h"

#define MAX_SCHEMA_DEPTH 64
#define MAX_DECODE_DEPTH 128
#define MAX_DECIMAL_BYTES 1024
#define MAX_DECIMAL_SCALE 1000
/* Avro float and double: 4 and 8 bytes, little-endian IEEE 754. */
#define AVRO_FLOAT_SIZE 4
#define AVRO_DOUBLE_SIZE 8
/* A varint carries 7 bits per byte; the high bit says more follow. */
#define VARINT_BITS 7
#define VARINT_MORE 0x80
#define VARINT_PAYLOAD 0x7f
/* The last shift of a 64-bit varint, whose byte may carry only bit 0. */
#define VARINT_LAST_SHIFT 63
#define VARINT_LAST_EXTRA 0x7e
/* Varint bytes that cannot overflow 64 bits (9 * 7 = 63). */
#define VARINT_FAST_BYTES 9
/* Decimal digits per byte of a two's-complement decimal, rounded up
 * (2.41). */
#define DIGITS_PER_BYTE 3
/* The unscaled value is divided by 10^9 at a time, nine digits a pass. */
#define DIGIT_CHUNK 1000000000u
#define DIGIT_CHUNK_DIGITS 9
/* Sign, point and NUL around a decimal's digits. */
#define DECIMAL_EXTRA_CHARS 3
/* A float's shortest round-trip decimal has 6 to 9 significant digits. */
#define FLOAT_MIN_PRECISION 6
#define FLOAT_MAX_PRECISION 9
#define FLOAT_TEXT_MAX 32
/* Room for a budget error from decode_budget.c. */
#define BUDGET_ERR_MAX 384
/* The first size of the schema's node array; doubled from there. */
#define NODES_FIRST_CAP 16
/* The high bit of each byte of a word: set in any non-ASCII byte. */
#define ASCII_HIGH_BITS 0x8080808080808080ull
/* Bytes as code points U+0000..U+00FF: below 0x80 one byte, else a
 * two-byte UTF-8 sequence (lead 110xxxxx, continuation 10xxxxxx). */
#define BYTE_ASCII_END 0x80
#define UTF8_LEAD2 0xc0
#define UTF8_CONT 0x80
#define UTF8_CONT_BITS 6
#define UTF8_CONT_MASK 0x3f
/* A map with at most this many keys finds a repeated key by scanning;
 * a larger one keeps a hash index (MAP_INDEX_FIRST slots at first). */
#define MAP_LINEAR_MAX 16
#define MAP_INDEX_FIRST 64
/* The most a decode takes from its arena for a string pool. */
#define STR_POOL_MAX (16u * 1024u)
/* The map key hash: a 64-bit odd multiplier (2^64 / golden ratio) and
 * the shift that folds the high half down. */
#define HASH_MUL 0x9e3779b97f4a7c15ull
#define HASH_SHIFT 32

enum kind {
    K_NULL,
    K_BOOLEAN,
    K_INT,
    K_LONG,
    K_FLOAT,
    K_DOUBLE,
    K_BYTES,
    K_STRING,
    K_RECORD,
    K_ENUM,
    K_ARRAY,
    K_MAP,
    K_UNION,
    K_FIXED,
};

struct node {
    enum kind kind;
    size_t idx;         /* position in the schema's nodes and steps */
    char *name;         /* fullname of a record, enum or fixed */
    int decimal;        /* logicalType decimal (bytes, fixed), valid */
    int scale;          /* decimal scale */
    size_t size;        /* fixed size */
    size_t n;           /* record fields, enum symbols, union branches */
    struct node **sub;  /* record field types, union branches */
    char **names;       /* record field names, enum symbols */
    struct node *items; /* array items, map values */
    size_t min_size;    /* least bytes one value encodes to */
    int min_state;      /* 0 not computed, 1 computing, 2 done */
    uint64_t names_len; /* record: total bytes of its field names */
    /* Least a decoded value builds (JSON values, string bytes): what a
     * block count is multiplied by before its items are decoded. */
    uint64_t min_nodes;
    uint64_t min_bytes;
    int build_state; /* 0 not computed, 1 computing, 2 done */
};

/* One node compiled for the decoder: everything a value of it needs,
 * precomputed, children by pointer into the same flat array, so a decode
 * does no lookup, no strlen and no allocation besides the arena's. */
struct step {
    enum kind kind;
    int decimal;              /* bytes, fixed: a valid decimal */
    int scale;                /* decimal scale */
    size_t size;              /* fixed size */
    size_t n;                 /* record fields, enum symbols, branches */
    const struct step **sub;  /* record field types, union branches */
    const struct step *items; /* array items, map values */
    size_t min_each;          /* array, map: least bytes of one entry */
    uint64_t min_nodes;       /* least a value builds (see min_build) */
    uint64_t min_bytes;
    /* record: its members (distinct field names, first position),
     * the member each field fills, and the names as one blob of
     * NUL-terminated strings copied into the arena once per decode */
    size_t members;
    size_t rec; /* this record's index among the schema's records */
    uint32_t *slot;
    char *blob;
    size_t blob_len;
    uint32_t *name_off;
    uint32_t *name_len; /* record: member name lengths; enum: symbols' */
    uint64_t names_len; /* record: every field name's bytes, charged */
    char **symbols;     /* enum: the node's symbols */
    const char *fullname;
};

struct herald__avro_schema {
    struct node **nodes; /* owns every node */
    size_t n_nodes;
    size_t cap;
    struct node *root;
    struct step *steps; /* one per node, same order */
    const struct step *root_step;
    size_t n_records;
    uint64_t seed; /* keys the map key hash */
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- schema ---------------------------------------------------------- */

static struct node *node_add(struct herald__avro_schema *s, enum kind k)
{
    struct node *n;

    if (s->n_nodes == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : NODES_FIRST_CAP;
        struct node **nodes = realloc(s->nodes, cap * sizeof *nodes);
        if (!nodes) {
            return NULL;
        }
        s->nodes = nodes;
        s->cap = cap;
    }
    n = calloc(1, sizeof *n);
    if (!n) {
        return NULL;
    }
    n->kind = k;
    n->idx = s->n_nodes;
    s->nodes[s->n_nodes++] = n;
    return n;
}

static void node_free(struct node *n)
{
    size_t i;

    if (!n) {
        return;
    }
    if (n->names) {
        for (i = 0; i < n->n; i++) {
            free(n->names[i]);
        }
    }
    free(n->names);
    free(n->sub);
    free(n->name);
    free(n);
}

void herald__avro_schema_destroy(struct herald__avro_schema *s)
{
    size_t i;

    if (!s) {
        return;
    }
    for (i = 0; i < s->n_nodes; i++) {
        node_free(s->nodes[i]);
    }
    if (s->steps) {
        for (i = 0; i < s->n_nodes; i++) {
            struct step *st = &s->steps[i];
            free((void *)st->sub);
            free(st->slot);
            free(st->blob);
            free(st->name_off);
            free(st->name_len);
        }
    }
    free(s->steps);
    free(s->nodes);
    free(s);
}

static const struct {
    const char *name;
    enum kind kind;
} primitives[] = {
    {"null", K_NULL},   {"boolean", K_BOOLEAN}, {"int", K_INT},
    {"long", K_LONG},   {"float", K_FLOAT},     {"double", K_DOUBLE},
    {"bytes", K_BYTES}, {"string", K_STRING},
};

static int primitive_kind(const char *name, enum kind *out)
{
    size_t i;

    for (i = 0; i < sizeof primitives / sizeof primitives[0]; i++) {
        if (strcmp(name, primitives[i].name) == 0) {
            *out = primitives[i].kind;
            return 0;
        }
    }
    return -1;
}

static struct node *find_named(const struct herald__avro_schema *s,
                               const char *fullname)
{
    size_t i;

    for (i = 0; i < s->n_nodes; i++) {
        if (s->nodes[i]->name && strcmp(s->nodes[i]->name, fullname) == 0) {
            return s->nodes[i];
        }
    }
    return NULL;
}

/* Full name of a named type: a dotted name is already full; otherwise the
 * explicit namespace, else the enclosing one. Returns malloc'd or NULL. */
static char *full_name(const char *name, const char *ns)
{
    char *out;
    size_t len;

    if (strchr(name, '.') || !ns || ns[0] == '\0') {
        return strdup(name);
    }
    len = strlen(ns) + 1 + strlen(name) + 1;
    out = malloc(len);
    if (out) {
        snprintf(out, len, "%s.%s", ns, name);
    }
    return out;
}

/* The namespace a full name defines for the names nested in it. */
static char *name_space(const char *fullname)
{
    const char *dot = strrchr(fullname, '.');

    if (!dot) {
        return strdup("");
    }
    return strndup(fullname, (size_t)(dot - fullname));
}

static struct node *resolve_ref(const struct herald__avro_schema *s,
                                const char *name, const char *ns)
{
    struct node *n;
    char *full;

    full = full_name(name, ns);
    if (!full) {
        return NULL;
    }
    n = find_named(s, full);
    free(full);
    if (!n) {
        n = find_named(s, name);
    }
    return n;
}

/* Read a decimal's precision and scale; set n->decimal only when they are
 * valid (the spec says an invalid logical type is ignored). */
static void parse_logical(struct node *n, json_t *j)
{
    const char *lt = json_string_value(json_object_get(j, "logicalType"));
    json_t *prec = json_object_get(j, "precision");
    json_t *scale = json_object_get(j, "scale");
    json_int_t p;
    json_int_t sc = 0;

    if (!lt || strcmp(lt, "decimal") != 0) {
        return;
    }
    if (n->kind != K_BYTES && n->kind != K_FIXED) {
        return;
    }
    if (!json_is_integer(prec)) {
        return;
    }
    p = json_integer_value(prec);
    if (scale) {
        if (!json_is_integer(scale)) {
            return;
        }
        sc = json_integer_value(scale);
    }
    if (p <= 0 || sc < 0 || sc > p || sc > MAX_DECIMAL_SCALE) {
        return;
    }
    n->decimal = 1;
    n->scale = (int)sc;
}

static struct node *parse_node(struct herald__avro_schema *s, json_t *j,
                               const char *ns, int depth, char *err,
                               size_t errlen);

static int parse_record(struct herald__avro_schema *s, struct node *n,
                        json_t *j, int depth, char *err, size_t errlen)
{
    json_t *fields = json_object_get(j, "fields");
    char *inner_ns = NULL;
    size_t i;
    int rc = -1;

    if (!json_is_array(fields)) {
        set_err(err, errlen, "record %s has no fields array", n->name);
        goto out;
    }
    inner_ns = name_space(n->name);
    n->n = json_array_size(fields);
    n->sub = calloc(n->n ? n->n : 1, sizeof *n->sub);
    n->names = calloc(n->n ? n->n : 1, sizeof *n->names);
    if (!inner_ns || !n->sub || !n->names) {
        set_err(err, errlen, "out of memory");
        goto out;
    }
    for (i = 0; i < n->n; i++) {
        json_t *f = json_array_get(fields, i);
        const char *fname = json_string_value(json_object_get(f, "name"));
        json_t *ftype = json_object_get(f, "type");

        if (!fname || !ftype) {
            set_err(err, errlen, "record %s: field %zu has no name or type",
                    n->name, i);
            goto out;
        }
        n->names[i] = strdup(fname);
        n->names_len += strlen(fname);
        if (!n->names[i]) {
            set_err(err, errlen, "out of memory");
            goto out;
        }
        n->sub[i] = parse_node(s, ftype, inner_ns, depth + 1, err, errlen);
        if (!n->sub[i]) {
            goto out;
        }
    }
    rc = 0;
out:
    free(inner_ns);
    return rc;
}

static int parse_enum(struct node *n, json_t *j, char *err, size_t errlen)
{
    json_t *symbols = json_object_get(j, "symbols");
    size_t i;

    if (!json_is_array(symbols)) {
        set_err(err, errlen, "enum %s has no symbols array", n->name);
        return -1;
    }
    n->n = json_array_size(symbols);
    n->names = calloc(n->n ? n->n : 1, sizeof *n->names);
    if (!n->names) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    for (i = 0; i < n->n; i++) {
        const char *sym = json_string_value(json_array_get(symbols, i));
        if (!sym) {
            set_err(err, errlen, "enum %s: symbol %zu is not a string", n->name,
                    i);
            return -1;
        }
        n->names[i] = strdup(sym);
        if (!n->names[i]) {
            set_err(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* A named type (record, enum, fixed): registered before its body is parsed
 * so that a record may refer to itself. */
static struct node *parse_named(struct herald__avro_schema *s, json_t *j,
                                enum kind k, const char *ns, int depth,
                                char *err, size_t errlen)
{
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *own_ns = json_string_value(json_object_get(j, "namespace"));
    char *fullname;
    struct node *n;

    if (!name) {
        set_err(err, errlen, "named type without a name");
        return NULL;
    }
    fullname = full_name(name, own_ns ? own_ns : ns);
    if (!fullname) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    /* A name defined twice is invalid Avro, and avro-c 1.11.1 leaks the
     * half-built schema when it refuses one (fuzz_schema found it), so it
     * is refused here, before avro-c sees the schema. */
    if (find_named(s, fullname)) {
        set_err(err, errlen, "named type %s is defined twice", fullname);
        free(fullname);
        return NULL;
    }
    n = node_add(s, k);
    if (!n) {
        set_err(err, errlen, "out of memory");
        free(fullname);
        return NULL;
    }
    n->name = fullname;
    if (k == K_RECORD) {
        if (parse_record(s, n, j, depth, err, errlen) != 0) {
            return NULL;
        }
    } else if (k == K_ENUM) {
        if (parse_enum(n, j, err, errlen) != 0) {
            return NULL;
        }
    } else {
        json_t *size = json_object_get(j, "size");
        if (!json_is_integer(size) || json_integer_value(size) < 0) {
            set_err(err, errlen, "fixed %s has no valid size", n->name);
            return NULL;
        }
        n->size = (size_t)json_integer_value(size);
        parse_logical(n, j);
    }
    return n;
}

static struct node *parse_object(struct herald__avro_schema *s, json_t *j,
                                 const char *ns, int depth, char *err,
                                 size_t errlen)
{
    json_t *type = json_object_get(j, "type");
    const char *t = json_string_value(type);
    struct node *n;
    enum kind k;

    if (!type) {
        set_err(err, errlen, "schema object without a type");
        return NULL;
    }
    if (!t) {
        /* {"type": {...}} or {"type": [...]}: the inner schema. */
        return parse_node(s, type, ns, depth + 1, err, errlen);
    }
    if (primitive_kind(t, &k) == 0) {
        n = node_add(s, k);
        if (!n) {
            set_err(err, errlen, "out of memory");
            return NULL;
        }
        parse_logical(n, j);
        return n;
    }
    if (strcmp(t, "record") == 0 || strcmp(t, "error") == 0) {
        return parse_named(s, j, K_RECORD, ns, depth, err, errlen);
    }
    if (strcmp(t, "enum") == 0) {
        return parse_named(s, j, K_ENUM, ns, depth, err, errlen);
    }
    if (strcmp(t, "fixed") == 0) {
        return parse_named(s, j, K_FIXED, ns, depth, err, errlen);
    }
    if (strcmp(t, "array") == 0 || strcmp(t, "map") == 0) {
        int is_array = t[0] == 'a';
        json_t *inner = json_object_get(j, is_array ? "items" : "values");
        if (!inner) {
            set_err(err, errlen, "%s without %s", t,
                    is_array ? "items" : "values");
            return NULL;
        }
        n = node_add(s, is_array ? K_ARRAY : K_MAP);
        if (!n) {
            set_err(err, errlen, "out of memory");
            return NULL;
        }
        n->items = parse_node(s, inner, ns, depth + 1, err, errlen);
        return n->items ? n : NULL;
    }
    n = resolve_ref(s, t, ns);
    if (!n) {
        set_err(err, errlen, "unknown type name %s", t);
    }
    return n;
}

static struct node *parse_node(struct herald__avro_schema *s, json_t *j,
                               const char *ns, int depth, char *err,
                               size_t errlen)
{
    struct node *n;
    enum kind k;
    size_t i;

    if (depth > MAX_SCHEMA_DEPTH) {
        set_err(err, errlen, "schema nested deeper than %d", MAX_SCHEMA_DEPTH);
        return NULL;
    }
    if (json_is_string(j)) {
        const char *t = json_string_value(j);
        if (primitive_kind(t, &k) == 0) {
            n = node_add(s, k);
            if (!n) {
                set_err(err, errlen, "out of memory");
            }
            return n;
        }
        n = resolve_ref(s, t, ns);
        if (!n) {
            set_err(err, errlen, "unknown type name %s", t);
        }
        return n;
    }
    if (json_is_array(j)) {
        n = node_add(s, K_UNION);
        if (!n) {
            set_err(err, errlen, "out of memory");
            return NULL;
        }
        n->n = json_array_size(j);
        n->sub = calloc(n->n ? n->n : 1, sizeof *n->sub);
        if (!n->sub) {
            set_err(err, errlen, "out of memory");
            return NULL;
        }
        for (i = 0; i < n->n; i++) {
            n->sub[i] =
                parse_node(s, json_array_get(j, i), ns, depth + 1, err, errlen);
            if (!n->sub[i]) {
                return NULL;
            }
        }
        return n;
    }
    if (json_is_object(j)) {
        return parse_object(s, j, ns, depth, err, errlen);
    }
    set_err(err, errlen, "schema is not a string, array or object");
    return NULL;
}

/* Least number of bytes a value of n encodes to. A type that refers to
 * itself counts as 0 inside its own computation, which keeps this a lower
 * bound (all it is used for). */
static size_t min_size(struct node *n)
{
    size_t total = 0;
    size_t i;

    if (n->min_state == 2) {
        return n->min_size;
    }
    if (n->min_state == 1) {
        return 0;
    }
    n->min_state = 1;
    switch (n->kind) {
    case K_NULL:
        total = 0;
        break;
    case K_FLOAT:
        total = AVRO_FLOAT_SIZE;
        break;
    case K_DOUBLE:
        total = AVRO_DOUBLE_SIZE;
        break;
    case K_FIXED:
        total = n->size;
        break;
    case K_RECORD:
        for (i = 0; i < n->n; i++) {
            size_t m = min_size(n->sub[i]);
            total = total + m < total ? SIZE_MAX : total + m;
        }
        break;
    default: /* varint-led: boolean, int, long, bytes, string, enum,
                array, map, union */
        total = 1;
        break;
    }
    n->min_size = total;
    n->min_state = 2;
    return total;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* Least JSON values and string bytes one decoded value of n builds. A type
 * that refers to itself counts as one value inside its own computation,
 * which keeps both lower bounds (all they are used for). */
static void min_build(struct node *n)
{
    uint64_t nodes = 1;
    uint64_t bytes = 0;
    size_t i;

    if (n->build_state != 0) {
        return;
    }
    n->build_state = 1;
    n->min_nodes = 1;
    n->min_bytes = 0;
    switch (n->kind) {
    case K_FIXED:
        bytes = n->decimal ? 1 : n->size;
        break;
    case K_ENUM:
        for (i = 0; i < n->n; i++) {
            uint64_t len = strlen(n->names[i]);
            bytes = i == 0 || len < bytes ? len : bytes;
        }
        break;
    case K_RECORD:
        bytes = n->names_len;
        for (i = 0; i < n->n; i++) {
            min_build(n->sub[i]);
            nodes = sat_add(nodes, n->sub[i]->min_nodes);
            bytes = sat_add(bytes, n->sub[i]->min_bytes);
        }
        break;
    case K_UNION:
        /* the chosen branch's value, unwrapped */
        for (i = 0; i < n->n; i++) {
            min_build(n->sub[i]);
            if (i == 0 || n->sub[i]->min_nodes < nodes) {
                nodes = n->sub[i]->min_nodes;
            }
            if (i == 0 || n->sub[i]->min_bytes < bytes) {
                bytes = n->sub[i]->min_bytes;
            }
        }
        if (nodes == 0) {
            nodes = 1;
        }
        break;
    default: /* one scalar, or an empty array or map */
        break;
    }
    n->min_nodes = nodes;
    n->min_bytes = bytes;
    n->build_state = 2;
}

/* A record's members: its distinct field names in first-position order
 * (a repeated name keeps the first position and takes the last field's
 * value, as jansson's json_object_set did), their lengths and offsets in
 * one blob. Quadratic in the fields, once per schema. */
static int compile_record(struct step *st, const struct node *n)
{
    size_t i;
    size_t j;
    size_t off = 0;

    st->slot = calloc(n->n ? n->n : 1, sizeof *st->slot);
    st->name_off = calloc(n->n ? n->n : 1, sizeof *st->name_off);
    st->name_len = calloc(n->n ? n->n : 1, sizeof *st->name_len);
    if (!st->slot || !st->name_off || !st->name_len) {
        return -1;
    }
    for (i = 0; i < n->n; i++) {
        for (j = 0; j < i && strcmp(n->names[j], n->names[i]) != 0; j++) {
        }
        if (j < i) {
            st->slot[i] = st->slot[j];
            continue;
        }
        st->slot[i] = (uint32_t)st->members;
        st->name_off[st->members] = (uint32_t)off;
        st->name_len[st->members] = (uint32_t)strlen(n->names[i]);
        off += st->name_len[st->members] + 1;
        st->members++;
    }
    st->blob = malloc(off ? off : 1);
    if (!st->blob) {
        return -1;
    }
    for (i = 0; i < st->members; i++) {
        for (j = 0; st->slot[j] != i; j++) {
        }
        memcpy(st->blob + st->name_off[i], n->names[j], st->name_len[i] + 1);
    }
    st->blob_len = off;
    st->names_len = n->names_len;
    return 0;
}

/* The flat decode program: one step per node (see struct step). */
static int compile(struct herald__avro_schema *s)
{
    size_t i;
    size_t k;

    /* A schema whose text is far below 4 GB cannot overflow the 32-bit
     * counts and offsets; refuse one that could. */
    if (s->n_nodes > HERALD__VAL_MAX_N) {
        return -1;
    }
    s->steps = calloc(s->n_nodes ? s->n_nodes : 1, sizeof *s->steps);
    if (!s->steps) {
        return -1;
    }
    for (i = 0; i < s->n_nodes; i++) {
        const struct node *n = s->nodes[i];
        struct step *st = &s->steps[i];

        st->kind = n->kind;
        st->decimal = n->decimal;
        st->scale = n->scale;
        st->size = n->size;
        st->n = n->n;
        st->min_nodes = n->min_nodes;
        st->min_bytes = n->min_bytes;
        st->fullname = n->name;
        if (n->n > HERALD__VAL_MAX_N) {
            return -1;
        }
        if (n->items) {
            st->items = &s->steps[n->items->idx];
            st->min_each = n->items->min_size + (n->kind == K_MAP ? 1 : 0);
        }
        if (n->sub) {
            st->sub = calloc(n->n ? n->n : 1, sizeof *st->sub);
            if (!st->sub) {
                return -1;
            }
            for (k = 0; k < n->n; k++) {
                st->sub[k] = &s->steps[n->sub[k]->idx];
            }
        }
        if (n->kind == K_ENUM) {
            st->symbols = n->names;
            st->name_len = calloc(n->n ? n->n : 1, sizeof *st->name_len);
            if (!st->name_len) {
                return -1;
            }
            for (k = 0; k < n->n; k++) {
                st->name_len[k] = (uint32_t)strlen(n->names[k]);
            }
        }
        if (n->kind == K_RECORD) {
            st->rec = s->n_records++;
            if (compile_record(st, n) != 0) {
                return -1;
            }
        }
    }
    s->root_step = &s->steps[s->root->idx];
    return 0;
}

/* A random key for the map key hash, so that keys colliding in it cannot
 * be prepared in advance; the clock when the kernel has no entropy yet. */
static uint64_t hash_seed(void)
{
    uint64_t seed = 0;
    struct timespec ts;

    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = (uint64_t)ts.tv_nsec * HASH_MUL ^ (uint64_t)ts.tv_sec;
    }
    return seed | 1;
}

struct herald__avro_schema *herald__avro_schema_parse(const char *json,
                                                      size_t len, char *err,
                                                      size_t errlen)
{
    struct herald__avro_schema *s = NULL;
    struct herald__avro_schema *ret = NULL;
    avro_schema_t validated = NULL;
    json_t *root = NULL;
    json_error_t jerr;
    size_t i;

    root = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
    if (!root) {
        set_err(err, errlen, "invalid schema JSON at line %d col %d: %s",
                jerr.line, jerr.column, jerr.text);
        goto out;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        set_err(err, errlen, "out of memory");
        goto out;
    }
    s->root = parse_node(s, root, "", 0, err, errlen);
    if (!s->root) {
        goto out;
    }
    /* avro-c validates what herald's own walk accepted: it leaks on some
     * schemas it refuses, so it sees only those that passed the walk. */
    if (avro_schema_from_json_length(json, len, &validated) != 0) {
        /* avro-c 1.11.1 frees a half-built schema on failure but leaves
         * the out pointer dangling: never decref it (valgrind saw this). */
        validated = NULL;
        set_err(err, errlen, "invalid avro schema: %s", avro_strerror());
        goto out;
    }
    for (i = 0; i < s->n_nodes; i++) {
        min_size(s->nodes[i]);
        min_build(s->nodes[i]);
    }
    if (compile(s) != 0) {
        set_err(err, errlen, "out of memory");
        goto out;
    }
    s->seed = hash_seed();
    ret = s;
    s = NULL;
out:
    herald__avro_schema_destroy(s);
    json_decref(root);
    if (validated) {
        avro_schema_decref(validated);
    }
    return ret;
}

/* ---- decimal --------------------------------------------------------- */

/* The longest rendering: every digit of MAX_DECIMAL_BYTES bytes (the
 * widest scale, MAX_DECIMAL_SCALE + 1 digits, is narrower), sign, point
 * and NUL. */
#define DECIMAL_DIGITS_MAX (MAX_DECIMAL_BYTES * DIGITS_PER_BYTE + 1)
#define DECIMAL_TEXT_MAX (DECIMAL_DIGITS_MAX + DECIMAL_EXTRA_CHARS)
_Static_assert(MAX_DECIMAL_SCALE + 1 <= DECIMAL_DIGITS_MAX,
               "the scale never widens a decimal past its digits");
/* Unscaled values of at most this many bytes fit a uint64_t magnitude. */
#define DECIMAL_SMALL_BYTES 8

/* Sign, the nd digits (least significant first) and a point before the
 * last scale of them, zero-padded to scale + 1 digits, into out; returns
 * the length (out is NUL-terminated). */
static size_t decimal_format(const char *digits, size_t nd, int neg, int scale,
                             char *out)
{
    size_t width = nd > (size_t)scale ? nd : (size_t)scale + 1;
    size_t pos = 0;
    size_t k;

    if (neg) {
        out[pos++] = '-';
    }
    for (k = width; k-- > 0;) {
        out[pos++] = k < nd ? digits[k] : '0';
        if (k == (size_t)scale && scale > 0) {
            out[pos++] = '.';
        }
    }
    out[pos] = '\0';
    return pos;
}

/* Render the two's-complement big-endian unscaled integer b[0..n) (n 1 to
 * MAX_DECIMAL_BYTES) at scale (0 to MAX_DECIMAL_SCALE) into out, which
 * holds DECIMAL_TEXT_MAX bytes; returns the length. No allocation: a
 * decimal of up to 8 bytes (every Connect decimal of precision <= 18)
 * is one 64-bit magnitude, a wider one is divided by 10^9 at a time. */
static size_t decimal_render(const unsigned char *b, size_t n, int scale,
                             char *out)
{
    char digits[DECIMAL_DIGITS_MAX];
    int neg = (b[0] & 0x80) != 0;
    size_t nd = 0;
    size_t i;

    if (n <= DECIMAL_SMALL_BYTES) {
        /* sign-extended, then the magnitude (2^63 for INT64_MIN) */
        uint64_t v = neg ? UINT64_MAX : 0;
        for (i = 0; i < n; i++) {
            v = (v << 8) | b[i];
        }
        if (neg) {
            v = ~v + 1;
        }
        do {
            digits[nd++] = (char)('0' + v % 10);
            v /= 10;
        } while (v != 0);
        return decimal_format(digits, nd, neg, scale, out);
    }
    {
        unsigned char mag[MAX_DECIMAL_BYTES];
        size_t start = 0;

        memcpy(mag, b, n);
        if (neg) {
            unsigned carry = 1;
            for (i = n; i-- > 0;) {
                unsigned v = (unsigned)(unsigned char)~mag[i] + carry;
                mag[i] = (unsigned char)v;
                carry = v >> 8;
            }
        }
        /* Repeated division of the big-endian magnitude by 10^9; each
         * pass yields nine digits, least significant first. */
        for (;;) {
            uint64_t rem = 0;
            int d;

            while (start < n && mag[start] == 0) {
                start++;
            }
            if (start == n) {
                break;
            }
            for (i = start; i < n; i++) {
                uint64_t cur = (rem << 8) | mag[i];
                mag[i] = (unsigned char)(cur / DIGIT_CHUNK);
                rem = cur % DIGIT_CHUNK;
            }
            for (d = 0; d < DIGIT_CHUNK_DIGITS && nd < sizeof digits; d++) {
                digits[nd++] = (char)('0' + rem % 10);
                rem /= 10;
            }
        }
        while (nd > 1 && digits[nd - 1] == '0') {
            nd--;
        }
        if (nd == 0) {
            digits[nd++] = '0';
        }
    }
    return decimal_format(digits, nd, neg, scale, out);
}

char *herald__avro_decimal_string(const unsigned char *b, size_t n, int scale)
{
    char text[DECIMAL_TEXT_MAX];
    size_t len;

    if (n == 0 || n > MAX_DECIMAL_BYTES || scale < 0 ||
        scale > MAX_DECIMAL_SCALE) {
        return NULL;
    }
    len = decimal_render(b, n, scale, text);
    return strndup(text, len);
}

/* ---- binary decoder -------------------------------------------------- */

struct rd {
    const unsigned char *p;
    size_t len;
    size_t pos;
    size_t base;
    struct herald__decode_budget *budget;
    struct herald__arena *arena;
    /* Per record step (step.rec): its field names, copied into the arena
     * by the first value of that record type and shared by the rest. */
    const char **names;
    /* Room for strings, taken from the arena once per decode: every
     * string and map key costs at least its length prefix in the input,
     * so len bytes hold them all with their NULs (see str_room); at most
     * STR_POOL_MAX, so that a large input of few strings wastes little. */
    char *pool;
    size_t pool_left;
    uint64_t seed;
    char *err;
    size_t errlen;
};

/* The budget refused: its words, where (see decode.h). */
static int charge_refused(struct rd *r, uint64_t nodes, uint64_t bytes,
                          size_t at)
{
    char why[BUDGET_ERR_MAX];

    if (herald__decode_budget_take(r->budget, nodes, bytes, why, sizeof why) ==
        0) {
        return 0;
    }
    set_err(r->err, r->errlen, "%s (at byte %zu)", why, r->base + at);
    return -1;
}

/* Charge what is about to be built at byte at: herald__decode_budget_take
 * inlined for the common case that it fits. */
static inline int charge(struct rd *r, uint64_t nodes, uint64_t bytes,
                         size_t at)
{
    struct herald__decode_budget *b = r->budget;

    if (b->nodes <= b->max_nodes && nodes <= b->max_nodes - b->nodes &&
        b->bytes <= b->max_bytes && bytes <= b->max_bytes - b->bytes) {
        b->nodes += nodes;
        b->bytes += bytes;
        return 0;
    }
    return charge_refused(r, nodes, bytes, at);
}

static int oom(struct rd *r)
{
    set_err(r->err, r->errlen, "out of memory");
    return -1;
}

/* Output bytes of a bytes value as a string: one per byte, two above
 * 0x7f. */
static uint64_t bytes_json_len(const unsigned char *b, size_t len)
{
    uint64_t n = len;
    size_t i;

    for (i = 0; i < len; i++) {
        n += b[i] >> 7;
    }
    return n;
}

static size_t remaining(const struct rd *r)
{
    return r->len - r->pos;
}

static int need(struct rd *r, size_t n)
{
    if (remaining(r) < n) {
        set_err(r->err, r->errlen,
                "truncated avro: needed %zu bytes at byte %zu, have %zu", n,
                r->base + r->pos, remaining(r));
        return -1;
    }
    return 0;
}

static int64_t zigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static int read_long_slow(struct rd *r, int64_t *out)
{
    uint64_t v = 0;
    size_t at = r->pos;
    int shift = 0;

    for (;;) {
        unsigned char c;

        if (r->pos >= r->len) {
            set_err(r->err, r->errlen,
                    "truncated avro: varint at byte %zu runs past the end",
                    r->base + at);
            return -1;
        }
        c = r->p[r->pos++];
        if (shift == VARINT_LAST_SHIFT && (c & VARINT_LAST_EXTRA) != 0) {
            set_err(r->err, r->errlen,
                    "avro varint at byte %zu overflows 64 bits", r->base + at);
            return -1;
        }
        v |= (uint64_t)(c & VARINT_PAYLOAD) << shift;
        if ((c & VARINT_MORE) == 0) {
            break;
        }
        shift += VARINT_BITS;
        if (shift > VARINT_LAST_SHIFT) {
            set_err(r->err, r->errlen,
                    "avro varint at byte %zu is longer than 10 bytes",
                    r->base + at);
            return -1;
        }
    }
    *out = zigzag(v);
    return 0;
}

/* A varint: one byte (union indexes, short lengths, small counts)
 * without a loop, up to VARINT_FAST_BYTES (56 bits: every timestamp)
 * without the checks only a tenth byte needs; the rest, and every error,
 * by read_long_slow. */
static inline int read_long(struct rd *r, int64_t *out)
{
    const unsigned char *p = r->p + r->pos;
    size_t left = r->len - r->pos;
    size_t lim = left < VARINT_FAST_BYTES ? left : VARINT_FAST_BYTES;
    uint64_t v = 0;
    size_t k;

    if (left > 0 && p[0] < VARINT_MORE) {
        *out = zigzag(p[0]);
        r->pos++;
        return 0;
    }
    for (k = 0; k < lim; k++) {
        v |= (uint64_t)(p[k] & VARINT_PAYLOAD) << (VARINT_BITS * k);
        if ((p[k] & VARINT_MORE) == 0) {
            *out = zigzag(v);
            r->pos += k + 1;
            return 0;
        }
    }
    return read_long_slow(r, out);
}

static int read_int(struct rd *r, int64_t *out)
{
    size_t at = r->pos;

    if (read_long(r, out) != 0) {
        return -1;
    }
    if (*out < INT32_MIN || *out > INT32_MAX) {
        set_err(r->err, r->errlen,
                "avro int at byte %zu out of range: %" PRId64, r->base + at,
                *out);
        return -1;
    }
    return 0;
}

/* A length prefix (bytes, string): non-negative and within the input. */
static int read_len(struct rd *r, const char *what, size_t *out)
{
    size_t at = r->pos;
    int64_t v;

    if (read_long(r, &v) != 0) {
        return -1;
    }
    if (v < 0) {
        set_err(r->err, r->errlen, "negative %s length %" PRId64 " at byte %zu",
                what, v, r->base + at);
        return -1;
    }
    if ((uint64_t)v > remaining(r)) {
        set_err(r->err, r->errlen,
                "%s length %" PRId64 " exceeds remaining %zu bytes", what, v,
                remaining(r));
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

/* Whether s[0..len) is valid UTF-8: ASCII a word at a time (the common
 * case), the rest by herald__utf8_check (jansson's rules). */
static int utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;

    for (; len - i >= sizeof(uint64_t); i += sizeof(uint64_t)) {
        uint64_t w;
        memcpy(&w, s + i, sizeof w);
        if (w & ASCII_HIGH_BITS) {
            goto other;
        }
    }
    for (; i < len; i++) {
        if (s[i] >= BYTE_ASCII_END) {
            goto other;
        }
    }
    return 1;
other: /* from a character boundary: everything before is ASCII */
    return herald__utf8_check(s + i, len - i) == len - i;
}

/* n bytes for a string in the arena: from the pool while it lasts (no
 * call, no alignment), else an allocation of their own. NULL when memory
 * ran out. */
static char *str_room(struct rd *r, size_t n)
{
    char *s;

    if (n <= r->pool_left) {
        s = r->pool;
        r->pool += n;
        r->pool_left -= n;
        return s;
    }
    return herald__arena_alloc(r->arena, n);
}

/* A string node over a copy of b[0..len) in the arena. */
static int val_str(struct rd *r, const void *b, size_t len,
                   struct herald__val *out)
{
    char *s;

    if (len > HERALD__VAL_MAX_N) {
        return oom(r);
    }
    s = str_room(r, len + 1);
    if (!s) {
        return oom(r);
    }
    memcpy(s, b, len);
    s[len] = '\0';
    *out = (struct herald__val){.type = HERALD__V_STR, .n = (uint32_t)len};
    out->u.s = s;
    return 0;
}

/* A decimal rendered exactly: on the stack (DECIMAL_TEXT_MAX bytes, so
 * never inlined into the recursive decoder), then charged and copied. */
__attribute__((noinline)) static int
val_decimal(struct rd *r, const struct step *s, const unsigned char *b,
            size_t len, size_t at, struct herald__val *out)
{
    char text[DECIMAL_TEXT_MAX];
    size_t tlen;

    if (len == 0 || len > MAX_DECIMAL_BYTES) {
        set_err(r->err, r->errlen,
                "decimal at byte %zu has %zu bytes (1 to %d allowed)",
                r->base + at, len, MAX_DECIMAL_BYTES);
        return -1;
    }
    /* At most ~3.3 KB (MAX_DECIMAL_BYTES, MAX_DECIMAL_SCALE): measured
     * before it becomes part of the output. */
    tlen = decimal_render(b, len, s->scale, text);
    if (charge(r, 1, tlen, at) != 0) {
        return -1;
    }
    return val_str(r, text, tlen, out);
}

/* bytes or fixed: a decimal, or a string of code points U+0000..U+00FF. */
static int val_bytes(struct rd *r, const struct step *s, const unsigned char *b,
                     size_t len, size_t at, struct herald__val *out)
{
    uint64_t slen;
    char *o;
    size_t i;
    size_t k = 0;

    if (s->decimal) {
        return val_decimal(r, s, b, len, at, out);
    }
    slen = bytes_json_len(b, len);
    if (charge(r, 1, slen, at) != 0) {
        return -1;
    }
    if (slen > HERALD__VAL_MAX_N) {
        return oom(r);
    }
    o = str_room(r, (size_t)slen + 1);
    if (!o) {
        return oom(r);
    }
    for (i = 0; i < len; i++) {
        if (b[i] < BYTE_ASCII_END) {
            o[k++] = (char)b[i];
        } else {
            o[k++] = (char)(UTF8_LEAD2 | (b[i] >> UTF8_CONT_BITS));
            o[k++] = (char)(UTF8_CONT | (b[i] & UTF8_CONT_MASK));
        }
    }
    o[k] = '\0';
    *out = (struct herald__val){.type = HERALD__V_STR, .n = (uint32_t)slen};
    out->u.s = o;
    return 0;
}

/* A float widened to the double its shortest decimal form denotes, so
 * 1.1f reads as 1.1 rather than 1.100000023841858. */
static double float_to_double(float f)
{
    char buf[FLOAT_TEXT_MAX];
    int prec;

    for (prec = FLOAT_MIN_PRECISION; prec <= FLOAT_MAX_PRECISION; prec++) {
        double d;
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        d = strtod(buf, NULL);
        if ((float)d == f) {
            return d;
        }
    }
    return (double)f;
}

/* A real, or null for NaN and the infinities (no JSON form). */
static void val_real(double d, struct herald__val *out)
{
    if (isnan(d) || isinf(d)) {
        *out = (struct herald__val){.type = HERALD__V_NULL};
        return;
    }
    *out = (struct herald__val){.type = HERALD__V_REAL};
    out->u.d = d;
}

static int dec(struct rd *r, const struct step *s, int depth,
               struct herald__val *out);

/* Keyed hash of a map key for the duplicate index of a large map; the
 * schema's random seed keeps colliding keys from being precomputed. */
static uint64_t key_hash(const char *k, size_t n, uint64_t seed)
{
    uint64_t h = seed ^ ((uint64_t)n * HASH_MUL);
    uint64_t w;

    while (n >= sizeof w) {
        memcpy(&w, k, sizeof w);
        h = (h ^ w) * HASH_MUL;
        h ^= h >> HASH_SHIFT;
        k += sizeof w;
        n -= sizeof w;
    }
    w = 0;
    memcpy(&w, k, n);
    h = (h ^ w) * HASH_MUL;
    h ^= h >> HASH_SHIFT;
    return h;
}

/* The duplicate index of a map's keys: open addressing over member
 * indexes plus one (0: empty), in the arena. Only a map with more than
 * MAP_LINEAR_MAX keys has one; a smaller one is scanned. */
struct keyidx {
    uint32_t *slot;
    size_t size; /* a power of two, at least twice the keys */
};

static uint32_t *keyidx_find(const struct keyidx *x,
                             const struct herald__member *m, const char *k,
                             size_t n, uint64_t seed)
{
    size_t i = (size_t)key_hash(k, n, seed) & (x->size - 1);

    while (x->slot[i] != 0) {
        const struct herald__member *o = &m[x->slot[i] - 1];
        if (o->name_len == n && memcmp(o->name, k, n) == 0) {
            return &x->slot[i];
        }
        i = (i + 1) & (x->size - 1);
    }
    return &x->slot[i];
}

/* Rebuild x for at least keys + 1 members m[0..keys). */
static int keyidx_grow(struct rd *r, struct keyidx *x,
                       const struct herald__member *m, size_t keys)
{
    size_t size = x->size ? x->size : MAP_INDEX_FIRST;
    size_t i;

    while (size / 2 < keys + 1) {
        if (size > SIZE_MAX / 2 / sizeof *x->slot) {
            return oom(r);
        }
        size *= 2;
    }
    x->slot = herald__arena_alloc(r->arena, size * sizeof *x->slot);
    if (!x->slot) {
        return oom(r);
    }
    memset(x->slot, 0, size * sizeof *x->slot);
    x->size = size;
    for (i = 0; i < keys; i++) {
        *keyidx_find(x, m, m[i].name, m[i].name_len, r->seed) =
            (uint32_t)(i + 1);
    }
    return 0;
}

/* Where map key k[0..n) goes among members m[0..keys): the index of the
 * member that has it already (a repeated key keeps its first position and
 * takes the last value, as jansson's json_object_set did), or keys. */
static int map_slot(struct rd *r, struct keyidx *x, struct herald__member *m,
                    size_t keys, const char *k, size_t n, size_t *at)
{
    uint32_t *hit;
    size_t i;

    if (keys <= MAP_LINEAR_MAX) {
        for (i = 0; i < keys; i++) {
            if (m[i].name_len == n && memcmp(m[i].name, k, n) == 0) {
                *at = i;
                return 0;
            }
        }
        *at = keys;
        return 0;
    }
    if (x->size / 2 < keys + 1 && keyidx_grow(r, x, m, keys) != 0) {
        return -1;
    }
    hit = keyidx_find(x, m, k, n, r->seed);
    *at = *hit != 0 ? *hit - 1 : keys;
    return 0;
}

/* Room for want items of elem bytes in the block *p of *cap items,
 * doubling so that a run of small blocks copies O(n) in all. */
static int reserve(struct rd *r, void **p, size_t *cap, size_t want,
                   size_t elem)
{
    size_t cap2 = *cap > HERALD__VAL_MAX_N / 2 ? HERALD__VAL_MAX_N : *cap * 2;
    void *q;

    if (want <= *cap) {
        return 0;
    }
    if (cap2 < want) {
        cap2 = want;
    }
    if (cap2 > SIZE_MAX / elem) {
        return oom(r);
    }
    q = herald__arena_grow(r->arena, *p, *cap * elem, cap2 * elem);
    if (!q) {
        return oom(r);
    }
    *p = q;
    *cap = cap2;
    return 0;
}

/* One map entry: key, value, then the key's UTF-8 check (after the value,
 * where jansson's set made it). */
static int map_entry(struct rd *r, const struct step *s, int depth,
                     struct keyidx *x, struct herald__member *m, size_t *keys)
{
    size_t klen;
    size_t kat = r->pos;
    const char *key;
    char *name;
    size_t slot;

    if (read_len(r, "map key", &klen) != 0) {
        return -1;
    }
    key = (const char *)r->p + r->pos;
    if (charge(r, 0, klen, kat) != 0) {
        return -1;
    }
    r->pos += klen;
    if (dec(r, s->items, depth + 1, &m[*keys].val) != 0) {
        return -1;
    }
    if (!utf8_valid((const unsigned char *)key, klen)) {
        set_err(r->err, r->errlen, "map key at byte %zu is not valid UTF-8",
                r->base + kat);
        return -1;
    }
    if (klen > HERALD__VAL_MAX_N) {
        return oom(r);
    }
    if (map_slot(r, x, m, *keys, key, klen, &slot) != 0) {
        return -1;
    }
    if (slot < *keys) {
        m[slot].val = m[*keys].val;
        return 0;
    }
    name = str_room(r, klen + 1);
    if (!name) {
        return oom(r);
    }
    memcpy(name, key, klen);
    name[klen] = '\0';
    m[slot].name = name;
    m[slot].name_len = (uint32_t)klen;
    if (x->size) {
        *keyidx_find(x, m, key, klen, r->seed) = (uint32_t)(slot + 1);
    }
    (*keys)++;
    return 0;
}

/* An array or a map: blocks of items, each block's count checked against
 * the input and the budget before its first item. */
static int dec_blocks(struct rd *r, const struct step *s, int depth,
                      struct herald__val *out)
{
    int is_map = s->kind == K_MAP;
    size_t elem =
        is_map ? sizeof(struct herald__member) : sizeof(struct herald__val);
    void *items = NULL;
    size_t n = 0;
    size_t cap = 0;
    struct keyidx x = {0};

    if (charge(r, 1, 0, r->pos) != 0) {
        return -1;
    }
    for (;;) {
        size_t at = r->pos;
        char why[BUDGET_ERR_MAX];
        int64_t count;
        int64_t i;

        if (read_long(r, &count) != 0) {
            return -1;
        }
        if (count == 0) {
            break;
        }
        if (count < 0) {
            int64_t bsize;
            if (count == INT64_MIN) {
                set_err(r->err, r->errlen, "invalid block count at byte %zu",
                        r->base + at);
                return -1;
            }
            count = -count;
            if (read_long(r, &bsize) != 0) {
                return -1;
            }
            if (bsize < 0 || (uint64_t)bsize > remaining(r)) {
                set_err(r->err, r->errlen,
                        "block size %" PRId64
                        " at byte %zu exceeds remaining %zu bytes",
                        bsize, r->base + at, remaining(r));
                return -1;
            }
        }
        if (s->min_each > 0 && (uint64_t)count > remaining(r) / s->min_each) {
            set_err(r->err, r->errlen,
                    "%s block count %" PRId64
                    " at byte %zu exceeds remaining %zu bytes",
                    is_map ? "map" : "array", count, r->base + at,
                    remaining(r));
            return -1;
        }
        /* Count before building: items that encode in zero bytes (null,
         * all-null records) are bounded only by the output budget, so the
         * whole block must fit before its first item is made. */
        if (herald__decode_budget_fits(
                r->budget, sat_mul((uint64_t)count, s->items->min_nodes),
                sat_mul((uint64_t)count, s->items->min_bytes), why,
                sizeof why) != 0) {
            set_err(r->err, r->errlen,
                    "%s block count %" PRId64 " at byte %zu: %s",
                    is_map ? "map" : "array", count, r->base + at, why);
            return -1;
        }
        if ((uint64_t)count > HERALD__VAL_MAX_N - n ||
            reserve(r, &items, &cap, n + (size_t)count, elem) != 0) {
            return oom(r);
        }
        for (i = 0; i < count; i++) {
            if (is_map) {
                if (map_entry(r, s, depth, &x, items, &n) != 0) {
                    return -1;
                }
            } else if (dec(r, s->items, depth + 1,
                           (struct herald__val *)items + n++) != 0) {
                return -1;
            }
        }
    }
    *out = (struct herald__val){.type = is_map ? HERALD__V_OBJ : HERALD__V_ARR,
                                .n = (uint32_t)n};
    if (is_map) {
        out->u.members = items;
    } else {
        out->u.items = items;
    }
    return 0;
}

/* A record: its members in schema order, names shared by every value of
 * the record type in this decode. */
static int dec_record(struct rd *r, const struct step *s, int depth,
                      struct herald__val *out)
{
    struct herald__member *m;
    const char *names;
    size_t i;

    /* the object and its keys; the field values charge for themselves */
    if (charge(r, 1, s->names_len, r->pos) != 0) {
        return -1;
    }
    m = herald__arena_alloc(r->arena, s->members * sizeof *m);
    names = r->names[s->rec];
    if (!names && m) {
        char *copy = herald__arena_alloc(r->arena, s->blob_len);
        if (copy) {
            memcpy(copy, s->blob, s->blob_len);
        }
        names = r->names[s->rec] = copy;
    }
    if (!m || !names) {
        return oom(r);
    }
    for (i = 0; i < s->members; i++) {
        m[i].name = names + s->name_off[i];
        m[i].name_len = s->name_len[i];
    }
    for (i = 0; i < s->n; i++) {
        if (dec(r, s->sub[i], depth + 1, &m[s->slot[i]].val) != 0) {
            return -1;
        }
    }
    *out =
        (struct herald__val){.type = HERALD__V_OBJ, .n = (uint32_t)s->members};
    out->u.members = m;
    return 0;
}

/* size (4 or 8) little-endian bytes: an IEEE 754 float or double. */
static int read_le(struct rd *r, int size, uint64_t *out)
{
    uint64_t u = 0;
    int i;

    if (need(r, (size_t)size) != 0) {
        return -1;
    }
    for (i = size - 1; i >= 0; i--) {
        u = (u << 8) | r->p[r->pos + (size_t)i];
    }
    r->pos += (size_t)size;
    *out = u;
    return 0;
}

static int dec_float(struct rd *r, struct herald__val *out)
{
    uint64_t u;
    uint32_t u32;
    float f;

    if (read_le(r, AVRO_FLOAT_SIZE, &u) != 0) {
        return -1;
    }
    u32 = (uint32_t)u;
    memcpy(&f, &u32, sizeof f);
    val_real(isnan(f) || isinf(f) ? (double)f : float_to_double(f), out);
    return 0;
}

static int dec_double(struct rd *r, struct herald__val *out)
{
    uint64_t u;
    double d;

    if (read_le(r, AVRO_DOUBLE_SIZE, &u) != 0) {
        return -1;
    }
    memcpy(&d, &u, sizeof d);
    val_real(d, out);
    return 0;
}

/* One value of step s into *out. */
static int dec(struct rd *r, const struct step *s, int depth,
               struct herald__val *out)
{
    size_t at;
    int64_t v;
    size_t len;

again: /* a union's branch continues here, one level deeper */
    at = r->pos;
    if (depth > MAX_DECODE_DEPTH) {
        set_err(r->err, r->errlen,
                "avro value nested deeper than %d at "
                "byte %zu",
                MAX_DECODE_DEPTH, r->base + at);
        return -1;
    }
    /* A scalar costs one value, charged before it is read or built;
     * strings, bytes, enums, records and containers charge with their
     * bytes where they are built. */
    switch ((enum kind)s->kind) {
    case K_NULL:
        if (charge(r, 1, 0, at) != 0) {
            return -1;
        }
        *out = (struct herald__val){.type = HERALD__V_NULL};
        return 0;
    case K_BOOLEAN:
        if (charge(r, 1, 0, at) != 0 || need(r, 1) != 0) {
            return -1;
        }
        if (r->p[r->pos] > 1) {
            set_err(r->err, r->errlen,
                    "invalid boolean byte 0x%02x at byte %zu", r->p[r->pos],
                    r->base + at);
            return -1;
        }
        *out = (struct herald__val){.type = HERALD__V_BOOL,
                                    .boolean = r->p[r->pos++]};
        return 0;
    case K_INT:
    case K_LONG:
        if (charge(r, 1, 0, at) != 0 ||
            (s->kind == K_INT ? read_int(r, &v) : read_long(r, &v)) != 0) {
            return -1;
        }
        *out = (struct herald__val){.type = HERALD__V_INT};
        out->u.i = v;
        return 0;
    case K_FLOAT:
        if (charge(r, 1, 0, at) != 0) {
            return -1;
        }
        return dec_float(r, out);
    case K_DOUBLE:
        if (charge(r, 1, 0, at) != 0) {
            return -1;
        }
        return dec_double(r, out);
    case K_BYTES:
        if (read_len(r, "bytes", &len) != 0) {
            return -1;
        }
        r->pos += len;
        return val_bytes(r, s, r->p + r->pos - len, len, at, out);
    case K_STRING:
        if (read_len(r, "string", &len) != 0 || charge(r, 1, len, at) != 0) {
            return -1;
        }
        if (!utf8_valid(r->p + r->pos, len)) {
            set_err(r->err, r->errlen, "string at byte %zu is not valid UTF-8",
                    r->base + at);
            return -1;
        }
        r->pos += len;
        return val_str(r, r->p + r->pos - len, len, out);
    case K_FIXED:
        if (need(r, s->size) != 0) {
            return -1;
        }
        r->pos += s->size;
        return val_bytes(r, s, r->p + r->pos - s->size, s->size, at, out);
    case K_ENUM:
        if (read_long(r, &v) != 0) {
            return -1;
        }
        if (v < 0 || (uint64_t)v >= s->n) {
            set_err(r->err, r->errlen,
                    "invalid enum index %" PRId64
                    " at byte %zu (enum %s has %zu symbols)",
                    v, r->base + at, s->fullname, s->n);
            return -1;
        }
        if (charge(r, 1, s->name_len[v], at) != 0) {
            return -1;
        }
        return val_str(r, s->symbols[v], s->name_len[v], out);
    case K_UNION:
        if (read_long(r, &v) != 0) {
            return -1;
        }
        if (v < 0 || (uint64_t)v >= s->n) {
            set_err(r->err, r->errlen,
                    "invalid union index %" PRId64
                    " at byte %zu (union has %zu branches)",
                    v, r->base + at, s->n);
            return -1;
        }
        s = s->sub[v];
        depth++;
        goto again;
    case K_RECORD:
        return dec_record(r, s, depth, out);
    case K_ARRAY:
    case K_MAP:
        return dec_blocks(r, s, depth, out);
    }
    set_err(r->err, r->errlen, "internal: unknown schema node");
    return -1;
}

int herald__avro_decode_arena(const struct herald__avro_schema *s,
                              const void *buf, size_t len, size_t base,
                              struct herald__decode_budget *b,
                              struct herald__arena *a, struct herald__val *out,
                              char *err, size_t errlen)
{
    struct rd r = {0};

    *out = (struct herald__val){.type = HERALD__V_NULL};
    r.p = buf;
    r.len = len;
    r.base = base;
    r.budget = b;
    r.arena = a;
    r.seed = s->seed;
    r.err = err;
    r.errlen = errlen;
    if (!buf && len > 0) {
        set_err(err, errlen, "no input");
        return -1;
    }
    if (len > 0) {
        r.pool_left = len < STR_POOL_MAX ? len : STR_POOL_MAX;
        r.pool = herald__arena_alloc(a, r.pool_left);
        if (!r.pool) {
            return oom(&r);
        }
    }
    if (s->n_records > 0) {
        r.names = herald__arena_alloc(a, s->n_records * sizeof *r.names);
        if (!r.names) {
            return oom(&r);
        }
        memset(r.names, 0, s->n_records * sizeof *r.names);
    }
    if (dec(&r, s->root_step, 0, out) != 0) {
        *out = (struct herald__val){.type = HERALD__V_NULL};
        return -1;
    }
    if (r.pos != r.len) {
        set_err(err, errlen,
                "%zu trailing bytes after the avro value at "
                "byte %zu",
                r.len - r.pos, base + r.pos);
        *out = (struct herald__val){.type = HERALD__V_NULL};
        return -1;
    }
    return 0;
}

int herald__avro_decode(const struct herald__avro_schema *s, const void *buf,
                        size_t len, size_t base, json_t **out, char *err,
                        size_t errlen)
{
    struct herald__decode_budget b;

    herald__decode_budget_init(&b, base + len, 0, 0);
    return herald__avro_decode_budget(s, buf, len, base, &b, out, err, errlen);
}

int herald__avro_decode_budget(const struct herald__avro_schema *s,
                               const void *buf, size_t len, size_t base,
                               struct herald__decode_budget *b, json_t **out,
                               char *err, size_t errlen)
{
    struct herald__arena a = {0};
    struct herald__val v;
    int rc = -1;

    *out = NULL;
    if (herald__avro_decode_arena(s, buf, len, base, b, &a, &v, err, errlen) ==
        0) {
        *out = herald__val_to_json(&v);
        if (*out) {
            rc = 0;
        } else {
            set_err(err, errlen, "out of memory");
        }
    }
    herald__arena_free(&a);
    return rc;
}
