/* test_http.c - the shared curl multi handle on the loop: transfers finish,
 * errors are reported, aborts run the callbacks, timers and wakeups fire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "http.h"
#include "loop.h"

struct result {
    int calls;
    int code;
    char body[256];
    size_t len;
};

static size_t write_cb(char *p, size_t sz, size_t n, void *ud)
{
    struct result *r = ud;
    size_t take = sz * n;
    if (r->len + take >= sizeof r->body) {
        take = sizeof r->body - 1 - r->len;
    }
    memcpy(r->body + r->len, p, take);
    r->len += take;
    return sz * n;
}

static void done_cb(void *ctx, CURL *easy, int code)
{
    (void)easy;
    struct result *r = ctx;
    r->calls++;
    r->code = code;
}

static CURL *easy_for(const char *url, struct result *r)
{
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    return e;
}

static void test_file_transfer_and_refused(void **state)
{
    (void)state;
    char path[] = "/tmp/herald-http-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hello multi", 11), 11);
    close(fd);
    char url[300];
    snprintf(url, sizeof url, "file://%s", path);

    struct herald__loop *l = herald__loop_new();
    struct herald__http *h = herald__http_new(l);
    struct result ok = {0}, refused = {0};
    CURL *e1 = easy_for(url, &ok);
    /* Port 1 on loopback: nothing listens, the connect is refused. */
    CURL *e2 = easy_for("http://127.0.0.1:1/", &refused);
    assert_int_equal(herald__http_submit(h, e1, done_cb, &ok), 0);
    assert_int_equal(herald__http_submit(h, e2, done_cb, &refused), 0);
    assert_int_equal(herald__http_active(h), 2);
    for (int i = 0; i < 200 && (ok.calls == 0 || refused.calls == 0); i++) {
        herald__loop_run_once(l, 1);
    }
    assert_int_equal(ok.calls, 1);
    assert_int_equal(ok.code, CURLE_OK);
    assert_string_equal(ok.body, "hello multi");
    assert_int_equal(refused.calls, 1);
    assert_int_equal(refused.code, CURLE_COULDNT_CONNECT);
    assert_int_equal(herald__http_active(h), 0);
    curl_easy_cleanup(e1);
    curl_easy_cleanup(e2);
    herald__http_destroy(h);
    herald__loop_destroy(l);
    unlink(path);
}

static void test_abort_tag_runs_callbacks(void **state)
{
    (void)state;
    struct herald__loop *l = herald__loop_new();
    struct herald__http *h = herald__http_new(l);
    struct result a = {0}, b = {0};
    int tag_a, tag_b;
    /* A TEST-NET-1 address never answers; the transfers stay in flight. */
    CURL *ea = easy_for("http://192.0.2.1:9/", &a);
    CURL *eb = easy_for("http://192.0.2.1:9/", &b);
    assert_int_equal(herald__http_submit_tagged(h, ea, done_cb, &a, &tag_a), 0);
    assert_int_equal(herald__http_submit_tagged(h, eb, done_cb, &b, &tag_b), 0);
    herald__http_abort_tag(h, &tag_a);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.code, -1);
    assert_int_equal(b.calls, 0);
    herald__http_destroy(h); /* aborts the rest */
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.code, -1);
    curl_easy_cleanup(ea);
    curl_easy_cleanup(eb);
    herald__loop_destroy(l);
}

static void on_timer(void *ctx)
{
    (*(int *)ctx)++;
}

static void test_timer_and_wakeup(void **state)
{
    (void)state;
    struct herald__loop *l = herald__loop_new();
    int fired = 0, woken = 0;
    struct herald__timer *t = herald__timer_new(l, on_timer, &fired);
    struct herald__wakeup *w = herald__wakeup_new(l, on_timer, &woken);
    /* t0 first: the timer counts from the loop's cached time, which is
     * never later than a fresh reading. */
    uint64_t t0 = herald__loop_now_ms(l);
    herald__timer_start(t, 5, 0);
    herald__wakeup_signal(w);
    while (fired == 0 || woken == 0) {
        herald__loop_run_once(l, 1);
    }
    assert_true(herald__loop_now_ms(l) - t0 >= 5);
    assert_int_equal(fired, 1);
    assert_int_equal(woken, 1);
    herald__timer_destroy(t);
    herald__wakeup_destroy(w);
    herald__loop_destroy(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_transfer_and_refused),
        cmocka_unit_test(test_abort_tag_runs_callbacks),
        cmocka_unit_test(test_timer_and_wakeup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
