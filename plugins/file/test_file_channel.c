/*
 * test_file_channel.c - drives the file channel through a fake host API:
 * exact file bytes (Date aside), no temp file left, stdout with print,
 * REJECT for a bad message and RETRY when the directory disappears.
 */
#include <dirent.h>
#include <fcntl.h>
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

#include <herald/plugin.h>

extern const struct herald_plugin herald_plugin;

/* The opaque host types, as this fake host defines them. */
struct herald_options {
    const char *dir;
    int print;
};

struct herald_batch {
    const struct herald_message *msgs;
    size_t n;
    int outcome[4];
    int calls[4];
    char reason[4][512];
};

static void fake_log(struct herald_instance *inst, enum herald_log_level level,
                     const char *fmt, ...)
{
    (void)inst;
    (void)level;
    (void)fmt;
}

static const char *fake_opt_string(const struct herald_options *o,
                                   const char *name)
{
    return strcmp(name, "dir") == 0 ? o->dir : NULL;
}

static int fake_opt_bool(const struct herald_options *o, const char *name)
{
    return strcmp(name, "print") == 0 ? o->print : 0;
}

static size_t fake_batch_count(const struct herald_batch *b)
{
    return b->n;
}

static const struct herald_message *
fake_batch_message(const struct herald_batch *b, size_t i)
{
    return &b->msgs[i];
}

static void fake_complete(struct herald_batch *b, size_t i,
                          enum herald_outcome outcome, int64_t retry_after,
                          const char *reason)
{
    assert_true(i < b->n);
    assert_int_equal(retry_after, 0);
    b->outcome[i] = (int)outcome;
    b->calls[i]++;
    snprintf(b->reason[i], sizeof(b->reason[i]), "%s",
             reason != NULL ? reason : "");
}

static struct herald_host_api fake_api(void)
{
    struct herald_host_api a;

    memset(&a, 0, sizeof(a));
    a.abi_major = HERALD_ABI_MAJOR;
    a.abi_minor = HERALD_ABI_MINOR;
    a.struct_size = sizeof(a);
    a.log = fake_log;
    a.opt_string = fake_opt_string;
    a.opt_bool = fake_opt_bool;
    a.batch_count = fake_batch_count;
    a.batch_message = fake_batch_message;
    a.complete = fake_complete;
    return a;
}

static struct herald_host_api api_table;

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Everything after the first line: the Date is the current time. */
static const char *after_date(const char *msg)
{
    assert_memory_equal(msg, "Date: ", 6);
    return strstr(msg, "\r\n") + 2;
}

static void count_entries(const char *dir, int *files, int *hidden)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    assert_non_null(d);
    *files = *hidden = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (e->d_name[0] == '.') {
            (*hidden)++;
        } else {
            (*files)++;
        }
    }
    closedir(d);
}

static void remove_tree(const char *dir)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static const char *const to_one[] = {"Jane Roe <jane@example.com>"};
static const char *const bad_to[] = {"jane@example.com\r\nDATA"};

static struct herald_message message(const char *topic, int64_t offset)
{
    struct herald_message m;

    memset(&m, 0, sizeof(m));
    m.struct_size = sizeof(m);
    m.from = "alerts@bank.example";
    m.to = to_one;
    m.n_to = 1;
    m.subject = "Card 1234";
    m.text = "Three attempts.\n";
    /* the host's keyed hash of the dedup key */
    m.idempotency_key =
        "6ab9f1eb8f7d3388f4f9d586f66e99fd0123456789abcdef0123456789abcdef";
    m.topic = topic;
    m.partition = 2;
    m.offset = offset;
    return m;
}

static const char expected_k1[] = "From: alerts@bank.example\r\n"
                                  "To: Jane Roe <jane@example.com>\r\n"
                                  "Subject: Card 1234\r\n"
                                  /* %s: the key's first 32 hex digits */
                                  "Message-ID: <"
                                  "%s"
                                  "@herald>\r\n"
                                  "MIME-Version: 1.0\r\n"
                                  "X-Herald-Source: %s/2/%d\r\n"
                                  "Content-Type: text/plain; charset=UTF-8\r\n"
                                  "Content-Transfer-Encoding: 7bit\r\n"
                                  "\r\n"
                                  "Three attempts.\r\n";

