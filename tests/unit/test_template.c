/*
 * test_template.c - the template engine: every filter's exact output,
 * value rendering, HTML escaping, compile errors with file:line:col and
 * render errors, against plain JSON through herald__template_lookup_json.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "template.h"

/* Render text against the JSON document `json`; returns the output or
 * "ERR: <reason>" (compile errors: "COMPILE: <first diag>"). Caller
 * frees. */
static char *render_full(const char *text, const char *json, int html)
{
    struct herald__diag d;
    struct herald__template *t;
    json_error_t jerr;
    json_t *root = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    char err[512];
    char *out = NULL;
    char *res = NULL;

    assert_non_null(root);
    herald__diag_init(&d);
    t = herald__template_compile(text, "t", 1, 1, html, &d);
    if (t == NULL) {
        assert_true(d.n > 0);
        res = malloc(strlen(d.msgs[0]) + 16);
        sprintf(res, "COMPILE: %s", d.msgs[0]);
    } else {
        assert_int_equal(d.n, 0);
        if (herald__template_render(t, herald__template_lookup_json, root, &out,
                                    err, sizeof err) == 0) {
            res = out;
        } else {
            assert_null(out);
            res = malloc(strlen(err) + 8);
            sprintf(res, "ERR: %s", err);
        }
    }
    herald__template_destroy(t);
    herald__diag_cleanup(&d);
    json_decref(root);
    return res;
}

static void check(const char *text, const char *json, const char *want)
{
    char *got = render_full(text, json, 0);
    assert_string_equal(got, want);
    free(got);
}

static void check_html(const char *text, const char *json, const char *want)
{
    char *got = render_full(text, json, 1);
    assert_string_equal(got, want);
    free(got);
}

/* Compile text at file f, line/col; assert the diagnostics, NULL-ended. */
static void check_compile(const char *text, int line, int col, ...)
{
    struct herald__diag d;
    struct herald__template *t;
    va_list ap;
    size_t n = 0;

    herald__diag_init(&d);
    t = herald__template_compile(text, "notify.yaml", line, col, 0, &d);
    assert_null(t);
    va_start(ap, col);
    for (const char *want = va_arg(ap, const char *); want != NULL;
         want = va_arg(ap, const char *)) {
        assert_true(n < d.n);
        assert_string_equal(d.msgs[n], want);
        n++;
    }
    va_end(ap);
    assert_int_equal(d.n, n);
    herald__diag_cleanup(&d);
}

static void test_values(void **state)
{
    (void)state;
    check("plain text", "{}", "plain text");
    check("", "{}", "");
    check("{{s}}|{{i}}|{{r}}|{{t}}|{{f}}|{{n}}|",
          "{\"s\":\"x y\",\"i\":-42,\"r\":0.1,\"t\":true,\"f\":false,"
          "\"n\":null}",
          "x y|-42|0.1|true|false||");
    check("{{r}} {{big}}", "{\"r\":3.0,\"big\":1e300}", "3 1e+300");
    check("{{o}}", "{\"o\":{\"b\":[1,\"2\"],\"a\":null}}",
          "{\"b\":[1,\"2\"],\"a\":null}");
    check("{{ a.b[1].c }}!", "{\"a\":{\"b\":[{},{\"c\":\"deep\"}]}}", "deep!");
    check("{{{{literal}} and {{x}} }}", "{\"x\":1}", "{{literal}} and 1 }}");
    check("{{\n  x\n  |\tupper\n}}", "{\"x\":\"ab\"}", "AB");
}

static void test_last4_mask(void **state)
{
    (void)state;
    const char *card = "{\"c\":\"358579699410099\",\"s3\":\"123\","
                       "\"s4\":\"1234\",\"s5\":\"12345\",\"u\":\"äöüßé\","
                       "\"n\":358579699410099}";
    check("{{c | last4}}", card, "0099");
    check("{{c | mask}}", card, "***********0099");
    check("{{c | mask 6}}", card, "*********410099");
    check("{{c | mask 0}}", card, "***************");
    check("{{n | last4}}", card, "0099");
    check("{{s3 | last4}}", card, "***");
    check("{{s4 | last4}}", card, "****");
    check("{{s5 | last4}}", card, "2345");
    check("{{s3 | mask}}", card, "***");
    check("{{s5 | mask}}", card, "*2345");
    check("{{s3 | mask 2}}", card, "*23");
    check("{{u | last4}}", card, "öüßé");
    check("{{u | mask 2}}", card, "***ßé");
}

