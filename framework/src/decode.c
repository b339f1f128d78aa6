/*
 * decode.c - key/value formats, Confluent framing and ksqlDB windowed keys:
 * turns a record's raw bytes into value trees (value.h) in the record's
 * arena. Avro goes through the registry (schemas) and avro.c (binary).
 * Contract in decode.h.
 */
#include "decode.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_decode.h"
#include "bytes.h"
#include "json_decode.h"
#include "record.h"
#include "registry.h"

/* A window bound in a ksqlDB windowed key: 8 bytes, big-endian ms. */
#define WINDOW_BOUND_SIZE 8
/* Confluent framing: the magic byte 0x00, then a 4-byte schema id. */
#define CONFLUENT_MAGIC 0
#define CONFLUENT_HEADER_SIZE 5

struct herald__decoder {
    struct herald__format_spec key;
    struct herald__format_spec value;
    struct herald__registry *reg;
    herald__decode_ready_fn ready;
    void *ctx;
    struct herald__json_parser json; /* scratch reused by every json decode */
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

static const char *const format_names[] = {"string", "bytes", "json", "avro"};
static const char *const window_names[] = {"none", "tumbling", "hopping",
                                           "session"};

int herald__format_parse(const char *s, enum herald__format *out)
{
    size_t i;

    for (i = 0; s && i < sizeof format_names / sizeof *format_names; i++) {
        if (strcmp(s, format_names[i]) == 0) {
            *out = (enum herald__format)i;
            return 0;
        }
    }
    return -1;
}

int herald__window_parse(const char *s, enum herald__window *out)
{
    size_t i;

    for (i = 0; s && i < sizeof window_names / sizeof *window_names; i++) {
        if (strcmp(s, window_names[i]) == 0) {
            *out = (enum herald__window)i;
            return 0;
        }
    }
    return -1;
}

const char *herald__format_name(enum herald__format f)
{
    if ((size_t)f < sizeof format_names / sizeof *format_names) {
        return format_names[f];
    }
    return "?";
}

/* ---- output size ----------------------------------------------------- */

void herald__decode_tree_size(json_t *j, uint64_t *nodes, uint64_t *bytes)
{
    const char *k;
    json_t *v;
    size_t i;

    if (!j) {
        return;
    }
    (*nodes)++;
    switch (json_typeof(j)) {
    case JSON_STRING:
        *bytes += json_string_length(j);
        break;
    case JSON_ARRAY:
        json_array_foreach (j, i, v) {
            herald__decode_tree_size(v, nodes, bytes);
        }
        break;
    case JSON_OBJECT:
        json_object_foreach (j, k, v) {
            *bytes += strlen(k);
            herald__decode_tree_size(v, nodes, bytes);
        }
        break;
    default:
        break;
    }
}

static int64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < WINDOW_BOUND_SIZE; i++) {
        v = (v << 8) | p[i];
    }
    return (int64_t)v;
}

int herald__window_split(enum herald__window w, int64_t size_ms,
                         const void *key, size_t len, size_t *inner_len,
                         int64_t *start, int64_t *end, char *err, size_t errlen)
{
    const unsigned char *p = key;
    size_t suffix =
        w == HERALD__WINDOW_SESSION ? 2 * WINDOW_BOUND_SIZE : WINDOW_BOUND_SIZE;

    if (w == HERALD__WINDOW_NONE) {
        set_err(err, errlen, "key is not windowed");
        return -1;
    }
    if (len < suffix) {
        set_err(err, errlen,
                "%s windowed key of %zu bytes is shorter than its %zu-byte "
                "window suffix",
                window_names[w], len, suffix);
        return -1;
    }
    *inner_len = len - suffix;
    *start = be64(p + len - WINDOW_BOUND_SIZE);
    if (w == HERALD__WINDOW_SESSION) {
        *end = be64(p + len - 2 * WINDOW_BOUND_SIZE);
    } else if (size_ms > 0) {
        /* A forged suffix near INT64_MAX must not overflow (undefined
         * behaviour): such a window cannot be real. */
        if (*start > INT64_MAX - size_ms) {
            set_err(err, errlen,
                    "window start %" PRId64 " + window_size %" PRId64
                    " ms overflows 64 bits",
                    *start, size_ms);
            return -1;
        }
        *end = *start + size_ms;
    } else {
        *end = -1;
    }
    return 0;
}

int herald__confluent_frame(const void *buf, size_t len, int32_t *id, char *err,
                            size_t errlen)
{
    const unsigned char *p = buf;

    if (len < CONFLUENT_HEADER_SIZE) {
        set_err(err, errlen,
                "truncated Confluent framing: %zu bytes, need at least %d", len,
                CONFLUENT_HEADER_SIZE);
        return -1;
    }
    if (p[0] != CONFLUENT_MAGIC) {
        set_err(err, errlen,
                "unknown magic byte 0x%02x (expected 0x00 Confluent framing)",
                p[0]);
        return -1;
    }
    *id = (int32_t)(((uint32_t)p[1] << 24) | ((uint32_t)p[2] << 16) |
                    ((uint32_t)p[3] << 8) | p[4]);
    return 0;
}

