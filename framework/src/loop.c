/*
 * loop.c - the event loop: the only file that includes uv.h. Wraps timers,
 * fd watchers, cross-thread wakeups and signals in small heap handles whose
 * memory is released from libuv's close callback, so a handle can be
 * destroyed from inside its own callback.
 */
#include "loop.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <uv.h>

struct herald__loop {
    uv_loop_t uv;
    uv_signal_t sigint;
    uv_signal_t sigterm;
    int signals_on;
    herald__signal_fn sig_fn;
    void *sig_ctx;
    struct herald__loop *kept_next; /* in `kept` once destroyed */
};

/* Loops destroyed while they handled SIGINT/SIGTERM: kept, with their two
 * signal handles open, for the rest of the process (see
 * herald__loop_destroy). Reachable from here, so not a leak. */
static struct herald__loop *kept;
static pthread_mutex_t kept_mu = PTHREAD_MUTEX_INITIALIZER;

struct herald__timer {
    uv_timer_t t;
    herald__timer_fn fn;
    void *ctx;
};

struct herald__watch {
    uv_poll_t p;
    herald__watch_fn fn;
    void *ctx;
    int fd;
    int events;
};

struct herald__wakeup {
    uv_async_t a;
    herald__wakeup_fn fn;
    void *ctx;
};

static void free_on_close(uv_handle_t *h)
{
    free(h->data);
}

struct herald__loop *herald__loop_new(void)
{
    struct herald__loop *l = calloc(1, sizeof *l);
    if (!l) {
        return NULL;
    }
    if (uv_loop_init(&l->uv) != 0) {
        free(l);
        return NULL;
    }
    l->uv.data = l;
    return l;
}

int herald__loop_run(struct herald__loop *l)
{
    return uv_run(&l->uv, UV_RUN_DEFAULT);
}

int herald__loop_run_once(struct herald__loop *l, int block)
{
    return uv_run(&l->uv, block ? UV_RUN_ONCE : UV_RUN_NOWAIT);
}

void herald__loop_stop(struct herald__loop *l)
{
    uv_stop(&l->uv);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    struct herald__loop *l = arg;

    if (l &&
        (h == (uv_handle_t *)&l->sigint || h == (uv_handle_t *)&l->sigterm)) {
        return; /* kept open: herald__loop_destroy */
    }
    if (!uv_is_closing(h)) {
        /* Handles owned by the loop struct itself have data == NULL. */
        uv_close(h, h->data ? free_on_close : NULL);
    }
}

void herald__loop_destroy(struct herald__loop *l)
{
    if (!l) {
        return;
    }
    if (!l->signals_on) {
        uv_walk(&l->uv, close_walk, NULL);
        uv_run(&l->uv, UV_RUN_DEFAULT);
        uv_loop_close(&l->uv);
        free(l);
        return;
    }
    /* Closing libuv's signal handles restores the default disposition, so
     * an impatient supervisor's next SIGTERM, landing on any thread that
     * does not block it (librdkafka's reaper, curl's resolver) while the
     * process finishes tearing down, would kill it (status 143 instead of
     * 0) after the graceful stop already committed. Blocking the signals
     * in this thread left that window open on the others. So the signal
     * handles are never closed: their handler keeps running, does nothing
     * (sig_fn is gone), and the loop stays allocated until exit. */
    l->sig_fn = NULL;
    uv_walk(&l->uv, close_walk, l);
    uv_run(&l->uv, UV_RUN_DEFAULT);
    pthread_mutex_lock(&kept_mu);
    l->kept_next = kept;
    kept = l;
    pthread_mutex_unlock(&kept_mu);
}

uint64_t herald__loop_now_ms(struct herald__loop *l)
{
    uv_update_time(&l->uv);
    return uv_now(&l->uv);
}

uint64_t herald__loop_cached_ms(struct herald__loop *l)
{
    return uv_now(&l->uv);
}

static void timer_cb(uv_timer_t *t)
{
    struct herald__timer *h = t->data;
    h->fn(h->ctx);
}

struct herald__timer *herald__timer_new(struct herald__loop *l,
                                        herald__timer_fn fn, void *ctx)
{
    struct herald__timer *t = calloc(1, sizeof *t);
    if (!t) {
        return NULL;
    }
    uv_timer_init(&l->uv, &t->t);
    t->t.data = t;
    t->fn = fn;
    t->ctx = ctx;
    return t;
}

