/* loader.c - plugin search, dlopen, ABI and definition checks, init. */
#include "loader.h"
#include "notify.h"
#include "textdist.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef HERALD_BUILD_DIR
#define HERALD_BUILD_DIR ""
#endif
#ifndef HERALD_BUILD_PLUGIN_DIR
#define HERALD_BUILD_PLUGIN_DIR ""
#endif
#ifndef HERALD_INSTALL_PLUGIN_DIR
#define HERALD_INSTALL_PLUGIN_DIR ""
#endif
#ifndef HERALD_PLUGIN_DIR_FROM_BIN
#define HERALD_PLUGIN_DIR_FROM_BIN HERALD_INSTALL_PLUGIN_DIR
#endif

/* Where the running binary is, on Linux. */
#define SELF_EXE "/proc/self/exe"
/* Mode bits that let someone other than the owner change a file. */
#define OTHERS_WRITE (S_IWGRP | S_IWOTH)

/* What the loader keeps per plugin; the public handle comes first so a
 * handle pointer is a pointer to this. */
struct loaded {
    struct herald__plugin_handle h;
    void *dl;
    dev_t dev;
    ino_t ino;
    int inited;
    struct herald_option *options; /* host-layout copy of the table */
};

struct herald__loader {
    const struct herald_host_api *api;
    char **user; /* from add_path, owned */
    size_t n_user;
    char **env; /* from HERALD_PLUGIN_PATH, owned */
    size_t n_env;
    char **builtin; /* build tree (uninstalled binary only), install dir */
    size_t n_builtin;
    char **notes; /* search path entries ignored, one line each */
    size_t n_notes;
    const char **view; /* the search path: borrowed from the lists above */
    size_t n_view;
    struct loaded **plugins;
    size_t n_plugins;
    size_t cap_plugins;
};

static void fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int push_str(char ***list, size_t *n, const char *s, size_t len)
{
    char **grown;
    char *copy;

    copy = strndup(s, len);
    if (!copy) {
        return -1;
    }
    grown = realloc(*list, (*n + 1) * sizeof *grown);
    if (!grown) {
        free(copy);
        return -1;
    }
    grown[(*n)++] = copy;
    *list = grown;
    return 0;
}

static void free_strs(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(list[i]);
    }
    free(list);
}

static int view_add(const char **view, size_t *n, const char *dir)
{
    if (!dir || !*dir) {
        return 0;
    }
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(view[i], dir) == 0) {
            return 0;
        }
    }
    view[(*n)++] = dir;
    return 0;
}

/* Rebuild the ordered, duplicate-free search path. */
static int rebuild_view(struct herald__loader *l)
{
    const char **view;
    size_t n = 0;

    view = malloc((l->n_user + l->n_env + l->n_builtin + 1) * sizeof *view);
    if (!view) {
        return -1;
    }
    for (size_t i = 0; i < l->n_user; i++) {
        view_add(view, &n, l->user[i]);
    }
    for (size_t i = 0; i < l->n_env; i++) {
        view_add(view, &n, l->env[i]);
    }
    for (size_t i = 0; i < l->n_builtin; i++) {
        view_add(view, &n, l->builtin[i]);
    }
    free(l->view);
    l->view = view;
    l->n_view = n;
    return 0;
}

