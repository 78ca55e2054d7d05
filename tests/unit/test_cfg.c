/*
 * test_cfg.c — configuration: defaults, the config file, the environment,
 * flags, their precedence, every parse error, and secret masking.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "tap.h"

static void clear_env(void)
{
    static const char *vars[] = {"ATTUNE_DATABASE_URL", "ATTUNE_HOME",      "ATTUNE_LISTEN",
                                 "ATTUNE_THREADS",      "ATTUNE_CONFIG",    "ATTUNE_MAX_BODY",
                                 "ATTUNE_LOG_LEVEL",    "ATTUNE_DATA_DIR",  "ATTUNE_SQL_DIR",
                                 "ATTUNE_DB_POOL_SIZE", "ATTUNE_PUBLIC_URL"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
}

static char *write_file(const char *text)
{
    static char path[] = "/tmp/attune-cfg-XXXXXX";
    int fd;

    strcpy(path, "/tmp/attune-cfg-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        return NULL;
    close(fd);
    return path;
}

static void test_defaults(void)
{
    struct cfg c;
    struct err e;

    clear_env();
    ok(cfg_load(&c, NULL, &e) == 0 && cfg_finish(&c, &e) == 0, "defaults load");
    ok(c.database_url == NULL, "no database URL by default (embedded cluster)");
    is_str(c.listen_host, "127.0.0.1", "default host");
    is_int(c.listen_port, 8080, "default port");
    is_int(c.threads, 8, "default threads");
    is_int(c.db_pool_size, 8, "pool defaults to one connection per thread");
    is_int(c.max_body_bytes, 1024 * 1024, "default body cap 1 MB");
    ok(c.home[0] == '/' && strstr(c.home, "/var") != NULL, "home is made absolute");
    ok(c.sql_dir != NULL && strstr(c.sql_dir, "/sql") != NULL, "sql_dir derived from data_dir");
    is_str(c.public_url, "http://127.0.0.1:8080", "public URL derived from listen");
    is_int(c.origin[0], CFG_FROM_DEFAULT, "origin recorded");
    cfg_free(&c);
}

static void test_precedence(void)
{
    struct cfg c;
    struct err e;
    char *file = write_file("# comment\nlisten = 0.0.0.0:9000\nthreads = 3  # trailing\n"
                            "home = '/srv/attune'\nmax_body = 512kB\n");

    clear_env();
    setenv("ATTUNE_THREADS", "5", 1);
    ok(cfg_load(&c, file, &e) == 0, "file and environment load");
    is_str(c.listen_host, "0.0.0.0", "file sets listen host");
    is_int(c.listen_port, 9000, "file sets listen port");
    is_int(c.threads, 5, "environment beats the file");
    is_str(c.home, "/srv/attune", "quoted value");
    is_int(c.max_body_bytes, 512 * 1024, "size with unit");
    ok(cfg_set(&c, "threads", "7", CFG_FROM_FLAG, &e) == 0, "flag applies");
    is_int(c.threads, 7, "flag beats the environment");
    ok(cfg_finish(&c, &e) == 0, "finish");
    is_str(c.public_url, "http://localhost:9000", "0.0.0.0 becomes localhost in links");
    cfg_free(&c);
    unlink(file);
    unsetenv("ATTUNE_THREADS");
}

static void test_errors(void)
{
    struct cfg c;
    struct err e;
    char *file;

    clear_env();
    setenv("ATTUNE_THREADS", "lots", 1);
    ok(cfg_load(&c, NULL, &e) == CFG_EINVAL, "bad number in the environment");
    ok(strstr(e.message, "ATTUNE_THREADS") != NULL, "message names the variable: %s", e.message);
    cfg_free(&c);
    unsetenv("ATTUNE_THREADS");

    setenv("ATTUNE_LISTEN", "localhost", 1);
    ok(cfg_load(&c, NULL, &e) == CFG_EINVAL, "listen without port refused");
    cfg_free(&c);
    setenv("ATTUNE_LISTEN", "127.0.0.1:70000", 1);
    ok(cfg_load(&c, NULL, &e) == CFG_EINVAL, "port out of range refused");
    cfg_free(&c);
    unsetenv("ATTUNE_LISTEN");

    file = write_file("threads = 4\nnonsense = 1\n");
    ok(cfg_load(&c, file, &e) == CFG_EINVAL, "unknown key in the file refused");
    ok(strstr(e.message, ":2:") != NULL && strstr(e.message, "nonsense") != NULL,
       "message gives file line and key: %s", e.message);
    cfg_free(&c);
    unlink(file);

    file = write_file("threads 4\n");
    ok(cfg_load(&c, file, &e) == CFG_EINVAL, "line without = refused");
    cfg_free(&c);
    unlink(file);

    ok(cfg_load(&c, "/nonexistent/attune.conf", &e) == CFG_EIO, "missing config file is an error");
    cfg_free(&c);

    cfg_load(&c, NULL, &e);
    ok(cfg_set(&c, "threads", "0", CFG_FROM_FLAG, &e) == CFG_EINVAL, "threads below 1 refused");
    ok(cfg_set(&c, "max_body", "12parsecs", CFG_FROM_FLAG, &e) == CFG_EINVAL, "unknown unit");
    ok(cfg_set(&c, "log_level", "loud", CFG_FROM_FLAG, &e) == CFG_EINVAL, "unknown log level");
    ok(cfg_set(&c, "listen", "[::1]:8081", CFG_FROM_FLAG, &e) == 0 &&
           strcmp(c.listen_host, "::1") == 0 && c.listen_port == 8081,
       "IPv6 listen address");
    cfg_free(&c);
}

static void test_masking(void)
{
    char buf[256];
    struct cfg c;
    struct err e;
    char *out = NULL;
    size_t len = 0;
    FILE *f;

    cfg_mask_url("postgresql://alice:s3cret@db.example/attune", buf, sizeof buf);
    ok(strstr(buf, "s3cret") == NULL && strstr(buf, "alice:****@") != NULL, "URL password masked");
    cfg_mask_url("host=db user=bob password=hunter2 dbname=x", buf, sizeof buf);
    ok(strstr(buf, "hunter2") == NULL, "keyword password masked: %s", buf);
    cfg_mask_url("postgresql:///attune?host=/tmp", buf, sizeof buf);
    is_str(buf, "postgresql:///attune?host=/tmp", "URL without password unchanged");

    clear_env();
    setenv("ATTUNE_DATABASE_URL", "postgresql://u:topsecret@h/d", 1);
    cfg_load(&c, NULL, &e);
    cfg_finish(&c, &e);
    f = open_memstream(&out, &len);
    cfg_print(&c, f);
    fclose(f);
    ok(strstr(out, "topsecret") == NULL && strstr(out, "environment") != NULL,
       "--print-config masks the password and says where values came from");
    free(out);
    cfg_free(&c);
    unsetenv("ATTUNE_DATABASE_URL");
}

int main(void)
{
    test_defaults();
    test_precedence();
    test_errors();
    test_masking();
    return tap_done();
}
