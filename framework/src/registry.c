/*
 * registry.c - Confluent Schema Registry client (HTTP on the shared curl
 * multi) and schemas_dir mode, with a per-process cache of parsed Avro
 * writer schemas by id. Contract in registry.h.
 */
#include "registry.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "avro_decode.h"
#include "http.h"
#include "log.h"
#include "loop.h"

#define MIN_BUCKETS 64
#define MAX_BODY (4u << 20)
#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000
#define ERRLEN 512
/* Defaults of the config fields of the same meaning (registry.h). */
#define NOT_FOUND_WAIT_MS 300000
#define NOT_FOUND_TTL_MS 60000
#define CACHE_SIZE 1000
#define MAX_FETCHES 16
#define CONNECT_TIMEOUT_MS 10000
#define REQUEST_TIMEOUT_MS 30000
/* The bucket array never grows past this many. */
#define MAX_BUCKETS ((size_t)1 << 30)
/* The first read buffer of a schemas_dir file; doubled from there. */
#define FILE_FIRST_CAP 4096
#define PATH_MAX_LEN 4096
#define URL_MAX_LEN 2048
/* Room kept in an entry's error for the words around a parse error. */
#define ERR_CONTEXT_LEN 64
#define HTTP_OK 200
#define HTTP_NOT_FOUND 404
/* The Confluent registry API's error_code for "schema not found":
 * a 404 without it is a wrong URL, not a missing schema. */
#define REGISTRY_SCHEMA_NOT_FOUND 40403
#define MS_PER_SEC 1000u
#define NS_PER_MS 1000000u
/* Base64: 3 input bytes make 4 output characters of 6 bits each. */
#define B64_IN_GROUP 3
#define B64_OUT_GROUP 4
#define B64_BITS 6
#define B64_MASK 63

enum state { S_FETCHING, S_READY, S_NOT_FOUND, S_BACKOFF };

struct waiter {
    herald__registry_fn fn;
    void *ctx;
    struct waiter *next;
};

struct entry {
    struct herald__registry *reg;
    struct entry *next;                /* bucket chain */
    struct entry *lru_prev, *lru_next; /* settled entries, newest first */
    int32_t id;
    enum state state;
    uint64_t nf_since; /* first 404 of the current wait (monotonic ms) */
    int nf_waited;     /* waited a whole period: the next 404 is final */
    uint64_t expires;  /* S_NOT_FOUND: ask again from then; 0: never */
    struct herald__avro_schema *schema; /* S_READY */
    char error[ERRLEN];                 /* S_NOT_FOUND, or last failure */
    struct waiter *waiters;
    int attempts; /* consecutive temporary failures */
    CURL *easy;   /* S_FETCHING */
    char *body;
    size_t body_len;
    int too_big;
    struct herald__timer *timer; /* S_BACKOFF */
};

