/*
 * sendgrid.c - the `sendgrid` notify channel: lifecycle, option table and
 * the exported plugin struct.
 *
 * Each message becomes one POST {base_url}/v3/mail/send built by
 * sendgrid_payload.c and run on the host's shared curl multi handle
 * (api->transfer_submit), so many are in flight without threads. At most
 * max_in_flight transfers are submitted; further items wait in a FIFO here.
 * The outcome of each transfer is classified by sendgrid_classify.c; the
 * plugin never retries by itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include <herald/plugin.h>

#include "addr.h"
#include "sendgrid_classify.h"
#include "sendgrid_payload.h"

#define RESPONSE_MAX (16 * 1024) /* error bodies are small; keep a bound */

static const struct herald_host_api *api;

static const struct herald_option sendgrid_options[] = {
    {"api_key", HERALD_OPT_STRING, NULL, 1, 1, NULL,
     "SendGrid API key with Mail Send permission"},
    {"base_url", HERALD_OPT_STRING, "https://api.sendgrid.com", 0, 0, NULL,
     "API base URL (EU region: https://api.eu.sendgrid.com)"},
    {"from", HERALD_OPT_STRING, NULL, 0, 0, NULL,
     "From address when the template gives none (a verified sender)"},
    {"categories", HERALD_OPT_LIST, NULL, 0, 0, NULL,
     "categories added to every message (at most 10)"},
    {"sandbox_mode", HERALD_OPT_BOOL, "false", 0, 0, NULL,
     "validate requests without sending (mail_settings.sandbox_mode)"},
    {"max_in_flight", HERALD_OPT_INT, "64", 0, 0, NULL,
     "most requests running at once; more wait in the channel"},
    {"connect_timeout", HERALD_OPT_DURATION, "10s", 0, 0, NULL,
     "time allowed to connect (TCP and TLS)"},
    {"timeout", HERALD_OPT_DURATION, "30s", 0, 0, NULL,
     "time allowed for a whole request"},
    {"ca_file", HERALD_OPT_STRING, NULL, 0, 0, NULL,
     "PEM file of CA certificates instead of the system store"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

struct sendgrid;

/* One message on its way: queued, then one curl transfer. */
struct sg_job {
    struct sg_job *next;
    struct sendgrid *sg;
    struct herald_batch *batch;
    size_t index;
    char *body; /* JSON request, owned */
    CURL *easy;
    char *resp; /* response body, at most RESPONSE_MAX bytes */
    size_t resp_len;
    char retry_after[80];
    char reset[32];
    char message_id[128];
};

struct sendgrid {
    struct herald_instance *inst;
    char *url;
    struct curl_slist *headers; /* holds the key: never logged */
    const char *ca_file;        /* borrowed from the options */
    long connect_timeout_ms;
    long timeout_ms;
    long max_in_flight;
    long in_flight;
    const char **categories;
    struct sendgrid_payload_opts popts;
    struct sg_job *head, *tail; /* waiting to be submitted */
    int closing;
};

static int sendgrid_init(const struct herald_host_api *host, char *err,
                         size_t errlen)
{
    /* The loader checked the major; transfer_submit is the newest member
     * this plugin calls (ABI 1.1). */
    if (!HERALD_API_HAS(host, transfer_submit)) {
        snprintf(err, errlen, "host API has no transfer_submit (ABI 1.1)");
        return -1;
    }
    api = host;
    return 0;
}

static void job_free(struct sg_job *j)
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

static void count(struct sendgrid *sg, const char *name)
{
    if (api->counter_add != NULL) {
        api->counter_add(sg->inst, name, 1);
    }
}

/* Report a job's outcome and free it. */
static void job_finish(struct sg_job *j, enum herald_outcome o,
                       int64_t retry_after_ms, const char *reason)
{
    struct sendgrid *sg = j->sg;

    count(sg, o == HERALD_OK            ? "sent"
              : o == HERALD_RETRY       ? "retried"
              : o == HERALD_UNAVAILABLE ? "unavailable"
                                        : "rejected");
    api->complete(j->batch, j->index, o, retry_after_ms, reason);
    job_free(j);
}

static void fail_queue(struct sendgrid *sg, const char *reason)
{
    while (sg->head != NULL) {
        struct sg_job *j = sg->head;
        sg->head = j->next;
        job_finish(j, HERALD_RETRY, 0, reason);
    }
    sg->tail = NULL;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct sg_job *j = ctx;
    size_t len = size * n, room = RESPONSE_MAX - j->resp_len;

    if (len > room) {
        len = room;
    }
    if (len > 0) {
        char *p = realloc(j->resp, j->resp_len + len);
        if (p == NULL) {
            return 0; /* ends the transfer with CURLE_WRITE_ERROR: RETRY */
        }
        j->resp = p;
        memcpy(j->resp + j->resp_len, data, len);
        j->resp_len += len;
    }
    return size * n;
}

/* Copy a header value (trimmed) when line is "name: value". */
static void grab(const char *line, size_t len, const char *name, char *out,
                 size_t outlen)
{
    size_t nl = strlen(name), b, e;

    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':') {
        return;
    }
    for (b = nl + 1; b < len && (line[b] == ' ' || line[b] == '\t'); b++) {
    }
    for (e = len; e > b && (line[e - 1] == '\r' || line[e - 1] == '\n' ||
                            line[e - 1] == ' ' || line[e - 1] == '\t');
         e--) {
    }
    if (e - b >= outlen) {
        e = b + outlen - 1;
    }
    memcpy(out, line + b, e - b);
    out[e - b] = '\0';
}

static size_t on_header(char *line, size_t size, size_t n, void *ctx)
{
    struct sg_job *j = ctx;
    size_t len = size * n;

    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* a new response (after 100 Continue): forget the previous one */
        j->retry_after[0] = j->reset[0] = j->message_id[0] = '\0';
        return len;
    }
    grab(line, len, "Retry-After", j->retry_after, sizeof(j->retry_after));
    grab(line, len, "X-RateLimit-Reset", j->reset, sizeof(j->reset));
    grab(line, len, "X-Message-Id", j->message_id, sizeof(j->message_id));
    return len;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pump(struct sendgrid *sg);

static void on_done(void *ctx, void *easy, int curl_code)
{
    struct sg_job *j = ctx;
    struct sendgrid *sg = j->sg;
    struct sendgrid_response r;
    struct sendgrid_verdict v;
    long status = 0;

    if (curl_code != HERALD_TRANSFER_ABORTED) {
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    }
    memset(&r, 0, sizeof(r));
    r.curl_code = curl_code;
    r.status = status;
    r.body = j->resp;
    r.body_len = j->resp_len;
    r.retry_after = j->retry_after[0] ? j->retry_after : NULL;
    r.ratelimit_reset = j->reset[0] ? j->reset : NULL;
    sendgrid_classify(&r, now_ms(), &v);
    sg->in_flight--;
    if (v.outcome == HERALD_OK) {
        api->log(sg->inst, HERALD_LOG_DEBUG, "sent: HTTP %ld, X-Message-Id %s",
                 status, j->message_id[0] ? j->message_id : "-");
    } else if (v.outcome == HERALD_UNAVAILABLE) {
        /* the host logs it, once per interval */
        api->log(sg->inst, HERALD_LOG_DEBUG, "channel unavailable: %s",
                 v.reason);
    } else if (v.outcome == HERALD_RETRY) {
        api->log(sg->inst, HERALD_LOG_INFO,
                 "will retry (server asked to wait %lld ms): %s",
                 (long long)v.retry_after_ms, v.reason);
    } else {
        api->log(sg->inst, HERALD_LOG_WARN, "rejected: %s", v.reason);
    }
    job_finish(j, v.outcome, v.retry_after_ms,
               v.outcome == HERALD_OK ? NULL : v.reason);
    if (curl_code == HERALD_TRANSFER_ABORTED) {
        /* the host only aborts a closing instance */
        sg->closing = 1;
        fail_queue(sg, "channel closing");
        return;
    }
    pump(sg);
}

static int job_start(struct sg_job *j)
{
    struct sendgrid *sg = j->sg;
    CURL *e = curl_easy_init();
    int rc = 0;

    if (e == NULL) {
        return -1;
    }
    j->easy = e;
    rc |= curl_easy_setopt(e, CURLOPT_URL, sg->url);
    rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
    rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, sg->headers);
    rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
    rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                           (curl_off_t)strlen(j->body));
    rc |=
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    rc |=
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, sg->connect_timeout_ms);
    rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, sg->timeout_ms);
    rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, "herald-sendgrid/0.1");
    rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    rc |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    rc |= curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
    if (sg->ca_file != NULL && sg->ca_file[0] != '\0') {
        rc |= curl_easy_setopt(e, CURLOPT_CAINFO, sg->ca_file);
    }
    if (rc != CURLE_OK) {
        return -1;
    }
    if (api->transfer_submit(sg->inst, e, on_done, j) != 0) {
        return -1;
    }
    sg->in_flight++;
    return 0;
}

