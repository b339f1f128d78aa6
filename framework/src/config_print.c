/*
 * config_print.c - the configuration printed back as YAML with every
 * secret replaced by "<redacted>": keys that name secrets, values from
 * ${file:}, and every byte an ${env:}/${file:} substitution produced.
 */
#include "config_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "redact.h"

#define MAX_DEPTH 64

/* Key names whose string values are never printed, wherever they appear:
 * an exact match, or a key ending in ".", "_" or "-" followed by one of
 * them ("sasl.password", "smtp_password", "ssl.key.password", and header
 * names such as "X-Api-Key" or "X-Auth-Token"); case-insensitive, '-'
 * and '_' alike. The one list the
 * printer consults; framework-owned maps (schema_registry, kafka) rely on
 * it since they have no options table. */
static const char *const secret_key_names[] = {
    "password",
    "passwd",
    "api_key",
    "apikey",
    "secret",
    "token",
    "basic_auth",
    "authorization",
    "credentials",
    "private_key",
    "hash_key", /* the top-level HMAC key (hmac.h) */
    "sasl.password",
    "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.config",
    "sasl.oauthbearer.extensions",
    "cookie",
    "ssl.key.password",
    "ssl.key.pem",
    "ssl.keystore.password",
    "ssl.truststore.password",
    NULL,
};

struct printer {
    void (*write)(void *ctx, const char *s, size_t len);
    void *ctx;
};

static void out(const struct printer *p, const char *s)
{
    p->write(p->ctx, s, strlen(s));
}

static void out_indent(const struct printer *p, int n)
{
    static const char spaces[] = "                                ";

    while (n > 0) {
        int k = n < 32 ? n : 32;

        p->write(p->ctx, spaces, (size_t)k);
        n -= k;
    }
}

/* Case-insensitive equality of n bytes, '-' and '_' alike (header names
 * say "X-Api-Key" where YAML keys say "api_key"). */
static int key_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int ca = tolower((unsigned char)a[i]);
        int cb = tolower((unsigned char)b[i]);

        ca = ca == '-' ? '_' : ca;
        cb = cb == '-' ? '_' : cb;
        if (ca != cb) {
            return 0;
        }
    }
    return 1;
}

/* Whether key names a secret: an entry of secret_key_names, or a key
 * ending in ".", "_" or "-" and one of them. */
int herald__config_key_is_secret(const char *key)
{
    size_t klen;
    size_t i;

    if (!key) {
        return 0;
    }
    klen = strlen(key);
    for (i = 0; secret_key_names[i]; i++) {
        const char *s = secret_key_names[i];
        size_t slen = strlen(s);
        char sep;

        if (klen == slen && key_eq(key, s, slen)) {
            return 1;
        }
        if (klen <= slen || !key_eq(key + klen - slen, s, slen)) {
            continue;
        }
        sep = key[klen - slen - 1];
        if (sep == '.' || sep == '_' || sep == '-') {
            return 1;
        }
    }
    return 0;
}

static int looks_special(const char *s)
{
    static const char *const words[] = {
        "~",     "null",  "Null", "NULL", "true", "True", "TRUE", "false",
        "False", "FALSE", "yes",  "Yes",  "YES",  "no",   "No",   "NO",
        "on",    "On",    "ON",   "off",  "Off",  "OFF",  NULL,
    };

    return herald__config_in_list(s, words);
}

/* Whether s must be quoted to read back as the same string. */
static int needs_quotes(const char *s)
{
    size_t len = strlen(s);
    size_t i;

    if (len == 0 || looks_special(s)) {
        return 1;
    }
    if (strchr("-?:,[]{}#&*!|>'\"%@` \t", s[0])) {
        return 1;
    }
    if (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == ':') {
        return 1;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f) {
            return 1;
        }
    }
    return strstr(s, ": ") || strstr(s, " #") || strstr(s, ":\t");
}

/* Writes s as a plain scalar, doubling the $ of every "${" so the text
 * reads back as itself rather than as a substitution. */
static void out_plain(const struct printer *p, const char *s)
{
    const char *ref;

    while ((ref = strstr(s, "${"))) {
        p->write(p->ctx, s, (size_t)(ref - s));
        out(p, "$");
        p->write(p->ctx, ref, 2);
        s = ref + 2;
    }
    out(p, s);
}

/* Double-quoted with escapes; esc_dollar as in out_plain (values only:
 * keys are never substituted). */
