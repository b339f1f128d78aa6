/*
 * worker.c - the process: config -> plugins, registry, channels,
 * connectors; one loop; SIGINT/SIGTERM start a graceful stop, a second one
 * stops at once.
 */
#include "worker.h"

#include <libgen.h>
#include <stdarg.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "api.h"
#include "config.h"
#include "connector.h"
#include "hmac.h"
#include "http.h"
#include "loader.h"
#include "log.h"
#include "loop.h"
#include "registry.h"
#include "worker_config.h"

struct channel {
    char *name;
    struct herald_instance *inst;
};

struct herald__worker {
    struct herald__worker_opts opts;
    struct herald__node *root;
    struct herald__node *overrides; /* demo's bootstrap override */
    /* The file's kafka: map with the override's pairs in front, its
     * arrays owned, its nodes borrowed from root and overrides. */
    struct herald__node kafka_merged;
    char *config_dir;
    struct herald__loop *loop;
    struct herald__http *http;
    struct herald__loader *loader;
    struct herald__registry *registry;
    struct herald__connector_env env;
    struct channel *channels;
    size_t n_channels;
    struct herald_instance **sinks;
    size_t n_sinks;
    struct herald__connector **connectors;
    size_t n_connectors;
    size_t running;
    int failed;
    int signals;
    /* admin endpoint: configured (has_admin), listening (admin) */
    int has_admin;
    FILE *errs; /* check mode: where notes go */
    struct herald__admin_listen admin_at;
    const struct herald__node *admin_node;
    struct herald__admin *admin;
    struct herald__hash_key *hash_key; /* top-level hash_key, may be NULL */
};

/* A risk in the configuration that is not an error: `herald check` prints
 * it as a note, `herald run` logs a warning; both at the node's position. */
