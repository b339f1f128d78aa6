/*
 * offsets.h - per-partition offset tracking for at-least-once (offsets.c).
 *
 * Records of one partition are tracked in the order they were consumed.
 * Outcomes arrive in any order; the committable offset of a partition is
 * the offset of the first record whose outcome is not final yet (or one past
 * the last tracked record when all are final). Nothing past a record still
 * in doubt is ever committable.
 */
#ifndef HERALD_OFFSETS_H
#define HERALD_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

struct herald__partoffsets {
    int64_t *offs;  /* ring of tracked offsets, increasing */
    uint8_t *final; /* parallel flags */
    size_t cap;
    size_t head;       /* index of the oldest entry */
    size_t n;          /* entries in the ring */
    int64_t next;      /* committable offset; -1 before anything was seen */
    int64_t committed; /* last committed offset, -1 if none */
    int64_t last;      /* last tracked offset, -1 if none */
};

void herald__partoffsets_init(struct herald__partoffsets *p);
void herald__partoffsets_cleanup(struct herald__partoffsets *p);
/* A record at `offset` was consumed (offsets must increase). 0 or -1. */
int herald__partoffsets_track(struct herald__partoffsets *p, int64_t offset);
/* The record at `offset` has a final outcome. Returns 0, or -1 when the
 * offset is not tracked (late outcome after a rebalance; ignore it). */
int herald__partoffsets_final(struct herald__partoffsets *p, int64_t offset);
/* The offset to commit (next record to read), or -1 if nothing yet. */
int64_t herald__partoffsets_committable(const struct herald__partoffsets *p);
/* Records tracked and not final. */
size_t herald__partoffsets_pending(const struct herald__partoffsets *p);

#endif
