/*
 * buf.h - the one growable string buffer (buf.c).
 *
 * Appends never fail visibly: on allocation failure `failed` is set, the
 * text so far is kept and further appends are ignored, so a caller that
 * builds a string in many steps checks once, at herald__buf_take() (or by
 * reading `failed`). The text is always NUL-terminated once anything was
 * added.
 *
 * Caller's storage: `struct herald__buf b = HERALD__BUF_INIT;` (or zeroed),
 * then herald__buf_take() or herald__buf_cleanup(). Not thread-safe; one
 * buffer per thread.
 */
#ifndef HERALD_BUF_H
#define HERALD_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct herald__buf {
    char *p; /* NULL until something is added; owned */
    size_t len;
    size_t cap;
    int failed; /* an allocation failed: the content is incomplete */
};

#define HERALD__BUF_INIT                                                       \
    {                                                                          \
        NULL, 0, 0, 0                                                          \
    }

/* Appends s[0..n) (n may be 0; s may then be NULL). */
void herald__buf_add(struct herald__buf *b, const char *s, size_t n);

/* Appends the NUL-terminated s. */
void herald__buf_puts(struct herald__buf *b, const char *s);

/* Appends one byte. */
void herald__buf_putc(struct herald__buf *b, char c);

/* Appends printf-style text. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void herald__buf_printf(struct herald__buf *b, const char *fmt, ...);

/* Appends vprintf-style text. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 0)))
#endif
void herald__buf_vprintf(struct herald__buf *b, const char *fmt, va_list ap);

/* Hands the string to the caller (who frees it): "" when nothing was
 * added, NULL if an allocation failed. The buffer is left empty and
 * reusable either way. */
char *herald__buf_take(struct herald__buf *b);

/* Frees the content and empties the buffer. Accepts NULL. */
void herald__buf_cleanup(struct herald__buf *b);

#endif
