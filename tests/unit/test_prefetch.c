/*
 * test_prefetch.c - the consumer's prefetch settings on librdkafka's mock
 * cluster: herald's defaults (connector.c) reach librdkafka, and a user's
 * kafka: settings win over them. Read back from librdkafka's own dump of
 * its configuration (`debug: conf` lists every property that was set),
 * which herald logs at debug level on stderr.
 */
#include "test_connector.h"

#include <fcntl.h>

/* Runs a worker on config yaml until it took n records, with its stderr in
 * log_path. */
static void run_logged(struct env *e, const char *yaml, int64_t n,
                       const char *log_path)
{
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);
    assert_int_equal(setenv("TEST_LOG", "debug", 1), 0);
    int rc = run_worker(e, yaml, n);
    unsetenv("TEST_LOG");
    fflush(stderr);
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    assert_int_equal(rc, 0);
}

/* How many lines of the file at path contain needle (a property's dump
 * line ends `name = value"` in herald's logfmt). */
static int count_containing(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, needle)) {
            n++;
        }
    }
    fclose(f);
    return n;
}

/* Starts a sink connector with kafka_block (a connector-level `kafka:`
 * line) and returns the path of its log. */
static const char *run_sink(struct env *e, const char *group,
                            const char *kafka_block)
{
    static char log_path[128];
    produce(e, group, 1, 3);
    char extra[256], yaml[2048];
    snprintf(extra, sizeof extra, "    kafka: { debug: conf%s }\n",
             kafka_block);
    config(yaml, sizeof yaml, e, group, group, "", "all", extra);
    snprintf(log_path, sizeof log_path, "%s/%s.log", e->dir, group);
    run_logged(e, yaml, 3, log_path);
    /* The consumer so configured took and committed every record. */
    int64_t off[1];
    committed(e, group, group, 1, off);
    assert_int_equal(off[0], 3);
    char path[128], want[64];
    snprintf(path, sizeof path, "%s/plugin.log", e->dir);
    for (int i = 0; i < 3; i++) {
        snprintf(want, sizeof want, "%s 0 %d OK", group, i);
        assert_int_equal(count_lines(path, want), 1);
    }
    return log_path;
}

/* A sink without prefetch settings gets herald's defaults, exactly. */
static void test_sink_defaults_reach_librdkafka(void **state)
{
    const char *log = run_sink(*state, "pd", "");
    assert_int_equal(count_containing(log, "fetch.queue.backoff.ms = 5\""), 1);
    assert_int_equal(
        count_containing(log, "queued.max.messages.kbytes = 2048\""), 1);
    assert_int_equal(count_containing(log, "queued.min.messages = "), 0);
}

/* The user's kafka: values replace herald's defaults. */
static void test_user_kafka_settings_win(void **state)
{
    const char *log =
        run_sink(*state, "pu",
                 ", fetch.queue.backoff.ms: 77, queued.max.messages.kbytes: "
                 "1234, queued.min.messages: 555");
    assert_int_equal(count_containing(log, "fetch.queue.backoff.ms = 77\""), 1);
    assert_int_equal(
        count_containing(log, "queued.max.messages.kbytes = 1234\""), 1);
    assert_int_equal(count_containing(log, "queued.min.messages = 555\""), 1);
    assert_int_equal(count_containing(log, "fetch.queue.backoff.ms = 5\""), 0);
    assert_int_equal(
        count_containing(log, "queued.max.messages.kbytes = 2048\""), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sink_defaults_reach_librdkafka,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_kafka_settings_win, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