struct herald__registry {
    char *url;
    char *ca_file;
    char *cert_file;
    char *key_file;
    char *dir;
    int insecure;
    long connect_timeout_ms;
    long request_timeout_ms;
    struct curl_slist *headers; /* holds the Authorization secret */
    struct herald__loop *loop;
    struct herald__http *http;
    struct entry **buckets; /* n_buckets (a power of two) chains */
    size_t n_buckets;
    size_t n_entries; /* at most cache_size */
    size_t n_busy;    /* fetching or in backoff: at most max_fetches */
    struct entry *lru_head, *lru_tail; /* settled entries only */
    size_t cache_size;
    size_t max_fetches;
    long nf_wait_ms; /* negative: a 404 is final at once */
    long nf_ttl_ms;
    struct waiter *queued;    /* waiting for a free fetch slot */
    struct waiter *notifying; /* waiters being called right now */
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static char *dup_opt(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- pure helpers ---------------------------------------------------- */

int herald__registry_url(const char *base, int32_t id, char *buf, size_t buflen)
{
    size_t n;

    if (!base) {
        return -1;
    }
    n = strlen(base);
    while (n > 0 && base[n - 1] == '/') {
        n--;
    }
    if (n > (size_t)INT32_MAX) {
        return -1;
    }
    return snprintf(buf, buflen, "%.*s/schemas/ids/%" PRId32, (int)n, base, id);
}

static size_t base64(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    size_t i;

    for (i = 0; i + 2 < n; i += B64_IN_GROUP) {
        uint32_t v =
            ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out[o++] = tab[(v >> (3 * B64_BITS)) & B64_MASK];
        out[o++] = tab[(v >> (2 * B64_BITS)) & B64_MASK];
        out[o++] = tab[(v >> B64_BITS) & B64_MASK];
        out[o++] = tab[v & B64_MASK];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = tab[(v >> (3 * B64_BITS)) & B64_MASK];
        out[o++] = tab[(v >> (2 * B64_BITS)) & B64_MASK];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8);
        out[o++] = tab[(v >> (3 * B64_BITS)) & B64_MASK];
        out[o++] = tab[(v >> (2 * B64_BITS)) & B64_MASK];
        out[o++] = tab[(v >> B64_BITS) & B64_MASK];
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

int herald__registry_auth_header(const struct herald__registry_config *cfg,
                                 char *buf, size_t buflen)
{
    char *enc;
    size_t n;
    int rc;

    if (cfg->basic_auth && cfg->basic_auth[0] != '\0') {
        n = strlen(cfg->basic_auth);
        /* Whole groups, one padded group, the NUL. */
        enc = malloc(n / B64_IN_GROUP * B64_OUT_GROUP + B64_OUT_GROUP + 1);
        if (!enc) {
            return -1;
        }
        base64((const unsigned char *)cfg->basic_auth, n, enc);
        rc = snprintf(buf, buflen, "Authorization: Basic %s", enc);
        /* The encoded secret must not linger in freed memory. */
        memset(enc, 0, strlen(enc));
        free(enc);
        return rc;
    }
    if (cfg->bearer && cfg->bearer[0] != '\0') {
        return snprintf(buf, buflen, "Authorization: Bearer %s", cfg->bearer);
    }
    return snprintf(buf, buflen, "%s", "");
}

/* The registry's error message, if the body is its JSON error. */
static const char *error_message(json_t *j, json_int_t *code)
{
    *code = json_integer_value(json_object_get(j, "error_code"));
    return json_string_value(json_object_get(j, "message"));
}

int herald__registry_parse_response(int32_t id, int curl_code, long status,
                                    const char *body, size_t len,
                                    char **schema_json, char *err,
                                    size_t errlen)
{
    json_t *j = NULL;
    const char *msg;
    const char *type;
    const char *schema;
    json_int_t code = 0;
    int rc = HERALD__REGISTRY_WAIT;

    *schema_json = NULL;
    if (curl_code != 0) {
        set_err(err, errlen,
                "schema registry request for id %" PRId32 " failed: %s", id,
                curl_easy_strerror((CURLcode)curl_code));
        goto out;
    }
    j = json_loadb(body ? body : "", len, 0, NULL);
    msg = j ? error_message(j, &code) : NULL;
    if (status == HTTP_NOT_FOUND) {
        if (code == REGISTRY_SCHEMA_NOT_FOUND) {
            set_err(err, errlen,
                    "schema id %" PRId32 " not found in registry (404)", id);
            rc = HERALD__REGISTRY_NOT_FOUND;
        } else {
            set_err(err, errlen,
                    "schema registry answered 404 without "
                    "error_code 40403 for id %" PRId32
                    ": check schema_registry.url",
                    id);
        }
        goto out;
    }
    if (status != HTTP_OK) {
        set_err(err, errlen,
                "schema registry answered HTTP %ld for id %" PRId32 "%s%.200s",
                status, id, msg ? ": " : "", msg ? msg : "");
        goto out;
    }
    schema = json_string_value(json_object_get(j, "schema"));
    if (!schema) {
        set_err(err, errlen,
                "schema registry answered 200 for id %" PRId32
                " without a \"schema\" string: check schema_registry.url",
                id);
        goto out;
    }
    type = json_string_value(json_object_get(j, "schemaType"));
    if (type && strcmp(type, "AVRO") != 0) {
        set_err(err, errlen, "schema id %" PRId32 " is %.32s, not AVRO", id,
                type);
        rc = HERALD__REGISTRY_NOT_FOUND;
        goto out;
    }
    *schema_json = strdup(schema);
    if (!*schema_json) {
        set_err(err, errlen, "out of memory");
        goto out;
    }
    rc = HERALD__REGISTRY_OK;
out:
    json_decref(j);
    return rc;
}

/* ---- cache ----------------------------------------------------------- */

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * MS_PER_SEC + (uint64_t)ts.tv_nsec / NS_PER_MS;
}

static struct entry **bucket(struct herald__registry *reg, int32_t id)
{
    /* an integer mix, so ids that share low bits spread out */
    uint32_t x = (uint32_t)id;

    x ^= x >> 16;
    x *= 0x45d9f3bu;
    x ^= x >> 16;
    return &reg->buckets[x & (reg->n_buckets - 1)];
}

static struct entry *find(struct herald__registry *reg, int32_t id)
{
    struct entry *e;

    for (e = *bucket(reg, id); e; e = e->next) {
        if (e->id == id) {
            return e;
        }
    }
    return NULL;
}

static void lru_unlink(struct herald__registry *reg, struct entry *e)
{
    if (e->lru_prev) {
        e->lru_prev->lru_next = e->lru_next;
    } else if (reg->lru_head == e) {
        reg->lru_head = e->lru_next;
    }
    if (e->lru_next) {
        e->lru_next->lru_prev = e->lru_prev;
    } else if (reg->lru_tail == e) {
        reg->lru_tail = e->lru_prev;
    }
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push(struct herald__registry *reg, struct entry *e)
{
    e->lru_prev = NULL;
    e->lru_next = reg->lru_head;
    if (reg->lru_head) {
        reg->lru_head->lru_prev = e;
    }
    reg->lru_head = e;
    if (!reg->lru_tail) {
        reg->lru_tail = e;
    }
}

static int is_busy(const struct entry *e)
{
    return e->state == S_FETCHING || e->state == S_BACKOFF;
}

static void free_waiters(struct waiter *w)
{
    while (w) {
        struct waiter *next = w->next;
        free(w);
        w = next;
    }
}

static void entry_free(struct entry *e)
{
    if (!e) {
        return;
    }
    herald__avro_schema_destroy(e->schema);
    free_waiters(e->waiters);
    herald__timer_destroy(e->timer);
    if (e->easy) {
        curl_easy_cleanup(e->easy);
    }
    free(e->body);
    free(e);
}

static void entry_remove(struct herald__registry *reg, struct entry *e)
{
    struct entry **pp;

    for (pp = bucket(reg, e->id); *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    }
    if (is_busy(e)) {
        reg->n_busy--;
    } else {
        lru_unlink(reg, e);
    }
    reg->n_entries--;
    entry_free(e);
}

/* A new busy entry for id, evicting the least recently used settled one
 * when the cache is full. The caller checked n_busy < max_fetches, and
 * max_fetches <= cache_size, so a full cache holds a settled entry. */
static struct entry *entry_add(struct herald__registry *reg, int32_t id)
{
    struct entry *e;

    if (reg->n_entries >= reg->cache_size && reg->lru_tail) {
        entry_remove(reg, reg->lru_tail);
    }
    e = calloc(1, sizeof *e);
    if (!e) {
        return NULL;
    }
    e->reg = reg;
    e->id = id;
    e->state = S_FETCHING;
    e->next = *bucket(reg, id);
    *bucket(reg, id) = e;
    reg->n_entries++;
    reg->n_busy++;
    return e;
}

/* A busy entry got its answer (state now S_READY or S_NOT_FOUND). */
static void entry_settled(struct herald__registry *reg, struct entry *e)
{
    reg->n_busy--;
    lru_push(reg, e);
}

/* Call every waiter once. A waiter may call back into the registry (get,
 * cancel), so the list is detached first and cancel looks at it too. */
static void notify_list(struct herald__registry *reg, struct waiter *list,
                        int32_t id, int status)
{
    reg->notifying = list;
    while (reg->notifying) {
        struct waiter *w = reg->notifying;
        reg->notifying = w->next;
        w->fn(w->ctx, id, status);
        free(w);
    }
}

/* The entry's waiters, then (a fetch slot is free) those waiting for a
 * slot. A waiter may make the cache evict e: nothing reads e after its
 * list is detached. The slot queue is detached only after the first
 * round, so that a cancel during it still finds its waiters. */
static void notify(struct herald__registry *reg, struct entry *e, int status)
{
    struct waiter *list = e->waiters;
    int32_t id = e->id;

    e->waiters = NULL;
    notify_list(reg, list, id, status);
    list = reg->queued;
    reg->queued = NULL;
    notify_list(reg, list, -1, HERALD__REGISTRY_WAIT);
}

static int add_waiter(struct waiter **list, herald__registry_fn fn, void *ctx)
{
    struct waiter *w;

    for (w = *list; w; w = w->next) {
        if (w->fn == fn && w->ctx == ctx) {
            return 0;
        }
    }
    w = calloc(1, sizeof *w);
    if (!w) {
        return -1;
    }
    w->fn = fn;
    w->ctx = ctx;
    w->next = *list;
    *list = w;
    return 0;
}

/* Parse schema text into the entry: READY, or NOT_FOUND (cached: an id's
 * schema never changes, so neither will the parse error). */
static void settle(struct entry *e, const char *json, size_t len)
{
    char why[ERRLEN - ERR_CONTEXT_LEN];

    e->schema = herald__avro_schema_parse(json, len, why, sizeof why);
    if (e->schema) {
        e->state = S_READY;
        return;
    }
    e->state = S_NOT_FOUND;
    set_err(e->error, sizeof e->error,
            "schema id %" PRId32 " is not a usable Avro schema: %s", e->id,
            why);
}

/* ---- schemas_dir ----------------------------------------------------- */

/* Read DIR/<id>.avsc into a new entry. A file that cannot be read for a
 * reason other than its absence is reported without caching. */
static int load_file(struct herald__registry *reg, int32_t id,
                     struct entry **out, char *err, size_t errlen)
{
    char path[PATH_MAX_LEN];
    char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    struct entry *e;
    FILE *f;
    int rc = -1;

    *out = NULL;
    snprintf(path, sizeof path, "%s/%" PRId32 ".avsc", reg->dir, id);
    f = fopen(path, "rb");
    if (!f && errno != ENOENT) {
        set_err(err, errlen, "schema id %" PRId32 ": cannot read %s: %s", id,
                path, strerror(errno));
        goto out;
    }
    e = entry_add(reg, id);
    if (!e) {
        set_err(err, errlen, "out of memory");
        goto out;
    }
    *out = e;
    rc = 0;
    if (!f) {
        /* The file may be added later: asked again after the TTL. */
        e->state = S_NOT_FOUND;
        e->expires = now_ms() + (uint64_t)reg->nf_ttl_ms;
        set_err(e->error, sizeof e->error,
                "schema id %" PRId32 " not found in schemas_dir (%s)", id,
                path);
        goto out;
    }
    for (;;) {
        size_t n;
        if (len == cap) {
            char *nb;
            if (cap >= MAX_BODY) {
                e->state = S_NOT_FOUND;
                set_err(e->error, sizeof e->error,
                        "schema id %" PRId32 ": %s is larger than %u bytes", id,
                        path, MAX_BODY);
                goto out;
            }
            cap = cap ? cap * 2 : FILE_FIRST_CAP;
            nb = realloc(buf, cap);
            if (!nb) {
                entry_remove(reg, e);
                *out = NULL;
                set_err(err, errlen, "out of memory");
                rc = -1;
                goto out;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            break;
        }
    }
    settle(e, buf, len);
out:
    if (*out) {
        entry_settled(reg, *out);
    }
    if (f) {
        fclose(f);
    }
    free(buf);
    return rc;
}

/* ---- HTTP ------------------------------------------------------------ */

static void start_fetch(struct entry *e);

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct entry *e = userp;
    size_t n = size * nmemb;
    char *nb;

    if (n > MAX_BODY - e->body_len) {
        e->too_big = 1;
        return 0;
    }
    nb = realloc(e->body, e->body_len + n + 1);
    if (!nb) {
        return 0;
    }
    memcpy(nb + e->body_len, data, n);
    e->body = nb;
    e->body_len += n;
    e->body[e->body_len] = '\0';
    return n;
}

static void on_timer(void *ctx)
{
    struct entry *e = ctx;
    struct herald__registry *reg = e->reg;
    struct waiter *queued;

    if (e->state != S_BACKOFF) {
        return;
    }
    /* Nobody waits any more: forget the failure entirely, and let those
     * waiting for a fetch slot have this one. */
    if (!e->waiters) {
        entry_remove(reg, e);
        queued = reg->queued;
        reg->queued = NULL;
        notify_list(reg, queued, -1, HERALD__REGISTRY_WAIT);
        return;
    }
    start_fetch(e);
}

/* Retry later: exponential backoff, but never later than max_ms from now
 * (the end of a not-found wait). */
static void backoff(struct entry *e, uint64_t max_ms)
{
    struct herald__registry *reg = e->reg;
    uint64_t delay = BACKOFF_FIRST_MS;
    int i;

    e->state = S_BACKOFF;
    e->attempts++;
    for (i = 1; i < e->attempts && delay < BACKOFF_MAX_MS; i++) {
        delay *= 2;
    }
    if (delay > BACKOFF_MAX_MS) {
        delay = BACKOFF_MAX_MS;
    }
    if (delay > max_ms) {
        delay = max_ms;
    }
    herald__warn("%s; retrying in %" PRIu64 " ms", e->error, delay);
    if (!e->timer && reg->loop) {
        e->timer = herald__timer_new(reg->loop, on_timer, e);
    }
    if (e->timer) {
        herald__timer_start(e->timer, delay, 0);
    }
}

static void on_done(void *ctx, CURL *easy, int result)
{
    struct entry *e = ctx;
    struct herald__registry *reg = e->reg;
    char *json = NULL;
    long status = 0;
    int rc;

    e->easy = NULL;
    if (result == -1) { /* aborted: the registry is going away */
        curl_easy_cleanup(easy);
        return;
    }
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(easy);
    if (e->too_big) {
        rc = HERALD__REGISTRY_NOT_FOUND;
        set_err(e->error, sizeof e->error,
                "schema id %" PRId32 ": registry response larger than %u "
                "bytes",
                e->id, MAX_BODY);
    } else {
        rc = herald__registry_parse_response(e->id, result, status, e->body,
                                             e->body_len, &json, e->error,
                                             sizeof e->error);
    }
    free(e->body);
    e->body = NULL;
    e->body_len = 0;
    if (rc == HERALD__REGISTRY_WAIT) {
        backoff(e, BACKOFF_MAX_MS);
        return;
    }
    if (rc == HERALD__REGISTRY_NOT_FOUND && status == HTTP_NOT_FOUND) {
        /* 40403: maybe a registration this follower has not seen yet.
         * Wait for it like for an outage, up to not_found_wait from the
         * first 404; then the answer is kept for the TTL only. */
        uint64_t now = now_ms();
        uint64_t wait = reg->nf_wait_ms > 0 ? (uint64_t)reg->nf_wait_ms : 0;

        if (e->nf_since == 0) {
            e->nf_since = now;
        }
        if (!e->nf_waited && now - e->nf_since < wait) {
            set_err(e->error, sizeof e->error,
                    "schema id %" PRId32 " not found in registry (404) yet; "
                    "waiting up to %" PRIu64 " ms for it to appear",
                    e->id, wait);
            backoff(e, e->nf_since + wait - now);
            return;
        }
        e->nf_waited = 1;
        e->expires = now + (uint64_t)reg->nf_ttl_ms;
        if (wait > 0) {
            set_err(e->error, sizeof e->error,
                    "schema id %" PRId32 " not found in registry (404, "
                    "still after %" PRIu64 " ms)",
                    e->id, wait);
        }
    }
    e->attempts = 0;
    if (rc == HERALD__REGISTRY_OK) {
        settle(e, json, strlen(json));
        free(json);
    } else {
        e->state = S_NOT_FOUND;
    }
    if (e->state == S_NOT_FOUND) {
        herald__warn("%s", e->error);
    }
    entry_settled(reg, e);
    notify(reg, e,
           e->state == S_READY ? HERALD__REGISTRY_OK
                               : HERALD__REGISTRY_NOT_FOUND);
}

static void start_fetch(struct entry *e)
{
    struct herald__registry *reg = e->reg;
    char url[URL_MAX_LEN];
    CURL *easy = NULL;

    e->state = S_FETCHING;
    e->too_big = 0;
    if (herald__registry_url(reg->url, e->id, url, sizeof url) < 0 ||
        strlen(url) + 1 >= sizeof url) {
        set_err(e->error, sizeof e->error, "schema registry URL too long");
        goto fail;
    }
    easy = curl_easy_init();
    if (!easy) {
        set_err(e->error, sizeof e->error, "cannot create a curl handle");
        goto fail;
    }
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, reg->headers);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, e);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, reg->connect_timeout_ms);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, reg->request_timeout_ms);
    /* Credentials go to the configured host only: no redirects. */
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    if (reg->ca_file) {
        curl_easy_setopt(easy, CURLOPT_CAINFO, reg->ca_file);
    }
    if (reg->cert_file) {
        curl_easy_setopt(easy, CURLOPT_SSLCERT, reg->cert_file);
    }
    if (reg->key_file) {
        curl_easy_setopt(easy, CURLOPT_SSLKEY, reg->key_file);
    }
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, reg->insecure ? 0L : 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, reg->insecure ? 0L : 2L);
    e->easy = easy;
    if (herald__http_submit_tagged(reg->http, easy, on_done, e, reg) != 0) {
        e->easy = NULL;
        set_err(e->error, sizeof e->error,
                "cannot start a schema registry request");
        goto fail;
    }
    return;
