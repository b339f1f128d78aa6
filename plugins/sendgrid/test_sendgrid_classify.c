/*
 * test_sendgrid_classify.c - every outcome class of a SendGrid transfer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "sendgrid_classify.h"

/* 2023-11-14 22:13:20 UTC */
#define NOW_MS 1700000000000LL

static struct sendgrid_verdict run(int curl_code, long status, const char *body,
                                   const char *ra, const char *reset)
{
    struct sendgrid_response r;
    struct sendgrid_verdict v;

    memset(&r, 0, sizeof(r));
    r.curl_code = curl_code;
    r.status = status;
    r.body = body;
    r.body_len = body != NULL ? strlen(body) : 0;
    r.retry_after = ra;
    r.ratelimit_reset = reset;
    sendgrid_classify(&r, NOW_MS, &v);
    return v;
}

static void test_ok(void **state)
{
    struct sendgrid_verdict v;
    (void)state;

    v = run(CURLE_OK, 202, "", NULL, NULL);
    assert_int_equal(v.outcome, HERALD_OK);
    assert_string_equal(v.reason, "");
    v = run(CURLE_OK, 200, NULL, NULL, NULL); /* sandbox mode */
    assert_int_equal(v.outcome, HERALD_OK);
}

static void test_rate_limited(void **state)
{
    struct sendgrid_verdict v;
    (void)state;

    v = run(CURLE_OK, 429,
            "{\"errors\":[{\"message\":\"too many "
            "requests\",\"field\":null}]}",
            "7", NULL);
    assert_int_equal(v.outcome, HERALD_RETRY);
    assert_int_equal(v.retry_after_ms, 7000);
    assert_string_equal(v.reason, "HTTP 429: too many requests");
    /* X-RateLimit-Reset 30 s from now beats Retry-After 7 s */
    v = run(CURLE_OK, 429, NULL, "7", "1700000030");
    assert_int_equal(v.retry_after_ms, 30000);
    assert_string_equal(v.reason, "HTTP 429");
    /* HTTP-date 90 s ahead beats a reset 30 s ahead */
    v = run(CURLE_OK, 429, NULL, "Tue, 14 Nov 2023 22:14:50 GMT", "1700000030");
    assert_int_equal(v.retry_after_ms, 90000);
    /* a reset in the past and garbage: no wait requested */
    v = run(CURLE_OK, 429, NULL, "soon", "1699999999");
    assert_int_equal(v.outcome, HERALD_RETRY);
    assert_int_equal(v.retry_after_ms, 0);
    /* absurd values are capped at a day */
    v = run(CURLE_OK, 429, NULL, "99999999999", NULL);
    assert_int_equal(v.retry_after_ms, 86400000);
}

static void test_retry_classes(void **state)
{
    struct sendgrid_verdict v;
    (void)state;

    v = run(CURLE_OK, 408, NULL, NULL, NULL);
    assert_int_equal(v.outcome, HERALD_RETRY);
    assert_string_equal(v.reason, "HTTP 408");
    v = run(CURLE_OK, 503, "<html>busy</html>", "120", NULL);
    assert_int_equal(v.outcome, HERALD_RETRY);
    assert_int_equal(v.retry_after_ms, 120000);
    assert_string_equal(v.reason, "HTTP 503");
    v = run(CURLE_OK, 500, "{\"errors\":[{\"message\":\"internal\"}]}", NULL,
            NULL);
    assert_int_equal(v.outcome, HERALD_RETRY);
    assert_string_equal(v.reason, "HTTP 500: internal");
    v = run(CURLE_OPERATION_TIMEDOUT, 0, NULL, NULL, NULL);
    assert_int_equal(v.outcome, HERALD_RETRY);
    assert_string_equal(v.reason, "transport error (curl 28: Timeout was "
                                  "reached)");
    v = run(CURLE_COULDNT_CONNECT, 0, NULL, NULL, NULL);
    assert_int_equal(v.outcome, HERALD_RETRY);
    assert_string_equal(v.reason, "transport error (curl 7: Couldn't "
                                  "connect to server)");
    v = run(CURLE_RECV_ERROR, 0, NULL, NULL, NULL);
    assert_int_equal(v.outcome, HERALD_RETRY);
    v = run(HERALD_TRANSFER_ABORTED, 0, NULL, NULL, NULL);
    assert_int_equal(v.outcome, HERALD_RETRY);
    assert_string_equal(v.reason, "transfer aborted: channel closing");
}

