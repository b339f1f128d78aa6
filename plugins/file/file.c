/*
 * file.c - the `file` notify channel: each rendered message becomes one
 * RFC 5322 file <dir>/<topic>-<partition>-<offset>.eml, written to a temp
 * name, fsync'ed and renamed, so a reader never sees half a message. With
 * `print: true` it also goes to stdout (the demo uses this).
 *
 * Writes are synchronous: messages are small and the disk is local.
 * Errors are RETRY (a full disk or a wrong permission is fixed by an
 * operator, and REJECT would send mail to the dead-letter path for a
 * local problem); a message that cannot be built is REJECT.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <herald/plugin.h>

#include "mime.h"

static const struct herald_host_api *api;

struct file_state {
    struct herald_instance *inst;
    char *dir;
    const char *from; /* borrowed from the options until close */
    int print;
};

static const struct herald_option file_options[] = {
    {"dir", HERALD_OPT_STRING, NULL, 1, 0, NULL,
     "directory the .eml files go to; created if missing"},
    {"print", HERALD_OPT_BOOL, "false", 0, 0, NULL,
     "also print each message and 'wrote <path>' to stdout"},
    {"from", HERALD_OPT_STRING, NULL, 0, 0, NULL,
     "From address when the template gives none"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static int file_init(const struct herald_host_api *host, char *err,
                     size_t errlen)
{
    (void)err;
    (void)errlen;
    /* Every member this plugin calls is in ABI 1.0, which every host of
     * the major the loader checked has: nothing to test with
     * HERALD_API_HAS. */
    api = host;
    return 0;
}

/* mkdir -p, mode 0750. Returns 0 or -1 with errno set. */
static int make_dirs(char *path)
{
    char *p;
    struct stat st;

    for (p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0750) != 0 && errno != EEXIST) {
                *p = '/';
                return -1;
            }
            *p = '/';
        }
    }
    if (mkdir(path, 0750) != 0 && errno != EEXIST) {
        return -1;
    }
    if (stat(path, &st) != 0) {
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static void file_close(void *state)
{
    struct file_state *s = state;

    if (s == NULL) {
        return;
    }
    free(s->dir);
    free(s);
}

static int file_open(struct herald_instance *inst,
                     const struct herald_options *opts, void **state, char *err,
                     size_t errlen)
{
    struct file_state *s = calloc(1, sizeof(*s));
    const char *dir = api->opt_string(opts, "dir");
    size_t n;

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (dir == NULL || dir[0] == '\0') {
        snprintf(err, errlen, "option 'dir' must not be empty");
        goto fail;
    }
    s->inst = inst;
    s->from = api->opt_string(opts, "from");
    s->print = api->opt_bool(opts, "print");
    s->dir = strdup(dir);
    if (s->dir == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    n = strlen(s->dir);
    while (n > 1 && s->dir[n - 1] == '/') {
        s->dir[--n] = '\0';
    }
    if (make_dirs(s->dir) != 0) {
        snprintf(err, errlen, "cannot create directory '%s': %s", s->dir,
                 strerror(errno));
        goto fail;
    }
    *state = s;
    return 0;

fail:
    file_close(s);
    return -1;
}

/* "<topic>-<partition>-<offset>.eml" with every byte of the topic outside
 * [A-Za-z0-9._-] replaced by '_' (Kafka topics never have them, but the
 * name must not escape dir whatever the host hands us). */
static void file_name(const struct herald_message *m, char *buf, size_t buflen)
{
    const char *t = m->topic != NULL && m->topic[0] ? m->topic : "message";
    size_t i, n = 0;

    for (i = 0; t[i] && n + 1 < buflen && n < 200; i++) {
        char c = t[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                 (c == '.' && i > 0);
        buf[n++] = ok ? c : '_';
    }
    buf[n] = '\0';
    snprintf(buf + n, buflen - n, "-%" PRId32 "-%" PRId64 ".eml", m->partition,
             m->offset);
}

/* Write data to path atomically. Returns 0, or -1 with errno and the
 * failing step in *what. */
static int write_atomic(const char *dir, const char *tmp, const char *path,
                        const char *data, size_t len, const char **what)
{
    int fd, dfd, saved;
    size_t done = 0;

    *what = "open";
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        return -1;
    }
    *what = "write";
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            goto fail;
        }
        done += (size_t)w;
    }
    *what = "fsync";
    if (fsync(fd) != 0) {
        goto fail;
    }
    *what = "close";
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    *what = "rename";
    if (rename(tmp, path) != 0) {
        goto fail;
    }
    /* Make the rename itself durable; a failure here is not worth a
     * duplicate, the data is already in place. */
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;

fail:
    saved = errno;
    if (fd >= 0) {
        close(fd);
    }
    unlink(tmp);
    errno = saved;
    return -1;
}

static void deliver_one(struct file_state *s, struct herald_batch *b, size_t i)
{
    const struct herald_message *m = api->batch_message(b, i);
    char err[256], name[256], reason[512];
    char *msg = NULL, *path = NULL, *tmp = NULL;
    const char *what;
    size_t len = 0, plen;

    if (m == NULL) {
        api->complete(b, i, HERALD_REJECT, 0, "no message in batch item");
        return;
    }
    if (mime_build(m, s->from, (int64_t)time(NULL), &msg, &len, err,
                   sizeof(err)) != 0) {
        api->log(s->inst, HERALD_LOG_WARN, "message rejected: %s", err);
        api->complete(b, i, HERALD_REJECT, 0, err);
        return;
    }
    file_name(m, name, sizeof(name));
    plen = strlen(s->dir) + strlen(name) + 16;
    path = malloc(plen);
    tmp = malloc(plen);
    if (path == NULL || tmp == NULL) {
        api->complete(b, i, HERALD_RETRY, 0, "out of memory");
        goto done;
    }
    snprintf(path, plen, "%s/%s", s->dir, name);
    snprintf(tmp, plen, "%s/.%s.tmp", s->dir, name);
    if (write_atomic(s->dir, tmp, path, msg, len, &what) != 0) {
        snprintf(reason, sizeof(reason), "%s %s: %s", what,
                 strcmp(what, "rename") == 0 ? path : tmp, strerror(errno));
        api->log(s->inst, HERALD_LOG_WARN, "write failed, will retry: %s",
                 reason);
        api->complete(b, i, HERALD_RETRY, 0, reason);
        goto done;
    }
    if (s->print) {
        fwrite(msg, 1, len, stdout);
        printf("wrote %s\n", path);
        fflush(stdout);
    }
    api->log(s->inst, HERALD_LOG_DEBUG, "wrote %s", path);
    api->complete(b, i, HERALD_OK, 0, NULL);

done:
    free(msg);
    free(path);
    free(tmp);
}

static int file_deliver(void *state, struct herald_batch *b)
{
    struct file_state *s = state;
    size_t i, n = api->batch_count(b);

    for (i = 0; i < n; i++) {
        deliver_one(s, b, i);
    }
    return 0;
}

HERALD_PLUGIN_DEFINE = {
    HERALD_PLUGIN_HEADER,
    .name = "file",
    .version = "0.1.0",
    .description = "write each message as an .eml file (and print it)",
    .kind = HERALD_PLUGIN_NOTIFY,
    .options = file_options,
    .init = file_init,
    .open = file_open,
    .deliver = file_deliver,
    .close = file_close,
};
