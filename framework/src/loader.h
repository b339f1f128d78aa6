/*
 * loader.h - finds plugin .so files on the search path, checks their ABI
 * and definition, and runs init (loader.c). Also prints a plugin's
 * definition for `herald plugins describe`.
 *
 * Search order for a bare name: the directories added with
 * herald__loader_add_path() (YAML `plugin_path:`, resolved by the caller
 * against the config file's directory), in the order added; then
 * HERALD_PLUGIN_PATH (colon-separated, read by herald__loader_new); then
 * the built-in directories: the build tree (HERALD_BUILD_PLUGIN_DIR) and
 * the configured install directory only when the running binary is the
 * uninstalled one inside the build tree (HERALD_BUILD_DIR); otherwise the
 * install directory found from the binary's own location
 * (HERALD_PLUGIN_DIR_FROM_BIN, relative to the binary's directory, e.g.
 * "../lib/herald/plugins"). Every directory is absolute: relative entries
 * are ignored with a note (herald__loader_note_at), so the current
 * directory is never searched. The file is `<name>.so`, and the plugin it
 * holds must declare the same name. A name containing '/' is a path, which
 * must be absolute, and may declare any name.
 *
 * Before dlopen, the file and every directory on its (resolved) path must
 * be owned by root or the running user, and not writable by group or
 * others (a directory may be if its sticky bit is set).
 *
 * Every refusal is one line naming the file and the reason, e.g.
 *   plugin /p/x.so: ABI major 2 is not supported (this herald speaks 1)
 *   plugin /p/x.so: file is writable by group or others (mode 0666);
 *     refusing to load it
 *
 * Threads: a loader is used from one thread (startup, then the loop).
 */
#ifndef HERALD_LOADER_H
#define HERALD_LOADER_H

#include <stddef.h>
#include <stdio.h>

#include "herald/plugin.h"

struct herald__loader;

/* One loaded plugin. Owned by the loader; valid until
 * herald__loader_destroy(). The strings and tables `def` points to live in
 * the .so and die with it. */
struct herald__plugin_handle {
    struct herald_plugin def; /* normalized copy: unknown members zero */
    char *path;               /* the file, as found on the search path */
};

/* The smallest struct_size an ABI 1.x plugin may declare: through `close`
 * (`destroy` is optional and may be cut off). */
#define HERALD__PLUGIN_MIN_SIZE                                                \
    (offsetof(struct herald_plugin, close) +                                   \
     sizeof(((struct herald_plugin *)0)->close))

/* sizeof(struct herald_option) in ABI 1.0 (through `help`): the stride of
 * a 1.0 plugin's option table, and the least option_size of a 1.1 one. */
#define HERALD__OPTION_SIZE_1_0                                                \
    (offsetof(struct herald_option, help) +                                    \
     sizeof(((struct herald_option *)0)->help))

/* The most entries an option table may have: a bound on the walk to its
 * NULL-name end, which no ELF size protects. */
#define HERALD__MAX_OPTIONS 1024

/* A new loader whose plugins get `api` in init(). api is borrowed and must
 * outlive the loader. Reads HERALD_PLUGIN_PATH now (relative entries are
 * ignored with a note). The built-in directories follow from where the
 * running binary is (/proc/self/exe). NULL on ENOMEM. */
struct herald__loader *herald__loader_new(const struct herald_host_api *api);

/* herald__loader_new as if the running binary were `exe` (an absolute
 * path; it need not exist), for tests of the built-in directories. */
struct herald__loader *
herald__loader_new_for_exe(const struct herald_host_api *api, const char *exe);

/* Append a directory to the YAML part of the search path (searched before
 * HERALD_PLUGIN_PATH). dir is copied. It must be absolute: the caller
 * resolves a YAML path against the config file's directory; a relative
 * dir is ignored with a note. Returns 0, or -1 on ENOMEM. */
int herald__loader_add_path(struct herald__loader *l, const char *dir);

