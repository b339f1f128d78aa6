/*
 * partitions.c - a connector's table of assigned partitions (partitions.h):
 * a list, small (the partitions one member is assigned).
 */
#include "partitions.h"

#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "offsets.h"

struct herald__part {
    char *topic;
    int32_t partition;
    struct herald__partoffsets offs;
    int pause_mask;
    int revoked; /* given up: late outcomes are ignored */
    size_t jobs; /* records alive that point here */
    struct herald__held *held_head, *held_tail; /* for a schema, in order */
    size_t retrying;                            /* records on a backoff timer */
    size_t channel_held; /* records held for the channel */
    struct herald__part *next;
};

struct herald__parts {
    struct herald__part *head;
    struct herald__kafka *k; /* borrowed; NULL before start, after stop */
};

static void part_free(struct herald__part *p)
{
    herald__partoffsets_cleanup(&p->offs);
    free(p->topic);
    free(p);
}

struct herald__parts *herald__parts_new(void)
{
    struct herald__parts *ps = calloc(1, sizeof *ps);
    return ps;
}

void herald__parts_destroy(struct herald__parts *ps)
{
    if (!ps) {
        return;
    }
    /* Parts with live records (retry timers, in flight) would only be
     * left if the plugin never answered; normally all are gone here. */
    struct herald__part *p = ps->head;
    while (p) {
        struct herald__part *next = p->next;
        part_free(p);
        p = next;
    }
    free(ps);
}

void herald__parts_set_kafka(struct herald__parts *ps, struct herald__kafka *k)
{
    if (ps) {
        ps->k = k;
    }
}

struct herald__part *herald__parts_find(struct herald__parts *ps,
                                        const char *topic, int32_t partition)
{
    for (struct herald__part *p = ps->head; p; p = p->next) {
        if (!p->revoked && p->partition == partition &&
            strcmp(p->topic, topic) == 0) {
            return p;
        }
    }
    return NULL;
}

struct herald__part *herald__parts_add(struct herald__parts *ps,
                                       const char *topic, int32_t partition)
{
    struct herald__part *p = herald__parts_find(ps, topic, partition);
    if (p) {
        return p;
    }
    p = calloc(1, sizeof *p);
    if (!p || !(p->topic = strdup(topic))) {
        free(p);
        return NULL;
    }
    p->partition = partition;
    herald__partoffsets_init(&p->offs);
    p->next = ps->head;
    ps->head = p;
    return p;
}

struct herald__part *herald__parts_next(const struct herald__parts *ps,
                                        const struct herald__part *p)
{
    return p ? p->next : ps ? ps->head : NULL;
}

size_t herald__parts_assigned(const struct herald__parts *ps)
{
    size_t n = 0;
    for (const struct herald__part *p = ps->head; p; p = p->next) {
        n += !p->revoked;
    }
    return n;
}

void herald__parts_gc(struct herald__parts *ps)
{
    struct herald__part **pp = &ps->head;
    while (*pp) {
        struct herald__part *p = *pp;
        if (p->revoked && p->jobs == 0) {
            *pp = p->next;
            part_free(p);
        } else {
            pp = &p->next;
        }
    }
}

void herald__parts_apply_pause(struct herald__parts *ps, struct herald__part *p)
{
    herald__kafka_pause(ps->k, p->topic, p->partition, p->pause_mask != 0);
}

void herald__parts_set_paused(struct herald__parts *ps, struct herald__part *p,
                              int bit, int on)
{
    int before = p->pause_mask;
    p->pause_mask = on ? (before | bit) : (before & ~bit);
    if (!ps->k || p->revoked || (before != 0) == (p->pause_mask != 0)) {
        return;
    }
    herald__parts_apply_pause(ps, p);
}

void herald__parts_pause_all(struct herald__parts *ps, int bit, int on)
{
    for (struct herald__part *p = ps->head; p; p = p->next) {
        herald__parts_set_paused(ps, p, bit, on);
    }
}

void herald__parts_retrying(struct herald__parts *ps, struct herald__part *p,
                            int on)
{
    if (on) {
        p->retrying++;
        herald__parts_set_paused(ps, p, HERALD__PAUSE_RETRY, 1);
    } else if (p->retrying > 0 && --p->retrying == 0) {
        herald__parts_set_paused(ps, p, HERALD__PAUSE_RETRY, 0);
    }
}

const char *herald__part_topic(const struct herald__part *p)
{
    return p->topic;
}

int32_t herald__part_partition(const struct herald__part *p)
{
    return p->partition;
}

struct herald__partoffsets *herald__part_offsets(struct herald__part *p)
{
    return &p->offs;
}

const struct herald__partoffsets *
herald__part_offsets_c(const struct herald__part *p)
{
    return &p->offs;
}

int herald__part_paused(const struct herald__part *p, int bits)
{
    return p->pause_mask & bits;
}

void herald__part_mark_paused(struct herald__part *p, int bit)
{
    p->pause_mask |= bit;
}

int herald__part_revoked(const struct herald__part *p)
{
    return p->revoked;
}

void herald__part_set_revoked(struct herald__part *p)
{
    p->revoked = 1;
}

void herald__part_ref(struct herald__part *p)
{
    p->jobs++;
}

void herald__part_unref(struct herald__part *p)
{
    p->jobs--;
}

void herald__part_channel_held(struct herald__part *p, int on)
{
    if (on) {
        p->channel_held++;
    } else {
        p->channel_held--;
    }
}

size_t herald__part_channel_held_n(const struct herald__part *p)
{
    return p->channel_held;
}

void herald__part_hold(struct herald__part *p, struct herald__held *h)
{
    h->next = NULL;
    if (p->held_tail) {
        p->held_tail->next = h;
    } else {
        p->held_head = h;
    }
    p->held_tail = h;
}

struct herald__held *herald__part_unhold(struct herald__part *p)
{
    struct herald__held *h = p->held_head;
    if (!h) {
        return NULL;
    }
    p->held_head = h->next;
    if (!p->held_head) {
        p->held_tail = NULL;
    }
    h->next = NULL;
    return h;
}

int herald__part_holding(const struct herald__part *p)
{
    return p->held_head ? 1 : 0;
}

int herald__part_held_at_end(const struct herald__part *p,
                             const struct herald__held *h)
{
    return p->held_head == h || p->held_tail == h;
}
