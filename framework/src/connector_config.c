/*
 * connector_config.c - parse one connector's map into a struct
 * herald__connector_config (connector_config.h). Only reads the tree and
 * reports into the diagnostics; building the objects (decoder, notify,
 * plugin instance, dedup) is the connector's.
 */
#include "connector_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Room for "herald-tail-<name>-<pid>" beyond the name. */
#define TAIL_GROUP_EXTRA 40
/* Room for "herald-<name>" beyond the name. */
#define DEFAULT_GROUP_EXTRA 8

static const char *const connector_keys[] = {
    "name",  "topics",        "group_id",        "kafka",
    "key",   "value",         "notify",          "sink",
    "batch", "max_in_flight", "skip_tombstones", "errors",
    "dedup", "drain_timeout", "commit_interval", NULL};

static int get_duration(const struct herald__node *map, const char *key,
                        int64_t def, int64_t *out, struct herald__diag *d)
{
    const struct herald__node *n = map ? herald__node_get(map, key) : NULL;
    *out = def;
    if (!n) {
        return 0;
    }
    if (n->type != HERALD_NODE_SCALAR ||
        herald__parse_duration_ms(n->scalar, out) != 0) {
        herald__diag_add(d, n,
                         "invalid duration for '%s' (use e.g. 250ms, 30s, "
                         "5m, 1h)",
                         key);
        return -1;
    }
    return 0;
}

static int get_int(const struct herald__node *map, const char *key, int64_t def,
                   int64_t min, int64_t *out, struct herald__diag *d)
{
    const struct herald__node *n = map ? herald__node_get(map, key) : NULL;
    *out = def;
    if (!n) {
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long long v =
        n->type == HERALD_NODE_SCALAR ? strtoll(n->scalar, &end, 10) : 0;
    if (n->type != HERALD_NODE_SCALAR || !end || *end || end == n->scalar ||
        errno || v < min) {
        herald__diag_add(d, n, "'%s' expects an integer >= %" PRId64, key, min);
        return -1;
    }
    *out = v;
    return 0;
}

static int get_bool(const struct herald__node *map, const char *key, int def,
                    int *out, struct herald__diag *d)
{
    const struct herald__node *n = map ? herald__node_get(map, key) : NULL;
    *out = def;
    if (!n) {
        return 0;
    }
    if (n->type == HERALD_NODE_SCALAR && strcmp(n->scalar, "true") == 0) {
        *out = 1;
    } else if (n->type == HERALD_NODE_SCALAR &&
               strcmp(n->scalar, "false") == 0) {
        *out = 0;
    } else {
        herald__diag_add(d, n, "'%s' expects true or false", key);
        return -1;
    }
    return 0;
}

/* key: / value: maps: {format, window, window_size (keys), max_nodes,
 * max_bytes}. */
static int parse_format(const struct herald__node *m, int is_key,
                        struct herald__format_spec *out, struct herald__diag *d)
{
    if (!m) {
        return 0;
    }
    if (m->type != HERALD_NODE_MAP) {
        herald__diag_add(d, m, "'%s' must be a map, e.g. { format: %s }",
                         is_key ? "key" : "value", is_key ? "string" : "avro");
        return -1;
    }
    static const char *const key_keys[] = {
        "format", "window", "window_size", "max_nodes", "max_bytes", NULL};
    static const char *const value_keys[] = {"format", "max_nodes", "max_bytes",
                                             NULL};
    if (herald__node_check_keys(m, is_key ? key_keys : value_keys, d) > 0) {
        return -1;
    }
    const struct herald__node *f = herald__node_get(m, "format");
    if (f && (f->type != HERALD_NODE_SCALAR ||
              herald__format_parse(f->scalar, &out->format) != 0)) {
        herald__diag_add(d, f,
                         "invalid format '%s' (expected one of: string, "
                         "bytes, json, avro)",
                         f->type == HERALD_NODE_SCALAR ? f->scalar : "?");
        return -1;
    }
    const struct herald__node *w = herald__node_get(m, "window");
    if (w && (w->type != HERALD_NODE_SCALAR ||
              herald__window_parse(w->scalar, &out->window) != 0)) {
        herald__diag_add(d, w,
                         "invalid window '%s' (expected one of: none, "
                         "tumbling, hopping, session)",
                         w->type == HERALD_NODE_SCALAR ? w->scalar : "?");
        return -1;
    }
    int64_t size = 0;
    if (get_duration(m, "window_size", 0, &size, d) != 0) {
        return -1;
    }
    out->window_size_ms = size;
    /* The absolute caps of the decode's output budget (decode.h). */
    int64_t max_nodes = 0;
    if (get_int(m, "max_nodes", HERALD__DECODE_MAX_NODES_DEFAULT, 1, &max_nodes,
                d) != 0) {
        return -1;
    }
    out->max_nodes = (uint64_t)max_nodes;
    int64_t max_bytes = HERALD__DECODE_MAX_BYTES_DEFAULT;
    const struct herald__node *mb = herald__node_get(m, "max_bytes");
    if (mb &&
        (mb->type != HERALD_NODE_SCALAR ||
         herald__parse_size(mb->scalar, &max_bytes) != 0 || max_bytes < 1)) {
        herald__diag_add(d, mb,
                         "invalid size for 'max_bytes' (use e.g. 16MiB, "
                         "64MiB)");
        return -1;
    }
    out->max_bytes = (uint64_t)max_bytes;
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
                herald__diag_add(d, topics->items[i],
                                 "a topic must be a string");
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
        herald__diag_add(d, topics, "'topics' must be a list of topic names");
    }
}

