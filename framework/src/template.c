/*
 * template.c - the template engine: compile `{{path | filter}}` text once,
 * with file:line:col for every error, and render it per record through a
 * lookup callback. Syntax and filter semantics are documented in
 * template.h.
 */
#include "template.h"

#include "tz.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define TEMPLATE_FILE_MAX (1024 * 1024)
#define DECIMAL_MAX_PLACES 30
#define MASK_MAX_VISIBLE 64
#define DATETIME_DEFAULT_FORMAT "%Y-%m-%d %H:%M:%S %Z"
/* A strftime field width beyond this is read as this (glibc caps widths
 * far lower in practice; the output buffer is what bounds the result). */
#define STRFTIME_MAX_WIDTH 1024
/* Room for the digits of any long long, its sign and the NUL. */
#define EPOCH_DIGITS_MAX 24

enum filter_kind {
    F_LAST4,
    F_MASK,
    F_UPPER,
    F_LOWER,
    F_DEFAULT,
    F_DATETIME,
    F_DECIMAL,
    F_JOIN,
    F_JSON,
    F_RAW,
};

/* What each filter accepts: argument types are 's' (any argument, kept as
 * text) and 'i' (an integer). */
struct filter_spec {
    const char *name;
    enum filter_kind kind;
    int min_args;
    int max_args;
    const char *types;
    const char *usage;
};

static const struct filter_spec filter_specs[] = {
    {"last4", F_LAST4, 0, 0, "", "last4"},
    {"mask", F_MASK, 0, 1, "i", "mask [N]"},
    {"upper", F_UPPER, 0, 0, "", "upper"},
    {"lower", F_LOWER, 0, 0, "", "lower"},
    {"default", F_DEFAULT, 1, 1, "s", "default \"text\""},
    {"datetime", F_DATETIME, 0, 2, "ss", "datetime [\"FORMAT\" [\"ZONE\"]]"},
    {"decimal", F_DECIMAL, 1, 1, "i", "decimal N"},
    {"join", F_JOIN, 0, 1, "s", "join [\"SEPARATOR\"]"},
    {"json", F_JSON, 0, 0, "", "json"},
    {"raw", F_RAW, 0, 0, "", "raw"},
};
#define N_FILTER_SPECS (sizeof filter_specs / sizeof filter_specs[0])

struct filter {
    const struct filter_spec *spec;
    char *s1;                /* default text, datetime format, join separator */
    struct herald__tz *zone; /* datetime zone, NULL for UTC */
    long n;                  /* mask visible characters, decimal places */
};

/* A literal run (path NULL) or one substitution. */
struct part {
    char *text;
    size_t len;
    char *path;
    struct filter *filters;
    size_t n_filters;
    int raw;
};

struct herald__template {
    struct part *parts;
    size_t n_parts;
    size_t n_exprs;
    int html;
};

/* ---- Growable buffer ------------------------------------------------ */

