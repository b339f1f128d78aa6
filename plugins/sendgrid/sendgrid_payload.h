/*
 * sendgrid_payload.h - pure builder of the SendGrid v3 Mail Send request
 * body (POST /v3/mail/send) from a rendered herald message.
 *
 * Follows sendgrid/tsg_mail_v3.yaml: one personalization with to/cc,
 * from, reply_to, subject, content (text/plain before text/html),
 * custom_args (in the personalization, where the description types it as
 * an object), categories, headers and mail_settings.sandbox_mode.
 */
#ifndef HERALD_SENDGRID_PAYLOAD_H
#define HERALD_SENDGRID_PAYLOAD_H

#include <stddef.h>

#include <jansson.h>

#include <herald/plugin.h>

/* Channel-level settings the payload needs. All borrowed. */
struct sendgrid_payload_opts {
    const char *default_from;      /* when the message has none; or NULL */
    const char *const *categories; /* validated by sendgrid_categories_ok */
    size_t n_categories;
    int sandbox; /* mail_settings.sandbox_mode.enable */
};

/* Build the request body for m. Returns a new JSON object (the caller
 * json_decref's it), or NULL with a reason in err when the message cannot
 * be sent through SendGrid (bad address or header, no To, no subject, no
 * body, more than 1000 recipients, invalid UTF-8). Pure; any thread.
 * Addresses repeated across to/cc are sent once (SendGrid rejects
 * duplicates within a personalization). */
json_t *sendgrid_payload_new(const struct herald_message *m,
                             const struct sendgrid_payload_opts *o, char *err,
                             size_t errlen);

/* Check the `categories` option against the description: at most 10,
 * unique, each 1..255 bytes of valid text. Returns 0, or -1 with err. */
int sendgrid_categories_ok(const char *const *c, size_t n, char *err,
                           size_t errlen);

#endif
