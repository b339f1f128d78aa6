/*
 * admin_http.c - HTTP/1.1 request heads in, responses out, for the admin
 * endpoint (RFC 9112). Strict where being lenient would need guessing:
 * origin-form targets only, no obs-fold, no whitespace before a colon, no
 * control characters. A bare LF ends a line like CRLF (RFC 9112 2.2 lets a
 * recipient accept it; `nc` sends it). The parser keeps no state between
 * calls: the server hands it everything received so far (at most 8 KiB),
 * so a head split across reads at any byte parses like one read.
 */
#include "admin_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* RFC 9110 5.6.2: tchar. */
static int is_tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
        (ch >= '0' && ch <= '9')) {
        return 1;
    }
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* Field value characters: VCHAR, SP, HTAB, obs-text. */
static int is_value_char(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || (ch >= 0x21 && ch != 0x7f);
}

/* Checks a request line, p[0..n). `partial`: p is only a prefix of the
 * line; then 0 means it can still become valid. Fills req when complete.
 * Returns 0, 400 or 505. */
static int check_request_line(const char *p, size_t n, int partial,
                              struct herald__admin_request *req)
{
    static const char proto[] = "HTTP/1.";
    size_t i = 0;
    size_t start = 0;

    while (i < n && is_tchar((unsigned char)p[i])) {
        i++;
    }
    if (i == n) {
        return partial ? 0 : 400;
    }
    if (i == 0 || p[i] != ' ') {
        return 400;
    }
    req->method = p;
    req->method_len = i;
    start = ++i;
    while (i < n && p[i] > 0x20 && p[i] < 0x7f) {
        i++;
    }
    if (start < n && p[start] != '/') {
        return 400; /* origin-form only: no "*", no absolute-form */
    }
    if (i == n) {
        return partial ? 0 : 400;
    }
    if (i == start || p[i] != ' ') {
        return 400;
    }
    req->path = p + start;
    req->path_len = i - start;
    const char *q = memchr(req->path, '?', req->path_len);
    if (q) {
        req->path_len = (size_t)(q - req->path);
    }
    i++;
    /* "HTTP/" DIGIT "." DIGIT; only 1.0 and 1.1 are served. */
    size_t rest = n - i;
    for (size_t k = 0; k < rest && k < 5; k++) {
        if (p[i + k] != proto[k]) {
            return 400;
        }
    }
    if (rest > 5 && (p[i + 5] < '0' || p[i + 5] > '9')) {
        return 400;
    }
    if (rest > 6 && p[i + 6] != '.') {
        return 400;
    }
    if (rest > 7 && (p[i + 7] < '0' || p[i + 7] > '9')) {
        return 400;
    }
    if (rest > 8) {
        return 400;
    }
    if (partial) {
        return 0;
    }
    if (rest != 8) {
        return 400;
    }
    if (memcmp(p + i, proto, 7) != 0 || (p[i + 7] != '0' && p[i + 7] != '1')) {
        return 505;
    }
    req->minor = p[i + 7] - '0';
    return 0;
}

/* Checks a header field line, p[0..n) (non-empty). `partial` as above.
 * *is_host is set when the field is Host. Returns 0 or 400. */
static int check_field(const char *p, size_t n, int partial, int *is_host)
{
    size_t i = 0;

    while (i < n && is_tchar((unsigned char)p[i])) {
        i++;
    }
    if (i == n) {
        return partial ? 0 : 400;
    }
    if (i == 0 || p[i] != ':') {
        return 400; /* obs-fold, space before the colon, a bad name */
    }
    *is_host = i == 4 && strncasecmp(p, "host", 4) == 0;
    for (i++; i < n; i++) {
        if (!is_value_char((unsigned char)p[i])) {
            return 400;
        }
    }
    return 0;
}

/* The line starting at `pos`: its content ends at *end (before CR LF or
 * LF), the next line starts at *next. Returns 1 when the line is complete,
 * 0 when it is not (*end: what there is so far, minus a trailing CR), -1
 * on a CR not followed by LF. */
static int next_line(const char *buf, size_t len, size_t pos, size_t *end,
                     size_t *next)
{
    for (size_t i = pos; i < len; i++) {
        if (buf[i] == '\n') {
            *end = i;
            *next = i + 1;
            return 1;
        }
        if (buf[i] == '\r') {
            if (i + 1 == len) {
                *end = i;
                return 0;
            }
            if (buf[i + 1] != '\n') {
                return -1;
            }
            *end = i;
            *next = i + 2;
            return 1;
        }
    }
    *end = len;
    return 0;
}

int herald__admin_http_parse(const char *buf, size_t len, size_t max,
                             struct herald__admin_request *req)
{
    size_t pos = 0;
    size_t end = 0;
    size_t next = 0;
    int hosts = 0;
    int line_done = 0;
    int rc;

    memset(req, 0, sizeof *req);
    if (len > max) {
        len = max;
    }
    /* RFC 9112 2.2: empty lines before the request line are ignored. */
    while (pos < len && (buf[pos] == '\n' || buf[pos] == '\r')) {
        rc = next_line(buf, len, pos, &end, &next);
        if (rc < 0) {
            return 400;
        }
        if (rc == 0) {
            return len == max ? 414 : 0;
        }
        pos = next;
    }
    for (;;) {
        rc = next_line(buf, len, pos, &end, &next);
        if (rc < 0) {
            return 400;
        }
        int partial = rc == 0;
        if (!line_done) {
            int st = check_request_line(buf + pos, end - pos, partial, req);
            if (st != 0) {
                return st;
            }
            if (partial) {
                return len == max ? 414 : 0;
            }
            line_done = 1;
        } else if (end == pos) {
            if (partial) {
                return len == max ? 431 : 0;
            }
            break; /* the empty line: the head is complete */
        } else {
            int is_host = 0;
            if (check_field(buf + pos, end - pos, partial, &is_host) != 0) {
                return 400;
            }
            if (partial) {
                return len == max ? 431 : 0;
            }
            hosts += is_host;
        }
        pos = next;
    }
    /* RFC 9112 3.2: exactly one Host in HTTP/1.1, at most one in 1.0. */
    if (hosts > 1 || (req->minor == 1 && hosts == 0)) {
        return 400;
    }
    req->head_len = next;
    return 200;
}

int herald__admin_http_method_is(const struct herald__admin_request *req,
                                 const char *m)
{
    size_t n = strlen(m);
    return req->method_len == n && memcmp(req->method, m, n) == 0;
}

const char *herald__admin_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Error";
    }
}

char *herald__admin_http_response(int status, const char *content_type,
                                  const char *extra_headers, const char *body,
                                  size_t body_len, int head_only,
                                  size_t *out_len)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "Connection: close\r\n"
                     "Cache-Control: no-store\r\n"
                     "%s\r\n",
                     status, herald__admin_http_reason(status), content_type,
                     body_len, extra_headers ? extra_headers : "");
    if (n < 0 || (size_t)n >= sizeof head) {
        return NULL;
    }
    size_t total = (size_t)n + (head_only ? 0 : body_len);
    char *out = malloc(total + 1);
    if (!out) {
        return NULL;
    }
    memcpy(out, head, (size_t)n);
    if (!head_only && body_len > 0) {
        memcpy(out + n, body, body_len);
    }
    out[total] = '\0';
    *out_len = total;
    return out;
}
