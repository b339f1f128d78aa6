/*
 * test_mime.c - exact-bytes tests of the MIME builder, quoted-printable,
 * address parsing and SHA-256 shared by the mail plugins.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "mime.h"
#include "sha256.h"

static const char *const to_two[] = {"Alice Example <alice@example.com>",
                                     "bob@example.com"};
static const char *const cc_one[] = {"\"Doe, John\" <john@example.com>"};
static const struct herald_header prio[] = {{"X-Priority", "1"}};

/* The message most tests start from; times are 1700000000 (a Tuesday). */
static struct herald_message base_message(void)
{
    struct herald_message m;

    memset(&m, 0, sizeof(m));
    m.struct_size = sizeof(m);
    m.from = "Alerts <alerts@bank.example>";
    m.to = to_two;
    m.n_to = 2;
    m.cc = cc_one;
    m.n_cc = 1;
    m.reply_to = "support@bank.example";
    m.subject = "Suspicious activity on card ending 1234";
    m.text = "Hello Alice,\n\nWe saw 3 transactions.\n.\nBye\n";
    m.headers = prio;
    m.n_headers = 1;
    m.idempotency_key = "4111@1700000000000";
    m.topic = "possible_anomalies";
    m.partition = 3;
    m.offset = 42;
    return m;
}

static void assert_builds(const struct herald_message *m, const char *from,
                          int64_t when, const char *expected)
{
    char *out = NULL;
    size_t len = 0;
    char err[256] = "";

    assert_int_equal(mime_build(m, from, when, &out, &len, err, sizeof(err)),
                     0);
    assert_string_equal(out, expected);
    assert_int_equal(len, strlen(expected));
    free(out);
}

static void assert_rejects(const struct herald_message *m, const char *why)
{
    char *out = NULL;
    size_t len = 0;
    char err[256] = "";

    assert_int_equal(mime_build(m, NULL, 0, &out, &len, err, sizeof(err)), -1);
    assert_null(out);
    assert_string_equal(err, why);
}

/* Plain ASCII, single part; the "." line stays single (libcurl stuffs). */
static void test_ascii_text(void **state)
{
    struct herald_message m = base_message();
    (void)state;

    assert_builds(&m, NULL, 1700000000,
                  "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
                  "From: Alerts <alerts@bank.example>\r\n"
                  "To: Alice Example <alice@example.com>, bob@example.com\r\n"
                  "Cc: \"Doe, John\" <john@example.com>\r\n"
                  "Reply-To: support@bank.example\r\n"
                  "Subject: Suspicious activity on card ending 1234\r\n"
                  /* sha256("4111@1700000000000") = 1f08f2bf...20d110 */
                  "Message-ID: <1f08f2bffacc2932df29ccfdf26867e2@herald>\r\n"
                  "MIME-Version: 1.0\r\n"
                  "X-Herald-Source: possible_anomalies/3/42\r\n"
                  "X-Priority: 1\r\n"
                  "Content-Type: text/plain; charset=UTF-8\r\n"
                  "Content-Transfer-Encoding: 7bit\r\n"
                  "\r\n"
                  "Hello Alice,\r\n"
                  "\r\n"
                  "We saw 3 transactions.\r\n"
                  ".\r\n"
                  "Bye\r\n");
}

/* Non-ASCII subject and display name become encoded-words folded at 78
 * columns without splitting a UTF-8 sequence; text+html is
 * multipart/alternative with a boundary derived from the key. */
static void test_nonascii_multipart(void **state)
{
    static const char *const to[] = {"Zo\xc3\xab M\xc3\xbcller "
                                     "<zoe@example.com>"};
    struct herald_message m = base_message();
    (void)state;

    m.to = to;
    m.n_to = 1;
    m.n_cc = 0;
    m.reply_to = NULL;
    m.n_headers = 0;
    m.subject = "Activit\xc3\xa9 suspecte sur votre carte se terminant par "
                "1234 \xe2\x80\x94 merci de v\xc3\xa9rifier rapidement";
    m.text = "Hi";
    m.html = "<p>Hi</p>\n";
    assert_builds(
        &m, NULL, 1700000000,
        "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
        "From: Alerts <alerts@bank.example>\r\n"
        "To: =?UTF-8?B?Wm/DqyBNw7xsbGVy?= <zoe@example.com>\r\n"
        "Subject: =?UTF-8?B?QWN0aXZpdMOpIHN1c3BlY3RlIHN1ciB2b3RyZSBjYXJ0ZSBz"
        "ZSB0ZXJt?=\r\n"
        " =?UTF-8?B?aW5hbnQgcGFyIDEyMzQg4oCUIG1lcmNpIGRlIHbDqXJpZmllciByYXBp"
        "ZGVtZW50?=\r\n"
        "Message-ID: <1f08f2bffacc2932df29ccfdf26867e2@herald>\r\n"
        "MIME-Version: 1.0\r\n"
        "X-Herald-Source: possible_anomalies/3/42\r\n"
        "Content-Type: multipart/alternative;\r\n"
        " boundary=\"=_herald_79245de0bdc42cffc415ad790720d110\"\r\n"
        "\r\n"
        "--=_herald_79245de0bdc42cffc415ad790720d110\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "Hi\r\n"
        "--=_herald_79245de0bdc42cffc415ad790720d110\r\n"
        "Content-Type: text/html; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "<p>Hi</p>\r\n"
        "\r\n"
        "--=_herald_79245de0bdc42cffc415ad790720d110--\r\n");
}

