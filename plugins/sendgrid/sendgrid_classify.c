/*
 * sendgrid_classify.c - SendGrid outcome classifier, see
 * sendgrid_classify.h.
 */
#include "sendgrid_classify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "channel_error.h"

static int64_t cap(int64_t ms)
{
    if (ms < 0) {
        return 0;
    }
    return ms > SENDGRID_MAX_RETRY_AFTER_MS ? SENDGRID_MAX_RETRY_AFTER_MS : ms;
}

/* Parse a non-negative decimal that fills s (surrounding blanks allowed). */
static int parse_uint(const char *s, int64_t *out)
{
    int64_t v = 0;
    int digits = 0;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        if (v > (INT64_MAX - 9) / 10) {
            return -1;
        }
        v = v * 10 + (*s - '0');
    }
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if (digits == 0 || *s != '\0') {
        return -1;
    }
    *out = v;
    return 0;
}

static int64_t http_date_ms(const char *s)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    char wday[4], mon[4], zone[4];
    struct tm tm;
    int i;

    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, " %3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3s", wday,
               &tm.tm_mday, mon, &tm.tm_year, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, zone) != 8 ||
        strcmp(zone, "GMT") != 0) {
        return -1;
    }
    for (i = 0; i < 12 && strcmp(mon, months[i]) != 0; i++) {
    }
    if (i == 12) {
        return -1;
    }
    tm.tm_mon = i;
    tm.tm_year -= 1900;
    return (int64_t)timegm(&tm) * 1000;
}

int64_t sendgrid_retry_after_ms(const char *value, int64_t now_ms)
{
    int64_t secs, at;

    if (value == NULL) {
        return 0;
    }
    if (parse_uint(value, &secs) == 0) {
        return cap(secs > SENDGRID_MAX_RETRY_AFTER_MS / 1000
                       ? SENDGRID_MAX_RETRY_AFTER_MS
                       : secs * 1000);
    }
    at = http_date_ms(value);
    return at < 0 ? 0 : cap(at - now_ms);
}

static int64_t reset_ms(const char *value, int64_t now_ms)
{
    int64_t epoch;

    if (value == NULL || parse_uint(value, &epoch) != 0 ||
        epoch > INT64_MAX / 1000) {
        return 0;
    }
    return cap(epoch * 1000 - now_ms);
}

/* Append SendGrid's "errors":[{"message","field"}] to the reason. */
static void add_errors(char *buf, size_t buflen, const char *body, size_t len)
{
    json_t *root, *errs, *e;
    size_t i, used = strlen(buf);

    root = json_loadb(body, len, 0, NULL);
    errs = json_object_get(root, "errors");
    json_array_foreach (errs, i, e) {
        const char *msg = json_string_value(json_object_get(e, "message"));
        const char *field = json_string_value(json_object_get(e, "field"));
        int w;
        if (msg == NULL) {
            continue;
        }
        if (field != NULL && field[0] != '\0') {
            w = snprintf(buf + used, buflen - used, "%s%s (field %s)",
                         i > 0 ? "; " : ": ", msg, field);
        } else {
            w = snprintf(buf + used, buflen - used, "%s%s", i > 0 ? "; " : ": ",
                         msg);
        }
        if (w < 0 || (size_t)w >= buflen - used) {
            /* truncated: mark it so a reader knows */
            if (buflen >= 4) {
                memcpy(buf + buflen - 4, "...", 4);
            }
            break;
        }
        used += (size_t)w;
    }
    json_decref(root);
}

void sendgrid_classify(const struct sendgrid_response *r, int64_t now_ms,
                       struct sendgrid_verdict *v)
{
    const char *chan;
    int64_t a, b;

    memset(v, 0, sizeof(*v));
    if (r->curl_code == HERALD_TRANSFER_ABORTED) {
        v->outcome = HERALD_RETRY;
        snprintf(v->reason, sizeof(v->reason),
                 "transfer aborted: channel "
                 "closing");
        return;
    }
    if (r->curl_code != CURLE_OK) {
        /* TLS failures and a bad base_url: no request gets through */
        chan = channel_curl_error(r->curl_code);
        v->outcome = chan != NULL ? HERALD_UNAVAILABLE : HERALD_RETRY;
        snprintf(v->reason, sizeof(v->reason), "%s (curl %d: %s)",
                 chan != NULL ? chan : "transport error", r->curl_code,
                 curl_easy_strerror((CURLcode)r->curl_code));
        return;
    }
    if (r->status >= 200 && r->status < 300) {
        v->outcome = HERALD_OK;
        return;
    }
    snprintf(v->reason, sizeof(v->reason), "HTTP %ld", r->status);
    if (r->status == 401 || r->status == 403) {
        /* A revoked, rotated or under-privileged API key: the channel's
         * fault, not the message's. */
        v->outcome = HERALD_UNAVAILABLE;
        snprintf(v->reason, sizeof(v->reason),
                 "API key refused (check api_key and its mail send "
                 "permission): HTTP %ld",
                 r->status);
    } else if (r->status == 408 || r->status == 429 || r->status >= 500) {
        v->outcome = HERALD_RETRY;
        a = sendgrid_retry_after_ms(r->retry_after, now_ms);
        b = reset_ms(r->ratelimit_reset, now_ms);
        v->retry_after_ms = a > b ? a : b;
    } else {
        v->outcome = HERALD_REJECT;
    }
    if (r->body != NULL && r->body_len > 0) {
        add_errors(v->reason, sizeof(v->reason), r->body, r->body_len);
    }
}
