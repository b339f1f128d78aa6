/*
 * record.h - the decoded record (record.c) and decoders (decode*.c).
 *
 * A record is what one Kafka message becomes after decoding: coordinates,
 * raw key/value/headers, the decoded key and value as compact value trees
 * (value.h) in the record's own arena, and the window ksqlDB packed into a
 * windowed key. Decimals are strings rendered exactly; bytes/fixed are
 * strings of code points U+0000..U+00FF (Avro's JSON encoding);
 * timestamps/dates/times stay integers.
 *
 * Lifetime: a record made by herald__record_borrow points into the
 * consumer's message (topic, value, headers) and keeps that message alive
 * until herald__record_destroy, which calls the release callback; one made
 * by herald__record_new owns copies. The raw key is always the record's
 * own NUL-terminated copy (the host API hands it out as a STRING). Every
 * pointer below lives as long as the record.
 *
 * Threads: a record is built and decoded on one thread (the loop); once
 * decoded it is read-only and may be read from any thread while it lives.
 * herald__record_new, _borrow and _destroy may be called from any thread:
 * destroyed records go back to a bounded, mutex-protected free list, so the
 * consume path allocates nothing per record in steady state.
 */
#ifndef HERALD_RECORD_H
#define HERALD_RECORD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "herald/plugin.h"
#include "value.h"

/* 1 in an AddressSanitizer build: destroyed records are freed, not
 * recycled, so that a use after destroy is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define HERALD__RECORD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HERALD__RECORD_ASAN 1
#endif
#endif
#ifndef HERALD__RECORD_ASAN
#define HERALD__RECORD_ASAN 0
#endif

struct herald__header {
    const char *name;  /* NUL-terminated */
    const void *value; /* NULL for a null header value; a NUL follows len */
    size_t len;
    char *own; /* record.c's: the copy to free, NULL when borrowed */
};

/* Releases what herald__record_borrow borrowed (e.g. the Kafka message). */
typedef void (*herald__record_release_fn)(void *opaque);

struct herald_record;
/* Adds a borrowed record's headers (herald__record_borrow_header) from
 * what it borrowed (opaque): called once, on first use. 0, or -1 when
 * memory ran out. */
typedef int (*herald__record_headers_fn)(void *opaque, struct herald_record *r);

struct herald_record {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp; /* ms, -1 if none */

    const void *key; /* raw bytes, NULL for a null key; NUL-terminated */
    size_t key_len;
    const void *value; /* raw bytes, NULL for a tombstone */
    size_t value_len;
    /* Read them through herald__record_headers: they may be deferred. */
    const struct herald__header *headers;
    size_t n_headers;
    herald__record_headers_fn load_headers; /* deferred until first use */

    /* Decoded key (NULL if none) and value (NULL for a tombstone or not
     * decoded), both in arena. Whoever sets them builds them in arena. */
    const struct herald__val *key_val;
    const struct herald__val *value_val;
    struct herald__arena arena;
    int has_window;
    int64_t window_start; /* ms */
    int64_t window_end;   /* ms, -1 when the key does not carry it */
    int32_t schema_id;    /* value schema id for avro, -1 otherwise */

    /* record.c's own: what it keeps, releases and recycles. */
    herald__record_release_fn release;
    void *opaque;
    char *copy; /* topic, key and value copies */
    size_t copy_cap;
    struct herald__header *hdrs; /* headers' storage */
    size_t hdrs_cap;
    struct herald_record *next_free;
};

/* A record copying topic, key, value (NULL-safe), or NULL when memory ran
 * out. Headers are added with herald__record_add_header. Any thread. */
struct herald_record *herald__record_new(const char *topic, int32_t partition,
                                         int64_t offset, int64_t timestamp,
                                         const void *key, size_t key_len,
                                         const void *value, size_t value_len);

/* A record that borrows topic and value (which must stay valid until
 * release(opaque) runs) and copies only the key (for its NUL). Headers are
 * added with herald__record_borrow_header. herald__record_destroy calls
 * release(opaque) once (release may be NULL). Returns NULL when memory ran
 * out; then release is not called and the caller still owns what it lent.
 * Any thread. */
struct herald_record *
herald__record_borrow(const char *topic, int32_t partition, int64_t offset,
                      int64_t timestamp, const void *key, size_t key_len,
                      const void *value, size_t value_len,
                      herald__record_release_fn release, void *opaque);

/* Add a header, copying name and value. 0, or -1 when memory ran out (the
 * record is unchanged). */
int herald__record_add_header(struct herald_record *r, const char *name,
                              const void *value, size_t len);
/* Add a header that borrows name and value (value NUL-terminated at len, or
 * NULL) for the record's life, as what herald__record_borrow borrowed. 0,
 * or -1 when memory ran out (the record is unchanged). */
int herald__record_borrow_header(struct herald_record *r, const char *name,
                                 const void *value, size_t len);

/* Defers r's headers to their first use: load(r's opaque, r) adds them
 * then. Parsing a Kafka message's headers allocates even when it has
 * none, and most records are never asked for theirs. */
void herald__record_defer_headers(struct herald_record *r,
                                  herald__record_headers_fn load);

/* r's headers, *n of them, after loading deferred ones. The record is
 * otherwise immutable; this fills a cache, so: loop thread only, like
 * every host API call on a record. If loading runs out of memory, the
 * headers added so far are all there is. */
const struct herald__header *
herald__record_headers(const struct herald_record *r, size_t *n);

/* Releases what the record borrowed and recycles it. NULL-safe. Any
 * thread; nothing the record handed out may be used afterwards. */
void herald__record_destroy(struct herald_record *r);

/* Frees the records kept for reuse (tests, exit). Any thread. */
void herald__record_pool_clear(void);

/* j (a jansson tree) copied into r's arena, for key_val or value_val; NULL
 * when j is NULL or memory ran out. For tests and callers off the hot
 * path. */
const struct herald__val *herald__record_val_from_json(struct herald_record *r,
                                                       const json_t *j);

/* Resolve a path against the record: "a.b[2].c" walks the decoded value;
 * "@key", "@key.x", "@value", "@topic", "@partition", "@offset",
 * "@timestamp", "@window.start", "@window.end", "@headers.NAME" address the
 * rest. Returns 0 and *out NULL when missing, or *out a new jansson tree
 * that is also in *owned (the caller json_decref()s *owned; *out is never
 * borrowed from the record); -1 on a malformed path or when memory ran out.
 * Off the hot path (templates, notify, dedup). */
int herald__record_lookup(const struct herald_record *r, const char *path,
                          json_t **out, json_t **owned);

/* The whole record as a JSON object: {"topic","partition","offset",
 * "timestamp","key","window":{"start","end"},"headers":{...},"value"}.
 * Returns a new reference, or NULL when memory ran out. */
json_t *herald__record_to_json(const struct herald_record *r);

/* The host API record accessors (plugin.h) implemented over this struct:
 * record_field reads the value trees directly (strings point into the
 * record); record_json writes like snprintf. */
int herald__record_field(const struct herald_record *r, const char *path,
                         struct herald_value *out);
long herald__record_json(const struct herald_record *r, char *buf,
                         size_t buflen);

#endif
