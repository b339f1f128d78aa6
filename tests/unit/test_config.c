/*
 * test_config.c - unit tests of the YAML loader (config_yaml.c,
 * config_provider.c): syntax and substitution errors with exact positions,
 * unknown keys, ${env:} and
 * ${file:} resolution, redacted printing, durations and sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"
#include "redact.h"

#define FILE_NAME "t.yaml"
#define MAX_WANT 6

/* ---- Helpers ------------------------------------------------------- */

static struct herald__node *load(const char *text, struct herald__diag *d)
{
    return herald__config_load_string(FILE_NAME, text, strlen(text), d);
}

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

/* The printed YAML of root; the caller frees it. */
static char *print(const struct herald__node *root)
{
    struct strbuf b = {NULL, 0};

    herald__config_print_redacted(root, buf_write, &b);
    assert_non_null(b.p);
    return b.p;
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

/* A temp file holding text; the caller unlinks and frees the path. */
static char *temp_file(const char *text)
{
    char tmpl[] = "/tmp/herald-test-config-XXXXXX";
    int fd = mkstemp(tmpl);
    size_t len = strlen(text);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return strdup(tmpl);
}

/* ---- Broken inputs ------------------------------------------------- */

enum check { LOAD_ONLY, CHECK_KEYS };

struct bad_case {
    const char *yaml;
    enum check check;
    int root_expected; /* tree still returned (not a syntax error) */
    const char *want[MAX_WANT];
};

static const char *const connector_keys[] = {"name", "topics", "group_id",
                                             "notify", NULL};

static const struct bad_case bad_cases[] = {
    /* Syntax errors: libyaml's problem at its mark, context after it. */
    {"a: 1\n  b: 2\n",
     LOAD_ONLY,
     0,
     {"t.yaml:2:4: mapping values are not allowed in this context"}},
    {"a: \"abc\n",
     LOAD_ONLY,
     0,
     {"t.yaml:2:1: found unexpected end of stream (while scanning a quoted "
      "scalar at 1:4)"}},
    {"a: 'abc\nb: 2\n",
     LOAD_ONLY,
     0,
     {"t.yaml:3:1: found unexpected end of stream (while scanning a quoted "
      "scalar at 1:4)"}},
    {"a: [1, 2\n",
     LOAD_ONLY,
     0,
     {"t.yaml:2:1: did not find expected ',' or ']' (while parsing a flow "
      "sequence at 1:4)"}},
    {"a: {b: 1\n",
     LOAD_ONLY,
     0,
     {"t.yaml:2:1: did not find expected ',' or '}' (while parsing a flow "
      "mapping at 1:4)"}},
    {"a:\n\tb: 1\n",
     LOAD_ONLY,
     0,
     {"t.yaml:2:1: found character that cannot start any token (while "
      "scanning for the next token at 2:1)"}},
    {"a: b: c\n",
     LOAD_ONLY,
     0,
     {"t.yaml:1:5: mapping values are not allowed in this context"}},
    {"a:\n  - 1\n - 2\n",
     LOAD_ONLY,
     0,
     {"t.yaml:3:2: did not find expected key (while parsing a block "
      "mapping at 1:1)"}},
    {"a: 1\nb: @x\n",
     LOAD_ONLY,
     0,
     {"t.yaml:2:4: found character that cannot start any token (while "
      "scanning for the next token at 2:4)"}},
    {"a: *nope\n", LOAD_ONLY, 0, {"t.yaml:1:4: unknown alias '*nope'"}},
    {"a: 1\n---\nb: 2\n",
     LOAD_ONLY,
     0,
     {"t.yaml:2:1: only one YAML document is allowed"}},
    {"", LOAD_ONLY, 0, {"t.yaml: configuration is empty"}},
    {"# only a comment\n", LOAD_ONLY, 0, {"t.yaml: configuration is empty"}},
    {"- a\n- b\n",
     LOAD_ONLY,
     0,
     {"t.yaml:1:1: the top level of the configuration must be a map, got "
      "a list"}},
    {"hello\n",
     LOAD_ONLY,
     0,
     {"t.yaml:1:1: the top level of the configuration must be a map, got "
      "a scalar"}},
    /* Structure. */
    {"a: 1\nb: 2\na: 3\n",
     LOAD_ONLY,
     1,
     {"t.yaml:3:1: duplicate key 'a' (first defined at 1:1)"}},
    {"x:\n  k: 1\n  j: 2\n  k: 3\n",
     LOAD_ONLY,
     1,
     {"t.yaml:4:3: duplicate key 'k' (first defined at 2:3)"}},
    {"? [a, b]\n: 1\n",
     LOAD_ONLY,
     1,
     {"t.yaml:1:3: map keys must be scalars, got a list"}},
    {"base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n",
     LOAD_ONLY,
     1,
     {"t.yaml:3:3: merge keys ('<<') are not supported; repeat the keys or "
      "use an alias as a whole value"}},
    {"a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
     "[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
     "]]]\n",
     LOAD_ONLY,
     0,
     {"t.yaml:1:67: maps and lists nested deeper than 64 levels"}},
    /* Substitution. */
    {"a: ${env:HERALD_TEST_UNSET}\n",
     LOAD_ONLY,
     1,
     {"t.yaml:1:4: environment variable 'HERALD_TEST_UNSET' is not set "
      "(use ${env:HERALD_TEST_UNSET:-default} for a default)"}},
    {"a:\n  b: \"x-${env:HERALD_TEST_UNSET}-y\"\n",
     LOAD_ONLY,
     1,
     {"t.yaml:2:6: environment variable 'HERALD_TEST_UNSET' is not set "
      "(use ${env:HERALD_TEST_UNSET:-default} for a default)"}},
    {"a: ${file:/nonexistent/herald-secret}\n",
     LOAD_ONLY,
     1,
     {"t.yaml:1:4: cannot read file '/nonexistent/herald-secret': No such "
      "file or directory"}},
    {"a: ${file:}\n", LOAD_ONLY, 1, {"t.yaml:1:4: empty path in ${file:}"}},
    {"a: ${vault:secret/x}\n",
     LOAD_ONLY,
     1,
     {"t.yaml:1:4: unknown substitution '${vault:secret/x}' (use "
      "${env:NAME}, ${env:NAME:-default} or ${file:PATH}; $${ for a "
      "literal ${)"}},
    {"a: x ${env:HOME\n",
     LOAD_ONLY,
     1,
     {"t.yaml:1:4: unterminated '${' in value (write $${ for a literal ${)"}},
    {"a: ${env:1ABC}\n",
     LOAD_ONLY,
     1,
     {"t.yaml:1:4: invalid environment variable name '1ABC' in ${env:}"}},
    {"a: ${env:}\n",
     LOAD_ONLY,
     1,
     {"t.yaml:1:4: invalid environment variable name '' in ${env:}"}},
    /* Unknown keys of a framework map. */
    {"name: x\ntpoics: [a]\n",
     CHECK_KEYS,
     1,
     {"t.yaml:2:1: unknown key 'tpoics' (did you mean 'topics'?)"}},
    {"name: x\ngroup: g\n",
     CHECK_KEYS,
     1,
     {"t.yaml:2:1: unknown key 'group' (did you mean 'group_id'?)"}},
    {"nmae: x\n",
     CHECK_KEYS,
     1,
     {"t.yaml:1:1: unknown key 'nmae' (did you mean 'name'?)"}},
    {"name: x\n  # c\nzzz: 1\n",
     CHECK_KEYS,
     1,
     {"t.yaml:3:1: unknown key 'zzz' (expected one of: name, topics, "
      "group_id, notify)"}},
};

static void test_bad_inputs(void **state)
{
    size_t i;

    (void)state;
    unsetenv("HERALD_TEST_UNSET");
    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        struct herald__diag d;
        struct herald__node *root;

        print_message("case %zu: %s\n", i, c->yaml);
        herald__diag_init(&d);
        root = load(c->yaml, &d);
        if (c->root_expected) {
            assert_non_null(root);
        } else {
            assert_null(root);
        }
        if (c->check == CHECK_KEYS && root != NULL) {
            assert_int_equal(herald__node_check_keys(root, connector_keys, &d),
                             1);
        }
        assert_diags(&d, c->want);
        herald__config_destroy(root);
        herald__diag_cleanup(&d);
    }
}

