/*
 * herald/plugin.h - the one header a herald plugin includes (ABI v1.2).
 *
 * A plugin is a shared object that exports exactly one symbol,
 * HERALD_PLUGIN_SYMBOL ("herald_plugin"), a const struct herald_plugin.
 * The host checks abi_major/abi_minor/struct_size before it reads anything
 * else, then copies min(struct_size, sizeof) bytes into a zeroed struct, so
 * members appended in later minors read as NULL/0 for older plugins.
 *
 * Sizes (ABI 1.1 on). Every struct that crosses the boundary carries its size,
 * so either side can be older than the other:
 *   struct            made by   its size travels in
 *   herald_plugin     plugin    .struct_size (first members)
 *   herald_option[]   plugin    herald_plugin.option_size (the stride)
 *   herald_host_api   host      .struct_size (first members)
 *   herald_message    host      .struct_size (first member)
 *   herald_header[]   host      herald_message.header_size (the stride)
 *   herald_value      plugin    the out_size argument of record_field_v2,
 *                               value_member and value_item
 * The reader of a smaller struct than its own zero-fills the rest (the host
 * does this for plugin structs); the reader of a larger one reads its own
 * prefix. Arrays step by their stride, never by the reader's sizeof; and
 * since a 1.0 plugin indexes message headers by its own sizeof, a host
 * whose herald_header grew hands plugins of an older minor their layout. A
 * plugin reads a member appended after 1.0 only after testing for it:
 * HERALD_API_HAS(api, member) for the host API, HERALD_MESSAGE_HAS(m, member)
 * for a message. That matters when a plugin lowers .abi_minor below the
 * header's to load on older hosts: a host refuses plugins that declare a newer
 * minor than its own, and hands the rest the API table of its own minor.
 *
 * Everything the host hands a plugin is borrowed: the plugin never frees it,
 * and the host never frees anything the plugin allocated. Lifetimes are
 * stated on each member. Nothing from librdkafka, avro-c, libyaml or libuv
 * crosses this boundary; libcurl easy handles do (as void *), because
 * channels build their own transfers and run them on the host's multi handle.
 *
 * The file is named <name>.so after the plugin's `name`; the host finds it
 * by that name on its search path.
 *
 * Threads: the host calls every plugin callback on its loop thread. The
 * plugin may call api->complete() from any thread; every other host API
 * function must be called on the loop thread (from inside a callback).
 */
#ifndef HERALD_PLUGIN_H
#define HERALD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HERALD_ABI_MAJOR 1
/* Minor versions add to the ABI without changing what exists; a host
 * loads plugins of its major built for its minor or an older one.
 *   1.0  the first ABI.
 *   1.1  outcome HERALD_UNAVAILABLE; sizes on every struct
 *        (herald_plugin.option_size, herald_message.header_size,
 *        record_field_v2); HERALD_API_HAS; open2, which gets the API
 *        table; the close rule (see close); typed option access
 *        (opt_get, herald_opt_*); transfer_submit, the same function as
 *        http_submit under the name of what it does; message field
 *        declarations (herald_plugin.fields, herald_message.fields); the
 *        JSON POST helper (json_post_new/_send/_destroy).
 *   1.2  walking a decoded value without paths: herald_value.node,
 *        value_member (an object's members in order, with their names)
 *        and value_item (an array's items). */
#define HERALD_ABI_MINOR 2

/* Name of the single symbol a plugin exports. */
#define HERALD_PLUGIN_SYMBOL "herald_plugin"

#if defined(__GNUC__)
#define HERALD_EXPORT __attribute__((visibility("default")))
#else
#define HERALD_EXPORT
#endif

/* Declare the exported plugin struct:
 *   HERALD_PLUGIN_DEFINE = { HERALD_PLUGIN_HEADER, .name = "x", ... };   */
#define HERALD_PLUGIN_DEFINE                                                   \
    HERALD_EXPORT const struct herald_plugin herald_plugin
#define HERALD_PLUGIN_HEADER                                                   \
    .abi_major = HERALD_ABI_MAJOR, .abi_minor = HERALD_ABI_MINOR,              \
    .struct_size = sizeof(struct herald_plugin),                               \
    .option_size = sizeof(struct herald_option)

