/*
 * admin_http.h - the HTTP/1.1 of the admin endpoint (admin_http.c): a
 * parser of request heads and a writer of responses. Pure: no I/O, no
 * allocation in the parser, so that unit tests and the fuzz target reach
 * every branch. The input is untrusted: anything that reaches the port.
 */
#ifndef HERALD_ADMIN_HTTP_H
#define HERALD_ADMIN_HTTP_H

#include <stddef.h>

/* The most a request head (request line and header fields) may take. */
#define HERALD__ADMIN_HTTP_MAX_HEAD 8192

/* A parsed request head. The pointers point into the buffer given to the
 * parser and are valid as long as it is. */
struct herald__admin_request {
    const char *method; /* a token, e.g. "GET" (not NUL-terminated) */
    size_t method_len;
    const char *path; /* origin-form target up to '?' or the end */
    size_t path_len;
    int minor;       /* HTTP/1.<minor>: 0 or 1 */
    size_t head_len; /* bytes up to and including the empty line */
};

/* Parse the bytes received so far on a connection, buf[0..len).
 * Returns 0 when the head is not complete yet (read more), 200 when it is
 * complete and well formed (*req filled), or the status to answer with:
 * 400 malformed (bad request line, bad header field, obs-fold, a control
 * character, a missing or repeated Host in HTTP/1.1), 414 a request line
 * longer than max, 431 a head longer than max, 505 an HTTP version other
 * than 1.0 and 1.1. A malformed prefix is reported as soon as it is seen,
 * so that a client sending garbage does not hold the connection. Any
 * thread; reentrant. */
int herald__admin_http_parse(const char *buf, size_t len, size_t max,
                             struct herald__admin_request *req);

/* 1 if the request's method is exactly `m`. */
int herald__admin_http_method_is(const struct herald__admin_request *req,
                                 const char *m);

/* "OK", "Not Found", ... for the statuses the endpoint uses; "Error" for
 * any other. */
const char *herald__admin_http_reason(int status);

/* A whole response: status line, Content-Type, Content-Length,
 * Connection: close, Cache-Control: no-store, `extra_headers` (each line
 * ending in CRLF, may be NULL), the empty line and, unless head_only, the
 * body. Returns a heap string the caller frees, its length in *out_len;
 * NULL when out of memory. */
char *herald__admin_http_response(int status, const char *content_type,
                                  const char *extra_headers, const char *body,
                                  size_t body_len, int head_only,
                                  size_t *out_len);

#endif
