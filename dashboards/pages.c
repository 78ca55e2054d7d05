/*
 * pages.c — the dashboard pages and the charting library.
 *
 * A page is a static HTML file from dashboards_dir/pages (not under
 * static/, so that only signed-in users with the route's role get it): no
 * inline script or style, as the strict Content-Security-Policy requires;
 * its module script (under /static/js/) reads the study from the address
 * and fetches the JSON endpoints. The route table says who may open which
 * page; acc_authorize() sends a browser without a session to /login.
 *
 * Chart.js is served from node_modules, exactly the version package-lock.json
 * pins (npm ci), at /vendor/chart.umd.min.js: its UMD build defines
 * window.Chart and imports nothing, so it needs no import map (an inline
 * script the CSP would refuse). Nothing comes from a CDN.
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
#include "dash_int.h"

#define DASH_FILE_MAX (4L * 1024 * 1024)

/* Which file each page route serves. */
static const struct {
    const char *pattern;
    const char *file;
} dash_pages[] = {
    {"/dashboards", "studies.html"},
    {"/dashboards/{study}", "overview.html"},
    {"/dashboards/{study}/overview", "overview.html"},
    {"/dashboards/{study}/outcomes", "outcomes.html"},
    {"/dashboards/{study}/engagement", "engagement.html"},
    {"/dashboards/{study}/quality", "quality.html"},
    {"/dashboards/{study}/exports", "exports.html"},
    {"/dashboards/{study}/participants/{code}", "participant.html"},
};

/* Reads a whole regular file (at most DASH_FILE_MAX) into a malloc'd buffer. */
static char *dash_read_file(const char *path, size_t *len)
{
    struct stat st;
    char *data;
    ssize_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > DASH_FILE_MAX ||
        (data = malloc((size_t)st.st_size + 1)) == NULL) {
        close(fd);
        return NULL;
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
    if (got != st.st_size) {
        free(data);
        return NULL;
    }
    data[got] = '\0';
    *len = (size_t)got;
    return data;
}

void dash_page(struct http_request *req, struct http_reply *rep)
{
    const struct col_app *app = req->app;
    char path[PATH_MAX];
    char *html;
    size_t len;

    for (size_t i = 0; i < sizeof dash_pages / sizeof dash_pages[0]; i++) {
        if (strcmp(req->route->pattern, dash_pages[i].pattern) != 0)
            continue;
        snprintf(path, sizeof path, "%s/pages/%s", app->cfg->dashboards_dir, dash_pages[i].file);
        if ((html = dash_read_file(path, &len)) == NULL)
            break;
        http_reply_take(rep, 200, "text/html; charset=utf-8", html, len);
        return;
    }
    http_problem(rep, 500, "internal", NULL, NULL,
                 "The dashboard page is missing from %s/pages; check dashboards_dir.",
                 app->cfg->dashboards_dir);
}

void dash_vendor_chart(struct http_request *req, struct http_reply *rep)
{
    const struct col_app *app = req->app;
    char path[PATH_MAX];
    char *js;
    size_t len;

    snprintf(path, sizeof path, "%s/node_modules/chart.js/dist/chart.umd.min.js",
             app->cfg->data_dir);
    if ((js = dash_read_file(path, &len)) == NULL) {
        http_problem(rep, 404, "not-found", NULL, NULL,
                     "Chart.js is not installed: run \"npm ci\" in %s (make test and make demo "
                     "do).",
                     app->cfg->data_dir);
        return;
    }
    http_reply_take(rep, 200, "text/javascript; charset=utf-8", js, len);
    http_reply_header(rep, "Cache-Control", "public, max-age=3600");
}
