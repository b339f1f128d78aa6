/* redact.c - registered secrets and URL userinfo out of printed text. */
#include "redact.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

struct secret {
    char *s;
    size_t len;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct secret *secrets; /* longest first, so overlaps hide most */
static size_t n_secrets;

int herald__redact_register(const char *s, size_t len)
{
    struct secret *grown;
    size_t at;
    char *copy;
    int rc = -1;

    if (len == 0) {
        return 0;
    }
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n_secrets; i++) {
        if (secrets[i].len == len && memcmp(secrets[i].s, s, len) == 0) {
            rc = 0;
            goto out;
        }
    }
    copy = malloc(len + 1);
    if (!copy) {
        goto out;
    }
    memcpy(copy, s, len);
    copy[len] = '\0';
    grown = realloc(secrets, (n_secrets + 1) * sizeof(*grown));
    if (!grown) {
        free(copy);
        goto out;
    }
    secrets = grown;
    for (at = 0; at < n_secrets && secrets[at].len >= len; at++) {
    }
    memmove(&secrets[at + 1], &secrets[at],
            (n_secrets - at) * sizeof(*secrets));
    secrets[at].s = copy;
    secrets[at].len = len;
    n_secrets++;
    rc = 0;
out:
    pthread_mutex_unlock(&lock);
    return rc;
}

void herald__redact_reset(void)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n_secrets; i++) {
        free(secrets[i].s);
    }
    free(secrets);
    secrets = NULL;
    n_secrets = 0;
    pthread_mutex_unlock(&lock);
}

/* s[0..n) with registered secrets replaced; the caller holds the lock. */
static void put_scrubbed(struct herald__buf *o, const char *s, size_t n)
{
    size_t i = 0;
    size_t plain = 0;

    while (i < n) {
        size_t k;

        for (k = 0; k < n_secrets; k++) {
            const struct secret *sec = &secrets[k];

            if (sec->len >= HERALD__REDACT_MIN_LEN && sec->len <= n - i &&
                memcmp(s + i, sec->s, sec->len) == 0) {
                break;
            }
        }
        if (k == n_secrets) {
            i++;
            continue;
        }
        herald__buf_add(o, s + plain, i - plain);
        herald__buf_puts(o, HERALD__REDACTED);
        i += secrets[k].len;
        plain = i;
    }
    herald__buf_add(o, s + plain, n - plain);
}

/* Where a URL's authority ends: at its path, query, fragment, or at what
 * cannot be in a URL as printed in a message (space, quote, bracket). */
static size_t authority_len(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strchr("/?#\"'<> \t\r\n,;)]}", s[i]) != NULL) {
            break;
        }
    }
    return i;
}

char *herald__redact_text(const char *in, size_t len, size_t *out_len)
{
    struct herald__buf o = HERALD__BUF_INIT;
    size_t i = 0;
    size_t plain = 0;

    pthread_mutex_lock(&lock);
    while (i + 3 <= len) {
        const char *auth = in + i + 3;
        size_t alen;
        const char *at;
        const char *colon;

        if (memcmp(in + i, "://", 3) != 0) {
            i++;
            continue;
        }
        alen = authority_len(auth, len - i - 3);
        at = alen ? memrchr(auth, '@', alen) : NULL;
        if (!at) {
            i += 3;
            continue;
        }
        /* "scheme://user:password@host": the password goes; a userinfo
         * without ':' is a token and goes whole. */
        put_scrubbed(&o, in + plain, (size_t)(auth - in) - plain);
        colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon) {
            put_scrubbed(&o, auth, (size_t)(colon - auth) + 1);
        }
        herald__buf_puts(&o, HERALD__REDACTED "@");
        i = (size_t)(at - in) + 1;
        plain = i;
    }
    put_scrubbed(&o, in + plain, len - plain);
    pthread_mutex_unlock(&lock);
    if (out_len) {
        *out_len = o.len;
    }
    return herald__buf_take(&o); /* NULL if an allocation failed */
}

size_t herald__redact_into(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    char *r;

    if (cap == 0) {
        return 0;
    }
    r = herald__redact_text(in, strlen(in), &n);
    if (!r) {
        /* Nothing unredacted may leave: say so instead. */
        snprintf(out, cap, "%s", "(message dropped: out of memory)");
        return strlen(out);
    }
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(out, r, n);
    out[n] = '\0';
    free(r);
    return n;
}
