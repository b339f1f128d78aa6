/*
 * test_loop_timer.c - a timer of the loop (loop.h) keeps its promise in
 * real time: its callback never runs before timeout_ms have passed on the
 * monotonic clock since herald__timer_start, however busy the loop is and
 * however stale its cached time was. A retry after a 429's Retry-After: 1
 * once went out 999 ms later; libuv counts whole milliseconds from the
 * iteration's cached time, so without care a timer fires up to a
 * millisecond early on a busy loop, and more after a long iteration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "loop.h"

#define ROUNDS 40
#define WAIT_MS 7

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_fire(void *ctx)
{
    *(int64_t *)ctx = mono_us();
}

/* Sleeps stale_us with the loop's cached time left as it was, arms a
 * WAIT_MS timer, spins the loop without blocking (every pass reads the
 * clock and runs what is due: the busiest a loop can be) until it fires,
 * and returns the microseconds from the arming to the callback. */
static int64_t one_round(struct herald__loop *l, struct herald__timer *t,
                         int64_t *fired, long stale_us)
{
    herald__loop_run_once(l, 0);
    if (stale_us) {
        struct timespec ts = {0, stale_us * 1000};
        nanosleep(&ts, NULL);
    }
    *fired = 0;
    int64_t armed = mono_us();
    herald__timer_start(t, WAIT_MS, 0);
    while (!*fired) {
        herald__loop_run_once(l, 0);
    }
    return *fired - armed;
}

static void run_rounds(long stale_us)
{
    struct herald__loop *l = herald__loop_new();
    assert_non_null(l);
    int64_t fired = 0;
    struct herald__timer *t = herald__timer_new(l, on_fire, &fired);
    assert_non_null(t);
    int64_t shortest = INT64_MAX;
    for (int i = 0; i < ROUNDS; i++) {
        int64_t us = one_round(l, t, &fired, stale_us);
        if (us < shortest) {
            shortest = us;
        }
    }
    if (shortest < WAIT_MS * 1000) {
        fail_msg("a %d ms timer fired after %lld us", WAIT_MS,
                 (long long)shortest);
    }
    herald__timer_destroy(t);
    herald__loop_destroy(l);
}

/* Armed right after a pass: only the millisecond truncation can cut the
 * wait short (by the fraction of the millisecond the clock was in). */
static void test_busy_loop_waits_the_full_time(void **state)
{
    (void)state;
    run_rounds(0);
}

/* Armed 3 ms into an iteration (a long batch of callbacks): the cached
 * time is 3 ms old and would have cut the wait to about 4 ms. */
static void test_stale_cached_time_does_not_shorten(void **state)
{
    (void)state;
    run_rounds(3000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_busy_loop_waits_the_full_time),
        cmocka_unit_test(test_stale_cached_time_does_not_shorten),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