/* 1 if a struct of `size` bytes (as its maker reported it) holds `member`
 * of `type` whole. */
#define HERALD_SIZE_HAS(size, type, member)                                    \
    (offsetof(type, member) + sizeof(((type *)0)->member) <= (size_t)(size))

/* 1 if the host API table `api` has `member` and it is set: test every
 * member added after ABI 1.0 (marked "ABI 1.1" or "ABI 1.2" below) before
 * calling it, e.g. once in init or open2:
 *     if (!HERALD_API_HAS(api, transfer_submit)) { ...refuse... }
 * A member the host's table is too short to hold is never read. */
#define HERALD_API_HAS(api, member)                                            \
    (HERALD_SIZE_HAS((api)->struct_size, struct herald_host_api, member) &&    \
     (api)->member != NULL)

/* 1 if the message `m` has `member` (one added after ABI 1.0). */
#define HERALD_MESSAGE_HAS(m, member)                                          \
    HERALD_SIZE_HAS((m)->struct_size, struct herald_message, member)

/* Opaque host objects. All are owned by the host. */
struct herald_instance;  /* one configured instance of a plugin */
struct herald_options;   /* validated options of one instance */
struct herald_batch;     /* records or messages handed to deliver() */
struct herald_json_post; /* a JSON POST sender (host API json_post_new) */
struct herald_record;    /* one decoded Kafka record (read-only view) */

enum herald_plugin_kind {
    HERALD_PLUGIN_SINK = 1,   /* receives decoded records */
    HERALD_PLUGIN_NOTIFY = 2, /* receives rendered messages */
};

enum herald_log_level {
    HERALD_LOG_ERROR = 0,
    HERALD_LOG_WARN = 1,
    HERALD_LOG_INFO = 2,
    HERALD_LOG_DEBUG = 3,
};

/* Per-item outcome. RETRY and REJECT are not final until the host decides
 * (backoff, dead-letter path); the plugin only classifies.
 *
 * UNAVAILABLE (ABI 1.1) says the channel failed, not this record: the
 * receiver refused the plugin's credential (SMTP 535, HTTP 401/403), the
 * TLS handshake or certificate check failed, and the like; every other
 * record would fail the same way until someone fixes the channel. The
 * host then holds the item (neither final nor rejected; nothing past it is
 * committed), pauses every partition of the connector, sends nothing more
 * but one item at a time as a probe, with a capped backoff, and resumes
 * when a probe comes back with any other outcome. Waiting for the channel
 * does not count against the item's retries or errors.retry.timeout. The
 * reason is shown by the admin endpoint and logged once per interval: it
 * must say what failed and never carry a secret. */
enum herald_outcome {
    HERALD_OK = 0,
    HERALD_RETRY = 1,
    HERALD_REJECT = 2,
    HERALD_UNAVAILABLE = 3,
};

/* ---- Options table --------------------------------------------------- */

enum herald_opt_type {
    HERALD_OPT_STRING = 1,
    HERALD_OPT_INT,      /* int64 */
    HERALD_OPT_BOOL,     /* true/false */
    HERALD_OPT_DURATION, /* "250ms", "30s", "5m", "1h", "1d"; read in ms */
    HERALD_OPT_SIZE,     /* "512", "64KiB", "10MB", "1GiB"; read in bytes */
    HERALD_OPT_ENUM,     /* one of enum_values */
    HERALD_OPT_LIST,     /* YAML sequence of scalars, or one scalar */
};

/* One declared option. A table ends with an entry whose name is NULL.
 * default_value is written as it would be in YAML ("30s", "true", "25").
 * A secret option is redacted wherever the host prints or logs config.
 * The host walks the table with the stride herald_plugin.option_size
 * (ABI 1.1; HERALD_PLUGIN_HEADER sets it), so members can be appended;
 * positional initializers keep working. */
struct herald_option {
    const char *name;
    enum herald_opt_type type;
    const char *default_value;      /* NULL: no default */
    int required;                   /* non-zero: must be set */
    int secret;                     /* non-zero: never printed */
    const char *const *enum_values; /* NULL-terminated, for HERALD_OPT_ENUM */
    const char *help;               /* one line */
};

