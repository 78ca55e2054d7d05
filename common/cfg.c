/*
 * cfg.c — the settings table and the loaders for file, environment and flags.
 */
#include "cfg.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#ifndef ATTUNE_PG_BINDIR
#define ATTUNE_PG_BINDIR "/usr/lib/postgresql/15/bin"
#endif

enum cfg_kind {
    CFG_STRING, /* char *, NULL when empty */
    CFG_INT,    /* int within [min, max] */
    CFG_SIZE,   /* size_t, with an optional kB / MB / GB suffix */
    CFG_LISTEN, /* host:port into listen_host and listen_port */
    CFG_LOGLEVEL,
};

struct cfg_key {
    const char *key; /* in the config file and for --set style flags */
    const char *env; /* environment variable */
    enum cfg_kind kind;
    size_t offset;     /* of the field in struct cfg (unused for CFG_LISTEN) */
    const char *deflt; /* NULL: unset */
    long min, max;     /* for CFG_INT and CFG_SIZE */
    int secret;        /* mask when printing */
    const char *help;
};

#define F(field) offsetof(struct cfg, field)

/*
 * The settings table. Order is the order of --print-config. Derived values
 * (sql_dir and friends, public_url) default to NULL and are filled in by
 * cfg_finish() from the others.
 */
static const struct cfg_key cfg_keys[] = {
    {"database_url", "ATTUNE_DATABASE_URL", CFG_STRING, F(database_url), NULL, 0, 0, 1,
     "PostgreSQL connection string; unset means the embedded private cluster"},
    {"home", "ATTUNE_HOME", CFG_STRING, F(home), "var", 0, 0, 0,
     "folder for Attune's own state; the embedded cluster lives in home/pg"},
    {"listen", "ATTUNE_LISTEN", CFG_LISTEN, 0, "127.0.0.1:8080", 0, 0, 0,
     "address and port of attune serve, host:port"},
    {"threads", "ATTUNE_THREADS", CFG_INT, F(threads), "8", 1, 256, 0, "HTTP worker threads"},
    {"db_pool_size", "ATTUNE_DB_POOL_SIZE", CFG_INT, F(db_pool_size), "0", 0, 512, 0,
     "PostgreSQL connections held by attune serve; 0 means one per worker thread"},
    {"max_body", "ATTUNE_MAX_BODY", CFG_SIZE, F(max_body_bytes), "1MB", 1024, 1L << 30, 0,
     "largest request body accepted"},
    {"connection_timeout", "ATTUNE_CONNECTION_TIMEOUT", CFG_INT, F(connection_timeout_s), "30", 1,
     3600, 0, "seconds an idle connection, or a request's header, may take"},
    {"connection_limit", "ATTUNE_CONNECTION_LIMIT", CFG_INT, F(connection_limit), "1000", 16,
     100000, 0, "open HTTP connections at once; more are answered 503"},
    {"ip_connection_limit", "ATTUNE_IP_CONNECTION_LIMIT", CFG_INT,
     F(ip_connection_limit), "128", 0, 100000, 0,
     "open HTTP connections from one client address (not trusted_proxy); 0: no limit"},
    {"shutdown_grace", "ATTUNE_SHUTDOWN_GRACE", CFG_INT, F(shutdown_grace_s), "15", 0, 600, 0,
     "seconds a stop signal waits for requests in flight"},
    {"log_level", "ATTUNE_LOG_LEVEL", CFG_LOGLEVEL, F(log_level), "info", 0, 0, 0,
     "debug, info, warn or error"},
    {"data_dir", "ATTUNE_DATA_DIR", CFG_STRING, F(data_dir), ATTUNE_SOURCE_ROOT, 0, 0, 0,
     "folder holding sql/, instruments/ and dashboards/"},
    {"sql_dir", "ATTUNE_SQL_DIR", CFG_STRING, F(sql_dir), NULL, 0, 0, 0,
     "migrations; default data_dir/sql"},
    {"instruments_dir", "ATTUNE_INSTRUMENTS_DIR", CFG_STRING, F(instruments_dir), NULL, 0, 0, 0,
     "questionnaire definitions; default data_dir/instruments/definitions"},
    {"dashboards_dir", "ATTUNE_DASHBOARDS_DIR", CFG_STRING, F(dashboards_dir), NULL, 0, 0, 0,
     "dashboard pages and assets; default data_dir/dashboards"},
    {"pg_bindir", "ATTUNE_PG_BINDIR", CFG_STRING, F(pg_bindir), ATTUNE_PG_BINDIR, 0, 0, 0,
     "PostgreSQL server programs for the embedded cluster"},
    {"pg_user", "ATTUNE_PG_USER", CFG_STRING, F(pg_user), "attune", 0, 0, 0,
     "system user that owns and runs the embedded cluster when Attune runs as root"},
    {"public_url", "ATTUNE_PUBLIC_URL", CFG_STRING, F(public_url), NULL, 0, 0, 0,
     "base URL of participants' personal links; default http://listen"},
    {"study_timezone", "ATTUNE_STUDY_TIMEZONE", CFG_STRING, F(study_timezone), "UTC", 0, 0, 0,
     "time zone of new studies unless their protocol names one"},
    {"app_database_url", "ATTUNE_APP_DATABASE_URL", CFG_STRING, F(app_database_url), NULL, 0, 0, 1,
     "connection string attune serve uses (a member of attune_app); see docs/access.md"},
    {"tls_cert", "ATTUNE_TLS_CERT", CFG_STRING, F(tls_cert), NULL, 0, 0, 0,
     "PEM certificate (chain) file; with tls_key, attune serve speaks HTTPS"},
    {"tls_key", "ATTUNE_TLS_KEY", CFG_STRING, F(tls_key), NULL, 0, 0, 0,
     "PEM private key file for tls_cert"},
    {"trusted_proxy", "ATTUNE_TRUSTED_PROXY", CFG_STRING, F(trusted_proxy), NULL, 0, 0, 0,
     "address of a reverse proxy whose X-Forwarded-For names the client"},
    {"session_idle", "ATTUNE_SESSION_IDLE", CFG_INT, F(session_idle_s), "1800", 60, 86400, 0,
     "seconds without a request after which a browser session ends"},
    {"session_max", "ATTUNE_SESSION_MAX", CFG_INT, F(session_max_s), "43200", 300, 604800, 0,
     "seconds after sign-in at which a browser session ends regardless"},
    {"login_failures_account", "ATTUNE_LOGIN_FAILURES_ACCOUNT", CFG_INT, F(login_failures_account),
     "5", 1, 1000, 0, "failed sign-ins for one account within login_window before 429"},
    {"login_failures_address", "ATTUNE_LOGIN_FAILURES_ADDRESS", CFG_INT, F(login_failures_address),
     "30", 1, 1000, 0, "failed sign-ins from one client address within login_window before 429"},
    {"login_window", "ATTUNE_LOGIN_WINDOW", CFG_INT, F(login_window_s), "900", 10, 86400, 0,
     "seconds over which failed sign-ins are counted"},
    {"dashboard_prewarm", "ATTUNE_DASHBOARD_PREWARM", CFG_INT, F(dashboard_prewarm), "0", 0, 1, 0,
     "1: attune serve builds every study's dashboard documents when it starts"},
    {"config", "ATTUNE_CONFIG", CFG_STRING, F(file), NULL, 0, 0, 0, "config file that was read"},
};

