/*
 * json_decode.c - the `json` input format: yyjson parses the text into a
 * document in the parser's reusable scratch memory, which is then copied
 * into compact value nodes (value.h) in one block of the record's arena.
 * jansson's decoder is kept as the reference. Contract in json_decode.h.
 *
 * What jansson rejected and yyjson accepts is rejected here after the
 * parse: integers in (INT64_MAX, UINT64_MAX] (yyjson reads them as
 * uint64), a NUL in an object name, nesting deeper than jansson's 2048.
 * Numbers beyond int64 or a finite double come as yyjson "raw" numbers
 * (YYJSON_READ_BIGNUM_AS_RAW) and are rejected with jansson's words.
 */
#include "json_decode.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yyjson.h>

/* Confluent's JSON Schema framing (ksqlDB JSON_SR): a NUL, then a 4-byte
 * schema id, before the text. JSON text never starts with a NUL. */
#define JSON_FRAME_SIZE 5
/* jansson's JSON_PARSER_MAX_DEPTH: nested arrays and objects allowed. */
#define JSON_MAX_DEPTH 2048
/* Objects with more members than this find repeated names through a hash
 * table, not by scanning the members already built. */
#define JSON_DUP_SCAN_MAX 16
/* The parser's region before a decode: yyjson copies the text (plus its
 * padding) and starts with one 16-byte value per 6 bytes of text
 * (YYJSON_READER_ESTIMATED_MINIFY_RATIO), so about 4 bytes per input byte
 * fit a typical document; denser ones spill once and grow the region. */
#define JSON_SCRATCH_PER_BYTE 4u
#define JSON_SCRATCH_BASE 1024u
/* A region grown beyond this for one large document is returned after
 * it, so one outlier does not pin its memory for the process's life. */
#define JSON_SCRATCH_KEEP_MAX (1024u * 1024u)
#define JSON_SCRATCH_ALIGN 16u

/* ---- budget and framing, shared by both decoders ---------------------- */

/* Upper bounds of what jansson builds from JSON text, found without
 * building it: every value but the root follows a '[' or a ',' or is an
 * object member (':' ... ','), so values <= 1 + commas + containers; every
 * string's decoded bytes are at most its bytes between the quotes. */
static void json_scan(const unsigned char *p, size_t len, uint64_t *nodes,
                      uint64_t *bytes)
{
    int in_str = 0;
    size_t i;

    *nodes = 1;
    *bytes = 0;
    for (i = 0; i < len; i++) {
        unsigned char c = p[i];

        if (in_str) {
            if (c == '\\') {
                i++;
                *bytes += 2;
            } else if (c == '"') {
                in_str = 0;
            } else {
                (*bytes)++;
            }
        } else if (c == '"') {
            in_str = 1;
        } else if (c == ',' || c == '[' || c == '{') {
            (*nodes)++;
        }
    }
}

/* json_scan's answer, faster: a string's decoded bytes as json_scan
 * counts them are its raw bytes between the quotes (an escape is two
 * bytes either way), plus one for a backslash left unpaired at the end of
 * the text, so strings are crossed with memchr. Kept apart from json_scan,
 * which the jansson reference keeps, so the tests compare the two. */
static void json_scan_fast(const unsigned char *p, size_t len, uint64_t *nodes,
                           uint64_t *bytes)
{
    const unsigned char *end = p + len;

    *nodes = 1;
    *bytes = 0;
    while (p < end) {
        unsigned char c = *p++;
        if (c == '"') {
            const unsigned char *s = p;
            const unsigned char *q;
            size_t run;
            for (;;) {
                q = memchr(p, '"', (size_t)(end - p));
                if (!q) {
                    q = end;
                }
                for (run = 0; q - run > s && q[-1 - (ptrdiff_t)run] == '\\';
                     run++) {
                }
                if (q == end || run % 2 == 0) {
                    break;
                }
                p = q + 1; /* an escaped quote */
            }
            *bytes += (uint64_t)(q - s) + (q == end && run % 2 == 1);
            p = q == end ? end : q + 1;
        } else if (c == ',' || c == '[' || c == '{') {
            (*nodes)++;
        }
    }
}

