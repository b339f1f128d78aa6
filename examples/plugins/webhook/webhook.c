/*
 * webhook.c - a herald notify channel: one HTTP POST of a JSON body per
 * record to one URL. The body is the connector's `notify: body:`, a YAML
 * tree of templates the host renders into JSON (field kind
 * HERALD_FIELD_JSON), so this file never builds JSON and record data can
 * never change the document's shape. Sending, concurrency and the
 * classification of answers are the host's JSON POST helper
 * (api->json_post_*); what is left is options and wiring.
 *
 * Built out of tree against the installed SDK (see CMakeLists.txt).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <herald/plugin.h>

#define WEBHOOK_HEADERS_MAX 32

static const struct herald_host_api *api;

static const struct herald_option webhook_options[] = {
    {"url", HERALD_OPT_STRING, NULL, 1, 1, NULL,
     "endpoint to POST to (secret: webhook URLs carry their token)"},
    {"headers", HERALD_OPT_LIST, NULL, 0, 1, NULL,
     "extra request lines, \"Name: value\" (secret: may hold a token)"},
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

/* The message fields this channel takes: fields[0] of every message. */
enum { FIELD_BODY };
static const struct herald_field webhook_fields[] = {
    {"body", HERALD_FIELD_JSON, 1, NULL,
     "the JSON document to POST; string leaves are templates"},
    {NULL, 0, 0, NULL, NULL},
};

struct webhook {
    struct herald_instance *inst;
    struct herald_json_post *post;
};

static int webhook_init(const struct herald_host_api *host, char *err,
                        size_t errlen)
{
    /* json_post_destroy is the last member this plugin calls */
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

static int webhook_open(struct herald_instance *inst,
                        const struct herald_options *opts, void **state,
                        char *err, size_t errlen)
{
    const char *headers[WEBHOOK_HEADERS_MAX];
    size_t n = api->opt_list_count(opts, "headers");
    struct webhook *w;

    if (n > WEBHOOK_HEADERS_MAX) {
        snprintf(err, errlen, "at most %d headers", WEBHOOK_HEADERS_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        headers[i] = api->opt_list_item(opts, "headers", i);
    }
    struct herald_json_post_config cfg = {
        .struct_size = sizeof cfg,
        .url = api->opt_string(opts, "url"),
        .headers = headers,
        .n_headers = n,
        .max_in_flight = (long)api->opt_int(opts, "max_in_flight"),
        .connect_timeout_ms = api->opt_duration_ms(opts, "connect_timeout"),
        .timeout_ms = api->opt_duration_ms(opts, "timeout"),
        .ca_file = api->opt_string(opts, "ca_file"),
        .user_agent = "herald-webhook/0.1",
    };
    w = calloc(1, sizeof *w);
    if (w == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    w->inst = inst;
    w->post = api->json_post_new(inst, &cfg, err, errlen);
    if (w->post == NULL) {
        free(w);
        return -1;
    }
    *state = w;
    return 0;
}

static int webhook_deliver(void *state, struct herald_batch *b)
{
    struct webhook *w = state;
    size_t n = api->batch_count(b);

    for (size_t i = 0; i < n; i++) {
        const struct herald_message *m = api->batch_message(b, i);
        const char *body;

        if (m == NULL ||
            m->struct_size < offsetof(struct herald_message, n_fields) +
                                 sizeof m->n_fields ||
            m->n_fields <= FIELD_BODY ||
            (body = m->fields[FIELD_BODY].value) == NULL) {
            api->complete(b, i, HERALD_REJECT, 0, "no body in the message");
            continue;
        }
        if (api->json_post_send(w->post, b, i, body, strlen(body)) != 0) {
            api->complete(b, i, HERALD_RETRY, 0, "could not queue the request");
        }
    }
    return 0;
}

static void webhook_close(void *state)
{
    struct webhook *w = state;

    if (w == NULL) {
        return;
    }
    api->json_post_destroy(w->post);
    free(w);
}

HERALD_PLUGIN_DEFINE = {
    HERALD_PLUGIN_HEADER,
    .name = "webhook",
    .version = "0.1.0",
    .description = "POST a templated JSON body to a URL (Slack, Teams, ...)",
    .kind = HERALD_PLUGIN_NOTIFY,
    .options = webhook_options,
    .init = webhook_init,
    .open = webhook_open,
    .deliver = webhook_deliver,
    .close = webhook_close,
    HERALD_FIELDS(webhook_fields),
};
