/*
 * json_post.c - the JSON POST helper of the host API (see json_post.h and
 * plugin.h): a FIFO of bodies, at most max_in_flight transfers on the
 * shared multi handle, each answer classified here so every chat, paging
 * or webhook channel classifies alike and none retries by itself.
 */
#include "json_post.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "channel_error.h"
#include "http.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_USER_AGENT "herald"
/* Answers are read for their reason only: keep a bound on what is kept. */
#define RESPONSE_MAX (16 * 1024)
#define RETRY_AFTER_LEN 80
#define MAX_IN_FLIGHT_LIMIT 10000

/* The host side of the ABI, bound by api.c (herald__json_post_bind). */
static struct herald__json_post_host host;

void herald__json_post_bind(const struct herald__json_post_host *h)
{
    host = *h;
}

struct jp_job {
    struct jp_job *next;
    struct herald_json_post *p;
    struct herald_batch *batch;
    size_t index;
    char *body; /* owned copy */
    size_t len;
    CURL *easy;
    char *resp; /* at most RESPONSE_MAX bytes of the answer */
    size_t resp_len;
    char retry_after[RETRY_AFTER_LEN];
};

struct herald_json_post {
    struct herald_instance *inst;
    char *url;
    struct curl_slist *headers; /* may hold credentials: never logged */
    char *ca_file;
    char *user_agent;
    long connect_timeout_ms;
    long timeout_ms;
    long max_in_flight;
    long in_flight;
    struct jp_job *head, *tail; /* waiting for room */
    int closing;
};

/* ---- Classification ----------------------------------------------------- */

static int64_t cap_ms(int64_t ms)
{
    if (ms < 0) {
        return 0;
    }
    return ms > HERALD__JSON_POST_RETRY_AFTER_MAX_MS
               ? HERALD__JSON_POST_RETRY_AFTER_MAX_MS
               : ms;
}

/* Retry-After: delay-seconds or an HTTP date (RFC 9110 10.2.3). */
static int64_t retry_after_ms(const char *v, int64_t now_ms)
{
    const char *p = v;
    int64_t secs = 0;

    if (v == NULL) {
        return 0;
    }
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (isdigit((unsigned char)*p)) {
        for (; isdigit((unsigned char)*p); p++) {
            if (secs > HERALD__JSON_POST_RETRY_AFTER_MAX_MS / 1000) {
                return HERALD__JSON_POST_RETRY_AFTER_MAX_MS;
            }
            secs = secs * 10 + (*p - '0');
        }
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        return *p == '\0' ? cap_ms(secs * 1000) : 0;
    }
    /* libcurl's date parser: every form RFC 9110 allows a sender */
    time_t at = curl_getdate(v, NULL);
    return at < 0 ? 0 : cap_ms((int64_t)at * 1000 - now_ms);
}

/* Append ": <start of body>" as printable ASCII (anything else becomes
 * '?'), so a receiver's answer cannot break a log line. */
