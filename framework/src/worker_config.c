/*
 * worker_config.c - the top level of the configuration: its tables and the
 * parsing of the keys the worker owns (worker_config.h). Moved out of
 * worker.c so that every key herald accepts is parsed from a table that
 * `herald check --describe` also prints.
 */
#include "worker_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_schema.h"
#include "connector_config.h"
#include "hmac.h"
#include "log.h"

/* admin: listen when the section is given without it (design.md). */
#define ADMIN_DEFAULT_LISTEN "127.0.0.1:8093"
/* Bounds of the registry's cache_size and max_fetches. */
#define REGISTRY_COUNT_MAX 1000000
/* Room for an admin listen error. */
#define ADMIN_ERR_LEN 256

static const char *const level_values[] = {"error", "warn", "info", "debug",
                                           NULL};
static const char *const log_format_values[] = {"logfmt", "json", NULL};

static const struct herald__key log_keys[] = {
    {.opt = {"level", HERALD_OPT_ENUM, "info", 0, 0, level_values,
             "least severe level logged (--log-level overrides it)"}},
    {.opt = {"format", HERALD_OPT_ENUM, "logfmt", 0, 0, log_format_values,
             "one line per event: key=value pairs, or a JSON object"}},
    HERALD__KEY_END,
};
static const struct herald__section log_section = {"log", "the log", log_keys,
                                                   NULL};

static const struct herald__key admin_keys[] = {
    {.opt = {"listen", HERALD_OPT_STRING, ADMIN_DEFAULT_LISTEN, 0, 0, NULL,
             "HOST:PORT of the status and metrics endpoint (no "
             "authentication: keep it on loopback)"}},
    HERALD__KEY_END,
};
static const struct herald__section admin_section = {
    "admin", "the admin endpoint (absent: none)", admin_keys, NULL};

static const struct herald__key registry_keys[] = {
    {.opt = {"url", HERALD_OPT_STRING, NULL, 0, 0, NULL,
             "the registry's base URL, may carry a path prefix (or "
             "schemas_dir)"}},
    {.opt = {"basic_auth", HERALD_OPT_STRING, NULL, 0, 1, NULL,
             "user:password"}},
    {.opt = {"bearer_token", HERALD_OPT_STRING, NULL, 0, 1, NULL,
             "bearer token"}},
    {.opt = {"ca_file", HERALD_OPT_STRING, NULL, 0, 0, NULL,
             "CA bundle (default: the system's)"}},
    {.opt = {"cert_file", HERALD_OPT_STRING, NULL, 0, 0, NULL,
             "client certificate (mTLS)"}},
    {.opt = {"key_file", HERALD_OPT_STRING, NULL, 0, 0, NULL,
             "its private key"}},
    {.opt = {"insecure_skip_verify", HERALD_OPT_BOOL, "false", 0, 0, NULL,
             "do not verify the registry's TLS certificate"}},
    {.opt = {"connect_timeout", HERALD_OPT_DURATION, "10s", 0, 0, NULL,
             "connection timeout"}},
    {.opt = {"timeout", HERALD_OPT_DURATION, "30s", 0, 0, NULL,
             "whole request timeout"}},
    {.opt = {"schemas_dir", HERALD_OPT_STRING, NULL, 0, 0, NULL,
             "read DIR/<id>.avsc instead of a registry (relative to this "
             "file)"}},
    {.opt = {"not_found_wait", HERALD_OPT_DURATION, "5m", 0, 0, NULL,
             "how long an unknown schema id is asked for again (0s: not "
             "at all)"},
     .example = "30s, 5m; 0s: a 404 is final at once"},
    {.opt = {"cache_size", HERALD_OPT_INT, "1000", 0, 0, NULL,
             "schemas cached at most"},
     .min = 1,
     .max = REGISTRY_COUNT_MAX},
    {.opt = {"max_fetches", HERALD_OPT_INT, "16", 0, 0, NULL,
             "schemas fetched at once (at most cache_size)"},
     .min = 1,
     .max = REGISTRY_COUNT_MAX},
    HERALD__KEY_END,
};
static const struct herald__section registry_section = {
    "schema_registry", "where Avro schemas come from", registry_keys, NULL};

