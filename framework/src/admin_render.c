/*
 * admin_render.c - what the admin routes answer, from a snapshot: the
 * readiness verdict, the Prometheus text exposition (format 0.0.4) and the
 * connectors' status as JSON. Pure functions: unit tests compare their
 * output byte for byte. Only names, states and counts are printed, never
 * an option value: a plugin's options (where secrets live) are not even
 * in the snapshot. The one text from a plugin is the reason its channel
 * is unavailable, which the ABI forbids to carry a secret.
 */
#include "admin_render.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "loader.h"

const char *herald__admin_state_name(enum herald__connector_state s)
{
    switch (s) {
    case HERALD__CONNECTOR_CREATED:
        return "created";
    case HERALD__CONNECTOR_RUNNING:
        return "running";
    case HERALD__CONNECTOR_STOPPING:
        return "stopping";
    case HERALD__CONNECTOR_STOPPED:
        return "stopped";
    case HERALD__CONNECTOR_FAILED:
        return "failed";
    }
    return "unknown";
}

static const char *not_ready_reason(enum herald__connector_state s)
{
    switch (s) {
    case HERALD__CONNECTOR_CREATED:
        return "not started yet";
    case HERALD__CONNECTOR_STOPPING:
        return "stopping: draining in-flight records";
    case HERALD__CONNECTOR_STOPPED:
        return "stopped";
    case HERALD__CONNECTOR_FAILED:
        return "stopped on an error (errors.tolerance: none, or a fatal "
               "Kafka error); see the log";
    default:
        return "not running";
    }
}

/* The JSON text of v, with a newline, as a heap string; steals v. */
static char *dump(json_t *v, size_t *len)
{
    char *s = v ? json_dumps(v, JSON_INDENT(2)) : NULL;
    json_decref(v);
    if (!s) {
        return NULL;
    }
    size_t n = strlen(s);
    char *out = realloc(s, n + 2);
    if (!out) {
        free(s);
        return NULL;
    }
    out[n] = '\n';
    out[n + 1] = '\0';
    *len = n + 1;
    return out;
}

/* Why a running connector's channel keeps it from being ready, as a
 * heap string; NULL when out of memory. */
