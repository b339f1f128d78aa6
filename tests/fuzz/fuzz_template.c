/*
 * fuzz_template.c - libFuzzer target for the template engine: compile any
 * bytes as a template (plain and HTML), render what compiles against a
 * fixed record-like JSON document, and run the address checker on the
 * same bytes. Nothing may crash, leak or read out of bounds.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "notify.h"
#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *doc;

static void fuzz_one(const char *text, int html)
{
    struct herald__diag d;
    struct herald__template *t;
    char err[256];
    char *out = NULL;

    herald__diag_init(&d);
    t = herald__template_compile(text, "fuzz", 1, 1, html, &d);
    if (t != NULL && herald__template_render(t, herald__template_lookup_json,
                                             doc, &out, err, sizeof err) == 0) {
        free(out);
    }
    herald__template_destroy(t);
    herald__diag_cleanup(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    char err[256];

    if (doc == NULL) {
        doc = json_loads(
            "{\"card_number\":\"358579699410099\","
            "\"email_address\":\"michael@example.com\",\"n_attempts\":3,"
            "\"total_amount\":\"232.41\",\"tx_ids\":[\"a\",null,\"c\"],"
            "\"start_boundary\":1587525570000,\"r\":-0.5,\"n\":null,"
            "\"o\":{\"x\":[1,{\"y\":\"<&>\"}]},\"t\":true}",
            0, NULL);
        if (doc == NULL) {
            abort();
        }
    }
    if (size > 65536) {
        return 0;
    }
    text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    fuzz_one(text, 0);
    fuzz_one(text, 1);
    herald__notify_check_address(text, err, sizeof err);
    free(text);
    return 0;
}
