/*
 * testplug.c - a test-only plugin that produces every outcome on demand, for
 * the framework's integration tests. Built twice: `testplug` (sink) and,
 * with -DTESTPLUG_NOTIFY, `testnotify` (notify).
 *
 * Options:
 *   log_file      append one line per completed item:
 *                   "<topic> <partition> <offset> <OUTCOME>" (OK, RETRY,
 *                   REJECT or UNAVAILABLE)
 *                 and, for testnotify, " to=<a,b> subject=<subject>".
 *   script        rules deciding each item's outcome (below).
 *   delay         complete from a separate thread after this long, to test
 *                 completion from any thread. 0: complete inside deliver().
 *   out_of_order  complete a batch's items last to first.
 *   fail_open     open() fails (to test instance errors).
 *   fail_deliver  the first N deliver() calls return -1 (host: all RETRY).
 *   on_close      what close() does with items still waiting for the
 *                 delay: drop (leave them to the host, which retries them
 *                 under the close rule) or finish (complete them with their
 *                 scripted outcome before close returns). Read with the
 *                 typed herald_opt_enum (ABI 1.1).
 *   token, level, tags, max_bytes: declared only, for option tests.
 *
 * Script syntax: rules separated by ',', each
 *     ACTION ":" COND [":" COUNT [":" AFTER_MS]]
 *   ACTION  ok | reject | retry | unavailable
 *   COND    *               every item
 *           VAR==N          VAR equal to N
 *           VAR%M==N        VAR modulo M equal to N
 *   VAR     offset | partition
 *   COUNT   retry only: how many times the rule answers RETRY for one item
 *           (default 1); after that the rule no longer matches that item
 *   AFTER_MS retry only: the retry_after_ms to report (default 0)
 *   unavailable:COND:COUNT[:SKIP] is a channel that is down: of all the
 *           items the rule matches, in the order they are delivered, the
 *           first SKIP (default 0) fall through to the next rules, the
 *           next COUNT answer UNAVAILABLE, and later ones fall through.
 * The first matching rule decides; an item no rule matches is OK.
 * Examples:
 *   reject:offset%7==3,retry:offset%5==0:2
 *       offsets 3, 10, 17... are rejected; 0, 5, 15... answer RETRY twice,
 *       then OK (offset 10 matches the first rule first: rejected).
 *   retry:partition==1:3:250,reject:partition==1
 *       every item of partition 1: RETRY (after 250 ms) three times, then
 *       REJECT.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "herald/plugin.h"

#ifdef TESTPLUG_NOTIFY
#define TP_NAME "testnotify"
#define TP_KIND HERALD_PLUGIN_NOTIFY
#else
#define TP_NAME "testplug"
#define TP_KIND HERALD_PLUGIN_SINK
#endif

static const struct herald_host_api *api;

enum tp_var { TP_ANY, TP_OFFSET, TP_PARTITION };

struct tp_rule {
    enum herald_outcome action;
    enum tp_var var;
    int64_t mod; /* 0: plain equality */
    int64_t eq;
    int64_t count;    /* retry: RETRY answers per item */
    int64_t after_ms; /* retry: retry_after_ms */
    int64_t skip;     /* unavailable: matches that fall through first */
    int64_t used;     /* unavailable: matches so far (all items) */
    char text[64];    /* the rule as written, for reasons */
};

/* How many times rule `rule` answered RETRY for one item. */
struct tp_tries {
    char *topic;
    int32_t partition;
    int64_t offset;
    size_t rule;
    int64_t count;
};

/* One item's decided outcome, and the line to log when it completes. */
struct tp_item {
    enum herald_outcome outcome;
    int64_t after_ms;
    char *reason;
    char *line;
};

/* A batch waiting for the worker thread. */
struct tp_job {
    struct herald_batch *batch;
    size_t n;
    struct tp_item *items;
    struct timespec due; /* CLOCK_MONOTONIC */
    struct tp_job *next;
};

struct tp_state {
    struct herald_instance *inst;
    struct tp_rule *rules;
    size_t n_rules;
    struct tp_tries *tries;
    size_t n_tries;
    int64_t delay_ms;
    int out_of_order;
    int64_t fail_deliver; /* deliver() calls left to fail */
    int finish_at_close;  /* on_close: finish */

    pthread_mutex_t lock; /* log file and the job queue */
    FILE *log;

    int has_worker;
    pthread_t worker;
    pthread_cond_t wake;
    struct tp_job *head, *tail;
    int stop;
};