static const struct herald__key top_keys[] = {
    {.opt = {"kafka", 0, NULL, 0, 0, NULL,
             "librdkafka properties (bootstrap.servers, security.protocol, "
             "...), passed through as they are"},
     .shape = HERALD__SHAPE_PROPERTIES},
    {.opt = {"schema_registry", 0, NULL, 0, 0, NULL,
             "where Avro schemas come from"},
     .shape = HERALD__SHAPE_SECTION,
     .section = &registry_section},
    {.opt = {"channels", 0, NULL, 0, 0, NULL,
             "named notify channels a connector's notify.channel names"},
     .shape = HERALD__SHAPE_INSTANCES},
    {.opt = {"connectors", 0, NULL, 1, 0, NULL,
             "the connectors (a non-empty list)"},
     .shape = HERALD__SHAPE_SECTIONS,
     .section = &herald__connector_section},
    {.opt = {"plugin_path", HERALD_OPT_LIST, NULL, 0, 0, NULL,
             "directories searched for plugins first (relative to this "
             "file)"}},
    {.opt = {"admin", 0, NULL, 0, 0, NULL,
             "the status and metrics endpoint (absent: none)"},
     .shape = HERALD__SHAPE_SECTION,
     .section = &admin_section,
     .example = "admin: { listen: " ADMIN_DEFAULT_LISTEN " }"},
    {.opt = {"log", 0, NULL, 0, 0, NULL, "the log"},
     .shape = HERALD__SHAPE_SECTION,
     .section = &log_section},
    HERALD__KEY_END,
};

const struct herald__section herald__config_section = {
    "", "a herald configuration file", top_keys, &herald__hash_key_section};

void herald__worker_config_check(const struct herald__node *root,
                                 struct herald__diag *d)
{
    herald__section_check_keys(root, &herald__config_section, d);
}

void herald__worker_config_log(const struct herald__node *root,
                               struct herald__diag *d)
{
    const struct herald__node *log = herald__node_get(root, "log");
    enum herald_log_level level;
    const char *v;

    if (!log) {
        return;
    }
    herald__section_check_keys(log, &log_section, d);
    if (herald__section_enum(log, &log_section, "level", &v, d) == 0 &&
        herald__log_parse_level(v, &level) == 0) {
        herald__log_set_level(level);
    }
    if (herald__section_enum(log, &log_section, "format", &v, d) == 0 &&
        strcmp(v, "json") == 0) {
        herald__log_set_format(HERALD__LOG_JSON);
    }
}

int herald__worker_config_admin(const struct herald__node *root,
                                struct herald__admin_listen *at,
                                const struct herald__node **node,
                                struct herald__diag *d)
{
    const struct herald__node *admin = herald__node_get(root, "admin");
    const struct herald__key *k =
        herald__section_key(&herald__config_section, "admin");
    const struct herald__node *ln;
    char err[ADMIN_ERR_LEN];

    if (!admin) {
        return 0;
    }
    if (admin->type != HERALD_NODE_MAP) {
        herald__key_bad_value(k, admin, NULL, d);
        return -1;
    }
    herald__section_check_keys(admin, &admin_section, d);
    ln = herald__node_get(admin, "listen");
    if (ln && ln->type != HERALD_NODE_SCALAR) {
        herald__key_bad_value(herald__section_key(&admin_section, "listen"), ln,
                              "HOST:PORT (e.g. " ADMIN_DEFAULT_LISTEN ")", d);
        return -1;
    }
    if (herald__admin_parse_listen(ln ? ln->scalar : ADMIN_DEFAULT_LISTEN, at,
                                   err, sizeof err) != 0) {
        herald__diag_add(d, ln ? ln : admin, "%s",
                         ln && ln->secret ? "invalid admin listen address "
                                            "(<redacted>)"
                                          : err);
        return -1;
    }
    *node = ln ? ln : admin;
    return 1;
}

/* A number of schema_registry: 1 and *v when given and valid, 0 when
 * absent, -1 with the error in d. */
static int given(const struct herald__node *sr, const char *name, int64_t *v,
                 struct herald__diag *d)
{
    if (!herald__node_get(sr, name)) {
        return 0;
    }
    return herald__section_num(sr, &registry_section, name, v, d) == 0 ? 1 : -1;
}