_Static_assert(sizeof cfg_keys / sizeof cfg_keys[0] == CFG_NKEYS, "CFG_NKEYS is out of date");

static const char *const cfg_origin_names[] = {"default", "file", "environment", "flag"};

static int cfg_index(const char *key)
{
    for (int i = 0; i < CFG_NKEYS; i++)
        if (strcmp(cfg_keys[i].key, key) == 0)
            return i;
    return -1;
}

static int cfg_parse_long(const char *text, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text)
        return -1;
    *out = v;
    /* The caller checks what follows the number. */
    return (int)(end - text);
}

static int cfg_parse_size(const char *text, size_t *out)
{
    long v;
    int used = cfg_parse_long(text, &v);
    const char *unit;
    long mult = 1;

    if (used < 0 || v < 0)
        return -1;
    unit = text + used;
    while (*unit == ' ')
        unit++;
    if (*unit == '\0' || strcasecmp(unit, "B") == 0)
        mult = 1;
    else if (strcasecmp(unit, "kB") == 0 || strcasecmp(unit, "k") == 0)
        mult = 1024;
    else if (strcasecmp(unit, "MB") == 0 || strcasecmp(unit, "M") == 0)
        mult = 1024L * 1024;
    else if (strcasecmp(unit, "GB") == 0 || strcasecmp(unit, "G") == 0)
        mult = 1024L * 1024 * 1024;
    else
        return -1;
    if (v > LONG_MAX / mult)
        return -1;
    *out = (size_t)(v * mult);
    return 0;
}

