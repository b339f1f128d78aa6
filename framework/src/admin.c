/*
 * admin.c - the admin HTTP endpoint's server: a non-blocking listening
 * socket and its connections, watched on the one loop (loop.h), never
 * waiting on anything. Each connection reads one request head (at most
 * HERALD__ADMIN_HTTP_MAX_HEAD bytes, within READ_TIMEOUT_MS), gets one
 * answer built from a snapshot of the worker, and is closed
 * (`Connection: close`): after the answer is written the socket is shut
 * down for writing and what the client still sends is read and dropped
 * for up to LINGER_MS, so that closing never resets the connection under
 * an answer the client has not read yet.
 */
#include "admin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin_http.h"
#include "log.h"
#include "loop.h"
#include "redact.h"

enum {
    MAX_CONNS = 64,
    READ_TIMEOUT_MS = 5000,
    WRITE_TIMEOUT_MS = 10000,
    LINGER_MS = 1000,
    ACCEPT_PAUSE_MS = 100, /* after EMFILE and the like */
};

enum phase { PHASE_READ, PHASE_WRITE, PHASE_LINGER };

struct conn {
    struct herald__admin *a;
    int fd;
    enum phase phase;
    struct herald__watch *watch;
    struct herald__timer *timer;
    char buf[HERALD__ADMIN_HTTP_MAX_HEAD];
    size_t len;
    char *out;
    size_t out_len, out_off;
    struct conn *prev, *next;
};

struct herald__admin {
    struct herald__loop *loop;
    struct herald__admin_source src;
    int fd;
    struct herald__watch *watch;
    struct herald__timer *accept_timer;
    char address[80];
    int port;
    struct conn *conns;
    size_t n_conns;
};

/* ---- listen address --------------------------------------------------- */

static int parse_port(const char *s, uint16_t *out)
{
    unsigned long v = 0;
    if (*s == '\0' || strlen(s) > 5) {
        return -1;
    }
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v > 65535) {
        return -1;
    }
    *out = (uint16_t)v;
    return 0;
}

int herald__admin_parse_listen(const char *s, struct herald__admin_listen *out,
                               char *err, size_t errlen)
{
    char host[64];
    const char *colon;
    uint16_t port = 0;

    memset(out, 0, sizeof *out);
    if (s[0] == '[') {
        const char *close_br = strchr(s, ']');
        if (!close_br || close_br[1] != ':' ||
            (size_t)(close_br - s - 1) >= sizeof host) {
            goto bad;
        }
        memcpy(host, s + 1, (size_t)(close_br - s - 1));
        host[close_br - s - 1] = '\0';
        colon = close_br + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof host) {
            goto bad;
        }
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        if (strchr(host, ':')) {
            snprintf(err, errlen,
                     "invalid admin listen address '%s': an IPv6 address "
                     "goes in brackets, e.g. [::1]:8093",
                     s);
            return -1;
        }
    }
    if (parse_port(colon + 1, &port) != 0) {
        snprintf(err, errlen,
                 "invalid admin listen address '%s': the port must be a "
                 "number from 0 to 65535",
                 s);
        return -1;
    }
    if (s[0] == '[') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out->addr;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) {
            goto bad;
        }
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        out->addr_len = sizeof *a6;
        out->loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)&out->addr;
    if (strcmp(host, "localhost") == 0) {
        a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
        goto bad;
    }
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    out->addr_len = sizeof *a4;
    out->loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
    return 0;

bad:
    snprintf(err, errlen,
             "invalid admin listen address '%s' (expected HOST:PORT with an "
             "IP address or localhost, e.g. 127.0.0.1:8093 or [::1]:8093)",
             s);
    return -1;
}

/* ---- routing ---------------------------------------------------------- */

static const char *const routes[] = {"/healthz", "/readyz", "/metrics",
                                     "/connectors"};
enum { ROUTE_HEALTHZ, ROUTE_READYZ, ROUTE_METRICS, ROUTE_CONNECTORS };

