/*
 * fuzz_avro.c - libFuzzer target: Confluent framing + the Avro binary
 * decoder (avro.c) over a fixed set of writer schemas. The first input byte
 * picks the schema; the rest is a framed value. Any input must give a value
 * or an error message, never a crash, a leak or undefined behaviour.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_decode.h"
#include "decode.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    json_t *out = NULL;
    int32_t id;
    size_t i;

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
    if (herald__avro_decode(schemas[i], data + 5, size - 5, 5, &out, err,
                            sizeof(err)) == 0) {
        char *s = json_dumps(out, JSON_ENCODE_ANY | JSON_COMPACT);
        free(s);
        json_decref(out);
    }
    return 0;
}