/* A long To list folds between mailboxes; a long header value folds at a
 * space; html alone is a single text/html part; From falls back to the
 * channel default; no idempotency key: the coordinates are the key. */
static void test_folding_and_defaults(void **state)
{
    static const char *const to[] = {
        "first.recipient@example.com",
        "Second Recipient <second.recipient@example.com>", "third@example.com",
        "J\xc3\xb6rg Gro\xc3\x9fmann-\xc3\x9c"
        "berl\xc3\xa4nge "
        "Sehrlangername <joerg@example.com>"};
    static const struct herald_header note[] = {
        {"X-Note", "a long header value that goes on and on and on past "
                   "the seventy-eight column limit for sure"}};
    struct herald_message m;
    (void)state;

    memset(&m, 0, sizeof(m));
    m.to = to;
    m.n_to = 4;
    m.html = "<p>H\xc3\xa9</p>";
    m.headers = note;
    m.n_headers = 1;
    m.topic = "t";
    m.offset = 7;
    assert_builds(
        &m, "ops@bank.example", 0,
        "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"
        "From: ops@bank.example\r\n"
        "To: first.recipient@example.com,\r\n"
        " Second Recipient <second.recipient@example.com>, "
        "third@example.com,\r\n"
        " =?UTF-8?B?SsO2cmcgR3Jvw59tYW5uLcOcYmVybMOkbmdlIFNlaHJsYW5nZXJuYW1l"
        "?=\r\n"
        " <joerg@example.com>\r\n"
        /* sha256("t/0/7") = 36951b4a... */
        "Message-ID: <36951b4a9ccbf91ad2ac7d505182f787@herald>\r\n"
        "MIME-Version: 1.0\r\n"
        "X-Herald-Source: t/0/7\r\n"
        "X-Note: a long header value that goes on and on and on past the "
        "seventy-eight\r\n"
        " column limit for sure\r\n"
        "Content-Type: text/html; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "<p>H=C3=A9</p>\r\n");
}

/* A line over 998 octets or a bare CR cannot travel as 7bit: the part is
 * quoted-printable (soft breaks at 76); short ASCII lines stay 7bit. */
static void test_7bit_or_qp(void **state)
{
    struct herald_message m = base_message();
    char longline[1001];
    char *out = NULL;
    size_t len = 0;
    char err[256] = "";
    (void)state;

    memset(longline, 'a', 999);
    longline[999] = '\n';
    longline[1000] = '\0';
    m.text = longline;
    m.html = NULL;
    assert_int_equal(mime_build(&m, NULL, 0, &out, &len, err, sizeof(err)), 0);
    assert_non_null(strstr(out, "Content-Transfer-Encoding: quoted-printable"
                                "\r\n\r\n"));
    assert_non_null(strstr(out, "aaaaa=\r\naaaa"));
    free(out);

    m.text = "line one\rstill one\n";
    assert_int_equal(mime_build(&m, NULL, 0, &out, &len, err, sizeof(err)), 0);
    assert_non_null(strstr(out, "quoted-printable\r\n\r\nline one=0Dstill "
                                "one\r\n"));
    free(out);

    memset(longline, 'a', 998);
    longline[998] = '\0';
    m.text = longline;
    assert_int_equal(mime_build(&m, NULL, 0, &out, &len, err, sizeof(err)), 0);
    assert_non_null(strstr(out, "Content-Transfer-Encoding: 7bit\r\n\r\n"));
    assert_non_null(strstr(out, "aaa\r\n"));
    free(out);
}

static void assert_qp(const char *in, const char *expected)
{
    size_t len = 0;
    char *out = mime_qp_encode(in, strlen(in), &len);

    assert_non_null(out);
    assert_string_equal(out, expected);
    assert_int_equal(len, strlen(expected));
    free(out);
}

static void test_quoted_printable(void **state)
{
    char a76[77], a77[78], a74eq[76];
    (void)state;

    memset(a76, 'a', 76);
    a76[76] = '\0';
    memset(a77, 'a', 77);
    a77[77] = '\0';
    memset(a74eq, 'a', 74);
    a74eq[74] = '=';
    a74eq[75] = '\0';

    assert_qp("", "");
    assert_qp("a=b", "a=3Db");
    assert_qp("end \nnext\t", "end=20\r\nnext=09");
    assert_qp("mid space stays", "mid space stays");
    assert_qp("caf\xc3\xa9", "caf=C3=A9");
    assert_qp("x\ry\r\nz\n", "x=0Dy\r\nz\r\n");
    /* exactly 76 fits; 77 needs a soft break after 75 */
    assert_qp(a76, a76);
    assert_qp(a77, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                   "aaaaaaaaaaaaaaaaa=\r\naa");
    /* an =XX triple is never split by a soft break */
    assert_qp(a74eq, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                     "aaaaaaaaaaaaaaaaaaa=\r\n=3D");
    /* no dot-stuffing here: libcurl does it on the wire */
    assert_qp(".leading\n..two\n", ".leading\r\n..two\r\n");
}

static void test_rejections(void **state)
{
    static const char *const bad_to[] = {"bob@example.com\r\nRCPT TO:<x@y>"};
    static const char *const no_at[] = {"Bob <bob.example.com>"};
    static const struct herald_header over[] = {{"subject", "x"}};
    static const struct herald_header badname[] = {{"X Bad", "x"}};
    static const struct herald_header badval[] = {{"X-Ok", "a\nb"}};
    struct herald_message m;
    (void)state;

    m = base_message();
    m.to = bad_to;
    m.n_to = 1;
    assert_rejects(&m, "To: address holds a control character");
    m.to = no_at;
    assert_rejects(&m, "To: invalid email address 'bob.example.com'");
    m = base_message();
    m.headers = over;
    assert_rejects(&m, "header 'Subject' is set by herald and cannot be "
                       "overridden");
    m.headers = badname;
    assert_rejects(&m, "header name 'X Bad' has a character not allowed in "
                       "a field name");
    m.headers = badval;
    assert_rejects(&m, "header 'X-Ok' value holds a control character");
    m = base_message();
    m.subject = "hi\r\nBcc: x@y";
    assert_rejects(&m, "subject holds a control character");
    m = base_message();
    m.n_to = 0;
    m.n_cc = 0;
    assert_rejects(&m, "message has no recipient");
    m = base_message();
    m.from = NULL;
    assert_rejects(&m, "message has no From address");
    m = base_message();
    m.reply_to = "a@b@c";
    assert_rejects(&m, "Reply-To: invalid email address 'a@b@c'");
}

static void assert_addr(const char *in, const char *name, const char *email)
{
    struct addr a;
    char err[128] = "";

    assert_int_equal(addr_parse(in, &a, err, sizeof(err)), 0);
    if (name == NULL) {
        assert_null(a.name);
    } else {
        assert_string_equal(a.name, name);
    }
    assert_string_equal(a.email, email);
    addr_cleanup(&a);
}

static void test_addresses(void **state)
{
    struct addr a;
    char err[128];
    (void)state;

    assert_addr("a@b", NULL, "a@b");
    assert_addr("  <a.b+c@mail.example.com>  ", NULL, "a.b+c@mail.example.com");
    assert_addr("Jane Roe <jane@x.org>", "Jane Roe", "jane@x.org");
    assert_addr("\"Roe, \\\"JR\\\" Jane\" <jane@x.org>", "Roe, \"JR\" Jane",
                "jane@x.org");
    assert_int_equal(addr_parse("Jane <jane@x.org", &a, err, sizeof(err)), -1);
    assert_string_equal(err, "invalid email address 'Jane <jane@x.org'");
    assert_null(a.email);
    assert_int_equal(addr_parse("x>", &a, err, sizeof(err)), -1);
    assert_string_equal(err, "address has '>' without '<'");

    assert_int_equal(addr_email_valid("a@b.c", 5), 1);
    assert_int_equal(addr_email_valid(".a@b", 4), 0);
    assert_int_equal(addr_email_valid("a..b@c", 6), 0);
    assert_int_equal(addr_email_valid("a@-b.c", 6), 0);
    assert_int_equal(addr_email_valid("a@b-.c", 6), 0);
    assert_int_equal(addr_email_valid("a@b..c", 6), 0);
    assert_int_equal(addr_email_valid("a b@c", 5), 0);
    assert_int_equal(addr_email_valid("a@b>", 4), 0);
    assert_int_equal(addr_email_valid("@b", 2), 0);
    assert_int_equal(addr_email_valid("a@", 2), 0);
    assert_int_equal(addr_email_valid("\xc3\xa9@b", 4), 0);
    assert_int_equal(addr_text_safe("tab\tok"), 1);
    assert_int_equal(addr_text_safe("del\x7f"), 0);
}

static void test_sha256_vectors(void **state)
{
    static const char two_blocks[] =
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char hex[65];
    (void)state;

    sha256_hex("", 0, 32, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                             "27ae41e4649b934ca495991b7852b855");
    sha256_hex("abc", 3, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
                             "b00361a396177a9cb410ff61f20015ad");
    sha256_hex(two_blocks, strlen(two_blocks), 32, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039"
                             "a33ce45964ff2167f6ecedd419db06c1");
    sha256_hex("abc", 3, 4, hex);
    assert_string_equal(hex, "ba7816bf");
}

static void test_date(void **state)
{
    char buf[64];
    (void)state;

    assert_int_equal(mime_format_date(951782400, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "Tue, 29 Feb 2000 00:00:00 +0000");
    assert_int_equal(mime_format_date(-1, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "Wed, 31 Dec 1969 23:59:59 +0000");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii_text),
        cmocka_unit_test(test_nonascii_multipart),
        cmocka_unit_test(test_folding_and_defaults),
        cmocka_unit_test(test_7bit_or_qp),
        cmocka_unit_test(test_quoted_printable),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