/* A string node of n bytes at s (already in the arena) in *out. */
static void str_val(struct herald__val *out, const char *s, size_t n)
{
    memset(out, 0, sizeof *out);
    out->type = HERALD__V_STR;
    out->n = (uint32_t)n;
    out->u.s = s;
}

/* The string format: UTF-8 text as one string node. */
static int string_decode_arena(const void *buf, size_t len,
                               struct herald__decode_budget *b,
                               struct herald__arena *a, struct herald__val *out,
                               char *err, size_t errlen)
{
    size_t bad = herald__utf8_check(buf, len);
    const char *s;

    if (bad != len) {
        set_err(err, errlen, "invalid UTF-8 at byte %zu", bad);
        return -1;
    }
    if (herald__decode_budget_take(b, 1, len, err, errlen) != 0) {
        return -1;
    }
    s = len <= HERALD__VAL_MAX_N ? herald__arena_strdup(a, buf, len) : NULL;
    if (!s) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    str_val(out, s, len);
    return 0;
}

/* The bytes format: one string of code points U+0000..U+00FF (Avro's JSON
 * encoding of bytes, as herald__bytes_json), UTF-8 encoded. */
static int bytes_decode_arena(const void *buf, size_t len,
                              struct herald__decode_budget *b,
                              struct herald__arena *a, struct herald__val *out,
                              char *err, size_t errlen)
{
    const unsigned char *p = buf;
    uint64_t bytes = len;
    unsigned char *s;
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        bytes += p[i] >> 7;
    }
    if (herald__decode_budget_take(b, 1, bytes, err, errlen) != 0) {
        return -1;
    }
    s = bytes <= HERALD__VAL_MAX_N ? herald__arena_alloc(a, bytes + 1) : NULL;
    if (!s) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (p[i] < 0x80) {
            s[n++] = p[i];
        } else {
            s[n++] = (unsigned char)(0xC0 | (p[i] >> 6));
            s[n++] = (unsigned char)(0x80 | (p[i] & 0x3F));
        }
    }
    s[n] = '\0';
    str_val(out, (const char *)s, n);
    return 0;
}

/* A registry-free format (string, bytes, json) into the arena: the one
 * place each format's decoder is called. */
static int plain_decode_arena(struct herald__json_parser *jp,
                              enum herald__format f, const void *buf,
                              size_t len, struct herald__decode_budget *b,
                              struct herald__arena *a, struct herald__val *out,
                              char *err, size_t errlen)
{
    switch (f) {
    case HERALD__FORMAT_STRING:
        return string_decode_arena(buf, len, b, a, out, err, errlen);
    case HERALD__FORMAT_BYTES:
        return bytes_decode_arena(buf, len, b, a, out, err, errlen);
    case HERALD__FORMAT_JSON:
        /* skips a Confluent JSON Schema frame (ksqlDB JSON_SR) itself */
        return herald__json_decode_arena(jp, buf, len, b, a, out, err, errlen);
    default:
        set_err(err, errlen, "format %s needs a schema registry",
                herald__format_name(f));
        return -1;
    }
}

int herald__decode_plain(enum herald__format f, const void *buf, size_t len,
                         json_t **out, char *err, size_t errlen)
{
    struct herald__decode_budget b;

    herald__decode_budget_init(&b, len, 0, 0);
    return herald__decode_plain_budget(f, buf, len, &b, out, err, errlen);
}

int herald__decode_plain_budget(enum herald__format f, const void *buf,
                                size_t len, struct herald__decode_budget *b,
                                json_t **out, char *err, size_t errlen)
{
    struct herald__json_parser jp = {0};
    struct herald__arena a = {0};
    struct herald__val v;
    int rc = -1;

    *out = NULL;
    if (plain_decode_arena(&jp, f, buf, len, b, &a, &v, err, errlen) == 0) {
        *out = herald__val_to_json(&v);
        if (*out) {
            rc = 0;
        } else {
            set_err(err, errlen, "out of memory");
        }
    }
    herald__arena_free(&a);
    herald__json_parser_cleanup(&jp);
    return rc;
}

static void on_schema(void *ctx, int32_t id, int status)
{
    struct herald__decoder *d = ctx;

    (void)id;
    (void)status;
    if (d->ready) {
        d->ready(d->ctx);
    }
}

