/*
 * smtp_message.c - SMTP envelope and server URL, see smtp_message.h.
 */
#include "smtp_message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"

void smtp_envelope_cleanup(struct smtp_envelope *e)
{
    size_t i;

    if (e == NULL) {
        return;
    }
    for (i = 0; i < e->n_rcpt; i++) {
        free(e->rcpt[i]);
    }
    free(e->rcpt);
    free(e->from);
    memset(e, 0, sizeof(*e));
}

/* Take a's email into the recipient list unless it is there already. */
static void add_rcpt(struct smtp_envelope *e, struct addr *a)
{
    size_t i;

    for (i = 0; i < e->n_rcpt; i++) {
        if (strcasecmp(e->rcpt[i], a->email) == 0) {
            return;
        }
    }
    e->rcpt[e->n_rcpt++] = a->email;
    a->email = NULL;
}

int smtp_envelope_init(struct smtp_envelope *e, const struct herald_message *m,
                       const char *default_from, char *err, size_t errlen)
{
    const char *from;
    struct addr a = {0};
    char why[160];
    size_t i;

    memset(e, 0, sizeof(*e));
    from = (m->from != NULL && m->from[0] != '\0') ? m->from : default_from;
    if (from == NULL || from[0] == '\0') {
        snprintf(err, errlen, "message has no From address");
        goto fail;
    }
    if (addr_parse(from, &a, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "From: %s", why);
        goto fail;
    }
    e->from = a.email;
    a.email = NULL;
    addr_cleanup(&a);
    if (m->n_to + m->n_cc == 0) {
        snprintf(err, errlen, "message has no recipient");
        goto fail;
    }
    e->rcpt = calloc(m->n_to + m->n_cc, sizeof(*e->rcpt));
    if (e->rcpt == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (i = 0; i < m->n_to + m->n_cc; i++) {
        int is_to = i < m->n_to;
        const char *in = is_to ? m->to[i] : m->cc[i - m->n_to];
        if (addr_parse(in, &a, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s: %s", is_to ? "To" : "Cc", why);
            goto fail;
        }
        add_rcpt(e, &a);
        addr_cleanup(&a);
    }
    return 0;

fail:
    addr_cleanup(&a);
    smtp_envelope_cleanup(e);
    return -1;
}

char *smtp_url_build(const char *url, enum smtp_tls tls, const char *helo,
                     char *err, size_t errlen)
{
    const char *want = tls == SMTP_TLS_IMPLICIT ? "smtps://" : "smtp://";
    const char *host, *p;
    size_t len, hlen;
    char *out;

    if (url == NULL || strncmp(url, want, strlen(want)) != 0) {
        snprintf(err, errlen, "url must start with %s for tls: %s", want,
                 tls == SMTP_TLS_IMPLICIT   ? "implicit"
                 : tls == SMTP_TLS_STARTTLS ? "starttls"
                                            : "none");
        return NULL;
    }
    host = url + strlen(want);
    len = strlen(url);
    while (len > (size_t)(host - url) && url[len - 1] == '/') {
        len--;
    }
    if (len == (size_t)(host - url)) {
        snprintf(err, errlen, "url has no host");
        return NULL;
    }
    for (p = host; p < url + len; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '/' || *p == '?' ||
            *p == '#') {
            snprintf(err, errlen,
                     "url must be scheme://host[:port] only "
                     "(use helo_domain for the EHLO name)");
            return NULL;
        }
    }
    hlen = helo != NULL ? strlen(helo) : 0;
    for (p = helo; hlen > 0 && *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '-' || *p == '.')) {
            snprintf(err, errlen, "helo_domain must be a host name");
            return NULL;
        }
    }
    out = malloc(len + hlen + 2);
    if (out == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(out, url, len);
    out[len] = '\0';
    if (hlen > 0) {
        out[len] = '/';
        memcpy(out + len + 1, helo, hlen + 1);
    }
    return out;
}
