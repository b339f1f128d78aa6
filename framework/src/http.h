/*
 * http.h - the shared libcurl multi handle driven by the loop (http.c).
 *
 * One multi handle per process, the libcurl multi-socket-on-libuv pattern:
 * curl tells us which sockets to watch and when to wake it; we tell curl
 * what happened. Every transfer (schema registry, SendGrid, SMTP) runs here,
 * concurrently, without threads.
 */
#ifndef HERALD_HTTP_H
#define HERALD_HTTP_H

#include <curl/curl.h>

struct herald__loop;
struct herald__http;

/* Called once on the loop thread when the transfer ends; result is the
 * transfer's CURLcode, or -1 (HERALD_HTTP_ABORTED) when cancelled. The easy
 * handle is removed from the multi handle and is the caller's again. */
typedef void (*herald__http_done_fn)(void *ctx, CURL *easy, int result);

struct herald__http *herald__http_new(struct herald__loop *loop);
/* Aborts every transfer still running (their callbacks run), frees. */
void herald__http_destroy(struct herald__http *h);
int herald__http_submit(struct herald__http *h, CURL *easy,
                        herald__http_done_fn done, void *ctx);
/* Aborts transfers whose ctx tag matches (owner), e.g. a closing plugin
 * instance. The tag is set by submit_tagged. */
int herald__http_submit_tagged(struct herald__http *h, CURL *easy,
                               herald__http_done_fn done, void *ctx,
                               const void *tag);
void herald__http_abort_tag(struct herald__http *h, const void *tag);
/* Number of transfers in flight. */
int herald__http_active(const struct herald__http *h);

#endif
