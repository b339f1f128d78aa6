/*
 * sendgrid_payload.c - SendGrid v3 Mail Send body builder, see
 * sendgrid_payload.h.
 */
#include "sendgrid_payload.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "mime.h"

#define MAX_RECIPIENTS 1000
#define MAX_CATEGORIES 10

/* Headers the description says SendGrid will not let us set. */
static const char *const reserved[] = {
    "x-sg-id",      "x-sg-eid",
    "received",     "dkim-signature",
    "content-type", "content-transfer-encoding",
    "to",           "from",
    "subject",      "reply-to",
    "cc",           "bcc",
    NULL,
};

/* json_object_set_new that fails on a NULL value (invalid UTF-8 string). */
static int set(json_t *obj, const char *key, json_t *v)
{
    if (v == NULL) {
        return -1;
    }
    return json_object_set_new(obj, key, v);
}

/* {"email": ..., "name": ...} from one address string. */
static json_t *mailbox(const char *in, const char *what, char *err,
                       size_t errlen)
{
    struct addr a;
    char why[160];
    json_t *o = NULL;

    if (addr_parse(in, &a, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "%s: %s", what, why);
        return NULL;
    }
    o = json_object();
    if (o == NULL || set(o, "email", json_string(a.email)) != 0 ||
        (a.name != NULL && set(o, "name", json_string(a.name)) != 0)) {
        snprintf(err, errlen, "%s: display name is not valid UTF-8", what);
        json_decref(o);
        o = NULL;
    }
    addr_cleanup(&a);
    return o;
}

