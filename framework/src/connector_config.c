/*
 * connector_config.c - parse one connector's map into a struct
 * herald__connector_config (connector_config.h). Only reads the tree and
 * reports into the diagnostics; building the objects (decoder, notify,
 * plugin instance, dedup) is the connector's.
 */
#include "connector_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_schema.h"
#include "dedup.h"
#include "notify.h"

/* Room for "herald-tail-<name>-<pid>" beyond the name. */
#define TAIL_GROUP_EXTRA 40
/* Room for "herald-<name>" beyond the name. */
#define DEFAULT_GROUP_EXTRA 8

static const char *const format_values[] = {"string", "bytes", "json", "avro",
                                            NULL};
static const char *const window_values[] = {"none", "tumbling", "hopping",
                                            "session", NULL};
static const char *const tolerance_values[] = {"none", "all", NULL};

/* The defaults below are the HERALD__CONNECTOR_* and HERALD__DECODE_*
 * constants written as a user would (test_config_schema checks that they
 * agree). */

/* key: and value: (decode.h's formats and budgets). */
static const struct herald__key key_format_keys[] = {
    {.opt = {"format", HERALD_OPT_ENUM, "string", 0, 0, format_values,
             "how the key's bytes are decoded"}},
    {.opt = {"window", HERALD_OPT_ENUM, "none", 0, 0, window_values,
             "the ksqlDB window the key carries (its start, and end for "
             "session)"}},
    {.opt = {"window_size", HERALD_OPT_DURATION, "0", 0, 0, NULL,
             "the window's length, for its end (tumbling, hopping)"}},
    {.opt = {"max_nodes", HERALD_OPT_INT, "1000000", 0, 0, NULL,
             "most nodes one decoded key may have"},
     .min = 1},
    {.opt = {"max_bytes", HERALD_OPT_SIZE, "64MiB", 0, 0, NULL,
             "most bytes one decoded key may take"},
     .min = 1,
     .example = "16MiB, 64MiB"},
    HERALD__KEY_END,
};
static const struct herald__section key_format_section = {
    "key", "the record key's format", key_format_keys, NULL};

static const struct herald__key value_format_keys[] = {
    {.opt = {"format", HERALD_OPT_ENUM, "avro", 0, 0, format_values,
             "how the value's bytes are decoded"}},
    {.opt = {"max_nodes", HERALD_OPT_INT, "1000000", 0, 0, NULL,
             "most nodes one decoded value may have"},
     .min = 1},
    {.opt = {"max_bytes", HERALD_OPT_SIZE, "64MiB", 0, 0, NULL,
             "most bytes one decoded value may take"},
     .min = 1,
     .example = "16MiB, 64MiB"},
    HERALD__KEY_END,
};
static const struct herald__section value_format_section = {
    "value", "the record value's format", value_format_keys, NULL};

static const struct herald__key batch_keys[] = {
    {.opt = {"max_records", HERALD_OPT_INT, "100", 0, 0, NULL,
             "most records handed to a sink in one batch"},
     .min = 1},
    {.opt = {"max_bytes", HERALD_OPT_SIZE, "1MiB", 0, 0, NULL,
             "most bytes of records in one batch"},
     .example = "512KiB, 1MiB"},
    {.opt = {"linger", HERALD_OPT_DURATION, "20ms", 0, 0, NULL,
             "how long a batch waits to fill"}},
    HERALD__KEY_END,
};
static const struct herald__section batch_section = {
    "batch", "how records are grouped for a sink", batch_keys, NULL};

static const struct herald__key retry_keys[] = {
    {.opt = {"initial", HERALD_OPT_DURATION, "1s", 0, 0, NULL,
             "first backoff after a RETRY"}},
    {.opt = {"max", HERALD_OPT_DURATION, "5m", 0, 0, NULL,
             "longest backoff (exponential, full jitter)"}},
    {.opt = {"timeout", HERALD_OPT_DURATION, "1h", 0, 0, NULL,
             "total time a record is retried before it is rejected"}},
    HERALD__KEY_END,
};
static const struct herald__section retry_section = {
    "errors.retry", "backoff of a record whose delivery said RETRY", retry_keys,
    NULL};

static const struct herald__key probe_keys[] = {
    {.opt = {"initial", HERALD_OPT_DURATION, "1s", 0, 0, NULL,
             "first probe of a channel that reported itself unavailable"}},
    {.opt = {"max", HERALD_OPT_DURATION, "1m", 0, 0, NULL,
             "longest wait between probes (at least initial)"}},
    HERALD__KEY_END,
};
static const struct herald__section probe_section = {
    "errors.channel_probe", "probing an unavailable channel", probe_keys, NULL};

