/*
 * decode_micro.c - micro-benchmark of the Avro decoder on the consume
 * benchmark's record (bench/consume.py: the possible_anomalies value, 7
 * fields, 4 transaction ids, a decimal amount): decodes one encoded value
 * N times and prints, per record, CPU nanoseconds and calls to the allocator
 * (malloc, calloc, realloc; counted by tests/unit/alloc_count.h).
 *
 *   decode_micro [jansson|arena|both] [N]      (default: both, 1000000)
 *
 * jansson: herald__avro_decode, a new jansson tree per record, dropped.
 * arena: herald__avro_decode_arena into one arena, reset per record.
 * Built by CMake as build/bench/decode_micro (not installed, not a test;
 * not in sanitizer builds, which own the allocator). Built with
 * -DDECODE_MICRO_JANSSON_ONLY it needs nothing the decoder before the
 * arena (commit 1d3912a) lacked, so the same file measures the old code
 * (bench/RESULTS.md says how). Under callgrind, run two N and divide the
 * difference of the totals by the difference of N.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc_count.h"
#include "avro_decode.h"
#include "decode_budget.h"
#ifndef DECODE_MICRO_JANSSON_ONLY
#include "value.h"
#endif

#if !ALLOC_COUNT
#error "decode_micro counts the allocator: build it without a sanitizer"
#endif

/* ---- the record ------------------------------------------------------- */

#define DEFAULT_N 1000000u
#define NS_PER_S 1000000000.0
#define RECORD_MAX 512
#define TX_IDS 4
/* values shaped like consume.py's: a window start, an amount at scale 2 */
#define BASE_MS 1587525570000LL
#define AMOUNT_UNSCALED 12345 /* 123.45 at scale 2 */

/* The schema file: bench/consume.py's values are written with it. */
#define SCHEMA_FILE HERALD_SOURCE_DIR "/tests/data/avro/possible_anomalies.avsc"
#define SCHEMA_MAX 4096

static size_t put_long(unsigned char *p, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 0;

    while (z >= 0x80) {
        p[n++] = (unsigned char)(z | 0x80);
        z >>= 7;
    }
    p[n++] = (unsigned char)z;
    return n;
}

static size_t put_str(unsigned char *p, const char *s)
{
    size_t len = strlen(s);
    size_t n = put_long(p, (int64_t)len);

    memcpy(p + n, s, len);
    return n + len;
}

/* Every field set, as the producer writes it (union branch 1). */
static size_t encode(unsigned char *p)
{
    char tx[64];
    size_t n = 0;
    int i;

    n += put_long(p + n, 1);
    n += put_str(p + n, "4000000000007919");
    n += put_long(p + n, 1);
    n += put_str(p + n, "user1@example.com");
    n += put_long(p + n, 1);
    n += put_long(p + n, 4);
    n += put_long(p + n, 1);
    n += put_long(p + n, 2); /* two bytes, big-endian two's complement */
    p[n++] = (unsigned char)(AMOUNT_UNSCALED >> 8);
    p[n++] = (unsigned char)(AMOUNT_UNSCALED & 0xff);
    n += put_long(p + n, 1);
    n += put_long(p + n, TX_IDS);
    for (i = 0; i < TX_IDS; i++) {
        snprintf(tx, sizeof tx, "%08x-0000-4000-8000-%012d", 1, i);
        n += put_long(p + n, 1);
        n += put_str(p + n, tx);
    }
    n += put_long(p + n, 0);
    n += put_long(p + n, 1);
    n += put_long(p + n, BASE_MS);
    n += put_long(p + n, 1);
    n += put_long(p + n, BASE_MS + 30000);
    return n;
}

/* CPU seconds of this process: on a shared machine, time it spent
 * descheduled does not count. */
static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / NS_PER_S;
}

static void report(const char *what, unsigned long n, double secs,
                   uint64_t calls)
{
    printf("%-8s records=%lu cpu_ns/record=%.0f mallocs/record=%.2f\n", what, n,
           secs * NS_PER_S / (double)n, (double)calls / (double)n);
}

static int run_jansson(const struct herald__avro_schema *s,
                       const unsigned char *rec, size_t len, unsigned long n)
{
    char err[512];
    uint64_t a0 = alloc_calls;
    double t0 = now();
    unsigned long i;

    for (i = 0; i < n; i++) {
        json_t *v = NULL;
        if (herald__avro_decode(s, rec, len, 0, &v, err, sizeof err) != 0) {
            fprintf(stderr, "decode_micro: %s\n", err);
            return -1;
        }
        json_decref(v);
    }
    report("jansson", n, now() - t0, alloc_calls - a0);
    return 0;
}

#ifndef DECODE_MICRO_JANSSON_ONLY
static int run_arena(const struct herald__avro_schema *s,
                     const unsigned char *rec, size_t len, unsigned long n)
{
    struct herald__arena a = {0};
    char err[512];
    uint64_t a0 = alloc_calls;
    double t0 = now();
    unsigned long i;
    int rc = 0;

    for (i = 0; i < n && rc == 0; i++) {
        struct herald__decode_budget b;
        struct herald__val v;
        herald__arena_reset(&a);
        herald__decode_budget_init(&b, len, 0, 0);
        rc = herald__avro_decode_arena(s, rec, len, 0, &b, &a, &v, err,
                                       sizeof err);
    }
    if (rc != 0) {
        fprintf(stderr, "decode_micro: %s\n", err);
    } else {
        report("arena", n, now() - t0, alloc_calls - a0);
    }
    herald__arena_free(&a);
    return rc;
}
#endif

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "both";
    unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 10) : DEFAULT_N;
    unsigned char rec[RECORD_MAX];
    char schema_text[SCHEMA_MAX];
    struct herald__avro_schema *s;
    char err[512];
    size_t len = encode(rec);
    size_t slen;
    FILE *f = fopen(SCHEMA_FILE, "rb");
    int rc = 0;

    if (!f) {
        perror(SCHEMA_FILE);
        return 1;
    }
    slen = fread(schema_text, 1, sizeof schema_text, f);
    fclose(f);
    s = herald__avro_schema_parse(schema_text, slen, err, sizeof err);
    if (!s) {
        fprintf(stderr, "decode_micro: schema: %s\n", err);
        return 1;
    }
    printf("record bytes=%zu\n", len);
    if (n > 0 && (strcmp(mode, "jansson") == 0 || strcmp(mode, "both") == 0)) {
        rc |= run_jansson(s, rec, len, n);
    }
#ifndef DECODE_MICRO_JANSSON_ONLY
    if (n > 0 && (strcmp(mode, "arena") == 0 || strcmp(mode, "both") == 0)) {
        rc |= run_arena(s, rec, len, n);
    }
#endif
    herald__avro_schema_destroy(s);
    return rc ? 1 : 0;
}
