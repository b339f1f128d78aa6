/*
 * null_walk.c - the `null_walk` sink: the `null` sink (null.c) that also
 * reads what it acknowledges: every decoded field of every record, through
 * the host API's typed access (record_field on "@key" and on each node
 * under "@value", record_window), the way a real sink would. It counts the
 * fields, the bytes of their strings and the sum of their integers and
 * logs the totals at close, so a decoder that skipped or deferred work
 * cannot look faster than one that did it: the consume benchmark checks
 * the totals against the data it produced (bench/consume.py).
 *
 * The API has no call that lists an object's member names, so the walk
 * learns them from record_json (null_shape.c) on the first record and
 * again whenever a record stops matching, and otherwise reuses them.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "herald/plugin.h"
#include "null_shape.h"

static const struct herald_host_api *api;

/* A path the walk builds: "@value" plus member and index steps. */
#define WALK_PATH_MAX 1024

/* Where one record's walk adds up; kept apart until the record is done,
 * so a walk that stops on a changed shape adds nothing. */
struct walk {
    const struct herald_record *r;
    char path[WALK_PATH_MAX];
    struct null_walk_totals t;
};

struct walk_state {
    struct herald_instance *inst;
    int64_t records;
    int64_t bytes;
    struct null_walk_totals walked; /* records fully walked */
    int64_t reloads;                /* shapes learned from record_json */
    int64_t walk_errors;            /* records the walk could not read */
    struct null_shape *key_shape;
    struct null_shape *value_shape;
    struct walk w; /* scratch, here so a batch allocates nothing */
};

static int walk_open2(const struct herald_host_api *host,
                      struct herald_instance *inst,
                      const struct herald_options *opts, void **state,
                      char *err, size_t errlen)
{
    struct walk_state *s;

    /* Every member this plugin calls is in ABI 1.0. */
    api = host;
    s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "null_walk: out of memory");
        return -1;
    }
    (void)opts;
    s->inst = inst;
    *state = s;
    return 0;
}

/* Appends a step to w->path at len; returns the new length, or 0 when the
 * path would not fit. */
static size_t walk_path_step(struct walk *w, size_t len, const char *step)
{
    size_t n = strlen(step);

    if (len + n + 1 > sizeof w->path) {
        return 0;
    }
    memcpy(w->path + len, step, n + 1);
    return len + n;
}

/* Writes "[i]" into buf (at least WALK_INDEX_MAX bytes). By hand: snprintf
 * costs more than the host's lookup of the item it names. */
#define WALK_INDEX_MAX 24
static void walk_index(char *buf, size_t i)
{
    char digits[WALK_INDEX_MAX];
    size_t n = 0, k = 0;

    do {
        digits[n++] = (char)('0' + i % 10);
        i /= 10;
    } while (i > 0);
    buf[k++] = '[';
    while (n > 0) {
        buf[k++] = digits[--n];
    }
    buf[k++] = ']';
    buf[k] = '\0';
}

/* Reads the node at w->path (len bytes) and, through the shape, every node
 * under it. Returns 0, or -1 when the record does not have the shape (a
 * member missing, a container where the shape has a scalar) or a path is
 * refused. */
static int walk_node(struct walk *w, size_t len, const struct null_shape *sh)
{
    struct herald_value v;
    char idx[WALK_INDEX_MAX];
    size_t i, n;

    w->path[len] = '\0';
    if (api->record_field(w->r, w->path, &v) != 0) {
        return -1;
    }
    w->t.fields++;
    switch (v.type) {
    case HERALD_VALUE_MISSING:
        return -1;
    case HERALD_VALUE_NULL:
        return 0;
    case HERALD_VALUE_BOOL:
        w->t.bools += v.boolean != 0;
        return 0;
    case HERALD_VALUE_INT:
        w->t.int_sum += (uint64_t)v.integer;
        return 0;
    case HERALD_VALUE_DOUBLE:
        w->t.doubles++;
        return 0;
    case HERALD_VALUE_STRING:
    case HERALD_VALUE_BYTES:
        w->t.str_bytes += v.len;
        return 0;
    case HERALD_VALUE_OBJECT:
        if (!sh || sh->kind != NULL_SHAPE_OBJECT || sh->n != v.count) {
            return -1;
        }
        for (i = 0; i < sh->n; i++) {
            n = walk_path_step(w, len, sh->steps[i]);
            if (n == 0 || walk_node(w, n, sh->kids[i]) != 0) {
                return -1;
            }
        }
        return 0;
    case HERALD_VALUE_ARRAY:
        if (!sh || sh->kind != NULL_SHAPE_ARRAY) {
            return -1;
        }
        for (i = 0; i < v.count; i++) {
            walk_index(idx, i);
            n = walk_path_step(w, len, idx);
            if (n == 0 || walk_node(w, n, null_shape_item(sh, i)) != 0) {
                return -1;
            }
        }
        return 0;
    }
    return -1;
}

