/*
 * test_decode_stage.c - the decode stage and the tombstone filter
 * (decode_stage.h), through its interface: a record decodes and goes on
 * (GO), waits for its schema (WAIT), is poison with the reject's stage,
 * class, exception and reason (POISON, key or value), or is a tombstone
 * skipped (SKIP) only when skip_tombstones is on. Records are built with
 * herald__record_new and decoded by a real decoder (decode.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"
#include "decode_stage.h"
#include "http.h"
#include "loop.h"
#include "record.h"
#include "registry.h"

/* A registry URL nothing listens on: an Avro schema asked from it is in
 * flight (WAIT) until the connection fails, and then retried. */
#define NOWHERE_URL "http://127.0.0.1:1"
/* Room for the decoder's error, as decode_stage.c has. */
#define ERR_MAX 1024
/* What a poison record's reason starts with. */
#define REASON_PREFIX "undecodable record: "

static const char BAD_JSON[] = "{\"a\": ";
static const char GOOD_JSON[] = "{\"a\": 1}";

static struct herald__decoder *decoder(enum herald__format key,
                                       enum herald__format value)
{
    struct herald__format_spec k = {.format = key};
    struct herald__format_spec v = {.format = value};
    char err[256] = "";
    struct herald__decoder *d =
        herald__decoder_new(&k, &v, NULL, NULL, NULL, err, sizeof err);
    assert_non_null(d);
    return d;
}

static struct herald_record *record(const char *key, const char *value)
{
    struct herald_record *r =
        herald__record_new("t", 3, 42, -1, key, key ? strlen(key) : 0, value,
                           value ? strlen(value) : 0);
    assert_non_null(r);
    return r;
}

/* The verdict for (key, value) under d and skip; rej filled for POISON. */
static enum herald__decoded verdict(struct herald__decoder *d, const char *key,
                                    const char *value, int skip,
                                    struct herald__decode_reject *rej)
{
    struct herald_record *r = record(key, value);
    enum herald__decoded v = herald__decode_stage(d, r, skip, rej);
    herald__record_destroy(r);
    return v;
}

/* The decoder's own error for (key, value): what the reason must carry. */
static void decoder_err(struct herald__decoder *d, const char *key,
                        const char *value, char *err, size_t errlen)
{
    struct herald_record *r = record(key, value);
    assert_int_equal(herald__decode_record(d, r, err, errlen),
                     HERALD__DECODE_POISON);
    herald__record_destroy(r);
}

static void test_go(void **state)
{
    (void)state;
    struct herald__decoder *d =
        decoder(HERALD__FORMAT_STRING, HERALD__FORMAT_JSON);
    struct herald__decode_reject rej = {.stage = "untouched"};
    for (int skip = 0; skip <= 1; skip++) {
        assert_int_equal(verdict(d, "k", GOOD_JSON, skip, &rej),
                         HERALD__DECODED_GO);
        /* No key is no tombstone. */
        assert_int_equal(verdict(d, NULL, GOOD_JSON, skip, &rej),
                         HERALD__DECODED_GO);
    }
    assert_string_equal(rej.stage, "untouched");
    herald__decoder_destroy(d);
}

/* A record without a value is a tombstone: skipped (final at once) with
 * skip_tombstones on, on to the next stage with it off. An empty value
 * is a value, not a tombstone. */
static void test_tombstone_skipped_only_when_configured(void **state)
{
    (void)state;
    struct herald__decoder *d =
        decoder(HERALD__FORMAT_STRING, HERALD__FORMAT_STRING);
    struct herald__decode_reject rej;
    assert_int_equal(verdict(d, "k", NULL, 1, &rej), HERALD__DECODED_SKIP);
    assert_int_equal(verdict(d, "k", NULL, 0, &rej), HERALD__DECODED_GO);
    assert_int_equal(verdict(d, "k", "", 1, &rej), HERALD__DECODED_GO);
    assert_int_equal(verdict(d, "k", "x", 1, &rej), HERALD__DECODED_GO);
    herald__decoder_destroy(d);
    /* The same for JSON values. */
    d = decoder(HERALD__FORMAT_STRING, HERALD__FORMAT_JSON);
    assert_int_equal(verdict(d, "k", NULL, 1, &rej), HERALD__DECODED_SKIP);
    assert_int_equal(verdict(d, "k", NULL, 0, &rej), HERALD__DECODED_GO);
    herald__decoder_destroy(d);
}

static void test_value_poison(void **state)
{
    (void)state;
    struct herald__decoder *d =
        decoder(HERALD__FORMAT_STRING, HERALD__FORMAT_JSON);
    char err[ERR_MAX], want[ERR_MAX + sizeof REASON_PREFIX];
    decoder_err(d, "k", BAD_JSON, err, sizeof err);
    assert_int_equal(strncmp(err, "value: ", strlen("value: ")), 0);
    snprintf(want, sizeof want, REASON_PREFIX "%s", err);
    for (int skip = 0; skip <= 1; skip++) {
        struct herald__decode_reject rej;
        memset(&rej, 0, sizeof rej);
        assert_int_equal(verdict(d, "k", BAD_JSON, skip, &rej),
                         HERALD__DECODED_POISON);
        assert_string_equal(rej.stage, "VALUE_CONVERTER");
        assert_string_equal(rej.cls, "herald.decode.value");
        assert_string_equal(rej.exc, "herald.DecodeError");
        assert_string_equal(rej.reason, want);
    }
    herald__decoder_destroy(d);
}

