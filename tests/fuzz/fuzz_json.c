/*
 * fuzz_json.c - libFuzzer target: the registry-free formats (decode.c) and
 * the record view (record.c). Input: one format byte, a path up to the
 * first NUL, then the value bytes. The value is decoded, put in a record,
 * looked up by the path, read as a typed field and rendered as JSON.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum herald__format formats[] = {
        HERALD__FORMAT_JSON, HERALD__FORMAT_STRING, HERALD__FORMAT_BYTES};
    const uint8_t *nul;
    char *path = NULL;
    char err[512];
    struct herald_record *r = NULL;
    struct herald_value v;
    json_t *tree = NULL;
    json_t *out;
    json_t *owned;
    char buf[64];
    enum herald__format f;

    if (size < 1) {
        return 0;
    }
    f = formats[data[0] % 3];
    data++;
    size--;
    nul = memchr(data, 0, size);
    if (nul == NULL) {
        return 0;
    }
    path = strndup((const char *)data, (size_t)(nul - data));
    size -= (size_t)(nul - data) + 1;
    data = nul + 1;
    r = herald__record_new("t", 0, 0, 0, "k\xff", 2, data, size);
    if (path == NULL || r == NULL) {
        goto out;
    }
    herald__record_add_header(r, "h", data, size);
    if (herald__decode_plain(f, data, size, &tree, err, sizeof(err)) == 0) {
        r->value_val = herald__record_val_from_json(r, tree);
        json_decref(tree);
    }
    if (herald__record_lookup(r, path, &out, &owned) == 0) {
        json_decref(owned);
    }
    herald__record_field(r, path, &v);
    herald__record_json(r, buf, sizeof(buf));
out:
    herald__record_destroy(r);
    free(path);
    return 0;
}