static int add_note(struct herald__loader *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int add_note(struct herald__loader *l, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    return push_str(&l->notes, &l->n_notes, line, strlen(line));
}

/* Resolve "." and ".." in an absolute path, in place, by its text alone
 * (the directory need not exist yet): "/a/bin/../lib" -> "/a/lib". */
static void normalize(char *path)
{
    char *out = path;
    const char *in = path;

    while (*in) {
        const char *seg;
        size_t len;

        while (*in == '/') {
            in++;
        }
        seg = in;
        while (*in && *in != '/') {
            in++;
        }
        len = (size_t)(in - seg);
        if (len == 0 || (len == 1 && seg[0] == '.')) {
            continue;
        }
        if (len == 2 && seg[0] == '.' && seg[1] == '.') {
            while (out > path && *--out != '/') {
            }
            continue;
        }
        *out++ = '/';
        memmove(out, seg, len);
        out += len;
    }
    if (out == path) {
        *out++ = '/';
    }
    *out = '\0';
}

/* 1 if the resolved path `exe` lies inside the build tree. */
static int in_build_tree(const char *exe)
{
    char *build;
    size_t len;
    int inside;

    if (!HERALD_BUILD_DIR[0]) {
        return 0;
    }
    build = realpath(HERALD_BUILD_DIR, NULL);
    if (!build) {
        return 0;
    }
    len = strlen(build);
    inside = strncmp(exe, build, len) == 0 && exe[len] == '/';
    free(build);
    return inside;
}

/* The built-in directories for a binary at `exe`: the build tree's plugins
 * (and the configured install directory) when exe is the uninstalled
 * binary in the build tree; otherwise only the install directory, found
 * from where the binary is (so `cmake --install --prefix X` works), or the
 * configured one if exe cannot be resolved. */
static int set_builtin(struct herald__loader *l, const char *exe)
{
    const char *rel = HERALD_PLUGIN_DIR_FROM_BIN;
    char *real = exe ? realpath(exe, NULL) : NULL;
    char *dir = NULL;
    char *slash;
    int rc = -1;

    if (!real && exe && exe[0] == '/') {
        real = strdup(exe); /* a binary that is gone: trust its name */
        if (!real) {
            return -1;
        }
    }
    if (real && in_build_tree(real)) {
        rc = push_str(&l->builtin, &l->n_builtin, HERALD_BUILD_PLUGIN_DIR,
                      strlen(HERALD_BUILD_PLUGIN_DIR));
        if (rc == 0 && strlen(HERALD_INSTALL_PLUGIN_DIR) > 0) {
            rc = push_str(&l->builtin, &l->n_builtin, HERALD_INSTALL_PLUGIN_DIR,
                          strlen(HERALD_INSTALL_PLUGIN_DIR));
        }
        goto out;
    }
    if (!real || rel[0] == '/' || !rel[0]) {
        rc =
            rel[0] ? push_str(&l->builtin, &l->n_builtin, rel, strlen(rel)) : 0;
        goto out;
    }
    slash = strrchr(real, '/');
    *slash = '\0';
    if (asprintf(&dir, "%s/%s", real, rel) < 0) {
        dir = NULL;
        goto out;
    }
    normalize(dir);
    rc = push_str(&l->builtin, &l->n_builtin, dir, strlen(dir));

out:
    free(dir);
    free(real);
    return rc;
}

struct herald__loader *
herald__loader_new_for_exe(const struct herald_host_api *api, const char *exe)
{
    struct herald__loader *l;
    const char *env;

    l = calloc(1, sizeof *l);
    if (!l) {
        return NULL;
    }
    l->api = api;
    env = getenv("HERALD_PLUGIN_PATH");
    while (env && *env) {
        const char *colon = strchr(env, ':');
        size_t len = colon ? (size_t)(colon - env) : strlen(env);

        /* No anchor to resolve a relative entry against but the current
         * directory, which must never be searched by accident. */
        if (len > 0 && env[0] != '/') {
            if (add_note(l,
                         "HERALD_PLUGIN_PATH entry '%.*s' is not an absolute "
                         "directory; ignored",
                         (int)len, env) != 0) {
                goto fail;
            }
        } else if (len > 0 && push_str(&l->env, &l->n_env, env, len) != 0) {
            goto fail;
        }
        env = colon ? colon + 1 : NULL;
    }
    if (set_builtin(l, exe) != 0 || rebuild_view(l) != 0) {
        goto fail;
    }
    return l;

fail:
    herald__loader_destroy(l);
    return NULL;
}

struct herald__loader *herald__loader_new(const struct herald_host_api *api)
{
    return herald__loader_new_for_exe(api, SELF_EXE);
}

int herald__loader_add_path(struct herald__loader *l, const char *dir)
{
    if (!dir || !*dir) {
        return 0;
    }
    if (dir[0] != '/') {
        return add_note(l,
                        "plugin path entry '%s' is not an absolute "
                        "directory; ignored",
                        dir);
    }
    if (push_str(&l->user, &l->n_user, dir, strlen(dir)) != 0) {
        return -1;
    }
    if (rebuild_view(l) != 0) {
        free(l->user[--l->n_user]);
        return -1;
    }
    return 0;
}

size_t herald__loader_note_count(const struct herald__loader *l)
{
    return l->n_notes;
}

const char *herald__loader_note_at(const struct herald__loader *l, size_t i)
{
    return i < l->n_notes ? l->notes[i] : NULL;
}

size_t herald__loader_path_count(const struct herald__loader *l)
{
    return l->n_view;
}

const char *herald__loader_path_at(const struct herald__loader *l, size_t i)
{
    return i < l->n_view ? l->view[i] : NULL;
}

size_t herald__loader_count(const struct herald__loader *l)
{
    return l->n_plugins;
}

const struct herald__plugin_handle *
herald__loader_get(const struct herald__loader *l, size_t i)
{
    return i < l->n_plugins ? &l->plugins[i]->h : NULL;
}

static struct loaded *find_by_name(const struct herald__loader *l,
                                   const char *name)
{
    for (size_t i = 0; i < l->n_plugins; i++) {
        if (strcmp(l->plugins[i]->h.def.name, name) == 0) {
            return l->plugins[i];
        }
    }
    return NULL;
}

static struct loaded *find_by_file(const struct herald__loader *l,
                                   const struct stat *st)
{
    for (size_t i = 0; i < l->n_plugins; i++) {
        if (l->plugins[i]->dev == st->st_dev &&
            l->plugins[i]->ino == st->st_ino) {
            return l->plugins[i];
        }
    }
    return NULL;
}

/* Names appear in YAML, logs and metrics: keep them plain. */
static int valid_name(const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.')) {
            return 0;
        }
    }
    return 1;
}

