/*
 * config_provider.c - value providers in scalars: ${env:NAME},
 * ${env:NAME:-default} and ${file:PATH} (relative to the config file's
 * directory). Every substituted byte is remembered as a span and
 * registered with redact.h, so it is never printed.
 */
#include "config_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "redact.h"

static int valid_env_name(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_')) {
            return 0;
        }
    }
    return 1;
}

/* Reads a whole file for ${file:}; one trailing newline is dropped.
 * Returns the contents or NULL with a message added to d. */
static char *read_secret_file(const char *path, const struct herald__node *at,
                              struct herald__diag *d)
{
    FILE *f = NULL;
    struct herald__buf b = HERALD__BUF_INIT;
    char buf[4096];
    size_t got;
    char *out = NULL;

    f = fopen(path, "rb");
    if (!f) {
        herald__diag_add(d, at, "cannot read file '%s': %s", path,
                         strerror(errno));
        goto out;
    }
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (memchr(buf, '\0', got)) {
            herald__diag_add(d, at, "file '%s' contains a NUL byte", path);
            goto out;
        }
        if (b.len + got > HERALD__CONFIG_MAX_FILE_BYTES) {
            herald__diag_add(d, at, "file '%s' is larger than %d bytes", path,
                             HERALD__CONFIG_MAX_FILE_BYTES);
            goto out;
        }
        herald__buf_add(&b, buf, got);
    }
    if (ferror(f)) {
        herald__diag_add(d, at, "cannot read file '%s': %s", path,
                         strerror(errno));
        goto out;
    }
    if (b.len > 0 && b.p[b.len - 1] == '\n') {
        b.p[--b.len] = '\0';
        if (b.len > 0 && b.p[b.len - 1] == '\r') {
            b.p[--b.len] = '\0';
        }
    }
    out = herald__buf_take(&b);
    if (!out) {
        herald__diag_add(d, at, "out of memory");
    }
out:
    free(b.p);
    if (f) {
        fclose(f);
    }
    return out;
}

/* Resolves ${env:NAME}, ${env:NAME:-default}, ${file:PATH} and the $${
 * escape in n->scalar, in place. Every problem goes to d (positioned at
 * the scalar); on any problem the scalar keeps its written text. */
/* Records that b's bytes from `from` to its end came from a substitution
 * and registers them as a secret for every printed line (redact.h). */
static int add_span(struct herald__node *n, const struct herald__buf *b,
                    size_t from)
{
    struct herald__span *grown;

    if (b->failed || b->len == from) {
        return b->failed ? -1 : 0;
    }
    grown = realloc(n->spans, (n->n_spans + 1) * sizeof *grown);
    if (!grown) {
        return -1;
    }
    n->spans = grown;
    n->spans[n->n_spans].off = from;
    n->spans[n->n_spans].len = b->len - from;
    n->n_spans++;
    return herald__redact_register(b->p + from, b->len - from);
}

/* path, or, if relative, the directory of the config file `file` joined
 * with it (like templates and schemas_dir); NULL on ENOMEM. */
static char *config_relative_path(const char *file, const char *path)
{
    const char *slash = file ? strrchr(file, '/') : NULL;
    char *out;
    size_t dlen;

    if (path[0] == '/' || !slash) {
        return herald__config_dup(path);
    }
    dlen = (size_t)(slash - file);
    out = malloc(dlen + 1 + strlen(path) + 1);
    if (!out) {
        return NULL;
    }
    memcpy(out, file, dlen);
    out[dlen] = '/';
    strcpy(out + dlen + 1, path);
    return out;
}

void herald__config_substitute(struct herald__node *n, struct herald__diag *d)
{
    const char *s = n->scalar;
    struct herald__buf b = HERALD__BUF_INIT;
    char *resolved;
    int errors = 0;
    int secret = 0;
    size_t from;

    if (!strchr(s, '$')) {
        return;
    }
    while (*s != '\0') {
        const char *end;
        const char *body;
        size_t blen;

        if (s[0] == '$' && s[1] == '$' && s[2] == '{') {
            herald__buf_add(&b, "${", 2);
            s += 3;
            continue;
        }
        if (s[0] != '$' || s[1] != '{') {
            herald__buf_add(&b, s, 1);
            s++;
            continue;
        }
        body = s + 2;
        end = strchr(body, '}');
        if (!end) {
            herald__diag_add(d, n,
                             "unterminated '${' in value (write $${ for a "
                             "literal ${)");
            errors++;
            break;
        }
        blen = (size_t)(end - body);
        if (blen >= 4 && strncmp(body, "env:", 4) == 0) {
            const char *name = body + 4;
            const char *def = NULL;
            size_t nlen = blen - 4;
            const char *sep = strstr(name, ":-");
            char *key;
            const char *val;

            if (sep && sep < end) {
                def = sep + 2;
                nlen = (size_t)(sep - name);
            }
            if (!valid_env_name(name, nlen)) {
                herald__diag_add(d, n,
                                 "invalid environment variable name '%.*s' "
                                 "in ${env:}",
                                 (int)nlen, name);
                errors++;
                s = end + 1;
                continue;
            }
            key = herald__config_dup_n(name, nlen);
            if (!key) {
                b.failed = 1;
                break;
            }
            val = getenv(key);
            /* As in the shell, ":-" also replaces a variable set empty. A
             * default is text of the config file, not a secret. */
            if (val && (val[0] != '\0' || !def)) {
                from = b.len;
                herald__buf_puts(&b, val);
                if (add_span(n, &b, from) != 0) {
                    b.failed = 1;
                }
            } else if (def) {
                herald__buf_add(&b, def, (size_t)(end - def));
            } else {
                herald__diag_add(d, n,
                                 "environment variable '%s' is not set (use "
                                 "${env:%s:-default} for a default)",
                                 key, key);
                errors++;
            }
            free(key);
        } else if (blen >= 5 && strncmp(body, "file:", 5) == 0) {
            char *path = herald__config_dup_n(body + 5, blen - 5);
            char *val;

            if (!path) {
                b.failed = 1;
                break;
            }
            secret = 1;
            if (path[0] == '\0') {
                herald__diag_add(d, n, "empty path in ${file:}");
                errors++;
                free(path);
                s = end + 1;
                continue;
            }
            {
                char *full = config_relative_path(n->file, path);

                free(path);
                if (!full) {
                    b.failed = 1;
                    break;
                }
                path = full;
            }
            val = read_secret_file(path, n, d);
            if (!val) {
                errors++;
            } else {
                from = b.len;
                herald__buf_puts(&b, val);
                free(val);
                if (add_span(n, &b, from) != 0) {
                    b.failed = 1;
                }
            }
            free(path);
        } else {
            herald__diag_add(d, n,
                             "unknown substitution '${%.*s}' (use "
                             "${env:NAME}, ${env:NAME:-default} or "
                             "${file:PATH}; $${ for a literal ${)",
                             (int)blen, body);
            errors++;
        }
        s = end + 1;
    }
    /* A value that named a file stays secret even if reading failed, so
     * nothing about it is ever printed. */
    n->secret = n->secret || secret;
    resolved = b.failed || errors > 0 ? NULL : herald__buf_take(&b);
    if (!resolved) {
        if (b.failed || errors == 0) {
            herald__diag_add(d, n, "out of memory");
        }
        /* The scalar keeps its written text: no span applies to it. */
        free(n->spans);
        n->spans = NULL;
        n->n_spans = 0;
        herald__buf_cleanup(&b);
        return;
    }
    free(n->scalar);
    n->scalar = resolved;
}
