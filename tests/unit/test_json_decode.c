/*
 * test_json_decode.c - unit tests of the `json` format's yyjson decoder
 * (json_decode.c) against the jansson decoder it replaces: a corpus of
 * valid, invalid and edge inputs must be accepted or rejected alike, with
 * the same charge to the budget, and what is accepted must give the same
 * JSON text; some answers are also pinned here (so both cannot drift
 * together), as are the error messages. A second decode of a document
 * into a reset arena must not call malloc.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_decode.h"

/* ---- counting malloc (not under a sanitizer, which owns malloc) ------ */

#if defined(__SANITIZE_ADDRESS__)
#define COUNT_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNT_MALLOC 0
#endif
#endif
#ifndef COUNT_MALLOC
#define COUNT_MALLOC 1
#endif

#if COUNT_MALLOC
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static unsigned long mallocs;

void *malloc(size_t n)
{
    mallocs++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    mallocs++;
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    mallocs++;
    return __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}
#endif

/* ---- the corpus -------------------------------------------------------- */

enum { REJECT, ACCEPT };

struct sample {
    const char *text;
    size_t len;
    int expect;
    const char *dump; /* what jansson dumps when accepted, or NULL */
};

#define S(lit, expect, dump)                                                   \
    {                                                                          \
        lit, sizeof(lit) - 1, expect, dump                                     \
    }

static const struct sample corpus[] = {
    S("{\"a\":1,\"b\":[true,false,null],\"c\":\"x\"}", ACCEPT,
      "{\"a\":1,\"b\":[true,false,null],\"c\":\"x\"}"),
    S("  [ 1 , 2.5 , -3 , \"\" ]\r\n\t", ACCEPT, "[1,2.5,-3,\"\"]"),
    S("42", ACCEPT, "42"),
    S("\"str\"", ACCEPT, "\"str\""),
    S("null", ACCEPT, "null"),
    S("true", ACCEPT, "true"),
    S("-0", ACCEPT, "0"),
    S("-0.0", ACCEPT, "-0.0"),
    S("0e0", ACCEPT, "0.0"),
    S("1E+2", ACCEPT, "100.0"),
    S("1e-400", ACCEPT, "0.0"),
    S("4.9e-324", ACCEPT, NULL),
    S("0.1", ACCEPT, "0.10000000000000001"),
    S("1.7976931348623157e308", ACCEPT, NULL),
    S("123456789012345678901234567890.5", ACCEPT, NULL),
    S("9223372036854775807", ACCEPT, "9223372036854775807"),
    S("-9223372036854775808", ACCEPT, "-9223372036854775808"),
    S("9223372036854775808", REJECT, NULL),
    S("18446744073709551615", REJECT, NULL),
    S("18446744073709551616", REJECT, NULL),
    S("-9223372036854775809", REJECT, NULL),
    S("100000000000000000000000000000000000000", REJECT, NULL),
    S("1e400", REJECT, NULL),
    S("-1e400", REJECT, NULL),
    S("[1.8e308]", REJECT, NULL),
    S("{\"a\":1,\"b\":2,\"a\":3}", ACCEPT, "{\"a\":3,\"b\":2}"),
    S("{\"a\":{\"x\":1},\"a\":[2]}", ACCEPT, "{\"a\":[2]}"),
    S("{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,"
      "\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12,"
      "\"k13\":13,\"k14\":14,\"k15\":15,\"k16\":16,\"k3\":33,\"k16\":66}",
      ACCEPT,
      "{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":33,\"k4\":4,\"k5\":5,\"k6\":6,"
      "\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12,"
      "\"k13\":13,\"k14\":14,\"k15\":15,\"k16\":66}"),
    S("\"a\\u0000b\"", ACCEPT, "\"a\\u0000b\""),
    S("{\"a\\u0000\":1}", REJECT, NULL),
    S("{\"\":1}", ACCEPT, "{\"\":1}"),
    S("\"\\ud83d\\ude00\"", ACCEPT, NULL),
    /* escapes and unterminated strings, for the budget's scan */
    S("[\"a\\\\\",\"b\\\"c\"]", ACCEPT, "[\"a\\\\\",\"b\\\"c\"]"),
    S("[\"x\\\\\\\"\",\"\\\\\\\\\"]", ACCEPT, NULL),
    S("\"abc\\", REJECT, NULL),
    S("\"ab\\\\", REJECT, NULL),
    S("[\"a\", \"b", REJECT, NULL),
    S("\"\\\"", REJECT, NULL),
    S("\"\\\"\\", REJECT, NULL),
    S("\"\\ud800\"", REJECT, NULL),
    S("\"\\udc00\"", REJECT, NULL),
    S("\"\\ud800\\u0041\"", REJECT, NULL),
    S("\"\xc3\xa9\"", ACCEPT, NULL),
    S("\"\xff\"", REJECT, NULL),
    S("\"\xc3\"", REJECT, NULL),
    S("\"\xc0\xaf\"", REJECT, NULL),
    S("\"\xed\xa0\x80\"", REJECT, NULL),
    S("\"\xf4\x90\x80\x80\"", REJECT, NULL),
    S("\"\x01\"", REJECT, NULL),
    S("\"a\0b\"", REJECT, NULL),
    /* jansson lost a NUL that ends a number or a literal (and only
     * that one): kept so, byte for byte. */
    S("1\0", ACCEPT, "1"),
    S("[1\0,-2.5e3\0,true\0,null\0]", ACCEPT, "[1,-2500.0,true,null]"),
    S("{\"a\":false\0}", ACCEPT, "{\"a\":false}"),
    S("1\0\0", REJECT, NULL),
    S("[9223\0"
      "3720360]",
      REJECT, NULL),
    S("[tr\0ue]", REJECT, NULL),
    S("[1.5\0 ]", ACCEPT, "[1.5]"),
    S("1\0x", REJECT, NULL),
    S("\"1\"\0", REJECT, NULL),
    S("[1,\0 2]", REJECT, NULL),
    S("[\"a\\\"1\0\"]", REJECT, NULL),
    S("\xef\xbb\xbf{}", REJECT, NULL),
    S("", REJECT, NULL),
    S("   ", REJECT, NULL),
    S("[1,2,]", REJECT, NULL),
    S("{\"a\":1,}", REJECT, NULL),
    S("NaN", REJECT, NULL),
    S("[Infinity]", REJECT, NULL),
    S("[1] x", REJECT, NULL),
    S("[1] [2]", REJECT, NULL),
    S("01", REJECT, NULL),
    S("1.", REJECT, NULL),
    S(".5", REJECT, NULL),
    S("+1", REJECT, NULL),
    S("[1 2]", REJECT, NULL),
    S("{\"a\" 1}", REJECT, NULL),
    S("{1:2}", REJECT, NULL),
    S("'a'", REJECT, NULL),
    S("[\"a\\x\"]", REJECT, NULL),
    S("/* c */ 1", REJECT, NULL),
    S("{\"a\":", REJECT, NULL),
    S("[", REJECT, NULL),
    S("tru", REJECT, NULL),
    S("nul", REJECT, NULL),
    /* The Confluent JSON Schema frame is skipped... */
    S("\0\0\0\0\x01{\"a\":1}", ACCEPT, "{\"a\":1}"),
    /* ...only when 5 bytes can be skipped. */
    S("\0\0\0\0", REJECT, NULL),
};

