/*
 * mime.c - RFC 5322/MIME message builder, see mime.h.
 */
#include "mime.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "addr.h"

#define LINE_MAX_SOFT 78  /* RFC 5322 2.1.1 "SHOULD" limit */
#define LINE_MAX_HARD 998 /* RFC 5322 2.1.1 "MUST" limit */
#define EW_OVERHEAD 12    /* "=?UTF-8?B?" + "?=" */
/* Random bytes in a boundary or a key-less Message-ID: 128 bits, so that
 * nobody can guess the boundary a message will get. */
#define RANDOM_ID_BYTES 16
#define BOUNDARY_PREFIX "=_herald_"
/* A random boundary found in a part is drawn again; with 128 random bits
 * a second draw already never happens in practice. */
#define BOUNDARY_TRIES 8
/* Longest display name written, in octets (a mailbox must stay readable,
 * and an encoded name folds into at most a few lines). */
#define DISPLAY_NAME_MAX 256

/* Growable output buffer; an allocation failure sticks in oom. */
struct mbuf {
    char *p;
    size_t len;
    size_t cap;
    int oom;
};

static void put_n(struct mbuf *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *p;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void put(struct mbuf *b, const char *s)
{
    put_n(b, s, strlen(s));
}

static const char hexdig[] = "0123456789ABCDEF";

/* ---- quoted-printable ------------------------------------------------ */

static void qp_encode(struct mbuf *b, const char *in, size_t inlen)
{
    size_t i = 0, col = 0;

    while (i < inlen) {
        unsigned char c = (unsigned char)in[i];
        char tok[3];
        size_t toklen, next;
        int last; /* last character before a line break or the end */

        if (c == '\n' || (c == '\r' && i + 1 < inlen && in[i + 1] == '\n')) {
            put(b, "\r\n");
            col = 0;
            i += c == '\r' ? 2 : 1;
            continue;
        }
        next = i + 1;
        last = next == inlen || in[next] == '\n' ||
               (in[next] == '\r' && next + 1 < inlen && in[next + 1] == '\n');
        /* A '-' starting a line is =2D, so an encoded part never holds a
         * line that looks like a MIME boundary ("--..."). */
        if ((c >= 33 && c <= 126 && c != '=' && !(c == '-' && col == 0)) ||
            ((c == ' ' || c == '\t') && !last)) {
            tok[0] = (char)c;
            toklen = 1;
        } else {
            tok[0] = '=';
            tok[1] = hexdig[c >> 4];
            tok[2] = hexdig[c & 15];
            toklen = 3;
        }
        /* Keep room for a soft break '=' unless this ends the line. */
        if (col + toklen > (last ? 76u : 75u)) {
            put(b, "=\r\n");
            col = 0;
            if (c == '-') {
                tok[0] = '=';
                tok[1] = '2';
                tok[2] = 'D';
                toklen = 3;
            }
        }
        put_n(b, tok, toklen);
        col += toklen;
        i = next;
    }
}

char *mime_qp_encode(const char *in, size_t inlen, size_t *out_len)
{
    struct mbuf b = {0};

    put(&b, "");
    qp_encode(&b, in, inlen);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (out_len != NULL) {
        *out_len = b.len;
    }
    return b.p;
}

/* ---- header text ----------------------------------------------------- */

static void base64(struct mbuf *b, const unsigned char *s, size_t n)
{
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    char q[4];

    for (i = 0; i + 2 < n; i += 3) {
        q[0] = tbl[s[i] >> 2];
        q[1] = tbl[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
        q[2] = tbl[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)];
        q[3] = tbl[s[i + 2] & 63];
        put_n(b, q, 4);
    }
    if (n - i == 1) {
        q[0] = tbl[s[i] >> 2];
        q[1] = tbl[(s[i] & 3) << 4];
        q[2] = q[3] = '=';
        put_n(b, q, 4);
    } else if (n - i == 2) {
        q[0] = tbl[s[i] >> 2];
        q[1] = tbl[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
        q[2] = tbl[(s[i + 1] & 15) << 2];
        q[3] = '=';
        put_n(b, q, 4);
    }
}

/* Write s as RFC 2047 B encoded-words starting at *col; each word fits the
 * line, later words go on folded lines, and no UTF-8 sequence is split
 * (a decoder joins adjacent encoded-words, ignoring the folding). */
static void put_encoded_words(struct mbuf *b, size_t *col, const char *s)
{
    size_t len = strlen(s), pos = 0;

    do {
        size_t avail, n;

        avail = *col + EW_OVERHEAD + 8 <= LINE_MAX_SOFT
                    ? LINE_MAX_SOFT - *col - EW_OVERHEAD
                    : 0;
        n = avail / 4 * 3;
        if (n > len - pos) {
            n = len - pos;
        }
        /* Back off to the start of a UTF-8 sequence: at most 3 bytes, so
         * a run of stray continuation bytes (invalid UTF-8) cannot back
         * off to nothing and loop forever. */
        for (size_t k = 0; k < 3 && n > 0 && pos + n < len &&
                           ((unsigned char)s[pos + n] & 0xC0) == 0x80;
             k++) {
            n--;
        }
        if (n == 0 && len > pos) {
            if (*col > 1) {
                put(b, "\r\n ");
                *col = 1;
                continue;
            }
            /* A fresh line and still nothing fits: cannot happen with the
             * limits above, but never spin. */
            n = len - pos < 3 ? len - pos : 3;
        }
        put(b, "=?UTF-8?B?");
        base64(b, (const unsigned char *)s + pos, n);
        put(b, "?=");
        *col += EW_OVERHEAD + (n + 2) / 3 * 4;
        pos += n;
        if (pos < len) {
            put(b, "\r\n ");
            *col = 1;
        }
    } while (pos < len && !b->oom);
}

char *mime_encode_words(const char *s, size_t col)
{
    struct mbuf b = {0};

    put(&b, "");
    put_encoded_words(&b, &col, s);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* Unstructured text (Subject, extra header values) needs encoded-words
 * when it is not plain ASCII, could be mistaken for an encoded-word, or has
 * a word too long to fold. */
static int needs_encoding(const char *s)
{
    size_t run = 0;

    if (strstr(s, "=?") != NULL) {
        return 1;
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x80 || (c < 0x20 && c != '\t') || c == 0x7f) {
            return 1;
        }
        run = (c == ' ' || c == '\t') ? 0 : run + 1;
        if (run > LINE_MAX_SOFT - 2) {
            return 1;
        }
    }
    return 0;
}

/* Write unstructured ASCII text folded before whitespace to keep lines
 * within 78 characters. Unfolding (removing CRLF) restores s exactly. */
static void put_folded(struct mbuf *b, size_t *col, const char *s)
{
    while (*s) {
        size_t n = 0;
        while (s[n] == ' ' || s[n] == '\t') {
            n++;
        }
        while (s[n] && s[n] != ' ' && s[n] != '\t') {
            n++;
        }
        if (*col + n > LINE_MAX_SOFT && (*s == ' ' || *s == '\t')) {
            put(b, "\r\n");
            *col = 0;
        }
        put_n(b, s, n);
        *col += n;
        s += n;
    }
}

static void put_unstructured(struct mbuf *b, size_t *col, const char *s)
{
    if (needs_encoding(s)) {
        put_encoded_words(b, col, s);
    } else {
        put_folded(b, col, s);
    }
}

/* ---- addresses ------------------------------------------------------- */

enum phrase_form { PHRASE_ATOMS, PHRASE_QUOTED, PHRASE_ENCODED };

static enum phrase_form phrase_form(const char *name)
{
    enum phrase_form f = PHRASE_ATOMS;
    const char *p;

    if (strstr(name, "=?") != NULL) {
        f = PHRASE_QUOTED;
    }
    for (p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x80) {
            return PHRASE_ENCODED;
        }
        if (c != ' ' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') &&
            (c < '0' || c > '9') && !strchr("!#$%&'*+-/=?^_`{|}~", c)) {
            f = PHRASE_QUOTED;
        }
    }
    if (name[0] == ' ' || (name[0] && name[strlen(name) - 1] == ' ')) {
        f = PHRASE_QUOTED;
    }
    return f;
}

/* Write " " and one mailbox ("Name <a@b>" or "a@b") at *col, folding
 * before it (after the separator already written) when it would overflow.
 * A name that would not fit on one line even on its own is written as
 * encoded-words, which fold. Returns 0, or -1 with err for a display name
 * over DISPLAY_NAME_MAX octets. */
static int put_mailbox(struct mbuf *b, size_t *col, const struct addr *a,
                       char *err, size_t errlen)
{
    struct mbuf piece = {0};
    size_t elen = strlen(a->email);
    enum phrase_form form = PHRASE_ATOMS;

    if (a->name != NULL) {
        size_t nlen = strlen(a->name);
        if (nlen > DISPLAY_NAME_MAX) {
            snprintf(err, errlen, "display name is longer than %d octets (%zu)",
                     DISPLAY_NAME_MAX, nlen);
            return -1;
        }
        form = phrase_form(a->name);
        /* quotes and escapes add at most nlen + 2; "<" ">" and a space 3 */
        if (form != PHRASE_ENCODED &&
            1 + 2 * nlen + 2 + 3 + elen > LINE_MAX_SOFT) {
            form = PHRASE_ENCODED;
        }
    }
    if (a->name != NULL && form == PHRASE_ENCODED) {
        if (*col + 1 + EW_OVERHEAD + 8 > LINE_MAX_SOFT) {
            put(b, "\r\n");
            *col = 0;
        }
        put(b, " ");
        *col += 1;
        put_encoded_words(b, col, a->name);
        if (*col + 3 + elen > LINE_MAX_SOFT) {
            put(b, "\r\n");
            *col = 0;
        }
        put(b, " <");
        put(b, a->email);
        put(b, ">");
        *col += 3 + elen;
        return 0;
    }
    if (a->name != NULL) {
        if (form == PHRASE_QUOTED) {
            const char *p;
            put(&piece, "\"");
            for (p = a->name; *p; p++) {
                if (*p == '"' || *p == '\\') {
                    put(&piece, "\\");
                }
                put_n(&piece, p, 1);
            }
            put(&piece, "\"");
        } else {
            put(&piece, a->name);
        }
        put(&piece, " <");
        put(&piece, a->email);
        put(&piece, ">");
    } else {
        put(&piece, a->email);
    }
    if (piece.oom) {
        b->oom = 1;
    } else {
        if (*col + 1 + piece.len > LINE_MAX_SOFT) {
            put(b, "\r\n");
            *col = 0;
        }
        put(b, " ");
        *col += 1;
        put_n(b, piece.p, piece.len);
        *col += piece.len;
    }
    free(piece.p);
    return 0;
}

/* Parse, validate and write "Name: addr, addr\r\n". */
static int put_address_header(struct mbuf *b, const char *name,
                              const char *const *list, size_t n, char *err,
                              size_t errlen)
{
    size_t i, col;
    char why[160];

    put(b, name);
    put(b, ":");
    col = strlen(name) + 1;
    for (i = 0; i < n; i++) {
        struct addr a;
        if (addr_parse(list[i], &a, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s: %s", name, why);
            return -1;
        }
        if (i > 0) {
            put(b, ",");
            col++;
        }
        if (put_mailbox(b, &col, &a, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s: %s", name, why);
            addr_cleanup(&a);
            return -1;
        }
        addr_cleanup(&a);
    }
    put(b, "\r\n");
    return 0;
}

/* ---- headers --------------------------------------------------------- */

static const char *const reserved_headers[] = {
    "Date",
    "From",
    "Sender",
    "To",
    "Cc",
    "Bcc",
    "Reply-To",
    "Subject",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "X-Herald-Source",
    "Return-Path",
    NULL,
};

static int header_name_ok(const char *name, char *err, size_t errlen)
{
    const char *p;
    size_t i;

    if (name == NULL || name[0] == '\0' || strlen(name) > 76) {
        snprintf(err, errlen, "header name is empty or too long");
        return -1;
    }
    for (p = name; *p; p++) {
        if (*p < 33 || *p > 126 || *p == ':') {
            snprintf(err, errlen,
                     "header name '%.40s' has a character "
                     "not allowed in a field name",
                     name);
            return -1;
        }
    }
    for (i = 0; reserved_headers[i] != NULL; i++) {
        if (strcasecmp(name, reserved_headers[i]) == 0) {
            snprintf(err, errlen,
                     "header '%s' is set by herald and cannot "
                     "be overridden",
                     reserved_headers[i]);
            return -1;
        }
    }
    return 0;
}

int mime_format_date(int64_t date_unix, char *buf, size_t buflen)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)date_unix;
    struct tm tm;

    if ((int64_t)t != date_unix || gmtime_r(&t, &tm) == NULL ||
        tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 1900) {
        return -1;
    }
    snprintf(buf, buflen, "%s, %02d %s %04d %02d:%02d:%02d +0000",
             days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    return 0;
}

/* Whether text can travel as 7bit: ASCII without NUL or bare CR, lines of
 * at most 998 octets (RFC 5322), and no line starting with "--", which a
 * MIME parser could take for a boundary (record data rendered into the
 * text must not be able to close the part and open its own). Most alerts
 * can, and then the message reads as written, in an .eml file and on the
 * wire; anything else is quoted-printable, whose lines never start with
 * "-" (qp_encode writes =2D). */
static int fits_7bit(const char *text)
{
    size_t col = 0;

    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '\n') {
            col = 0;
            continue;
        }
        if (*p >= 0x80 || (*p == '\r' && p[1] != '\n')) {
            return 0;
        }
        if (col == 0 && p[0] == '-' && p[1] == '-') {
            return 0;
        }
        if (*p != '\r' && ++col > LINE_MAX_HARD) {
            return 0;
        }
    }
    return 1;
}

