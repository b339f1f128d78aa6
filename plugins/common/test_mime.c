/*
 * test_mime.c - exact-bytes tests of the MIME builder, quoted-printable,
 * address parsing and the header-text rule shared by the mail plugins;
 * the forgery regression is checked with Python's email package, a MIME
 * parser that is not ours.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "addr.h"
#include "hdrtext.h"
#include "mime.h"

/* The host's keyed idempotency key (HMAC hex); its first 32 digits are the
 * Message-ID. */
#define KEY "1f08f2bffacc2932df29ccfdf26867e279245de0bdc42cffc415ad790720d110"
/* The first draw of counter_random: bytes 00 01 ... 0f. */
#define DRAW1 "000102030405060708090a0b0c0d0e0f"
#define DRAW2 "101112131415161718191a1b1c1d1e1f"

/* A predictable random source for exact bytes: 0, 1, 2, ... */
static int counter_random(void *ctx, unsigned char *buf, size_t len)
{
    unsigned *next = ctx;

    for (size_t i = 0; i < len; i++) {
        buf[i] = (unsigned char)(*next)++;
    }
    return 0;
}

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
    m.idempotency_key = KEY;
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
    unsigned next = 0;

    assert_int_equal(mime_build_r(m, from, when, counter_random, &next, &out,
                                  &len, err, sizeof(err)),
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
 * multipart/alternative with a random boundary. */
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
        " boundary=\"=_herald_" DRAW1 "\"\r\n"
        "\r\n"
        "--=_herald_" DRAW1 "\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "Hi\r\n"
        "--=_herald_" DRAW1 "\r\n"
        "Content-Type: text/html; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "<p>Hi</p>\r\n"
        "\r\n"
        "--=_herald_" DRAW1 "--\r\n");
}

/* A long To list folds between mailboxes; a long header value folds at a
 * space; html alone is a single text/html part; From falls back to the
 * channel default; no idempotency key: the Message-ID is random. */
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
        /* no keyed idempotency key: a random one */
        "Message-ID: <" DRAW1 "@herald>\r\n"
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

/* ---- issue 10: random boundary, forgery, long headers, code points ---- */

/* A one-recipient message from alerts@bank.example with the keyed
 * idempotency key. */
static struct herald_message one_to(const char *const *to, const char *text)
{
    struct herald_message m;

    memset(&m, 0, sizeof(m));
    m.from = "alerts@bank.example";
    m.to = to;
    m.n_to = 1;
    m.text = text;
    m.idempotency_key = KEY;
    m.topic = "t";
    return m;
}

/* Parse raw with Python's email package (a MIME parser that is not ours)
 * and compare its structure with what the message should be: the result
 * is "OK\n" or what differed. want_text/want_html NULL: that part must not
 * exist (a single-part message then). */
