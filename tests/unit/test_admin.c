/*
 * test_admin.c - the admin endpoint: the request-head parser (good heads,
 * garbage, oversize, every split point), the response writer, listen
 * addresses, the bodies of /readyz, /metrics (Prometheus text, exact) and
 * /connectors, routing (404/405/HEAD), a real listener on 127.0.0.1:0 on a
 * loop talked to with plain sockets, and the worker's `admin:` validation.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "admin.h"
#include "redact.h"
#include "admin_http.h"
#include "api.h"
#include "loop.h"
#include "worker.h"

#define MAX HERALD__ADMIN_HTTP_MAX_HEAD

static int parse(const char *s, struct herald__admin_request *req)
{
    return herald__admin_http_parse(s, strlen(s), MAX, req);
}

/* ---- the parser -------------------------------------------------------- */

static void test_parse_good(void **state)
{
    (void)state;
    struct herald__admin_request r;
    const char *get = "GET /metrics?name[]=x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "User-Agent: Prometheus/2.0\r\nAccept: */*\r\n\r\n";

    assert_int_equal(parse(get, &r), 200);
    assert_int_equal(r.method_len, 3);
    assert_memory_equal(r.method, "GET", 3);
    assert_int_equal(r.path_len, 8);
    assert_memory_equal(r.path, "/metrics", 8);
    assert_int_equal(r.minor, 1);
    assert_int_equal(r.head_len, strlen(get));
    assert_true(herald__admin_http_method_is(&r, "GET"));
    assert_false(herald__admin_http_method_is(&r, "GE"));
    assert_false(herald__admin_http_method_is(&r, "HEAD"));

    /* HTTP/1.0 needs no Host; bare LF ends lines; a body is not ours. */
    const char *old = "HEAD /healthz HTTP/1.0\n\nbody";
    assert_int_equal(parse(old, &r), 200);
    assert_int_equal(r.minor, 0);
    assert_int_equal(r.head_len, strlen(old) - 4);
    assert_true(herald__admin_http_method_is(&r, "HEAD"));

    /* Empty lines before the request line are skipped; an empty Host and
     * a value with tabs and obs-text are fine; methods are any token. */
    const char *lead = "\r\n\nDELETE /x HTTP/1.1\r\nHost:\r\nX-A:\t\xc3\xa9 "
                       "b\t\r\n\r\n";
    assert_int_equal(parse(lead, &r), 200);
    assert_int_equal(r.method_len, 6);
    assert_memory_equal(r.method, "DELETE", 6);
    assert_int_equal(r.path_len, 2);
    assert_int_equal(r.head_len, strlen(lead));
}

/* A head split at every byte: every proper prefix asks for more, the
 * whole is complete. */
static void test_parse_every_split(void **state)
{
    (void)state;
    const char *heads[] = {
        "GET /connectors HTTP/1.1\r\nHost: localhost:8093\r\nAccept: "
        "application/json\r\n\r\n",
        "\r\nGET / HTTP/1.0\n\n",
        "HEAD /readyz?verbose HTTP/1.1\nhost: a\n\n",
    };
    for (size_t h = 0; h < sizeof heads / sizeof heads[0]; h++) {
        size_t len = strlen(heads[h]);
        struct herald__admin_request r;
        for (size_t k = 0; k < len; k++) {
            if (herald__admin_http_parse(heads[h], k, MAX, &r) != 0) {
                fail_msg("head %zu: prefix of %zu bytes did not ask for more",
                         h, k);
            }
        }
        assert_int_equal(herald__admin_http_parse(heads[h], len, MAX, &r), 200);
        assert_int_equal(r.head_len, len);
    }
}

static void test_parse_garbage(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int want;
    } cases[] = {
        {"\x16\x03\x01\x02", 400}, /* a TLS ClientHello: at once */
        {"GET\r\n\r\n", 400},
        {" GET / HTTP/1.1\r\n", 400},
        {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"GET /a\x7f HTTP/1.1\r\n", 400},
        {"GET / HTTP/1.1 \r\n", 400},
        {"GET / HTTX", 400},
        {"GET / HTTP/x", 400},
        {"GET / HTTP/1.11", 400},
        {"GET / HTTP/11\r\n", 400},
        {"GET / HTTP/1.1\rX", 400},
        {"GET / HTTP/1.1\r\n\r\n", 400}, /* no Host */
        {"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\n: a\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\x01\r\n", 400},
        {"GET / HTTP/1.1\r\nNoColon\r\n", 400},
        {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
        {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505},
        {"GET / HTTP/0.9\r\n\r\n", 505},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct herald__admin_request r;
        int got = parse(cases[i].in, &r);
        if (got != cases[i].want) {
            fail_msg("case %zu: want %d, got %d", i, cases[i].want, got);
        }
    }
    /* The NUL inside: strlen would stop before it. */
    struct herald__admin_request r;
    assert_int_equal(
        herald__admin_http_parse("GET /\0 HTTP/1.0\r\n\r\n", 19, MAX, &r), 400);
}

static void test_parse_oversize(void **state)
{
    (void)state;
    char *buf = malloc(MAX + 16);
    struct herald__admin_request r;
    assert_non_null(buf);

    /* A request line that does not end within the limit: 414. */
    memset(buf, 'a', MAX + 16);
    memcpy(buf, "GET /", 5);
    assert_int_equal(herald__admin_http_parse(buf, MAX - 1, MAX, &r), 0);
    assert_int_equal(herald__admin_http_parse(buf, MAX, MAX, &r), 414);
    assert_int_equal(herald__admin_http_parse(buf, MAX + 16, MAX, &r), 414);

    /* Fields that do not end within the limit: 431. */
    const char *line = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ";
    memcpy(buf, line, strlen(line));
    assert_int_equal(herald__admin_http_parse(buf, MAX - 1, MAX, &r), 0);
    assert_int_equal(herald__admin_http_parse(buf, MAX, MAX, &r), 431);

    /* Ending exactly at the limit is fine; one byte more is not. */
    memcpy(buf + MAX - 4, "\r\n\r\n", 4);
    assert_int_equal(herald__admin_http_parse(buf, MAX, MAX, &r), 200);
    assert_int_equal(r.head_len, MAX);
    memset(buf + strlen(line), 'a', MAX + 16 - strlen(line));
    memcpy(buf + MAX - 3, "\r\n\r\n", 4);
    assert_int_equal(herald__admin_http_parse(buf, MAX + 1, MAX, &r), 431);
    free(buf);
}

