/*
 * test_loader.c - the plugin loader (search path, every refusal, caching,
 * load_all, describe), and the plugins it loads behaving as declared: null
 * and the test-only testplug/testnotify, driven through a fake host API.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "loader.h"
#include "worker.h"

#define BROKEN HERALD_TEST_PLUGIN_DIR "/broken"
#define PLANTED BROKEN "/planted"
#define TRUST HERALD_TEST_PLUGIN_DIR "/trust"
#define MAX_ITEMS 16

/* ---- A fake host ------------------------------------------------------ */

/* Options: NULL-terminated name/value pairs, as YAML would give them. */
struct herald_options {
    const char *const *kv;
};

struct herald_instance {
    const struct herald_options *opts; /* for opt_get */
};

struct herald_record {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const char *key;
    const char *value;
};

struct herald_batch {
    size_t n;
    const struct herald_record *recs;
    const struct herald_message *msgs; /* notify batches */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t done;
    size_t order[MAX_ITEMS]; /* item indexes in completion order */
    int calls[MAX_ITEMS];    /* complete() calls per item */
    int outcome[MAX_ITEMS];
    int64_t after[MAX_ITEMS];
    char reason[MAX_ITEMS][200];
    pthread_t thread[MAX_ITEMS];
};

static struct {
    char name[64];
    int64_t value;
} counters[32];
static size_t n_counters;
static char last_log[512];
static int n_logs;

static int64_t counter(const char *name)
{
    for (size_t i = 0; i < n_counters; i++) {
        if (strcmp(counters[i].name, name) == 0) {
            return counters[i].value;
        }
    }
    return 0;
}

static void fake_counter_add(struct herald_instance *inst, const char *name,
                             int64_t delta)
{
    (void)inst;
    for (size_t i = 0; i < n_counters; i++) {
        if (strcmp(counters[i].name, name) == 0) {
            counters[i].value += delta;
            return;
        }
    }
    assert_true(n_counters < 32);
    snprintf(counters[n_counters].name, sizeof(counters[0].name), "%s", name);
    counters[n_counters++].value = delta;
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
    vsnprintf(last_log, sizeof(last_log), fmt, ap);
    va_end(ap);
    n_logs++;
}

static const char *fake_opt_string(const struct herald_options *o,
                                   const char *name)
{
    for (size_t i = 0; o->kv && o->kv[i]; i += 2) {
        if (strcmp(o->kv[i], name) == 0) {
            return o->kv[i + 1];
        }
    }
    return NULL;
}

static int64_t fake_opt_int(const struct herald_options *o, const char *name)
{
    const char *v = fake_opt_string(o, name);
    return v ? strtoll(v, NULL, 10) : 0;
}

static int fake_opt_bool(const struct herald_options *o, const char *name)
{
    const char *v = fake_opt_string(o, name);
    return v && strcmp(v, "true") == 0;
}

/* Test values are written in ms ("50ms"); strtoll stops at the unit. */
static int64_t fake_opt_duration_ms(const struct herald_options *o,
                                    const char *name)
{
    return fake_opt_int(o, name);
}

static size_t fake_batch_count(const struct herald_batch *b)
{
    return b->n;
}

static const struct herald_record *
fake_batch_record(const struct herald_batch *b, size_t i)
{
    return &b->recs[i];
}

static const struct herald_message *
fake_batch_message(const struct herald_batch *b, size_t i)
{
    return b->msgs ? &b->msgs[i] : NULL;
}

static void fake_complete(struct herald_batch *b, size_t i,
                          enum herald_outcome outcome, int64_t after,
                          const char *reason)
{
    pthread_mutex_lock(&b->lock);
    if (i < b->n) {
        b->calls[i]++;
        b->outcome[i] = (int)outcome;
        b->after[i] = after;
        snprintf(b->reason[i], sizeof(b->reason[i]), "%s",
                 reason ? reason : "");
        b->thread[i] = pthread_self();
        b->order[b->done++] = i;
    }
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

static const char *fake_record_topic(const struct herald_record *r)
{
    return r->topic;
}

static int32_t fake_record_partition(const struct herald_record *r)
{
    return r->partition;
}

static int64_t fake_record_offset(const struct herald_record *r)
{
    return r->offset;
}

static const void *fake_record_key(const struct herald_record *r, size_t *len)
{
    *len = r->key ? strlen(r->key) : 0;
    return r->key;
}

static const void *fake_record_value(const struct herald_record *r, size_t *len)
{
    *len = r->value ? strlen(r->value) : 0;
    return r->value;
}

/* Typed access (ABI 1.1), enough for testplug's on_close: strings and
 * enums from kv; unset reads as 1 with NULL. */
static int fake_opt_get(struct herald_instance *inst, const char *name,
                        enum herald_opt_type type, void *out, size_t out_size)
{
    const struct herald_options *o = inst->opts;
    const char *v;

    if ((type != HERALD_OPT_STRING && type != HERALD_OPT_ENUM) ||
        out_size != sizeof(v)) {
        return -1;
    }
    v = fake_opt_string(o, name);
    memcpy(out, &v, sizeof(v));
    return v ? 0 : 1;
}

static const struct herald_host_api fake_api = {
    .abi_major = HERALD_ABI_MAJOR,
    .abi_minor = HERALD_ABI_MINOR,
    .struct_size = sizeof(struct herald_host_api),
    .log = fake_log,
    .opt_string = fake_opt_string,
    .opt_int = fake_opt_int,
    .opt_bool = fake_opt_bool,
    .opt_duration_ms = fake_opt_duration_ms,
    .batch_count = fake_batch_count,
    .batch_record = fake_batch_record,
    .batch_message = fake_batch_message,
    .complete = fake_complete,
    .record_topic = fake_record_topic,
    .record_partition = fake_record_partition,
    .record_offset = fake_record_offset,
    .record_key = fake_record_key,
    .record_value = fake_record_value,
    .counter_add = fake_counter_add,
    .opt_get = fake_opt_get,
};

static void batch_init(struct herald_batch *b, const struct herald_record *r,
                       const struct herald_message *m, size_t n)
{
    memset(b, 0, sizeof(*b));
    assert_true(n <= MAX_ITEMS);
    b->n = n;
    b->recs = r;
    b->msgs = m;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->cond, NULL);
}

static void batch_cleanup(struct herald_batch *b)
{
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->cond);
}

/* Wait until every item completed (at most 5 s). */
static void batch_wait(struct herald_batch *b)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&b->lock);
    while (b->done < b->n) {
        if (pthread_cond_timedwait(&b->cond, &b->lock, &until) != 0) {
            break;
        }
    }
    pthread_mutex_unlock(&b->lock);
    assert_int_equal(b->done, b->n);
}

static int setup(void **state)
{
    (void)state;
    n_counters = 0;
    n_logs = 0;
    last_log[0] = '\0';
    unsetenv("HERALD_PLUGIN_PATH");
    return 0;
}

