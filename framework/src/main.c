/* main.c - the herald command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "api.h"
#include "config_schema.h"
#include "demo.h"
#include "loader.h"
#include "log.h"
#include "record.h"
#include "worker.h"
#include "worker_config.h"

static const char usage[] =
    "usage: herald COMMAND [OPTIONS]\n"
    "\n"
    "herald is a Kafka sink worker: it consumes topics, decodes Avro, JSON\n"
    "or strings, and hands each record to a plugin (email through SendGrid\n"
    "or SMTP, files, ...), committing offsets only after delivery.\n"
    "\n"
    "commands:\n"
    "  run -c FILE                 run every connector in FILE\n"
    "  check -c FILE               validate FILE, load its plugins, compile\n"
    "                              its templates, print it (secrets\n"
    "                              redacted); list every error found\n"
    "  check --describe            print the reference of every key herald\n"
    "                              accepts (type, default, allowed values)\n"
    "  tail -c FILE CONNECTOR [-n N]\n"
    "                              print the connector's records as JSON\n"
    "                              lines (own consumer group, no commits)\n"
    "  plugins list                list the plugin files on the search\n"
    "                              path (names and paths; loads none)\n"
    "  plugins describe NAME       load a plugin, print its options\n"
    "  plugins check FILE.so       validate a plugin file as the loader\n"
    "                              would (owner and mode, ABI, symbol,\n"
    "                              definition, option table, name) without\n"
    "                              running its init or open; dlopen still\n"
    "                              runs the file's constructors, once the\n"
    "                              ownership checks passed; exit 0 or 1\n"
    "  demo [-c FILE]              the tutorial's fraud alert, end to end,\n"
    "                              on an in-process mock Kafka cluster\n"
    "  --version, --help\n"
    "\n"
    "options:\n"
    "  --log-level LEVEL           error, warn, info or debug\n"
    "\n"
    "plugin search path: plugin_path in FILE (relative to FILE's\n"
    "directory), $HERALD_PLUGIN_PATH (absolute directories), then the\n"
    "install directory next to this binary (" HERALD_PLUGIN_DIR_FROM_BIN "\n"
    "from its directory; the build tree for an uninstalled binary).\n"
    "\n"
    "exit codes:\n"
    "  0  success (run: stopped by SIGTERM/SIGINT after draining)\n"
    "  1  invalid configuration or plugin (every error is printed)\n"
    "  2  usage error\n"
    "  3  a connector stopped on an error (errors.tolerance: none, or a\n"
    "     fatal Kafka error)\n";

struct args {
    const char *config;
    const char *log_level;
    const char *positional[4];
    int n_positional;
    long long count;
    int describe; /* check --describe */
};

static int parse_args(int argc, char **argv, int start, struct args *a)
{
    for (int i = start; i < argc; i++) {
        const char *s = argv[i];
        if ((strcmp(s, "-c") == 0 || strcmp(s, "--config") == 0) &&
            i + 1 < argc) {
            a->config = argv[++i];
        } else if (strcmp(s, "--log-level") == 0 && i + 1 < argc) {
            a->log_level = argv[++i];
        } else if (strcmp(s, "--describe") == 0) {
            a->describe = 1;
        } else if (strcmp(s, "-n") == 0 && i + 1 < argc) {
            a->count = atoll(argv[++i]);
        } else if (s[0] == '-') {
            fprintf(stderr, "herald: unknown option '%s'\n\n%s", s, usage);
            return -1;
        } else if (a->n_positional < 4) {
            a->positional[a->n_positional++] = s;
        } else {
            fprintf(stderr, "herald: too many arguments\n");
            return -1;
        }
    }
    if (a->log_level) {
        enum herald_log_level lv;
        if (herald__log_parse_level(a->log_level, &lv) != 0) {
            fprintf(stderr, "herald: invalid --log-level '%s'\n", a->log_level);
            return -1;
        }
        herald__log_set_level(lv);
    }
    return 0;
}

static int need_config(const struct args *a, const char *cmd)
{
    if (!a->config) {
        fprintf(stderr, "herald %s: missing -c FILE\n", cmd);
        return -1;
    }
    return 0;
}

/* herald tail: each decoded record as one JSON line on stdout. */
static void print_record(void *ctx, const struct herald_record *r)
{
    (void)ctx;
    json_t *o = herald__record_to_json(r);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    }
    free(s);
    json_decref(o);
}

/* -n N: a connector stops once N of its records are final. */
static int stop_after(void *ctx, const struct herald__connector *c,
                      int64_t finals)
{
    (void)c;
    const struct args *a = ctx;
    return a->count > 0 && finals >= a->count;
}