static char *python_check(const char *raw, size_t len, const char *subject,
                          const char *want_text, const char *want_html)
{
    static const char script[] =
        "import sys, os, email, json\n"
        "from email import policy\n"
        "m = email.message_from_bytes(open(sys.argv[1], 'rb').read(),\n"
        "                             policy=policy.strict)\n"
        "want = []\n"
        "if os.environ.get('W_TEXT') is not None:\n"
        "    want.append(['text/plain', os.environ['W_TEXT']])\n"
        "if os.environ.get('W_HTML') is not None:\n"
        "    want.append(['text/html', os.environ['W_HTML']])\n"
        "if m.is_multipart():\n"
        "    got = [[p.get_content_type(),\n"
        "            p.get_content().replace('\\r\\n', '\\n')]\n"
        "           for p in m.iter_parts()]\n"
        "    wtype = 'multipart/alternative'\n"
        "else:\n"
        "    got = [[m.get_content_type(),\n"
        "            m.get_content().replace('\\r\\n', '\\n')]]\n"
        "    wtype = want[0][0]\n"
        "bad = {}\n"
        "if m.get_content_type() != wtype: bad['type'] = m.get_content_type()\n"
        "if got != want: bad['parts'] = got\n"
        "if m.defects: bad['defects'] = [type(d).__name__ for d in m.defects]\n"
        "if m.epilogue not in (None, ''): bad['epilogue'] = m.epilogue\n"
        "if str(m['Subject']) != os.environ['W_SUBJECT']:\n"
        "    bad['subject'] = str(m['Subject'])\n"
        "for ln in open(sys.argv[1], 'rb').read().split(b'\\r\\n'):\n"
        "    if len(ln) > 998: bad['long_line'] = len(ln)\n"
        "print(json.dumps(bad) if bad else 'OK')\n";
    char path[] = "/tmp/herald-test-mime-XXXXXX";
    char spath[] = "/tmp/herald-test-mime-py-XXXXXX";
    char cmd[256];
    char *out = calloc(1, 65536);
    int fd = mkstemp(path), sfd = mkstemp(spath);
    FILE *p;

    assert_true(fd >= 0 && sfd >= 0 && out != NULL);
    assert_int_equal(write(fd, raw, len), (ssize_t)len);
    assert_int_equal(write(sfd, script, strlen(script)),
                     (ssize_t)strlen(script));
    close(fd);
    close(sfd);
    setenv("W_SUBJECT", subject, 1);
    if (want_text != NULL) {
        setenv("W_TEXT", want_text, 1);
    } else {
        unsetenv("W_TEXT");
    }
    if (want_html != NULL) {
        setenv("W_HTML", want_html, 1);
    } else {
        unsetenv("W_HTML");
    }
    snprintf(cmd, sizeof(cmd), "python3 %s %s", spath, path);
    p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, 65535, p);
    out[got] = '\0';
    assert_int_equal(pclose(p), 0);
    unlink(path);
    unlink(spath);
    return out;
}

/* The forgery of issue 10 item 6: a string field rendered into the text
 * part tries to close it and open its own text/html part. Even when the
 * attacker knows the boundary the message gets (here the first draw of
 * the test's random source), the structure a real MIME parser sees is
 * exactly the template's: text/plain holding the attacker's text verbatim,
 * then the real text/html, nothing in the epilogue. */
static void test_forged_part_is_only_text(void **state)
{
    static const char *const to[] = {"jane@example.com"};
    static const char forged[] =
        "Hello x\n"
        "--=_herald_" DRAW1 "\n"
        "Content-Type: text/html; charset=UTF-8\n"
        "Content-Transfer-Encoding: 7bit\n"
        "\n"
        "<a href=\"https://evil.example/verify\">Verify your card</a>\n"
        "--=_herald_" DRAW1 "--\n"
        "--=_herald_" DRAW2 "\n"
        "Content-Type: text/html\n"
        "\n"
        "<b>phish</b>\n"
        "--" /* and a bare "--" line too */
        "\n"
        ",\nWe saw 3 transactions.\n";
    static const char html[] = "<p>Hello x,</p><p>We saw 3.</p>\n";
    struct herald_message m;
    char *out = NULL, *verdict;
    size_t len = 0;
    char err[256] = "";
    unsigned next = 0;
    (void)state;

    m = one_to(to, forged);
    m.subject = "Alert";
    m.html = html;
    assert_int_equal(mime_build_r(&m, NULL, 1700000000, counter_random, &next,
                                  &out, &len, err, sizeof(err)),
                     0);
    /* The text part is encoded: no line of it starts with "--". */
    assert_non_null(strstr(out, "Content-Type: text/plain; charset=UTF-8\r\n"
                                "Content-Transfer-Encoding: "
                                "quoted-printable\r\n\r\nHello x\r\n=2D-=3D_"));
    /* DRAW1 and DRAW2 are in the text: the third draw is the boundary. */
    assert_non_null(strstr(out, "boundary=\"=_herald_202122232425262728292a2b"
                                "2c2d2e2f\""));
    verdict = python_check(out, len, "Alert", forged, html);
    assert_string_equal(verdict, "OK\n");
    free(verdict);
    free(out);

    /* Two messages from the operating system's random source get two
     * different boundaries. */
    char *b1 = NULL, *b2 = NULL;
    assert_int_equal(mime_build(&m, NULL, 0, &b1, &len, err, sizeof(err)), 0);
    assert_int_equal(mime_build(&m, NULL, 0, &b2, &len, err, sizeof(err)), 0);
    const char *p1 = strstr(b1, "boundary=\""), *p2 = strstr(b2, "boundary=\"");
    assert_non_null(p1);
    assert_non_null(p2);
    assert_memory_not_equal(p1, p2, 10 + 9 + 32);
    free(b1);
    free(b2);
}

