/*
 * hello.c - the SDK test's fixture (tests/unit/test_sdk.sh): the smallest
 * plugin built out of tree against an installed herald, once with
 * find_package(HeraldPlugin) and once with pkg-config. It acknowledges
 * every record; HELLO_BUILT_WITH names the build in the description, so
 * the test can tell which of the two herald loaded.
 */
#include <stddef.h>
#include <stdlib.h>

#include <herald/plugin.h>

#ifndef HELLO_BUILT_WITH
#error "define HELLO_BUILT_WITH to the name of the build"
#endif

#ifdef HELLO_UNDEFINED
/* Declared, defined nowhere: --no-undefined must fail the link. */
extern int hello_defined_nowhere(void);
#endif

static const struct herald_host_api *api;

/* Not static: with hidden visibility it stays inside the .so anyway, and
 * the test checks that herald_plugin is the only symbol exported. */
size_t hello_count(struct herald_batch *b);

size_t hello_count(struct herald_batch *b)
{
    return api->batch_count(b);
}

static int hello_init(const struct herald_host_api *host, char *err,
                      size_t errlen)
{
    (void)err;
    (void)errlen;
    api = host;
#ifdef HELLO_UNDEFINED
    return hello_defined_nowhere();
#else
    return 0;
#endif
}

static int hello_open(struct herald_instance *inst,
                      const struct herald_options *opts, void **state,
                      char *err, size_t errlen)
{
    (void)inst;
    (void)opts;
    (void)err;
    (void)errlen;
    *state = NULL;
    return 0;
}

static int hello_deliver(void *state, struct herald_batch *b)
{
    size_t n = hello_count(b);

    (void)state;
    for (size_t i = 0; i < n; i++) {
        api->complete(b, i, HERALD_OK, 0, NULL);
    }
    return 0;
}

static void hello_close(void *state)
{
    (void)state;
}

static const struct herald_option hello_options[] = {
    {.name = "greeting",
     .type = HERALD_OPT_STRING,
     .default_value = "hello",
     .help = "what to greet with"},
    {.name = NULL},
};

HERALD_PLUGIN_DEFINE = {
    HERALD_PLUGIN_HEADER,
    .name = "hello",
    .version = "1.0.0",
    .description = "SDK fixture built with " HELLO_BUILT_WITH,
    .kind = HERALD_PLUGIN_SINK,
    .options = hello_options,
    .init = hello_init,
    .open = hello_open,
    .deliver = hello_deliver,
    .close = hello_close,
};
