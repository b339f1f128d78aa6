/* buf.c - the growable string buffer of buf.h. */
#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first allocation; doubled from there. */
#define BUF_FIRST_CAP 64

/* Makes room for `more` bytes plus the NUL; 0, or -1 (and `failed`). */
static int reserve(struct herald__buf *b, size_t more)
{
    size_t cap;
    char *grown;

    if (b->failed) {
        return -1;
    }
    if (more > SIZE_MAX / 2 - b->len - 1) {
        b->failed = 1;
        return -1;
    }
    if (b->len + more + 1 <= b->cap) {
        return 0;
    }
    cap = b->cap ? b->cap : BUF_FIRST_CAP;
    while (cap < b->len + more + 1) {
        cap *= 2;
    }
    grown = realloc(b->p, cap);
    if (!grown) {
        b->failed = 1;
        return -1;
    }
    b->p = grown;
    b->cap = cap;
    return 0;
}

void herald__buf_add(struct herald__buf *b, const char *s, size_t n)
{
    if (reserve(b, n) != 0) {
        return;
    }
    if (n) {
        memcpy(b->p + b->len, s, n);
    }
    b->len += n;
    b->p[b->len] = '\0';
}

void herald__buf_puts(struct herald__buf *b, const char *s)
{
    herald__buf_add(b, s, strlen(s));
}

void herald__buf_putc(struct herald__buf *b, char c)
{
    herald__buf_add(b, &c, 1);
}

void herald__buf_vprintf(struct herald__buf *b, const char *fmt, va_list ap)
{
    va_list again;
    int n;

    va_copy(again, ap);
    n = vsnprintf(NULL, 0, fmt, again);
    va_end(again);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if (reserve(b, (size_t)n) != 0) {
        return;
    }
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void herald__buf_printf(struct herald__buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    herald__buf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *herald__buf_take(struct herald__buf *b)
{
    char *p;

    if (b->failed) {
        herald__buf_cleanup(b);
        return NULL;
    }
    p = b->p ? b->p : strdup("");
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

void herald__buf_cleanup(struct herald__buf *b)
{
    if (!b) {
        return;
    }
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = 0;
}
