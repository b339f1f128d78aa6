/*
 * dedup.c - marks of notified dedup keys: an in-memory table filled from
 * and written to a compacted Kafka topic (see dedup.h). Reading marks back
 * uses the Kafka module's marks reader (kafka.h), assigned the marks
 * partitions being read back and polled from the loop
 * (herald__dedup_poll), never blocking it; writing goes through the
 * connector's producer.
 */
#include "dedup.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hmac.h"
#include "kafka.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "record.h"
#include "template.h"

struct entry {
    char *key;
    int64_t ts;  /* mark time (ms); 0 while pending */
    int pending; /* a notification with this key is in flight */
    struct entry *next;
};

/* A marks partition being read back: done at its end (partition EOF, also
 * for an empty partition); started over after LOAD_TIMEOUT_MS without
 * progress. */
struct load {
    int32_t partition;
    int64_t deadline_ms; /* monotonic */
    size_t marks;
    size_t old_marks; /* not a keyed hash: written before hash_key */
};

#define LOAD_TIMEOUT_MS 15000
/* Expired entries are swept every ttl / SWEEP_PER_TTL, within these
 * bounds: keys that never come back (topic-partition-offset keys, windows
 * long gone) leave memory about a quarter TTL after they expire. */
#define SWEEP_PER_TTL 4
#define SWEEP_MIN_MS 100
#define SWEEP_MAX_MS 60000
/* Default marks TTL: 7 days. */
#define DEFAULT_TTL_MS (7LL * 24 * 3600 * 1000)
/* Room for "herald-dedup-" beyond the group id. */
#define TOPIC_PREFIX_ROOM 16
#define ERR_MAX 512

struct herald__dedup {
    int active;
    int use_message_key; /* the key is the message's idempotency key */
    struct herald__template *key;
    char *topic;
    int64_t ttl_ms;
    struct entry **buckets;
    size_t n_buckets, n;
    struct herald__kafka_marks *reader;
    int32_t *loaded; /* marks partitions read back */
    size_t n_loaded;
    struct load *loads; /* marks partitions being read back */
    size_t n_loads;
    const struct herald__hash_key *hash_key; /* borrowed from the worker */
    struct herald__timer *sweep;             /* NULL without a loop */
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return h;
}

static struct entry *find(const struct herald__dedup *dd, const char *key)
{
    if (!dd->n_buckets) {
        return NULL;
    }
    for (struct entry *e = dd->buckets[hash(key) % dd->n_buckets]; e;
         e = e->next) {
        if (strcmp(e->key, key) == 0) {
            return e;
        }
    }
    return NULL;
}

static void grow(struct herald__dedup *dd)
{
    size_t nb = dd->n_buckets ? dd->n_buckets * 2 : 1024;
    struct entry **b = calloc(nb, sizeof *b);
    if (!b) {
        return; /* keep the old table: longer chains, still correct */
    }
    for (size_t i = 0; i < dd->n_buckets; i++) {
        for (struct entry *e = dd->buckets[i], *next; e; e = next) {
            next = e->next;
            size_t k = hash(e->key) % nb;
            e->next = b[k];
            b[k] = e;
        }
    }
    free(dd->buckets);
    dd->buckets = b;
    dd->n_buckets = nb;
}

static struct entry *upsert(struct herald__dedup *dd, const char *key)
{
    struct entry *e = find(dd, key);
    if (e) {
        return e;
    }
    if (dd->n >= dd->n_buckets) {
        grow(dd);
    }
    if (!dd->n_buckets) {
        return NULL;
    }
    e = calloc(1, sizeof *e);
    if (!e || !(e->key = strdup(key))) {
        free(e);
        return NULL;
    }
    size_t k = hash(key) % dd->n_buckets;
    e->next = dd->buckets[k];
    dd->buckets[k] = e;
    dd->n++;
    return e;
}

