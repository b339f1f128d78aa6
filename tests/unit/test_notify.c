/*
 * test_notify.c - the notify stage: loading a `notify:` section (errors
 * with positions), rendering the tutorial's possible_anomalies record with
 * the shipped templates, header-injection and address checks, and the
 * sensitive-field safety net.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "hmac.h"
#include "notify.h"
#include "record.h"

#define CONFIG_DIR HERALD_SOURCE_DIR "/config"
#define CARD "358579699410099"
/* The tests' hash_key; expected HMACs are from Python's hmac module. */
#define HASH_KEY "test-hash-key-0123456789"

static struct herald__node *root;
static struct herald__diag diag;
static struct herald__hash_key *hash_key;
static int no_hash_key; /* load() without a hash key */
/* The channel's plugin load() builds for (NULL: an email channel). */
static const struct herald_plugin *channel_def;

/* Load `yaml` (a document with a top-level `notify:` and maybe `dedup:`)
 * and build the stage. NULL if it did not load; diag holds why. */
static struct herald__notify *load(const char *yaml)
{
    herald__config_destroy(root);
    herald__diag_cleanup(&diag);
    herald__diag_init(&diag);
    root = herald__config_load_string("n.yaml", yaml, strlen(yaml), &diag);
    assert_non_null(root);
    assert_int_equal(diag.n, 0);
    if (hash_key == NULL) {
        hash_key = herald__hash_key_from(HASH_KEY, strlen(HASH_KEY));
        assert_non_null(hash_key);
    }
    return herald__notify_new_for(
        herald__node_get(root, "notify"), herald__node_get(root, "dedup"),
        channel_def, CONFIG_DIR, no_hash_key ? NULL : hash_key, &diag);
}

/* Loading must fail with exactly these messages (NULL-terminated). */
static void load_fails(const char *yaml, ...)
{
    va_list ap;
    size_t n = 0;
    struct herald__notify *nt = load(yaml);

    assert_null(nt);
    va_start(ap, yaml);
    for (const char *want = va_arg(ap, const char *); want != NULL;
         want = va_arg(ap, const char *)) {
        assert_true(n < diag.n);
        assert_string_equal(diag.msgs[n], want);
        n++;
    }
    va_end(ap);
    assert_int_equal(diag.n, n);
}

/* The record ksqlDB writes for the tutorial's first anomaly, with the
 * value fields given as JSON (NULL: the tutorial's). */
static struct herald_record *anomaly(const char *value_json)
{
    static const char def[] =
        "{\"card_number\":\"" CARD "\","
        "\"email_address\":\"michael@example.com\",\"n_attempts\":3,"
        "\"total_amount\":\"232.41\",\"tx_ids\":["
        "\"f88c5ebb-699c-4a7b-b544-45b30681cc39\","
        "\"044530c0-b15d-4648-8f05-940acc321eb7\","
        "\"c5719d20-8d4a-47d4-8cd3-52ed784c89dc\"],"
        "\"start_boundary\":1587525570000,\"end_boundary\":1587525600000}";
    unsigned char key[15 + 8];
    uint64_t start = 1587525570000ULL;
    json_error_t jerr;
    struct herald_record *r;
    json_t *j;

    memcpy(key, CARD, 15);
    for (int i = 0; i < 8; i++) {
        key[15 + i] = (unsigned char)(start >> (56 - 8 * i));
    }
    r = herald__record_new("possible_anomalies", 3, 42, 1587525598000, key,
                           sizeof key, "\0\0\0\0\1", 5);
    assert_non_null(r);
    j = json_loads(value_json ? value_json : def, JSON_ALLOW_NUL, &jerr);
    r->value_val = herald__record_val_from_json(r, j);
    json_decref(j);
    assert_non_null(r->value_val);
    j = json_string(CARD);
    r->key_val = herald__record_val_from_json(r, j);
    json_decref(j);
    assert_non_null(r->key_val);
    r->has_window = 1;
    r->window_start = 1587525570000;
    r->window_end = -1;
    return r;
}

static const char tutorial_yaml[] =
    "notify:\n"
    "  channel: email\n"
    "  to: \"{{email_address}}\"\n"
    "  subject: \"Suspicious activity on your card ending "
    "{{card_number | last4}}\"\n"
    "  text_file: templates/possible_anomaly.txt\n"
    "  html_file: templates/possible_anomaly.html\n";

static const char tutorial_text[] =
    "Hello,\n"
    "\n"
    "We noticed 3 attempts to use your card ending in 0099, for a total of "
    "232.41, between 2020-04-22 03:19:30 UTC and 03:20:00 UTC.\n"
    "\n"
    "If these were yours, there is nothing to do. If not, please call the "
    "number on the back of your card so we can block it.\n"
    "\n"
    "Fraud Alerts\n";

