/*
 * template_filter.c - the template filters: their table (name, arguments,
 * usage), the check of a filter's arguments when a template compiles, and
 * what each does to a value when it renders. Contract in
 * template_filter.h; what each filter means is in template.h.
 */
#include "template_filter.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "template_text.h"
#include "textdist.h"
#include "tz.h"

#define DECIMAL_MAX_PLACES 30
#define MASK_MAX_VISIBLE 64
/* mask without an argument, and last4, show this many characters. */
#define MASK_DEFAULT_VISIBLE 4
/* An integer argument of more digits than this is out of range. */
#define COUNT_ARG_MAX_DIGITS 3
#define DATETIME_DEFAULT_FORMAT "%Y-%m-%d %H:%M:%S %Z"
/* A strftime field width beyond this is read as this (glibc caps widths
 * far lower in practice; the output buffer is what bounds the result). */
#define STRFTIME_MAX_WIDTH 1024
/* Room for the digits of any long long, its sign and the NUL. */
#define EPOCH_DIGITS_MAX 24
/* The longest datetime output; a longer one renders as "". */
#define DATETIME_OUT_MAX 512
/* Zone names longer than this are not looked up. */
#define ZONE_NAME_MAX 200
#define ZONE_PATH_MAX 512
/* A filter's render error, before the field is named. */
#define FILTER_MSG_MAX 256
/* A TZif file starts with these 4 bytes. */
#define TZIF_MAGIC "TZif"
#define TZIF_MAGIC_LEN 4
#define MS_PER_SEC 1000
#define DECIMAL_BASE 10
/* A real number of milliseconds beyond this (about 285,000 years) is not
 * a time. */
#define EPOCH_MS_REAL_MAX 9e15

static const struct herald__template_filter_spec filter_specs[] = {
    {"last4", HERALD__FILTER_LAST4, 0, 0, "", "last4"},
    {"mask", HERALD__FILTER_MASK, 0, 1, "i", "mask [N]"},
    {"upper", HERALD__FILTER_UPPER, 0, 0, "", "upper"},
    {"lower", HERALD__FILTER_LOWER, 0, 0, "", "lower"},
    {"default", HERALD__FILTER_DEFAULT, 1, 1, "s", "default \"text\""},
    {"datetime", HERALD__FILTER_DATETIME, 0, 2, "ss",
     "datetime [\"FORMAT\" [\"ZONE\"]]"},
    {"decimal", HERALD__FILTER_DECIMAL, 1, 1, "i", "decimal N"},
    {"join", HERALD__FILTER_JOIN, 0, 1, "s", "join [\"SEPARATOR\"]"},
    {"json", HERALD__FILTER_JSON, 0, 0, "", "json"},
    {"raw", HERALD__FILTER_RAW, 0, 0, "", "raw"},
};
#define N_FILTER_SPECS (sizeof filter_specs / sizeof filter_specs[0])

const struct herald__template_filter_spec *
herald__template_filter_find(const char *name)
{
    for (size_t k = 0; k < N_FILTER_SPECS; k++) {
        if (strcmp(filter_specs[k].name, name) == 0) {
            return &filter_specs[k];
        }
    }
    return NULL;
}

const char *herald__template_filter_suggest(const char *name)
{
    struct herald__suggest s;

    herald__suggest_init(&s, name);
    for (size_t k = 0; k < N_FILTER_SPECS; k++) {
        herald__suggest_offer(&s, filter_specs[k].name);
    }
    return herald__suggest_best(&s);
}

/* ---- Checking a filter's arguments (compile) ------------------------- */

/* Where a compile error goes: the offset in the template and the text. */
struct build_err {
    size_t *off;
    char *err;
    size_t errlen;
};

