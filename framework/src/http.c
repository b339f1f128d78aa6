/*
 * http.c - the shared libcurl multi handle, driven by the loop with
 * curl_multi_socket_action: curl says which sockets to watch (socket
 * callback) and when to call back (timer callback); the loop reports
 * readiness and timeouts. Transfers finish in check_done().
 */
#include "http.h"

#include <stdlib.h>

#include "log.h"
#include "loop.h"

struct xfer {
    CURL *easy;
    herald__http_done_fn done;
    void *ctx;
    const void *tag;
    struct xfer *next;
    struct xfer *prev;
};

struct herald__http {
    struct herald__loop *loop;
    CURLM *multi;
    struct herald__timer *timer;
    struct xfer *xfers; /* every transfer in flight */
    int active;
};

static void check_done(struct herald__http *h)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(h->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        CURL *easy = msg->easy_handle;
        CURLcode res = msg->data.result;
        struct xfer *x = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(h->multi, easy);
        if (!x) {
            continue;
        }
        if (x->prev) {
            x->prev->next = x->next;
        } else {
            h->xfers = x->next;
        }
        if (x->next) {
            x->next->prev = x->prev;
        }
        h->active--;
        herald__http_done_fn done = x->done;
        void *ctx = x->ctx;
        free(x);
        done(ctx, easy, (int)res);
    }
}

static void on_socket_ready(void *ctx, int fd, int events)
{
    struct herald__http *h = ctx;
    int flags = 0, running;
    flags |= (events & HERALD__WATCH_READ) ? CURL_CSELECT_IN : 0;
    flags |= (events & HERALD__WATCH_WRITE) ? CURL_CSELECT_OUT : 0;
    curl_multi_socket_action(h->multi, fd, flags, &running);
    check_done(h);
}

static void on_timeout(void *ctx)
{
    struct herald__http *h = ctx;
    int running;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
                     void *socketp)
{
    (void)easy;
    struct herald__http *h = userp;
    struct herald__watch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            herald__watch_destroy(w);
            curl_multi_assign(h->multi, s, NULL);
        }
        return 0;
    }
    if (!w) {
        w = herald__watch_new(h->loop, s, on_socket_ready, h);
        if (!w) {
            return -1;
        }
        curl_multi_assign(h->multi, s, w);
    }
    int ev = 0;
    ev |= (what == CURL_POLL_IN || what == CURL_POLL_INOUT) ? HERALD__WATCH_READ
                                                            : 0;
    ev |= (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
              ? HERALD__WATCH_WRITE
              : 0;
    herald__watch_set(w, ev);
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct herald__http *h = userp;
    if (timeout_ms < 0) {
        herald__timer_stop(h->timer);
    } else {
        /* 0 means "now": a zero timer runs on the next loop iteration,
         * never from inside curl's own call stack. */
        herald__timer_start(h->timer, (uint64_t)timeout_ms, 0);
    }
    return 0;
}

struct herald__http *herald__http_new(struct herald__loop *loop)
{
    static int global_done;
    if (!global_done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        global_done = 1;
    }
    struct herald__http *h = calloc(1, sizeof *h);
    if (!h) {
        return NULL;
    }
    h->loop = loop;
    h->multi = curl_multi_init();
    h->timer = herald__timer_new(loop, on_timeout, h);
    if (!h->multi || !h->timer) {
        herald__http_destroy(h);
        return NULL;
    }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    /* HTTP/2 multiplexing where the server offers it. */
    curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    return h;
}

static void abort_matching(struct herald__http *h, const void *tag, int all)
{
    struct xfer *x = h->xfers;
    while (x) {
        struct xfer *next = x->next;
        if (all || x->tag == tag) {
            curl_multi_remove_handle(h->multi, x->easy);
            if (x->prev) {
                x->prev->next = x->next;
            } else {
                h->xfers = x->next;
            }
            if (x->next) {
                x->next->prev = x->prev;
            }
            h->active--;
            x->done(x->ctx, x->easy, -1);
            free(x);
        }
        x = next;
    }
}

void herald__http_destroy(struct herald__http *h)
{
    if (!h) {
        return;
    }
    if (h->multi) {
        abort_matching(h, NULL, 1);
        curl_multi_cleanup(h->multi);
    }
    herald__timer_destroy(h->timer);
    free(h);
}

int herald__http_submit_tagged(struct herald__http *h, CURL *easy,
                               herald__http_done_fn done, void *ctx,
                               const void *tag)
{
    struct xfer *x = calloc(1, sizeof *x);
    if (!x) {
        return -1;
    }
    x->easy = easy;
    x->done = done;
    x->ctx = ctx;
    x->tag = tag;
    curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
    if (curl_multi_add_handle(h->multi, easy) != CURLM_OK) {
        free(x);
        return -1;
    }
    x->next = h->xfers;
    if (h->xfers) {
        h->xfers->prev = x;
    }
    h->xfers = x;
    h->active++;
    return 0;
}

int herald__http_submit(struct herald__http *h, CURL *easy,
                        herald__http_done_fn done, void *ctx)
{
    return herald__http_submit_tagged(h, easy, done, ctx, NULL);
}

void herald__http_abort_tag(struct herald__http *h, const void *tag)
{
    if (tag) {
        abort_matching(h, tag, 0);
    }
}

int herald__http_active(const struct herald__http *h)
{
    return h->active;
}
