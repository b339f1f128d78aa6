/*
 * sendgrid_classify.h - pure classification of a finished SendGrid Mail
 * Send transfer into a herald outcome (OK, RETRY with a wait, REJECT with
 * a reason). No I/O and no clock: the caller passes "now".
 */
#ifndef HERALD_SENDGRID_CLASSIFY_H
#define HERALD_SENDGRID_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include <herald/plugin.h>

#define SENDGRID_REASON_MAX 512
/* Upper bound on a server-requested wait, against absurd header values. */
#define SENDGRID_MAX_RETRY_AFTER_MS (24LL * 3600 * 1000)

/* What the transfer produced. Header values are NULL when absent. */
struct sendgrid_response {
    int curl_code;    /* CURLcode, or HERALD_HTTP_ABORTED */
    long status;      /* HTTP status; 0 if none was received */
    const char *body; /* response body (need not be NUL-terminated) */
    size_t body_len;
    const char *retry_after;     /* Retry-After: seconds or an HTTP-date */
    const char *ratelimit_reset; /* X-RateLimit-Reset: epoch seconds */
};

struct sendgrid_verdict {
    enum herald_outcome outcome;
    int64_t retry_after_ms;           /* RETRY only; 0: no wait requested */
    char reason[SENDGRID_REASON_MAX]; /* "" for OK */
};

/* Classify r at time now_ms (ms since the epoch) into *v:
 * 2xx OK; 408, 429 and 5xx RETRY, waiting the larger of Retry-After and
 * X-RateLimit-Reset; 401 and 403 (the API key is refused) UNAVAILABLE;
 * other HTTP statuses REJECT; SendGrid's errors[].message (and field) go
 * in the reason. Transport errors RETRY, except the channel's own (TLS
 * handshake or certificate, unreadable CA file, bad URL: see
 * channel_error.h), which are UNAVAILABLE. An aborted transfer (the
 * channel closing) RETRYs. Pure. */
void sendgrid_classify(const struct sendgrid_response *r, int64_t now_ms,
                       struct sendgrid_verdict *v);

/* Milliseconds to wait from a Retry-After value at now_ms: delta-seconds
 * or an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"). 0 when absent,
 * unparsable or in the past; capped at SENDGRID_MAX_RETRY_AFTER_MS. */
int64_t sendgrid_retry_after_ms(const char *value, int64_t now_ms);

#endif