/* ---- Values (typed field access) ------------------------------------ */

enum herald_value_type {
    HERALD_VALUE_MISSING = 0, /* path does not exist */
    HERALD_VALUE_NULL,
    HERALD_VALUE_BOOL,
    HERALD_VALUE_INT,    /* int64 (Avro int/long, dates, timestamps) */
    HERALD_VALUE_DOUBLE, /* Avro float/double, JSON reals */
    HERALD_VALUE_STRING, /* UTF-8; also decimals, rendered exactly, and
                            Avro bytes/fixed as code points U+0000..U+00FF
                            (Avro's JSON encoding) */
    HERALD_VALUE_BYTES,  /* raw bytes: non-UTF-8 keys and header values */
    HERALD_VALUE_ARRAY,  /* count = number of items */
    HERALD_VALUE_OBJECT, /* count = number of members */
};

/* A borrowed view of one value; str and node point into host memory that
 * lives as long as the record it came from. The host fills it (record_field
 * writes the 1.0 members only, through count; record_field_v2,
 * value_member and value_item write what their out_size covers); a plugin
 * only reads it and hands it back. */
struct herald_value {
    enum herald_value_type type;
    int boolean;
    int64_t integer;
    double real;
    const char *str; /* STRING, BYTES; not NUL-terminated for BYTES */
    size_t len;      /* STRING, BYTES */
    size_t count;    /* ARRAY, OBJECT */

    /* ABI 1.2: the host's own node of the decoded key or value tree this
     * value is (opaque), or NULL when it is not from that tree: the raw
     * key when the key is not decoded, @headers.*, @topic, @partition,
     * @offset, @timestamp, @window.*, a null @value, MISSING. value_member
     * and value_item read it; a plugin only passes it back. */
    const void *node;
};

/* ---- Message fields (notify kind, ABI 1.1) --------------------------- */

/* How the host validates one field of a connector's `notify:` section and
 * what the channel gets for it. Every kind is a template ({{path | filter}})
 * or, for JSON, a YAML tree of them. */
enum herald_field_kind {
    /* One or more email addresses: a template or a YAML list of them, each
     * rendering exactly one `local@domain` or `Name <local@domain>`. The
     * channel gets items/n_items (value is the first item). */
    HERALD_FIELD_ADDRESS_LIST = 1,
    /* One email address, checked like an ADDRESS_LIST item. */
    HERALD_FIELD_ADDRESS = 2,
    /* One line: valid UTF-8 without any control code point (C0 with TAB,
     * DEL, C1, U+2028, U+2029); the rule for mail headers, and for any
     * short text a receiver shows on one line (a title, a summary). */
    HERALD_FIELD_HEADER_TEXT = 3,
    /* Free text: valid UTF-8, newlines normalized to LF. `NAME_file: PATH`
     * in the config reads the template from a file (relative to the
     * config's directory) instead of `NAME:`. */
    HERALD_FIELD_TEXT = 4,
    /* A JSON document: the YAML value (map, list or scalar) is the shape,
     * each string leaf a template rendering a JSON string; plain YAML
     * numbers, true, false and null stay what they are. The host builds
     * the JSON itself, so record data can never change its structure. The
     * channel gets compact JSON text. */
    HERALD_FIELD_JSON = 5,
    /* One of enum_values exactly (a template; a constant one is checked at
     * load, a rendered one per record: another value REJECTs it). */
    HERALD_FIELD_ENUM = 6,
};

/* One declared field. A table ends with an entry whose name is NULL. The
 * host reads the table with the stride herald_plugin.field_size, so this
 * struct may grow at its end in later minors. */
struct herald_field {
    const char *name; /* the key under `notify:`; [a-z0-9_], not one of
                         channel, idempotency_key, sensitive,
                         allow_sensitive */
    enum herald_field_kind kind;
    int required;                   /* non-zero: the connector must set it */
    const char *const *enum_values; /* NULL-terminated, for ENUM */
    const char *help;               /* one line */
};

