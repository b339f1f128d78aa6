/*
 * channel_error.c - libcurl errors of the channel, see channel_error.h.
 * Only CURLcode constants are used: no libcurl function is called.
 */
#include "channel_error.h"

#include <stddef.h>

#include <curl/curl.h>

const char *channel_curl_error(int curl_code)
{
    switch (curl_code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return "bad url";
    case CURLE_USE_SSL_FAILED:
        return "the server does not offer STARTTLS (tls: starttls "
               "requires it)";
    case CURLE_SSL_CONNECT_ERROR:
        return "TLS handshake failed";
    case CURLE_PEER_FAILED_VERIFICATION:
        return "TLS certificate verification failed (check ca_file and the "
               "server certificate)";
    case CURLE_SSL_CACERT_BADFILE:
        return "cannot read the CA file (check ca_file)";
    case CURLE_SSL_CERTPROBLEM:
        return "cannot use the client certificate";
    case CURLE_SSL_CIPHER:
        return "no TLS cipher in common with the server";
    case CURLE_SSL_ISSUER_ERROR:
        return "TLS certificate issuer check failed";
    case CURLE_SSL_CRL_BADFILE:
        return "cannot read the CRL file";
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return "the server's public key does not match the pinned key";
    case CURLE_SSL_INVALIDCERTSTATUS:
        return "the server certificate's status (OCSP) check failed";
    default:
        return NULL;
    }
}
