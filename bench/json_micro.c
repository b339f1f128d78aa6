/*
 * json_micro.c - micro-benchmark of the `json` input format's decode:
 * jansson (json_loadb into a tree, freed per record, as decode.c did)
 * against yyjson into an arena (json_decode.c, the arena reset per
 * record). The records are the bench topic's JSON values
 * (bench/consume.py: 64 distinct possible_anomalies values as
 * json.dumps(separators=(",", ":")) writes them), decoded in turn.
 *
 *   build/bench/json_micro [N]     (N records per path, default 1000000)
 *
 * Prints CPU ns per record for each path (this thread's CPU time, so
 * other load on the machine weighs less); with bench/malloc_count.so
 * preloaded and HERALD_MALLOC_COUNT set (make bench-json-micro does
 * both), also allocations per record, counted in that run of its own
 * (the counter costs time). Bench only: not installed, not a test.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "json_decode.h"

/* bench/consume.py's values */
#define N_VALUES 64
#define BASE_MS 1587525570000LL
#define WINDOW_MS 30000LL
#define CARD_STEP 7919
#define DEFAULT_RECORDS 1000000L
#define VALUE_MAX 1024
/* bench/malloc_count.c's file: MC_THREADS blocks of MC_LINE bytes, each
 * starting with the allocation count. */
#define MC_THREADS 64
#define MC_LINE 64

static char values[N_VALUES][VALUE_MAX];
static size_t value_len[N_VALUES];

static void make_values(void)
{
    int i, j;

    for (i = 0; i < N_VALUES; i++) {
        char *v = values[i];
        size_t n = 0;
        long long start = BASE_MS + (long long)i * WINDOW_MS;

        n += (size_t)snprintf(
            v + n, VALUE_MAX - n,
            "{\"card_number\":\"4%015d\",\"email_address\":"
            "\"user%d@example.com\",\"n_attempts\":%d,\"total_amount\":"
            "\"%d.%02d\",\"tx_ids\":[",
            i * CARD_STEP, i, 3 + i % 4, 100 + i, i);
        for (j = 0; j < 3 + i % 4; j++) {
            n += (size_t)snprintf(v + n, VALUE_MAX - n,
                                  "%s\"%08x-0000-4000-8000-%012d\"",
                                  j ? "," : "", (unsigned)i, j);
        }
        n += (size_t)snprintf(v + n, VALUE_MAX - n,
                              "],\"start_boundary\":%lld,\"end_boundary\":"
                              "%lld}",
                              start, start + WINDOW_MS);
        value_len[i] = n;
    }
}

static const uint64_t *mc_counts;

/* Allocations so far in this process, or 0 without the counter. */
static uint64_t allocations(void)
{
    uint64_t sum = 0;
    int t;

    if (!mc_counts) {
        return 0;
    }
    for (t = 0; t < MC_THREADS; t++) {
        sum += __atomic_load_n(&mc_counts[t * (MC_LINE / sizeof sum)],
                               __ATOMIC_RELAXED);
    }
    return sum;
}

static void map_counter(void)
{
    const char *path = getenv("HERALD_MALLOC_COUNT");
    void *m;
    int fd;

    if (!path || (fd = open(path, O_RDONLY)) < 0) {
        return;
    }
    m = mmap(NULL, MC_THREADS * MC_LINE, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m != MAP_FAILED) {
        mc_counts = m;
    }
}

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void report(const char *path, long n, double ns, uint64_t allocs)
{
    printf("json_micro path=%s records=%ld cpu_ns_per_record=%.0f", path, n,
           ns / (double)n);
    if (mc_counts) {
        printf(" mallocs_per_record=%.3f", (double)allocs / (double)n);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    struct herald__json_parser parser = {0};
    struct herald__arena arena = {0};
    long n = argc > 1 ? atol(argv[1]) : DEFAULT_RECORDS;
    char err[256];
    uint64_t a0;
    double t0;
    long i;

    if (n <= 0) {
        fprintf(stderr, "usage: json_micro [RECORDS]\n");
        return 2;
    }
    make_values();
    map_counter();
    {
        size_t sum = 0;
        for (i = 0; i < N_VALUES; i++) {
            sum += value_len[i];
        }
        printf("json_micro value_bytes_avg=%zu\n", sum / N_VALUES);
    }

    /* Warm up both paths (first-use allocations are not steady state). */
    for (i = 0; i < N_VALUES; i++) {
        struct herald__decode_budget b;
        struct herald__val v;
        json_t *j;

        herald__decode_budget_init(&b, value_len[i], 0, 0);
        if (herald__json_decode_jansson(values[i], value_len[i], &b, &j, err,
                                        sizeof err) != 0) {
            fprintf(stderr, "json_micro: jansson: %s\n", err);
            return 1;
        }
        json_decref(j);
        herald__decode_budget_init(&b, value_len[i], 0, 0);
        if (herald__json_decode_arena(&parser, values[i], value_len[i], &b,
                                      &arena, &v, err, sizeof err) != 0) {
            fprintf(stderr, "json_micro: arena: %s\n", err);
            return 1;
        }
        herald__arena_reset(&arena);
    }

    a0 = allocations();
    t0 = now_ns();
    for (i = 0; i < n; i++) {
        struct herald__decode_budget b;
        size_t k = (size_t)i % N_VALUES;
        json_t *j;

        herald__decode_budget_init(&b, value_len[k], 0, 0);
        if (herald__json_decode_jansson(values[k], value_len[k], &b, &j, err,
                                        sizeof err) != 0) {
            return 1;
        }
        json_decref(j);
    }
    report("jansson", n, now_ns() - t0, allocations() - a0);

    a0 = allocations();
    t0 = now_ns();
    for (i = 0; i < n; i++) {
        struct herald__decode_budget b;
        size_t k = (size_t)i % N_VALUES;
        struct herald__val v;

        herald__decode_budget_init(&b, value_len[k], 0, 0);
        if (herald__json_decode_arena(&parser, values[k], value_len[k], &b,
                                      &arena, &v, err, sizeof err) != 0) {
            return 1;
        }
        herald__arena_reset(&arena);
    }
    report("arena", n, now_ns() - t0, allocations() - a0);

    herald__arena_free(&arena);
    herald__json_parser_cleanup(&parser);
    return 0;
}