/* Submit queued jobs while there is room. */
static void pump(struct sendgrid *sg)
{
    while (!sg->closing && sg->head != NULL &&
           sg->in_flight < sg->max_in_flight) {
        struct sg_job *j = sg->head;
        sg->head = j->next;
        if (sg->head == NULL) {
            sg->tail = NULL;
        }
        j->next = NULL;
        if (job_start(j) != 0) {
            api->log(sg->inst, HERALD_LOG_WARN, "could not start a transfer");
            job_finish(j, HERALD_RETRY, 0, "could not start the transfer");
        }
    }
}

static int sendgrid_deliver(void *state, struct herald_batch *b)
{
    struct sendgrid *sg = state;
    size_t i, n = api->batch_count(b);

    for (i = 0; i < n; i++) {
        const struct herald_message *m = api->batch_message(b, i);
        char err[256];
        json_t *payload;
        struct sg_job *j;

        if (m == NULL) {
            api->complete(b, i, HERALD_REJECT, 0, "no message in batch item");
            continue;
        }
        payload = sendgrid_payload_new(m, &sg->popts, err, sizeof(err));
        if (payload == NULL) {
            api->log(sg->inst, HERALD_LOG_WARN, "message rejected: %s", err);
            count(sg, "rejected");
            api->complete(b, i, HERALD_REJECT, 0, err);
            continue;
        }
        j = calloc(1, sizeof(*j));
        if (j != NULL) {
            j->body = json_dumps(payload, JSON_COMPACT);
        }
        json_decref(payload);
        if (j == NULL || j->body == NULL) {
            job_free(j);
            api->complete(b, i, HERALD_RETRY, 0, "out of memory");
            continue;
        }
        j->sg = sg;
        j->batch = b;
        j->index = i;
        if (sg->tail != NULL) {
            sg->tail->next = j;
        } else {
            sg->head = j;
        }
        sg->tail = j;
    }
    pump(sg);
    return 0;
}

