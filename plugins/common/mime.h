/*
 * mime.h - the RFC 5322/MIME message builder shared by the smtp and file
 * channels.
 *
 * Pure but for randomness: no I/O, no clock (the Date is passed in), no
 * globals; the random bytes (boundary, key-less Message-ID) come from a
 * source the caller may pass, so unit tests assert the exact bytes. Output
 * uses CRLF everywhere, keeps header lines within 78 characters where the
 * content allows, encodes non-ASCII header text as RFC 2047 encoded-words
 * and bodies as RFC 2045 quoted-printable.
 * Lines that start with "." are left alone: the SMTP client (libcurl)
 * dot-stuffs on the wire.
 */
#ifndef HERALD_PLUGIN_MIME_H
#define HERALD_PLUGIN_MIME_H

#include <stddef.h>
#include <stdint.h>

#include <herald/plugin.h>

/* Hex digits of the host's idempotency key: HMAC-SHA-256 under the
 * deployment's hash_key, written by the host as 64 lowercase hex. */
#define MIME_KEY_HEX 64
/* Hex digits of it in a Message-ID (and SendGrid's custom_args): 128 bits
 * are plenty to tell messages apart. */
#define MIME_ID_HEX 32

/* 1 if key has the shape of the host's keyed idempotency key (exactly
 * MIME_KEY_HEX lowercase hex digits), the only form a channel may put on
 * the wire; 0 otherwise (NULL too). Pure. */
int mime_idempotency_ok(const char *key);

/* Fill buf with len random bytes; 0, or -1 when none can be had. */
typedef int (*mime_random_fn)(void *ctx, unsigned char *buf, size_t len);

/* The operating system's random bytes (getrandom); ctx unused. */
int mime_random_os(void *ctx, unsigned char *buf, size_t len);

/* Build the full message m as RFC 5322 text.
 *
 * default_from is used when m->from is NULL or empty (may be NULL).
 * date_unix is the Date header's time (seconds since the epoch, written in
 * UTC as +0000). Message-ID is "<H@herald>" with H the first MIME_ID_HEX
 * digits of m->idempotency_key when mime_idempotency_ok() says it is the
 * host's keyed hash, so a retried message has the same Message-ID and a
 * receiver can drop duplicates; otherwise H is random (a key of another
 * shape could hold record data and is never written). The multipart
 * boundary is "=_herald_" and 128 random bits, new for every message and
 * checked not to occur in any part. Parts are 7bit only when no line
 * could be taken for a boundary ("--" at a line start), else
 * quoted-printable with no line starting with "-".
 *
 * Header lines stay within 78 octets where the content allows and never
 * exceed 998: long subjects and header values are folded or encoded as
 * RFC 2047 encoded-words (never refused for their length); display names
 * are at most 256 octets and fold as encoded-words when long.
 *
 * Every address and header is validated again (the code-point rule of
 * hdrtext.h): returns 0 and a malloc'd, NUL-terminated message in *out
 * (length in *out_len; the caller frees it), or -1 with a human reason in
 * err (nothing allocated). Any thread. */
int mime_build(const struct herald_message *m, const char *default_from,
               int64_t date_unix, char **out, size_t *out_len, char *err,
               size_t errlen);

/* mime_build with the random bytes from rnd (tests pass a fixed source to
 * assert exact bytes). */
int mime_build_r(const struct herald_message *m, const char *default_from,
                 int64_t date_unix, mime_random_fn rnd, void *rnd_ctx,
                 char **out, size_t *out_len, char *err, size_t errlen);

/* Quoted-printable encode in[0..inlen) (RFC 2045 section 6.7): "\n" and
 * "\r\n" become CRLF line breaks, a lone CR is =0D, '=' and every byte
 * outside printable ASCII are =XX, space or TAB before a line break (or at
 * the end) are =20/=09, and soft line breaks ("=" CRLF) keep every line at
 * most 76 characters; a '-' starting a line is =2D, so no encoded line
 * looks like a MIME boundary. Returns a malloc'd NUL-terminated string
 * (length in *out_len if not NULL) the caller frees, or NULL when out of
 * memory. */
char *mime_qp_encode(const char *in, size_t inlen, size_t *out_len);

/* s as RFC 2047 B encoded-words folded the way a header line starting at
 * column col gets them (lines of at most 78 characters, no UTF-8 sequence
 * split; bytes that are not UTF-8 are carried, never looped on). Returns a
 * malloc'd string the caller frees, NULL when out of memory. Pure. */
char *mime_encode_words(const char *s, size_t col);

/* Write date_unix as an RFC 5322 date-time in UTC ("Thu, 01 Jan 1970
 * 00:00:00 +0000") into buf (at least 32 bytes). Returns 0, -1 if the time
 * cannot be represented. */
int mime_format_date(int64_t date_unix, char *buf, size_t buflen);

#endif
