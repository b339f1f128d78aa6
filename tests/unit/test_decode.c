/*
 * test_decode.c - formats, Confluent framing and ksqlDB windowed keys
 * (decode.c), end to end through the registry's schemas_dir mode with the
 * tutorial's possible_anomalies record written by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "api.h"
#include "decode.h"
#include "record.h"
#include "registry.h"
#include "worker.h"

#define SCHEMAS HERALD_SOURCE_DIR "/tests/data/avro/schemas"

/* possible_anomalies value, schema id 100 */
static const char PA[] =
    "\x00\x00\x00\x00\x64\x02\x1e\x33\x35\x38\x35\x37\x39\x36\x39\x39\x34"
    "\x31\x30\x30\x39\x39\x02\x22\x61\x6c\x69\x63\x65\x40\x65\x78\x61\x6d"
    "\x70\x6c\x65\x2e\x63\x6f\x6d\x02\x06\x02\x04\x5a\xc9\x02\x06\x02\x04"
    "\x61\x31\x00\x02\x04\x62\x32\x00\x02\xa0\xb7\xae\xfe\xb3\x5c\x00";
/* the same written with schema id 101, which adds "note" */
static const char PA2[] =
    "\x00\x00\x00\x00\x65\x02\x1e\x33\x35\x38\x35\x37\x39\x36\x39\x39\x34"
    "\x31\x30\x30\x39\x39\x02\x22\x61\x6c\x69\x63\x65\x40\x65\x78\x61\x6d"
    "\x70\x6c\x65\x2e\x63\x6f\x6d\x02\x06\x02\x04\x5a\xc9\x02\x06\x02\x04"
    "\x61\x31\x00\x02\x04\x62\x32\x00\x02\xa0\xb7\xae\xfe\xb3\x5c\x00\x02"
    "\x08\x6c\x61\x74\x65";
/* card number + 8-byte big-endian window start 1587525570000 */
static const char KEY[] = "\x33\x35\x38\x35\x37\x39\x36\x39\x39\x34\x31\x30"
                          "\x30\x39\x39\x00\x00\x01\x71\x9f\xe5\xcd\xd0";
/* session: card number + end 1587525600000 + start 1587525570000 */
static const char SKEY[] =
    "\x33\x35\x38\x35\x37\x39\x36\x39\x39\x34\x31\x30\x30\x39\x39\x00\x00"
    "\x01\x71\x9f\xe6\x43\x00\x00\x00\x01\x71\x9f\xe5\xcd\xd0";

static const char PA_JSON[] =
    "{\"card_number\":\"358579699410099\","
    "\"email_address\":\"alice@example.com\",\"n_attempts\":3,"
    "\"total_amount\":\"232.41\",\"tx_ids\":[\"a1\",null,\"b2\"],"
    "\"start_boundary\":1587525570000,\"end_boundary\":null}";

struct fixture {
    struct herald__registry *reg;
    struct herald__decoder *dec;
};

static int setup(void **state)
{
    struct herald__registry_config cfg = {.schemas_dir = SCHEMAS};
    struct herald__format_spec key = {HERALD__FORMAT_STRING,
                                      HERALD__WINDOW_TUMBLING, 30000, 0, 0};
    struct herald__format_spec value = {HERALD__FORMAT_AVRO,
                                        HERALD__WINDOW_NONE, 0, 0, 0};
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256] = "";

    assert_non_null(f);
    f->reg = herald__registry_new(&cfg, NULL, NULL, err, sizeof(err));
    assert_non_null(f->reg);
    f->dec =
        herald__decoder_new(&key, &value, f->reg, NULL, NULL, err, sizeof(err));
    assert_non_null(f->dec);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    herald__decoder_destroy(f->dec);
    herald__registry_destroy(f->reg);
    free(f);
    return 0;
}

static char *dump(json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
}

/* A decoded tree (value.h) dumped as dump() dumps jansson's. */
static char *dump_val(const struct herald__val *v)
{
    json_t *j = herald__val_to_json(v);
    char *s;

    assert_non_null(j);
    s = dump(j);
    json_decref(j);
    return s;
}

/* The string member name of v, or NULL. */
static const char *member_str(const struct herald__val *v, const char *name)
{
    const struct herald__val *m = herald__val_get(v, name, strlen(name));

    return m && m->type == HERALD__V_STR ? m->u.s : NULL;
}

