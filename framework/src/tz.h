/*
 * tz.h - local time in a named IANA zone without touching the process's
 * environment (tz.c wraps GLib's GTimeZone, the only file that includes
 * glib.h).
 *
 * libc converts only in the zone TZ names, so converting in another zone
 * meant setenv("TZ") + tzset(), which races with every other thread that
 * calls a libc time function (librdkafka's among them). A zone opened here
 * is an immutable value read from the same tzdata files libc uses, so
 * offsets and abbreviations ("CEST", "EDT", "-03") are the ones
 * localtime_r gives.
 *
 * Known limit: GLib 2.74 misreads the negative-DST rule of Europe/Dublin
 * (and its alias Eire) for instants after 2037, the end of the explicit
 * transitions in Debian's tzdata; every other zone matches localtime_r at
 * every instant gmtime_r can represent.
 */
#ifndef HERALD_TZ_H
#define HERALD_TZ_H

#include <time.h>

struct herald__tz;

/* Open the zone `name` (an IANA name such as "Europe/Berlin", read from
 * the tzdata directory: $TZDIR or /usr/share/zoneinfo). Returns the zone
 * (the caller closes it) or NULL if the name is unknown or out of memory.
 * Thread: any. */
struct herald__tz *herald__tz_open(const char *name);

/* Release tz. Accepts NULL. Thread: any, once no other thread uses tz. */
void herald__tz_close(struct herald__tz *tz);

/* Break `secs` (seconds since the epoch) down into local time in tz, as
 * localtime_r would with TZ set to the zone: every field of *tm including
 * tm_isdst, tm_gmtoff and tm_zone (borrowed from tz: valid while tz is
 * open). Returns 0, or -1 when the year does not fit in struct tm (*tm is
 * then unspecified). Thread: any, concurrently on the same tz; touches no
 * process-wide state. */
int herald__tz_localtime(const struct herald__tz *tz, long long secs,
                         struct tm *tm);

#endif
