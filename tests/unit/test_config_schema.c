/*
 * test_config_schema.c - the description of herald's own configuration
 * (config_schema.c and its tables in worker_config.c and
 * connector_config.c) against the parsers that read it:
 *   - every key the reference describes is accepted by the real parsers
 *     (worker_config, connector_config, dedup, notify) without an
 *     "unknown key" error, and the same key misspelled by one letter gets
 *     "did you mean" that key, at its file:line:col;
 *   - the reference printed by `herald check --describe` lists exactly
 *     the keys of the tables, with exact text for a few;
 *   - the table defaults are the values the code uses;
 *   - typed errors read "'PATH' expects WHAT; got 'VALUE'", at the
 *     value's position.
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
#include "config_schema.h"
#include "connector_config.h"
#include "decode.h"
#include "dedup.h"
#include "notify.h"
#include "worker_config.h"

#define MAX_PATHS 256
#define DOC_MAX 4096

struct paths {
    char *p[MAX_PATHS];
    const struct herald__key *k[MAX_PATHS];
    size_t n;
};

static void collect(const char *path, const struct herald__key *k, void *ctx)
{
    struct paths *ps = ctx;

    assert_true(ps->n < MAX_PATHS);
    ps->p[ps->n] = strdup(path);
    assert_non_null(ps->p[ps->n]);
    ps->k[ps->n++] = k;
}

static void paths_free(struct paths *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        free(ps->p[i]);
    }
}

/* A value the key accepts, as YAML. */
static const char *sample(const struct herald__key *k)
{
    static char buf[64];

    switch (k->shape) {
    case HERALD__SHAPE_SECTIONS:
        return "[{}]";
    case HERALD__SHAPE_PROPERTIES:
        return "{ client.id: x }";
    case HERALD__SHAPE_INSTANCE:
        return "{ plugin: nosuch }";
    case HERALD__SHAPE_VALUE:
        break;
    default:
        return "{}";
    }
    if (k->opt.default_value) {
        /* A list default is written as YAML ("[card_number]"). */
        snprintf(buf, sizeof buf,
                 k->opt.type == HERALD_OPT_LIST ? "%s" : "\"%s\"",
                 k->opt.default_value);
        return buf;
    }
    switch (k->opt.type) {
    case HERALD_OPT_LIST:
        return "[a]";
    case HERALD_OPT_STRING:
        return "\"x\"";
    default:
        fail_msg("key '%s' needs a sample", k->opt.name);
        return NULL;
    }
}

/* A document setting path (dots, and "[]" after a list, as the walk
 * writes it) to value, the last key written as `last`; *line and *col get
 * that key's position. */
static void document(const char *path, const char *last, const char *value,
                     char *doc, size_t cap, int *line, int *col)
{
    char copy[256];
    char *parts[16];
    size_t n = 0;
    size_t o = 0;
    int indent = 0;
    int inline_next = 0;

    snprintf(copy, sizeof copy, "%s", path);
    for (char *save = NULL, *t = strtok_r(copy, ".", &save); t;
         t = strtok_r(NULL, ".", &save)) {
        assert_true(n < 16);
        parts[n++] = t;
    }
    *line = 1;
    for (size_t i = 0; i < n; i++) {
        char *br = strstr(parts[i], "[]");
        int pad = inline_next ? 0 : indent;

        if (br) {
            *br = '\0';
        }
        if (i + 1 == n) {
            *col = indent + 1;
            o += (size_t)snprintf(doc + o, cap - o, "%*s%s: %s\n", pad, "",
                                  last ? last : parts[i], value);
            break;
        }
        o += (size_t)snprintf(doc + o, cap - o, "%*s%s:\n", pad, "", parts[i]);
        (*line)++;
        indent += 2;
        inline_next = 0;
        if (br) {
            o += (size_t)snprintf(doc + o, cap - o, "%*s- ", indent, "");
            indent += 2;
            inline_next = 1;
        }
    }
    assert_true(o < cap);
}

/* Runs every parser of the configuration over root, as the worker and
 * the connector do (without building anything that needs the network). */
