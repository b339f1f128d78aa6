/*
 * decode.h - key and value decoding of Kafka records (decode.c).
 *
 * Value formats: avro (Confluent framing: 0x00, 4-byte big-endian schema
 * id, Avro binary), json (an optional Confluent JSON Schema frame is
 * skipped), string (UTF-8), bytes. A null value is a tombstone
 * (value_val NULL). Key formats: the same four, optionally windowed the
 * way ksqlDB writes windowed keys: the inner key's bytes, then for tumbling
 * and hopping windows the 8-byte big-endian window start, for session
 * windows the 8-byte end and then the 8-byte start.
 *
 * Decoding is pure except for Avro schemas, which come from the registry:
 * when one is not there yet, herald__decode_record answers WAIT, and the
 * decoder's ready callback fires when it is worth calling again.
 */
#ifndef HERALD_DECODE_H
#define HERALD_DECODE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "decode_budget.h"

struct herald_record;
struct herald__registry;
struct herald__decoder;

#define HERALD__DECODE_OK 0
#define HERALD__DECODE_POISON (-1) /* this record can never be decoded */
#define HERALD__DECODE_WAIT (-2)   /* schema not available yet: retry */

enum herald__format {
    HERALD__FORMAT_STRING = 0,
    HERALD__FORMAT_BYTES,
    HERALD__FORMAT_JSON,
    HERALD__FORMAT_AVRO,
};

enum herald__window {
    HERALD__WINDOW_NONE = 0,
    HERALD__WINDOW_TUMBLING,
    HERALD__WINDOW_HOPPING,
    HERALD__WINDOW_SESSION,
};

struct herald__format_spec {
    enum herald__format format;
    enum herald__window window; /* keys only */
    int64_t window_size_ms;     /* tumbling/hopping: end = start + size;
                                   0: end unknown (-1) */
    uint64_t max_nodes;         /* absolute output cap; 0: the default */
    uint64_t max_bytes;         /* absolute output cap; 0: the default */
};

/* Exact size of a jansson tree: *nodes values, *bytes string bytes
 * (values and object keys). For tests and the fuzz invariant. */
void herald__decode_tree_size(json_t *j, uint64_t *nodes, uint64_t *bytes);

/* "string", "bytes", "json", "avro" -> 0 and *out; -1 otherwise. */
int herald__format_parse(const char *s, enum herald__format *out);
/* "none", "tumbling", "hopping", "session" -> 0 and *out; -1 otherwise. */
int herald__window_parse(const char *s, enum herald__window *out);
const char *herald__format_name(enum herald__format f);

/* Called on the loop thread when a schema the decoder answered WAIT for
 * has arrived or failed for good: decode the waiting records again. */
typedef void (*herald__decode_ready_fn)(void *ctx);

/* A decoder for one connector. Specs are copied; registry is borrowed
 * (must outlive the decoder) and may be NULL unless a format is avro.
 * ready/ctx may be NULL (then WAIT is only a return code). Returns NULL
 * with err on a bad spec (window on a value, avro without registry). */
struct herald__decoder *
herald__decoder_new(const struct herald__format_spec *key,
                    const struct herald__format_spec *value,
                    struct herald__registry *reg, herald__decode_ready_fn ready,
                    void *ctx, char *err, size_t errlen);
/* Cancels pending registry waits. NULL-safe. */
void herald__decoder_destroy(struct herald__decoder *d);

/* Decode r->key and r->value into r->key_val, r->value_val (built in
 * r->arena, which is reset first), the window fields and r->schema_id,
 * replacing what an earlier call set. Returns HERALD__DECODE_OK;
 * HERALD__DECODE_POISON with the reason in err (prefixed "key: " or
 * "value: "), trees NULL; or HERALD__DECODE_WAIT (trees NULL, ready fires
 * later). Loop thread (the registry is). */
int herald__decode_record(struct herald__decoder *d, struct herald_record *r,
                          char *err, size_t errlen);

/* ---- pure pieces, for tests and fuzzing ----------------------------- */

/* Split a windowed key: *inner_len bytes of inner key, and the window.
 * end is -1 for tumbling/hopping unless size_ms > 0. Returns 0, or -1 with
 * err when the key is shorter than the window suffix or start + size_ms
 * does not fit in 64 bits. */
int herald__window_split(enum herald__window w, int64_t size_ms,
                         const void *key, size_t len, size_t *inner_len,
                         int64_t *start, int64_t *end, char *err,
                         size_t errlen);

/* Decode bytes in a registry-free format (string, bytes, json) into *out
 * (new reference; the record path decodes the same way into its arena),
 * within the default budget for len. Returns 0, or -1
 * with err. */
int herald__decode_plain(enum herald__format f, const void *buf, size_t len,
                         json_t **out, char *err, size_t errlen);
/* The same within budget b (charged with what is built; JSON is measured
 * by a scan of the text before it is parsed). */
int herald__decode_plain_budget(enum herald__format f, const void *buf,
                                size_t len, struct herald__decode_budget *b,
                                json_t **out, char *err, size_t errlen);

/* Split Confluent framing: magic 0x00 and a 4-byte big-endian id. Returns
 * 0 with *id, or -1 with err. */
int herald__confluent_frame(const void *buf, size_t len, int32_t *id, char *err,
                            size_t errlen);

#endif