static void test_upper_lower(void **state)
{
    (void)state;
    check("{{x | upper}}", "{\"x\":\"Grüße, abc!\"}", "GRüßE, ABC!");
    check("{{x | lower}}", "{\"x\":\"ÀB Cd\"}", "Àb cd");
    check("{{x | upper}}", "{\"x\":12}", "12");
}

static void test_default(void **state)
{
    (void)state;
    const char *doc = "{\"n\":null,\"e\":\"\",\"v\":\"val\"}";
    check("{{missing | default \"n/a\"}}", doc, "n/a");
    check("{{n | default \"n/a\"}}", doc, "n/a");
    check("{{e | default \"n/a\"}}", doc, "");
    check("{{v | default \"n/a\"}}", doc, "val");
    check("{{missing | default 0}}", doc, "0");
    check("{{missing | default none}}", doc, "none");
    check("{{missing | upper | default \"x\" | upper}}", doc, "X");
    check("{{n}}", doc, "");
    check("{{n | upper}}", doc, "");
    check("{{missing}}", doc, "ERR: field 'missing' is missing");
    check("a {{missing | upper}} b", doc, "ERR: field 'missing' is missing");
    check("{{m | default \"q\\\"x\\\\\"}}", "{}", "q\"x\\");
}

static void test_datetime(void **state)
{
    (void)state;
    /* Start from an unset TZ whatever the developer's shell says. */
    unsetenv("TZ");
    /* 2020-04-22T03:19:30Z, the tutorial's window start. */
    const char *doc = "{\"t\":1587525570000,\"s\":\"1587525600000\","
                      "\"neg\":-1,\"w\":\"soon\",\"b\":true,"
                      "\"r\":1587525570000.0}";
    check("{{t | datetime}}", doc, "2020-04-22 03:19:30 UTC");
    check("{{t | datetime \"%Y-%m-%d %H:%M:%S %Z\" \"UTC\"}}", doc,
          "2020-04-22 03:19:30 UTC");
    check("{{t | datetime \"%Y-%m-%d %H:%M:%S %Z\" \"Europe/Berlin\"}}", doc,
          "2020-04-22 05:19:30 CEST");
    check("{{t | datetime \"%d.%m.%Y %H:%M %z\" America/New_York}}", doc,
          "21.04.2020 23:19 -0400");
    check("{{s | datetime \"%H:%M:%S\"}}", doc, "03:20:00");
    check("{{r | datetime \"%H:%M:%S\"}}", doc, "03:19:30");
    check("{{neg | datetime \"%Y-%m-%d %H:%M:%S\"}}", doc,
          "1969-12-31 23:59:59");
    /* Winter time in Berlin, to show the zone is computed per instant. */
    check("{{t | datetime \"%H:%M %Z\" \"Europe/Berlin\"}}",
          "{\"t\":1577836800000}", "01:00 CET");
    check("{{w | datetime}}", doc,
          "ERR: filter 'datetime' on field 'w': expected epoch "
          "milliseconds, got 'soon'");
    check("{{b | datetime}}", doc,
          "ERR: filter 'datetime' on field 'b': expected epoch "
          "milliseconds, got a boolean");
    /* The zone change does not leak into the process. */
    assert_null(getenv("TZ"));
    setenv("TZ", "Asia/Tokyo", 1);
    check("{{t | datetime \"%H %Z\" Europe/Berlin}}", doc, "05 CEST");
    assert_string_equal(getenv("TZ"), "Asia/Tokyo");
    unsetenv("TZ");
}

static void test_decimal(void **state)
{
    (void)state;
    const char *doc =
        "{\"a\":\"232.41\",\"h\":\"2.345\",\"hn\":\"-2.345\","
        "\"c\":\"9.995\",\"z\":\"-0.004\",\"i\":7,\"r\":0.125,"
        "\"e\":\"1.5e3\",\"x\":\"12,5\",\"l\":\"0.1234567890123456789012\","
        "\"b\":false,\"big\":\"99999999999999999999.5\",\"d\":\".5\"}";
    check("{{a | decimal 2}}", doc, "232.41");
    check("{{a | decimal 1}}", doc, "232.4");
    check("{{a | decimal 0}}", doc, "232");
    check("{{a | decimal 4}}", doc, "232.4100");
    check("{{h | decimal 2}}", doc, "2.35");
    check("{{hn | decimal 2}}", doc, "-2.35");
    check("{{c | decimal 2}}", doc, "10.00");
    check("{{z | decimal 2}}", doc, "0.00");
    check("{{i | decimal 2}}", doc, "7.00");
    check("{{r | decimal 2}}", doc, "0.13");
    check("{{e | decimal 1}}", doc, "1500.0");
    check("{{d | decimal 0}}", doc, "1");
    check("{{big | decimal 0}}", doc, "100000000000000000000");
    check("{{l | decimal 20}}", doc, "0.12345678901234567890");
    check("{{l | decimal 21}}", doc, "0.123456789012345678901");
    check("{{x | decimal 2}}", doc,
          "ERR: filter 'decimal' on field 'x': '12,5' is not a decimal "
          "number");
    check("{{b | decimal 2}}", doc,
          "ERR: filter 'decimal' on field 'b': expected a number, got a "
          "boolean");
}

