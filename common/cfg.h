/*
 * cfg.h — Attune's effective configuration.
 *
 * Every setting has one row in a table (cfg.c): its key in the config file, its
 * environment variable, its kind, its default and whether it is a secret.
 * Sources apply in this order, later ones winning: built-in default, the config
 * file (--config FILE or ATTUNE_CONFIG), the environment (ATTUNE_*), then
 * command-line flags. cfg_print() shows each value with where it came from,
 * secrets masked.
 */
#ifndef ATTUNE_CFG_H
#define ATTUNE_CFG_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"
#include "log.h"

enum {
    CFG_EINVAL = -1, /* a value that does not parse, or an unknown key */
    CFG_EIO = -2,    /* the config file cannot be read */
};

enum cfg_origin {
    CFG_FROM_DEFAULT = 0,
    CFG_FROM_FILE,
    CFG_FROM_ENV,
    CFG_FROM_FLAG,
};

/* Number of rows in the settings table; checked by a static assertion. */
#define CFG_NKEYS 30

struct cfg {
    char *database_url; /* NULL: the embedded private cluster */
    char *home;         /* absolute after cfg_finish(); holds pg/ for the cluster */
    char *listen_host;  /* from `listen` host:port */
    int listen_port;
    int threads;           /* HTTP worker threads */
    int db_pool_size;      /* PostgreSQL connections; 0 = one per worker thread */
    size_t max_body_bytes; /* default cap on a request body */
    int connection_timeout_s;    /* idle connections, and the whole of a request's header */
    int connection_limit;        /* open HTTP connections at once */
    int ip_connection_limit; /* of them from one client address; 0 = no such limit */
    int shutdown_grace_s; /* how long SIGTERM waits for requests in flight */
    enum log_level log_level;
    char *data_dir; /* root of sql/, instruments/, dashboards/ */
    char *sql_dir;  /* derived from data_dir unless set */
    char *instruments_dir;
    char *dashboards_dir;
    char *pg_bindir;        /* initdb, pg_ctl, postgres */
    char *pg_user;          /* system user that runs the embedded cluster when we are root */
    char *public_url;       /* base of links handed to participants; derived from listen */
    char *study_timezone;   /* default time zone for new studies */
    char *app_database_url; /* what attune serve connects as; NULL: see docs/access.md */
    char *tls_cert;         /* PEM files: attune serve speaks HTTPS when both are set */
    char *tls_key;
    char *trusted_proxy;        /* peer address whose X-Forwarded-For is believed */
    int session_idle_s;         /* a session ends after this long without a request */
    int session_max_s;          /* and this long after sign-in, whatever */
    int login_failures_account; /* failed sign-ins per account per window before 429 */
    int login_failures_address; /* the same per client address */
    int login_window_s;
    int dashboard_prewarm; /* build every study's dashboard documents at start (large studies) */

    char *file;                        /* the config file read, or NULL */
    enum cfg_origin origin[CFG_NKEYS]; /* per row of the settings table */
};

/*
 * Fills defaults, then the config file (`file`, or $ATTUNE_CONFIG when NULL;
 * none if neither is set), then the environment. The caller may then apply
 * flags with cfg_set(..., CFG_FROM_FLAG) and must call cfg_finish(). On failure
 * the struct still holds valid (default) values and must be freed.
 */
int cfg_load(struct cfg *c, const char *file, struct err *e);

/* Sets one key ("listen", "threads", ...) from text. CFG_EINVAL names the key. */
int cfg_set(struct cfg *c, const char *key, const char *value, enum cfg_origin origin,
            struct err *e);

/* Resolves relative paths against the working directory and derives unset values. */
int cfg_finish(struct cfg *c, struct err *e);

/* Prints "key = value  # origin" lines, secrets masked. */
void cfg_print(const struct cfg *c, FILE *out);

/* Copies `url` into `buf` with any password replaced by "****". */
void cfg_mask_url(const char *url, char *buf, size_t size);

/* Frees every string the struct owns. The struct itself is the caller's. */
void cfg_free(struct cfg *c);

#endif
