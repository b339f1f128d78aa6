/*
 * api.c - the host API table, plugin instances and batches. Outcomes may be
 * reported from any thread: they are queued under a mutex and dispatched on
 * the loop thread by a wakeup, so owners never see concurrency.
 */
#include "api.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http.h"
#include "loader.h"
#include "json_post.h"
#include "log.h"
#include "loop.h"
#include "record.h"

struct completion {
    struct herald_batch *b;
    size_t i;
    enum herald_outcome outcome;
    int64_t retry_after_ms;
    char *reason;
};

static struct {
    pthread_mutex_t mu;
    struct completion *q;
    size_t n, cap;
    /* The array the last drain emptied, for the next one to take: a drain
     * per batch would otherwise allocate a queue each time. */
    struct completion *spare;
    size_t spare_cap;
    struct herald__wakeup *wakeup;
    int draining;
} cq = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Finished batches kept for the next ones (loop thread only, linked by
 * next): a batch per deliver call would otherwise cost two allocations.
 * Not under AddressSanitizer, which must see a use after the last
 * complete(). */
#define BATCH_POOL_MAX 64
static struct herald_batch *batch_pool;
static size_t batch_pool_n;

/* Batches whose instance closed with items outstanding: kept (loop thread
 * only) until herald__api_stop, so a complete() the plugin makes after
 * close is recognised and ignored instead of touching freed memory. */
static struct herald_batch *graveyard;

/* The reason the host gives items outstanding when close returns. */
#define CLOSED_REASON_FMT "plugin %s closed with the item outstanding"

