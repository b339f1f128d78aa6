/*
 * malloc_count.c - an LD_PRELOAD shim for the consume benchmark: counts
 * every call to the glibc allocator (malloc, calloc, realloc, free and the
 * aligned forms) of the process it is loaded into, from every thread, into
 * a small file mapped shared, so the benchmark can read the counts while
 * the process runs (bench/consume.py takes them at two moments of steady
 * state and divides by the records between).
 *
 *   cc -O2 -shared -fPIC -o malloc_count.so bench/malloc_count.c
 *   HERALD_MALLOC_COUNT=/tmp/counts LD_PRELOAD=./malloc_count.so herald ...
 *
 * The file holds MC_THREADS blocks of MC_LINE bytes, one per thread; each
 * starts with MC_SLOTS native uint64: allocations (every call that returns
 * new memory: malloc, calloc, realloc, the aligned forms), frees (free
 * with a non-NULL pointer, realloc to 0), reallocs (realloc calls, also
 * counted in allocations) and bytes requested. Sum the blocks. The calls go on
 * to glibc's own __libc_* entry points, so no dlsym (which allocates) is
 * needed. Not built by CMake and never linked into herald. It is not
 * free: under callgrind it added about 35 instructions per call (3,000
 * per Avro record, 10 % of herald's), so the bench counts allocations in
 * a run of its own and times another.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t align, size_t size);

enum { MC_ALLOCS, MC_FREES, MC_REALLOCS, MC_BYTES, MC_SLOTS };

/* One block of counters per thread, a cache line each, so threads never
 * share a line and a count is a plain add by its only writer; the reader
 * sums the blocks (a torn read of one block is at most one call off).
 * Threads past MC_THREADS - 1 share the last block with atomic adds. */
#define MC_THREADS 64
#define MC_LINE 64
struct mc_block {
    uint64_t n[MC_SLOTS];
    char pad[MC_LINE - MC_SLOTS * sizeof(uint64_t)];
};

/* Counts land here until the file is mapped (the loader allocates before
 * our constructor runs), then in the file. */
static struct mc_block early[MC_THREADS];
static struct mc_block *blocks = early;
static unsigned next_thread;
static __thread int my_block __attribute__((tls_model("initial-exec"))) = -1;

static void add(int slot, uint64_t n)
{
    struct mc_block *b = __atomic_load_n(&blocks, __ATOMIC_ACQUIRE);

    if (my_block < 0) {
        unsigned t = __atomic_fetch_add(&next_thread, 1, __ATOMIC_RELAXED);
        my_block = t < MC_THREADS - 1 ? (int)t : MC_THREADS - 1;
    }
    if (my_block == MC_THREADS - 1) {
        __atomic_fetch_add(&b[my_block].n[slot], n, __ATOMIC_RELAXED);
    } else {
        b[my_block].n[slot] += n;
    }
}

__attribute__((constructor)) static void mc_start(void)
{
    const char *path = getenv("HERALD_MALLOC_COUNT");
    struct mc_block *m;
    int fd;

    if (!path) {
        return;
    }
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        return;
    }
    if (ftruncate(fd, (off_t)sizeof early) != 0) {
        close(fd);
        return;
    }
    m = mmap(NULL, sizeof early, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        return;
    }
    /* Still one thread here: nothing else writes early meanwhile. */
    memcpy(m, early, sizeof early);
    __atomic_store_n(&blocks, m, __ATOMIC_RELEASE);
}

void *malloc(size_t size)
{
    add(MC_ALLOCS, 1);
    add(MC_BYTES, size);
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    add(MC_ALLOCS, 1);
    add(MC_BYTES, n * size);
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    add(MC_REALLOCS, 1);
    if (size == 0 && p) {
        add(MC_FREES, 1);
    } else {
        add(MC_ALLOCS, 1);
        add(MC_BYTES, size);
    }
    return __libc_realloc(p, size);
}

void free(void *p)
{
    if (p) {
        add(MC_FREES, 1);
    }
    __libc_free(p);
}

void *memalign(size_t align, size_t size)
{
    add(MC_ALLOCS, 1);
    add(MC_BYTES, size);
    return __libc_memalign(align, size);
}

void *aligned_alloc(size_t align, size_t size)
{
    return memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    void *p;

    if (align < sizeof(void *) || (align & (align - 1)) != 0) {
        return EINVAL;
    }
    p = memalign(align, size);
    if (!p) {
        return ENOMEM;
    }
    *out = p;
    return 0;
}

void *valloc(size_t size)
{
    return memalign((size_t)sysconf(_SC_PAGESIZE), size);
}