/* One part, encoded: its two headers, then the body, into pb. The CRLF
 * before a boundary belongs to the boundary, so a part keeps the text's
 * trailing newline or its absence exactly; a single-part message always
 * ends with CRLF (SMTP sends lines). */
static void put_part(struct mbuf *pb, const char *subtype, const char *text,
                     int end_with_crlf)
{
    size_t len = strlen(text);
    int seven = fits_7bit(text);

    put(pb, "Content-Type: text/");
    put(pb, subtype);
    put(pb, seven ? "; charset=UTF-8\r\n"
                    "Content-Transfer-Encoding: 7bit\r\n\r\n"
                  : "; charset=UTF-8\r\n"
                    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    if (seven) {
        for (size_t i = 0; i < len; i++) {
            if (text[i] == '\r' && text[i + 1] == '\n') {
                continue; /* the LF writes the CRLF */
            }
            if (text[i] == '\n') {
                put(pb, "\r\n");
            } else {
                put_n(pb, &text[i], 1);
            }
        }
    } else {
        qp_encode(pb, text, len);
    }
    if (end_with_crlf && len > 0 && text[len - 1] != '\n') {
        put(pb, "\r\n");
    }
}

static void hex_of(const unsigned char *in, size_t n, char *out)
{
    static const char lower[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = lower[in[i] >> 4];
        out[2 * i + 1] = lower[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* 2 * RANDOM_ID_BYTES random hex digits into out. 0 or -1. */
static int random_hex(mime_random_fn rnd, void *ctx, char *out)
{
    unsigned char r[RANDOM_ID_BYTES];

    if (rnd(ctx, r, sizeof(r)) != 0) {
        return -1;
    }
    hex_of(r, sizeof(r), out);
    return 0;
}

int mime_random_os(void *ctx, unsigned char *buf, size_t len)
{
    size_t got = 0;

    (void)ctx;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0) {
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

int mime_idempotency_ok(const char *key)
{
    size_t i;

    if (key == NULL) {
        return 0;
    }
    for (i = 0; key[i]; i++) {
        if (!((key[i] >= '0' && key[i] <= '9') ||
              (key[i] >= 'a' && key[i] <= 'f'))) {
            return 0;
        }
    }
    return i == MIME_KEY_HEX;
}

int mime_build(const struct herald_message *m, const char *default_from,
               int64_t date_unix, char **out, size_t *out_len, char *err,
               size_t errlen)
{
    return mime_build_r(m, default_from, date_unix, mime_random_os, NULL, out,
                        out_len, err, errlen);
}

int mime_build_r(const struct herald_message *m, const char *default_from,
                 int64_t date_unix, mime_random_fn rnd, void *rnd_ctx,
                 char **out, size_t *out_len, char *err, size_t errlen)
{
    struct mbuf b = {0}, parts[2] = {{0}, {0}};
    char date[64], coords[64];
    char msgid[2 * RANDOM_ID_BYTES + 1], boundary[2 * RANDOM_ID_BYTES + 1];
    const char *from, *text, *html;
    const char *one[1];
    size_t i, col;
    int rc = -1;

    from = (m->from != NULL && m->from[0] != '\0') ? m->from : default_from;
    if (from == NULL || from[0] == '\0') {
        snprintf(err, errlen, "message has no From address");
        goto done;
    }
    if (m->n_to + m->n_cc == 0) {
        snprintf(err, errlen, "message has no recipient");
        goto done;
    }
    if (mime_format_date(date_unix, date, sizeof(date)) != 0) {
        snprintf(err, errlen, "date out of range");
        goto done;
    }
    if (m->topic != NULL && !addr_text_safe(m->topic)) {
        snprintf(err, errlen, "source topic holds a control character");
        goto done;
    }
    snprintf(coords, sizeof(coords), "/%" PRId32 "/%" PRId64, m->partition,
             m->offset);
    /* The host's keyed hash of the dedup key makes a retried message carry
     * the same Message-ID; anything else might hold record data, so it is
     * never written and the Message-ID is random instead. */
    if (mime_idempotency_ok(m->idempotency_key)) {
        memcpy(msgid, m->idempotency_key, MIME_ID_HEX);
        msgid[MIME_ID_HEX] = '\0';
    } else if (random_hex(rnd, rnd_ctx, msgid) != 0) {
        snprintf(err, errlen, "no random bytes for the Message-ID");
        goto done;
    }

    put(&b, "Date: ");
    put(&b, date);
    put(&b, "\r\n");
    one[0] = from;
    if (put_address_header(&b, "From", one, 1, err, errlen) != 0) {
        goto done;
    }
    if (m->n_to > 0 &&
        put_address_header(&b, "To", m->to, m->n_to, err, errlen) != 0) {
        goto done;
    }
    if (m->n_cc > 0 &&
        put_address_header(&b, "Cc", m->cc, m->n_cc, err, errlen) != 0) {
        goto done;
    }
    if (m->reply_to != NULL && m->reply_to[0] != '\0') {
        one[0] = m->reply_to;
        if (put_address_header(&b, "Reply-To", one, 1, err, errlen) != 0) {
            goto done;
        }
    }
    if (m->subject != NULL && m->subject[0] != '\0') {
        if (!addr_text_safe(m->subject)) {
            snprintf(err, errlen, "subject holds a control character");
            goto done;
        }
        put(&b, "Subject: ");
        col = 9;
        put_unstructured(&b, &col, m->subject);
        put(&b, "\r\n");
    }
    put(&b, "Message-ID: <");
    put(&b, msgid);
    put(&b, "@herald>\r\nMIME-Version: 1.0\r\nX-Herald-Source: ");
    col = 17;
    put_folded(&b, &col, m->topic != NULL ? m->topic : "");
    put(&b, coords);
    put(&b, "\r\n");
    for (i = 0; i < m->n_headers; i++) {
        const struct herald_header *h = herald_message_header(m, i);
        if (header_name_ok(h->name, err, errlen) != 0) {
            goto done;
        }
        if (h->value == NULL || !addr_text_safe(h->value)) {
            snprintf(err, errlen,
                     "header '%s' value holds a control "
                     "character",
                     h->name);
            goto done;
        }
        put(&b, h->name);
        put(&b, ": ");
        col = strlen(h->name) + 2;
        put_unstructured(&b, &col, h->value);
        put(&b, "\r\n");
    }

    text = m->text;
    html = m->html;
    if (text != NULL && html != NULL) {
        int tries = 0;
        put_part(&parts[0], "plain", text, 0);
        put_part(&parts[1], "html", html, 0);
        if (parts[0].oom || parts[1].oom) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        /* A random boundary, drawn again in the (astronomically unlikely)
         * case that a part holds it. */
        do {
            if (++tries > BOUNDARY_TRIES ||
                random_hex(rnd, rnd_ctx, boundary) != 0) {
                snprintf(err, errlen,
                         "no random bytes for a MIME boundary "
                         "that the body does not hold");
                goto done;
            }
        } while (strstr(parts[0].p, boundary) != NULL ||
                 strstr(parts[1].p, boundary) != NULL);
        put(&b, "Content-Type: multipart/alternative;\r\n boundary=\"");
        put(&b, BOUNDARY_PREFIX);
        put(&b, boundary);
        for (i = 0; i < 2; i++) {
            put(&b, i == 0 ? "\"\r\n\r\n--" : "\r\n--");
            put(&b, BOUNDARY_PREFIX);
            put(&b, boundary);
            put(&b, "\r\n");
            put_n(&b, parts[i].p, parts[i].len);
        }
        put(&b, "\r\n--");
        put(&b, BOUNDARY_PREFIX);
        put(&b, boundary);
        put(&b, "--\r\n");
    } else if (html != NULL) {
        put_part(&b, "html", html, 1);
    } else {
        put_part(&b, "plain", text != NULL ? text : "", 1);
    }
    if (b.oom) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    *out = b.p;
    *out_len = b.len;
    b.p = NULL;
    rc = 0;

done:
    free(b.p);
    free(parts[0].p);
    free(parts[1].p);
    return rc;
}
