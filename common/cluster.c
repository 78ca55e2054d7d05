/*
 * cluster.c — initdb, pg_ctl and the unprivileged user behind the embedded
 * private cluster (see cluster.h).
 */
#include "cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "db.h"

#define CLUSTER_PORT       "5432"
#define CLUSTER_DB         "attune"
#define CLUSTER_SUPERUSER  "attune"
#define CLUSTER_OUTPUT_MAX 8192

/* Who runs the PostgreSQL programs: ourselves, or the unprivileged user. */
struct cluster_runas {
    int switch_user; /* we are root: drop to uid/gid before exec */
    uid_t uid;
    gid_t gid;
    char name[64];
};

int cluster_path(const struct cfg *c, const char *leaf, char *buf, size_t size)
{
    int n = leaf ? snprintf(buf, size, "%s/pg/%s", c->home, leaf)
                 : snprintf(buf, size, "%s/pg", c->home);
    return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

static int cluster_paths_ok(const struct cfg *c, struct err *e)
{
    char sock[PATH_MAX];
    struct sockaddr_un sa;

    if (c->database_url != NULL) {
        err_set(e, CLUSTER_EINVAL, "a database URL is configured");
        err_detail(e, "ATTUNE_DATABASE_URL names an external server; Attune does not manage "
                      "a local cluster in that case.");
        err_hint(e, "Unset ATTUNE_DATABASE_URL to use the embedded cluster.");
        return CLUSTER_EINVAL;
    }
    if (cluster_path(c, "run/.s.PGSQL." CLUSTER_PORT, sock, sizeof sock) != 0 ||
        strlen(sock) >= sizeof sa.sun_path) {
        err_set(e, CLUSTER_EINVAL, "the cluster folder path is too long for a Unix socket");
        err_detail(e, "The socket \"%s/pg/run/.s.PGSQL.5432\" must be shorter than %zu bytes.",
                   c->home, sizeof sa.sun_path);
        err_hint(e, "Set ATTUNE_HOME to a shorter path.");
        return CLUSTER_EINVAL;
    }
    return 0;
}

/* Runs argv[0] (an absolute path) as `who`, in `cwd`, capturing its output. */
static int cluster_run(const struct cluster_runas *who, const char *cwd, const char *const argv[],
                       char *output, size_t output_size, int *exit_code)
{
    int pipefd[2];
    pid_t pid;
    size_t used = 0;
    int status;

    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return -1;
    pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        dup2(pipefd[1], STDOUT_FILENO);
        dup2(pipefd[1], STDERR_FILENO);
        if (who->switch_user) {
            if (setgroups(1, &who->gid) != 0 || setgid(who->gid) != 0 || setuid(who->uid) != 0) {
                fprintf(stderr, "could not switch to user %s: %s\n", who->name, strerror(errno));
                _exit(126);
            }
        }
        if (cwd != NULL && chdir(cwd) != 0) {
            fprintf(stderr, "could not enter %s: %s\n", cwd, strerror(errno));
            _exit(126);
        }
        /* The server inherits this environment: keep it small and predictable. */
        clearenv();
        setenv("PATH", "/usr/bin:/bin", 1);
        setenv("LC_ALL", "C.UTF-8", 1);
        /* execv's prototype predates const; it does not modify argv. */
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "could not run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);
    for (;;) {
        char chunk[1024];
        ssize_t n = read(pipefd[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        /* Keep the tail: the last lines say what went wrong. */
        if (used + (size_t)n >= output_size) {
            size_t drop = used + (size_t)n - (output_size - 1);
            if (drop > used)
                drop = used;
            memmove(output, output + drop, used - drop);
            used -= drop;
        }
        size_t take = (size_t)n < output_size - 1 - used ? (size_t)n : output_size - 1 - used;
        memcpy(output + used, chunk + n - take, take);
        used += take;
    }
    output[used] = '\0';
    close(pipefd[0]);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return 0;
}

/* The last line of program output, for the error message. */
static void cluster_last_line(const char *output, char *buf, size_t size)
{
    const char *end = output + strlen(output);
    const char *start;

    while (end > output && (end[-1] == '\n' || end[-1] == ' '))
        end--;
    start = end;
    while (start > output && start[-1] != '\n')
        start--;
    snprintf(buf, size, "%.*s", (int)(end - start), start);
}

/* Finds or creates the unprivileged user when we are root. */
static int cluster_runas_resolve(const struct cfg *c, struct cluster_runas *who, struct err *e)
{
    struct passwd *pw;

    memset(who, 0, sizeof *who);
    if (geteuid() != 0)
        return 0;
    who->switch_user = 1;
    snprintf(who->name, sizeof who->name, "%s", c->pg_user);
    pw = getpwnam(c->pg_user);
    if (pw == NULL) {
        const char *argv[] = {"/usr/sbin/useradd", "--system",
                              "--user-group",      "--no-create-home",
                              "--home-dir",        "/nonexistent",
                              "--shell",           "/usr/sbin/nologin",
                              "--comment",         "Attune embedded PostgreSQL",
                              c->pg_user,          NULL};
        struct cluster_runas self = {0};
        char out[1024];
        int code = -1;
        if (access(argv[0], X_OK) != 0 ||
            cluster_run(&self, "/", argv, out, sizeof out, &code) != 0 || code != 0 ||
            (pw = getpwnam(c->pg_user)) == NULL) {
            char line[256] = "";
            if (code > 0)
                cluster_last_line(out, line, sizeof line);
            err_set(e, CLUSTER_EUSER, "could not create the system user \"%s\"", c->pg_user);
            err_detail(e,
                       "PostgreSQL refuses to run as root, so Attune runs its private cluster "
                       "as an unprivileged user. %s",
                       line[0] ? line : "useradd is not available.");
            err_hint(e,
                     "Create the user yourself (useradd --system %s), name another with "
                     "ATTUNE_PG_USER, or set ATTUNE_DATABASE_URL to use an existing server.",
                     c->pg_user);
            return CLUSTER_EUSER;
        }
    }
    if (pw->pw_uid == 0) {
        err_set(e, CLUSTER_EUSER, "the cluster user \"%s\" is root", c->pg_user);
        err_hint(e, "Set ATTUNE_PG_USER to an unprivileged user.");
        return CLUSTER_EUSER;
    }
    who->uid = pw->pw_uid;
    who->gid = pw->pw_gid;
    return 0;
}

static int cluster_mkdir(const char *path, mode_t mode, const struct cluster_runas *who,
                         struct err *e)
{
    if (mkdir(path, mode) != 0 && errno != EEXIST)
        return err_set(e, CLUSTER_EIO, "could not create folder \"%s\": %s", path, strerror(errno));
    if (who->switch_user && chown(path, who->uid, who->gid) != 0)
        return err_set(e, CLUSTER_EIO, "could not give folder \"%s\" to user \"%s\": %s", path,
                       who->name, strerror(errno));
    if (chmod(path, mode) != 0)
        return err_set(e, CLUSTER_EIO, "could not set permissions of \"%s\": %s", path,
                       strerror(errno));
    return 0;
}

/* Creates home and home/pg/{run,log}; home itself stays the invoker's. */
static int cluster_prepare_dirs(const struct cfg *c, const struct cluster_runas *who, struct err *e)
{
    char path[PATH_MAX];
    int rc;

    if (mkdir(c->home, 0755) != 0 && errno != EEXIST)
        return err_set(e, CLUSTER_EIO, "could not create folder \"%s\": %s", c->home,
                       strerror(errno));
    cluster_path(c, NULL, path, sizeof path);
    if ((rc = cluster_mkdir(path, 0700, who, e)) != 0)
        return rc;
    cluster_path(c, "run", path, sizeof path);
    if ((rc = cluster_mkdir(path, 0700, who, e)) != 0)
        return rc;
    cluster_path(c, "log", path, sizeof path);
    if ((rc = cluster_mkdir(path, 0700, who, e)) != 0)
        return rc;
    if (who->switch_user) {
        /* The unprivileged user must be able to reach its folder through every
         * parent: try it as that user rather than guess from mode bits. */
        const char *argv[] = {"/usr/bin/test", "-w", path, "-a", "-x", path, NULL};
        char out[256];
        int code = -1;
        cluster_path(c, NULL, path, sizeof path);
        if (cluster_run(who, "/", argv, out, sizeof out, &code) != 0 || code != 0) {
            err_set(e, CLUSTER_EUSER, "the folder \"%s\" is not reachable by user \"%s\"", path,
                    who->name);
            err_detail(e,
                       "PostgreSQL runs as \"%s\", which needs search permission on every "
                       "parent folder of its data.",
                       who->name);
            err_hint(e, "Set ATTUNE_HOME to a folder outside private home folders (for example "
                        "/var/lib/attune), or grant search permission with chmod o+x on the "
                        "parent folders.");
            return CLUSTER_EUSER;
        }
    }
    return 0;
}

static int cluster_bin(const struct cfg *c, const char *prog, char *buf, size_t size, struct err *e)
{
    snprintf(buf, size, "%s/%s", c->pg_bindir, prog);
    if (access(buf, X_OK) != 0) {
        err_set(e, CLUSTER_ENOBIN, "PostgreSQL server program \"%s\" not found", buf);
        err_hint(e, "Install Debian's postgresql package (apt-get install postgresql), or set "
                    "ATTUNE_PG_BINDIR to the folder holding initdb and pg_ctl.");
        return CLUSTER_ENOBIN;
    }
    return 0;
}

/* Writes the settings Attune owns; postgresql.conf includes this file. */
static int cluster_write_conf(const struct cfg *c, const struct cluster_runas *who, struct err *e)
{
    char path[PATH_MAX], run[PATH_MAX];
    FILE *f;

    cluster_path(c, "data/attune.conf", path, sizeof path);
    cluster_path(c, "run", run, sizeof run);
    if (strchr(run, '\'') != NULL)
        return err_set(e, CLUSTER_EINVAL, "the cluster path may not contain a quote: \"%s\"", run);
    f = fopen(path, "w");
    if (f == NULL)
        return err_set(e, CLUSTER_EIO, "could not write \"%s\": %s", path, strerror(errno));
    fprintf(f,
            "# Written by attune at every start; edits here are overwritten.\n"
            "listen_addresses = ''\n"
            "unix_socket_directories = '%s'\n"
            "unix_socket_permissions = 0700\n"
            "port = " CLUSTER_PORT "\n"
            "max_connections = 200\n"
            "log_min_messages = warning\n"
            "log_line_prefix = '%%m [%%p] '\n",
            run);
    if (fclose(f) != 0)
        return err_set(e, CLUSTER_EIO, "could not write \"%s\": %s", path, strerror(errno));
    if (who->switch_user && chown(path, who->uid, who->gid) != 0)
        return err_set(e, CLUSTER_EIO, "could not give \"%s\" to user \"%s\"", path, who->name);
    return 0;
}

static int cluster_initdb(const struct cfg *c, const struct cluster_runas *who, struct err *e)
{
    char initdb[PATH_MAX], data[PATH_MAX], pgdir[PATH_MAX], conf[PATH_MAX];
    char out[CLUSTER_OUTPUT_MAX], line[256];
    int code = -1;
    FILE *f;
    int rc;

    if ((rc = cluster_bin(c, "initdb", initdb, sizeof initdb, e)) != 0)
        return rc;
    cluster_path(c, "data", data, sizeof data);
    cluster_path(c, NULL, pgdir, sizeof pgdir);
    const char *argv[] = {initdb,
                          "-D",
                          data,
                          "-U",
                          CLUSTER_SUPERUSER,
                          "--auth=trust",
                          "--encoding=UTF8",
                          "--locale=C.UTF-8",
                          "--no-instructions",
                          NULL};
    if (cluster_run(who, pgdir, argv, out, sizeof out, &code) != 0 || code != 0) {
        cluster_last_line(out, line, sizeof line);
        err_set(e, CLUSTER_EPG, "initdb failed for \"%s\"", data);
        err_detail(e, "%s", line[0] ? line : "initdb could not be run.");
        return CLUSTER_EPG;
    }
    cluster_path(c, "data/postgresql.conf", conf, sizeof conf);
    f = fopen(conf, "a");
    if (f == NULL)
        return err_set(e, CLUSTER_EIO, "could not extend \"%s\": %s", conf, strerror(errno));
    fputs("\n# Attune's own settings (socket only, no TCP).\ninclude_if_exists = 'attune.conf'\n",
          f);
    if (fclose(f) != 0)
        return err_set(e, CLUSTER_EIO, "could not extend \"%s\"", conf);
    return 0;
}

/* Runs `pg_ctl -D data <args...>`; returns pg_ctl's exit code or a negative error. */
static int cluster_pg_ctl(const struct cfg *c, const struct cluster_runas *who,
                          const char *const *args, char *out, size_t out_size, struct err *e)
{
    char pg_ctl[PATH_MAX], data[PATH_MAX], pgdir[PATH_MAX];
    const char *argv[16];
    int n = 0, code = -1, rc;

    if ((rc = cluster_bin(c, "pg_ctl", pg_ctl, sizeof pg_ctl, e)) != 0)
        return rc;
    cluster_path(c, "data", data, sizeof data);
    cluster_path(c, NULL, pgdir, sizeof pgdir);
    argv[n++] = pg_ctl;
    argv[n++] = "-D";
    argv[n++] = data;
    for (; *args != NULL && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    if (cluster_run(who, pgdir, argv, out, out_size, &code) != 0)
        return err_set(e, CLUSTER_EPG, "could not run pg_ctl: %s", strerror(errno));
    return code;
}

static int cluster_lock(const struct cfg *c, struct err *e)
{
    char path[PATH_MAX];
    int fd;

    cluster_path(c, ".lock", path, sizeof path);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(e, CLUSTER_EIO, "could not open lock file \"%s\": %s", path,
                       strerror(errno));
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            close(fd);
            return err_set(e, CLUSTER_EIO, "could not lock \"%s\": %s", path, strerror(errno));
        }
    }
    return fd;
}

static int cluster_state_of(const struct cfg *c, const struct cluster_runas *who,
                            enum cluster_state *out, struct err *e)
{
    char version[PATH_MAX], out_buf[1024];
    const char *args[] = {"status", NULL};
    int code;

    cluster_path(c, "data/PG_VERSION", version, sizeof version);
    if (access(version, F_OK) != 0) {
        *out = CLUSTER_ABSENT;
        return 0;
    }
    code = cluster_pg_ctl(c, who, args, out_buf, sizeof out_buf, e);
    if (code < 0)
        return code;
    /* pg_ctl status: 0 running, 3 not running, 4 no accessible data folder. */
    *out = code == 0 ? CLUSTER_RUNNING : CLUSTER_STOPPED;
    return 0;
}

int cluster_status(const struct cfg *c, enum cluster_state *out, struct err *e)
{
    struct cluster_runas who;
    int rc;

    if ((rc = cluster_paths_ok(c, e)) != 0)
        return rc;
    if ((rc = cluster_runas_resolve(c, &who, e)) != 0)
        return rc;
    return cluster_state_of(c, &who, out, e);
}

int cluster_conninfo(const struct cfg *c, char **out, struct err *e)
{
    char run[PATH_MAX];
    char *s;

    cluster_path(c, "run", run, sizeof run);
    if (strchr(run, '\'') != NULL || strchr(run, '\\') != NULL)
        return err_set(e, CLUSTER_EINVAL, "the cluster path may not contain quotes: \"%s\"", run);
    if (asprintf(&s,
                 "host='%s' port=" CLUSTER_PORT " dbname=" CLUSTER_DB " user=" CLUSTER_SUPERUSER
                 " connect_timeout=5",
                 run) < 0)
        return err_set(e, CLUSTER_EIO, "out of memory");
    *out = s;
    return 0;
}

/* Creates the "attune" database on first start. */
static int cluster_ensure_database(const struct cfg *c, struct err *e)
{
    char run[PATH_MAX];
    char *conninfo = NULL;
    PGconn *conn = NULL;
    PGresult *res = NULL;
    int rc;

    cluster_path(c, "run", run, sizeof run);
    if (asprintf(&conninfo,
                 "host='%s' port=" CLUSTER_PORT " dbname=postgres user=" CLUSTER_SUPERUSER
                 " connect_timeout=5",
                 run) < 0)
        return err_set(e, CLUSTER_EIO, "out of memory");
    rc = db_connect(conninfo, &conn, e);
    if (rc != 0)
        goto out;
    {
        const char *params[] = {CLUSTER_DB};
        rc = db_query_sql(conn, "SELECT 1 FROM pg_database WHERE datname = $1", 1, params, NULL, e);
    }
    if (rc < 0)
        goto out;
    if (rc == 0 && (rc = db_exec(conn, "CREATE DATABASE " CLUSTER_DB, e)) != 0)
        goto out;
    rc = 0;
out:
    if (rc != 0)
        rc = CLUSTER_EPG;
    PQclear(res);
    if (conn != NULL)
        PQfinish(conn);
    free(conninfo);
    return rc;
}

int cluster_start(const struct cfg *c, struct err *e)
{
    struct cluster_runas who;
    enum cluster_state state;
    char out[CLUSTER_OUTPUT_MAX], line[256], logfile[PATH_MAX];
    int lock = -1;
    int rc;

    if ((rc = cluster_paths_ok(c, e)) != 0 || (rc = cluster_runas_resolve(c, &who, e)) != 0)
        return rc;
    if ((rc = cluster_prepare_dirs(c, &who, e)) != 0)
        return rc;
    if ((lock = cluster_lock(c, e)) < 0)
        return lock;
    if ((rc = cluster_state_of(c, &who, &state, e)) != 0)
        goto out;
    if (state == CLUSTER_ABSENT && (rc = cluster_initdb(c, &who, e)) != 0)
        goto out;
    if (state != CLUSTER_RUNNING) {
        const char *args[] = {"-l", NULL, "-w", "-t", "60", "start", NULL};
        cluster_path(c, "log/postgres.log", logfile, sizeof logfile);
        args[1] = logfile;
        if ((rc = cluster_write_conf(c, &who, e)) != 0)
            goto out;
        rc = cluster_pg_ctl(c, &who, args, out, sizeof out, e);
        if (rc != 0) {
            if (rc > 0) {
                cluster_last_line(out, line, sizeof line);
                err_set(e, CLUSTER_EPG, "could not start the embedded PostgreSQL server");
                err_detail(e, "pg_ctl said: %s", line);
                err_hint(e, "See the server log %s.", logfile);
            }
            rc = CLUSTER_EPG;
            goto out;
        }
    }
    rc = cluster_ensure_database(c, e);
out:
    close(lock);
    return rc;
}

int cluster_stop(const struct cfg *c, struct err *e)
{
    struct cluster_runas who;
    enum cluster_state state;
    char out[CLUSTER_OUTPUT_MAX], line[256];
    const char *args[] = {"-m", "fast", "-w", "-t", "60", "stop", NULL};
    int lock, rc;

    if ((rc = cluster_paths_ok(c, e)) != 0 || (rc = cluster_runas_resolve(c, &who, e)) != 0)
        return rc;
    if ((rc = cluster_state_of(c, &who, &state, e)) != 0)
        return rc;
    if (state != CLUSTER_RUNNING)
        return 0;
    if ((lock = cluster_lock(c, e)) < 0)
        return lock;
    rc = cluster_pg_ctl(c, &who, args, out, sizeof out, e);
    if (rc > 0) {
        cluster_last_line(out, line, sizeof line);
        err_set(e, CLUSTER_EPG, "could not stop the embedded PostgreSQL server");
        err_detail(e, "pg_ctl said: %s", line);
        rc = CLUSTER_EPG;
    }
    close(lock);
    return rc;
}

int cluster_resolve(const struct cfg *c, int start, char **out, struct err *e)
{
    int rc;

    if (c->database_url != NULL) {
        if ((*out = strdup(c->database_url)) == NULL)
            return err_set(e, CLUSTER_EIO, "out of memory");
        return 0;
    }
    if (start && (rc = cluster_start(c, e)) != 0)
        return rc;
    return cluster_conninfo(c, out, e);
}
