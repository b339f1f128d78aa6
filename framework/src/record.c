/*
 * record.c - the decoded record: construction (copying or borrowing the
 * consumer's message), recycling, path lookup ("a.b[2].c", "@key.x",
 * "@headers.NAME", ...), typed field access and JSON rendering for the
 * host API. Contract in record.h.
 */
#include "record.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

/* Destroyed records kept for reuse, at most this many: enough for every
 * record in flight at once, few enough that a burst does not pin memory.
 * None under ASan, so that a use after destroy is still caught. */
#define POOL_MAX 1024u
/* A recycled record keeps its arena only when the last record used at most
 * this much of it (the kept chunk is then at most about twice as big); an
 * arena grown by a huge record is freed. */
#define KEEP_ARENA_BYTES 8192u
/* The same for the key/value copy buffer and the header array. */
#define KEEP_COPY_BYTES 4096u
#define KEEP_HEADERS 64u
/* The first header array. */
#define FIRST_HEADERS 4u

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct herald_record *pool;
static size_t pool_n;

/* A fresh record: from the free list (its buffers kept), else calloc'd. */
static struct herald_record *record_get(void)
{
    struct herald_record *r;

    pthread_mutex_lock(&pool_mu);
    r = pool;
    if (r) {
        pool = r->next_free;
        pool_n--;
    }
    pthread_mutex_unlock(&pool_mu);
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) {
            return NULL;
        }
    }
    r->next_free = NULL;
    r->window_end = -1;
    r->schema_id = -1;
    return r;
}

static void record_free(struct herald_record *r)
{
    herald__arena_free(&r->arena);
    free(r->copy);
    free(r->hdrs);
    free(r);
}

/* r->copy with room for n bytes (its content is not kept), or NULL. */
static char *copy_room(struct herald_record *r, size_t n)
{
    if (r->copy_cap < n) {
        char *p = realloc(r->copy, n);
        if (!p) {
            return NULL;
        }
        r->copy = p;
        r->copy_cap = n;
    }
    return r->copy;
}

/* Copy len bytes of src to dst followed by a NUL; returns dst + len + 1.
 * Raw keys and header values are handed to plugins as STRING values
 * (record_field), which the ABI promises NUL-terminated. */
static char *put(char *dst, const void *src, size_t len)
{
    if (len > 0) {
        memcpy(dst, src, len);
    }
    dst[len] = '\0';
    return dst + len + 1;
}

/* n1 + n2 + n3 + 3 NULs, or SIZE_MAX when that overflows. */
static size_t sum3(size_t n1, size_t n2, size_t n3)
{
    if (n1 > SIZE_MAX / 4 || n2 > SIZE_MAX / 4 || n3 > SIZE_MAX / 4) {
        return SIZE_MAX;
    }
    return n1 + n2 + n3 + 3;
}

struct herald_record *herald__record_new(const char *topic, int32_t partition,
                                         int64_t offset, int64_t timestamp,
                                         const void *key, size_t key_len,
                                         const void *value, size_t value_len)
{
    struct herald_record *r;
    size_t topic_len;
    size_t need;
    char *p;

    topic = topic ? topic : "";
    topic_len = strlen(topic);
    key_len = key ? key_len : 0;
    value_len = value ? value_len : 0;
    need = sum3(topic_len, key_len, value_len);
    if (need == SIZE_MAX) {
        return NULL;
    }
    r = record_get();
    if (!r) {
        return NULL;
    }
    p = copy_room(r, need);
    if (!p) {
        herald__record_destroy(r);
        return NULL;
    }
    r->topic = p;
    p = put(p, topic, topic_len);
    r->key = key ? p : NULL;
    r->key_len = key_len;
    p = put(p, key, key_len);
    r->value = value ? p : NULL;
    r->value_len = value_len;
    put(p, value, value_len);
    r->partition = partition;
    r->offset = offset;
    r->timestamp = timestamp;
    return r;
}

