/*
 * test_abi.c - the host side of plugin ABI 1.1 and 1.2, with the real host
 * API (api.c) and real plugins: a plugin built against the 1.0 header still
 * loads and delivers; the close rule (items outstanding when close returns
 * are retried by the host, completions made in close count, later ones are
 * ignored, a forgotten owner hears nothing); typed option access that
 * refuses an undeclared name loudly; open2; HERALD_API_HAS;
 * record_field_v2's sizes; transfer_submit being http_submit; value_member
 * and value_item (what they refuse, what they write for each size of
 * struct herald_value, and record_field writing only the 1.0 struct); the
 * benchmark's null_walk sink walking with them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "loader.h"
#include "record.h"

#define TESTPLUG HERALD_TEST_PLUGIN_DIR "/testplug.so"
#define ABI10 HERALD_TEST_PLUGIN_DIR "/abi10/abi10.so"
#define OPEN2 HERALD_TEST_PLUGIN_DIR "/broken/open2.so"
#define MAX_ITEMS 8
#define CLOSED_REASON "plugin testplug closed with the item outstanding"

/* ---- Outcomes the owner hears ------------------------------------------ */

struct owner {
    size_t n;
    size_t index[MAX_ITEMS];
    enum herald_outcome outcome[MAX_ITEMS];
    int64_t after[MAX_ITEMS];
    char reason[MAX_ITEMS][160];
};

static void on_outcome(void *ctx, struct herald_batch *b, size_t i,
                       enum herald_outcome outcome, int64_t retry_after_ms,
                       const char *reason)
{
    struct owner *o = ctx;

    (void)b;
    assert_true(o->n < MAX_ITEMS);
    o->index[o->n] = i;
    o->outcome[o->n] = outcome;
    o->after[o->n] = retry_after_ms;
    snprintf(o->reason[o->n], sizeof(o->reason[0]), "%s", reason ? reason : "");
    o->n++;
}

/* ---- stderr, where the host logs --------------------------------------- */

static char err_path[] = "/tmp/herald-test-abi-stderr.XXXXXX";
static int saved_stderr = -1;