static void remove_key(struct herald__dedup *dd, const char *key)
{
    if (!dd->n_buckets) {
        return;
    }
    struct entry **pp = &dd->buckets[hash(key) % dd->n_buckets];
    for (; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->key, key) == 0) {
            struct entry *e = *pp;
            *pp = e->next;
            free(e->key);
            free(e);
            dd->n--;
            return;
        }
    }
}

static void on_sweep(void *ctx);

static const char *const policy_values[] = {"first", "every", NULL};

static const struct herald__key dedup_keys[] = {
    {.opt = {"key", HERALD_OPT_STRING, NULL, 0, 0, NULL,
             "template of the dedup key (default: the record key and window "
             "start; a notify connector: its idempotency key)"}},
    {.opt = {"topic", HERALD_OPT_STRING, NULL, 0, 0, NULL,
             "compacted topic of the dedup marks (default: "
             "herald-dedup-<group_id>)"},
     .min = 1},
    {.opt = {"ttl", HERALD_OPT_DURATION, "7d", 0, 0, NULL,
             "how long a mark is remembered"},
     .min = 1,
     .example = "12h, 7d"},
    {.opt = {"policy", HERALD_OPT_ENUM, "first", 0, 0, policy_values,
             "first: one delivery per dedup key; every: no dedup"}},
    HERALD__KEY_END,
};

const struct herald__section herald__dedup_section = {
    "dedup", "one delivery per dedup key, across restarts", dedup_keys, NULL};

/* `dedup:` itself, for the error of one that is not a map (the
 * connector's table describes it; its value is this section). */
static const struct herald__key dedup_key = {
    .opt = {"dedup", 0, NULL, 0, 0, NULL, NULL},
    .shape = HERALD__SHAPE_SECTION,
    .section = &herald__dedup_section,
};

struct herald__dedup *herald__dedup_new(const struct herald__node *map,
                                        int notify, const char *group_id,
                                        const struct herald__hash_key *hk,
                                        struct herald__loop *loop,
                                        struct herald__diag *d)
{
    size_t errs = d->n;
    struct herald__dedup *dd = calloc(1, sizeof *dd);
    if (!dd) {
        return NULL;
    }
    dd->hash_key = hk;
    dd->active = 1;
    dd->ttl_ms = DEFAULT_TTL_MS;
    dd->use_message_key = notify;
    const char *topic = NULL;
    if (map) {
        const struct herald__section *ds = &herald__dedup_section;
        if (map->type != HERALD_NODE_MAP) {
            herald__key_bad_value(&dedup_key, map, NULL, d);
            herald__dedup_destroy(dd);
            return NULL;
        }
        herald__section_check_keys(map, ds, d);
        const char *policy = NULL;
        if (herald__section_enum(map, ds, "policy", &policy, d) == 0 &&
            strcmp(policy, "every") == 0) {
            dd->active = 0;
        }
        herald__section_num(map, ds, "ttl", &dd->ttl_ms, d);
        if (herald__node_get(map, "topic")) {
            herald__section_str(map, ds, "topic", &topic, d);
        }
        const struct herald__node *v = herald__node_get(map, "key");
        /* For notify connectors notify.c compiles dedup.key as the
         * idempotency key; compiling it here too would report its errors
         * twice. */
        if (v && !notify) {
            if (v->type != HERALD_NODE_SCALAR) {
                herald__key_bad_value(herald__section_key(ds, "key"), v,
                                      HERALD__TEMPLATE_WORDS, d);
            } else {
                int col = v->col + (v->quoted ? 1 : 0);
                dd->key = herald__template_compile(v->scalar, v->file, v->line,
                                                   col, 0, d);
            }
        }
    }
    if (!dd->key && !notify) {
        struct herald__diag scratch;
        herald__diag_init(&scratch);
        dd->key = herald__template_compile("{{@key}}@{{@window.start}}",
                                           "<builtin>", 1, 1, 0, &scratch);
        herald__diag_cleanup(&scratch);
    }
    if (topic) {
        dd->topic = strdup(topic);
    } else {
        size_t len = strlen(group_id) + TOPIC_PREFIX_ROOM;
        dd->topic = malloc(len);
        if (dd->topic) {
            snprintf(dd->topic, len, "herald-dedup-%s", group_id);
        }
    }
    /* A notify connector's notify stage already said it (the dedup key
     * is its idempotency key, keyed there). */
    if (dd->active && !notify && !hk) {
        herald__diag_add(d, map,
                         "dedup needs the top-level 'hash_key' (a secret of "
                         "at least %d bytes, e.g. "
                         "${file:/run/secrets/herald_hash_key}): marks are "
                         "keyed by a keyed hash of the dedup key, never the "
                         "key itself",
                         HERALD__HASH_KEY_MIN);
    }
    if (!dd->topic) {
        herald__diag_add(d, map, "out of memory");
    }
    if (d->n > errs) {
        herald__dedup_destroy(dd);
        return NULL;
    }
    if (dd->active && loop) {
        dd->sweep = herald__timer_new(loop, on_sweep, dd);
        if (dd->sweep) {
            herald__timer_start(dd->sweep, herald__dedup_sweep_ms(dd),
                                herald__dedup_sweep_ms(dd));
        }
    }
    return dd;
}

