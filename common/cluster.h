/*
 * cluster.h — the embedded private PostgreSQL cluster.
 *
 * When no database_url is configured, Attune keeps its own cluster in
 * <home>/pg: data/ (PGDATA), run/ (the Unix socket; no TCP port is opened),
 * log/postgres.log, and a lock file that serialises start and stop. initdb runs
 * once; pg_ctl starts and stops the server.
 *
 * PostgreSQL refuses to run as root. When Attune runs as root, the cluster is
 * owned and run by an unprivileged system user (cfg->pg_user, default
 * "attune"), created with useradd when missing. Clients connect over the
 * socket with trust authentication: the socket folder is private (0700) to
 * that user, so only it and root can reach the server.
 */
#ifndef ATTUNE_CLUSTER_H
#define ATTUNE_CLUSTER_H

#include "cfg.h"
#include "err.h"

enum {
    CLUSTER_EINVAL = -1, /* misuse: a database_url is configured, a path is too long */
    CLUSTER_EUSER = -2,  /* no unprivileged user to run PostgreSQL as */
    CLUSTER_EIO = -3,    /* a folder or file could not be made */
    CLUSTER_EPG = -4,    /* initdb, pg_ctl or the server failed */
    CLUSTER_ENOBIN = -5, /* PostgreSQL server programs not installed */
};

enum cluster_state {
    CLUSTER_ABSENT = 0, /* never initialised */
    CLUSTER_STOPPED,
    CLUSTER_RUNNING,
};

/* Reports whether the cluster exists and runs. */
int cluster_status(const struct cfg *c, enum cluster_state *out, struct err *e);

/*
 * Initialises the cluster if needed, starts it if stopped, and makes sure the
 * "attune" database exists. Idempotent. CLUSTER_EINVAL when database_url is set.
 */
int cluster_start(const struct cfg *c, struct err *e);

/* Stops the server (fast shutdown) if it runs. Idempotent. */
int cluster_stop(const struct cfg *c, struct err *e);

/*
 * The connection string of the embedded cluster, whether or not it runs.
 * *out is the caller's to free().
 */
int cluster_conninfo(const struct cfg *c, char **out, struct err *e);

/*
 * The connection string Attune should use: database_url when configured,
 * otherwise the embedded cluster's, started first when `start` is set.
 * *out is the caller's to free().
 */
int cluster_resolve(const struct cfg *c, int start, char **out, struct err *e);

/* Paths inside the cluster folder, for messages ("log", "data", "run"). */
int cluster_path(const struct cfg *c, const char *leaf, char *buf, size_t size);

#endif