/* ---- Several errors from one input --------------------------------- */

static void test_collects_every_error(void **state)
{
    static const char yaml[] = "kafka:\n"
                               "  bootstrap.servers: ${env:HERALD_TEST_UNSET}\n"
                               "  sasl.password: ${file:/nonexistent/pw}\n"
                               "channels:\n"
                               "  email: {plugin: smtp}\n"
                               "  email: {plugin: sendgrid}\n"
                               "log: ${nope}\n";
    static const char *const want[] = {
        "t.yaml:2:22: environment variable 'HERALD_TEST_UNSET' is not set "
        "(use ${env:HERALD_TEST_UNSET:-default} for a default)",
        "t.yaml:3:18: cannot read file '/nonexistent/pw': No such file or "
        "directory",
        "t.yaml:6:3: duplicate key 'email' (first defined at 5:3)",
        "t.yaml:7:6: unknown substitution '${nope}' (use ${env:NAME}, "
        "${env:NAME:-default} or ${file:PATH}; $${ for a literal ${)",
        NULL,
    };
    struct herald__diag d;
    struct herald__node *root;

    (void)state;
    unsetenv("HERALD_TEST_UNSET");
    herald__diag_init(&d);
    root = load(yaml, &d);
    assert_non_null(root);
    assert_diags(&d, want);
    /* The first of the duplicates stays. */
    assert_string_equal(
        herald__node_str(
            herald__node_get(herald__node_get(root, "channels"), "email"),
            "plugin", NULL),
        "smtp");
    herald__config_destroy(root);
    herald__diag_cleanup(&d);
}

static void test_errors_in_one_scalar(void **state)
{
    static const char *const want[] = {
        "t.yaml:1:4: environment variable 'HERALD_TEST_UNSET' is not set "
        "(use ${env:HERALD_TEST_UNSET:-default} for a default)",
        "t.yaml:1:4: environment variable 'HERALD_TEST_UNSET2' is not set "
        "(use ${env:HERALD_TEST_UNSET2:-default} for a default)",
        NULL,
    };
    struct herald__diag d;
    struct herald__node *root;

    (void)state;
    unsetenv("HERALD_TEST_UNSET");
    unsetenv("HERALD_TEST_UNSET2");
    herald__diag_init(&d);
    root = load("a: ${env:HERALD_TEST_UNSET}:${env:HERALD_TEST_UNSET2}\n", &d);
    assert_non_null(root);
    assert_diags(&d, want);
    herald__config_destroy(root);
    herald__diag_cleanup(&d);
}

/* Substitution errors before a syntax error are kept; parsing stops at the
 * syntax error. */
static void test_substitution_then_syntax_error(void **state)
{
    static const char *const want[] = {
        "t.yaml:1:4: environment variable 'HERALD_TEST_UNSET' is not set "
        "(use ${env:HERALD_TEST_UNSET:-default} for a default)",
        "t.yaml:3:1: did not find expected ',' or ']' (while parsing a flow "
        "sequence at 2:4)",
        NULL,
    };
    struct herald__diag d;
    struct herald__node *root;

    (void)state;
    unsetenv("HERALD_TEST_UNSET");
    herald__diag_init(&d);
    root = load("a: ${env:HERALD_TEST_UNSET}\nb: [1, 2\n", &d);
    assert_null(root);
    assert_diags(&d, want);
    herald__diag_cleanup(&d);
}

