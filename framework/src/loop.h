/*
 * loop.h - the one event loop (loop.c, the only file that includes uv.h).
 *
 * Everything runs on this loop's thread: fd watchers (the librdkafka queue
 * pipe, libcurl sockets), timers, cross-thread wakeups, signals. Other
 * modules see small opaque handles so that libuv types stay in loop.c.
 */
#ifndef HERALD_LOOP_H
#define HERALD_LOOP_H

#include <stdint.h>

struct herald__loop;
struct herald__timer;
struct herald__watch;
struct herald__wakeup;

struct herald__loop *herald__loop_new(void);
/* Runs until herald__loop_stop or nothing is left to run. */
int herald__loop_run(struct herald__loop *l);
/* Runs one non-blocking pass (tests). */
int herald__loop_run_once(struct herald__loop *l, int block);
void herald__loop_stop(struct herald__loop *l);
/* Closes every handle and frees. NULL-safe. A loop that handled SIGINT
 * and SIGTERM (herald__loop_on_signals) keeps those two handles and its
 * memory until the process exits, so that a late signal is still caught
 * (and ignored) instead of killing the process during its teardown. */
void herald__loop_destroy(struct herald__loop *l);
uint64_t herald__loop_now_ms(struct herald__loop *l);
/* The loop's time as of its last update (the start of this iteration, or
 * the last herald__loop_now_ms): no clock read, for what is stamped once
 * per record and needs no better than the iteration's time. Loop thread. */
uint64_t herald__loop_cached_ms(struct herald__loop *l);

typedef void (*herald__timer_fn)(void *ctx);
struct herald__timer *herald__timer_new(struct herald__loop *l,
                                        herald__timer_fn fn, void *ctx);
/* (Re)arm: fire after timeout_ms, then every repeat_ms (0: once). A
 * timeout_ms > 0 is a promise kept in real time: the first call comes no
 * sooner than timeout_ms after this one (up to 1 ms later than asked). */
void herald__timer_start(struct herald__timer *t, uint64_t timeout_ms,
                         uint64_t repeat_ms);
void herald__timer_stop(struct herald__timer *t);
/* Stops and frees once the loop has let go of it. NULL-safe. */
void herald__timer_destroy(struct herald__timer *t);

enum { HERALD__WATCH_READ = 1, HERALD__WATCH_WRITE = 2 };
typedef void (*herald__watch_fn)(void *ctx, int fd, int events);
struct herald__watch *herald__watch_new(struct herald__loop *l, int fd,
                                        herald__watch_fn fn, void *ctx);
/* events: HERALD__WATCH_READ|WRITE; 0 stops watching. */
int herald__watch_set(struct herald__watch *w, int events);
void herald__watch_destroy(struct herald__watch *w);

/* A wakeup may be signalled from any thread; fn runs on the loop thread
 * (coalesced: several signals may give one call). */
typedef void (*herald__wakeup_fn)(void *ctx);
struct herald__wakeup *herald__wakeup_new(struct herald__loop *l,
                                          herald__wakeup_fn fn, void *ctx);
void herald__wakeup_signal(struct herald__wakeup *w);
void herald__wakeup_destroy(struct herald__wakeup *w);

/* SIGINT/SIGTERM: fn(ctx, signum) on the loop thread. */
typedef void (*herald__signal_fn)(void *ctx, int signum);
int herald__loop_on_signals(struct herald__loop *l, herald__signal_fn fn,
                            void *ctx);

#endif
