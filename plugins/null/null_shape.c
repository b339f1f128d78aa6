/*
 * null_shape.c - learns the shape of a record's key and value from the
 * JSON text of record_json: a small recursive-descent reader that keeps
 * member names and nesting and drops the scalar values (null_shape.h).
 */
#include "null_shape.h"

#include <stdlib.h>
#include <string.h>

/* Deeper values are refused rather than risk the stack. */
#define SHAPE_MAX_DEPTH 64

struct reader {
    const char *p;
    const char *end;
};

static void skip_ws(struct reader *rd)
{
    while (rd->p < rd->end && (*rd->p == ' ' || *rd->p == '\t' ||
                               *rd->p == '\n' || *rd->p == '\r')) {
        rd->p++;
    }
}

static int peek(struct reader *rd)
{
    skip_ws(rd);
    return rd->p < rd->end ? (unsigned char)*rd->p : -1;
}

static int expect(struct reader *rd, char c)
{
    if (peek(rd) != (unsigned char)c) {
        return -1;
    }
    rd->p++;
    return 0;
}

/* Reads a JSON string at rd->p (the opening quote). With out non-NULL,
 * returns it unescaped in a new buffer (\uXXXX as UTF-8) in *out. */
static int read_string(struct reader *rd, char **out)
{
    char *buf = NULL;
    size_t n = 0;
    const char *start;

    if (expect(rd, '"') != 0) {
        return -1;
    }
    start = rd->p;
    while (rd->p < rd->end && *rd->p != '"') {
        rd->p += *rd->p == '\\' ? 2 : 1;
    }
    if (rd->p >= rd->end) {
        return -1;
    }
    if (out) {
        const char *q = start;

        /* Unescaped text is never longer than its escaped form. */
        buf = malloc((size_t)(rd->p - start) + 1);
        if (!buf) {
            return -1;
        }
        while (q < rd->p) {
            unsigned long cp;

            if (*q != '\\') {
                buf[n++] = *q++;
                continue;
            }
            q++;
            switch (*q) {
            case 'b':
                buf[n++] = '\b';
                break;
            case 'f':
                buf[n++] = '\f';
                break;
            case 'n':
                buf[n++] = '\n';
                break;
            case 'r':
                buf[n++] = '\r';
                break;
            case 't':
                buf[n++] = '\t';
                break;
            case 'u':
                /* Names the host can address hold no escapes that need
                 * this; keep the code point as UTF-8 for exactness. */
                if (rd->p - q < 5) {
                    free(buf);
                    return -1;
                }
                cp = strtoul((char[5]){q[1], q[2], q[3], q[4], 0}, NULL, 16);
                q += 4;
                if (cp < 0x80) {
                    buf[n++] = (char)cp;
                } else if (cp < 0x800) {
                    buf[n++] = (char)(0xC0 | (cp >> 6));
                    buf[n++] = (char)(0x80 | (cp & 0x3F));
                } else {
                    buf[n++] = (char)(0xE0 | (cp >> 12));
                    buf[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    buf[n++] = (char)(0x80 | (cp & 0x3F));
                }
                break;
            default:
                buf[n++] = *q;
                break;
            }
            q++;
        }
        buf[n] = '\0';
        *out = buf;
    }
    rd->p++;
    return 0;
}

/* The path step that reaches member `name`, as the host's path syntax
 * writes it; NULL when it has no form for it (an empty name, a '"' in a
 * bracketed one) or out of memory. */
static char *member_step(const char *name)
{
    size_t n = strlen(name);
    char *s;

    if (n == 0) {
        return NULL;
    }
    if (!strpbrk(name, ".[]")) {
        s = malloc(n + 2);
        if (s) {
            s[0] = '.';
            memcpy(s + 1, name, n + 1);
        }
        return s;
    }
    if (strchr(name, '"')) {
        return NULL;
    }
    s = malloc(n + 5);
    if (s) {
        memcpy(s, "[\"", 2);
        memcpy(s + 2, name, n);
        memcpy(s + 2 + n, "\"]", 3);
    }
    return s;
}

static struct null_shape *read_value(struct reader *rd, int depth);

/* Appends kid (and step, for objects) to sh. 0 or -1 (kid freed). */
static int append(struct null_shape *sh, char *step, struct null_shape *kid)
{
    struct null_shape **kids;
    char **steps;

    kids = realloc(sh->kids, (sh->n + 1) * sizeof *kids);
    if (!kids) {
        goto fail;
    }
    sh->kids = kids;
    if (sh->kind == NULL_SHAPE_OBJECT) {
        steps = realloc(sh->steps, (sh->n + 1) * sizeof *steps);
        if (!steps) {
            goto fail;
        }
        sh->steps = steps;
        steps[sh->n] = step;
    }
    kids[sh->n++] = kid;
    return 0;
fail:
    free(step);
    null_shape_free(kid);
    return -1;
}

static struct null_shape *read_container(struct reader *rd, int depth,
                                         enum null_shape_kind kind)
{
    struct null_shape *sh = calloc(1, sizeof *sh);
    char close = kind == NULL_SHAPE_OBJECT ? '}' : ']';

    if (!sh) {
        return NULL;
    }
    sh->kind = kind;
    rd->p++;
    if (peek(rd) == (unsigned char)close) {
        rd->p++;
        return sh;
    }
    for (;;) {
        char *name = NULL, *step = NULL;
        struct null_shape *kid;

        if (kind == NULL_SHAPE_OBJECT) {
            if (read_string(rd, &name) != 0) {
                goto fail;
            }
            step = member_step(name);
            free(name);
            if (!step || expect(rd, ':') != 0) {
                free(step);
                goto fail;
            }
        }
        kid = read_value(rd, depth + 1);
        if (!kid) {
            free(step);
            goto fail;
        }
        if (append(sh, step, kid) != 0) {
            goto fail;
        }
        if (peek(rd) == ',') {
            rd->p++;
            continue;
        }
        if (expect(rd, close) != 0) {
            goto fail;
        }
        return sh;
    }
fail:
    null_shape_free(sh);
    return NULL;
}

static struct null_shape *read_value(struct reader *rd, int depth)
{
    int c = peek(rd);

    if (depth > SHAPE_MAX_DEPTH || c < 0) {
        return NULL;
    }
    if (c == '{') {
        return read_container(rd, depth, NULL_SHAPE_OBJECT);
    }
    if (c == '[') {
        return read_container(rd, depth, NULL_SHAPE_ARRAY);
    }
    if (c == '"') {
        if (read_string(rd, NULL) != 0) {
            return NULL;
        }
    } else {
        /* A number, true, false or null: up to the next delimiter. */
        const char *start = rd->p;

        while (rd->p < rd->end && !strchr(",]} \t\r\n", *rd->p)) {
            rd->p++;
        }
        if (rd->p == start) {
            return NULL;
        }
    }
    return calloc(1, sizeof(struct null_shape));
}

int null_shape_learn(const char *json, size_t len, struct null_shape **key,
                     struct null_shape **value)
{
    struct reader rd = {json, json + len};
    struct null_shape *top = read_value(&rd, 0);
    struct null_shape *k = NULL, *v = NULL;
    size_t i;

    if (!top || top->kind != NULL_SHAPE_OBJECT || peek(&rd) != -1) {
        null_shape_free(top);
        return -1;
    }
    /* Take the two members out of top, so freeing it leaves them. */
    for (i = 0; i < top->n; i++) {
        if (strcmp(top->steps[i], ".key") == 0) {
            k = top->kids[i];
            top->kids[i] = NULL;
        } else if (strcmp(top->steps[i], ".value") == 0) {
            v = top->kids[i];
            top->kids[i] = NULL;
        }
    }
    null_shape_free(top);
    if (!k) {
        k = calloc(1, sizeof *k);
    }
    if (!v) {
        v = calloc(1, sizeof *v);
    }
    if (!k || !v) {
        null_shape_free(k);
        null_shape_free(v);
        return -1;
    }
    *key = k;
    *value = v;
    return 0;
}

const struct null_shape *null_shape_item(const struct null_shape *sh, size_t i)
{
    if (sh->n == 0) {
        return NULL;
    }
    return sh->kids[i < sh->n ? i : sh->n - 1];
}

void null_shape_free(struct null_shape *sh)
{
    size_t i;

    if (!sh) {
        return;
    }
    for (i = 0; i < sh->n; i++) {
        null_shape_free(sh->kids[i]);
        if (sh->steps) {
            free(sh->steps[i]);
        }
    }
    free(sh->kids);
    free(sh->steps);
    free(sh);
}
