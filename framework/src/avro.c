/*
 * avro.c - Avro schemas (validated by avro-c, walked with jansson for logical
 * types) and a bounds-checked Avro binary decoder producing jansson trees.
 * The only file that includes avro-c. Contract in avro_decode.h.
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

#include "bytes.h"
#include "decode_budget.h"

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

struct herald__avro_schema {
    struct node **nodes; /* owns every node */
    size_t n_nodes;
    size_t cap;
    struct node *root;
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

char *herald__avro_decimal_string(const unsigned char *b, size_t n, int scale)
{
    unsigned char *mag = NULL;
    char *digits = NULL;
    char *out = NULL;
    size_t nd = 0;
    size_t cap;
    size_t i;
    size_t start = 0;
    int neg;

    if (n == 0 || n > MAX_DECIMAL_BYTES || scale < 0 ||
        scale > MAX_DECIMAL_SCALE) {
        return NULL;
    }
    neg = (b[0] & 0x80) != 0;
    mag = malloc(n);
    /* Enough decimal digits for n bytes, plus one. */
    cap = n * DIGITS_PER_BYTE + 1;
    digits = malloc(cap);
    if (!mag || !digits) {
        goto out;
    }
    memcpy(mag, b, n);
    if (neg) {
        unsigned carry = 1;
        for (i = n; i-- > 0;) {
            unsigned v = (unsigned)(unsigned char)~mag[i] + carry;
            mag[i] = (unsigned char)v;
            carry = v >> 8;
        }
    }
    /* Repeated division of the big-endian magnitude by 10^9; each pass
     * yields nine digits, least significant first. */
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
        for (d = 0; d < DIGIT_CHUNK_DIGITS && nd < cap; d++) {
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
    /* digits holds nd digits, least significant first. */
    {
        size_t width = nd > (size_t)scale ? nd : (size_t)scale + 1;
        size_t pos = 0;
        size_t k;

        out = malloc(width + DECIMAL_EXTRA_CHARS);
        if (!out) {
            goto out;
        }
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
    }
out:
    free(mag);
    free(digits);
    return out;
}

/* ---- binary decoder -------------------------------------------------- */

struct rd {
    const unsigned char *p;
    size_t len;
    size_t pos;
    size_t base;
    struct herald__decode_budget *budget;
    char *err;
    size_t errlen;
};

/* Charge what is about to be built at byte at (see decode.h). */
static int charge(struct rd *r, uint64_t nodes, uint64_t bytes, size_t at)
{
    char why[BUDGET_ERR_MAX];

    if (herald__decode_budget_take(r->budget, nodes, bytes, why, sizeof why) ==
        0) {
        return 0;
    }
    set_err(r->err, r->errlen, "%s (at byte %zu)", why, r->base + at);
    return -1;
}

/* Output bytes of herald__bytes_json: one per byte, two above 0x7f. */
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

static int read_long(struct rd *r, int64_t *out)
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
    *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
    return 0;
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

static json_t *oom(struct rd *r)
{
    set_err(r->err, r->errlen, "out of memory");
    return NULL;
}

static json_t *decimal_or_bytes(struct rd *r, const struct node *n,
                                const unsigned char *b, size_t len, size_t at)
{
    json_t *j;
    char *s;

    if (!n->decimal) {
        if (charge(r, 1, bytes_json_len(b, len), at) != 0) {
            return NULL;
        }
        j = herald__bytes_json(b, len);
        return j ? j : oom(r);
    }
    if (len == 0 || len > MAX_DECIMAL_BYTES) {
        set_err(r->err, r->errlen,
                "decimal at byte %zu has %zu bytes (1 to %d allowed)",
                r->base + at, len, MAX_DECIMAL_BYTES);
        return NULL;
    }
    /* At most ~3.3 KB (MAX_DECIMAL_BYTES, MAX_DECIMAL_SCALE): measured
     * before it becomes part of the output. */
    s = herald__avro_decimal_string(b, len, n->scale);
    if (!s) {
        return oom(r);
    }
    if (charge(r, 1, strlen(s), at) != 0) {
        free(s);
        return NULL;
    }
    j = json_string(s);
    free(s);
    return j ? j : oom(r);
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

static json_t *real_or_null(struct rd *r, double d)
{
    json_t *j;

    if (isnan(d) || isinf(d)) {
        j = json_null();
    } else {
        j = json_real(d);
    }
    return j ? j : oom(r);
}

static json_t *decode_node(struct rd *r, const struct node *n, int depth);

static json_t *decode_blocks(struct rd *r, const struct node *n, int depth)
{
    int is_map = n->kind == K_MAP;
    json_t *out;
    size_t item_min = min_size(n->items);
    size_t min_each = item_min + (is_map ? 1 : 0);

    if (charge(r, 1, 0, r->pos) != 0) {
        return NULL;
    }
    out = is_map ? json_object() : json_array();
    if (!out) {
        return oom(r);
    }
    for (;;) {
        size_t at = r->pos;
        char why[BUDGET_ERR_MAX];
        int64_t count;
        int64_t i;

        if (read_long(r, &count) != 0) {
            goto fail;
        }
        if (count == 0) {
            break;
        }
        if (count < 0) {
            int64_t bsize;
            if (count == INT64_MIN) {
                set_err(r->err, r->errlen, "invalid block count at byte %zu",
                        r->base + at);
                goto fail;
            }
            count = -count;
            if (read_long(r, &bsize) != 0) {
                goto fail;
            }
            if (bsize < 0 || (uint64_t)bsize > remaining(r)) {
                set_err(r->err, r->errlen,
                        "block size %" PRId64
                        " at byte %zu exceeds remaining %zu bytes",
                        bsize, r->base + at, remaining(r));
                goto fail;
            }
        }
        if (min_each > 0 && (uint64_t)count > remaining(r) / min_each) {
            set_err(r->err, r->errlen,
                    "%s block count %" PRId64
                    " at byte %zu exceeds remaining %zu bytes",
                    is_map ? "map" : "array", count, r->base + at,
                    remaining(r));
            goto fail;
        }
        /* Count before building: items that encode in zero bytes (null,
         * all-null records) are bounded only by the output budget, so the
         * whole block must fit before its first item is made. */
        if (herald__decode_budget_fits(
                r->budget, sat_mul((uint64_t)count, n->items->min_nodes),
                sat_mul((uint64_t)count, n->items->min_bytes), why,
                sizeof why) != 0) {
            set_err(r->err, r->errlen,
                    "%s block count %" PRId64 " at byte %zu: %s",
                    is_map ? "map" : "array", count, r->base + at, why);
            goto fail;
        }
        for (i = 0; i < count; i++) {
            json_t *v;
            if (is_map) {
                size_t klen;
                size_t kat = r->pos;
                const char *key;
                if (read_len(r, "map key", &klen) != 0) {
                    goto fail;
                }
                key = (const char *)r->p + r->pos;
                if (charge(r, 0, klen, kat) != 0) {
                    goto fail;
                }
                r->pos += klen;
                v = decode_node(r, n->items, depth + 1);
                if (!v) {
                    goto fail;
                }
                if (json_object_setn_new(out, key, klen, v) != 0) {
                    set_err(r->err, r->errlen,
                            "map key at byte %zu is not valid UTF-8",
                            r->base + kat);
                    goto fail;
                }
            } else {
                v = decode_node(r, n->items, depth + 1);
                if (!v) {
                    goto fail;
                }
                if (json_array_append_new(out, v) != 0) {
                    oom(r);
                    goto fail;
                }
            }
        }
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

static json_t *decode_record(struct rd *r, const struct node *n, int depth)
{
    json_t *out;
    size_t i;

    /* the object and its keys; the field values charge for themselves */
    if (charge(r, 1, n->names_len, r->pos) != 0) {
        return NULL;
    }
    out = json_object();
    if (!out) {
        return oom(r);
    }
    for (i = 0; i < n->n; i++) {
        json_t *v = decode_node(r, n->sub[i], depth + 1);
        if (!v) {
            json_decref(out);
            return NULL;
        }
        if (json_object_set_new(out, n->names[i], v) != 0) {
            json_decref(out);
            return oom(r);
        }
    }
    return out;
}

static json_t *decode_node(struct rd *r, const struct node *n, int depth)
{
    size_t at = r->pos;
    int64_t v;
    size_t len;
    json_t *j;

    if (depth > MAX_DECODE_DEPTH) {
        set_err(r->err, r->errlen,
                "avro value nested deeper than %d at "
                "byte %zu",
                MAX_DECODE_DEPTH, r->base + at);
        return NULL;
    }
    /* A scalar costs one value, charged before it is read or built;
     * strings, bytes, enums, records and containers charge with their
     * bytes where they are built. */
    switch (n->kind) {
    case K_NULL:
    case K_BOOLEAN:
    case K_INT:
    case K_LONG:
    case K_FLOAT:
    case K_DOUBLE:
        if (charge(r, 1, 0, at) != 0) {
            return NULL;
        }
        break;
    default:
        break;
    }
    switch (n->kind) {
    case K_NULL:
        return json_null();
    case K_BOOLEAN:
        if (need(r, 1) != 0) {
            return NULL;
        }
        if (r->p[r->pos] > 1) {
            set_err(r->err, r->errlen,
                    "invalid boolean byte 0x%02x at byte %zu", r->p[r->pos],
                    r->base + at);
            return NULL;
        }
        r->pos++;
        return json_boolean(r->p[r->pos - 1]);
    case K_INT:
    case K_LONG:
        if ((n->kind == K_INT ? read_int(r, &v) : read_long(r, &v)) != 0) {
            return NULL;
        }
        j = json_integer(v);
        return j ? j : oom(r);
    case K_FLOAT: {
        uint32_t u = 0;
        float f;
        int i;
        if (need(r, AVRO_FLOAT_SIZE) != 0) {
            return NULL;
        }
        for (i = AVRO_FLOAT_SIZE - 1; i >= 0; i--) {
            u = (u << 8) | r->p[r->pos + (size_t)i];
        }
        r->pos += AVRO_FLOAT_SIZE;
        memcpy(&f, &u, sizeof f);
        if (isnan(f) || isinf(f)) {
            return real_or_null(r, (double)f);
        }
        return real_or_null(r, float_to_double(f));
    }
    case K_DOUBLE: {
        uint64_t u = 0;
        double d;
        int i;
        if (need(r, AVRO_DOUBLE_SIZE) != 0) {
            return NULL;
        }
        for (i = AVRO_DOUBLE_SIZE - 1; i >= 0; i--) {
            u = (u << 8) | r->p[r->pos + (size_t)i];
        }
        r->pos += AVRO_DOUBLE_SIZE;
        memcpy(&d, &u, sizeof d);
        return real_or_null(r, d);
    }
    case K_BYTES:
        if (read_len(r, "bytes", &len) != 0) {
            return NULL;
        }
        r->pos += len;
        return decimal_or_bytes(r, n, r->p + r->pos - len, len, at);
    case K_STRING:
        if (read_len(r, "string", &len) != 0 || charge(r, 1, len, at) != 0) {
            return NULL;
        }
        j = json_stringn((const char *)r->p + r->pos, len);
        if (!j) {
            set_err(r->err, r->errlen, "string at byte %zu is not valid UTF-8",
                    r->base + at);
            return NULL;
        }
        r->pos += len;
        return j;
    case K_FIXED:
        if (need(r, n->size) != 0) {
            return NULL;
        }
        r->pos += n->size;
        return decimal_or_bytes(r, n, r->p + r->pos - n->size, n->size, at);
    case K_ENUM:
        if (read_long(r, &v) != 0) {
            return NULL;
        }
        if (v < 0 || (uint64_t)v >= n->n) {
            set_err(r->err, r->errlen,
                    "invalid enum index %" PRId64
                    " at byte %zu (enum %s has %zu symbols)",
                    v, r->base + at, n->name, n->n);
            return NULL;
        }
        if (charge(r, 1, strlen(n->names[v]), at) != 0) {
            return NULL;
        }
        j = json_string(n->names[v]);
        return j ? j : oom(r);
    case K_UNION:
        if (read_long(r, &v) != 0) {
            return NULL;
        }
        if (v < 0 || (uint64_t)v >= n->n) {
            set_err(r->err, r->errlen,
                    "invalid union index %" PRId64
                    " at byte %zu (union has %zu branches)",
                    v, r->base + at, n->n);
            return NULL;
        }
        return decode_node(r, n->sub[v], depth + 1);
    case K_RECORD:
        return decode_record(r, n, depth);
    case K_ARRAY:
    case K_MAP:
        return decode_blocks(r, n, depth);
    }
    set_err(r->err, r->errlen, "internal: unknown schema node");
    return NULL;
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
    struct rd r = {0};
    json_t *v;

    *out = NULL;
    r.p = buf;
    r.len = len;
    r.base = base;
    r.budget = b;
    r.err = err;
    r.errlen = errlen;
    if (!buf && len > 0) {
        set_err(err, errlen, "no input");
        return -1;
    }
    v = decode_node(&r, s->root, 0);
    if (!v) {
        return -1;
    }
    if (r.pos != r.len) {
        set_err(err, errlen,
                "%zu trailing bytes after the avro value at "
                "byte %zu",
                r.len - r.pos, base + r.pos);
        json_decref(v);
        return -1;
    }
    *out = v;
    return 0;
}