static char *readall(const char *path)
{
    FILE *f = fopen(path, "r");
    static char buf[8192];
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* ---- Refusals --------------------------------------------------------- */

/* Load `file` from the broken dir by path; it must fail with exactly
 * "plugin <path>: <reason>". */
static void expect_refusal(struct herald__loader *l, const char *file,
                           const char *reason)
{
    char path[512], want[1024], err[1024] = "";

    snprintf(path, sizeof(path), "%s/%s", BROKEN, file);
    snprintf(want, sizeof(want), "plugin %s: %s", path, reason);
    assert_null(herald__loader_load(l, path, err, sizeof(err)));
    assert_string_equal(err, want);
}

/* A plugin built for ABI 1.0 (before HERALD_UNAVAILABLE) still loads:
 * a minor adds, it never takes away. */
static void test_older_minor_loads(void **state)
{
    struct herald__loader *l = herald__loader_new(&fake_api);
    char err[512] = "";
    const struct herald__plugin_handle *h;

    (void)state;
    assert_non_null(l);
    h = herald__loader_load(l, BROKEN "/abi_1_0.so", err, sizeof(err));
    assert_non_null(h);
    assert_string_equal(err, "");
    assert_int_equal(h->def.abi_major, 1);
    assert_int_equal(h->def.abi_minor, 0);
    assert_string_equal(h->def.name, "abi_1_0");
    /* 1.1 before the sizes: no option_size in its definition, so the
     * table is read with the 1.0 stride. */
    h = herald__loader_load(l, BROKEN "/old_1_1.so", err, sizeof(err));
    assert_non_null(h);
    assert_string_equal(err, "");
    assert_int_equal(h->def.option_size, 0);
    assert_string_equal(h->def.options[0].name, "opt");
    assert_string_equal(h->def.options[0].help, "an option");
    assert_null(h->def.options[1].name);
    herald__loader_destroy(l);
}

static void test_refusals(void **state)
{
    struct herald__loader *l = herald__loader_new(&fake_api);
    char reason[128];

    (void)state;
    assert_non_null(l);
    expect_refusal(l, "abi_major.so",
                   "ABI major 2 is not supported (this herald speaks 1)");
    expect_refusal(l, "newer_minor.so",
                   "built for ABI 1.5, newer than this herald (1.2)");
#if UINTPTR_MAX == 0xffffffffffffffffu
    /* 3 x u32 + pad, 3 strings, kind + pad, options, init, open, deliver,
     * close: through close is 88 bytes on LP64. */
    assert_int_equal(HERALD__PLUGIN_MIN_SIZE, 88);
#endif
    snprintf(reason, sizeof(reason),
             "struct_size 16 is smaller than the v1.0 minimum %zu",
             (size_t)HERALD__PLUGIN_MIN_SIZE);
    expect_refusal(l, "short_struct.so", reason);
    expect_refusal(l, "no_symbol.so",
                   "no symbol 'herald_plugin' (not a herald plugin?)");
    expect_refusal(l, "tiny_symbol.so",
                   "symbol 'herald_plugin' is 4 bytes, too small for a plugin "
                   "definition");
    expect_refusal(l, "no_deliver.so", "missing required callback 'deliver'");
    expect_refusal(l, "bad_kind.so", "unknown kind 7 (1 is sink, 2 is notify)");
    expect_refusal(l, "bad_enum.so", "option 'mode' is an enum with no values");
    expect_refusal(l, "no_open.so",
                   "missing required callback 'open' (or 'open2')");
    expect_refusal(l, "bad_option_type.so",
                   "option 'level' has unknown type 42");
    expect_refusal(l, "dup_option.so", "option 'opt' is declared twice");
#if UINTPTR_MAX == 0xffffffffffffffffu
    /* name, type + pad, default, required, secret, enum_values, help. */
    assert_int_equal(HERALD__OPTION_SIZE_1_0, 48);
#endif
    snprintf(reason, sizeof(reason),
             "option_size 0 is smaller than the ABI 1.0 struct herald_option "
             "(%zu bytes); set it with HERALD_PLUGIN_HEADER",
             (size_t)HERALD__OPTION_SIZE_1_0);
    expect_refusal(l, "no_option_size.so", reason);
    /* The plugin's two-line message becomes one line. */
    expect_refusal(l, "init_fails.so",
                   "init failed: cannot reach the moon from here");
    /* dlopen's own words, without the path it repeats. */
    expect_refusal(l, "undefined.so",
                   "undefined symbol: herald_no_such_function");
    expect_refusal(l, "garbage.so", "invalid ELF header");
    expect_refusal(l, "absent.so", "No such file or directory");

    assert_non_null(herald__loader_load(l, BROKEN "/dup_a.so", NULL, 0));
    expect_refusal(l, "dup_b.so",
                   "duplicate plugin name 'dupe' (already loaded from " BROKEN
                   "/dup_a.so)");

    /* Only dup_a is loaded; no refused plugin's init ran. */
    assert_int_equal(herald__loader_count(l), 1);
    assert_string_equal(herald__loader_get(l, 0)->def.name, "dupe");
    assert_null(herald__loader_get(l, 1));
    assert_int_equal(counter("init:dupe"), 1);
    assert_int_equal(counter("init:broken"), 0);
    assert_int_equal(counter("destroy:dupe"), 0);
    herald__loader_destroy(l);
    assert_int_equal(counter("destroy:dupe"), 1);
    /* init failed: destroy is not called for it. */
    assert_int_equal(counter("destroy:init_fails"), 0);
}

static void test_name_must_match_file(void **state)
{
    struct herald__loader *l = herald__loader_new(&fake_api);
    char err[1024];

    (void)state;
    assert_int_equal(herald__loader_add_path(l, BROKEN), 0);
    assert_null(herald__loader_load(l, "misnamed", err, sizeof(err)));
    assert_string_equal(err, "plugin " BROKEN "/misnamed.so: declares name "
                             "'other', expected 'misnamed' from its file "
                             "name");
    /* By path, a plugin may declare any name. */
    assert_non_null(
        herald__loader_load(l, BROKEN "/misnamed.so", err, sizeof(err)));
    assert_null(herald__loader_load(l, "", err, sizeof(err)));
    assert_string_equal(err, "plugin name is empty");
    herald__loader_destroy(l);
}

/* ---- Search path ------------------------------------------------------ */

static void test_search_path_order(void **state)
{
    struct herald__loader *l;

    (void)state;
    setenv("HERALD_PLUGIN_PATH", "/e1::/y1:/e2", 1);
    l = herald__loader_new(&fake_api);
    assert_int_equal(herald__loader_add_path(l, "/y1"), 0);
    assert_int_equal(herald__loader_add_path(l, "/y2"), 0);
    assert_int_equal(herald__loader_add_path(l, "/y1"), 0);
    assert_int_equal(herald__loader_add_path(l, ""), 0);
    /* YAML first (in order), then the environment, build, install; each
     * directory once, at its first place; empty entries skipped. */
    assert_int_equal(herald__loader_path_count(l), 6);
    assert_string_equal(herald__loader_path_at(l, 0), "/y1");
    assert_string_equal(herald__loader_path_at(l, 1), "/y2");
    assert_string_equal(herald__loader_path_at(l, 2), "/e1");
    assert_string_equal(herald__loader_path_at(l, 3), "/e2");
    assert_string_equal(herald__loader_path_at(l, 4), HERALD_BUILD_PLUGIN_DIR);
    assert_string_equal(herald__loader_path_at(l, 5),
                        HERALD_INSTALL_PLUGIN_DIR);
    assert_null(herald__loader_path_at(l, 6));
    herald__loader_destroy(l);
}

static void test_not_found(void **state)
{
    struct herald__loader *l;
    char err[2048];

    (void)state;
    setenv("HERALD_PLUGIN_PATH", "/nonexistent/e1", 1);
    l = herald__loader_new(&fake_api);
    herald__loader_add_path(l, "/nonexistent/y1");
    assert_null(herald__loader_load(l, "zzzzzzzzzzzz", err, sizeof(err)));
    assert_string_equal(
        err, "plugin 'zzzzzzzzzzzz' not found (searched: "
             "/nonexistent/y1, /nonexistent/e1, " HERALD_BUILD_PLUGIN_DIR
             ", " HERALD_INSTALL_PLUGIN_DIR ")");
    /* A near name on the path is suggested. */
    herald__loader_add_path(l, BROKEN);
    assert_null(herald__loader_load(l, "goood", err, sizeof(err)));
    assert_string_equal(err, "plugin 'goood' not found (searched: "
                             "/nonexistent/y1, " BROKEN
                             ", /nonexistent/e1, " HERALD_BUILD_PLUGIN_DIR
                             ", " HERALD_INSTALL_PLUGIN_DIR
                             "); did you mean 'good'?");
    herald__loader_destroy(l);
}

static void test_yaml_before_env(void **state)
{
    struct herald__loader *l;
    const struct herald__plugin_handle *h;

    (void)state;
    /* good.so is in BROKEN (version "first") and BROKEN/second. */
    setenv("HERALD_PLUGIN_PATH", BROKEN, 1);
    l = herald__loader_new(&fake_api);
    herald__loader_add_path(l, BROKEN "/second");
    h = herald__loader_load(l, "good", NULL, 0);
    assert_non_null(h);
    assert_string_equal(h->def.version, "second");
    assert_string_equal(h->path, BROKEN "/second/good.so");
    herald__loader_destroy(l);

    setenv("HERALD_PLUGIN_PATH", BROKEN "/second", 1);
    l = herald__loader_new(&fake_api);
    herald__loader_add_path(l, BROKEN);
    h = herald__loader_load(l, "good", NULL, 0);
    assert_non_null(h);
    assert_string_equal(h->def.version, "first");
    herald__loader_destroy(l);

    /* Environment before the build tree. */
    setenv("HERALD_PLUGIN_PATH", BROKEN "/second:" BROKEN, 1);
    l = herald__loader_new(&fake_api);
    h = herald__loader_load(l, "good", NULL, 0);
    assert_non_null(h);
    assert_string_equal(h->def.version, "second");
    herald__loader_destroy(l);
}

static void test_loads_once(void **state)
{
    struct herald__loader *l = herald__loader_new(&fake_api);
    const struct herald__plugin_handle *h;

    (void)state;
    herald__loader_add_path(l, BROKEN);
    h = herald__loader_load(l, "good", NULL, 0);
    assert_non_null(h);
    /* By name, by path, by another spelling of the path: same handle. */
    assert_ptr_equal(herald__loader_load(l, "good", NULL, 0), h);
    assert_ptr_equal(herald__loader_load(l, BROKEN "/good.so", NULL, 0), h);
    assert_ptr_equal(herald__loader_load(l, BROKEN "/./good.so", NULL, 0), h);
    assert_int_equal(herald__loader_count(l), 1);
    assert_int_equal(counter("init:good"), 1);
    herald__loader_destroy(l);
    assert_int_equal(counter("destroy:good"), 1);
    herald__loader_destroy(NULL);
}

static void test_build_tree(void **state)
{
    struct herald__loader *l = herald__loader_new(&fake_api);
    const struct herald__plugin_handle *h;
    char err[2048] = "";

    (void)state;
    h = herald__loader_load(l, "null", err, sizeof(err));
    assert_string_equal(err, "");
    assert_non_null(h);
    assert_string_equal(h->path, HERALD_BUILD_PLUGIN_DIR "/null.so");
    /* The test plugins are not on the default path. */
    assert_null(herald__loader_load(l, "testplug", err, sizeof(err)));
    assert_non_null(strstr(err, "plugin 'testplug' not found"));
    herald__loader_destroy(l);
}

/* ---- Trust: owner and mode ------------------------------------------- */

/* A fresh TRUST/d/<name>.so (a copy of src), root-or-us owned, 0755
 * directories and a 0644 file. */
static void plant(const char *src, const char *name)
{
    char dst[512];
    char buf[65536];
    FILE *in, *out;
    size_t n;

    assert_int_equal(system("rm -rf '" TRUST "'"), 0);
    assert_int_equal(mkdir(TRUST, 0755), 0);
    assert_int_equal(mkdir(TRUST "/d", 0755), 0);
    chmod(TRUST, 0755); /* whatever the umask */
    chmod(TRUST "/d", 0755);
    snprintf(dst, sizeof(dst), TRUST "/d/%s.so", name);
    in = fopen(src, "rb");
    out = fopen(dst, "wb");
    assert_non_null(in);
    assert_non_null(out);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
        assert_int_equal(fwrite(buf, 1, n, out), n);
    }
    fclose(in);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(chmod(dst, 0644), 0);
}

