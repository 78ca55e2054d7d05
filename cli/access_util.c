/*
 * access_util.c — what the access commands (user, token, audit, participant)
 * share: a one-connection pool with access/'s statements, the audit actor of
 * the person at the terminal, and reading a password without echo or from
 * standard input.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "access.h"
#include "audit.h"
#include "cli.h"
#include "cluster.h"

int cli_access_pool(const struct cfg *cfg, struct db_pool **out, struct err *e)
{
    static const struct db_statement *const tables[] = {acc_statements, audit_statements, NULL};
    char *conninfo = NULL;
    PGconn *conn = NULL;
    int rc;

    /* The command line acts as the database owner (the operator), never as
     * the service's role. Connect once now so that an unmigrated database
     * says so plainly instead of failing on the first statement. */
    if ((rc = cluster_resolve(cfg, 1, &conninfo, e)) != 0)
        return rc;
    if ((rc = db_connect(conninfo, &conn, e)) == 0) {
        rc = db_prepare(conn, tables, e);
        if (rc != 0)
            err_hint(e, "Run \"attune migrate\" first.");
        PQfinish(conn);
    }
    if (rc == 0)
        rc = db_pool_new(conninfo, 1, tables, out, e);
    free(conninfo);
    return rc;
}

void cli_actor(struct audit_entry *a, char *buf, size_t size, const char *reason)
{
    const struct passwd *pw = getpwuid(geteuid());
    const char *sudo = getenv("SUDO_USER");

    if (sudo != NULL && sudo[0] != '\0' && strlen(sudo) < 32)
        snprintf(buf, size, "cli:%s (sudo by %s)", pw ? pw->pw_name : "?", sudo);
    else
        snprintf(buf, size, "cli:%s", pw ? pw->pw_name : "unknown");
    memset(a, 0, sizeof *a);
    a->actor_kind = "system";
    a->actor = buf;
    a->reason = reason;
}

/* One line from `f` without its newline; -1 on EOF or a line too long. */
static int cli_read_line(FILE *f, char *buf, size_t size)
{
    size_t n;

    if (fgets(buf, (int)size, f) == NULL)
        return -1;
    n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    else if (!feof(f))
        return -1;
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    return 0;
}

static int cli_prompt(FILE *tty, const char *prompt, char *buf, size_t size)
{
    struct termios old, quiet;
    int rc;

    fputs(prompt, tty);
    fflush(tty);
    if (tcgetattr(fileno(tty), &old) != 0)
        return -1;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
    rc = cli_read_line(tty, buf, size);
    tcsetattr(fileno(tty), TCSAFLUSH, &old);
    fputs("\n", tty);
    return rc;
}

int cli_read_password(int from_stdin, char *buf, size_t size, struct err *e)
{
    char again[ACC_PASSWORD_MAX + 2];
    FILE *tty;
    int rc = -1;

    if (from_stdin) {
        if (cli_read_line(stdin, buf, size) != 0)
            return err_set(e, ACC_EINVAL,
                           "no password on standard input (one line, at most %d "
                           "bytes)",
                           ACC_PASSWORD_MAX);
        return 0;
    }
    if ((tty = fopen("/dev/tty", "r+")) == NULL) {
        err_set(e, ACC_EINVAL, "no terminal to ask for the password on");
        err_hint(e, "Pass it on standard input with --password-stdin.");
        return ACC_EINVAL;
    }
    if (cli_prompt(tty, "New password: ", buf, size) == 0 &&
        cli_prompt(tty, "Repeat it: ", again, sizeof again) == 0) {
        rc = strcmp(buf, again) == 0 ? 0 : err_set(e, ACC_EINVAL, "the passwords differ");
    } else {
        rc = err_set(e, ACC_EINVAL, "could not read the password");
    }
    sodium_memzero(again, sizeof again);
    fclose(tty);
    return rc;
}