/* The options table is read by config validation and describe; refuse
 * tables they could not make sense of. 0, or -1 with the reason. */
static int check_options(const struct herald_option *opts, char *why,
                         size_t whylen)
{
    if (!opts) {
        return 0;
    }
    for (size_t i = 0; opts[i].name; i++) {
        const struct herald_option *o = &opts[i];

        if (!*o->name) {
            fail(why, whylen, "option %zu has an empty name", i + 1);
            return -1;
        }
        if (o->type < HERALD_OPT_STRING || o->type > HERALD_OPT_LIST) {
            fail(why, whylen, "option '%s' has unknown type %d", o->name,
                 (int)o->type);
            return -1;
        }
        if (o->type == HERALD_OPT_ENUM &&
            (!o->enum_values || !o->enum_values[0])) {
            fail(why, whylen, "option '%s' is an enum with no values", o->name);
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(opts[j].name, o->name) == 0) {
                fail(why, whylen, "option '%s' is declared twice", o->name);
                return -1;
            }
        }
    }
    return 0;
}

/* Check the definition copied from the .so. 0, or -1 with the reason. */
static int check_def(const struct herald_plugin *d, char *why, size_t whylen)
{
    if (!d->name || !*d->name) {
        fail(why, whylen, "declares no plugin name");
        return -1;
    }
    if (!valid_name(d->name)) {
        fail(why, whylen,
             "plugin name '%s' is not valid (letters, digits, '_', '-' "
             "and '.' only)",
             d->name);
        return -1;
    }
    if (d->kind != HERALD_PLUGIN_SINK && d->kind != HERALD_PLUGIN_NOTIFY) {
        fail(why, whylen, "unknown kind %d (1 is sink, 2 is notify)",
             (int)d->kind);
        return -1;
    }
    if (!d->open && !d->open2) {
        fail(why, whylen, "missing required callback 'open' (or 'open2')");
        return -1;
    }
    if (!d->deliver) {
        fail(why, whylen, "missing required callback 'deliver'");
        return -1;
    }
    if (!d->close) {
        fail(why, whylen, "missing required callback 'close'");
        return -1;
    }
    return check_options(d->options, why, whylen);
}

/* dlerror() usually starts with "<path>: "; the caller prints the path. */
static const char *strip_path(const char *msg, const char *path)
{
    size_t len = strlen(path);

    if (strncmp(msg, path, len) == 0 && msg[len] == ':' &&
        msg[len + 1] == ' ') {
        return msg + len + 2;
    }
    return msg;
}

/* Make a plugin's init message one line. */
static void one_line(char *s)
{
    for (; *s; s++) {
        if (*s == '\n' || *s == '\r' || *s == '\t') {
            *s = ' ';
        }
    }
}

static int push_plugin(struct herald__loader *l, struct loaded *p)
{
    if (l->n_plugins == l->cap_plugins) {
        size_t cap = l->cap_plugins ? l->cap_plugins * 2 : 8;
        struct loaded **grown = realloc(l->plugins, cap * sizeof *grown);

        if (!grown) {
            return -1;
        }
        l->plugins = grown;
        l->cap_plugins = cap;
    }
    l->plugins[l->n_plugins++] = p;
    return 0;
}