static void parse_all(const struct herald__node *root, struct herald__diag *d)
{
    const struct herald__node *kafka, *channels, *connectors;
    struct herald__admin_listen at;
    const struct herald__node *at_node;
    struct herald__registry_config reg;
    char *dir = NULL;

    herald__worker_config_check(root, d);
    herald__worker_config_log(root, d);
    herald__worker_config_admin(root, &at, &at_node, d);
    herald__worker_config_registry(root, "/tmp", &reg, &dir, d);
    free(dir);
    herald__worker_config_sections(root, &kafka, &channels, &connectors, d);
    for (size_t i = 0; connectors && i < connectors->n; i++) {
        struct herald__connector_config cfg;

        herald__connector_config_parse(connectors->items[i], 0, &cfg, d);
        if (cfg.dedup) {
            herald__dedup_destroy(
                herald__dedup_new(cfg.dedup, 0, "g", NULL, NULL, d));
        }
        if (cfg.notify) {
            herald__notify_destroy(herald__notify_new_for(
                cfg.notify, cfg.dedup, NULL, "/tmp", NULL, d));
        }
        herald__connector_config_cleanup(&cfg);
    }
}

static int count_containing(const struct herald__diag *d, const char *s)
{
    int n = 0;

    for (size_t i = 0; i < d->n; i++) {
        n += strstr(d->msgs[i], s) != NULL;
    }
    return n;
}

static void print_diag(const struct herald__diag *d)
{
    for (size_t i = 0; i < d->n; i++) {
        print_message("  %s\n", d->msgs[i]);
    }
}

/* Every described key is accepted; one letter more gets "did you mean"
 * that key, at the key's position. */
static void test_described_keys_are_accepted(void **state)
{
    struct paths ps = {0};

    (void)state;
    herald__section_walk(&herald__config_section, NULL, collect, &ps);
    assert_true(ps.n > 60);
    for (size_t i = 0; i < ps.n; i++) {
        const struct herald__key *k = ps.k[i];
        char doc[DOC_MAX];
        char typo[128];
        char want[256];
        int line;
        int col;
        struct herald__diag d;
        struct herald__node *root;

        /* Accepted. */
        document(ps.p[i], NULL, sample(k), doc, sizeof doc, &line, &col);
        herald__diag_init(&d);
        root = herald__config_load_string("s.yaml", doc, strlen(doc), &d);
        assert_non_null(root);
        parse_all(root, &d);
        if (count_containing(&d, "unknown key") != 0 ||
            count_containing(&d, "internal error") != 0) {
            print_message("%s rejected:\n%s", ps.p[i], doc);
            print_diag(&d);
            fail();
        }
        herald__config_destroy(root);
        herald__diag_cleanup(&d);

        /* Misspelled: the last letter doubled. */
        snprintf(typo, sizeof typo, "%s%c", k->opt.name,
                 k->opt.name[strlen(k->opt.name) - 1]);
        document(ps.p[i], typo, sample(k), doc, sizeof doc, &line, &col);
        snprintf(want, sizeof want,
                 "s.yaml:%d:%d: unknown key '%s' (did you mean '%s'?)", line,
                 col, typo, k->opt.name);
        herald__diag_init(&d);
        root = herald__config_load_string("s.yaml", doc, strlen(doc), &d);
        assert_non_null(root);
        parse_all(root, &d);
        if (count_containing(&d, want) != 1) {
            print_message("%s: want once: %s\n%s", ps.p[i], want, doc);
            print_diag(&d);
            fail();
        }
        herald__config_destroy(root);
        herald__diag_cleanup(&d);
    }
    paths_free(&ps);
}

/* The reference lists exactly the walked keys, each once, in order; a few
 * blocks verbatim. */
static void test_describe_lists_every_key(void **state)
{
    struct paths ps = {0};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    size_t at = 0;

    (void)state;
    assert_non_null(f);
    herald__section_describe(&herald__config_section, f);
    fclose(f);
    herald__section_walk(&herald__config_section, NULL, collect, &ps);
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        if (l[0] == ' ') {
            continue;
        }
        assert_true(at < ps.n);
        assert_string_equal(l, ps.p[at]);
        at++;
    }
    assert_int_equal(at, ps.n);
    /* No key declared twice. */
    for (size_t i = 0; i < ps.n; i++) {
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(ps.p[i], ps.p[j]);
        }
    }
    free(text);
    paths_free(&ps);

    text = NULL;
    f = open_memstream(&text, &len);
    herald__section_describe(&herald__config_section, f);
    fclose(f);
    assert_non_null(strstr(text, "connectors[].errors.retry.initial\n"
                                 "    duration (e.g. 250ms, 30s, 5m, 1h); "
                                 "default 1s\n"
                                 "    first backoff after a RETRY\n"));
    assert_non_null(strstr(text, "log.level\n"
                                 "    one of: error, warn, info, debug; "
                                 "default info\n"));
    assert_non_null(strstr(text, "schema_registry.cache_size\n"
                                 "    integer from 1 to 1000000; default "
                                 "1000\n"));
    assert_non_null(strstr(text, "hash_key\n    secret string of at least 16 "
                                 "bytes (e.g. "
                                 "${file:/run/secrets/herald_hash_key} "
                                 "holding the output of `openssl rand -hex "
                                 "32`)\n"));
    assert_non_null(strstr(text, "connectors\n"
                                 "    list of sections; required\n"));
    free(text);
}