/* Splits "host:port", "[v6]:port" or ":port" (all addresses). */
static int cfg_parse_listen(const char *text, char **host, int *port)
{
    const char *colon;
    const char *h;
    size_t hlen;
    long p = 0;
    char *hcopy;

    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        h = text + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL)
            return -1;
        h = text;
        hlen = (size_t)(colon - text);
    }
    if (cfg_parse_long(colon + 1, &p) != (int)strlen(colon + 1) || p < 0 || p > 65535)
        return -1;
    hcopy = strndup(hlen ? h : "0.0.0.0", hlen ? hlen : 7);
    if (hcopy == NULL)
        return -1;
    free(*host);
    *host = hcopy;
    *port = (int)p;
    return 0;
}

int cfg_set(struct cfg *c, const char *key, const char *value, enum cfg_origin origin,
            struct err *e)
{
    int i = cfg_index(key);
    const struct cfg_key *k;
    char *field;

    if (i < 0)
        return err_set(e, CFG_EINVAL, "unknown configuration key \"%s\"", key);
    k = &cfg_keys[i];
    field = (char *)c + k->offset;
    switch (k->kind) {
    case CFG_STRING: {
        char **slot = (char **)field;
        char *copy = NULL;
        if (value != NULL && value[0] != '\0' && (copy = strdup(value)) == NULL)
            return err_set(e, CFG_EINVAL, "out of memory");
        free(*slot);
        *slot = copy;
        break;
    }
    case CFG_INT: {
        long v = 0;
        if (cfg_parse_long(value, &v) != (int)strlen(value) || v < k->min || v > k->max) {
            err_set(e, CFG_EINVAL, "invalid value for \"%s\": \"%s\"", key, value);
            err_detail(e, "The value must be a whole number from %ld to %ld.", k->min, k->max);
            return CFG_EINVAL;
        }
        *(int *)field = (int)v;
        break;
    }
    case CFG_SIZE: {
        size_t v;
        if (cfg_parse_size(value, &v) != 0 || v < (size_t)k->min || v > (size_t)k->max) {
            err_set(e, CFG_EINVAL, "invalid value for \"%s\": \"%s\"", key, value);
            err_detail(e, "The value must be a size such as 512kB or 4MB, from %ld to %ld bytes.",
                       k->min, k->max);
            return CFG_EINVAL;
        }
        *(size_t *)field = v;
        break;
    }
    case CFG_LISTEN:
        if (cfg_parse_listen(value, &c->listen_host, &c->listen_port) != 0) {
            err_set(e, CFG_EINVAL, "invalid value for \"%s\": \"%s\"", key, value);
            err_detail(e, "The value must be host:port, for example 127.0.0.1:8080.");
            return CFG_EINVAL;
        }
        break;
    case CFG_LOGLEVEL:
        if (log_level_parse(value, (enum log_level *)field) != 0) {
            err_set(e, CFG_EINVAL, "invalid value for \"%s\": \"%s\"", key, value);
            err_detail(e, "The value must be debug, info, warn or error.");
            return CFG_EINVAL;
        }
        break;
    }
    c->origin[i] = origin;
    return 0;
}