void herald__dedup_destroy(struct herald__dedup *dd)
{
    if (!dd) {
        return;
    }
    herald__timer_destroy(dd->sweep);
    for (size_t i = 0; i < dd->n_buckets; i++) {
        for (struct entry *e = dd->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e->key);
            free(e);
        }
    }
    free(dd->buckets);
    herald__marks_destroy(dd->reader);
    free(dd->loads);
    herald__template_destroy(dd->key);
    free(dd->loaded);
    free(dd->topic);
    free(dd);
}

int herald__dedup_active(const struct herald__dedup *dd)
{
    return dd && dd->active;
}

const char *herald__dedup_topic(const struct herald__dedup *dd)
{
    return dd->topic;
}

int herald__dedup_start(struct herald__dedup *dd, struct herald__loop *loop,
                        const struct herald__node *kafka, char *const *topics,
                        size_t n_topics, herald__dedup_ready_fn ready,
                        void *ctx, char *err, size_t errlen)
{
    if (!dd->active) {
        return 0;
    }
    dd->reader = herald__marks_new(loop, kafka, dd->topic, err, errlen);
    if (!dd->reader) {
        return -1;
    }
    return herald__marks_prepare(dd->reader, topics, n_topics, dd->ttl_ms,
                                 ready, ctx, err, errlen) == 0
               ? 1
               : -1;
}

static int is_loaded(const struct herald__dedup *dd, int32_t p)
{
    for (size_t i = 0; i < dd->n_loaded; i++) {
        if (dd->loaded[i] == p) {
            return 1;
        }
    }
    return 0;
}

/* Assign (on) or unassign (off) marks partition p on the reader, from its
 * beginning. */
static int reader_assign(struct herald__dedup *dd, int32_t p, int on, char *err,
                         size_t errlen)
{
    return herald__marks_assign(dd->reader, p, on, err, errlen);
}

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static struct load *find_load(struct herald__dedup *dd, int32_t p)
{
    for (size_t i = 0; i < dd->n_loads; i++) {
        if (dd->loads[i].partition == p) {
            return &dd->loads[i];
        }
    }
    return NULL;
}

static void drop_load(struct herald__dedup *dd, struct load *ld)
{
    char err[256];
    if (reader_assign(dd, ld->partition, 0, err, sizeof err) != 0) {
        herald__log(HERALD_LOG_WARN, NULL, "%s", err);
    }
    *ld = dd->loads[--dd->n_loads];
}

