/*
 * avro_decode.h - Avro schemas and Avro binary -> compact values in an
 * arena (value.h), or jansson trees (avro.c).
 *
 * Named avro_decode.h, not avro.h: framework/src is on the include path, so
 * a local avro.h would shadow avro-c's <avro.h>.
 *
 * avro.c is the only file that includes avro-c. avro-c parses and validates
 * the schema JSON; the binary decoder is our own, driven by a schema tree we
 * build from the same JSON with jansson (avro-c 1.11 knows no logical types,
 * and its reader passes unchecked lengths to malloc). Every length, count and
 * index is checked against the bytes that remain before anything is
 * allocated, so any input gives a value or an error, never a crash.
 *
 * Mapping (the Avro/Connect JSON conventions): record -> object, enum ->
 * symbol string, array -> array, map -> object, union -> the branch's value
 * unwrapped (null branch -> null), bytes/fixed -> string of code points
 * U+0000..U+00FF, decimal (bytes or fixed) -> exact decimal string
 * ("232.41"), float/double -> real (NaN and infinities -> null), dates,
 * times and timestamps -> integers, uuid -> string. Avro strings must be
 * valid UTF-8; anything else is an error.
 */
#ifndef HERALD_AVRO_DECODE_H
#define HERALD_AVRO_DECODE_H

#include <jansson.h>
#include <stddef.h>

struct herald__avro_schema;

/* Parse and validate a writer schema (JSON text of len bytes, not
 * necessarily NUL-terminated). Returns a new schema the caller destroys, or
 * NULL with the reason in err. Thread: any; the result is immutable and may
 * be shared by any number of decodes. */
struct herald__avro_schema *herald__avro_schema_parse(const char *json,
                                                      size_t len, char *err,
                                                      size_t errlen);
void herald__avro_schema_destroy(struct herald__avro_schema *s);

/* Decode exactly len bytes of Avro binary written with schema s into *out
 * (a new reference). Byte positions in error messages are reported as
 * base + position in buf, so a caller that stripped a 5-byte Confluent
 * header passes base = 5. Returns 0, or -1 with the reason in err and *out
 * NULL (truncated input, bad length/index, invalid UTF-8, trailing bytes,
 * nesting deeper than 128, out of memory). */
int herald__avro_decode(const struct herald__avro_schema *s, const void *buf,
                        size_t len, size_t base, json_t **out, char *err,
                        size_t errlen);

struct herald__decode_budget;
struct herald__arena;
struct herald__val;

/* Decode exactly len bytes of Avro binary written with schema s into *out,
 * a tree of compact values (value.h) built in arena a, within budget b
 * (decode_budget.h). The hot path: the schema was compiled to a flat
 * array of steps when it was parsed, so a decode does no lookup and no
 * allocation but the arena's (none at all into an arena that was reset
 * after a decode at least as large).
 *
 * The mapping, the budget charging and every error message are those of
 * herald__avro_decode_budget below, which is this followed by
 * herald__val_to_json: records become objects with their members in
 * schema order; a map becomes an object; a repeated map key or record
 * field name keeps its first position and takes its last value; strings, enum
 * symbols, decimals, bytes and field names are copied into a (NUL-terminated),
 * so the tree outlives both buf and s. Every value and string byte is charged
 * to b before it is built; a block count is checked against b (count times the
 * least a value of the item type builds) before its first item.
 *
 * Byte positions in error messages are base + position in buf. Returns
 * 0, or -1 with the reason in err and *out a null value; whatever was
 * built stays in a until the caller resets or frees it. Thread: any; s
 * may be shared, a and b belong to this decode. */
int herald__avro_decode_arena(const struct herald__avro_schema *s,
                              const void *buf, size_t len, size_t base,
                              struct herald__decode_budget *b,
                              struct herald__arena *a, struct herald__val *out,
                              char *err, size_t errlen);

/* herald__avro_decode within budget b (decode.h), charged with every
 * value and string byte before it is built: a block count is checked
 * against the budget (count times the least a value of the item type
 * builds) before its first item is decoded, so zero-byte items cannot
 * amplify. Fails with err naming the budget when it would be exceeded. */
int herald__avro_decode_budget(const struct herald__avro_schema *s,
                               const void *buf, size_t len, size_t base,
                               struct herald__decode_budget *b, json_t **out,
                               char *err, size_t errlen);

/* Render a two's-complement big-endian unscaled integer of n bytes (1 to
 * 1024) with the given scale (0 to 1000) as an exact decimal string
 * ("232.41", "-0.05", "0.00"). Returns a malloc'd string the caller frees,
 * or NULL if n or scale is out of range or memory ran out. */
char *herald__avro_decimal_string(const unsigned char *b, size_t n, int scale);

#endif
