/*
 * test_json_post.c - the host's JSON POST helper: the classification table
 * (every reply class, Retry-After as seconds and as a date, the body in a
 * reason), then real transfers on the loop against a small HTTP server in
 * a thread: exact request bytes (body, Content-Type, the configured
 * header lines), at most max_in_flight requests open at once, a 429 with
 * Retry-After, a 401, a reset connection, and items still queued or
 * running when the sender is destroyed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "api.h"
#include "http.h"
#include "json_post.h"
#include "loop.h"

/* ---- Classification ----------------------------------------------------- */

static void classify(int curl_code, long status, const char *retry_after,
                     const char *body, int64_t now_ms,
                     struct herald__json_post_verdict *v)
{
    struct herald__json_post_answer a = {curl_code, status, retry_after, body,
                                         body ? strlen(body) : 0};
    herald__json_post_classify(&a, now_ms, v);
}

static void test_classify(void **state)
{
    static const struct {
        int curl_code;
        long status;
        const char *retry_after, *body;
        enum herald_outcome outcome;
        int64_t retry_ms;
        const char *reason;
    } cases[] = {
        {CURLE_OK, 200, NULL, "ok", HERALD_OK, 0, ""},
        {CURLE_OK, 202, "5", NULL, HERALD_OK, 0, ""},
        {CURLE_OK, 408, NULL, NULL, HERALD_RETRY, 0, "HTTP 408"},
        {CURLE_OK, 429, "7", "{\"status\":\"throttled\"}", HERALD_RETRY, 7000,
         "HTTP 429: {\"status\":\"throttled\"}"},
        {CURLE_OK, 429, " 2 ", NULL, HERALD_RETRY, 2000, "HTTP 429"},
        {CURLE_OK, 503, "99999999999", NULL, HERALD_RETRY, 3600000, "HTTP 503"},
        {CURLE_OK, 500, "soon", NULL, HERALD_RETRY, 0, "HTTP 500"},
        /* 1 000 000 000 s since the epoch is Sun, 09 Sep 2001 01:46:40;
         * now is 30 s before it */
        {CURLE_OK, 503, "Sun, 09 Sep 2001 01:46:40 GMT", NULL, HERALD_RETRY,
         30000, "HTTP 503"},
        {CURLE_OK, 401, NULL, "bad token", HERALD_UNAVAILABLE, 0,
         "credentials refused (check the channel's url and headers): HTTP "
         "401: bad token"},
        {CURLE_OK, 403, NULL, NULL, HERALD_UNAVAILABLE, 0,
         "credentials refused (check the channel's url and headers): HTTP "
         "403"},
        {CURLE_OK, 400, NULL, "{\"message\":\"Event object is invalid\"}\n",
         HERALD_REJECT, 0,
         "HTTP 400: {\"message\":\"Event object is invalid\"}?"},
        {CURLE_OK, 404, NULL, NULL, HERALD_REJECT, 0, "HTTP 404"},
        {CURLE_OK, 301, NULL, NULL, HERALD_REJECT, 0, "HTTP 301"},
        {CURLE_COULDNT_CONNECT, 0, NULL, NULL, HERALD_RETRY, 0,
         "transport error (curl 7: Couldn't connect to server)"},
        {CURLE_RECV_ERROR, 0, NULL, NULL, HERALD_RETRY, 0,
         "transport error (curl 56: Failure when receiving data from the "
         "peer)"},
        {CURLE_OPERATION_TIMEDOUT, 0, NULL, NULL, HERALD_RETRY, 0,
         "transport error (curl 28: Timeout was reached)"},
        {CURLE_PEER_FAILED_VERIFICATION, 0, NULL, NULL, HERALD_UNAVAILABLE, 0,
         "TLS certificate verification failed (check ca_file and the server "
         "certificate) (curl 60: SSL peer certificate or SSH remote key was "
         "not OK)"},
        {HERALD_HTTP_ABORTED, 0, NULL, NULL, HERALD_RETRY, 0,
         "transfer aborted: channel closing"},
    };
    (void)state;

    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct herald__json_post_verdict v;
        classify(cases[k].curl_code, cases[k].status, cases[k].retry_after,
                 cases[k].body, 1000000000LL * 1000 - 30000, &v);
        assert_int_equal(v.outcome, cases[k].outcome);
        assert_int_equal(v.retry_after_ms, cases[k].retry_ms);
        assert_string_equal(v.reason, cases[k].reason);
    }
}