static const char tutorial_html[] =
    "<!DOCTYPE html>\n"
    "<html>\n"
    "<body style=\"font-family: sans-serif\">\n"
    "<p>Hello,</p>\n"
    "<p>We noticed <strong>3 attempts</strong> to use your card ending in "
    "<strong>0099</strong>, for a total of <strong>232.41</strong>, between "
    "2020-04-22 03:19:30 UTC and 03:20:00 UTC.</p>\n"
    "<p>If these were yours, there is nothing to do. If not, please call the "
    "number on the back of your card so we can block it.</p>\n"
    "<p>Fraud Alerts</p>\n"
    "</body>\n"
    "</html>\n";

static void test_tutorial_render(void **state)
{
    struct herald__notify *n = load(tutorial_yaml);
    struct herald_record *r = anomaly(NULL);
    struct herald__rendered *out = NULL;
    const struct herald_message *m;
    char err[512];
    (void)state;

    assert_non_null(n);
    assert_string_equal(herald__notify_channel(n), "email");
    assert_int_equal(herald__notify_render(n, r, &out, err, sizeof err), 0);
    m = herald__rendered_message(out);
    assert_int_equal(m->struct_size, sizeof(struct herald_message));
    assert_null(m->from);
    assert_int_equal(m->n_to, 1);
    assert_string_equal(m->to[0], "michael@example.com");
    assert_int_equal(m->n_cc, 0);
    assert_null(m->reply_to);
    assert_string_equal(m->subject,
                        "Suspicious activity on your card ending 0099");
    assert_string_equal(m->text, tutorial_text);
    assert_string_equal(m->html, tutorial_html);
    assert_int_equal(m->n_headers, 0);
    /* HMAC-SHA-256(HASH_KEY, CARD "@1587525570000"): only the keyed hash
     * of the dedup key reaches the channel. */
    assert_string_equal(m->idempotency_key, "eb214fa95b939228e6d15d5e2f3fa3b3"
                                            "f93c95af3f4628b7da82b430064e81aa");
    assert_string_equal(m->topic, "possible_anomalies");
    assert_int_equal(m->partition, 3);
    assert_int_equal(m->offset, 42);
    assert_ptr_equal(m->record, r);
    /* The full card number is nowhere the cardholder can read. */
    assert_null(strstr(m->subject, CARD));
    assert_null(strstr(m->text, CARD));
    assert_null(strstr(m->html, CARD));
    assert_null(strstr(m->to[0], CARD));
    herald__rendered_destroy(out);

    /* A channel's from fills in when notify has none. */
    herald__config_destroy(root);
    herald__diag_cleanup(&diag);
    herald__diag_init(&diag);
    root = herald__config_load_string(
        "c.yaml", "from: \"Fraud Alerts <alerts@bank.example>\"\n",
        strlen("from: \"Fraud Alerts <alerts@bank.example>\"\n"), &diag);
    assert_non_null(root);
    assert_int_equal(
        herald__notify_default_from(n, herald__node_get(root, "from"), &diag),
        0);
    assert_int_equal(herald__notify_render(n, r, &out, err, sizeof err), 0);
    assert_string_equal(herald__rendered_message(out)->from,
                        "Fraud Alerts <alerts@bank.example>");
    herald__rendered_destroy(out);
    herald__notify_destroy(n);
    herald__record_destroy(r);
}

/* Render the tutorial record (value_json NULL) with `yaml`; expect the
 * REJECT reason `want` (NULL: success). */
static void render_expect(const char *yaml, const char *value_json,
                          const char *want)
{
    struct herald__notify *n = load(yaml);
    struct herald_record *r = anomaly(value_json);
    struct herald__rendered *out = NULL;
    char err[512] = "";
    int rc;

    if (n == NULL) {
        print_error("load failed: %s\n", diag.n ? diag.msgs[0] : "?");
    }
    assert_non_null(n);
    rc = herald__notify_render(n, r, &out, err, sizeof err);
    if (want == NULL) {
        if (rc != 0) {
            print_error("unexpected reject: %s\n", err);
        }
        assert_int_equal(rc, 0);
        assert_non_null(out);
    } else {
        assert_int_equal(rc, -1);
        assert_null(out);
        assert_string_equal(err, want);
    }
    herald__rendered_destroy(out);
    herald__notify_destroy(n);
    herald__record_destroy(r);
}

#define BASE "notify:\n  channel: email\n  text: \"{{n_attempts}} attempts\"\n"

