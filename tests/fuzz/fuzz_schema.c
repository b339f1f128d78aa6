/*
 * fuzz_schema.c - libFuzzer target: a schema registry answer through the
 * registry client's parsing and the Avro decoder, with the output-budget
 * invariant (decode.h) checked on every value built.
 *
 * Input: the body of a `GET /schemas/ids/{id}` answer (JSON text, which
 * holds no NUL byte), then, from the first NUL byte on, a Confluent-framed
 * value (that NUL is its magic byte). The body is classified by
 * herald__registry_parse_response and the schema text parsed by
 * herald__avro_schema_parse exactly as registry.c does with an HTTP 200;
 * the value is decoded within the budget decode.c gives it. A decoded
 * value must never hold more JSON values or string bytes than were charged
 * to the budget, nor the budget more than its formula allows for the
 * input's size: abort() otherwise.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_decode.h"
#include "decode.h"
#include "registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The budget formula of decode.h, written out again so that a change to
 * herald__decode_budget_init that loosens it is caught too. */
static uint64_t allowed(size_t len, uint64_t per_byte, uint64_t base,
                        uint64_t cap)
{
    uint64_t v = (uint64_t)len * per_byte + base;

    return v < cap ? v : cap;
}

static void check(const char *what, uint64_t got, uint64_t max, size_t len)
{
    if (got > max) {
        fprintf(stderr,
                "fuzz_schema: %s %llu over the budget %llu for %zu "
                "input bytes\n",
                what, (unsigned long long)got, (unsigned long long)max, len);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    struct herald__avro_schema *schema = NULL;
    struct herald__decode_budget b;
    const uint8_t *value;
    size_t body_len;
    size_t value_len;
    char *schema_json = NULL;
    json_t *out = NULL;
    uint64_t nodes = 0;
    uint64_t bytes = 0;
    char err[512];
    int32_t id;

    if (nul == NULL) {
        return 0;
    }
    body_len = (size_t)(nul - data);
    value = nul;
    value_len = size - body_len;
    if (herald__confluent_frame(value, value_len, &id, err, sizeof(err)) != 0) {
        return 0;
    }
    if (herald__registry_parse_response(id, 0, 200, (const char *)data,
                                        body_len, &schema_json, err,
                                        sizeof(err)) != HERALD__REGISTRY_OK) {
        return 0;
    }
    schema = herald__avro_schema_parse(schema_json, strlen(schema_json), err,
                                       sizeof(err));
    free(schema_json);
    if (schema == NULL) {
        return 0;
    }
    herald__decode_budget_init(&b, value_len, 0, 0);
    if (herald__avro_decode_budget(schema, value + 5, value_len - 5, 5, &b,
                                   &out, err, sizeof(err)) == 0) {
        herald__decode_tree_size(out, &nodes, &bytes);
        check("values built", nodes, b.nodes, value_len);
        check("string bytes built", bytes, b.bytes, value_len);
        json_decref(out);
    }
    /* charged, success or not */
    check("values charged", b.nodes,
          allowed(value_len, HERALD__DECODE_NODES_PER_BYTE,
                  HERALD__DECODE_NODES_BASE, HERALD__DECODE_MAX_NODES_DEFAULT),
          value_len);
    check("string bytes charged", b.bytes,
          allowed(value_len, HERALD__DECODE_BYTES_PER_BYTE,
                  HERALD__DECODE_BYTES_BASE, HERALD__DECODE_MAX_BYTES_DEFAULT),
          value_len);
    herald__avro_schema_destroy(schema);
    return 0;
}
