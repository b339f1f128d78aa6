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

#include <cmocka.h>

#include "decode.h"
#include "record.h"
#include "registry.h"

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
                                      HERALD__WINDOW_TUMBLING, 30000};
    struct herald__format_spec value = {HERALD__FORMAT_AVRO,
                                        HERALD__WINDOW_NONE, 0};
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
    assert_string_equal(json_string_value(r->key_tree), "358579699410099");
    s = dump(r->value_tree);
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
                                      HERALD__WINDOW_NONE, 0};
    struct herald__format_spec value = {HERALD__FORMAT_AVRO,
                                        HERALD__WINDOW_NONE, 0};
    struct herald__decoder *d =
        herald__decoder_new(&key, &value, f->reg, NULL, NULL, err, sizeof(err));

    assert_non_null(d);
    assert_int_equal(herald__decode_record(d, r1, err, sizeof(err)), 0);
    assert_int_equal(herald__decode_record(d, r2, err, sizeof(err)), 0);
    assert_int_equal(r1->schema_id, 100);
    assert_int_equal(r2->schema_id, 101);
    assert_int_equal(r1->has_window, 0);
    assert_null(json_object_get(r1->value_tree, "note"));
    assert_string_equal(
        json_string_value(json_object_get(r2->value_tree, "note")), "late");
    assert_string_equal(
        json_string_value(json_object_get(r2->value_tree, "total_amount")),
        "232.41");
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
    assert_null(r->key_tree);
    assert_null(r->value_tree);
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
                  "value: schema id 102 is not a usable Avro schema: invalid "
                  "avro schema: Unknown Avro \"type\": nosuchtype");
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

static void test_tombstone_and_null_key(void **state)
{
    struct fixture *f = *state;
    struct herald_record *r = pa_record(KEY, sizeof(KEY) - 1, NULL, 0);
    char err[256] = "";

    assert_int_equal(herald__decode_record(f->dec, r, err, sizeof(err)), 0);
    assert_null(r->value_tree);
    assert_int_equal(r->has_window, 1);
    assert_int_equal(r->schema_id, -1);
    herald__record_destroy(r);
    r = pa_record(NULL, 0, PA, sizeof(PA) - 1);
    assert_int_equal(herald__decode_record(f->dec, r, err, sizeof(err)), 0);
    assert_null(r->key_tree);
    assert_int_equal(r->has_window, 0);
    assert_non_null(r->value_tree);
    herald__record_destroy(r);
}

static void test_decoder_specs(void **state)
{
    struct herald__format_spec key = {HERALD__FORMAT_STRING,
                                      HERALD__WINDOW_NONE, 0};
    struct herald__format_spec value = {HERALD__FORMAT_AVRO,
                                        HERALD__WINDOW_NONE, 0};
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
        cmocka_unit_test_setup_teardown(test_tombstone_and_null_key, setup,
                                        teardown),
        cmocka_unit_test(test_decoder_specs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