static void test_header_injection(void **state)
{
    (void)state;
    const char *yaml = BASE "  to: \"{{email_address}}\"\n"
                            "  subject: \"{{card_number | last4}}\"\n";
    render_expect(yaml,
                  "{\"email_address\":\"a@b.example\\r\\nBcc: "
                  "x@evil.example\",\"card_number\":\"1\",\"n_attempts\":3}",
                  "'to' contains a control character (CR)");
    render_expect(yaml,
                  "{\"email_address\":\"a@b.example\\nBcc: x@evil.example\","
                  "\"card_number\":\"1\",\"n_attempts\":3}",
                  "'to' contains a control character (LF)");
    render_expect(yaml,
                  "{\"email_address\":\"a@b.example\\u0000x@evil.example\","
                  "\"card_number\":\"1\",\"n_attempts\":3}",
                  "to: field 'email_address' contains a NUL character");
    render_expect(BASE "  to: a@b.example\n  subject: \"Re: {{s}}\"\n",
                  "{\"s\":\"hi\\nBcc: x@evil.example\",\"n_attempts\":1}",
                  "'subject' contains a control character (LF)");
    render_expect(BASE "  to: a@b.example\n  subject: \"{{s}}\"\n",
                  "{\"s\":\"bell\\u0007\",\"n_attempts\":1}",
                  "'subject' contains a control character (0x07)");
    render_expect(BASE "  to: a@b.example\n  subject: s\n"
                       "  headers: { X-Ref: \"{{s}}\" }\n",
                  "{\"s\":\"1\\r\\nBcc: x@evil.example\",\"n_attempts\":1}",
                  "'X-Ref' contains a control character (CR)");
    render_expect(BASE "  to: a@b.example\n  subject: s\n"
                       "  idempotency_key: \"{{s}}\"\n",
                  "{\"s\":\"k\\r\\n\",\"n_attempts\":1}",
                  "'idempotency_key' contains a control character (CR)");
    render_expect(BASE "  to: a@b.example\n  subject: s\n"
                       "  from: \"{{s}} <alerts@bank.example>\"\n",
                  "{\"s\":\"Bank\\r\\nBcc: x@evil.example\","
                  "\"n_attempts\":1}",
                  "'from' contains a control character (CR)");
    /* The rule works on code points: C1 controls (NEL), the Unicode line
     * and paragraph separators and TAB are refused; other non-ASCII text
     * passes (issue 10 item 14). */
    render_expect(BASE "  to: a@b.example\n  subject: \"{{s}}\"\n",
                  "{\"s\":\"a\\u0085Bcc: x\",\"n_attempts\":1}",
                  "'subject' contains a control character (U+0085)");
    render_expect(BASE "  to: a@b.example\n  subject: \"{{s}}\"\n",
                  "{\"s\":\"a\\u2028b\",\"n_attempts\":1}",
                  "'subject' contains a control character (U+2028)");
    render_expect(BASE "  to: a@b.example\n  subject: \"{{s}}\"\n",
                  "{\"s\":\"a\\u2029b\",\"n_attempts\":1}",
                  "'subject' contains a control character (U+2029)");
    render_expect(BASE "  to: a@b.example\n  subject: \"{{s}}\"\n",
                  "{\"s\":\"a\\u009bb\",\"n_attempts\":1}",
                  "'subject' contains a control character (U+009B)");
    render_expect(BASE "  to: a@b.example\n  subject: \"{{s}}\"\n",
                  "{\"s\":\"a\\tb\",\"n_attempts\":1}",
                  "'subject' contains a control character (TAB)");
    render_expect(BASE "  to: a@b.example\n  subject: s\n"
                       "  headers: { X-Ref: \"{{s}}\" }\n",
                  "{\"s\":\"1\\u0085x\",\"n_attempts\":1}",
                  "'X-Ref' contains a control character (U+0085)");
    render_expect(BASE "  to: a@b.example\n  subject: s\n"
                       "  from: \"{{s}} <alerts@bank.example>\"\n",
                  "{\"s\":\"Bank\\u2028x\",\"n_attempts\":1}",
                  "'from' contains a control character (U+2028)");
    render_expect(BASE "  to: a@b.example\n  subject: \"{{s}}\"\n",
                  "{\"s\":\"Caf\\u00e9 \\u2014 ok\",\"n_attempts\":1}", NULL);
}

