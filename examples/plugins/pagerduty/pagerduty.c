/*
 * pagerduty.c - a herald notify channel: each record triggers a PagerDuty
 * alert through the Events API v2,
 *
 *   POST {url}   {"routing_key": ..., "event_action": "trigger",
 *                 "dedup_key": <idempotency key>,
 *                 "payload": {"summary", "source", "severity",
 *                             ["component", "group", "class",]
 *                             ["custom_details"]}}
 *
 * dedup_key is the host's idempotency key (a keyed hash of the record's
 * dedup key, 64 hex digits), so a record delivered twice (a crash between
 * the send and the commit) is one incident. PagerDuty answers 202 when it
 * accepted the event, 400 for an invalid one, 429 when throttled, 5xx when
 * it failed: the host's JSON POST helper classifies exactly that way (OK,
 * REJECT, RETRY, RETRY), and 401/403 as the channel being unavailable.
 *
 * The routing key is an option, not a field: it is an integration's
 * credential, kept out of templates and record data.
 *
 * Built out of tree against the installed SDK (see CMakeLists.txt).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <herald/plugin.h>
#include <jansson.h>

/* Events API v2 limits: summary at most 1024 characters (longer ones are
 * cut here, never refused), dedup_key at most 255. */
#define SUMMARY_MAX 1024
#define ROUTING_KEY_MAX 128

static const struct herald_host_api *api;