static void test_check_keys_counts(void **state)
{
    static const char *const allowed[] = {"url", "basic_auth", NULL};
    static const char *const want[] = {
        "t.yaml:2:3: unknown key 'urll' (did you mean 'url'?)",
        "t.yaml:3:3: unknown key 'basic-auth' (did you mean 'basic_auth'?)",
        "t.yaml:4:3: unknown key 'zz' (expected one of: url, basic_auth)",
        "t.yaml:5:4: expected a map, got a scalar",
        NULL,
    };
    struct herald__diag d;
    struct herald__node *root;
    const struct herald__node *sr;

    (void)state;
    herald__diag_init(&d);
    root = load("schema_registry:\n  urll: x\n  basic-auth: y\n  zz: 1\n"
                "a: 1\n",
                &d);
    assert_non_null(root);
    sr = herald__node_get(root, "schema_registry");
    assert_int_equal(herald__node_check_keys(sr, allowed, &d), 3);
    assert_int_equal(
        herald__node_check_keys(herald__node_get(root, "a"), allowed, &d), 1);
    assert_int_equal(herald__node_check_keys(NULL, allowed, &d), 0);
    assert_diags(&d, want);
    herald__config_destroy(root);
    herald__diag_cleanup(&d);
}

static void test_diag_add(void **state)
{
    struct herald__diag d;
    struct herald__node *root;

    (void)state;
    herald__diag_init(&d);
    root = load("a:\n  b: 42\n", &d);
    assert_non_null(root);
    herald__diag_add(&d, herald__node_get(herald__node_get(root, "a"), "b"),
                     "bad %s %d", "thing", 7);
    herald__diag_add(&d, NULL, "no position %s", "here");
    assert_int_equal(d.n, 2);
    assert_string_equal(d.msgs[0], "t.yaml:2:6: bad thing 7");
    assert_string_equal(d.msgs[1], "no position here");
    herald__config_destroy(root);
    herald__diag_cleanup(&d);
    assert_int_equal(d.n, 0);
    herald__diag_cleanup(NULL);
}

/* ---- Tree and positions -------------------------------------------- */

static void test_tree_and_positions(void **state)
{
    static const char yaml[] =
        "kafka:\n"
        "  bootstrap.servers: localhost:29092\n"
        "connectors:\n"
        "  - name: anomaly-alerts\n"
        "    topics: [possible_anomalies, other]\n"
        "    key:   { format: string, window: tumbling }\n"
        "    empty:\n"
        "    quoted: \"null\"\n"
        "    tilde: ~\n"
        "    text: |\n"
        "      line 1\n"
        "      line 2\n";
    struct herald__diag d;
    struct herald__node *root;
    const struct herald__node *conns;
    const struct herald__node *c;
    const struct herald__node *topics;
    const struct herald__node *key;
    const struct herald__node *v;

    (void)state;
    herald__diag_init(&d);
    root = load(yaml, &d);
    assert_non_null(root);
    assert_int_equal(d.n, 0);
    assert_int_equal(root->type, HERALD_NODE_MAP);
    assert_int_equal(root->n, 2);
    assert_string_equal(root->keys[0], "kafka");
    assert_int_equal(root->key_nodes[1]->line, 3);
    assert_int_equal(root->key_nodes[1]->col, 1);

    v = herald__node_get(herald__node_get(root, "kafka"), "bootstrap.servers");
    assert_non_null(v);
    assert_string_equal(v->scalar, "localhost:29092");
    assert_int_equal(v->line, 2);
    assert_int_equal(v->col, 22);
    assert_string_equal(v->file, "t.yaml");

    conns = herald__node_get(root, "connectors");
    assert_int_equal(conns->type, HERALD_NODE_SEQ);
    assert_int_equal(conns->n, 1);
    c = conns->items[0];
    assert_int_equal(c->type, HERALD_NODE_MAP);
    assert_int_equal(c->line, 4);
    assert_int_equal(c->col, 5);
    assert_string_equal(herald__node_str(c, "name", NULL), "anomaly-alerts");

    topics = herald__node_get(c, "topics");
    assert_int_equal(topics->type, HERALD_NODE_SEQ);
    assert_int_equal(topics->n, 2);
    assert_int_equal(topics->line, 5);
    assert_int_equal(topics->col, 13);
    assert_string_equal(topics->items[1]->scalar, "other");
    assert_int_equal(topics->items[1]->line, 5);
    assert_int_equal(topics->items[1]->col, 34);

    key = herald__node_get(c, "key");
    assert_int_equal(key->type, HERALD_NODE_MAP);
    assert_int_equal(key->col, 12);
    assert_string_equal(herald__node_str(key, "window", NULL), "tumbling");
    assert_int_equal(key->key_nodes[1]->col, 30);

    v = herald__node_get(c, "empty");
    assert_int_equal(v->type, HERALD_NODE_SCALAR);
    assert_true(v->null_value);
    assert_string_equal(herald__node_str(c, "empty", "def"), "def");
    v = herald__node_get(c, "quoted");
    assert_false(v->null_value);
    assert_true(v->quoted);
    assert_string_equal(herald__node_str(c, "quoted", "def"), "null");
    assert_true(herald__node_get(c, "tilde")->null_value);
    assert_string_equal(herald__node_str(c, "text", NULL), "line 1\nline 2\n");
    assert_false(herald__node_get(c, "text")->quoted);

    assert_null(herald__node_get(c, "missing"));
    assert_string_equal(herald__node_str(c, "missing", "d"), "d");
    assert_string_equal(herald__node_str(c, "key", "notscalar"), "notscalar");
    assert_null(herald__node_get(topics, "x"));
    assert_null(herald__node_get(NULL, "x"));
    herald__config_destroy(root);
    herald__diag_cleanup(&d);
}

/* Every node knows its path: keys joined by dots, list items as [i], a
 * key node the same as its value, an alias's copy the path where it is
 * used (not where its anchor is). */