static void test_addresses(void **state)
{
    (void)state;
    const char *yaml = BASE "  to: \"{{a}}\"\n  subject: s\n";
    render_expect(yaml, "{\"a\":\"not-an-address\",\"n_attempts\":1}",
                  "'to' is not a valid address: no '@'");
    render_expect(yaml, "{\"a\":\"a,b@x.example\",\"n_attempts\":1}",
                  "'to' is not a valid address: character ',' not allowed "
                  "in the local part");
    render_expect(yaml,
                  "{\"a\":\"a@x.example, evil@y.example\",\"n_attempts\":1}",
                  "'to' is not a valid address: character '@' not allowed "
                  "in the local part");
    render_expect(yaml, "{\"a\":\"<a@x.example>\",\"n_attempts\":1}", NULL);
    render_expect(yaml,
                  "{\"a\":\"Eve <e@x.example>, <v@y.example>\","
                  "\"n_attempts\":1}",
                  "'to' is not a valid address: character '<' not allowed "
                  "in an unquoted display name");
    render_expect(yaml, "{\"a\":\"a b@x.example\",\"n_attempts\":1}",
                  "'to' is not a valid address: character 0x20 not allowed "
                  "in the local part");
    render_expect(yaml, "{\"a\":\"a..b@x.example\",\"n_attempts\":1}",
                  "'to' is not a valid address: misplaced '.' in the local "
                  "part");
    render_expect(yaml, "{\"a\":\"a@-x.example\",\"n_attempts\":1}",
                  "'to' is not a valid address: bad domain label");
    render_expect(yaml, "{\"a\":\"a@bücher.example\",\"n_attempts\":1}",
                  "'to' is not a valid address: character 0xc3 not allowed "
                  "in the domain (use punycode)");
    render_expect(yaml,
                  "{\"a\":\"\\\"Bad \\\" Quote\\\" <a@x.example>\","
                  "\"n_attempts\":1}",
                  "'to' is not a valid address: character '\"' not allowed "
                  "in a display name");
    render_expect(yaml, "{\"n_attempts\":1}", "to: field 'a' is missing");
    render_expect(BASE "  to: [\"\\\"Fraud Alerts\\\" <alerts@bank.example>\","
                       " \"Ops Team <ops@bank.example>\", ops@localhost]\n"
                       "  cc: \"{{a}}\"\n  subject: s\n",
                  "{\"a\":\"O'Brien+alerts@mail.bank.example\","
                  "\"n_attempts\":1}",
                  NULL);

    char err[256];
    char longer[300];
    memset(longer, 'a', 250);
    strcpy(longer + 250, "@x.example");
    assert_int_equal(herald__notify_check_address(longer, err, sizeof err), -1);
    assert_string_equal(err, "longer than 254 octets");
    longer[240] = '\0';
    assert_int_equal(herald__notify_check_address(longer, err, sizeof err), -1);
    assert_string_equal(err, "no '@'");
}

static void test_subject_and_bodies(void **state)
{
    char big[1100];
    char json[1200];
    (void)state;

    /* A subject over 998 octets is the channel's to fold, not a reject:
     * the alert must not be lost (issue 10 item 9). */
    memset(big, 'x', 1050);
    big[1050] = '\0';
    snprintf(json, sizeof json, "{\"s\":\"%s\",\"n_attempts\":1}", big);
    render_expect(BASE "  to: a@b.example\n  subject: \"{{s}}\"\n", json, NULL);
    big[998] = '\0';
    snprintf(json, sizeof json, "{\"s\":\"%s\",\"n_attempts\":1}", big);
    render_expect(BASE "  to: a@b.example\n  subject: \"{{s}}\"\n", json, NULL);

    /* Bodies keep newlines from data, normalized to LF. */
    struct herald__notify *n =
        load("notify:\n  channel: email\n  to: a@b.example\n  subject: s\n"
             "  text: \"{{t}}\\r\\n--\"\n  html: \"<p>{{t}}</p>\"\n"
             "  headers:\n    X-Campaign: fraud-{{n}}\n");
    struct herald_record *r = anomaly("{\"t\":\"a\\r\\nb\\rc\\nd\",\"n\":7}");
    struct herald__rendered *out = NULL;
    char err[256];
    assert_non_null(n);
    assert_int_equal(herald__notify_render(n, r, &out, err, sizeof err), 0);
    const struct herald_message *m = herald__rendered_message(out);
    assert_string_equal(m->text, "a\nb\nc\nd\n--");
    assert_string_equal(m->html, "<p>a\nb\nc\nd</p>");
    assert_int_equal(m->n_headers, 1);
    assert_string_equal(m->headers[0].name, "X-Campaign");
    assert_string_equal(m->headers[0].value, "fraud-7");
    herald__rendered_destroy(out);
    herald__notify_destroy(n);
    herald__record_destroy(r);
}