/* Skips the frame and charges b with scan's bounds: *text, *text_len are
 * what to parse. Returns 0, or -1 with err from the budget. */
static int
json_begin(const void *buf, size_t len, struct herald__decode_budget *b,
           void (*scan)(const unsigned char *, size_t, uint64_t *, uint64_t *),
           const unsigned char **text, size_t *text_len, char *err,
           size_t errlen)
{
    const unsigned char *p = buf;
    uint64_t nodes, bytes;

    if (len >= JSON_FRAME_SIZE && p[0] == 0) {
        p += JSON_FRAME_SIZE;
        len -= JSON_FRAME_SIZE;
    }
    scan(p, len, &nodes, &bytes);
    if (herald__decode_budget_take(b, nodes, bytes, err, errlen) != 0) {
        return -1;
    }
    *text = p;
    *text_len = len;
    return 0;
}

int herald__json_decode_jansson(const void *buf, size_t len,
                                struct herald__decode_budget *b, json_t **out,
                                char *err, size_t errlen)
{
    const unsigned char *p;
    json_error_t jerr;

    *out = NULL;
    if (json_begin(buf, len, b, json_scan, &p, &len, err, errlen) != 0) {
        return -1;
    }
    *out = json_loadb((const char *)p, len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                      &jerr);
    if (!*out) {
        if (err && errlen) {
            snprintf(err, errlen, "invalid JSON at line %d col %d: %s",
                     jerr.line, jerr.column, jerr.text);
        }
        return -1;
    }
    return 0;
}

/* ---- the parser's scratch memory: yyjson's allocator ------------------ */

static size_t scratch_align(size_t n)
{
    return (n + (JSON_SCRATCH_ALIGN - 1)) & ~(size_t)(JSON_SCRATCH_ALIGN - 1);
}

/* A new block of n bytes: from the region when it has room, else from the
 * spill arena. want counts as if the region had room for everything. */
static void *scratch_alloc(struct herald__json_parser *p, size_t n)
{
    size_t need;
    void *q;

    if (n > SIZE_MAX - JSON_SCRATCH_ALIGN) {
        return NULL;
    }
    need = scratch_align(n ? n : 1);
    p->want_last = p->want;
    p->want = p->want > SIZE_MAX - need ? SIZE_MAX : p->want + need;
    if (p->size - p->used >= need) {
        q = p->buf + p->used;
        p->last = p->used;
        p->used += need;
    } else {
        q = herald__arena_alloc(&p->spill, n);
    }
    p->last_ptr = q;
    return q;
}

static void *yy_malloc(void *ctx, size_t n)
{
    return scratch_alloc(ctx, n);
}

/* yyjson grows its value array with realloc: in place when it is the last
 * block and there is room, as the region's accounting assumes. */
static void *yy_realloc(void *ctx, void *ptr, size_t old_n, size_t n)
{
    struct herald__json_parser *p = ctx;
    unsigned char *q;

    if (ptr && ptr == p->last_ptr && n <= SIZE_MAX - JSON_SCRATCH_ALIGN) {
        size_t need = scratch_align(n ? n : 1);
        p->want =
            p->want_last > SIZE_MAX - need ? SIZE_MAX : p->want_last + need;
        if (p->buf && (unsigned char *)ptr == p->buf + p->last) {
            if (p->size - p->last >= need) {
                p->used = p->last + need;
                return ptr;
            }
            q = herald__arena_alloc(&p->spill, n);
        } else {
            q = herald__arena_grow(&p->spill, ptr, old_n, n);
            p->last_ptr = q;
            return q;
        }
        if (q) {
            memcpy(q, ptr, old_n);
            p->last_ptr = q;
        }
        return q;
    }
    q = scratch_alloc(p, n);
    if (q && ptr && old_n > 0) {
        memcpy(q, ptr, old_n < n ? old_n : n);
    }
    return q;
}

static void yy_free(void *ctx, void *ptr)
{
    /* Everything goes at once, in scratch_end. */
    (void)ctx;
    (void)ptr;
}

/* Makes the region hold at least n bytes (its content is not kept).
 * Leaves it empty when memory ran out: blocks then spill. */
static void scratch_reserve(struct herald__json_parser *p, size_t n)
{
    if (p->size >= n) {
        return;
    }
    free(p->buf);
    p->buf = malloc(n);
    p->size = p->buf ? n : 0;
}

