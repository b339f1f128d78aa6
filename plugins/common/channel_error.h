/*
 * channel_error.h - the libcurl transfer errors that say the channel is
 * broken rather than the message: TLS failures (handshake, certificate,
 * CA file) and an unusable URL. Shared by the mail channels' classifiers,
 * which report them as HERALD_UNAVAILABLE.
 */
#ifndef HERALD_CHANNEL_ERROR_H
#define HERALD_CHANNEL_ERROR_H

/* A one-line explanation (static) when curl_code (a CURLcode) is a
 * failure of the channel that no other message would get past; NULL
 * otherwise. Pure; any thread. */
const char *channel_curl_error(int curl_code);

#endif