struct herald_record *
herald__record_borrow(const char *topic, int32_t partition, int64_t offset,
                      int64_t timestamp, const void *key, size_t key_len,
                      const void *value, size_t value_len,
                      herald__record_release_fn release, void *opaque)
{
    struct herald_record *r;
    char *p;

    key_len = key ? key_len : 0;
    if (key_len == SIZE_MAX) {
        return NULL;
    }
    r = record_get();
    if (!r) {
        return NULL;
    }
    if (key) {
        p = copy_room(r, key_len + 1);
        if (!p) {
            herald__record_destroy(r);
            return NULL;
        }
        put(p, key, key_len);
        r->key = p;
        r->key_len = key_len;
    }
    r->topic = topic ? topic : "";
    r->value = value;
    r->value_len = value ? value_len : 0;
    r->partition = partition;
    r->offset = offset;
    r->timestamp = timestamp;
    r->release = release;
    r->opaque = opaque;
    return r;
}

/* Room for one more header, or NULL. */
static struct herald__header *header_slot(struct herald_record *r)
{
    if (r->n_headers == r->hdrs_cap) {
        size_t cap = r->hdrs_cap ? r->hdrs_cap * 2 : FIRST_HEADERS;
        struct herald__header *h;
        if (cap > SIZE_MAX / sizeof *h) {
            return NULL;
        }
        h = realloc(r->hdrs, cap * sizeof *h);
        if (!h) {
            return NULL;
        }
        r->hdrs = h;
        r->hdrs_cap = cap;
    }
    r->headers = r->hdrs;
    return &r->hdrs[r->n_headers];
}

int herald__record_borrow_header(struct herald_record *r, const char *name,
                                 const void *value, size_t len)
{
    struct herald__header *h = header_slot(r);

    if (!h) {
        return -1;
    }
    h->name = name;
    h->value = value;
    h->len = value ? len : 0;
    h->own = NULL;
    r->n_headers++;
    return 0;
}

int herald__record_add_header(struct herald_record *r, const char *name,
                              const void *value, size_t len)
{
    struct herald__header *h = header_slot(r);
    size_t name_len = strlen(name);
    size_t need;
    char *p;

    len = value ? len : 0;
    need = sum3(name_len, len, 0);
    if (!h || need == SIZE_MAX || !(p = malloc(need))) {
        return -1;
    }
    h->own = p;
    h->name = p;
    p = put(p, name, name_len);
    h->value = value ? p : NULL;
    put(p, value, len);
    h->len = len;
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
        free(r->hdrs[i].own);
    }
    if (r->release) {
        r->release(r->opaque);
    }
    if (r->arena.bytes > KEEP_ARENA_BYTES) {
        herald__arena_free(&r->arena);
    } else {
        herald__arena_reset(&r->arena);
    }
    if (r->copy_cap > KEEP_COPY_BYTES) {
        free(r->copy);
        r->copy = NULL;
        r->copy_cap = 0;
    }
    if (r->hdrs_cap > KEEP_HEADERS) {
        free(r->hdrs);
        r->hdrs = NULL;
        r->hdrs_cap = 0;
    }
    {
        struct herald__arena arena = r->arena;
        char *copy = r->copy;
        size_t copy_cap = r->copy_cap;
        struct herald__header *hdrs = r->hdrs;
        size_t hdrs_cap = r->hdrs_cap;

        memset(r, 0, sizeof *r);
        r->arena = arena;
        r->copy = copy;
        r->copy_cap = copy_cap;
        r->hdrs = hdrs;
        r->hdrs_cap = hdrs_cap;
    }
    pthread_mutex_lock(&pool_mu);
    if (!HERALD__RECORD_ASAN && pool_n < POOL_MAX) {
        r->next_free = pool;
        pool = r;
        pool_n++;
        r = NULL;
    }
    pthread_mutex_unlock(&pool_mu);
    if (r) {
        record_free(r);
    }
}

