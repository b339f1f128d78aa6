/* offsets.c - per-partition tracker of which consumed offsets are final. */
#include "offsets.h"

#include <stdlib.h>
#include <string.h>

void herald__partoffsets_init(struct herald__partoffsets *p)
{
    memset(p, 0, sizeof *p);
    p->next = -1;
    p->committed = -1;
    p->last = -1;
}

void herald__partoffsets_cleanup(struct herald__partoffsets *p)
{
    if (!p) {
        return;
    }
    free(p->offs);
    free(p->final);
    herald__partoffsets_init(p);
}

static size_t slot(const struct herald__partoffsets *p, size_t i)
{
    return (p->head + i) % p->cap;
}

static int grow(struct herald__partoffsets *p)
{
    size_t cap = p->cap ? p->cap * 2 : 64;
    int64_t *offs = malloc(cap * sizeof *offs);
    uint8_t *fin = malloc(cap);
    if (!offs || !fin) {
        free(offs);
        free(fin);
        return -1;
    }
    for (size_t i = 0; i < p->n; i++) {
        offs[i] = p->offs[slot(p, i)];
        fin[i] = p->final[slot(p, i)];
    }
    free(p->offs);
    free(p->final);
    p->offs = offs;
    p->final = fin;
    p->cap = cap;
    p->head = 0;
    return 0;
}

int herald__partoffsets_track(struct herald__partoffsets *p, int64_t offset)
{
    if (offset <= p->last) {
        return -1; /* seen before: a refetch after pause/resume */
    }
    if (p->n == p->cap && grow(p) != 0) {
        return -1;
    }
    size_t s = slot(p, p->n);
    p->offs[s] = offset;
    p->final[s] = 0;
    p->n++;
    p->last = offset;
    if (p->n == 1) {
        p->next = offset;
    }
    return 0;
}

/* Drop final entries from the front; the first non-final one (or one past
 * the last) is what may be committed. */
static void advance(struct herald__partoffsets *p)
{
    while (p->n > 0 && p->final[p->head]) {
        p->next = p->offs[p->head] + 1;
        p->head = (p->head + 1) % p->cap;
        p->n--;
    }
    if (p->n > 0) {
        p->next = p->offs[p->head];
    }
}

int herald__partoffsets_final(struct herald__partoffsets *p, int64_t offset)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t o = p->offs[slot(p, mid)];
        if (o == offset) {
            p->final[slot(p, mid)] = 1;
            advance(p);
            return 0;
        }
        if (o < offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

int64_t herald__partoffsets_committable(const struct herald__partoffsets *p)
{
    return p->next;
}

size_t herald__partoffsets_pending(const struct herald__partoffsets *p)
{
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++) {
        k += !p->final[slot(p, i)];
    }
    return k;
}
