/*
 * null.c - the `null` sink: acknowledges every record OK at once and counts
 * records and bytes (key + value), so benchmarks measure herald and not a
 * channel.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "herald/plugin.h"

static const struct herald_host_api *api;

struct null_state {
    struct herald_instance *inst;
    int64_t log_every; /* 0: never log */
    int64_t records;
    int64_t bytes;
};

static int null_init(const struct herald_host_api *host, char *err,
                     size_t errlen)
{
    (void)err;
    (void)errlen;
    /* Every member this plugin calls is in ABI 1.0; nothing to check
     * beyond what the loader checked for us. */
    api = host;
    return 0;
}

static int null_open(struct herald_instance *inst,
                     const struct herald_options *opts, void **state, char *err,
                     size_t errlen)
{
    struct null_state *s;

    s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "null: out of memory");
        return -1;
    }
    s->inst = inst;
    s->log_every = api->opt_int(opts, "log_every");
    if (s->log_every < 0) {
        s->log_every = 0;
    }
    *state = s;
    return 0;
}

static int null_deliver(void *state, struct herald_batch *b)
{
    struct null_state *s = state;
    size_t n = api->batch_count(b);
    int64_t bytes = 0;

    /* Read everything before completing: the batch may be gone once the
     * last item is completed. */
    for (size_t i = 0; i < n; i++) {
        const struct herald_record *r = api->batch_record(b, i);
        size_t klen = 0, vlen = 0;

        api->record_key(r, &klen);
        api->record_value(r, &vlen);
        bytes += (int64_t)(klen + vlen);
        if (s->log_every > 0 &&
            (s->records + (int64_t)i + 1) % s->log_every == 0) {
            api->log(s->inst, HERALD_LOG_INFO,
                     "null: %lld records at %s [%d] offset %lld",
                     (long long)(s->records + (int64_t)i + 1),
                     api->record_topic(r), (int)api->record_partition(r),
                     (long long)api->record_offset(r));
        }
    }
    s->records += (int64_t)n;
    s->bytes += bytes;
    api->counter_add(s->inst, "records", (int64_t)n);
    api->counter_add(s->inst, "bytes", bytes);
    for (size_t i = 0; i < n; i++) {
        api->complete(b, i, HERALD_OK, 0, NULL);
    }
    return 0;
}

static void null_close(void *state)
{
    free(state);
}

static const struct herald_option null_options[] = {
    {.name = "log_every",
     .type = HERALD_OPT_INT,
     .default_value = "0",
     .help = "log one line every N records; 0 never logs"},
    {.name = NULL},
};

HERALD_PLUGIN_DEFINE = {
    HERALD_PLUGIN_HEADER,
    .name = "null",
    .version = "1.0.0",
    .description = "acknowledges every record at once and counts records "
                   "and bytes (for benchmarks)",
    .kind = HERALD_PLUGIN_SINK,
    .options = null_options,
    .init = null_init,
    .open = null_open,
    .deliver = null_deliver,
    .close = null_close,
};