int herald__worker_config_registry(const struct herald__node *root,
                                   const char *config_dir,
                                   struct herald__registry_config *cfg,
                                   char **dir_out, struct herald__diag *d)
{
    const struct herald__node *sr = herald__node_get(root, "schema_registry");
    const struct herald__section *s = &registry_section;
    const char *dir;
    int64_t v;
    int rc;

    memset(cfg, 0, sizeof *cfg);
    *dir_out = NULL;
    if (!sr) {
        return 0;
    }
    if (sr->type != HERALD_NODE_MAP) {
        herald__key_bad_value(
            herald__section_key(&herald__config_section, "schema_registry"), sr,
            NULL, d);
        return -1;
    }
    herald__section_check_keys(sr, s, d);
    cfg->url = herald__node_str(sr, "url", NULL);
    cfg->basic_auth = herald__node_str(sr, "basic_auth", NULL);
    cfg->bearer = herald__node_str(sr, "bearer_token", NULL);
    cfg->ca_file = herald__node_str(sr, "ca_file", NULL);
    cfg->cert_file = herald__node_str(sr, "cert_file", NULL);
    cfg->key_file = herald__node_str(sr, "key_file", NULL);
    if (herald__section_num(sr, s, "insecure_skip_verify", &v, d) != 0) {
        return -1;
    }
    cfg->insecure = (int)v;
    /* Given values only: an absent one stays 0, the registry's default.
     * not_found_wait 0s: a 404 is final at once (-1 to the registry). */
    if ((rc = given(sr, "connect_timeout", &v, d)) > 0) {
        cfg->connect_timeout_ms = (long)v;
    }
    if (rc >= 0 && (rc = given(sr, "timeout", &v, d)) > 0) {
        cfg->request_timeout_ms = (long)v;
    }
    if (rc >= 0 && (rc = given(sr, "not_found_wait", &v, d)) > 0) {
        cfg->not_found_wait_ms = v > 0 ? (long)v : -1;
    }
    if (rc >= 0 && (rc = given(sr, "cache_size", &v, d)) > 0) {
        cfg->cache_size = (size_t)v;
    }
    if (rc >= 0 && (rc = given(sr, "max_fetches", &v, d)) > 0) {
        cfg->max_fetches = (size_t)v;
    }
    if (rc < 0) {
        return -1;
    }
    dir = herald__node_str(sr, "schemas_dir", NULL);
    if (dir && dir[0] != '/') {
        size_t len = strlen(config_dir) + strlen(dir) + 2;

        *dir_out = malloc(len);
        if (!*dir_out) {
            herald__diag_add(d, sr, "out of memory");
            return -1;
        }
        snprintf(*dir_out, len, "%s/%s", config_dir, dir);
        dir = *dir_out;
    }
    cfg->schemas_dir = dir;
    if (!cfg->url && !cfg->schemas_dir) {
        herald__diag_add(d, sr,
                         "schema_registry needs 'url' or "
                         "'schemas_dir'");
        free(*dir_out);
        *dir_out = NULL;
        return -1;
    }
    return 1;
}

void herald__worker_config_plugin_path(
    const struct herald__node *root,
    void (*fn)(void *ctx, const struct herald__node *dir,
               struct herald__diag *d),
    void *ctx, struct herald__diag *d)
{
    const struct herald__node *pp = herald__node_get(root, "plugin_path");
    const struct herald__key *k =
        herald__section_key(&herald__config_section, "plugin_path");
    const struct herald__node *const *items;
    size_t n;

    if (!pp) {
        return;
    }
    if (pp->type == HERALD_NODE_SCALAR) {
        items = &pp;
        n = 1;
    } else if (pp->type == HERALD_NODE_SEQ) {
        items = (const struct herald__node *const *)pp->items;
        n = pp->n;
    } else {
        herald__key_bad_value(k, pp, "a directory or a list of them", d);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (items[i]->type != HERALD_NODE_SCALAR) {
            herald__key_bad_value(k, items[i], "a directory", d);
        } else if (items[i]->scalar[0]) {
            fn(ctx, items[i], d);
        }
    }
}

void herald__worker_config_sections(const struct herald__node *root,
                                    const struct herald__node **kafka,
                                    const struct herald__node **channels,
                                    const struct herald__node **connectors,
                                    struct herald__diag *d)
{
    const struct herald__section *s = &herald__config_section;

    *kafka = herald__node_get(root, "kafka");
    if (*kafka && (*kafka)->type != HERALD_NODE_MAP) {
        herald__key_bad_value(herald__section_key(s, "kafka"), *kafka,
                              "a map of librdkafka properties", d);
        *kafka = NULL;
    }
    *channels = herald__node_get(root, "channels");
    if (*channels && (*channels)->type != HERALD_NODE_MAP) {
        herald__key_bad_value(herald__section_key(s, "channels"), *channels,
                              "a map of channel names to channel settings", d);
        *channels = NULL;
    }
    *connectors = herald__node_get(root, "connectors");
    if (!*connectors || (*connectors)->type != HERALD_NODE_SEQ ||
        (*connectors)->n == 0) {
        herald__diag_add(d, *connectors ? *connectors : root,
                         "'connectors' must be a non-empty list");
        *connectors = NULL;
    }
}