static int cmd_run(const struct args *a, enum herald__worker_mode mode,
                   const char *only)
{
    struct herald__worker_opts o = {
        .config_path = a->config,
        .mode = mode,
        .only_connector = only,
        .hooks = {.decoded = mode == HERALD__MODE_TAIL ? print_record : NULL,
                  .final = stop_after,
                  .ctx = (void *)a},
        .log_level = a->log_level,
    };
    struct herald__worker *w = herald__worker_new(&o, stderr);
    if (!w) {
        if (mode == HERALD__MODE_CHECK) {
            fprintf(stderr, "%s: invalid\n", a->config);
        }
        return 1;
    }
    int rc = 0;
    if (mode == HERALD__MODE_CHECK) {
        herald__worker_print_config(w, stdout);
        fprintf(stderr, "%s: ok\n", a->config);
    } else {
        rc = herald__worker_run(w);
    }
    herald__worker_destroy(w);
    return rc;
}

/* One line per file found; what the loader would refuse goes to stderr,
 * in the words it would refuse it with. Nothing is loaded. */
static void print_listed(void *ctx, const char *name, const char *path,
                         const char *refusal)
{
    (void)ctx;
    if (refusal) {
        fprintf(stderr, "plugin %s: %s\n", path, refusal);
        return;
    }
    printf("%-12s %s\n", name, path);
}

static const char plugins_usage[] =
    "usage: herald plugins list | describe NAME | check FILE.so\n";

/* `plugins check FILE`: the loader's checks, no init; one line either
 * way (ok to stdout, the refusal to stderr). A relative FILE is the
 * user's own word for it, so it is resolved against the current
 * directory here (the loader never does that on its own). */
static int cmd_plugins_check(const char *file)
{
    char summary[1024], err[1024];
    char *abs = NULL;
    int rc;

    if (file[0] != '/') {
        char *cwd = getcwd(NULL, 0);
        if (!cwd || asprintf(&abs, "%s/%s", cwd, file) < 0) {
            free(cwd);
            fprintf(stderr, "herald: out of memory\n");
            return 1;
        }
        free(cwd);
    }
    rc = herald__loader_check_file(abs ? abs : file, summary, sizeof summary,
                                   err, sizeof err);
    if (rc == 0) {
        printf("%s\n", summary);
    } else {
        fprintf(stderr, "%s\n", err);
    }
    free(abs);
    return rc == 0 ? 0 : 1;
}

static int cmd_plugins(const struct args *a)
{
    if (a->n_positional < 1) {
        fputs(plugins_usage, stderr);
        return 2;
    }
    if (strcmp(a->positional[0], "check") == 0) {
        if (a->n_positional != 2) {
            fputs(plugins_usage, stderr);
            return 2;
        }
        return cmd_plugins_check(a->positional[1]);
    }
    struct herald__loader *l = herald__loader_new(herald__host_api());
    int rc = 0;
    if (!l) {
        fprintf(stderr, "herald: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < herald__loader_note_count(l); i++) {
        fprintf(stderr, "herald: %s\n", herald__loader_note_at(l, i));
    }
    if (strcmp(a->positional[0], "list") == 0) {
        /* Listing never loads: a planted *.so would run its constructors
         * in dlopen before any check of its definition could refuse it. */
        herald__loader_list(l, print_listed, NULL);
        fprintf(stderr, "(files on the search path, not loaded; `herald "
                        "plugins describe NAME` loads one and prints its "
                        "definition)\n");
    } else if (strcmp(a->positional[0], "describe") == 0 &&
               a->n_positional == 2) {
        char err[1024];
        const struct herald__plugin_handle *h =
            herald__loader_load(l, a->positional[1], err, sizeof err);
        if (!h) {
            fprintf(stderr, "%s\n", err);
            rc = 1;
        } else {
            herald__plugin_describe(&h->def, stdout);
        }
    } else {
        fputs(plugins_usage, stderr);
        rc = 2;
    }
    herald__loader_destroy(l);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("herald %s (plugin ABI %d.%d)\n", HERALD_VERSION,
               HERALD_ABI_MAJOR, HERALD_ABI_MINOR);
        return 0;
    }
    struct args a = {0};
    if (parse_args(argc, argv, 2, &a) != 0) {
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0) {
        return need_config(&a, cmd) ? 2 : cmd_run(&a, HERALD__MODE_RUN, NULL);
    }
    if (strcmp(cmd, "check") == 0 && a.describe) {
        /* The reference, from the tables the parser reads. */
        herald__section_describe(&herald__config_section, stdout);
        return 0;
    }
    if (a.describe) {
        fprintf(stderr, "herald: --describe goes with check\n");
        return 2;
    }
    if (strcmp(cmd, "check") == 0) {
        return need_config(&a, cmd) ? 2 : cmd_run(&a, HERALD__MODE_CHECK, NULL);
    }
    if (strcmp(cmd, "tail") == 0) {
        if (need_config(&a, cmd) || a.n_positional != 1) {
            fprintf(stderr, "usage: herald tail -c FILE CONNECTOR [-n N]\n");
            return 2;
        }
        return cmd_run(&a, HERALD__MODE_TAIL, a.positional[0]);
    }
    if (strcmp(cmd, "plugins") == 0) {
        return cmd_plugins(&a);
    }
    if (strcmp(cmd, "demo") == 0) {
        return herald__demo_run(a.config ? a.config : "config/demo.yaml",
                                a.log_level);
    }
    fprintf(stderr, "herald: unknown command '%s'\n\n%s", cmd, usage);
    return 2;
}
