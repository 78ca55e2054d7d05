/*
 * static.c — GET /static/<path>: stylesheets, scripts, fonts and images from
 * dashboards_dir/static, and nothing outside it.
 *
 * Layers of refusal, each enough on its own for the cases it covers: the
 * router never matches a "*" rest containing ".." (http_router.c); each
 * segment here must be a plain name (letters, digits, '.', '_', '-', not
 * starting with '.'); the resolved real path (symbolic links followed) must
 * lie inside the real static folder; and only regular files are served.
 * Every refusal is a plain 404, so probing learns nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector.h"

#define COL_STATIC_MAX_FILE (16L * 1024 * 1024)
#define COL_STATIC_MAX_PATH 256

static const struct {
    const char *ext;
    const char *type;
} col_static_types[] = {
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
};

/* Each segment a plain file or folder name; no empty, hidden or odd ones. */
static int col_static_path_ok(const char *rel)
{
    const char *seg = rel;

    if (strlen(rel) > COL_STATIC_MAX_PATH)
        return 0;
    for (;;) {
        size_t len = strcspn(seg, "/");
        if (len == 0 || seg[0] == '.')
            return 0;
        for (size_t i = 0; i < len; i++) {
            char c = seg[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-'))
                return 0;
        }
        if (seg[len] == '\0')
            return 1;
        seg += len + 1;
    }
}

static const char *col_static_type(const char *path)
{
    const char *dot = strrchr(path, '.');

    for (size_t i = 0; dot && i < sizeof col_static_types / sizeof col_static_types[0]; i++)
        if (strcmp(dot, col_static_types[i].ext) == 0)
            return col_static_types[i].type;
    return NULL;
}

static void col_static_get(struct http_request *req, struct http_reply *rep)
{
    struct col_app *app = req->app;
    const char *rel = http_path_param(req, "*");
    char folder[PATH_MAX], wanted[PATH_MAX * 2], root[PATH_MAX], real[PATH_MAX];
    const char *type;
    struct stat st;
    char *data = NULL;
    size_t root_len;
    ssize_t got = 0;
    int fd = -1;

    if (rel == NULL || !col_static_path_ok(rel) || (type = col_static_type(rel)) == NULL)
        goto not_found;
    snprintf(folder, sizeof folder, "%s/static", app->cfg->dashboards_dir);
    if (realpath(folder, root) == NULL)
        goto not_found;
    snprintf(wanted, sizeof wanted, "%s/%s", root, rel);
    if (realpath(wanted, real) == NULL)
        goto not_found;
    root_len = strlen(root);
    if (strncmp(real, root, root_len) != 0 || real[root_len] != '/')
        goto not_found;
    fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > COL_STATIC_MAX_FILE)
        goto not_found;
    if ((data = malloc((size_t)st.st_size + 1)) == NULL) {
        close(fd);
        http_problem(rep, 500, "internal", NULL, NULL, "Out of memory.");
        return;
    }
    while (got < st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)(st.st_size - got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += n;
    }
    close(fd);
    fd = -1;
    if (got != st.st_size) {
        free(data);
        goto not_found;
    }
    data[got] = '\0';
    http_reply_take(rep, 200, type, data, (size_t)got);
    http_reply_header(rep, "Cache-Control", "public, max-age=300");
    return;
not_found:
    if (fd >= 0)
        close(fd);
    http_problem(rep, 404, "not-found", NULL, NULL, "There is nothing at %s.", req->path);
}

const struct http_route col_static_routes[] = {
    {"GET", "/static/*", 0, HTTP_BODY_NONE, 0, col_static_get,
     "stylesheets, scripts and images from dashboards/static"},
};
const size_t col_static_routes_count = sizeof col_static_routes / sizeof col_static_routes[0];