struct herald__decoder *
herald__decoder_new(const struct herald__format_spec *key,
                    const struct herald__format_spec *value,
                    struct herald__registry *reg, herald__decode_ready_fn ready,
                    void *ctx, char *err, size_t errlen)
{
    struct herald__decoder *d;

    if (value->window != HERALD__WINDOW_NONE) {
        set_err(err, errlen, "a value cannot be windowed");
        return NULL;
    }
    if (key->window != HERALD__WINDOW_NONE && key->window_size_ms < 0) {
        set_err(err, errlen, "window size must not be negative");
        return NULL;
    }
    if (!reg && (key->format == HERALD__FORMAT_AVRO ||
                 value->format == HERALD__FORMAT_AVRO)) {
        set_err(err, errlen,
                "format avro needs schema_registry (url or "
                "schemas_dir)");
        return NULL;
    }
    d = calloc(1, sizeof *d);
    if (!d) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    d->key = *key;
    d->value = *value;
    d->reg = reg;
    d->ready = ready;
    d->ctx = ctx;
    return d;
}

void herald__decoder_destroy(struct herald__decoder *d)
{
    if (!d) {
        return;
    }
    if (d->reg) {
        herald__registry_cancel(d->reg, on_schema, d);
    }
    herald__json_parser_cleanup(&d->json);
    free(d);
}

/* Decode one side (key or value) whose bytes are buf/len into arena a as
 * *out (a node in a). */
static int decode_part(struct herald__decoder *d,
                       const struct herald__format_spec *spec, const void *buf,
                       size_t len, struct herald__arena *a,
                       const struct herald__val **out, int32_t *schema_id,
                       char *err, size_t errlen)
{
    const struct herald__avro_schema *schema = NULL;
    enum herald__format f = spec->format;
    struct herald__decode_budget budget;
    struct herald__val *v;
    int32_t id;
    int rc;

    herald__decode_budget_init(&budget, len, spec->max_nodes, spec->max_bytes);
    if (f == HERALD__FORMAT_AVRO) {
        if (herald__confluent_frame(buf, len, &id, err, errlen) != 0) {
            return HERALD__DECODE_POISON;
        }
        *schema_id = id;
        rc = herald__registry_get(d->reg, id, &schema,
                                  d->ready ? on_schema : NULL, d, err, errlen);
        if (rc == HERALD__REGISTRY_WAIT) {
            return HERALD__DECODE_WAIT;
        }
        if (rc != HERALD__REGISTRY_OK) {
            return HERALD__DECODE_POISON;
        }
    }
    v = herald__arena_alloc(a, sizeof *v);
    if (!v) {
        set_err(err, errlen, "out of memory");
        return HERALD__DECODE_POISON;
    }
    if (f == HERALD__FORMAT_AVRO) {
        rc = herald__avro_decode_arena(
            schema, (const unsigned char *)buf + CONFLUENT_HEADER_SIZE,
            len - CONFLUENT_HEADER_SIZE, CONFLUENT_HEADER_SIZE, &budget, a, v,
            err, errlen);
    } else {
        rc = plain_decode_arena(&d->json, f, buf, len, &budget, a, v, err,
                                errlen);
    }
    if (rc != 0) {
        return HERALD__DECODE_POISON;
    }
    *out = v;
    return HERALD__DECODE_OK;
}

static void reset(struct herald_record *r)
{
    r->key_val = NULL;
    r->value_val = NULL;
    herald__arena_reset(&r->arena);
    r->has_window = 0;
    r->window_start = 0;
    r->window_end = -1;
    r->schema_id = -1;
}

int herald__decode_record(struct herald__decoder *d, struct herald_record *r,
                          char *err, size_t errlen)
{
    char why[512];
    int32_t key_id = -1;
    size_t key_len = r->key_len;
    int rc;

    reset(r);
    why[0] = '\0';
    if (r->key) {
        if (d->key.window != HERALD__WINDOW_NONE) {
            if (herald__window_split(d->key.window, d->key.window_size_ms,
                                     r->key, r->key_len, &key_len,
                                     &r->window_start, &r->window_end, why,
                                     sizeof why) != 0) {
                rc = HERALD__DECODE_POISON;
                goto key_fail;
            }
            r->has_window = 1;
        }
        rc = decode_part(d, &d->key, r->key, key_len, &r->arena, &r->key_val,
                         &key_id, why, sizeof why);
        if (rc != HERALD__DECODE_OK) {
            goto key_fail;
        }
    }
    if (r->value) {
        rc = decode_part(d, &d->value, r->value, r->value_len, &r->arena,
                         &r->value_val, &r->schema_id, why, sizeof why);
        if (rc != HERALD__DECODE_OK) {
            if (rc == HERALD__DECODE_POISON) {
                set_err(err, errlen, "value: %s", why);
            } else {
                set_err(err, errlen, "value: waiting for schema %" PRId32,
                        r->schema_id);
            }
            goto fail;
        }
    }
    return HERALD__DECODE_OK;
key_fail:
    if (rc == HERALD__DECODE_POISON) {
        set_err(err, errlen, "key: %s", why);
    } else {
        set_err(err, errlen, "key: waiting for schema %" PRId32, key_id);
    }
fail:
    reset(r);
    return rc;
}