static void test_writes_files(void **state)
{
    char dir[512], path[600], want[1024];
    struct herald_options opts;
    struct herald_message msgs[3];
    struct herald_batch b;
    void *st = NULL;
    char err[256] = "";
    char *data;
    size_t len;
    int files, hidden;
    (void)state;

    snprintf(dir, sizeof(dir), "%s/file-out/nested/dir", TEST_TMP_DIR);
    remove_tree(TEST_TMP_DIR "/file-out");
    opts.dir = dir;
    opts.print = 0;
    assert_int_equal(herald_plugin.open(NULL, &opts, &st, err, sizeof(err)), 0);

    msgs[0] = message("possible_anomalies", 41);
    msgs[1] = message("../etc/pass wd", 42);
    msgs[2] = message("possible_anomalies", 43);
    msgs[2].to = bad_to;
    memset(&b, 0, sizeof(b));
    b.msgs = msgs;
    b.n = 3;
    assert_int_equal(herald_plugin.deliver(st, &b), 0);
    assert_int_equal(b.calls[0], 1);
    assert_int_equal(b.calls[1], 1);
    assert_int_equal(b.calls[2], 1);
    assert_int_equal(b.outcome[0], HERALD_OK);
    assert_int_equal(b.outcome[1], HERALD_OK);
    assert_int_equal(b.outcome[2], HERALD_REJECT);
    assert_string_equal(b.reason[2], "To: address holds a control character");

    snprintf(path, sizeof(path), "%s/possible_anomalies-2-41.eml", dir);
    data = read_all(path, &len);
    assert_int_equal(len, strlen(data));
    snprintf(want, sizeof(want), expected_k1,
             "6ab9f1eb8f7d3388f4f9d586f66e99fd", "possible_anomalies", 41);
    assert_string_equal(after_date(data), want);
    free(data);

    /* the topic cannot steer the file out of dir */
    snprintf(path, sizeof(path), "%s/_._etc_pass_wd-2-42.eml", dir);
    data = read_all(path, &len);
    snprintf(want, sizeof(want), expected_k1,
             "6ab9f1eb8f7d3388f4f9d586f66e99fd", "../etc/pass wd", 42);
    assert_string_equal(after_date(data), want);
    free(data);

    count_entries(dir, &files, &hidden);
    assert_int_equal(files, 2);
    assert_int_equal(hidden, 0);

    /* directory gone: RETRY with the reason, nothing reported twice */
    remove_tree(TEST_TMP_DIR "/file-out");
    memset(&b, 0, sizeof(b));
    b.msgs = msgs;
    b.n = 1;
    assert_int_equal(herald_plugin.deliver(st, &b), 0);
    assert_int_equal(b.calls[0], 1);
    assert_int_equal(b.outcome[0], HERALD_RETRY);
    snprintf(want, sizeof(want),
             "open %s/.possible_anomalies-2-41.eml.tmp: No such file or "
             "directory",
             dir);
    assert_string_equal(b.reason[0], want);
    herald_plugin.close(st);
}

static void test_print(void **state)
{
    char dir[512], out[600], want[1200], line[700];
    struct herald_options opts;
    struct herald_message msg;
    struct herald_batch b;
    void *st = NULL;
    char err[256] = "";
    char *data;
    size_t len;
    int saved, fd;
    (void)state;

    snprintf(dir, sizeof(dir), "%s/file-print", TEST_TMP_DIR);
    snprintf(out, sizeof(out), "%s/file-print.stdout", TEST_TMP_DIR);
    remove_tree(dir);
    opts.dir = dir;
    opts.print = 1;
    assert_int_equal(herald_plugin.open(NULL, &opts, &st, err, sizeof(err)), 0);
    msg = message("t", 7);
    memset(&b, 0, sizeof(b));
    b.msgs = &msg;
    b.n = 1;

    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    assert_int_equal(herald_plugin.deliver(st, &b), 0);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);

    assert_int_equal(b.outcome[0], HERALD_OK);
    data = read_all(out, &len);
    snprintf(want, sizeof(want), expected_k1,
             "6ab9f1eb8f7d3388f4f9d586f66e99fd", "t", 7);
    snprintf(line, sizeof(line), "wrote %s/t-2-7.eml\n", dir);
    assert_true(strlen(after_date(data)) == strlen(want) + strlen(line));
    assert_memory_equal(after_date(data), want, strlen(want));
    assert_string_equal(after_date(data) + strlen(want), line);
    free(data);
    herald_plugin.close(st);
    remove_tree(dir);
    unlink(out);
}

static void test_open_errors(void **state)
{
    struct herald_options opts;
    void *st = NULL;
    char err[256] = "";
    char path[512], want[700];
    FILE *f;
    (void)state;

    snprintf(path, sizeof(path), "%s/file-not-a-dir", TEST_TMP_DIR);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    opts.dir = path;
    opts.print = 0;
    assert_int_equal(herald_plugin.open(NULL, &opts, &st, err, sizeof(err)),
                     -1);
    snprintf(want, sizeof(want),
             "cannot create directory '%s': Not a "
             "directory",
             path);
    assert_string_equal(err, want);
    assert_null(st);
    unlink(path);
}

static int setup(void **state)
{
    char err[128];
    (void)state;

    api_table = fake_api();
    return herald_plugin.init(&api_table, err, sizeof(err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_files),
        cmocka_unit_test(test_print),
        cmocka_unit_test(test_open_errors),
    };

    assert_int_equal(herald_plugin.abi_major, HERALD_ABI_MAJOR);
    assert_string_equal(herald_plugin.name, "file");
    assert_int_equal(herald_plugin.kind, HERALD_PLUGIN_NOTIFY);
    return cmocka_run_group_tests(tests, setup, NULL);
}