static void scratch_begin(struct herald__json_parser *p, size_t len)
{
    size_t n = len > (SIZE_MAX - JSON_SCRATCH_BASE) / JSON_SCRATCH_PER_BYTE
                   ? SIZE_MAX
                   : len * JSON_SCRATCH_PER_BYTE + JSON_SCRATCH_BASE;

    if (n <= JSON_SCRATCH_KEEP_MAX) {
        scratch_reserve(p, scratch_align(n));
    }
    p->used = 0;
    p->last = 0;
    p->last_ptr = NULL;
    p->want = 0;
    p->want_last = 0;
}

/* After a decode: what spilled is freed and the region grown to what the
 * decode wanted, so the same document fits next time (within the cap). */
static void scratch_end(struct herald__json_parser *p)
{
    if (p->spill.head) {
        herald__arena_free(&p->spill);
    }
    if (p->want > p->size && p->want <= JSON_SCRATCH_KEEP_MAX) {
        scratch_reserve(p, p->want);
    }
    p->used = 0;
    p->last_ptr = NULL;
}

void herald__json_parser_cleanup(struct herald__json_parser *p)
{
    if (!p) {
        return;
    }
    herald__arena_free(&p->spill);
    free(p->buf);
    memset(p, 0, sizeof *p);
}

/* ---- errors ----------------------------------------------------------- */

/* "invalid JSON at line L col C: why", where text[pos] is the character
 * the error is about: L counts lines from 1, C characters (UTF-8
 * sequences) from 1 up to and including it, as jansson counted them.
 * jansson reports the last character its lexer read and yyjson the one
 * it stopped at, so the two may differ by a token for the same error. */
static void syntax_err(const unsigned char *text, size_t len, size_t pos,
                       const char *why, char *err, size_t errlen)
{
    size_t i;
    int line = 1, col = 0;

    if (!err || !errlen) {
        return;
    }
    for (i = 0; i <= pos && i < len; i++) {
        if (text[i] == '\n') {
            line++;
            col = 0;
        } else if ((text[i] & 0xC0) != 0x80) {
            col++;
        }
    }
    snprintf(err, errlen, "invalid JSON at line %d col %d: %s", line, col, why);
}

/* ---- yyjson document to value nodes ----------------------------------- */

struct conv {
    struct herald__json_parser *parser; /* scratch for name tables */
    const yyjson_doc *doc;
    const unsigned char *text; /* what was parsed, for error positions */
    size_t len;
    struct herald__val *nodes; /* next free node slots in the block */
    char *strs;                /* next free string bytes in the block */
    char *err;
    size_t errlen;
};

/* Where in the text a string or raw number of the document starts:
 * yyjson's non-in-place read keeps both in its copy of the text. */
static size_t text_pos(const struct conv *c, const char *s)
{
    return (size_t)(s - c->doc->str_pool);
}

/* The position of the closing quote of the string whose (unescaped)
 * bytes start at s, in the text: yyjson unescapes in place, so the
 * string starts where its source does. */
static size_t string_end(const struct conv *c, const char *s)
{
    size_t i = text_pos(c, s);

    while (i < c->len && c->text[i] != '"') {
        i += c->text[i] == '\\' ? 2 : 1;
    }
    return i;
}

/* Rejects what yyjson read but jansson did not: numbers beyond int64 or a
 * finite double. Also sums the string bytes the tree will hold (each with
 * its NUL) into *strs. Returns 0 or -1 with c->err. */