/* Copy src to TRUST/d/<name>.so in the tree plant() made. */
static void plant_more(const char *src, const char *name)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd),
             "cp '%s' '" TRUST "/d/%s.so' && chmod 0644 '" TRUST "/d/%s.so'",
             src, name, name);
    assert_int_equal(system(cmd), 0);
}

static void plant_good(void)
{
    plant(BROKEN "/good.so", "good");
}

static void expect_trust_refusal(const char *reason)
{
    struct herald__loader *l = herald__loader_new(&fake_api);
    char err[1024] = "", want[1024];

    n_counters = 0;
    snprintf(want, sizeof(want), "plugin %s: %s", TRUST "/d/good.so", reason);
    assert_null(herald__loader_load(l, TRUST "/d/good.so", err, sizeof(err)));
    assert_string_equal(err, want);
    /* By name through the search path: the same refusal, nothing loaded. */
    herald__loader_add_path(l, TRUST "/d");
    assert_null(herald__loader_load(l, "good", err, sizeof(err)));
    assert_string_equal(err, want);
    assert_int_equal(herald__loader_count(l), 0);
    herald__loader_destroy(l);
    assert_int_equal(counter("init:good"), 0);
}

static void expect_trusted(void)
{
    struct herald__loader *l = herald__loader_new(&fake_api);
    char err[1024] = "";

    assert_non_null(
        herald__loader_load(l, TRUST "/d/good.so", err, sizeof(err)));
    assert_string_equal(err, "");
    herald__loader_destroy(l);
}

