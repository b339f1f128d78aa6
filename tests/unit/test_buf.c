/*
 * test_buf.c - unit tests of the shared growable buffer (buf.c): exact
 * content and length across growth, printf, take/cleanup, and the sticky
 * failure flag.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void test_append_and_grow(void **state)
{
    struct herald__buf b = HERALD__BUF_INIT;
    char *s;

    (void)state;
    herald__buf_puts(&b, "unknown key '");
    herald__buf_add(&b, "tpoicsXX", 6);
    herald__buf_putc(&b, '\'');
    herald__buf_add(&b, NULL, 0);
    assert_int_equal(b.len, 20);
    assert_string_equal(b.p, "unknown key 'tpoics'");
    /* Past the first allocation, many times over. */
    for (int i = 0; i < 1000; i++) {
        herald__buf_printf(&b, ",%d", i);
    }
    assert_int_equal(b.len, strlen(b.p));
    assert_true(b.cap > b.len);
    assert_memory_equal(b.p + b.len - 8, ",998,999", 8);
    assert_memory_equal(b.p + 20, ",0,1,2,", 7);
    s = herald__buf_take(&b);
    assert_non_null(s);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    assert_int_equal(strncmp(s, "unknown key 'tpoics',0,1,", 25), 0);
    free(s);
}

static void test_take_empty(void **state)
{
    struct herald__buf b = HERALD__BUF_INIT;
    char *s;

    (void)state;
    s = herald__buf_take(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
    herald__buf_cleanup(NULL);
    herald__buf_puts(&b, "x");
    herald__buf_cleanup(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
}

static void test_failed_is_sticky(void **state)
{
    struct herald__buf b = HERALD__BUF_INIT;

    (void)state;
    herald__buf_puts(&b, "kept");
    /* A size no allocator can give. */
    herald__buf_add(&b, "x", SIZE_MAX - 2);
    assert_int_equal(b.failed, 1);
    assert_string_equal(b.p, "kept");
    herald__buf_puts(&b, "more");
    herald__buf_printf(&b, "%d", 42);
    assert_int_equal(b.len, 4);
    assert_null(herald__buf_take(&b));
    assert_null(b.p);
    assert_int_equal(b.failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_grow),
        cmocka_unit_test(test_take_empty),
        cmocka_unit_test(test_failed_is_sticky),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
