/*
 * fuzz_admin_http.c - libFuzzer target: the admin endpoint's request-head
 * parser (admin_http.c) and router (admin.c), on whatever bytes a client
 * could send. Checks, besides memory safety, that a complete head's every
 * proper prefix asks for more (so a split read never changes the answer)
 * and that the parsed path and method lie inside the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "admin.h"
#include "admin_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct herald__admin_request req;
    int st =
        herald__admin_http_parse(buf, size, HERALD__ADMIN_HTTP_MAX_HEAD, &req);

    if (st != 200) {
        return 0;
    }
    if (req.head_len > size || req.method < buf ||
        req.method + req.method_len > buf + size || req.path < buf ||
        req.path + req.path_len > buf + size) {
        abort();
    }
    for (size_t k = 0; k < req.head_len && req.head_len <= 2048; k++) {
        struct herald__admin_request part;
        if (herald__admin_http_parse(buf, k, HERALD__ADMIN_HTTP_MAX_HEAD,
                                     &part) != 0) {
            abort();
        }
    }
    struct herald__admin_snapshot snap = {0};
    struct herald__admin_reply reply;
    if (herald__admin_route(&req, &snap, &reply) == 0) {
        size_t len = 0;
        free(herald__admin_http_response(
            reply.status, reply.content_type, reply.extra_headers, reply.body,
            reply.body_len, herald__admin_http_method_is(&req, "HEAD"), &len));
    }
    free(reply.body);
    return 0;
}
