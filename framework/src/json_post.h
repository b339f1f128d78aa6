/*
 * json_post.h - the host's JSON POST helper (json_post.c), handed to
 * plugins as api->json_post_new/_send/_destroy (plugin.h): one JSON body
 * per item to one URL on the shared curl multi handle, at most
 * max_in_flight at once, each answer classified into an outcome.
 */
#ifndef HERALD_JSON_POST_H
#define HERALD_JSON_POST_H

#include <stddef.h>
#include <stdint.h>

#include "herald/plugin.h"

struct herald__http;

/* The longest wait a Retry-After may ask for (1 h): a bigger value, or a
 * date further off, is taken as this. */
#define HERALD__JSON_POST_RETRY_AFTER_MAX_MS (3600 * 1000)
/* How much of an answer's body goes into a reason. */
#define HERALD__JSON_POST_REASON_BODY_MAX 200

/* One finished transfer as the classifier sees it. */
struct herald__json_post_answer {
    int curl_code;           /* CURLcode, or HERALD_HTTP_ABORTED */
    long status;             /* HTTP status; 0 if none arrived */
    const char *retry_after; /* the Retry-After value, or NULL */
    const char *body;        /* the answer's body (not NUL-terminated) */
    size_t body_len;
};

struct herald__json_post_verdict {
    enum herald_outcome outcome;
    int64_t retry_after_ms; /* RETRY only */
    char reason[512];       /* empty for OK */
};

/* Classify an answer (the table in plugin.h) at wall-clock time now_ms (for
 * a Retry-After given as an HTTP date). Pure; any thread. */
void herald__json_post_classify(const struct herald__json_post_answer *a,
                                int64_t now_ms,
                                struct herald__json_post_verdict *v);

/* What the helper uses of the host side of the ABI, which api.c owns and
 * binds here (it also puts the functions below in its host API table):
 * the table (log, counter_add, complete) and an instance's HTTP engine.
 * Bound this way, json_post.c does not include api.h and the two modules
 * do not include each other. */
struct herald__json_post_host {
    const struct herald_host_api *api;
    struct herald__http *(*http)(const struct herald_instance *inst);
};

/* Bind the host (copied). api.c calls it before it creates the first
 * instance, on the loop thread, before any sender exists. */
void herald__json_post_bind(const struct herald__json_post_host *host);

/* The host API members (plugin.h has their contracts). */
struct herald_json_post *
herald__json_post_new(struct herald_instance *inst,
                      const struct herald_json_post_config *cfg, char *err,
                      size_t errlen);
int herald__json_post_send(struct herald_json_post *p, struct herald_batch *b,
                           size_t i, const char *body, size_t len);
void herald__json_post_destroy(struct herald_json_post *p);

#endif