/* A rendered field, handed to the channel in herald_message.fields in the
 * order of the plugin's declaration (fields[i] is the i-th declared
 * field). Borrowed like the message. */
struct herald_field_value {
    const char *name;         /* the declared name */
    const char *value;        /* NUL-terminated; NULL when an optional field is
                                 not set in the config */
    const char *const *items; /* ADDRESS_LIST: every address; else NULL */
    size_t n_items;
};

/* ---- Messages (notify kind) ----------------------------------------- */

/* One extra header of a message. Index a message's headers with
 * herald_message_header(m, i), which steps by m->header_size. */
struct herald_header {
    const char *name;
    const char *value;
};

/* A rendered email. Every string is NUL-terminated UTF-8. Where it will
 * become a header or an SMTP command (from, to, cc, reply_to, subject,
 * header values) the host checked it by code point: valid UTF-8 and no C0
 * control (TAB too), DEL, C1 control (NEL U+0085), U+2028 or U+2029; a
 * channel writing headers should check the same again. A subject may be
 * longer than 998 octets: fold or encode it, never refuse it.
 * Borrowed until the plugin reports the item's outcome. */
struct herald_message {
    size_t struct_size; /* sizeof as the host built it */
    const char *from;   /* NULL: the channel uses its own `from` option */
    const char *const *to;
    size_t n_to;
    const char *const *cc;
    size_t n_cc;
    const char *reply_to; /* NULL if none */
    const char *subject;
    const char *text; /* NULL if none */
    const char *html; /* NULL if none */
    const struct herald_header *headers;
    size_t n_headers;
    /* Stable per notification: HMAC-SHA-256 of the dedup key under the
     * deployment's hash_key, 64 lowercase hex digits. The only form of
     * the dedup key (which holds record data, e.g. the card number) a
     * channel gets; safe on the wire. */
    const char *idempotency_key;
    const char *topic; /* source coordinates */
    int32_t partition;
    int64_t offset;
    const struct herald_record *record; /* the source record */
    /* ABI 1.1: sizeof(struct herald_header) as the host built `headers`,
     * the stride between them. Test HERALD_MESSAGE_HAS(m, header_size);
     * herald_message_header() does. */
    size_t header_size;

    /* ABI 1.1, for a channel that declares fields (herald_plugin.fields):
     * one entry per declared field, in declaration order; the email
     * members above are then NULL/0. A channel without the declaration
     * gets the email members and fields NULL, n_fields 0. Read these only
     * when struct_size covers them. */
    const struct herald_field_value *fields;
    size_t n_fields;
};

/* The i-th header of m (i < m->n_headers), stepping by the host's
 * header_size, so a plugin built before herald_header grew still finds
 * every header. */
static inline const struct herald_header *
herald_message_header(const struct herald_message *m, size_t i)
{
    const char *base = (const char *)m->headers;
    size_t stride = sizeof(struct herald_header);

    if (HERALD_MESSAGE_HAS(m, header_size) && m->header_size != 0) {
        stride = m->header_size;
    }
    return (const struct herald_header *)(const void *)(base + i * stride);
}

/* Completion of a transfer submitted with transfer_submit (or its 1.0
 * name http_submit). curl_code is the CURLcode the transfer ended with;
 * HERALD_TRANSFER_ABORTED only when the host cancelled it because the
 * instance is closing (submit nothing more then). Called on the loop
 * thread. The easy handle stays the plugin's. */
#define HERALD_TRANSFER_ABORTED (-1)
#define HERALD_HTTP_ABORTED HERALD_TRANSFER_ABORTED /* its 1.0 name */
typedef void (*herald_transfer_done_fn)(void *ctx, void *easy, int curl_code);
typedef herald_transfer_done_fn herald_http_done_fn; /* its 1.0 name */

/* Settings of a JSON POST sender (host API json_post_new). Set
 * struct_size = sizeof(struct herald_json_post_config); zero what you do
 * not use. */