static char *dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Whether v has as many values and string bytes as the jansson tree j. */
static int same_size(const struct herald__val *v, const json_t *j)
{
    struct herald__arena a = {0};
    struct herald__val copy;
    uint64_t vn = 0, vb = 0, jn = 0, jb = 0;

    assert_int_equal(herald__val_from_json(j, &a, &copy), 0);
    herald__val_size(v, &vn, &vb);
    herald__val_size(&copy, &jn, &jb);
    herald__arena_free(&a);
    return vn == jn && vb == jb;
}

/* Decodes text both ways and checks they agree; returns the arena
 * decoder's verdict and leaves its message in err. */
static int differ(struct herald__json_parser *p, const char *text, size_t len,
                  const char *want_dump, char *err, size_t errlen)
{
    struct herald__decode_budget bj, ba;
    struct herald__arena a = {0};
    struct herald__val v;
    char jerr[256];
    json_t *ref = NULL;
    int rj, ra;

    herald__decode_budget_init(&bj, len, 0, 0);
    herald__decode_budget_init(&ba, len, 0, 0);
    rj = herald__json_decode_jansson(text, len, &bj, &ref, jerr, sizeof jerr);
    ra = herald__json_decode_arena(p, text, len, &ba, &a, &v, err, errlen);
    if (rj != ra) {
        fail_msg("%.*s: jansson %d (%s), arena %d (%s)",
                 len > 60 ? 60 : (int)len, text, rj, rj ? jerr : "", ra,
                 ra ? err : "");
    }
    assert_int_equal(bj.nodes, ba.nodes);
    assert_int_equal(bj.bytes, ba.bytes);
    if (rj == 0) {
        json_t *mine = herald__val_to_json(&v);
        char *a_text = dump(mine);
        char *j_text = dump(ref);

        assert_non_null(a_text);
        assert_non_null(j_text);
        assert_string_equal(a_text, j_text);
        /* The text cannot show a repeated name (jansson's dump keeps
         * one), the sizes can. */
        assert_true(same_size(&v, ref));
        if (want_dump) {
            assert_string_equal(a_text, want_dump);
        }
        free(a_text);
        free(j_text);
        json_decref(mine);
    } else {
        assert_int_equal(v.type, HERALD__V_NULL);
        /* the same words as jansson: what herald has always logged */
        assert_string_equal(err, jerr);
    }
    json_decref(ref);
    herald__arena_free(&a);
    return ra;
}