static void test_refuse_writable(void **state)
{
    (void)state;
    plant_good();
    expect_trusted(); /* the control: the same file loads as planted */

    assert_int_equal(chmod(TRUST "/d/good.so", 0664), 0);
    expect_trust_refusal("file is writable by group or others (mode 0664); "
                         "refusing to load it");
    assert_int_equal(chmod(TRUST "/d/good.so", 0646), 0);
    expect_trust_refusal("file is writable by group or others (mode 0646); "
                         "refusing to load it");
    assert_int_equal(chmod(TRUST "/d/good.so", 0644), 0);

    assert_int_equal(chmod(TRUST "/d", 0777), 0);
    expect_trust_refusal("directory " TRUST "/d is writable by group or "
                         "others (mode 0777); refusing to load it");
    /* Any directory on the way, not only the last. */
    assert_int_equal(chmod(TRUST "/d", 0755), 0);
    assert_int_equal(chmod(TRUST, 0775), 0);
    expect_trust_refusal("directory " TRUST " is writable by group or "
                         "others (mode 0775); refusing to load it");
    /* Sticky (like /tmp): others cannot replace our entries. */
    assert_int_equal(chmod(TRUST, 01777), 0);
    expect_trusted();
    assert_int_equal(chmod(TRUST, 0755), 0);

    /* Through a symlinked directory: the target is what is checked. */
    assert_int_equal(symlink(TRUST "/d", TRUST "/link"), 0);
    assert_int_equal(chmod(TRUST "/d", 0777), 0);
    {
        struct herald__loader *l = herald__loader_new(&fake_api);
        char err[1024];

        assert_null(
            herald__loader_load(l, TRUST "/link/good.so", err, sizeof(err)));
        assert_string_equal(err,
                            "plugin " TRUST "/link/good.so: directory " TRUST
                            "/d is writable by group or others "
                            "(mode 0777); refusing to load it");
        herald__loader_destroy(l);
    }
    assert_int_equal(chmod(TRUST "/d", 0755), 0);
}

static void test_refuse_foreign_owner(void **state)
{
    char reason[256];
    const unsigned other = 65534; /* nobody */

    (void)state;
    if (geteuid() != 0) {
        skip(); /* only root can give a file away */
    }
    plant_good();
    assert_int_equal(chown(TRUST "/d/good.so", other, (gid_t)-1), 0);
    snprintf(reason, sizeof(reason),
             "file is owned by uid %u, neither root nor the running user "
             "(uid 0); refusing to load it",
             other);
    expect_trust_refusal(reason);
    assert_int_equal(chown(TRUST "/d/good.so", 0, (gid_t)-1), 0);
    expect_trusted();

    assert_int_equal(chown(TRUST "/d", other, (gid_t)-1), 0);
    snprintf(reason, sizeof(reason),
             "directory " TRUST "/d is owned by uid %u, neither root nor "
             "the running user (uid 0); refusing to load it",
             other);
    expect_trust_refusal(reason);
    assert_int_equal(chown(TRUST "/d", 0, (gid_t)-1), 0);
}

/* ---- Search path: only absolute, only where it should ------------------ */

static void test_relative_refused(void **state)
{
    struct herald__loader *l;
    char err[1024];

    (void)state;
    /* The current directory holds a loadable good.so; it must not be
     * found by any relative spelling. */
    assert_int_equal(chdir(BROKEN), 0);
    setenv("HERALD_PLUGIN_PATH", ".:" BROKEN "/second:rel/dir", 1);
    l = herald__loader_new(&fake_api);
    assert_int_equal(herald__loader_add_path(l, "."), 0);
    assert_int_equal(herald__loader_note_count(l), 3);
    assert_string_equal(herald__loader_note_at(l, 0),
                        "HERALD_PLUGIN_PATH entry '.' is not an absolute "
                        "directory; ignored");
    assert_string_equal(herald__loader_note_at(l, 1),
                        "HERALD_PLUGIN_PATH entry 'rel/dir' is not an "
                        "absolute directory; ignored");
    assert_string_equal(herald__loader_note_at(l, 2),
                        "plugin path entry '.' is not an absolute "
                        "directory; ignored");
    assert_null(herald__loader_note_at(l, 3));
    assert_string_equal(herald__loader_path_at(l, 0), BROKEN "/second");
    for (size_t i = 0; i < herald__loader_path_count(l); i++) {
        assert_true(herald__loader_path_at(l, i)[0] == '/');
    }
    /* good is found in the absolute entry, never in ".". */
    assert_string_equal(herald__loader_load(l, "good", NULL, 0)->path,
                        BROKEN "/second/good.so");
    assert_null(herald__loader_load(l, "./dup_a.so", err, sizeof(err)));
    assert_string_equal(err, "plugin ./dup_a.so: not an absolute path; "
                             "refusing to resolve it against the current "
                             "directory");
    assert_null(herald__loader_load(l, "second/good.so", err, sizeof(err)));
    assert_string_equal(err, "plugin second/good.so: not an absolute path; "
                             "refusing to resolve it against the current "
                             "directory");
    herald__loader_destroy(l);
    assert_int_equal(chdir("/"), 0);
}

static void test_builtin_dirs(void **state)
{
    struct herald__loader *l;

    (void)state;
    /* This build installs plugins under lib/ next to bin/. */
    assert_string_equal(HERALD_PLUGIN_DIR_FROM_BIN, "../lib/herald/plugins");
    /* An installed binary: only the directory next to it, wherever the
     * prefix went; never the build tree. */
    l = herald__loader_new_for_exe(&fake_api, "/opt/x/bin/herald");
    assert_int_equal(herald__loader_path_count(l), 1);
    assert_string_equal(herald__loader_path_at(l, 0),
                        "/opt/x/lib/herald/plugins");
    herald__loader_destroy(l);
    l = herald__loader_new_for_exe(&fake_api, "/usr/./bin//herald");
    assert_string_equal(herald__loader_path_at(l, 0),
                        "/usr/lib/herald/plugins");
    herald__loader_destroy(l);
    /* The uninstalled binary in the build tree: the build tree first. */
    l = herald__loader_new_for_exe(&fake_api, HERALD_BINARY_DIR "/herald");
    assert_int_equal(herald__loader_path_count(l), 2);
    assert_string_equal(herald__loader_path_at(l, 0), HERALD_BUILD_PLUGIN_DIR);
    assert_string_equal(herald__loader_path_at(l, 1),
                        HERALD_INSTALL_PLUGIN_DIR);
    herald__loader_destroy(l);
    /* A directory merely named like the build tree is not inside it. */
    l = herald__loader_new_for_exe(&fake_api, HERALD_BINARY_DIR "x/herald");
    assert_int_equal(herald__loader_path_count(l), 1);
    herald__loader_destroy(l);
}

