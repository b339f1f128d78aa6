/*
 * test_sendgrid_payload.c - exact JSON of SendGrid Mail Send bodies and
 * the messages the builder refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sendgrid_payload.h"

static const char *const to_two[] = {"Alice Example <alice@example.com>",
                                     "bob@example.com"};
/* BOB@example.com repeats a To address: sent once. */
static const char *const cc_two[] = {"\"Doe, John\" <john@example.com>",
                                     "BOB@example.com"};
static const struct herald_header prio[] = {{"X-Priority", "1"}};
static const char *const cats[] = {"fraud", "alerts"};

static struct herald_message full_message(void)
{
    struct herald_message m;

    memset(&m, 0, sizeof(m));
    m.struct_size = sizeof(m);
    m.from = "Alerts <alerts@bank.example>";
    m.to = to_two;
    m.n_to = 2;
    m.cc = cc_two;
    m.n_cc = 2;
    m.reply_to = "support@bank.example";
    m.subject = "Suspicious activity on card ending 1234";
    m.text = "Hello Alice,\n3 attempts.";
    m.html = "<p>Hello Alice,</p>";
    m.headers = prio;
    m.n_headers = 1;
    /* The host's keyed hash of the dedup key (64 hex digits) */
    m.idempotency_key =
        "1f08f2bffacc2932df29ccfdf26867e279245de0bdc42cffc415ad790720d110";
    m.topic = "possible_anomalies";
    m.partition = 3;
    m.offset = 42;
    return m;
}

static void assert_payload(const struct herald_message *m,
                           const struct sendgrid_payload_opts *o, size_t flags,
                           const char *expected)
{
    char err[256] = "";
    json_t *j = sendgrid_payload_new(m, o, err, sizeof(err));
    char *s;

    if (j == NULL) {
        fail_msg("unexpected error: %s", err);
    }
    s = json_dumps(j, flags);
    assert_non_null(s);
    assert_string_equal(s, expected);
    free(s);
    json_decref(j);
}

static void assert_refused(const struct herald_message *m,
                           const struct sendgrid_payload_opts *o,
                           const char *why)
{
    char err[256] = "";

    assert_null(sendgrid_payload_new(m, o, err, sizeof(err)));
    assert_string_equal(err, why);
}

static void test_full(void **state)
{
    struct herald_message m = full_message();
    struct sendgrid_payload_opts o = {NULL, cats, 2, 1};
    (void)state;

    assert_payload(
        &m, &o, JSON_SORT_KEYS | JSON_COMPACT,
        "{\"categories\":[\"fraud\",\"alerts\"],"
        "\"content\":[{\"type\":\"text/plain\",\"value\":"
        "\"Hello Alice,\\n3 attempts.\"},"
        "{\"type\":\"text/html\",\"value\":\"<p>Hello Alice,</p>\"}],"
        "\"from\":{\"email\":\"alerts@bank.example\",\"name\":\"Alerts\"},"
        "\"headers\":{\"X-Priority\":\"1\"},"
        "\"mail_settings\":{\"sandbox_mode\":{\"enable\":true}},"
        "\"personalizations\":[{"
        "\"cc\":[{\"email\":\"john@example.com\",\"name\":\"Doe, John\"}],"
        "\"custom_args\":{\"idempotency_key\":"
        "\"1f08f2bffacc2932df29ccfdf26867e2\","
        "\"offset\":\"42\",\"partition\":\"3\","
        "\"topic\":\"possible_anomalies\"},"
        "\"to\":[{\"email\":\"alice@example.com\",\"name\":\"Alice Example\"},"
        "{\"email\":\"bob@example.com\"}]}],"
        "\"reply_to\":{\"email\":\"support@bank.example\"},"
        "\"subject\":\"Suspicious activity on card ending 1234\"}");
}

