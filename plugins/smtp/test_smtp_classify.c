/*
 * test_smtp_classify.c - every outcome class of an SMTP transfer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "smtp_classify.h"

static struct smtp_verdict run(int code, long reply, const char *detail)
{
    struct smtp_verdict v;

    smtp_classify(code, reply, detail, &v);
    return v;
}

static void test_ok(void **state)
{
    struct smtp_verdict v = run(CURLE_OK, 250, "");
    (void)state;

    assert_int_equal(v.outcome, HERALD_OK);
    assert_string_equal(v.reason, "");
}

static void test_replies(void **state)
{
    struct smtp_verdict v;
    (void)state;

    v = run(CURLE_SEND_ERROR, 451, "RCPT failed: 451");
    assert_int_equal(v.outcome, HERALD_RETRY);
    assert_string_equal(v.reason, "SMTP 451 (curl 55: RCPT failed: 451)");
    v = run(CURLE_WEIRD_SERVER_REPLY, 421, NULL);
    assert_int_equal(v.outcome, HERALD_RETRY);
    assert_string_equal(v.reason, "SMTP 421 (curl 8: Weird server reply)");
    v = run(CURLE_SEND_ERROR, 550, "RCPT failed: 550");
    assert_int_equal(v.outcome, HERALD_REJECT);
    assert_string_equal(v.reason, "SMTP 550 (curl 55: RCPT failed: 550)");
    v = run(CURLE_WEIRD_SERVER_REPLY, 554, "");
    assert_int_equal(v.outcome, HERALD_REJECT);
    assert_string_equal(v.reason, "SMTP 554 (curl 8: Weird server reply)");
    /* a server that lost its session (Mailpit shutting down) */
    v = run(CURLE_SEND_ERROR, 503, "MAIL failed: 503");
    assert_int_equal(v.outcome, HERALD_RETRY);
    assert_string_equal(v.reason, "SMTP 503 (curl 55: MAIL failed: 503)");
    v = run(CURLE_SEND_ERROR, 500, "MAIL failed: 500");
    assert_int_equal(v.outcome, HERALD_REJECT);
}

static void test_transport(void **state)
{
    struct smtp_verdict v;
    (void)state;

    v = run(CURLE_COULDNT_CONNECT, 0, "");
    assert_int_equal(v.outcome, HERALD_RETRY);
    assert_string_equal(v.reason, "transport error (curl 7: Couldn't "
                                  "connect to server)");
    v = run(CURLE_OPERATION_TIMEDOUT, 250,
            "Operation timed out after 60000 "
            "milliseconds");
    assert_int_equal(v.outcome, HERALD_RETRY);
    assert_string_equal(v.reason, "transport error (curl 28: Operation timed "
                                  "out after 60000 milliseconds)");
    v = run(CURLE_GOT_NOTHING, 0, NULL);
    assert_int_equal(v.outcome, HERALD_RETRY);
    v = run(CURLE_RECV_ERROR, 0, NULL);
    assert_int_equal(v.outcome, HERALD_RETRY);
    v = run(CURLE_SSL_CONNECT_ERROR, 0, NULL);
    assert_int_equal(v.outcome, HERALD_RETRY);
    v = run(HERALD_HTTP_ABORTED, 0, NULL);
    assert_int_equal(v.outcome, HERALD_RETRY);
    assert_string_equal(v.reason, "transfer aborted: channel closing");
}

static void test_configuration(void **state)
{
    struct smtp_verdict v;
    (void)state;

    v = run(CURLE_LOGIN_DENIED, 535, "");
    assert_int_equal(v.outcome, HERALD_REJECT);
    assert_string_equal(v.reason, "authentication failed (check username "
                                  "and password) (curl 67: Login denied)");
    /* a 4xx reply during AUTH is still a configuration problem */
    v = run(CURLE_LOGIN_DENIED, 454, "");
    assert_int_equal(v.outcome, HERALD_REJECT);
    v = run(CURLE_USE_SSL_FAILED, 0, "STARTTLS not supported.");
    assert_int_equal(v.outcome, HERALD_REJECT);
    assert_string_equal(v.reason, "server does not offer STARTTLS (tls: "
                                  "starttls requires it) (curl 64: STARTTLS "
                                  "not supported.)");
    v = run(CURLE_PEER_FAILED_VERIFICATION, 0, "");
    assert_int_equal(v.outcome, HERALD_REJECT);
    v = run(CURLE_SSL_CACERT_BADFILE, 0, "");
    assert_int_equal(v.outcome, HERALD_REJECT);
    v = run(CURLE_UNSUPPORTED_PROTOCOL, 0, "");
    assert_int_equal(v.outcome, HERALD_REJECT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok),
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_transport),
        cmocka_unit_test(test_configuration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