static const struct herald__key errors_keys[] = {
    {.opt =
         {"tolerance", HERALD_OPT_ENUM, "none", 0, 0, tolerance_values,
          "none: a REJECT stops the connector; all: it goes on (dead letter if "
          "set)"}},
    {.opt = {"retry", 0, NULL, 0, 0, NULL, "backoff of retried records"},
     .shape = HERALD__SHAPE_SECTION,
     .section = &retry_section},
    {.opt = {"dead_letter_topic", HERALD_OPT_STRING, NULL, 0, 0, NULL,
             "topic that receives rejected records byte for byte, with Kafka "
             "Connect's error headers"}},
    {.opt = {"channel_probe", 0, NULL, 0, 0, NULL,
             "probes of an unavailable channel"},
     .shape = HERALD__SHAPE_SECTION,
     .section = &probe_section},
    HERALD__KEY_END,
};
static const struct herald__section errors_section = {
    "errors", "what happens to a record that fails", errors_keys, NULL};

static const struct herald__key connector_keys[] = {
    {.opt = {"name", HERALD_OPT_STRING, NULL, 1, 0, NULL,
             "the connector's name, in logs and metrics"}},
    {.opt = {"topics", HERALD_OPT_LIST, NULL, 1, 0, NULL, "topics consumed"}},
    {.opt = {"group_id", HERALD_OPT_STRING, NULL, 0, 0, NULL,
             "consumer group (default: herald-<name>)"}},
    {.opt =
         {"kafka", 0, NULL, 0, 0, NULL,
          "librdkafka properties for this connector, over the top-level kafka"},
     .shape = HERALD__SHAPE_PROPERTIES},
    {.opt = {"key", 0, NULL, 0, 0, NULL, "the record key's format"},
     .shape = HERALD__SHAPE_SECTION,
     .section = &key_format_section,
     .example = "{ format: string }"},
    {.opt = {"value", 0, NULL, 0, 0, NULL, "the record value's format"},
     .shape = HERALD__SHAPE_SECTION,
     .section = &value_format_section,
     .example = "{ format: avro }"},
    {.opt = {"notify", 0, NULL, 0, 0, NULL,
             "send each record as a message (either notify or sink)"},
     .shape = HERALD__SHAPE_MESSAGE,
     .section = &herald__notify_section},
    {.opt = {"sink", 0, NULL, 0, 0, NULL,
             "hand each record to a sink plugin (either notify or sink)"},
     .shape = HERALD__SHAPE_INSTANCE},
    {.opt = {"batch", 0, NULL, 0, 0, NULL,
             "how records are grouped for a sink"},
     .shape = HERALD__SHAPE_SECTION,
     .section = &batch_section},
    {.opt = {"max_in_flight", HERALD_OPT_INT, "1000", 0, 0, NULL,
             "records delivered at once; beyond it the partitions pause"},
     .min = 1},
    {.opt = {"skip_tombstones", HERALD_OPT_BOOL, "true", 0, 0, NULL,
             "records with a null value are committed, not delivered"}},
    {.opt = {"errors", 0, NULL, 0, 0, NULL,
             "what happens to a record that fails"},
     .shape = HERALD__SHAPE_SECTION,
     .section = &errors_section},
    {.opt = {"dedup", 0, NULL, 0, 0, NULL,
             "one delivery per dedup key, across restarts and rebalances"},
     .shape = HERALD__SHAPE_SECTION,
     .section = &herald__dedup_section},
    {.opt = {"drain_timeout", HERALD_OPT_DURATION, "30s", 0, 0, NULL,
             "how long in-flight records are waited for on revoke and stop"}},
    {.opt = {"commit_interval", HERALD_OPT_DURATION, "1s", 0, 0, NULL,
             "how often final offsets are committed"}},
    HERALD__KEY_END,
};

const struct herald__section herald__connector_section = {
    "connectors[]", "one connector: topics in, a channel or sink out",
    connector_keys, NULL};

/* key: / value: maps: {format, window, window_size (keys), max_nodes,
 * max_bytes}. Stops at the first error: the formats are then unusable. */
static int parse_format(const struct herald__node *m, int is_key,
                        struct herald__format_spec *out, struct herald__diag *d)
{
    const struct herald__section *s =
        is_key ? &key_format_section : &value_format_section;
    const char *v;
    int64_t n;

