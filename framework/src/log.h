/*
 * log.h - one logger for the process (log.c): one line per event on stderr,
 * logfmt by default (`ts=... level=info msg="..." key=value`) or JSON.
 * librdkafka's and libcurl's messages are routed through it. Never pass a
 * secret to it; as a second line of defence, every message and field list
 * is scrubbed of config values from ${env:}/${file:} and of URL passwords
 * (redact.h) before it is written.
 */
#ifndef HERALD_LOG_H
#define HERALD_LOG_H

#include "herald/plugin.h"

enum herald__log_format { HERALD__LOG_LOGFMT = 0, HERALD__LOG_JSON = 1 };

void herald__log_set_level(enum herald_log_level level);
enum herald_log_level herald__log_get_level(void);
void herald__log_set_format(enum herald__log_format f);
/* "error", "warn", "info", "debug" -> 0 and *out; -1 otherwise. */
int herald__log_parse_level(const char *s, enum herald_log_level *out);

/* msg is a printf format; the rendered message becomes msg="...".
 * `fields` is a preformatted logfmt tail ("connector=x topic=y") or NULL. */
void herald__log(enum herald_log_level level, const char *fields,
                 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define herald__error(...) herald__log(HERALD_LOG_ERROR, NULL, __VA_ARGS__)
#define herald__warn(...) herald__log(HERALD_LOG_WARN, NULL, __VA_ARGS__)
#define herald__info(...) herald__log(HERALD_LOG_INFO, NULL, __VA_ARGS__)
#define herald__debug(...) herald__log(HERALD_LOG_DEBUG, NULL, __VA_ARGS__)

#endif
