/*
 * fuzz_json_arena.c - libFuzzer target: the `json` format's yyjson decoder
 * (json_decode.c) against the jansson decoder it replaces. The input is
 * JSON text; both must accept or reject it alike, charge the budget
 * alike, and what is accepted must dump to the same JSON text and have
 * the same size (values, string bytes). Any
 * difference aborts with both answers. One parser and one arena serve
 * every input, reset in between, as a connector's decoder uses them.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void differ(const uint8_t *data, size_t size, const char *what,
                   const char *jansson, const char *arena)
{
    fprintf(stderr, "fuzz_json_arena: %s on %zu bytes:\n", what, size);
    fwrite(data, 1, size, stderr);
    fprintf(stderr, "\njansson: %s\narena:   %s\n", jansson, arena);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct herald__json_parser parser;
    static struct herald__arena arena;
    struct herald__decode_budget bj, ba;
    struct herald__val v;
    char jerr[256], aerr[256];
    json_t *ref = NULL;
    int rj, ra;

    herald__decode_budget_init(&bj, size, 0, 0);
    herald__decode_budget_init(&ba, size, 0, 0);
    rj = herald__json_decode_jansson(data, size, &bj, &ref, jerr, sizeof jerr);
    ra = herald__json_decode_arena(&parser, data, size, &ba, &arena, &v, aerr,
                                   sizeof aerr);
    if (rj != ra) {
        differ(data, size, "verdicts differ", rj ? jerr : "accepted",
               ra ? aerr : "accepted");
    }
    if (bj.nodes != ba.nodes || bj.bytes != ba.bytes) {
        differ(data, size, "budget charges differ", "", "");
    }
    if (rj == 0) {
        json_t *mine = herald__val_to_json(&v);
        char *a = json_dumps(mine, JSON_COMPACT | JSON_ENCODE_ANY);
        char *j = json_dumps(ref, JSON_COMPACT | JSON_ENCODE_ANY);

        struct herald__arena copy_arena = {0};
        struct herald__val copy;
        uint64_t vn = 0, vb = 0, jn = 0, jb = 0;

        if (!a || !j || strcmp(a, j) != 0) {
            differ(data, size, "values differ", j ? j : "(no dump)",
                   a ? a : "(no dump)");
        }
        /* A repeated object name shows in the sizes, not in the text. */
        if (herald__val_from_json(ref, &copy_arena, &copy) == 0) {
            herald__val_size(&v, &vn, &vb);
            herald__val_size(&copy, &jn, &jb);
            if (vn != jn || vb != jb) {
                differ(data, size, "tree sizes differ", j, a);
            }
        }
        herald__arena_free(&copy_arena);
        free(a);
        free(j);
        json_decref(mine);
    }
    json_decref(ref);
    herald__arena_reset(&arena);
    return 0;
}
