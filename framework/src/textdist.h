/*
 * textdist.h - the one "did you mean": edit distance between short names
 * and the choice of the closest candidate (textdist.c).
 *
 * Used by every place that rejects a name the user typed: config keys,
 * option names and enum values (config), plugin names (loader), template
 * filters (template). One rule, so every suggestion reads the same:
 * a candidate within HERALD__SUGGEST_MAX_EDITS edits of the typed name
 * (and fewer edits than the typed name has characters, so "x" does not
 * suggest "y"); failing that, a candidate that shares a prefix of at least
 * HERALD__SUGGEST_MIN_PREFIX characters with it ("group" -> "group_id").
 *
 * Pure functions; any thread.
 */
#ifndef HERALD_TEXTDIST_H
#define HERALD_TEXTDIST_H

#include <stddef.h>

/* Names longer than this are not compared (distance SIZE_MAX). */
#define HERALD__TEXTDIST_MAX_LEN 64
#define HERALD__SUGGEST_MAX_EDITS 2
#define HERALD__SUGGEST_MIN_PREFIX 3

/* Levenshtein distance between a and b (insertions, deletions and
 * substitutions of one byte each), or SIZE_MAX when either is longer than
 * HERALD__TEXTDIST_MAX_LEN bytes. */
size_t herald__textdist(const char *a, const char *b);

/* The search for the candidate closest to a typed name, offered one
 * candidate at a time (so a caller that lists a directory need not build
 * an array). Caller's storage; `key` is borrowed for the search's life. */
struct herald__suggest {
    const char *key;
    const char *best; /* the candidate pointer last accepted, or NULL */
    size_t best_d;    /* its distance (SIZE_MAX for a prefix match) */
    int by_prefix;    /* best was accepted by the prefix rule only */
};

/* Starts a search for the candidate closest to key (borrowed). */
void herald__suggest_init(struct herald__suggest *s, const char *key);

/* Considers candidate (borrowed; only its pointer is kept). Returns 1 if it
 * is now the best suggestion (a caller whose candidate does not outlive
 * the call copies it then), 0 otherwise. A candidate equal to the key is
 * never suggested. The first of equally close candidates wins. */
int herald__suggest_offer(struct herald__suggest *s, const char *candidate);

/* The best candidate offered so far, or NULL if none is close enough. */
const char *herald__suggest_best(const struct herald__suggest *s);

/* The closest of the NULL-terminated list (borrowed), or NULL. */
const char *herald__suggest_from(const char *key,
                                 const char *const *candidates);

#endif
