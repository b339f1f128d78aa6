/*
 * smtp_classify.c - SMTP outcome classifier, see smtp_classify.h.
 */
#include "smtp_classify.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

static const char *config_error(int code)
{
    switch (code) {
    case CURLE_LOGIN_DENIED:
        return "authentication failed (check username and password)";
    case CURLE_USE_SSL_FAILED:
        return "server does not offer STARTTLS (tls: starttls requires it)";
    case CURLE_PEER_FAILED_VERIFICATION:
        return "TLS certificate verification failed (check ca_file and the "
               "server certificate)";
    case CURLE_SSL_CACERT_BADFILE:
        return "cannot read the CA file (check ca_file)";
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return "bad url";
    default:
        return NULL;
    }
}

void smtp_classify(int curl_code, long reply, const char *detail,
                   struct smtp_verdict *v)
{
    const char *cfg, *what;

    memset(v, 0, sizeof(*v));
    if (curl_code == HERALD_HTTP_ABORTED) {
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
    cfg = config_error(curl_code);
    if (cfg != NULL) {
        v->outcome = HERALD_REJECT;
        snprintf(v->reason, sizeof(v->reason), "%s (curl %d: %s)", cfg,
                 curl_code, what);
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
