/*
 * stage_log.h - one log line about a connector's record (stage_log.c),
 * shared by the connector and its stages: "connector=NAME topic=T
 * partition=P offset=O" (or "connector=NAME" without a record), then the
 * message. Any thread (log.h is).
 */
#ifndef HERALD_STAGE_LOG_H
#define HERALD_STAGE_LOG_H

#include <herald/plugin.h>

/* r may be NULL. */
void herald__stage_log(enum herald_log_level lv, const char *connector,
                       const struct herald_record *r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