static char *cfg_trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* Reads "key = value" lines; '#' starts a comment; values may be quoted. */
static int cfg_load_file(struct cfg *c, const char *path, struct err *e)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int lineno = 0;
    int rc = CFG_EIO;

    if (f == NULL) {
        err_set(e, CFG_EIO, "could not open config file \"%s\": %s", path, strerror(errno));
        return CFG_EIO;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        char *key, *value, *eq;
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            rc = err_set(e, CFG_EINVAL, "%s:%d: line too long", path, lineno);
            goto out;
        }
        key = cfg_trim(line);
        if (*key == '\0' || *key == '#')
            continue;
        eq = strchr(key, '=');
        if (eq == NULL) {
            rc = err_set(e, CFG_EINVAL, "%s:%d: expected key = value", path, lineno);
            goto out;
        }
        *eq = '\0';
        key = cfg_trim(key);
        value = cfg_trim(eq + 1);
        if ((value[0] == '"' || value[0] == '\'') && strlen(value) >= 2 &&
            value[strlen(value) - 1] == value[0]) {
            value[strlen(value) - 1] = '\0';
            value++;
        } else {
            char *hash = strchr(value, '#');
            if (hash != NULL) {
                *hash = '\0';
                value = cfg_trim(value);
            }
        }
        if (strcmp(key, "config") == 0) {
            rc = err_set(e, CFG_EINVAL, "%s:%d: a config file cannot name another", path, lineno);
            goto out;
        }
        if (cfg_set(c, key, value, CFG_FROM_FILE, e) != 0) {
            err_prefix(e, "%s:%d", path, lineno);
            rc = CFG_EINVAL;
            goto out;
        }
    }
    if (ferror(f)) {
        err_set(e, CFG_EIO, "could not read config file \"%s\"", path);
        goto out;
    }
    rc = 0;
out:
    fclose(f);
    return rc;
}

int cfg_load(struct cfg *c, const char *file, struct err *e)
{
    const char *env_file;
    int rc;

    memset(c, 0, sizeof *c);
    for (int i = 0; i < CFG_NKEYS; i++) {
        if (cfg_keys[i].deflt != NULL &&
            cfg_set(c, cfg_keys[i].key, cfg_keys[i].deflt, CFG_FROM_DEFAULT, e) != 0)
            return CFG_EINVAL; /* a broken default is a programming error */
    }
    env_file = getenv("ATTUNE_CONFIG");
    if (file != NULL) {
        rc = cfg_set(c, "config", file, CFG_FROM_FLAG, e);
    } else if (env_file != NULL && env_file[0] != '\0') {
        rc = cfg_set(c, "config", env_file, CFG_FROM_ENV, e);
    } else {
        rc = 0;
    }
    if (rc != 0)
        return rc;
    if (c->file != NULL && (rc = cfg_load_file(c, c->file, e)) != 0)
        return rc;
    for (int i = 0; i < CFG_NKEYS; i++) {
        const char *v = getenv(cfg_keys[i].env);
        if (v == NULL || strcmp(cfg_keys[i].key, "config") == 0)
            continue;
        if ((rc = cfg_set(c, cfg_keys[i].key, v, CFG_FROM_ENV, e)) != 0) {
            err_prefix(e, "environment variable %s", cfg_keys[i].env);
            return rc;
        }
    }
    return 0;
}

/* Replaces *path by an absolute one; relative paths are taken from the cwd. */
static int cfg_absolute(char **path, struct err *e)
{
    char cwd[PATH_MAX];
    char *abs;

    if (*path == NULL || (*path)[0] == '/')
        return 0;
    if (getcwd(cwd, sizeof cwd) == NULL)
        return err_set(e, CFG_EIO, "could not read the working directory: %s", strerror(errno));
    if (asprintf(&abs, "%s/%s", cwd, *path) < 0)
        return err_set(e, CFG_EIO, "out of memory");
    free(*path);
    *path = abs;
    return 0;
}

static int cfg_derive(char **slot, const char *base, const char *leaf, struct err *e)
{
    if (*slot != NULL)
        return 0;
    if (asprintf(slot, "%s/%s", base, leaf) < 0) {
        *slot = NULL;
        return err_set(e, CFG_EIO, "out of memory");
    }
    return 0;
}

