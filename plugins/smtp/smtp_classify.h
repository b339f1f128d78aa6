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
 * error buffer (may be NULL or ""). CURLE_OK is OK; login denied, a
 * missing STARTTLS, certificate or CA file problems and a bad URL REJECT
 * (configuration: a retry cannot help); otherwise a 5xx reply REJECTs and
 * a 4xx reply, connect errors, timeouts and resets RETRY. Pure. */
void smtp_classify(int curl_code, long reply, const char *detail,
                   struct smtp_verdict *v);

#endif