static void concern(const struct herald__worker *w,
                    const struct herald__node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void concern(const struct herald__worker *w,
                    const struct herald__node *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (w->opts.mode == HERALD__MODE_CHECK) {
        fprintf(w->errs, "note: %s:%d:%d: %s\n", at->file, at->line, at->col,
                msg);
    } else {
        herald__warn("%s:%d:%d: %s", at->file, at->line, at->col, msg);
    }
}

/* 1 if url is plain http:// and carries userinfo (user:password@). */
static int http_url(const char *url, int *userinfo)
{
    static const char scheme[] = "http://";
    size_t n = sizeof scheme - 1;

    *userinfo = 0;
    if (!url || strncasecmp(url, scheme, n) != 0) {
        return 0;
    }
    const char *at = strchr(url + n, '@');
    const char *end = strpbrk(url + n, "/?#");
    *userinfo = at && (!end || at < end);
    return 1;
}

/* Warn about credentials that plain http:// would carry in clear, and
 * about turning TLS verification off. */
static void check_registry_transport(const struct herald__worker *w,
                                     const struct herald__node *sr)
{
    const struct herald__node *url = herald__node_get(sr, "url");
    const struct herald__node *insecure =
        herald__node_get(sr, "insecure_skip_verify");
    static const char *const creds[] = {"basic_auth", "bearer_token", NULL};
    int userinfo;

    if (url && url->type == HERALD_NODE_SCALAR &&
        http_url(url->scalar, &userinfo)) {
        const char *what = userinfo ? "the URL's userinfo" : NULL;
        for (size_t i = 0; !what && creds[i]; i++) {
            if (herald__node_get(sr, creds[i])) {
                what = creds[i];
            }
        }
        if (what) {
            concern(w, url,
                    "schema_registry url is http://: %s would cross the "
                    "network in clear (use https://)",
                    what);
        }
    }
    if (insecure && insecure->type == HERALD_NODE_SCALAR &&
        strcmp(insecure->scalar, "true") == 0) {
        concern(w, insecure,
                "schema_registry insecure_skip_verify is on: the registry's "
                "TLS certificate is not verified, so anyone on the path can "
                "serve schemas and read its credentials");
    }
}

/* The same for a plugin instance: any http:// URL among its options while
 * it carries a credential (a secret option that is set, or the URL's own
 * userinfo), e.g. SendGrid's base_url with its api_key. */
static void check_instance_transport(const struct herald__worker *w,
                                     const char *name,
                                     const struct herald__node *map,
                                     const struct herald_plugin *def,
                                     const struct herald_options *opts)
{
    const char *secret = NULL;

    for (const struct herald_option *o = def->options; o && o->name; o++) {
        if (o->secret && herald__opt_is_set(opts, o->name)) {
            secret = o->name;
            break;
        }
    }
    for (size_t i = 0; i < map->n; i++) {
        const struct herald__node *v = map->items[i];
        int userinfo;

        if (v->type != HERALD_NODE_SCALAR || !http_url(v->scalar, &userinfo) ||
            (!userinfo && !secret)) {
            continue;
        }
        concern(w, v,
                "'%s' %s is http://: %s would cross the network in clear "
                "(use https://)",
                name, map->keys[i], userinfo ? "the URL's userinfo" : secret);
    }
}

/* path if absolute, else the config file's directory joined with it, made
 * absolute (the directory as the process saw it at startup), so that no
 * path in YAML depends on the working directory. NULL on ENOMEM or if the
 * directory cannot be resolved. Caller frees. */
static char *config_relative(const struct herald__worker *w, const char *path)
{
    char *base;
    char *out = NULL;

    if (path[0] == '/') {
        return strdup(path);
    }
    base = realpath(w->config_dir, NULL);
    if (!base) {
        return NULL;
    }
    if (asprintf(&out, "%s/%s", base, path) < 0) {
        out = NULL;
    }
    free(base);
    return out;
}

/* One `plugin_path:` entry, resolved against the config file's directory. */
static void add_plugin_dir(void *ctx, const struct herald__node *n,
                           struct herald__diag *d)
{
    struct herald__worker *w = ctx;
    char *dir = config_relative(w, n->scalar);

    if (!dir || herald__loader_add_path(w->loader, dir) != 0) {
        herald__diag_add(d, n, "cannot resolve plugin directory '%s'",
                         n->scalar);
    }
    free(dir);
}

/* Build an instance of the plugin named in map's `plugin:` key, with the
 * rest of the map as its options. */
static struct herald_instance *make_instance(struct herald__worker *w,
                                             const char *name,
                                             const struct herald__node *map,
                                             int kind, struct herald__diag *d)
{
    if (!map || map->type != HERALD_NODE_MAP) {
        herald__diag_add(d, map, "'%s' must be a map with a 'plugin' key",
                         name);
        return NULL;
    }
    const struct herald__node *pn = herald__node_get(map, "plugin");
    if (!pn || pn->type != HERALD_NODE_SCALAR) {
        herald__diag_add(d, map, "'%s' needs 'plugin: NAME'", name);
        return NULL;
    }
    char err[1024];
    /* A path ("dir/x.so") is relative to the config file, like every path
     * in it; a bare name is searched for. */
    char *path = strchr(pn->scalar, '/') && pn->scalar[0] != '/'
                     ? config_relative(w, pn->scalar)
                     : NULL;
    const struct herald__plugin_handle *h = herald__loader_load(
        w->loader, path ? path : pn->scalar, err, sizeof err);
    free(path);
    if (!h) {
        herald__diag_add(d, pn, "%s", err);
        return NULL;
    }
    if ((int)h->def.kind != kind) {
        herald__diag_add(
            d, pn, "plugin '%s' is a %s plugin; '%s' needs a %s plugin",
            h->def.name, herald__plugin_kind_name(h->def.kind), name,
            herald__plugin_kind_name((enum herald_plugin_kind)kind));
        return NULL;
    }
    static const char *const skip[] = {"plugin", NULL};
    struct herald_options *opts =
        herald__options_new(map, h->def.options, skip, d);
    if (!opts) {
        return NULL;
    }
    check_instance_transport(w, name, map, &h->def, opts);
    struct herald_instance *inst =
        herald__instance_new(name, &h->def, h->path, opts, w->http);
    if (!inst) {
        return NULL;
    }
    if (herald__instance_open(inst, err, sizeof err) != 0) {
        herald__diag_add(d, map, "%s", err);
        herald__instance_destroy(inst);
        return NULL;
    }
    return inst;
}

static struct herald_instance *env_instance(void *ctx, const char *name,
                                            const struct herald__node *at,
                                            int kind, struct herald__diag *d)
{
    struct herald__worker *w = ctx;
    if (kind == HERALD_PLUGIN_SINK) {
        struct herald_instance *inst = make_instance(w, name, at, kind, d);
        struct herald_instance **grown =
            inst ? realloc(w->sinks, (w->n_sinks + 1) * sizeof *w->sinks)
                 : NULL;
        if (inst && !grown) {
            herald__diag_add(d, at, "out of memory");
            herald__instance_destroy(inst);
            return NULL;
        }
        if (inst) {
            w->sinks = grown;
            w->sinks[w->n_sinks++] = inst;
        }
        return inst;
    }
    /* notify: `name` is a channel; one instance per channel, shared. A
     * channel that failed is kept with a NULL instance: its errors were
     * reported once, not again for each connector that names it nor by
     * the validation of every channel below. */
    for (size_t i = 0; i < w->n_channels; i++) {
        if (strcmp(w->channels[i].name, name) == 0) {
            return w->channels[i].inst;
        }
    }
    const struct herald__node *chs = herald__node_get(w->root, "channels");
    const struct herald__node *ch = chs ? herald__node_get(chs, name) : NULL;
    if (!ch) {
        herald__diag_add(d, at,
                         "unknown channel '%s' (define it under "
                         "'channels:')",
                         name);
        return NULL;
    }
    struct herald_instance *inst = make_instance(w, name, ch, kind, d);
    struct channel *grown =
        realloc(w->channels, (w->n_channels + 1) * sizeof *w->channels);
    char *copy = strdup(name);
    if (grown) {
        w->channels = grown;
    }
    if (!grown || !copy) {
        free(copy);
        herald__instance_destroy(inst);
        herald__diag_add(d, at, "out of memory");
        return NULL;
    }
    w->channels[w->n_channels].name = copy;
    w->channels[w->n_channels].inst = inst;
    w->n_channels++;
    return inst;
}

/* The demo's override merged over the file's kafka: map into *out (a MAP
 * whose arrays the caller frees and whose nodes stay owned by the two
 * trees): the override's pairs, then the file's pairs the override does
 * not name. file may be NULL. Returns 0, or -1 when memory ran out. */
static int merge_kafka(struct herald__node *out,
                       const struct herald__node *over,
                       const struct herald__node *file)
{
    size_t n = over->n + (file && file->type == HERALD_NODE_MAP ? file->n : 0);
    size_t k = 0;

    *out = *over;
    out->keys = calloc(n ? n : 1, sizeof *out->keys);
    out->key_nodes = calloc(n ? n : 1, sizeof *out->key_nodes);
    out->items = calloc(n ? n : 1, sizeof *out->items);
    if (!out->keys || !out->key_nodes || !out->items) {
        free(out->keys);
        free(out->key_nodes);
        free(out->items);
        memset(out, 0, sizeof *out);
        return -1;
    }
    for (size_t i = 0; i < over->n; i++, k++) {
        out->keys[k] = over->keys[i];
        out->key_nodes[k] = over->key_nodes[i];
        out->items[k] = over->items[i];
    }
    for (size_t i = 0; file && file->type == HERALD_NODE_MAP && i < file->n;
         i++) {
        if (herald__node_get(over, file->keys[i])) {
            continue;
        }
        out->keys[k] = file->keys[i];
        out->key_nodes[k] = file->key_nodes[i];
        out->items[k] = file->items[i];
        k++;
    }
    out->n = k;
    return 0;
}

static void on_stopped(void *ctx, struct herald__connector *c, int failed)
{
    struct herald__worker *w = ctx;
    herald__log(HERALD_LOG_INFO, NULL, "connector %s stopped%s",
                herald__connector_name(c), failed ? " on error" : "");
    if (failed) {
        w->failed = 1;
    }
    if (w->running > 0) {
        w->running--;
    }
    if (w->running == 0) {
        herald__loop_stop(w->loop);
    }
}

static void on_signal(void *ctx, int signum)
{
    struct herald__worker *w = ctx;
    w->signals++;
    herald__log(HERALD_LOG_INFO, NULL, "signal %d: %s", signum,
                w->signals == 1 ? "stopping gracefully" : "stopping at once");
    for (size_t i = 0; i < w->n_connectors; i++) {
        herald__connector_stop(w->connectors[i]);
    }
}

static int setup_registry(struct herald__worker *w, struct herald__diag *d)
{
    const struct herald__node *sr =
        herald__node_get(w->root, "schema_registry");
    struct herald__registry_config cfg;
    char *abs = NULL;
    char err[512];
    int rc =
        herald__worker_config_registry(w->root, w->config_dir, &cfg, &abs, d);

    if (sr && sr->type == HERALD_NODE_MAP) {
        check_registry_transport(w, sr);
    }
    if (rc <= 0) {
        return rc;
    }
    w->registry = herald__registry_new(&cfg, w->loop, w->http, err, sizeof err);
    free(abs);
    if (!w->registry) {
        herald__diag_add(d, sr, "%s", err);
        return -1;
    }
    return 0;
}

/* admin: { listen: HOST:PORT }. Absent: no endpoint. Present without
 * listen: the design's 127.0.0.1:8093. Only validated here; run mode
 * listens once everything else loaded (start_admin). */
static void setup_admin(struct herald__worker *w, struct herald__diag *d)
{
    w->has_admin = herald__worker_config_admin(w->root, &w->admin_at,
                                               &w->admin_node, d) > 0;
}

static int admin_snapshot(void *ctx, struct herald__admin_snapshot *out)
{
    struct herald__worker *w = ctx;
    struct herald__connector_status *cs =
        calloc(w->n_connectors + 1, sizeof *cs);
    const struct herald_instance **insts =
        calloc(w->n_channels + w->n_sinks + 1, sizeof *insts);
    memset(out, 0, sizeof *out);
    out->connectors = cs;
    out->instances = insts;
    if (!cs || !insts) {
        return -1;
    }
    for (size_t i = 0; i < w->n_connectors; i++) {
        if (herald__connector_status(w->connectors[i], &cs[i]) != 0) {
            out->n_connectors = i + 1;
            return -1;
        }
    }
    out->n_connectors = w->n_connectors;
    for (size_t i = 0; i < w->n_channels; i++) {
        if (w->channels[i].inst) {
            insts[out->n_instances++] = w->channels[i].inst;
        }
    }
    for (size_t i = 0; i < w->n_sinks; i++) {
        insts[out->n_instances++] = w->sinks[i];
    }
    return 0;
}

static void admin_release(void *ctx, struct herald__admin_snapshot *snap)
{
    (void)ctx;
    struct herald__connector_status *cs =
        (struct herald__connector_status *)snap->connectors;
    for (size_t i = 0; i < snap->n_connectors; i++) {
        herald__connector_status_cleanup(&cs[i]);
    }
    free(cs);
    free((void *)snap->instances);
}

/* Listen (run mode). A failure to bind is a config error at `listen:`. */
static void start_admin(struct herald__worker *w, struct herald__diag *d)
{
    static const struct herald__admin_source src = {.snapshot = admin_snapshot,
                                                    .release = admin_release};
    struct herald__admin_source s = src;
    char err[256];
    s.ctx = w;
    w->admin = herald__admin_new(w->loop, &w->admin_at, &s, err, sizeof err);
    if (!w->admin) {
        herald__diag_add(d, w->admin_node, "%s", err);
        return;
    }
    herald__info("admin: listening on %s", herald__admin_address(w->admin));
    if (!w->admin_at.loopback) {
        herald__warn("admin: %s is not a loopback address and the endpoint "
                     "has no authentication: whoever reaches it reads "
                     "connector status and metrics",
                     herald__admin_address(w->admin));
    }
}

static void setup_log(struct herald__worker *w, struct herald__diag *d)
{
    enum herald_log_level level;

    herald__worker_config_log(w->root, d);
    if (w->opts.log_level &&
        herald__log_parse_level(w->opts.log_level, &level) == 0) {
        herald__log_set_level(level);
    }
}

struct herald__worker *herald__worker_new(const struct herald__worker_opts *o,
                                          FILE *errs)
{
    struct herald__worker *w = calloc(1, sizeof *w);
    struct herald__diag d;
    herald__diag_init(&d);
    if (!w) {
        return NULL;
    }
    w->opts = *o;
    w->errs = errs;
    char *tmp = strdup(o->config_path);
    w->config_dir = tmp ? strdup(dirname(tmp)) : NULL;
    free(tmp);
    w->loop = herald__loop_new();
    w->http = w->loop ? herald__http_new(w->loop) : NULL;
    w->loader = herald__loader_new(herald__host_api());
    if (!w->config_dir || !w->loop || !w->http || !w->loader ||
        herald__api_start(w->loop) != 0) {
        herald__diag_add(&d, NULL, "out of memory");
        goto fail;
    }

    w->root = herald__config_load_file(o->config_path, &d);
    if (!w->root) {
        goto fail;
    }
    if (w->root->type != HERALD_NODE_MAP) {
        herald__diag_add(&d, w->root, "the config must be a map");
        goto fail;
    }
    herald__worker_config_check(w->root, &d);
    setup_log(w, &d);
    setup_admin(w, &d);

    herald__worker_config_plugin_path(w->root, add_plugin_dir, w, &d);
    for (size_t i = 0; i < herald__loader_note_count(w->loader); i++) {
        if (o->mode == HERALD__MODE_CHECK) {
            fprintf(errs, "note: %s\n", herald__loader_note_at(w->loader, i));
        } else {
            herald__warn("%s", herald__loader_note_at(w->loader, i));
        }
    }
    setup_registry(w, &d);
    w->hash_key =
        herald__hash_key_new(herald__node_get(w->root, "hash_key"), &d);

    const struct herald__node *kafka, *chs, *cons;
    herald__worker_config_sections(w->root, &kafka, &chs, &cons, &d);
    if (o->bootstrap_override) {
        char text[512];
        snprintf(text, sizeof text, "bootstrap.servers: \"%s\"\n",
                 o->bootstrap_override);
        w->overrides =
            herald__config_load_string("<demo>", text, strlen(text), &d);
        if (w->overrides &&
            merge_kafka(&w->kafka_merged, w->overrides, kafka) == 0) {
            kafka = &w->kafka_merged;
        } else {
            herald__diag_add(&d, NULL,
                             "out of memory merging the kafka: settings");
        }
    }
    w->env = (struct herald__connector_env){
        .loop = w->loop,
        .http = w->http,
        .registry = w->registry,
        .kafka = kafka,
        .channels = chs,
        .config_dir = w->config_dir,
        .hash_key = w->hash_key,
        .instance = env_instance,
        .ctx = w,
        .on_stopped = on_stopped,
        .tail = o->mode == HERALD__MODE_TAIL,
        .hooks = o->hooks,
    };

    if (cons) {
        w->connectors = calloc(cons->n ? cons->n : 1, sizeof *w->connectors);
        if (!w->connectors) {
            herald__diag_add(&d, cons, "out of memory");
        }
        for (size_t i = 0; w->connectors && i < cons->n; i++) {
            const struct herald__node *cn = cons->items[i];
            if (o->only_connector && strcmp(herald__node_str(cn, "name", ""),
                                            o->only_connector) != 0) {
                continue;
            }
            struct herald__connector *c =
                herald__connector_new(&w->env, cn, &d);
            if (c) {
                w->connectors[w->n_connectors++] = c;
            }
        }
        if (o->only_connector && w->n_connectors == 0 && d.n == 0) {
            herald__diag_add(&d, cons, "no connector named '%s'",
                             o->only_connector);
        }
    }
    /* Every channel is validated, also those no connector uses yet. */
    for (size_t i = 0; chs && chs->type == HERALD_NODE_MAP && i < chs->n; i++) {
        if (o->mode != HERALD__MODE_TAIL) {
            env_instance(w, chs->keys[i], chs->key_nodes[i],
                         HERALD_PLUGIN_NOTIFY, &d);
        }
    }
    if (d.n == 0 && o->mode == HERALD__MODE_CHECK) {
        for (size_t i = 0; i < w->n_connectors; i++) {
            herald__connector_check_remote(w->connectors[i], &d, errs);
        }
    }
    if (d.n == 0 && o->mode == HERALD__MODE_RUN && w->has_admin) {
        start_admin(w, &d);
    }
    if (d.n == 0 && o->mode == HERALD__MODE_CHECK && w->has_admin &&
        !w->admin_at.loopback) {
        fprintf(errs,
                "note: %s:%d:%d: admin listens on a non-loopback address "
                "and has no authentication\n",
                w->admin_node->file, w->admin_node->line, w->admin_node->col);
    }
    if (d.n > 0) {
        goto fail;
    }
    herald__diag_cleanup(&d);
    return w;

fail:
    for (size_t i = 0; i < d.n; i++) {
        fprintf(errs, "%s\n", d.msgs[i]);
    }
    herald__diag_cleanup(&d);
    herald__worker_destroy(w);
    return NULL;
}

static void write_file(void *ctx, const char *s, size_t len)
{
    fwrite(s, 1, len, ctx);
}

void herald__worker_print_config(const struct herald__worker *w, FILE *out)
{
    herald__config_print_redacted(w->root, write_file, out);
}

int herald__worker_run(struct herald__worker *w)
{
    herald__loop_on_signals(w->loop, on_signal, w);
    for (size_t i = 0; i < w->n_connectors; i++) {
        char err[1024];
        if (herald__connector_start(w->connectors[i], err, sizeof err) != 0) {
            herald__log(HERALD_LOG_ERROR, NULL, "connector %s: %s",
                        herald__connector_name(w->connectors[i]), err);
            w->failed = 1;
            for (size_t k = 0; k < i; k++) {
                herald__connector_stop(w->connectors[k]);
            }
            break;
        }
        w->running++;
    }
    if (w->running > 0) {
        herald__loop_run(w->loop);
    }
    return w->failed ? 3 : 0;
}

void herald__worker_stats(const struct herald__worker *w,
                          struct herald__connector_stats *sum)
{
    memset(sum, 0, sizeof *sum);
    for (size_t i = 0; i < w->n_connectors; i++) {
        struct herald__connector_stats s;
        herald__connector_stats(w->connectors[i], &s);
        sum->consumed += s.consumed;
        sum->delivered_ok += s.delivered_ok;
        sum->rejected += s.rejected;
        sum->retried += s.retried;
        sum->poison += s.poison;
        sum->deduped += s.deduped;
    }
}

void herald__worker_each_marks_topic(const struct herald__worker *w,
                                     void (*fn)(const char *topic, void *ctx),
                                     void *ctx)
{
    for (size_t i = 0; i < w->n_connectors; i++) {
        const char *t = herald__connector_marks_topic(w->connectors[i]);
        if (t) {
            fn(t, ctx);
        }
    }
}

void herald__worker_destroy(struct herald__worker *w)
{
    if (!w) {
        return;
    }
    herald__admin_destroy(w->admin);
    /* The lifecycle rule (worker.h): every completion reaches a connector
     * that is alive. Completions queued so far are dispatched, then each
     * instance is closed, which reports every item it still holds (the
     * close rule of plugin.h), and only then are the connectors, which
     * own those items' records, freed. */
    herald__api_drain();
    for (size_t i = 0; i < w->n_channels; i++) {
        herald__instance_destroy(w->channels[i].inst);
        free(w->channels[i].name);
    }
    free(w->channels);
    for (size_t i = 0; i < w->n_sinks; i++) {
        herald__instance_destroy(w->sinks[i]);
    }
    free(w->sinks);
    for (size_t i = 0; i < w->n_connectors; i++) {
        herald__connector_destroy(w->connectors[i]);
    }
    free(w->connectors);
    herald__api_drain();
    herald__registry_destroy(w->registry);
    herald__http_destroy(w->http);
    herald__api_stop();
    herald__loader_destroy(w->loader);
    herald__loop_destroy(w->loop);
    herald__config_destroy(w->root);
    herald__config_destroy(w->overrides);
    free(w->kafka_merged.keys);
    free(w->kafka_merged.key_nodes);
    free(w->kafka_merged.items);
    herald__hash_key_destroy(w->hash_key);
    free(w->config_dir);
    free(w);
}
