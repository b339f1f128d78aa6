/*
 * test_options.c - unit tests of plugin option validation and the option
 * getters (config_options.c): every kind of bad value with its exact message
 * and position, defaults, secrets and the lifetime of the options object.
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

#define MAX_WANT 6

static const char *const modes[] = {"none", "starttls", "implicit", NULL};

/* A table like the SMTP channel's. */
static const struct herald_option table[] = {
    {"api_key", HERALD_OPT_STRING, NULL, 1, 1, NULL, "the key"},
    {"host", HERALD_OPT_STRING, "localhost", 0, 0, NULL, "server"},
    {"port", HERALD_OPT_INT, "587", 0, 0, NULL, "port"},
    {"tls_verify", HERALD_OPT_BOOL, "true", 0, 0, NULL, "verify"},
    {"timeout", HERALD_OPT_DURATION, "30s", 0, 0, NULL, "timeout"},
    {"max_size", HERALD_OPT_SIZE, "10MiB", 0, 0, NULL, "max message"},
    {"mode", HERALD_OPT_ENUM, "starttls", 0, 0, modes, "TLS mode"},
    {"to", HERALD_OPT_LIST, NULL, 0, 0, NULL, "recipients"},
    {"cc", HERALD_OPT_LIST, "[a@x.example, b@x.example]", 0, 0, NULL, "cc"},
    {"bcc", HERALD_OPT_LIST, "c@x.example", 0, 0, NULL, "bcc"},
    {"password", HERALD_OPT_STRING, NULL, 0, 1, NULL, "password"},
    {"label", HERALD_OPT_STRING, NULL, 0, 0, NULL, "free text"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static const char *const skip[] = {"plugin", NULL};

struct strbuf {
    char *p;
    size_t len;
};

static void buf_write(void *ctx, const char *s, size_t len)
{
    struct strbuf *b = ctx;

    b->p = realloc(b->p, b->len + len + 1);
    assert_non_null(b->p);
    memcpy(b->p + b->len, s, len);
    b->len += len;
    b->p[b->len] = '\0';
}

static struct herald__node *load(const char *text, struct herald__diag *d)
{
    struct herald__node *root =
        herald__config_load_string("c.yaml", text, strlen(text), d);

    assert_non_null(root);
    return root;
}

static void assert_diags(const struct herald__diag *d, const char *const *want)
{
    size_t n = 0;
    size_t i;

    while (n < MAX_WANT && want[n] != NULL) {
        n++;
    }
    for (i = 0; i < d->n; i++) {
        print_message("  got: %s\n", d->msgs[i]);
    }
    assert_int_equal(d->n, n);
    for (i = 0; i < n; i++) {
        assert_string_equal(d->msgs[i], want[i]);
    }
}

/* ---- Bad options --------------------------------------------------- */

struct bad_case {
    const char *yaml;
    const char *want[MAX_WANT];
};

static const struct bad_case bad_cases[] = {
    {"api_key: k\nport: abc\n",
     {"c.yaml:2:7: 'port' expects an integer; got 'abc'"}},
    {"api_key: k\nport: 25.5\n",
     {"c.yaml:2:7: 'port' expects an integer; got '25.5'"}},
    {"api_key: k\nport: 99999999999999999999\n",
     {"c.yaml:2:7: 'port' expects an integer; got "
      "'99999999999999999999'"}},
    {"api_key: k\nport: [1, 2]\n",
     {"c.yaml:2:7: 'port' expects an integer; got a list"}},
    {"api_key: k\ntls_verify: yes\n",
     {"c.yaml:2:13: 'tls_verify' expects true or false; got 'yes'"}},
    {"api_key: k\ntls_verify: \"True\"\n",
     {"c.yaml:2:13: 'tls_verify' expects true or false; got 'True'"}},
    {"api_key: k\ntimeout: 5x\n",
     {"c.yaml:2:10: 'timeout' expects a duration (e.g. 250ms, 30s, 5m, "
      "1h); got '5x'"}},
    {"api_key: k\ntimeout: 1.5s\n",
     {"c.yaml:2:10: 'timeout' expects a duration (e.g. 250ms, 30s, 5m, "
      "1h); got '1.5s'"}},
    {"api_key: k\nmax_size: 10QB\n",
     {"c.yaml:2:11: 'max_size' expects a size (e.g. 512, 64KiB, 10MB, "
      "1GiB); got '10QB'"}},
    {"api_key: k\nmax_size: 99999999999GiB\n",
     {"c.yaml:2:11: 'max_size' expects a size (e.g. 512, 64KiB, 10MB, "
      "1GiB); got '99999999999GiB'"}},
    {"api_key: k\nmode: tls\n",
     {"c.yaml:2:7: 'mode' expects one of: none, starttls, implicit; got "
      "'tls'"}},
    {"api_key: k\nmode: {a: b}\n",
     {"c.yaml:2:7: 'mode' expects one of: none, starttls, implicit; got "
      "a map"}},
    {"api_key: k\nto: {a: b}\n",
     {"c.yaml:2:5: 'to' expects a list of strings (or one string); got a "
      "map"}},
    {"api_key: k\nto:\n  - a@x\n  - {b: c}\n",
     {"c.yaml:4:5: 'to[1]' expects a string; got a map"}},
    {"x:\n  api_key: k\n  port: 0x19\n",
     {"c.yaml:3:9: 'x.port' expects an integer; got '0x19'"}},
    {"x:\n  api_key: k\n  cc: [a, {b: c}]\n",
     {"c.yaml:3:11: 'x.cc[1]' expects a string; got a map"}},
    {"api_key: k\nhost: [a, b]\n",
     {"c.yaml:2:7: 'host' expects a string; got a list"}},
    {"host: mail\n", {"c.yaml:1:1: missing required option 'api_key'"}},
    {"x:\n  host: mail\n  api_key:\n",
     {"c.yaml:2:3: missing required option 'api_key'"}},
    {"api_key: k\napikey: k\n",
     {"c.yaml:2:1: unknown key 'apikey' (did you mean 'api_key'?)"}},
    {"api_key: k\nhots: h\n",
     {"c.yaml:2:1: unknown key 'hots' (did you mean 'host'?)"}},
    {"api_key: k\nwhatever: 1\n",
     {"c.yaml:2:1: unknown key 'whatever' (expected one of: api_key, host, "
      "port, tls_verify, timeout, max_size, mode, to, cc, bcc, password, "
      "label)"}},
    {"x:\n  - a\n", {"c.yaml:2:3: expected a map of options, got a list"}},
    {"x: 1\n", {"c.yaml:1:4: expected a map of options, got a scalar"}},
};

static void test_bad_options(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        struct herald__diag d;
        struct herald__node *root;
        const struct herald__node *map;
        struct herald_options *o;

        print_message("case %zu: %s\n", i, c->yaml);
        herald__diag_init(&d);
        root = load(c->yaml, &d);
        map = herald__node_get(root, "x") != NULL ? herald__node_get(root, "x")
                                                  : root;
        o = herald__options_new(map, table, skip, &d);
        assert_null(o);
        assert_diags(&d, c->want);
        herald__config_destroy(root);
        herald__diag_cleanup(&d);
    }
}

static void test_every_error_collected(void **state)
{
    static const char yaml[] = "plugin: smtp\n"
                               "prot: 25\n"
                               "port: abc\n"
                               "tls_verify: 1\n"
                               "mode: ssl\n"
                               "timeout: forever\n"
                               "to: {x: y}\n";
    static const char *const want[] = {
        "c.yaml:2:1: unknown key 'prot' (did you mean 'port'?)",
        "c.yaml:1:1: missing required option 'api_key'",
        "c.yaml:3:7: 'port' expects an integer; got 'abc'",
        "c.yaml:4:13: 'tls_verify' expects true or false; got '1'",
        "c.yaml:6:10: 'timeout' expects a duration (e.g. 250ms, 30s, 5m, "
        "1h); got 'forever'",
        "c.yaml:5:7: 'mode' expects one of: none, starttls, implicit; got "
        "'ssl'",
    };
    struct herald__diag d;
    struct herald__node *root;
    size_t i;

    (void)state;
    herald__diag_init(&d);
    root = load(yaml, &d);
    assert_null(herald__options_new(root, table, skip, &d));
    for (i = 0; i < d.n; i++) {
        print_message("  got: %s\n", d.msgs[i]);
    }
    /* Unknown keys first (map order), then options in table order. */
    assert_int_equal(d.n, 7);
    assert_string_equal(d.msgs[0], want[0]);
    assert_string_equal(d.msgs[1], want[1]);
    assert_string_equal(d.msgs[2], want[2]);
    assert_string_equal(d.msgs[3], want[3]);
    assert_string_equal(d.msgs[4], want[4]);
    assert_string_equal(d.msgs[5], want[5]);
    assert_string_equal(d.msgs[6],
                        "c.yaml:7:5: 'to' expects a list of strings (or one "
                        "string); got a map");
    herald__config_destroy(root);
    herald__diag_cleanup(&d);
}

static void test_bad_default_in_table(void **state)
{
    static const struct herald_option bad[] = {
        {"t", HERALD_OPT_DURATION, "soon", 0, 0, NULL, NULL},
        {"l", HERALD_OPT_LIST, "[a, {b: c}]", 0, 0, NULL, NULL},
        {"n", HERALD_OPT_INT, "x", 0, 0, NULL, NULL},
        {NULL, 0, NULL, 0, 0, NULL, NULL},
    };
    struct herald__diag d;

    (void)state;
    herald__diag_init(&d);
    assert_null(herald__options_new(NULL, bad, NULL, &d));
    assert_int_equal(d.n, 3);
    assert_string_equal(d.msgs[0], "'t' expects a duration (e.g. 250ms, "
                                   "30s, 5m, 1h); got 'soon' (the plugin's "
                                   "default)");
    assert_string_equal(d.msgs[1], "'l' expects a list of strings (or one "
                                   "string); got '[a, {b: c}]' (the plugin's "
                                   "default)");
    assert_string_equal(d.msgs[2], "'n' expects an integer; got 'x' (the "
                                   "plugin's default)");
    herald__diag_cleanup(&d);
}

/* ---- Getters ------------------------------------------------------- */

static void test_defaults(void **state)
{
    struct herald__diag d;
    struct herald__node *root;
    struct herald_options *o;

    (void)state;
    herald__diag_init(&d);
    root = load("plugin: smtp\napi_key: k\nlabel:\n", &d);
    o = herald__options_new(root, table, skip, &d);
    assert_non_null(o);
    assert_int_equal(d.n, 0);
    herald__config_destroy(root);

    assert_string_equal(herald__opt_string(o, "api_key"), "k");
    assert_true(herald__opt_is_set(o, "api_key"));
    assert_string_equal(herald__opt_string(o, "host"), "localhost");
    assert_false(herald__opt_is_set(o, "host"));
    assert_int_equal(herald__opt_int(o, "port"), 587);
    assert_string_equal(herald__opt_string(o, "port"), "587");
    assert_int_equal(herald__opt_bool(o, "tls_verify"), 1);
    assert_int_equal(herald__opt_duration_ms(o, "timeout"), 30000);
    assert_string_equal(herald__opt_string(o, "timeout"), "30s");
    assert_int_equal(herald__opt_size(o, "max_size"), 10485760);
    assert_string_equal(herald__opt_string(o, "mode"), "starttls");
    assert_int_equal(herald__opt_list_count(o, "cc"), 2);
    assert_string_equal(herald__opt_list_item(o, "cc", 0), "a@x.example");
    assert_string_equal(herald__opt_list_item(o, "cc", 1), "b@x.example");
    assert_null(herald__opt_list_item(o, "cc", 2));
    assert_string_equal(herald__opt_string(o, "cc"),
                        "a@x.example, b@x.example");
    assert_int_equal(herald__opt_list_count(o, "bcc"), 1);
    assert_string_equal(herald__opt_list_item(o, "bcc", 0), "c@x.example");

    /* Unset, no default; `label:` (null) counts as unset. */
    assert_null(herald__opt_string(o, "to"));
    assert_int_equal(herald__opt_list_count(o, "to"), 0);
    assert_null(herald__opt_list_item(o, "to", 0));
    assert_false(herald__opt_is_set(o, "to"));
    assert_null(herald__opt_string(o, "label"));
    assert_false(herald__opt_is_set(o, "label"));
    assert_null(herald__opt_string(o, "password"));

    /* Names not in the table, and no options at all. */
    assert_null(herald__opt_string(o, "nope"));
    assert_int_equal(herald__opt_int(o, "nope"), 0);
    assert_int_equal(herald__opt_bool(o, "nope"), 0);
    assert_int_equal(herald__opt_duration_ms(o, "nope"), 0);
    assert_int_equal(herald__opt_size(o, "nope"), 0);
    assert_int_equal(herald__opt_list_count(o, "nope"), 0);
    assert_false(herald__opt_is_set(o, "nope"));
    assert_null(herald__opt_string(NULL, "host"));
    assert_int_equal(herald__opt_int(NULL, "port"), 0);

    herald__options_destroy(o);
    herald__options_destroy(NULL);
    herald__diag_cleanup(&d);
}

static void test_values(void **state)
{
    static const char yaml[] = "plugin: smtp\n"
                               "api_key: ${env:HERALD_T_KEY}\n"
                               "host: mail.example\n"
                               "port: -25\n"
                               "tls_verify: false\n"
                               "timeout: 1500ms\n"
                               "max_size: 64KiB\n"
                               "mode: implicit\n"
                               "to: [a@x, \"b@x\", c@x]\n"
                               "cc: []\n"
                               "bcc: one@x\n"
                               "label: \"\"\n";
    struct herald__diag d;
    struct herald__node *root;
    struct herald_options *o;

    (void)state;
    setenv("HERALD_T_KEY", "SG.abc", 1);
    herald__diag_init(&d);
    root = load(yaml, &d);
    o = herald__options_new(root, table, skip, &d);
    assert_non_null(o);
    assert_int_equal(d.n, 0);
    /* The options outlive the tree. */
    herald__config_destroy(root);

    assert_string_equal(herald__opt_string(o, "api_key"), "SG.abc");
    assert_string_equal(herald__opt_string(o, "host"), "mail.example");
    assert_int_equal(herald__opt_int(o, "port"), -25);
    assert_int_equal(herald__opt_bool(o, "tls_verify"), 0);
    assert_true(herald__opt_is_set(o, "tls_verify"));
    assert_string_equal(herald__opt_string(o, "tls_verify"), "false");
    assert_int_equal(herald__opt_duration_ms(o, "timeout"), 1500);
    assert_int_equal(herald__opt_size(o, "max_size"), 65536);
    assert_string_equal(herald__opt_string(o, "max_size"), "64KiB");
    assert_string_equal(herald__opt_string(o, "mode"), "implicit");
    assert_int_equal(herald__opt_list_count(o, "to"), 3);
    assert_string_equal(herald__opt_list_item(o, "to", 0), "a@x");
    assert_string_equal(herald__opt_list_item(o, "to", 1), "b@x");
    assert_string_equal(herald__opt_list_item(o, "to", 2), "c@x");
    assert_string_equal(herald__opt_string(o, "to"), "a@x, b@x, c@x");
    assert_true(herald__opt_is_set(o, "cc"));
    assert_int_equal(herald__opt_list_count(o, "cc"), 0);
    assert_string_equal(herald__opt_string(o, "cc"), "");
    assert_int_equal(herald__opt_list_count(o, "bcc"), 1);
    assert_string_equal(herald__opt_list_item(o, "bcc", 0), "one@x");
    assert_string_equal(herald__opt_string(o, "label"), "");
    assert_true(herald__opt_is_set(o, "label"));
    herald__options_destroy(o);
    herald__diag_cleanup(&d);
    unsetenv("HERALD_T_KEY");
}

static void test_no_options(void **state)
{
    static const struct herald_option empty[] = {
        {NULL, 0, NULL, 0, 0, NULL, NULL},
    };
    struct herald__diag d;
    struct herald__node *root;
    struct herald_options *o;

    (void)state;
    herald__diag_init(&d);
    root = load("plugin: x\n", &d);
    o = herald__options_new(root, empty, skip, &d);
    assert_non_null(o);
    assert_null(herald__opt_string(o, "plugin"));
    herald__options_destroy(o);
    o = herald__options_new(root, NULL, skip, &d);
    assert_non_null(o);
    herald__options_destroy(o);
    /* A table but no map: defaults only. */
    o = herald__options_new(NULL, table + 1, NULL, &d);
    assert_non_null(o);
    assert_int_equal(herald__opt_int(o, "port"), 587);
    herald__options_destroy(o);
    assert_int_equal(d.n, 0);
    herald__config_destroy(root);
    herald__diag_cleanup(&d);
}

/* ---- Secrets ------------------------------------------------------- */

static void test_secret_options_are_redacted(void **state)
{
    static const char yaml[] = "channels:\n"
                               "  email:\n"
                               "    plugin: smtp\n"
                               "    api_key: ${env:HERALD_T_KEY}\n"
                               "    label: ${env:HERALD_T_LABEL}\n"
                               "    to: [ops@x]\n";
    struct herald__diag d;
    struct herald__node *root;
    struct herald_options *o;
    const struct herald__node *email;
    struct strbuf before = {NULL, 0};
    struct strbuf after = {NULL, 0};

    (void)state;
    setenv("HERALD_T_KEY", "very-secret-key", 1);
    setenv("HERALD_T_LABEL", "visible-label", 1);
    herald__diag_init(&d);
    root = load(yaml, &d);
    email = herald__node_get(herald__node_get(root, "channels"), "email");
    /* From the environment the value is not marked secret as a whole
     * (its bytes are recorded as substituted, and print redacted). */
    assert_false(herald__node_get(email, "api_key")->secret);

    o = herald__options_new(email, table, skip, &d);
    assert_non_null(o);
    assert_true(herald__node_get(email, "api_key")->secret);
    assert_false(herald__node_get(email, "label")->secret);
    assert_false(herald__node_get(email, "to")->items[0]->secret);
    herald__options_destroy(o);

    herald__config_print_redacted(root, buf_write, &before);
    assert_null(strstr(before.p, "very-secret-key"));
    /* Redaction by provenance: even a harmless-looking label from the
     * environment is not printed. */
    assert_null(strstr(before.p, "visible-label"));
    assert_non_null(strstr(before.p, "    label: <redacted>\n"));
    assert_non_null(strstr(before.p, "    api_key: \"<redacted>\"\n"));

    /* A secret option whose name does not look secret: the mark does it. */
    herald__config_destroy(root);
    root = load("plugin: smtp\nlabel: x\napi_key: [k1, k2]\nto: "
                "very-secret-key\n",
                &d);
    {
        static const struct herald_option t2[] = {
            {"api_key", HERALD_OPT_LIST, NULL, 1, 1, NULL, NULL},
            {"label", HERALD_OPT_STRING, NULL, 0, 0, NULL, NULL},
            {"to", HERALD_OPT_STRING, NULL, 0, 1, NULL, NULL},
            {NULL, 0, NULL, 0, 0, NULL, NULL},
        };

        o = herald__options_new(root, t2, skip, &d);
    }
    assert_non_null(o);
    assert_int_equal(d.n, 0);
    herald__config_print_redacted(root, buf_write, &after);
    assert_string_equal(after.p, "plugin: smtp\n"
                                 "label: x\n"
                                 "api_key:\n"
                                 "  - \"<redacted>\"\n"
                                 "  - \"<redacted>\"\n"
                                 "to: \"<redacted>\"\n");
    /* The getter still returns the value to the plugin. */
    assert_string_equal(herald__opt_string(o, "to"), "very-secret-key");
    assert_string_equal(herald__opt_list_item(o, "api_key", 1), "k2");
    herald__options_destroy(o);

    free(before.p);
    free(after.p);
    herald__config_destroy(root);
    herald__diag_cleanup(&d);
    unsetenv("HERALD_T_KEY");
    unsetenv("HERALD_T_LABEL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_every_error_collected),
        cmocka_unit_test(test_bad_default_in_table),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_no_options),
        cmocka_unit_test(test_secret_options_are_redacted),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
