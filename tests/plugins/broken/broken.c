/*
 * broken.c - deliberately broken plugins for test_loader: one source, each
 * fault chosen by a compile definition (see CMakeLists.txt). Plugins that
 * pass the loader's checks count init/destroy through api->counter_add
 * with a NULL instance, so the test can see which ran.
 */
#include <stddef.h>
#include <stdio.h>

#include "herald/plugin.h"

#ifndef B_NAME
#define B_NAME "broken"
#endif
#ifndef B_MAJOR
#define B_MAJOR HERALD_ABI_MAJOR
#endif
#ifndef B_MINOR
#define B_MINOR HERALD_ABI_MINOR
#endif
#ifndef B_SIZE
#define B_SIZE sizeof(struct herald_plugin)
#endif
#ifndef B_VERSION
#define B_VERSION "0.0.1"
#endif
#ifndef B_KIND
#define B_KIND HERALD_PLUGIN_SINK
#endif
#ifndef B_OPTION_SIZE
#define B_OPTION_SIZE sizeof(struct herald_option)
#endif

#ifndef B_OPEN2
static const struct herald_host_api *api;
#endif

#ifdef B_CTOR_FILE
/* A planted file: its constructor runs on dlopen, before any check the
 * loader makes, and leaves a mark. `plugins list` must never run it. */
__attribute__((constructor)) static void b_planted(void)
{
    FILE *f = fopen(B_CTOR_FILE, "w");

    if (f != NULL) {
        fputs("constructor ran\n", f);
        fclose(f);
    }
}
#endif

#ifndef B_OPEN2
static int b_init(const struct herald_host_api *host, char *err, size_t errlen)
{
    api = host;
#ifdef B_INIT_FAILS
    snprintf(err, errlen, "cannot reach the moon\nfrom here");
    return -1;
#else
    (void)err;
    (void)errlen;
    api->counter_add(NULL, "init:" B_NAME, 1);
    return 0;
#endif
}

static void b_destroy(void)
{
    api->counter_add(NULL, "destroy:" B_NAME, 1);
}
#endif

#ifndef B_NO_OPEN
static int b_open(struct herald_instance *inst,
                  const struct herald_options *opts, void **state, char *err,
                  size_t errlen)
{
    (void)inst;
    (void)opts;
    (void)err;
    (void)errlen;
    *state = NULL;
    return 0;
}
#endif

#ifdef B_OPEN2
/* open2 (ABI 1.1): the API table arrives with the instance; counts
 * "open2" on the instance through it, so a test sees it was this API. */
static int b_open2(const struct herald_host_api *host,
                   struct herald_instance *inst,
                   const struct herald_options *opts, void **state, char *err,
                   size_t errlen)
{
    (void)opts;
    (void)err;
    (void)errlen;
    host->counter_add(inst, "open2", 1);
    *state = (void *)host;
    return 0;
}
#endif

#ifndef B_NO_DELIVER
static int b_deliver(void *state, struct herald_batch *b)
{
    (void)state;
    (void)b;
    return -1;
}
#endif

static void b_close(void *state)
{
    (void)state;
}

#ifdef B_UNDEFINED
/* Resolved nowhere: dlopen(RTLD_NOW) must refuse the file. */
extern int herald_no_such_function(void);
HERALD_EXPORT int b_call_undefined(void);
HERALD_EXPORT int b_call_undefined(void)
{
    return herald_no_such_function();
}
#endif

#ifdef B_BAD_ENUM
static const struct herald_option b_options[] = {
    {.name = "mode", .type = HERALD_OPT_ENUM, .help = "no values"},
    {.name = NULL},
};
#elif defined(B_BAD_OPTION_TYPE)
static const struct herald_option b_options[] = {
    {.name = "opt", .type = HERALD_OPT_STRING, .help = "an option"},
    {.name = "level", .type = (enum herald_opt_type)42, .help = "bad type"},
    {.name = NULL},
};
#elif defined(B_DUP_OPTION)
static const struct herald_option b_options[] = {
    {.name = "opt", .type = HERALD_OPT_STRING, .help = "an option"},
    {.name = "opt", .type = HERALD_OPT_INT, .help = "the same name"},
    {.name = NULL},
};
#else
static const struct herald_option b_options[] = {
    {.name = "opt", .type = HERALD_OPT_STRING, .help = "an option"},
    {.name = NULL},
};
#endif

#if defined(B_TINY_SYMBOL)
/* The right name on a 4-byte object: the loader must not read past it. */
HERALD_EXPORT const unsigned herald_plugin = 1;
static const struct herald_plugin hidden_plugin;
HERALD_EXPORT const void *const not_a_herald_plugin = &hidden_plugin;
static const struct herald_plugin hidden_plugin = {
#elif defined(B_NO_SYMBOL)
/* A complete definition, exported under another name. */
static const struct herald_plugin hidden_plugin;
HERALD_EXPORT const void *const not_a_herald_plugin = &hidden_plugin;
static const struct herald_plugin hidden_plugin = {
#else
HERALD_PLUGIN_DEFINE = {
#endif
    .abi_major = B_MAJOR,
    .abi_minor = B_MINOR,
    .struct_size = B_SIZE,
    .name = B_NAME,
    .version = B_VERSION,
    .description = "deliberately broken",
    .kind = B_KIND,
    .options = b_options,
#ifdef B_OPEN2
    /* No init, no destroy, no global: the real host's counter_add needs
     * an instance, which only open2 gets. */
    .open2 = b_open2,
#else
    .init = b_init,
    .destroy = b_destroy,
#endif
#ifndef B_NO_OPEN
    .open = b_open,
#endif
#ifndef B_NO_DELIVER
    .deliver = b_deliver,
#endif
    .close = b_close,
    .option_size = B_OPTION_SIZE,
};