int herald__dedup_load_start(struct herald__dedup *dd, int32_t partition,
                             char *err, size_t errlen)
{
    if (!dd->active || is_loaded(dd, partition)) {
        return 1;
    }
    if (find_load(dd, partition)) {
        return 0;
    }
    struct load *l = realloc(dd->loads, (dd->n_loads + 1) * sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    dd->loads = l;
    if (reader_assign(dd, partition, 1, err, errlen) != 0) {
        return -1;
    }
    dd->loads[dd->n_loads++] = (struct load){
        .partition = partition,
        .deadline_ms = mono_ms() + LOAD_TIMEOUT_MS,
    };
    return 0;
}

static void load_done(struct herald__dedup *dd, struct load *ld)
{
    herald__log(HERALD_LOG_INFO, NULL,
                "dedup: read %zu mark(s) back from %s [%" PRId32 "]", ld->marks,
                dd->topic, ld->partition);
    if (ld->old_marks) {
        /* Never the keys: they are what the old format leaked. */
        herald__log(HERALD_LOG_WARN, NULL,
                    "dedup: ignored %zu mark(s) of the old format (a plain "
                    "dedup key, not its keyed hash) in %s [%" PRId32 "]; "
                    "their keys may be notified once more, and the marks "
                    "leave the topic with its retention",
                    ld->old_marks, dd->topic, ld->partition);
    }
    int32_t *l = realloc(dd->loaded, (dd->n_loaded + 1) * sizeof *l);
    if (l) {
        dd->loaded = l;
        dd->loaded[dd->n_loaded++] = ld->partition;
    }
    drop_load(dd, ld);
}

static void mark_end(void *ctx, int32_t partition)
{
    struct herald__dedup *dd = ctx;
    struct load *ld = find_load(dd, partition);
    if (ld) {
        load_done(dd, ld);
    }
}

static void take_mark(void *ctx, int32_t partition, const void *key,
                      size_t klen, const void *value, size_t vlen, int64_t ts)
{
    (void)vlen;
    struct herald__dedup *dd = ctx;
    struct load *ld = find_load(dd, partition);
    if (!ld) {
        return; /* forgotten meanwhile */
    }
    ld->deadline_ms = mono_ms() + LOAD_TIMEOUT_MS;
    if (!key || klen == 0) {
        return;
    }
    char *k = strndup(key, klen);
    if (k && !herald__hmac_is_hex(k)) {
        ld->old_marks++; /* a plain dedup key: see load_done */
    } else if (k && value) {
        herald__dedup_set_marked(dd, k, ts > 0 ? ts : 1);
        ld->marks++;
    } else if (k) {
        remove_key(dd, k); /* tombstone */
    }
    free(k);
}

int herald__dedup_poll(struct herald__dedup *dd, int max,
                       herald__dedup_failed_fn failed, void *ctx)
{
    if (!dd->n_loads) {
        return 0;
    }
    int more = herald__marks_poll(dd->reader, max, take_mark, mark_end, dd);
    int64_t now = mono_ms();
    for (size_t i = 0; i < dd->n_loads; i++) {
        struct load *ld = &dd->loads[i];
        if (now < ld->deadline_ms) {
            continue;
        }
        /* Start over: what was read is read again, in order. */
        char err[ERR_MAX];
        snprintf(err, sizeof err,
                 "dedup topic %s [%" PRId32 "]: read back timed out", dd->topic,
                 ld->partition);
        failed(ctx, ld->partition, err);
        ld->marks = 0;
        ld->old_marks = 0;
        ld->deadline_ms = now + LOAD_TIMEOUT_MS;
        if (reader_assign(dd, ld->partition, 0, err, sizeof err) != 0 ||
            reader_assign(dd, ld->partition, 1, err, sizeof err) != 0) {
            failed(ctx, ld->partition, err);
        }
    }
    return more;
}

int herald__dedup_loading(const struct herald__dedup *dd)
{
    return dd->n_loads > 0;
}

void herald__dedup_forget(struct herald__dedup *dd, int32_t partition)
{
    struct load *ld = find_load(dd, partition);
    if (ld) {
        drop_load(dd, ld);
    }
    for (size_t i = 0; i < dd->n_loaded; i++) {
        if (dd->loaded[i] == partition) {
            dd->loaded[i] = dd->loaded[--dd->n_loaded];
            return;
        }
    }
}

static int lookup(void *ctx, const char *path, json_t **out, json_t **owned)
{
    return herald__record_lookup(ctx, path, out, owned);
}

char *herald__dedup_key(const struct herald__dedup *dd,
                        const struct herald_record *r,
                        const struct herald_message *m, char *err,
                        size_t errlen)
{
    if (dd->use_message_key) {
        if (!m || !m->idempotency_key) {
            snprintf(err, errlen, "no idempotency key to dedup on");
            return NULL;
        }
        return strdup(m->idempotency_key); /* keyed by notify already */
    }
    char *plain = NULL;
    if (herald__template_render(dd->key, lookup, (void *)r, &plain, err,
                                errlen) != 0) {
        return NULL;
    }
    char *out = herald__hmac_hex_dup(dd->hash_key, plain);
    free(plain);
    if (!out) {
        snprintf(err, errlen, "keyed hash of the dedup key failed");
    }
    return out;
}

/* Whether a mark made at ts is past the TTL at now. ts comes from a Kafka
 * timestamp anybody producing to the marks topic chose: ts + ttl would
 * overflow for a ts near INT64_MAX, so the sum saturates (never expires). */
static int expired(const struct herald__dedup *dd, int64_t ts, int64_t now)
{
    if (ts > INT64_MAX - dd->ttl_ms) {
        return 0;
    }
    return ts + dd->ttl_ms < now;
}

size_t herald__dedup_expire(struct herald__dedup *dd, int64_t now_ms)
{
    size_t gone = 0;

    for (size_t i = 0; i < dd->n_buckets; i++) {
        struct entry **pp = &dd->buckets[i];
        while (*pp) {
            struct entry *e = *pp;
            if (!e->pending && expired(dd, e->ts, now_ms)) {
                *pp = e->next;
                free(e->key);
                free(e);
                dd->n--;
                gone++;
            } else {
                pp = &e->next;
            }
        }
    }
    return gone;
}

uint64_t herald__dedup_sweep_ms(const struct herald__dedup *dd)
{
    int64_t ms = dd->ttl_ms / SWEEP_PER_TTL;

    if (ms < SWEEP_MIN_MS) {
        ms = SWEEP_MIN_MS;
    }
    if (ms > SWEEP_MAX_MS) {
        ms = SWEEP_MAX_MS;
    }
    return (uint64_t)ms;
}

static int64_t wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void on_sweep(void *ctx)
{
    struct herald__dedup *dd = ctx;
    size_t gone = herald__dedup_expire(dd, wall_ms());
    if (gone) {
        herald__log(HERALD_LOG_DEBUG, NULL,
                    "dedup: %zu expired key(s) dropped, %zu left", gone, dd->n);
    }
}

enum herald__dedup_state herald__dedup_state(struct herald__dedup *dd,
                                             const char *key, int64_t now_ms)
{
    struct entry *e = find(dd, key);
    if (!e) {
        return HERALD__DEDUP_NEW;
    }
    if (e->pending) {
        return HERALD__DEDUP_PENDING;
    }
    if (expired(dd, e->ts, now_ms)) {
        remove_key(dd, key); /* expired */
        return HERALD__DEDUP_NEW;
    }
    return HERALD__DEDUP_SEEN;
}

void herald__dedup_set_pending(struct herald__dedup *dd, const char *key)
{
    struct entry *e = upsert(dd, key);
    if (e) {
        e->pending = 1;
    }
}

void herald__dedup_clear(struct herald__dedup *dd, const char *key)
{
    struct entry *e = find(dd, key);
    if (e && e->pending) {
        remove_key(dd, key);
    }
}

void herald__dedup_set_marked(struct herald__dedup *dd, const char *key,
                              int64_t ts_ms)
{
    struct entry *e = upsert(dd, key);
    if (e) {
        e->pending = 0;
        if (ts_ms > e->ts) {
            e->ts = ts_ms;
        }
    }
}

size_t herald__dedup_size(const struct herald__dedup *dd)
{
    return dd->n;
}