static void test_join_json(void **state)
{
    (void)state;
    const char *doc = "{\"a\":[\"x\",\"y\",3,null,[1]],\"e\":[],"
                      "\"s\":\"str\",\"o\":{\"k\":[1,2]},\"n\":null}";
    check("{{a | join}}", doc, "x, y, 3, , [1]");
    check("{{a | join \" / \"}}", doc, "x / y / 3 /  / [1]");
    check("{{e | join}}", doc, "");
    check("{{s | join}}", doc,
          "ERR: filter 'join' on field 's': expected an array, got a "
          "string");
    check("{{o | json}}", doc, "{\"k\":[1,2]}");
    check("{{s | json}}", doc, "\"str\"");
    check("{{n | json}}", doc, "null");
}

static void test_html(void **state)
{
    (void)state;
    const char *doc = "{\"n\":\"<b>\\\"Tom\\\" & 'Jerry'</b>\"}";
    check_html("<p>{{n}}</p>", doc,
               "<p>&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;"
               "</p>");
    check_html("<p>{{n | raw}}</p>", doc, "<p><b>\"Tom\" & 'Jerry'</b></p>");
    check_html("{{m | default \"<none>\"}}", doc, "&lt;none&gt;");
    /* Plain text is never escaped. */
    check("{{n}}", doc, "<b>\"Tom\" & 'Jerry'</b>");
}

static void test_nul_in_value(void **state)
{
    (void)state;
    check("{{x}}", "{\"x\":\"a\\u0000b\"}",
          "ERR: field 'x' contains a NUL character");
}

static void test_compile_errors(void **state)
{
    (void)state;
    check_compile("Hi {{name", 1, 1,
                  "notify.yaml:1:4: unclosed '{{' (no matching '}}')", NULL);
    check_compile("a{{ }}b", 1, 1, "notify.yaml:1:5: empty path in '{{ }}'",
                  NULL);
    check_compile("{{a..b}}", 1, 1,
                  "notify.yaml:1:5: malformed path 'a..b': expected a field "
                  "name after '.'",
                  NULL);
    check_compile("{{a[x]}}", 1, 1,
                  "notify.yaml:1:5: malformed path 'a[x]': array index must "
                  "be 1 to 9 digits",
                  NULL);
    check_compile("{{card | last5}}", 1, 1,
                  "notify.yaml:1:10: unknown filter 'last5' (did you mean "
                  "'last4'?)",
                  NULL);
    check_compile("{{x | decimal}}", 1, 1,
                  "notify.yaml:1:7: filter 'decimal' takes 1 argument, got 0 "
                  "(usage: decimal N)",
                  NULL);
    check_compile("{{x | decimal \"two\"}}", 1, 1,
                  "notify.yaml:1:15: filter 'decimal' argument 1 must be an "
                  "integer, got 'two'",
                  NULL);
    check_compile("{{x | decimal 2.5}}", 1, 1,
                  "notify.yaml:1:15: filter 'decimal' argument 1 must be an "
                  "integer, got '2.5'",
                  NULL);
    check_compile("{{t | datetime \"%H\" \"Mars/Olympus\"}}", 1, 1,
                  "notify.yaml:1:21: filter 'datetime': unknown time zone "
                  "'Mars/Olympus' (not found in /usr/share/zoneinfo)",
                  NULL);
    check_compile("{{t | datetime \"%H:%Q\"}}", 1, 1,
                  "notify.yaml:1:20: filter 'datetime': unknown strftime "
                  "conversion '%Q'",
                  NULL);
    check_compile("{{t | datetime \"\"}}", 1, 1,
                  "notify.yaml:1:16: filter 'datetime': the format is empty",
                  NULL);
    check_compile("{{x | mask 100}}", 1, 1,
                  "notify.yaml:1:12: filter 'mask': visible characters must "
                  "be 0..64, got 100",
                  NULL);
    check_compile("{{x | default \"abc}}", 1, 1,
                  "notify.yaml:1:15: unterminated string argument", NULL);
    check_compile("{{x | }}", 1, 1,
                  "notify.yaml:1:7: expected a filter name after '|'", NULL);
    check_compile("{{x y}}", 1, 1,
                  "notify.yaml:1:5: unexpected character 'y' in '{{ }}'", NULL);
    check_compile("{{@foo}}", 1, 1,
                  "notify.yaml:1:3: malformed path '@foo': unknown record "
                  "attribute '@foo' (known: @key, @value, @topic, "
                  "@partition, @offset, @timestamp, @window.start, "
                  "@window.end, @headers.NAME)",
                  NULL);
    check_compile("{{@window.begin}}", 1, 1,
                  "notify.yaml:1:10: malformed path '@window.begin': @window "
                  "takes .start or .end",
                  NULL);
    /* The template starts at line 3, column 12 of the YAML file. */
    check_compile("ab{{x|upper 3}}", 3, 12,
                  "notify.yaml:3:18: filter 'upper' takes 0 arguments, got 1 "
                  "(usage: upper)",
                  NULL);
    /* Later lines restart at column 1; columns count code points. */
    check_compile("line one\nlíne twö {{ x | nope }}", 10, 5,
                  "notify.yaml:11:17: unknown filter 'nope' (filters: last4, "
                  "mask, upper, lower, default, datetime, decimal, join, "
                  "json, raw)",
                  NULL);
    /* Every error is reported, not just the first. */
    check_compile("{{a..b}} and {{x | lowr}} and {{ }}", 1, 1,
                  "notify.yaml:1:5: malformed path 'a..b': expected a field "
                  "name after '.'",
                  "notify.yaml:1:20: unknown filter 'lowr' (did you mean "
                  "'lower'?)",
                  "notify.yaml:1:34: empty path in '{{ }}'", NULL);
}