static void test_node_paths(void **state)
{
    static const char yaml[] = "connectors:\n"
                               "  - name: a\n"
                               "  - name: b\n"
                               "    batch: &b { linger: 5x }\n"
                               "    errors: { retry: *b }\n"
                               "channels:\n"
                               "  mail: { to: [x, [y]] }\n";
    static const struct {
        const char *at; /* keys and list indexes, '/'-separated */
        const char *want;
    } cases[] = {
        {"connectors/1/batch/linger", "connectors[1].batch.linger"},
        {"connectors/1/errors/retry/linger",
         "connectors[1].errors.retry.linger"},
        {"connectors/0", "connectors[0]"},
        {"channels/mail/to/1/0", "channels.mail.to[1][0]"},
        {"", ""},
    };
    struct herald__diag d;
    struct herald__node *root;

    (void)state;
    herald__diag_init(&d);
    root = load(yaml, &d);
    assert_int_equal(d.n, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char steps[128];
        const struct herald__node *n = root;
        char *path;

        snprintf(steps, sizeof steps, "%s", cases[i].at);
        for (char *save = NULL, *t = strtok_r(steps, "/", &save); t;
             t = strtok_r(NULL, "/", &save)) {
            n = n->type == HERALD_NODE_SEQ ? n->items[atoi(t)]
                                           : herald__node_get(n, t);
            assert_non_null(n);
        }
        path = herald__node_path(n);
        assert_non_null(path);
        assert_string_equal(path, cases[i].want);
        free(path);
    }
    /* A key node reads as its value. */
    {
        const struct herald__node *mail =
            herald__node_get(herald__node_get(root, "channels"), "mail");
        char *path = herald__node_path(mail->key_nodes[0]);

        assert_non_null(path);
        assert_string_equal(path, "channels.mail.to");
        free(path);
    }
    herald__config_destroy(root);
    herald__diag_cleanup(&d);
}

static void test_aliases_are_copied(void **state)
{
    static const char yaml[] = "base: &b\n"
                               "  retry: {initial: 1s}\n"
                               "  to: [a, b]\n"
                               "one: *b\n"
                               "two: *b\n";
    struct herald__diag d;
    struct herald__node *root;
    const struct herald__node *one;
    const struct herald__node *two;

    (void)state;
    herald__diag_init(&d);
    root = load(yaml, &d);
    assert_non_null(root);
    assert_int_equal(d.n, 0);
    one = herald__node_get(root, "one");
    two = herald__node_get(root, "two");
    assert_ptr_not_equal(one, two);
    assert_ptr_not_equal(one, herald__node_get(root, "base"));
    assert_int_equal(one->type, HERALD_NODE_MAP);
    assert_int_equal(one->line, 4);
    assert_int_equal(one->col, 6);
    assert_string_equal(
        herald__node_str(herald__node_get(two, "retry"), "initial", NULL),
        "1s");
    assert_int_equal(herald__node_get(two, "to")->n, 2);
    herald__config_destroy(root); /* ASan: no double free, no leak */
    herald__diag_cleanup(&d);
}

static void test_alias_bomb_is_refused(void **state)
{
    static const char yaml[] =
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    struct herald__diag d;

    (void)state;
    herald__diag_init(&d);
    assert_null(load(yaml, &d));
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0], "t.yaml: configuration too large (more "
                                   "than 100000 nodes once aliases are "
                                   "expanded)");
    herald__diag_cleanup(&d);
}

static void test_load_file(void **state)
{
    struct herald__diag d;
    struct herald__node *root;
    const char *path = HERALD_SOURCE_DIR "/tests/data/config/valid.yaml";
    const struct herald__node *email;

    (void)state;
    setenv("HERALD_TEST_API_KEY", "SG.test-key", 1);
    herald__diag_init(&d);
    root = herald__config_load_file(path, &d);
    assert_non_null(root);
    assert_int_equal(d.n, 0);
    email = herald__node_get(herald__node_get(root, "channels"), "email");
    assert_string_equal(herald__node_str(email, "api_key", NULL),
                        "SG.test-key");
    assert_string_equal(herald__node_get(email, "api_key")->file, path);
    assert_int_equal(herald__node_get(email, "api_key")->line, 11);
    herald__config_destroy(root);

    root = herald__config_load_file("/nonexistent/herald.yaml", &d);
    assert_null(root);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0], "/nonexistent/herald.yaml: cannot read "
                                   "configuration: No such file or "
                                   "directory");
    herald__diag_cleanup(&d);

    herald__diag_init(&d);
    root = herald__config_load_file(
        HERALD_SOURCE_DIR "/tests/data/config/broken.yaml", &d);
    assert_null(root);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0], HERALD_SOURCE_DIR
                        "/tests/data/config/broken.yaml:5:2: did not find "
                        "expected key (while parsing a block mapping at "
                        "2:1)");
    herald__diag_cleanup(&d);
    unsetenv("HERALD_TEST_API_KEY");
}

/* ---- Substitution -------------------------------------------------- */

static const char *value_of(const struct herald__node *root, const char *k)
{
    const char *v = herald__node_str(root, k, NULL);

    assert_non_null(v);
    return v;
}

