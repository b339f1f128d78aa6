/*
 * smtp.c - the `smtp` notify channel: lifecycle, option table and the
 * exported plugin struct.
 *
 * A pool of max_connections libcurl easy handles, each reused for message
 * after message so its SMTP connection stays open; messages beyond that
 * wait in a FIFO here. Every transfer runs on the host's multi handle
 * (api->transfer_submit). The message is built by the shared MIME builder,
 * the envelope by smtp_message.c (validated again: libcurl 7.88 copies
 * envelope addresses into SMTP commands verbatim), the outcome by
 * smtp_classify.c: a refused login or a TLS failure is UNAVAILABLE (the
 * host pauses and probes; it logs that, so this file logs it at debug
 * only). libcurl dot-stuffs the DATA. The password is set on the handle
 * only and never logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include <herald/plugin.h>

#include "mime.h"
#include "smtp_classify.h"
#include "smtp_message.h"

static const struct herald_host_api *api;

static const char *const tls_values[] = {"none", "starttls", "implicit", NULL};

static const struct herald_option smtp_options[] = {
    {"url", HERALD_OPT_STRING, NULL, 1, 0, NULL,
     "server, smtp://host:port (none, starttls) or smtps://host:port"},
    {"tls", HERALD_OPT_ENUM, "starttls", 0, 0, tls_values,
     "none, starttls (required, not opportunistic) or implicit (smtps)"},
    {"ca_file", HERALD_OPT_STRING, NULL, 0, 0, NULL,
     "PEM file of CA certificates instead of the system store"},
    {"insecure_skip_verify", HERALD_OPT_BOOL, "false", 0, 0, NULL,
     "do not verify the server certificate (tests only)"},
    {"username", HERALD_OPT_STRING, NULL, 0, 0, NULL, "SMTP AUTH user"},
    {"password", HERALD_OPT_STRING, NULL, 0, 1, NULL, "SMTP AUTH password"},
    {"from", HERALD_OPT_STRING, NULL, 0, 0, NULL,
     "From address when the template gives none"},
    {"max_connections", HERALD_OPT_INT, "4", 0, 0, NULL,
     "connections kept open and used at once"},
    {"connect_timeout", HERALD_OPT_DURATION, "10s", 0, 0, NULL,
     "time allowed to connect (TCP and TLS)"},
    {"timeout", HERALD_OPT_DURATION, "60s", 0, 0, NULL,
     "time allowed for one message"},
    {"helo_domain", HERALD_OPT_STRING, NULL, 0, 0, NULL,
     "name sent in EHLO (default: libcurl's choice)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

struct smtp;

/* One message: queued, then sent on a connection slot. */
struct smtp_job {
    struct smtp_job *next;
    struct herald_batch *batch;
    size_t index;
    char *msg; /* the RFC 5322 message, owned */
    size_t len;
    size_t pos; /* read position for the upload */
    struct smtp_envelope env;
    struct curl_slist *rcpt;
};

/* One reusable easy handle = one kept-open connection. */
struct smtp_slot {
    struct smtp *smtp;
    CURL *easy;
    struct smtp_job *job; /* NULL when idle */
    char errbuf[CURL_ERROR_SIZE];
};

struct smtp {
    struct herald_instance *inst;
    char *url;
    const char *from; /* borrowed options, live until close */
    long n_slots;
    struct smtp_slot *slots;
    struct smtp_job *head, *tail;
    int closing;
};

static int smtp_init(const struct herald_host_api *host, char *err,
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

static void job_free(struct smtp_job *j)
{
    if (j == NULL) {
        return;
    }
    free(j->msg);
    smtp_envelope_cleanup(&j->env);
    curl_slist_free_all(j->rcpt);
    free(j);
}

static void count(struct smtp *s, const char *name)
{
    if (api->counter_add != NULL) {
        api->counter_add(s->inst, name, 1);
    }
}

static void job_finish(struct smtp *s, struct smtp_job *j,
                       enum herald_outcome o, const char *reason)
{
    count(s, o == HERALD_OK            ? "sent"
             : o == HERALD_RETRY       ? "retried"
             : o == HERALD_UNAVAILABLE ? "unavailable"
                                       : "rejected");
    api->complete(j->batch, j->index, o, 0, reason);
    job_free(j);
}

static void fail_queue(struct smtp *s, const char *reason)
{
    while (s->head != NULL) {
        struct smtp_job *j = s->head;
        s->head = j->next;
        job_finish(s, j, HERALD_RETRY, reason);
    }
    s->tail = NULL;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ctx)
{
    struct smtp_job *j = ctx;
    size_t room = size * n, left = j->len - j->pos;

    if (room > left) {
        room = left;
    }
    memcpy(buf, j->msg + j->pos, room);
    j->pos += room;
    return room;
}

static void pump(struct smtp *s);

static void on_done(void *ctx, void *easy, int curl_code)
{
    struct smtp_slot *slot = ctx;
    struct smtp *s = slot->smtp;
    struct smtp_job *j = slot->job;
    struct smtp_verdict v;
    long reply = 0;

    if (curl_code != HERALD_TRANSFER_ABORTED) {
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &reply);
    }
    smtp_classify(curl_code, reply, slot->errbuf, &v);
    slot->job = NULL;
    if (v.outcome == HERALD_OK) {
        api->log(s->inst, HERALD_LOG_DEBUG,
                 "sent to %zu recipient(s), reply %ld", j->env.n_rcpt, reply);
    } else if (v.outcome == HERALD_UNAVAILABLE) {
        api->log(s->inst, HERALD_LOG_DEBUG, "channel unavailable: %s",
                 v.reason);
    } else {
        api->log(s->inst,
                 v.outcome == HERALD_RETRY ? HERALD_LOG_INFO : HERALD_LOG_WARN,
                 "%s (reply %ld): %s",
                 v.outcome == HERALD_RETRY ? "will retry" : "rejected", reply,
                 v.reason);
    }
    job_finish(s, j, v.outcome, v.outcome == HERALD_OK ? NULL : v.reason);
    if (curl_code == HERALD_TRANSFER_ABORTED) {
        s->closing = 1; /* the host aborts only a closing instance */
        fail_queue(s, "channel closing");
        return;
    }
    pump(s);
}

