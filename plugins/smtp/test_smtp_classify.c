/*
 * test_smtp_classify.c - every outcome class of an SMTP transfer, one
 * assertion per row of the README's channel reply table.
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
    /* the message's own faults: a mailbox, an address, its size */
    v = run(CURLE_SEND_ERROR, 553, "RCPT failed: 553");
    assert_int_equal(v.outcome, HERALD_REJECT);
    v = run(CURLE_SEND_ERROR, 552, "DATA failed: 552");
    assert_int_equal(v.outcome, HERALD_REJECT);
    /* 4xx: try again later (greylisting, a full mailbox, a busy server) */
    v = run(CURLE_SEND_ERROR, 450, "RCPT failed: 450");
    assert_int_equal(v.outcome, HERALD_RETRY);
    v = run(CURLE_SEND_ERROR, 452, "RCPT failed: 452");
    assert_int_equal(v.outcome, HERALD_RETRY);
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
    v = run(CURLE_COULDNT_RESOLVE_HOST, 0, NULL);
    assert_int_equal(v.outcome, HERALD_RETRY);
    v = run(CURLE_GOT_NOTHING, 0, NULL);
    assert_int_equal(v.outcome, HERALD_RETRY);
    v = run(CURLE_RECV_ERROR, 0, NULL);
    assert_int_equal(v.outcome, HERALD_RETRY);
    v = run(CURLE_SEND_ERROR, 0, NULL);
    assert_int_equal(v.outcome, HERALD_RETRY);
    v = run(HERALD_TRANSFER_ABORTED, 0, NULL);
    assert_int_equal(v.outcome, HERALD_RETRY);
    assert_string_equal(v.reason, "transfer aborted: channel closing");
}

/* The channel, not the message: refused logins (RFC 4954 replies or
 * curl's login denied, whatever the reply), TLS failures, a bad URL. */
static void test_unavailable(void **state)
{
    static const struct {
        int code;
        long reply;
        const char *detail, *reason;
    } rows[] = {
        {CURLE_LOGIN_DENIED, 535, "",
         "authentication failed (check username and password) (SMTP 535, "
         "curl 67: Login denied)"},
        /* a 4xx reply during AUTH (454 temporary failure) is the same */
        {CURLE_LOGIN_DENIED, 454, "",
         "authentication failed (check username and password) (SMTP 454, "
         "curl 67: Login denied)"},
        {CURLE_LOGIN_DENIED, 0, NULL,
         "authentication failed (check username and password) (curl 67: "
         "Login denied)"},
        /* MAIL refused because herald did not log in */
        {CURLE_SEND_ERROR, 530, "MAIL failed: 530",
         "the server requires authentication (set username and password) "
         "(SMTP 530, curl 55: MAIL failed: 530)"},
        {CURLE_LOGIN_DENIED, 534, "",
         "the server wants a stronger authentication mechanism (SMTP 534, "
         "curl 67: Login denied)"},
        {CURLE_WEIRD_SERVER_REPLY, 538, "",
         "the server requires TLS for this authentication mechanism (SMTP "
         "538, curl 8: Weird server reply)"},
        {CURLE_USE_SSL_FAILED, 0, "STARTTLS not supported.",
         "the server does not offer STARTTLS (tls: starttls requires it) "
         "(curl 64: STARTTLS not supported.)"},
        {CURLE_PEER_FAILED_VERIFICATION, 0, "",
         "TLS certificate verification failed (check ca_file and the server "
         "certificate) (curl 60: SSL peer certificate or SSH remote key was "
         "not OK)"},
        {CURLE_SSL_CACERT_BADFILE, 0, "",
         "cannot read the CA file (check ca_file) (curl 77: Problem with "
         "the SSL CA cert (path? access rights?))"},
        {CURLE_SSL_CONNECT_ERROR, 0, "",
         "TLS handshake failed (curl 35: SSL connect error)"},
        {CURLE_SSL_CERTPROBLEM, 0, "",
         "cannot use the client certificate (curl 58: Problem with the "
         "local SSL certificate)"},
        {CURLE_SSL_CIPHER, 0, "",
         "no TLS cipher in common with the server (curl 59: Couldn't use "
         "specified SSL cipher)"},
        {CURLE_SSL_ISSUER_ERROR, 0, "",
         "TLS certificate issuer check failed (curl 83: Issuer check against "
         "peer certificate failed)"},
        {CURLE_SSL_CRL_BADFILE, 0, "",
         "cannot read the CRL file (curl 82: Failed to load CRL file (path? "
         "access rights?, format?))"},
        {CURLE_SSL_PINNEDPUBKEYNOTMATCH, 0, "",
         "the server's public key does not match the pinned key (curl 90: "
         "SSL public key does not match pinned public key)"},
        {CURLE_SSL_INVALIDCERTSTATUS, 0, "",
         "the server certificate's status (OCSP) check failed (curl 91: SSL "
         "server certificate status verification FAILED)"},
        {CURLE_UNSUPPORTED_PROTOCOL, 0, "",
         "bad url (curl 1: Unsupported protocol)"},
        {CURLE_URL_MALFORMAT, 0, "",
         "bad url (curl 3: URL using bad/illegal "
         "format or missing URL)"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct smtp_verdict v =
            run(rows[i].code, rows[i].reply, rows[i].detail);
        assert_int_equal(v.outcome, HERALD_UNAVAILABLE);
        assert_string_equal(v.reason, rows[i].reason);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok),
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_transport),
        cmocka_unit_test(test_unavailable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