static void test_reason_body_bounded(void **state)
{
    char body[1000];
    struct herald__json_post_verdict v;
    (void)state;

    memset(body, 'x', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    body[3] = '\r';
    classify(CURLE_OK, 422, NULL, body, 0, &v);
    assert_int_equal(strlen(v.reason),
                     strlen("HTTP 422: ") + HERALD__JSON_POST_REASON_BODY_MAX);
    assert_memory_equal(v.reason, "HTTP 422: xxx?xx", 16);
}

/* ---- A scripted HTTP server ---------------------------------------------- */

#define MAX_REQ 16

struct server {
    int fd;
    int port;
    pthread_t thread;
    pthread_mutex_t mu;
    const char *const *script; /* one answer per request, in arrival order;
                                  "RESET" closes with a reset */
    size_t n_script;
    size_t n_req;
    char *req[MAX_REQ]; /* each request as received */
    int open, max_open; /* requests being answered at once */
    int delay_ms;
};

struct conn {
    struct server *s;
    int fd;
};

static void *serve_one(void *arg)
{
    struct conn c = *(struct conn *)arg;
    struct server *s = c.s;
    char buf[8192];
    size_t len = 0;
    const char *answer;

    free(arg);
    for (;;) {
        ssize_t r = read(c.fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0) {
            close(c.fd);
            return NULL;
        }
        len += (size_t)r;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        const char *cl = strstr(buf, "Content-Length: ");
        if (end != NULL && cl != NULL &&
            len >= (size_t)(end + 4 - buf) + (size_t)atoi(cl + 16)) {
            break;
        }
    }
    pthread_mutex_lock(&s->mu);
    size_t k = s->n_req++;
    if (k < MAX_REQ) {
        s->req[k] = strdup(buf);
    }
    answer = k < s->n_script ? s->script[k] : s->script[s->n_script - 1];
    if (++s->open > s->max_open) {
        s->max_open = s->open;
    }
    pthread_mutex_unlock(&s->mu);
    usleep((useconds_t)s->delay_ms * 1000);
    pthread_mutex_lock(&s->mu);
    s->open--;
    pthread_mutex_unlock(&s->mu);
    if (strcmp(answer, "RESET") == 0) {
        struct linger lg = {1, 0};
        setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    } else {
        assert_true(write(c.fd, answer, strlen(answer)) ==
                    (ssize_t)strlen(answer));
    }
    close(c.fd);
    return NULL;
}

static void *serve(void *arg)
{
    struct server *s = arg;
    for (;;) {
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0) {
            return NULL;
        }
        struct conn *c = malloc(sizeof *c);
        pthread_t t;
        assert_non_null(c);
        c->s = s;
        c->fd = fd;
        assert_int_equal(pthread_create(&t, NULL, serve_one, c), 0);
        pthread_detach(t);
    }
}

static void server_start(struct server *s, const char *const *script, size_t n,
                         int delay_ms)
{
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof a;

    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->script = script;
    s->n_script = n;
    s->delay_ms = delay_ms;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->thread, NULL);
    usleep(50 * 1000); /* detached answerers finish */
    for (size_t k = 0; k < MAX_REQ; k++) {
        free(s->req[k]);
    }
    pthread_mutex_destroy(&s->mu);
}

/* ---- Transfers on the loop ------------------------------------------------
 */

struct outcomes {
    size_t n;
    enum herald_outcome o[MAX_REQ];
    int64_t retry_ms[MAX_REQ];
    char reason[MAX_REQ][256];
    int seen[MAX_REQ];
};

static void on_outcome(void *owner, struct herald_batch *b, size_t i,
                       enum herald_outcome outcome, int64_t retry_after_ms,
                       const char *reason)
{
    struct outcomes *out = owner;
    (void)b;
    out->n++;
    out->seen[i]++;
    out->o[i] = outcome;
    out->retry_ms[i] = retry_after_ms;
    snprintf(out->reason[i], sizeof out->reason[i], "%s", reason ? reason : "");
}

static const struct herald_plugin test_def = {
    HERALD_PLUGIN_HEADER,
    .name = "test_json_post",
    .kind = HERALD_PLUGIN_NOTIFY,
};

