/*
 * timed.c - the list of items only a timer holds (timed.h).
 */
#include "timed.h"

#include <stddef.h>

void herald__timed_add(struct herald__timed_list *l, struct herald__timed *t)
{
    if (t->on) {
        return;
    }
    t->on = 1;
    t->prev = NULL;
    t->next = l->head;
    if (l->head) {
        l->head->prev = t;
    }
    l->head = t;
}

void herald__timed_del(struct herald__timed_list *l, struct herald__timed *t)
{
    if (!t->on) {
        return;
    }
    if (t->prev) {
        t->prev->next = t->next;
    } else {
        l->head = t->next;
    }
    if (t->next) {
        t->next->prev = t->prev;
    }
    t->next = t->prev = NULL;
    t->on = 0;
}

struct herald__timed *herald__timed_pop(struct herald__timed_list *l)
{
    struct herald__timed *t = l->head;
    if (t) {
        herald__timed_del(l, t);
    }
    return t;
}
