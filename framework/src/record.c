/*
 * record.c - the decoded record: construction, path lookup ("a.b[2].c",
 * "@key.x", "@headers.NAME", ...), typed field access and JSON rendering
 * for the host API. Contract in record.h.
 */
#include "record.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

/* Copy len bytes and a NUL after them: raw keys and header values are
 * handed to plugins as STRING values (record_field), which the ABI
 * promises NUL-terminated. A non-NULL source of length 0 stays
 * distinguishable from NULL (empty key vs no key). */
static void *dup_bytes(const void *src, size_t len)
{
    char *p;

    if (!src || len == SIZE_MAX) {
        return NULL;
    }
    p = malloc(len + 1);
    if (p) {
        if (len > 0) {
            memcpy(p, src, len);
        }
        p[len] = '\0';
    }
    return p;
}

struct herald_record *herald__record_new(const char *topic, int32_t partition,
                                         int64_t offset, int64_t timestamp,
                                         const void *key, size_t key_len,
                                         const void *value, size_t value_len)
{
    struct herald_record *r = calloc(1, sizeof *r);

    if (!r) {
        return NULL;
    }
    r->topic = strdup(topic ? topic : "");
    r->partition = partition;
    r->offset = offset;
    r->timestamp = timestamp;
    r->key = dup_bytes(key, key_len);
    r->key_len = key ? key_len : 0;
    r->value = dup_bytes(value, value_len);
    r->value_len = value ? value_len : 0;
    r->window_end = -1;
    r->schema_id = -1;
    if (!r->topic || (key && !r->key) || (value && !r->value)) {
        herald__record_destroy(r);
        return NULL;
    }
    return r;
}

int herald__record_add_header(struct herald_record *r, const char *name,
                              const void *value, size_t len)
{
    struct herald__header *h;

    h = realloc(r->headers, (r->n_headers + 1) * sizeof *h);
    if (!h) {
        return -1;
    }
    r->headers = h;
    h = &r->headers[r->n_headers];
    h->name = strdup(name);
    h->value = dup_bytes(value, len);
    h->len = value ? len : 0;
    if (!h->name || (value && !h->value)) {
        free(h->name);
        free(h->value);
        return -1;
    }
    r->n_headers++;
    return 0;
}