static int text_reply(struct herald__admin_reply *r, int status,
                      const char *text)
{
    r->status = status;
    r->content_type = "text/plain; charset=utf-8";
    r->body = strdup(text);
    r->body_len = strlen(text);
    return r->body ? 0 : -1;
}

int herald__admin_route(const struct herald__admin_request *req,
                        const struct herald__admin_snapshot *snap,
                        struct herald__admin_reply *reply)
{
    size_t route = sizeof routes / sizeof routes[0];
    memset(reply, 0, sizeof *reply);
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (req->path_len == strlen(routes[i]) &&
            memcmp(req->path, routes[i], req->path_len) == 0) {
            route = i;
        }
    }
    if (route == sizeof routes / sizeof routes[0]) {
        return text_reply(reply, 404,
                          "not found; the admin endpoint serves /healthz, "
                          "/readyz, /metrics and /connectors\n");
    }
    if (!herald__admin_http_method_is(req, "GET") &&
        !herald__admin_http_method_is(req, "HEAD")) {
        reply->extra_headers = "Allow: GET, HEAD\r\n";
        return text_reply(reply, 405, "method not allowed\n");
    }
    int ready = 0;
    switch (route) {
    case ROUTE_HEALTHZ:
        return text_reply(reply, 200, "ok\n");
    case ROUTE_READYZ:
        reply->body =
            herald__admin_render_readyz(snap, &ready, &reply->body_len);
        reply->status = ready ? 200 : 503;
        reply->content_type = "application/json";
        break;
    case ROUTE_METRICS:
        reply->body = herald__admin_render_metrics(snap, &reply->body_len);
        reply->status = 200;
        reply->content_type = "text/plain; version=0.0.4; charset=utf-8";
        break;
    default:
        reply->body = herald__admin_render_connectors(snap, &reply->body_len);
        reply->status = 200;
        reply->content_type = "application/json";
        break;
    }
    return reply->body ? 0 : -1;
}

/* ---- connections ------------------------------------------------------ */

static void conn_close(struct conn *c)
{
    struct herald__admin *a = c->a;
    herald__watch_destroy(c->watch);
    herald__timer_destroy(c->timer);
    close(c->fd);
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        a->conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    a->n_conns--;
    free(c->out);
    free(c);
}

static void conn_linger(struct conn *c)
{
    shutdown(c->fd, SHUT_WR);
    c->phase = PHASE_LINGER;
    herald__timer_start(c->timer, LINGER_MS, 0);
    herald__watch_set(c->watch, HERALD__WATCH_READ);
}

/* Write what is left of the answer; then linger. Returns -1 if c was
 * closed. */
static int conn_write(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            herald__watch_set(c->watch, HERALD__WATCH_WRITE);
            return 0;
        }
        if (n <= 0) {
            conn_close(c);
            return -1;
        }
        c->out_off += (size_t)n;
    }
    conn_linger(c);
    return 0;
}

static const char *status_text(int status)
{
    switch (status) {
    case 400:
        return "bad request\n";
    case 408:
        return "request timeout\n";
    case 414:
        return "request line too long (the limit is 8 KiB)\n";
    case 431:
        return "request head too large (the limit is 8 KiB)\n";
    case 505:
        return "HTTP version not supported (1.0 and 1.1 are)\n";
    default:
        return "internal error\n";
    }
}

