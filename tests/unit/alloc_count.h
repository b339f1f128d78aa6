/*
 * alloc_count.h - counts calls to the allocator of the program that
 * includes it (once, in one file): malloc, calloc and realloc are replaced
 * here and go on to glibc's own __libc_* entry points, as
 * bench/malloc_count.c does for a whole process. Used by test_avro.c (no
 * malloc for a decode into a reset arena) and bench/decode_micro.c.
 *
 * ALLOC_COUNT is 1 where the count works and 0 under a sanitizer, which
 * owns the allocator there (nothing is replaced then, and there is no
 * alloc_calls). alloc_calls holds the calls so far. Thread: the counter is not
 * atomic; count from one thread.
 */
#ifndef HERALD_ALLOC_COUNT_H
#define HERALD_ALLOC_COUNT_H

#include <stddef.h>
#include <stdint.h>

#if defined(__SANITIZE_ADDRESS__)
#define ALLOC_COUNT 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define ALLOC_COUNT 0
#endif
#endif
#ifndef ALLOC_COUNT
#define ALLOC_COUNT 1
#endif

#if ALLOC_COUNT
static uint64_t alloc_calls;

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

void *malloc(size_t size)
{
    alloc_calls++;
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    alloc_calls++;
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    alloc_calls++;
    return __libc_realloc(p, size);
}

void free(void *p)
{
    __libc_free(p);
}
#endif

#endif
