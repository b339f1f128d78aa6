/*
 * decode.c - key/value formats, Confluent framing and ksqlDB windowed keys:
 * turns a record's raw bytes into jansson trees. Avro goes through the
 * registry (schemas) and avro.c (binary). Contract in decode.h.
 */
#include "decode.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_decode.h"
#include "bytes.h"
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
    const unsigned char *p = buf;
    json_error_t jerr;
    uint64_t nodes;
    uint64_t bytes;
    size_t bad;
    size_t i;

    *out = NULL;
    switch (f) {
    case HERALD__FORMAT_STRING:
        bad = herald__utf8_check(buf, len);
        if (bad != len) {
            set_err(err, errlen, "invalid UTF-8 at byte %zu", bad);
            return -1;
        }
        if (herald__decode_budget_take(b, 1, len, err, errlen) != 0) {
            return -1;
        }
        *out = json_stringn(len ? buf : "", len);
        break;
    case HERALD__FORMAT_BYTES:
        bytes = len;
        for (i = 0; i < len; i++) {
            bytes += p[i] >> 7;
        }
        if (herald__decode_budget_take(b, 1, bytes, err, errlen) != 0) {
            return -1;
        }
        *out = herald__bytes_json(buf, len);
        break;
    case HERALD__FORMAT_JSON:
        /* JSON never starts with a NUL byte: one that does carries the
         * Confluent JSON Schema frame (ksqlDB JSON_SR); skip it. */
        if (len >= 5 && p[0] == 0) {
            p += 5;
            len -= 5;
        }
        json_scan(p, len, &nodes, &bytes);
        if (herald__decode_budget_take(b, nodes, bytes, err, errlen) != 0) {
            return -1;
        }
        *out = json_loadb((const char *)p, len,
                          JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!*out) {
            set_err(err, errlen, "invalid JSON at line %d col %d: %s",
                    jerr.line, jerr.column, jerr.text);
            return -1;
        }
        return 0;
    default:
        set_err(err, errlen, "format %s needs a schema registry",
                herald__format_name(f));
        return -1;
    }
    if (!*out) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    return 0;
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
    free(d);
}

/* Decode one side (key or value) whose bytes are buf/len. */
static int decode_part(struct herald__decoder *d,
                       const struct herald__format_spec *spec, const void *buf,
                       size_t len, json_t **out, int32_t *schema_id, char *err,
                       size_t errlen)
{
    const struct herald__avro_schema *schema = NULL;
    enum herald__format f = spec->format;
    struct herald__decode_budget budget;
    int32_t id;
    int rc;

    herald__decode_budget_init(&budget, len, spec->max_nodes, spec->max_bytes);
    if (f != HERALD__FORMAT_AVRO) {
        rc =
            herald__decode_plain_budget(f, buf, len, &budget, out, err, errlen);
        return rc == 0 ? HERALD__DECODE_OK : HERALD__DECODE_POISON;
    }
    if (herald__confluent_frame(buf, len, &id, err, errlen) != 0) {
        return HERALD__DECODE_POISON;
    }
    *schema_id = id;
    rc = herald__registry_get(d->reg, id, &schema, d->ready ? on_schema : NULL,
                              d, err, errlen);
    if (rc == HERALD__REGISTRY_WAIT) {
        return HERALD__DECODE_WAIT;
    }
    if (rc != HERALD__REGISTRY_OK) {
        return HERALD__DECODE_POISON;
    }
    if (herald__avro_decode_budget(
            schema, (const unsigned char *)buf + CONFLUENT_HEADER_SIZE,
            len - CONFLUENT_HEADER_SIZE, CONFLUENT_HEADER_SIZE, &budget, out,
            err, errlen) != 0) {
        return HERALD__DECODE_POISON;
    }
    return HERALD__DECODE_OK;
}

static void reset(struct herald_record *r)
{
    json_decref(r->key_tree);
    json_decref(r->value_tree);
    r->key_tree = NULL;
    r->value_tree = NULL;
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
        rc = decode_part(d, &d->key, r->key, key_len, &r->key_tree, &key_id,
                         why, sizeof why);
        if (rc != HERALD__DECODE_OK) {
            goto key_fail;
        }
    }
    if (r->value) {
        rc = decode_part(d, &d->value, r->value, r->value_len, &r->value_tree,
                         &r->schema_id, why, sizeof why);
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