static int berr(struct build_err *c, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int berr(struct build_err *c, size_t off, const char *fmt, ...)
{
    va_list ap;

    *c->off = off;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static const char strftime_convs[] =
    "aAbBcCdDeFgGhHIjklmMnprRsStTuUVwWxXyYzZ+%";

/* The strftime format must be non-empty and use known conversions. */
static int check_strftime(struct build_err *c,
                          const struct herald__template_arg *a)
{
    const char *f = a->text;
    size_t base = a->off + (a->type == HERALD__ARG_STRING ? 1 : 0);

    if (f[0] == '\0') {
        berr(c, a->off, "filter 'datetime': the format is empty");
        return -1;
    }
    for (size_t i = 0; f[i] != '\0'; i++) {
        if (f[i] != '%') {
            continue;
        }
        size_t at = i;
        i++;
        while (f[i] != '\0' && strchr("_-0^#", f[i])) {
            i++;
        }
        while (isdigit((unsigned char)f[i])) {
            i++;
        }
        if (f[i] == 'E' || f[i] == 'O') {
            i++;
        }
        if (f[i] == '\0' || !strchr(strftime_convs, f[i])) {
            /* Positions inside a quoted string with escapes drift; they
             * rarely appear in formats. */
            berr(c, base + at,
                 "filter 'datetime': unknown strftime "
                 "conversion '%%%c'",
                 f[i] ? f[i] : ' ');
            return -1;
        }
    }
    return 0;
}

static const char *zoneinfo_dir(void)
{
    const char *dir = getenv("TZDIR");
    return dir && dir[0] ? dir : "/usr/share/zoneinfo";
}

/* A zone is an IANA name whose TZif file exists under the zoneinfo dir. */
static int zone_exists(const char *zone)
{
    char path[ZONE_PATH_MAX];
    struct stat st;
    char magic[TZIF_MAGIC_LEN];
    FILE *f;
    size_t n;

    if (zone[0] == '\0' || zone[0] == '/' || strstr(zone, "..") ||
        strlen(zone) > ZONE_NAME_MAX) {
        return 0;
    }
    for (const char *p = zone; *p; p++) {
        if (!isalnum((unsigned char)*p) && !strchr("_+-/", *p)) {
            return 0;
        }
    }
    snprintf(path, sizeof path, "%s/%s", zoneinfo_dir(), zone);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        return 0;
    }
    f = fopen(path, "rb");
    if (!f) {
        return 0;
    }
    n = fread(magic, 1, sizeof magic, f);
    fclose(f);
    return n == TZIF_MAGIC_LEN &&
           memcmp(magic, TZIF_MAGIC, TZIF_MAGIC_LEN) == 0;
}

static int is_utc(const char *zone)
{
    return !zone || strcmp(zone, "UTC") == 0 || strcmp(zone, "Etc/UTC") == 0 ||
           strcmp(zone, "Zulu") == 0 || strcmp(zone, "Etc/Zulu") == 0;
}

/* An integer argument that counts something (`what`), 0..max, into *out.
 * Returns 0, or -1 after reporting. */
static int count_arg(struct build_err *c,
                     const struct herald__template_filter_spec *spec,
                     const struct herald__template_arg *a, const char *what,
                     long max, long *out)
{
    *out = strtol(a->text, NULL, DECIMAL_BASE);
    if (*out < 0 || *out > max || strlen(a->text) > COUNT_ARG_MAX_DIGITS) {
        return berr(c, a->off, "filter '%s': %s must be 0..%ld, got %s",
                    spec->name, what, max, a->text);
    }
    return 0;
}

/* Check a filter's arguments and fill f. Returns 0 or -1 after reporting.
 * Takes the argument strings it keeps. */
static int build_filter(struct build_err *c,
                        const struct herald__template_filter_spec *spec,
                        size_t name_off, struct herald__template_arg *args,
                        int n_args, struct herald__template_filter *f)
{
    f->spec = spec;
    if (n_args < spec->min_args || n_args > spec->max_args) {
        if (spec->min_args == spec->max_args) {
            berr(c, name_off,
                 "filter '%s' takes %d argument%s, got %d (usage: %s)",
                 spec->name, spec->min_args, spec->min_args == 1 ? "" : "s",
                 n_args, spec->usage);
        } else {
            berr(c, name_off,
                 "filter '%s' takes %d to %d arguments, got %d (usage: %s)",
                 spec->name, spec->min_args, spec->max_args, n_args,
                 spec->usage);
        }
        return -1;
    }
    for (int k = 0; k < n_args; k++) {
        if (spec->types[k] == 'i') {
            if (args[k].type != HERALD__ARG_INT) {
                berr(c, args[k].off,
                     "filter '%s' argument %d must be an integer, got '%s'",
                     spec->name, k + 1, args[k].text);
                return -1;
            }
        }
    }
    switch (spec->kind) {
    case HERALD__FILTER_MASK:
        f->n = MASK_DEFAULT_VISIBLE;
        if (n_args == 1 && count_arg(c, spec, &args[0], "visible characters",
                                     MASK_MAX_VISIBLE, &f->n) != 0) {
            return -1;
        }
        break;
    case HERALD__FILTER_DECIMAL:
        if (count_arg(c, spec, &args[0], "places", DECIMAL_MAX_PLACES, &f->n) !=
            0) {
            return -1;
        }
        break;
    case HERALD__FILTER_DEFAULT:
        f->s1 = args[0].text;
        args[0].text = NULL;
        break;
    case HERALD__FILTER_JOIN:
        if (n_args == 1) {
            f->s1 = args[0].text;
            args[0].text = NULL;
        } else {
            f->s1 = strdup(", ");
        }
        if (!f->s1) {
            return -1;
        }
        break;
    case HERALD__FILTER_DATETIME:
        if (n_args >= 1) {
            if (check_strftime(c, &args[0]) != 0) {
                return -1;
            }
            f->s1 = args[0].text;
            args[0].text = NULL;
        } else {
            f->s1 = strdup(DATETIME_DEFAULT_FORMAT);
            if (!f->s1) {
                return -1;
            }
        }
        if (n_args == 2) {
            if (!zone_exists(args[1].text)) {
                berr(c, args[1].off,
                     "filter 'datetime': unknown time zone "
                     "'%s' (not found in %s)",
                     args[1].text, zoneinfo_dir());
                return -1;
            }
            if (!is_utc(args[1].text)) {
                f->zone = herald__tz_open(args[1].text);
                if (!f->zone) {
                    berr(c, args[1].off,
                         "filter 'datetime': cannot load time zone '%s' "
                         "from %s",
                         args[1].text, zoneinfo_dir());
                    return -1;
                }
            }
        }
        break;
    default:
        break;
    }
    return 0;
}

int herald__template_filter_build(
    const struct herald__template_filter_spec *spec, size_t name_off,
    struct herald__template_arg *args, int n_args,
    struct herald__template_filter *f, size_t *err_off, char *err,
    size_t errlen)
{
    struct build_err e = {err_off, err, errlen};

    if (errlen > 0) {
        err[0] = '\0';
    }
    *err_off = name_off;
    return build_filter(&e, spec, name_off, args, n_args, f);
}

void herald__template_filter_cleanup(struct herald__template_filter *f)
{
    if (!f) {
        return;
    }
    free(f->s1);
    f->s1 = NULL;
    herald__tz_close(f->zone);
    f->zone = NULL;
}

/* ---- Applying a filter (render) -------------------------------------- */

/* The format comes from the template and was checked when it was compiled
 * (check_strftime), hence the non-literal format. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static size_t format_tm(char *out, size_t outlen, const char *fmt,
                        const struct tm *tm)
{
    return strftime(out, outlen, fmt, tm);
}
#pragma GCC diagnostic pop

/* strftime's %s converts tm back with mktime, in the zone TZ names, not
 * the zone tm was broken down in (and mktime reads the environment). The
 * instant is known, so write it into the format instead: each
 * %[flags][width]s becomes the number padded on the left as glibc pads
 * it (spaces by default and with '_', zeros with '0', none with '-').
 * Returns a malloc'd format or NULL. */
static char *expand_epoch(const char *fmt, long long secs)
{
    struct herald__buf b = HERALD__BUF_INIT;

    for (size_t i = 0; fmt[i] != '\0'; i++) {
        if (fmt[i] != '%') {
            herald__buf_putc(&b, fmt[i]);
            continue;
        }
        size_t at = i++;
        char pad = ' ';
        while (fmt[i] != '\0' && strchr("_-0^#", fmt[i])) {
            if (fmt[i] == '_') {
                pad = ' ';
            } else if (fmt[i] == '-') {
                pad = '\0';
            } else if (fmt[i] == '0') {
                pad = '0';
            }
            i++;
        }
        int width = 0;
        while (isdigit((unsigned char)fmt[i]) && width < STRFTIME_MAX_WIDTH) {
            width = width * DECIMAL_BASE + (fmt[i] - '0');
            i++;
        }
        while (isdigit((unsigned char)fmt[i])) {
            i++;
        }
        if (fmt[i] == 'E' || fmt[i] == 'O') {
            i++;
        }
        if (fmt[i] != 's') {
            /* Not %s: copy the directive through for strftime. */
            herald__buf_add(&b, fmt + at, i - at + (fmt[i] != '\0'));
            if (fmt[i] == '\0') {
                break;
            }
            continue;
        }
        char num[EPOCH_DIGITS_MAX];
        int n = snprintf(num, sizeof num, "%lld", secs);
        for (int k = n; pad != '\0' && k < width; k++) {
            herald__buf_putc(&b, pad);
        }
        herald__buf_add(&b, num, (size_t)n);
    }
    return herald__buf_take(&b);
}

/* Render errors name the field: "filter 'x' on field 'y': ...". */
static int ferr(char *err, size_t errlen,
                const struct herald__template_filter *f, const char *path,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int ferr(char *err, size_t errlen,
                const struct herald__template_filter *f, const char *path,
                const char *fmt, ...)
{
    char msg[FILTER_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "filter '%s' on field '%s': %s", f->spec->name, path,
             msg);
    return -1;
}

static int apply_datetime(const struct herald__template_filter *f,
                          const char *path, const json_t *v, json_t **res,
                          char *err, size_t errlen)
{
    long long ms;
    char out[DATETIME_OUT_MAX];
    size_t n = 0;

    if (json_is_integer(v)) {
        ms = json_integer_value(v);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        /* Range first: converting an out-of-range double is undefined. */
        if (!(d <= EPOCH_MS_REAL_MAX && d >= -EPOCH_MS_REAL_MAX) ||
            d != (double)(long long)d) {
            return ferr(err, errlen, f, path,
                        "expected epoch milliseconds, got %g", d);
        }
        ms = (long long)d;
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        size_t k = s[0] == '-' ? 1 : 0;
        errno = 0;
        ms = strtoll(s, &end, 10);
        if (s[k] < '0' || s[k] > '9' || *end != '\0' || errno != 0) {
            return ferr(err, errlen, f, path,
                        "expected epoch milliseconds, got '%.40s'", s);
        }
    } else {
        return ferr(err, errlen, f, path, "expected epoch milliseconds, got %s",
                    herald__template_type_name(v));
    }
    /* Floor division: -1 ms is 1969-12-31 23:59:59. */
    long long secs = ms / MS_PER_SEC - (ms % MS_PER_SEC < 0 ? 1 : 0);
    struct tm tm;
    if (!f->zone) {
        time_t t = (time_t)secs;
        if (!gmtime_r(&t, &tm)) {
            return ferr(err, errlen, f, path, "time %lld out of range", ms);
        }
        tm.tm_zone = "UTC";
        tm.tm_gmtoff = 0;
    } else if (herald__tz_localtime(f->zone, secs, &tm) != 0) {
        return ferr(err, errlen, f, path, "time %lld out of range", ms);
    }
    char *fmt = expand_epoch(f->s1, secs);
    if (!fmt) {
        return ferr(err, errlen, f, path, "out of memory");
    }
    n = format_tm(out, sizeof out, fmt, &tm);
    free(fmt);
    if (n == 0) {
        out[0] = '\0';
    }
    *res = json_string_nocheck(out);
    return *res ? 0 : ferr(err, errlen, f, path, "out of memory");
}

int herald__template_filter_apply(const struct herald__template_filter *f,
                                  const char *path, const json_t *v,
                                  json_t **res, char *err, size_t errlen)
{
    char *s = NULL;
    char *r = NULL;

    *res = NULL;
    switch (f->spec->kind) {
    case HERALD__FILTER_DATETIME:
        return apply_datetime(f, path, v, res, err, errlen);
    case HERALD__FILTER_JSON:
        r = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        break;
    case HERALD__FILTER_JOIN: {
        struct herald__buf b = HERALD__BUF_INIT;
        if (!json_is_array(v)) {
            return ferr(err, errlen, f, path, "expected an array, got %s",
                        herald__template_type_name(v));
        }
        for (size_t k = 0; k < json_array_size(v); k++) {
            char *item = herald__template_value_string(json_array_get(v, k));
            if (!item) {
                b.failed = 1;
                break;
            }
            if (k > 0) {
                herald__buf_puts(&b, f->s1);
            }
            herald__buf_puts(&b, item);
            free(item);
        }
        r = herald__buf_take(&b);
        break;
    }
    case HERALD__FILTER_DECIMAL:
        if (json_is_integer(v) || json_is_real(v) || json_is_string(v)) {
            s = herald__template_value_string(v);
            if (!s) {
                break;
            }
            r = herald__template_decimal_round(s, (int)f->n);
            if (!r) {
                ferr(err, errlen, f, path, "'%.40s' is not a decimal number",
                     s);
                free(s);
                return -1;
            }
            break;
        }
        return ferr(err, errlen, f, path, "expected a number, got %s",
                    herald__template_type_name(v));
    default:
        s = herald__template_value_string(v);
        if (!s) {
            break;
        }
        if (f->spec->kind == HERALD__FILTER_LAST4) {
            r = herald__template_mask(s, MASK_DEFAULT_VISIBLE, 0);
        } else if (f->spec->kind == HERALD__FILTER_MASK) {
            r = herald__template_mask(s, (size_t)f->n, 1);
        } else if (f->spec->kind == HERALD__FILTER_UPPER ||
                   f->spec->kind == HERALD__FILTER_LOWER) {
            for (char *c = s; *c; c++) {
                unsigned char ch = (unsigned char)*c;
                if (ch < 0x80) {
                    *c = (char)(f->spec->kind == HERALD__FILTER_UPPER
                                    ? toupper(ch)
                                    : tolower(ch));
                }
            }
            r = s;
            s = NULL;
        }
        break;
    }
    free(s);
    if (!r) {
        snprintf(err, errlen, "out of memory rendering field '%s'", path);
        return -1;
    }
    /* Output is bytes for a message; a template file need not be UTF-8,
     * so do not let jansson refuse it. */
    *res = json_string_nocheck(r);
    free(r);
    if (!*res) {
        snprintf(err, errlen, "out of memory rendering field '%s'", path);
        return -1;
    }
    return 0;
}