static void test_sensitive(void **state)
{
    (void)state;
    const char *leak = "rendered message contains the full value of "
                       "sensitive field 'card_number'";
    render_expect("notify:\n  channel: email\n  to: \"{{email_address}}\"\n"
                  "  subject: \"Card {{card_number}}\"\n  text: hi\n",
                  NULL, leak);
    render_expect("notify:\n  channel: email\n  to: \"{{email_address}}\"\n"
                  "  subject: hi\n  text: \"Card {{card_number | upper}}\"\n",
                  NULL, leak);
    render_expect("notify:\n  channel: email\n  to: \"{{email_address}}\"\n"
                  "  subject: hi\n  text: x\n  html: \"<b>{{tx_ids}} "
                  "{{card_number}}</b>\"\n",
                  NULL, leak);
    render_expect("notify:\n  channel: email\n  to: \"{{email_address}}\"\n"
                  "  subject: hi\n  text: x\n"
                  "  headers: { X-Card: \"{{card_number}}\" }\n",
                  NULL, leak);
    render_expect("notify:\n  channel: email\n  to: \"{{email_address}}\"\n"
                  "  subject: \"Card {{card_number}}\"\n  text: hi\n"
                  "  allow_sensitive: true\n",
                  NULL, NULL);
    render_expect("notify:\n  channel: email\n  to: \"{{email_address}}\"\n"
                  "  subject: \"Card {{card_number}}\"\n  text: hi\n"
                  "  sensitive: []\n",
                  NULL, NULL);
    render_expect("notify:\n  channel: email\n  to: a@b.example\n"
                  "  subject: hi\n  text: \"Mail {{email_address}}\"\n"
                  "  sensitive: [card_number, email_address]\n",
                  NULL,
                  "rendered message contains the full value of sensitive "
                  "field 'email_address'");
    /* Values too short to mean anything are not checked. */
    render_expect("notify:\n  channel: email\n  to: a@b.example\n"
                  "  subject: \"{{card_number}}\"\n  text: hi\n",
                  "{\"card_number\":\"12345\"}", NULL);
}

static void test_idempotency_key(void **state)
{
    struct herald__notify *n;
    struct herald_record *r;
    struct herald__rendered *out = NULL;
    char err[256];
    (void)state;

    /* The connector's dedup.key is the default. */
    n = load("notify:\n  channel: email\n  to: a@b.example\n  subject: s\n"
             "  text: t\n"
             "dedup: { key: \"{{card_number | last4}}@{{start_boundary}}\" }"
             "\n");
    assert_non_null(n);
    r = anomaly(NULL);
    assert_int_equal(herald__notify_render(n, r, &out, err, sizeof err), 0);
    /* HMAC("0099@1587525570000") */
    assert_string_equal(herald__rendered_message(out)->idempotency_key,
                        "c942e025cfb758841b746b6061ad6006"
                        "e3fdf2806c0c7ba6c77638bd531fc021");
    herald__rendered_destroy(out);
    herald__notify_destroy(n);

    /* Without a window: topic-partition-offset. */
    n = load("notify:\n  channel: email\n  to: a@b.example\n  subject: s\n"
             "  text: t\n");
    assert_non_null(n);
    r->has_window = 0;
    assert_int_equal(herald__notify_render(n, r, &out, err, sizeof err), 0);
    /* HMAC("possible_anomalies-3-42") */
    assert_string_equal(herald__rendered_message(out)->idempotency_key,
                        "34ef15b272d8a8c99299f8cc9884bcf5"
                        "79d97cf80d5eb329bb474bed4afda47f");
    herald__rendered_destroy(out);
    herald__notify_destroy(n);
    herald__record_destroy(r);
}

