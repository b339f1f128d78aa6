/*
 * test_plugins_symbols.c - conformance of every built plugin (build/plugins
 * and the test-only plugins): `nm -D --defined-only` shows exactly one
 * symbol, herald_plugin; the file loads through the loader with init
 * succeeding; its definition is complete enough to describe and configure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <sys/stat.h>

#include "loader.h"

#ifndef HERALD_EXPECTED_PLUGINS
#define HERALD_EXPECTED_PLUGINS ""
#endif

struct files {
    char **v;
    size_t n;
};

static void add_file(struct files *f, const char *path)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->v[i], path) == 0) {
            return;
        }
    }
    f->v = realloc(f->v, (f->n + 1) * sizeof(*f->v));
    assert_non_null(f->v);
    f->v[f->n] = strdup(path);
    assert_non_null(f->v[f->n]);
    f->n++;
}

static void free_files(struct files *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i]);
    }
    free(f->v);
}

static void glob_dir(struct files *f, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        char path[1024];

        if (len > 3 && strcmp(e->d_name + len - 3, ".so") == 0) {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            add_file(f, path);
        }
    }
    closedir(d);
}

/* The expected files (from CMake) plus whatever else the dirs hold. */
static void plugin_files(struct files *f)
{
    char *list = strdup(HERALD_EXPECTED_PLUGINS), *save = NULL;

    assert_non_null(list);
    for (char *p = strtok_r(list, ":", &save); p;
         p = strtok_r(NULL, ":", &save)) {
        add_file(f, p);
    }
    free(list);
    /* null, testplug and testnotify at least. */
    assert_true(f->n >= 3);
    glob_dir(f, HERALD_BINARY_DIR "/plugins");
    glob_dir(f, HERALD_TEST_PLUGIN_DIR);
}

/* Report one violation and go on, so one run lists them all. */
static void complain(int *bad, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void complain(int *bad, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    (*bad)++;
}

static void test_one_exported_symbol(void **state)
{
    struct files f = {0};
    int bad = 0;

    (void)state;
    plugin_files(&f);
    for (size_t i = 0; i < f.n; i++) {
        char cmd[1200], line[512], syms[2048] = "";
        size_t n_syms = 0;
        struct stat st;
        FILE *p;

        /* A file CMake says it builds must be there. */
        if (stat(f.v[i], &st) != 0) {
            complain(&bad, "%s: not built", f.v[i]);
            continue;
        }
        snprintf(cmd, sizeof(cmd), "nm -D --defined-only '%s'", f.v[i]);
        p = popen(cmd, "r");
        assert_non_null(p);
        while (fgets(line, sizeof(line), p)) {
            char *name = strrchr(line, ' ');

            name = name ? name + 1 : line;
            name[strcspn(name, "\n")] = '\0';
            /* ASan's ODR indicators exist only in sanitizer builds. */
            if (strncmp(name, "__odr_asan.", 11) == 0) {
                continue;
            }
            strncat(syms, name, sizeof(syms) - strlen(syms) - 2);
            strcat(syms, " ");
            n_syms++;
        }
        if (pclose(p) != 0) {
            complain(&bad, "%s: %s failed", f.v[i], cmd);
        } else if (n_syms != 1 || strcmp(syms, "herald_plugin ") != 0) {
            complain(&bad,
                     "%s exports %zu symbols: %s(want only herald_plugin)",
                     f.v[i], n_syms, syms);
        }
    }
    free_files(&f);
    assert_int_equal(bad, 0);
}

static void fake_log(struct herald_instance *inst, enum herald_log_level l,
                     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fake_log(struct herald_instance *inst, enum herald_log_level l,
                     const char *fmt, ...)
{
    va_list ap;

    (void)inst;
    (void)l;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void fake_counter_add(struct herald_instance *inst, const char *name,
                             int64_t delta)
{
    (void)inst;
    (void)name;
    (void)delta;
}

/* Present so init can test for them with HERALD_API_HAS; calling them
 * from init fails the test (they need an instance). */
static int never_transfer(struct herald_instance *inst, void *easy,
                          herald_transfer_done_fn done, void *ctx)
{
    (void)inst;
    (void)easy;
    (void)done;
    (void)ctx;
    fail_msg("init called transfer_submit");
    return -1;
}

static int never_opt_get(struct herald_instance *inst, const char *name,
                         enum herald_opt_type type, void *out, size_t out_size)
{
    (void)inst;
    (void)type;
    (void)out;
    (void)out_size;
    fail_msg("init read option %s", name);
    return -1;
}

/* init() may only log and count: the rest needs an instance. */
static const struct herald_host_api fake_api = {
    .abi_major = HERALD_ABI_MAJOR,
    .abi_minor = HERALD_ABI_MINOR,
    .struct_size = sizeof(struct herald_host_api),
    .log = fake_log,
    .counter_add = fake_counter_add,
    .transfer_submit = never_transfer,
    .opt_get = never_opt_get,
};

static void test_each_loads(void **state)
{
    struct files f = {0};
    int bad = 0;

    (void)state;
    plugin_files(&f);
    for (size_t i = 0; i < f.n; i++) {
        struct herald__loader *l = herald__loader_new(&fake_api);
        const struct herald__plugin_handle *h;
        const char *base = strrchr(f.v[i], '/') + 1;
        char err[1024] = "", *text = NULL;
        size_t len = 0;
        FILE *out;

        assert_non_null(l);
        h = herald__loader_load(l, f.v[i], err, sizeof(err));
        if (!h) {
            complain(&bad, "%s", err);
            herald__loader_destroy(l);
            continue;
        }
        /* `plugin: NAME` must find it: the file is NAME.so. */
        if (strlen(base) != strlen(h->def.name) + 3 ||
            strncmp(base, h->def.name, strlen(h->def.name)) != 0) {
            complain(&bad, "%s: declares name '%s', not its file name", f.v[i],
                     h->def.name);
        }
        if (!*h->def.version || !*h->def.description) {
            complain(&bad, "%s: version and description must be set", f.v[i]);
        }
        for (const struct herald_option *o = h->def.options; o && o->name;
             o++) {
            if (!o->help || !*o->help) {
                complain(&bad, "%s: option '%s' has no help", f.v[i], o->name);
            }
            if (o->required && o->default_value) {
                complain(&bad, "%s: option '%s' is required and has a default",
                         f.v[i], o->name);
            }
        }
        out = open_memstream(&text, &len);
        herald__plugin_describe(&h->def, out);
        fclose(out);
        assert_true(len > 0);
        free(text);
        herald__loader_destroy(l);
    }
    free_files(&f);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_exported_symbol),
        cmocka_unit_test(test_each_loads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