static void host_log(struct herald_instance *inst, enum herald_log_level lv,
                     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void host_log(struct herald_instance *inst, enum herald_log_level lv,
                     const char *fmt, ...)
{
    char msg[2048], fields[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (inst) {
        snprintf(fields, sizeof fields, "plugin=%s instance=%s",
                 inst->def->name, inst->name);
    }
    herald__log(lv, inst ? fields : NULL, "%s", msg);
}

static size_t batch_count(const struct herald_batch *b)
{
    return b->n;
}

static const struct herald_record *batch_record(const struct herald_batch *b,
                                                size_t i)
{
    return i < b->n ? b->items[i].record : NULL;
}

static const struct herald_message *batch_message(const struct herald_batch *b,
                                                  size_t i)
{
    return i < b->n ? b->items[i].message : NULL;
}

static void complete(struct herald_batch *b, size_t i,
                     enum herald_outcome outcome, int64_t retry_after_ms,
                     const char *reason)
{
    char *copy = reason ? strdup(reason) : NULL;
    pthread_mutex_lock(&cq.mu);
    if (cq.n == cq.cap) {
        size_t cap = cq.cap ? cq.cap * 2 : 256;
        struct completion *q = realloc(cq.q, cap * sizeof *q);
        if (!q) {
            /* Out of memory: the item stays in flight; the drain timeout
             * and redelivery after restart cover it. */
            pthread_mutex_unlock(&cq.mu);
            free(copy);
            return;
        }
        cq.q = q;
        cq.cap = cap;
    }
    cq.q[cq.n++] = (struct completion){b, i, outcome, retry_after_ms, copy};
    struct herald__wakeup *w = cq.wakeup;
    pthread_mutex_unlock(&cq.mu);
    if (w) {
        herald__wakeup_signal(w);
    }
}

static void batch_unlink(struct herald_batch *b)
{
    if (b->prev) {
        b->prev->next = b->next;
    } else if (b->inst) {
        b->inst->batches = b->next;
    }
    if (b->next) {
        b->next->prev = b->prev;
    }
    b->prev = b->next = NULL;
}

static void batch_free(struct herald_batch *b)
{
    if (HERALD__RECORD_ASAN || batch_pool_n == BATCH_POOL_MAX) {
        free(b->items);
        free(b);
        return;
    }
    b->next = batch_pool;
    batch_pool = b;
    batch_pool_n++;
}

static void dispatch(struct completion *c)
{
    struct herald_batch *b = c->b;
    if (!b->inst) {
        herald__log(HERALD_LOG_ERROR, NULL,
                    "plugin %s reported item %zu after its close returned; "
                    "ignored (the host had retried it)",
                    b->plugin, c->i);
        return;
    }
    if (c->i >= b->n || b->items[c->i].done) {
        herald__log(HERALD_LOG_ERROR, NULL,
                    "plugin %s reported item %zu twice or out of range; "
                    "ignored",
                    b->inst->def->name, c->i);
        return;
    }
    b->items[c->i].done = 1;
    b->remaining--;
    if (b->inst->in_flight > 0) {
        b->inst->in_flight--;
    }
    if (b->owner) {
        b->on_outcome(b->owner, b, c->i, c->outcome, c->retry_after_ms,
                      c->reason);
    }
    if (b->remaining == 0) {
        batch_unlink(b);
        batch_free(b);
    }
}

void herald__api_drain(void)
{
    if (cq.draining) {
        return; /* an owner called back into us; the outer loop goes on */
    }
    cq.draining = 1;
    for (;;) {
        pthread_mutex_lock(&cq.mu);
        struct completion *q = cq.q;
        size_t n = cq.n, cap = cq.cap;
        if (n == 0) {
            pthread_mutex_unlock(&cq.mu);
            break;
        }
        cq.q = cq.spare;
        cq.cap = cq.spare_cap;
        cq.n = 0;
        cq.spare = NULL;
        cq.spare_cap = 0;
        pthread_mutex_unlock(&cq.mu);
        for (size_t k = 0; k < n; k++) {
            dispatch(&q[k]);
            free(q[k].reason);
        }
        pthread_mutex_lock(&cq.mu);
        if (!cq.spare) {
            cq.spare = q;
            cq.spare_cap = cap;
            q = NULL;
        }
        pthread_mutex_unlock(&cq.mu);
        free(q);
    }
    cq.draining = 0;
}

static void on_wakeup(void *ctx)
{
    (void)ctx;
    herald__api_drain();
}

int herald__api_start(struct herald__loop *loop)
{
    struct herald__wakeup *w = herald__wakeup_new(loop, on_wakeup, NULL);
    if (!w) {
        return -1;
    }
    pthread_mutex_lock(&cq.mu);
    cq.wakeup = w;
    pthread_mutex_unlock(&cq.mu);
    return 0;
}

void herald__api_stop(void)
{
    pthread_mutex_lock(&cq.mu);
    struct herald__wakeup *w = cq.wakeup;
    cq.wakeup = NULL;
    pthread_mutex_unlock(&cq.mu);
    herald__wakeup_destroy(w);
    herald__api_drain();
    while (graveyard) {
        struct herald_batch *b = graveyard;
        graveyard = b->next;
        free(b->items);
        free(b);
    }
    while (batch_pool) {
        struct herald_batch *b = batch_pool;
        batch_pool = b->next;
        free(b->items);
        free(b);
    }
    batch_pool_n = 0;
    pthread_mutex_lock(&cq.mu);
    free(cq.spare);
    cq.spare = NULL;
    cq.spare_cap = 0;
    pthread_mutex_unlock(&cq.mu);
}

static const char *rec_topic(const struct herald_record *r)
{
    return r->topic;
}

static int32_t rec_partition(const struct herald_record *r)
{
    return r->partition;
}

static int64_t rec_offset(const struct herald_record *r)
{
    return r->offset;
}

static int64_t rec_timestamp(const struct herald_record *r)
{
    return r->timestamp;
}

static const void *rec_key(const struct herald_record *r, size_t *len)
{
    if (len) {
        *len = r->key_len;
    }
    return r->key;
}

static const void *rec_value(const struct herald_record *r, size_t *len)
{
    if (len) {
        *len = r->value_len;
    }
    return r->value;
}

static size_t rec_header_count(const struct herald_record *r)
{
    size_t n;

    (void)herald__record_headers(r, &n);
    return n;
}

static int rec_header(const struct herald_record *r, size_t i,
                      const char **name, const void **value, size_t *len)
{
    size_t n;
    const struct herald__header *h = herald__record_headers(r, &n);

    if (i >= n) {
        return -1;
    }
    *name = h[i].name;
    *value = h[i].value;
    *len = h[i].len;
    return 0;
}

static int rec_window(const struct herald_record *r, int64_t *start,
                      int64_t *end)
{
    if (!r->has_window) {
        return 0;
    }
    *start = r->window_start;
    *end = r->window_end;
    return 1;
}

static void counter_add(struct herald_instance *inst, const char *name,
                        int64_t delta)
{
    for (size_t i = 0; i < inst->n_counters; i++) {
        if (strcmp(inst->counters[i].name, name) == 0) {
            inst->counters[i].value += delta;
            return;
        }
    }
    struct herald__counter *c =
        realloc(inst->counters, (inst->n_counters + 1) * sizeof *c);
    if (!c) {
        return;
    }
    inst->counters = c;
    c[inst->n_counters].name = strdup(name);
    c[inst->n_counters].value = delta;
    if (c[inst->n_counters].name) {
        inst->n_counters++;
    }
}

int64_t herald__instance_counter(const struct herald_instance *inst,
                                 const char *name)
{
    for (size_t i = 0; i < inst->n_counters; i++) {
        if (strcmp(inst->counters[i].name, name) == 0) {
            return inst->counters[i].value;
        }
    }
    return 0;
}

static void http_done_adapter(void *ctx, CURL *easy, int result);

struct http_ctx {
    herald_http_done_fn done;
    void *ctx;
};

static void http_done_adapter(void *ctx, CURL *easy, int result)
{
    struct http_ctx hc = *(struct http_ctx *)ctx;
    free(ctx);
    hc.done(hc.ctx, easy, result);
}

static int http_submit(struct herald_instance *inst, void *easy,
                       herald_http_done_fn done, void *ctx)
{
    if (!inst || !inst->http) {
        return -1;
    }
    struct http_ctx *hc = malloc(sizeof *hc);
    if (!hc) {
        return -1;
    }
    hc->done = done;
    hc->ctx = ctx;
    if (herald__http_submit_tagged(inst->http, easy, http_done_adapter, hc,
                                   inst) != 0) {
        free(hc);
        return -1;
    }
    return 0;
}

/* The 1.0 size of struct herald_value (through `count`): what record_field
 * writes, and the least a plugin's out_size may be. */
#define VALUE_SIZE_1_0                                                         \
    (offsetof(struct herald_value, count) +                                    \
     sizeof(((struct herald_value *)0)->count))

/* v into the plugin's out of out_size bytes (at least VALUE_SIZE_1_0): its
 * prefix when the plugin's struct is older, zeroes after it when newer. */
static void value_copy(const struct herald_value *v, struct herald_value *out,
                       size_t out_size)
{
    if (out_size <= sizeof *v) {
        memcpy(out, v, out_size);
    } else {
        memcpy(out, v, sizeof *v);
        memset((char *)out + sizeof *v, 0, out_size - sizeof *v);
    }
}

/* The ABI 1.0 record_field: a 1.0 plugin's struct herald_value ends at
 * count, so exactly that much is written (herald__record_field fills the
 * host's whole struct). On a malformed path out reads MISSING, as in 1.0. */
static int record_field_v1(const struct herald_record *r, const char *path,
                           struct herald_value *out)
{
    struct herald_value v;
    int rc = herald__record_field(r, path, &v);

    memcpy(out, &v, VALUE_SIZE_1_0);
    return rc;
}

static int record_field_v2(const struct herald_record *r, const char *path,
                           struct herald_value *out, size_t out_size)
{
    struct herald_value v;

    if (!out || out_size < VALUE_SIZE_1_0) {
        return -1;
    }
    if (herald__record_field(r, path, &v) != 0) {
        return -1;
    }
    value_copy(&v, out, out_size);
    return 0;
}

/* Node v of a record's tree into out, as value_copy writes it; straight
 * into out when the plugin's struct is the host's (the usual case: the
 * walk calls this per node). */
static void node_out(const struct herald__val *v, struct herald_value *out,
                     size_t out_size)
{
    struct herald_value tmp;

    if (out_size == sizeof *out) {
        herald__val_fill(v, out);
        return;
    }
    herald__val_fill(v, &tmp);
    value_copy(&tmp, out, out_size);
}

/* The node behind a plugin's value if it is a container of type `type`
 * with more than i children and out can take the 1.0 struct; else NULL. */
static const struct herald__val *container(const struct herald_value *v,
                                           enum herald__vtype type, size_t i,
                                           const struct herald_value *out,
                                           size_t out_size)
{
    const struct herald__val *node;

    if (!v || !out || out_size < VALUE_SIZE_1_0) {
        return NULL;
    }
    node = v->node;
    if (!node || node->type != type || i >= node->n) {
        return NULL;
    }
    return node;
}

static int value_member(const struct herald_value *obj, size_t i,
                        const char **name, size_t *name_len,
                        struct herald_value *out, size_t out_size)
{
    const struct herald__val *node =
        container(obj, HERALD__V_OBJ, i, out, out_size);
    const struct herald__member *m;

    if (!node) {
        return -1;
    }
    m = &node->u.members[i];
    if (name) {
        *name = m->name;
    }
    if (name_len) {
        *name_len = m->name_len;
    }
    node_out(&m->val, out, out_size);
    return 0;
}

static int value_item(const struct herald_value *arr, size_t i,
                      struct herald_value *out, size_t out_size)
{
    const struct herald__val *node =
        container(arr, HERALD__V_ARR, i, out, out_size);

    if (!node) {
        return -1;
    }
    node_out(&node->u.items[i], out, out_size);
    return 0;
}

/* The C size opt_get writes for each option type. */
static size_t opt_out_size(enum herald_opt_type t)
{
    switch (t) {
    case HERALD_OPT_STRING:
    case HERALD_OPT_ENUM:
        return sizeof(const char *);
    case HERALD_OPT_INT:
    case HERALD_OPT_DURATION:
    case HERALD_OPT_SIZE:
        return sizeof(int64_t);
    case HERALD_OPT_BOOL:
        return sizeof(int);
    case HERALD_OPT_LIST:
        return sizeof(size_t);
    }
    return 0;
}

/* Log an opt_get misuse once per instance and option name. */
static void opt_complain(struct herald_instance *inst, const char *name,
                         const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void opt_complain(struct herald_instance *inst, const char *name,
                         const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    char **grown;
    char *copy;

    for (size_t i = 0; i < inst->n_opt_warned; i++) {
        if (strcmp(inst->opt_warned[i], name) == 0) {
            return;
        }
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    host_log(inst, HERALD_LOG_ERROR, "%s", msg);
    copy = strdup(name);
    grown = copy ? realloc(inst->opt_warned,
                           (inst->n_opt_warned + 1) * sizeof *grown)
                 : NULL;
    if (!grown) {
        free(copy); /* logged again next time: better than not at all */
        return;
    }
    grown[inst->n_opt_warned++] = copy;
    inst->opt_warned = grown;
}

static int opt_get(struct herald_instance *inst, const char *name,
                   enum herald_opt_type type, void *out, size_t out_size)
{
    const struct herald_option *decl = NULL;
    const struct herald_options *o;
    int unset;

    if (!inst || !name || !out) {
        return -1;
    }
    for (const struct herald_option *t = inst->def->options; t && t->name;
         t++) {
        if (strcmp(t->name, name) == 0) {
            decl = t;
            break;
        }
    }
    if (!decl) {
        opt_complain(inst, name, "option '%s' is not declared by plugin %s",
                     name, inst->def->name);
        return -1;
    }
    if (decl->type != type) {
        opt_complain(inst, name,
                     "option '%s' of plugin %s is declared %s, read as %s",
                     name, inst->def->name, herald__opt_type_name(decl->type),
                     herald__opt_type_name(type));
        return -1;
    }
    if (out_size != opt_out_size(type)) {
        opt_complain(inst, name,
                     "option '%s' of plugin %s is read into %zu bytes, a %s "
                     "takes %zu",
                     name, inst->def->name, out_size,
                     herald__opt_type_name(type), opt_out_size(type));
        return -1;
    }
    o = inst->opts;
    unset = !decl->default_value && !herald__opt_is_set(o, name);
    switch (type) {
    case HERALD_OPT_STRING:
    case HERALD_OPT_ENUM: {
        const char *v = herald__opt_string(o, name);
        memcpy(out, &v, sizeof v);
        break;
    }
    case HERALD_OPT_INT:
    case HERALD_OPT_DURATION:
    case HERALD_OPT_SIZE: {
        int64_t v = herald__opt_int(o, name);
        memcpy(out, &v, sizeof v);
        break;
    }
    case HERALD_OPT_BOOL: {
        int v = herald__opt_bool(o, name);
        memcpy(out, &v, sizeof v);
        break;
    }
    case HERALD_OPT_LIST: {
        size_t v = herald__opt_list_count(o, name);
        memcpy(out, &v, sizeof v);
        break;
    }
    }
    return unset ? 1 : 0;
}

static const struct herald_host_api host_api = {
    .abi_major = HERALD_ABI_MAJOR,
    .abi_minor = HERALD_ABI_MINOR,
    .struct_size = sizeof(struct herald_host_api),
    .log = host_log,
    .opt_string = herald__opt_string,
    .opt_int = herald__opt_int,
    .opt_bool = herald__opt_bool,
    .opt_duration_ms = herald__opt_duration_ms,
    .opt_size = herald__opt_size,
    .opt_list_count = herald__opt_list_count,
    .opt_list_item = herald__opt_list_item,
    .opt_is_set = herald__opt_is_set,
    .batch_count = batch_count,
    .batch_record = batch_record,
    .batch_message = batch_message,
    .complete = complete,
    .record_topic = rec_topic,
    .record_partition = rec_partition,
    .record_offset = rec_offset,
    .record_timestamp = rec_timestamp,
    .record_key = rec_key,
    .record_value = rec_value,
    .record_header_count = rec_header_count,
    .record_header = rec_header,
    .record_window = rec_window,
    .record_field = record_field_v1,
    .record_json = herald__record_json,
    .counter_add = counter_add,
    .http_submit = http_submit,
    .transfer_submit = http_submit,
    .opt_get = opt_get,
    .record_field_v2 = record_field_v2,
    .json_post_new = herald__json_post_new,
    .json_post_send = herald__json_post_send,
    .json_post_destroy = herald__json_post_destroy,
    .value_member = value_member,
    .value_item = value_item,
};

const struct herald_host_api *herald__host_api(void)
{
    return &host_api;
}

static struct herald__http *instance_http(const struct herald_instance *inst)
{
    return inst->http;
}

struct herald_instance *herald__instance_new(const char *name,
                                             const struct herald_plugin *def,
                                             const char *plugin_path,
                                             struct herald_options *opts,
                                             struct herald__http *http)
{
    static const struct herald__json_post_host json_post_host = {&host_api,
                                                                 instance_http};
    static int json_post_bound;
    if (!json_post_bound) {
        /* Instances are created on the loop thread before any runs. */
        herald__json_post_bind(&json_post_host);
        json_post_bound = 1;
    }
    struct herald_instance *inst = calloc(1, sizeof *inst);
    if (!inst) {
        herald__options_destroy(opts);
        return NULL;
    }
    inst->name = strdup(name);
    inst->def = def;
    inst->plugin_path = plugin_path;
    inst->opts = opts;
    inst->http = http;
    return inst;
}

int herald__instance_open(struct herald_instance *inst, char *err,
                          size_t errlen)
{
    char perr[512] = "";
    int rc = inst->def->open2
                 ? inst->def->open2(&host_api, inst, inst->opts, &inst->state,
                                    perr, sizeof perr)
                 : inst->def->open(inst, inst->opts, &inst->state, perr,
                                   sizeof perr);
    if (rc != 0) {
        snprintf(err, errlen, "%s: plugin %s (%s): open failed: %s", inst->name,
                 inst->def->name, inst->plugin_path,
                 perr[0] ? perr : "no reason given");
        return -1;
    }
    inst->opened = 1;
    return 0;
}

void herald__instance_destroy(struct herald_instance *inst)
{
    if (!inst) {
        return;
    }
    if (inst->http) {
        herald__http_abort_tag(inst->http, inst);
    }
    if (inst->opened) {
        inst->def->close(inst->state);
    }
    /* What the plugin completed until close returned counts... */
    herald__api_drain();
    /* ...and the rest is retried: the close rule of plugin.h. */
    size_t left = 0;
    char reason[256];
    snprintf(reason, sizeof reason, CLOSED_REASON_FMT, inst->def->name);
    while (inst->batches) {
        struct herald_batch *b = inst->batches;
        batch_unlink(b);
        for (size_t i = 0; i < b->n; i++) {
            if (b->items[i].done) {
                continue;
            }
            b->items[i].done = 1;
            b->remaining--;
            left++;
            if (b->owner) {
                b->on_outcome(b->owner, b, i, HERALD_RETRY, 0, reason);
            }
        }
        b->inst = NULL;
        b->next = graveyard;
        graveyard = b;
    }
    if (left > 0) {
        host_log(inst, HERALD_LOG_WARN,
                 "close returned with %zu item(s) outstanding; they are "
                 "retried",
                 left);
    }
    for (size_t i = 0; i < inst->n_opt_warned; i++) {
        free(inst->opt_warned[i]);
    }
    free(inst->opt_warned);
    for (size_t i = 0; i < inst->n_counters; i++) {
        free(inst->counters[i].name);
    }
    free(inst->counters);
    herald__options_destroy(inst->opts);
    free(inst->name);
    free(inst);
}

struct herald_batch *herald__batch_new(struct herald_instance *inst,
                                       void *owner, herald__outcome_fn fn,
                                       size_t n)
{
    size_t cap = n ? n : 1;
    struct herald_batch *b = batch_pool;
    if (b) {
        batch_pool = b->next;
        batch_pool_n--;
        if (b->cap < cap) {
            struct herald__item *items = realloc(b->items, cap * sizeof *items);
            if (!items) {
                batch_free(b);
                return NULL;
            }
            b->items = items;
            b->cap = cap;
        }
        struct herald__item *items = b->items;
        size_t had = b->cap;
        memset(b, 0, sizeof *b);
        memset(items, 0, n * sizeof *items);
        b->items = items;
        b->cap = had;
    } else {
        b = calloc(1, sizeof *b);
        if (!b) {
            return NULL;
        }
        b->items = calloc(cap, sizeof *b->items);
        if (!b->items) {
            free(b);
            return NULL;
        }
        b->cap = cap;
    }
    b->inst = inst;
    b->owner = owner;
    b->on_outcome = fn;
    b->n = n;
    b->remaining = n;
    b->plugin = inst->def->name;
    b->next = inst->batches;
    if (b->next) {
        b->next->prev = b;
    }
    inst->batches = b;
    return b;
}

void herald__instance_forget_owner(struct herald_instance *inst,
                                   const void *owner)
{
    if (!inst) {
        return;
    }
    for (struct herald_batch *b = inst->batches; b; b = b->next) {
        if (b->owner == owner) {
            b->owner = NULL;
        }
    }
}

void herald__batch_deliver(struct herald_batch *b)
{
    struct herald_instance *inst = b->inst;
    size_t n = b->n;
    inst->in_flight += n;
    if (inst->def->deliver(inst->state, b) != 0) {
        for (size_t i = 0; i < n; i++) {
            complete(b, i, HERALD_RETRY, 0, "plugin could not start delivery");
        }
    }
}