struct herald_json_post_config {
    size_t struct_size;
    const char *url; /* http:// or https:// */
    /* Extra request lines "Name: value" (Content-Type: application/json
     * is always sent). May hold credentials: never logged. */
    const char *const *headers;
    size_t n_headers;
    long max_in_flight;         /* at least 1 */
    int64_t connect_timeout_ms; /* 0: 10 s */
    int64_t timeout_ms;         /* whole request; 0: 30 s */
    const char *ca_file;        /* PEM CA bundle; NULL: the system store */
    const char *user_agent;     /* NULL: "herald" */
};

/* ---- Host API (append-only) ----------------------------------------- */

struct herald_host_api {
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t struct_size;

    /* Logging through the host's logger, one line per call. inst may be
     * NULL (from init). The text becomes the line's msg="..." field, so
     * write a plain sentence; the host adds plugin= and instance=. Never
     * pass a secret. */
    void (*log)(struct herald_instance *inst, enum herald_log_level level,
                const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;

    /* Options of an instance, validated against the plugin's table before
     * open(). Unset options without default: string NULL, numbers 0,
     * *is_set 0. Returned strings live until close(). A misspelt name
     * reads as unset here: prefer opt_get (ABI 1.1), which refuses it. */
    const char *(*opt_string)(const struct herald_options *o, const char *name);
    int64_t (*opt_int)(const struct herald_options *o, const char *name);
    int (*opt_bool)(const struct herald_options *o, const char *name);
    int64_t (*opt_duration_ms)(const struct herald_options *o,
                               const char *name);
    int64_t (*opt_size)(const struct herald_options *o, const char *name);
    size_t (*opt_list_count)(const struct herald_options *o, const char *name);
    const char *(*opt_list_item)(const struct herald_options *o,
                                 const char *name, size_t i);
    int (*opt_is_set)(const struct herald_options *o, const char *name);

    /* Batches. batch_record works for both kinds; batch_message only for
     * notify plugins (NULL otherwise). Valid until the item's outcome is
     * reported. */
    size_t (*batch_count)(const struct herald_batch *b);
    const struct herald_record *(*batch_record)(const struct herald_batch *b,
                                                size_t i);
    const struct herald_message *(*batch_message)(const struct herald_batch *b,
                                                  size_t i);

    /* Report item i's outcome exactly once. Any thread. retry_after_ms: for
     * RETRY, the least wait the receiver asked for (0: none). reason: for
     * RETRY/REJECT/UNAVAILABLE, copied by the host; may be NULL. The batch
     * must not be touched after the last item is completed. */
    void (*complete)(struct herald_batch *b, size_t i,
                     enum herald_outcome outcome, int64_t retry_after_ms,
                     const char *reason);

    /* Record view. Strings and bytes are borrowed for the record's life. */
    const char *(*record_topic)(const struct herald_record *r);
    int32_t (*record_partition)(const struct herald_record *r);
    int64_t (*record_offset)(const struct herald_record *r);
    int64_t (*record_timestamp)(const struct herald_record *r); /* ms */
    const void *(*record_key)(const struct herald_record *r, size_t *len);
    const void *(*record_value)(const struct herald_record *r, size_t *len);
    size_t (*record_header_count)(const struct herald_record *r);
    /* Returns 0 and fills name/value/len, or -1 if i is out of range. */
    int (*record_header)(const struct herald_record *r, size_t i,
                         const char **name, const void **value, size_t *len);
    /* 1 and start/end (ms) for a windowed key, 0 otherwise. end is -1 when
     * the key does not carry it (tumbling/hopping keys carry only start). */
    int (*record_window)(const struct herald_record *r, int64_t *start,
                         int64_t *end);
    /* Typed access by path into the decoded value ("a.b[2].c"); paths that
     * start with "@key" address the decoded key. 0 on success (out->type
     * may be MISSING); -1 on a malformed path (out reads MISSING). Writes
     * exactly the ABI 1.0 struct (type through count, never node, which a
     * 1.0 plugin's struct does not have): use record_field_v2 for a value
     * to walk with value_member/value_item. */
    int (*record_field)(const struct herald_record *r, const char *path,
                        struct herald_value *out);
    /* The whole record as one JSON object (coordinates, key, window, value)
     * written into buf like snprintf: returns the length it needs, writes
     * at most buflen bytes including the NUL. Returns -1 on error. */
    long (*record_json)(const struct herald_record *r, char *buf,
                        size_t buflen);

    /* Metrics: add delta to the counter `name` (copied) of this instance.
     * Loop thread only (init, open, deliver, http_submit's done): the
     * admin endpoint's /metrics reads the counters there. */
    void (*counter_add)(struct herald_instance *inst, const char *name,
                        int64_t delta);

    /* Run a libcurl easy transfer (a CURL *, built by the plugin) on the
     * host's shared multi handle. done is called once on the loop thread
     * when it ends. The plugin must not touch the handle until then, and
     * must not free it before. Returns 0, or -1 if it could not be added.
     * Any protocol libcurl speaks (HTTP, SMTP, ...): ABI 1.1 names it
     * transfer_submit; this is the same function. */
    int (*http_submit)(struct herald_instance *inst, void *easy,
                       herald_http_done_fn done, void *ctx);

    /* ---- ABI 1.1: test each with HERALD_API_HAS before use ---- */

    /* http_submit under the name of what it does: the same function. */
    int (*transfer_submit)(struct herald_instance *inst, void *easy,
                           herald_transfer_done_fn done, void *ctx);

    /* Typed option access that fails loudly. Writes option `name` of the
     * instance into out, which must be out_size bytes of the C type of
     * `type`: const char * (STRING, ENUM), int64_t (INT; DURATION in ms;
     * SIZE in bytes), int (BOOL), size_t (LIST: the item count; items
     * through opt_list_item). Returns 0 (the set value or the default),
     * 1 (unset and no default; out zeroed), or -1 when the plugin's table
     * does not declare `name`, declares another type, or out_size is
     * wrong: then it also logs, once per instance and name, e.g.
     * "option 'x' is not declared by plugin P", and leaves out alone.
     * Loop thread, from open/open2 on. Use the herald_opt_* wrappers
     * below, which pick type and out_size for you. */
    int (*opt_get)(struct herald_instance *inst, const char *name,
                   enum herald_opt_type type, void *out, size_t out_size);

    /* record_field with the size of the plugin's struct herald_value: the
     * host writes min(out_size, its own size) bytes and zeroes the rest of
     * out. 0 on success, -1 on a malformed path or out_size smaller than
     * the 1.0 struct (out untouched). (record_field writes exactly the 1.0
     * struct.) Pass sizeof(struct herald_value): with ABI 1.2, out->node
     * is then set for a value from the decoded key or value tree. */
    int (*record_field_v2)(const struct herald_record *r, const char *path,
                           struct herald_value *out, size_t out_size);

    /* ---- JSON POST helper (ABI 1.1) ----
     * The common shape of a chat, paging or webhook channel: POST one JSON
     * body per item to one URL, at most max_in_flight at once (the rest
     * wait in a FIFO inside the helper), on the host's shared multi handle,
     * and report each item's outcome itself:
     *   2xx                                          HERALD_OK
     *   408, 429, 5xx; connect error, timeout, reset HERALD_RETRY, at least
     *                                   Retry-After (seconds or HTTP date,
     *                                   capped at 1 h) when the answer has it
     *   401, 403; TLS failures, bad URL  HERALD_UNAVAILABLE
     *   other statuses (400, 404, 413, 422, 3xx...)  HERALD_REJECT
     * The reason names the status and the start of the answer's body
     * (printable ASCII, at most 200 bytes). It counts `sent`, `retried`,
     * `rejected` and `unavailable` on the instance (counter_add). Loop
     * thread only, like every member but complete. */

    /* Create a sender for inst. The config and everything it points to is
     * copied (header lines may hold secrets: they are never logged).
     * Returns NULL with a message in err on a bad config (url not http://
     * or https://, a header line with a control character or without
     * ':', max_in_flight < 1) or out of memory. Typically called in open;
     * destroy it in close. */
    struct herald_json_post *(*json_post_new)(
        struct herald_instance *inst, const struct herald_json_post_config *cfg,
        char *err, size_t errlen);

    /* Queue item i of batch b with this body (len bytes, copied) and start
     * it when there is room. Its outcome is reported through complete()
     * by the helper, never by the caller. Returns 0, or -1 (out of
     * memory, or the sender is closing) when nothing was queued: the
     * caller then reports the item itself. */
    int (*json_post_send)(struct herald_json_post *p, struct herald_batch *b,
                          size_t i, const char *body, size_t len);

    /* Abort what is in flight and report every item still queued or
     * running as HERALD_RETRY ("channel closing"), then free. NULL is a
     * no-op. */
    void (*json_post_destroy)(struct herald_json_post *p);

    /* ---- ABI 1.2: test each with HERALD_API_HAS before use ----
     * Walking a decoded value without paths: start from record_field_v2
     * (e.g. "@value", "@key", or any path) with out_size =
     * sizeof(struct herald_value), then step to members and items; each
     * step is O(1) (no path is parsed, nothing is searched). obj/arr must
     * have been filled by one of these three calls with an out_size that
     * covers node (record_field, the 1.0 call, never sets it). Results
     * (out, *name) live as long as the record: until the item's outcome is
     * reported. Loop thread only, like the other record calls.
     * Each returns 0, or -1 and leaves out and *name, *name_len untouched
     * when: obj/arr or out is NULL, obj/arr has no node (not from the
     * decoded tree), its node is not an object (value_member) or not an
     * array (value_item), i >= count, or out_size is smaller than the 1.0
     * struct (through count).
     * Otherwise out is written like record_field_v2 writes it:
     * min(out_size, the host's size) bytes, the rest of out zeroed. */

    /* Member i (< obj->count) of an OBJECT, in the order of the decoded
     * data (an Avro record's schema order, an Avro map's or a JSON
     * object's order in the data; names are unique: a repeated one stays
     * at its first position with its last value): *name (*name_len bytes
     * of UTF-8, then a NUL; name or name_len may be NULL) and its value
     * in out. */
    int (*value_member)(const struct herald_value *obj, size_t i,
                        const char **name, size_t *name_len,
                        struct herald_value *out, size_t out_size);

    /* Item i (< arr->count) of an ARRAY, into out. */
    int (*value_item)(const struct herald_value *arr, size_t i,
                      struct herald_value *out, size_t out_size);
};

/* Typed wrappers over opt_get: the compiler checks out's type. Each
 * returns -1 if the host has no opt_get (a host older than ABI 1.1). */
static inline int herald_opt_get_checked(const struct herald_host_api *api,
                                         struct herald_instance *inst,
                                         const char *name,
                                         enum herald_opt_type type, void *out,
                                         size_t out_size)
{
    if (!HERALD_API_HAS(api, opt_get)) {
        return -1;
    }
    return api->opt_get(inst, name, type, out, out_size);
}

static inline int herald_opt_string(const struct herald_host_api *api,
                                    struct herald_instance *inst,
                                    const char *name, const char **out)
{
    return herald_opt_get_checked(api, inst, name, HERALD_OPT_STRING, out,
                                  sizeof(*out));
}

static inline int herald_opt_enum(const struct herald_host_api *api,
                                  struct herald_instance *inst,
                                  const char *name, const char **out)
{
    return herald_opt_get_checked(api, inst, name, HERALD_OPT_ENUM, out,
                                  sizeof(*out));
}

static inline int herald_opt_int(const struct herald_host_api *api,
                                 struct herald_instance *inst, const char *name,
                                 int64_t *out)
{
    return herald_opt_get_checked(api, inst, name, HERALD_OPT_INT, out,
                                  sizeof(*out));
}

static inline int herald_opt_bool(const struct herald_host_api *api,
                                  struct herald_instance *inst,
                                  const char *name, int *out)
{
    return herald_opt_get_checked(api, inst, name, HERALD_OPT_BOOL, out,
                                  sizeof(*out));
}

static inline int herald_opt_duration_ms(const struct herald_host_api *api,
                                         struct herald_instance *inst,
                                         const char *name, int64_t *out)
{
    return herald_opt_get_checked(api, inst, name, HERALD_OPT_DURATION, out,
                                  sizeof(*out));
}

static inline int herald_opt_size(const struct herald_host_api *api,
                                  struct herald_instance *inst,
                                  const char *name, int64_t *out)
{
    return herald_opt_get_checked(api, inst, name, HERALD_OPT_SIZE, out,
                                  sizeof(*out));
}

static inline int herald_opt_list_count(const struct herald_host_api *api,
                                        struct herald_instance *inst,
                                        const char *name, size_t *out)
{
    return herald_opt_get_checked(api, inst, name, HERALD_OPT_LIST, out,
                                  sizeof(*out));
}

/* ---- The exported plugin struct ------------------------------------- */

struct herald_plugin {
    uint32_t abi_major;   /* HERALD_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor;   /* HERALD_ABI_MINOR the plugin was built with */
    uint32_t struct_size; /* sizeof(struct herald_plugin) when built */

