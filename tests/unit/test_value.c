/*
 * test_value.c - unit tests of the arena and the compact value tree
 * (value.c): alignment, growth and reuse of the arena, the jansson bridges
 * both ways (a round trip gives back the same JSON text), path walking
 * with the record paths' syntax, the host API view and the size count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "value.h"

static const char DOC[] =
    "{\"card_number\":\"358579699410099\",\"n\":3,\"amt\":\"232.41\","
    "\"ok\":true,\"none\":null,\"r\":0.5,\"tx\":[\"a\",\"b\",{\"x\":-7}],"
    "\"odd.name\":{\"y\":1},\"\":{}}";

static void test_arena(void **state)
{
    struct herald__arena a = {0};
    unsigned char *p, *q, *r;
    size_t i;

    (void)state;
    p = herald__arena_alloc(&a, 3);
    q = herald__arena_alloc(&a, 1);
    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal((uintptr_t)p % 8, 0);
    assert_int_equal((uintptr_t)q % 8, 0);
    assert_int_equal(q - p, 8);
    assert_int_equal(a.bytes, 16);
    /* grow in place: q is the last allocation */
    memset(q, 'x', 1);
    r = herald__arena_grow(&a, q, 1, 100);
    assert_ptr_equal(r, q);
    assert_int_equal(a.bytes, 8 + 104);
    /* grow of an older block copies */
    memcpy(p, "ab", 3);
    r = herald__arena_grow(&a, p, 3, 50);
    assert_ptr_not_equal(r, p);
    assert_string_equal((char *)r, "ab");
    /* far more than one chunk: still usable, aligned, distinct */
    for (i = 0; i < 1000; i++) {
        char *s = herald__arena_strdup(&a, "0123456789", 10);
        assert_non_null(s);
        assert_string_equal(s, "0123456789");
    }
    p = herald__arena_alloc(&a, 100000);
    assert_non_null(p);
    memset(p, 0, 100000);
    herald__arena_reset(&a);
    assert_int_equal(a.bytes, 0);
    /* after a reset the kept (largest) chunk serves again */
    q = herald__arena_alloc(&a, 100000);
    assert_ptr_equal(q, p);
    herald__arena_free(&a);
    assert_null(a.head);
    herald__arena_free(&a);
}

static struct herald__val *load(struct herald__arena *a, const char *text)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    struct herald__val *v = herald__arena_alloc(a, sizeof *v);

    assert_non_null(j);
    assert_non_null(v);
    assert_int_equal(herald__val_from_json(j, a, v), 0);
    json_decref(j);
    return v;
}

static char *dump(const struct herald__val *v)
{
    json_t *j = herald__val_to_json(v);
    char *s;

    assert_non_null(j);
    s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    assert_non_null(s);
    return s;
}

