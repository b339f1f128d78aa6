/*
 * addr.h - email address parsing and validation for the mail plugins.
 *
 * The host already refuses CR, LF and NUL in message fields; the channels
 * check again here (defence in depth), because libcurl 7.88 copies envelope
 * addresses into SMTP commands verbatim and every header line we write is
 * built from record data.
 */
#ifndef HERALD_PLUGIN_ADDR_H
#define HERALD_PLUGIN_ADDR_H

#include <stddef.h>

/* One parsed mailbox. name is NULL when the input had no display name. */
struct addr {
    char *name;  /* display name, unquoted, UTF-8; NULL if none */
    char *email; /* addr-spec: local@domain, ASCII */
};

/* 1 if s[0..len) is an addr-spec herald accepts: a dot-atom local part of
 * at most 64 bytes, '@', a domain of LDH labels separated by dots, at most
 * 254 bytes in all, printable ASCII only (no quoted local parts, no address
 * literals, no SMTPUTF8). 0 otherwise. Pure. */
int addr_email_valid(const char *s, size_t len);

/* 1 if s passes the code-point rule of hdrtext.h with TAB allowed (valid
 * UTF-8; no C0 but TAB, DEL, C1 such as NEL, U+2028 or U+2029): safe to
 * put in a header once encoded. 0 otherwise (also for NULL). Pure. */
int addr_text_safe(const char *s);

/* Parse "local@domain", "<local@domain>", "Name <local@domain>" or
 * "\"Quoted, Name\" <local@domain>" into out (zeroed first). Returns 0, or
 * -1 with a reason in err (out left empty). On success the caller owns
 * out's strings and frees them with addr_cleanup. */
int addr_parse(const char *in, struct addr *out, char *err, size_t errlen);

/* Free what addr_parse allocated; accepts NULL and empty structs. */
void addr_cleanup(struct addr *a);

#endif