static char *channel_reason(const struct herald__connector_status *c)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    if (!f) {
        return NULL;
    }
    fprintf(f,
            "channel %s is unavailable (every partition waits; nothing is "
            "committed past the held records): %s",
            c->inst ? c->inst->name : "?",
            c->channel_reason ? c->channel_reason : "no reason given");
    if (fclose(f) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

/* Ready: every connector is running, that is its consumer is created and
 * subscribed and it is neither stopping nor stopped, and its channel is
 * not unavailable (records could not go out). An assignment is not
 * required: a member of a group with more members than partitions has
 * none and is healthy. */
char *herald__admin_render_readyz(const struct herald__admin_snapshot *snap,
                                  int *ready, size_t *len)
{
    json_t *root = json_object();
    json_t *bad = json_array();
    for (size_t i = 0; i < snap->n_connectors; i++) {
        const struct herald__connector_status *c = &snap->connectors[i];
        if (c->state == HERALD__CONNECTOR_RUNNING && c->channel_unavailable) {
            char *why = channel_reason(c);
            json_array_append_new(
                bad,
                json_pack("{s:s, s:s, s:s?}", "name", c->name, "state",
                          herald__admin_state_name(c->state), "reason", why));
            free(why);
            continue;
        }
        if (c->state == HERALD__CONNECTOR_RUNNING) {
            continue;
        }
        json_array_append_new(
            bad, json_pack("{s:s, s:s, s:s}", "name", c->name, "state",
                           herald__admin_state_name(c->state), "reason",
                           not_ready_reason(c->state)));
    }
    *ready = json_array_size(bad) == 0 && snap->n_connectors > 0;
    json_object_set_new(root, "status",
                        json_string(*ready ? "ready" : "not ready"));
    if (snap->n_connectors == 0) {
        json_object_set_new(root, "reason", json_string("no connectors"));
    }
    if (json_array_size(bad) > 0) {
        json_object_set_new(root, "connectors", bad);
    } else {
        json_decref(bad);
    }
    return dump(root, len);
}

/* ---- Prometheus text format 0.0.4 ------------------------------------ */

/* A label value: backslash, double quote and line feed escaped. */
static void put_label(FILE *f, const char *name, const char *value)
{
    fprintf(f, "%s=\"", name);
    for (const char *p = value ? value : ""; *p; p++) {
        if (*p == '\\') {
            fputs("\\\\", f);
        } else if (*p == '"') {
            fputs("\\\"", f);
        } else if (*p == '\n') {
            fputs("\\n", f);
        } else {
            fputc(*p, f);
        }
    }
    fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type,
                   const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The per-connector figures, one family each, in this order. */
static const struct {
    const char *name, *type, *help;
    size_t off; /* into herald__connector_stats */
} connector_families[] = {
    {"herald_records_consumed_total", "counter",
     "Records taken from Kafka by the connector.",
     offsetof(struct herald__connector_stats, consumed)},
    {"herald_records_delivered_total", "counter",
     "Records the connector's plugin reported OK.",
     offsetof(struct herald__connector_stats, delivered_ok)},
    {"herald_records_rejected_total", "counter",
     "Records rejected: REJECT outcomes, retries exhausted, undecodable "
     "records.",
     offsetof(struct herald__connector_stats, rejected)},
    {"herald_records_retried_total", "counter",
     "RETRY outcomes (a record retried twice counts twice).",
     offsetof(struct herald__connector_stats, retried)},
    {"herald_records_unavailable_total", "counter",
     "UNAVAILABLE outcomes: the channel, not the record, failed (a held "
     "record sent again as a probe counts again).",
     offsetof(struct herald__connector_stats, unavailable)},
    {"herald_records_poison_total", "counter",
     "Records that could not be decoded (also counted as rejected).",
     offsetof(struct herald__connector_stats, poison)},
    {"herald_records_deduped_total", "counter",
     "Records skipped because their dedup key was notified before.",
     offsetof(struct herald__connector_stats, deduped)},
    {"herald_records_in_flight", "gauge",
     "Records handed to the plugin whose outcome is not reported yet.",
     offsetof(struct herald__connector_stats, in_flight)},
};

static int64_t stat_at(const struct herald__connector_stats *s, size_t off)
{
    int64_t v;
    memcpy(&v, (const char *)s + off, sizeof v);
    return v;
}

/* One gauge per connector: "NAME{connector=\"C\"} VALUE". */
static void gauge(FILE *f, const char *name,
                  const struct herald__connector_status *c, int64_t v)
{
    fprintf(f, "%s{", name);
    put_label(f, "connector", c->name);
    fprintf(f, "} %" PRId64 "\n", v);
}

/* Whether each connector's channel is unavailable, for how long, how many
 * records it holds, and (while it is) why, as an info-style series. */
static void channel_metrics(FILE *f, const struct herald__admin_snapshot *snap)
{
    family(f, "herald_connector_channel_unavailable", "gauge",
           "1 while the connector's channel is unavailable (every partition "
           "waits), else 0.");
    for (size_t i = 0; i < snap->n_connectors; i++) {
        gauge(f, "herald_connector_channel_unavailable", &snap->connectors[i],
              snap->connectors[i].channel_unavailable != 0);
    }
    family(f, "herald_connector_channel_unavailable_seconds", "gauge",
           "How long the connector's channel has been unavailable; 0 when "
           "it is available.");
    for (size_t i = 0; i < snap->n_connectors; i++) {
        gauge(f, "herald_connector_channel_unavailable_seconds",
              &snap->connectors[i],
              snap->connectors[i].channel_unavailable_ms / 1000);
    }
    family(f, "herald_connector_channel_held_records", "gauge",
           "Records held until the connector's channel is available again.");
    for (size_t i = 0; i < snap->n_connectors; i++) {
        gauge(f, "herald_connector_channel_held_records", &snap->connectors[i],
              snap->connectors[i].channel_held);
    }
    family(f, "herald_connector_channel_unavailable_info", "gauge",
           "Present (1) while the connector's channel is unavailable; the "
           "reason label says why.");
    for (size_t i = 0; i < snap->n_connectors; i++) {
        const struct herald__connector_status *c = &snap->connectors[i];
        if (!c->channel_unavailable) {
            continue;
        }
        fputs("herald_connector_channel_unavailable_info{", f);
        put_label(f, "connector", c->name);
        fputc(',', f);
        put_label(f, "channel", c->inst ? c->inst->name : "");
        fputc(',', f);
        put_label(f, "reason", c->channel_reason);
        fputs("} 1\n", f);
    }
}

char *herald__admin_render_metrics(const struct herald__admin_snapshot *snap,
                                   size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f) {
        return NULL;
    }
    family(f, "herald_info", "gauge", "herald's version; always 1.");
    fputs("herald_info{", f);
    put_label(f, "version", HERALD_VERSION);
    fputs("} 1\n", f);

    family(f, "herald_connector_up", "gauge",
           "1 while the connector runs (subscribed, not stopping), else 0.");
    for (size_t i = 0; i < snap->n_connectors; i++) {
        const struct herald__connector_status *c = &snap->connectors[i];
        fputs("herald_connector_up{", f);
        put_label(f, "connector", c->name);
        fprintf(f, "} %d\n", c->state == HERALD__CONNECTOR_RUNNING);
    }
    channel_metrics(f, snap);
    for (size_t k = 0;
         k < sizeof connector_families / sizeof connector_families[0]; k++) {
        family(f, connector_families[k].name, connector_families[k].type,
               connector_families[k].help);
        for (size_t i = 0; i < snap->n_connectors; i++) {
            const struct herald__connector_status *c = &snap->connectors[i];
            fprintf(f, "%s{", connector_families[k].name);
            put_label(f, "connector", c->name);
            fprintf(f, "} %" PRId64 "\n",
                    stat_at(&c->stats, connector_families[k].off));
        }
    }
    family(f, "herald_partitions_assigned", "gauge",
           "Partitions assigned to the connector.");
    for (size_t i = 0; i < snap->n_connectors; i++) {
        const struct herald__connector_status *c = &snap->connectors[i];
        fputs("herald_partitions_assigned{", f);
        put_label(f, "connector", c->name);
        fprintf(f, "} %zu\n", c->n_parts);
    }
    family(f, "herald_plugin_counter_total", "counter",
           "Counters a plugin instance keeps (counter_add of the host API).");
    for (size_t i = 0; i < snap->n_instances; i++) {
        const struct herald_instance *inst = snap->instances[i];
        for (size_t k = 0; k < inst->n_counters; k++) {
            fputs("herald_plugin_counter_total{", f);
            put_label(f, "kind", herald__plugin_kind_name(inst->def->kind));
            fputc(',', f);
            put_label(f, "instance", inst->name);
            fputc(',', f);
            put_label(f, "plugin", inst->def->name);
            fputc(',', f);
            put_label(f, "counter", inst->counters[k].name);
            fprintf(f, "} %" PRId64 "\n", inst->counters[k].value);
        }
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---- /connectors ------------------------------------------------------ */

static json_t *offset_json(int64_t off)
{
    return off < 0 ? json_null() : json_integer(off);
}

static json_t *counters_json(const struct herald__connector_stats *s)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "consumed",
                     (json_int_t)s->consumed, "delivered",
                     (json_int_t)s->delivered_ok, "rejected",
                     (json_int_t)s->rejected, "retried", (json_int_t)s->retried,
                     "unavailable", (json_int_t)s->unavailable, "poison",
                     (json_int_t)s->poison, "deduped", (json_int_t)s->deduped,
                     "in_flight", (json_int_t)s->in_flight);
}

static json_t *instance_json(const struct herald_instance *inst)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "name", inst->name, "plugin",
                          inst->def->name, "kind",
                          herald__plugin_kind_name(inst->def->kind));
    json_t *counters = json_object();
    for (size_t k = 0; k < inst->n_counters; k++) {
        json_object_set_new(counters, inst->counters[k].name,
                            json_integer(inst->counters[k].value));
    }
    json_object_set_new(o, "counters", counters);
    return o;
}