static void sendgrid_close(void *state)
{
    struct sendgrid *sg = state;

    if (sg == NULL) {
        return;
    }
    sg->closing = 1;
    fail_queue(sg, "channel closing");
    curl_slist_free_all(sg->headers);
    free(sg->categories);
    free(sg->url);
    free(sg);
}

/* 1 if s is a plausible http(s) URL with no blanks or control bytes. */
static int url_ok(const char *s)
{
    const char *p;

    if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0) {
        return 0;
    }
    for (p = s; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
            return 0;
        }
    }
    return 1;
}

static int sendgrid_open(struct herald_instance *inst,
                         const struct herald_options *opts, void **state,
                         char *err, size_t errlen)
{
    struct sendgrid *sg = calloc(1, sizeof(*sg));
    const char *key = api->opt_string(opts, "api_key");
    const char *base = api->opt_string(opts, "base_url");
    const char *p;
    char *auth = NULL;
    struct curl_slist *l;
    size_t i, n, blen;

    if (sg == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    sg->inst = inst;
    if (key == NULL || key[0] == '\0') {
        snprintf(err, errlen, "api_key is empty");
        goto fail;
    }
    for (p = key; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
            snprintf(err, errlen,
                     "api_key holds a blank or control "
                     "character");
            goto fail;
        }
    }
    if (base == NULL || !url_ok(base)) {
        snprintf(err, errlen,
                 "base_url must be an http:// or https:// URL "
                 "without blanks");
        goto fail;
    }
    blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/') {
        blen--;
    }
    sg->url = malloc(blen + sizeof("/v3/mail/send"));
    auth = malloc(strlen(key) + sizeof("Authorization: Bearer "));
    if (sg->url == NULL || auth == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    memcpy(sg->url, base, blen);
    strcpy(sg->url + blen, "/v3/mail/send");
    strcpy(auth, "Authorization: Bearer ");
    strcat(auth, key);
    l = curl_slist_append(NULL, auth);
    if (l != NULL) {
        sg->headers = l;
        l = curl_slist_append(l, "Content-Type: application/json");
    }
    if (l != NULL) {
        l = curl_slist_append(l, "Accept: application/json");
    }
    if (l != NULL) {
        l = curl_slist_append(l, "Expect:");
    }
    if (l == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }

    n = api->opt_list_count(opts, "categories");
    if (n > 0) {
        sg->categories = calloc(n, sizeof(*sg->categories));
        if (sg->categories == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        for (i = 0; i < n; i++) {
            sg->categories[i] = api->opt_list_item(opts, "categories", i);
        }
        if (sendgrid_categories_ok(sg->categories, n, err, errlen) != 0) {
            goto fail;
        }
    }
    sg->popts.categories = sg->categories;
    sg->popts.n_categories = n;
    sg->popts.sandbox = api->opt_bool(opts, "sandbox_mode");
    sg->popts.default_from = api->opt_string(opts, "from");
    if (sg->popts.default_from != NULL) {
        struct addr a;
        char why[160];
        if (addr_parse(sg->popts.default_from, &a, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "from: %s", why);
            goto fail;
        }
        addr_cleanup(&a);
    }
    sg->max_in_flight = (long)api->opt_int(opts, "max_in_flight");
    if (sg->max_in_flight < 1 || sg->max_in_flight > 10000) {
        snprintf(err, errlen, "max_in_flight must be 1 to 10000");
        goto fail;
    }
    sg->connect_timeout_ms =
        (long)api->opt_duration_ms(opts, "connect_timeout");
    sg->timeout_ms = (long)api->opt_duration_ms(opts, "timeout");
    if (sg->connect_timeout_ms <= 0 || sg->timeout_ms <= 0) {
        snprintf(err, errlen, "connect_timeout and timeout must be > 0");
        goto fail;
    }
    sg->ca_file = api->opt_string(opts, "ca_file");
    memset(auth, 0, strlen(auth));
    free(auth);
    api->log(inst, HERALD_LOG_DEBUG, "open: %s, max_in_flight %ld%s", sg->url,
             sg->max_in_flight, sg->popts.sandbox ? ", sandbox mode" : "");
    *state = sg;
    return 0;

fail:
    if (auth != NULL) {
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    sendgrid_close(sg);
    return -1;
}

HERALD_PLUGIN_DEFINE = {
    HERALD_PLUGIN_HEADER,
    .name = "sendgrid",
    .version = "0.1.0",
    .description = "email through SendGrid's v3 Mail Send API",
    .kind = HERALD_PLUGIN_NOTIFY,
    .options = sendgrid_options,
    .init = sendgrid_init,
    .open = sendgrid_open,
    .deliver = sendgrid_deliver,
    .close = sendgrid_close,
};
