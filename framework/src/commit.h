/*
 * commit.h - committing a connector's offsets (commit.c): for each
 * partition of the table (partitions.h) the first offset still in doubt
 * (offsets.h), only when it moved since the last commit.
 *
 * Owns nothing: the table and the consumer are borrowed. Loop thread.
 */
#ifndef HERALD_COMMIT_H
#define HERALD_COMMIT_H

#include <stddef.h>
#include <stdint.h>

struct herald__kafka;
struct herald__parts;
struct herald__tp;

/* Whether topic/partition is in l (n entries). */
int herald__tp_in(const struct herald__tp *l, size_t n, const char *topic,
                  int32_t partition);
/* Commit what is final for the assigned partitions in only (NULL: all) on
 * k (NULL: nothing to commit to). sync: wait for the broker (revoke,
 * stop); else asynchronous, failures come back through
 * herald__commit_failed. A commit that fails at once is tried again the
 * next time. */
void herald__commit(struct herald__parts *ps, struct herald__kafka *k,
                    const struct herald__tp *only, size_t n_only, int sync);
/* An asynchronous commit of l failed: the next commit names those
 * partitions again. */
void herald__commit_failed(struct herald__parts *ps, const struct herald__tp *l,
                           size_t n);
/* A freshly allocated copy of l (topics copied), NULL when out of memory;
 * free it with herald__tps_free (NULL-safe). */
struct herald__tp *herald__tps_dup(const struct herald__tp *l, size_t n);
void herald__tps_free(struct herald__tp *l, size_t n);

#endif
