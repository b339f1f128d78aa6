/* log.c - the process logger: logfmt or JSON lines on stderr. */
#include "log.h"

#include "redact.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static enum herald_log_level log_level = HERALD_LOG_INFO;
static enum herald__log_format log_format = HERALD__LOG_LOGFMT;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void herald__log_set_level(enum herald_log_level level)
{
    log_level = level;
}

enum herald_log_level herald__log_get_level(void)
{
    return log_level;
}

void herald__log_set_format(enum herald__log_format f)
{
    log_format = f;
}

int herald__log_parse_level(const char *s, enum herald_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (s && strcmp(s, level_names[i]) == 0) {
            *out = (enum herald_log_level)i;
            return 0;
        }
    }
    return -1;
}

/* Quote for logfmt/JSON alike: backslash, quote and control characters are
 * escaped, so a record's bytes can never forge a second log line. */
static size_t quote(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s && o + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return o;
}

void herald__log(enum herald_log_level level, const char *fields,
                 const char *fmt, ...)
{
    if (level > log_level) {
        return;
    }
    char raw[2048], msg[2048], q[4200], ts[40];
    char clean_fields[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    /* Every level, every source (plugins, librdkafka, libcurl): values
     * from ${env:}/${file:} and URL passwords never reach the log. */
    herald__redact_into(raw, msg, sizeof msg);
    quote(q, sizeof q, msg);
    if (fields) {
        herald__redact_into(fields, clean_fields, sizeof clean_fields);
        fields = clean_fields;
    }

    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03dZ", (int)(tv.tv_usec / 1000));

    int lv = (int)level < 0 ? 0 : (int)level > 3 ? 3 : (int)level;
    if (log_format == HERALD__LOG_JSON) {
        /* fields stay logfmt inside one JSON string member. */
        char qf[1200] = "";
        if (fields) {
            quote(qf, sizeof qf, fields);
        }
        fprintf(stderr,
                "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"%s%s%s}\n", ts,
                level_names[lv], q, fields ? ",\"fields\":\"" : "", qf,
                fields ? "\"" : "");
    } else {
        fprintf(stderr, "ts=%s level=%s %s%smsg=\"%s\"\n", ts, level_names[lv],
                fields ? fields : "", fields ? " " : "", q);
    }
}