/* Search path entries ignored so far (relative ones), one line each, e.g.
 * "HERALD_PLUGIN_PATH entry 'p' is not an absolute directory; ignored":
 * count, and the i-th (borrowed, valid until destroy). */
size_t herald__loader_note_count(const struct herald__loader *l);
const char *herald__loader_note_at(const struct herald__loader *l, size_t i);

/* The search path, in order, duplicates removed: count, and the i-th
 * directory (borrowed; valid until the next add_path or destroy). */
size_t herald__loader_path_count(const struct herald__loader *l);
const char *herald__loader_path_at(const struct herald__loader *l, size_t i);

/* Load the plugin `name` (a bare name or a path with '/'), check it and run
 * its init. A plugin is loaded once: later calls with its name, or with a
 * path to the same file, return the same handle. Returns the handle
 * (borrowed), or NULL with one line in err (err may be NULL). */
const struct herald__plugin_handle *
herald__loader_load(struct herald__loader *l, const char *name, char *err,
                    size_t errlen);

/* `herald plugins check FILE`: every check the loader makes before init
 * (trust of the file and its directories, dlopen, the symbol, ABI,
 * struct and option sizes, definition, option table, and the declared
 * name against the file name when it ends in ".so"), then dlclose. init,
 * open and destroy never run; the file's constructors do (dlopen runs
 * them), but only after the trust checks passed. path must be absolute.
 * Returns 0 with one line "plugin PATH: ok (name N, version V, kind K, ABI
 * M.m, N option(s))" in summary, or -1 with the loader's one-line refusal
 * in err. */
int herald__loader_check_file(const char *path, char *summary,
                              size_t summarylen, char *err, size_t errlen);

/* Called once per refused file by herald__loader_load_all(); msg is the
 * one-line reason, borrowed for the call. */
typedef void (*herald__loader_error_fn)(void *ctx, const char *msg);

/* Load every `*.so` on the search path (runs each file's constructors
 * and init: for tests and tools that mean to; `plugins list` does not). A file
 * name met in an earlier directory shadows the same file name later on, as in a
 * search by name. on_error (may be NULL) gets each refusal. Returns the number
 * of files refused. */
size_t herald__loader_load_all(struct herald__loader *l,
                               herald__loader_error_fn on_error, void *ctx);

/* Called once per `*.so` file by herald__loader_list(): name is the file
 * name without ".so", path the file; refusal is NULL, or the one-line
 * reason the loader would refuse the file for its owner or mode (without
 * the "plugin PATH: " prefix). All borrowed for the call. */
typedef void (*herald__loader_list_fn)(void *ctx, const char *name,
                                       const char *path, const char *refusal);

/* Every `*.so` on the search path, shadowed as in a search by name, WITHOUT
 * loading any: no constructor or init of a file runs, so `herald plugins
 * list` is safe on a directory holding anything. Returns the number of
 * files reported. */
size_t herald__loader_list(const struct herald__loader *l,
                           herald__loader_list_fn fn, void *ctx);

/* Loaded plugins, in load order: count, and the i-th (borrowed). */
size_t herald__loader_count(const struct herald__loader *l);
const struct herald__plugin_handle *
herald__loader_get(const struct herald__loader *l, size_t i);

/* Call each plugin's destroy() (those whose init succeeded), dlclose, and
 * free. Every handle and every pointer into a plugin dies here. NULL is
 * accepted. */
void herald__loader_destroy(struct herald__loader *l);

/* "sink", "notify", or "?" for an unknown kind. Static string. */
const char *herald__plugin_kind_name(enum herald_plugin_kind kind);
/* "string", "int", "bool", "duration", "size", "enum", "list", or "?". */
const char *herald__opt_type_name(enum herald_opt_type type);

/* Print a plugin's definition (name, version, kind, description, options
 * with type, default, required, secret, enum values, help) to out, for
 * `herald plugins describe`. The default of a secret option is never
 * printed. */
void herald__plugin_describe(const struct herald_plugin *p, FILE *out);

#endif