static void add_body(char *buf, size_t buflen, const char *body, size_t len)
{
    size_t used = strlen(buf);

    if (body == NULL || len == 0 || used + 3 >= buflen) {
        return;
    }
    if (len > HERALD__JSON_POST_REASON_BODY_MAX) {
        len = HERALD__JSON_POST_REASON_BODY_MAX;
    }
    buf[used++] = ':';
    buf[used++] = ' ';
    for (size_t k = 0; k < len && used + 1 < buflen; k++) {
        unsigned char ch = (unsigned char)body[k];
        buf[used++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    buf[used] = '\0';
}

void herald__json_post_classify(const struct herald__json_post_answer *a,
                                int64_t now_ms,
                                struct herald__json_post_verdict *v)
{
    const char *chan;

    memset(v, 0, sizeof *v);
    if (a->curl_code == HERALD_HTTP_ABORTED) {
        v->outcome = HERALD_RETRY;
        snprintf(v->reason, sizeof v->reason,
                 "transfer aborted: channel closing");
        return;
    }
    if (a->curl_code != CURLE_OK) {
        /* TLS failures and a bad url: no request would get through */
        chan = channel_curl_error(a->curl_code);
        v->outcome = chan != NULL ? HERALD_UNAVAILABLE : HERALD_RETRY;
        snprintf(v->reason, sizeof v->reason, "%s (curl %d: %s)",
                 chan != NULL ? chan : "transport error", a->curl_code,
                 curl_easy_strerror((CURLcode)a->curl_code));
        return;
    }
    if (a->status >= 200 && a->status < 300) {
        v->outcome = HERALD_OK;
        return;
    }
    if (a->status == 401 || a->status == 403) {
        /* a refused credential: the channel's fault, not the record's */
        v->outcome = HERALD_UNAVAILABLE;
        snprintf(v->reason, sizeof v->reason,
                 "credentials refused (check the channel's url and "
                 "headers): HTTP %ld",
                 a->status);
    } else if (a->status == 408 || a->status == 429 || a->status >= 500) {
        v->outcome = HERALD_RETRY;
        v->retry_after_ms = retry_after_ms(a->retry_after, now_ms);
        snprintf(v->reason, sizeof v->reason, "HTTP %ld", a->status);
    } else {
        v->outcome = HERALD_REJECT;
        snprintf(v->reason, sizeof v->reason, "HTTP %ld", a->status);
    }
    add_body(v->reason, sizeof v->reason, a->body, a->body_len);
}

/* ---- Transfers ---------------------------------------------------------- */

static void job_free(struct jp_job *j)
{
    if (j == NULL) {
        return;
    }
    if (j->easy != NULL) {
        curl_easy_cleanup(j->easy);
    }
    free(j->body);
    free(j->resp);
    free(j);
}

static void job_finish(struct jp_job *j, enum herald_outcome o,
                       int64_t retry_after_ms, const char *reason)
{
    const struct herald_host_api *api = host.api;

    api->counter_add(j->p->inst,
                     o == HERALD_OK            ? "sent"
                     : o == HERALD_RETRY       ? "retried"
                     : o == HERALD_UNAVAILABLE ? "unavailable"
                                               : "rejected",
                     1);
    api->complete(j->batch, j->index, o, retry_after_ms, reason);
    job_free(j);
}

static void fail_queue(struct herald_json_post *p, const char *reason)
{
    while (p->head != NULL) {
        struct jp_job *j = p->head;
        p->head = j->next;
        job_finish(j, HERALD_RETRY, 0, reason);
    }
    p->tail = NULL;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct jp_job *j = ctx;
    size_t len = size * n, room = RESPONSE_MAX - j->resp_len;

    if (len > room) {
        len = room;
    }
    if (len > 0) {
        char *np = realloc(j->resp, j->resp_len + len);
        if (np == NULL) {
            return 0; /* ends the transfer with CURLE_WRITE_ERROR: RETRY */
        }
        j->resp = np;
        memcpy(j->resp + j->resp_len, data, len);
        j->resp_len += len;
    }
    return size * n;
}

static size_t on_header(char *line, size_t size, size_t n, void *ctx)
{
    static const char name[] = "Retry-After:";
    struct jp_job *j = ctx;
    size_t len = size * n, b = sizeof name - 1, e = len;

    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        j->retry_after[0] = '\0'; /* a new answer (after 100 Continue) */
        return len;
    }
    if (len <= b || strncasecmp(line, name, b) != 0) {
        return len;
    }
    while (b < len && (line[b] == ' ' || line[b] == '\t')) {
        b++;
    }
    while (e > b && (line[e - 1] == '\r' || line[e - 1] == '\n' ||
                     line[e - 1] == ' ' || line[e - 1] == '\t')) {
        e--;
    }
    if (e - b >= sizeof j->retry_after) {
        e = b + sizeof j->retry_after - 1;
    }
    memcpy(j->retry_after, line + b, e - b);
    j->retry_after[e - b] = '\0';
    return len;
}

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pump(struct herald_json_post *p);

static void on_done(void *ctx, CURL *easy, int curl_code)
{
    const struct herald_host_api *api = host.api;
    struct jp_job *j = ctx;
    struct herald_json_post *p = j->p;
    struct herald__json_post_answer a = {0};
    struct herald__json_post_verdict v;

    if (curl_code != HERALD_HTTP_ABORTED) {
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &a.status);
    }
    a.curl_code = curl_code;
    a.retry_after = j->retry_after[0] ? j->retry_after : NULL;
    a.body = j->resp;
    a.body_len = j->resp_len;
    herald__json_post_classify(&a, wall_ms(), &v);
    p->in_flight--;
    if (v.outcome == HERALD_RETRY) {
        api->log(p->inst, HERALD_LOG_INFO,
                 "will retry (server asked to wait %lld ms): %s",
                 (long long)v.retry_after_ms, v.reason);
    } else if (v.outcome == HERALD_REJECT) {
        api->log(p->inst, HERALD_LOG_WARN, "rejected: %s", v.reason);
    } else if (v.outcome == HERALD_OK) {
        api->log(p->inst, HERALD_LOG_DEBUG, "sent: HTTP %ld", a.status);
    }
    job_finish(j, v.outcome, v.retry_after_ms,
               v.outcome == HERALD_OK ? NULL : v.reason);
    if (curl_code == HERALD_HTTP_ABORTED) {
        p->closing = 1; /* only a closing sender is aborted */
        fail_queue(p, "channel closing");
        return;
    }
    pump(p);
}