static void test_valid_compiles(void **state)
{
    struct herald__diag d;
    struct herald__template *t;
    (void)state;

    herald__diag_init(&d);
    t = herald__template_compile(
        "{{@key}} {{@key.id}} {{@window.start | datetime}} {{@window.end}} "
        "{{@headers.x-trace.id}} {{@topic}}-{{@partition}}-{{@offset}} "
        "{{@timestamp}} {{a_b-c[0][12].d}} {{@value}}",
        "f", 1, 1, 0, &d);
    assert_int_equal(d.n, 0);
    assert_non_null(t);
    assert_int_equal(herald__template_n_exprs(t), 11);
    herald__template_destroy(t);
    herald__diag_cleanup(&d);
}

static void test_compile_file(void **state)
{
    struct herald__diag d;
    struct herald__template *t;
    char path[] = "/tmp/herald-tmpl-XXXXXX";
    int fd = mkstemp(path);
    const char *text =
        "Hello {{name}},\n\nline two\n  {{ total | decmal 2 }}\n";
    FILE *f;
    (void)state;

    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    herald__diag_init(&d);
    t = herald__template_compile_file(path, NULL, 0, &d);
    assert_null(t);
    assert_int_equal(d.n, 1);
    char want[256];
    snprintf(want, sizeof want,
             "%s:4:14: unknown filter 'decmal' (did you mean 'decimal'?)",
             path);
    assert_string_equal(d.msgs[0], want);
    herald__diag_cleanup(&d);
    unlink(path);

    herald__diag_init(&d);
    t = herald__template_compile_file("/nonexistent/x.txt", NULL, 0, &d);
    assert_null(t);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.msgs[0], "cannot read template file "
                                   "'/nonexistent/x.txt': No such file or "
                                   "directory");
    herald__diag_cleanup(&d);
}

static void test_value_string(void **state)
{
    (void)state;
    json_t *v = json_integer(-9007199254740993LL);
    char *s = herald__template_value_string(v);
    assert_string_equal(s, "-9007199254740993");
    free(s);
    json_decref(v);
    s = herald__template_value_string(NULL);
    assert_string_equal(s, "");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_last4_mask),
        cmocka_unit_test(test_upper_lower),
        cmocka_unit_test(test_default),
        cmocka_unit_test(test_datetime),
        cmocka_unit_test(test_decimal),
        cmocka_unit_test(test_join_json),
        cmocka_unit_test(test_html),
        cmocka_unit_test(test_nul_in_value),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_valid_compiles),
        cmocka_unit_test(test_compile_file),
        cmocka_unit_test(test_value_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