static int tp_init(const struct herald_host_api *host, char *err, size_t errlen)
{
    /* The newest member this plugin calls (ABI 1.1). */
    if (!HERALD_API_HAS(host, opt_get)) {
        snprintf(err, errlen, "host API has no opt_get (ABI 1.1)");
        return -1;
    }
    api = host;
    return 0;
}

static int parse_int(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (!*s) {
        return -1;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end) {
        return -1;
    }
    *out = v;
    return 0;
}

/* COND: "*", "VAR==N", "VAR%M==N". */
static int parse_cond(char *s, struct tp_rule *r)
{
    char *eq;

    if (strcmp(s, "*") == 0) {
        r->var = TP_ANY;
        return 0;
    }
    eq = strstr(s, "==");
    if (!eq) {
        return -1;
    }
    *eq = '\0';
    if (parse_int(eq + 2, &r->eq) != 0) {
        return -1;
    }
    char *pct = strchr(s, '%');
    if (pct) {
        *pct = '\0';
        if (parse_int(pct + 1, &r->mod) != 0 || r->mod <= 0) {
            return -1;
        }
    }
    if (strcmp(s, "offset") == 0) {
        r->var = TP_OFFSET;
    } else if (strcmp(s, "partition") == 0) {
        r->var = TP_PARTITION;
    } else {
        return -1;
    }
    return 0;
}

/* Parse one rule (modified in place). 0, or -1 with err. */
static int parse_rule(char *text, size_t idx, struct tp_rule *r, char *err,
                      size_t errlen)
{
    char *field[5] = {0};
    size_t n = 0;
    char *save = NULL;

    snprintf(r->text, sizeof(r->text), "%s", text);
    for (char *f = strtok_r(text, ":", &save); f && n < 5;
         f = strtok_r(NULL, ":", &save)) {
        field[n++] = f;
    }
    if (n < 2 || n > 4) {
        snprintf(err, errlen,
                 TP_NAME ": script rule %zu '%s': expected "
                         "ACTION:COND[:COUNT[:AFTER_MS]]",
                 idx, r->text);
        return -1;
    }
    if (strcmp(field[0], "ok") == 0) {
        r->action = HERALD_OK;
    } else if (strcmp(field[0], "reject") == 0) {
        r->action = HERALD_REJECT;
    } else if (strcmp(field[0], "retry") == 0) {
        r->action = HERALD_RETRY;
    } else if (strcmp(field[0], "unavailable") == 0) {
        r->action = HERALD_UNAVAILABLE;
    } else {
        snprintf(err, errlen,
                 TP_NAME ": script rule %zu '%s': unknown action '%s' (ok, "
                         "reject, retry, unavailable)",
                 idx, r->text, field[0]);
        return -1;
    }
    if (parse_cond(field[1], r) != 0) {
        snprintf(err, errlen,
                 TP_NAME ": script rule %zu '%s': bad condition (*, "
                         "VAR==N or VAR%%M==N; VAR is offset or partition)",
                 idx, r->text);
        return -1;
    }
    r->count = 1;
    if (n > 2 && r->action != HERALD_RETRY && r->action != HERALD_UNAVAILABLE) {
        snprintf(err, errlen,
                 TP_NAME ": script rule %zu '%s': only retry and unavailable "
                         "take a count",
                 idx, r->text);
        return -1;
    }
    /* the fourth field: AFTER_MS for retry, SKIP for unavailable */
    int unav = r->action == HERALD_UNAVAILABLE;
    int64_t *fourth = unav ? &r->skip : &r->after_ms;
    if ((n > 2 && (parse_int(field[2], &r->count) != 0 || r->count < 1)) ||
        (n > 3 && (parse_int(field[3], fourth) != 0 || *fourth < 0))) {
        snprintf(err, errlen,
                 TP_NAME ": script rule %zu '%s': COUNT must be >= 1 and "
                         "%s >= 0",
                 idx, r->text, unav ? "SKIP" : "AFTER_MS");
        return -1;
    }
    return 0;
}