/* st_size of the ELF symbol at addr, or 0 if unknown. */
static size_t symbol_size(const void *addr)
{
    const ElfW(Sym) *sym = NULL;
    Dl_info info;

    if (!dladdr1(addr, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym) {
        return 0;
    }
    return (size_t)sym->st_size;
}

/* 1 if uid may own a plugin or a directory on the way to it. */
static int trusted_owner(uid_t uid)
{
    return uid == 0 || uid == geteuid();
}

/* Refuse what someone other than root or the running user could have
 * written: the file itself (owner, group/world write bit), and every
 * directory from the root down to it (owner, and group/world write
 * unless the sticky bit stops others from replacing our entries, as on
 * /tmp; a file they plant there is theirs and fails the owner check).
 * Checked on the resolved path, and on the search directory as given, so
 * a symlink cannot lead around it. Since nobody else can change these,
 * nothing can swap the file between this check and dlopen. 0, or -1 with
 * the one-line reason (without the "plugin PATH: " prefix) in why. */
static int check_trust(const char *path, char *why, size_t whylen)
{
    char *real = realpath(path, NULL);
    struct stat st;
    char *slash;
    int rc = -1;

    if (!real) {
        fail(why, whylen, "%s", strerror(errno));
        return -1;
    }
    if (stat(real, &st) != 0) {
        fail(why, whylen, "%s", strerror(errno));
        goto out;
    }
    if (!trusted_owner(st.st_uid)) {
        fail(why, whylen,
             "file is owned by uid %u, neither root nor the running user "
             "(uid %u); refusing to load it",
             (unsigned)st.st_uid, (unsigned)geteuid());
        goto out;
    }
    if (st.st_mode & OTHERS_WRITE) {
        fail(why, whylen,
             "file is writable by group or others (mode %04o); refusing to "
             "load it",
             (unsigned)(st.st_mode & 07777));
        goto out;
    }
    while ((slash = strrchr(real, '/'))) {
        if (slash == real) {
            slash[1] = '\0'; /* "/" itself, last */
        } else {
            *slash = '\0';
        }
        if (stat(real, &st) != 0) {
            fail(why, whylen, "directory %s: %s", real, strerror(errno));
            goto out;
        }
        if (!trusted_owner(st.st_uid)) {
            fail(why, whylen,
                 "directory %s is owned by uid %u, neither root nor the "
                 "running user (uid %u); refusing to load it",
                 real, (unsigned)st.st_uid, (unsigned)geteuid());
            goto out;
        }
        if ((st.st_mode & OTHERS_WRITE) && !(st.st_mode & S_ISVTX)) {
            fail(why, whylen,
                 "directory %s is writable by group or others (mode %04o); "
                 "refusing to load it",
                 real, (unsigned)(st.st_mode & 07777));
            goto out;
        }
        if (slash == real) {
            break;
        }
    }
    rc = 0;

out:
    free(real);
    return rc;
}

/* check_trust on path and, if path was found through a directory that is
 * a symlink, on that directory as named too. */
static int check_trust_path(const char *path, char *why, size_t whylen)
{
    char *dir;
    char *slash;
    struct stat st;
    int rc;

    if (check_trust(path, why, whylen) != 0) {
        return -1;
    }
    dir = strdup(path);
    if (!dir) {
        fail(why, whylen, "out of memory");
        return -1;
    }
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
    }
    rc = 0;
    if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
        char *real = realpath(dir, NULL);

        rc = real ? 0 : -1;
        if (real) {
            rc = check_trust(real, why, whylen);
        } else {
            fail(why, whylen, "directory %s: %s", dir, strerror(errno));
        }
        free(real);
    }
    free(dir);
    return rc;
}

static void loaded_free(struct loaded *p)
{
    if (!p) {
        return;
    }
    if (p->dl) {
        dlclose(p->dl);
    }
    free(p->options);
    free(p->h.path);
    free(p);
}

/* Copy the plugin's option table into host-layout entries (zero-extended,
 * or cut to the host's size), stepping by the plugin's stride: the
 * option_size it declares, or the 1.0 layout when its definition is too
 * short to hold option_size. 0, or -1 with the reason. */