static int slot_start(struct smtp_slot *slot, struct smtp_job *j)
{
    struct smtp *s = slot->smtp;
    CURL *e = slot->easy;
    size_t i;
    int rc = 0;

    for (i = 0; i < j->env.n_rcpt; i++) {
        struct curl_slist *l = curl_slist_append(j->rcpt, j->env.rcpt[i]);
        if (l == NULL) {
            return -1;
        }
        j->rcpt = l;
    }
    slot->errbuf[0] = '\0';
    rc |= curl_easy_setopt(e, CURLOPT_MAIL_FROM, j->env.from);
    rc |= curl_easy_setopt(e, CURLOPT_MAIL_RCPT, j->rcpt);
    rc |= curl_easy_setopt(e, CURLOPT_READDATA, j);
    rc |= curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->len);
    if (rc != CURLE_OK) {
        return -1;
    }
    slot->job = j;
    if (api->transfer_submit(s->inst, e, on_done, slot) != 0) {
        slot->job = NULL;
        return -1;
    }
    return 0;
}

/* Hand queued jobs to idle slots. */
static void pump(struct smtp *s)
{
    long i;

    for (i = 0; i < s->n_slots && !s->closing && s->head != NULL; i++) {
        struct smtp_job *j;
        if (s->slots[i].job != NULL) {
            continue;
        }
        j = s->head;
        s->head = j->next;
        if (s->head == NULL) {
            s->tail = NULL;
        }
        j->next = NULL;
        if (slot_start(&s->slots[i], j) != 0) {
            api->log(s->inst, HERALD_LOG_WARN, "could not start a transfer");
            job_finish(s, j, HERALD_RETRY, "could not start the transfer");
        }
    }
}

static int smtp_deliver(void *state, struct herald_batch *b)
{
    struct smtp *s = state;
    size_t i, n = api->batch_count(b);

    for (i = 0; i < n; i++) {
        const struct herald_message *m = api->batch_message(b, i);
        struct smtp_job *j;
        char err[256];

        if (m == NULL) {
            api->complete(b, i, HERALD_REJECT, 0, "no message in batch item");
            continue;
        }
        j = calloc(1, sizeof(*j));
        if (j == NULL) {
            api->complete(b, i, HERALD_RETRY, 0, "out of memory");
            continue;
        }
        j->batch = b;
        j->index = i;
        if (smtp_envelope_init(&j->env, m, s->from, err, sizeof(err)) != 0 ||
            mime_build(m, s->from, (int64_t)time(NULL), &j->msg, &j->len, err,
                       sizeof(err)) != 0) {
            api->log(s->inst, HERALD_LOG_WARN, "message rejected: %s", err);
            job_finish(s, j, HERALD_REJECT, err);
            continue;
        }
        if (s->tail != NULL) {
            s->tail->next = j;
        } else {
            s->head = j;
        }
        s->tail = j;
    }
    pump(s);
    return 0;
}

static void smtp_close(void *state)
{
    struct smtp *s = state;
    long i;

    if (s == NULL) {
        return;
    }
    s->closing = 1;
    fail_queue(s, "channel closing");
    for (i = 0; s->slots != NULL && i < s->n_slots; i++) {
        if (s->slots[i].easy != NULL) {
            curl_easy_cleanup(s->slots[i].easy);
        }
    }
    free(s->slots);
    free(s->url);
    free(s);
}

static enum smtp_tls tls_mode(const char *v)
{
    if (v != NULL && strcmp(v, "none") == 0) {
        return SMTP_TLS_NONE;
    }
    if (v != NULL && strcmp(v, "implicit") == 0) {
        return SMTP_TLS_IMPLICIT;
    }
    return SMTP_TLS_STARTTLS;
}

