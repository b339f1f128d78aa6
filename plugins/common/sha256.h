/*
 * sha256.h - a small portable SHA-256 (FIPS 180-4) for the mail plugins.
 *
 * Used only to derive stable identifiers (Message-ID, MIME boundary) from a
 * notification's idempotency key; not for anything secret. Kept here so the
 * plugins need no crypto library.
 */
#ifndef HERALD_PLUGIN_SHA256_H
#define HERALD_PLUGIN_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* Hash len bytes of data into out (32 bytes). Pure; any thread. */
void sha256_digest(const void *data, size_t len, uint8_t out[32]);

/* Hash data and write the first nbytes of the digest as lowercase hex into
 * hex (2 * nbytes + 1 bytes, NUL-terminated). nbytes is at most 32. */
void sha256_hex(const void *data, size_t len, size_t nbytes, char *hex);

#endif