static int seen_before(json_t *lists[2], const char *email)
{
    size_t l, i;

    for (l = 0; l < 2; l++) {
        for (i = 0; lists[l] != NULL && i < json_array_size(lists[l]); i++) {
            json_t *e = json_object_get(json_array_get(lists[l], i), "email");
            if (strcasecmp(json_string_value(e), email) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

/* Append the mailboxes of list to arr, skipping ones already in lists. */
static int add_recipients(json_t *arr, json_t *lists[2],
                          const char *const *list, size_t n, const char *what,
                          char *err, size_t errlen)
{
    size_t i;

    for (i = 0; i < n; i++) {
        json_t *o = mailbox(list[i], what, err, errlen);
        if (o == NULL) {
            return -1;
        }
        if (seen_before(lists,
                        json_string_value(json_object_get(o, "email")))) {
            json_decref(o);
            continue;
        }
        if (json_array_append_new(arr, o) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

static int header_ok(const struct herald_header *h, char *err, size_t errlen)
{
    const char *p;
    size_t i;

    if (h->name == NULL || h->name[0] == '\0' || h->value == NULL) {
        snprintf(err, errlen, "header without a name or value");
        return -1;
    }
    for (p = h->name; *p; p++) {
        if (*p < 33 || *p > 126 || *p == ':') {
            snprintf(err, errlen,
                     "header name '%.40s' has a character not "
                     "allowed in a field name",
                     h->name);
            return -1;
        }
    }
    for (i = 0; reserved[i] != NULL; i++) {
        if (strcasecmp(h->name, reserved[i]) == 0) {
            snprintf(err, errlen,
                     "header '%s' cannot be set through "
                     "SendGrid",
                     h->name);
            return -1;
        }
    }
    if (!addr_text_safe(h->value)) {
        snprintf(err, errlen, "header '%s' value holds a control character",
                 h->name);
        return -1;
    }
    return 0;
}

int sendgrid_categories_ok(const char *const *c, size_t n, char *err,
                           size_t errlen)
{
    size_t i, j;
    json_t *probe;

    if (n > MAX_CATEGORIES) {
        snprintf(err, errlen, "at most %d categories, got %zu", MAX_CATEGORIES,
                 n);
        return -1;
    }
    for (i = 0; i < n; i++) {
        size_t len = c[i] != NULL ? strlen(c[i]) : 0;
        if (len == 0 || len > 255) {
            snprintf(err, errlen,
                     "category %zu must be 1 to 255 characters "
                     "of text",
                     i + 1);
            return -1;
        }
        if (!addr_text_safe(c[i])) {
            snprintf(err, errlen,
                     "category %zu holds a control character or "
                     "invalid UTF-8",
                     i + 1);
            return -1;
        }
        probe = json_string(c[i]);
        if (probe == NULL) {
            snprintf(err, errlen, "category %zu is not valid UTF-8", i + 1);
            return -1;
        }
        json_decref(probe);
        for (j = 0; j < i; j++) {
            if (strcmp(c[i], c[j]) == 0) {
                snprintf(err, errlen, "category '%s' appears twice", c[i]);
                return -1;
            }
        }
    }
    return 0;
}

json_t *sendgrid_payload_new(const struct herald_message *m,
                             const struct sendgrid_payload_opts *o, char *err,
                             size_t errlen)
{
    json_t *root = json_object(), *pers = json_object();
    json_t *to = json_array(), *cc = json_array(), *content = json_array();
    json_t *args = json_object(), *lists[2], *v;
    const char *from;
    char num[32];
    size_t i;

    if (root == NULL || pers == NULL || to == NULL || cc == NULL ||
        content == NULL || args == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (m->n_to == 0) {
        snprintf(err, errlen, "SendGrid needs at least one To recipient");
        goto fail;
    }
    if (m->n_to + m->n_cc > MAX_RECIPIENTS) {
        snprintf(err, errlen, "%zu recipients; SendGrid takes at most %d",
                 m->n_to + m->n_cc, MAX_RECIPIENTS);
        goto fail;
    }
    lists[0] = to;
    lists[1] = cc;
    if (add_recipients(to, lists, m->to, m->n_to, "To", err, errlen) != 0 ||
        add_recipients(cc, lists, m->cc, m->n_cc, "Cc", err, errlen) != 0) {
        goto fail;
    }
    if (json_object_set(pers, "to", to) != 0 ||
        (json_array_size(cc) > 0 && json_object_set(pers, "cc", cc) != 0)) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (mime_idempotency_ok(m->idempotency_key)) {
        /* The host's keyed hash of the dedup key (HMAC under the
         * deployment's hash_key), the same 32 hex digits the SMTP channel
         * puts in Message-ID. Anything else could hold record data (the
         * dedup key has the card number) and is never sent. */
        char hex[MIME_ID_HEX + 1];
        memcpy(hex, m->idempotency_key, MIME_ID_HEX);
        hex[MIME_ID_HEX] = '\0';
        if (set(args, "idempotency_key", json_string(hex)) != 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    if (m->topic != NULL && set(args, "topic", json_string(m->topic)) != 0) {
        snprintf(err, errlen, "topic is not valid UTF-8");
        goto fail;
    }
    snprintf(num, sizeof(num), "%" PRId32, m->partition);
    set(args, "partition", json_string(num));
    snprintf(num, sizeof(num), "%" PRId64, m->offset);
    set(args, "offset", json_string(num));
    if (json_object_set(pers, "custom_args", args) != 0 ||
        set(root, "personalizations", json_pack("[O]", pers)) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }

    from = (m->from != NULL && m->from[0] != '\0') ? m->from : o->default_from;
    if (from == NULL || from[0] == '\0') {
        snprintf(err, errlen, "message has no From address");
        goto fail;
    }
    v = mailbox(from, "From", err, errlen);
    if (v == NULL || set(root, "from", v) != 0) {
        goto fail;
    }
    if (m->reply_to != NULL && m->reply_to[0] != '\0') {
        v = mailbox(m->reply_to, "Reply-To", err, errlen);
        if (v == NULL || set(root, "reply_to", v) != 0) {
            goto fail;
        }
    }
    if (m->subject == NULL || m->subject[0] == '\0') {
        snprintf(err, errlen, "SendGrid needs a non-empty subject");
        goto fail;
    }
    if (!addr_text_safe(m->subject) ||
        set(root, "subject", json_string(m->subject)) != 0) {
        snprintf(err, errlen,
                 "subject holds a control character or "
                 "invalid UTF-8");
        goto fail;
    }
    /* text/plain must come before text/html */
    if (m->text != NULL && m->text[0] != '\0' &&
        json_array_append_new(content,
                              json_pack("{s:s,s:s}", "type", "text/plain",
                                        "value", m->text)) != 0) {
        snprintf(err, errlen, "text body is not valid UTF-8");
        goto fail;
    }
    if (m->html != NULL && m->html[0] != '\0' &&
        json_array_append_new(content,
                              json_pack("{s:s,s:s}", "type", "text/html",
                                        "value", m->html)) != 0) {
        snprintf(err, errlen, "html body is not valid UTF-8");
        goto fail;
    }
    if (json_array_size(content) == 0) {
        snprintf(err, errlen, "message has no text or html body");
        goto fail;
    }
    if (json_object_set(root, "content", content) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (m->n_headers > 0) {
        json_t *h = json_object();
        if (set(root, "headers", h) != 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        for (i = 0; i < m->n_headers; i++) {
            const struct herald_header *hd = herald_message_header(m, i);

            if (header_ok(hd, err, errlen) != 0) {
                goto fail;
            }
            if (set(h, hd->name, json_string(hd->value)) != 0) {
                snprintf(err, errlen,
                         "header '%s' value is not valid "
                         "UTF-8",
                         hd->name);
                goto fail;
            }
        }
    }
    if (o->n_categories > 0) {
        json_t *c = json_array();
        if (set(root, "categories", c) != 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        for (i = 0; i < o->n_categories; i++) {
            if (json_array_append_new(c, json_string(o->categories[i])) != 0) {
                snprintf(err, errlen, "category is not valid UTF-8");
                goto fail;
            }
        }
    }
    if (o->sandbox &&
        set(root, "mail_settings",
            json_pack("{s:{s:b}}", "sandbox_mode", "enable", 1)) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    json_decref(pers);
    json_decref(to);
    json_decref(cc);
    json_decref(content);
    json_decref(args);
    return root;

fail:
    json_decref(root);
    json_decref(pers);
    json_decref(to);
    json_decref(cc);
    json_decref(content);
    json_decref(args);
    return NULL;
}