static void test_reject_classes(void **state)
{
    struct sendgrid_verdict v;
    char big[2048];
    size_t n;
    (void)state;

    v = run(CURLE_OK, 400,
            "{\"errors\":[{\"message\":\"The from address "
            "does not match a verified Sender Identity.\",\"field\":\"from\","
            "\"help\":null},{\"message\":\"Invalid type.\",\"field\":"
            "\"personalizations.0.to\"}]}",
            NULL, NULL);
    assert_int_equal(v.outcome, HERALD_REJECT);
    assert_int_equal(v.retry_after_ms, 0);
    assert_string_equal(v.reason,
                        "HTTP 400: The from address does not match "
                        "a verified Sender Identity. (field from); Invalid "
                        "type. (field personalizations.0.to)");
    v = run(CURLE_OK, 404, "not json", NULL, NULL);
    assert_int_equal(v.outcome, HERALD_REJECT);
    assert_string_equal(v.reason, "HTTP 404");
    v = run(CURLE_OK, 413, NULL, NULL, NULL);
    assert_int_equal(v.outcome, HERALD_REJECT);
    v = run(CURLE_OK, 301, NULL, NULL, NULL);
    assert_int_equal(v.outcome, HERALD_REJECT);
    assert_string_equal(v.reason, "HTTP 301");
    v = run(CURLE_OK, 422, NULL, NULL, NULL);
    assert_int_equal(v.outcome, HERALD_REJECT);

    /* a huge error list is cut at the reason's size, marked "..." */
    strcpy(big, "{\"errors\":[");
    for (n = 0; n < 40; n++) {
        strcat(big, n ? ",{\"message\":\"0123456789012345678901234\"}"
                      : "{\"message\":\"0123456789012345678901234\"}");
    }
    strcat(big, "]}");
    v = run(CURLE_OK, 400, big, NULL, NULL);
    assert_int_equal(v.outcome, HERALD_REJECT);
    n = strlen(v.reason);
    assert_int_equal(n, SENDGRID_REASON_MAX - 1);
    assert_string_equal(v.reason + n - 3, "...");
}

/* The channel, not the message: the key refused (401, 403, whatever the
 * body and even with a Retry-After), TLS failures, a bad base_url. */
static void test_unavailable(void **state)
{
    static const struct {
        int code;
        long status;
        const char *body, *reason;
    } rows[] = {
        {CURLE_OK, 401,
         "{\"errors\":[{\"message\":\"The provided authorization grant is "
         "invalid, expired, or revoked\",\"field\":null,\"help\":null}]}",
         "API key refused (check api_key and its mail send permission): "
         "HTTP 401: The provided authorization grant is invalid, expired, or "
         "revoked"},
        {CURLE_OK, 401, "not json",
         "API key refused (check api_key and its mail send permission): "
         "HTTP 401"},
        {CURLE_OK, 403, "{\"errors\":[{\"message\":\"access forbidden\"}]}",
         "API key refused (check api_key and its mail send permission): "
         "HTTP 403: access forbidden"},
        {CURLE_PEER_FAILED_VERIFICATION, 0, NULL,
         "TLS certificate verification failed (check ca_file and the server "
         "certificate) (curl 60: SSL peer certificate or SSH remote key was "
         "not OK)"},
        {CURLE_SSL_CACERT_BADFILE, 0, NULL,
         "cannot read the CA file (check ca_file) (curl 77: Problem with "
         "the SSL CA cert (path? access rights?))"},
        {CURLE_SSL_CONNECT_ERROR, 0, NULL,
         "TLS handshake failed (curl 35: SSL connect error)"},
        {CURLE_SSL_ISSUER_ERROR, 0, NULL,
         "TLS certificate issuer check failed (curl 83: Issuer check against "
         "peer certificate failed)"},
        {CURLE_SSL_PINNEDPUBKEYNOTMATCH, 0, NULL,
         "the server's public key does not match the pinned key (curl 90: "
         "SSL public key does not match pinned public key)"},
        {CURLE_UNSUPPORTED_PROTOCOL, 0, NULL,
         "bad url (curl 1: Unsupported protocol)"},
    };
    struct sendgrid_verdict v;
    (void)state;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        v = run(rows[i].code, rows[i].status, rows[i].body, "5", NULL);
        assert_int_equal(v.outcome, HERALD_UNAVAILABLE);
        assert_int_equal(v.retry_after_ms, 0);
        assert_string_equal(v.reason, rows[i].reason);
    }
}

static void test_retry_after_parse(void **state)
{
    (void)state;

    assert_int_equal(sendgrid_retry_after_ms(NULL, NOW_MS), 0);
    assert_int_equal(sendgrid_retry_after_ms(" 3 ", NOW_MS), 3000);
    assert_int_equal(sendgrid_retry_after_ms("-3", NOW_MS), 0);
    assert_int_equal(
        sendgrid_retry_after_ms("Tue, 14 Nov 2023 22:13:21 GMT", NOW_MS), 1000);
    assert_int_equal(
        sendgrid_retry_after_ms("Tue, 14 Nov 2023 22:13:19 GMT", NOW_MS), 0);
    assert_int_equal(
        sendgrid_retry_after_ms("Tue, 14 Foo 2023 22:13:21 GMT", NOW_MS), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok),
        cmocka_unit_test(test_rate_limited),
        cmocka_unit_test(test_retry_classes),
        cmocka_unit_test(test_reject_classes),
        cmocka_unit_test(test_unavailable),
        cmocka_unit_test(test_retry_after_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
