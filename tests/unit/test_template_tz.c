/*
 * test_template_tz.c - the datetime filter converts in a named zone
 * without touching the process's time zone: another thread calling libc's
 * time functions and reading TZ while templates render in named zones
 * never sees TZ change and always gets its own zone's answer, and every
 * render is exact. Also exact results the zone library must get right:
 * %s in a named zone, and instants past GLib's expanded rules.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "config.h"
#include "template.h"

/* 2020-04-22T03:19:30Z: 05:19:30 CEST in Berlin, 23:19:30 EDT the day
 * before in New York, 12:19:30 JST in Tokyo. */
#define INSTANT_MS 1587525570000LL
#define INSTANT_SECS 1587525570
#define TOKYO_HOUR 12
#define RENDERS 3000
/* Renders go on until the watcher has looked this often while they ran, so
 * a busy machine that schedules it late cannot make the check empty. */
#define MIN_ROUNDS 1000
#define MAX_RENDERS 3000000

struct watcher {
    volatile int stop;
    long rounds;
    long tz_changed;
    long wrong_hour;
};

/* The other thread: what librdkafka's threads do (libc time functions),
 * plus a check of TZ itself. */
static void *watch(void *arg)
{
    struct watcher *w = arg;
    const time_t t = INSTANT_SECS;

    while (!w->stop) {
        struct tm tm;
        const char *tz = getenv("TZ");
        if (!tz || strcmp(tz, "Asia/Tokyo") != 0) {
            w->tz_changed++;
        }
        if (!localtime_r(&t, &tm) || tm.tm_hour != TOKYO_HOUR) {
            w->wrong_hour++;
        }
        __atomic_add_fetch(&w->rounds, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static struct herald__template *compile(const char *text)
{
    struct herald__diag d;
    herald__diag_init(&d);
    struct herald__template *t =
        herald__template_compile(text, "t", 1, 1, 0, &d);
    if (!t) {
        fail_msg("compile: %s", d.n ? d.msgs[0] : "?");
    }
    herald__diag_cleanup(&d);
    return t;
}

static char *render(const struct herald__template *t, json_t *doc)
{
    char err[256];
    char *out = NULL;
    if (herald__template_render(t, herald__template_lookup_json, doc, &out, err,
                                sizeof err) != 0) {
        fail_msg("render: %s", err);
    }
    return out;
}

static void test_no_environment_change(void **state)
{
    (void)state;
    setenv("TZ", "Asia/Tokyo", 1);
    tzset();
    struct herald__template *t = compile(
        "{{t | datetime \"%Y-%m-%d %H:%M:%S %Z %z\" \"Europe/Berlin\"}}|"
        "{{t | datetime \"%d.%m.%Y %H:%M %Z\" America/New_York}}");
    json_t *doc = json_pack("{s:I}", "t", (json_int_t)INSTANT_MS);
    assert_non_null(doc);
    struct watcher w = {0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, watch, &w), 0);
    while (__atomic_load_n(&w.rounds, __ATOMIC_RELAXED) == 0) {
        sched_yield();
    }
    const long first = __atomic_load_n(&w.rounds, __ATOMIC_RELAXED);
    for (int k = 0;
         k < MAX_RENDERS &&
         (k < RENDERS ||
          __atomic_load_n(&w.rounds, __ATOMIC_RELAXED) - first < MIN_ROUNDS);
         k++) {
        char *out = render(t, doc);
        assert_string_equal(out, "2020-04-22 05:19:30 CEST +0200|"
                                 "21.04.2020 23:19 EDT");
        free(out);
    }
    w.stop = 1;
    pthread_join(th, NULL);
    assert_true(w.rounds - first >= MIN_ROUNDS);
    assert_int_equal(w.tz_changed, 0);
    assert_int_equal(w.wrong_hour, 0);
    assert_string_equal(getenv("TZ"), "Asia/Tokyo");
    json_decref(doc);
    herald__template_destroy(t);
    unsetenv("TZ");
}

static void check(const char *text, long long ms, const char *want)
{
    struct herald__template *t = compile(text);
    json_t *doc = json_pack("{s:I}", "t", (json_int_t)ms);
    assert_non_null(doc);
    char *out = render(t, doc);
    assert_string_equal(out, want);
    free(out);
    json_decref(doc);
    herald__template_destroy(t);
}

static void test_exact_results(void **state)
{
    (void)state;
    /* A process zone that is neither the template's nor UTC. */
    setenv("TZ", "Asia/Tokyo", 1);
    tzset();
    /* %s is the instant itself, whatever zone tm was broken down in. */
    check("{{t | datetime \"%s %H\" \"Europe/Berlin\"}}", INSTANT_MS,
          "1587525570 05");
    check("{{t | datetime \"%s\"}}", INSTANT_MS, "1587525570");
    /* Padded as glibc pads %s (zeros go before the sign). */
    check("{{t | datetime \"%12s|%_12s|%-s|%012s\" \"Europe/Berlin\"}}", -1000,
          "          -1|          -1|-1|0000000000-1");
    /* Lord Howe: a 30-minute DST shift. */
    check("{{t | datetime \"%H:%M %Z %z\" \"Australia/Lord_Howe\"}}",
          INSTANT_MS, "13:49 +1030 +1030");
    /* 3020-07-01T12:00:00Z and 9999-07-01T12:00:00Z, after the year up to
     * which GLib expands a zone's rule: still summer time. */
    check("{{t | datetime \"%Y-%m-%d %H:%M %Z\" \"Europe/Berlin\"}}",
          33150513600000LL, "3020-07-01 14:00 CEST");
    check("{{t | datetime \"%Y-%m-%d %H:%M %Z\" \"America/New_York\"}}",
          253386446400000LL, "9999-07-01 08:00 EDT");
    /* Before any transition: local mean time, as localtime_r gives it. */
    check("{{t | datetime \"%Y-%m-%d %H:%M:%S %Z %z\" \"Europe/Berlin\"}}",
          -5000000000000LL, "1811-07-23 16:00:08 LMT +0053");
    assert_string_equal(getenv("TZ"), "Asia/Tokyo");
    unsetenv("TZ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_environment_change),
        cmocka_unit_test(test_exact_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