struct rig {
    struct herald__loop *loop;
    struct herald__http *http;
    struct herald_instance *inst;
};

static void rig_start(struct rig *r)
{
    r->loop = herald__loop_new();
    assert_non_null(r->loop);
    r->http = herald__http_new(r->loop);
    assert_non_null(r->http);
    assert_int_equal(herald__api_start(r->loop), 0);
    r->inst = herald__instance_new("hook", &test_def, "test.so", NULL, r->http);
    assert_non_null(r->inst);
}

static void rig_stop(struct rig *r)
{
    herald__instance_destroy(r->inst);
    herald__api_stop();
    herald__http_destroy(r->http);
    herald__loop_destroy(r->loop);
}

static void run_until(struct rig *r, struct outcomes *out, size_t n)
{
    for (int k = 0; k < 20000 && out->n < n; k++) {
        herald__loop_run_once(r->loop, 1);
    }
    assert_int_equal(out->n, n);
}

#define OK_ANSWER                                                              \
    "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"  \
    "{}"

static void test_bodies_and_in_flight(void **state)
{
    static const char *const script[] = {OK_ANSWER};
    static const char *const headers[] = {"Authorization: Bearer s3cret",
                                          "X-Team: fraud"};
    struct server s;
    struct rig r;
    struct outcomes out = {0};
    char url[64], err[256], body[64];
    (void)state;

    server_start(&s, script, 1, 100);
    rig_start(&r);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", s.port);
    struct herald_json_post_config cfg = {
        .struct_size = sizeof cfg,
        .url = url,
        .headers = headers,
        .n_headers = 2,
        .max_in_flight = 2,
        .user_agent = "test-agent",
    };
    struct herald_json_post *p =
        herald__json_post_new(r.inst, &cfg, err, sizeof err);
    assert_non_null(p);
    struct herald_batch *b = herald__batch_new(r.inst, &out, on_outcome, 5);
    assert_non_null(b);
    for (size_t i = 0; i < 5; i++) {
        int len = snprintf(body, sizeof body, "{\"n\":%zu}", i);
        assert_int_equal(herald__json_post_send(p, b, i, body, (size_t)len), 0);
    }
    run_until(&r, &out, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(out.o[i], HERALD_OK);
        assert_int_equal(out.seen[i], 1);
    }
    /* five requests, never more than two open at once, in order */
    assert_int_equal(s.n_req, 5);
    assert_int_equal(s.max_open, 2);
    for (size_t i = 0; i < 5; i++) {
        char want[512];
        snprintf(want, sizeof want,
                 "POST /hook HTTP/1.1\r\n"
                 "Host: 127.0.0.1:%d\r\n"
                 "User-Agent: test-agent\r\n"
                 "Accept: */*\r\n"
                 "Content-Type: application/json\r\n"
                 "Authorization: Bearer s3cret\r\n"
                 "X-Team: fraud\r\n"
                 "Content-Length: 7\r\n"
                 "\r\n",
                 s.port);
        int found = 0;
        for (size_t k = 0; k < 5; k++) {
            snprintf(body, sizeof body, "{\"n\":%zu}", i);
            if (strncmp(s.req[k], want, strlen(want)) == 0 &&
                strcmp(s.req[k] + strlen(want), body) == 0) {
                found++;
            }
        }
        if (found != 1) {
            printf("request %zu:\n%s\nwant:\n%s%s\n", i, s.req[i], want, body);
        }
        assert_int_equal(found, 1);
    }
    assert_int_equal(herald__instance_counter(r.inst, "sent"), 5);
    herald__json_post_destroy(p);
    rig_stop(&r);
    server_stop(&s);
}

/* A sender for server s with max_in_flight 1 and n items of "{}" queued
 * in one batch reporting to out. */
static struct herald_json_post *send_n(struct rig *r, const struct server *s,
                                       size_t n, struct outcomes *out)
{
    char url[64], err[256];

    snprintf(url, sizeof url, "http://127.0.0.1:%d/", s->port);
    struct herald_json_post_config cfg = {
        .struct_size = sizeof cfg, .url = url, .max_in_flight = 1};
    struct herald_json_post *p =
        herald__json_post_new(r->inst, &cfg, err, sizeof err);
    assert_non_null(p);
    struct herald_batch *b = herald__batch_new(r->inst, out, on_outcome, n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(herald__json_post_send(p, b, i, "{}", 2), 0);
    }
    return p;
}

