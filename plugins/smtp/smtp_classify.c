/*
 * smtp_classify.c - SMTP outcome classifier, see smtp_classify.h.
 */
#include "smtp_classify.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "channel_error.h"

/* Replies that refuse the client's authentication (RFC 4954): no message
 * gets through until the credential or the server is fixed. */
static const char *auth_reply(long reply)
{
    switch (reply) {
    case 530:
        return "the server requires authentication (set username and "
               "password)";
    case 534:
        return "the server wants a stronger authentication mechanism";
    case 535:
        return "authentication failed (check username and password)";
    case 538:
        return "the server requires TLS for this authentication mechanism";
    default:
        return NULL;
    }
}

static const char *channel_error(int curl_code, long reply)
{
    const char *why = auth_reply(reply);

    if (why != NULL) {
        return why;
    }
    if (curl_code == CURLE_LOGIN_DENIED) {
        return "authentication failed (check username and password)";
    }
    return channel_curl_error(curl_code);
}

void smtp_classify(int curl_code, long reply, const char *detail,
                   struct smtp_verdict *v)
{
    const char *chan, *what;

    memset(v, 0, sizeof(*v));
    if (curl_code == HERALD_TRANSFER_ABORTED) {
        v->outcome = HERALD_RETRY;
        snprintf(v->reason, sizeof(v->reason),
                 "transfer aborted: channel closing");
        return;
    }
    if (curl_code == CURLE_OK) {
        v->outcome = HERALD_OK;
        return;
    }
    what = (detail != NULL && detail[0] != '\0')
               ? detail
               : curl_easy_strerror((CURLcode)curl_code);
    chan = channel_error(curl_code, reply);
    if (chan != NULL) {
        v->outcome = HERALD_UNAVAILABLE;
        if (reply > 0) {
            snprintf(v->reason, sizeof(v->reason), "%s (SMTP %ld, curl %d: %s)",
                     chan, reply, curl_code, what);
        } else {
            snprintf(v->reason, sizeof(v->reason), "%s (curl %d: %s)", chan,
                     curl_code, what);
        }
        return;
    }
    if (reply >= 400 && reply <= 599) {
        /* 5xx is permanent, except 503 "bad sequence of commands": curl
         * always sends a valid sequence, so a 503 means the server lost
         * the session (Mailpit answers it to MAIL while shutting down).
         * Rejecting it would drop the alert; a new attempt gets a new
         * connection (curl closes one whose SMTP transfer failed). */
        v->outcome =
            reply >= 500 && reply != 503 ? HERALD_REJECT : HERALD_RETRY;
        snprintf(v->reason, sizeof(v->reason), "SMTP %ld (curl %d: %s)", reply,
                 curl_code, what);
        return;
    }
    v->outcome = HERALD_RETRY;
    snprintf(v->reason, sizeof(v->reason), "transport error (curl %d: %s)",
             curl_code, what);
}