static void test_window_split(void **state)
{
    char err[256] = "";
    size_t inner = 0;
    int64_t start = 0;
    int64_t end = 0;

    (void)state;
    assert_int_equal(herald__window_split(HERALD__WINDOW_TUMBLING, 0, KEY,
                                          sizeof(KEY) - 1, &inner, &start, &end,
                                          err, sizeof(err)),
                     0);
    assert_int_equal(inner, 15);
    assert_int_equal(start, 1587525570000);
    assert_int_equal(end, -1);
    assert_int_equal(herald__window_split(HERALD__WINDOW_HOPPING, 30000, KEY,
                                          sizeof(KEY) - 1, &inner, &start, &end,
                                          err, sizeof(err)),
                     0);
    assert_int_equal(end, 1587525600000);
    assert_int_equal(herald__window_split(HERALD__WINDOW_SESSION, 0, SKEY,
                                          sizeof(SKEY) - 1, &inner, &start,
                                          &end, err, sizeof(err)),
                     0);
    assert_int_equal(inner, 15);
    assert_int_equal(start, 1587525570000);
    assert_int_equal(end, 1587525600000);
    /* an empty inner key is fine; a missing window is not */
    assert_int_equal(herald__window_split(HERALD__WINDOW_TUMBLING, 0, KEY + 15,
                                          8, &inner, &start, &end, err,
                                          sizeof(err)),
                     0);
    assert_int_equal(inner, 0);
    assert_int_equal(herald__window_split(HERALD__WINDOW_TUMBLING, 0, "12345",
                                          5, &inner, &start, &end, err,
                                          sizeof(err)),
                     -1);
    assert_string_equal(err, "tumbling windowed key of 5 bytes is shorter "
                             "than its 8-byte window suffix");
    assert_int_equal(herald__window_split(HERALD__WINDOW_SESSION, 0, KEY,
                                          sizeof(KEY) - 1, &inner, &start, &end,
                                          err, sizeof(err)),
                     0); /* 23 bytes >= 16: splits, inner 7 */
    assert_int_equal(inner, 7);
    assert_int_equal(herald__window_split(HERALD__WINDOW_SESSION, 0, KEY, 15,
                                          &inner, &start, &end, err,
                                          sizeof(err)),
                     -1);
    assert_string_equal(err, "session windowed key of 15 bytes is shorter "
                             "than its 16-byte window suffix");
}

static void test_framing(void **state)
{
    char err[256] = "";
    int32_t id = 0;

    (void)state;
    assert_int_equal(
        herald__confluent_frame(PA, sizeof(PA) - 1, &id, err, sizeof(err)), 0);
    assert_int_equal(id, 100);
    assert_int_equal(
        herald__confluent_frame("{\"a\":1}", 7, &id, err, sizeof(err)), -1);
    assert_string_equal(err, "unknown magic byte 0x7b (expected 0x00 "
                             "Confluent framing)");
    assert_int_equal(
        herald__confluent_frame("\x00\x00\x01", 3, &id, err, sizeof(err)), -1);
    assert_string_equal(err, "truncated Confluent framing: 3 bytes, need at "
                             "least 5");
    assert_int_equal(herald__confluent_frame("\x00\x7f\xff\xff\xff", 5, &id,
                                             err, sizeof(err)),
                     0);
    assert_int_equal(id, INT32_MAX);
}

