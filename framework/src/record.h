/*
 * record.h - the decoded record (record.c) and decoders (decode*.c).
 *
 * A record is what one Kafka message becomes after decoding: coordinates,
 * raw key/value/headers (borrowed from the consumer's message, kept alive by
 * the record), the decoded key and value as jansson trees, and the window
 * ksqlDB packed into a windowed key. Decimals are JSON strings rendered
 * exactly; bytes/fixed are strings of code points U+0000..U+00FF (Avro's
 * JSON encoding); timestamps/dates/times stay integers.
 */
#ifndef HERALD_RECORD_H
#define HERALD_RECORD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "herald/plugin.h"

struct herald__header {
    char *name;
    void *value; /* NULL for a null header value */
    size_t len;
};

struct herald_record {
    char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp; /* ms, -1 if none */

    void *key; /* raw bytes, NULL for a null key (owned copy) */
    size_t key_len;
    void *value; /* raw bytes, NULL for a tombstone (owned copy) */
    size_t value_len;
    struct herald__header *headers;
    size_t n_headers;

    json_t *key_tree;   /* decoded key, NULL if none */
    json_t *value_tree; /* decoded value, NULL for a tombstone */
    int has_window;
    int64_t window_start; /* ms */
    int64_t window_end;   /* ms, -1 when the key does not carry it */
    int32_t schema_id;    /* value schema id for avro, -1 otherwise */
};

/* Allocate a record copying topic, key, value (NULL-safe). Headers are
 * added with herald__record_add_header. */
struct herald_record *herald__record_new(const char *topic, int32_t partition,
                                         int64_t offset, int64_t timestamp,
                                         const void *key, size_t key_len,
                                         const void *value, size_t value_len);
int herald__record_add_header(struct herald_record *r, const char *name,
                              const void *value, size_t len);
void herald__record_destroy(struct herald_record *r);

/* Resolve a path against the record: "a.b[2].c" walks the decoded value;
 * "@key", "@key.x", "@topic", "@partition", "@offset", "@timestamp",
 * "@window.start", "@window.end", "@headers.NAME" address the rest.
 * Returns 0 and *out (borrowed, or a new reference in *owned when the value
 * had to be made; caller json_decref()s *owned, which may be NULL), *out
 * NULL when missing; -1 on a malformed path. */
int herald__record_lookup(const struct herald_record *r, const char *path,
                          json_t **out, json_t **owned);

/* The whole record as a JSON object: {"topic","partition","offset",
 * "timestamp","key","window":{"start","end"},"headers":{...},"value"}.
 * Returns a new reference. */
json_t *herald__record_to_json(const struct herald_record *r);

/* The host API record accessors (plugin.h) implemented over this struct. */
int herald__record_field(const struct herald_record *r, const char *path,
                         struct herald_value *out);
long herald__record_json(const struct herald_record *r, char *buf,
                         size_t buflen);

#endif
