/*
 * template_text.c - the template engine's text and number helpers: the
 * string form of a value, masking by code points, exact decimal rounding
 * on digit strings, HTML escaping. Pure functions; contract in
 * template_text.h.
 */
#include "template_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* %.15g always reads back for 15 significant digits; %.17g always does. */
#define REAL_MIN_PRECISION 15
#define REAL_MAX_PRECISION 17
/* Room for any integer or %.17g real. */
#define VALUE_NUMBER_MAX 64
/* An exponent of more digits than this is not a decimal we round. */
#define DECIMAL_EXP_MAX_DIGITS 3

/* Shortest of %.15g, %.16g, %.17g that reads back as v. */
static void real_string(double v, char *out, size_t outlen)
{
    for (int prec = REAL_MIN_PRECISION; prec <= REAL_MAX_PRECISION; prec++) {
        snprintf(out, outlen, "%.*g", prec, v);
        if (strtod(out, NULL) == v) {
            return;
        }
    }
}

char *herald__template_value_string(const json_t *v)
{
    char tmp[VALUE_NUMBER_MAX];

    if (!v || json_is_null(v)) {
        return strdup("");
    }
    switch (json_typeof(v)) {
    case JSON_STRING:
        return strndup(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        return strdup(tmp);
    case JSON_REAL:
        real_string(json_real_value(v), tmp, sizeof tmp);
        return strdup(tmp);
    case JSON_TRUE:
        return strdup("true");
    case JSON_FALSE:
        return strdup("false");
    default:
        return json_dumps(v,
                          JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    }
}

const char *herald__template_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

static size_t n_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        if (((unsigned char)*s & 0xC0) != 0x80) {
            n++;
        }
    }
    return n;
}

/* Byte offset of code point number k (0-based) in s. */
static size_t char_offset(const char *s, size_t k)
{
    size_t n = 0;
    size_t i = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (n == k) {
                return i;
            }
            n++;
        }
    }
    return i;
}

/* All but the last `visible` characters become '*'; a value of `visible`
 * characters or fewer is masked entirely. keep_stars: write the stars
 * (mask) or drop them (last4). */
char *herald__template_mask(const char *s, size_t visible, int keep_stars)
{
    size_t n = n_chars(s);
    struct herald__buf b = HERALD__BUF_INIT;

    if (n <= visible) {
        for (size_t k = 0; k < n; k++) {
            herald__buf_putc(&b, '*');
        }
        return herald__buf_take(&b);
    }
    if (keep_stars) {
        for (size_t k = 0; k < n - visible; k++) {
            herald__buf_putc(&b, '*');
        }
    }
    herald__buf_puts(&b, s + char_offset(s, n - visible));
    return herald__buf_take(&b);
}

/* Round a decimal string to `places` digits after the point, half up
 * (away from zero). Accepts [+-]digits[.digits][e[+-]digits]. Returns a
 * malloc'd string, or NULL if s is not a decimal number. */
char *herald__template_decimal_round(const char *s, int places)
{
    int neg = 0;
    const char *p = s;
    struct herald__buf digits = HERALD__BUF_INIT;
    long point; /* digits before the decimal point */
    char *out = NULL;

    if (*p == '+' || *p == '-') {
        neg = *p == '-';
        p++;
    }
    size_t nint = strspn(p, "0123456789");
    herald__buf_add(&digits, p, nint);
    p += nint;
    size_t nfrac = 0;
    if (*p == '.') {
        p++;
        nfrac = strspn(p, "0123456789");
        herald__buf_add(&digits, p, nfrac);
        p += nfrac;
    }
    if (nint + nfrac == 0) {
        goto done;
    }
    point = (long)nint;
    if (*p == 'e' || *p == 'E') {
        p++;
        int eneg = 0;
        if (*p == '+' || *p == '-') {
            eneg = *p == '-';
            p++;
        }
        size_t ne = strspn(p, "0123456789");
        if (ne == 0 || ne > DECIMAL_EXP_MAX_DIGITS) {
            goto done;
        }
        long e = strtol(p, NULL, 10);
        point += eneg ? -e : e;
        p += ne;
    }
    if (*p != '\0' || digits.failed) {
        goto done;
    }
    {
        /* Lay the number out as int part and exactly places+1 fraction
         * digits (the extra one decides the rounding). */
        struct herald__buf ip = HERALD__BUF_INIT;
        struct herald__buf fp = HERALD__BUF_INIT;
        long nd = (long)digits.len;
        for (long k = 0; k < point; k++) {
            herald__buf_putc(&ip, k < nd ? digits.p[k] : '0');
        }
        for (long k = 0; k < places + 1; k++) {
            long idx = point + k;
            herald__buf_putc(&fp, idx >= 0 && idx < nd ? digits.p[idx] : '0');
        }
        /* Anything beyond places+1 is irrelevant for half-up. */
        if (ip.len == 0) {
            herald__buf_putc(&ip, '0');
        }
        if (ip.failed || fp.failed) {
            herald__buf_cleanup(&ip);
            herald__buf_cleanup(&fp);
            goto done;
        }
        int up = fp.p[places] >= '5';
        fp.p[places] = '\0';
        fp.len = (size_t)places;
        if (up) {
            long k = places - 1;
            for (; k >= 0; k--) {
                if (fp.p[k] == '9') {
                    fp.p[k] = '0';
                } else {
                    fp.p[k]++;
                    break;
                }
            }
            if (k < 0) {
                long m = (long)ip.len - 1;
                for (; m >= 0; m--) {
                    if (ip.p[m] == '9') {
                        ip.p[m] = '0';
                    } else {
                        ip.p[m]++;
                        break;
                    }
                }
                if (m < 0) {
                    struct herald__buf t = HERALD__BUF_INIT;
                    herald__buf_putc(&t, '1');
                    herald__buf_add(&t, ip.p, ip.len);
                    herald__buf_cleanup(&ip);
                    ip = t;
                }
            }
        }
        /* Strip leading zeros of the integer part, keep one. */
        size_t lz = 0;
        while (lz + 1 < ip.len && ip.p[lz] == '0') {
            lz++;
        }
        int zero = strspn(ip.p + lz, "0") == ip.len - lz &&
                   strspn(fp.p, "0") == fp.len;
        struct herald__buf o = HERALD__BUF_INIT;
        if (neg && !zero) {
            herald__buf_putc(&o, '-');
        }
        herald__buf_add(&o, ip.p + lz, ip.len - lz);
        if (places > 0) {
            herald__buf_putc(&o, '.');
            herald__buf_add(&o, fp.p, fp.len);
        }
        herald__buf_cleanup(&ip);
        herald__buf_cleanup(&fp);
        out = herald__buf_take(&o);
    }
done:
    herald__buf_cleanup(&digits);
    return out;
}

void herald__template_html_escape(struct herald__buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            herald__buf_puts(b, "&amp;");
            break;
        case '<':
            herald__buf_puts(b, "&lt;");
            break;
        case '>':
            herald__buf_puts(b, "&gt;");
            break;
        case '"':
            herald__buf_puts(b, "&quot;");
            break;
        case '\'':
            herald__buf_puts(b, "&#39;");
            break;
        default:
            herald__buf_putc(b, *s);
        }
    }
}