static void test_response(void **state)
{
    (void)state;
    size_t len = 0;
    char *out = herald__admin_http_response(200, "text/plain", NULL, "ok\n", 3,
                                            0, &len);
    const char *want = "HTTP/1.1 200 OK\r\n"
                       "Content-Type: text/plain\r\n"
                       "Content-Length: 3\r\n"
                       "Connection: close\r\n"
                       "Cache-Control: no-store\r\n"
                       "\r\n"
                       "ok\n";
    assert_string_equal(out, want);
    assert_int_equal(len, strlen(want));
    free(out);

    /* HEAD: the GET's headers, Content-Length included, and no body. */
    out = herald__admin_http_response(405, "text/plain", "Allow: GET, HEAD\r\n",
                                      "method not allowed\n", 19, 1, &len);
    want = "HTTP/1.1 405 Method Not Allowed\r\n"
           "Content-Type: text/plain\r\n"
           "Content-Length: 19\r\n"
           "Connection: close\r\n"
           "Cache-Control: no-store\r\n"
           "Allow: GET, HEAD\r\n"
           "\r\n";
    assert_string_equal(out, want);
    assert_int_equal(len, strlen(want));
    free(out);
    assert_string_equal(herald__admin_http_reason(431),
                        "Request Header Fields Too Large");
    assert_string_equal(herald__admin_http_reason(299), "Error");
}

/* ---- listen addresses -------------------------------------------------- */

static void test_parse_listen(void **state)
{
    (void)state;
    struct herald__admin_listen at;
    char err[256];

    assert_int_equal(
        herald__admin_parse_listen("127.0.0.1:8093", &at, err, sizeof err), 0);
    assert_int_equal(at.addr.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&at.addr)->sin_port), 8093);
    assert_int_equal(at.loopback, 1);
    assert_int_equal(
        herald__admin_parse_listen("127.9.9.9:0", &at, err, sizeof err), 0);
    assert_int_equal(at.loopback, 1);
    assert_int_equal(
        herald__admin_parse_listen("localhost:1", &at, err, sizeof err), 0);
    assert_int_equal(at.loopback, 1);
    assert_int_equal(
        herald__admin_parse_listen("0.0.0.0:65535", &at, err, sizeof err), 0);
    assert_int_equal(at.loopback, 0);
    assert_int_equal(
        herald__admin_parse_listen("[::1]:8093", &at, err, sizeof err), 0);
    assert_int_equal(at.addr.ss_family, AF_INET6);
    assert_int_equal(at.loopback, 1);
    assert_int_equal(
        herald__admin_parse_listen("[::]:8093", &at, err, sizeof err), 0);
    assert_int_equal(at.loopback, 0);

    static const struct {
        const char *in, *err;
    } bad[] = {
        {"127.0.0.1:65536", "invalid admin listen address '127.0.0.1:65536': "
                            "the port must be a number from 0 to 65535"},
        {"127.0.0.1:", "invalid admin listen address '127.0.0.1:': the port "
                       "must be a number from 0 to 65535"},
        {"127.0.0.1:80x", "invalid admin listen address '127.0.0.1:80x': the "
                          "port must be a number from 0 to 65535"},
        {"::1:8093", "invalid admin listen address '::1:8093': an IPv6 "
                     "address goes in brackets, e.g. [::1]:8093"},
        {"8093", "invalid admin listen address '8093' (expected HOST:PORT "
                 "with an IP address or localhost, e.g. 127.0.0.1:8093 or "
                 "[::1]:8093)"},
        {":8093", "invalid admin listen address ':8093' (expected HOST:PORT "
                  "with an IP address or localhost, e.g. 127.0.0.1:8093 or "
                  "[::1]:8093)"},
        {"example.com:8093",
         "invalid admin listen address 'example.com:8093' (expected "
         "HOST:PORT with an IP address or localhost, e.g. 127.0.0.1:8093 or "
         "[::1]:8093)"},
        {"[::1]8093", "invalid admin listen address '[::1]8093' (expected "
                      "HOST:PORT with an IP address or localhost, e.g. "
                      "127.0.0.1:8093 or [::1]:8093)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(
            herald__admin_parse_listen(bad[i].in, &at, err, sizeof err), -1);
        assert_string_equal(err, bad[i].err);
    }
}

/* ---- a fixed snapshot ------------------------------------------------- */

static const struct herald_plugin null_def = {.name = "null",
                                              .kind = HERALD_PLUGIN_SINK};
static const struct herald_plugin smtp_def = {.name = "smtp",
                                              .kind = HERALD_PLUGIN_NOTIFY};
static struct herald__counter smtp_counters[] = {
    {.name = (char *)"sent", .value = 7},
    {.name = (char *)"odd \"name\"\\\n", .value = -1},
};
static struct herald_instance email = {.name = (char *)"email",
                                       .def = &smtp_def,
                                       .counters = smtp_counters,
                                       .n_counters = 2};
static struct herald_instance sink = {.name = (char *)"b\\\"\n",
                                      .def = &null_def};