static int parse_script(struct tp_state *s, const char *script, char *err,
                        size_t errlen)
{
    char *copy, *save = NULL;
    int rc = -1;

    copy = strdup(script);
    if (!copy) {
        snprintf(err, errlen, TP_NAME ": out of memory");
        return -1;
    }
    for (char *t = strtok_r(copy, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        struct tp_rule *grown;

        while (*t == ' ') {
            t++;
        }
        for (size_t len = strlen(t); len > 0 && t[len - 1] == ' '; len--) {
            t[len - 1] = '\0';
        }
        grown = realloc(s->rules, (s->n_rules + 1) * sizeof(*grown));
        if (!grown) {
            snprintf(err, errlen, TP_NAME ": out of memory");
            goto out;
        }
        s->rules = grown;
        memset(&s->rules[s->n_rules], 0, sizeof(s->rules[0]));
        if (parse_rule(t, s->n_rules + 1, &s->rules[s->n_rules], err, errlen) !=
            0) {
            goto out;
        }
        s->n_rules++;
    }
    rc = 0;

out:
    free(copy);
    return rc;
}

/* The RETRY count of (item, rule); NULL on ENOMEM. */
static struct tp_tries *tries_of(struct tp_state *s, const char *topic,
                                 int32_t partition, int64_t offset, size_t rule)
{
    struct tp_tries *t;

    for (size_t i = 0; i < s->n_tries; i++) {
        t = &s->tries[i];
        if (t->partition == partition && t->offset == offset &&
            t->rule == rule && strcmp(t->topic, topic) == 0) {
            return t;
        }
    }
    t = realloc(s->tries, (s->n_tries + 1) * sizeof(*t));
    if (!t) {
        return NULL;
    }
    s->tries = t;
    t = &s->tries[s->n_tries];
    t->topic = strdup(topic);
    if (!t->topic) {
        return NULL;
    }
    t->partition = partition;
    t->offset = offset;
    t->rule = rule;
    t->count = 0;
    s->n_tries++;
    return t;
}

static int matches(const struct tp_rule *r, int32_t partition, int64_t offset)
{
    int64_t v;

    if (r->var == TP_ANY) {
        return 1;
    }
    v = r->var == TP_OFFSET ? offset : partition;
    return r->mod ? v % r->mod == r->eq : v == r->eq;
}

/* Decide one item's outcome (loop thread: counts retries). */
static void decide(struct tp_state *s, const char *topic, int32_t partition,
                   int64_t offset, struct tp_item *it)
{
    char reason[160];

    it->outcome = HERALD_OK;
    for (size_t i = 0; i < s->n_rules; i++) {
        struct tp_rule *r = &s->rules[i];
        struct tp_tries *t;

        if (!matches(r, partition, offset)) {
            continue;
        }
        if (r->action == HERALD_UNAVAILABLE) {
            r->used++;
            if (r->used <= r->skip || r->used > r->skip + r->count) {
                continue; /* not down yet, or up again */
            }
            snprintf(reason, sizeof(reason),
                     "script rule %zu (%s): channel down, answer %lld of %lld",
                     i + 1, r->text, (long long)(r->used - r->skip),
                     (long long)r->count);
            it->outcome = HERALD_UNAVAILABLE;
            it->reason = strdup(reason);
            return;
        }
        if (r->action == HERALD_RETRY) {
            t = tries_of(s, topic, partition, offset, i);
            if (t && t->count >= r->count) {
                continue; /* this rule is spent for this item */
            }
            if (t) {
                t->count++;
            }
            snprintf(reason, sizeof(reason),
                     "script rule %zu (%s): retry %lld of %lld", i + 1, r->text,
                     (long long)(t ? t->count : 1), (long long)r->count);
            it->outcome = HERALD_RETRY;
            it->after_ms = r->after_ms;
            it->reason = strdup(reason);
            return;
        }
        if (r->action == HERALD_REJECT) {
            snprintf(reason, sizeof(reason), "script rule %zu (%s)", i + 1,
                     r->text);
            it->outcome = HERALD_REJECT;
            it->reason = strdup(reason);
        }
        return;
    }
}

static const char *outcome_name(enum herald_outcome o)
{
    switch (o) {
    case HERALD_OK:
        return "OK";
    case HERALD_RETRY:
        return "RETRY";
    case HERALD_REJECT:
        return "REJECT";
    case HERALD_UNAVAILABLE:
        return "UNAVAILABLE";
    }
    return "?";
}

#ifdef TESTPLUG_NOTIFY
/* Append "a,b,c" to buf at *o. */
static void join(char *buf, size_t cap, size_t *o, const char *const *v,
                 size_t n)
{
    for (size_t i = 0; i < n && *o < cap; i++) {
        *o += (size_t)snprintf(buf + *o, cap - *o, "%s%s", i ? "," : "", v[i]);
    }
}
#endif

/* Build item i's outcome and log line (loop thread: reads the batch). */
static void prepare(struct tp_state *s, struct herald_batch *b, size_t i,
                    struct tp_item *it)
{
    char line[1024];
    const char *topic;
    int32_t partition;
    int64_t offset;
    size_t o;

#ifdef TESTPLUG_NOTIFY
    const struct herald_message *m = api->batch_message(b, i);

    topic = m->topic;
    partition = m->partition;
    offset = m->offset;
#else
    const struct herald_record *r = api->batch_record(b, i);

    topic = api->record_topic(r);
    partition = api->record_partition(r);
    offset = api->record_offset(r);
#endif
    decide(s, topic, partition, offset, it);
    if (!s->log) {
        return;
    }
    o = (size_t)snprintf(line, sizeof(line), "%s %d %lld %s", topic,
                         (int)partition, (long long)offset,
                         outcome_name(it->outcome));
#ifndef TESTPLUG_NOTIFY
    (void)o;
#else
    if (o < sizeof(line)) {
        o += (size_t)snprintf(line + o, sizeof(line) - o, " to=");
    }
    join(line, sizeof(line), &o, m->to, m->n_to);
    if (o < sizeof(line)) {
        snprintf(line + o, sizeof(line) - o, " subject=%s",
                 m->subject ? m->subject : "");
    }
#endif
    it->line = strdup(line);
}

static void free_items(struct tp_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i].reason);
        free(items[i].line);
    }
    free(items);
}