static void test_corpus(void **state)
{
    struct herald__json_parser p = {0};
    char err[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof corpus / sizeof *corpus; i++) {
        const struct sample *s = &corpus[i];
        int rc = differ(&p, s->text, s->len, s->dump, err, sizeof err);
        if ((rc == 0) != (s->expect == ACCEPT)) {
            fail_msg("sample %zu (%.*s): expected %s", i, (int)s->len, s->text,
                     s->expect == ACCEPT ? "accept" : "reject");
        }
    }
    herald__json_parser_cleanup(&p);
}

/* text of n nested arrays (or objects) around inner. */
static char *nest(size_t n, int objects, const char *inner)
{
    size_t in = strlen(inner);
    size_t per = objects ? 5 : 1; /* {"a": */
    char *s = malloc(n * (per + 1) + in + 1);
    size_t i, o = 0;

    assert_non_null(s);
    for (i = 0; i < n; i++) {
        memcpy(s + o, objects ? "{\"a\":" : "[", per);
        o += per;
    }
    memcpy(s + o, inner, in);
    o += in;
    for (i = 0; i < n; i++) {
        s[o++] = objects ? '}' : ']';
    }
    s[o] = '\0';
    return s;
}

static void test_depth(void **state)
{
    static const size_t depths[] = {2046, 2047, 2048, 2049, 2050, 5000};
    static const char *const inners[] = {"", "1", "[]", "{}"};
    struct herald__json_parser p = {0};
    char err[256];
    size_t d, k, o;

    (void)state;
    for (o = 0; o < 2; o++) {
        for (d = 0; d < sizeof depths / sizeof *depths; d++) {
            for (k = 0; k < sizeof inners / sizeof *inners; k++) {
                char *s;
                if (o && !*inners[k]) {
                    continue; /* {"a":} is not JSON either way */
                }
                s = nest(depths[d], (int)o, inners[k]);
                differ(&p, s, strlen(s), NULL, err, sizeof err);
                free(s);
            }
        }
    }
    /* The limit itself, pinned: 2048 levels of values are fine, 2049 are
     * not, whether the deepest is a container or not. */
    {
        char *ok = nest(2047, 0, "1");
        char *deep = nest(2048, 0, "1");
        assert_int_equal(differ(&p, ok, strlen(ok), NULL, err, sizeof err), 0);
        assert_int_equal(differ(&p, deep, strlen(deep), NULL, err, sizeof err),
                         -1);
        assert_string_equal(err, "invalid JSON at line 1 col 2049: maximum "
                                 "parsing depth reached near '1'");
        free(ok);
        free(deep);
    }
    herald__json_parser_cleanup(&p);
}

/* A large object (the repeated-name table) and many strings. */
static void test_large(void **state)
{
    struct herald__json_parser p = {0};
    size_t cap = 1 << 20, o = 0, i;
    char *s = malloc(cap);
    char err[256];

    (void)state;
    assert_non_null(s);
    s[o++] = '{';
    for (i = 0; i < 5000; i++) {
        o += (size_t)snprintf(s + o, cap - o, "%s\"key%zu\":[%zu,\"v\\n%zu\"]",
                              i ? "," : "", i % 3001, i, i);
    }
    s[o++] = '}';
    assert_int_equal(differ(&p, s, o, NULL, err, sizeof err), 0);
    free(s);
    herald__json_parser_cleanup(&p);
}