static const struct herald_instance *const instances[] = {&email, &sink};
static char *topics_a[] = {(char *)"possible_anomalies"};
static char *topics_b[] = {(char *)"t1", (char *)"t2"};
static struct herald__partition_status parts_a[] = {
    {.topic = "possible_anomalies",
     .partition = 0,
     .committed = 40,
     .next = 42,
     .in_doubt = 3,
     .paused = 0},
    {.topic = "possible_anomalies",
     .partition = 3,
     .committed = -1,
     .next = -1,
     .in_doubt = 0,
     .paused = 1},
};
static struct herald__connector_status connectors[] = {
    {.name = "anomaly-alerts",
     .group_id = "email-sender",
     .topics = topics_a,
     .n_topics = 1,
     .state = HERALD__CONNECTOR_RUNNING,
     .inst = &email,
     .stats = {.consumed = 45,
               .delivered_ok = 40,
               .rejected = 2,
               .retried = 5,
               .poison = 1,
               .in_flight = 3,
               .deduped = 4},
     .parts = parts_a,
     .n_parts = 2},
    {.name = "b\\\"\n",
     .group_id = "herald-b",
     .topics = topics_b,
     .n_topics = 2,
     .state = HERALD__CONNECTOR_FAILED,
     .inst = &sink},
};

static struct herald__admin_snapshot snapshot(size_t n_connectors)
{
    return (struct herald__admin_snapshot){.connectors = connectors,
                                           .n_connectors = n_connectors,
                                           .instances = instances,
                                           .n_instances = 2};
}

static const char metrics_text[] =
    "# HELP herald_info herald's version; always 1.\n"
    "# TYPE herald_info gauge\n"
    "herald_info{version=\"" HERALD_VERSION "\"} 1\n"
    "# HELP herald_connector_up 1 while the connector runs (subscribed, not "
    "stopping), else 0.\n"
    "# TYPE herald_connector_up gauge\n"
    "herald_connector_up{connector=\"anomaly-alerts\"} 1\n"
    "herald_connector_up{connector=\"b\\\\\\\"\\n\"} 0\n"
    "# HELP herald_connector_channel_unavailable 1 while the connector's "
    "channel is unavailable (every partition waits), else 0.\n"
    "# TYPE herald_connector_channel_unavailable gauge\n"
    "herald_connector_channel_unavailable{connector=\"anomaly-alerts\"} 0\n"
    "herald_connector_channel_unavailable{connector=\"b\\\\\\\"\\n\"} 0\n"
    "# HELP herald_connector_channel_unavailable_seconds How long the "
    "connector's channel has been unavailable; 0 when it is available.\n"
    "# TYPE herald_connector_channel_unavailable_seconds gauge\n"
    "herald_connector_channel_unavailable_seconds{connector=\"anomaly-"
    "alerts\"} 0\n"
    "herald_connector_channel_unavailable_seconds{connector=\"b\\\\\\\"\\n\"} "
    "0\n"
    "# HELP herald_connector_channel_held_records Records held until the "
    "connector's channel is available again.\n"
    "# TYPE herald_connector_channel_held_records gauge\n"
    "herald_connector_channel_held_records{connector=\"anomaly-alerts\"} 0\n"
    "herald_connector_channel_held_records{connector=\"b\\\\\\\"\\n\"} 0\n"
    "# HELP herald_connector_channel_unavailable_info Present (1) while the "
    "connector's channel is unavailable; the reason label says why.\n"
    "# TYPE herald_connector_channel_unavailable_info gauge\n"
    "# HELP herald_records_consumed_total Records taken from Kafka by the "
    "connector.\n"
    "# TYPE herald_records_consumed_total counter\n"
    "herald_records_consumed_total{connector=\"anomaly-alerts\"} 45\n"
    "herald_records_consumed_total{connector=\"b\\\\\\\"\\n\"} 0\n"
    "# HELP herald_records_delivered_total Records the connector's plugin "
    "reported OK.\n"
    "# TYPE herald_records_delivered_total counter\n"
    "herald_records_delivered_total{connector=\"anomaly-alerts\"} 40\n"
    "herald_records_delivered_total{connector=\"b\\\\\\\"\\n\"} 0\n"
    "# HELP herald_records_rejected_total Records rejected: REJECT outcomes, "
    "retries exhausted, undecodable records.\n"
    "# TYPE herald_records_rejected_total counter\n"
    "herald_records_rejected_total{connector=\"anomaly-alerts\"} 2\n"
    "herald_records_rejected_total{connector=\"b\\\\\\\"\\n\"} 0\n"
    "# HELP herald_records_retried_total RETRY outcomes (a record retried "
    "twice counts twice).\n"
    "# TYPE herald_records_retried_total counter\n"
    "herald_records_retried_total{connector=\"anomaly-alerts\"} 5\n"
    "herald_records_retried_total{connector=\"b\\\\\\\"\\n\"} 0\n"
    "# HELP herald_records_unavailable_total UNAVAILABLE outcomes: the "
    "channel, not the record, failed (a held record sent again as a probe "
    "counts again).\n"
    "# TYPE herald_records_unavailable_total counter\n"
    "herald_records_unavailable_total{connector=\"anomaly-alerts\"} 0\n"
    "herald_records_unavailable_total{connector=\"b\\\\\\\"\\n\"} 0\n"
    "# HELP herald_records_poison_total Records that could not be decoded "
    "(also counted as rejected).\n"
    "# TYPE herald_records_poison_total counter\n"
    "herald_records_poison_total{connector=\"anomaly-alerts\"} 1\n"
    "herald_records_poison_total{connector=\"b\\\\\\\"\\n\"} 0\n"
    "# HELP herald_records_deduped_total Records skipped because their dedup "
    "key was notified before.\n"
    "# TYPE herald_records_deduped_total counter\n"
    "herald_records_deduped_total{connector=\"anomaly-alerts\"} 4\n"
    "herald_records_deduped_total{connector=\"b\\\\\\\"\\n\"} 0\n"
    "# HELP herald_records_in_flight Records handed to the plugin whose "
    "outcome is not reported yet.\n"
    "# TYPE herald_records_in_flight gauge\n"
    "herald_records_in_flight{connector=\"anomaly-alerts\"} 3\n"
    "herald_records_in_flight{connector=\"b\\\\\\\"\\n\"} 0\n"
    "# HELP herald_partitions_assigned Partitions assigned to the "
    "connector.\n"
    "# TYPE herald_partitions_assigned gauge\n"
    "herald_partitions_assigned{connector=\"anomaly-alerts\"} 2\n"
    "herald_partitions_assigned{connector=\"b\\\\\\\"\\n\"} 0\n"
    "# HELP herald_plugin_counter_total Counters a plugin instance keeps "
    "(counter_add of the host API).\n"
    "# TYPE herald_plugin_counter_total counter\n"
    "herald_plugin_counter_total{kind=\"notify\",instance=\"email\","
    "plugin=\"smtp\",counter=\"sent\"} 7\n"
    "herald_plugin_counter_total{kind=\"notify\",instance=\"email\","
    "plugin=\"smtp\",counter=\"odd \\\"name\\\"\\\\\\n\"} -1\n";

