/*
 * fuzz_avro.c - libFuzzer target: Confluent framing + the Avro binary
 * decoder (avro.c) over a fixed set of writer schemas. The first input byte
 * picks the schema; the rest is a framed value. Any input must give a value
 * or an error message, never a crash, a leak or undefined behaviour.
 *
 * Each value is decoded twice: through the jansson API and into one arena
 * reused (reset) across inputs. Both must succeed or fail alike, with the
 * same message or the same JSON text, and the arena's tree must count no
 * more values and string bytes than its budget was charged, nor that more
 * than the budget allows; anything else aborts.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_decode.h"
#include "decode.h"
#include "decode_budget.h"
#include "value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const schema_text[] = {
    /* the tutorial's possible_anomalies value (design.md) */
    ("{\"type\":\"record\",\"name\":\"PossibleAnomaly\",\"namespace\":"
     "\"io.ksqldb.tutorial\",\"fields\":["
     "{\"name\":\"card_number\",\"type\":[\"null\",\"string\"]},"
     "{\"name\":\"email_address\",\"type\":[\"null\",\"string\"]},"
     "{\"name\":\"n_attempts\",\"type\":[\"null\",\"long\"]},"
     "{\"name\":\"total_amount\",\"type\":[\"null\",{\"type\":\"bytes\","
     "\"scale\":2,\"precision\":12,\"logicalType\":\"decimal\"}]},"
     "{\"name\":\"tx_ids\",\"type\":[\"null\",{\"type\":\"array\",\"items\":"
     "[\"null\",\"string\"]}]},"
     "{\"name\":\"start_boundary\",\"type\":[\"null\",\"long\"]},"
     "{\"name\":\"end_boundary\",\"type\":[\"null\",\"long\"]}]}"),
    /* every type */
    ("{\"type\":\"record\",\"name\":\"All\",\"namespace\":\"t\",\"fields\":["
     "{\"name\":\"n\",\"type\":\"null\"},{\"name\":\"b\",\"type\":\"boolean\"},"
     "{\"name\":\"i\",\"type\":\"int\"},{\"name\":\"l\",\"type\":\"long\"},"
     "{\"name\":\"f\",\"type\":\"float\"},{\"name\":\"d\",\"type\":\"double\"},"
     "{\"name\":\"by\",\"type\":\"bytes\"},{\"name\":\"s\",\"type\":\"string\"}"
     ","
     "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"Color\","
     "\"symbols\":[\"RED\",\"GREEN\",\"BLUE\"]}},"
     "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"long\"}},"
     "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"string\"}},"
     "{\"name\":\"u\",\"type\":[\"null\",\"string\",\"long\"]},"
     "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"Four\","
     "\"size\":4}},"
     "{\"name\":\"fd\",\"type\":{\"type\":\"fixed\",\"name\":\"Dec\",\"size\":"
     "3,"
     "\"logicalType\":\"decimal\",\"precision\":6,\"scale\":3}},"
     "{\"name\":\"nested\",\"type\":{\"type\":\"record\",\"name\":\"Inner\","
     "\"fields\":[{\"name\":\"c\",\"type\":\"Color\"},{\"name\":\"x\","
     "\"type\":[\"null\",\"Four\"]}]}}]}"),
    /* recursion */
    ("{\"type\":\"record\",\"name\":\"Node\",\"fields\":["
     "{\"name\":\"v\",\"type\":\"int\"},"
     "{\"name\":\"next\",\"type\":[\"null\",\"Node\"]}]}"),
    /* containers of zero-byte items */
    ("{\"type\":\"map\",\"values\":{\"type\":\"array\",\"items\":\"null\"}}"),
    /* a large decimal */
    ("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":1000,"
     "\"scale\":999}"),
};

#define N_SCHEMAS (sizeof(schema_text) / sizeof(schema_text[0]))

static struct herald__avro_schema *schemas[N_SCHEMAS];
/* Reused, as the decoder of a connector reuses its arena. */
static struct herald__arena arena;

static void disagree(const char *what, const char *a, const char *b)
{
    fprintf(stderr, "fuzz_avro: %s:\n  jansson: %s\n  arena:   %s\n", what, a,
            b);
    abort();
}

/* The arena decoder against the jansson one (rc, err, out). */
static void check_arena(const struct herald__avro_schema *s, const uint8_t *buf,
                        size_t len, int rc, const char *err, const json_t *out)
{
    struct herald__decode_budget b;
    struct herald__val v;
    char aerr[512] = "";
    uint64_t nodes = 0;
    uint64_t bytes = 0;
    int arc;

    herald__arena_reset(&arena);
    herald__decode_budget_init(&b, 5 + len, 0, 0);
    arc = herald__avro_decode_arena(s, buf, len, 5, &b, &arena, &v, aerr,
                                    sizeof(aerr));
    if (arc != rc) {
        disagree("one decoded, one failed", rc ? err : "ok", arc ? aerr : "ok");
    }
    if (b.nodes > b.max_nodes || b.bytes > b.max_bytes) {
        disagree("charged beyond the budget", "", "");
    }
    if (rc != 0) {
        if (strcmp(err, aerr) != 0) {
            disagree("different errors", err, aerr);
        }
        if (v.type != HERALD__V_NULL) {
            disagree("a failed decode left a value", "", "");
        }
        return;
    }
    herald__val_size(&v, &nodes, &bytes);
    if (nodes > b.nodes || bytes > b.bytes) {
        disagree("the tree is larger than what was charged", "", "");
    }
    {
        json_t *j = herald__val_to_json(&v);
        char *t1 = json_dumps(out, JSON_ENCODE_ANY | JSON_COMPACT);
        char *t2 = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        if (!t1 || !t2) {
            abort(); /* out of memory: not what is fuzzed */
        }
        if (strcmp(t1, t2) != 0) {
            disagree("different trees", t1, t2);
        }
        free(t1);
        free(t2);
        json_decref(j);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    json_t *out = NULL;
    int32_t id;
    size_t i;
    int rc;

    if (schemas[0] == NULL) {
        for (i = 0; i < N_SCHEMAS; i++) {
            schemas[i] = herald__avro_schema_parse(
                schema_text[i], strlen(schema_text[i]), err, sizeof(err));
            if (schemas[i] == NULL) {
                fprintf(stderr, "fuzz_avro: schema %zu: %s\n", i, err);
                abort();
            }
        }
    }
    if (size < 1) {
        return 0;
    }
    i = data[0] % N_SCHEMAS;
    data++;
    size--;
    if (herald__confluent_frame(data, size, &id, err, sizeof(err)) != 0) {
        return 0;
    }
    rc = herald__avro_decode(schemas[i], data + 5, size - 5, 5, &out, err,
                             sizeof(err));
    check_arena(schemas[i], data + 5, size - 5, rc, err, out);
    json_decref(out);
    return 0;
}