static void test_env_substitution(void **state)
{
    static const char yaml[] =
        "auth: ${env:HERALD_T_USER}:${env:HERALD_T_PASS}\n"
        "url: \"http://${env:HERALD_T_HOST:-localhost}:8081/x\"\n"
        "single: '${env:HERALD_T_USER}'\n"
        "empty_default: \"${env:HERALD_T_UNSET:-}\"\n"
        "empty_var: \"${env:HERALD_T_EMPTY}\"\n"
        "empty_var_default: ${env:HERALD_T_EMPTY:-fallback}\n"
        "escaped: $${env:HERALD_T_USER} costs $$5 and $x\n"
        "both: $${env:A}=${env:HERALD_T_USER}\n"
        "default_with_colon: ${env:HERALD_T_UNSET:-a:b-c}\n"
        "${env:HERALD_T_USER}: key is not substituted\n";
    struct herald__diag d;
    struct herald__node *root;

    (void)state;
    setenv("HERALD_T_USER", "alice", 1);
    setenv("HERALD_T_PASS", "pa:ss", 1);
    setenv("HERALD_T_EMPTY", "", 1);
    unsetenv("HERALD_T_HOST");
    unsetenv("HERALD_T_UNSET");
    herald__diag_init(&d);
    root = load(yaml, &d);
    assert_non_null(root);
    assert_int_equal(d.n, 0);
    assert_string_equal(value_of(root, "auth"), "alice:pa:ss");
    /* From the environment is not secret by itself. */
    assert_false(herald__node_get(root, "auth")->secret);
    assert_string_equal(value_of(root, "url"), "http://localhost:8081/x");
    assert_string_equal(value_of(root, "single"), "alice");
    assert_string_equal(value_of(root, "empty_default"), "");
    assert_string_equal(value_of(root, "empty_var"), "");
    assert_string_equal(value_of(root, "empty_var_default"), "fallback");
    assert_string_equal(value_of(root, "escaped"),
                        "${env:HERALD_T_USER} costs $$5 and $x");
    assert_string_equal(value_of(root, "both"), "${env:A}=alice");
    assert_string_equal(value_of(root, "default_with_colon"), "a:b-c");
    assert_string_equal(value_of(root, "${env:HERALD_T_USER}"),
                        "key is not substituted");
    herald__config_destroy(root);
    herald__diag_cleanup(&d);
    unsetenv("HERALD_T_USER");
    unsetenv("HERALD_T_PASS");
    unsetenv("HERALD_T_EMPTY");
}

static void test_file_substitution(void **state)
{
    char *one = temp_file("s3cr3t-token\n");
    char *crlf = temp_file("crlf\r\n");
    char *two = temp_file("keep\n\n");
    char *none = temp_file("no-newline");
    char *yaml = NULL;
    struct herald__diag d;
    struct herald__node *root;
    const struct herald__node *v;
    int len;

    (void)state;
    len = asprintf(&yaml,
                   "token: ${file:%s}\n"
                   "crlf: ${file:%s}\n"
                   "two: ${file:%s}\n"
                   "none: \"${file:%s}\"\n"
                   "url: https://user:${file:%s}@host/x\n"
                   "plain: hello\n",
                   one, crlf, two, none, one);
    assert_true(len > 0);
    herald__diag_init(&d);
    root = load(yaml, &d);
    assert_non_null(root);
    assert_int_equal(d.n, 0);
    v = herald__node_get(root, "token");
    assert_string_equal(v->scalar, "s3cr3t-token");
    assert_true(v->secret);
    assert_string_equal(value_of(root, "crlf"), "crlf");
    assert_string_equal(value_of(root, "two"), "keep\n");
    assert_string_equal(value_of(root, "none"), "no-newline");
    v = herald__node_get(root, "url");
    assert_string_equal(v->scalar, "https://user:s3cr3t-token@host/x");
    assert_true(v->secret);
    assert_false(herald__node_get(root, "plain")->secret);
    herald__config_destroy(root);
    herald__diag_cleanup(&d);

    /* Unreadable: a directory. */
    free(yaml);
    len = asprintf(&yaml, "a: ${file:/tmp}\n");
    assert_true(len > 0);
    herald__diag_init(&d);
    root = load(yaml, &d);
    assert_non_null(root);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0], "t.yaml:1:4: cannot read file '/tmp': Is "
                                   "a directory");
    /* Still secret: nothing of it may print. */
    assert_true(herald__node_get(root, "a")->secret);
    herald__config_destroy(root);
    herald__diag_cleanup(&d);

    free(yaml);
    unlink(one);
    unlink(crlf);
    unlink(two);
    unlink(none);
    free(one);
    free(crlf);
    free(two);
    free(none);
}

/* ---- Redacted printing --------------------------------------------- */

static void test_redaction(void **state)
{
    char *pw_file = temp_file("file-secret-1\n");
    char *yaml = NULL;
    char *out;
    struct herald__diag d;
    struct herald__node *root;
    int len;

    (void)state;
    setenv("HERALD_T_SR_USER", "sr-user", 1);
    setenv("HERALD_T_SR_PASS", "env-secret-2", 1);
    setenv("HERALD_T_HOST", "broker-9", 1);
    len = asprintf(
        &yaml,
        "kafka:\n"
        "  bootstrap.servers: ${env:HERALD_T_HOST}:9092\n"
        "  sasl.password: env-secret-3\n"
        "  ssl.key.password: env-secret-4\n"
        "  ssl.keystore.password: env-secret-5\n"
        "schema_registry:\n"
        "  url: http://sr:8081\n"
        "  basic_auth: ${env:HERALD_T_SR_USER}:${env:HERALD_T_SR_PASS}\n"
        "channels:\n"
        "  email:\n"
        "    plugin: smtp\n"
        "    password: ${file:%s}\n"
        "    smtp_password: env-secret-6\n"
        "    api_key: [env-secret-7]\n"
        "    token: env-secret-8\n"
        "    secret: {nested: visible}\n"
        "    token_url: https://auth/token\n"
        "    note: \"has ${file:%s} inside\"\n",
        pw_file, pw_file);
    assert_true(len > 0);
    herald__diag_init(&d);
    root = load(yaml, &d);
    assert_non_null(root);
    assert_int_equal(d.n, 0);
    out = print(root);
    print_message("%s", out);
    assert_null(strstr(out, "file-secret-1"));
    assert_null(strstr(out, "env-secret"));
    assert_null(strstr(out, "sr-user"));
    assert_string_equal(out, "kafka:\n"
                             "  bootstrap.servers: <redacted>:9092\n"
                             "  sasl.password: \"<redacted>\"\n"
                             "  ssl.key.password: \"<redacted>\"\n"
                             "  ssl.keystore.password: \"<redacted>\"\n"
                             "schema_registry:\n"
                             "  url: http://sr:8081\n"
                             "  basic_auth: \"<redacted>\"\n"
                             "channels:\n"
                             "  email:\n"
                             "    plugin: smtp\n"
                             "    password: \"<redacted>\"\n"
                             "    smtp_password: \"<redacted>\"\n"
                             "    api_key:\n"
                             "      - \"<redacted>\"\n"
                             "    token: \"<redacted>\"\n"
                             "    secret:\n"
                             "      nested: visible\n"
                             "    token_url: https://auth/token\n"
                             "    note: \"<redacted>\"\n");
    free(out);
    herald__config_destroy(root);
    herald__diag_cleanup(&d);
    free(yaml);
    unlink(pw_file);
    free(pw_file);
    unsetenv("HERALD_T_SR_USER");
    unsetenv("HERALD_T_SR_PASS");
    unsetenv("HERALD_T_HOST");
}