static void test_render_metrics(void **state)
{
    (void)state;
    struct herald__admin_snapshot snap = snapshot(2);
    size_t len = 0;
    char *text = herald__admin_render_metrics(&snap, &len);
    assert_non_null(text);
    assert_string_equal(text, metrics_text);
    assert_int_equal(len, strlen(metrics_text));
    free(text);
}

/* /readyz's body for one connector that is not ready; name and reason as
 * they appear in JSON (escaped). Static storage: one at a time. */
static const char *not_ready(const char *name, const char *state,
                             const char *reason)
{
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\n  \"status\": \"not ready\",\n  \"connectors\": [\n    {\n"
             "      \"name\": \"%s\",\n      \"state\": \"%s\",\n"
             "      \"reason\": \"%s\"\n    }\n  ]\n}\n",
             name, state, reason);
    return buf;
}

static void test_render_readyz(void **state)
{
    (void)state;
    struct herald__admin_snapshot snap = snapshot(1);
    size_t len = 0;
    int ready = -1;
    char *body = herald__admin_render_readyz(&snap, &ready, &len);
    assert_int_equal(ready, 1);
    assert_string_equal(body, "{\n  \"status\": \"ready\"\n}\n");
    assert_int_equal(len, strlen(body));
    free(body);

    snap = snapshot(2);
    body = herald__admin_render_readyz(&snap, &ready, &len);
    assert_int_equal(ready, 0);
    assert_string_equal(body,
                        not_ready("b\\\\\\\"\\n", "failed",
                                  "stopped on an error (errors.tolerance: "
                                  "none, or a fatal Kafka error); see "
                                  "the log"));
    free(body);

    snap = snapshot(0);
    body = herald__admin_render_readyz(&snap, &ready, &len);
    assert_int_equal(ready, 0);
    assert_string_equal(body, "{\n  \"status\": \"not ready\",\n  "
                              "\"reason\": \"no connectors\"\n}\n");
    free(body);

    static const char *const names[] = {"created", "running", "stopping",
                                        "stopped", "failed"};
    for (int s = HERALD__CONNECTOR_CREATED; s <= HERALD__CONNECTOR_FAILED;
         s++) {
        assert_string_equal(
            herald__admin_state_name((enum herald__connector_state)s),
            names[s]);
    }
}

static void test_render_connectors(void **state)
{
    (void)state;
    struct herald__admin_snapshot snap = snapshot(2);
    size_t len = 0;
    char *body = herald__admin_render_connectors(&snap, &len);
    assert_non_null(body);
    assert_int_equal(len, strlen(body));
    json_error_t jerr;
    json_t *got = json_loads(body, 0, &jerr);
    assert_non_null(got);
    json_t *want = json_loads(
        "{\"connectors\": ["
        " {\"name\": \"anomaly-alerts\", \"state\": \"running\","
        "  \"group_id\": \"email-sender\","
        "  \"topics\": [\"possible_anomalies\"], \"channel\": \"email\","
        "  \"partitions\": ["
        "   {\"topic\": \"possible_anomalies\", \"partition\": 0,"
        "    \"committed\": 40, \"next\": 42, \"in_doubt\": 3,"
        "    \"paused\": false},"
        "   {\"topic\": \"possible_anomalies\", \"partition\": 3,"
        "    \"committed\": null, \"next\": null, \"in_doubt\": 0,"
        "    \"paused\": true}],"
        "  \"channel_unavailable\": null,"
        "  \"counters\": {\"consumed\": 45, \"delivered\": 40,"
        "   \"rejected\": 2, \"retried\": 5, \"unavailable\": 0,"
        "   \"poison\": 1, \"deduped\": 4, \"in_flight\": 3}},"
        " {\"name\": \"b\\\\\\\"\\n\", \"state\": \"failed\","
        "  \"group_id\": \"herald-b\", \"topics\": [\"t1\", \"t2\"],"
        "  \"sink\": \"b\\\\\\\"\\n\", \"partitions\": [],"
        "  \"channel_unavailable\": null,"
        "  \"counters\": {\"consumed\": 0, \"delivered\": 0, \"rejected\": 0,"
        "   \"retried\": 0, \"unavailable\": 0, \"poison\": 0, \"deduped\": 0,"
        "   \"in_flight\": 0}}"
        "],"
        "\"instances\": ["
        " {\"name\": \"email\", \"plugin\": \"smtp\", \"kind\": \"notify\","
        "  \"counters\": {\"sent\": 7, \"odd \\\"name\\\"\\\\\\n\": -1}},"
        " {\"name\": \"b\\\\\\\"\\n\", \"plugin\": \"null\", \"kind\": "
        "\"sink\", \"counters\": {}}]}",
        0, &jerr);
    assert_non_null(want);
    if (!json_equal(got, want)) {
        fail_msg("got %s", body);
    }
    /* Keys in the documented order. */
    assert_memory_equal(body,
                        "{\n  \"connectors\": [\n    {\n      "
                        "\"name\": \"anomaly-alerts\",\n      "
                        "\"state\": \"running\",\n",
                        strlen("{\n  \"connectors\": [\n    {\n      "
                               "\"name\": \"anomaly-alerts\",\n      "
                               "\"state\": \"running\",\n"));
    json_decref(got);
    json_decref(want);
    free(body);
}