/* What `plugins list` sees. */
struct listing {
    char names[32][64];
    char paths[32][512];
    int refused[32];
    size_t n;
};

static void on_listed(void *ctx, const char *name, const char *path,
                      const char *refusal)
{
    struct listing *li = ctx;

    if (li->n < 32) {
        snprintf(li->names[li->n], sizeof(li->names[0]), "%s", name);
        snprintf(li->paths[li->n], sizeof(li->paths[0]), "%s", path);
        li->refused[li->n] = refusal != NULL;
        li->n++;
    }
}

static void test_list_runs_nothing(void **state)
{
    static struct listing li;
    struct herald__loader *l;
    struct stat st;

    (void)state;
    unlink(PLANTED "/ctor_ran");
    l = herald__loader_new(&fake_api);
    herald__loader_add_path(l, PLANTED);
    herald__loader_add_path(l, BROKEN);
    li.n = 0;
    assert_true(herald__loader_list(l, on_listed, &li) >= 17);
    /* The planted file.so is listed first, shadowing the real one... */
    assert_string_equal(li.names[0], "file");
    assert_string_equal(li.paths[0], PLANTED "/file.so");
    assert_int_equal(li.refused[0], 0);
    assert_string_equal(li.names[1], "abi_1_0");
    /* ...and nothing was loaded: no constructor ran, no init. */
    assert_int_equal(herald__loader_count(l), 0);
    assert_int_equal(stat(PLANTED "/ctor_ran", &st), -1);
    assert_int_equal(n_counters, 0);
    /* The control: loading it does run the constructor. */
    assert_non_null(herald__loader_load(l, "file", NULL, 0));
    assert_int_equal(stat(PLANTED "/ctor_ran", &st), 0);
    herald__loader_destroy(l);
    unlink(PLANTED "/ctor_ran");
}

/* The worker resolves `plugin_path:` and `plugin: dir/x.so` against the
 * config file's directory, whatever the current directory is, and notes
 * a relative HERALD_PLUGIN_PATH entry. */
static void test_worker_paths_from_config(void **state)
{
    static const char yaml[] = "kafka: { bootstrap.servers: \"127.0.0.1:1\" }\n"
                               "plugin_path: d\n"
                               "connectors:\n"
                               "  - name: by-name\n"
                               "    topics: [t]\n"
                               "    value: { format: string }\n"
                               "    sink: { plugin: testplug }\n"
                               "  - name: by-path\n"
                               "    topics: [t]\n"
                               "    value: { format: string }\n"
                               "    sink: { plugin: d/null.so }\n";
    struct herald__worker_opts o = {.config_path = TRUST "/conf.yaml",
                                    .mode = HERALD__MODE_CHECK,
                                    .log_level = "error"};
    struct herald__worker *w;
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    (void)state;
    /* The real null sink: the worker hands plugins the real host API. */
    plant(HERALD_BUILD_PLUGIN_DIR "/null.so", "null");
    plant_more(HERALD_TEST_PLUGIN_DIR "/testplug.so", "testplug");
    f = fopen(TRUST "/conf.yaml", "w");
    assert_non_null(f);
    fputs(yaml, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chdir("/"), 0);
    setenv("HERALD_PLUGIN_PATH", "rel", 1);
    f = open_memstream(&buf, &len);
    w = herald__worker_new(&o, f);
    fclose(f);
    assert_string_equal(buf, "note: HERALD_PLUGIN_PATH entry 'rel' is not an "
                             "absolute directory; ignored\n");
    assert_non_null(w);
    herald__worker_destroy(w);
    free(buf);
    /* The control: from its own directory, the build tree's null.so
     * would do; with it gone from d/, by-path must fail. */
    unlink(TRUST "/d/null.so");
    f = open_memstream(&buf, &len);
    w = herald__worker_new(&o, f);
    fclose(f);
    assert_null(w);
    assert_non_null(strstr(buf, "plugin " TRUST "/d/null.so: No such file"));
    free(buf);
}

struct errors {
    char msgs[32][1024];
    size_t n;
};

static void collect(void *ctx, const char *msg)
{
    struct errors *e = ctx;

    /* Only what the broken dir yields; the build tree holds other
     * people's plugins. */
    if (strncmp(msg, "plugin " BROKEN "/", strlen("plugin " BROKEN "/")) == 0 &&
        e->n < 32) {
        snprintf(e->msgs[e->n++], sizeof(e->msgs[0]), "%s",
                 msg + strlen("plugin " BROKEN "/"));
    }
}

static void test_load_all(void **state)
{
    struct herald__loader *l;
    static struct errors e;
    const struct herald__plugin_handle *good = NULL, *null = NULL;
    size_t refused;

    (void)state;
    e.n = 0;
    l = herald__loader_new(&fake_api);
    herald__loader_add_path(l, BROKEN);
    herald__loader_add_path(l, BROKEN "/second");
    refused = herald__loader_load_all(l, collect, &e);
    assert_true(refused >= 18);
    /* Alphabetical within a directory; every file but good.so refused. */
    assert_int_equal(e.n, 18);
    assert_string_equal(e.msgs[0], "abi_major.so: ABI major 2 is not "
                                   "supported (this herald speaks 1)");
    assert_string_equal(e.msgs[1], "bad_enum.so: option 'mode' is an enum "
                                   "with no values");
    assert_string_equal(e.msgs[2], "bad_kind.so: unknown kind 7 (1 is sink, "
                                   "2 is notify)");
    assert_string_equal(e.msgs[3], "bad_option_type.so: option 'level' has "
                                   "unknown type 42");
    assert_string_equal(e.msgs[4], "dup_a.so: declares name 'dupe', "
                                   "expected 'dup_a' from its file name");
    assert_string_equal(e.msgs[5], "dup_b.so: declares name 'dupe', "
                                   "expected 'dup_b' from its file name");
    assert_string_equal(e.msgs[6], "dup_option.so: option 'opt' is declared "
                                   "twice");
    assert_string_equal(e.msgs[7], "garbage.so: invalid ELF header");
    assert_string_equal(e.msgs[8], "init_fails.so: init failed: cannot "
                                   "reach the moon from here");
    assert_string_equal(e.msgs[9], "misnamed.so: declares name 'other', "
                                   "expected 'misnamed' from its file name");
    assert_string_equal(e.msgs[10], "newer_minor.so: built for ABI 1.5, "
                                    "newer than this herald (1.2)");
    assert_string_equal(e.msgs[11], "no_deliver.so: missing required "
                                    "callback 'deliver'");
    assert_string_equal(e.msgs[12], "no_open.so: missing required callback "
                                    "'open' (or 'open2')");
    assert_non_null(
        strstr(e.msgs[13], "no_option_size.so: option_size 0 is smaller"));
    assert_string_equal(e.msgs[14], "no_symbol.so: no symbol "
                                    "'herald_plugin' (not a herald "
                                    "plugin?)");
    assert_non_null(strstr(e.msgs[15], "short_struct.so: struct_size 16"));
    assert_string_equal(e.msgs[16], "tiny_symbol.so: symbol 'herald_plugin' "
                                    "is 4 bytes, too small for a plugin "
                                    "definition");
    assert_string_equal(e.msgs[17], "undefined.so: undefined symbol: "
                                    "herald_no_such_function");
    for (size_t i = 0; i < herald__loader_count(l); i++) {
        const struct herald__plugin_handle *h = herald__loader_get(l, i);

        if (strcmp(h->def.name, "good") == 0) {
            assert_null(good);
            good = h;
        } else if (strcmp(h->def.name, "null") == 0) {
            null = h;
        }
    }
    /* BROKEN/good.so shadows BROKEN/second/good.so. */
    assert_non_null(good);
    assert_string_equal(good->def.version, "first");
    assert_non_null(null);
    assert_string_equal(null->path, HERALD_BUILD_PLUGIN_DIR "/null.so");
    herald__loader_destroy(l);
}