static const struct herald_option pagerduty_options[] = {
    {"routing_key", HERALD_OPT_STRING, NULL, 1, 1, NULL,
     "integration key of the service's Events API v2 integration"},
    {"url", HERALD_OPT_STRING, "https://events.pagerduty.com/v2/enqueue", 0, 0,
     NULL, "Events API v2 endpoint (EU: https://events.eu.pagerduty.com/...)"},
    {"source", HERALD_OPT_STRING, "herald", 0, 0, NULL,
     "payload.source when the connector sets none"},
    {"max_in_flight", HERALD_OPT_INT, "8", 0, 0, NULL,
     "most requests running at once; more wait in the channel"},
    {"connect_timeout", HERALD_OPT_DURATION, "10s", 0, 0, NULL,
     "time allowed to connect (TCP and TLS)"},
    {"timeout", HERALD_OPT_DURATION, "30s", 0, 0, NULL,
     "time allowed for a whole request"},
    {"ca_file", HERALD_OPT_STRING, NULL, 0, 0, NULL,
     "PEM file of CA certificates instead of the system store"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static const char *const severities[] = {"critical", "error", "warning", "info",
                                         NULL};

/* Message fields, in this order in every message's fields[]. */
enum {
    F_SUMMARY,
    F_SEVERITY,
    F_SOURCE,
    F_COMPONENT,
    F_GROUP,
    F_CLASS,
    F_CUSTOM_DETAILS,
    F_COUNT
};
static const struct herald_field pagerduty_fields[] = {
    {"summary", HERALD_FIELD_HEADER_TEXT, 1, NULL,
     "one line: what happened (cut at 1024 characters)"},
    {"severity", HERALD_FIELD_ENUM, 1, severities,
     "critical, error, warning or info"},
    {"source", HERALD_FIELD_HEADER_TEXT, 0, NULL,
     "where it happened (default: the source option)"},
    {"component", HERALD_FIELD_HEADER_TEXT, 0, NULL, "part of the source"},
    {"group", HERALD_FIELD_HEADER_TEXT, 0, NULL, "logical group"},
    {"class", HERALD_FIELD_HEADER_TEXT, 0, NULL, "class or type of event"},
    {"custom_details", HERALD_FIELD_JSON, 0, NULL,
     "JSON shown with the alert; string leaves are templates"},
    {NULL, 0, 0, NULL, NULL},
};

struct pagerduty {
    struct herald_instance *inst;
    struct herald_json_post *post;
    const char *routing_key; /* borrowed from the options until close */
    const char *source;
};

static int pagerduty_init(const struct herald_host_api *host, char *err,
                          size_t errlen)
{
    if (host->abi_major != HERALD_ABI_MAJOR ||
        host->struct_size <
            offsetof(struct herald_host_api, json_post_destroy) +
                sizeof host->json_post_destroy) {
        snprintf(err, errlen,
                 "this herald has no JSON POST helper (needs plugin ABI "
                 "%d.%d)",
                 HERALD_ABI_MAJOR, HERALD_ABI_MINOR);
        return -1;
    }
    api = host;
    return 0;
}

static int pagerduty_open(struct herald_instance *inst,
                          const struct herald_options *opts, void **state,
                          char *err, size_t errlen)
{
    struct pagerduty *pd;
    const char *key = api->opt_string(opts, "routing_key");
    size_t klen = key ? strlen(key) : 0;

    if (klen == 0 || klen > ROUTING_KEY_MAX) {
        snprintf(err, errlen, "routing_key must be 1 to %d characters",
                 ROUTING_KEY_MAX);
        return -1;
    }
    for (size_t i = 0; i < klen; i++) {
        if ((unsigned char)key[i] <= 0x20 || (unsigned char)key[i] >= 0x7f) {
            snprintf(err, errlen,
                     "routing_key holds a blank, control or non-ASCII "
                     "character");
            return -1;
        }
    }
    struct herald_json_post_config cfg = {
        .struct_size = sizeof cfg,
        .url = api->opt_string(opts, "url"),
        .max_in_flight = (long)api->opt_int(opts, "max_in_flight"),
        .connect_timeout_ms = api->opt_duration_ms(opts, "connect_timeout"),
        .timeout_ms = api->opt_duration_ms(opts, "timeout"),
        .ca_file = api->opt_string(opts, "ca_file"),
        .user_agent = "herald-pagerduty/0.1",
    };
    pd = calloc(1, sizeof *pd);
    if (pd == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pd->inst = inst;
    pd->routing_key = key;
    pd->source = api->opt_string(opts, "source");
    pd->post = api->json_post_new(inst, &cfg, err, errlen);
    if (pd->post == NULL) {
        free(pd);
        return -1;
    }
    *state = pd;
    return 0;
}

/* Cut s to at most SUMMARY_MAX bytes on a UTF-8 code point boundary. */
static json_t *summary_string(const char *s)
{
    size_t len = strlen(s);

    if (len > SUMMARY_MAX) {
        len = SUMMARY_MAX;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80) {
            len--;
        }
    }
    return json_stringn(s, len);
}

static const char *field(const struct herald_message *m, size_t k)
{
    return k < m->n_fields ? m->fields[k].value : NULL;
}

/* The event for message m as compact JSON (caller frees), or NULL with
 * the reason in err. */
static char *event_json(const struct pagerduty *pd,
                        const struct herald_message *m, char *err,
                        size_t errlen)
{
    static const struct {
        size_t field;
        const char *key;
    } optional[] = {
        {F_COMPONENT, "component"}, {F_GROUP, "group"}, {F_CLASS, "class"}};
    json_t *ev = NULL, *payload = NULL;
    char *out = NULL;
    const char *source = field(m, F_SOURCE);
    int rc = 0;

    if (m->struct_size <
            offsetof(struct herald_message, n_fields) + sizeof m->n_fields ||
        m->n_fields != F_COUNT || field(m, F_SUMMARY) == NULL ||
        field(m, F_SEVERITY) == NULL || m->idempotency_key == NULL) {
        snprintf(err, errlen, "message lacks summary, severity or key");
        return NULL;
    }
    payload = json_object();
    ev = json_object();
    if (payload == NULL || ev == NULL) {
        goto oom;
    }
    rc |= json_object_set_new(payload, "summary",
                              summary_string(field(m, F_SUMMARY)));
    rc |= json_object_set_new(payload, "source",
                              json_string(source ? source : pd->source));
    rc |= json_object_set_new(payload, "severity",
                              json_string(field(m, F_SEVERITY)));
    for (size_t k = 0; k < sizeof optional / sizeof optional[0]; k++) {
        if (field(m, optional[k].field) != NULL) {
            rc |= json_object_set_new(payload, optional[k].key,
                                      json_string(field(m, optional[k].field)));
        }
    }
    if (field(m, F_CUSTOM_DETAILS) != NULL) {
        json_t *d =
            json_loads(field(m, F_CUSTOM_DETAILS), JSON_DECODE_ANY, NULL);
        if (d == NULL) {
            snprintf(err, errlen, "custom_details is not JSON");
            goto fail;
        }
        rc |= json_object_set_new(payload, "custom_details", d);
    }
    rc |= json_object_set_new(ev, "routing_key", json_string(pd->routing_key));
    rc |= json_object_set_new(ev, "event_action", json_string("trigger"));
    rc |= json_object_set_new(ev, "dedup_key", json_string(m->idempotency_key));
    rc |= json_object_set(ev, "payload", payload);
    if (rc != 0) {
        goto oom;
    }
    out = json_dumps(ev, JSON_COMPACT);
    if (out == NULL) {
        goto oom;
    }
    json_decref(payload);
    json_decref(ev);
    return out;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    json_decref(payload);
    json_decref(ev);
    return NULL;
}

static int pagerduty_deliver(void *state, struct herald_batch *b)
{
    struct pagerduty *pd = state;
    size_t n = api->batch_count(b);

    for (size_t i = 0; i < n; i++) {
        const struct herald_message *m = api->batch_message(b, i);
        char err[256];
        char *body = m ? event_json(pd, m, err, sizeof err) : NULL;

        if (body == NULL) {
            api->complete(b, i, HERALD_REJECT, 0, m ? err : "no message");
            continue;
        }
        if (api->json_post_send(pd->post, b, i, body, strlen(body)) != 0) {
            api->complete(b, i, HERALD_RETRY, 0, "could not queue the request");
        }
        free(body); /* the helper keeps its own copy */
    }
    return 0;
}

static void pagerduty_close(void *state)
{
    struct pagerduty *pd = state;

    if (pd == NULL) {
        return;
    }
    api->json_post_destroy(pd->post);
    free(pd);
}

HERALD_PLUGIN_DEFINE = {
    HERALD_PLUGIN_HEADER,
    .name = "pagerduty",
    .version = "0.1.0",
    .description = "trigger PagerDuty alerts (Events API v2)",
    .kind = HERALD_PLUGIN_NOTIFY,
    .options = pagerduty_options,
    .init = pagerduty_init,
    .open = pagerduty_open,
    .deliver = pagerduty_deliver,
    .close = pagerduty_close,
    HERALD_FIELDS(pagerduty_fields),
};
