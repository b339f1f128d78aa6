/*
 * connector_config.h - one connector's settings, parsed from its map in the
 * configuration (connector_config.c). Pure: no network, no plugin, no loop;
 * the connector (connector.c) builds its objects from the result.
 */
#ifndef HERALD_CONNECTOR_CONFIG_H
#define HERALD_CONNECTOR_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "decode.h"

/* Defaults of the settings below, for the connector and the tests. */
#define HERALD__CONNECTOR_BATCH_MAX_RECORDS 100
#define HERALD__CONNECTOR_BATCH_MAX_BYTES (1 << 20)
#define HERALD__CONNECTOR_LINGER_MS 20
#define HERALD__CONNECTOR_MAX_IN_FLIGHT 1000
#define HERALD__CONNECTOR_DRAIN_TIMEOUT_MS 30000
#define HERALD__CONNECTOR_COMMIT_INTERVAL_MS 1000
#define HERALD__CONNECTOR_RETRY_INITIAL_MS 1000
#define HERALD__CONNECTOR_RETRY_MAX_MS 300000
#define HERALD__CONNECTOR_RETRY_TIMEOUT_MS 3600000
/* Probes of an unavailable channel: defaults of errors.channel_probe. */
#define HERALD__CONNECTOR_PROBE_INITIAL_MS 1000
#define HERALD__CONNECTOR_PROBE_MAX_MS 60000

/* Every setting of one connector. Strings are owned (freed by
 * herald__connector_config_cleanup); node pointers are borrowed from the
 * configuration tree and valid as long as it is. */
struct herald__connector_config {
    char *name;     /* "?" when missing (an error was reported) */
    char *group_id; /* group_id, or herald-<name>; tail: a private group */
    char **topics;
    size_t n_topics;
    const struct herald__node *map;   /* the connector's own map */
    const struct herald__node *kafka; /* per-connector properties; or NULL */

    /* key: and value: (formats_ok: both parsed without error) */
    struct herald__format_spec key_format, value_format;
    int formats_ok;

    /* batch: */
    int64_t batch_max_records, batch_max_bytes, linger_ms;

    int64_t max_in_flight;
    int skip_tombstones;
    int64_t drain_timeout_ms;
    int64_t commit_interval_ms;

    /* errors: */
    int tolerance_all;       /* errors.tolerance: all (0: none) */
    char *dead_letter_topic; /* or NULL */
    const struct herald__node *dead_letter_node; /* its node, for errors */
    int64_t retry_initial_ms, retry_max_ms, retry_timeout_ms;
    int64_t probe_initial_ms, probe_max_ms; /* errors.channel_probe */

    /* The sections another module parses (NULL when absent). In tail mode
     * notify and sink are not looked at (both NULL). */
    const struct herald__node *notify;
    const struct herald__node *sink;
    const struct herald__node *dedup;
};

struct herald__section;

/* The description of a connector's map (config_schema.h): every key, its
 * type, default and help; the parser below and `herald check --describe`
 * both read it. */
extern const struct herald__section herald__connector_section;

/* Parse the connector map into out (zeroed first, then every field set, to
 * its default when absent). tail: herald tail (a private consumer group, no
 * notify/sink needed). Every problem is added to d, in the order of the
 * keys' checks. Returns 0, or -1 when d got an error; either way out must be
 * cleaned up with herald__connector_config_cleanup. Any thread. */
int herald__connector_config_parse(const struct herald__node *map, int tail,
                                   struct herald__connector_config *out,
                                   struct herald__diag *d);
/* Free what out owns and zero it. NULL-safe. */
void herald__connector_config_cleanup(struct herald__connector_config *cfg);

#endif