/* A running connector whose channel is unavailable: /readyz says 503 and
 * why, /metrics has the gauges and the reason, /connectors the detail. */
static void test_render_channel_unavailable(void **state)
{
    (void)state;
    struct herald__connector_status down = connectors[0];
    down.channel_unavailable = 1;
    down.channel_reason = "authentication failed (SMTP 535, curl 67: "
                          "Login \"denied\")";
    down.channel_unavailable_ms = 125500;
    down.channel_held = 17;
    down.stats.unavailable = 23;
    struct herald__admin_snapshot snap = {.connectors = &down,
                                          .n_connectors = 1,
                                          .instances = instances,
                                          .n_instances = 1};
    size_t len = 0;
    int ready = -1;
    char *body = herald__admin_render_readyz(&snap, &ready, &len);
    assert_int_equal(ready, 0);
    assert_string_equal(
        body, not_ready("anomaly-alerts", "running",
                        "channel email is unavailable (every partition "
                        "waits; nothing is committed past the held records): "
                        "authentication failed (SMTP 535, curl 67: Login "
                        "\\\"denied\\\")"));
    free(body);

    char *text = herald__admin_render_metrics(&snap, &len);
    assert_non_null(text);
    static const char *const lines[] = {
        "\nherald_connector_channel_unavailable{connector=\"anomaly-alerts\"} "
        "1\n",
        "\nherald_connector_channel_unavailable_seconds{connector=\"anomaly-"
        "alerts\"} 125\n",
        "\nherald_connector_channel_held_records{connector=\"anomaly-alerts\"} "
        "17\n",
        "\nherald_connector_channel_unavailable_info{connector=\"anomaly-"
        "alerts\",channel=\"email\",reason=\"authentication failed (SMTP "
        "535, curl 67: Login \\\"denied\\\")\"} 1\n",
        "\nherald_records_unavailable_total{connector=\"anomaly-alerts\"} "
        "23\n",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        if (!strstr(text, lines[i])) {
            fail_msg("no line %s in %s", lines[i], text);
        }
    }
    free(text);

    body = herald__admin_render_connectors(&snap, &len);
    json_error_t jerr;
    json_t *got = json_loads(body, 0, &jerr);
    assert_non_null(got);
    json_t *want =
        json_pack("{s:s, s:I, s:I}", "reason", down.channel_reason, "for_ms",
                  (json_int_t)125500, "held", (json_int_t)17);
    json_t *c0 = json_array_get(json_object_get(got, "connectors"), 0);
    assert_true(json_equal(json_object_get(c0, "channel_unavailable"), want));
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(c0, "counters"), "unavailable")),
                     23);
    json_decref(want);
    json_decref(got);
    free(body);
}

/* ---- routing ---------------------------------------------------------- */

static struct herald__admin_reply route(const char *head)
{
    struct herald__admin_request req;
    struct herald__admin_snapshot snap = snapshot(1);
    struct herald__admin_reply reply;
    assert_int_equal(parse(head, &req), 200);
    assert_int_equal(herald__admin_route(&req, &snap, &reply), 0);
    return reply;
}

static void test_route(void **state)
{
    (void)state;
    struct herald__admin_reply r = route("GET /healthz HTTP/1.0\r\n\r\n");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/plain; charset=utf-8");
    assert_string_equal(r.body, "ok\n");
    assert_null(r.extra_headers);
    free(r.body);

    r = route("GET /nope HTTP/1.0\r\n\r\n");
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "not found; the admin endpoint serves "
                                "/healthz, /readyz, /metrics and "
                                "/connectors\n");
    free(r.body);

    r = route("POST /nope HTTP/1.0\r\n\r\n"); /* the path decides first */
    assert_int_equal(r.status, 404);
    free(r.body);

    r = route("GET /healthz/ HTTP/1.0\r\n\r\n");
    assert_int_equal(r.status, 404);
    free(r.body);

    r = route("POST /metrics HTTP/1.0\r\n\r\n");
    assert_int_equal(r.status, 405);
    assert_string_equal(r.extra_headers, "Allow: GET, HEAD\r\n");
    assert_string_equal(r.body, "method not allowed\n");
    free(r.body);

    r = route("get /metrics HTTP/1.0\r\n\r\n"); /* methods are case-sensitive */
    assert_int_equal(r.status, 405);
    free(r.body);

    r = route("HEAD /metrics?x=1 HTTP/1.0\r\n\r\n");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type,
                        "text/plain; version=0.0.4; charset=utf-8");
    assert_int_equal(r.body_len, strlen(r.body));
    assert_memory_equal(r.body, "# HELP herald_info ", 19);
    free(r.body);

    r = route("GET /readyz HTTP/1.0\r\n\r\n");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    free(r.body);

    r = route("GET /connectors HTTP/1.0\r\n\r\n");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    free(r.body);

    /* Not ready: 503 with the reason. */
    struct herald__admin_request req;
    struct herald__admin_snapshot snap = snapshot(2);
    assert_int_equal(parse("GET /readyz HTTP/1.0\r\n\r\n", &req), 200);
    assert_int_equal(herald__admin_route(&req, &snap, &r), 0);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "\"state\": \"failed\""));
    free(r.body);
}

/* ---- a real listener -------------------------------------------------- */

struct fake {
    int snapshots, releases;
    size_t n_connectors;
};

static int fake_snapshot(void *ctx, struct herald__admin_snapshot *out)
{
    struct fake *f = ctx;
    f->snapshots++;
    *out = snapshot(f->n_connectors);
    return 0;
}

static void fake_release(void *ctx, struct herald__admin_snapshot *snap)
{
    struct fake *f = ctx;
    (void)snap;
    f->releases++;
}

struct server {
    struct herald__loop *loop;
    struct herald__admin *admin;
    struct fake fake;
};