/* Options every message on this slot shares. */
static int slot_setup(struct smtp *s, struct smtp_slot *slot,
                      const struct herald_options *opts, enum smtp_tls tls)
{
    CURL *e = curl_easy_init();
    const char *user = api->opt_string(opts, "username");
    const char *pass = api->opt_string(opts, "password");
    const char *ca = api->opt_string(opts, "ca_file");
    int rc = 0;

    if (e == NULL) {
        return -1;
    }
    slot->smtp = s;
    slot->easy = e;
    rc |= curl_easy_setopt(e, CURLOPT_URL, s->url);
    rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    rc |= curl_easy_setopt(e, CURLOPT_USE_SSL,
                           tls == SMTP_TLS_NONE ? (long)CURLUSESSL_NONE
                                                : (long)CURLUSESSL_ALL);
    if (api->opt_bool(opts, "insecure_skip_verify")) {
        rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (ca != NULL && ca[0] != '\0') {
        rc |= curl_easy_setopt(e, CURLOPT_CAINFO, ca);
    }
    if (user != NULL && user[0] != '\0') {
        rc |= curl_easy_setopt(e, CURLOPT_USERNAME, user);
        rc |= curl_easy_setopt(e, CURLOPT_PASSWORD, pass != NULL ? pass : "");
    }
    rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                           (long)api->opt_duration_ms(opts, "connect_timeout"));
    rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                           (long)api->opt_duration_ms(opts, "timeout"));
    rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, slot->errbuf);
    return rc == CURLE_OK ? 0 : -1;
}

static int smtp_open(struct herald_instance *inst,
                     const struct herald_options *opts, void **state, char *err,
                     size_t errlen)
{
    struct smtp *s = calloc(1, sizeof(*s));
    enum smtp_tls tls = tls_mode(api->opt_string(opts, "tls"));
    const char *user = api->opt_string(opts, "username");
    int64_t conns = api->opt_int(opts, "max_connections");
    long i;

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    s->inst = inst;
    s->from = api->opt_string(opts, "from");
    s->url = smtp_url_build(api->opt_string(opts, "url"), tls,
                            api->opt_string(opts, "helo_domain"), err, errlen);
    if (s->url == NULL) {
        goto fail;
    }
    if (conns < 1 || conns > 256) {
        snprintf(err, errlen, "max_connections must be 1 to 256");
        goto fail;
    }
    if (api->opt_duration_ms(opts, "connect_timeout") <= 0 ||
        api->opt_duration_ms(opts, "timeout") <= 0) {
        snprintf(err, errlen, "connect_timeout and timeout must be > 0");
        goto fail;
    }
    if (api->opt_is_set(opts, "password") && (user == NULL || !user[0])) {
        snprintf(err, errlen, "password is set but username is not");
        goto fail;
    }
    s->n_slots = (long)conns;
    s->slots = calloc((size_t)conns, sizeof(*s->slots));
    if (s->slots == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (i = 0; i < s->n_slots; i++) {
        if (slot_setup(s, &s->slots[i], opts, tls) != 0) {
            snprintf(err, errlen,
                     "cannot set up a libcurl handle (does "
                     "this libcurl support SMTP and TLS?)");
            goto fail;
        }
    }
    if (tls == SMTP_TLS_NONE && user != NULL && user[0] != '\0') {
        api->log(inst, HERALD_LOG_WARN,
                 "SMTP AUTH without TLS: the password "
                 "crosses the network in clear");
    }
    if (api->opt_bool(opts, "insecure_skip_verify")) {
        api->log(inst, HERALD_LOG_WARN,
                 "TLS certificate verification is off "
                 "(insecure_skip_verify)");
    }
    {
        /* Never log the URL's userinfo (user:password@). */
        const char *sep = strstr(s->url, "://");
        const char *at = sep ? strchr(sep + 3, '@') : NULL;
        const char *end = sep ? strpbrk(sep + 3, "/?#") : NULL;
        int cut = at && (!end || at < end);

        api->log(inst, HERALD_LOG_DEBUG, "open: %.*s%s, %ld connection(s)",
                 cut ? (int)(sep + 3 - s->url) : (int)strlen(s->url), s->url,
                 cut ? at + 1 : "", s->n_slots);
    }
    *state = s;
    return 0;

fail:
    smtp_close(s);
    return -1;
}

HERALD_PLUGIN_DEFINE = {
    HERALD_PLUGIN_HEADER,
    .name = "smtp",
    .version = "0.1.0",
    .description = "email through an SMTP server (STARTTLS, SMTPS, AUTH)",
    .kind = HERALD_PLUGIN_NOTIFY,
    .options = smtp_options,
    .init = smtp_init,
    .open = smtp_open,
    .deliver = smtp_deliver,
    .close = smtp_close,
};