/* Every line of raw is at most max octets. */
static void assert_lines_within(const char *raw, size_t max)
{
    const char *p = raw;
    while (*p) {
        const char *e = strstr(p, "\r\n");
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n > max) {
            fail_msg("line of %zu octets: %.60s...", n, p);
        }
        p += n + (e ? 2 : 0);
    }
}

/* Issue 10 item 9: a subject over 998 octets is folded or encoded, never
 * refused; a long display name folds as encoded-words; one over 256
 * octets is refused; no header line exceeds 78 octets here. Python's
 * parser reads the subject back exactly. */
static void test_long_headers_fold(void **state)
{
    static char subject_words[3001], subject_word[2001], name[201],
        mailbox[300], longname[400];
    static const char *to[1];
    struct herald_message m;
    char *out = NULL, *verdict;
    size_t len = 0;
    char err[256] = "";
    (void)state;

    for (size_t i = 0; i < 3000; i++) {
        subject_words[i] = i % 7 == 6 ? ' ' : (char)('a' + i % 26);
    }
    subject_words[3000] = '\0';
    memset(subject_word, 'S', 2000);
    subject_word[2000] = '\0';
    memset(name, 'N', 200);
    name[200] = '\0';
    snprintf(mailbox, sizeof(mailbox), "%s <jane@example.com>", name);
    to[0] = mailbox;

    m = one_to(to, "Hi\n");
    const char *subjects[] = {subject_words, subject_word};
    for (int k = 0; k < 2; k++) {
        m.subject = subjects[k];
        assert_int_equal(mime_build(&m, NULL, 0, &out, &len, err, sizeof(err)),
                         0);
        assert_lines_within(out, 78);
        verdict = python_check(out, len, subjects[k], "Hi\n", NULL);
        assert_string_equal(verdict, "OK\n");
        free(verdict);
        free(out);
    }
    /* the display name survives the folding */
    m.subject = "s";
    assert_int_equal(mime_build(&m, NULL, 0, &out, &len, err, sizeof(err)), 0);
    assert_non_null(strstr(out, "To: =?UTF-8?B?Tk5O"));
    assert_lines_within(out, 78);
    free(out);

    memset(longname, 'L', 257);
    snprintf(longname + 257, sizeof(longname) - 257, " <jane@example.com>");
    to[0] = longname;
    assert_rejects(&m, "To: display name is longer than 256 octets (257)");
}

/* Issue 10 item 12: a long run of UTF-8 continuation bytes (invalid
 * UTF-8) used to loop forever in put_encoded_words; now it is carried in
 * lines of at most 78 characters. */
static void test_encoded_words_continuation_run(void **state)
{
    char in[301];
    (void)state;

    memset(in, 0x80, 300);
    in[300] = '\0';
    char *out = mime_encode_words(in, 9);
    assert_non_null(out);
    assert_lines_within(out, 78);
    /* 300 bytes of base64 in words of at most 48 bytes (64 characters) */
    assert_true(strlen(out) > 400);
    assert_memory_equal(out, "=?UTF-8?B?gICA", 14);
    free(out);
}

