/*
 * bytes.h - raw bytes as text (bytes.c): UTF-8 validity and Avro's
 * bytes-as-JSON-string encoding. Shared by the decoder (decode.c), the
 * Avro binary decoder (avro.c) and the record (record.c), which is why it
 * is a module of its own: none of them has to include another's header
 * for these, so their includes form no cycle.
 */
#ifndef HERALD_BYTES_H
#define HERALD_BYTES_H

#include <jansson.h>
#include <stddef.h>

/* Bytes as a JSON string of code points U+0000..U+00FF (each byte one
 * code point, Avro's JSON encoding of bytes). Returns a new reference the
 * caller drops, NULL on OOM; buf is only read. Thread: any. */
json_t *herald__bytes_json(const void *buf, size_t len);
/* Offset of the first byte that breaks UTF-8 in buf, or len if valid
 * (overlong forms, surrogates and code points above U+10FFFF break it).
 * Pure. Thread: any. */
size_t herald__utf8_check(const void *buf, size_t len);

#endif