/* A key that cannot be decoded is the key converter's; decoding comes
 * before the filter, so a tombstone with a bad key is poison, not
 * skipped. */
static void test_key_poison(void **state)
{
    (void)state;
    struct herald__decoder *d =
        decoder(HERALD__FORMAT_JSON, HERALD__FORMAT_STRING);
    char err[ERR_MAX], want[ERR_MAX + sizeof REASON_PREFIX];
    decoder_err(d, BAD_JSON, "v", err, sizeof err);
    assert_int_equal(strncmp(err, "key: ", strlen("key: ")), 0);
    snprintf(want, sizeof want, REASON_PREFIX "%s", err);
    const char *values[] = {"v", NULL};
    for (size_t i = 0; i < 2; i++) {
        struct herald__decode_reject rej;
        memset(&rej, 0, sizeof rej);
        assert_int_equal(verdict(d, BAD_JSON, values[i], 1, &rej),
                         HERALD__DECODED_POISON);
        assert_string_equal(rej.stage, "KEY_CONVERTER");
        assert_string_equal(rej.cls, "herald.decode.key");
        assert_string_equal(rej.exc, "herald.DecodeError");
        if (values[i]) {
            assert_string_equal(rej.reason, want);
        } else {
            assert_int_equal(strncmp(rej.reason, REASON_PREFIX "key: ",
                                     strlen(REASON_PREFIX "key: ")),
                             0);
        }
    }
    herald__decoder_destroy(d);
}

/* A reason longer than the reject's room is cut, never overrun: a JSON
 * key error quoting a long text. */
static void test_poison_reason_fits(void **state)
{
    (void)state;
    struct herald__decoder *d =
        decoder(HERALD__FORMAT_STRING, HERALD__FORMAT_JSON);
    char big[4 * HERALD__DECODE_REASON_MAX];
    memset(big, 'x', sizeof big - 1);
    big[0] = '[';
    big[sizeof big - 1] = '\0';
    struct herald__decode_reject rej;
    memset(&rej, 0, sizeof rej);
    assert_int_equal(verdict(d, "k", big, 1, &rej), HERALD__DECODED_POISON);
    assert_true(strlen(rej.reason) < sizeof rej.reason);
    assert_int_equal(strncmp(rej.reason, REASON_PREFIX "value: ",
                             strlen(REASON_PREFIX "value: ")),
                     0);
    herald__decoder_destroy(d);
}

/* An Avro value whose schema the registry has not answered yet waits
 * (the caller holds it in order); with skip_tombstones on or off. */
static void test_wait_for_schema(void **state)
{
    (void)state;
    struct herald__loop *loop = herald__loop_new();
    assert_non_null(loop);
    struct herald__http *http = herald__http_new(loop);
    assert_non_null(http);
    struct herald__registry_config cfg = {.url = NOWHERE_URL};
    char err[256] = "";
    struct herald__registry *reg =
        herald__registry_new(&cfg, loop, http, err, sizeof err);
    assert_non_null(reg);
    struct herald__format_spec k = {.format = HERALD__FORMAT_STRING};
    struct herald__format_spec v = {.format = HERALD__FORMAT_AVRO};
    struct herald__decoder *d =
        herald__decoder_new(&k, &v, reg, NULL, NULL, err, sizeof err);
    assert_non_null(d);
    /* Confluent framing: magic 0, schema id 7, then an Avro body. */
    static const char framed[] = {0, 0, 0, 0, 7, 2, 'a'};
    for (int skip = 0; skip <= 1; skip++) {
        struct herald_record *r =
            herald__record_new("t", 0, 1, -1, "k", 1, framed, sizeof framed);
        assert_non_null(r);
        struct herald__decode_reject rej = {.stage = "untouched"};
        assert_int_equal(herald__decode_stage(d, r, skip, &rej),
                         HERALD__DECODED_WAIT);
        assert_string_equal(rej.stage, "untouched");
        herald__record_destroy(r);
    }
    /* A tombstone needs no schema: skipped. */
    struct herald_record *t =
        herald__record_new("t", 0, 2, -1, "k", 1, NULL, 0);
    assert_non_null(t);
    struct herald__decode_reject rej;
    assert_int_equal(herald__decode_stage(d, t, 1, &rej), HERALD__DECODED_SKIP);
    herald__record_destroy(t);
    herald__decoder_destroy(d);
    herald__registry_destroy(reg);
    herald__http_destroy(http);
    herald__loop_destroy(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go),
        cmocka_unit_test(test_tombstone_skipped_only_when_configured),
        cmocka_unit_test(test_value_poison),
        cmocka_unit_test(test_key_poison),
        cmocka_unit_test(test_poison_reason_fits),
        cmocka_unit_test(test_wait_for_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