/* ---- Redaction by provenance ----------------------------------------- */

/* Values from ${env:} are redacted in `herald check` output wherever they
 * sit inside a larger string; header names and librdkafka properties that
 * carry credentials are redacted by name; a default written in the file
 * is not a secret. */
static void test_redaction_by_provenance(void **state)
{
    static const char yaml[] =
        "kafka:\n"
        "  sasl.oauthbearer.extensions: tenant=acme,key=k-1\n"
        "  sasl.password: p-2\n"
        "  ssl.key.password: p-3\n"
        "  client.id: ${env:HERALD_T_UNSET:-herald-a}\n"
        "schema_registry:\n"
        "  url: https://${env:HERALD_T_RUSER}:${env:HERALD_T_RPASS}@sr/x\n"
        "channels:\n"
        "  email:\n"
        "    plugin: smtp\n"
        "    url: smtp://u:${env:HERALD_T_PW}@host:587\n"
        "    headers:\n"
        "      X-Api-Key: h-key-4\n"
        "      x-auth-token: h-tok-5\n"
        "      X-Trace: visible\n";
    struct herald__diag d;
    struct herald__node *root;
    char *out;

    (void)state;
    setenv("HERALD_T_PW", "pw-env-6", 1);
    setenv("HERALD_T_RUSER", "ruser-7", 1);
    setenv("HERALD_T_RPASS", "rpass-8", 1);
    unsetenv("HERALD_T_UNSET");
    herald__diag_init(&d);
    root = load(yaml, &d);
    assert_non_null(root);
    assert_int_equal(d.n, 0);
    out = print(root);
    assert_string_equal(out, "kafka:\n"
                             "  sasl.oauthbearer.extensions: \"<redacted>\"\n"
                             "  sasl.password: \"<redacted>\"\n"
                             "  ssl.key.password: \"<redacted>\"\n"
                             "  client.id: herald-a\n"
                             "schema_registry:\n"
                             "  url: https://<redacted>:<redacted>@sr/x\n"
                             "channels:\n"
                             "  email:\n"
                             "    plugin: smtp\n"
                             "    url: smtp://u:<redacted>@host:587\n"
                             "    headers:\n"
                             "      X-Api-Key: \"<redacted>\"\n"
                             "      x-auth-token: \"<redacted>\"\n"
                             "      X-Trace: visible\n");
    free(out);
    /* The tree itself holds the real value, for the code that uses it. */
    assert_string_equal(
        herald__node_str(herald__node_get(root, "channels")->items[0], "url",
                         NULL),
        "smtp://u:pw-env-6@host:587");
    herald__config_destroy(root);
    herald__diag_cleanup(&d);
    unsetenv("HERALD_T_PW");
    unsetenv("HERALD_T_RUSER");
    unsetenv("HERALD_T_RPASS");
}

/* A type error quotes the value: never what came from ${file:} or
 * ${env:}, nor a secret option's. */
static void test_type_error_redacted(void **state)
{
    static const struct herald_option table[] = {
        {"port", HERALD_OPT_INT, NULL, 0, 0, NULL, "port"},
        {"retries", HERALD_OPT_INT, NULL, 0, 0, NULL, "n"},
        {"verify", HERALD_OPT_BOOL, NULL, 0, 0, NULL, "b"},
        {"pin", HERALD_OPT_INT, NULL, 0, 1, NULL, "secret int"},
        {NULL, 0, NULL, 0, 0, NULL, NULL},
    };
    char *secret = temp_file("file-secret-9\n");
    char *yaml = NULL;
    struct herald__diag d;
    struct herald__node *root;

    (void)state;
    setenv("HERALD_T_PW", "envsecret10", 1);
    assert_true(asprintf(&yaml,
                         "port: ${file:%s}\n"
                         "retries: \"3${env:HERALD_T_PW}x\"\n"
                         "verify: yes-${env:HERALD_T_PW}\n"
                         "pin: abc123\n",
                         secret) > 0);
    herald__diag_init(&d);
    root = load(yaml, &d);
    assert_non_null(root);
    assert_null(herald__options_new(root, table, NULL, &d));
    {
        static const char *const want[] = {
            "t.yaml:1:7: 'port' expects an integer; got '<redacted>'",
            "t.yaml:2:10: 'retries' expects an integer; got '3<redacted>x'",
            "t.yaml:3:9: 'verify' expects true or false; got "
            "'yes-<redacted>'",
            "t.yaml:4:6: 'pin' expects an integer; got '<redacted>'",
            NULL,
        };
        assert_diags(&d, want);
    }
    herald__diag_cleanup(&d);
    /* Any module's message positioned anywhere is scrubbed too. */
    herald__diag_init(&d);
    herald__diag_add(&d, NULL, "cannot use 'envsecret10' here");
    assert_string_equal(d.msgs[0], "cannot use '<redacted>' here");
    herald__diag_cleanup(&d);
    herald__config_destroy(root);
    free(yaml);
    unlink(secret);
    free(secret);
    unsetenv("HERALD_T_PW");
}

