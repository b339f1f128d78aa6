/*
 * bytes.c - raw bytes as text: UTF-8 validity and Avro's bytes-as-JSON
 * encoding. Contract in bytes.h.
 */
#include "bytes.h"

#include <stdint.h>
#include <stdlib.h>

size_t herald__utf8_check(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    size_t i = 0;

    while (i < len) {
        unsigned c = p[i];
        size_t n;
        uint32_t cp;
        size_t k;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return i;
        }
        if (len - i <= n) {
            return i;
        }
        for (k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return i;
            }
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        /* overlong, surrogate, beyond U+10FFFF */
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
            return i;
        }
        i += n + 1;
    }
    return len;
}

json_t *herald__bytes_json(const void *buf, size_t len)
{
    const unsigned char *b = buf;
    char *s = malloc(len * 2 + 1);
    json_t *j;
    size_t o = 0;
    size_t i;

    if (!s) {
        return NULL;
    }
    for (i = 0; i < len; i++) {
        if (b[i] < 0x80) {
            s[o++] = (char)b[i];
        } else {
            s[o++] = (char)(0xc0 | (b[i] >> 6));
            s[o++] = (char)(0x80 | (b[i] & 0x3f));
        }
    }
    j = json_stringn(s, o);
    free(s);
    return j;
}
