/*
 * participants.c — withdrawal and erasure, inside the caller's transaction so
 * that the change and its audit row commit together. Used by the command
 * line (attune participant withdraw|erase), the admin API and a participant's
 * own POST /api/v1/me/withdraw.
 *
 * What erasure removes: responses, their item answers, and events, which are
 * the participant's data; the code, which links the row to a person through
 * the study's enrolment list, is replaced. What stays: the participant row
 * (study, arm, enrolment and withdrawal times) so that the CONSORT flow still
 * counts them, revoked token hashes, and the audit trail — which never held
 * answers or event contents. Any later table holding participant data must be
 * added here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "audit.h"

static void acc_copy(char *dst, size_t size, const PGresult *res, int row, int col)
{
    snprintf(dst, size, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

static void acc_participant_fill(const PGresult *res, int row, struct acc_participant *p)
{
    memset(p, 0, sizeof *p);
    p->id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    acc_copy(p->study_id, sizeof p->study_id, res, row, 1);
    acc_copy(p->code, sizeof p->code, res, row, 2);
    acc_copy(p->arm_id, sizeof p->arm_id, res, row, 3);
    acc_copy(p->status, sizeof p->status, res, row, 4);
    acc_copy(p->enrolled_at, sizeof p->enrolled_at, res, row, 5);
    acc_copy(p->withdrawn_at, sizeof p->withdrawn_at, res, row, 6);
    p->erased = strcmp(PQgetvalue(res, row, 7), "t") == 0;
    acc_copy(p->enrolled_exact, sizeof p->enrolled_exact, res, row, 8);
}

int acc_participant_find(PGconn *conn, const char *study, const char *code,
                         struct acc_participant *out, struct err *e)
{
    const char *params[2] = {study, code};
    PGresult *res = NULL;
    int rc;

    if ((rc = db_query(conn, "acc_participant_find", 2, params, &res, e)) < 0)
        return rc;
    if (rc == 0) {
        if (study != NULL)
            err_set(e, ACC_ENOTFOUND, "participant \"%s\" not found in study \"%s\"", code, study);
        else
            err_set(e, ACC_ENOTFOUND, "participant \"%s\" not found", code);
        rc = ACC_ENOTFOUND;
    } else if (rc > 1) {
        char studies[512] = "";
        size_t used = 0;
        for (int i = 0; i < rc && used < sizeof studies - 70; i++)
            used += (size_t)snprintf(studies + used, sizeof studies - used, "%s\"%.64s\"",
                                     i ? ", " : "", PQgetvalue(res, i, 1));
        err_set(e, ACC_ECONFLICT, "participant code \"%s\" exists in several studies", code);
        err_detail(e, "It is used in %s.", studies);
        err_hint(e, "Name the study with --study.");
        rc = ACC_ECONFLICT;
    } else {
        acc_participant_fill(res, 0, out);
        rc = 0;
    }
    PQclear(res);
    return rc;
}

int acc_participant_find_id(PGconn *conn, long long id, struct acc_participant *out, struct err *e)
{
    char num[24];
    const char *params[1] = {num};
    PGresult *res = NULL;
    int rc;

    snprintf(num, sizeof num, "%lld", id);
    if ((rc = db_query(conn, "acc_participant_by_id", 1, params, &res, e)) < 0)
        return rc;
    if (rc == 0) {
        rc = err_set(e, ACC_ENOTFOUND, "participant %lld not found", id);
    } else {
        acc_participant_fill(res, 0, out);
        rc = 0;
    }
    PQclear(res);
    return rc;
}

int acc_participant_withdraw(PGconn *conn, struct acc_participant *p, const struct audit_entry *who,
                             struct err *e)
{
    char num[24];
    const char *params[1] = {num};
    struct audit_entry a = *who;
    PGresult *res = NULL;
    json_t *detail = NULL;
    char target[160];
    int rc;

    if (strcmp(p->status, "withdrawn") == 0)
        return 1;
    snprintf(num, sizeof num, "%lld", p->id);
    if ((rc = db_query(conn, "acc_participant_withdraw", 1, params, &res, e)) < 0)
        return rc;
    if (rc == 0) {
        PQclear(res);
        return 1;
    }
    snprintf(p->status, sizeof p->status, "withdrawn");
    snprintf(p->withdrawn_at, sizeof p->withdrawn_at, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    snprintf(target, sizeof target, "participant:%s/#%lld", p->study_id, p->id);
    detail = json_pack("{s:s}", "arm", p->arm_id);
    a.action = "participant.withdraw";
    a.target = target;
    a.study_id = p->study_id;
    a.detail = detail;
    rc = audit_append(conn, &a, e);
    json_decref(detail);
    return rc;
}

/* Runs one erasing statement on the participant; returns rows or a db_status. */
static int acc_erase_step(PGconn *conn, const char *statement, int nparams,
                          const char *const *params, long *count, struct err *e)
{
    int rc = db_query(conn, statement, nparams, params, NULL, e);

    if (rc >= 0 && count != NULL)
        *count = rc;
    return rc;
}

int acc_participant_erase(PGconn *conn, struct acc_participant *p, const struct audit_entry *who,
                          struct acc_erasure *out, struct err *e)
{
    char num[24], target[160];
    const char *id_param[1] = {num};
    const char *runs_params[2] = {p->study_id, p->enrolled_exact};
    struct audit_entry a = *who;
    json_t *detail = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (who->reason == NULL || who->reason[0] == '\0') {
        err_set(e, ACC_EINVAL, "an erasure needs a reason");
        err_hint(e, "Give it with --reason \"...\"; it is kept in the audit trail.");
        return ACC_EINVAL;
    }
    if (p->erased)
        return err_set(e, ACC_ECONFLICT, "participant %lld of study \"%s\" was already erased",
                       p->id, p->study_id);
    snprintf(num, sizeof num, "%lld", p->id);
    if ((rc = acc_erase_step(conn, "acc_erase_items", 1, id_param, &out->items, e)) < 0 ||
        (rc = acc_erase_step(conn, "acc_erase_responses", 1, id_param, &out->responses, e)) < 0 ||
        (rc = acc_erase_step(conn, "acc_erase_events", 1, id_param, &out->events, e)) < 0 ||
        (rc = acc_erase_step(conn, "acc_erase_tokens", 1, id_param, &out->tokens, e)) < 0 ||
        (rc = acc_erase_step(conn, "acc_erase_participant", 1, id_param, NULL, e)) < 0 ||
        (rc = acc_erase_step(conn, "acc_erase_runs", 2, runs_params, &out->runs, e)) < 0)
        return rc;
    /* Like every audit row about a participant, this names them by internal
     * id, not by the code just replaced: the trail keeps that an erasure
     * happened, not who the participant was. */
    snprintf(target, sizeof target, "participant:%s/#%lld", p->study_id, p->id);
    detail =
        json_pack("{s:I, s:I, s:I, s:I, s:I}", "responses", (json_int_t)out->responses, "items",
                  (json_int_t)out->items, "events", (json_int_t)out->events, "tokens_revoked",
                  (json_int_t)out->tokens, "analysis_runs_marked", (json_int_t)out->runs);
    a.action = "participant.erase";
    a.target = target;
    a.study_id = p->study_id;
    a.detail = detail;
    rc = audit_append(conn, &a, e);
    json_decref(detail);
    if (rc == 0) {
        p->erased = 1;
        snprintf(p->status, sizeof p->status, "withdrawn");
    }
    return rc;
}