void herald__record_pool_clear(void)
{
    struct herald_record *list;

    pthread_mutex_lock(&pool_mu);
    list = pool;
    pool = NULL;
    pool_n = 0;
    pthread_mutex_unlock(&pool_mu);
    while (list) {
        struct herald_record *next = list->next_free;
        record_free(list);
        list = next;
    }
}

const struct herald__val *herald__record_val_from_json(struct herald_record *r,
                                                       const json_t *j)
{
    struct herald__val *v;

    if (!j) {
        return NULL;
    }
    v = herald__arena_alloc(&r->arena, sizeof *v);
    if (!v || herald__val_from_json(j, &r->arena, v) != 0) {
        return NULL;
    }
    return v;
}

/* ---- paths ------------------------------------------------------------ */

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

void herald__record_defer_headers(struct herald_record *r,
                                  herald__record_headers_fn load)
{
    r->load_headers = load;
}

const struct herald__header *
herald__record_headers(const struct herald_record *r, size_t *n)
{
    /* The one mutation of a record after decoding: a cache filled on the
     * loop thread (record.h). */
    struct herald_record *w = (struct herald_record *)(uintptr_t)r;
    herald__record_headers_fn load = w->load_headers;

    if (load) {
        w->load_headers = NULL;
        (void)load(w->opaque, w);
    }
    *n = r->n_headers;
    return r->headers;
}

/* The last header called name (Kafka's lastHeader), or NULL. */
static const struct herald__header *find_header(const struct herald_record *r,
                                                const char *name)
{
    size_t i, n;
    const struct herald__header *h = herald__record_headers(r, &n);

    for (i = n; i-- > 0;) {
        if (strcmp(h[i].name, name) == 0) {
            return &h[i];
        }
    }
    return NULL;
}

/* Whether s starts with prefix; *rest is what follows. A loop, not
 * strlen + strncmp: a sink reading fields by "@..." paths calls this for
 * every field, and the prefixes are a few bytes. */
static int starts(const char *s, const char *prefix, const char **rest)
{
    while (*prefix) {
        if (*s++ != *prefix++) {
            return 0;
        }
    }
    *rest = s;
    return 1;
}

/* What a path addresses, before it is turned into JSON (lookup) or a host
 * API view (field). */
enum ref_kind {
    REF_VAL,   /* val; NULL: missing */
    REF_RAW,   /* raw bytes raw/len (a NUL follows); raw NULL: null */
    REF_TOPIC, /* the topic */
    REF_INT,   /* i */
    REF_NULL,  /* null */
};

struct ref {
    enum ref_kind kind;
    const struct herald__val *val;
    const void *raw;
    size_t len;
    int64_t i;
};

/* A made value that allows no further path: only "" may follow. */
static int leaf(enum ref_kind kind, int64_t i, const char *rest,
                struct ref *out)
{
    if (*rest != '\0') {
        return -1;
    }
    out->kind = kind;
    out->i = i;
    return 0;
}

/* Resolve path against r into *out (REF_VAL NULL when missing). Returns 0,
 * or -1 on a malformed path. */
static int resolve(const struct herald_record *r, const char *path,
                   struct ref *out)
{
    const struct herald__header *h;
    const char *rest;

