/*
 * decode_budget.c - the output budget of one decode: how many JSON values
 * and string bytes a decode of n input bytes may build. Contract in
 * decode_budget.h.
 */
#include "decode_budget.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

static uint64_t per_input(size_t len, uint64_t per_byte, uint64_t base,
                          uint64_t cap)
{
    uint64_t v = (uint64_t)len > (UINT64_MAX - base) / per_byte
                     ? UINT64_MAX
                     : (uint64_t)len * per_byte + base;
    return v < cap ? v : cap;
}

void herald__decode_budget_init(struct herald__decode_budget *b,
                                size_t input_len, uint64_t max_nodes,
                                uint64_t max_bytes)
{
    memset(b, 0, sizeof *b);
    b->input = input_len;
    b->cap_nodes = max_nodes ? max_nodes : HERALD__DECODE_MAX_NODES_DEFAULT;
    b->cap_bytes = max_bytes ? max_bytes : HERALD__DECODE_MAX_BYTES_DEFAULT;
    b->max_nodes = per_input(input_len, HERALD__DECODE_NODES_PER_BYTE,
                             HERALD__DECODE_NODES_BASE, b->cap_nodes);
    b->max_bytes = per_input(input_len, HERALD__DECODE_BYTES_PER_BYTE,
                             HERALD__DECODE_BYTES_BASE, b->cap_bytes);
}

int herald__decode_budget_fits(const struct herald__decode_budget *b,
                               uint64_t nodes, uint64_t bytes, char *err,
                               size_t errlen)
{
    if (add_sat(b->nodes, nodes) <= b->max_nodes &&
        add_sat(b->bytes, bytes) <= b->max_bytes) {
        return 0;
    }
    if (!err || !errlen) {
        return -1;
    }
    snprintf(err, errlen,
             "decoded output would exceed its budget of %" PRIu64
             " values and %" PRIu64 " string bytes for %zu input bytes "
             "(%u values + %u per input byte, max_nodes %" PRIu64
             "; %u bytes + %u per input byte, max_bytes %" PRIu64 ")",
             b->max_nodes, b->max_bytes, b->input, HERALD__DECODE_NODES_BASE,
             HERALD__DECODE_NODES_PER_BYTE, b->cap_nodes,
             HERALD__DECODE_BYTES_BASE, HERALD__DECODE_BYTES_PER_BYTE,
             b->cap_bytes);
    return -1;
}

int herald__decode_budget_take(struct herald__decode_budget *b, uint64_t nodes,
                               uint64_t bytes, char *err, size_t errlen)
{
    if (herald__decode_budget_fits(b, nodes, bytes, err, errlen) != 0) {
        return -1;
    }
    b->nodes += nodes;
    b->bytes += bytes;
    return 0;
}