static int copy_options(struct loaded *p, const struct herald_plugin *d,
                        char *why, size_t whylen)
{
    const char *raw = (const char *)d->options;
    size_t stride = HERALD__OPTION_SIZE_1_0;
    size_t n = 0;
    size_t each;

    if (!raw) {
        return 0;
    }
    /* A definition that ends before option_size (ABI 1.0, or 1.1 before
     * the sizes) has the 1.0 table layout. */
    if (HERALD_SIZE_HAS(d->struct_size, struct herald_plugin, option_size)) {
        if (d->option_size < HERALD__OPTION_SIZE_1_0) {
            fail(why, whylen,
                 "option_size %u is smaller than the ABI 1.0 struct "
                 "herald_option (%zu bytes); set it with HERALD_PLUGIN_HEADER",
                 (unsigned)d->option_size, (size_t)HERALD__OPTION_SIZE_1_0);
            return -1;
        }
        stride = d->option_size;
    }
    /* The table is not an exported symbol, so its end cannot be checked
     * against the ELF; a bound keeps a missing terminator from running
     * through the plugin's memory for long. */
    for (;;) {
        const struct herald_option *o =
            (const struct herald_option *)(const void *)(raw + n * stride);

        if (!o->name) {
            break;
        }
        if (++n > HERALD__MAX_OPTIONS) {
            fail(why, whylen,
                 "option table has more than %d entries (no entry with a "
                 "NULL name at its end?)",
                 HERALD__MAX_OPTIONS);
            return -1;
        }
    }
    p->options = calloc(n + 1, sizeof *p->options);
    if (!p->options) {
        fail(why, whylen, "out of memory");
        return -1;
    }
    each = stride < sizeof *p->options ? stride : sizeof *p->options;
    for (size_t i = 0; i < n; i++) {
        memcpy(&p->options[i], raw + i * stride, each);
    }
    p->h.def.options = p->options;
    return 0;
}

/* Trust, dlopen, symbol, ABI, sizes, definition, option table and (if
 * expect is not NULL) the declared name: everything the loader checks,
 * without init. Returns the plugin (not on the loader's list) or NULL with
 * the one-line reason in err. */
static struct loaded *open_checked(const char *path, const char *expect,
                                   char *err, size_t errlen)
{
    struct loaded *p = NULL;
    const struct herald_plugin *raw;
    const char *dlmsg;
    char why[512];
    size_t symsize;
    void *dl;
    size_t n;

    if (check_trust_path(path, why, sizeof why) != 0) {
        fail(err, errlen, "plugin %s: %s", path, why);
        return NULL;
    }
    dlerror();
    dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        dlmsg = dlerror();
        fail(err, errlen, "plugin %s: %s", path,
             dlmsg ? strip_path(dlmsg, path) : "cannot be loaded");
        return NULL;
    }
    raw = dlsym(dl, HERALD_PLUGIN_SYMBOL);
    if (!raw) {
        fail(err, errlen, "plugin %s: no symbol '%s' (not a herald plugin?)",
             path, HERALD_PLUGIN_SYMBOL);
        goto out;
    }
    /* The symbol's size, where the ELF says it: never read past it. */
    symsize = symbol_size(raw);
    if (symsize && symsize < 3 * sizeof(uint32_t)) {
        fail(err, errlen,
             "plugin %s: symbol '%s' is %zu bytes, too small for a plugin "
             "definition",
             path, HERALD_PLUGIN_SYMBOL, symsize);
        goto out;
    }
    /* The three version fields are all we may read before they pass. */
    if (raw->abi_major != HERALD_ABI_MAJOR) {
        fail(err, errlen,
             "plugin %s: ABI major %u is not supported (this herald speaks "
             "%d)",
             path, (unsigned)raw->abi_major, HERALD_ABI_MAJOR);
        goto out;
    }
    if (raw->abi_minor > HERALD_ABI_MINOR) {
        fail(err, errlen,
             "plugin %s: built for ABI %u.%u, newer than this herald "
             "(%d.%d)",
             path, (unsigned)raw->abi_major, (unsigned)raw->abi_minor,
             HERALD_ABI_MAJOR, HERALD_ABI_MINOR);
        goto out;
    }
    if (raw->struct_size < HERALD__PLUGIN_MIN_SIZE) {
        fail(err, errlen,
             "plugin %s: struct_size %u is smaller than the v%d.0 minimum "
             "%zu",
             path, (unsigned)raw->struct_size, HERALD_ABI_MAJOR,
             (size_t)HERALD__PLUGIN_MIN_SIZE);
        goto out;
    }
    if (symsize && raw->struct_size > symsize) {
        fail(err, errlen,
             "plugin %s: struct_size %u is larger than the symbol '%s' (%zu "
             "bytes)",
             path, (unsigned)raw->struct_size, HERALD_PLUGIN_SYMBOL, symsize);
        goto out;
    }
    p = calloc(1, sizeof *p);
    if (!p) {
        fail(err, errlen, "plugin %s: out of memory", path);
        goto out;
    }
    p->dl = dl;
    dl = NULL;
    n = raw->struct_size < sizeof p->h.def ? raw->struct_size : sizeof p->h.def;
    memcpy(&p->h.def, raw, n);
    if (copy_options(p, &p->h.def, why, sizeof why) != 0 ||
        check_def(&p->h.def, why, sizeof why) != 0) {
        fail(err, errlen, "plugin %s: %s", path, why);
        goto out;
    }
    if (!p->h.def.version) {
        p->h.def.version = "";
    }
    if (!p->h.def.description) {
        p->h.def.description = "";
    }
    if (expect && strcmp(expect, p->h.def.name) != 0) {
        fail(err, errlen,
             "plugin %s: declares name '%s', expected '%s' from its file "
             "name",
             path, p->h.def.name, expect);
        goto out;
    }
    p->h.path = strdup(path);
    if (!p->h.path) {
        fail(err, errlen, "plugin %s: out of memory", path);
        goto out;
    }
    return p;

