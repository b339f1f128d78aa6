/*
 * test_null_shape.c - the null sink's shape learner (null_shape.c): the
 * member steps and nesting it reads from record_json text, how arrays
 * generalize, and what it refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "null_shape.h"

static int learn(const char *json, struct null_shape **k, struct null_shape **v)
{
    return null_shape_learn(json, strlen(json), k, v);
}

static void test_record(void **state)
{
    struct null_shape *k = NULL, *v = NULL;
    const char *json =
        "{\"topic\":\"t\",\"partition\":0,\"offset\":5,\"timestamp\":null,"
        "\"key\":\"4000\",\"window\":{\"start\":1,\"end\":null},"
        "\"headers\":{},\"value\":{\"a\":1,\"b.c\":[\"x\",{\"d\":true}],"
        "\"e\\u00e9\":{\"f\":[]} , \"g\" : \"s\\\"}\"}}";

    (void)state;
    assert_int_equal(learn(json, &k, &v), 0);
    assert_int_equal(k->kind, NULL_SHAPE_SCALAR);
    assert_int_equal(v->kind, NULL_SHAPE_OBJECT);
    assert_int_equal(v->n, 4);
    assert_string_equal(v->steps[0], ".a");
    assert_int_equal(v->kids[0]->kind, NULL_SHAPE_SCALAR);
    assert_string_equal(v->steps[1], "[\"b.c\"]");
    assert_int_equal(v->kids[1]->kind, NULL_SHAPE_ARRAY);
    assert_int_equal(v->kids[1]->n, 2);
    assert_int_equal(null_shape_item(v->kids[1], 0)->kind, NULL_SHAPE_SCALAR);
    /* Past the last item seen: the last one's shape. */
    assert_int_equal(null_shape_item(v->kids[1], 1)->kind, NULL_SHAPE_OBJECT);
    assert_ptr_equal(null_shape_item(v->kids[1], 7), v->kids[1]->kids[1]);
    assert_string_equal(v->kids[1]->kids[1]->steps[0], ".d");
    assert_string_equal(v->steps[2], ".e\xc3\xa9");
    assert_int_equal(v->kids[2]->kids[0]->kind, NULL_SHAPE_ARRAY);
    assert_null(null_shape_item(v->kids[2]->kids[0], 0));
    assert_string_equal(v->steps[3], ".g");
    null_shape_free(k);
    null_shape_free(v);
}

static void test_refused(void **state)
{
    struct null_shape *k = NULL, *v = NULL;
    static const char *const bad[] = {
        "",
        "[1]",
        "{\"value\":{\"a\":1}",
        "{\"value\":{\"a\" 1}}",
        "{\"value\":{\"a\":1}} x",
        /* No path step reaches an empty name or a quote in a bracketed
         * one. */
        "{\"value\":{\"\":1}}",
        "{\"value\":{\"a.\\\"\":1}}",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(learn(bad[i], &k, &v), -1);
        assert_null(k);
        assert_null(v);
    }
    /* Absent members read as scalars. */
    assert_int_equal(learn("{\"topic\":\"t\"}", &k, &v), 0);
    assert_int_equal(k->kind, NULL_SHAPE_SCALAR);
    assert_int_equal(v->kind, NULL_SHAPE_SCALAR);
    null_shape_free(k);
    null_shape_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