static int server_setup(void **state)
{
    struct server *s = calloc(1, sizeof *s);
    struct herald__admin_listen at;
    char err[256];
    assert_non_null(s);
    s->fake.n_connectors = 1;
    s->loop = herald__loop_new();
    assert_int_equal(
        herald__admin_parse_listen("127.0.0.1:0", &at, err, sizeof err), 0);
    struct herald__admin_source src = {fake_snapshot, fake_release, &s->fake};
    s->admin = herald__admin_new(s->loop, &at, &src, err, sizeof err);
    if (!s->admin) {
        fail_msg("%s", err);
    }
    *state = s;
    return 0;
}

static int server_teardown(void **state)
{
    struct server *s = *state;
    herald__admin_destroy(s->admin);
    herald__loop_destroy(s->loop);
    free(s);
    return 0;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Turn the loop a few times without blocking. */
static void spin(struct server *s)
{
    for (int i = 0; i < 5; i++) {
        herald__loop_run_once(s->loop, 0);
    }
}

static int connect_to(struct server *s)
{
    struct sockaddr_in sa = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)herald__admin_port(s->admin));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Read until the server closes, turning its loop; fails after 15 s. The
 * caller frees the answer. */
static char *read_all(struct server *s, int fd)
{
    size_t len = 0, cap = 65536;
    char *out = malloc(cap + 1);
    uint64_t deadline = now_ms() + 15000;
    assert_non_null(out);
    for (;;) {
        ssize_t n = recv(fd, out + len, cap - len, 0);
        if (n > 0) {
            len += (size_t)n;
            assert_true(len < cap);
            continue;
        }
        if (n == 0) {
            break;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            fail_msg("recv: %s", strerror(errno));
        }
        if (now_ms() > deadline) {
            fail_msg("no answer within 15 s; got %zu bytes", len);
        }
        herald__loop_run_once(s->loop, 0);
        usleep(1000);
    }
    close(fd);
    out[len] = '\0';
    return out;
}

/* Send req in pieces of `chunk` bytes (turning the loop between them) and
 * return the answer. */
static char *exchange(struct server *s, const char *req, size_t len,
                      size_t chunk)
{
    int fd = connect_to(s);
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        if (send(fd, req + off, n, MSG_NOSIGNAL) != (ssize_t)n) {
            break; /* the server answered early and closed */
        }
        spin(s);
    }
    return read_all(s, fd);
}

static char *get(struct server *s, const char *req)
{
    return exchange(s, req, strlen(req), strlen(req));
}

/* got must be the whole answer for a text/plain body (frees got). The
 * literal bytes are spelt out once in test_response. */
static void assert_text_answer(char *got, const char *status, const char *extra,
                               const char *body, int head_only)
{
    char want[1024];
    snprintf(want, sizeof want,
             "HTTP/1.1 %s\r\n"
             "Content-Type: text/plain; charset=utf-8\r\n"
             "Content-Length: %zu\r\n"
             "Connection: close\r\n"
             "Cache-Control: no-store\r\n"
             "%s\r\n%s",
             status, strlen(body), extra ? extra : "", head_only ? "" : body);
    assert_string_equal(got, want);
    free(got);
}

static void test_listener_address(void **state)
{
    struct server *s = *state;
    char want[64];
    assert_true(herald__admin_port(s->admin) > 0);
    snprintf(want, sizeof want, "127.0.0.1:%d", herald__admin_port(s->admin));
    assert_string_equal(herald__admin_address(s->admin), want);

    /* The port is taken now: a second server says so. */
    struct herald__admin_listen at;
    char err[256];
    assert_int_equal(herald__admin_parse_listen(want, &at, err, sizeof err), 0);
    struct herald__admin_source src = {fake_snapshot, fake_release, &s->fake};
    assert_null(herald__admin_new(s->loop, &at, &src, err, sizeof err));
    assert_string_equal(err, "admin: cannot listen: Address already in use");
}

