/* textdist.c - edit distance and the shared "did you mean" rule. */
#include "textdist.h"

#include <stdint.h>
#include <string.h>

size_t herald__textdist(const char *a, const char *b)
{
    size_t row[HERALD__TEXTDIST_MAX_LEN + 1];
    size_t la = strlen(a);
    size_t lb = strlen(b);

    if (la > HERALD__TEXTDIST_MAX_LEN || lb > HERALD__TEXTDIST_MAX_LEN) {
        return SIZE_MAX;
    }
    for (size_t j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);

            if (up + 1 < best) {
                best = up + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

void herald__suggest_init(struct herald__suggest *s, const char *key)
{
    s->key = key;
    s->best = NULL;
    s->best_d = SIZE_MAX;
    s->by_prefix = 0;
}

int herald__suggest_offer(struct herald__suggest *s, const char *candidate)
{
    size_t klen = strlen(s->key);
    size_t clen = strlen(candidate);
    size_t common = klen < clen ? klen : clen;
    size_t d;

    if (strcmp(s->key, candidate) == 0) {
        return 0;
    }
    d = herald__textdist(s->key, candidate);
    if (d <= HERALD__SUGGEST_MAX_EDITS && d < klen &&
        (!s->best || s->by_prefix || d < s->best_d)) {
        s->best = candidate;
        s->best_d = d;
        s->by_prefix = 0;
        return 1;
    }
    if (!s->best && common >= HERALD__SUGGEST_MIN_PREFIX &&
        strncmp(s->key, candidate, common) == 0) {
        s->best = candidate;
        s->best_d = SIZE_MAX;
        s->by_prefix = 1;
        return 1;
    }
    return 0;
}

const char *herald__suggest_best(const struct herald__suggest *s)
{
    return s->best;
}

const char *herald__suggest_from(const char *key, const char *const *candidates)
{
    struct herald__suggest s;

    herald__suggest_init(&s, key);
    for (size_t i = 0; candidates && candidates[i]; i++) {
        herald__suggest_offer(&s, candidates[i]);
    }
    return herald__suggest_best(&s);
}