static void test_load_errors(void **state)
{
    (void)state;
    load_fails("notify:\n  channel: email\n  to: \"{{email_address}}\"\n"
               "  subject: \"Card ending {{card_number | last5}}\"\n"
               "  text: ok\n",
               "n.yaml:4:41: unknown filter 'last5' (did you mean "
               "'last4'?)",
               NULL);
    load_fails("notify:\n  channel: email\n  to: {a: b}\n"
               "  subject: s\n  text: t\n",
               "n.yaml:3:7: 'notify.to' expects a template or a non-empty "
               "list of them; got a map",
               NULL);
    load_fails("notify:\n  channel: email\n  to: a@b.example\n"
               "  subject: s\n  txt: t\n",
               "n.yaml:5:3: unknown key 'txt' (did you mean 'text'?)",
               "n.yaml:2:3: a body is required: 'text', 'text_file', "
               "'html' or 'html_file'",
               NULL);
    load_fails("notify:\n  to: a@b.example\n  text: t\n",
               "n.yaml:2:3: 'channel' is required: the name of an entry "
               "under 'channels'",
               "n.yaml:2:3: 'subject' is required", NULL);
    load_fails("notify:\n  channel: email\n  subject: s\n  text: t\n"
               "  text_file: templates/possible_anomaly.txt\n",
               "n.yaml:2:3: 'to' is required: one or more recipient "
               "templates",
               "n.yaml:5:14: use either 'text' or 'text_file', not both", NULL);
    load_fails("notify:\n  channel: email\n  to: a@b.example\n  subject: s\n"
               "  text_file: templates/nope.txt\n",
               "n.yaml:5:14: cannot read template file '" CONFIG_DIR
               "/templates/nope.txt': No such file or directory",
               NULL);
    load_fails("notify:\n  channel: email\n  to: a@b.example\n  subject: s\n"
               "  text: t\n  headers:\n    Bcc: x@evil.example\n"
               "    \"X Bad\": v\n    X-Ok: \"{{a | nope}}\"\n",
               "n.yaml:7:5: header 'Bcc' is set by herald or the channel; "
               "use the notify keys (from, to, cc, reply_to, subject) "
               "instead",
               "n.yaml:8:5: 'X Bad' is not a valid header name (printable "
               "ASCII without ':' or spaces, at most 76)",
               "n.yaml:9:18: unknown filter 'nope' (filters: last4, mask, "
               "upper, lower, default, datetime, decimal, join, json, raw)",
               NULL);
    load_fails("notify:\n  channel: email\n  to: [a@b.example, \"{{x..y}}\"]"
               "\n  subject: s\n  text: t\n  sensitive: [card..number]\n"
               "  allow_sensitive: yes\n",
               "n.yaml:3:26: malformed path 'x..y': expected a field name "
               "after '.'",
               "n.yaml:6:15: malformed path 'card..number': expected a field "
               "name after '.'",
               "n.yaml:7:20: 'notify.allow_sensitive' expects true or false; "
               "got 'yes'",
               NULL);
    /* The keys of herald__notify_section get the shared value error. */
    load_fails("notify:\n  channel: \"\"\n  to: a@b.example\n  subject: s\n"
               "  text: t\n  sensitive: {a: b}\n",
               "n.yaml:2:12: 'notify.channel' expects a non-empty string; got "
               "''",
               "n.yaml:6:14: 'notify.sensitive' expects a list of strings (or "
               "one string); got a map",
               NULL);
    load_fails("notify:\n  channel: [a]\n  to: a@b.example\n  subject: s\n"
               "  text: t\n  sensitive: [card_number, [x]]\n",
               "n.yaml:2:12: 'notify.channel' expects a non-empty string; got "
               "a list",
               "n.yaml:6:28: 'notify.sensitive[1]' expects a string; got a "
               "list",
               NULL);
}

/* Without the deployment's hash_key a notify connector does not load:
 * there is no unkeyed fallback (issue 10 item 5). */
static void test_needs_hash_key(void **state)
{
    (void)state;
    no_hash_key = 1;
    load_fails("notify:\n  channel: email\n  to: a@b.example\n"
               "  subject: s\n  text: t\n",
               "n.yaml:2:3: a notify connector needs the top-level "
               "'hash_key' (a secret of at least 16 bytes, e.g. "
               "${file:/run/secrets/herald_hash_key}): the Message-ID and "
               "dedup marks are a keyed hash of the dedup key, which holds "
               "record data",
               NULL);
    no_hash_key = 0;
}

/* ---- Channels that declare their fields (ABI 1.1) -------------------- */

static const char *const severities[] = {"critical", "error", "warning", "info",
                                         NULL};

/* A paging channel's declaration, as an out-of-tree plugin writes it. */
static const struct herald_field pager_fields[] = {
    {"summary", HERALD_FIELD_HEADER_TEXT, 1, NULL, "one line"},
    {"severity", HERALD_FIELD_ENUM, 1, severities, "how bad"},
    {"details", HERALD_FIELD_JSON, 0, NULL, "custom details"},
    {"notes", HERALD_FIELD_TEXT, 0, NULL, "free text"},
    {"owners", HERALD_FIELD_ADDRESS_LIST, 0, NULL, "who"},
    {NULL, 0, 0, NULL, NULL},
};

static const struct herald_plugin pager = {
    HERALD_PLUGIN_HEADER,
    .name = "pager",
    .kind = HERALD_PLUGIN_NOTIFY,
    HERALD_FIELDS(pager_fields),
};