/* ---- Definitions and describe ---------------------------------------- */

static void test_definitions(void **state)
{
    struct herald__loader *l;
    const struct herald__plugin_handle *h;
    const struct herald_option *o;

    (void)state;
    setenv("HERALD_PLUGIN_PATH", HERALD_TEST_PLUGIN_DIR, 1);
    l = herald__loader_new(&fake_api);
    h = herald__loader_load(l, "null", NULL, 0);
    assert_non_null(h);
    assert_string_equal(h->def.name, "null");
    assert_string_equal(h->def.version, "1.0.0");
    assert_int_equal(h->def.kind, HERALD_PLUGIN_SINK);
    assert_int_equal(h->def.abi_major, 1);
    assert_int_equal(h->def.abi_minor, HERALD_ABI_MINOR);
    assert_int_equal(h->def.struct_size, sizeof(struct herald_plugin));
    o = h->def.options;
    assert_string_equal(o[0].name, "log_every");
    assert_int_equal(o[0].type, HERALD_OPT_INT);
    assert_string_equal(o[0].default_value, "0");
    assert_null(o[1].name);

    h = herald__loader_load(l, "testplug", NULL, 0);
    assert_non_null(h);
    assert_string_equal(h->path, HERALD_TEST_PLUGIN_DIR "/testplug.so");
    assert_int_equal(h->def.kind, HERALD_PLUGIN_SINK);
    assert_null(h->def.destroy);
    h = herald__loader_load(l, "testnotify", NULL, 0);
    assert_non_null(h);
    assert_string_equal(h->def.name, "testnotify");
    assert_int_equal(h->def.kind, HERALD_PLUGIN_NOTIFY);
    assert_int_equal(herald__loader_count(l), 3);
    herald__loader_destroy(l);
}

static void test_describe(void **state)
{
    struct herald__loader *l;
    const struct herald__plugin_handle *h;
    char *text = NULL;
    size_t len = 0;
    FILE *out;

    (void)state;
    setenv("HERALD_PLUGIN_PATH", HERALD_TEST_PLUGIN_DIR, 1);
    l = herald__loader_new(&fake_api);
    h = herald__loader_load(l, "testplug", NULL, 0);
    assert_non_null(h);
    out = open_memstream(&text, &len);
    herald__plugin_describe(&h->def, out);
    fclose(out);
    assert_string_equal(
        text,
        "name:        testplug\n"
        "version:     1.0.0\n"
        "kind:        sink\n"
        "description: test-only: answers OK, RETRY or REJECT as scripted\n"
        "options:\n"
        "  log_file (string)\n"
        "      append one line per completed item to this file\n"
        "  script (string)\n"
        "      outcome rules, e.g. reject:offset%7==3,retry:offset%5==0:2\n"
        "  delay (duration, default 0)\n"
        "      complete from another thread after this long (0: at once)\n"
        "  out_of_order (bool, default false)\n"
        "      complete a batch's items last to first\n"
        "  fail_open (bool, default false)\n"
        "      make open() fail\n"
        "  fail_deliver (int, default 0)\n"
        "      make the first N deliver() calls fail\n"
        "  on_close (enum: drop|finish, default drop)\n"
        "      items waiting at close: drop (the host retries) or finish\n"
        "  token (string, secret, default hidden)\n"
        "      unused; a secret with a default, for redaction tests\n"
        "  level (enum: low|high, default low)\n"
        "      unused; an enum, for option tests\n"
        "  tags (list)\n"
        "      unused; a list, for option tests\n"
        "  max_bytes (size, default 1KiB)\n"
        "      unused; a size, for option tests\n");
    assert_null(strstr(text, "hunter2"));
    free(text);
    herald__loader_destroy(l);
}

static void test_describe_edges(void **state)
{
    static const struct herald_option opts[] = {
        {.name = "key", .type = HERALD_OPT_STRING, .required = 1, .secret = 1},
        {.name = "sep", .type = HERALD_OPT_STRING, .default_value = ", "},
        {.name = "empty", .type = HERALD_OPT_STRING, .default_value = ""},
        {.name = NULL},
    };
    static const char *const levels[] = {"low", "high", NULL};
    static const struct herald_field fields[] = {
        {"body", HERALD_FIELD_JSON, 1, NULL, "what to post"},
        {"level", HERALD_FIELD_ENUM, 0, levels, NULL},
        {NULL, 0, 0, NULL, NULL},
    };
    struct herald_plugin p = {.name = "x", .kind = HERALD_PLUGIN_NOTIFY};
    char *text = NULL;
    size_t len = 0;
    FILE *out;

    (void)state;
    out = open_memstream(&text, &len);
    herald__plugin_describe(&p, out);
    p.options = opts;
    p.version = "2";
    p.description = "d";
    p.fields = fields;
    p.field_size = sizeof(struct herald_field);
    herald__plugin_describe(&p, out);
    fclose(out);
    assert_string_equal(text, "name:        x\n"
                              "version:     \n"
                              "kind:        notify\n"
                              "description: \n"
                              "options:     none\n"
                              "fields:      email (from, to, cc, reply_to, "
                              "subject, text, html, headers)\n"
                              "name:        x\n"
                              "version:     2\n"
                              "kind:        notify\n"
                              "description: d\n"
                              "options:\n"
                              "  key (string, required, secret)\n"
                              "  sep (string, default \", \")\n"
                              "  empty (string, default \"\")\n"
                              "fields:\n"
                              "  body (json, required)\n"
                              "      what to post\n"
                              "  level (enum: low|high)\n");
    free(text);
    assert_string_equal(herald__plugin_kind_name(9), "?");
    assert_string_equal(herald__opt_type_name(HERALD_OPT_SIZE), "size");
    assert_string_equal(herald__opt_type_name(0), "?");
}