fail:
    if (easy) {
        curl_easy_cleanup(easy);
    }
    backoff(e, BACKOFF_MAX_MS);
}

/* ---- public ---------------------------------------------------------- */

struct herald__registry *
herald__registry_new(const struct herald__registry_config *cfg,
                     struct herald__loop *loop, struct herald__http *http,
                     char *err, size_t errlen)
{
    struct herald__registry *reg = NULL;
    char *auth = NULL;
    int n;

    if ((!cfg->url) == (!cfg->schemas_dir)) {
        set_err(err, errlen,
                "schema_registry needs exactly one of url and "
                "schemas_dir");
        goto fail;
    }
    if (cfg->url && strncmp(cfg->url, "http://", strlen("http://")) != 0 &&
        strncmp(cfg->url, "https://", strlen("https://")) != 0) {
        set_err(err, errlen,
                "schema_registry.url must start with http:// "
                "or https://");
        goto fail;
    }
    if (cfg->url && (!loop || !http)) {
        set_err(err, errlen, "schema_registry.url needs the event loop");
        goto fail;
    }
    if (cfg->basic_auth && cfg->bearer) {
        set_err(err, errlen,
                "schema_registry: set basic_auth or bearer, "
                "not both");
        goto fail;
    }
    if (cfg->basic_auth && !strchr(cfg->basic_auth, ':')) {
        set_err(err, errlen,
                "schema_registry.basic_auth must be "
                "user:password");
        goto fail;
    }
    reg = calloc(1, sizeof *reg);
    if (!reg) {
        set_err(err, errlen, "out of memory");
        goto fail;
    }
    reg->loop = loop;
    reg->http = http;
    reg->cache_size = cfg->cache_size > 0 ? cfg->cache_size : CACHE_SIZE;
    reg->max_fetches = cfg->max_fetches > 0 ? cfg->max_fetches : MAX_FETCHES;
    if (reg->max_fetches > reg->cache_size) {
        reg->max_fetches = reg->cache_size;
    }
    reg->nf_wait_ms = cfg->not_found_wait_ms != 0 ? cfg->not_found_wait_ms
                                                  : NOT_FOUND_WAIT_MS;
    reg->nf_ttl_ms =
        cfg->not_found_ttl_ms > 0 ? cfg->not_found_ttl_ms : NOT_FOUND_TTL_MS;
    /* Load factor at most 1/2: chains stay O(1). */
    reg->n_buckets = MIN_BUCKETS;
    while (reg->n_buckets < 2 * reg->cache_size &&
           reg->n_buckets < MAX_BUCKETS) {
        reg->n_buckets *= 2;
    }
    reg->buckets = calloc(reg->n_buckets, sizeof *reg->buckets);
    if (!reg->buckets) {
        set_err(err, errlen, "out of memory");
        goto fail;
    }
    reg->insecure = cfg->insecure;
    reg->connect_timeout_ms = cfg->connect_timeout_ms > 0
                                  ? cfg->connect_timeout_ms
                                  : CONNECT_TIMEOUT_MS;
    reg->request_timeout_ms = cfg->request_timeout_ms > 0
                                  ? cfg->request_timeout_ms
                                  : REQUEST_TIMEOUT_MS;
    reg->url = dup_opt(cfg->url);
    reg->dir = dup_opt(cfg->schemas_dir);
    reg->ca_file = dup_opt(cfg->ca_file);
    reg->cert_file = dup_opt(cfg->cert_file);
    reg->key_file = dup_opt(cfg->key_file);
    if ((cfg->url && !reg->url) || (cfg->schemas_dir && !reg->dir) ||
        (cfg->ca_file && !reg->ca_file) ||
        (cfg->cert_file && !reg->cert_file) ||
        (cfg->key_file && !reg->key_file)) {
        set_err(err, errlen, "out of memory");
        goto fail;
    }
    if (reg->url) {
        struct curl_slist *l;
        l = curl_slist_append(NULL,
                              "Accept: application/vnd.schemaregistry.v1+json,"
                              " application/vnd.schemaregistry+json,"
                              " application/json");
        if (!l) {
            set_err(err, errlen, "out of memory");
            goto fail;
        }
        reg->headers = l;
        n = herald__registry_auth_header(cfg, NULL, 0);
        if (n > 0) {
            auth = malloc((size_t)n + 1);
            if (!auth) {
                set_err(err, errlen, "out of memory");
                goto fail;
            }
            herald__registry_auth_header(cfg, auth, (size_t)n + 1);
            l = curl_slist_append(reg->headers, auth);
            memset(auth, 0, (size_t)n);
            free(auth);
            if (!l) {
                set_err(err, errlen, "out of memory");
                goto fail;
            }
        }
    }
    return reg;
fail:
    herald__registry_destroy(reg);
    return NULL;
}

