/*
 * test_smtp_message.c - SMTP envelope and server URL of the smtp channel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp_message.h"

static const char *const to_two[] = {"Alice <alice@example.com>",
                                     "bob@example.com"};
static const char *const cc_two[] = {"\"Roe, J\" <jr@example.com>",
                                     "BOB@example.com"};

static struct herald_message message(void)
{
    struct herald_message m;

    memset(&m, 0, sizeof(m));
    m.from = "Alerts <alerts@bank.example>";
    m.to = to_two;
    m.n_to = 2;
    m.cc = cc_two;
    m.n_cc = 2;
    return m;
}

static void test_envelope(void **state)
{
    struct herald_message m = message();
    struct smtp_envelope e;
    char err[128] = "";
    (void)state;

    assert_int_equal(smtp_envelope_init(&e, &m, NULL, err, sizeof(err)), 0);
    assert_string_equal(e.from, "alerts@bank.example");
    assert_int_equal(e.n_rcpt, 3); /* BOB@ repeats bob@ */
    assert_string_equal(e.rcpt[0], "alice@example.com");
    assert_string_equal(e.rcpt[1], "bob@example.com");
    assert_string_equal(e.rcpt[2], "jr@example.com");
    smtp_envelope_cleanup(&e);
    assert_null(e.from);

    m.from = NULL;
    assert_int_equal(
        smtp_envelope_init(&e, &m, "ops@bank.example", err, sizeof(err)), 0);
    assert_string_equal(e.from, "ops@bank.example");
    smtp_envelope_cleanup(&e);
}

static void test_envelope_refusals(void **state)
{
    static const char *const inject[] = {"a@b.c>\r\nRCPT TO:<evil@x.y"};
    static const char *const space[] = {"a b@c.d"};
    struct herald_message m = message();
    struct smtp_envelope e;
    char err[128] = "";
    (void)state;

    m.cc = inject;
    m.n_cc = 1;
    assert_int_equal(smtp_envelope_init(&e, &m, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "Cc: address holds a control character");
    assert_null(e.rcpt);
    assert_null(e.from);
    m = message();
    m.to = space;
    m.n_to = 1;
    assert_int_equal(smtp_envelope_init(&e, &m, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "To: invalid email address 'a b@c.d'");
    m = message();
    m.from = "";
    assert_int_equal(smtp_envelope_init(&e, &m, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "message has no From address");
    m = message();
    m.n_to = m.n_cc = 0;
    assert_int_equal(smtp_envelope_init(&e, &m, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "message has no recipient");
}

static void assert_url(const char *url, enum smtp_tls tls, const char *helo,
                       const char *want)
{
    char err[160] = "";
    char *u = smtp_url_build(url, tls, helo, err, sizeof(err));

    if (u == NULL) {
        fail_msg("refused: %s", err);
    }
    assert_string_equal(u, want);
    free(u);
}

static void assert_bad_url(const char *url, enum smtp_tls tls, const char *helo,
                           const char *why)
{
    char err[160] = "";

    assert_null(smtp_url_build(url, tls, helo, err, sizeof(err)));
    assert_string_equal(err, why);
}

static void test_url(void **state)
{
    (void)state;

    assert_url("smtp://127.0.0.1:31025", SMTP_TLS_NONE, NULL,
               "smtp://127.0.0.1:31025");
    assert_url("smtp://mail.example.com:587/", SMTP_TLS_STARTTLS,
               "herald.example.com",
               "smtp://mail.example.com:587/herald.example.com");
    assert_url("smtps://mail.example.com", SMTP_TLS_IMPLICIT, "",
               "smtps://mail.example.com");
    assert_bad_url("smtps://mail.example.com", SMTP_TLS_STARTTLS, NULL,
                   "url must start with smtp:// for tls: starttls");
    assert_bad_url("smtp://mail.example.com", SMTP_TLS_IMPLICIT, NULL,
                   "url must start with smtps:// for tls: implicit");
    assert_bad_url("smtp://", SMTP_TLS_NONE, NULL, "url has no host");
    assert_bad_url("smtp://h/x", SMTP_TLS_NONE, NULL,
                   "url must be scheme://host[:port] only (use helo_domain "
                   "for the EHLO name)");
    assert_bad_url("smtp://h", SMTP_TLS_NONE, "a b",
                   "helo_domain must be a host name");
    assert_bad_url(NULL, SMTP_TLS_NONE, NULL,
                   "url must start with smtp:// for tls: none");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_envelope_refusals),
        cmocka_unit_test(test_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
