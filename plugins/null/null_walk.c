/*
 * null_walk.c - the `null_walk` sink: the `null` sink (null.c) that also
 * reads what it acknowledges: every decoded field of every record, through
 * the host API, the way a real sink that does not know the data in advance
 * would: record_field_v2 on "@key" and "@value", then value_member and
 * value_item (ABI 1.2) down to every node, plus record_window. It counts
 * the fields, the bytes of their strings and the sum of their integers and
 * logs the totals at close, so a decoder that skipped or deferred work
 * cannot look faster than one that did it: the consume benchmark checks
 * the totals against the data it produced (bench/consume.py).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "herald/plugin.h"

/* What a walk adds up. int_sum wraps modulo 2^64. */
struct walk_totals {
    int64_t records;
    int64_t fields;    /* every node read, containers included */
    int64_t str_bytes; /* lengths of STRING and BYTES values */
    uint64_t int_sum;  /* INT values, plus the window's start and end */
    int64_t bools;     /* BOOL values that are true */
    int64_t doubles;   /* DOUBLE values */
};

struct walk_state {
    const struct herald_host_api *api; /* lives until the plugin unloads */
    struct herald_instance *inst;
    int64_t records;
    int64_t bytes;
    struct walk_totals walked; /* records fully walked */
    int64_t walk_errors;       /* records the walk could not read */
};

static int walk_open2(const struct herald_host_api *api,
                      struct herald_instance *inst,
                      const struct herald_options *opts, void **state,
                      char *err, size_t errlen)
{
    struct walk_state *s;

    (void)opts;
    if (!HERALD_API_HAS(api, record_field_v2) ||
        !HERALD_API_HAS(api, value_member) ||
        !HERALD_API_HAS(api, value_item)) {
        snprintf(err, errlen,
                 "null_walk needs a herald whose host API has value_member "
                 "and value_item (plugin ABI 1.2)");
        return -1;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "null_walk: out of memory");
        return -1;
    }
    s->api = api;
    s->inst = inst;
    *state = s;
    return 0;
}

/* Counts v and every node under it into t. Returns 0, or -1 when v is
 * MISSING or the host refuses a step (which it never should for a member
 * or item below count). Recursion is as deep as the value, which the
 * decoders bound (JSON at 2048 levels). */
static int walk_value(const struct herald_host_api *api,
                      const struct herald_value *v, struct walk_totals *t)
{
    struct herald_value kid;
    size_t i;

    t->fields++;
    switch (v->type) {
    case HERALD_VALUE_MISSING:
        return -1;
    case HERALD_VALUE_NULL:
        return 0;
    case HERALD_VALUE_BOOL:
        t->bools += v->boolean != 0;
        return 0;
    case HERALD_VALUE_INT:
        t->int_sum += (uint64_t)v->integer;
        return 0;
    case HERALD_VALUE_DOUBLE:
        t->doubles++;
        return 0;
    case HERALD_VALUE_STRING:
    case HERALD_VALUE_BYTES:
        t->str_bytes += (int64_t)v->len;
        return 0;
    case HERALD_VALUE_OBJECT:
        for (i = 0; i < v->count; i++) {
            if (api->value_member(v, i, NULL, NULL, &kid, sizeof kid) != 0 ||
                walk_value(api, &kid, t) != 0) {
                return -1;
            }
        }
        return 0;
    case HERALD_VALUE_ARRAY:
        for (i = 0; i < v->count; i++) {
            if (api->value_item(v, i, &kid, sizeof kid) != 0 ||
                walk_value(api, &kid, t) != 0) {
                return -1;
            }
        }
        return 0;
    }
    return -1;
}

/* Walks the key and the value of r into t. 0 or -1. */
static int walk_record(const struct herald_host_api *api,
                       const struct herald_record *r, struct walk_totals *t)
{
    struct herald_value v;
    int64_t start, end;

    if (api->record_window(r, &start, &end)) {
        t->int_sum += (uint64_t)start;
        if (end >= 0) {
            t->int_sum += (uint64_t)end;
        }
    }
    if (api->record_field_v2(r, "@key", &v, sizeof v) != 0 ||
        walk_value(api, &v, t) != 0) {
        return -1;
    }
    if (api->record_field_v2(r, "@value", &v, sizeof v) != 0) {
        return -1;
    }
    return walk_value(api, &v, t);
}

/* Walks r and adds its totals to s's, or counts an error (and adds
 * nothing of it) when r cannot be walked. */
static void walk_one(struct walk_state *s, const struct herald_record *r)
{
    const struct herald_host_api *api = s->api;
    struct walk_totals t = {0};

    if (walk_record(api, r, &t) != 0) {
        s->walk_errors++;
        api->log(s->inst, HERALD_LOG_ERROR,
                 "null_walk: could not walk the record at %s [%d] offset %lld",
                 api->record_topic(r), (int)api->record_partition(r),
                 (long long)api->record_offset(r));
        return;
    }
    s->walked.fields += t.fields;
    s->walked.str_bytes += t.str_bytes;
    s->walked.int_sum += t.int_sum;
    s->walked.bools += t.bools;
    s->walked.doubles += t.doubles;
    s->walked.records++;
}

static int walk_deliver(void *state, struct herald_batch *b)
{
    struct walk_state *s = state;
    const struct herald_host_api *api = s->api;
    size_t n = api->batch_count(b);
    int64_t bytes = 0;
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
        walk_one(s, r);
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
    s->api->log(s->inst, HERALD_LOG_INFO,
                "null_walk: walked records=%" PRId64 " fields=%" PRId64
                " string_bytes=%" PRId64 " int_sum=%" PRIu64 " true=%" PRId64
                " doubles=%" PRId64 " errors=%" PRId64,
                s->walked.records, s->walked.fields, s->walked.str_bytes,
                s->walked.int_sum, s->walked.bools, s->walked.doubles,
                s->walk_errors);
    free(s);
}

HERALD_PLUGIN_DEFINE = {
    HERALD_PLUGIN_HEADER,
    .name = "null_walk",
    .version = "1.1.0",
    .description = "acknowledges every record at once after reading every "
                   "decoded field through the host API (for benchmarks)",
    .kind = HERALD_PLUGIN_SINK,
    .open2 = walk_open2,
    .deliver = walk_deliver,
    .close = walk_close,
};