/* The defaults in the tables are the constants the code uses. */
static void test_defaults_match_constants(void **state)
{
    static const char doc[] = "name: c\ntopics: t\nkey: {}\nvalue: {}\n"
                              "notify: { channel: x }\n";
    struct herald__diag d;
    struct herald__node *root;
    struct herald__connector_config cfg;

    (void)state;
    herald__diag_init(&d);
    root = herald__config_load_string("c.yaml", doc, strlen(doc), &d);
    assert_non_null(root);
    assert_int_equal(herald__connector_config_parse(root, 0, &cfg, &d), 0);
    assert_int_equal(cfg.batch_max_records,
                     HERALD__CONNECTOR_BATCH_MAX_RECORDS);
    assert_int_equal(cfg.batch_max_bytes, HERALD__CONNECTOR_BATCH_MAX_BYTES);
    assert_int_equal(cfg.linger_ms, HERALD__CONNECTOR_LINGER_MS);
    assert_int_equal(cfg.max_in_flight, HERALD__CONNECTOR_MAX_IN_FLIGHT);
    assert_int_equal(cfg.drain_timeout_ms, HERALD__CONNECTOR_DRAIN_TIMEOUT_MS);
    assert_int_equal(cfg.commit_interval_ms,
                     HERALD__CONNECTOR_COMMIT_INTERVAL_MS);
    assert_int_equal(cfg.retry_initial_ms, HERALD__CONNECTOR_RETRY_INITIAL_MS);
    assert_int_equal(cfg.retry_max_ms, HERALD__CONNECTOR_RETRY_MAX_MS);
    assert_int_equal(cfg.retry_timeout_ms, HERALD__CONNECTOR_RETRY_TIMEOUT_MS);
    assert_int_equal(cfg.probe_initial_ms, HERALD__CONNECTOR_PROBE_INITIAL_MS);
    assert_int_equal(cfg.probe_max_ms, HERALD__CONNECTOR_PROBE_MAX_MS);
    assert_int_equal(cfg.skip_tombstones, 1);
    assert_int_equal(cfg.tolerance_all, 0);
    assert_int_equal(cfg.key_format.format, HERALD__FORMAT_STRING);
    assert_int_equal(cfg.value_format.format, HERALD__FORMAT_AVRO);
    assert_int_equal(cfg.key_format.max_nodes,
                     HERALD__DECODE_MAX_NODES_DEFAULT);
    assert_int_equal(cfg.value_format.max_bytes,
                     HERALD__DECODE_MAX_BYTES_DEFAULT);
    assert_string_equal(cfg.group_id, "herald-c");
    herald__connector_config_cleanup(&cfg);
    herald__config_destroy(root);
    herald__diag_cleanup(&d);
}

struct bad {
    const char *yaml;
    const char *want;
};

