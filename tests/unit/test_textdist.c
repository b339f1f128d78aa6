/*
 * test_textdist.c - unit tests of the shared "did you mean" (textdist.c):
 * exact edit distances, the suggestion rule (edits, prefix, ties, the
 * short-name guard) and names past the length limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "textdist.h"

static void test_distance(void **state)
{
    char long_name[HERALD__TEXTDIST_MAX_LEN + 2];

    (void)state;
    assert_int_equal(herald__textdist("", ""), 0);
    assert_int_equal(herald__textdist("abc", ""), 3);
    assert_int_equal(herald__textdist("", "abc"), 3);
    assert_int_equal(herald__textdist("topics", "topics"), 0);
    assert_int_equal(herald__textdist("tpoics", "topics"), 2);
    assert_int_equal(herald__textdist("kitten", "sitting"), 3);
    assert_int_equal(herald__textdist("urll", "url"), 1);
    assert_int_equal(herald__textdist("flaw", "lawn"), 2);

    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0'; /* MAX_LEN + 1 characters */
    assert_true(herald__textdist(long_name, "a") == SIZE_MAX);
    long_name[HERALD__TEXTDIST_MAX_LEN] = '\0'; /* exactly MAX_LEN */
    assert_int_equal(herald__textdist(long_name, long_name), 0);
}

static const char *const keys[] = {
    "name",   "topics",        "group_id",        "batch",
    "errors", "max_in_flight", "skip_tombstones", NULL};

static void test_suggest_rule(void **state)
{
    (void)state;
    /* Within two edits. */
    assert_string_equal(herald__suggest_from("nmae", keys), "name");
    assert_string_equal(herald__suggest_from("tpoics", keys), "topics");
    assert_string_equal(herald__suggest_from("bach", keys), "batch");
    /* Prefix of at least three characters, when no edit match. */
    assert_string_equal(herald__suggest_from("group", keys), "group_id");
    assert_string_equal(herald__suggest_from("max_in", keys), "max_in_flight");
    /* Nothing close. */
    assert_null(herald__suggest_from("zzz", keys));
    assert_null(herald__suggest_from("gr", keys));
    /* A one-letter name is not "one edit" from another one-letter name. */
    {
        static const char *const one[] = {"y", "ab", NULL};

        assert_null(herald__suggest_from("x", one));
    }
    /* The key itself is never suggested; NULL and empty lists are fine. */
    {
        static const char *const same[] = {"url", NULL};

        assert_null(herald__suggest_from("url", same));
    }
    assert_null(herald__suggest_from("url", NULL));
}

static void test_suggest_order(void **state)
{
    struct herald__suggest s;

    (void)state;
    /* An edit match beats an earlier prefix match. */
    herald__suggest_init(&s, "errorsx");
    assert_int_equal(herald__suggest_offer(&s, "errorsxyzzy"), 1);
    assert_string_equal(herald__suggest_best(&s), "errorsxyzzy");
    assert_int_equal(herald__suggest_offer(&s, "errors"), 1);
    assert_string_equal(herald__suggest_best(&s), "errors");
    /* A closer one replaces it; an equally close later one does not. */
    herald__suggest_init(&s, "hots");
    assert_int_equal(herald__suggest_offer(&s, "hxtx"), 1); /* 2 edits */
    assert_int_equal(herald__suggest_offer(&s, "host"), 0); /* 2 edits */
    assert_int_equal(herald__suggest_offer(&s, "hot"), 1);  /* 1 edit */
    assert_string_equal(herald__suggest_best(&s), "hot");
    assert_int_equal(herald__suggest_offer(&s, "zzzzzz"), 0);
    assert_string_equal(herald__suggest_best(&s), "hot");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance),
        cmocka_unit_test(test_suggest_rule),
        cmocka_unit_test(test_suggest_order),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