out:
    loaded_free(p);
    if (dl) {
        dlclose(dl);
    }
    return NULL;
}

/* Open, check and init the file at path (st: its stat). expect: the name
 * the plugin must declare, or NULL. Returns the new plugin or NULL with
 * the one-line reason in err. */
static struct loaded *load_file(struct herald__loader *l, const char *path,
                                const struct stat *st, const char *expect,
                                char *err, size_t errlen)
{
    struct loaded *p = open_checked(path, expect, err, errlen);
    struct loaded *other;
    char why[512];

    if (!p) {
        return NULL;
    }
    other = find_by_name(l, p->h.def.name);
    if (other) {
        fail(err, errlen,
             "plugin %s: duplicate plugin name '%s' (already loaded "
             "from %s)",
             path, p->h.def.name, other->h.path);
        goto out;
    }
    if (push_plugin(l, p) != 0) {
        fail(err, errlen, "plugin %s: out of memory", path);
        goto out;
    }
    p->dev = st->st_dev;
    p->ino = st->st_ino;
    if (p->h.def.init) {
        why[0] = '\0';
        if (p->h.def.init(l->api, why, sizeof why) != 0) {
            why[sizeof why - 1] = '\0';
            one_line(why);
            fail(err, errlen, "plugin %s: init failed: %s", path,
                 why[0] ? why : "(no message)");
            l->n_plugins--;
            goto out;
        }
    }
    p->inited = 1;
    return p;

out:
    loaded_free(p);
    return NULL;
}

int herald__loader_check_file(const char *path, char *summary,
                              size_t summarylen, char *err, size_t errlen)
{
    const char *base = strrchr(path, '/');
    char *expect = NULL;
    struct loaded *p;
    size_t n_opts = 0;
    size_t len;

    if (path[0] != '/') {
        fail(err, errlen,
             "plugin %s: not an absolute path; refusing to resolve it "
             "against the current directory",
             path);
        return -1;
    }
    /* A file that the search path can find must declare its file name. */
    base = base ? base + 1 : path;
    len = strlen(base);
    if (len > 3 && strcmp(base + len - 3, ".so") == 0) {
        expect = strndup(base, len - 3);
        if (!expect) {
            fail(err, errlen, "plugin %s: out of memory", path);
            return -1;
        }
    }
    p = open_checked(path, expect, err, errlen);
    free(expect);
    if (!p) {
        return -1;
    }
    while (p->h.def.options && p->h.def.options[n_opts].name) {
        n_opts++;
    }
    fail(summary, summarylen,
         "plugin %s: ok (name %s, version %s, kind %s, ABI %u.%u, %zu "
         "option(s))",
         path, p->h.def.name, p->h.def.version,
         herald__plugin_kind_name(p->h.def.kind), (unsigned)p->h.def.abi_major,
         (unsigned)p->h.def.abi_minor, n_opts);
    loaded_free(p);
    return 0;
}

static int is_so_name(const struct dirent *e)
{
    size_t len = strlen(e->d_name);

    return e->d_name[0] != '.' && len > 3 &&
           strcmp(e->d_name + len - 3, ".so") == 0;
}

/* The closest plugin file name on the search path (textdist.h's rule),
 * written into best (empty if none). */