/* Issue 10 item 14: the header-text rule is on code points. */
static void test_header_text_code_points(void **state)
{
    size_t off = 0;
    uint32_t cp = 0;
    (void)state;

    assert_int_equal(hdrtext_check("caf\xc3\xa9 \xe2\x80\x94 ok", 0, &off, &cp),
                     0);
    assert_int_equal(hdrtext_check("a\xc2\x85"
                                   "b",
                                   0, &off, &cp),
                     -1);
    assert_int_equal(off, 1);
    assert_int_equal(cp, 0x85);
    assert_int_equal(hdrtext_check("ab\xe2\x80\xa8", 0, &off, &cp), -1);
    assert_int_equal(off, 2);
    assert_int_equal(cp, 0x2028);
    assert_int_equal(hdrtext_check("\xe2\x80\xa9", 0, &off, &cp), -1);
    assert_int_equal(cp, 0x2029);
    assert_int_equal(hdrtext_check("x\xc2\x9f", 0, &off, &cp), -1);
    assert_int_equal(cp, 0x9f);
    assert_int_equal(hdrtext_check("\x7f", 0, &off, &cp), -1);
    assert_int_equal(cp, 0x7f);
    assert_int_equal(hdrtext_check("a\tb", 0, &off, &cp), -1);
    assert_int_equal(hdrtext_check("a\tb", 1, &off, &cp), 0);
    /* invalid UTF-8: stray continuation, overlong, surrogate, truncated,
     * above U+10FFFF */
    const char *bad[] = {"a\x80",    "\xc0\x8a",         "\xed\xa0\x80",
                         "\xe2\x80", "\xf4\x90\x80\x80", "\xff"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(hdrtext_check(bad[i], 0, &off, &cp), -1);
        assert_int_equal(cp, HDRTEXT_INVALID);
    }
    assert_int_equal(addr_text_safe("a\xc2\x85"), 0);
    assert_int_equal(addr_text_safe("a\xe2\x80\xa8"), 0);
    assert_int_equal(addr_text_safe("caf\xc3\xa9"), 1);
    /* The builder refuses them in a subject, a header value and a
     * display name. */
    struct herald_message m = base_message();
    static const char *const nel_to[] = {"Jane\xc2\x85Roe <jane@example.com>"};
    static const struct herald_header ls[] = {{"X-Ok", "a\xe2\x80\xa8"
                                                       "b"}};
    m.subject = "hi\xc2\x85"
                "Bcc: x@y";
    assert_rejects(&m, "subject holds a control character");
    m = base_message();
    m.headers = ls;
    assert_rejects(&m, "header 'X-Ok' value holds a control character");
    m = base_message();
    m.to = nel_to;
    m.n_to = 1;
    assert_rejects(&m, "To: address holds a control character");
}

/* A key that is not the host's keyed hash (it could be the plain dedup
 * key, card number included) never reaches the wire: the Message-ID is
 * random instead. */
static void test_plain_key_never_written(void **state)
{
    struct herald_message m = base_message();
    char *out = NULL;
    size_t len = 0;
    char err[256] = "";
    unsigned next = 0;
    (void)state;

    m.idempotency_key = "4111111111111111@1700000000000";
    assert_int_equal(mime_build_r(&m, NULL, 0, counter_random, &next, &out,
                                  &len, err, sizeof(err)),
                     0);
    assert_non_null(strstr(out, "Message-ID: <" DRAW1 "@herald>\r\n"));
    assert_null(strstr(out, "4111"));
    free(out);
    assert_int_equal(mime_idempotency_ok(KEY), 1);
    assert_int_equal(mime_idempotency_ok("1F08F2BFFACC2932DF29CCFDF26867E2"
                                         "79245DE0BDC42CFFC415AD790720D110"),
                     0);
    assert_int_equal(mime_idempotency_ok(KEY "0"), 0);
    assert_int_equal(mime_idempotency_ok(NULL), 0);
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
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_forged_part_is_only_text),
        cmocka_unit_test(test_long_headers_fold),
        cmocka_unit_test(test_encoded_words_continuation_run),
        cmocka_unit_test(test_header_text_code_points),
        cmocka_unit_test(test_plain_key_never_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