/* The bytes the plugin sends (insertion order, compact). */
static void test_wire_order(void **state)
{
    static const char *const to[] = {"z@example.com"};
    struct herald_message m;
    struct sendgrid_payload_opts o = {"Ops <ops@bank.example>", NULL, 0, 0};
    (void)state;

    memset(&m, 0, sizeof(m));
    m.to = to;
    m.n_to = 1;
    m.subject = "Carte \xc3\xa9trange";
    m.text = "t";
    m.topic = "t";
    m.partition = -1;
    m.offset = 9007199254740993LL;
    assert_payload(
        &m, &o, JSON_COMPACT,
        "{\"personalizations\":[{\"to\":[{\"email\":\"z@example.com\"}],"
        "\"custom_args\":{\"topic\":\"t\",\"partition\":\"-1\","
        "\"offset\":\"9007199254740993\"}}],"
        "\"from\":{\"email\":\"ops@bank.example\",\"name\":\"Ops\"},"
        "\"subject\":\"Carte \xc3\xa9trange\","
        "\"content\":[{\"type\":\"text/plain\",\"value\":\"t\"}]}");
}

static void test_refusals(void **state)
{
    static const char *const bad[] = {"bob@example.com\r\nRCPT TO:<x@y>"};
    static const struct herald_header rt[] = {{"Reply-To", "x@y"}};
    static const struct herald_header sp[] = {{"X Y", "1"}};
    static const struct herald_header nl[] = {{"X-Y", "1\n2"}};
    struct sendgrid_payload_opts o = {NULL, NULL, 0, 0};
    struct herald_message m;
    const char **many;
    size_t i;
    (void)state;

    m = full_message();
    m.n_to = 0;
    assert_refused(&m, &o, "SendGrid needs at least one To recipient");
    m = full_message();
    m.cc = bad;
    m.n_cc = 1;
    assert_refused(&m, &o, "Cc: address holds a control character");
    m = full_message();
    m.subject = "";
    assert_refused(&m, &o, "SendGrid needs a non-empty subject");
    m.subject = "bad \xff utf8";
    assert_refused(&m, &o,
                   "subject holds a control character or invalid "
                   "UTF-8");
    m = full_message();
    m.text = "";
    m.html = NULL;
    assert_refused(&m, &o, "message has no text or html body");
    m = full_message();
    m.headers = rt;
    assert_refused(&m, &o,
                   "header 'Reply-To' cannot be set through "
                   "SendGrid");
    m.headers = sp;
    assert_refused(&m, &o,
                   "header name 'X Y' has a character not allowed "
                   "in a field name");
    m.headers = nl;
    assert_refused(&m, &o, "header 'X-Y' value holds a control character");
    m = full_message();
    m.from = NULL;
    assert_refused(&m, &o, "message has no From address");
    m.from = "Alerts <alerts@bank>.example";
    assert_refused(&m, &o,
                   "From: invalid email address "
                   "'Alerts <alerts@bank>.example'");

    many = calloc(1001, sizeof(*many));
    assert_non_null(many);
    for (i = 0; i < 1001; i++) {
        many[i] = "a@b.c";
    }
    m = full_message();
    m.to = many;
    m.n_to = 1000;
    m.n_cc = 1;
    assert_refused(&m, &o, "1001 recipients; SendGrid takes at most 1000");
    free(many);
}

static void test_categories(void **state)
{
    static const char *const eleven[] = {"1", "2", "3", "4",  "5", "6",
                                         "7", "8", "9", "10", "11"};
    static const char *const dup[] = {"a", "b", "a"};
    static const char *const empty[] = {""};
    static const char *const badutf[] = {"\xc3"};
    char err[128] = "";
    (void)state;

    assert_int_equal(sendgrid_categories_ok(eleven, 10, err, sizeof(err)), 0);
    assert_int_equal(sendgrid_categories_ok(eleven, 11, err, sizeof(err)), -1);
    assert_string_equal(err, "at most 10 categories, got 11");
    assert_int_equal(sendgrid_categories_ok(dup, 3, err, sizeof(err)), -1);
    assert_string_equal(err, "category 'a' appears twice");
    assert_int_equal(sendgrid_categories_ok(empty, 1, err, sizeof(err)), -1);
    assert_string_equal(err, "category 1 must be 1 to 255 characters of "
                             "text");
    assert_int_equal(sendgrid_categories_ok(badutf, 1, err, sizeof(err)), -1);
    assert_string_equal(err, "category 1 holds a control character or "
                             "invalid UTF-8");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_wire_order),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_categories),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