    const char *name;        /* unique; what `plugin:` in YAML names */
    const char *version;     /* the plugin's own version */
    const char *description; /* one line */
    enum herald_plugin_kind kind;
    const struct herald_option *options; /* may be NULL: no options */

    /* Once per loaded .so, before any open. api lives until destroy.
     * Returns 0, or -1 with a message in err. Optional. */
    int (*init)(const struct herald_host_api *api, char *err, size_t errlen);

    /* Once per configured instance. Store what you need in *state. inst
     * and opts live until close(). Returns 0, or -1 with err. Required,
     * unless open2 (ABI 1.1) is set, which the host then calls instead. */
    int (*open)(struct herald_instance *inst, const struct herald_options *opts,
                void **state, char *err, size_t errlen);

    /* Start delivering every item of b; return at once. Each item's
     * outcome is reported later (or right away) with api->complete. A
     * non-zero return means the plugin could not start any item: the host
     * treats every item as RETRY. Required. */
    int (*deliver)(void *state, struct herald_batch *b);

    /* Release the instance. Required. Before close the host stopped
     * delivering to the instance, waited for outstanding items (up to its
     * drain timeout), and aborted the transfers still running (their done
     * callbacks ran, with HERALD_TRANSFER_ABORTED).
     *
     * The close rule (ABI 1.1, for plugins of every minor): close may
     * still complete items, from any thread, until it returns. Every item
     * delivered to this instance and not completed when close returns is
     * completed by the host as RETRY, reason "plugin NAME closed with the
     * item outstanding", so it is delivered again (at least once, never
     * lost). So close must stop and join the plugin's threads: a complete()
     * for this instance after close returned is ignored and logged, never
     * applied, and the batch is not the plugin's to touch any more. */
    void (*close)(void *state);