/* ---- The plugins at work ---------------------------------------------- */

struct open_plugin {
    struct herald__loader *l;
    const struct herald_plugin *def;
    struct herald_instance inst;
    struct herald_options opts;
    void *state;
};

/* Load `name` from the build or test plugin dir and open one instance with
 * the given options; returns open()'s result, err filled on failure. */
static int open_plugin(struct open_plugin *p, const char *name,
                       const char *const *kv, char *err, size_t errlen)
{
    const struct herald__plugin_handle *h;

    setenv("HERALD_PLUGIN_PATH", HERALD_TEST_PLUGIN_DIR, 1);
    p->l = herald__loader_new(&fake_api);
    h = herald__loader_load(p->l, name, err, errlen);
    assert_non_null(h);
    p->def = &h->def;
    p->opts.kv = kv;
    p->inst.opts = &p->opts;
    p->state = NULL;
    return p->def->open(&p->inst, &p->opts, &p->state, err, errlen);
}

static void close_plugin(struct open_plugin *p)
{
    if (p->state) {
        p->def->close(p->state);
    }
    herald__loader_destroy(p->l);
}

static void test_null_acks_and_counts(void **state)
{
    static const char *const kv[] = {"log_every", "2", NULL};
    const struct herald_record recs[3] = {
        {"t", 0, 10, "k1", "value-1"},
        {"t", 0, 11, NULL, "v2"},
        {"t", 1, 12, "key3", ""},
    };
    struct open_plugin p;
    struct herald_batch b;
    char err[256] = "";

    (void)state;
    assert_int_equal(open_plugin(&p, "null", kv, err, sizeof(err)), 0);
    batch_init(&b, recs, NULL, 3);
    assert_int_equal(p.def->deliver(p.state, &b), 0);
    /* Synchronous: done before deliver returned. */
    assert_int_equal(b.done, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(b.calls[i], 1);
        assert_int_equal(b.outcome[i], HERALD_OK);
        assert_int_equal(b.order[i], i);
    }
    assert_int_equal(counter("records"), 3);
    assert_int_equal(counter("bytes"), 2 + 7 + 0 + 2 + 4 + 0);
    /* log_every 2: one line, at the second record. */
    assert_int_equal(n_logs, 1);
    assert_string_equal(last_log, "null: 2 records at t [0] offset 11");
    batch_cleanup(&b);
    close_plugin(&p);
}

static void test_testplug_script(void **state)
{
    char log_path[] = "/tmp/herald-testplug-XXXXXX";
    const char *const kv[] = {"script",
                              "reject:offset%7==3, retry:offset%5==0:2:250",
                              "log_file", log_path, NULL};
    struct herald_record recs[11];
    struct open_plugin p;
    struct herald_batch b;
    char err[256] = "";
    int fd;

    (void)state;
    fd = mkstemp(log_path);
    assert_true(fd >= 0);
    close(fd);
    for (int i = 0; i <= 10; i++) {
        recs[i] = (struct herald_record){"orders", 2, i, NULL, NULL};
    }
    assert_int_equal(open_plugin(&p, "testplug", kv, err, sizeof(err)), 0);
    /* Three deliveries of the same records: retries run out after two. */
    for (int round = 0; round < 3; round++) {
        batch_init(&b, recs, NULL, 11);
        assert_int_equal(p.def->deliver(p.state, &b), 0);
        assert_int_equal(b.done, 11);
        for (int i = 0; i <= 10; i++) {
            int want = HERALD_OK;

            if (i == 3 || i == 10) {
                want = HERALD_REJECT;
            } else if ((i == 0 || i == 5) && round < 2) {
                want = HERALD_RETRY;
            }
            assert_int_equal(b.calls[i], 1);
            assert_int_equal(b.outcome[i], want);
        }
        assert_string_equal(b.reason[3], "script rule 1 (reject:offset%7==3)");
        assert_string_equal(b.reason[1], "");
        if (round == 0) {
            assert_string_equal(b.reason[5], "script rule 2 "
                                             "(retry:offset%5==0:2:250): "
                                             "retry 1 of 2");
            assert_int_equal(b.after[5], 250);
        } else if (round == 1) {
            assert_string_equal(b.reason[0], "script rule 2 "
                                             "(retry:offset%5==0:2:250): "
                                             "retry 2 of 2");
        }
        batch_cleanup(&b);
    }
    assert_int_equal(counter("records"), 33);
    close_plugin(&p);

    /* One line per completion, in completion order. */
    char want[4096];
    size_t o = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i <= 10; i++) {
            const char *oc = "OK";
            if (i == 3 || i == 10) {
                oc = "REJECT";
            } else if ((i == 0 || i == 5) && round < 2) {
                oc = "RETRY";
            }
            o += (size_t)snprintf(want + o, sizeof(want) - o,
                                  "orders 2 %d %s\n", i, oc);
        }
    }
    assert_string_equal(readall(log_path), want);
    unlink(log_path);
}