/* stderr's next log line(s), through a temp file. */
static char *capture_log(void (*emit)(void))
{
    char tmpl[] = "/tmp/herald-test-log-XXXXXX";
    int fd = mkstemp(tmpl);
    int saved = dup(2);
    static char buf[8192];
    FILE *f;
    size_t n;

    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(fd, 2);
    emit();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    f = fopen(tmpl, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(tmpl);
    return buf;
}

static void emit_logs(void)
{
    herald__log_set_level(HERALD_LOG_DEBUG);
    herald__debug("open: smtp://bob:logpw-11@mail:587, 2 connection(s)");
    herald__log(HERALD_LOG_ERROR, "connector=c url=https://t0ken-12@sr",
                "registry https://u:literal-13@sr/x said no; key logpw-11");
    herald__info("no credentials: http://sr:8081/x and a@b.example");
    herald__log_set_level(HERALD_LOG_INFO);
}

/* Logs at every level: values registered from ${env:} and every URL
 * password are replaced, in the message and in the fields. */
static void test_log_redaction(void **state)
{
    struct herald__diag d;
    struct herald__node *root;
    const char *got;

    (void)state;
    setenv("HERALD_T_PW", "logpw-11", 1);
    herald__diag_init(&d);
    root = load("a: x${env:HERALD_T_PW}\n", &d);
    assert_int_equal(d.n, 0);
    got = capture_log(emit_logs);
    print_message("%s", got);
    assert_null(strstr(got, "logpw-11"));
    assert_null(strstr(got, "t0ken-12"));
    assert_null(strstr(got, "literal-13"));
    assert_non_null(strstr(got, "level=debug msg=\"open: "
                                "smtp://bob:<redacted>@mail:587, 2 "
                                "connection(s)\"\n"));
    assert_non_null(strstr(got, "level=error connector=c "
                                "url=https://<redacted>@sr msg=\"registry "
                                "https://u:<redacted>@sr/x said no; key "
                                "<redacted>\"\n"));
    assert_non_null(strstr(got, "msg=\"no credentials: http://sr:8081/x "
                                "and a@b.example\"\n"));
    herald__config_destroy(root);
    herald__diag_cleanup(&d);
    unsetenv("HERALD_T_PW");
}

/* A relative ${file:} path is relative to the config file's directory,
 * not to the current one (like templates and schemas_dir). */
static void test_file_relative_to_config(void **state)
{
    char dir[] = "/tmp/herald-test-cfgdir-XXXXXX";
    char path[256];
    struct herald__diag d;
    struct herald__node *root;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/secrets", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/secrets/pw", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("rel-secret-14\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/herald.yaml", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("pw: ${file:secrets/pw}\nmissing: ${file:nope}\n", f);
    fclose(f);
    assert_int_equal(chdir("/"), 0);
    herald__diag_init(&d);
    root = herald__config_load_file(path, &d);
    assert_non_null(root);
    assert_string_equal(herald__node_str(root, "pw", NULL), "rel-secret-14");
    assert_int_equal(d.n, 1);
    {
        char want[512];

        snprintf(want, sizeof(want),
                 "%s:2:10: cannot read file '%s/nope': No such file or "
                 "directory",
                 path, dir);
        assert_string_equal(d.msgs[0], want);
    }
    herald__config_destroy(root);
    herald__diag_cleanup(&d);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    assert_int_equal(system(path), 0);
}

static void test_key_is_secret(void **state)
{
    static const char *const secret[] = {
        "password",
        "PASSWORD",
        "api_key",
        "secret",
        "token",
        "basic_auth",
        "sasl.password",
        "ssl.key.password",
        "ssl.keystore.password",
        "smtp_password",
        "access_token",
        "client_secret",
        "sasl.oauthbearer.client.secret",
        "Authorization",
    };
    static const char *const plain[] = {
        "url",
        "token_url",
        "passwords_file",
        "password_hint",
        "tokens",
        "user",
        "sasl.username",
        "xpassword",
        "",
        "bootstrap.servers",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
        print_message("secret: %s\n", secret[i]);
        assert_int_equal(herald__config_key_is_secret(secret[i]), 1);
    }
    for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        print_message("plain: %s\n", plain[i]);
        assert_int_equal(herald__config_key_is_secret(plain[i]), 0);
    }
    assert_int_equal(herald__config_key_is_secret(NULL), 0);
}

/* What is printed reads back as the same tree, printed the same way. */
static void test_print_round_trip(void **state)
{
    static const char yaml[] = "plain: hello world\n"
                               "colon: \"a: b\"\n"
                               "hash: \"a #b\"\n"
                               "lead: \" x\"\n"
                               "bool_string: \"true\"\n"
                               "null_string: 'null'\n"
                               "empty: \"\"\n"
                               "nothing:\n"
                               "multi: |\n"
                               "  one\n"
                               "  two \"q\" \\ back\n"
                               "dash: \"-x\"\n"
                               "dollar: $${env:NOT_SUBSTITUTED}\n"
                               "\"key: odd\": 1\n"
                               "tab: \"a\\tb\"\n"
                               "utf8: \"caf\xc3\xa9\"\n"
                               "list: [a, [b, c], {d: e, f: [g]}, []]\n"
                               "map: {}\n"
                               "deep:\n"
                               "  - - x\n"
                               "    - y\n"
                               "  - k: v\n"
                               "    l:\n"
                               "      - 1\n";
    struct herald__diag d;
    struct herald__node *root;
    struct herald__node *again;
    char *out1;
    char *out2;

    (void)state;
    herald__diag_init(&d);
    root = load(yaml, &d);
    assert_non_null(root);
    out1 = print(root);
    print_message("%s", out1);
    again = load(out1, &d);
    assert_non_null(again);
    assert_int_equal(d.n, 0);
    out2 = print(again);
    assert_string_equal(out1, out2);
    assert_string_equal(value_of(again, "colon"), "a: b");
    assert_string_equal(value_of(again, "hash"), "a #b");
    assert_string_equal(value_of(again, "lead"), " x");
    assert_string_equal(value_of(again, "bool_string"), "true");
    assert_true(herald__node_get(again, "bool_string")->quoted);
    assert_false(herald__node_get(again, "null_string")->null_value);
    assert_true(herald__node_get(again, "nothing")->null_value);
    assert_string_equal(value_of(again, "empty"), "");
    assert_string_equal(value_of(again, "multi"), "one\ntwo \"q\" \\ back\n");
    assert_string_equal(value_of(again, "dash"), "-x");
    assert_string_equal(value_of(again, "dollar"), "${env:NOT_SUBSTITUTED}");
    assert_string_equal(value_of(again, "key: odd"), "1");
    assert_string_equal(value_of(again, "tab"), "a\tb");
    assert_string_equal(value_of(again, "utf8"), "caf\xc3\xa9");
    assert_string_equal(out1, "plain: hello world\n"
                              "colon: \"a: b\"\n"
                              "hash: \"a #b\"\n"
                              "lead: \" x\"\n"
                              "bool_string: \"true\"\n"
                              "null_string: \"null\"\n"
                              "empty: \"\"\n"
                              "nothing: null\n"
                              "multi: \"one\\ntwo \\\"q\\\" \\\\ back\\n\"\n"
                              "dash: \"-x\"\n"
                              "dollar: $${env:NOT_SUBSTITUTED}\n"
                              "\"key: odd\": 1\n"
                              "tab: \"a\\tb\"\n"
                              "utf8: \"caf\xc3\xa9\"\n"
                              "list:\n"
                              "  - a\n"
                              "  -\n"
                              "    - b\n"
                              "    - c\n"
                              "  - d: e\n"
                              "    f:\n"
                              "      - g\n"
                              "  - []\n"
                              "map: {}\n"
                              "deep:\n"
                              "  -\n"
                              "    - x\n"
                              "    - y\n"
                              "  - k: v\n"
                              "    l:\n"
                              "      - 1\n");
    free(out1);
    free(out2);
    herald__config_destroy(root);
    herald__config_destroy(again);
    herald__diag_cleanup(&d);
}

/* ---- Durations and sizes ------------------------------------------- */

static void test_parse_duration(void **state)
{
    static const struct {
        const char *in;
        int64_t ms;
    } ok[] = {
        {"0", 0},
        {"250", 250},
        {"250ms", 250},
        {"30s", 30000},
        {"5m", 300000},
        {"1h", 3600000},
        {"1d", 86400000},
        {"007s", 7000},
        {"9223372036854775807", INT64_MAX},
        {"9223372036854775ms", 9223372036854775},
        {"106751991167d", INT64_C(9223372036828800000)},
    };
    static const char *const bad[] = {
        "",
        "5x",
        "-1",
        "-1s",
        "+1s",
        "1.5s",
        " 5s",
        "5s ",
        "5 s",
        "5S",
        "s",
        "ms",
        "1sec",
        "1hh",
        "9223372036854775808",
        "9223372036854776s",
        "106751991168d",
        "0x10",
    };
    size_t i;
    int64_t v;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        v = -7;
        assert_int_equal(herald__parse_duration_ms(ok[i].in, &v), 0);
        assert_int_equal(v, ok[i].ms);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = -7;
        print_message("bad duration '%s'\n", bad[i]);
        assert_int_equal(herald__parse_duration_ms(bad[i], &v), -1);
        assert_int_equal(v, -7);
    }
    assert_int_equal(herald__parse_duration_ms(NULL, &v), -1);
}