/* Complete every item (any thread). The batch is not touched after the
 * last complete(); items are the caller's to free. */
static void finish(struct tp_state *s, struct herald_batch *b,
                   struct tp_item *items, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        size_t i = s->out_of_order ? n - 1 - k : k;

        if (items[i].line) {
            pthread_mutex_lock(&s->lock);
            fprintf(s->log, "%s\n", items[i].line);
            fflush(s->log);
            pthread_mutex_unlock(&s->lock);
        }
        api->complete(b, i, items[i].outcome, items[i].after_ms,
                      items[i].reason);
    }
}

static void *tp_worker(void *arg)
{
    struct tp_state *s = arg;

    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        struct tp_job *job = s->head;
        struct timespec now;

        if (!job) {
            pthread_cond_wait(&s->wake, &s->lock);
            continue;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec < job->due.tv_sec ||
            (now.tv_sec == job->due.tv_sec && now.tv_nsec < job->due.tv_nsec)) {
            pthread_cond_timedwait(&s->wake, &s->lock, &job->due);
            continue;
        }
        s->head = job->next;
        if (!s->head) {
            s->tail = NULL;
        }
        pthread_mutex_unlock(&s->lock);
        finish(s, job->batch, job->items, job->n);
        free_items(job->items, job->n);
        free(job);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static int start_worker(struct tp_state *s, char *err, size_t errlen)
{
    pthread_condattr_t attr;
    int rc;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&s->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0) {
        snprintf(err, errlen, TP_NAME ": pthread_cond_init: %s", strerror(rc));
        return -1;
    }
    rc = pthread_create(&s->worker, NULL, tp_worker, s);
    if (rc != 0) {
        pthread_cond_destroy(&s->wake);
        snprintf(err, errlen, TP_NAME ": pthread_create: %s", strerror(rc));
        return -1;
    }
    s->has_worker = 1;
    return 0;
}

static void tp_close(void *state)
{
    struct tp_state *s = state;

    if (!s) {
        return;
    }
    if (s->has_worker) {
        pthread_mutex_lock(&s->lock);
        s->stop = 1;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->worker, NULL);
        pthread_cond_destroy(&s->wake);
    }
    /* Jobs still queued: completed now (on_close: finish), or left to
     * the host, which retries every item not completed when close returns
     * (the close rule); their batches are not touched after that. */
    while (s->head) {
        struct tp_job *job = s->head;

        s->head = job->next;
        if (s->finish_at_close) {
            finish(s, job->batch, job->items, job->n);
        } else {
            api->log(s->inst, HERALD_LOG_WARN,
                     TP_NAME ": dropped %zu items still waiting at close",
                     job->n);
        }
        free_items(job->items, job->n);
        free(job);
    }
    if (s->log) {
        fclose(s->log);
    }
    for (size_t i = 0; i < s->n_tries; i++) {
        free(s->tries[i].topic);
    }
    free(s->tries);
    free(s->rules);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static int tp_open(struct herald_instance *inst,
                   const struct herald_options *opts, void **state, char *err,
                   size_t errlen)
{
    struct tp_state *s;
    const char *path, *script;

    if (api->opt_bool(opts, "fail_open")) {
        snprintf(err, errlen, TP_NAME ": open failed (fail_open is set)");
        return -1;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, TP_NAME ": out of memory");
        return -1;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->inst = inst;
    s->delay_ms = api->opt_duration_ms(opts, "delay");
    s->out_of_order = api->opt_bool(opts, "out_of_order");
    s->fail_deliver = api->opt_int(opts, "fail_deliver");
    const char *on_close = NULL;
    if (herald_opt_enum(api, inst, "on_close", &on_close) < 0) {
        snprintf(err, errlen, TP_NAME ": cannot read option on_close");
        goto fail;
    }
    s->finish_at_close = on_close && strcmp(on_close, "finish") == 0;
    script = api->opt_string(opts, "script");
    if (script && parse_script(s, script, err, errlen) != 0) {
        goto fail;
    }
    path = api->opt_string(opts, "log_file");
    if (path) {
        s->log = fopen(path, "a");
        if (!s->log) {
            snprintf(err, errlen, TP_NAME ": cannot open log_file %s: %s", path,
                     strerror(errno));
            goto fail;
        }
    }
    if (s->delay_ms > 0 && start_worker(s, err, errlen) != 0) {
        goto fail;
    }
    *state = s;
    return 0;

fail:
    tp_close(s);
    return -1;
}