/* Answer with `status` (200: route the parsed request). */
static void conn_answer(struct conn *c, int status,
                        const struct herald__admin_request *req)
{
    struct herald__admin *a = c->a;
    struct herald__admin_reply reply = {0};
    int head_only = 0;
    int rc = -1;

    if (status == 200) {
        struct herald__admin_snapshot snap = {0};
        if (a->src.snapshot(a->src.ctx, &snap) == 0) {
            rc = herald__admin_route(req, &snap, &reply);
            head_only = herald__admin_http_method_is(req, "HEAD");
        }
        a->src.release(a->src.ctx, &snap);
        herald__debug("admin: %.*s %.*s %d", (int)req->method_len, req->method,
                      (int)req->path_len, req->path,
                      rc == 0 ? reply.status : 500);
    } else {
        rc = text_reply(&reply, status, status_text(status));
    }
    if (rc != 0) {
        free(reply.body);
        reply = (struct herald__admin_reply){0};
        reply.status = 500;
        reply.content_type = "text/plain; charset=utf-8";
        reply.body = NULL;
    }
    if (reply.body) {
        /* Names and reasons can hold a value from ${env:}/${file:}: the
         * endpoint has no authentication, so they never leave. */
        size_t clean_len = 0;
        char *clean =
            herald__redact_text(reply.body, reply.body_len, &clean_len);

        free(reply.body);
        reply.body = clean;
        reply.body_len = clean_len;
        if (!clean) {
            reply.status = 500;
            reply.content_type = "text/plain; charset=utf-8";
            reply.extra_headers = NULL;
        }
    }
    const char *body = reply.body ? reply.body : status_text(500);
    size_t body_len = reply.body ? reply.body_len : strlen(body);
    c->out = herald__admin_http_response(reply.status, reply.content_type,
                                         reply.extra_headers, body, body_len,
                                         head_only, &c->out_len);
    free(reply.body);
    if (!c->out) {
        conn_close(c);
        return;
    }
    c->phase = PHASE_WRITE;
    herald__timer_start(c->timer, WRITE_TIMEOUT_MS, 0);
    conn_write(c);
}

static void conn_read(struct conn *c)
{
    if (c->phase == PHASE_LINGER) {
        char sink[4096];
        ssize_t n = recv(c->fd, sink, sizeof sink, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                       errno != EINTR)) {
            conn_close(c);
        }
        return;
    }
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        conn_close(c); /* the client left before its request was complete */
        return;
    }
    c->len += (size_t)n;
    struct herald__admin_request req;
    int st = herald__admin_http_parse(c->buf, c->len, sizeof c->buf, &req);
    if (st == 0 && c->len == sizeof c->buf) {
        st = 431; /* the parser says so itself; never wait on a full buffer */
    }
    if (st != 0) {
        herald__watch_set(c->watch, 0);
        conn_answer(c, st, &req);
    }
}

static void on_conn_io(void *ctx, int fd, int events)
{
    struct conn *c = ctx;
    (void)fd;
    if (c->phase == PHASE_WRITE) {
        if (events & HERALD__WATCH_WRITE) {
            conn_write(c);
        }
        return;
    }
    if (events & HERALD__WATCH_READ) {
        conn_read(c);
    }
}

static void on_conn_timer(void *ctx)
{
    struct conn *c = ctx;
    if (c->phase == PHASE_READ && c->len > 0) {
        herald__watch_set(c->watch, 0);
        conn_answer(c, 408, NULL);
        return;
    }
    conn_close(c); /* silent, or a write or linger that took too long */
}

static void conn_open(struct herald__admin *a, int fd)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->a = a;
    c->fd = fd;
    c->watch = herald__watch_new(a->loop, fd, on_conn_io, c);
    c->timer = herald__timer_new(a->loop, on_conn_timer, c);
    if (!c->watch || !c->timer) {
        herald__watch_destroy(c->watch);
        herald__timer_destroy(c->timer);
        close(fd);
        free(c);
        return;
    }
    c->next = a->conns;
    if (a->conns) {
        a->conns->prev = c;
    }
    a->conns = c;
    a->n_conns++;
    herald__timer_start(c->timer, READ_TIMEOUT_MS, 0);
    herald__watch_set(c->watch, HERALD__WATCH_READ);
}

/* At the connection limit, make room for a new client: close a lingering
 * connection (its answer is sent) or else the oldest one still waiting for
 * its request head. Without this, MAX_CONNS clients that connect and send
 * nothing keep /healthz refused for READ_TIMEOUT_MS, and renew the block
 * forever by reconnecting. Connections writing an answer are never cut.
 * New connections go to the head of the list, so the oldest is the last.
 * Returns 1 if one was closed, 0 if none may be. */