static void test_parse_size(void **state)
{
    static const struct {
        const char *in;
        int64_t bytes;
    } ok[] = {
        {"0", 0},
        {"512", 512},
        {"512b", 512},
        {"1KB", 1000},
        {"1kb", 1000},
        {"1KiB", 1024},
        {"64kib", 65536},
        {"10MB", 10000000},
        {"10MiB", 10485760},
        {"1GB", 1000000000},
        {"1GiB", 1073741824},
        {"2gib", 2147483648},
        {"1TiB", INT64_C(1099511627776)},
        {"8589934591GiB", INT64_C(9223372035781033984)},
        {"9223372036854775807", INT64_MAX},
    };
    static const char *const bad[] = {
        "",
        "KB",
        "1.5MB",
        "-1",
        "1XB",
        "1 KB",
        "1K",
        "1KiBs",
        " 1",
        "8589934592GiB",
        "9223372036854775808",
        "9223372036854776KB",
    };
    size_t i;
    int64_t v;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        v = -7;
        assert_int_equal(herald__parse_size(ok[i].in, &v), 0);
        assert_int_equal(v, ok[i].bytes);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = -7;
        print_message("bad size '%s'\n", bad[i]);
        assert_int_equal(herald__parse_size(bad[i], &v), -1);
        assert_int_equal(v, -7);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_collects_every_error),
        cmocka_unit_test(test_errors_in_one_scalar),
        cmocka_unit_test(test_substitution_then_syntax_error),
        cmocka_unit_test(test_check_keys_counts),
        cmocka_unit_test(test_diag_add),
        cmocka_unit_test(test_tree_and_positions),
        cmocka_unit_test(test_node_paths),
        cmocka_unit_test(test_aliases_are_copied),
        cmocka_unit_test(test_alias_bomb_is_refused),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_env_substitution),
        cmocka_unit_test(test_file_substitution),
        cmocka_unit_test(test_redaction),
        cmocka_unit_test(test_key_is_secret),
        cmocka_unit_test(test_redaction_by_provenance),
        cmocka_unit_test(test_type_error_redacted),
        cmocka_unit_test(test_log_redaction),
        cmocka_unit_test(test_file_relative_to_config),
        cmocka_unit_test(test_print_round_trip),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_parse_size),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
