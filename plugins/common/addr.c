/*
 * addr.c - email address parsing and validation, see addr.h.
 */
#include "addr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdrtext.h"

static int is_atext(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9')) {
        return 1;
    }
    return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int is_ldh(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-';
}

int addr_email_valid(const char *s, size_t len)
{
    size_t at, i, label;

    if (s == NULL || len == 0 || len > 254) {
        return 0;
    }
    for (at = 0; at < len && s[at] != '@'; at++) {
    }
    if (at == 0 || at == len || at > 64) {
        return 0;
    }
    /* local part: dot-atom */
    for (i = 0; i < at; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (i == 0 || i + 1 == at || s[i - 1] == '.') {
                return 0;
            }
        } else if (!is_atext(c)) {
            return 0;
        }
    }
    /* domain: LDH labels */
    if (at + 1 == len) {
        return 0;
    }
    label = 0;
    for (i = at + 1; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-') {
                return 0;
            }
            label = 0;
        } else if (is_ldh(c)) {
            if (label == 0 && c == '-') {
                return 0;
            }
            if (++label > 63) {
                return 0;
            }
        } else {
            return 0;
        }
    }
    return label > 0 && s[len - 1] != '-';
}

int addr_text_safe(const char *s)
{
    return s != NULL && hdrtext_check(s, 1, NULL, NULL) == 0;
}

static int is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

void addr_cleanup(struct addr *a)
{
    if (a == NULL) {
        return;
    }
    free(a->name);
    free(a->email);
    a->name = NULL;
    a->email = NULL;
}

int addr_parse(const char *in, struct addr *out, char *err, size_t errlen)
{
    const char *b, *e, *lt, *nb, *ne;
    size_t i, n;
    char *name = NULL;

    memset(out, 0, sizeof(*out));
    if (in == NULL || !addr_text_safe(in)) {
        snprintf(err, errlen, "address holds a control character");
        goto fail;
    }
    b = in;
    e = in + strlen(in);
    while (b < e && is_wsp(*b)) {
        b++;
    }
    while (e > b && is_wsp(e[-1])) {
        e--;
    }
    nb = ne = b;
    if (e > b && e[-1] == '>') {
        for (lt = e - 1; lt > b && *lt != '<'; lt--) {
        }
        if (*lt != '<') {
            snprintf(err, errlen, "address has '>' without '<'");
            goto fail;
        }
        ne = lt;
        b = lt + 1;
        e--;
        while (ne > nb && is_wsp(ne[-1])) {
            ne--;
        }
    }
    if (!addr_email_valid(b, (size_t)(e - b))) {
        snprintf(err, errlen, "invalid email address '%.*s'",
                 (int)((e - b) > 80 ? 80 : (e - b)), b);
        goto fail;
    }
    if (ne > nb) {
        n = (size_t)(ne - nb);
        if (n >= 2 && nb[0] == '"' && ne[-1] == '"') {
            nb++;
            ne--;
            n -= 2;
        }
        name = malloc(n + 1);
        if (name == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        n = 0;
        for (i = 0; nb + i < ne; i++) {
            if (nb[i] == '\\' && nb + i + 1 < ne) {
                i++;
            }
            name[n++] = nb[i];
        }
        name[n] = '\0';
        if (n == 0) {
            free(name);
            name = NULL;
        }
    }
    out->email = malloc((size_t)(e - b) + 1);
    if (out->email == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    memcpy(out->email, b, (size_t)(e - b));
    out->email[e - b] = '\0';
    out->name = name;
    return 0;

fail:
    free(name);
    addr_cleanup(out);
    return -1;
}
