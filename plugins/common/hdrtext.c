/*
 * hdrtext.c - the code-point rule for header-bound text, see hdrtext.h.
 */
#include "hdrtext.h"

#include <string.h>

size_t hdrtext_utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    uint32_t c, min;
    size_t n;

    if (len == 0) {
        return 0;
    }
    c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        c &= 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        c &= 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        return 0; /* continuation byte, C0/C1 lead (overlong) or F5+ */
    }
    if (len < n) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        return 0;
    }
    *cp = c;
    return n;
}

static int is_control(uint32_t c, int allow_tab)
{
    if (c == '\t') {
        return !allow_tab;
    }
    return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) || c == 0x2028 ||
           c == 0x2029;
}

int hdrtext_check(const char *s, int allow_tab, size_t *off, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0;

    while (i < len) {
        uint32_t c = HDRTEXT_INVALID;
        size_t n = hdrtext_utf8_next(p + i, len - i, &c);
        if (n == 0 || is_control(c, allow_tab)) {
            if (off != NULL) {
                *off = i;
            }
            if (cp != NULL) {
                *cp = n == 0 ? HDRTEXT_INVALID : c;
            }
            return -1;
        }
        i += n;
    }
    return 0;
}