static int check_values(struct conv *c, size_t *strs)
{
    yyjson_val *v = yyjson_doc_get_root((yyjson_doc *)c->doc);
    yyjson_val *end = v + yyjson_doc_get_val_count((yyjson_doc *)c->doc);
    char why[96];

    *strs = 0;
    for (; v < end; v++) {
        uint8_t type = yyjson_get_type(v);
        if ((type == YYJSON_TYPE_STR || type == YYJSON_TYPE_ARR ||
             type == YYJSON_TYPE_OBJ) &&
            unsafe_yyjson_get_len(v) > HERALD__VAL_MAX_N) {
            snprintf(c->err, c->errlen,
                     "invalid JSON: a string, array or object too large");
            return -1;
        }
        switch (type) {
        case YYJSON_TYPE_STR:
            *strs += unsafe_yyjson_get_len(v) + 1;
            break;
        case YYJSON_TYPE_NUM:
            if (yyjson_get_subtype(v) == YYJSON_SUBTYPE_UINT &&
                unsafe_yyjson_get_uint(v) > (uint64_t)INT64_MAX) {
                if (c->err && c->errlen) {
                    snprintf(c->err, c->errlen,
                             "invalid JSON: too big integer near '%" PRIu64 "'",
                             unsafe_yyjson_get_uint(v));
                }
                return -1;
            }
            break;
        case YYJSON_TYPE_RAW: {
            const char *raw = unsafe_yyjson_get_raw(v);
            size_t n = unsafe_yyjson_get_len(v);
            const char *kind = "too big integer";
            if (memchr(raw, '.', n) || memchr(raw, 'e', n) ||
                memchr(raw, 'E', n)) {
                kind = "real number overflow";
            } else if (raw[0] == '-') {
                kind = "too big negative integer";
            }
            snprintf(why, sizeof why, "%s near '%.*s'", kind,
                     n > 64 ? 64 : (int)n, raw);
            syntax_err(c->text, c->len, text_pos(c, raw) + n - 1, why, c->err,
                       c->errlen);
            return -1;
        }
        default:
            break;
        }
    }
    return 0;
}

/* FNV-1a, for the repeated-name table of large objects. */
static uint32_t name_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < n; i++) {
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    }
    return h;
}

static int convert(struct conv *c, yyjson_val *v, struct herald__val *out,
                   int depth);

/* The member called name[0..n) among members[0..count), through table
 * (slots entries, 0 = empty, else index + 1) when there is one; adds it to
 * the table when absent. */
static struct herald__member *find_member(struct herald__member *members,
                                          uint32_t count, uint32_t *table,
                                          size_t slots, const char *name,
                                          size_t n)
{
    size_t i;

    if (!table) {
        for (i = 0; i < count; i++) {
            if (members[i].name_len == n &&
                memcmp(members[i].name, name, n) == 0) {
                return &members[i];
            }
        }
        return NULL;
    }
    for (i = name_hash(name, n) & (slots - 1);; i = (i + 1) & (slots - 1)) {
        struct herald__member *m;
        if (table[i] == 0) {
            table[i] = count + 1;
            return NULL;
        }
        m = &members[table[i] - 1];
        if (m->name_len == n && memcmp(m->name, name, n) == 0) {
            return m;
        }
    }
}

/* jansson's error for a name holding U+0000, which it could not store.
 * Apart from convert_object so that its buffer is not on the stack of
 * every nesting level. */
static void __attribute__((noinline))
nul_name_err(const struct conv *c, const char *name)
{
    size_t from = text_pos(c, name) - 1; /* the opening quote */
    size_t to = string_end(c, name);
    char why[128];

    snprintf(why, sizeof why,
             "NUL byte in object key not supported near '%.*s'",
             to - from >= 64 ? 64 : (int)(to - from + 1),
             (const char *)c->text + from);
    syntax_err(c->text, c->len, to, why, c->err, c->errlen);
}

static int convert_object(struct conv *c, yyjson_val *obj,
                          struct herald__val *out, int depth)
{
    size_t n = unsafe_yyjson_get_len(obj);
    struct herald__member *members = (struct herald__member *)c->nodes;
    uint32_t *table = NULL;
    size_t slots = 0;
    uint32_t count = 0;
    yyjson_val *key = unsafe_yyjson_get_first(obj);
    size_t i;
    int rc = 0;

