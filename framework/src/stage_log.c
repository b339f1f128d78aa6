/*
 * stage_log.c - log lines about a connector's records (stage_log.h).
 */
#include "stage_log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "record.h"

/* Room for a message, and for the fields naming the record. */
#define MSG_MAX 1536
#define FIELDS_MAX 512

void herald__stage_log(enum herald_log_level lv, const char *connector,
                       const struct herald_record *r, const char *fmt, ...)
{
    char msg[MSG_MAX], fields[FIELDS_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r) {
        snprintf(fields, sizeof fields,
                 "connector=%s topic=%s partition=%" PRId32 " offset=%" PRId64,
                 connector, r->topic, r->partition, r->offset);
    } else {
        snprintf(fields, sizeof fields, "connector=%s", connector);
    }
    herald__log(lv, fields, "%s", msg);
}