    if (!m) {
        return 0;
    }
    if (m->type != HERALD_NODE_MAP) {
        const struct herald__key *k =
            herald__section_key(&herald__connector_section, s->name);

        herald__key_bad_value(k, m, NULL, d);
        return -1;
    }
    if (herald__section_check_keys(m, s, d) > 0) {
        return -1;
    }
    if (herald__node_get(m, "format")) {
        if (herald__section_enum(m, s, "format", &v, d) != 0 ||
            herald__format_parse(v, &out->format) != 0) {
            return -1;
        }
    }
    if (is_key && herald__node_get(m, "window")) {
        if (herald__section_enum(m, s, "window", &v, d) != 0 ||
            herald__window_parse(v, &out->window) != 0) {
            return -1;
        }
    }
    if (is_key) {
        if (herald__section_num(m, s, "window_size", &n, d) != 0) {
            return -1;
        }
        out->window_size_ms = n;
    }
    if (herald__section_num(m, s, "max_nodes", &n, d) != 0) {
        return -1;
    }
    out->max_nodes = (uint64_t)n;
    if (herald__section_num(m, s, "max_bytes", &n, d) != 0) {
        return -1;
    }
    out->max_bytes = (uint64_t)n;
    return 0;
}

static char *group_id_for(const struct herald__node *map, const char *name,
                          int tail)
{
    const struct herald__node *gid = herald__node_get(map, "group_id");
    if (!tail && gid && gid->type == HERALD_NODE_SCALAR) {
        return strdup(gid->scalar);
    }
    size_t len = strlen(name) + (tail ? TAIL_GROUP_EXTRA : DEFAULT_GROUP_EXTRA);
    char *s = malloc(len);
    if (!s) {
        return NULL;
    }
    if (tail) {
        snprintf(s, len, "herald-tail-%s-%ld", name, (long)getpid());
    } else {
        snprintf(s, len, "herald-%s", name);
    }
    return s;
}

static void parse_topics(const struct herald__node *map,
                         struct herald__connector_config *out,
                         struct herald__diag *d)
{
    const struct herald__node *topics = herald__node_get(map, "topics");
    const struct herald__key *k =
        herald__section_key(&herald__connector_section, "topics");
    if (!topics) {
        herald__diag_add(d, map, "connector '%s' needs 'topics'", out->name);
    } else if (topics->type == HERALD_NODE_SCALAR) {
        out->topics = calloc(1, sizeof *out->topics);
        if (!out->topics || !(out->topics[0] = strdup(topics->scalar))) {
            herald__diag_add(d, topics, "out of memory");
            return;
        }
        out->n_topics = 1;
    } else if (topics->type == HERALD_NODE_SEQ && topics->n > 0) {
        out->topics = calloc(topics->n, sizeof *out->topics);
        if (!out->topics) {
            herald__diag_add(d, topics, "out of memory");
            return;
        }
        for (size_t i = 0; i < topics->n; i++) {
            if (topics->items[i]->type != HERALD_NODE_SCALAR) {
                herald__key_bad_value(k, topics->items[i], "a string", d);
                continue;
            }
            char *t = strdup(topics->items[i]->scalar);
            if (!t) {
                herald__diag_add(d, topics->items[i], "out of memory");
                return;
            }
            out->topics[out->n_topics++] = t;
        }
    } else {
        herald__key_bad_value(k, topics, "a topic or a non-empty list of them",
                              d);
    }
}

static void parse_batch(const struct herald__node *map,
                        struct herald__connector_config *out,
                        struct herald__diag *d)
{
    const struct herald__node *batch = herald__node_get(map, "batch");

    herald__section_check_keys(batch, &batch_section, d);
    herald__section_num(batch, &batch_section, "max_records",
                        &out->batch_max_records, d);
    herald__section_num(batch, &batch_section, "max_bytes",
                        &out->batch_max_bytes, d);
    herald__section_num(batch, &batch_section, "linger", &out->linger_ms, d);
}

static void parse_errors(const struct herald__node *map,
                         struct herald__connector_config *out,
                         struct herald__diag *d)
{
    const struct herald__node *errors = herald__node_get(map, "errors");
    const struct herald__node *retry = herald__node_get(errors, "retry");
    const struct herald__node *probe =
        herald__node_get(errors, "channel_probe");
    const struct herald__node *dlq =
        herald__node_get(errors, "dead_letter_topic");
    const char *tol;

