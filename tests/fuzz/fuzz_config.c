/*
 * fuzz_config.c - libFuzzer target: the YAML config loader, ${env:} and
 * ${file:} substitution, plugin option validation, the framework's own
 * parsers (worker_config.c, connector_config.c: the top level and every
 * item of "connectors") and the redacted printer on arbitrary bytes.
 *
 * Substitution has something to find: the environment variable
 * HERALD_FUZZ_SECRET is set, and "@D" in the input stands for a directory
 * holding the files "secret", "empty" and "nul" (a NUL byte). A map under
 * the top-level key "o" is validated against an options table of every
 * type, so type errors are reported too.
 *
 * Invariant, besides memory safety: nothing that came from ${env:} or
 * ${file:} reaches printed output (the redacted tree and the diagnostics).
 * Checked by difference: the input is loaded twice, with the variable and
 * the files holding two different values of the same length; any
 * difference in what is printed is a leak.
 *
 * NOTE (issue 10, item 8): the current printer redacts by key name only, so
 * "${env:HERALD_FUZZ_SECRET}" under an ordinary key is printed and this
 * target fails until redaction goes by provenance. Its committed corpus
 * holds only inputs that pass today.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "connector_config.h"
#include "worker_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT 65536
#define DIR_MARKER "@D"
#define SECRET_ENV "HERALD_FUZZ_SECRET"

/* Two values of the same length for every secret source, one per load. */
static const char *const env_value[2] = {"env-secret-AAAA", "env-secret-BBBB"};
static const char *const file_value[2] = {"file-secret-AAAA\n",
                                          "file-secret-BBBB\n"};
static const char *const file_names[] = {"secret", "empty", "nul", NULL};
static char base[64];    /* mkdtemp'd, removed at exit */
static char dirs[2][80]; /* base/a, base/b: same length */

struct out {
    char *p;
    size_t len;
};

static void put(struct out *o, const char *s, size_t len)
{
    char *p = realloc(o->p, o->len + len + 1);
    if (p == NULL) {
        abort();
    }
    memcpy(p + o->len, s, len);
    o->len += len;
    p[o->len] = '\0';
    o->p = p;
}

static void sink(void *ctx, const char *s, size_t len)
{
    put(ctx, s, len);
}

static void remove_dirs(void)
{
    char path[160];

    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; file_names[i] != NULL; i++) {
            if (snprintf(path, sizeof(path), "%s/%s", dirs[k], file_names[i]) <
                (int)sizeof(path)) {
                unlink(path);
            }
        }
        rmdir(dirs[k]);
    }
    rmdir(base);
}