static void test_plain(void **state)
{
    char err[256] = "";
    json_t *j = NULL;
    char *s;

    (void)state;
    assert_int_equal(herald__decode_plain(HERALD__FORMAT_JSON,
                                          "{\"a\":[1,2.5,\"x\"]}", 17, &j, err,
                                          sizeof(err)),
                     0);
    s = dump(j);
    assert_string_equal(s, "{\"a\":[1,2.5,\"x\"]}");
    free(s);
    json_decref(j);
    /* a scalar is a JSON value too; a JSON Schema frame is skipped */
    assert_int_equal(herald__decode_plain(HERALD__FORMAT_JSON,
                                          "\x00\x00\x00\x00\x07\"hi\"", 9, &j,
                                          err, sizeof(err)),
                     0);
    assert_string_equal(json_string_value(j), "hi");
    json_decref(j);
    assert_int_equal(herald__decode_plain(HERALD__FORMAT_JSON, "{\"a\":}", 6,
                                          &j, err, sizeof(err)),
                     -1);
    assert_null(j);
    assert_string_equal(err,
                        "invalid JSON at line 1 col 6: unexpected token near "
                        "'}'");
    assert_int_equal(
        herald__decode_plain(HERALD__FORMAT_JSON, "", 0, &j, err, sizeof(err)),
        -1);
    assert_string_equal(err, "invalid JSON at line 1 col 0: unexpected token "
                             "near end of file");
    assert_int_equal(herald__decode_plain(HERALD__FORMAT_STRING, "caf\xc3\xa9",
                                          5, &j, err, sizeof(err)),
                     0);
    assert_string_equal(json_string_value(j), "caf\xc3\xa9");
    json_decref(j);
    assert_int_equal(herald__decode_plain(HERALD__FORMAT_STRING, "ab\xc0\xaf",
                                          4, &j, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "invalid UTF-8 at byte 2");
    assert_int_equal(herald__decode_plain(HERALD__FORMAT_STRING, "", 0, &j, err,
                                          sizeof(err)),
                     0);
    assert_string_equal(json_string_value(j), "");
    json_decref(j);
    assert_int_equal(herald__decode_plain(HERALD__FORMAT_BYTES, "A\xff", 2, &j,
                                          err, sizeof(err)),
                     0);
    assert_int_equal(json_string_length(j), 3);
    assert_memory_equal(json_string_value(j), "A\xc3\xbf", 3);
    json_decref(j);
    /* surrogates and code points past U+10FFFF are not UTF-8 */
    assert_int_equal(herald__utf8_check("\xed\xa0\x80", 3), 0);
    assert_int_equal(herald__utf8_check("a\xf4\x90\x80\x80", 5), 1);
    assert_int_equal(herald__utf8_check("\xf0\x9f\x98\x80", 4), 4);
}

static struct herald_record *pa_record(const void *key, size_t key_len,
                                       const void *value, size_t value_len)
{
    struct herald_record *r =
        herald__record_new("possible_anomalies", 0, 42, 1587525571000, key,
                           key_len, value, value_len);
    assert_non_null(r);
    return r;
}

static void test_possible_anomaly(void **state)
{
    struct fixture *f = *state;
    struct herald_record *r =
        pa_record(KEY, sizeof(KEY) - 1, PA, sizeof(PA) - 1);
    char err[256] = "";
    char buf[1024];
    char want[1024];
    char *s;

    assert_int_equal(herald__decode_record(f->dec, r, err, sizeof(err)),
                     HERALD__DECODE_OK);
    assert_int_equal(r->schema_id, 100);
    assert_int_equal(r->has_window, 1);
    assert_int_equal(r->window_start, 1587525570000);
    assert_int_equal(r->window_end, 1587525600000);
    assert_int_equal(r->key_val->type, HERALD__V_STR);
    assert_string_equal(r->key_val->u.s, "358579699410099");
    s = dump_val(r->value_val);
    assert_string_equal(s, PA_JSON);
    free(s);
    snprintf(want, sizeof(want),
             "{\"topic\":\"possible_anomalies\",\"partition\":0,"
             "\"offset\":42,\"timestamp\":1587525571000,"
             "\"key\":\"358579699410099\",\"window\":{\"start\":"
             "1587525570000,\"end\":1587525600000},\"headers\":{},"
             "\"value\":%s}",
             PA_JSON);
    assert_int_equal(herald__record_json(r, buf, sizeof(buf)),
                     (long)strlen(want));
    assert_string_equal(buf, want);
    /* decoding again replaces the trees (no leak under ASan) */
    assert_int_equal(herald__decode_record(f->dec, r, err, sizeof(err)),
                     HERALD__DECODE_OK);
    herald__record_destroy(r);
}

static void test_schema_versions(void **state)
{
    struct fixture *f = *state;
    struct herald_record *r1 = pa_record("k", 1, PA, sizeof(PA) - 1);
    struct herald_record *r2 = pa_record("k", 1, PA2, sizeof(PA2) - 1);
    char err[256] = "";
    struct herald__format_spec key = {HERALD__FORMAT_STRING,
                                      HERALD__WINDOW_NONE, 0, 0, 0};
    struct herald__format_spec value = {HERALD__FORMAT_AVRO,
                                        HERALD__WINDOW_NONE, 0, 0, 0};
    struct herald__decoder *d =
        herald__decoder_new(&key, &value, f->reg, NULL, NULL, err, sizeof(err));

    assert_non_null(d);
    assert_int_equal(herald__decode_record(d, r1, err, sizeof(err)), 0);
    assert_int_equal(herald__decode_record(d, r2, err, sizeof(err)), 0);
    assert_int_equal(r1->schema_id, 100);
    assert_int_equal(r2->schema_id, 101);
    assert_int_equal(r1->has_window, 0);
    assert_null(herald__val_get(r1->value_val, "note", 4));
    assert_string_equal(member_str(r2->value_val, "note"), "late");
    assert_string_equal(member_str(r2->value_val, "total_amount"), "232.41");
    herald__record_destroy(r1);
    herald__record_destroy(r2);
    herald__decoder_destroy(d);
}

static void expect_poison(struct herald__decoder *d, const void *key,
                          size_t key_len, const void *value, size_t len,
                          const char *want)
{
    struct herald_record *r = pa_record(key, key_len, value, len);
    char err[512] = "";

    assert_int_equal(herald__decode_record(d, r, err, sizeof(err)),
                     HERALD__DECODE_POISON);
    assert_string_equal(err, want);
    assert_null(r->key_val);
    assert_null(r->value_val);
    herald__record_destroy(r);
}

static void test_poison(void **state)
{
    struct fixture *f = *state;
    char v[sizeof(PA) + 2];
    int i;

    memcpy(v, PA, sizeof(PA) - 1);
    v[4] = 0x0f; /* id 9999 = 0x270f */
    v[3] = 0x27;
    /* twice: the second answer comes from the cache, same words */
    for (i = 0; i < 2; i++) {
        expect_poison(f->dec, KEY, sizeof(KEY) - 1, v, sizeof(PA) - 1,
                      "value: schema id 9999 not found in schemas_dir (" SCHEMAS
                      "/9999.avsc)");
    }
    v[3] = 0;
    v[4] = 102;
    expect_poison(f->dec, KEY, sizeof(KEY) - 1, v, sizeof(PA) - 1,
                  "value: schema id 102 is not a usable Avro schema: unknown "
                  "type name nosuchtype");
    expect_poison(f->dec, KEY, sizeof(KEY) - 1, "{\"card_number\":1}", 17,
                  "value: unknown magic byte 0x7b (expected 0x00 Confluent "
                  "framing)");
    memcpy(v, PA, sizeof(PA) - 1);
    v[sizeof(PA) - 1] = 0;
    v[sizeof(PA)] = 0;
    expect_poison(f->dec, KEY, sizeof(KEY) - 1, v, sizeof(PA) + 1,
                  "value: 2 trailing bytes after the avro value at byte 67");
    expect_poison(f->dec, KEY, sizeof(KEY) - 1, PA, 20,
                  "value: string length 15 exceeds remaining 13 bytes");
    expect_poison(f->dec, "1234567", 7, PA, sizeof(PA) - 1,
                  "key: tumbling windowed key of 7 bytes is shorter than its "
                  "8-byte window suffix");
    expect_poison(f->dec, "\xff\x00\x00\x00\x00\x00\x00\x00\x01", 9, PA,
                  sizeof(PA) - 1, "key: invalid UTF-8 at byte 0");
    expect_poison(f->dec, KEY, sizeof(KEY) - 1, "\x00\xff\xff\xff\xff", 5,
                  "value: invalid schema id -1");
}

/* Peak RSS of this process so far, in KiB (Linux ru_maxrss). */
static long max_rss_kib(void)
{
    struct rusage ru;

    assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
    return ru.ru_maxrss;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Issue 10 item 1: 9 bytes (frame, a block of 1,000,000 items, end) of an
 * array of all-null records (schemas 110: 10 fields, 111: 100 fields) cost
 * no input per item. The old decoder built all of them (1.1 GB of jansson
 * for 10 fields, ~10 GB for 100). Now the block is refused by its count,
 * before any item is made: quickly, and with RSS growing by far less than
 * 64 MB. */
static void test_amplification(void **state)
{
    static const char v10[] = "\x00\x00\x00\x00\x6e\x80\x89\x7a\x00";
    static const char v100[] = "\x00\x00\x00\x00\x6f\x80\x89\x7a\x00";
    struct fixture *f = *state;
    long rss0 = max_rss_kib();
    double t0 = now_s();

    expect_poison(f->dec, KEY, sizeof(KEY) - 1, v10, 9,
                  "value: array block count 1000000 at byte 5: decoded output "
                  "would exceed its budget of 4168 values and 1049152 string "
                  "bytes for 9 input bytes (4096 values + 8 per input byte, "
                  "max_nodes 1000000; 1048576 bytes + 64 per input byte, "
                  "max_bytes 67108864)");
    expect_poison(f->dec, KEY, sizeof(KEY) - 1, v100, 9,
                  "value: array block count 1000000 at byte 5: decoded output "
                  "would exceed its budget of 4168 values and 1049152 string "
                  "bytes for 9 input bytes (4096 values + 8 per input byte, "
                  "max_nodes 1000000; 1048576 bytes + 64 per input byte, "
                  "max_bytes 67108864)");
    assert_true(now_s() - t0 < 1.0);
    assert_true(max_rss_kib() - rss0 < 64 * 1024);
}

/* The absolute caps of key:/value: (max_nodes, max_bytes) bind below the
 * per-input budget: the possible_anomalies value builds exactly 11 values
 * and 120 string bytes (values and keys), so 11/120 pass and 10 or 119
 * do not. JSON is measured before jansson parses it. */
static void test_budget_caps(void **state)
{
    struct fixture *f = *state;
    struct herald__format_spec key = {HERALD__FORMAT_STRING,
                                      HERALD__WINDOW_NONE, 0, 0, 0};
    struct herald__format_spec value = {HERALD__FORMAT_AVRO,
                                        HERALD__WINDOW_NONE, 0, 11, 120};
    struct herald__decode_budget b;
    struct herald_record *r = pa_record("k", 1, PA, sizeof(PA) - 1);
    struct herald__decoder *d;
    uint64_t nodes = 0;
    uint64_t bytes = 0;
    json_t *out = NULL;
    char err[512] = "";

    d = herald__decoder_new(&key, &value, f->reg, NULL, NULL, err, sizeof(err));
    assert_non_null(d);
    assert_int_equal(herald__decode_record(d, r, err, sizeof(err)), 0);
    herald__val_size(r->value_val, &nodes, &bytes);
    assert_int_equal(nodes, 11);
    assert_int_equal(bytes, 120);
    herald__decoder_destroy(d);

    value.max_nodes = 10;
    d = herald__decoder_new(&key, &value, f->reg, NULL, NULL, err, sizeof(err));
    assert_int_equal(herald__decode_record(d, r, err, sizeof(err)),
                     HERALD__DECODE_POISON);
    assert_non_null(strstr(err, "budget of 10 values and 120 string bytes for "
                                "67 input bytes"));
    assert_non_null(strstr(err, "max_nodes 10;"));
    herald__decoder_destroy(d);

    value.max_nodes = 11;
    value.max_bytes = 119;
    d = herald__decoder_new(&key, &value, f->reg, NULL, NULL, err, sizeof(err));
    assert_int_equal(herald__decode_record(d, r, err, sizeof(err)),
                     HERALD__DECODE_POISON);
    assert_non_null(strstr(err, "max_bytes 119)"));
    herald__decoder_destroy(d);
    herald__record_destroy(r);

    /* JSON: [1,[2,3],{"a":"bc"}] is 7 values, 3 string bytes */
    herald__decode_budget_init(&b, 20, 7, 3);
    assert_int_equal(herald__decode_plain_budget(HERALD__FORMAT_JSON,
                                                 "[1,[2,3],{\"a\":\"bc\"}]", 20,
                                                 &b, &out, err, sizeof(err)),
                     0);
    nodes = bytes = 0;
    herald__decode_tree_size(out, &nodes, &bytes);
    assert_int_equal(nodes, 7);
    assert_int_equal(bytes, 3);
    json_decref(out);
    herald__decode_budget_init(&b, 20, 6, 3);
    assert_int_equal(herald__decode_plain_budget(HERALD__FORMAT_JSON,
                                                 "[1,[2,3],{\"a\":\"bc\"}]", 20,
                                                 &b, &out, err, sizeof(err)),
                     -1);
    assert_null(out);
    assert_string_equal(err, "decoded output would exceed its budget of 6 "
                             "values and 3 string bytes for 20 input bytes "
                             "(4096 values + 8 per input byte, max_nodes 6; "
                             "1048576 bytes + 64 per input byte, max_bytes "
                             "3)");
    /* bytes: 0xff becomes two UTF-8 bytes */
    herald__decode_budget_init(&b, 2, 0, 3);
    assert_int_equal(herald__decode_plain_budget(HERALD__FORMAT_BYTES, "a\xff",
                                                 2, &b, &out, err, sizeof(err)),
                     0);
    json_decref(out);
    herald__decode_budget_init(&b, 2, 0, 2);
    assert_int_equal(herald__decode_plain_budget(HERALD__FORMAT_BYTES, "a\xff",
                                                 2, &b, &out, err, sizeof(err)),
                     -1);
}

/* Issue 10 item 11: a window start near INT64_MAX plus window_size
 * overflowed int64 (undefined; UBSan aborts the asan build). Now the key
 * is poison with the reason. */
static void test_window_overflow(void **state)
{
    struct fixture *f = *state;
    static const char k[] = "c\x7f\xff\xff\xff\xff\xff\xff\xf0";
    size_t inner = 0;
    int64_t start = 0;
    int64_t end = 0;
    char err[256] = "";

    assert_int_equal(herald__window_split(HERALD__WINDOW_TUMBLING, 30000, k, 9,
                                          &inner, &start, &end, err,
                                          sizeof(err)),
                     -1);
    assert_string_equal(err, "window start 9223372036854775792 + window_size "
                             "30000 ms overflows 64 bits");
    /* the largest start that fits */
    assert_int_equal(herald__window_split(HERALD__WINDOW_HOPPING, 15, k, 9,
                                          &inner, &start, &end, err,
                                          sizeof(err)),
                     0);
    assert_int_equal(end, INT64_MAX);
    expect_poison(f->dec, k, 9, PA, sizeof(PA) - 1,
                  "key: window start 9223372036854775792 + window_size 30000 "
                  "ms overflows 64 bits");
}

/* What herald check prints for a config whose schema_registry: map and
 * connector key:/value: maps are given; "" when it is valid. */
static char *check_config(const char *sr, const char *key, const char *value,
                          char *path, size_t pathlen)
{
    char tmpl[] = "/tmp/herald-test-decode-XXXXXX";
    int fd = mkstemp(tmpl);
    char text[1024];
    struct herald__worker_opts o = {.mode = HERALD__MODE_CHECK,
                                    .log_level = "error"};
    struct herald__worker *w;
    char *buf = NULL;
    size_t len = 0;
    FILE *errs;
    int n;

    assert_true(fd >= 0);
    n = snprintf(text, sizeof(text),
                 "kafka: { bootstrap.servers: \"127.0.0.1:1\" }\n"
                 "schema_registry: %s\n"
                 "connectors:\n"
                 "  - name: c\n"
                 "    topics: [t]\n"
                 "    key: %s\n"
                 "    value: %s\n"
                 "    sink: { plugin: null }\n",
                 sr, key, value);
    assert_int_equal(write(fd, text, (size_t)n), n);
    close(fd);
    snprintf(path, pathlen, "%s", tmpl);
    errs = open_memstream(&buf, &len);
    o.config_path = tmpl;
    w = herald__worker_new(&o, errs);
    fclose(errs);
    unlink(tmpl);
    herald__worker_destroy(w);
    return buf;
}

static void expect_config(const char *sr, const char *key, const char *value,
                          const char *want_after_path)
{
    char path[64];
    char want[512] = "";
    char *got = check_config(sr, key, value, path, sizeof(path));

    if (want_after_path[0] != '\0') {
        snprintf(want, sizeof(want), "%s%s", path, want_after_path);
    }
    assert_string_equal(got, want);
    free(got);
}

/* The budget caps (key:/value: max_nodes, max_bytes) and the registry's
 * not_found_wait, cache_size, max_fetches are validated with file:line:col
 * like every other key. */
static void test_config_keys(void **state)
{
    (void)state;
    expect_config("{ schemas_dir: /tmp, not_found_wait: 0s, cache_size: 10, "
                  "max_fetches: 2 }",
                  "{ format: string, max_nodes: 10, max_bytes: 1KiB }",
                  "{ format: avro, max_nodes: 100000, max_bytes: 16MiB }", "");
    expect_config("{ schemas_dir: /tmp }", "{ format: string, max_nodes: 0 }",
                  "{ format: avro }",
                  ":6:39: 'connectors[0].key.max_nodes' expects an integer "
                  ">= 1; got '0'\n");
    expect_config("{ schemas_dir: /tmp }", "{ format: string }",
                  "{ format: avro, max_bytes: lots }",
                  ":7:39: 'connectors[0].value.max_bytes' expects a "
                  "positive size (e.g. 16MiB, 64MiB); got 'lots'\n");
    expect_config("{ schemas_dir: /tmp, not_found_wait: soon }",
                  "{ format: string }", "{ format: string }",
                  ":2:55: 'schema_registry.not_found_wait' expects a "
                  "duration (e.g. 30s, 5m; 0s: a 404 is final at once); got "
                  "'soon'\n");
    expect_config("{ schemas_dir: /tmp, max_fetches: -1 }",
                  "{ format: string }", "{ format: string }",
                  ":2:52: 'schema_registry.max_fetches' expects an integer "
                  "from 1 to 1000000; got '-1'\n");
}

static void test_tombstone_and_null_key(void **state)
{
    struct fixture *f = *state;
    struct herald_record *r = pa_record(KEY, sizeof(KEY) - 1, NULL, 0);
    char err[256] = "";

    assert_int_equal(herald__decode_record(f->dec, r, err, sizeof(err)), 0);
    assert_null(r->value_val);
    assert_int_equal(r->has_window, 1);
    assert_int_equal(r->schema_id, -1);
    herald__record_destroy(r);
    r = pa_record(NULL, 0, PA, sizeof(PA) - 1);
    assert_int_equal(herald__decode_record(f->dec, r, err, sizeof(err)), 0);
    assert_null(r->key_val);
    assert_int_equal(r->has_window, 0);
    assert_non_null(r->value_val);
    herald__record_destroy(r);
}

/* ---- Walking a decoded value through the host API (ABI 1.2) ----------- */

struct text {
    char buf[1024];
    size_t len;
};

static void put(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(t->buf) - t->len);
    t->len += (size_t)n;
}

/* v as the host API's walk sees it: objects as {name/name_len=value,...},
 * arrays as [a,b], scalars as JSON writes them
 * (strings unescaped). Every member and item is reached through
 * value_member/value_item alone, and carries a node. */
static void walk_text(const struct herald_value *v, struct text *t)
{
    const struct herald_host_api *api = herald__host_api();
    struct herald_value kid;
    const char *name;
    size_t name_len;

    switch (v->type) {
    case HERALD_VALUE_OBJECT:
        put(t, "{");
        for (size_t i = 0; i < v->count; i++) {
            assert_int_equal(
                api->value_member(v, i, &name, &name_len, &kid, sizeof(kid)),
                0);
            assert_non_null(kid.node);
            assert_int_equal(strlen(name), name_len); /* NUL-terminated */
            put(t, "%s%.*s/%zu=", i ? "," : "", (int)name_len, name, name_len);
            walk_text(&kid, t);
        }
        put(t, "}");
        return;
    case HERALD_VALUE_ARRAY:
        put(t, "[");
        for (size_t i = 0; i < v->count; i++) {
            assert_int_equal(api->value_item(v, i, &kid, sizeof(kid)), 0);
            assert_non_null(kid.node);
            put(t, "%s", i ? "," : "");
            walk_text(&kid, t);
        }
        put(t, "]");
        return;
    case HERALD_VALUE_STRING:
        put(t, "\"%.*s\"", (int)v->len, v->str);
        return;
    case HERALD_VALUE_INT:
        put(t, "%lld", (long long)v->integer);
        return;
    case HERALD_VALUE_DOUBLE:
        put(t, "%g", v->real);
        return;
    case HERALD_VALUE_BOOL:
        put(t, "%s", v->boolean ? "true" : "false");
        return;
    case HERALD_VALUE_NULL:
        put(t, "null");
        return;
    default:
        fail_msg("walked into value type %d", (int)v->type);
    }
}

/* The walk of path in r, from record_field_v2. */
static const char *walk_path(const struct herald_record *r, const char *path,
                             struct text *t)
{
    struct herald_value v;

    t->len = 0;
    t->buf[0] = '\0';
    assert_int_equal(
        herald__host_api()->record_field_v2(r, path, &v, sizeof(v)), 0);
    assert_non_null(v.node);
    walk_text(&v, t);
    return t->buf;
}

/* possible_anomalies as the walk reads it: members in the schema's order
 * (the JSON document's is the same), names with their lengths. */
#define PA_WALK                                                                \
    "{card_number/11=\"358579699410099\","                                     \
    "email_address/13=\"alice@example.com\",n_attempts/10=3,"                  \
    "total_amount/12=\"232.41\",tx_ids/6=[\"a1\",null,\"b2\"],"                \
    "start_boundary/14=1587525570000,end_boundary/12=null}"

static void test_walk_decoded(void **state)
{
    struct fixture *f = *state;
    struct herald__format_spec key = {HERALD__FORMAT_STRING,
                                      HERALD__WINDOW_NONE, 0, 0, 0};
    struct herald__format_spec value = {HERALD__FORMAT_JSON,
                                        HERALD__WINDOW_NONE, 0, 0, 0};
    static const char nested[] =
        "{\"l\":[{\"m\":{\"n\":[1,{\"o\":true}]}},2.5,[]],"
        "\"\\u00e9x\":{},\"p\":{\"q\":[{}]}}";
    struct herald__decoder *json;
    struct herald_record *r;
    char err[256] = "";
    struct text t;

    /* Avro, with the decoded (windowed string) key. */
    r = pa_record(KEY, sizeof(KEY) - 1, PA, sizeof(PA) - 1);
    assert_int_equal(herald__decode_record(f->dec, r, err, sizeof(err)),
                     HERALD__DECODE_OK);
    assert_string_equal(walk_path(r, "@value", &t), PA_WALK);
    assert_string_equal(walk_path(r, "@key", &t), "\"358579699410099\"");
    assert_string_equal(walk_path(r, "tx_ids", &t), "[\"a1\",null,\"b2\"]");
    herald__record_destroy(r);

    /* JSON: the same record, and objects inside arrays inside objects. */
    json =
        herald__decoder_new(&key, &value, NULL, NULL, NULL, err, sizeof(err));
    assert_non_null(json);
    r = pa_record("k", 1, PA_JSON, sizeof(PA_JSON) - 1);
    assert_int_equal(herald__decode_record(json, r, err, sizeof(err)),
                     HERALD__DECODE_OK);
    assert_string_equal(walk_path(r, "@value", &t), PA_WALK);
    herald__record_destroy(r);
    r = pa_record("k", 1, nested, sizeof(nested) - 1);
    assert_int_equal(herald__decode_record(json, r, err, sizeof(err)),
                     HERALD__DECODE_OK);
    assert_string_equal(walk_path(r, "@value", &t),
                        "{l/1=[{m/1={n/1=[1,{o/1=true}]}},2.5,[]],"
                        "\xc3\xa9x/3={},p/1={q/1=[{}]}}");
    /* From any node a path reaches, not only the root. */
    assert_string_equal(walk_path(r, "l[0].m", &t), "{n/1=[1,{o/1=true}]}");
    herald__record_destroy(r);
    herald__decoder_destroy(json);
}

static void test_decoder_specs(void **state)
{
    struct herald__format_spec key = {HERALD__FORMAT_STRING,
                                      HERALD__WINDOW_NONE, 0, 0, 0};
    struct herald__format_spec value = {HERALD__FORMAT_AVRO,
                                        HERALD__WINDOW_NONE, 0, 0, 0};
    enum herald__format fmt;
    enum herald__window w;
    char err[256] = "";

    (void)state;
    assert_null(
        herald__decoder_new(&key, &value, NULL, NULL, NULL, err, sizeof(err)));
    assert_string_equal(err, "format avro needs schema_registry (url or "
                             "schemas_dir)");
    value.format = HERALD__FORMAT_JSON;
    value.window = HERALD__WINDOW_SESSION;
    assert_null(
        herald__decoder_new(&key, &value, NULL, NULL, NULL, err, sizeof(err)));
    assert_string_equal(err, "a value cannot be windowed");
    assert_int_equal(herald__format_parse("avro", &fmt), 0);
    assert_int_equal(fmt, HERALD__FORMAT_AVRO);
    assert_int_equal(herald__format_parse("AVRO", &fmt), -1);
    assert_int_equal(herald__window_parse("session", &w), 0);
    assert_int_equal(w, HERALD__WINDOW_SESSION);
    assert_int_equal(herald__window_parse("sliding", &w), -1);
    assert_string_equal(herald__format_name(HERALD__FORMAT_BYTES), "bytes");
    herald__decoder_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_split),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_plain),
        cmocka_unit_test_setup_teardown(test_possible_anomaly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poison, setup, teardown),
        cmocka_unit_test_setup_teardown(test_amplification, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_overflow, setup, teardown),
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test_setup_teardown(test_tombstone_and_null_key, setup,
                                        teardown),
        cmocka_unit_test(test_decoder_specs),
        cmocka_unit_test_setup_teardown(test_walk_decoded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
