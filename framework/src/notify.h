/*
 * notify.h - the notify stage (notify.c): compile a connector's `notify:`
 * section once, then render each record into a struct herald_message that
 * a notify plugin (channel) delivers.
 *
 * notify:
 *   channel: email                 required; the caller resolves it
 *   from: "Alerts <alerts@bank.example>"   optional template; when absent
 *                                  msg.from is NULL and the channel uses
 *                                  its own `from` option
 *   to: "{{email_address}}"        required; a template or a list of them,
 *                                  each renders exactly one address
 *   cc: [...]                      optional, like `to`
 *   reply_to: "..."                optional template, one address
 *   subject: "..."                 required template
 *   text: "..." | text_file: PATH  at least one of text/html; files are
 *   html: "..." | html_file: PATH  relative to the config file's directory
 *   headers: {X-Name: "..."}       extra headers; names are RFC 5322 field
 *                                  names and may not be ones herald or the
 *                                  channel set (From, To, Subject, ...)
 *   idempotency_key: "..."         template of the dedup key; default
 *                                  the connector's `dedup.key`, else
 *                                  `{{@key}}@{{@window.start}}`
 *                                  for windowed keys, else
 *                                  `{{@topic}}-{{@partition}}-{{@offset}}`.
 *                                  The message carries only its keyed
 *                                  hash: HMAC-SHA-256 under the top-level
 *                                  `hash_key`, 64 lowercase hex digits
 *   sensitive: [card_number]       paths whose full value may never appear
 *                                  in a rendered subject, text, html or
 *                                  header value (default [card_number];
 *                                  [] turns the check off)
 *   allow_sensitive: false         true turns the check off
 *
 * Addresses are `local@domain` (ASCII dot-atom, <= 254 octets), or
 * `Name <local@domain>` / `"Name" <local@domain>`, where the name holds no
 * control characters, quotes (when quoted), `<`, `>` or `,`. Every
 * header-bound value (from, to, cc, reply_to, subject, header values,
 * idempotency key) must pass the code-point rule of hdrtext.h: valid
 * UTF-8 without C0 (TAB too), DEL, C1 (NEL U+0085), U+2028 or U+2029. A
 * long subject is the channel's to fold or encode, never a reject. Bodies
 * keep their newlines, normalized to LF (the channel writes CRLF).
 *
 * A channel plugin may declare its own fields instead
 * (herald_plugin.fields, herald__notify_new_for): chat and paging channels
 * take e.g. a JSON body or a summary and a severity, not addresses. Then
 * only its fields and the common keys (channel, idempotency_key,
 * sensitive, allow_sensitive) are allowed, rendered per record into
 * msg.fields and checked by kind (plugin.h, enum herald_field_kind); the
 * sensitive-field net covers them too.
 *
 * Threads: build at load; render on the loop thread (or any one thread at
 * a time per notify object; the object is read-only after new()).
 */
#ifndef HERALD_NOTIFY_H
#define HERALD_NOTIFY_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "config_schema.h"
#include "herald/plugin.h"

struct herald__notify;
struct herald__hash_key;

/* One rendered message: `msg` is what a channel gets (through
 * herald__rendered_message); the rest is its storage. Read-only for
 * everyone but notify.c. */
struct herald__rendered {
    struct herald_message msg;
    char *from;
    char **to;
    char **cc;
    char *reply_to;
    char *subject;
    char *text;
    char *html;
    struct herald_header *headers; /* names borrowed from the notify */
    char **header_values;
    char *idempotency_key;
    /* A channel with declared fields: msg.fields points at fields. */
    struct herald_field_value *fields;
    char **field_values;   /* what fields[k].value points at, owned */
    char ***field_items;   /* ADDRESS_LIST items, owned */
    size_t *field_n_items; /* slots of field_items[k] */
    size_t n_fields;
};

/* The keys of `notify:` herald reads whatever the channel: channel,
 * idempotency_key, sensitive, allow_sensitive (the connector's table
 * points here; the channel's own fields come on top). Static. */
extern const struct herald__section herald__notify_section;

/* Compile the `notify:` map. dedup is the connector's `dedup:` map (may be
 * NULL): its `key` template is the default dedup key. hk is the
 * deployment's hash key (borrowed; it must outlive the result); NULL is an
 * error, since the idempotency key is its HMAC. config_dir
 * resolves text_file/html_file (NULL: current directory). Every problem
 * goes to d with its file:line:col. Returns the stage (caller destroys) or
 * NULL if anything was wrong. The nodes need not outlive the result. */
struct herald__notify *herald__notify_new(const struct herald__node *notify,
                                          const struct herald__node *dedup,
                                          const char *config_dir,
                                          const struct herald__hash_key *hk,
                                          struct herald__diag *d);
/* The same for the channel plugin `channel` (borrowed; NULL: an email
 * channel). A plugin that declares fields (herald_plugin.fields) gets
 * its own keys checked instead of the email ones: every key of the map
 * must be a common key (channel, idempotency_key, sensitive,
 * allow_sensitive), a declared field or NAME_file of a text field
 * ("unknown field 'subject' for channel 'pager' (plugin pagerduty takes:
 * summary, ...)"), and every required field must be there, all with
 * file:line:col. A constant enum value is checked here; other values per
 * record. The declaration is copied (the plugin may be unloaded first). */
struct herald__notify *herald__notify_new_for(
    const struct herald__node *notify, const struct herald__node *dedup,
    const struct herald_plugin *channel, const char *config_dir,
    const struct herald__hash_key *hk, struct herald__diag *d);
void herald__notify_destroy(struct herald__notify *n);

/* For `herald plugins describe`: a notify plugin's message fields, one
 * "  name (kind[: a|b], required)" line each and its help below, after a
 * "fields:" line; an email channel's built-in fields as one line. Prints
 * nothing for a sink. Reads the table as the loader does (its stride,
 * at most 64 entries). */
void herald__notify_describe_fields(const struct herald_plugin *p, FILE *out);

/* The `channel:` name (borrowed for the life of n). */
const char *herald__notify_channel(const struct herald__notify *n);

/* Use the channel's `from` (a scalar node, templates allowed) when the
 * notify section has none; a no-op if it has one or node is NULL. Returns
 * 0, or -1 after adding errors to d. */
int herald__notify_default_from(struct herald__notify *n,
                                const struct herald__node *from,
                                struct herald__diag *d);

/* Render record r. Returns 0 and *out (caller destroys; it borrows r and
 * n, so it must not outlive either), or -1 with the reason for the REJECT
 * in err (e.g. "field 'email_address' is missing", "'to' is not a valid
 * address: ...") and *out NULL. */
int herald__notify_render(const struct herald__notify *n,
                          const struct herald_record *r,
                          struct herald__rendered **out, char *err,
                          size_t errlen);

/* The idempotency key herald__notify_render would give r's message (the
 * keyed hash of the dedup key), without rendering the rest: the dedup gate
 * decides on it before render. 0 and *out (caller frees), or -1 with err
 * and *out NULL. Any thread. */
int herald__notify_key(const struct herald__notify *n,
                       const struct herald_record *r, char **out, char *err,
                       size_t errlen);

/* The message inside a rendered object (borrowed from it). */
const struct herald_message *
herald__rendered_message(const struct herald__rendered *m);

void herald__rendered_destroy(struct herald__rendered *m);

/* Address check used for every rendered address (exposed for tests and
 * the config checker). Returns 0, or -1 with the reason in err. */
int herald__notify_check_address(const char *s, char *err, size_t errlen);

#endif
