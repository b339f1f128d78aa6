/*
 * mime.h - the RFC 5322/MIME message builder shared by the smtp and file
 * channels.
 *
 * Pure: no I/O, no clock (the Date is passed in), no globals, so unit tests
 * assert the exact bytes. Output uses CRLF everywhere, keeps header lines
 * within 78 characters where the content allows, encodes non-ASCII header
 * text as RFC 2047 encoded-words and bodies as RFC 2045 quoted-printable.
 * Lines that start with "." are left alone: the SMTP client (libcurl)
 * dot-stuffs on the wire.
 */
#ifndef HERALD_PLUGIN_MIME_H
#define HERALD_PLUGIN_MIME_H

#include <stddef.h>
#include <stdint.h>

#include <herald/plugin.h>

/* Build the full message m as RFC 5322 text.
 *
 * default_from is used when m->from is NULL or empty (may be NULL).
 * date_unix is the Date header's time (seconds since the epoch, written in
 * UTC as +0000). Message-ID is "<H@herald>" with H the first 128 bits (hex)
 * of SHA-256(idempotency key); the multipart boundary is "=_herald_" and
 * the other 128 bits, so a retried message has the same bytes and a
 * receiver can drop duplicates. Without an idempotency key the source
 * coordinates "topic/partition/offset" are the key.
 *
 * Every address and header is validated again: returns 0 and a malloc'd,
 * NUL-terminated message in *out (length in *out_len; the caller frees it),
 * or -1 with a human reason in err (nothing allocated). Any thread. */
int mime_build(const struct herald_message *m, const char *default_from,
               int64_t date_unix, char **out, size_t *out_len, char *err,
               size_t errlen);

/* Quoted-printable encode in[0..inlen) (RFC 2045 section 6.7): "\n" and
 * "\r\n" become CRLF line breaks, a lone CR is =0D, '=' and every byte
 * outside printable ASCII are =XX, space or TAB before a line break (or at
 * the end) are =20/=09, and soft line breaks ("=" CRLF) keep every line at
 * most 76 characters. Returns a malloc'd NUL-terminated string (length in
 * *out_len if not NULL) the caller frees, or NULL when out of memory. */
char *mime_qp_encode(const char *in, size_t inlen, size_t *out_len);

/* Write date_unix as an RFC 5322 date-time in UTC ("Thu, 01 Jan 1970
 * 00:00:00 +0000") into buf (at least 32 bytes). Returns 0, -1 if the time
 * cannot be represented. */
int mime_format_date(int64_t date_unix, char *buf, size_t buflen);

#endif
