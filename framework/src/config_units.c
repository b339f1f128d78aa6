/*
 * config_units.c - the units of configuration values: durations
 * ("250ms", "30s", "5m", "1h", "1d"; a bare number is ms) and sizes
 * ("512", "64KiB", "64KB", "10MiB", "1GiB").
 */
#include "config_int.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Leading decimal digits of s into *v; returns the first other char, or
 * NULL on no digits or overflow. */
static const char *parse_digits(const char *s, int64_t *v)
{
    int64_t acc = 0;
    const char *p = s;

    while (*p >= '0' && *p <= '9') {
        int digit = *p - '0';

        if (acc > (INT64_MAX - digit) / 10) {
            return NULL;
        }
        acc = acc * 10 + digit;
        p++;
    }
    if (p == s) {
        return NULL;
    }
    *v = acc;
    return p;
}

/* One unit suffix and what it multiplies by. */
struct unit {
    const char *suffix;
    int64_t mul;
};

static const struct unit duration_units[] = {
    {"", 1},          {"ms", 1},          {"s", 1000},
    {"m", 60 * 1000}, {"h", 3600 * 1000}, {"d", 86400 * 1000},
};

static const struct unit size_units[] = {
    {"", 1},
    {"b", 1},
    {"kb", 1000},
    {"kib", 1024},
    {"mb", 1000 * 1000},
    {"mib", 1024 * 1024},
    {"gb", 1000 * 1000 * 1000},
    {"gib", (int64_t)1024 * 1024 * 1024},
    {"tb", (int64_t)1000 * 1000 * 1000 * 1000},
    {"tib", (int64_t)1024 * 1024 * 1024 * 1024},
};

/* Digits then one of units[0..n) (case-insensitive if nocase): 0 and
 * *out, or -1 (out untouched) on a malformed value or overflow. */
static int scaled(const char *s, const struct unit *units, size_t n, int nocase,
                  int64_t *out)
{
    int64_t v;
    const char *rest;

    if (!s || !(rest = parse_digits(s, &v))) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if ((nocase ? strcasecmp(rest, units[i].suffix)
                    : strcmp(rest, units[i].suffix)) != 0) {
            continue;
        }
        if (v > INT64_MAX / units[i].mul) {
            return -1;
        }
        *out = v * units[i].mul;
        return 0;
    }
    return -1;
}

/* "250ms", "30s", "5m", "1h", "1d"; a bare number is ms. Units are lower
 * case, no sign, no space. Returns 0 and *out in ms, or -1 (out
 * untouched) on a malformed value or overflow. */
int herald__parse_duration_ms(const char *s, int64_t *out)
{
    return scaled(s, duration_units,
                  sizeof duration_units / sizeof duration_units[0], 0, out);
}

/* "512", "512B", "64KB", "64KiB", "10MB", "10MiB", "1GB", "1GiB", "1TB",
 * "1TiB"; units are case-insensitive, KB = 1000 and KiB = 1024. Returns 0
 * and *out in bytes, or -1 (out untouched) on a malformed value or
 * overflow. */
int herald__parse_size(const char *s, int64_t *out)
{
    return scaled(s, size_units, sizeof size_units / sizeof size_units[0], 1,
                  out);
}
