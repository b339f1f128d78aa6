/*
 * registry.h - Confluent Schema Registry client and schemas_dir mode
 * (registry.c).
 *
 * One registry per process, shared by every connector, on the loop thread.
 * Writer schemas are fetched by id (`GET {url}/schemas/ids/{id}`, or read
 * from `DIR/<id>.avsc`) and parsed once. The cache is bounded: a hash
 * table of at most cache_size ids (default 1000), the least recently used
 * answer evicted first, and at most max_fetches ids (default 16) being
 * fetched or retried at once; a caller asking for one more unknown id
 * meanwhile waits for a free slot (its callback fires when one frees), so
 * any number of distinct bogus ids costs bounded memory and O(1) per ask.
 *
 * At most one fetch per id is in flight; callers that ask meanwhile queue
 * as waiters. A 404 with error_code 40403 is what a follower answers for a
 * registration it has not seen yet, so it is retried like an outage for
 * not_found_wait (default 5 min) from the first 404 before the id counts
 * as not found; that answer (and a missing file in schemas_dir mode) is
 * kept for NOT_FOUND_TTL (60 s), then asked again (a 404 then is final at
 * once). An unusable schema (it does not parse, or is not Avro) cannot
 * change and is kept until evicted. Anything else (5xx, 429, 401/403,
 * timeouts, connection errors, a 404 without 40403 that smells of a wrong
 * URL) is temporary: the registry retries by itself with backoff (0.5 s
 * doubling to 30 s) while waiters remain, and caches nothing. Credentials
 * never reach a log line or an error message.
 */
#ifndef HERALD_REGISTRY_H
#define HERALD_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

struct herald__loop;
struct herald__http;
struct herald__registry;
struct herald__avro_schema;

/* Results of herald__registry_get (same values as the decoder's). */
#define HERALD__REGISTRY_OK 0
#define HERALD__REGISTRY_NOT_FOUND (-1) /* permanent: poison the record */
#define HERALD__REGISTRY_WAIT (-2)      /* fetch in flight or retrying */

struct herald__registry_config {
    const char *url;         /* base URL, may carry a path prefix */
    const char *basic_auth;  /* "user:password", or NULL */
    const char *bearer;      /* bearer token, or NULL */
    const char *ca_file;     /* NULL: system CAs */
    const char *cert_file;   /* client certificate (mTLS), or NULL */
    const char *key_file;    /* its key, or NULL */
    int insecure;            /* non-zero: skip TLS verification */
    long connect_timeout_ms; /* 0: 10 s */
    long request_timeout_ms; /* 0: 30 s */
    const char *schemas_dir; /* set instead of url: DIR/<id>.avsc */
    long not_found_wait_ms;  /* 404/40403 retried this long; 0: 5 min;
                                negative: final at once */
    long not_found_ttl_ms;   /* a not-found answer kept this long; 0: 60 s */
    size_t cache_size;       /* ids cached at most; 0: 1000 */
    size_t max_fetches;      /* ids fetched or retried at once; 0: 16
                                (at most cache_size) */
};

/* Build a registry. Strings in cfg are copied. loop and http are borrowed
 * and must outlive the registry; both may be NULL in schemas_dir mode.
 * Returns NULL with err (no url nor schemas_dir, both, bad URL scheme). */
struct herald__registry *
herald__registry_new(const struct herald__registry_config *cfg,
                     struct herald__loop *loop, struct herald__http *http,
                     char *err, size_t errlen);
/* Aborts fetches in flight (no waiter is called), frees every schema.
 * NULL-safe. */
void herald__registry_destroy(struct herald__registry *reg);

/* Called once per queued waiter on the loop thread when the schema's fate
 * is known: status HERALD__REGISTRY_OK (call get again: it now returns the
 * schema) or HERALD__REGISTRY_NOT_FOUND (get returns the reason); or, for
 * a caller that waited for a free fetch slot, id -1 and status
 * HERALD__REGISTRY_WAIT: call get again. */
typedef void (*herald__registry_fn)(void *ctx, int32_t id, int status);

/* The schema for id. Returns OK with *out (owned by the registry, valid
 * until the next call into it: the cache may evict it); NOT_FOUND with the
 * reason in err (e.g. "schema id 9999 not found in registry (404)"); or
 * WAIT, after queueing fn/ctx (once per fn/ctx/id, however often asked)
 * when fn is not NULL. In schemas_dir mode the answer is never WAIT. Loop
 * thread. */
int herald__registry_get(struct herald__registry *reg, int32_t id,
                         const struct herald__avro_schema **out,
                         herald__registry_fn fn, void *ctx, char *err,
                         size_t errlen);
/* Forget every waiter with this fn/ctx (its owner is going away). */
void herald__registry_cancel(struct herald__registry *reg,
                             herald__registry_fn fn, void *ctx);
/* How many ids the cache holds (*entries, never above cache_size) and how
 * many of them are being fetched or retried (*fetching). For tests and
 * metrics. */
void herald__registry_stats(const struct herald__registry *reg, size_t *entries,
                            size_t *fetching);

/* ---- pure helpers, exposed for tests -------------------------------- */

/* "{base}/schemas/ids/{id}" with one slash between base and path. Returns
 * the length written like snprintf, or -1. */
int herald__registry_url(const char *base, int32_t id, char *buf,
                         size_t buflen);
/* The Authorization header line for the config ("Authorization: Basic
 * <base64(user:password)>" or "Authorization: Bearer <token>"), or "" if
 * none. Returns the length written like snprintf, or -1. The result holds
 * a secret: never log it. */
int herald__registry_auth_header(const struct herald__registry_config *cfg,
                                 char *buf, size_t buflen);
/* Classify a response to GET /schemas/ids/{id}. curl_code is the transfer's
 * CURLcode (0 for done), status the HTTP status. Returns OK with
 * *schema_json (malloc'd, caller frees), NOT_FOUND (permanent) or WAIT
 * (temporary), with the reason in err either way. */
int herald__registry_parse_response(int32_t id, int curl_code, long status,
                                    const char *body, size_t len,
                                    char **schema_json, char *err,
                                    size_t errlen);

#endif