static void test_listener_healthz(void **state)
{
    struct server *s = *state;
    char *got = get(s, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_text_answer(got, "200 OK", NULL, "ok\n", 0);
    assert_int_equal(s->fake.snapshots, 1);
    assert_int_equal(s->fake.releases, 1);

    /* HEAD: headers only. */
    got = get(s, "HEAD /healthz HTTP/1.0\r\n\r\n");
    assert_text_answer(got, "200 OK", NULL, "ok\n", 1);
}

static void test_listener_metrics_byte_by_byte(void **state)
{
    struct server *s = *state;
    const char *req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    s->fake.n_connectors = 2;
    char *got = exchange(s, req, strlen(req), 1);
    char want[8192];
    snprintf(want, sizeof want,
             "HTTP/1.1 200 OK\r\n"
             "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
             "Content-Length: %zu\r\n"
             "Connection: close\r\n"
             "Cache-Control: no-store\r\n"
             "\r\n%s",
             strlen(metrics_text), metrics_text);
    assert_string_equal(got, want);
    free(got);
    assert_int_equal(s->fake.snapshots, 1);
}

static void test_listener_errors(void **state)
{
    struct server *s = *state;
    char *got = get(s, "POST /readyz HTTP/1.1\r\nHost: x\r\n"
                       "Content-Length: 2\r\n\r\n{}");
    assert_text_answer(got, "405 Method Not Allowed", "Allow: GET, HEAD\r\n",
                       "method not allowed\n", 0);

    got = get(s, "GET /admin HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_memory_equal(got, "HTTP/1.1 404 Not Found\r\n", 24);
    free(got);

    got = get(s, "\x16\x03\x01\x02\x00garbage");
    assert_text_answer(got, "400 Bad Request", NULL, "bad request\n", 0);

    got = get(s, "GET / HTTP/2.0\r\n\r\n");
    assert_memory_equal(got, "HTTP/1.1 505 HTTP Version Not Supported\r\n", 41);
    free(got);

    /* 20 KiB of header: 431 after 8 KiB, and the rest is read and dropped
     * so that the answer is not lost to a reset. */
    size_t big = 20480;
    char *req = malloc(big);
    assert_non_null(req);
    memset(req, 'a', big);
    const char *start = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ";
    memcpy(req, start, strlen(start));
    got = exchange(s, req, big, 4096);
    assert_text_answer(got, "431 Request Header Fields Too Large", NULL,
                       "request head too large (the limit is 8 KiB)\n", 0);

    memset(req, 'a', big);
    memcpy(req, "GET /", 5);
    got = exchange(s, req, big, 4096);
    assert_memory_equal(got, "HTTP/1.1 414 URI Too Long\r\n", 27);
    free(got);
    free(req);
    /* Only the two well-formed requests (405, 404) asked the worker. */
    assert_int_equal(s->fake.snapshots, 2);
}

/* A client that stops half way through its head gets 408 after the read
 * timeout (5 s); the loop serves others meanwhile. */
static void test_listener_timeout(void **state)
{
    struct server *s = *state;
    int slow = connect_to(s);
    assert_int_equal(send(slow, "GET /healthz HT", 15, 0), 15);
    spin(s);
    uint64_t t0 = now_ms();
    char *got = get(s, "GET /healthz HTTP/1.0\r\n\r\n");
    assert_memory_equal(got, "HTTP/1.1 200 OK\r\n", 17);
    free(got);
    got = read_all(s, slow);
    uint64_t took = now_ms() - t0;
    assert_text_answer(got, "408 Request Timeout", NULL, "request timeout\n",
                       0);
    assert_true(took >= 4000 && took < 8000);
}

/* Many connections at once, answered in any order. */
static void test_listener_concurrent(void **state)
{
    struct server *s = *state;
    enum { N = 20 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = connect_to(s);
    }
    for (int i = N - 1; i >= 0; i--) {
        const char *req = "GET /readyz HTTP/1.0\r\n\r\n";
        assert_int_equal(send(fds[i], req, strlen(req), 0),
                         (ssize_t)strlen(req));
    }
    for (int i = 0; i < N; i++) {
        char *got = read_all(s, fds[i]);
        assert_string_equal(got, "HTTP/1.1 200 OK\r\n"
                                 "Content-Type: application/json\r\n"
                                 "Content-Length: 24\r\n"
                                 "Connection: close\r\n"
                                 "Cache-Control: no-store\r\n"
                                 "\r\n"
                                 "{\n  \"status\": \"ready\"\n}\n");
        free(got);
    }
    assert_int_equal(s->fake.snapshots, N);
    assert_int_equal(s->fake.releases, N);
}

/* A name in an answer that came from ${env:}/${file:} is redacted: the
 * endpoint has no authentication. */
static void test_listener_redacts(void **state)
{
    struct server *s = *state;

    assert_int_equal(herald__redact_register("possible_anomalies", 18), 0);
    char *got = get(s, "GET /connectors HTTP/1.0\r\n\r\n");
    herald__redact_reset();
    assert_memory_equal(got, "HTTP/1.1 200 OK\r\n", 17);
    assert_null(strstr(got, "possible_anomalies"));
    assert_non_null(strstr(got, "\"topics\": [\n        \"<redacted>\""));
    free(got);
}

/* 64 clients (the limit) that connect and send nothing must not lock
 * /healthz out: the oldest idle connection is closed to admit a new one,
 * and the limit holds (the second oldest is still open). */
static void test_listener_idle_flood(void **state)
{
    struct server *s = *state;
    enum { LIMIT = 64 };
    int idle[LIMIT];
    char byte;

    for (int i = 0; i < LIMIT; i++) {
        idle[i] = connect_to(s);
        spin(s); /* accepted in connect order */
    }
    char *got = get(s, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_text_answer(got, "200 OK", NULL, "ok\n", 0);
    /* The first idle client was closed without a word; the second was
     * not: one slot made room, no more. */
    assert_int_equal(recv(idle[0], &byte, 1, 0), 0);
    assert_int_equal(recv(idle[1], &byte, 1, 0), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    /* The flood goes on; each new /healthz still gets its answer. */
    for (int round = 0; round < 3; round++) {
        got = get(s, "GET /healthz HTTP/1.0\r\n\r\n");
        assert_text_answer(got, "200 OK", NULL, "ok\n", 0);
    }
    for (int i = 0; i < LIMIT; i++) {
        close(idle[i]);
    }
    assert_int_equal(s->fake.snapshots, 4);
}

/* ---- the worker's admin: validation ------------------------------------ */

/* herald__worker_new on `admin_yaml` + one null-sink connector; returns
 * what it printed (the caller frees) and the worker in *out. */
static char *worker_errors(const char *admin_yaml, enum herald__worker_mode m,
                           struct herald__worker **out, char *path,
                           size_t pathlen)
{
    char tmpl[] = "/tmp/herald-test-admin-XXXXXX";
    int fd = mkstemp(tmpl);
    char text[1024];
    assert_true(fd >= 0);
    int n = snprintf(text, sizeof text,
                     "kafka: { bootstrap.servers: \"127.0.0.1:1\" }\n"
                     "%s"
                     "connectors:\n"
                     "  - name: c\n"
                     "    topics: [t]\n"
                     "    value: { format: string }\n"
                     "    sink: { plugin: null }\n",
                     admin_yaml);
    assert_int_equal(write(fd, text, (size_t)n), n);
    close(fd);
    snprintf(path, pathlen, "%s", tmpl);

    char *buf = NULL;
    size_t len = 0;
    FILE *errs = open_memstream(&buf, &len);
    struct herald__worker_opts o = {
        .config_path = tmpl, .mode = m, .log_level = "error"};
    *out = herald__worker_new(&o, errs);
    fclose(errs);
    unlink(tmpl);
    return buf;
}

/* want: the message after "PATH". */
static void expect_error(const char *admin_yaml, const char *want_after_path)
{
    struct herald__worker *w = NULL;
    char path[64];
    char want[512];
    char *got =
        worker_errors(admin_yaml, HERALD__MODE_CHECK, &w, path, sizeof path);
    snprintf(want, sizeof want, "%s%s", path, want_after_path);
    assert_null(w);
    assert_string_equal(got, want);
    free(got);
}

static void test_worker_admin_config(void **state)
{
    (void)state;
    expect_error("admin: { listen: \"127.0.0.1:99999\" }\n",
                 ":2:18: invalid admin listen address '127.0.0.1:99999': "
                 "the port must be a number from 0 to 65535\n");
    expect_error("admin: { lisen: 127.0.0.1:1 }\n",
                 ":2:10: unknown key 'lisen' (did you mean 'listen'?)\n");
    expect_error("admin: 8093\n", ":2:8: 'admin' expects a map (e.g. admin: "
                                  "{ listen: 127.0.0.1:8093 }); got '8093'\n");
    expect_error("admin: { listen: [a] }\n",
                 ":2:18: 'admin.listen' expects HOST:PORT (e.g. "
                 "127.0.0.1:8093); got a list\n");

    /* Valid, and `herald check` binds nothing: the same port twice. */
    for (int i = 0; i < 2; i++) {
        struct herald__worker *w = NULL;
        char path[64];
        char *got = worker_errors("admin: { listen: 127.0.0.1:1 }\n",
                                  HERALD__MODE_CHECK, &w, path, sizeof path);
        assert_string_equal(got, "");
        assert_non_null(w);
        herald__worker_destroy(w);
        free(got);
    }
    struct herald__worker *w = NULL;
    char path[64];
    char *got =
        worker_errors("admin: {}\n", HERALD__MODE_CHECK, &w, path, sizeof path);
    assert_string_equal(got, "");
    assert_non_null(w);
    herald__worker_destroy(w);
    free(got);

    /* Not loopback: valid, with a note. */
    char want[256];
    got = worker_errors("admin: { listen: \"0.0.0.0:8093\" }\n",
                        HERALD__MODE_CHECK, &w, path, sizeof path);
    snprintf(want, sizeof want,
             "note: %s:2:18: admin listens on a non-loopback address and "
             "has no authentication\n",
             path);
    assert_string_equal(got, want);
    assert_non_null(w);
    herald__worker_destroy(w);
    free(got);
}

/* herald run: a port in use is an error at `listen:`. */
/* `herald check` notes credentials that http:// would carry in clear and
 * a registry whose TLS verification is off; nothing else. */
static void expect_notes(const char *yaml, const char *const *want)
{
    struct herald__worker *w = NULL;
    char path[64];
    char all[2048] = "";
    char *got = worker_errors(yaml, HERALD__MODE_CHECK, &w, path, sizeof path);
    size_t o = 0;

    for (size_t i = 0; want[i]; i++) {
        o += (size_t)snprintf(all + o, sizeof all - o, "note: %s%s\n", path,
                              want[i]);
    }
    assert_string_equal(got, all);
    assert_non_null(w);
    free(got);
    herald__worker_destroy(w);
}

static void test_worker_transport_notes(void **state)
{
    (void)state;
    static const char *const userinfo[] = {
        ":3:8: schema_registry url is http://: the URL's userinfo would "
        "cross the network in clear (use https://)",
        NULL};
    expect_notes("schema_registry:\n"
                 "  url: http://u:p@127.0.0.1:1/x\n",
                 userinfo);
    static const char *const basic[] = {
        ":3:8: schema_registry url is http://: basic_auth would cross the "
        "network in clear (use https://)",
        ":5:25: schema_registry insecure_skip_verify is on: the registry's "
        "TLS certificate is not verified, so anyone on the path can serve "
        "schemas and read its credentials",
        NULL};
    expect_notes("schema_registry:\n"
                 "  url: http://127.0.0.1:1\n"
                 "  basic_auth: u:p\n"
                 "  insecure_skip_verify: true\n",
                 basic);
    static const char *const none[] = {NULL};
    expect_notes("schema_registry:\n"
                 "  url: https://127.0.0.1:1\n"
                 "  bearer_token: t\n"
                 "  insecure_skip_verify: false\n",
                 none);
    expect_notes("schema_registry:\n"
                 "  url: http://127.0.0.1:1\n",
                 none);
    static const char *const sendgrid[] = {
        ":7:15: 'email' base_url is http://: api_key would cross the network "
        "in clear (use https://)",
        NULL};
    expect_notes("channels:\n"
                 "  email:\n"
                 "    plugin: sendgrid\n"
                 "    from: a@b.example\n"
                 "    api_key: SG.k\n"
                 "    base_url: http://127.0.0.1:1\n",
                 sendgrid);
}

static void test_worker_admin_port_in_use(void **state)
{
    (void)state;
    struct sockaddr_in sa = {0};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);

    char yaml[128], want[256], path[64];
    snprintf(yaml, sizeof yaml, "admin: { listen: \"127.0.0.1:%d\" }\n",
             ntohs(sa.sin_port));
    struct herald__worker *w = NULL;
    char *got = worker_errors(yaml, HERALD__MODE_RUN, &w, path, sizeof path);
    snprintf(want, sizeof want,
             "%s:2:18: admin: cannot listen: Address already in use\n", path);
    assert_null(w);
    assert_string_equal(got, want);
    free(got);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_every_split),
        cmocka_unit_test(test_parse_garbage),
        cmocka_unit_test(test_parse_oversize),
        cmocka_unit_test(test_response),
        cmocka_unit_test(test_parse_listen),
        cmocka_unit_test(test_render_metrics),
        cmocka_unit_test(test_render_readyz),
        cmocka_unit_test(test_render_channel_unavailable),
        cmocka_unit_test(test_render_connectors),
        cmocka_unit_test(test_route),
        cmocka_unit_test_setup_teardown(test_listener_address, server_setup,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_listener_healthz, server_setup,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_listener_metrics_byte_by_byte,
                                        server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(test_listener_errors, server_setup,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_listener_timeout, server_setup,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_listener_redacts, server_setup,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_listener_idle_flood, server_setup,
                                        server_teardown),
        cmocka_unit_test_setup_teardown(test_listener_concurrent, server_setup,
                                        server_teardown),
        cmocka_unit_test(test_worker_admin_config),
        cmocka_unit_test(test_worker_admin_port_in_use),
        cmocka_unit_test(test_worker_transport_notes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