    /* Once per .so before dlclose, only if init succeeded (or there is no
     * init). Optional. */
    void (*destroy)(void);

    /* ---- ABI 1.1 ---- */

    /* sizeof(struct herald_option) as built: the stride of `options`. Set
     * by HERALD_PLUGIN_HEADER; a plugin with options whose struct_size
     * holds this member must set it (one whose struct_size ends before it
     * has the 1.0 table layout). */
    uint32_t option_size;

    /* open with the host API table: a plugin that uses it needs no global
     * and no init. Called instead of open when set. api lives until
     * destroy; the rest as for open. Optional. */
    int (*open2)(const struct herald_host_api *api,
                 struct herald_instance *inst,
                 const struct herald_options *opts, void **state, char *err,
                 size_t errlen);

    /* ABI 1.1, notify kind: the message fields this channel takes under a
     * connector's `notify:` (see enum herald_field_kind), set with
     * HERALD_FIELDS(table). herald check reports a key the table does not
     * declare and a required field that is missing, with file:line:col;
     * each rendered message carries the values in herald_message.fields.
     * NULL: an email channel (from, to, cc, reply_to, subject, text/html,
     * headers), as in ABI 1.0. */
    const struct herald_field *fields;
    uint32_t field_size; /* sizeof(struct herald_field) when built */
};

/* .fields and .field_size of the plugin struct, from a table. */
#define HERALD_FIELDS(table)                                                   \
    .fields = (table), .field_size = sizeof(struct herald_field)

#ifdef __cplusplus
}
#endif

#endif /* HERALD_PLUGIN_H */