/* Walks the key and the value of r with s's shapes into w. 0 or -1. */
static int walk_record(struct walk_state *s, struct walk *w,
                       const struct herald_record *r)
{
    int64_t start, end;

    memset(&w->t, 0, sizeof w->t);
    w->r = r;
    if (api->record_window(r, &start, &end)) {
        w->t.int_sum += (uint64_t)start;
        if (end >= 0) {
            w->t.int_sum += (uint64_t)end;
        }
    }
    if (walk_node(w, walk_path_step(w, 0, "@key"), s->key_shape) != 0) {
        return -1;
    }
    return walk_node(w, walk_path_step(w, 0, "@value"), s->value_shape);
}

/* Learns the key and value shapes from r's JSON form. 0 or -1. */
static int walk_learn(struct walk_state *s, const struct herald_record *r)
{
    long need = api->record_json(r, NULL, 0);
    char *json;
    int rc;

    if (need < 0) {
        return -1;
    }
    json = malloc((size_t)need + 1);
    if (!json) {
        return -1;
    }
    if (api->record_json(r, json, (size_t)need + 1) != need) {
        free(json);
        return -1;
    }
    null_shape_free(s->key_shape);
    null_shape_free(s->value_shape);
    s->key_shape = NULL;
    s->value_shape = NULL;
    rc = null_shape_learn(json, (size_t)need, &s->key_shape, &s->value_shape);
    free(json);
    s->reloads++;
    return rc;
}

static void walk_one(struct walk_state *s, struct walk *w,
                     const struct herald_record *r)
{
    if (walk_record(s, w, r) != 0 &&
        (walk_learn(s, r) != 0 || walk_record(s, w, r) != 0)) {
        s->walk_errors++;
        api->log(s->inst, HERALD_LOG_ERROR,
                 "null_walk: could not walk the record at %s [%d] offset %lld",
                 api->record_topic(r), (int)api->record_partition(r),
                 (long long)api->record_offset(r));
        return;
    }
    s->walked.fields += w->t.fields;
    s->walked.str_bytes += w->t.str_bytes;
    s->walked.int_sum += w->t.int_sum;
    s->walked.bools += w->t.bools;
    s->walked.doubles += w->t.doubles;
    s->walked.records++;
}

static int walk_deliver(void *state, struct herald_batch *b)
{
    struct walk_state *s = state;
    size_t n = api->batch_count(b);
    int64_t bytes = 0;
    struct walk *w = &s->w;
    int64_t fields_before = s->walked.fields;

    /* Read everything before completing: the batch may be gone once the
     * last item is completed. */
    for (size_t i = 0; i < n; i++) {
        const struct herald_record *r = api->batch_record(b, i);
        size_t klen = 0, vlen = 0;

        api->record_key(r, &klen);
        api->record_value(r, &vlen);
        bytes += (int64_t)(klen + vlen);
        if (s->records == 0 && i == 0) {
            /* The benchmark's time to first record. */
            api->log(s->inst, HERALD_LOG_INFO,
                     "null_walk: first record at %s [%d] offset %lld",
                     api->record_topic(r), (int)api->record_partition(r),
                     (long long)api->record_offset(r));
        }
        walk_one(s, w, r);
    }
    s->records += (int64_t)n;
    s->bytes += bytes;
    api->counter_add(s->inst, "records", (int64_t)n);
    api->counter_add(s->inst, "bytes", bytes);
    api->counter_add(s->inst, "fields", s->walked.fields - fields_before);
    for (size_t i = 0; i < n; i++) {
        api->complete(b, i, HERALD_OK, 0, NULL);
    }
    return 0;
}

static void walk_close(void *state)
{
    struct walk_state *s = state;

    if (!s) {
        return;
    }
    /* One line the benchmark reads and checks against the data it
     * produced. */
    api->log(s->inst, HERALD_LOG_INFO,
             "null_walk: walked records=%" PRId64 " fields=%" PRId64
             " string_bytes=%" PRId64 " int_sum=%" PRIu64 " true=%" PRId64
             " doubles=%" PRId64 " shapes=%" PRId64 " errors=%" PRId64,
             s->walked.records, s->walked.fields, s->walked.str_bytes,
             s->walked.int_sum, s->walked.bools, s->walked.doubles, s->reloads,
             s->walk_errors);
    null_shape_free(s->key_shape);
    null_shape_free(s->value_shape);
    free(s);
}

HERALD_PLUGIN_DEFINE = {
    HERALD_PLUGIN_HEADER,
    .name = "null_walk",
    .version = "1.0.0",
    .description = "acknowledges every record at once after reading every "
                   "decoded field through the host API (for benchmarks)",
    .kind = HERALD_PLUGIN_SINK,
    .open2 = walk_open2,
    .deliver = walk_deliver,
    .close = walk_close,
};