    if (errors) {
        herald__section_check_keys(errors, &errors_section, d);
        herald__section_enum(errors, &errors_section, "tolerance", &tol, d);
        out->tolerance_all = strcmp(tol, "all") == 0;
    }
    if (dlq && (dlq->type != HERALD_NODE_SCALAR || !dlq->scalar[0])) {
        herald__key_bad_value(
            herald__section_key(&errors_section, "dead_letter_topic"), dlq,
            "a topic name", d);
    } else if (dlq) {
        out->dead_letter_topic = strdup(dlq->scalar);
        if (!out->dead_letter_topic) {
            herald__diag_add(d, dlq, "out of memory");
        }
        out->dead_letter_node = dlq;
    }
    herald__section_check_keys(retry, &retry_section, d);
    herald__section_check_keys(probe, &probe_section, d);
    herald__section_num(retry, &retry_section, "initial",
                        &out->retry_initial_ms, d);
    herald__section_num(retry, &retry_section, "max", &out->retry_max_ms, d);
    herald__section_num(retry, &retry_section, "timeout",
                        &out->retry_timeout_ms, d);
    herald__section_num(probe, &probe_section, "initial",
                        &out->probe_initial_ms, d);
    herald__section_num(probe, &probe_section, "max", &out->probe_max_ms, d);
    if (out->probe_initial_ms < 1 ||
        out->probe_max_ms < out->probe_initial_ms) {
        herald__diag_add(d, probe,
                         "errors.channel_probe: initial must be at least 1ms "
                         "and max at least initial");
    }
}

int herald__connector_config_parse(const struct herald__node *map, int tail,
                                   struct herald__connector_config *out,
                                   struct herald__diag *d)
{
    size_t errs = d->n;
    memset(out, 0, sizeof *out);
    if (!map || map->type != HERALD_NODE_MAP) {
        herald__diag_add(d, map, "a connector must be a map");
        return -1;
    }
    out->map = map;
    herald__section_check_keys(map, &herald__connector_section, d);

    const struct herald__node *name = herald__node_get(map, "name");
    if (!name || name->type != HERALD_NODE_SCALAR || !name->scalar[0]) {
        herald__diag_add(d, map, "connector needs a 'name'");
        out->name = strdup("?");
    } else {
        out->name = strdup(name->scalar);
    }
    if (out->name) {
        out->group_id = group_id_for(map, out->name, tail);
    }
    if (!out->name || !out->group_id) {
        herald__diag_add(d, map, "out of memory");
        return -1;
    }

    parse_topics(map, out, d);
    out->kafka = herald__node_get(map, "kafka");
    if (out->kafka && out->kafka->type != HERALD_NODE_MAP) {
        herald__key_bad_value(
            herald__section_key(&herald__connector_section, "kafka"),
            out->kafka, "a map of librdkafka properties", d);
        out->kafka = NULL;
    }

    out->key_format.format = HERALD__FORMAT_STRING;
    out->value_format.format = HERALD__FORMAT_AVRO;
    out->formats_ok = parse_format(herald__node_get(map, "key"), 1,
                                   &out->key_format, d) == 0 &&
                      parse_format(herald__node_get(map, "value"), 0,
                                   &out->value_format, d) == 0;

    parse_batch(map, out, d);
    const struct herald__section *cs = &herald__connector_section;
    int64_t skip = 1;
    herald__section_num(map, cs, "max_in_flight", &out->max_in_flight, d);
    herald__section_num(map, cs, "skip_tombstones", &skip, d);
    out->skip_tombstones = (int)skip;
    herald__section_num(map, cs, "drain_timeout", &out->drain_timeout_ms, d);
    herald__section_num(map, cs, "commit_interval", &out->commit_interval_ms,
                        d);
    parse_errors(map, out, d);

    if (!tail) {
        out->notify = herald__node_get(map, "notify");
        out->sink = herald__node_get(map, "sink");
        out->dedup = herald__node_get(map, "dedup");
        if (out->notify && out->sink) {
            herald__diag_add(d, out->sink,
                             "a connector has either 'notify' or "
                             "'sink', not both");
        } else if (!out->notify && !out->sink) {
            herald__diag_add(d, map, "connector '%s' needs 'notify' or 'sink'",
                             out->name);
        }
    }
    return d->n > errs ? -1 : 0;
}

void herald__connector_config_cleanup(struct herald__connector_config *cfg)
{
    if (!cfg) {
        return;
    }
    free(cfg->name);
    free(cfg->group_id);
    for (size_t i = 0; i < cfg->n_topics; i++) {
        free(cfg->topics[i]);
    }
    free(cfg->topics);
    free(cfg->dead_letter_topic);
    memset(cfg, 0, sizeof *cfg);
}