    /* Two values of the document (name and value) per member: the block
     * has room for n members here. */
    c->nodes += 2 * n;
    if (n > JSON_DUP_SCAN_MAX) {
        slots = 1;
        while (slots < 2 * n) {
            slots <<= 1;
        }
        table = scratch_alloc(c->parser, slots * sizeof *table);
        if (!table) {
            snprintf(c->err, c->errlen, "out of memory");
            return -1;
        }
        memset(table, 0, slots * sizeof *table);
    }
    for (i = 0; i < n && rc == 0; i++) {
        yyjson_val *val = key + 1;
        const char *name = unsafe_yyjson_get_str(key);
        size_t name_len = unsafe_yyjson_get_len(key);
        struct herald__member *m;

        if (memchr(name, '\0', name_len)) {
            nul_name_err(c, name);
            rc = -1;
            break;
        }
        m = find_member(members, count, table, slots, name, name_len);
        if (!m) {
            m = &members[count++];
            m->name = c->strs;
            m->name_len = (uint32_t)name_len;
            memcpy(c->strs, name, name_len + 1);
            c->strs += name_len + 1;
        }
        rc = convert(c, val, &m->val, depth);
        key = unsafe_yyjson_get_next(val);
    }
    out->type = HERALD__V_OBJ;
    out->n = count;
    out->u.members = members;
    return rc;
}

/* v as *out, its strings and children in c's block. depth: v's nesting
 * level, 1 for the root; jansson refused any value, container or not,
 * deeper than JSON_MAX_DEPTH. Returns 0 or -1 with c->err. */
static int convert(struct conv *c, yyjson_val *v, struct herald__val *out,
                   int depth)
{
    size_t n, i;

    memset(out, 0, sizeof *out);
    if (depth > JSON_MAX_DEPTH) {
        snprintf(c->err, c->errlen,
                 "invalid JSON: maximum parsing depth reached");
        return -1;
    }
    switch (yyjson_get_tag(v)) {
    case YYJSON_TYPE_NULL | YYJSON_SUBTYPE_NONE:
        out->type = HERALD__V_NULL;
        return 0;
    case YYJSON_TYPE_BOOL | YYJSON_SUBTYPE_TRUE:
    case YYJSON_TYPE_BOOL | YYJSON_SUBTYPE_FALSE:
        out->type = HERALD__V_BOOL;
        out->boolean = unsafe_yyjson_get_bool(v);
        return 0;
    case YYJSON_TYPE_NUM | YYJSON_SUBTYPE_UINT:
    case YYJSON_TYPE_NUM | YYJSON_SUBTYPE_SINT:
        /* check_values ruled out a uint above INT64_MAX. */
        out->type = HERALD__V_INT;
        out->u.i = unsafe_yyjson_get_sint(v);
        return 0;
    case YYJSON_TYPE_NUM | YYJSON_SUBTYPE_REAL:
        out->type = HERALD__V_REAL;
        out->u.d = unsafe_yyjson_get_real(v);
        return 0;
    default:
        break;
    }
    n = unsafe_yyjson_get_len(v);
    switch (yyjson_get_type(v)) {
    case YYJSON_TYPE_STR:
        out->type = HERALD__V_STR;
        out->n = (uint32_t)n;
        out->u.s = c->strs;
        memcpy(c->strs, unsafe_yyjson_get_str(v), n + 1);
        c->strs += n + 1;
        return 0;
    case YYJSON_TYPE_ARR: {
        struct herald__val *items = c->nodes;
        yyjson_val *item = unsafe_yyjson_get_first(v);

        c->nodes += n;
        out->type = HERALD__V_ARR;
        out->n = (uint32_t)n;
        out->u.items = items;
        for (i = 0; i < n; i++) {
            if (convert(c, item, &items[i], depth + 1) != 0) {
                return -1;
            }
            item = unsafe_yyjson_get_next(item);
        }
        return 0;
    }
    case YYJSON_TYPE_OBJ:
        return convert_object(c, v, out, depth + 1);
    default:
        snprintf(c->err, c->errlen, "invalid JSON: unexpected value");
        return -1;
    }
}

/* jansson's lexer loses a NUL byte that ends a number or a literal
 * (true, false, null): it pushes the NUL back, which its stream takes for
 * "nothing pushed back", so the token ends there and the NUL is gone:
 * "[1\0]" was [1], "[1\0" "2]" an error. Such a NUL is a space to yyjson:
 * the same text with those NULs as spaces, in p's scratch, when text has
 * any NUL; else text itself. NULL when memory ran out. */
