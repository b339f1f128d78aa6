/*
 * admin.h - the admin HTTP endpoint (admin.c: the server on the loop and
 * the routing; admin_render.h: what each route answers). Read-only and without
 * authentication: /healthz, /readyz, /metrics (Prometheus text 0.0.4),
 * /connectors (JSON). Everything runs on the loop thread; a request is
 * answered from a snapshot taken when its head is complete, so it never
 * waits for anything.
 */
#ifndef HERALD_ADMIN_H
#define HERALD_ADMIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "admin_render.h"

struct herald__loop;
struct herald__admin;
struct herald__admin_request;

/* The worker's side: fill a snapshot (and release it after the answer is
 * built). Called on the loop thread. */
struct herald__admin_source {
    int (*snapshot)(void *ctx, struct herald__admin_snapshot *out);
    void (*release)(void *ctx, struct herald__admin_snapshot *snap);
    void *ctx;
};

/* An address to listen on, from `admin: { listen: HOST:PORT }`. */
struct herald__admin_listen {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    int loopback; /* 127.0.0.0/8 or ::1 */
};

/* Parse "HOST:PORT": HOST an IPv4 address, "[IPv6]" or "localhost"
 * (127.0.0.1); PORT 0..65535 (0: any free port). 0, or -1 with a message
 * in err. Any thread. */
int herald__admin_parse_listen(const char *s, struct herald__admin_listen *out,
                               char *err, size_t errlen);

/* An answer: status, content type (static), body (heap). */
struct herald__admin_reply {
    int status;
    const char *content_type;
    const char *extra_headers; /* static; NULL: none */
    char *body;
    size_t body_len;
};

/* Route a parsed request against a snapshot: 404 for an unknown path, 405
 * (Allow: GET, HEAD) for any method but GET and HEAD on a known one. The
 * caller frees reply->body. 0, or -1 when out of memory. Pure. */
int herald__admin_route(const struct herald__admin_request *req,
                        const struct herald__admin_snapshot *snap,
                        struct herald__admin_reply *reply);

/* Listen on `at` and serve on loop l. The source must outlive the server.
 * Returns NULL with a message in err (e.g. the address is in use). */
struct herald__admin *herald__admin_new(struct herald__loop *l,
                                        const struct herald__admin_listen *at,
                                        const struct herald__admin_source *src,
                                        char *err, size_t errlen);
/* The bound address as "HOST:PORT" ("[::1]:PORT" for IPv6): the actual
 * port when 0 was asked for. Borrowed for the server's life. */
const char *herald__admin_address(const struct herald__admin *a);
/* The bound port. */
int herald__admin_port(const struct herald__admin *a);
/* Stop listening, drop every connection, free. NULL-safe. */
void herald__admin_destroy(struct herald__admin *a);

#endif