/* Typed errors from the tables, with their wording and positions. */
static void test_typed_errors(void **state)
{
    static const struct bad cases[] = {
        {"max_in_flight: 0\n", "e.yaml:1:16: 'max_in_flight' expects an "
                               "integer >= 1; got '0'"},
        {"batch: { linger: soon }\n",
         "e.yaml:1:18: 'batch.linger' expects a duration (e.g. 250ms, 30s, "
         "5m, 1h); got 'soon'"},
        {"batch: { max_bytes: big }\n",
         "e.yaml:1:21: 'batch.max_bytes' expects a size (e.g. 512KiB, 1MiB); "
         "got 'big'"},
        {"skip_tombstones: yes\n",
         "e.yaml:1:18: 'skip_tombstones' expects true or false; got 'yes'"},
        {"errors: { tolerance: some }\n",
         "e.yaml:1:22: 'errors.tolerance' expects one of: none, all; got "
         "'some'"},
        {"key: { window: daily }\n",
         "e.yaml:1:16: 'key.window' expects one of: none, tumbling, hopping, "
         "session; got 'daily'"},
        {"value: { format: xml }\n",
         "e.yaml:1:18: 'value.format' expects one of: string, bytes, json, "
         "avro; got 'xml'"},
        {"key: string\n",
         "e.yaml:1:6: 'key' expects a map (e.g. { format: string }); got "
         "'string'"},
        {"topics: []\n", "e.yaml:1:9: 'topics' expects a topic or a "
                         "non-empty list of them; got a list"},
        {"topics: [a, {b: c}]\n",
         "e.yaml:1:13: 'topics[1]' expects a string; got a map"},
        {"kafka: [a]\n", "e.yaml:1:8: 'kafka' expects a map of librdkafka "
                         "properties; got a list"},
        {"errors: { dead_letter_topic: \"\" }\n",
         "e.yaml:1:30: 'errors.dead_letter_topic' expects a topic name; got "
         "''"},
        {"errors: { retry: { max: 1y } }\n",
         "e.yaml:1:25: 'errors.retry.max' expects a duration (e.g. 250ms, "
         "30s, 5m, 1h); got '1y'"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char doc[512];
        struct herald__diag d;
        struct herald__node *root;
        struct herald__connector_config cfg;

        snprintf(doc, sizeof doc, "%s", cases[i].yaml);
        herald__diag_init(&d);
        root = herald__config_load_string("e.yaml", doc, strlen(doc), &d);
        assert_non_null(root);
        herald__connector_config_parse(root, 1, &cfg, &d);
        herald__connector_config_cleanup(&cfg);
        if (count_containing(&d, cases[i].want) != 1) {
            print_message("case %zu: want %s\n", i, cases[i].want);
            print_diag(&d);
            fail();
        }
        herald__config_destroy(root);
        herald__diag_cleanup(&d);
    }
}

/* schema_registry's values are checked from its table: a malformed
 * timeout or a flag other than true/false is an error (both were taken
 * silently before), the counts keep their bounds. */
static void test_registry_errors(void **state)
{
    static const struct bad cases[] = {
        {"schema_registry:\n  url: http://r\n  connect_timeout: soon\n",
         "e.yaml:3:20: 'schema_registry.connect_timeout' expects a duration "
         "(e.g. 250ms, 30s, 5m, 1h); got 'soon'"},
        {"schema_registry:\n  url: http://r\n  timeout: 5\n  "
         "insecure_skip_verify: yes\n",
         "e.yaml:4:25: 'schema_registry.insecure_skip_verify' expects true "
         "or false; got 'yes'"},
        {"schema_registry:\n  url: http://r\n  cache_size: 0\n",
         "e.yaml:3:15: 'schema_registry.cache_size' expects an integer from "
         "1 to 1000000; got '0'"},
        {"schema_registry:\n  url: http://r\n  not_found_wait: soon\n",
         "e.yaml:3:19: 'schema_registry.not_found_wait' expects a duration "
         "(e.g. 30s, 5m; 0s: a 404 is final at once); got 'soon'"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct herald__diag d;
        struct herald__node *root;
        struct herald__registry_config cfg;
        char *dir = NULL;

        herald__diag_init(&d);
        root = herald__config_load_string("e.yaml", cases[i].yaml,
                                          strlen(cases[i].yaml), &d);
        assert_non_null(root);
        assert_int_equal(
            herald__worker_config_registry(root, "/tmp", &cfg, &dir, &d), -1);
        assert_null(dir);
        if (d.n != 1 || strcmp(d.msgs[0], cases[i].want) != 0) {
            print_message("case %zu: want %s\n", i, cases[i].want);
            print_diag(&d);
            fail();
        }
        herald__config_destroy(root);
        herald__diag_cleanup(&d);
    }
}

/* Given registry values reach the registry's config; absent ones stay 0
 * (the registry's own defaults); not_found_wait 0s means "final at once". */
static void test_registry_values(void **state)
{
    static const char doc[] = "schema_registry:\n"
                              "  schemas_dir: schemas\n"
                              "  timeout: 5s\n"
                              "  insecure_skip_verify: true\n"
                              "  not_found_wait: 0s\n"
                              "  max_fetches: 3\n";
    struct herald__diag d;
    struct herald__node *root;
    struct herald__registry_config cfg;
    char *dir = NULL;

    (void)state;
    herald__diag_init(&d);
    root = herald__config_load_string("v.yaml", doc, strlen(doc), &d);
    assert_non_null(root);
    assert_int_equal(
        herald__worker_config_registry(root, "/etc/herald", &cfg, &dir, &d), 1);
    assert_int_equal(d.n, 0);
    assert_string_equal(dir, "/etc/herald/schemas");
    assert_ptr_equal(cfg.schemas_dir, dir);
    assert_null(cfg.url);
    assert_int_equal(cfg.request_timeout_ms, 5000);
    assert_int_equal(cfg.connect_timeout_ms, 0);
    assert_int_equal(cfg.insecure, 1);
    assert_int_equal(cfg.not_found_wait_ms, -1);
    assert_int_equal(cfg.cache_size, 0);
    assert_int_equal(cfg.max_fetches, 3);
    free(dir);
    herald__config_destroy(root);
    herald__diag_cleanup(&d);
}

static void no_dir(void *ctx, const struct herald__node *dir,
                   struct herald__diag *d)
{
    (void)ctx;
    (void)dir;
    (void)d;
    fail_msg("no directory is valid here");
}

/* The top level's maps and lists of the wrong shape get the same value
 * error as a scalar of the wrong type. */
static void test_top_level_shapes(void **state)
{
    static const char doc[] = "kafka: 1\n"
                              "channels: [a]\n"
                              "plugin_path: [{a: b}]\n"
                              "connectors: [{}]\n"
                              "schema_registry: x\n";
    static const char *const want[] = {
        "t.yaml:1:8: 'kafka' expects a map of librdkafka properties; got '1'",
        "t.yaml:2:11: 'channels' expects a map of channel names to channel "
        "settings; got a list",
        "t.yaml:3:15: 'plugin_path[0]' expects a directory; got a map",
        "t.yaml:5:18: 'schema_registry' expects a map; got 'x'",
    };
    const struct herald__node *kafka, *channels, *connectors;
    struct herald__registry_config reg;
    char *dir = NULL;
    struct herald__diag d;
    struct herald__node *root;

    (void)state;
    herald__diag_init(&d);
    root = herald__config_load_string("t.yaml", doc, strlen(doc), &d);
    assert_non_null(root);
    herald__worker_config_sections(root, &kafka, &channels, &connectors, &d);
    herald__worker_config_plugin_path(root, no_dir, NULL, &d);
    assert_int_equal(
        herald__worker_config_registry(root, "/tmp", &reg, &dir, &d), -1);
    print_diag(&d);
    assert_int_equal(d.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < d.n; i++) {
        assert_string_equal(d.msgs[i], want[i]);
    }
    herald__config_destroy(root);
    herald__diag_cleanup(&d);
}

/* A value from ${env:} in an enum error prints as <redacted>, even one
 * too short for the free-text scrubber (redact.h). */
static void test_enum_error_redacts(void **state)
{
    static const char doc[] = "log:\n  level: ${env:HERALD_T_LEVEL}\n";
    struct herald__diag d;
    struct herald__node *root;

    (void)state;
    setenv("HERALD_T_LEVEL", "ab", 1);
    herald__diag_init(&d);
    root = herald__config_load_string("r.yaml", doc, strlen(doc), &d);
    assert_non_null(root);
    herald__worker_config_log(root, &d);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0],
                        "r.yaml:2:10: 'log.level' expects one of: error, "
                        "warn, info, debug; got '<redacted>'");
    herald__config_destroy(root);
    herald__diag_cleanup(&d);
    unsetenv("HERALD_T_LEVEL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_described_keys_are_accepted),
        cmocka_unit_test(test_describe_lists_every_key),
        cmocka_unit_test(test_defaults_match_constants),
        cmocka_unit_test(test_typed_errors),
        cmocka_unit_test(test_top_level_shapes),
        cmocka_unit_test(test_enum_error_redacts),
        cmocka_unit_test(test_registry_errors),
        cmocka_unit_test(test_registry_values),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