static void suggest(const struct herald__loader *l, const char *name,
                    char *best, size_t bestlen)
{
    struct herald__suggest s;

    herald__suggest_init(&s, name);
    best[0] = '\0';
    for (size_t i = 0; i < l->n_view; i++) {
        struct dirent **ents = NULL;
        int n = scandir(l->view[i], &ents, is_so_name, alphasort);

        for (int k = 0; k < n; k++) {
            char *base = ents[k]->d_name;

            base[strlen(base) - 3] = '\0';
            if (herald__suggest_offer(&s, base)) {
                snprintf(best, bestlen, "%s", base);
            }
            free(ents[k]);
        }
        free(ents);
    }
}

static void not_found(const struct herald__loader *l, const char *name,
                      char *err, size_t errlen)
{
    char hint[128];
    size_t o;

    if (!err || errlen == 0) {
        return;
    }
    o = (size_t)snprintf(err, errlen,
                         "plugin '%s' not found (searched: ", name);
    for (size_t i = 0; i < l->n_view && o < errlen; i++) {
        o += (size_t)snprintf(err + o, errlen - o, "%s%s", i ? ", " : "",
                              l->view[i]);
    }
    if (o < errlen) {
        o += (size_t)snprintf(err + o, errlen - o, ")");
    }
    suggest(l, name, hint, sizeof hint);
    if (hint[0] && o < errlen) {
        snprintf(err + o, errlen - o, "; did you mean '%s'?", hint);
    }
}

const struct herald__plugin_handle *
herald__loader_load(struct herald__loader *l, const char *name, char *err,
                    size_t errlen)
{
    const struct herald__plugin_handle *h = NULL;
    struct loaded *p;
    struct stat st;
    char *path = NULL;
    int by_name;

    if (!name || !*name) {
        fail(err, errlen, "plugin name is empty");
        return NULL;
    }
    by_name = !strchr(name, '/');
    if (by_name) {
        p = find_by_name(l, name);
        if (p) {
            return &p->h;
        }
        for (size_t i = 0; i < l->n_view && !path; i++) {
            if (asprintf(&path, "%s/%s.so", l->view[i], name) < 0) {
                path = NULL;
                fail(err, errlen, "plugin '%s': out of memory", name);
                return NULL;
            }
            if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
                free(path);
                path = NULL;
            }
        }
        if (!path) {
            not_found(l, name, err, errlen);
            return NULL;
        }
    } else {
        if (name[0] != '/') {
            fail(err, errlen,
                 "plugin %s: not an absolute path; refusing to resolve it "
                 "against the current directory",
                 name);
            return NULL;
        }
        path = strdup(name);
        if (!path) {
            fail(err, errlen, "plugin %s: out of memory", name);
            return NULL;
        }
        if (stat(path, &st) != 0) {
            fail(err, errlen, "plugin %s: %s", path, strerror(errno));
            goto out;
        }
    }
    p = find_by_file(l, &st);
    if (!p) {
        p = load_file(l, path, &st, by_name ? name : NULL, err, errlen);
    }
    if (p) {
        h = &p->h;
    }

out:
    free(path);
    return h;
}

/* Called by each_so_file for each regular file: name without ".so". */
typedef void (*so_file_fn)(void *ctx, const char *name, const char *path,
                           const struct stat *st);

/* Every `*.so` on the search path, alphabetical within a directory, a
 * file name met in an earlier directory shadowing the same name later on,
 * as in a search by name. */
static void each_so_file(const struct herald__loader *l, so_file_fn fn,
                         void *ctx)
{
    char **seen = NULL;
    size_t n_seen = 0;

    for (size_t i = 0; i < l->n_view; i++) {
        struct dirent **ents = NULL;
        int n = scandir(l->view[i], &ents, is_so_name, alphasort);

        for (int k = 0; k < n; k++) {
            char *file = ents[k]->d_name;
            size_t baselen = strlen(file) - 3;
            char *path = NULL;
            struct stat st;
            int shadowed = 0;

            for (size_t s = 0; s < n_seen && !shadowed; s++) {
                shadowed = strlen(seen[s]) == baselen &&
                           strncmp(seen[s], file, baselen) == 0;
            }
            if (shadowed || push_str(&seen, &n_seen, file, baselen) != 0 ||
                asprintf(&path, "%s/%s", l->view[i], file) < 0) {
                free(ents[k]);
                continue;
            }
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                fn(ctx, seen[n_seen - 1], path, &st);
            }
            free(path);
            free(ents[k]);
        }
        free(ents);
    }
    free_strs(seen, n_seen);
}