static json_t *connector_json(const struct herald__connector_status *c)
{
    json_t *o =
        json_pack("{s:s, s:s, s:s?}", "name", c->name, "state",
                  herald__admin_state_name(c->state), "group_id", c->group_id);
    json_t *topics = json_array();
    for (size_t i = 0; i < c->n_topics; i++) {
        json_array_append_new(topics, json_string(c->topics[i]));
    }
    json_object_set_new(o, "topics", topics);
    if (c->inst) {
        json_object_set_new(
            o, c->inst->def->kind == HERALD_PLUGIN_NOTIFY ? "channel" : "sink",
            json_string(c->inst->name));
    }
    json_t *parts = json_array();
    for (size_t i = 0; i < c->n_parts; i++) {
        const struct herald__partition_status *p = &c->parts[i];
        json_array_append_new(
            parts, json_pack("{s:s, s:i, s:o, s:o, s:I, s:b}", "topic",
                             p->topic, "partition", (int)p->partition,
                             "committed", offset_json(p->committed), "next",
                             offset_json(p->next), "in_doubt",
                             (json_int_t)p->in_doubt, "paused", p->paused));
    }
    json_object_set_new(o, "partitions", parts);
    if (c->inst) {
        /* null while the channel is available */
        json_object_set_new(
            o, "channel_unavailable",
            c->channel_unavailable
                ? json_pack("{s:s, s:I, s:I}", "reason",
                            c->channel_reason ? c->channel_reason : "",
                            "for_ms", (json_int_t)c->channel_unavailable_ms,
                            "held", (json_int_t)c->channel_held)
                : json_null());
    }
    json_object_set_new(o, "counters", counters_json(&c->stats));
    return o;
}

char *herald__admin_render_connectors(const struct herald__admin_snapshot *snap,
                                      size_t *len)
{
    json_t *cons = json_array();
    for (size_t i = 0; i < snap->n_connectors; i++) {
        json_array_append_new(cons, connector_json(&snap->connectors[i]));
    }
    json_t *insts = json_array();
    for (size_t i = 0; i < snap->n_instances; i++) {
        json_array_append_new(insts, instance_json(snap->instances[i]));
    }
    return dump(json_pack("{s:o, s:o}", "connectors", cons, "instances", insts),
                len);
}
