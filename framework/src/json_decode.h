/*
 * json_decode.h - the `json` input format: JSON text to a value tree
 * (json_decode.c). The only file that includes yyjson.h.
 *
 * herald__json_decode_arena parses with yyjson into the compact nodes of
 * value.h, in one block of the caller's arena; yyjson's own document lives
 * in a struct herald__json_parser the caller keeps from record to record,
 * so in steady state (no document larger than one seen before) a decode
 * calls malloc zero times. It accepts and rejects exactly what jansson's
 * json_loadb(JSON_DECODE_ANY | JSON_ALLOW_NUL) did for this format, and
 * builds the same values (herald__json_decode_jansson, kept as the
 * reference tests and the benchmark compare against).
 */
#ifndef HERALD_JSON_DECODE_H
#define HERALD_JSON_DECODE_H

#include <jansson.h>
#include <stddef.h>

#include "decode_budget.h"
#include "value.h"

/* yyjson's scratch memory, reused by every decode: a region that grows to
 * the largest document seen (up to a cap), plus what one decode needed
 * beyond it, returned at the end of that decode. Caller's storage, zeroed
 * before first use (`struct herald__json_parser p = {0};`); one thread at
 * a time; the fields are private to json_decode.c. */
struct herald__json_parser {
    unsigned char *buf; /* the reused region */
    size_t size;
    size_t used;      /* during a decode: bytes of buf handed out */
    size_t last;      /* offset in buf of the last block */
    void *last_ptr;   /* the last block handed out, in buf or spill */
    size_t want;      /* bytes buf would have needed for this decode */
    size_t want_last; /* want before the last block */
    struct herald__arena spill; /* blocks that did not fit in buf */
};

/* Frees the parser's memory; p is zeroed and may be used again. NULL is
 * fine. */
void herald__json_parser_cleanup(struct herald__json_parser *p);

/* Decode JSON text buf[0..len) (a Confluent JSON Schema frame, 5 bytes
 * starting with a NUL, is skipped) into *out: any JSON value at the top,
 * integers as INT (beyond int64: an error), other numbers as REAL (beyond
 * a finite double: an error), strings as UTF-8 that may hold U+0000
 * (object names may not), an object's repeated name at its first position
 * with its last value, at most 2048 nested arrays and objects. b is
 * charged with the upper bound of the output found by scanning the text,
 * before parsing, as the jansson decoder did.
 *
 * Returns 0 with *out and everything it points to in arena a (one block,
 * so at most one malloc by the arena; none when its chunk has room), or -1
 * with err ("invalid JSON at line L col C: why", a budget message, or "out
 * of memory") and *out a JSON null; a failed decode may leave a block in
 * a until its reset. Uses and keeps memory in p (see above); buf is only
 * read. One thread at a time per p and per a. */
int herald__json_decode_arena(struct herald__json_parser *p, const void *buf,
                              size_t len, struct herald__decode_budget *b,
                              struct herald__arena *a, struct herald__val *out,
                              char *err, size_t errlen);

/* The same decode through jansson, exactly as the `json` format decoded
 * before yyjson: frame skip, budget, json_loadb(JSON_DECODE_ANY |
 * JSON_ALLOW_NUL). Returns 0 with *out a new reference the caller owns,
 * or -1 with err and *out NULL. For the differential tests, the fuzz
 * target and the micro-benchmark; not for the record path. */
int herald__json_decode_jansson(const void *buf, size_t len,
                                struct herald__decode_budget *b, json_t **out,
                                char *err, size_t errlen);

#endif