static void test_answers(void **state)
{
    /* with max_in_flight 1 the answers go to the items in order */
    static const char *const script[] = {
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n",
        "HTTP/1.1 401 Unauthorized\r\nContent-Length: 3\r\n"
        "Connection: close\r\n\r\nno!",
        "RESET",
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 9\r\n"
        "Connection: close\r\n\r\n{\"e\":\"x\"}",
        "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
        "Connection: close\r\n\r\n",
        OK_ANSWER,
    };
    struct server s;
    struct rig r;
    struct outcomes out = {0};
    (void)state;

    server_start(&s, script, 6, 0);
    rig_start(&r);
    struct herald_json_post *p = send_n(&r, &s, 6, &out);
    run_until(&r, &out, 6);
    assert_int_equal(out.o[0], HERALD_RETRY);
    assert_int_equal(out.retry_ms[0], 3000);
    assert_string_equal(out.reason[0], "HTTP 429");
    assert_int_equal(out.o[1], HERALD_UNAVAILABLE);
    assert_string_equal(out.reason[1],
                        "credentials refused (check the channel's url and "
                        "headers): HTTP 401: no!");
    assert_int_equal(out.o[2], HERALD_RETRY);
    assert_non_null(strstr(out.reason[2], "transport error (curl "));
    assert_int_equal(out.o[3], HERALD_REJECT);
    assert_string_equal(out.reason[3], "HTTP 400: {\"e\":\"x\"}");
    assert_int_equal(out.o[4], HERALD_RETRY);
    assert_string_equal(out.reason[4], "HTTP 502");
    assert_int_equal(out.o[5], HERALD_OK);
    assert_int_equal(herald__instance_counter(r.inst, "retried"), 3);
    assert_int_equal(herald__instance_counter(r.inst, "unavailable"), 1);
    assert_int_equal(herald__instance_counter(r.inst, "rejected"), 1);
    herald__json_post_destroy(p);
    rig_stop(&r);
    server_stop(&s);
}

/* Destroyed with one request running and two queued: all three RETRY,
 * reported once each; nothing more is accepted. */
static void test_destroy_reports_everything(void **state)
{
    static const char *const script[] = {OK_ANSWER};
    struct server s;
    struct rig r;
    struct outcomes out = {0};
    (void)state;

    server_start(&s, script, 1, 2000);
    rig_start(&r);
    struct herald_json_post *p = send_n(&r, &s, 3, &out);
    for (int k = 0; k < 50 && s.n_req == 0; k++) {
        herald__loop_run_once(r.loop, 0);
        usleep(10 * 1000);
    }
    herald__json_post_destroy(p);
    herald__api_drain();
    assert_int_equal(out.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(out.o[i], HERALD_RETRY);
        assert_int_equal(out.seen[i], 1);
    }
    assert_string_equal(out.reason[0], "transfer aborted: channel closing");
    assert_string_equal(out.reason[1], "channel closing");
    rig_stop(&r);
    server_stop(&s);
}

static void test_bad_config(void **state)
{
    static const char *const bad_header[] = {"X-Ok: 1",
                                             "Authorization: a\r\nX: b"};
    struct rig r;
    char err[256];
    (void)state;

    rig_start(&r);
    struct herald_json_post_config cfg = {
        .struct_size = sizeof cfg, .url = "ftp://x/", .max_in_flight = 1};
    assert_null(herald__json_post_new(r.inst, &cfg, err, sizeof err));
    assert_string_equal(err, "url must be an http:// or https:// URL without "
                             "blanks");
    cfg.url = "https://hooks.example/x";
    cfg.max_in_flight = 0;
    assert_null(herald__json_post_new(r.inst, &cfg, err, sizeof err));
    assert_string_equal(err, "max_in_flight must be 1 to 10000");
    cfg.max_in_flight = 4;
    cfg.headers = bad_header;
    cfg.n_headers = 2;
    assert_null(herald__json_post_new(r.inst, &cfg, err, sizeof err));
    /* names the line, never its (secret) text */
    assert_string_equal(err, "header 2 is not a 'Name: value' line without "
                             "control characters");
    rig_stop(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_reason_body_bounded),
        cmocka_unit_test(test_bodies_and_in_flight),
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_destroy_reports_everything),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
