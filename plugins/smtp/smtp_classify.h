/*
 * smtp_classify.h - pure classification of a finished SMTP transfer into
 * a herald outcome.
 */
#ifndef HERALD_SMTP_CLASSIFY_H
#define HERALD_SMTP_CLASSIFY_H

#include <herald/plugin.h>

#define SMTP_REASON_MAX 512

struct smtp_verdict {
    enum herald_outcome outcome;
    char reason[SMTP_REASON_MAX]; /* "" for OK */
};

/* curl_code: the transfer's CURLcode or HERALD_HTTP_ABORTED; reply: the
 * last SMTP reply code (CURLINFO_RESPONSE_CODE, 0 if none); detail: curl's
 * error buffer (may be NULL or ""). CURLE_OK is OK. UNAVAILABLE (the
 * channel failed, not the message): login denied (CURLE_LOGIN_DENIED) and
 * the authentication replies 530, 534, 535 and 538 (RFC 4954), TLS
 * failures (handshake, certificate, CA file, STARTTLS not offered; see
 * channel_error.h) and a bad URL. Otherwise a 5xx reply REJECTs, except
 * 503, and 503, a 4xx reply, connect errors, timeouts and resets RETRY.
 * An aborted transfer (the channel closing) RETRYs. Pure. */
void smtp_classify(int curl_code, long reply, const char *detail,
                   struct smtp_verdict *v);

#endif