static int job_start(struct jp_job *j)
{
    struct herald_json_post *p = j->p;
    CURL *e = curl_easy_init();
    CURLcode rc = CURLE_OK;

    if (e == NULL) {
        return -1;
    }
    j->easy = e;
#define SET(opt, val)                                                          \
    do {                                                                       \
        if (rc == CURLE_OK) {                                                  \
            rc = curl_easy_setopt(e, opt, val);                                \
        }                                                                      \
    } while (0)
    SET(CURLOPT_URL, p->url);
    SET(CURLOPT_PROTOCOLS_STR, "https,http");
    SET(CURLOPT_HTTPHEADER, p->headers);
    SET(CURLOPT_POSTFIELDS, j->body);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->len);
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    SET(CURLOPT_CONNECTTIMEOUT_MS, p->connect_timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, p->timeout_ms);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_USERAGENT, p->user_agent);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, j);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, j);
    if (p->ca_file != NULL) {
        SET(CURLOPT_CAINFO, p->ca_file);
    }
#undef SET
    if (rc != CURLE_OK || host.http(p->inst) == NULL ||
        herald__http_submit_tagged(host.http(p->inst), e, on_done, j, p) != 0) {
        return -1;
    }
    p->in_flight++;
    return 0;
}

static void pump(struct herald_json_post *p)
{
    while (!p->closing && p->head != NULL && p->in_flight < p->max_in_flight) {
        struct jp_job *j = p->head;
        p->head = j->next;
        if (p->head == NULL) {
            p->tail = NULL;
        }
        j->next = NULL;
        if (job_start(j) != 0) {
            host.api->log(p->inst, HERALD_LOG_WARN,
                          "could not start a transfer");
            job_finish(j, HERALD_RETRY, 0, "could not start the transfer");
        }
    }
}

int herald__json_post_send(struct herald_json_post *p, struct herald_batch *b,
                           size_t i, const char *body, size_t len)
{
    struct jp_job *j;

    if (p == NULL || p->closing || body == NULL) {
        return -1;
    }
    j = calloc(1, sizeof *j);
    if (j == NULL) {
        return -1;
    }
    j->body = malloc(len + 1);
    if (j->body == NULL) {
        free(j);
        return -1;
    }
    memcpy(j->body, body, len);
    j->body[len] = '\0';
    j->len = len;
    j->p = p;
    j->batch = b;
    j->index = i;
    if (p->tail != NULL) {
        p->tail->next = j;
    } else {
        p->head = j;
    }
    p->tail = j;
    pump(p);
    return 0;
}

/* ---- Setup -------------------------------------------------------------- */

