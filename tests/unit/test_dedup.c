/*
 * test_dedup.c - the dedup table on its own: keys expire by time, swept
 * on the loop without being looked up again (issue 10 item 4), and a mark
 * timestamp near INT64_MAX does not overflow ts + ttl (item 11).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "config.h"
#include "dedup.h"
#include "hmac.h"
#include "loop.h"

#define TEST_HASH_KEY "test-hash-key-0123456789"

static int64_t wall_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A dedup stage (not started: no Kafka) from a `dedup:` YAML map. */
static struct herald__dedup *make(const char *yaml, struct herald__loop *loop,
                                  struct herald__hash_key *hk,
                                  struct herald__node **root)
{
    struct herald__diag d;
    herald__diag_init(&d);
    *root = herald__config_load_string("d.yaml", yaml, strlen(yaml), &d);
    assert_non_null(*root);
    struct herald__dedup *dd = herald__dedup_new(
        herald__node_get(*root, "dedup"), 0, "g", hk, loop, &d);
    for (size_t i = 0; i < d.n; i++) {
        print_error("%s\n", d.msgs[i]);
    }
    assert_int_equal(d.n, 0);
    herald__diag_cleanup(&d);
    assert_non_null(dd);
    return dd;
}

/* Keys that never come back leave the table when their TTL is over: the
 * loop's sweep drops them, no lookup needed. Pending keys stay. */
static void test_sweep_drops_expired_keys(void **state)
{
    (void)state;
    struct herald__hash_key *hk =
        herald__hash_key_from(TEST_HASH_KEY, strlen(TEST_HASH_KEY));
    struct herald__loop *loop = herald__loop_new();
    struct herald__node *root;
    struct herald__dedup *dd = make("dedup: { ttl: 300ms }\n", loop, hk, &root);
    char key[32];

    assert_int_equal(herald__dedup_sweep_ms(dd), 100);
    int64_t now = wall_now();
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "t-0-%d", i);
        herald__dedup_set_marked(dd, key, now);
    }
    herald__dedup_set_pending(dd, "in-flight");
    assert_int_equal(herald__dedup_size(dd), 1001);
    /* Run the loop for a little over the TTL and a sweep period. */
    int64_t until = wall_now() + 600;
    while (wall_now() < until) {
        herald__loop_run_once(loop, 0);
        struct timespec ms = {0, 5 * 1000 * 1000};
        nanosleep(&ms, NULL);
    }
    assert_int_equal(herald__dedup_size(dd), 1);
    assert_int_equal(herald__dedup_state(dd, "in-flight", wall_now()),
                     HERALD__DEDUP_PENDING);

    herald__dedup_destroy(dd);
    herald__config_destroy(root);
    herald__loop_destroy(loop);
    herald__hash_key_destroy(hk);
}

/* herald__dedup_expire by itself: exactly the marks older than the TTL. A
 * mark whose timestamp is near INT64_MAX (a hostile or broken producer of
 * the marks topic sets it) saturates instead of overflowing ts + ttl. */
static void test_expire_and_saturation(void **state)
{
    (void)state;
    struct herald__hash_key *hk =
        herald__hash_key_from(TEST_HASH_KEY, strlen(TEST_HASH_KEY));
    struct herald__node *root;
    struct herald__dedup *dd = make("dedup: { ttl: 7d }\n", NULL, hk, &root);
    const int64_t ttl = 7LL * 24 * 3600 * 1000;

    assert_int_equal(herald__dedup_sweep_ms(dd), 60000);
    herald__dedup_set_marked(dd, "old", 1000);
    herald__dedup_set_marked(dd, "edge", 2000);
    herald__dedup_set_marked(dd, "future", INT64_MAX - 1);
    herald__dedup_set_marked(dd, "max", INT64_MAX);
    assert_int_equal(herald__dedup_expire(dd, 2000 + ttl), 1); /* old */
    assert_int_equal(herald__dedup_state(dd, "edge", 2000 + ttl),
                     HERALD__DEDUP_SEEN);
    assert_int_equal(herald__dedup_expire(dd, INT64_MAX), 1); /* edge */
    assert_int_equal(herald__dedup_size(dd), 2);
    assert_int_equal(herald__dedup_state(dd, "max", INT64_MAX),
                     HERALD__DEDUP_SEEN);
    assert_int_equal(herald__dedup_state(dd, "future", INT64_MAX),
                     HERALD__DEDUP_SEEN);
    herald__dedup_destroy(dd);
    herald__config_destroy(root);
    herald__hash_key_destroy(hk);
}