static void out_quoted(const struct printer *p, const char *s, int esc_dollar)
{
    char esc[8];

    out(p, "\"");
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        switch (c) {
        case '"':
            out(p, "\\\"");
            break;
        case '\\':
            out(p, "\\\\");
            break;
        case '\n':
            out(p, "\\n");
            break;
        case '\t':
            out(p, "\\t");
            break;
        case '\r':
            out(p, "\\r");
            break;
        case '$':
            out(p, esc_dollar && s[1] == '{' ? "$$" : "$");
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                snprintf(esc, sizeof(esc), "\\x%02x", c);
                out(p, esc);
            } else {
                p->write(p->ctx, s, 1);
            }
        }
    }
    out(p, "\"");
}

char *herald__node_display(const struct herald__node *n)
{
    struct herald__buf b = HERALD__BUF_INIT;
    size_t at = 0;

    if (!n || n->type != HERALD_NODE_SCALAR || !n->scalar) {
        return NULL;
    }
    if (n->secret) {
        return herald__config_dup(HERALD__REDACTED);
    }
    /* Spans are in order and apart: substitution appends left to right. */
    for (size_t i = 0; i < n->n_spans; i++) {
        herald__buf_add(&b, n->scalar + at, n->spans[i].off - at);
        herald__buf_puts(&b, HERALD__REDACTED);
        at = n->spans[i].off + n->spans[i].len;
    }
    herald__buf_puts(&b, n->scalar + at);
    return herald__buf_take(&b);
}

static void out_scalar(const struct printer *p, const struct herald__node *n,
                       int redact)
{
    char *shown;

    if (n->null_value) {
        out(p, "null");
        return;
    }
    shown = redact ? NULL : herald__node_display(n);
    if (!shown || n->secret) {
        out(p, "\"" HERALD__REDACTED "\"");
    } else if (n->quoted || needs_quotes(shown)) {
        out_quoted(p, shown, 1);
    } else {
        out_plain(p, shown);
    }
    free(shown);
}

static void out_key(const struct printer *p, const char *k)
{
    if (needs_quotes(k)) {
        out_quoted(p, k, 0);
    } else {
        out(p, k);
    }
}

static void print_node(const struct printer *p, const struct herald__node *n,
                       int indent, int inline_first, int redact);

/* The value after "key:" or "-": inline for scalars and empty
 * collections, on the next lines otherwise. */
static void print_value(const struct printer *p, const struct herald__node *v,
                        int indent, int redact, int after_dash)
{
    if (v->type == HERALD_NODE_SCALAR) {
        out(p, " ");
        out_scalar(p, v, redact);
        out(p, "\n");
    } else if (v->n == 0) {
        out(p, v->type == HERALD_NODE_MAP ? " {}\n" : " []\n");
    } else if (after_dash && v->type == HERALD_NODE_MAP) {
        out(p, " ");
        print_node(p, v, indent + 2, 1, 0);
    } else {
        out(p, "\n");
        print_node(p, v, indent + 2, 0, redact);
    }
}

static void print_node(const struct printer *p, const struct herald__node *n,
                       int indent, int inline_first, int redact)
{
    size_t i;

    for (i = 0; i < n->n; i++) {
        if (i > 0 || !inline_first) {
            out_indent(p, indent);
        }
        if (n->type == HERALD_NODE_MAP) {
            out_key(p, n->keys[i]);
            out(p, ":");
            /* Only a secret key's own strings (or list of strings) are
             * hidden; its nested maps are walked with their own keys. */
            print_value(p, n->items[i], indent,
                        herald__config_key_is_secret(n->keys[i]) &&
                            n->items[i]->type != HERALD_NODE_MAP,
                        0);
        } else {
            out(p, "-");
            print_value(p, n->items[i], indent, redact, 1);
        }
    }
}

/* Writes root as block-style YAML through write(ctx, s, len), a piece at a
 * time. Secret scalars (from ${file:}, secret options, or under a key
 * that names a secret, see secret_key_names) print as "<redacted>". The
 * output parses back to the same tree apart from those. */
void herald__config_print_redacted(const struct herald__node *root,
                                   void (*write)(void *ctx, const char *s,
                                                 size_t len),
                                   void *ctx)
{
    struct printer p = {write, ctx};

    if (!root) {
        return;
    }
    if (root->type == HERALD_NODE_SCALAR) {
        out_scalar(&p, root, 0);
        out(&p, "\n");
    } else if (root->n == 0) {
        out(&p, root->type == HERALD_NODE_MAP ? "{}\n" : "[]\n");
    } else {
        print_node(&p, root, 0, 0, 0);
    }
}