static int tp_deliver(void *state, struct herald_batch *b)
{
    struct tp_state *s = state;
    struct tp_item *items;
    struct tp_job *job;
    size_t n;

    if (s->fail_deliver > 0) {
        s->fail_deliver--;
        return -1;
    }
    n = api->batch_count(b);
    api->counter_add(s->inst, "records", (int64_t)n);
    items = calloc(n ? n : 1, sizeof(*items));
    if (!items) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        prepare(s, b, i, &items[i]);
    }
    if (!s->has_worker) {
        finish(s, b, items, n);
        free_items(items, n);
        return 0;
    }
    job = calloc(1, sizeof(*job));
    if (!job) {
        free_items(items, n);
        return -1;
    }
    job->batch = b;
    job->n = n;
    job->items = items;
    clock_gettime(CLOCK_MONOTONIC, &job->due);
    job->due.tv_sec += s->delay_ms / 1000;
    job->due.tv_nsec += (long)(s->delay_ms % 1000) * 1000000L;
    if (job->due.tv_nsec >= 1000000000L) {
        job->due.tv_sec++;
        job->due.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    if (s->tail) {
        s->tail->next = job;
    } else {
        s->head = job;
    }
    s->tail = job;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static const char *const tp_levels[] = {"low", "high", NULL};
static const char *const tp_on_close[] = {"drop", "finish", NULL};

static const struct herald_option tp_options[] = {
    {.name = "log_file",
     .type = HERALD_OPT_STRING,
     .help = "append one line per completed item to this file"},
    {.name = "script",
     .type = HERALD_OPT_STRING,
     .help = "outcome rules, e.g. reject:offset%7==3,retry:offset%5==0:2"},
    {.name = "delay",
     .type = HERALD_OPT_DURATION,
     .default_value = "0",
     .help = "complete from another thread after this long (0: at once)"},
    {.name = "out_of_order",
     .type = HERALD_OPT_BOOL,
     .default_value = "false",
     .help = "complete a batch's items last to first"},
    {.name = "fail_open",
     .type = HERALD_OPT_BOOL,
     .default_value = "false",
     .help = "make open() fail"},
    {.name = "fail_deliver",
     .type = HERALD_OPT_INT,
     .default_value = "0",
     .help = "make the first N deliver() calls fail"},
    {.name = "on_close",
     .type = HERALD_OPT_ENUM,
     .default_value = "drop",
     .enum_values = tp_on_close,
     .help = "items waiting at close: drop (the host retries) or finish"},
    {.name = "token",
     .type = HERALD_OPT_STRING,
     .default_value = "hunter2",
     .secret = 1,
     .help = "unused; a secret with a default, for redaction tests"},
    {.name = "level",
     .type = HERALD_OPT_ENUM,
     .default_value = "low",
     .enum_values = tp_levels,
     .help = "unused; an enum, for option tests"},
    {.name = "tags",
     .type = HERALD_OPT_LIST,
     .help = "unused; a list, for option tests"},
    {.name = "max_bytes",
     .type = HERALD_OPT_SIZE,
     .default_value = "1KiB",
     .help = "unused; a size, for option tests"},
    {.name = NULL},
};

HERALD_PLUGIN_DEFINE = {
    HERALD_PLUGIN_HEADER,
    .name = TP_NAME,
    .version = "1.0.0",
    .description = "test-only: answers OK, RETRY or REJECT as scripted",
    .kind = TP_KIND,
    .options = tp_options,
    .init = tp_init,
    .open = tp_open,
    .deliver = tp_deliver,
    .close = tp_close,
};