int cfg_finish(struct cfg *c, struct err *e)
{
    int rc;

    if ((rc = cfg_absolute(&c->home, e)) != 0 || (rc = cfg_absolute(&c->data_dir, e)) != 0 ||
        (rc = cfg_absolute(&c->sql_dir, e)) != 0 ||
        (rc = cfg_absolute(&c->instruments_dir, e)) != 0 ||
        (rc = cfg_absolute(&c->dashboards_dir, e)) != 0 ||
        (rc = cfg_absolute(&c->tls_cert, e)) != 0 || (rc = cfg_absolute(&c->tls_key, e)) != 0)
        return rc;
    if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
        err_set(e, CFG_EINVAL, "tls_cert and tls_key must be set together");
        err_detail(e, "HTTPS needs both the certificate and its private key.");
        return CFG_EINVAL;
    }
    if ((rc = cfg_derive(&c->sql_dir, c->data_dir, "sql", e)) != 0 ||
        (rc = cfg_derive(&c->instruments_dir, c->data_dir, "instruments/definitions", e)) != 0 ||
        (rc = cfg_derive(&c->dashboards_dir, c->data_dir, "dashboards", e)) != 0)
        return rc;
    if (c->public_url == NULL) {
        const char *host = strcmp(c->listen_host, "0.0.0.0") == 0 ? "localhost" : c->listen_host;
        int v6 = strchr(host, ':') != NULL;
        if (asprintf(&c->public_url, "%s://%s%s%s:%d", c->tls_cert ? "https" : "http",
                     v6 ? "[" : "", host, v6 ? "]" : "", c->listen_port) < 0) {
            c->public_url = NULL;
            return err_set(e, CFG_EIO, "out of memory");
        }
    }
    if (c->db_pool_size == 0)
        c->db_pool_size = c->threads;
    return 0;
}

void cfg_mask_url(const char *url, char *buf, size_t size)
{
    PQconninfoOption *opts;
    char *errmsg = NULL;
    const char *password = NULL;
    const char *hit;

    snprintf(buf, size, "%s", url ? url : "");
    if (url == NULL)
        return;
    opts = PQconninfoParse(url, &errmsg);
    if (opts == NULL) {
        /* Unparseable: show nothing that could be a secret. */
        PQfreemem(errmsg);
        snprintf(buf, size, "(unparseable, hidden)");
        return;
    }
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val != NULL && o->val[0] != '\0')
            password = o->val;
    if (password != NULL && (hit = strstr(url, password)) != NULL) {
        snprintf(buf, size, "%.*s****%s", (int)(hit - url), url, hit + strlen(password));
    } else if (password != NULL) {
        snprintf(buf, size, "(contains an encoded password, hidden)");
    }
    PQconninfoFree(opts);
}

void cfg_print(const struct cfg *c, FILE *out)
{
    for (int i = 0; i < CFG_NKEYS; i++) {
        const struct cfg_key *k = &cfg_keys[i];
        const char *field = (const char *)c + k->offset;
        char value[1024];

        switch (k->kind) {
        case CFG_STRING: {
            const char *s = *(char *const *)field;
            if (s == NULL)
                snprintf(value, sizeof value, "(unset)");
            else if (k->secret)
                cfg_mask_url(s, value, sizeof value);
            else
                snprintf(value, sizeof value, "%s", s);
            break;
        }
        case CFG_INT:
            snprintf(value, sizeof value, "%d", *(const int *)field);
            break;
        case CFG_SIZE:
            snprintf(value, sizeof value, "%zu", *(const size_t *)field);
            break;
        case CFG_LISTEN:
            snprintf(value, sizeof value, "%s:%d", c->listen_host, c->listen_port);
            break;
        case CFG_LOGLEVEL:
            snprintf(value, sizeof value, "%s", log_level_name(*(const enum log_level *)field));
            break;
        }
        fprintf(out, "%-20s = %-40s # %s, %s\n", k->key, value, cfg_origin_names[c->origin[i]],
                k->env);
    }
    if (c->database_url == NULL)
        fprintf(out, "# database: embedded private cluster in %s/pg\n", c->home);
}

void cfg_free(struct cfg *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < CFG_NKEYS; i++) {
        if (cfg_keys[i].kind == CFG_STRING) {
            char **slot = (char **)((char *)c + cfg_keys[i].offset);
            free(*slot);
            *slot = NULL;
        }
    }
    free(c->listen_host);
    c->listen_host = NULL;
}