/* A sink connector's dedup key is the HMAC of the rendered key, never the
 * key; without a hash_key dedup does not load. */
static void test_key_is_keyed(void **state)
{
    (void)state;
    struct herald__diag d;
    struct herald__node *root;
    const char *yaml = "dedup: { key: \"{{@key}}\" }\n";

    herald__diag_init(&d);
    root = herald__config_load_string("d.yaml", yaml, strlen(yaml), &d);
    assert_null(herald__dedup_new(herald__node_get(root, "dedup"), 0, "g", NULL,
                                  NULL, &d));
    assert_int_equal(d.n, 1);
    assert_string_equal(
        d.msgs[0], "d.yaml:1:8: dedup needs the top-level 'hash_key' (a "
                   "secret of at least 16 bytes, e.g. "
                   "${file:/run/secrets/herald_hash_key}): marks are keyed "
                   "by a keyed hash of the dedup key, never the key itself");
    herald__diag_cleanup(&d);
    herald__config_destroy(root);
}

/* The hash_key option: at least 16 bytes, not a map; errors at its
 * position and without its value. */
static void test_hash_key_option(void **state)
{
    (void)state;
    struct herald__diag d;
    const char *yaml = "short: abcdefghijklmno\n"
                       "map: { a: 1 }\n"
                       "ok: abcdefghijklmnop\n";

    herald__diag_init(&d);
    struct herald__node *root =
        herald__config_load_string("k.yaml", yaml, strlen(yaml), &d);
    char hex[HERALD__HMAC_HEX_SIZE];
    struct herald__hash_key *k =
        herald__hash_key_new(herald__node_get(root, "short"), &d);
    assert_non_null(k); /* refused: it never hashes */
    assert_int_equal(herald__hmac_hex(k, "x", 1, hex), -1);
    assert_string_equal(hex, "");
    herald__hash_key_destroy(k);
    herald__hash_key_destroy(
        herald__hash_key_new(herald__node_get(root, "map"), &d));
    assert_null(herald__hash_key_new(NULL, &d));
    k = herald__hash_key_new(herald__node_get(root, "ok"), &d);
    assert_non_null(k);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.msgs[0],
                        "k.yaml:1:8: 'short' expects a string of at least 16 "
                        "bytes (e.g. ${file:/run/secrets/herald_hash_key} "
                        "holding the output of `openssl rand -hex 32`); got "
                        "15 bytes");
    assert_string_equal(d.msgs[1],
                        "k.yaml:2:6: 'map' expects a string of at least 16 "
                        "bytes (e.g. ${file:/run/secrets/herald_hash_key} "
                        "holding the output of `openssl rand -hex 32`); got "
                        "a map");
    /* Python's hmac.new(b"abcdefghijklmnop", b"x", sha256) */
    assert_int_equal(herald__hmac_hex(k, "x", 1, hex), 0);
    assert_string_equal(hex, "9603b0d54e6c18a6f1ee728a258fed8e"
                             "717895fe5e2b63dea699149b2d49e7a2");
    assert_int_equal(herald__hmac_is_hex(hex), 1);
    assert_int_equal(herald__hmac_is_hex("kb"), 0);
    herald__hash_key_destroy(k);
    /* RFC 4231 test case 1: key 20 x 0x0b, data "Hi There". */
    unsigned char k20[20];
    memset(k20, 0x0b, sizeof k20);
    k = herald__hash_key_from(k20, sizeof k20);
    assert_non_null(k);
    assert_int_equal(herald__hmac_hex(k, "Hi There", 8, hex), 0);
    assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b"
                             "881dc200c9833da726e9376c2e32cff7");
    herald__hash_key_destroy(k);
    assert_null(herald__hash_key_from(k20, 15));
    herald__diag_cleanup(&d);
    herald__config_destroy(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep_drops_expired_keys),
        cmocka_unit_test(test_expire_and_saturation),
        cmocka_unit_test(test_key_is_keyed),
        cmocka_unit_test(test_hash_key_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
