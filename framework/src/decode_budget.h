/*
 * decode_budget.h - the output budget of one decode (decode_budget.c),
 * shared by the format decoder (decode.c) and the Avro binary decoder
 * (avro.c) so that neither includes the other's header.
 *
 * A decode may build far more than it reads: an Avro array of all-null
 * records costs zero bytes per item. So every decode of one side (key or
 * value) of a record gets a budget fixed before anything is built: at most
 * NODES_PER_BYTE * input + NODES_BASE JSON values and BYTES_PER_BYTE *
 * input + BYTES_BASE bytes of strings (values and object keys), each also
 * capped by the connector's max_nodes / max_bytes (defaults below). A
 * decode that would exceed it fails before allocating what it would
 * exceed with; the record is poison.
 *
 * A budget is the caller's storage, used by one decode on one thread.
 */
#ifndef HERALD_DECODE_BUDGET_H
#define HERALD_DECODE_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#define HERALD__DECODE_NODES_PER_BYTE 8u
#define HERALD__DECODE_NODES_BASE 4096u
#define HERALD__DECODE_BYTES_PER_BYTE 64u
#define HERALD__DECODE_BYTES_BASE (1024u * 1024u)
#define HERALD__DECODE_MAX_NODES_DEFAULT 1000000u
#define HERALD__DECODE_MAX_BYTES_DEFAULT (64u * 1024u * 1024u)

struct herald__decode_budget {
    uint64_t max_nodes; /* allowed for this input */
    uint64_t max_bytes;
    uint64_t nodes; /* used so far */
    uint64_t bytes;
    size_t input;       /* the input size the budget was computed from */
    uint64_t cap_nodes; /* the absolute caps that applied */
    uint64_t cap_bytes;
};

/* Budget for decoding input_len bytes; max_nodes/max_bytes are the
 * absolute caps (0: the defaults). Pure. */
void herald__decode_budget_init(struct herald__decode_budget *b,
                                size_t input_len, uint64_t max_nodes,
                                uint64_t max_bytes);
/* Whether nodes and bytes more would fit: 0, or -1 with err naming the
 * budget. Charges nothing. */
int herald__decode_budget_fits(const struct herald__decode_budget *b,
                               uint64_t nodes, uint64_t bytes, char *err,
                               size_t errlen);
/* Charge nodes and bytes about to be built. Returns 0, or -1 with err
 * naming the budget (and nothing charged) when they do not fit. */
int herald__decode_budget_take(struct herald__decode_budget *b, uint64_t nodes,
                               uint64_t bytes, char *err, size_t errlen);

#endif
