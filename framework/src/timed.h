/*
 * timed.h - the list of items only a timer holds (timed.c), shared by the
 * stages whose items wait on timers (outcome.c's backoffs and dead-letter
 * writes again, dedup_gate.c's parks and mark writes again): a stop drops
 * them all at once. An intrusive doubly linked list: the link is embedded
 * in the item, the list owns nothing. Loop thread.
 */
#ifndef HERALD_TIMED_H
#define HERALD_TIMED_H

#include <stddef.h>

/* An item's link; zeroed: not on a list. */
struct herald__timed {
    struct herald__timed *next, *prev;
    int on; /* on the list */
};

/* The list; zeroed: empty. */
struct herald__timed_list {
    struct herald__timed *head;
};

/* The item of type (its link a member named timed) that t is in. */
#define HERALD__TIMED_ITEM(t, type)                                            \
    ((type *)(void *)((char *)(t)-offsetof(type, timed)))

/* Put t on l (nothing when it is on already). */
void herald__timed_add(struct herald__timed_list *l, struct herald__timed *t);
/* Take t off l (nothing when it is not on). */
void herald__timed_del(struct herald__timed_list *l, struct herald__timed *t);
/* Take the first link off l and return it; NULL when l is empty. */
struct herald__timed *herald__timed_pop(struct herald__timed_list *l);

#endif
