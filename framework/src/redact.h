/*
 * redact.h - what must never be printed, and a scrubber for every line
 * that leaves the process (redact.c).
 *
 * The config loader registers each value it substituted from ${env:} or
 * ${file:} (redaction by provenance: such a value is a secret wherever it
 * ends up, whole or inside a larger string). The logger, the admin
 * endpoint and config diagnostics pass their text through
 * herald__redact_text(), which replaces every registered value with
 * "<redacted>" and the password (or the whole userinfo, when it has no
 * ':') of every URL's userinfo ("smtp://u:pw@host" -> "smtp://u:<redacted>
 * @host").
 *
 * Registered values shorter than HERALD__REDACT_MIN_LEN bytes are not
 * searched for in free text (a "1" or "on" from ${env:} would erase every
 * digit or word of a log line); the config printer and the type errors of
 * config_options.c still redact them, since they know where each came from.
 *
 * Threads: register at load time; herald__redact_text() from any thread
 * (a mutex guards the list).
 */
#ifndef HERALD_REDACT_H
#define HERALD_REDACT_H

#include <stddef.h>

#define HERALD__REDACTED "<redacted>"
#define HERALD__REDACT_MIN_LEN 4

/* Remember s[0..len) as a secret for the life of the process (copied;
 * registering the same value twice keeps one copy). 0, or -1 on ENOMEM
 * (the caller treats that as a load failure: a secret it cannot hide is
 * not used). */
int herald__redact_register(const char *s, size_t len);

/* A copy of in[0..len) with every registered value (of at least
 * HERALD__REDACT_MIN_LEN bytes) and every URL userinfo password replaced
 * by "<redacted>". NUL-terminated; *out_len (may be NULL) gets its
 * length. NULL on ENOMEM. Caller frees. */
char *herald__redact_text(const char *in, size_t len, size_t *out_len);

/* The same into out[cap] (truncated, always NUL-terminated when cap > 0),
 * for fixed buffers such as a log line. Returns the length written. */
size_t herald__redact_into(const char *in, char *out, size_t cap);

/* Forget every registered value (tests). */
void herald__redact_reset(void);

#endif
