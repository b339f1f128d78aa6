/* fuzz_config.c - libFuzzer target: the YAML config loader and the
 * redacted printer on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(void *ctx, const char *s, size_t len)
{
    (void)ctx;
    (void)s;
    (void)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct herald__diag d;
    herald__diag_init(&d);
    struct herald__node *root =
        herald__config_load_string("fuzz.yaml", (const char *)data, size, &d);
    if (root) {
        static const char *const keys[] = {"kafka", "connectors", NULL};
        herald__node_check_keys(root, keys, &d);
        herald__config_print_redacted(root, sink, NULL);
        herald__config_destroy(root);
    }
    herald__diag_cleanup(&d);
    return 0;
}
