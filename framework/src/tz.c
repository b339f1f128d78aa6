/*
 * tz.c - local time in a named zone through GLib's GTimeZone, which reads
 * the tzdata files itself and never consults or changes TZ (see tz.h for
 * why herald must not setenv).
 */
#include "tz.h"

#include <glib.h>
#include <limits.h>
#include <stdlib.h>

/* The Gregorian calendar repeats every 400 years, to the second (146097
 * days), and so does a zone's closing POSIX rule. */
#define GREGORIAN_CYCLE_SECS (146097LL * 86400LL)
/* 2900-01-01T00:00:00Z. GLib 2.74 expands a zone's closing rule into
 * transitions up to the year 2999 only; later instants are moved back by
 * whole cycles to below this point, where the same rule gives the same
 * offset and abbreviation. */
#define GLIB_RULES_HORIZON 29348006400LL

struct herald__tz {
    GTimeZone *zone;
};

struct herald__tz *herald__tz_open(const char *name)
{
    struct herald__tz *tz;

    if (!name || !name[0]) {
        return NULL;
    }
    tz = calloc(1, sizeof *tz);
    if (!tz) {
        return NULL;
    }
    /* With a non-NULL identifier GLib reads $TZDIR/name and never looks at
     * TZ; it returns NULL for a name it cannot load. */
    tz->zone = g_time_zone_new_identifier(name);
    if (!tz->zone) {
        free(tz);
        return NULL;
    }
    return tz;
}

void herald__tz_close(struct herald__tz *tz)
{
    if (!tz) {
        return;
    }
    g_time_zone_unref(tz->zone);
    free(tz);
}

int herald__tz_localtime(const struct herald__tz *tz, long long secs,
                         struct tm *tm)
{
    long long probe = secs;

    if (probe >= GLIB_RULES_HORIZON) {
        probe -= ((probe - GLIB_RULES_HORIZON) / GREGORIAN_CYCLE_SECS + 1) *
                 GREGORIAN_CYCLE_SECS;
    }
    /* For universal time every instant falls in exactly one interval. */
    gint interval =
        g_time_zone_find_interval(tz->zone, G_TIME_TYPE_UNIVERSAL, probe);
    if (interval < 0) {
        return -1;
    }
    gint32 offset = g_time_zone_get_offset(tz->zone, interval);
    if ((offset > 0 && secs > LLONG_MAX - offset) ||
        (offset < 0 && secs < LLONG_MIN - offset)) {
        return -1;
    }
    /* Local time is UTC shifted by the zone's offset at that instant, as
     * glibc's localtime_r computes it. */
    time_t local = (time_t)(secs + offset);
    if (!gmtime_r(&local, tm)) {
        return -1;
    }
    tm->tm_isdst = g_time_zone_is_dst(tz->zone, interval) ? 1 : 0;
    tm->tm_gmtoff = offset;
    tm->tm_zone = g_time_zone_get_abbreviation(tz->zone, interval);
    return 0;
}
