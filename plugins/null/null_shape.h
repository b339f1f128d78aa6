/*
 * null_shape.h - the shape of a decoded value (object member names, array
 * items) as the null sink's walk needs it, learned from the JSON text of a
 * record (host API record_json). Pure: no host calls, no I/O, so a unit
 * test reaches it directly.
 */
#ifndef HERALD_NULL_SHAPE_H
#define HERALD_NULL_SHAPE_H

#include <stddef.h>
#include <stdint.h>

enum null_shape_kind {
    NULL_SHAPE_SCALAR = 0, /* null, bool, number, string */
    NULL_SHAPE_OBJECT,
    NULL_SHAPE_ARRAY,
};

/* One node. OBJECT: n members, steps[i] the path step that reaches member
 * i (".name", or "[\"name\"]" when the name holds '.', '[' or ']') and
 * kids[i] its shape. ARRAY: n items as seen, kids[i] the shape of item i
 * (null_shape_item generalizes past the last). kids[i] is never NULL. */
struct null_shape {
    enum null_shape_kind kind;
    size_t n;
    char **steps;
    struct null_shape **kids;
};

/* What a walk adds up (null.c). int_sum wraps modulo 2^64. */
struct null_walk_totals {
    int64_t records;
    int64_t fields;    /* every node read, containers included */
    int64_t str_bytes; /* lengths of STRING and BYTES values */
    uint64_t int_sum;  /* INT values, plus the window's start and end */
    int64_t bools;     /* BOOL values that are true */
    int64_t doubles;   /* DOUBLE values */
};

/* Parses json (len bytes; the object record_json writes) and sets *key and
 * *value to the shapes of its "key" and "value" members (a scalar shape
 * when a member is absent). Returns 0, or -1 on malformed JSON, a name the
 * host's path syntax cannot address, or out of memory (then nothing is
 * set). The caller owns both shapes (null_shape_free). */
int null_shape_learn(const char *json, size_t len, struct null_shape **key,
                     struct null_shape **value);

/* The shape to expect for item i of array shape sh: the item seen at i,
 * or the last one seen (arrays are mostly of one kind), or NULL when the
 * array was empty when learned (then only a scalar item walks). */
const struct null_shape *null_shape_item(const struct null_shape *sh, size_t i);

/* Frees sh and everything under it. NULL is a no-op. */
void null_shape_free(struct null_shape *sh);

#endif