static void write_file(const char *dir, const char *name, const char *s,
                       size_t len)
{
    char path[160];
    FILE *f;

    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
        abort();
    }
    f = fopen(path, "wb");
    if (f == NULL || fwrite(s, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

static void setup(void)
{
    snprintf(base, sizeof(base), "/tmp/herald-fuzz-config-XXXXXX");
    if (mkdtemp(base) == NULL) {
        perror("mkdtemp");
        abort();
    }
    for (int k = 0; k < 2; k++) {
        snprintf(dirs[k], sizeof(dirs[k]), "%s/%c", base, 'a' + k);
        if (mkdir(dirs[k], 0700) != 0) {
            perror(dirs[k]);
            abort();
        }
        write_file(dirs[k], "secret", file_value[k], strlen(file_value[k]));
        write_file(dirs[k], "empty", "", 0);
        write_file(dirs[k], "nul", k ? "b\0b" : "a\0a", 3);
    }
    atexit(remove_dirs);
}

/* s[0..len) with every DIR_MARKER replaced by dir, NUL-terminated. */
static char *with_dir(const char *s, size_t len, const char *dir,
                      size_t *out_len)
{
    struct out o = {0};
    size_t i = 0, mlen = strlen(DIR_MARKER);

    put(&o, "", 0);
    while (i < len) {
        if (len - i >= mlen && memcmp(s + i, DIR_MARKER, mlen) == 0) {
            put(&o, dir, strlen(dir));
            i += mlen;
        } else {
            put(&o, s + i, 1);
            i++;
        }
    }
    *out_len = o.len;
    return o.p;
}

/* Printed output differs between the loads only through the directory
 * name; make it the same. Both names are masked in both outputs: the
 * fuzzer learns them (from this very strstr) and writes them literally. */
static void undo_dir(char *s, const char *dir)
{
    size_t dl = strlen(dir);
    char *p = s;

    while ((p = strstr(p, dir)) != NULL) {
        memset(p, '#', dl);
        p += dl;
    }
}

static void no_dir(void *ctx, const struct herald__node *dir,
                   struct herald__diag *d)
{
    (void)ctx;
    (void)dir;
    (void)d;
}

/* The framework's parsers, as the worker runs them (nothing built). */
static void framework(const struct herald__node *root, struct herald__diag *d)
{
    const struct herald__node *kafka, *channels, *connectors;
    struct herald__admin_listen at;
    const struct herald__node *at_node;
    struct herald__registry_config reg;
    char *dir = NULL;

    herald__worker_config_check(root, d);
    herald__worker_config_admin(root, &at, &at_node, d);
    herald__worker_config_registry(root, "/tmp", &reg, &dir, d);
    free(dir);
    herald__worker_config_plugin_path(root, no_dir, NULL, d);
    herald__worker_config_sections(root, &kafka, &channels, &connectors, d);
    for (size_t i = 0; connectors && i < connectors->n; i++) {
        struct herald__connector_config cfg;

        herald__connector_config_parse(connectors->items[i], 0, &cfg, d);
        herald__connector_config_cleanup(&cfg);
    }
}

/* Load the input as secret set k; everything the config module prints or
 * reports, as text. */
static char *load_once(const uint8_t *data, size_t size, int k)
{
    static const char *const enums[] = {"a", "b", NULL};
    static const struct herald_option table[] = {
        {"s", HERALD_OPT_STRING, NULL, 0, 0, NULL, "string"},
        {"i", HERALD_OPT_INT, "1", 0, 0, NULL, "int"},
        {"b", HERALD_OPT_BOOL, "false", 0, 0, NULL, "bool"},
        {"d", HERALD_OPT_DURATION, "1s", 0, 0, NULL, "duration"},
        {"z", HERALD_OPT_SIZE, "1KiB", 0, 0, NULL, "size"},
        {"e", HERALD_OPT_ENUM, "a", 0, 0, enums, "enum"},
        {"l", HERALD_OPT_LIST, NULL, 0, 0, NULL, "list"},
        {"password", HERALD_OPT_STRING, NULL, 0, 1, NULL, "secret"},
        {NULL, 0, NULL, 0, 0, NULL, NULL},
    };
    static const char *const keys[] = {"kafka", "connectors", "o", NULL};
    struct herald__diag d;
    struct out o = {0};
    size_t len;
    char *text = with_dir((const char *)data, size, dirs[k], &len);
    struct herald__node *root;

    if (setenv(SECRET_ENV, env_value[k], 1) != 0) {
        abort();
    }
    herald__diag_init(&d);
    root = herald__config_load_string("fuzz.yaml", text, len, &d);
    put(&o, "", 0);
    if (root) {
        const struct herald__node *opts = herald__node_get(root, "o");
        herald__node_check_keys(root, keys, &d);
        if (opts != NULL && opts->type == HERALD_NODE_MAP) {
            herald__options_destroy(herald__options_new(opts, table, NULL, &d));
        }
        framework(root, &d);
        herald__config_print_redacted(root, sink, &o);
        herald__config_destroy(root);
    }
    for (size_t i = 0; i < d.n; i++) {
        put(&o, "\n", 1);
        put(&o, d.msgs[i], strlen(d.msgs[i]));
    }
    herald__diag_cleanup(&d);
    free(text);
    undo_dir(o.p, dirs[0]);
    undo_dir(o.p, dirs[1]);
    return o.p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *a, *b;

    if (base[0] == '\0') {
        setup();
    }
    if (size > MAX_INPUT) {
        return 0;
    }
    a = load_once(data, size, 0);
    b = load_once(data, size, 1);
    if (strcmp(a, b) != 0) {
        fprintf(stderr,
                "fuzz_config: a value from ${env:} or ${file:} was printed "
                "(output differs with the secret):\n---- A ----\n%s\n"
                "---- B ----\n%s\n----\n",
                a, b);
        remove_dirs(); /* abort() skips atexit */
        abort();
    }
    free(a);
    free(b);
    return 0;
}
