/*
 * value.h - decoded values as compact tagged nodes in an arena (value.c).
 *
 * A decoded key or value is a tree of struct herald__val (16 bytes each)
 * that lives in one arena: decoding a record allocates nothing per node,
 * only what grows the arena, and freeing the record frees the arena (or
 * resets it for the next record, which then allocates nothing at all).
 *
 * Node types follow the JSON data model herald has always exposed
 * (record.h): null, bool, int64, double, string (UTF-8, NUL-terminated,
 * length in n), array, object. Decimals are strings rendered exactly,
 * bytes/fixed are strings of code points U+0000..U+00FF, timestamps stay
 * integers. An object's members are in order and their names are unique
 * (a builder that meets a repeated name keeps the first position and the
 * last value, as jansson did); lookup by name is a linear scan, which
 * beats hashing for the few members a record has.
 *
 * Ownership: every pointer inside a tree points into the arena it was
 * built in (or into memory that outlives it, e.g. a literal); a tree is
 * immutable once built and may be read from any thread while its arena
 * lives. An arena is used by one thread at a time.
 */
#ifndef HERALD_VALUE_H
#define HERALD_VALUE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "herald/plugin.h"

/* ---- arena ----------------------------------------------------------- */

struct herald__arena_chunk;

/* Caller's storage, zeroed (`struct herald__arena a = {0};`) before use. */
struct herald__arena {
    struct herald__arena_chunk *head; /* the chunk allocations come from */
    size_t bytes;                     /* bytes handed out since the reset */
};

/* n bytes aligned for any node (8), uninitialised; NULL when memory ran
 * out (n == 0 gives a valid unique pointer). A new chunk is at least twice
 * the last one, so a tree of N bytes costs O(log N) mallocs the first time
 * and none after a reset. */
void *herald__arena_alloc(struct herald__arena *a, size_t n);

/* Grows the block p of old_n bytes (the result of herald__arena_alloc or
 * NULL with old_n 0) to new_n >= old_n bytes: in place when p is the last
 * allocation and the chunk has room, else a copy. NULL when memory ran out
 * (p stays valid). */
void *herald__arena_grow(struct herald__arena *a, void *p, size_t old_n,
                         size_t new_n);

/* A copy of s[0..n) followed by a NUL, or NULL when memory ran out. */
char *herald__arena_strdup(struct herald__arena *a, const char *s, size_t n);

/* Forgets every allocation but keeps the largest chunk for the next use;
 * frees the others. */
void herald__arena_reset(struct herald__arena *a);

/* Frees everything; the arena is zeroed and may be used again. */
void herald__arena_free(struct herald__arena *a);

/* ---- values ---------------------------------------------------------- */

enum herald__vtype {
    HERALD__V_NULL = 0,
    HERALD__V_BOOL,
    HERALD__V_INT,
    HERALD__V_REAL,
    HERALD__V_STR,
    HERALD__V_ARR,
    HERALD__V_OBJ,
};

struct herald__member;

struct herald__val {
    uint8_t type;    /* enum herald__vtype */
    uint8_t boolean; /* BOOL: 0 or 1 */
    uint32_t n;      /* STR: bytes without the NUL; ARR, OBJ: items */
    union {
        int64_t i;                            /* INT */
        double d;                             /* REAL (finite) */
        const char *s;                        /* STR: n bytes, then a NUL */
        const struct herald__val *items;      /* ARR: n items */
        const struct herald__member *members; /* OBJ: n members */
    } u;
};

struct herald__member {
    const char *name; /* name_len bytes, then a NUL; valid UTF-8 */
    uint32_t name_len;
    struct herald__val val;
};

/* The largest string or container a node can describe. Decode budgets
 * (decode_budget.h) keep every decode far below it. */
#define HERALD__VAL_MAX_N UINT32_MAX

/* The member called name[0..len) of obj, or NULL (obj NULL or not an
 * object, or no such member). */
const struct herald__val *herald__val_get(const struct herald__val *obj,
                                          const char *name, size_t len);

/* Walk p ("", ".name", "[3]", "[\"odd.name\"]", chained; with first set,
 * p starts with a bare name) from node, as record.h's paths do. A missing
 * step (node NULL, not a container, no such member or index) leaves *out
 * NULL, but the rest of p is still checked. Returns 0, or -1 on a
 * malformed path. Pure. */
int herald__val_walk(const struct herald__val *node, const char *p, int first,
                     const struct herald__val **out);

/* The host API's view of v (NULL: MISSING): strings point into the tree,
 * node is v (ABI 1.2: what value_member/value_item step from). Writes
 * every field of *out, the host's whole struct. */
void herald__val_fill(const struct herald__val *v, struct herald_value *out);

/* v as a new jansson tree (v NULL: json null), or NULL when memory ran out
 * or a string is not valid UTF-8. For what is off the hot path: templates,
 * `tail`, record_json, tests. */
json_t *herald__val_to_json(const struct herald__val *v);

/* Copy a jansson tree into arena a as *out. Returns 0, or -1 when memory
 * ran out (what was built stays in the arena until it is reset). */
int herald__val_from_json(const json_t *j, struct herald__arena *a,
                          struct herald__val *out);

/* Exact size of a tree as decode budgets count it: *nodes values, *bytes
 * string bytes (values and member names). Adds to the counters. */
void herald__val_size(const struct herald__val *v, uint64_t *nodes,
                      uint64_t *bytes);

#endif