static void test_fields_load_errors(void **state)
{
    (void)state;
    channel_def = &pager;
    /* Email keys are not fields of this channel; required ones missing;
     * a constant enum value checked at load. */
    load_fails("notify:\n"
               "  channel: page\n"
               "  to: \"{{email_address}}\"\n"
               "  subject: s\n"
               "  severity: urgent\n",
               "n.yaml:3:3: unknown field 'to' for channel 'page' (plugin "
               "pager takes: summary, severity, details, notes, owners)",
               "n.yaml:4:3: unknown field 'subject' for channel 'page' "
               "(plugin pager takes: summary, severity, details, notes, "
               "owners)",
               "n.yaml:2:3: 'summary' is required by channel 'page' (plugin "
               "pager): one line",
               "n.yaml:5:13: 'notify.severity' expects one of: critical, "
               "error, warning, info; got 'urgent'",
               NULL);
    /* Templates inside a JSON tree are compiled with their positions. */
    load_fails("notify:\n"
               "  channel: page\n"
               "  summary: s\n"
               "  severity: info\n"
               "  details:\n"
               "    a: [1, \"{{x | nofilter}}\"]\n",
               "n.yaml:6:19: unknown filter 'nofilter' (filters: last4, "
               "mask, upper, lower, default, datetime, decimal, join, json, "
               "raw)",
               NULL);
    channel_def = NULL;
}

static void test_fields_render(void **state)
{
    struct herald_record *r = anomaly(NULL);
    struct herald__rendered *out = NULL;
    const struct herald_message *m;
    char err[512];
    (void)state;

    channel_def = &pager;
    struct herald__notify *n =
        load("notify:\n"
             "  channel: page\n"
             "  summary: \"{{n_attempts}} attempts on card "
             "{{card_number | last4}}\"\n"
             "  severity: \"{{sev | default \\\"error\\\"}}\"\n"
             "  details:\n"
             "    total: \"{{total_amount}}\"\n"
             "    attempts: 3\n"
             "    ok: true\n"
             "    none: null\n"
             "    quoted: \"3\"\n"
             "    tx: [\"{{tx_ids[0]}}\", 1.5]\n"
             "  notes_file: templates/possible_anomaly.txt\n"
             "  owners: [\"{{email_address}}\", ops@bank.example]\n");
    assert_non_null(n);
    assert_int_equal(herald__notify_render(n, r, &out, err, sizeof err), 0);
    m = herald__rendered_message(out);
    assert_int_equal(m->n_fields, 5);
    assert_null(m->to);
    assert_null(m->subject);
    assert_string_equal(m->fields[0].name, "summary");
    assert_string_equal(m->fields[0].value, "3 attempts on card 0099");
    assert_string_equal(m->fields[1].value, "error");
    assert_string_equal(m->fields[2].value,
                        "{\"total\":\"232.41\",\"attempts\":3,\"ok\":true,"
                        "\"none\":null,\"quoted\":\"3\",\"tx\":["
                        "\"f88c5ebb-699c-4a7b-b544-45b30681cc39\",1.5]}");
    assert_string_equal(m->fields[3].value, tutorial_text);
    assert_int_equal(m->fields[4].n_items, 2);
    assert_string_equal(m->fields[4].items[0], "michael@example.com");
    assert_string_equal(m->fields[4].items[1], "ops@bank.example");
    assert_string_equal(m->fields[4].value, "michael@example.com");
    assert_string_equal(m->idempotency_key, "eb214fa95b939228e6d15d5e2f3fa3b3"
                                            "f93c95af3f4628b7da82b430064e81aa");
    herald__rendered_destroy(out);
    herald__notify_destroy(n);
    herald__record_destroy(r);

    /* Record data can never change the JSON's structure. */
    r = anomaly("{\"card_number\":\"" CARD "\",\"n_attempts\":3,"
                "\"sev\":\"info\","
                "\"total_amount\":\"1\\\",\\\"x\\\":{\\\"y\\\":1}\"}");
    n = load("notify:\n  channel: page\n  summary: s\n"
             "  severity: \"{{sev}}\"\n"
             "  details: {total: \"{{total_amount}}\"}\n");
    assert_non_null(n);
    assert_int_equal(herald__notify_render(n, r, &out, err, sizeof err), 0);
    m = herald__rendered_message(out);
    assert_string_equal(m->fields[1].value, "info");
    assert_string_equal(m->fields[2].value,
                        "{\"total\":\"1\\\",\\\"x\\\":{\\\"y\\\":1}\"}");
    assert_null(m->fields[3].value); /* optional, not set */
    assert_null(m->fields[4].items);
    herald__rendered_destroy(out);
    herald__notify_destroy(n);
    herald__record_destroy(r);
    channel_def = NULL;
}

