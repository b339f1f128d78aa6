/*
 * decode_stage.h - the decode stage and the tombstone filter
 * (decode_stage.c): a record's key and value decoded (decode.h), and what
 * that means for the record: go on, wait for its schema (held in order by
 * the caller), poison (a REJECT at KEY_CONVERTER or VALUE_CONVERTER), or
 * a tombstone skipped (final at once).
 *
 * Owns nothing: the decoder and the record are borrowed; the decoded trees
 * go into the record (record.h). Loop thread.
 */
#ifndef HERALD_DECODE_STAGE_H
#define HERALD_DECODE_STAGE_H

struct herald__decoder;
struct herald_record;

/* Room for a poison record's reason. */
#define HERALD__DECODE_REASON_MAX 1536

enum herald__decoded {
    HERALD__DECODED_GO = 0, /* decoded: on to the next stage */
    HERALD__DECODED_WAIT,   /* its schema is not known yet */
    HERALD__DECODED_POISON, /* cannot be decoded: reject it (see rej) */
    HERALD__DECODED_SKIP,   /* a tombstone skipped: final */
};

/* Why a poison record is rejected, in outcome.h's terms. */
struct herald__decode_reject {
    const char *stage, *cls, *exc; /* static strings */
    char reason[HERALD__DECODE_REASON_MAX];
};

/* Decode r with d; a record without a value is skipped when
 * skip_tombstones. Returns the verdict; rej is filled for POISON. */
enum herald__decoded herald__decode_stage(struct herald__decoder *d,
                                          struct herald_record *r,
                                          int skip_tombstones,
                                          struct herald__decode_reject *rej);

#endif