void herald__registry_destroy(struct herald__registry *reg)
{
    struct curl_slist *l;
    size_t i;

    if (!reg) {
        return;
    }
    if (reg->http) {
        herald__http_abort_tag(reg->http, reg);
    }
    for (i = 0; reg->buckets && i < reg->n_buckets; i++) {
        while (reg->buckets[i]) {
            struct entry *e = reg->buckets[i];
            reg->buckets[i] = e->next;
            entry_free(e);
        }
    }
    free(reg->buckets);
    free_waiters(reg->queued);
    /* Wipe the Authorization header before the memory is reused. */
    for (l = reg->headers; l; l = l->next) {
        memset(l->data, 0, strlen(l->data));
    }
    curl_slist_free_all(reg->headers);
    free(reg->url);
    free(reg->dir);
    free(reg->ca_file);
    free(reg->cert_file);
    free(reg->key_file);
    free(reg);
}

int herald__registry_get(struct herald__registry *reg, int32_t id,
                         const struct herald__avro_schema **out,
                         herald__registry_fn fn, void *ctx, char *err,
                         size_t errlen)
{
    struct entry *e;

    *out = NULL;
    if (id < 0) {
        set_err(err, errlen, "invalid schema id %" PRId32, id);
        return HERALD__REGISTRY_NOT_FOUND;
    }
    e = find(reg, id);
    /* A not-found answer is kept for the TTL only: then ask again. */
    if (e && e->state == S_NOT_FOUND && e->expires != 0 &&
        now_ms() >= e->expires) {
        if (reg->dir) {
            entry_remove(reg, e);
            e = NULL;
        } else if (reg->n_busy < reg->max_fetches) {
            lru_unlink(reg, e);
            reg->n_busy++;
            e->expires = 0;
            start_fetch(e);
        }
    }
    if (!e) {
        if (reg->dir) {
            if (load_file(reg, id, &e, err, errlen) != 0) {
                return HERALD__REGISTRY_NOT_FOUND;
            }
        } else if (reg->n_busy >= reg->max_fetches) {
            /* Bounded: this id waits for a free fetch slot, and costs
             * nothing until it has one. */
            if (fn && add_waiter(&reg->queued, fn, ctx) != 0) {
                set_err(err, errlen, "out of memory");
                return HERALD__REGISTRY_WAIT;
            }
            set_err(err, errlen,
                    "waiting for schema id %" PRId32 " (%zu schema fetches "
                    "in progress)",
                    id, reg->n_busy);
            return HERALD__REGISTRY_WAIT;
        } else {
            e = entry_add(reg, id);
            if (!e) {
                set_err(err, errlen, "out of memory");
                return HERALD__REGISTRY_WAIT;
            }
            snprintf(e->error, sizeof e->error, "fetching schema id %" PRId32,
                     id);
            start_fetch(e);
        }
    }
    switch (e->state) {
    case S_READY:
        lru_unlink(reg, e);
        lru_push(reg, e);
        *out = e->schema;
        return HERALD__REGISTRY_OK;
    case S_NOT_FOUND:
        lru_unlink(reg, e);
        lru_push(reg, e);
        set_err(err, errlen, "%s", e->error);
        return HERALD__REGISTRY_NOT_FOUND;
    case S_FETCHING:
    case S_BACKOFF:
        break;
    }
    if (fn && add_waiter(&e->waiters, fn, ctx) != 0) {
        set_err(err, errlen, "out of memory");
        return HERALD__REGISTRY_WAIT;
    }
    set_err(err, errlen, "waiting for schema id %" PRId32 " (%s)", id,
            e->error);
    return HERALD__REGISTRY_WAIT;
}

static void cancel_list(struct waiter **pp, herald__registry_fn fn, void *ctx)
{
    while (*pp) {
        struct waiter *w = *pp;
        if (w->fn == fn && w->ctx == ctx) {
            *pp = w->next;
            free(w);
        } else {
            pp = &w->next;
        }
    }
}

void herald__registry_cancel(struct herald__registry *reg,
                             herald__registry_fn fn, void *ctx)
{
    struct entry *e;
    size_t i;

    if (!reg) {
        return;
    }
    cancel_list(&reg->notifying, fn, ctx);
    cancel_list(&reg->queued, fn, ctx);
    for (i = 0; i < reg->n_buckets; i++) {
        for (e = reg->buckets[i]; e; e = e->next) {
            cancel_list(&e->waiters, fn, ctx);
        }
    }
}

void herald__registry_stats(const struct herald__registry *reg, size_t *entries,
                            size_t *fetching)
{
    *entries = reg->n_entries;
    *fetching = reg->n_busy;
}
