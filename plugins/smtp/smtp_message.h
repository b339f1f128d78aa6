/*
 * smtp_message.h - pure parts of the smtp channel: the SMTP envelope of a
 * message and the server URL from the options. Unit-tested without I/O.
 */
#ifndef HERALD_SMTP_MESSAGE_H
#define HERALD_SMTP_MESSAGE_H

#include <stddef.h>

#include <herald/plugin.h>

/* MAIL FROM and RCPT TO addresses (bare addr-specs, validated: no CR, LF,
 * blank or '<' '>' can reach an SMTP command). Bcc does not exist in a
 * herald message, so the recipients are To then Cc, each once. */
struct smtp_envelope {
    char *from;
    char **rcpt;
    size_t n_rcpt;
};

/* Fill e (zeroed first) from m; default_from replaces a missing m->from.
 * Returns 0, or -1 with a reason in err and e left empty. The caller frees
 * with smtp_envelope_cleanup. Pure. */
int smtp_envelope_init(struct smtp_envelope *e, const struct herald_message *m,
                       const char *default_from, char *err, size_t errlen);

/* Free e's strings; accepts NULL and empty envelopes. */
void smtp_envelope_cleanup(struct smtp_envelope *e);

enum smtp_tls {
    SMTP_TLS_NONE = 0,
    SMTP_TLS_STARTTLS = 1, /* required: the transfer fails without it */
    SMTP_TLS_IMPLICIT = 2, /* smtps:// */
};

/* Check url against tls ("smtp://" for none/starttls, "smtps://" for
 * implicit; a host; no path, blank or control byte) and return a malloc'd
 * URL with "/helo" appended when helo is set (libcurl sends the URL path
 * as the EHLO name). Returns NULL with err on a bad combination. Pure. */
char *smtp_url_build(const char *url, enum smtp_tls tls, const char *helo,
                     char *err, size_t errlen);

#endif