void herald__record_destroy(struct herald_record *r)
{
    size_t i;

    if (!r) {
        return;
    }
    for (i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    json_decref(r->key_tree);
    json_decref(r->value_tree);
    free(r->topic);
    free(r->key);
    free(r->value);
    free(r);
}

/* Raw bytes as JSON: a UTF-8 string when they are valid UTF-8, else a
 * string of code points U+0000..U+00FF. NULL bytes -> null. */
static json_t *raw_json(const void *buf, size_t len)
{
    if (!buf) {
        return json_null();
    }
    if (herald__utf8_check(buf, len) == len) {
        return json_stringn(len ? buf : "", len);
    }
    return herald__bytes_json(buf, len);
}

/* The last header called name (Kafka's lastHeader), or NULL. */
static const struct herald__header *find_header(const struct herald_record *r,
                                                const char *name)
{
    size_t i;

    for (i = r->n_headers; i-- > 0;) {
        if (strcmp(r->headers[i].name, name) == 0) {
            return &r->headers[i];
        }
    }
    return NULL;
}

/* Walk p ("", ".name", "[3]", "[\"odd.name\"]", chained) from node. A
 * missing step leaves *out NULL but the rest is still checked for syntax.
 * first: p starts with a bare name (a value path). Returns 0 or -1. */
static int walk(json_t *node, const char *p, int first, json_t **out)
{
    char name[256];

    while (*p != '\0') {
        size_t n = 0;

        if (*p == '[') {
            p++;
            if (*p == '"') {
                p++;
                while (*p != '\0' && *p != '"') {
                    if (n + 1 >= sizeof name) {
                        return -1;
                    }
                    name[n++] = *p++;
                }
                if (p[0] != '"' || p[1] != ']') {
                    return -1;
                }
                p += 2;
                name[n] = '\0';
                node = json_object_get(node, name);
            } else {
                size_t idx = 0;
                if (*p < '0' || *p > '9') {
                    return -1;
                }
                while (*p >= '0' && *p <= '9') {
                    if (idx > (SIZE_MAX - 9) / 10) {
                        return -1;
                    }
                    idx = idx * 10 + (size_t)(*p - '0');
                    p++;
                }
                if (*p != ']') {
                    return -1;
                }
                p++;
                node = json_array_get(node, idx);
            }
        } else {
            if (!first) {
                if (*p != '.') {
                    return -1;
                }
                p++;
            }
            while (*p != '\0' && *p != '.' && *p != '[' && *p != ']') {
                if (n + 1 >= sizeof name) {
                    return -1;
                }
                name[n++] = *p++;
            }
            if (n == 0) {
                return -1;
            }
            name[n] = '\0';
            node = json_object_get(node, name);
        }
        first = 0;
    }
    *out = node;
    return 0;
}

static int starts(const char *s, const char *prefix, const char **rest)
{
    size_t n = strlen(prefix);

    if (strncmp(s, prefix, n) != 0) {
        return 0;
    }
    *rest = s + n;
    return 1;
}

/* A made node that allows no further path: only "" may follow. */
static int leaf(json_t *made, const char *rest, json_t **out, json_t **owned)
{
    if (*rest != '\0') {
        json_decref(made);
        return -1;
    }
    *out = made;
    *owned = made;
    return 0;
}

int herald__record_lookup(const struct herald_record *r, const char *path,
                          json_t **out, json_t **owned)
{
    const struct herald__header *h;
    const char *rest;
    json_t *made;
    int rc;

    *out = NULL;
    *owned = NULL;
    if (!path || path[0] == '\0') {
        return -1;
    }
    if (path[0] != '@') {
        return walk(r->value_tree, path, 1, out);
    }
    if (starts(path, "@key", &rest) &&
        (*rest == '\0' || *rest == '.' || *rest == '[')) {
        if (r->key_tree) {
            return walk(r->key_tree, rest, 0, out);
        }
        /* Not decoded: the raw key, which has no inner structure. */
        made = raw_json(r->key, r->key_len);
        rc = walk(made, rest, 0, out);
        if (rc != 0 || *out != made) {
            json_decref(made);
            return rc;
        }
        *owned = made;
        return 0;
    }
    if (starts(path, "@value", &rest) &&
        (*rest == '\0' || *rest == '.' || *rest == '[')) {
        if (*rest == '\0') {
            *out = r->value_tree ? r->value_tree : json_null();
            return 0;
        }
        return walk(r->value_tree, rest, 0, out);
    }
    if (starts(path, "@topic", &rest)) {
        return leaf(json_string(r->topic), rest, out, owned);
    }
    if (starts(path, "@partition", &rest)) {
        return leaf(json_integer(r->partition), rest, out, owned);
    }
    if (starts(path, "@offset", &rest)) {
        return leaf(json_integer(r->offset), rest, out, owned);
    }
    if (starts(path, "@timestamp", &rest)) {
        made = r->timestamp >= 0 ? json_integer(r->timestamp) : json_null();
        return leaf(made, rest, out, owned);
    }
    if (starts(path, "@window.start", &rest)) {
        if (*rest != '\0') {
            return -1;
        }
        if (!r->has_window) {
            return 0;
        }
        return leaf(json_integer(r->window_start), rest, out, owned);
    }
    if (starts(path, "@window.end", &rest)) {
        if (*rest != '\0') {
            return -1;
        }
        if (!r->has_window) {
            return 0;
        }
        made = r->window_end >= 0 ? json_integer(r->window_end) : json_null();
        return leaf(made, rest, out, owned);
    }
    if (starts(path, "@headers.", &rest)) {
        /* Header names may hold dots: the whole rest is the name. */
        if (*rest == '\0') {
            return -1;
        }
        h = find_header(r, rest);
        if (!h) {
            return 0;
        }
        return leaf(raw_json(h->value, h->len), "", out, owned);
    }
    return -1;
}

json_t *herald__record_to_json(const struct herald_record *r)
{
    json_t *o = json_object();
    json_t *headers = json_object();
    json_t *window;
    size_t i;

    /* json_object_set_new takes the value even when it fails, so each
     * piece is handed over as soon as it is made. */
    if (!o || !headers) {
        json_decref(headers);
        goto fail;
    }
    if (json_object_set_new(o, "topic", json_string(r->topic)) != 0 ||
        json_object_set_new(o, "partition", json_integer(r->partition)) ||
        json_object_set_new(o, "offset", json_integer(r->offset)) ||
        json_object_set_new(o, "timestamp",
                            r->timestamp >= 0 ? json_integer(r->timestamp)
                                              : json_null())) {
        json_decref(headers);
        goto fail;
    }
    if (json_object_set_new(o, "key",
                            r->key_tree ? json_incref(r->key_tree)
                                        : raw_json(r->key, r->key_len)) != 0) {
        json_decref(headers);
        goto fail;
    }
    if (r->has_window) {
        window = json_pack(
            "{s:I,s:o}", "start", (json_int_t)r->window_start, "end",
            r->window_end >= 0 ? json_integer(r->window_end) : json_null());
    } else {
        window = json_null();
    }
    if (json_object_set_new(o, "window", window) != 0) {
        json_decref(headers);
        goto fail;
    }
    if (json_object_set_new(o, "headers", headers) != 0) {
        goto fail;
    }
    for (i = 0; i < r->n_headers; i++) {
        json_t *v = raw_json(r->headers[i].value, r->headers[i].len);
        if (json_object_set_new(headers, r->headers[i].name, v) != 0) {
            goto fail;
        }
    }
    if (json_object_set_new(o, "value",
                            r->value_tree ? json_incref(r->value_tree)
                                          : json_null()) != 0) {
        goto fail;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

static void fill(json_t *j, struct herald_value *out)
{
    switch (j ? json_typeof(j) : JSON_NULL) {
    case JSON_OBJECT:
        out->type = HERALD_VALUE_OBJECT;
        out->count = json_object_size(j);
        break;
    case JSON_ARRAY:
        out->type = HERALD_VALUE_ARRAY;
        out->count = json_array_size(j);
        break;
    case JSON_STRING:
        out->type = HERALD_VALUE_STRING;
        out->str = json_string_value(j);
        out->len = json_string_length(j);
        break;
    case JSON_INTEGER:
        out->type = HERALD_VALUE_INT;
        out->integer = json_integer_value(j);
        break;
    case JSON_REAL:
        out->type = HERALD_VALUE_DOUBLE;
        out->real = json_real_value(j);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        out->type = HERALD_VALUE_BOOL;
        out->boolean = json_is_true(j);
        break;
    case JSON_NULL:
        out->type = j ? HERALD_VALUE_NULL : HERALD_VALUE_MISSING;
        break;
    }
}

/* Raw bytes (header value, undecoded key) as a borrowed value. */
static void fill_raw(const void *buf, size_t len, struct herald_value *out)
{
    if (!buf) {
        out->type = HERALD_VALUE_NULL;
        return;
    }
    out->type = herald__utf8_check(buf, len) == len ? HERALD_VALUE_STRING
                                                    : HERALD_VALUE_BYTES;
    out->str = buf;
    out->len = len;
}

int herald__record_field(const struct herald_record *r, const char *path,
                         struct herald_value *out)
{
    const struct herald__header *h;
    json_t *j = NULL;
    json_t *owned = NULL;
    const char *rest;

    memset(out, 0, sizeof *out);
    /* Strings that exist only as raw bytes point into the record itself,
     * so that the view lives as long as the record. */
    if (path && strcmp(path, "@topic") == 0) {
        out->type = HERALD_VALUE_STRING;
        out->str = r->topic;
        out->len = strlen(r->topic);
        return 0;
    }
    if (path && starts(path, "@headers.", &rest) && *rest != '\0') {
        h = find_header(r, rest);
        if (h) {
            fill_raw(h->value, h->len, out);
        }
        return 0;
    }
    if (path && strcmp(path, "@key") == 0 && !r->key_tree) {
        fill_raw(r->key, r->key_len, out);
        return 0;
    }
    if (herald__record_lookup(r, path, &j, &owned) != 0) {
        return -1;
    }
    /* What remains owned is a number or null: nothing to point into. */
    fill(j, out);
    json_decref(owned);
    return 0;
}

long herald__record_json(const struct herald_record *r, char *buf,
                         size_t buflen)
{
    json_t *j = herald__record_to_json(r);
    char *s;
    size_t len;

    if (!j) {
        return -1;
    }
    s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    if (!s) {
        return -1;
    }
    len = strlen(s);
    if (buf && buflen > 0) {
        size_t n = len < buflen - 1 ? len : buflen - 1;
        memcpy(buf, s, n);
        buf[n] = '\0';
    }
    free(s);
    return (long)len;
}
