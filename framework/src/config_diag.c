/*
 * config_diag.c - configuration diagnostics: every error collected as
 * "file:line:col: message", redacted, in the order found; and the small
 * allocation helpers the config_*.c files share (config_int.h).
 */
#include "config_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

char *herald__config_dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (!p) {
        return NULL;
    }
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *herald__config_dup(const char *s)
{
    return s ? herald__config_dup_n(s, strlen(s)) : NULL;
}

void *herald__config_grow(void *arr, size_t n, size_t elem)
{
    if (n != 0 && (n < 4 || (n & (n - 1)) != 0)) {
        return arr;
    }
    return realloc(arr, (n == 0 ? 4 : n * 2) * elem);
}

/* Initialises an empty list. Caller's storage. */
void herald__diag_init(struct herald__diag *d)
{
    d->msgs = NULL;
    d->n = 0;
    d->cap = 0;
}

/* Frees every message. Accepts NULL. */
void herald__diag_cleanup(struct herald__diag *d)
{
    size_t i;

    if (!d) {
        return;
    }
    for (i = 0; i < d->n; i++) {
        free(d->msgs[i]);
    }
    free(d->msgs);
    herald__diag_init(d);
}

static void diag_vadd(struct herald__diag *d, const char *file, int line,
                      int col, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static void diag_vadd(struct herald__diag *d, const char *file, int line,
                      int col, const char *fmt, va_list ap)
{
    char *pre = NULL;
    char *msg = NULL;
    char *all = NULL;
    int plen = 0;
    int mlen;
    va_list cp;

    if (!d) {
        return;
    }
    if (file) {
        plen = line > 0 ? snprintf(NULL, 0, "%s:%d:%d: ", file, line, col)
                        : snprintf(NULL, 0, "%s: ", file);
        pre = malloc((size_t)plen + 1);
        if (!pre) {
            goto out;
        }
        if (line > 0) {
            snprintf(pre, (size_t)plen + 1, "%s:%d:%d: ", file, line, col);
        } else {
            snprintf(pre, (size_t)plen + 1, "%s: ", file);
        }
    }
    va_copy(cp, ap);
    mlen = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (mlen < 0) {
        goto out;
    }
    msg = malloc((size_t)mlen + 1);
    if (!msg) {
        goto out;
    }
    vsnprintf(msg, (size_t)mlen + 1, fmt, ap);
    {
        /* A message may quote a value: never one from ${env:}/${file:}. */
        size_t clean_len = 0;
        char *clean = herald__redact_text(msg, (size_t)mlen, &clean_len);

        if (!clean) {
            goto out;
        }
        free(msg);
        msg = clean;
        mlen = (int)clean_len;
    }
    all = malloc((size_t)plen + (size_t)mlen + 1);
    if (!all) {
        goto out;
    }
    if (pre) {
        memcpy(all, pre, (size_t)plen);
    }
    memcpy(all + plen, msg, (size_t)mlen + 1);
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        char **nm = realloc(d->msgs, cap * sizeof *nm);

        if (!nm) {
            goto out;
        }
        d->msgs = nm;
        d->cap = cap;
    }
    d->msgs[d->n++] = all;
    all = NULL;
out:
    free(all);
    free(msg);
    free(pre);
}

void herald__diag_at(struct herald__diag *d, const char *file, int line,
                     int col, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_vadd(d, file, line, col, fmt, ap);
    va_end(ap);
}

/* Appends "file:line:col: message" (just "message" when at is NULL). The
 * message is copied; d owns it. Allocation failure drops the message. */
void herald__diag_add(struct herald__diag *d, const struct herald__node *at,
                      const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (at) {
        diag_vadd(d, at->file, at->line, at->col, fmt, ap);
    } else {
        diag_vadd(d, NULL, 0, 0, fmt, ap);
    }
    va_end(ap);
}
