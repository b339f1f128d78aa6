/*
 * fuzz_window.c - libFuzzer target: ksqlDB windowed keys (decode.c). Input:
 * one byte picking the window type and inner format, one byte of window
 * size, then the key bytes.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum herald__window windows[] = {HERALD__WINDOW_TUMBLING,
                                                  HERALD__WINDOW_HOPPING,
                                                  HERALD__WINDOW_SESSION};
    static const enum herald__format formats[] = {
        HERALD__FORMAT_STRING, HERALD__FORMAT_JSON, HERALD__FORMAT_BYTES};
    char err[256];
    json_t *out = NULL;
    size_t inner = 0;
    int64_t start = 0;
    int64_t end = 0;

    if (size < 2) {
        return 0;
    }
    if (herald__window_split(windows[data[0] % 3], (int64_t)data[1] * 1000,
                             data + 2, size - 2, &inner, &start, &end, err,
                             sizeof(err)) != 0) {
        return 0;
    }
    if (herald__decode_plain(formats[(data[0] / 3) % 3], data + 2, inner, &out,
                             err, sizeof(err)) == 0) {
        json_decref(out);
    }
    return 0;
}