static void test_messages(void **state)
{
    static const struct {
        const char *text;
        const char *err;
    } cases[] = {
        {"[1,2,]", "invalid JSON at line 1 col 6: unexpected token near "
                   "']'"},
        {"{\"a\":1}\n x",
         "invalid JSON at line 2 col 2: end of file expected near 'x'"},
        {"[1e400]", "invalid JSON at line 1 col 6: real number overflow near "
                    "'1e400'"},
        {"[\n-99999999999999999999]",
         "invalid JSON at line 2 col 21: too big negative integer"},
        {"[18446744073709551615]",
         "invalid JSON at line 1 col 21: too big integer near "
         "'18446744073709551615'"},
        {"{\"a\\u0000\":1}", "invalid JSON at line 1 col 10: NUL byte in "
                             "object key not supported near "
                             "'\"a\\u0000\"'"},
    };
    struct herald__json_parser p = {0};
    char err[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(differ(&p, cases[i].text, strlen(cases[i].text), NULL,
                                err, sizeof err),
                         -1);
        assert_string_equal(err, cases[i].err);
    }
    herald__json_parser_cleanup(&p);
}

/* The budget: exceeded before parsing, with decode_budget's words. */
static void test_budget(void **state)
{
    static const char doc[] = "[1,2,3,4,5]";
    struct herald__json_parser p = {0};
    struct herald__decode_budget b;
    struct herald__arena a = {0};
    struct herald__val v;
    char err[512];

    (void)state;
    herald__decode_budget_init(&b, sizeof doc - 1, 5, 0);
    assert_int_equal(herald__json_decode_arena(&p, doc, sizeof doc - 1, &b, &a,
                                               &v, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "decoded output would exceed its budget of "
                                "5 values"));
    assert_int_equal(b.nodes, 0);
    assert_null(a.head);
    herald__decode_budget_init(&b, sizeof doc - 1, 6, 0);
    assert_int_equal(herald__json_decode_arena(&p, doc, sizeof doc - 1, &b, &a,
                                               &v, err, sizeof err),
                     0);
    assert_int_equal(b.nodes, 6);
    herald__arena_free(&a);
    herald__json_parser_cleanup(&p);
}

/* Second decode of a document into the reset arena: no malloc, the same
 * arena chunk and the same scratch region. */
static void test_steady_state(void **state)
{
    static const char *const docs[] = {
        "{\"card_number\":\"4000000000039595\",\"email_address\":"
        "\"user5@example.com\",\"n_attempts\":4,\"total_amount\":\"105.05\","
        "\"tx_ids\":[\"00000005-0000-4000-8000-000000000000\","
        "\"00000005-0000-4000-8000-000000000001\"],\"start_boundary\":"
        "1587525720000,\"end_boundary\":1587525750000}",
        /* dense: more values than the region's first guess holds */
        "[1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,"
        "4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,"
        "7,8,9,0,1,2,3,4,5,6,7,8,9,0,1,2,3,4,5,6,7,8,9,0,[],[],[],[],[],[]]",
        /* a large object: the repeated-name table lives in the scratch */
        "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,"
        "\"i\":9,\"j\":10,\"k\":11,\"l\":12,\"m\":13,\"n\":14,\"o\":15,"
        "\"p\":16,\"q\":17,\"r\":18,\"a\":19}",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof docs / sizeof *docs; i++) {
        struct herald__json_parser p = {0};
        struct herald__decode_budget b;
        struct herald__arena a = {0};
        struct herald__val v;
        size_t len = strlen(docs[i]);
        struct herald__arena_chunk *chunk;
        unsigned char *region;
        unsigned long before;
        char err[256];

        herald__decode_budget_init(&b, len, 0, 0);
        assert_int_equal(herald__json_decode_arena(&p, docs[i], len, &b, &a, &v,
                                                   err, sizeof err),
                         0);
        herald__arena_reset(&a);
        chunk = a.head;
        region = p.buf;
#if COUNT_MALLOC
        before = mallocs;
#else
        before = 0;
#endif
        herald__decode_budget_init(&b, len, 0, 0);
        assert_int_equal(herald__json_decode_arena(&p, docs[i], len, &b, &a, &v,
                                                   err, sizeof err),
                         0);
#if COUNT_MALLOC
        assert_int_equal(mallocs - before, 0);
#else
        (void)before;
#endif
        assert_ptr_equal(a.head, chunk);
        assert_ptr_equal(p.buf, region);
        herald__arena_free(&a);
        herald__json_parser_cleanup(&p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus), cmocka_unit_test(test_depth),
        cmocka_unit_test(test_large),  cmocka_unit_test(test_messages),
        cmocka_unit_test(test_budget), cmocka_unit_test(test_steady_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