static void test_testplug_bad_script(void **state)
{
    static const struct {
        const char *script;
        const char *err;
    } cases[] = {
        {"bounce:*", "testplug: script rule 1 'bounce:*': unknown action "
                     "'bounce' (ok, reject, retry, unavailable)"},
        {"ok:*,reject:key==3", "testplug: script rule 2 'reject:key==3': bad "
                               "condition (*, VAR==N or VAR%M==N; VAR is "
                               "offset or partition)"},
        {"reject:offset%0==1", "testplug: script rule 1 'reject:offset%0==1': "
                               "bad condition (*, VAR==N or VAR%M==N; VAR "
                               "is offset or partition)"},
        {"reject:*:2", "testplug: script rule 1 'reject:*:2': only retry "
                       "and unavailable take a count"},
        {"unavailable:*:0", "testplug: script rule 1 'unavailable:*:0': "
                            "COUNT must be >= 1 and SKIP >= 0"},
        {"retry:*:0", "testplug: script rule 1 'retry:*:0': COUNT must be "
                      ">= 1 and AFTER_MS >= 0"},
        {"retry", "testplug: script rule 1 'retry': expected "
                  "ACTION:COND[:COUNT[:AFTER_MS]]"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *const kv[] = {"script", cases[i].script, NULL};
        struct open_plugin p;
        char err[256] = "";

        assert_int_equal(open_plugin(&p, "testplug", kv, err, sizeof(err)), -1);
        assert_string_equal(err, cases[i].err);
        assert_null(p.state);
        close_plugin(&p);
    }
}

static void test_testplug_fail_switches(void **state)
{
    static const char *const fail_open[] = {"fail_open", "true", NULL};
    static const char *const fail_deliver[] = {"fail_deliver", "1", NULL};
    const struct herald_record rec = {"t", 0, 1, NULL, NULL};
    struct open_plugin p;
    struct herald_batch b;
    char err[256] = "";

    (void)state;
    assert_int_equal(open_plugin(&p, "testplug", fail_open, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "testplug: open failed (fail_open is set)");
    close_plugin(&p);

    assert_int_equal(
        open_plugin(&p, "testplug", fail_deliver, err, sizeof(err)), 0);
    batch_init(&b, &rec, NULL, 1);
    assert_int_equal(p.def->deliver(p.state, &b), -1);
    assert_int_equal(b.done, 0);
    assert_int_equal(p.def->deliver(p.state, &b), 0);
    assert_int_equal(b.done, 1);
    assert_int_equal(b.outcome[0], HERALD_OK);
    batch_cleanup(&b);
    close_plugin(&p);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_testplug_delay_out_of_order(void **state)
{
    static const char *const kv[] = {"delay", "100ms",  "out_of_order",
                                     "true",  "script", "reject:offset==1",
                                     NULL};
    struct herald_record recs[3] = {
        {"t", 0, 0, NULL, NULL},
        {"t", 0, 1, NULL, NULL},
        {"t", 0, 2, NULL, NULL},
    };
    struct open_plugin p;
    struct herald_batch b;
    char err[256] = "";
    int64_t start;

    (void)state;
    assert_int_equal(open_plugin(&p, "testplug", kv, err, sizeof(err)), 0);
    batch_init(&b, recs, NULL, 3);
    start = now_ms();
    assert_int_equal(p.def->deliver(p.state, &b), 0);
    pthread_mutex_lock(&b.lock);
    assert_int_equal(b.done, 0);
    pthread_mutex_unlock(&b.lock);
    batch_wait(&b);
    assert_true(now_ms() - start >= 100);
    /* Last to first, from another thread. */
    assert_int_equal(b.order[0], 2);
    assert_int_equal(b.order[1], 1);
    assert_int_equal(b.order[2], 0);
    assert_int_equal(b.outcome[1], HERALD_REJECT);
    assert_int_equal(b.outcome[0], HERALD_OK);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(b.calls[i], 1);
        assert_false(pthread_equal(b.thread[i], pthread_self()));
    }
    close_plugin(&p);
    batch_cleanup(&b);
}

static void test_testplug_close_drops_waiting(void **state)
{
    static const char *const kv[] = {"delay", "10000ms", NULL};
    const struct herald_record rec = {"t", 0, 0, NULL, NULL};
    struct open_plugin p;
    struct herald_batch b;
    char err[256] = "";

    (void)state;
    assert_int_equal(open_plugin(&p, "testplug", kv, err, sizeof(err)), 0);
    batch_init(&b, &rec, NULL, 1);
    assert_int_equal(p.def->deliver(p.state, &b), 0);
    close_plugin(&p);
    /* The batch was never touched, and close said so. */
    assert_int_equal(b.done, 0);
    assert_string_equal(last_log,
                        "testplug: dropped 1 items still waiting at close");
    batch_cleanup(&b);
}

static void test_testnotify_logs_message(void **state)
{
    char log_path[] = "/tmp/herald-testnotify-XXXXXX";
    const char *const kv[] = {"log_file", log_path, "script",
                              "retry:partition==1", NULL};
    static const char *const to1[] = {"a@x.example", "b@y.example"};
    static const char *const to2[] = {"c@z.example"};
    const struct herald_record recs[2] = {{"alerts", 0, 41, NULL, NULL},
                                          {"alerts", 1, 42, NULL, NULL}};
    struct herald_message msgs[2] = {
        {.struct_size = sizeof(struct herald_message),
         .to = to1,
         .n_to = 2,
         .subject = "Fraud alert",
         .topic = "alerts",
         .partition = 0,
         .offset = 41,
         .record = &recs[0]},
        {.struct_size = sizeof(struct herald_message),
         .to = to2,
         .n_to = 1,
         .subject = "Second",
         .topic = "alerts",
         .partition = 1,
         .offset = 42,
         .record = &recs[1]},
    };
    struct open_plugin p;
    struct herald_batch b;
    char err[256] = "";
    int fd;

    (void)state;
    fd = mkstemp(log_path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(open_plugin(&p, "testnotify", kv, err, sizeof(err)), 0);
    assert_int_equal(p.def->kind, HERALD_PLUGIN_NOTIFY);
    batch_init(&b, recs, msgs, 2);
    assert_int_equal(p.def->deliver(p.state, &b), 0);
    assert_int_equal(b.outcome[0], HERALD_OK);
    assert_int_equal(b.outcome[1], HERALD_RETRY);
    assert_string_equal(b.reason[1],
                        "script rule 1 (retry:partition==1): retry 1 of 1");
    assert_int_equal(b.after[1], 0);
    batch_cleanup(&b);
    close_plugin(&p);
    assert_string_equal(readall(log_path),
                        "alerts 0 41 OK to=a@x.example,b@y.example "
                        "subject=Fraud alert\n"
                        "alerts 1 42 RETRY to=c@z.example subject=Second\n");
    unlink(log_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_refusals, setup),
        cmocka_unit_test_setup(test_older_minor_loads, setup),
        cmocka_unit_test_setup(test_name_must_match_file, setup),
        cmocka_unit_test_setup(test_search_path_order, setup),
        cmocka_unit_test_setup(test_not_found, setup),
        cmocka_unit_test_setup(test_yaml_before_env, setup),
        cmocka_unit_test_setup(test_loads_once, setup),
        cmocka_unit_test_setup(test_build_tree, setup),
        cmocka_unit_test_setup(test_load_all, setup),
        cmocka_unit_test_setup(test_refuse_writable, setup),
        cmocka_unit_test_setup(test_refuse_foreign_owner, setup),
        cmocka_unit_test_setup(test_relative_refused, setup),
        cmocka_unit_test_setup(test_builtin_dirs, setup),
        cmocka_unit_test_setup(test_list_runs_nothing, setup),
        cmocka_unit_test_setup(test_worker_paths_from_config, setup),
        cmocka_unit_test_setup(test_definitions, setup),
        cmocka_unit_test_setup(test_describe, setup),
        cmocka_unit_test_setup(test_describe_edges, setup),
        cmocka_unit_test_setup(test_null_acks_and_counts, setup),
        cmocka_unit_test_setup(test_testplug_script, setup),
        cmocka_unit_test_setup(test_testplug_bad_script, setup),
        cmocka_unit_test_setup(test_testplug_fail_switches, setup),
        cmocka_unit_test_setup(test_testplug_delay_out_of_order, setup),
        cmocka_unit_test_setup(test_testplug_close_drops_waiting, setup),
        cmocka_unit_test_setup(test_testnotify_logs_message, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