static void capture_start(void)
{
    int fd = mkstemp(err_path);

    assert_true(fd >= 0);
    fflush(stderr);
    saved_stderr = dup(2);
    assert_true(saved_stderr >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
}

/* Everything logged since capture_start; the caller frees it. */
static char *capture_end(void)
{
    FILE *f;
    char *text;
    long len;

    fflush(stderr);
    assert_int_equal(dup2(saved_stderr, 2), 2);
    close(saved_stderr);
    f = fopen(err_path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = calloc(1, (size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    unlink(err_path);
    strcpy(err_path + strlen(err_path) - 6, "XXXXXX");
    return text;
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* ---- Instances and batches --------------------------------------------- */

struct fixture {
    struct herald__loader *l;
    const struct herald__plugin_handle *h;
    struct herald__node *root;
    struct herald_instance *inst;
    struct herald_record *recs[MAX_ITEMS];
    size_t n_recs;
};

/* Load `path` with the real host API and open one instance whose options
 * are the YAML map `yaml`. */
static void open_instance(struct fixture *f, const char *path, const char *yaml)
{
    struct herald_options *opts;
    struct herald__diag d;
    char err[1024] = "";

    memset(f, 0, sizeof(*f));
    f->l = herald__loader_new(herald__host_api());
    assert_non_null(f->l);
    f->h = herald__loader_load(f->l, path, err, sizeof(err));
    if (!f->h) {
        fail_msg("load %s: %s", path, err);
    }
    herald__diag_init(&d);
    f->root = herald__config_load_string("test.yaml", yaml, strlen(yaml), &d);
    assert_non_null(f->root);
    opts = herald__options_new(f->root, f->h->def.options, NULL, &d);
    if (!opts) {
        fail_msg("options: %s", d.n ? d.msgs[0] : "?");
    }
    herald__diag_cleanup(&d);
    f->inst = herald__instance_new("inst", &f->h->def, f->h->path, opts, NULL);
    assert_non_null(f->inst);
    if (herald__instance_open(f->inst, err, sizeof(err)) != 0) {
        fail_msg("open: %s", err);
    }
}

/* A record of topic t, partition 0, at `offset`, value `json`. */
static struct herald_record *add_record(struct fixture *f, int64_t offset,
                                        const char *json)
{
    struct herald_record *r;
    json_t *j;

    assert_true(f->n_recs < MAX_ITEMS);
    r = herald__record_new("t", 0, offset, 0, NULL, 0, json, strlen(json));
    assert_non_null(r);
    j = json_loads(json, 0, NULL);
    r->value_val = herald__record_val_from_json(r, j);
    json_decref(j);
    assert_non_null(r->value_val);
    f->recs[f->n_recs++] = r;
    return r;
}

/* Deliver records [0, n) as one batch to `owner`; the batch pointer. */
static struct herald_batch *deliver(struct fixture *f, struct owner *owner,
                                    size_t n)
{
    struct herald_batch *b = herald__batch_new(f->inst, owner, on_outcome, n);

    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        b->items[i].record = f->recs[i];
    }
    herald__batch_deliver(b);
    herald__api_drain();
    return b;
}

static void close_fixture(struct fixture *f)
{
    herald__instance_destroy(f->inst);
    herald__api_stop();
    for (size_t i = 0; i < f->n_recs; i++) {
        herald__record_destroy(f->recs[i]);
    }
    herald__config_destroy(f->root);
    herald__loader_destroy(f->l);
}

/* ---- A plugin built against the 1.0 header ----------------------------- */

static void test_abi10_plugin_delivers(void **state)
{
    char log_path[] = "/tmp/herald-test-abi10.XXXXXX";
    char yaml[512], text[512] = "", *desc = NULL;
    struct owner owner = {0};
    struct fixture f;
    size_t len = 0;
    FILE *out;
    int fd;

    (void)state;
    fd = mkstemp(log_path);
    assert_true(fd >= 0);
    close(fd);
    snprintf(yaml, sizeof(yaml),
             "log_file: %s\nreject_offset: 1\nretry_offset: 2\n", log_path);
    open_instance(&f, ABI10, yaml);
    assert_int_equal(f.h->def.abi_minor, 0);
    /* The 1.0 option table, walked with the 1.0 stride. */
    out = open_memstream(&desc, &len);
    herald__plugin_describe(&f.h->def, out);
    fclose(out);
    assert_string_equal(desc, "name:        abi10\n"
                              "version:     1.0.0\n"
                              "kind:        sink\n"
                              "description: built against the ABI 1.0 "
                              "header\n"
                              "options:\n"
                              "  log_file (string)\n"
                              "      append a line per item\n"
                              "  field (string, default amount)\n"
                              "      path to read\n"
                              "  reject_offset (int, default -1)\n"
                              "      REJECT this offset\n"
                              "  retry_offset (int, default -1)\n"
                              "      RETRY this offset\n"
                              "  mode (enum: fast|slow, default slow)\n"
                              "      declared only\n");
    free(desc);
    add_record(&f, 0, "{\"amount\":\"12.50\"}");
    add_record(&f, 1, "{\"amount\":\"3.00\"}");
    add_record(&f, 2, "{\"amount\":7}");
    add_record(&f, 3, "{\"other\":1}");
    deliver(&f, &owner, 4);
    assert_int_equal(owner.n, 4);
    assert_int_equal(owner.outcome[0], HERALD_OK);
    assert_int_equal(owner.outcome[1], HERALD_REJECT);
    assert_string_equal(owner.reason[1], "abi10 script");
    assert_int_equal(owner.outcome[2], HERALD_RETRY);
    assert_int_equal(owner.after[2], 250);
    assert_int_equal(owner.outcome[3], HERALD_OK);
    assert_int_equal(herald__instance_counter(f.inst, "abi10.items"), 4);
    close_fixture(&f);

    out = fopen(log_path, "r");
    assert_non_null(out);
    len = fread(text, 1, sizeof(text) - 1, out);
    fclose(out);
    unlink(log_path);
    text[len] = '\0';
    /* record_field into the 1.0 struct herald_value: type 0 is MISSING. */
    assert_string_equal(text, "t 0 0 OK string:12.50\n"
                              "t 0 1 REJECT string:3.00\n"
                              "t 0 2 RETRY int:7\n"
                              "t 0 3 OK type0\n");
}

/* ---- The close rule ---------------------------------------------------- */

/* Items waiting in the plugin when close returns: the host answers RETRY
 * for each, with the reason, and says so once. */
static void test_close_retries_outstanding(void **state)
{
    struct owner owner = {0};
    struct fixture f;
    char *log;

    (void)state;
    open_instance(&f, TESTPLUG, "delay: 10s\n");
    add_record(&f, 0, "{}");
    add_record(&f, 1, "{}");
    add_record(&f, 2, "{}");
    deliver(&f, &owner, 3);
    assert_int_equal(owner.n, 0);
    assert_int_equal(f.inst->in_flight, 3);
    capture_start();
    herald__instance_destroy(f.inst);
    f.inst = NULL;
    log = capture_end();
    assert_int_equal(owner.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(owner.index[i], i);
        assert_int_equal(owner.outcome[i], HERALD_RETRY);
        assert_int_equal(owner.after[i], 0);
        assert_string_equal(owner.reason[i], CLOSED_REASON);
    }
    assert_int_equal(count_of(log, "close returned with 3 item(s) "
                                   "outstanding; they are retried"),
                     1);
    assert_non_null(strstr(log, "plugin=testplug instance=inst"));
    free(log);
    close_fixture(&f);
}

/* What close completes before it returns counts as the plugin said. */
static void test_close_completions_count(void **state)
{
    struct owner owner = {0};
    struct fixture f;

    (void)state;
    open_instance(&f, TESTPLUG,
                  "delay: 10s\non_close: finish\nscript: reject:offset==1\n");
    add_record(&f, 0, "{}");
    add_record(&f, 1, "{}");
    add_record(&f, 2, "{}");
    deliver(&f, &owner, 3);
    assert_int_equal(owner.n, 0);
    herald__instance_destroy(f.inst);
    f.inst = NULL;
    assert_int_equal(owner.n, 3);
    assert_int_equal(owner.outcome[0], HERALD_OK);
    assert_int_equal(owner.outcome[1], HERALD_REJECT);
    assert_string_equal(owner.reason[1], "script rule 1 (reject:offset==1)");
    assert_int_equal(owner.outcome[2], HERALD_OK);
    close_fixture(&f);
}

/* A complete() after close returned is logged and ignored: the owner has
 * its RETRY already and hears nothing more; nothing freed is touched
 * (ASan). */
static void test_complete_after_close_ignored(void **state)
{
    struct owner owner = {0};
    struct herald_batch *b;
    struct fixture f;
    char *log;

    (void)state;
    open_instance(&f, TESTPLUG, "delay: 10s\n");
    add_record(&f, 0, "{}");
    add_record(&f, 1, "{}");
    b = deliver(&f, &owner, 2);
    capture_start();
    herald__instance_destroy(f.inst);
    f.inst = NULL;
    herald__host_api()->complete(b, 1, HERALD_OK, 0, NULL);
    herald__api_drain();
    log = capture_end();
    assert_int_equal(owner.n, 2);
    assert_int_equal(owner.outcome[1], HERALD_RETRY);
    assert_int_equal(count_of(log, "plugin testplug reported item 1 after "
                                   "its close returned; ignored (the host "
                                   "had retried it)"),
                     1);
    free(log);
    close_fixture(&f);
}

/* An owner that went away (a connector destroyed before the channel
 * closes) is never called back. */
static void test_forgotten_owner_hears_nothing(void **state)
{
    struct owner owner = {0};
    struct fixture f;

    (void)state;
    open_instance(&f, TESTPLUG, "delay: 10s\n");
    add_record(&f, 0, "{}");
    deliver(&f, &owner, 1);
    herald__instance_forget_owner(f.inst, &owner);
    herald__instance_destroy(f.inst);
    f.inst = NULL;
    assert_int_equal(owner.n, 0);
    close_fixture(&f);
}

/* ---- Typed options ----------------------------------------------------- */

static void test_opt_get(void **state)
{
    const struct herald_host_api *api = herald__host_api();
    const char *s = "untouched";
    struct fixture f;
    int64_t v = 77;
    int small = 5;
    size_t n = 0;
    char *log;
    int b = -1;

    (void)state;
    open_instance(&f, TESTPLUG,
                  "delay: 250ms\nlevel: high\ntags: [a, b]\n"
                  "out_of_order: true\n");
    assert_int_equal(herald_opt_duration_ms(api, f.inst, "delay", &v), 0);
    assert_int_equal(v, 250);
    assert_int_equal(herald_opt_enum(api, f.inst, "level", &s), 0);
    assert_string_equal(s, "high");
    assert_int_equal(herald_opt_size(api, f.inst, "max_bytes", &v), 0);
    assert_int_equal(v, 1024); /* the default, 1KiB */
    assert_int_equal(herald_opt_bool(api, f.inst, "out_of_order", &b), 0);
    assert_int_equal(b, 1);
    assert_int_equal(herald_opt_list_count(api, f.inst, "tags", &n), 0);
    assert_int_equal(n, 2);
    /* Unset, no default: 1 and NULL. */
    assert_int_equal(herald_opt_string(api, f.inst, "log_file", &s), 1);
    assert_null(s);

    capture_start();
    v = 77;
    assert_int_equal(herald_opt_int(api, f.inst, "dealy", &v), -1);
    assert_int_equal(herald_opt_int(api, f.inst, "dealy", &v), -1);
    assert_int_equal(v, 77);
    assert_int_equal(herald_opt_int(api, f.inst, "delay", &v), -1);
    assert_int_equal(v, 77);
    assert_int_equal(api->opt_get(f.inst, "fail_deliver", HERALD_OPT_INT,
                                  &small, sizeof(small)),
                     -1);
    assert_int_equal(small, 5);
    log = capture_end();
    /* Once per name, however often it is read. */
    assert_int_equal(
        count_of(log, "option 'dealy' is not declared by plugin testplug"), 1);
    assert_int_equal(count_of(log, "option 'delay' of plugin testplug is "
                                   "declared duration, read as int"),
                     1);
    assert_int_equal(count_of(log, "option 'fail_deliver' of plugin "
                                   "testplug is read into 4 bytes, a int "
                                   "takes 8"),
                     1);
    free(log);
    close_fixture(&f);
}

/* ---- open2, HERALD_API_HAS, sizes -------------------------------------- */

static void test_open2_gets_api(void **state)
{
    struct fixture f;

    (void)state;
    open_instance(&f, OPEN2, "opt: x\n");
    /* Counted through the table open2 got; its state is that table. */
    assert_int_equal(herald__instance_counter(f.inst, "open2"), 1);
    assert_ptr_equal(f.inst->state, herald__host_api());
    close_fixture(&f);
}

static void test_api_has(void **state)
{
    const struct herald_host_api *host = herald__host_api();
    struct herald_host_api a = *host;

    (void)state;
    assert_true(HERALD_API_HAS(host, log));
    assert_true(HERALD_API_HAS(host, transfer_submit));
    assert_true(HERALD_API_HAS(host, opt_get));
    assert_true(HERALD_API_HAS(host, record_field_v2));
    assert_ptr_equal(host->transfer_submit, host->http_submit);
    /* A 1.0 host's table ends after http_submit. */
    a.struct_size = (uint32_t)(offsetof(struct herald_host_api, http_submit) +
                               sizeof(a.http_submit));
    assert_true(HERALD_API_HAS(&a, http_submit));
    assert_false(HERALD_API_HAS(&a, transfer_submit));
    assert_false(HERALD_API_HAS(&a, opt_get));
    /* Long enough but unset. */
    a.struct_size = sizeof(a);
    a.opt_get = NULL;
    assert_false(HERALD_API_HAS(&a, opt_get));
    /* A plugin's typed read on such a host fails, without calling. */
    {
        int64_t v = 3;
        int rc = a.opt_get ? 0 : -1;
        assert_int_equal(rc, -1);
        assert_int_equal(herald_opt_int(&a, NULL, "x", &v), -1);
        assert_int_equal(v, 3);
    }
}

static void test_record_field_v2_sizes(void **state)
{
    const struct herald_host_api *api = herald__host_api();
    struct {
        struct herald_value v;
        unsigned char later[16]; /* members a newer plugin would have */
    } big;
    struct herald_value exact;
    struct herald_record *r;
    struct fixture f = {0};

    (void)state;
    r = add_record(&f, 5, "{\"amount\":\"12.50\"}");
    memset(&big, 0xAA, sizeof(big));
    assert_int_equal(api->record_field_v2(r, "amount", &big.v, sizeof(big)), 0);
    assert_int_equal(big.v.type, HERALD_VALUE_STRING);
    assert_int_equal(big.v.len, 5);
    assert_memory_equal(big.v.str, "12.50", 5);
    for (size_t i = 0; i < sizeof(big.later); i++) {
        assert_int_equal(big.later[i], 0);
    }
    assert_int_equal(api->record_field_v2(r, "amount", &exact, sizeof(exact)),
                     0);
    assert_int_equal(exact.type, HERALD_VALUE_STRING);
    /* Smaller than the 1.0 struct: refused, out untouched. */
    memset(&exact, 0x55, sizeof(exact));
    assert_int_equal(api->record_field_v2(r, "amount", &exact, 8), -1);
    assert_int_equal(((unsigned char *)&exact)[0], 0x55);
    herald__record_destroy(r);
}

/* ---- Walking a value: value_member, value_item (ABI 1.2) --------------- */

/* Where node starts: the size of struct herald_value in ABI 1.0 and 1.1. */
#define VALUE_SIZE_1_1 offsetof(struct herald_value, node)

/* A plugin's struct herald_value and bytes after it that are not the
 * host's to write. */
struct guarded {
    struct herald_value v;
    unsigned char after[16];
};

/* 1 if every byte of g from offset `from` on still holds 0xAA. */
static int intact_from(const struct guarded *g, size_t from)
{
    const unsigned char *p = (const unsigned char *)g;

    for (size_t i = from; i < sizeof(*g); i++) {
        if (p[i] != 0xAA) {
            return 0;
        }
    }
    return 1;
}

/* A record with the raw (undecoded) key "k1" and this value tree. */
static struct herald_record *walk_record(void)
{
    static const char json[] =
        "{\"o\":{\"x\":1},\"a\":[10,{\"y\":\"z\"}],\"s\":\"str\"}";
    struct herald_record *r =
        herald__record_new("t", 0, 7, 0, "k1", 2, json, strlen(json));
    json_t *j = json_loads(json, 0, NULL);

    assert_non_null(r);
    r->value_val = herald__record_val_from_json(r, j);
    json_decref(j);
    assert_non_null(r->value_val);
    return r;
}

/* What each call refuses (-1, nothing written), and that a call never
 * writes past the size the plugin gave. */
static void test_value_walk_refusals(void **state)
{
    const struct herald_host_api *api = herald__host_api();
    struct herald_record *r = walk_record();
    struct herald_value root, arr, str, key, kid, fake;
    const char *name = "untouched";
    size_t name_len = 99;
    struct guarded g;

    (void)state;
    assert_true(HERALD_API_HAS(api, value_member));
    assert_true(HERALD_API_HAS(api, value_item));
    assert_int_equal(api->record_field_v2(r, "@value", &root, sizeof(root)), 0);
    assert_int_equal(root.type, HERALD_VALUE_OBJECT);
    assert_int_equal(root.count, 3);
    assert_non_null(root.node);

    /* The happy path, for contrast: member 1 is "a", an array whose item
     * 1 is an object. */
    assert_int_equal(
        api->value_member(&root, 1, &name, &name_len, &arr, sizeof(arr)), 0);
    assert_string_equal(name, "a");
    assert_int_equal(name_len, 1);
    assert_int_equal(arr.type, HERALD_VALUE_ARRAY);
    assert_int_equal(arr.count, 2);
    assert_int_equal(api->value_item(&arr, 1, &kid, sizeof(kid)), 0);
    assert_int_equal(kid.type, HERALD_VALUE_OBJECT);
    assert_int_equal(
        api->value_member(&kid, 0, &name, &name_len, &str, sizeof(str)), 0);
    assert_string_equal(name, "y");
    assert_int_equal(str.type, HERALD_VALUE_STRING);
    assert_memory_equal(str.str, "z", 1);
    assert_non_null(str.node);

    name = "untouched";
    name_len = 99;
#define REFUSED(call)                                                          \
    do {                                                                       \
        memset(&g, 0xAA, sizeof(g));                                           \
        assert_int_equal((call), -1);                                          \
        assert_true(intact_from(&g, 0));                                       \
        assert_string_equal(name, "untouched");                                \
        assert_int_equal(name_len, 99);                                        \
    } while (0)
    /* Out of range. */
    REFUSED(api->value_member(&root, 3, &name, &name_len, &g.v, sizeof(g.v)));
    REFUSED(api->value_item(&arr, 2, &g.v, sizeof(g.v)));
    /* Not an object, not an array: the other container, a scalar. */
    REFUSED(api->value_member(&arr, 0, &name, &name_len, &g.v, sizeof(g.v)));
    REFUSED(api->value_item(&root, 0, &g.v, sizeof(g.v)));
    REFUSED(api->value_member(&str, 0, &name, &name_len, &g.v, sizeof(g.v)));
    REFUSED(api->value_item(&str, 0, &g.v, sizeof(g.v)));
    /* No node: the raw key is not from the decoded tree, and neither is a
     * value the plugin made up; the host goes by node, not by type. */
    assert_int_equal(api->record_field_v2(r, "@key", &key, sizeof(key)), 0);
    assert_int_equal(key.type, HERALD_VALUE_STRING);
    assert_memory_equal(key.str, "k1", 2);
    assert_null(key.node);
    REFUSED(api->value_member(&key, 0, &name, &name_len, &g.v, sizeof(g.v)));
    REFUSED(api->value_item(&key, 0, &g.v, sizeof(g.v)));
    fake = root;
    fake.node = NULL;
    REFUSED(api->value_member(&fake, 0, &name, &name_len, &g.v, sizeof(g.v)));
    REFUSED(api->value_member(NULL, 0, &name, &name_len, &g.v, sizeof(g.v)));
    REFUSED(api->value_item(NULL, 0, &g.v, sizeof(g.v)));
    /* out smaller than the 1.0 struct. */
    REFUSED(api->value_member(&root, 0, &name, &name_len, &g.v, 8));
    REFUSED(api->value_member(&root, 0, &name, &name_len, &g.v,
                              VALUE_SIZE_1_1 - 1));
    REFUSED(api->value_item(&arr, 0, &g.v, VALUE_SIZE_1_1 - 1));
    REFUSED(api->value_member(&root, 0, &name, &name_len, NULL, sizeof(g.v)));
#undef REFUSED
    herald__record_destroy(r);
}

/* A plugin's struct of the 1.0/1.1 size gets exactly that much written by
 * every call that fills one; a larger one gets zeroes after the host's. */
static void test_value_walk_sizes(void **state)
{
    const struct herald_host_api *api = herald__host_api();
    struct herald_record *r = walk_record();
    struct herald_value root, arr;
    const char *name = NULL;
    size_t name_len = 0;
    struct {
        struct herald_value v;
        unsigned char later[16]; /* members a newer plugin would have */
    } big;
    struct guarded g;

    (void)state;
    assert_int_equal(api->record_field_v2(r, "@value", &root, sizeof(root)), 0);
    assert_int_equal(api->record_field_v2(r, "a", &arr, sizeof(arr)), 0);

    memset(&g, 0xAA, sizeof(g));
    assert_int_equal(
        api->value_member(&root, 0, &name, &name_len, &g.v, VALUE_SIZE_1_1), 0);
    assert_string_equal(name, "o");
    assert_int_equal(g.v.type, HERALD_VALUE_OBJECT);
    assert_int_equal(g.v.count, 1);
    assert_true(intact_from(&g, VALUE_SIZE_1_1));

    memset(&g, 0xAA, sizeof(g));
    assert_int_equal(api->value_item(&arr, 0, &g.v, VALUE_SIZE_1_1), 0);
    assert_int_equal(g.v.type, HERALD_VALUE_INT);
    assert_int_equal(g.v.integer, 10);
    assert_true(intact_from(&g, VALUE_SIZE_1_1));

    memset(&g, 0xAA, sizeof(g));
    assert_int_equal(api->record_field_v2(r, "s", &g.v, VALUE_SIZE_1_1), 0);
    assert_int_equal(g.v.type, HERALD_VALUE_STRING);
    assert_true(intact_from(&g, VALUE_SIZE_1_1));

    /* record_field (ABI 1.0) writes the 1.0 struct and not a byte more, on
     * success and on a malformed path alike. */
    memset(&g, 0xAA, sizeof(g));
    assert_int_equal(api->record_field(r, "s", &g.v), 0);
    assert_int_equal(g.v.type, HERALD_VALUE_STRING);
    assert_int_equal(g.v.len, 3);
    assert_true(intact_from(&g, VALUE_SIZE_1_1));
    memset(&g, 0xAA, sizeof(g));
    assert_int_equal(api->record_field(r, "a..b", &g.v), -1);
    assert_int_equal(g.v.type, HERALD_VALUE_MISSING);
    assert_true(intact_from(&g, VALUE_SIZE_1_1));

    /* Larger than the host's: node set, the rest zeroed. */
    memset(&big, 0xAA, sizeof(big));
    assert_int_equal(
        api->value_member(&root, 2, &name, &name_len, &big.v, sizeof(big)), 0);
    assert_string_equal(name, "s");
    assert_int_equal(big.v.type, HERALD_VALUE_STRING);
    assert_memory_equal(big.v.str, "str", 3);
    assert_non_null(big.v.node);
    for (size_t i = 0; i < sizeof(big.later); i++) {
        assert_int_equal(big.later[i], 0);
    }
    memset(&big, 0xAA, sizeof(big));
    assert_int_equal(api->value_item(&arr, 1, &big.v, sizeof(big)), 0);
    assert_int_equal(big.v.type, HERALD_VALUE_OBJECT);
    for (size_t i = 0; i < sizeof(big.later); i++) {
        assert_int_equal(big.later[i], 0);
    }
    /* name and name_len may be NULL. */
    assert_int_equal(
        api->value_member(&root, 0, NULL, NULL, &big.v, sizeof(big.v)), 0);
    herald__record_destroy(r);
}

/* ---- null_walk, the benchmark's sink, on this host ---------------------- */

#define NULL_WALK HERALD_BINARY_DIR "/bench-plugins/null_walk.so"

/* It reads every node of key and value with value_member/value_item and
 * logs totals the consume benchmark checks: here of three records whose
 * keys are null (one node each), two of them windowed, and whose values
 * hold every type. */
static void test_null_walk_totals(void **state)
{
    struct owner owner = {0};
    struct fixture f;
    char *log;

    (void)state;
    open_instance(&f, NULL_WALK, "{}\n");
    /* fields: key 1, value 1, a 1, n 1 + 3 items, b 1, c 1, z 1 = 10 */
    add_record(&f, 0,
               "{\"a\":\"xy\",\"n\":[1,2,{\"b\":true,\"c\":1.5}],"
               "\"z\":null}");
    add_record(&f, 1, "[]");            /* fields: key 1, value 1 */
    add_record(&f, 2, "{\"s\":\"s\"}"); /* fields: key 1, value 1, s 1 */
    /* Window bounds count in int_sum; an end of -1 is absent. */
    f.recs[1]->has_window = 1;
    f.recs[1]->window_start = 100;
    f.recs[1]->window_end = -1;
    f.recs[2]->has_window = 1;
    f.recs[2]->window_start = 1000;
    f.recs[2]->window_end = 2000;
    deliver(&f, &owner, 3);
    assert_int_equal(owner.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(owner.outcome[i], HERALD_OK);
    }
    assert_int_equal(herald__instance_counter(f.inst, "fields"), 15);
    capture_start();
    herald__instance_destroy(f.inst);
    f.inst = NULL;
    log = capture_end();
    if (!strstr(log, "null_walk: walked records=3 fields=15 string_bytes=3 "
                     "int_sum=3103 true=1 doubles=1 errors=0")) {
        fail_msg("null_walk's totals: %s", log);
    }
    free(log);
    close_fixture(&f);
}

/* On a host without value_member/value_item it refuses to open, and says
 * why. */
static void test_null_walk_needs_1_2(void **state)
{
    struct herald_host_api old = *herald__host_api();
    struct fixture f;
    void *st = NULL;
    char err[256] = "";

    (void)state;
    open_instance(&f, NULL_WALK, "{}\n");
    assert_non_null(f.h->def.open2);
    old.struct_size = (uint32_t)offsetof(struct herald_host_api, value_member);
    assert_int_equal(
        f.h->def.open2(&old, f.inst, f.inst->opts, &st, err, sizeof(err)), -1);
    assert_null(st);
    assert_string_equal(err, "null_walk needs a herald whose host API has "
                             "value_member and value_item (plugin ABI 1.2)");
    old = *herald__host_api();
    old.value_item = NULL;
    err[0] = '\0';
    assert_int_equal(
        f.h->def.open2(&old, f.inst, f.inst->opts, &st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "null_walk needs"));
    capture_start(); /* its close logs empty totals */
    close_fixture(&f);
    free(capture_end());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abi10_plugin_delivers),
        cmocka_unit_test(test_close_retries_outstanding),
        cmocka_unit_test(test_close_completions_count),
        cmocka_unit_test(test_complete_after_close_ignored),
        cmocka_unit_test(test_forgotten_owner_hears_nothing),
        cmocka_unit_test(test_opt_get),
        cmocka_unit_test(test_open2_gets_api),
        cmocka_unit_test(test_api_has),
        cmocka_unit_test(test_record_field_v2_sizes),
        cmocka_unit_test(test_value_walk_refusals),
        cmocka_unit_test(test_value_walk_sizes),
        cmocka_unit_test(test_null_walk_totals),
        cmocka_unit_test(test_null_walk_needs_1_2),
    };

    unsetenv("HERALD_PLUGIN_PATH");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
