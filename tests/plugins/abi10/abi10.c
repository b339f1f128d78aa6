/*
 * abi10.c - a sink built against the ABI 1.0 header (include/herald/
 * plugin.h here: framework/include/herald/plugin.h as of commit c9a15cb,
 * HERALD_ABI_MINOR 0, before HERALD_UNAVAILABLE and the 1.1 sizes). It is
 * what a third party compiled before 1.1 ships: test_abi loads it into
 * today's host and delivers through it, so a 1.1 change that breaks 1.0
 * plugins fails there. Never edit its header; never build it against
 * framework/include.
 *
 * Options (a 1.0-layout table; the host walks it with the 1.0 stride):
 *   log_file       append "<topic> <partition> <offset> <OUTCOME> <field>"
 *                  per item, <field> being record_field(field) as text
 *   field          path read with record_field (default "amount")
 *   reject_offset  the item at this offset is REJECTed (default -1)
 *   retry_offset   the item at this offset answers RETRY after 250 ms
 *   mode           enum fast|slow, declared only (option-table stride)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "herald/plugin.h"

#if HERALD_ABI_MINOR != 0
#error "abi10 must be built against the ABI 1.0 header"
#endif

#define ABI10_RETRY_AFTER_MS 250

static const struct herald_host_api *api;

struct abi10 {
    struct herald_instance *inst;
    FILE *log;
    const char *field;
    int64_t reject_offset;
    int64_t retry_offset;
};

static int abi10_init(const struct herald_host_api *host, char *err,
                      size_t errlen)
{
    (void)err;
    (void)errlen;
    api = host;
    return 0;
}

static int abi10_open(struct herald_instance *inst,
                      const struct herald_options *opts, void **state,
                      char *err, size_t errlen)
{
    struct abi10 *s = calloc(1, sizeof(*s));
    const char *path = api->opt_string(opts, "log_file");

    if (!s) {
        snprintf(err, errlen, "abi10: out of memory");
        return -1;
    }
    s->inst = inst;
    s->field = api->opt_string(opts, "field");
    s->reject_offset = api->opt_int(opts, "reject_offset");
    s->retry_offset = api->opt_int(opts, "retry_offset");
    if (path) {
        s->log = fopen(path, "a");
        if (!s->log) {
            snprintf(err, errlen, "abi10: cannot open %s", path);
            free(s);
            return -1;
        }
    }
    *state = s;
    return 0;
}

/* record_field(field) as text: "<type>:<value>". */
static void field_text(const struct abi10 *s, const struct herald_record *r,
                       char *buf, size_t len)
{
    struct herald_value v;

    if (api->record_field(r, s->field, &v) != 0) {
        snprintf(buf, len, "bad-path");
    } else if (v.type == HERALD_VALUE_STRING) {
        snprintf(buf, len, "string:%.*s", (int)v.len, v.str);
    } else if (v.type == HERALD_VALUE_INT) {
        snprintf(buf, len, "int:%lld", (long long)v.integer);
    } else {
        snprintf(buf, len, "type%d", (int)v.type);
    }
}

static int abi10_deliver(void *state, struct herald_batch *b)
{
    struct abi10 *s = state;
    size_t n = api->batch_count(b);

    api->counter_add(s->inst, "abi10.items", (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        const struct herald_record *r = api->batch_record(b, i);
        int64_t offset = api->record_offset(r);
        enum herald_outcome o = HERALD_OK;
        const char *name = "OK";
        char field[128];

        if (offset == s->reject_offset) {
            o = HERALD_REJECT;
            name = "REJECT";
        } else if (offset == s->retry_offset) {
            o = HERALD_RETRY;
            name = "RETRY";
        }
        field_text(s, r, field, sizeof(field));
        if (s->log) {
            fprintf(s->log, "%s %d %lld %s %s\n", api->record_topic(r),
                    (int)api->record_partition(r), (long long)offset, name,
                    field);
            fflush(s->log);
        }
        api->complete(b, i, o, o == HERALD_RETRY ? ABI10_RETRY_AFTER_MS : 0,
                      o == HERALD_OK ? NULL : "abi10 script");
    }
    return 0;
}

static void abi10_close(void *state)
{
    struct abi10 *s = state;

    if (s->log) {
        fclose(s->log);
    }
    free(s);
}

static const char *const abi10_modes[] = {"fast", "slow", NULL};

static const struct herald_option abi10_options[] = {
    {"log_file", HERALD_OPT_STRING, NULL, 0, 0, NULL, "append a line per item"},
    {"field", HERALD_OPT_STRING, "amount", 0, 0, NULL, "path to read"},
    {"reject_offset", HERALD_OPT_INT, "-1", 0, 0, NULL, "REJECT this offset"},
    {"retry_offset", HERALD_OPT_INT, "-1", 0, 0, NULL, "RETRY this offset"},
    {"mode", HERALD_OPT_ENUM, "slow", 0, 0, abi10_modes, "declared only"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

HERALD_PLUGIN_DEFINE = {
    HERALD_PLUGIN_HEADER,
    .name = "abi10",
    .version = "1.0.0",
    .description = "built against the ABI 1.0 header",
    .kind = HERALD_PLUGIN_SINK,
    .options = abi10_options,
    .init = abi10_init,
    .open = abi10_open,
    .deliver = abi10_deliver,
    .close = abi10_close,
};