    memset(out, 0, sizeof *out);
    out->kind = REF_VAL;
    if (!path || path[0] == '\0') {
        return -1;
    }
    if (path[0] != '@') {
        return herald__val_walk(r->value_val, path, 1, &out->val);
    }
    if (starts(path, "@key", &rest) &&
        (*rest == '\0' || *rest == '.' || *rest == '[')) {
        if (!r->key_val && *rest == '\0') {
            /* Not decoded: the raw key, which has no inner structure. */
            out->kind = REF_RAW;
            out->raw = r->key;
            out->len = r->key_len;
            return 0;
        }
        return herald__val_walk(r->key_val, rest, 0, &out->val);
    }
    if (starts(path, "@value", &rest) &&
        (*rest == '\0' || *rest == '.' || *rest == '[')) {
        if (*rest == '\0' && !r->value_val) {
            out->kind = REF_NULL;
            return 0;
        }
        return herald__val_walk(r->value_val, rest, 0, &out->val);
    }
    if (starts(path, "@topic", &rest)) {
        return leaf(REF_TOPIC, 0, rest, out);
    }
    if (starts(path, "@partition", &rest)) {
        return leaf(REF_INT, r->partition, rest, out);
    }
    if (starts(path, "@offset", &rest)) {
        return leaf(REF_INT, r->offset, rest, out);
    }
    if (starts(path, "@timestamp", &rest)) {
        return leaf(r->timestamp >= 0 ? REF_INT : REF_NULL, r->timestamp, rest,
                    out);
    }
    if (starts(path, "@window.start", &rest)) {
        if (*rest != '\0') {
            return -1;
        }
        if (!r->has_window) {
            return 0;
        }
        return leaf(REF_INT, r->window_start, rest, out);
    }
    if (starts(path, "@window.end", &rest)) {
        if (*rest != '\0') {
            return -1;
        }
        if (!r->has_window) {
            return 0;
        }
        return leaf(r->window_end >= 0 ? REF_INT : REF_NULL, r->window_end,
                    rest, out);
    }
    if (starts(path, "@headers.", &rest)) {
        /* Header names may hold dots: the whole rest is the name. */
        if (*rest == '\0') {
            return -1;
        }
        h = find_header(r, rest);
        if (h) {
            out->kind = REF_RAW;
            out->raw = h->value;
            out->len = h->len;
        }
        return 0;
    }
    return -1;
}

int herald__record_lookup(const struct herald_record *r, const char *path,
                          json_t **out, json_t **owned)
{
    struct ref ref;
    json_t *made = NULL;

    *out = NULL;
    *owned = NULL;
    if (resolve(r, path, &ref) != 0) {
        return -1;
    }
    switch (ref.kind) {
    case REF_VAL:
        if (!ref.val) {
            return 0; /* missing */
        }
        made = herald__val_to_json(ref.val);
        break;
    case REF_RAW:
        made = raw_json(ref.raw, ref.len);
        break;
    case REF_TOPIC:
        made = json_string(r->topic);
        break;
    case REF_INT:
        made = json_integer(ref.i);
        break;
    case REF_NULL:
        made = json_null();
        break;
    }
    if (!made) {
        return -1; /* out of memory */
    }
    *out = made;
    *owned = made;
    return 0;
}

json_t *herald__record_to_json(const struct herald_record *r)
{
    json_t *o = json_object();
    json_t *headers = json_object();
    json_t *window;
    size_t i, n_hs;

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
                            r->key_val ? herald__val_to_json(r->key_val)
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
    const struct herald__header *hs = herald__record_headers(r, &n_hs);
    for (i = 0; i < n_hs; i++) {
        json_t *v = raw_json(hs[i].value, hs[i].len);
        if (json_object_set_new(headers, hs[i].name, v) != 0) {
            goto fail;
        }
    }
    if (json_object_set_new(o, "value", herald__val_to_json(r->value_val)) !=
        0) {
        goto fail;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
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
    struct ref ref;

    memset(out, 0, sizeof *out);
    if (resolve(r, path, &ref) != 0) {
        return -1;
    }
    /* Strings point into the record (its tree, its copies or what it
     * borrowed), so that the view lives as long as the record. */
    switch (ref.kind) {
    case REF_VAL:
        herald__val_fill(ref.val, out);
        break;
    case REF_RAW:
        fill_raw(ref.raw, ref.len, out);
        break;
    case REF_TOPIC:
        out->type = HERALD_VALUE_STRING;
        out->str = r->topic;
        out->len = strlen(r->topic);
        break;
    case REF_INT:
        out->type = HERALD_VALUE_INT;
        out->integer = ref.i;
        break;
    case REF_NULL:
        out->type = HERALD_VALUE_NULL;
        break;
    }
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
