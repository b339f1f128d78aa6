/*
 * template_parse.c - the template compiler: text with `{{path | filter
 * arg}}` substitutions into the parts template.c renders, every error
 * reported at its file:line:col; path syntax (shared with the record's
 * lookup) and the lookup over a plain JSON tree. Contract in
 * template_parse.h.
 */
#include "template_parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "template_text.h"

#define TEMPLATE_FILE_MAX (1024 * 1024)
#define LITERAL_OPEN_ESCAPE "{{{{"
/* An array index of more digits than this is refused. */
#define PATH_INDEX_MAX_DIGITS 9
/* Reasons and names kept while compiling. */
#define DIAG_MSG_MAX 512
#define FILTER_NAME_MAX 32
#define FIELD_NAME_MAX 256
#define PATH_ERR_MAX 256

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
    char msg[DIAG_MSG_MAX];
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

/* Whether the n bytes at p are exactly the string s. */
static int is_rest(const char *p, size_t n, const char *s)
{
    return n == strlen(s) && strncmp(p, s, n) == 0;
}

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
        for (int k = 0; record_attrs[k]; k++) {
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
            if (is_rest(p + i, len - i, ".start") ||
                is_rest(p + i, len - i, ".end")) {
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
            if (i == start || i - start > PATH_INDEX_MAX_DIGITS) {
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

    if (!path) {
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
    char err[PATH_ERR_MAX];
    size_t bad;

    *out = NULL;
    *owned = NULL;
    if (path_check(path, len, &bad, err, sizeof err) != 0) {
        return -1;
    }
    if (path[0] == '@') {
        return 0;
    }
    while (i < len && v) {
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
        char name[FIELD_NAME_MAX];
        size_t n = i - start < sizeof name - 1 ? i - start : sizeof name - 1;
        memcpy(name, path + start, n);
        name[n] = '\0';
        v = json_object_get(v, name);
    }
    *out = v;
    return 0;
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

/* Parse one argument at *i. Returns 0, or -1 after reporting. */
static int parse_arg(struct compiler *c, size_t *i,
                     struct herald__template_arg *a)
{
    const char *t = c->text;
    size_t start = *i;
    struct herald__buf b = HERALD__BUF_INIT;

    a->off = start;
    a->text = NULL;
    if (t[start] == '"') {
        size_t j = start + 1;
        while (j < c->len && t[j] != '"') {
            if (t[j] == '\\') {
                char e = j + 1 < c->len ? t[j + 1] : '\0';
                if (e == '"' || e == '\\') {
                    herald__buf_putc(&b, e);
                } else if (e == 'n') {
                    herald__buf_putc(&b, '\n');
                } else if (e == 't') {
                    herald__buf_putc(&b, '\t');
                } else {
                    cerr(c, j, "unknown escape '\\%c' in string argument", e);
                    herald__buf_cleanup(&b);
                    return -1;
                }
                j += 2;
                continue;
            }
            herald__buf_putc(&b, t[j]);
            j++;
        }
        if (j >= c->len) {
            cerr(c, start, "unterminated string argument");
            herald__buf_cleanup(&b);
            return -1;
        }
        a->type = HERALD__ARG_STRING;
        a->text = herald__buf_take(&b);
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
    if (!a->text) {
        return -1;
    }
    /* Classify: -?digits is an integer, -?digits.digits a real. */
    const char *s = a->text;
    size_t k = s[0] == '-' ? 1 : 0;
    size_t digits = strspn(s + k, "0123456789");
    a->type = HERALD__ARG_WORD;
    if (digits > 0 && s[k + digits] == '\0') {
        a->type = HERALD__ARG_INT;
    } else if (digits > 0 && s[k + digits] == '.' &&
               strspn(s + k + digits + 1, "0123456789") > 0 &&
               s[k + digits + 1 + strspn(s + k + digits + 1, "0123456789")] ==
                   '\0') {
        a->type = HERALD__ARG_REAL;
    }
    *i = j;
    return 0;
}

static void part_cleanup(struct herald__template_part *p)
{
    free(p->text);
    free(p->path);
    for (size_t k = 0; k < p->n_filters; k++) {
        herald__template_filter_cleanup(&p->filters[k]);
    }
    free(p->filters);
}

static int add_part(struct herald__template *t, struct herald__template_part *p)
{
    struct herald__template_part *parts =
        realloc(t->parts, (t->n_parts + 1) * sizeof *t->parts);
    if (!parts) {
        return -1;
    }
    t->parts = parts;
    t->parts[t->n_parts++] = *p;
    return 0;
}

/* Parse one filter after '|' at *i into p. Returns 0 or -1 after
 * reporting. */
static int parse_filter(struct compiler *c, size_t *i,
                        struct herald__template_part *p)
{
    const char *t = c->text;
    size_t j = *i;
    struct herald__template_arg args[HERALD__TEMPLATE_FILTER_MAX_ARGS];
    int n_args = 0;
    int rc = -1;
    char name[FILTER_NAME_MAX];
    const struct herald__template_filter_spec *spec;

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
    spec = herald__template_filter_find(name);
    if (!spec) {
        const char *best = herald__template_filter_suggest(name);
        if (best) {
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
        if (n_args == HERALD__TEMPLATE_FILTER_MAX_ARGS) {
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
    struct herald__template_filter *fs =
        realloc(p->filters, (p->n_filters + 1) * sizeof *p->filters);
    if (!fs) {
        goto done;
    }
    p->filters = fs;
    memset(&fs[p->n_filters], 0, sizeof fs[0]);
    size_t bad = 0;
    char why[DIAG_MSG_MAX];
    if (herald__template_filter_build(spec, name_off, args, n_args,
                                      &fs[p->n_filters], &bad, why,
                                      sizeof why) != 0) {
        /* An empty reason is an allocation failure: nothing to point at. */
        if (why[0]) {
            cerr(c, bad, "%s", why);
        }
        herald__template_filter_cleanup(&fs[p->n_filters]);
        goto done;
    }
    if (spec->kind == HERALD__FILTER_RAW) {
        p->raw = 1;
    }
    p->n_filters++;
    *i = j;
    rc = 0;
done:
    for (int k = 0; k < HERALD__TEMPLATE_FILTER_MAX_ARGS; k++) {
        free(args[k].text);
    }
    return rc;
}

/* Parse the substitution whose `{{` is at open. *end is set past its `}}`.
 * Returns 0 with *p filled, -1 after reporting (p cleaned up). */
static int parse_expr(struct compiler *c, size_t open, size_t *end,
                      struct herald__template_part *p)
{
    const char *t = c->text;
    size_t i = open + 2;
    char why[PATH_ERR_MAX];
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
    if (!p->path) {
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

static int flush_literal(struct herald__template *t, struct herald__buf *lit)
{
    struct herald__template_part p;

    if (lit->len == 0 && !lit->failed) {
        return 0;
    }
    memset(&p, 0, sizeof p);
    p.len = lit->len;
    p.text = herald__buf_take(lit);
    memset(lit, 0, sizeof *lit);
    if (!p.text || add_part(t, &p) != 0) {
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
    struct herald__buf lit = HERALD__BUF_INIT;
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
    if (!t) {
        goto fail;
    }
    t->html = html_escape != 0;
    while (i < c.len) {
        if (c.text[i] != '{' || i + 1 >= c.len || c.text[i + 1] != '{') {
            herald__buf_putc(&lit, c.text[i]);
            i++;
            continue;
        }
        /* `{{{{` is a literal `{{`. */
        if (c.len - i >= strlen(LITERAL_OPEN_ESCAPE) &&
            strncmp(c.text + i, LITERAL_OPEN_ESCAPE,
                    strlen(LITERAL_OPEN_ESCAPE)) == 0) {
            herald__buf_puts(&lit, "{{");
            i += strlen(LITERAL_OPEN_ESCAPE);
            continue;
        }
        if (!has_close(&c, i + 2)) {
            cerr(&c, i, "unclosed '{{' (no matching '}}')");
            break;
        }
        struct herald__template_part p;
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
    herald__buf_cleanup(&lit);
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
    if (!f) {
        herald__diag_add(d, at, "cannot read template file '%s': %s", path,
                         strerror(errno));
        goto done;
    }
    text = malloc(TEMPLATE_FILE_MAX + 1);
    if (!text) {
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
    if (memchr(text, '\0', n)) {
        herald__diag_add(d, at, "template file '%s' contains a NUL byte", path);
        goto done;
    }
    t = herald__template_compile(text, path, 1, 1, html_escape, d);
done:
    free(text);
    if (f) {
        fclose(f);
    }
    return t;
}

void herald__template_destroy(struct herald__template *t)
{
    if (!t) {
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