struct load_all_ctx {
    struct herald__loader *l;
    herald__loader_error_fn on_error;
    void *ctx;
    size_t refused;
};

static void load_one(void *ctx, const char *name, const char *path,
                     const struct stat *st)
{
    struct load_all_ctx *a = ctx;
    char err[1024];

    if (!find_by_file(a->l, st) &&
        !load_file(a->l, path, st, name, err, sizeof err)) {
        a->refused++;
        if (a->on_error) {
            a->on_error(a->ctx, err);
        }
    }
}

size_t herald__loader_load_all(struct herald__loader *l,
                               herald__loader_error_fn on_error, void *ctx)
{
    struct load_all_ctx a = {l, on_error, ctx, 0};

    each_so_file(l, load_one, &a);
    return a.refused;
}

struct list_ctx {
    herald__loader_list_fn fn;
    void *ctx;
    size_t found;
};

static void list_one(void *ctx, const char *name, const char *path,
                     const struct stat *st)
{
    struct list_ctx *a = ctx;
    char why[1024];
    int ok = check_trust_path(path, why, sizeof why) == 0;

    (void)st;
    a->found++;
    if (a->fn) {
        a->fn(a->ctx, name, path, ok ? NULL : why);
    }
}

size_t herald__loader_list(const struct herald__loader *l,
                           herald__loader_list_fn fn, void *ctx)
{
    struct list_ctx a = {fn, ctx, 0};

    each_so_file(l, list_one, &a);
    return a.found;
}

void herald__loader_destroy(struct herald__loader *l)
{
    if (!l) {
        return;
    }
    /* Unload in reverse order of loading. */
    for (size_t i = l->n_plugins; i-- > 0;) {
        struct loaded *p = l->plugins[i];

        if (p->inited && p->h.def.destroy) {
            p->h.def.destroy();
        }
        loaded_free(p);
    }
    free(l->plugins);
    free_strs(l->user, l->n_user);
    free_strs(l->env, l->n_env);
    free_strs(l->builtin, l->n_builtin);
    free_strs(l->notes, l->n_notes);
    free(l->view);
    free(l);
}

const char *herald__plugin_kind_name(enum herald_plugin_kind kind)
{
    switch (kind) {
    case HERALD_PLUGIN_SINK:
        return "sink";
    case HERALD_PLUGIN_NOTIFY:
        return "notify";
    }
    return "?";
}

const char *herald__opt_type_name(enum herald_opt_type type)
{
    switch (type) {
    case HERALD_OPT_STRING:
        return "string";
    case HERALD_OPT_INT:
        return "int";
    case HERALD_OPT_BOOL:
        return "bool";
    case HERALD_OPT_DURATION:
        return "duration";
    case HERALD_OPT_SIZE:
        return "size";
    case HERALD_OPT_ENUM:
        return "enum";
    case HERALD_OPT_LIST:
        return "list";
    }
    return "?";
}

void herald__plugin_describe(const struct herald_plugin *p, FILE *out)
{
    const struct herald_option *o = p->options;

    fprintf(out, "name:        %s\n", p->name ? p->name : "");
    fprintf(out, "version:     %s\n", p->version ? p->version : "");
    fprintf(out, "kind:        %s\n", herald__plugin_kind_name(p->kind));
    fprintf(out, "description: %s\n", p->description ? p->description : "");
    if (!o || !o->name) {
        fprintf(out, "options:     none\n");
        o = NULL;
    } else {
        fprintf(out, "options:\n");
    }
    for (; o && o->name; o++) {
        fprintf(out, "  %s (%s", o->name, herald__opt_type_name(o->type));
        if (o->type == HERALD_OPT_ENUM && o->enum_values) {
            for (size_t i = 0; o->enum_values[i]; i++) {
                fprintf(out, "%s%s", i ? "|" : ": ", o->enum_values[i]);
            }
        }
        if (o->required) {
            fprintf(out, ", required");
        }
        if (o->secret) {
            fprintf(out, ", secret");
        }
        if (o->default_value && o->secret) {
            fprintf(out, ", default hidden");
        } else if (o->default_value &&
                   (!*o->default_value || strchr(o->default_value, ' '))) {
            fprintf(out, ", default \"%s\"", o->default_value);
        } else if (o->default_value) {
            fprintf(out, ", default %s", o->default_value);
        }
        fprintf(out, ")\n");
        if (o->help && *o->help) {
            fprintf(out, "      %s\n", o->help);
        }
    }
    herald__notify_describe_fields(p, out);
}