static int evict_one(struct herald__admin *a)
{
    struct conn *oldest_read = NULL;
    struct conn *oldest_linger = NULL;

    for (struct conn *c = a->conns; c; c = c->next) {
        if (c->phase == PHASE_LINGER) {
            oldest_linger = c;
        } else if (c->phase == PHASE_READ) {
            oldest_read = c;
        }
    }
    if (oldest_linger) {
        conn_close(oldest_linger);
        return 1;
    }
    if (oldest_read) {
        herald__debug("admin: %d connections open, closing the oldest idle "
                      "one",
                      (int)MAX_CONNS);
        conn_close(oldest_read);
        return 1;
    }
    return 0;
}

static void on_accept_timer(void *ctx)
{
    struct herald__admin *a = ctx;
    herald__watch_set(a->watch, HERALD__WATCH_READ);
}

static void on_listen(void *ctx, int fd, int events)
{
    struct herald__admin *a = ctx;
    (void)events;
    for (;;) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                /* Out of descriptors or memory: stop accepting for a
                 * moment instead of spinning on a readable socket. */
                herald__warn("admin: accept: %s", strerror(errno));
                herald__watch_set(a->watch, 0);
                herald__timer_start(a->accept_timer, ACCEPT_PAUSE_MS, 0);
            }
            return;
        }
        if (a->n_conns >= MAX_CONNS && !evict_one(a)) {
            close(cfd); /* every slot is writing an answer: retry later */
            continue;
        }
        conn_open(a, cfd);
    }
}

/* ---- the server ------------------------------------------------------- */

static void format_address(struct herald__admin *a)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";

    if (getsockname(a->fd, (struct sockaddr *)&ss, &len) != 0) {
        snprintf(a->address, sizeof a->address, "?");
        return;
    }
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
        a->port = ntohs(s6->sin6_port);
        snprintf(a->address, sizeof a->address, "[%s]:%d", host, a->port);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
        a->port = ntohs(s4->sin_port);
        snprintf(a->address, sizeof a->address, "%s:%d", host, a->port);
    }
}

struct herald__admin *herald__admin_new(struct herald__loop *l,
                                        const struct herald__admin_listen *at,
                                        const struct herald__admin_source *src,
                                        char *err, size_t errlen)
{
    struct herald__admin *a = calloc(1, sizeof *a);
    int one = 1;

    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->loop = l;
    a->src = *src;
    a->fd = socket(at->addr.ss_family,
                   SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (a->fd < 0) {
        snprintf(err, errlen, "admin: socket: %s", strerror(errno));
        goto fail;
    }
    setsockopt(a->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (at->addr.ss_family == AF_INET6) {
        setsockopt(a->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if (bind(a->fd, (const struct sockaddr *)&at->addr, at->addr_len) != 0 ||
        listen(a->fd, 64) != 0) {
        snprintf(err, errlen, "admin: cannot listen: %s", strerror(errno));
        goto fail;
    }
    format_address(a);
    a->watch = herald__watch_new(l, a->fd, on_listen, a);
    a->accept_timer = herald__timer_new(l, on_accept_timer, a);
    if (!a->watch || !a->accept_timer ||
        herald__watch_set(a->watch, HERALD__WATCH_READ) != 0) {
        snprintf(err, errlen, "admin: cannot watch the listening socket");
        goto fail;
    }
    return a;

fail:
    herald__admin_destroy(a);
    return NULL;
}

const char *herald__admin_address(const struct herald__admin *a)
{
    return a->address;
}

int herald__admin_port(const struct herald__admin *a)
{
    return a->port;
}

void herald__admin_destroy(struct herald__admin *a)
{
    if (!a) {
        return;
    }
    while (a->conns) {
        conn_close(a->conns);
    }
    herald__watch_destroy(a->watch);
    herald__timer_destroy(a->accept_timer);
    if (a->fd >= 0) {
        close(a->fd);
    }
    free(a);
}