struct buf {
    char *p;
    size_t len;
    size_t cap;
    int oom;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_chr(struct buf *b, char c)
{
    buf_add(b, &c, 1);
}

/* Take the buffer's string ("" when nothing was added); NULL on OOM. */
static char *buf_take(struct buf *b)
{
    if (b->oom) {
        free(b->p);
        b->p = NULL;
        return NULL;
    }
    if (b->p == NULL) {
        return strdup("");
    }
    char *p = b->p;
    b->p = NULL;
    return p;
}

/* ---- Diagnostics at a position inside the text ---------------------- */

struct compiler {
    const char *text;
    size_t len;
    const char *file;
    int line;
    int col;
    struct herald__diag *d;
    int errors;
};

/* Report at byte offset off of the text: line/col are counted from the
 * start position, columns in code points as libyaml does. */
static void cerr(struct compiler *c, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cerr(struct compiler *c, size_t off, const char *fmt, ...)
{
    struct herald__node at;
    int line = c->line;
    int col = c->col;
    char msg[512];
    va_list ap;

    for (size_t i = 0; i < off && i < c->len; i++) {
        unsigned char ch = (unsigned char)c->text[i];
        if (ch == '\n') {
            line++;
            col = 1;
        } else if ((ch & 0xC0) != 0x80) {
            col++;
        }
    }
    memset(&at, 0, sizeof at);
    at.type = HERALD_NODE_SCALAR;
    at.file = c->file ? c->file : "<template>";
    at.line = line;
    at.col = col;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    herald__diag_add(c->d, &at, "%s", msg);
    c->errors++;
}

/* ---- Paths ---------------------------------------------------------- */

static int is_name_char(int ch)
{
    return isalnum(ch) || ch == '_' || ch == '-';
}

static const char *const record_attrs[] = {
    "key",       "value",  "topic",   "partition", "offset",
    "timestamp", "window", "headers", NULL,
};

/* Validate a path; on error *bad is the byte offset of the offending
 * character and err says why. */
static int path_check(const char *p, size_t len, size_t *bad, char *err,
                      size_t errlen)
{
    size_t i = 0;
    size_t start;

    if (len == 0) {
        *bad = 0;
        snprintf(err, errlen, "empty path");
        return -1;
    }
    if (p[0] == '@') {
        i = 1;
        start = i;
        while (i < len && isalnum((unsigned char)p[i])) {
            i++;
        }
        size_t n = i - start;
        int known = -1;
        for (int k = 0; record_attrs[k] != NULL; k++) {
            if (strlen(record_attrs[k]) == n &&
                strncmp(record_attrs[k], p + start, n) == 0) {
                known = k;
            }
        }
        if (known < 0) {
            *bad = 0;
            snprintf(err, errlen,
                     "unknown record attribute '%.*s' (known: @key, "
                     "@value, @topic, @partition, @offset, @timestamp, "
                     "@window.start, @window.end, @headers.NAME)",
                     (int)i, p);
            return -1;
        }
        const char *attr = record_attrs[known];
        if (strcmp(attr, "window") == 0) {
            if ((len - i == 6 && strncmp(p + i, ".start", 6) == 0) ||
                (len - i == 4 && strncmp(p + i, ".end", 4) == 0)) {
                return 0;
            }
            *bad = i;
            snprintf(err, errlen, "@window takes .start or .end");
            return -1;
        }
        if (strcmp(attr, "headers") == 0) {
            if (i >= len || p[i] != '.' || i + 1 >= len) {
                *bad = i;
                snprintf(err, errlen, "@headers takes .NAME");
                return -1;
            }
            /* Everything after "@headers." is the header name. */
            for (size_t j = i + 1; j < len; j++) {
                unsigned char ch = (unsigned char)p[j];
                if (ch <= ' ' || ch >= 0x7F || ch == '{' || ch == '}' ||
                    ch == '|') {
                    *bad = j;
                    snprintf(err, errlen, "bad character in header name");
                    return -1;
                }
            }
            return 0;
        }
        if (strcmp(attr, "key") != 0 && strcmp(attr, "value") != 0) {
            if (i < len) {
                *bad = i;
                snprintf(err, errlen, "nothing may follow @%s", attr);
                return -1;
            }
            return 0;
        }
    } else {
        start = i;
        while (i < len && is_name_char((unsigned char)p[i])) {
            i++;
        }
        if (i == start) {
            *bad = i;
            snprintf(err, errlen, "expected a field name, got '%c'", p[i]);
            return -1;
        }
    }
    while (i < len) {
        if (p[i] == '.') {
            i++;
            start = i;
            while (i < len && is_name_char((unsigned char)p[i])) {
                i++;
            }
            if (i == start) {
                *bad = i < len ? i : i - 1;
                snprintf(err, errlen, "expected a field name after '.'");
                return -1;
            }
        } else if (p[i] == '[') {
            size_t open = i;
            i++;
            start = i;
            while (i < len && isdigit((unsigned char)p[i])) {
                i++;
            }
            if (i == start || i - start > 9) {
                *bad = i < len ? i : open;
                snprintf(err, errlen, "array index must be 1 to 9 digits");
                return -1;
            }
            if (i >= len || p[i] != ']') {
                *bad = i < len ? i : open;
                snprintf(err, errlen, "unclosed '['");
                return -1;
            }
            i++;
        } else {
            *bad = i;
            snprintf(err, errlen, "unexpected character '%c'", p[i]);
            return -1;
        }
    }
    return 0;
}

int herald__template_check_path(const char *path, char *err, size_t errlen)
{
    size_t bad;

    if (path == NULL) {
        snprintf(err, errlen, "empty path");
        return -1;
    }
    return path_check(path, strlen(path), &bad, err, errlen);
}

int herald__template_lookup_json(void *ctx, const char *path, json_t **out,
                                 json_t **owned)
{
    json_t *v = ctx;
    size_t len = strlen(path);
    size_t i = 0;
    char err[128];
    size_t bad;

    *out = NULL;
    *owned = NULL;
    if (path_check(path, len, &bad, err, sizeof err) != 0) {
        return -1;
    }
    if (path[0] == '@') {
        return 0;
    }
    while (i < len && v != NULL) {
        if (path[i] == '.') {
            i++;
        }
        if (path[i] == '[') {
            size_t idx = (size_t)strtoul(path + i + 1, NULL, 10);
            v = json_is_array(v) ? json_array_get(v, idx) : NULL;
            i = (size_t)(strchr(path + i, ']') - path) + 1;
            continue;
        }
        size_t start = i;
        while (i < len && is_name_char((unsigned char)path[i])) {
            i++;
        }
        if (!json_is_object(v)) {
            v = NULL;
            break;
        }
        char name[256];
        size_t n = i - start < sizeof name - 1 ? i - start : sizeof name - 1;
        memcpy(name, path + start, n);
        name[n] = '\0';
        v = json_object_get(v, name);
    }
    *out = v;
    return 0;
}

/* ---- Compiling ------------------------------------------------------- */

static int levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int row[64];

    if (la >= 63 || lb >= 63) {
        return 99;
    }
    for (size_t j = 0; j <= lb; j++) {
        row[j] = (int)j;
    }
    for (size_t i = 1; i <= la; i++) {
        int prev = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cur = row[j];
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int best = prev + cost;
            if (row[j] + 1 < best) {
                best = row[j] + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            row[j] = best;
            prev = cur;
        }
    }
    return row[lb];
}

static int is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int is_bare_char(int ch)
{
    return isalnum(ch) || ch == '_' || ch == '.' || ch == '/' || ch == '+' ||
           ch == '-' || ch == ':' || ch == '%';
}

enum arg_type { ARG_STRING, ARG_WORD, ARG_INT, ARG_REAL };

struct arg {
    enum arg_type type;
    char *text;
    size_t off; /* where it starts in the template */
};

/* Parse one argument at *i. Returns 0, or -1 after reporting. */
static int parse_arg(struct compiler *c, size_t *i, struct arg *a)
{
    const char *t = c->text;
    size_t start = *i;
    struct buf b = {0};

    a->off = start;
    a->text = NULL;
    if (t[start] == '"') {
        size_t j = start + 1;
        while (j < c->len && t[j] != '"') {
            if (t[j] == '\\') {
                char e = j + 1 < c->len ? t[j + 1] : '\0';
                if (e == '"' || e == '\\') {
                    buf_chr(&b, e);
                } else if (e == 'n') {
                    buf_chr(&b, '\n');
                } else if (e == 't') {
                    buf_chr(&b, '\t');
                } else {
                    cerr(c, j, "unknown escape '\\%c' in string argument", e);
                    free(b.p);
                    return -1;
                }
                j += 2;
                continue;
            }
            buf_chr(&b, t[j]);
            j++;
        }
        if (j >= c->len) {
            cerr(c, start, "unterminated string argument");
            free(b.p);
            return -1;
        }
        a->type = ARG_STRING;
        a->text = buf_take(&b);
        *i = j + 1;
        return a->text ? 0 : -1;
    }
    size_t j = start;
    while (j < c->len && is_bare_char((unsigned char)t[j])) {
        j++;
    }
    if (j == start) {
        cerr(c, start, "unexpected character '%c' in '{{ }}'", t[start]);
        return -1;
    }
    a->text = strndup(t + start, j - start);
    if (a->text == NULL) {
        return -1;
    }
    /* Classify: -?digits is an integer, -?digits.digits a real. */
    const char *s = a->text;
    size_t k = s[0] == '-' ? 1 : 0;
    size_t digits = strspn(s + k, "0123456789");
    a->type = ARG_WORD;
    if (digits > 0 && s[k + digits] == '\0') {
        a->type = ARG_INT;
    } else if (digits > 0 && s[k + digits] == '.' &&
               strspn(s + k + digits + 1, "0123456789") > 0 &&
               s[k + digits + 1 + strspn(s + k + digits + 1, "0123456789")] ==
                   '\0') {
        a->type = ARG_REAL;
    }
    *i = j;
    return 0;
}

static const char strftime_convs[] =
    "aAbBcCdDeFgGhHIjklmMnprRsStTuUVwWxXyYzZ+%";

/* The strftime format must be non-empty and use known conversions. */
static int check_strftime(struct compiler *c, const struct arg *a)
{
    const char *f = a->text;
    size_t base = a->off + (a->type == ARG_STRING ? 1 : 0);

    if (f[0] == '\0') {
        cerr(c, a->off, "filter 'datetime': the format is empty");
        return -1;
    }
    for (size_t i = 0; f[i] != '\0'; i++) {
        if (f[i] != '%') {
            continue;
        }
        size_t at = i;
        i++;
        while (f[i] != '\0' && strchr("_-0^#", f[i]) != NULL) {
            i++;
        }
        while (isdigit((unsigned char)f[i])) {
            i++;
        }
        if (f[i] == 'E' || f[i] == 'O') {
            i++;
        }
        if (f[i] == '\0' || strchr(strftime_convs, f[i]) == NULL) {
            /* Positions inside a quoted string with escapes drift; they
             * rarely appear in formats. */
            cerr(c, base + at,
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
    char path[512];
    struct stat st;
    char magic[4];
    FILE *f;
    size_t n;

    if (zone[0] == '\0' || zone[0] == '/' || strstr(zone, "..") != NULL ||
        strlen(zone) > 200) {
        return 0;
    }
    for (const char *p = zone; *p; p++) {
        if (!isalnum((unsigned char)*p) && strchr("_+-/", *p) == NULL) {
            return 0;
        }
    }
    snprintf(path, sizeof path, "%s/%s", zoneinfo_dir(), zone);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        return 0;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        return 0;
    }
    n = fread(magic, 1, sizeof magic, f);
    fclose(f);
    return n == 4 && memcmp(magic, "TZif", 4) == 0;
}

static int is_utc(const char *zone)
{
    return zone == NULL || strcmp(zone, "UTC") == 0 ||
           strcmp(zone, "Etc/UTC") == 0 || strcmp(zone, "Zulu") == 0 ||
           strcmp(zone, "Etc/Zulu") == 0;
}

static const struct filter_spec *find_spec(const char *name)
{
    for (size_t k = 0; k < N_FILTER_SPECS; k++) {
        if (strcmp(filter_specs[k].name, name) == 0) {
            return &filter_specs[k];
        }
    }
    return NULL;
}

/* Check a filter's arguments and fill f. Returns 0 or -1 after reporting.
 * Takes the argument strings it keeps. */
static int build_filter(struct compiler *c, const struct filter_spec *spec,
                        size_t name_off, struct arg *args, int n_args,
                        struct filter *f)
{
    f->spec = spec;
    if (n_args < spec->min_args || n_args > spec->max_args) {
        if (spec->min_args == spec->max_args) {
            cerr(c, name_off,
                 "filter '%s' takes %d argument%s, got %d (usage: %s)",
                 spec->name, spec->min_args, spec->min_args == 1 ? "" : "s",
                 n_args, spec->usage);
        } else {
            cerr(c, name_off,
                 "filter '%s' takes %d to %d arguments, got %d (usage: %s)",
                 spec->name, spec->min_args, spec->max_args, n_args,
                 spec->usage);
        }
        return -1;
    }
    for (int k = 0; k < n_args; k++) {
        if (spec->types[k] == 'i') {
            if (args[k].type != ARG_INT) {
                cerr(c, args[k].off,
                     "filter '%s' argument %d must be an integer, got '%s'",
                     spec->name, k + 1, args[k].text);
                return -1;
            }
        }
    }
    switch (spec->kind) {
    case F_MASK:
        f->n = 4;
        if (n_args == 1) {
            f->n = strtol(args[0].text, NULL, 10);
            if (f->n < 0 || f->n > MASK_MAX_VISIBLE ||
                strlen(args[0].text) > 3) {
                cerr(c, args[0].off,
                     "filter 'mask': visible characters must be 0..%d, "
                     "got %s",
                     MASK_MAX_VISIBLE, args[0].text);
                return -1;
            }
        }
        break;
    case F_DECIMAL:
        f->n = strtol(args[0].text, NULL, 10);
        if (f->n < 0 || f->n > DECIMAL_MAX_PLACES || strlen(args[0].text) > 3) {
            cerr(c, args[0].off,
                 "filter 'decimal': places must be 0..%d, "
                 "got %s",
                 DECIMAL_MAX_PLACES, args[0].text);
            return -1;
        }
        break;
    case F_DEFAULT:
        f->s1 = args[0].text;
        args[0].text = NULL;
        break;
    case F_JOIN:
        if (n_args == 1) {
            f->s1 = args[0].text;
            args[0].text = NULL;
        } else {
            f->s1 = strdup(", ");
        }
        if (f->s1 == NULL) {
            return -1;
        }
        break;
    case F_DATETIME:
        if (n_args >= 1) {
            if (check_strftime(c, &args[0]) != 0) {
                return -1;
            }
            f->s1 = args[0].text;
            args[0].text = NULL;
        } else {
            f->s1 = strdup(DATETIME_DEFAULT_FORMAT);
            if (f->s1 == NULL) {
                return -1;
            }
        }
        if (n_args == 2) {
            if (!zone_exists(args[1].text)) {
                cerr(c, args[1].off,
                     "filter 'datetime': unknown time zone "
                     "'%s' (not found in %s)",
                     args[1].text, zoneinfo_dir());
                return -1;
            }
            if (!is_utc(args[1].text)) {
                f->zone = herald__tz_open(args[1].text);
                if (!f->zone) {
                    cerr(c, args[1].off,
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

static void part_cleanup(struct part *p)
{
    free(p->text);
    free(p->path);
    for (size_t k = 0; k < p->n_filters; k++) {
        free(p->filters[k].s1);
        herald__tz_close(p->filters[k].zone);
    }
    free(p->filters);
}

static int add_part(struct herald__template *t, struct part *p)
{
    struct part *parts = realloc(t->parts, (t->n_parts + 1) * sizeof *t->parts);
    if (parts == NULL) {
        return -1;
    }
    t->parts = parts;
    t->parts[t->n_parts++] = *p;
    return 0;
}

/* Parse one filter after '|' at *i into p. Returns 0 or -1 after
 * reporting. */
static int parse_filter(struct compiler *c, size_t *i, struct part *p)
{
    const char *t = c->text;
    size_t j = *i;
    struct arg args[3];
    int n_args = 0;
    int rc = -1;
    char name[32];
    const struct filter_spec *spec;

    memset(args, 0, sizeof args);
    while (j < c->len && (isalnum((unsigned char)t[j]) || t[j] == '_')) {
        j++;
    }
    if (j == *i) {
        cerr(c, *i, "expected a filter name after '|'");
        return -1;
    }
    size_t name_off = *i;
    size_t n = j - *i < sizeof name - 1 ? j - *i : sizeof name - 1;
    memcpy(name, t + *i, n);
    name[n] = '\0';
    spec = find_spec(name);
    if (spec == NULL) {
        const char *best = NULL;
        int best_d = 3;
        for (size_t k = 0; k < N_FILTER_SPECS; k++) {
            int dist = levenshtein(name, filter_specs[k].name);
            if (dist < best_d) {
                best_d = dist;
                best = filter_specs[k].name;
            }
        }
        if (best != NULL) {
            cerr(c, name_off, "unknown filter '%s' (did you mean '%s'?)", name,
                 best);
        } else {
            cerr(c, name_off,
                 "unknown filter '%s' (filters: last4, mask, upper, lower, "
                 "default, datetime, decimal, join, json, raw)",
                 name);
        }
        return -1;
    }
    for (;;) {
        while (j < c->len && is_ws(t[j])) {
            j++;
        }
        if (j >= c->len || t[j] == '|' ||
            (t[j] == '}' && j + 1 < c->len && t[j + 1] == '}')) {
            break;
        }
        if (n_args == 3) {
            cerr(c, j, "filter '%s' takes at most %d argument%s (usage: %s)",
                 spec->name, spec->max_args, spec->max_args == 1 ? "" : "s",
                 spec->usage);
            goto done;
        }
        if (parse_arg(c, &j, &args[n_args]) != 0) {
            goto done;
        }
        n_args++;
        if (j < c->len && !is_ws(t[j]) && t[j] != '|' && t[j] != '}') {
            cerr(c, j, "unexpected character '%c' after argument", t[j]);
            goto done;
        }
    }
    struct filter *fs =
        realloc(p->filters, (p->n_filters + 1) * sizeof *p->filters);
    if (fs == NULL) {
        goto done;
    }
    p->filters = fs;
    memset(&fs[p->n_filters], 0, sizeof fs[0]);
    if (build_filter(c, spec, name_off, args, n_args, &fs[p->n_filters]) != 0) {
        free(fs[p->n_filters].s1);
        herald__tz_close(fs[p->n_filters].zone);
        goto done;
    }
    if (spec->kind == F_RAW) {
        p->raw = 1;
    }
    p->n_filters++;
    *i = j;
    rc = 0;
done:
    for (int k = 0; k < 3; k++) {
        free(args[k].text);
    }
    return rc;
}

/* Parse the substitution whose `{{` is at open. *end is set past its `}}`.
 * Returns 0 with *p filled, -1 after reporting (p cleaned up). */
static int parse_expr(struct compiler *c, size_t open, size_t *end,
                      struct part *p)
{
    const char *t = c->text;
    size_t i = open + 2;
    char why[256];
    size_t bad;

    memset(p, 0, sizeof *p);
    while (i < c->len && is_ws(t[i])) {
        i++;
    }
    size_t p0 = i;
    while (i < c->len && !is_ws(t[i]) && t[i] != '|' && t[i] != '}') {
        i++;
    }
    if (i == p0) {
        cerr(c, p0, "empty path in '{{ }}'");
        return -1;
    }
    if (path_check(t + p0, i - p0, &bad, why, sizeof why) != 0) {
        cerr(c, p0 + bad, "malformed path '%.*s': %s", (int)(i - p0), t + p0,
             why);
        return -1;
    }
    p->path = strndup(t + p0, i - p0);
    if (p->path == NULL) {
        return -1;
    }
    for (;;) {
        while (i < c->len && is_ws(t[i])) {
            i++;
        }
        if (i + 1 < c->len && t[i] == '}' && t[i + 1] == '}') {
            *end = i + 2;
            return 0;
        }
        if (i < c->len && t[i] == '|') {
            i++;
            while (i < c->len && is_ws(t[i])) {
                i++;
            }
            if (parse_filter(c, &i, p) != 0) {
                goto fail;
            }
            continue;
        }
        if (i >= c->len) {
            cerr(c, open, "unclosed '{{' (no matching '}}')");
        } else {
            cerr(c, i, "unexpected character '%c' in '{{ }}'", t[i]);
        }
        goto fail;
    }
fail:
    part_cleanup(p);
    memset(p, 0, sizeof *p);
    return -1;
}

/* Is there a `}}` at or after i? */
static int has_close(const struct compiler *c, size_t i)
{
    for (; i + 1 < c->len; i++) {
        if (c->text[i] == '}' && c->text[i + 1] == '}') {
            return 1;
        }
    }
    return 0;
}

static size_t next_close(const struct compiler *c, size_t i)
{
    for (; i + 1 < c->len; i++) {
        if (c->text[i] == '}' && c->text[i + 1] == '}') {
            return i + 2;
        }
    }
    return c->len;
}

static int flush_literal(struct herald__template *t, struct buf *lit)
{
    struct part p;

    if (lit->len == 0 && !lit->oom) {
        return 0;
    }
    memset(&p, 0, sizeof p);
    p.len = lit->len;
    p.text = buf_take(lit);
    memset(lit, 0, sizeof *lit);
    if (p.text == NULL || add_part(t, &p) != 0) {
        free(p.text);
        return -1;
    }
    return 0;
}

struct herald__template *herald__template_compile(const char *text,
                                                  const char *file, int line,
                                                  int col, int html_escape,
                                                  struct herald__diag *d)
{
    struct compiler c;
    struct herald__template *t = NULL;
    struct buf lit = {0};
    size_t i = 0;
    int oom = 0;

    memset(&c, 0, sizeof c);
    c.text = text ? text : "";
    c.len = strlen(c.text);
    c.file = file;
    c.line = line > 0 ? line : 1;
    c.col = col > 0 ? col : 1;
    c.d = d;
    t = calloc(1, sizeof *t);
    if (t == NULL) {
        goto fail;
    }
    t->html = html_escape != 0;
    while (i < c.len) {
        if (c.text[i] != '{' || i + 1 >= c.len || c.text[i + 1] != '{') {
            buf_chr(&lit, c.text[i]);
            i++;
            continue;
        }
        if (i + 3 < c.len && c.text[i + 2] == '{' && c.text[i + 3] == '{') {
            buf_add(&lit, "{{", 2);
            i += 4;
            continue;
        }
        if (!has_close(&c, i + 2)) {
            cerr(&c, i, "unclosed '{{' (no matching '}}')");
            break;
        }
        struct part p;
        size_t end = 0;
        if (parse_expr(&c, i, &end, &p) != 0) {
            /* Keep going to report further errors. */
            i = next_close(&c, i + 2);
            continue;
        }
        if (flush_literal(t, &lit) != 0 || add_part(t, &p) != 0) {
            part_cleanup(&p);
            oom = 1;
            break;
        }
        t->n_exprs++;
        i = end;
    }
    if (!oom && flush_literal(t, &lit) != 0) {
        oom = 1;
    }
    free(lit.p);
    if (oom) {
        herald__diag_add(d, NULL, "out of memory compiling a template");
        goto fail;
    }
    if (c.errors > 0) {
        goto fail;
    }
    return t;
fail:
    herald__template_destroy(t);
    return NULL;
}

struct herald__template *
herald__template_compile_file(const char *path, const struct herald__node *at,
                              int html_escape, struct herald__diag *d)
{
    struct herald__template *t = NULL;
    FILE *f = NULL;
    char *text = NULL;
    size_t n;

    f = fopen(path, "rb");
    if (f == NULL) {
        herald__diag_add(d, at, "cannot read template file '%s': %s", path,
                         strerror(errno));
        goto done;
    }
    text = malloc(TEMPLATE_FILE_MAX + 1);
    if (text == NULL) {
        herald__diag_add(d, at, "out of memory reading '%s'", path);
        goto done;
    }
    n = fread(text, 1, TEMPLATE_FILE_MAX + 1, f);
    if (ferror(f)) {
        herald__diag_add(d, at, "cannot read template file '%s': %s", path,
                         strerror(errno));
        goto done;
    }
    if (n > TEMPLATE_FILE_MAX) {
        herald__diag_add(d, at, "template file '%s' is larger than 1 MiB",
                         path);
        goto done;
    }
    text[n] = '\0';
    if (memchr(text, '\0', n) != NULL) {
        herald__diag_add(d, at, "template file '%s' contains a NUL byte", path);
        goto done;
    }
    t = herald__template_compile(text, path, 1, 1, html_escape, d);
done:
    free(text);
    if (f != NULL) {
        fclose(f);
    }
    return t;
}

void herald__template_destroy(struct herald__template *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t k = 0; k < t->n_parts; k++) {
        part_cleanup(&t->parts[k]);
    }
    free(t->parts);
    free(t);
}

size_t herald__template_n_exprs(const struct herald__template *t)
{
    return t ? t->n_exprs : 0;
}

/* ---- Values ---------------------------------------------------------- */

/* Shortest of %.15g, %.16g, %.17g that reads back as v. */
static void real_string(double v, char *out, size_t outlen)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, outlen, "%.*g", prec, v);
        if (strtod(out, NULL) == v) {
            return;
        }
    }
}

char *herald__template_value_string(const json_t *v)
{
    char tmp[64];

    if (v == NULL || json_is_null(v)) {
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

static const char *type_name(const json_t *v)
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

/* ---- Filters ---------------------------------------------------------- */

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
static char *mask_string(const char *s, size_t visible, int keep_stars)
{
    size_t n = n_chars(s);
    struct buf b = {0};

    if (n <= visible) {
        for (size_t k = 0; k < n; k++) {
            buf_chr(&b, '*');
        }
        return buf_take(&b);
    }
    if (keep_stars) {
        for (size_t k = 0; k < n - visible; k++) {
            buf_chr(&b, '*');
        }
    }
    buf_str(&b, s + char_offset(s, n - visible));
    return buf_take(&b);
}

/* Round a decimal string to `places` digits after the point, half up
 * (away from zero). Accepts [+-]digits[.digits][e[+-]digits]. Returns a
 * malloc'd string, or NULL if s is not a decimal number. */
static char *decimal_round(const char *s, int places)
{
    int neg = 0;
    const char *p = s;
    struct buf digits = {0};
    long point; /* digits before the decimal point */
    char *out = NULL;

    if (*p == '+' || *p == '-') {
        neg = *p == '-';
        p++;
    }
    size_t nint = strspn(p, "0123456789");
    buf_add(&digits, p, nint);
    p += nint;
    size_t nfrac = 0;
    if (*p == '.') {
        p++;
        nfrac = strspn(p, "0123456789");
        buf_add(&digits, p, nfrac);
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
        if (ne == 0 || ne > 3) {
            goto done;
        }
        long e = strtol(p, NULL, 10);
        point += eneg ? -e : e;
        p += ne;
    }
    if (*p != '\0' || digits.oom) {
        goto done;
    }
    {
        /* Lay the number out as int part and exactly places+1 fraction
         * digits (the extra one decides the rounding). */
        struct buf ip = {0}, fp = {0};
        long nd = (long)digits.len;
        for (long k = 0; k < point; k++) {
            buf_chr(&ip, k < nd ? digits.p[k] : '0');
        }
        for (long k = 0; k < places + 1; k++) {
            long idx = point + k;
            buf_chr(&fp, idx >= 0 && idx < nd ? digits.p[idx] : '0');
        }
        /* Anything beyond places+1 is irrelevant for half-up. */
        if (ip.len == 0) {
            buf_chr(&ip, '0');
        }
        if (ip.oom || fp.oom) {
            free(ip.p);
            free(fp.p);
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
                    struct buf t = {0};
                    buf_chr(&t, '1');
                    buf_add(&t, ip.p, ip.len);
                    free(ip.p);
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
        struct buf o = {0};
        if (neg && !zero) {
            buf_chr(&o, '-');
        }
        buf_add(&o, ip.p + lz, ip.len - lz);
        if (places > 0) {
            buf_chr(&o, '.');
            buf_add(&o, fp.p, fp.len);
        }
        free(ip.p);
        free(fp.p);
        out = buf_take(&o);
    }
done:
    free(digits.p);
    return out;
}

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
    struct buf b = {0};

    for (size_t i = 0; fmt[i] != '\0'; i++) {
        if (fmt[i] != '%') {
            buf_chr(&b, fmt[i]);
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
            width = width * 10 + (fmt[i] - '0');
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
            buf_add(&b, fmt + at, i - at + (fmt[i] != '\0'));
            if (fmt[i] == '\0') {
                break;
            }
            continue;
        }
        char num[EPOCH_DIGITS_MAX];
        int n = snprintf(num, sizeof num, "%lld", secs);
        for (int k = n; pad != '\0' && k < width; k++) {
            buf_chr(&b, pad);
        }
        buf_add(&b, num, (size_t)n);
    }
    return buf_take(&b);
}

/* Render errors name the field: "filter 'x' on field 'y': ...". */
static int ferr(char *err, size_t errlen, const struct filter *f,
                const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int ferr(char *err, size_t errlen, const struct filter *f,
                const char *path, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "filter '%s' on field '%s': %s", f->spec->name, path,
             msg);
    return -1;
}

static int apply_datetime(const struct filter *f, const char *path,
                          const json_t *v, json_t **res, char *err,
                          size_t errlen)
{
    long long ms;
    char out[512];
    size_t n = 0;

    if (json_is_integer(v)) {
        ms = json_integer_value(v);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        /* Range first: converting an out-of-range double is undefined. */
        if (!(d <= 9e15 && d >= -9e15) || d != (double)(long long)d) {
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
                    type_name(v));
    }
    /* Floor division: -1 ms is 1969-12-31 23:59:59. */
    long long secs = ms / 1000 - (ms % 1000 < 0 ? 1 : 0);
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

/* Apply one filter to a present, non-null value (json null only reaches
 * `json`). *res is a new reference. */
static int apply_filter(const struct filter *f, const char *path,
                        const json_t *v, json_t **res, char *err, size_t errlen)
{
    char *s = NULL;
    char *r = NULL;

    *res = NULL;
    switch (f->spec->kind) {
    case F_DATETIME:
        return apply_datetime(f, path, v, res, err, errlen);
    case F_JSON:
        r = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        break;
    case F_JOIN: {
        struct buf b = {0};
        if (!json_is_array(v)) {
            return ferr(err, errlen, f, path, "expected an array, got %s",
                        type_name(v));
        }
        for (size_t k = 0; k < json_array_size(v); k++) {
            char *item = herald__template_value_string(json_array_get(v, k));
            if (item == NULL) {
                b.oom = 1;
                break;
            }
            if (k > 0) {
                buf_str(&b, f->s1);
            }
            buf_str(&b, item);
            free(item);
        }
        r = buf_take(&b);
        break;
    }
    case F_DECIMAL:
        if (json_is_integer(v) || json_is_real(v) || json_is_string(v)) {
            s = herald__template_value_string(v);
            if (s == NULL) {
                break;
            }
            r = decimal_round(s, (int)f->n);
            if (r == NULL) {
                ferr(err, errlen, f, path, "'%.40s' is not a decimal number",
                     s);
                free(s);
                return -1;
            }
            break;
        }
        return ferr(err, errlen, f, path, "expected a number, got %s",
                    type_name(v));
    default:
        s = herald__template_value_string(v);
        if (s == NULL) {
            break;
        }
        if (f->spec->kind == F_LAST4) {
            r = mask_string(s, 4, 0);
        } else if (f->spec->kind == F_MASK) {
            r = mask_string(s, (size_t)f->n, 1);
        } else if (f->spec->kind == F_UPPER || f->spec->kind == F_LOWER) {
            for (char *c = s; *c; c++) {
                unsigned char ch = (unsigned char)*c;
                if (ch < 0x80) {
                    *c = (char)(f->spec->kind == F_UPPER ? toupper(ch)
                                                         : tolower(ch));
                }
            }
            r = s;
            s = NULL;
        }
        break;
    }
    free(s);
    if (r == NULL) {
        snprintf(err, errlen, "out of memory rendering field '%s'", path);
        return -1;
    }
    /* Output is bytes for a message; a template file need not be UTF-8,
     * so do not let jansson refuse it. */
    *res = json_string_nocheck(r);
    free(r);
    if (*res == NULL) {
        snprintf(err, errlen, "out of memory rendering field '%s'", path);
        return -1;
    }
    return 0;
}

static void html_add(struct buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            buf_str(b, "&amp;");
            break;
        case '<':
            buf_str(b, "&lt;");
            break;
        case '>':
            buf_str(b, "&gt;");
            break;
        case '"':
            buf_str(b, "&quot;");
            break;
        case '\'':
            buf_str(b, "&#39;");
            break;
        default:
            buf_chr(b, *s);
        }
    }
}

/* Evaluate one substitution into b. */
static int render_expr(const struct herald__template *t, const struct part *p,
                       herald__lookup_fn lookup, void *ctx, struct buf *b,
                       char *err, size_t errlen)
{
    json_t *found = NULL;
    json_t *owned = NULL;
    json_t *cur = NULL;
    char *s = NULL;
    int rc = -1;

    if (lookup(ctx, p->path, &found, &owned) != 0) {
        snprintf(err, errlen, "malformed path '%s'", p->path);
        json_decref(owned);
        return -1;
    }
    cur = found ? json_incref(found) : NULL;
    json_decref(owned);
    for (size_t k = 0; k < p->n_filters; k++) {
        const struct filter *f = &p->filters[k];
        json_t *next = NULL;
        if (f->spec->kind == F_RAW) {
            continue;
        }
        if (f->spec->kind == F_DEFAULT) {
            if (cur == NULL || json_is_null(cur)) {
                json_decref(cur);
                cur = json_string_nocheck(f->s1);
                if (cur == NULL) {
                    snprintf(err, errlen, "out of memory");
                    goto done;
                }
            }
            continue;
        }
        if (cur == NULL || (json_is_null(cur) && f->spec->kind != F_JSON)) {
            continue;
        }
        if (apply_filter(f, p->path, cur, &next, err, errlen) != 0) {
            goto done;
        }
        json_decref(cur);
        cur = next;
    }
    if (cur == NULL) {
        snprintf(err, errlen, "field '%s' is missing", p->path);
        goto done;
    }
    s = herald__template_value_string(cur);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory rendering field '%s'", p->path);
        goto done;
    }
    if (json_is_string(cur) && strlen(s) != json_string_length(cur)) {
        snprintf(err, errlen, "field '%s' contains a NUL character", p->path);
        goto done;
    }
    if (t->html && !p->raw) {
        html_add(b, s);
    } else {
        buf_str(b, s);
    }
    rc = 0;
done:
    free(s);
    json_decref(cur);
    return rc;
}

int herald__template_render(const struct herald__template *t,
                            herald__lookup_fn lookup, void *ctx, char **out,
                            char *err, size_t errlen)
{
    struct buf b = {0};

    *out = NULL;
    for (size_t k = 0; k < t->n_parts; k++) {
        const struct part *p = &t->parts[k];
        if (p->path == NULL) {
            buf_add(&b, p->text, p->len);
        } else if (render_expr(t, p, lookup, ctx, &b, err, errlen) != 0) {
            free(b.p);
            return -1;
        }
    }
    *out = buf_take(&b);
    if (*out == NULL) {
        snprintf(err, errlen, "out of memory rendering a template");
        return -1;
    }
    return 0;
}
