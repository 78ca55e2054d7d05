/*
 * flow.c — the connection, the attrition section and the run finishing that
 * attrition, engagement and the report share (see flow.h).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "flow.h"

void cli_flow_fingerprint(const char *const *parts, char out[65])
{
    crypto_hash_sha256_state st;
    unsigned char hash[crypto_hash_sha256_BYTES];

    crypto_hash_sha256_init(&st);
    for (; *parts != NULL; parts++)
        crypto_hash_sha256_update(&st, (const unsigned char *)*parts,
                                  (unsigned long long)strlen(*parts) + 1);
    crypto_hash_sha256_final(&st, hash);
    sodium_bin2hex(out, 65, hash, sizeof hash);
}

json_t *cli_jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *cli_jci(double lo, double hi)
{
    return json_pack("[o, o]", cli_jnum(lo), cli_jnum(hi));
}

int cli_flow_connect(const struct cfg *cfg, PGconn **out, struct err *e)
{
    static const struct db_statement *const tables[] = {ds_attrition_statements,
                                                        ds_engage_statements, NULL};
    PGconn *c = NULL;
    int rc;

    if ((rc = cli_analyze_connect(cfg, &c, e)) != 0)
        return rc;
    if ((rc = db_prepare(c, tables, e)) != 0) {
        PQfinish(c);
        return rc;
    }
    *out = c;
    return 0;
}

int cli_flow_week(const char *opt, const char *arg, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(arg, &end, 10);
    if (end == arg || *end != '\0' || errno != 0 || v < 0 || v > 1000) {
        fprintf(stderr,
                "error: invalid value \"%s\" for --%s\nDETAIL: Give a study week, a whole "
                "number from 0 to 1000.\n",
                arg, opt);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int cli_flow_metric(const char *arg, enum ds_eng_metric *out)
{
    if (ds_eng_metric_parse(arg, out) != 0) {
        fprintf(stderr,
                "error: unknown measure \"%s\"\nHINT: Use active_days, sessions, minutes, "
                "exercises or trigger_logs.\n",
                arg);
        return -1;
    }
    return 0;
}

static json_t *cli_flow_counts(const struct ds_attrition_flow *f)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:I, s:I}", "enrolled",
                     (json_int_t)f->enrolled, "baseline_done", (json_int_t)f->baseline_done,
                     "no_baseline", (json_int_t)f->no_baseline, "no_baseline_voided",
                     (json_int_t)f->no_baseline_void, "completers", (json_int_t)f->completers,
                     "not_completed", "withdrew", (json_int_t)f->not_final_withdrawn, "missed",
                     (json_int_t)f->not_final_missed, "voided", (json_int_t)f->not_final_void,
                     "pending", (json_int_t)f->not_final_pending, "final_without_baseline",
                     (json_int_t)f->final_without_baseline, "withdrawn_any_time",
                     (json_int_t)f->withdrawn);
}

static json_t *cli_flow_arm(const struct ds_attrition *a, const struct ds_attrition_arm *arm)
{
    const struct ds_attrition_flow *f = &arm->flow;
    json_t *weeks = json_array();
    size_t left =
        f->not_final_withdrawn + f->not_final_missed + f->not_final_void + f->not_final_pending;

    for (size_t w = 0; w < a->n_weeks; w++) {
        const struct ds_attrition_week *x = &arm->weeks[w];
        json_t *o = json_pack("{s:i}", "week", x->week);
        for (unsigned s = 0; s < DS_SCHED_COUNT; s++)
            json_object_set_new(o, ds_sched_status_name(s), json_integer((json_int_t)x->status[s]));
        json_object_set_new(
            o, "answered",
            json_integer((json_int_t)(x->status[DS_SCHED_COMPLETED] + x->status[DS_SCHED_LATE])));
        json_object_set_new(o, "scored", json_integer((json_int_t)x->scored));
        json_object_set_new(o, "voided", json_integer((json_int_t)x->voided));
        json_object_set_new(o, "withdrew", json_integer((json_int_t)x->withdrew));
        json_array_append_new(weeks, o);
    }
    return json_pack("{s:s, s:o, s:o, s:{s:b, s:b}}", "arm", arm->arm, "flow", cli_flow_counts(f),
                     "weeks", weeks, "adds_up", "baseline",
                     f->completers + left == f->baseline_done, "enrolled",
                     f->baseline_done + f->no_baseline == f->enrolled);
}

json_t *cli_attrition_json(const struct ds_attrition *a)
{
    json_t *arms = json_array(), *weeks = json_array();

    for (size_t i = 0; i < a->n_arms; i++)
        json_array_append_new(arms, cli_flow_arm(a, &a->arms[i]));
    for (size_t w = 0; w < a->n_weeks; w++)
        json_array_append_new(weeks, json_integer(a->weeks[w]));
    return json_pack(
        "{s:i, s:i, s:o, s:s, s:s, s:o, s:o, s:{s:s, s:s, s:s, s:s, s:s, s:s}}", "baseline_week",
        a->baseline_week, "final_week", a->final_week, "weeks", weeks, "asof", a->asof,
        "fingerprint", a->fingerprint, "arms", arms, "total", cli_flow_arm(a, &a->total),
        "definitions", "baseline_done", "a scored answer at the baseline week", "completers",
        "a scored answer at the baseline and at the final week", "statuses",
        "derived by the database (attune_schedule_status) as of asof: completed (in its window), "
        "late (after it), missed (the window closed without an answer), open, upcoming, "
        "withdrawn (no longer due: the participant withdrew before the window closed)",
        "voided", "answered, but the instrument's missing-item rule voided the score", "withdrew",
        "formal withdrawals, at the scheduled week they fell in (or the one before)", "adds_up",
        "baseline_done = completers + not_completed (withdrew + missed + voided + "
        "pending); enrolled = baseline_done + no_baseline");
}

int cli_flow_finish(PGconn *conn, const struct cli_run_info *info, json_t *doc, enum cli_format fmt,
                    cli_flow_printer print, const struct cli_rerun *rerun)
{
    int identical = 1, status;

    /* cli_analyze_finish's steps, with a printer of the document's own: these
     * documents are not a list of statistics. */
    if ((status = cli_analyze_settle(conn, info, doc, rerun, &identical)) != CLI_OK)
        return status;
    if (print(stdout, doc, fmt) != 0) {
        fprintf(stderr, "error: could not write the result\n");
        status = CLI_FAIL;
    }
    if (cli_analyze_verdict(info, rerun, identical) != CLI_OK)
        status = CLI_FAIL;
    return status;
}
