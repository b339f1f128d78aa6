/*
 * test_channel.c - a channel that answers UNAVAILABLE (the channel failed,
 * not the record), on librdkafka's mock cluster with the test plugin: the
 * connector holds the records, probes one at a time, commits nothing past
 * them, rejects none, does not spend their retry budget, and delivers each
 * exactly once when the channel is back. Asserts the exact sequence of
 * deliveries the plugin saw and the exact offsets committed.
 */
#include "test_connector.h"

/* Probes quickly so the tests take a fraction of a second. */
#define FAST_PROBES "      channel_probe: { initial: 10ms, max: 40ms }\n"

/* The plugin's log, line by line, as one string ("a|b|c|"). */
static void read_log(const struct env *e, char *out, size_t len)
{
    char path[128], line[256];
    size_t used = 0;
    snprintf(path, sizeof path, "%s/plugin.log", e->dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    out[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        int n = snprintf(out + used, len - used, "%s|", line);
        assert_true(n > 0 && (size_t)n < len - used);
        used += (size_t)n;
    }
    fclose(f);
}

/* Produce per_part records to each of parts partitions of topic, run a
 * worker of group over it with the plugin answering by script (probing
 * fast) until stop_after records are final, and check it exits 0. */
static void run_script(struct env *e, const char *topic, const char *group,
                       int parts, int per_part, const char *script,
                       const char *tolerance, const char *extra,
                       int64_t stop_after)
{
    char yaml[2048];
    produce(e, topic, parts, per_part);
    config_errors(yaml, sizeof yaml, e, group, topic, script, tolerance, extra,
                  FAST_PROBES);
    assert_int_equal(run_worker(e, yaml, stop_after), 0);
}

/* One record at a time (max_in_flight 1), so the order is exact: 0..2 go
 * out, 3 finds the channel down and is held; the probes are 3 again and
 * again (nothing else is sent, nothing else is taken from Kafka), and
 * when a probe gets through every other record follows, once each. */
static void test_probes_one_record_then_resumes(void **state)
{
    struct env *e = *state;
    run_script(e, "c1", "gc1", 1, 8, "unavailable:*:6:3", "none",
               "    max_in_flight: 1\n", 8);

    char got[2048];
    read_log(e, got, sizeof got);
    assert_string_equal(got, "c1 0 0 OK|c1 0 1 OK|c1 0 2 OK|"
                             "c1 0 3 UNAVAILABLE|c1 0 3 UNAVAILABLE|"
                             "c1 0 3 UNAVAILABLE|c1 0 3 UNAVAILABLE|"
                             "c1 0 3 UNAVAILABLE|c1 0 3 UNAVAILABLE|"
                             "c1 0 3 OK|c1 0 4 OK|c1 0 5 OK|c1 0 6 OK|"
                             "c1 0 7 OK|");
    int64_t off[1];
    committed(e, "gc1", "c1", 1, off);
    assert_int_equal(off[0], 8);
}

/* Several partitions, batches in flight when the channel goes down: every
 * partition resumes, every record is delivered exactly once, none is
 * rejected, all is committed. */
static void test_every_partition_resumes(void **state)
{
    struct env *e = *state;
    run_script(e, "c2", "gc2", 3, 30, "unavailable:*:12:20", "none", "", 90);

    char path[128], want[64];
    snprintf(path, sizeof path, "%s/plugin.log", e->dir);
    int unavailable = 0;
    for (int p = 0; p < 3; p++) {
        for (int i = 0; i < 30; i++) {
            snprintf(want, sizeof want, "c2 %d %d OK", p, i);
            assert_int_equal(count_lines(path, want), 1);
            snprintf(want, sizeof want, "c2 %d %d REJECT", p, i);
            assert_int_equal(count_lines(path, want), 0);
            snprintf(want, sizeof want, "c2 %d %d UNAVAILABLE", p, i);
            unavailable += count_lines(path, want);
        }
    }
    assert_int_equal(unavailable, 12);
    int64_t off[3];
    committed(e, "gc2", "c2", 3, off);
    for (int p = 0; p < 3; p++) {
        assert_int_equal(off[p], 30);
    }
}

/* The channel stays down: with errors.tolerance none the connector does
 * not fail (exit 0 after the other records), commits exactly up to the
 * held record and rejects nothing, so the next run delivers it (a restart
 * of the same group waits ~45 s for the mock cluster's session timeout,
 * so that part is left to the restart tests of test_connector.c). The
 * held record is the last one: records behind it may still be in Kafka
 * when the partition pauses (they would wait there, and the run would
 * never reach its count). */
static void test_held_record_is_never_committed(void **state)
{
    struct env *e = *state;
    /* 19 records final: all but the held one */
    run_script(e, "c3", "gc3", 1, 20, "unavailable:offset==19:1000000", "none",
               "", 19);
    int64_t off[1];
    committed(e, "gc3", "c3", 1, off);
    assert_int_equal(off[0], 19);
    char path[128];
    snprintf(path, sizeof path, "%s/plugin.log", e->dir);
    assert_true(count_lines(path, "c3 0 19 UNAVAILABLE") >= 1);
    assert_int_equal(count_lines(path, "c3 0 19 OK"), 0);
    assert_int_equal(count_lines(path, "c3 0 19 REJECT"), 0);
    assert_int_equal(count_lines(path, "c3 0 18 OK"), 1);
}

/* Held time is not retry time: offset 0 answers RETRY, then the channel
 * is down for 30 probes (over 1 s with probes up to 40 ms), then RETRY
 * again: with errors.retry.timeout 1s it would be "retries exhausted" if
 * the wait counted; it is delivered instead. */
static void test_waiting_does_not_spend_retry_timeout(void **state)
{
    struct env *e = *state;
    run_script(e, "c4", "gc4", 1, 1,
               "unavailable:offset==0:30:1,retry:offset==0:2", "all", "", 1);
    char got[4096], want[4096] = "c4 0 0 RETRY|";
    for (int i = 0; i < 30; i++) {
        strcat(want, "c4 0 0 UNAVAILABLE|");
    }
    strcat(want, "c4 0 0 RETRY|c4 0 0 OK|");
    read_log(e, got, sizeof got);
    assert_string_equal(got, want);
    int64_t off[1];
    committed(e, "gc4", "c4", 1, off);
    assert_int_equal(off[0], 1);
}

/* errors.channel_probe is checked like every other option, with
 * file:line:col. */
static void test_probe_config_errors(void **state)
{
    struct env *e = *state;
    char yaml[2048], path[128], msg[512] = "";
    config_errors(yaml, sizeof yaml, e, "gc5", "c5", "", "none", "",
                  "      channel_probe: { initial: 2s, max: 1s, every: 3s }\n");
    snprintf(path, sizeof path, "%s/herald.yaml", e->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(yaml, f);
    fclose(f);
    FILE *diag = tmpfile();
    assert_non_null(diag);
    struct herald__worker_opts o = {.config_path = path,
                                    .bootstrap_override = e->bootstraps,
                                    .log_level = "warn"};
    assert_null(herald__worker_new(&o, diag));
    rewind(diag);
    char want[512];
    snprintf(want, sizeof want,
             "%s:20:46: unknown key 'every' (expected one of: initial, "
             "max)\n",
             path);
    assert_non_null(fgets(msg, sizeof msg, diag));
    assert_string_equal(msg, want);
    snprintf(want, sizeof want,
             "%s:20:22: errors.channel_probe: initial must be at least 1ms "
             "and max at least initial\n",
             path);
    assert_non_null(fgets(msg, sizeof msg, diag));
    assert_string_equal(msg, want);
    fclose(diag);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_probes_one_record_then_resumes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_partition_resumes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_held_record_is_never_committed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_waiting_does_not_spend_retry_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_config_errors, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