static int url_ok(const char *s)
{
    if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0) {
        return 0;
    }
    for (; *s; s++) {
        if ((unsigned char)*s <= 0x20 || *s == 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* "Name: value": a token name (RFC 9110 tchar), no control character. */
static int header_ok(const char *s)
{
    const char *colon = strchr(s, ':');

    if (colon == NULL || colon == s) {
        return 0;
    }
    for (const char *q = s; q < colon; q++) {
        if (!isalnum((unsigned char)*q) &&
            strchr("!#$%&'*+-.^_`|~", *q) == NULL) {
            return 0;
        }
    }
    for (const char *q = colon; *q; q++) {
        unsigned char ch = (unsigned char)*q;
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            return 0;
        }
    }
    return 1;
}

static char *dup_or_null(const char *s, int *oom)
{
    char *d;

    if (s == NULL || s[0] == '\0') {
        return NULL;
    }
    d = strdup(s);
    if (d == NULL) {
        *oom = 1;
    }
    return d;
}

struct herald_json_post *
herald__json_post_new(struct herald_instance *inst,
                      const struct herald_json_post_config *cfg, char *err,
                      size_t errlen)
{
    struct herald_json_post_config c;
    struct herald_json_post *p;
    struct curl_slist *l;
    int oom = 0;

    if (inst == NULL || cfg == NULL ||
        cfg->struct_size <
            offsetof(struct herald_json_post_config, url) + sizeof cfg->url) {
        snprintf(err, errlen, "json_post: no configuration");
        return NULL;
    }
    /* what the plugin's header had; members it lacks stay 0 */
    memset(&c, 0, sizeof c);
    memcpy(&c, cfg, cfg->struct_size < sizeof c ? cfg->struct_size : sizeof c);
    if (c.url == NULL || !url_ok(c.url)) {
        snprintf(err, errlen,
                 "url must be an http:// or https:// URL without blanks");
        return NULL;
    }
    if (c.max_in_flight < 1 || c.max_in_flight > MAX_IN_FLIGHT_LIMIT) {
        snprintf(err, errlen, "max_in_flight must be 1 to %d",
                 MAX_IN_FLIGHT_LIMIT);
        return NULL;
    }
    if (c.connect_timeout_ms < 0 || c.timeout_ms < 0) {
        snprintf(err, errlen, "timeouts must not be negative");
        return NULL;
    }
    for (size_t k = 0; k < c.n_headers; k++) {
        if (c.headers == NULL || c.headers[k] == NULL ||
            !header_ok(c.headers[k])) {
            /* the line may hold a credential: name its position only */
            snprintf(err, errlen,
                     "header %zu is not a 'Name: value' line without "
                     "control characters",
                     k + 1);
            return NULL;
        }
    }
    p = calloc(1, sizeof *p);
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->inst = inst;
    p->max_in_flight = c.max_in_flight;
    p->connect_timeout_ms = c.connect_timeout_ms > 0
                                ? (long)c.connect_timeout_ms
                                : DEFAULT_CONNECT_TIMEOUT_MS;
    p->timeout_ms = c.timeout_ms > 0 ? (long)c.timeout_ms : DEFAULT_TIMEOUT_MS;
    p->url = dup_or_null(c.url, &oom);
    p->ca_file = dup_or_null(c.ca_file, &oom);
    p->user_agent =
        dup_or_null(c.user_agent ? c.user_agent : DEFAULT_USER_AGENT, &oom);
    l = curl_slist_append(NULL, "Content-Type: application/json");
    p->headers = l;
    /* no "Expect: 100-continue" round trip before a body */
    l = l ? curl_slist_append(l, "Expect:") : NULL;
    for (size_t k = 0; l != NULL && k < c.n_headers; k++) {
        l = curl_slist_append(l, c.headers[k]);
    }
    if (oom || l == NULL) {
        snprintf(err, errlen, "out of memory");
        herald__json_post_destroy(p);
        return NULL;
    }
    return p;
}

void herald__json_post_destroy(struct herald_json_post *p)
{
    if (p == NULL) {
        return;
    }
    p->closing = 1;
    if (host.http(p->inst) != NULL) {
        /* each running transfer's on_done reports its item RETRY */
        herald__http_abort_tag(host.http(p->inst), p);
    }
    fail_queue(p, "channel closing");
    curl_slist_free_all(p->headers);
    free(p->url);
    free(p->ca_file);
    free(p->user_agent);
    free(p);
}
