/*
 * hdrtext.h - the one rule for text that ends up in a mail header (from,
 * to, cc, reply_to, subject, header values, display names), shared by the
 * host (notify.c) and the mail channels, which check again.
 *
 * The rule works on code points, not bytes: the text must be valid UTF-8
 * (RFC 3629: no overlong form, no surrogate, nothing above U+10FFFF) and
 * hold no control code point: C0 U+0000-U+001F (TAB only where the caller
 * allows it), DEL U+007F, C1 U+0080-U+009F (NEL U+0085 among them), and
 * the Unicode line breaks U+2028 LINE SEPARATOR and U+2029 PARAGRAPH
 * SEPARATOR. Any of them could end a header line for some reader of the
 * message, so none may come from record data.
 */
#ifndef HERALD_PLUGIN_HDRTEXT_H
#define HERALD_PLUGIN_HDRTEXT_H

#include <stddef.h>
#include <stdint.h>

/* What hdrtext_check reports for a byte that does not start or continue a
 * valid UTF-8 sequence. */
#define HDRTEXT_INVALID 0xFFFFFFFFu

/* Check NUL-terminated s against the rule above (allow_tab: TAB passes).
 * Returns 0, or -1 with the byte offset of the offending sequence in *off
 * and its code point in *cp (HDRTEXT_INVALID for invalid UTF-8); off and
 * cp may be NULL. Pure; any thread. */
int hdrtext_check(const char *s, int allow_tab, size_t *off, uint32_t *cp);

/* Length of the valid UTF-8 sequence at s[0..len), 0 if invalid or
 * truncated; *cp gets its code point. Pure. */
size_t hdrtext_utf8_next(const unsigned char *s, size_t len, uint32_t *cp);

#endif