static void test_round_trip(void **state)
{
    struct herald__arena a = {0};
    const char *texts[] = {DOC,
                           "[]",
                           "{}",
                           "\"\"",
                           "-9223372036854775808",
                           "1e+300",
                           "false",
                           "[[[[1]]],{\"k\":[null]}]"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        json_t *j =
            json_loads(texts[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        char *got = dump(load(&a, texts[i]));
        assert_string_equal(got, want);
        free(got);
        free(want);
        json_decref(j);
    }
    /* a member name with a NUL inside (jansson's parser refuses one, but
     * a tree built in code, like the Avro decoder's, may hold it) */
    {
        json_t *o = json_object();
        struct herald__val v;
        char *got;
        assert_int_equal(json_object_setn_new(o, "a\0b", 3, json_true()), 0);
        assert_int_equal(herald__val_from_json(o, &a, &v), 0);
        assert_int_equal(v.u.members[0].name_len, 3);
        got = dump(&v);
        assert_string_equal(got, "{\"a\\u0000b\":true}");
        free(got);
        json_decref(o);
    }
    herald__arena_free(&a);
}

static const struct herald__val *at(const struct herald__val *root,
                                    const char *path)
{
    const struct herald__val *out = root;

    assert_int_equal(herald__val_walk(root, path, 1, &out), 0);
    return out;
}

static void test_walk(void **state)
{
    struct herald__arena a = {0};
    const struct herald__val *root, *v;
    const char *bad[] = {
        "a..b",  "tx[", "tx[x]", "tx[1",
        "[\"x]", ".x",  "a]",    "tx[99999999999999999999999]"};
    char long_name[300];
    size_t i;

    (void)state;
    root = load(&a, DOC);
    v = at(root, "card_number");
    assert_int_equal(v->type, HERALD__V_STR);
    assert_int_equal(v->n, 15);
    assert_string_equal(v->u.s, "358579699410099");
    assert_int_equal(at(root, "n")->u.i, 3);
    assert_int_equal(at(root, "tx[2].x")->u.i, -7);
    assert_string_equal(at(root, "tx[1]")->u.s, "b");
    assert_int_equal(at(root, "[\"odd.name\"].y")->u.i, 1);
    assert_int_equal(at(root, "[\"\"]")->type, HERALD__V_OBJ);
    assert_int_equal(at(root, "none")->type, HERALD__V_NULL);
    assert_null(at(root, "tx[3]"));
    assert_null(at(root, "missing.deeper[2]"));
    assert_null(at(root, "n.x"));
    assert_null(at(root, "odd"));
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const struct herald__val *out;
        if (herald__val_walk(root, bad[i], 1, &out) != -1) {
            fail_msg("path '%s' should be malformed", bad[i]);
        }
    }
    /* 254 bytes is the longest name; 255 is malformed */
    memset(long_name, 'a', 254);
    long_name[254] = '\0';
    assert_null(at(root, long_name));
    long_name[254] = 'a';
    long_name[255] = '\0';
    assert_int_equal(herald__val_walk(root, long_name, 1, &v), -1);
    /* not first: a leading name needs its dot */
    assert_int_equal(herald__val_walk(root, "n", 0, &v), -1);
    assert_int_equal(herald__val_walk(root, ".n", 0, &v), 0);
    assert_int_equal(v->u.i, 3);
    herald__arena_free(&a);
}

static void test_fill_and_size(void **state)
{
    struct herald__arena a = {0};
    const struct herald__val *root;
    struct herald_value hv;
    uint64_t nodes = 0, bytes = 0;

    (void)state;
    root = load(&a, DOC);
    herald__val_fill(at(root, "amt"), &hv);
    assert_int_equal(hv.type, HERALD_VALUE_STRING);
    assert_int_equal(hv.len, 6);
    assert_string_equal(hv.str, "232.41");
    herald__val_fill(at(root, "tx"), &hv);
    assert_int_equal(hv.type, HERALD_VALUE_ARRAY);
    assert_int_equal(hv.count, 3);
    herald__val_fill(root, &hv);
    assert_int_equal(hv.type, HERALD_VALUE_OBJECT);
    assert_int_equal(hv.count, 9);
    herald__val_fill(at(root, "ok"), &hv);
    assert_int_equal(hv.type, HERALD_VALUE_BOOL);
    assert_int_equal(hv.boolean, 1);
    herald__val_fill(at(root, "r"), &hv);
    assert_int_equal(hv.type, HERALD_VALUE_DOUBLE);
    assert_true(hv.real == 0.5);
    herald__val_fill(at(root, "none"), &hv);
    assert_int_equal(hv.type, HERALD_VALUE_NULL);
    herald__val_fill(NULL, &hv);
    assert_int_equal(hv.type, HERALD_VALUE_MISSING);

    /* nodes: root, 8 scalars/containers, 3 tx items and x, y: 1 + 9 + 4 + 1
     * bytes: names 11+1+3+2+4+1+2+8+0 + x, y = 34, strings 15+6+1+1 = 23 */
    herald__val_size(root, &nodes, &bytes);
    assert_int_equal(nodes, 15);
    assert_int_equal(bytes, 57);
    herald__arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_walk),
        cmocka_unit_test(test_fill_and_size),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