static const unsigned char *lose_nuls(struct herald__json_parser *p,
                                      const unsigned char *text, size_t len)
{
    unsigned char *copy;
    size_t i;
    int in_str = 0;

    if (len == 0 || !memchr(text, '\0', len)) {
        return text;
    }
    copy = scratch_alloc(p, len);
    if (!copy) {
        return NULL;
    }
    memcpy(copy, text, len);
    for (i = 0; i < len; i++) {
        unsigned char ch = text[i];
        if (in_str) {
            if (ch == '\\') {
                i++;
            } else if (ch == '"') {
                in_str = 0;
            }
        } else if (ch == '"') {
            in_str = 1;
        } else if (ch == '\0' && i > 0 &&
                   ((text[i - 1] >= '0' && text[i - 1] <= '9') ||
                    (text[i - 1] >= 'a' && text[i - 1] <= 'z') ||
                    (text[i - 1] >= 'A' && text[i - 1] <= 'Z'))) {
            copy[i] = ' ';
        }
    }
    return copy;
}

/* When the text is not JSON, the reason as jansson words it (the words
 * herald has always logged and tests assert): a poison record is rare, so
 * it is parsed a second time, by jansson, for its message. Leaves err
 * alone if jansson (unexpectedly) accepts the text. */
static void jansson_message(const unsigned char *text, size_t len, char *err,
                            size_t errlen)
{
    json_error_t jerr;
    json_t *j = json_loadb((const char *)text, len,
                           JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);

    if (j) {
        json_decref(j);
        return;
    }
    snprintf(err, errlen, "invalid JSON at line %d col %d: %s", jerr.line,
             jerr.column, jerr.text);
}

int herald__json_decode_arena(struct herald__json_parser *p, const void *buf,
                              size_t len, struct herald__decode_budget *b,
                              struct herald__arena *a, struct herald__val *out,
                              char *err, size_t errlen)
{
    static const yyjson_read_flag flags = YYJSON_READ_BIGNUM_AS_RAW;
    yyjson_alc alc = {yy_malloc, yy_realloc, yy_free, p};
    yyjson_read_err yerr;
    struct conv c = {0};
    const unsigned char *text, *orig;
    yyjson_doc *doc;
    size_t vals, strs, node_bytes;
    int syntax = 0; /* err is about the text, not memory or the budget */
    char spare[1];
    unsigned char *block;
    int rc = -1;

    memset(out, 0, sizeof *out);
    out->type = HERALD__V_NULL;
    if (!err || !errlen) {
        err = spare;
        errlen = sizeof spare;
    }
    if (json_begin(buf, len, b, json_scan_fast, &text, &len, err, errlen) !=
        0) {
        return -1;
    }
    orig = text;
    scratch_begin(p, len);
    text = lose_nuls(p, text, len);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    doc = yyjson_read_opts((char *)(uintptr_t)text, len, flags, &alc, &yerr);
    if (!doc) {
        if (yerr.code == YYJSON_READ_ERROR_MEMORY_ALLOCATION) {
            snprintf(err, errlen, "out of memory");
        } else {
            syntax_err(text, len, yerr.pos, yerr.msg, err, errlen);
            syntax = 1;
        }
        goto out;
    }
    c = (struct conv){.parser = p,
                      .doc = doc,
                      .text = text,
                      .len = len,
                      .err = err,
                      .errlen = errlen};
    if (check_values(&c, &strs) != 0) {
        syntax = 1;
        goto out;
    }
    /* Every value but the root is an array item (one node) or half of an
     * object member (name and value: one member, two nodes' size). */
    _Static_assert(sizeof(struct herald__member) ==
                       2 * sizeof(struct herald__val),
                   "a member is two nodes");
    vals = yyjson_doc_get_val_count(doc);
    node_bytes = (vals - 1) * sizeof(struct herald__val);
    block = herald__arena_alloc(a, node_bytes + strs);
    if (!block) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    c.nodes = (struct herald__val *)(void *)block;
    c.strs = (char *)block + node_bytes;
    rc = convert(&c, yyjson_doc_get_root(doc), out, 1);
    syntax = 1; /* jansson accepts what was only too big for memory */
    if (rc != 0) {
        memset(out, 0, sizeof *out);
        out->type = HERALD__V_NULL;
    }
out:
    scratch_end(p);
    if (rc != 0 && syntax) {
        jansson_message(orig, len, err, errlen);
    }
    return rc;
}
