/*
 * commit.c - committing a connector's offsets (commit.h).
 */
#include "commit.h"

#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "offsets.h"
#include "partitions.h"

int herald__tp_in(const struct herald__tp *l, size_t n, const char *topic,
                  int32_t partition)
{
    for (size_t i = 0; i < n; i++) {
        if (l[i].partition == partition && strcmp(l[i].topic, topic) == 0) {
            return 1;
        }
    }
    return 0;
}

void herald__commit(struct herald__parts *ps, struct herald__kafka *k,
                    const struct herald__tp *only, size_t n_only, int sync)
{
    if (!k) {
        return;
    }
    size_t cap = 0, n = 0;
    for (struct herald__part *p = herald__parts_next(ps, NULL); p;
         p = herald__parts_next(ps, p)) {
        cap++;
    }
    struct herald__tp *l = cap ? calloc(cap, sizeof *l) : NULL;
    if (!l) {
        return; /* nothing owned, or out of memory: the next one tries */
    }
    for (struct herald__part *p = herald__parts_next(ps, NULL); p;
         p = herald__parts_next(ps, p)) {
        const char *topic = herald__part_topic(p);
        int32_t partition = herald__part_partition(p);
        if (herald__part_revoked(p) ||
            (only && !herald__tp_in(only, n_only, topic, partition))) {
            continue;
        }
        struct herald__partoffsets *offs = herald__part_offsets(p);
        int64_t off = herald__partoffsets_committable(offs);
        if (off < 0 || off == offs->committed) {
            continue;
        }
        l[n++] = (struct herald__tp){topic, partition, off};
        offs->committed = off;
    }
    if (n > 0 && herald__kafka_commit(k, l, n, sync) != 0) {
        herald__commit_failed(ps, l, n); /* try again next time */
    }
    free(l);
}

void herald__commit_failed(struct herald__parts *ps, const struct herald__tp *l,
                           size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct herald__part *p =
            herald__parts_find(ps, l[i].topic, l[i].partition);
        if (p) {
            herald__part_offsets(p)->committed = -1;
        }
    }
}

struct herald__tp *herald__tps_dup(const struct herald__tp *l, size_t n)
{
    struct herald__tp *copy = calloc(n ? n : 1, sizeof *copy);
    for (size_t i = 0; copy && i < n; i++) {
        copy[i] = l[i];
        copy[i].topic = strdup(l[i].topic);
        if (!copy[i].topic) {
            herald__tps_free(copy, i);
            copy = NULL;
        }
    }
    return copy;
}

void herald__tps_free(struct herald__tp *l, size_t n)
{
    for (size_t i = 0; l && i < n; i++) {
        free((char *)l[i].topic);
    }
    free(l);
}
