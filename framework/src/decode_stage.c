/*
 * decode_stage.c - the decode stage and the tombstone filter
 * (decode_stage.h).
 */
#include "decode_stage.h"

#include <stdio.h>
#include <string.h>

#include "decode.h"
#include "record.h"

/* Room for the decoder's error. */
#define DECODE_ERR_MAX 1024
/* A key's error starts with this (decode.c). */
#define KEY_ERR_PREFIX "key:"

enum herald__decoded herald__decode_stage(struct herald__decoder *d,
                                          struct herald_record *r,
                                          int skip_tombstones,
                                          struct herald__decode_reject *rej)
{
    char err[DECODE_ERR_MAX]; /* not zeroed: 1 KiB per record */
    err[0] = '\0';
    int rc = herald__decode_record(d, r, err, sizeof err);
    if (rc == HERALD__DECODE_WAIT) {
        return HERALD__DECODED_WAIT;
    }
    if (rc != 0) {
        int is_key = strncmp(err, KEY_ERR_PREFIX, strlen(KEY_ERR_PREFIX)) == 0;
        rej->stage = is_key ? "KEY_CONVERTER" : "VALUE_CONVERTER";
        rej->cls = is_key ? "herald.decode.key" : "herald.decode.value";
        rej->exc = "herald.DecodeError";
        snprintf(rej->reason, sizeof rej->reason, "undecodable record: %s",
                 err);
        return HERALD__DECODED_POISON;
    }
    if (!r->value_val && skip_tombstones) {
        return HERALD__DECODED_SKIP;
    }
    return HERALD__DECODED_GO;
}
