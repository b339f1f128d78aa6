/*
 * hmac.h - the deployment's hash key and the keyed hash (HMAC-SHA-256,
 * OpenSSL's libcrypto) behind every identifier herald derives from record
 * data: the idempotency key a channel turns into a Message-ID or SendGrid's
 * custom_args.idempotency_key, and the keys of dedup marks.
 *
 * The default dedup key holds the card number; a plain hash of it can be
 * reversed by trying the few million card numbers that share a BIN and
 * last four digits. Under a secret key nobody without the key can test a
 * guess. The key comes from the top-level `hash_key:` option, typically
 * `${file:/run/secrets/...}`; it must be the same on every instance and
 * across restarts of one deployment, or dedup and Message-IDs stop
 * matching.
 */
#ifndef HERALD_HMAC_H
#define HERALD_HMAC_H

#include <stddef.h>

#include "config.h"
#include "config_schema.h"

/* Shortest key accepted, in bytes: 128 bits of a random key. */
#define HERALD__HASH_KEY_MIN 16
/* HMAC-SHA-256 as lowercase hex, with its NUL. */
#define HERALD__HMAC_HEX_SIZE 65

struct herald__hash_key;

/* The description of the top-level `hash_key:` (a secret string of at
 * least HERALD__HASH_KEY_MIN bytes): the top-level section's keys go on
 * here (herald__config_section.also), so the reference lists it and the
 * unknown-key check accepts it. Static, read-only. */
extern const struct herald__section herald__hash_key_section;

/* Read the `hash_key:` scalar node against herald__hash_key_section. node
 * NULL: returns NULL and adds nothing (whether the key is needed is for
 * the caller to say). A node that is not a string of at least
 * HERALD__HASH_KEY_MIN bytes adds the value error at its file:line:col
 * ("... got 15 bytes": the value is never printed) and returns a refused
 * key: users do not report it missing as well, and herald__hmac_hex fails
 * with it (the config is invalid anyway). NULL only when out of memory.
 * The result owns a copy of the key; destroy it. */
struct herald__hash_key *herald__hash_key_new(const struct herald__node *node,
                                              struct herald__diag *d);
/* Wipe and free; accepts NULL. */
void herald__hash_key_destroy(struct herald__hash_key *k);

/* A key from bytes, for tests and tools: NULL when len is below
 * HERALD__HASH_KEY_MIN or memory is short. */
struct herald__hash_key *herald__hash_key_from(const void *key, size_t len);

/* HMAC-SHA-256 of data[0..len) under k, written as 64 lowercase hex
 * digits and a NUL into out. Returns 0, or -1 (libcrypto failed; out is
 * then empty). Pure; any thread (k is read-only). */
int herald__hmac_hex(const struct herald__hash_key *k, const void *data,
                     size_t len, char out[HERALD__HMAC_HEX_SIZE]);

/* A malloc'd HMAC hex of the string s (NULL when out of memory or
 * libcrypto failed). */
char *herald__hmac_hex_dup(const struct herald__hash_key *k, const char *s);

/* Whether s has the shape herald__hmac_hex writes (64 lowercase hex). */
int herald__hmac_is_hex(const char *s);

#endif