void herald__timer_start(struct herald__timer *t, uint64_t timeout_ms,
                         uint64_t repeat_ms)
{
    /* libuv counts from its cached time, in whole milliseconds: the cache
     * may be this iteration's start, and a clock read truncates up to 1 ms
     * away. Both made a timer fire early in real time (a retry 999 ms after
     * a 429 that said Retry-After: 1). So read the clock now and round up:
     * the callback never runs before timeout_ms have passed. */
    if (timeout_ms > 0) {
        uv_update_time(t->t.loop);
        timeout_ms++;
    }
    uv_timer_start(&t->t, timer_cb, timeout_ms, repeat_ms);
}

void herald__timer_stop(struct herald__timer *t)
{
    uv_timer_stop(&t->t);
}

void herald__timer_destroy(struct herald__timer *t)
{
    if (!t) {
        return;
    }
    uv_timer_stop(&t->t);
    uv_close((uv_handle_t *)&t->t, free_on_close);
}

static void poll_cb(uv_poll_t *p, int status, int events)
{
    struct herald__watch *w = p->data;
    int ev = 0;
    if (status < 0) {
        /* Report errors as readiness: the owner's read/write finds out. */
        ev = w->events;
    } else {
        ev |= (events & UV_READABLE) ? HERALD__WATCH_READ : 0;
        ev |= (events & UV_WRITABLE) ? HERALD__WATCH_WRITE : 0;
    }
    w->fn(w->ctx, w->fd, ev);
}

struct herald__watch *herald__watch_new(struct herald__loop *l, int fd,
                                        herald__watch_fn fn, void *ctx)
{
    struct herald__watch *w = calloc(1, sizeof *w);
    if (!w) {
        return NULL;
    }
    if (uv_poll_init_socket(&l->uv, &w->p, fd) != 0) {
        free(w);
        return NULL;
    }
    w->p.data = w;
    w->fn = fn;
    w->ctx = ctx;
    w->fd = fd;
    return w;
}

int herald__watch_set(struct herald__watch *w, int events)
{
    w->events = events;
    if (events == 0) {
        return uv_poll_stop(&w->p) == 0 ? 0 : -1;
    }
    int uvev = ((events & HERALD__WATCH_READ) ? UV_READABLE : 0) |
               ((events & HERALD__WATCH_WRITE) ? UV_WRITABLE : 0);
    return uv_poll_start(&w->p, uvev, poll_cb) == 0 ? 0 : -1;
}

void herald__watch_destroy(struct herald__watch *w)
{
    if (!w) {
        return;
    }
    uv_poll_stop(&w->p);
    uv_close((uv_handle_t *)&w->p, free_on_close);
}

static void async_cb(uv_async_t *a)
{
    struct herald__wakeup *w = a->data;
    w->fn(w->ctx);
}

struct herald__wakeup *herald__wakeup_new(struct herald__loop *l,
                                          herald__wakeup_fn fn, void *ctx)
{
    struct herald__wakeup *w = calloc(1, sizeof *w);
    if (!w) {
        return NULL;
    }
    if (uv_async_init(&l->uv, &w->a, async_cb) != 0) {
        free(w);
        return NULL;
    }
    w->a.data = w;
    w->fn = fn;
    w->ctx = ctx;
    return w;
}

void herald__wakeup_signal(struct herald__wakeup *w)
{
    uv_async_send(&w->a);
}

void herald__wakeup_destroy(struct herald__wakeup *w)
{
    if (!w) {
        return;
    }
    uv_close((uv_handle_t *)&w->a, free_on_close);
}

static void signal_cb(uv_signal_t *s, int signum)
{
    struct herald__loop *l = s->loop->data;
    if (l->sig_fn) {
        l->sig_fn(l->sig_ctx, signum);
    }
}

int herald__loop_on_signals(struct herald__loop *l, herald__signal_fn fn,
                            void *ctx)
{
    l->sig_fn = fn;
    l->sig_ctx = ctx;
    if (!l->signals_on) {
        uv_signal_init(&l->uv, &l->sigint);
        uv_signal_init(&l->uv, &l->sigterm);
        l->sigint.data = NULL;
        l->sigterm.data = NULL;
        uv_signal_start(&l->sigint, signal_cb, SIGINT);
        uv_signal_start(&l->sigterm, signal_cb, SIGTERM);
        /* Signal handles must not keep the loop alive by themselves. */
        uv_unref((uv_handle_t *)&l->sigint);
        uv_unref((uv_handle_t *)&l->sigterm);
        l->signals_on = 1;
    }
    return 0;
}