/* REJECT reasons of a declared channel: each field checked by its kind. */
static void test_fields_reject(void **state)
{
    static const struct {
        const char *value_json, *fields, *want;
    } cases[] = {
        {"{\"sev\":\"urgent\"}", "  severity: \"{{sev}}\"\n",
         "'severity' must be one of: critical, error, warning, info"},
        {"{\"s\":\"a\\nb\"}", "  severity: info\n  summary: \"{{s}}\"\n",
         "'summary' contains a control character (LF)"},
        {"{\"e\":\"not an address\"}",
         "  severity: info\n  owners: \"{{e}}\"\n",
         "'owners' is not a valid address: no '@'"},
        {"{\"c\":\"" CARD "\"}",
         "  severity: info\n  details: [\"card {{c}}\"]\n",
         "rendered message contains the full value of sensitive field "
         "'card_number'"},
        {"{\"x\":1}", "  severity: info\n  details: {a: \"{{missing}}\"}\n",
         "details: field 'missing' is missing"},
    };
    char yaml[512], err[512];
    (void)state;

    channel_def = &pager;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char value[256];
        struct herald__rendered *out = NULL;
        snprintf(value, sizeof value, "%s", cases[k].value_json);
        /* every case's value also carries the card number, so the
         * sensitive-field check has something to find */
        if (strstr(value, "\"c\"") != NULL) {
            snprintf(value, sizeof value,
                     "{\"c\":\"%s\",\"card_number\":\"%s\"}", CARD, CARD);
        }
        snprintf(yaml, sizeof yaml,
                 "notify:\n  channel: page\n  summary: s\n%s", cases[k].fields);
        if (strstr(cases[k].fields, "summary") != NULL) {
            snprintf(yaml, sizeof yaml, "notify:\n  channel: page\n%s",
                     cases[k].fields);
        }
        struct herald__notify *n = load(yaml);
        assert_non_null(n);
        struct herald_record *r = anomaly(value);
        assert_int_equal(herald__notify_render(n, r, &out, err, sizeof err),
                         -1);
        assert_null(out);
        assert_string_equal(err, cases[k].want);
        herald__notify_destroy(n);
        herald__record_destroy(r);
    }
    channel_def = NULL;
}

/* A broken declaration is the plugin's fault, named as such. */
static void test_fields_bad_declaration(void **state)
{
    static const struct herald_field dup[] = {
        {"body", HERALD_FIELD_JSON, 1, NULL, NULL},
        {"body", HERALD_FIELD_TEXT, 0, NULL, NULL},
        {NULL, 0, 0, NULL, NULL},
    };
    static const struct herald_field noenum[] = {
        {"level", HERALD_FIELD_ENUM, 1, NULL, NULL},
        {NULL, 0, 0, NULL, NULL},
    };
    struct herald_plugin bad = pager;
    (void)state;

    bad.name = "broken";
    bad.fields = dup;
    channel_def = &bad;
    load_fails("notify:\n  channel: b\n",
               "n.yaml:2:12: plugin broken: field 1 ('body') is not a valid "
               "declaration (a unique [a-z0-9_] name other than channel, "
               "idempotency_key, sensitive, allow_sensitive; a known kind; "
               "enum values for an enum)",
               NULL);
    bad.fields = noenum;
    load_fails("notify:\n  channel: b\n",
               "n.yaml:2:12: plugin broken: field 0 ('level') is not a valid "
               "declaration (a unique [a-z0-9_] name other than channel, "
               "idempotency_key, sensitive, allow_sensitive; a known kind; "
               "enum values for an enum)",
               NULL);
    bad.field_size = 4;
    load_fails("notify:\n  channel: b\n",
               "n.yaml:2:12: plugin broken: field_size 4 is too small for a "
               "field declaration (set it with HERALD_FIELDS)",
               NULL);
    channel_def = NULL;
}

static int teardown(void **state)
{
    (void)state;
    herald__config_destroy(root);
    root = NULL;
    herald__diag_cleanup(&diag);
    herald__diag_init(&diag);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_tutorial_render, teardown),
        cmocka_unit_test_teardown(test_header_injection, teardown),
        cmocka_unit_test_teardown(test_addresses, teardown),
        cmocka_unit_test_teardown(test_subject_and_bodies, teardown),
        cmocka_unit_test_teardown(test_sensitive, teardown),
        cmocka_unit_test_teardown(test_idempotency_key, teardown),
        cmocka_unit_test_teardown(test_load_errors, teardown),
        cmocka_unit_test_teardown(test_needs_hash_key, teardown),
        cmocka_unit_test_teardown(test_fields_load_errors, teardown),
        cmocka_unit_test_teardown(test_fields_render, teardown),
        cmocka_unit_test_teardown(test_fields_reject, teardown),
        cmocka_unit_test_teardown(test_fields_bad_declaration, teardown),
    };
    herald__diag_init(&diag);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    herald__hash_key_destroy(hash_key);
    return rc;
}