static void parse_batch(const struct herald__node *map,
                        struct herald__connector_config *out,
                        struct herald__diag *d)
{
    const struct herald__node *batch = herald__node_get(map, "batch");
    if (batch) {
        static const char *const batch_keys[] = {"max_records", "max_bytes",
                                                 "linger", NULL};
        herald__node_check_keys(batch, batch_keys, d);
    }
    get_int(batch, "max_records", HERALD__CONNECTOR_BATCH_MAX_RECORDS, 1,
            &out->batch_max_records, d);
    out->batch_max_bytes = HERALD__CONNECTOR_BATCH_MAX_BYTES;
    const struct herald__node *mb =
        batch ? herald__node_get(batch, "max_bytes") : NULL;
    if (mb && (mb->type != HERALD_NODE_SCALAR ||
               herald__parse_size(mb->scalar, &out->batch_max_bytes) != 0)) {
        herald__diag_add(d, mb,
                         "invalid size for 'max_bytes' (use e.g. "
                         "512KiB, 1MiB)");
    }
    get_duration(batch, "linger", HERALD__CONNECTOR_LINGER_MS, &out->linger_ms,
                 d);
}

static void parse_errors(const struct herald__node *map,
                         struct herald__connector_config *out,
                         struct herald__diag *d)
{
    const struct herald__node *errors = herald__node_get(map, "errors");
    const struct herald__node *retry = NULL, *probe = NULL;
    if (errors) {
        static const char *const err_keys[] = {
            "tolerance", "retry", "dead_letter_topic", "channel_probe", NULL};
        herald__node_check_keys(errors, err_keys, d);
        const char *tol = herald__node_str(errors, "tolerance", "none");
        if (strcmp(tol, "all") == 0) {
            out->tolerance_all = 1;
        } else if (strcmp(tol, "none") != 0) {
            herald__diag_add(d, herald__node_get(errors, "tolerance"),
                             "invalid errors.tolerance '%s' (expected one "
                             "of: none, all)",
                             tol);
        }
        const struct herald__node *dlq =
            herald__node_get(errors, "dead_letter_topic");
        if (dlq && (dlq->type != HERALD_NODE_SCALAR || !dlq->scalar[0])) {
            herald__diag_add(d, dlq,
                             "errors.dead_letter_topic must be a "
                             "topic name");
        } else if (dlq) {
            out->dead_letter_topic = strdup(dlq->scalar);
            if (!out->dead_letter_topic) {
                herald__diag_add(d, dlq, "out of memory");
            }
            out->dead_letter_node = dlq;
        }
        retry = herald__node_get(errors, "retry");
        if (retry) {
            static const char *const retry_keys[] = {"initial", "max",
                                                     "timeout", NULL};
            herald__node_check_keys(retry, retry_keys, d);
        }
        probe = herald__node_get(errors, "channel_probe");
        if (probe) {
            static const char *const probe_keys[] = {"initial", "max", NULL};
            herald__node_check_keys(probe, probe_keys, d);
        }
    }
    get_duration(retry, "initial", HERALD__CONNECTOR_RETRY_INITIAL_MS,
                 &out->retry_initial_ms, d);
    get_duration(retry, "max", HERALD__CONNECTOR_RETRY_MAX_MS,
                 &out->retry_max_ms, d);
    get_duration(retry, "timeout", HERALD__CONNECTOR_RETRY_TIMEOUT_MS,
                 &out->retry_timeout_ms, d);
    get_duration(probe, "initial", HERALD__CONNECTOR_PROBE_INITIAL_MS,
                 &out->probe_initial_ms, d);
    get_duration(probe, "max", HERALD__CONNECTOR_PROBE_MAX_MS,
                 &out->probe_max_ms, d);
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
    herald__node_check_keys(map, connector_keys, d);

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
        herald__diag_add(d, out->kafka,
                         "'kafka' must be a map of librdkafka "
                         "properties");
        out->kafka = NULL;
    }

    out->key_format.format = HERALD__FORMAT_STRING;
    out->value_format.format = HERALD__FORMAT_AVRO;
    out->formats_ok = parse_format(herald__node_get(map, "key"), 1,
                                   &out->key_format, d) == 0 &&
                      parse_format(herald__node_get(map, "value"), 0,
                                   &out->value_format, d) == 0;

    parse_batch(map, out, d);
    get_int(map, "max_in_flight", HERALD__CONNECTOR_MAX_IN_FLIGHT, 1,
            &out->max_in_flight, d);
    get_bool(map, "skip_tombstones", 1, &out->skip_tombstones, d);
    get_duration(map, "drain_timeout", HERALD__CONNECTOR_DRAIN_TIMEOUT_MS,
                 &out->drain_timeout_ms, d);
    get_duration(map, "commit_interval", HERALD__CONNECTOR_COMMIT_INTERVAL_MS,
                 &out->commit_interval_ms, d);
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
