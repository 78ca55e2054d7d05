/*
 * ds_attrition.c — the participant flow by arm and week from the derived
 * questionnaire statuses (see ds_attrition.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ds_attrition.h"
#include "ds_int.h"

const struct db_statement ds_attrition_statements[] = {
    /* ds_attrition_load: asof as given, or now, in one canonical UTC form */
    {"ds_attrition_asof", "SELECT to_char(coalesce($1::timestamptz, now()) AT TIME ZONE 'UTC',"
                          " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"},
    /* ds_attrition_load: the study's arms, in a stable order */
    {"ds_attrition_arms", "SELECT id FROM arms WHERE study_id = $1 ORDER BY id"},
    /* ds_attrition_load: the weeks the instrument is due */
    {"ds_attrition_weeks",
     "SELECT week FROM schedule WHERE study_id = $1 AND instrument_id = $2 ORDER BY week"},
    /* ds_attrition_load: every participant, their arm and withdrawal week */
    {"ds_attrition_participants",
     "SELECT p.id, p.code, p.arm_id, p.withdrawn_at IS NOT NULL,"
     " CASE WHEN p.withdrawn_at IS NULL THEN 0"
     "  ELSE attune_study_week(p.enrolled_at, s.timezone, p.withdrawn_at) END"
     " FROM participants p JOIN studies s ON s.id = p.study_id"
     " WHERE p.study_id = $1 ORDER BY p.id"},
    /* ds_attrition_load: the derived status of every scheduled questionnaire at asof */
    {"ds_attrition_statuses",
     "SELECT st.participant_id, st.week, st.status, r.total_score IS NOT NULL"
     " FROM attune_schedule_status($3::timestamptz) st"
     /* Joined on the response's own key as well as its id: a join on the id
      * alone hashes the rows without a response (NULL ids, a third of a
      * large study) into one bucket, and took minutes at 100,000
      * participants instead of seconds. */
     " LEFT JOIN responses r ON r.participant_id = st.participant_id"
     "  AND r.instrument_id = st.instrument_id AND r.study_week = st.week"
     "  AND r.id = st.response_id"
     " WHERE st.study_id = $1 AND st.instrument_id = $2"
     " ORDER BY st.participant_id, st.week"},
    /* ds_baseline_load: the instruments due at the baseline week */
    {"ds_attrition_baseline_instruments",
     "SELECT DISTINCT instrument_id FROM schedule WHERE study_id = $1 AND week = $2"
     " ORDER BY instrument_id"},
    /* ds_baseline_load: scored answers at the baseline week by arm and severity band */
    {"ds_attrition_baseline_bands",
     "SELECT p.arm_id, coalesce(r.severity, ''), count(*), min(r.total_score)"
     " FROM responses r JOIN participants p ON p.id = r.participant_id"
     " WHERE p.study_id = $1 AND r.instrument_id = $2 AND r.study_week = $3"
     " AND r.total_score IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 4, 2"},
    {NULL, NULL},
};

static const char *const ds_sched_names[DS_SCHED_COUNT] = {
    [DS_SCHED_COMPLETED] = "completed", [DS_SCHED_LATE] = "late",
    [DS_SCHED_MISSED] = "missed",       [DS_SCHED_OPEN] = "open",
    [DS_SCHED_UPCOMING] = "upcoming",   [DS_SCHED_WITHDRAWN] = "withdrawn",
};

const char *ds_sched_status_name(enum ds_sched_status s)
{
    return (unsigned)s < DS_SCHED_COUNT ? ds_sched_names[s] : "unknown";
}

int ds_sched_status_parse(const char *name, enum ds_sched_status *out)
{
    for (unsigned i = 0; i < DS_SCHED_COUNT; i++) {
        if (strcmp(name, ds_sched_names[i]) == 0) {
            *out = (enum ds_sched_status)i;
            return 0;
        }
    }
    return -1;
}

static void ds_attrition_arm_free(struct ds_attrition_arm *a)
{
    free(a->arm);
    free(a->weeks);
}

void ds_attrition_free(struct ds_attrition *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n_arms; i++)
        ds_attrition_arm_free(&a->arms[i]);
    free(a->arms);
    ds_attrition_arm_free(&a->total);
    free(a->weeks);
    free(a);
}

static int ds_week_index(const int *weeks, size_t n, int week)
{
    for (size_t i = 0; i < n; i++)
        if (weeks[i] == week)
            return (int)i;
    return -1;
}

/* What one participant contributes to an arm's flow. */
struct ds_attrition_state {
    int base_scored, base_answered, final_scored;
    enum ds_sched_status final_status;
    int have_final;
};

static void ds_flow_add(struct ds_attrition_flow *f, const struct ds_attrition_state *s,
                        const struct ds_attrition_participant *p)
{
    f->enrolled++;
    f->withdrawn += p->withdrawn != 0;
    if (!s->base_scored) {
        f->no_baseline++;
        f->no_baseline_void += s->base_answered;
        f->final_without_baseline += s->final_scored;
        return;
    }
    f->baseline_done++;
    if (s->final_scored) {
        f->completers++;
        return;
    }
    switch (s->have_final ? s->final_status : DS_SCHED_UPCOMING) {
    case DS_SCHED_WITHDRAWN:
        f->not_final_withdrawn++;
        break;
    case DS_SCHED_MISSED:
        f->not_final_missed++;
        break;
    case DS_SCHED_COMPLETED:
    case DS_SCHED_LATE:
        f->not_final_void++;
        break;
    default:
        f->not_final_pending++;
        break;
    }
}

int ds_attrition_build(const char *const *arms, size_t n_arms, const int *weeks, size_t n_weeks,
                       int baseline, int final, const struct ds_attrition_participant *p,
                       size_t n_participants, const struct ds_attrition_row *rows, size_t n_rows,
                       struct ds_attrition **out, struct err *e)
{
    struct ds_attrition *a = NULL;
    struct ds_attrition_state *st = NULL;
    unsigned char *seen = NULL;
    int rc = DS_ENOMEM;

    if (n_weeks == 0)
        return err_set(e, DS_EFORMAT, "the instrument is not scheduled at any week");
    if (ds_week_index(weeks, n_weeks, baseline) < 0 || ds_week_index(weeks, n_weeks, final) < 0 ||
        baseline >= final) {
        err_set(e, DS_EFORMAT, "invalid baseline and final weeks %d and %d", baseline, final);
        err_detail(e, "Both must be scheduled weeks of the instrument, the baseline first.");
        return DS_EFORMAT;
    }
    a = calloc(1, sizeof *a);
    st = calloc(n_participants + 1, sizeof *st);
    seen = calloc(n_participants * n_weeks + 1, 1);
    if (a == NULL || st == NULL || seen == NULL)
        goto nomem;
    a->n_weeks = n_weeks;
    a->baseline_week = baseline;
    a->final_week = final;
    a->weeks = malloc(n_weeks * sizeof *a->weeks);
    a->arms = calloc(n_arms + 1, sizeof *a->arms);
    a->total.weeks = calloc(n_weeks, sizeof *a->total.weeks);
    a->total.arm = strdup("all");
    if (a->weeks == NULL || a->arms == NULL || a->total.weeks == NULL || a->total.arm == NULL)
        goto nomem;
    memcpy(a->weeks, weeks, n_weeks * sizeof *weeks);
    for (size_t i = 0; i < n_arms; i++, a->n_arms++) {
        a->arms[i].arm = strdup(arms[i]);
        a->arms[i].weeks = calloc(n_weeks, sizeof *a->arms[i].weeks);
        if (a->arms[i].arm == NULL || a->arms[i].weeks == NULL) {
            a->n_arms++;
            goto nomem;
        }
    }
    for (size_t w = 0; w < n_weeks; w++) {
        a->total.weeks[w].week = weeks[w];
        for (size_t i = 0; i < n_arms; i++)
            a->arms[i].weeks[w].week = weeks[w];
    }
    for (size_t i = 0; i < n_participants; i++) {
        if (p[i].arm < 0 || (size_t)p[i].arm >= n_arms) {
            rc = err_set(e, DS_EFORMAT, "participant %zu has no known arm", i + 1);
            goto out;
        }
    }
    for (size_t r = 0; r < n_rows; r++) {
        const struct ds_attrition_row *x = &rows[r];
        int w = ds_week_index(weeks, n_weeks, x->week);
        struct ds_attrition_week *aw, *tw;
        int answered;
        if (x->participant >= n_participants || w < 0 || (unsigned)x->status >= DS_SCHED_COUNT) {
            rc = err_set(e, DS_EFORMAT, "status row %zu names no scheduled questionnaire", r + 1);
            goto out;
        }
        if (seen[(size_t)x->participant * n_weeks + (size_t)w]++) {
            rc = err_set(e, DS_EFORMAT, "two statuses for participant %u at week %d",
                         x->participant + 1, x->week);
            goto out;
        }
        aw = &a->arms[p[x->participant].arm].weeks[w];
        tw = &a->total.weeks[w];
        aw->status[x->status]++;
        tw->status[x->status]++;
        answered = x->status == DS_SCHED_COMPLETED || x->status == DS_SCHED_LATE;
        if (answered) {
            aw->scored += x->scored != 0;
            tw->scored += x->scored != 0;
            aw->voided += !x->scored;
            tw->voided += !x->scored;
        }
        if (x->week == baseline) {
            st[x->participant].base_answered = answered && !x->scored;
            st[x->participant].base_scored = answered && x->scored;
        }
        if (x->week == final) {
            st[x->participant].have_final = 1;
            st[x->participant].final_status = x->status;
            st[x->participant].final_scored = answered && x->scored;
        }
    }
    for (size_t i = 0; i < n_participants; i++) {
        ds_flow_add(&a->arms[p[i].arm].flow, &st[i], &p[i]);
        ds_flow_add(&a->total.flow, &st[i], &p[i]);
        if (p[i].withdrawn) {
            /* The week of the withdrawal, or the nearest scheduled week before it. */
            int w = -1;
            for (size_t k = 0; k < n_weeks; k++)
                if (weeks[k] <= p[i].withdrew_week)
                    w = (int)k;
            if (w < 0)
                w = 0;
            a->arms[p[i].arm].weeks[w].withdrew++;
            a->total.weeks[w].withdrew++;
        }
    }
    *out = a;
    a = NULL;
    rc = 0;
    goto out;
nomem:
    rc = err_set(e, DS_ENOMEM, "out of memory");
out:
    ds_attrition_free(a);
    free(st);
    free(seen);
    return rc;
}

int ds_attrition_load(PGconn *conn, const char *study, const char *instrument, const char *asof,
                      const int *baseline, const int *final, struct ds_attrition **out,
                      struct err *e)
{
    PGresult *res = NULL;
    char when[64];
    char **arms = NULL;
    int *weeks = NULL;
    long long *ids = NULL;
    struct ds_attrition_participant *parts = NULL;
    struct ds_attrition_row *rows = NULL;
    size_t n_arms = 0, n_weeks = 0, n_parts = 0, n_rows = 0;
    crypto_hash_sha256_state st;
    unsigned char hash[crypto_hash_sha256_BYTES];
    int n, rc = DS_ENOMEM;

#define QUERY(name, np, ...)                                                                       \
    do {                                                                                           \
        const char *params_[] = {__VA_ARGS__};                                                     \
        PQclear(res);                                                                              \
        res = NULL;                                                                                \
        if ((n = db_query(conn, name, np, params_, &res, e)) < 0) {                                \
            rc = n;                                                                                \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

    QUERY("ds_attrition_asof", 1, asof);
    if (n != 1) {
        rc = err_set(e, DS_EFORMAT, "invalid time \"%s\"", asof ? asof : "");
        goto out;
    }
    snprintf(when, sizeof when, "%s", PQgetvalue(res, 0, 0));
    QUERY("ds_attrition_arms", 1, study);
    if (n == 0) {
        rc = err_set(e, DS_ENOTFOUND, "no study \"%s\"", study);
        goto out;
    }
    if ((arms = calloc((size_t)n, sizeof *arms)) == NULL)
        goto nomem;
    for (n_arms = 0; n_arms < (size_t)n; n_arms++)
        if ((arms[n_arms] = strdup(PQgetvalue(res, (int)n_arms, 0))) == NULL)
            goto nomem;
    QUERY("ds_attrition_weeks", 2, study, instrument);
    if (n == 0) {
        err_set(e, DS_ENOTFOUND, "study \"%s\" does not schedule instrument \"%s\"", study,
                instrument);
        rc = DS_ENOTFOUND;
        goto out;
    }
    if ((weeks = malloc((size_t)n * sizeof *weeks)) == NULL)
        goto nomem;
    for (n_weeks = 0; n_weeks < (size_t)n; n_weeks++)
        weeks[n_weeks] = (int)strtol(PQgetvalue(res, (int)n_weeks, 0), NULL, 10);
    if ((baseline != NULL && ds_week_index(weeks, n_weeks, *baseline) < 0) ||
        (final != NULL && ds_week_index(weeks, n_weeks, *final) < 0)) {
        err_set(e, DS_ENOTFOUND, "instrument \"%s\" is not due at week %d", instrument,
                baseline != NULL && ds_week_index(weeks, n_weeks, *baseline) < 0 ? *baseline
                                                                                 : *final);
        err_detail(e, "Its weeks run from %d to %d.", weeks[0], weeks[n_weeks - 1]);
        rc = DS_ENOTFOUND;
        goto out;
    }
    crypto_hash_sha256_init(&st);
    ds_hash_text(&st, when);
    QUERY("ds_attrition_participants", 1, study);
    ids = malloc(((size_t)n + 1) * sizeof *ids);
    parts = calloc((size_t)n + 1, sizeof *parts);
    if (ids == NULL || parts == NULL)
        goto nomem;
    for (n_parts = 0; n_parts < (size_t)n; n_parts++) {
        int r = (int)n_parts;
        const char *arm = PQgetvalue(res, r, 2);
        ids[n_parts] = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        parts[n_parts].arm = -1;
        for (size_t k = 0; k < n_arms; k++)
            if (strcmp(arms[k], arm) == 0)
                parts[n_parts].arm = (int32_t)k;
        parts[n_parts].withdrawn = strcmp(PQgetvalue(res, r, 3), "t") == 0;
        parts[n_parts].withdrew_week = (int32_t)strtol(PQgetvalue(res, r, 4), NULL, 10);
        ds_hash_text(&st, PQgetvalue(res, r, 1));
        ds_hash_text(&st, arm);
        ds_hash_text(&st, PQgetvalue(res, r, 3));
        ds_hash_text(&st, PQgetvalue(res, r, 4));
    }
    {
        const char *params[3] = {study, instrument, when};
        PQclear(res);
        res = NULL;
        if ((n = db_query(conn, "ds_attrition_statuses", 3, params, &res, e)) < 0) {
            rc = n;
            goto out;
        }
    }
    rows = malloc(((size_t)n + 1) * sizeof *rows);
    if (rows == NULL)
        goto nomem;
    for (n_rows = 0; n_rows < (size_t)n; n_rows++) {
        int r = (int)n_rows;
        long who = ds_find_id(ids, n_parts, strtoll(PQgetvalue(res, r, 0), NULL, 10));
        if (who < 0 || ds_sched_status_parse(PQgetvalue(res, r, 2), &rows[n_rows].status) != 0) {
            rc =
                err_set(e, DS_EDB, "unexpected questionnaire status \"%s\"", PQgetvalue(res, r, 2));
            goto out;
        }
        rows[n_rows].participant = (uint32_t)who;
        rows[n_rows].week = (int32_t)strtol(PQgetvalue(res, r, 1), NULL, 10);
        rows[n_rows].scored = strcmp(PQgetvalue(res, r, 3), "t") == 0;
        ds_hash_text(&st, PQgetvalue(res, r, 0));
        ds_hash_text(&st, PQgetvalue(res, r, 1));
        ds_hash_text(&st, PQgetvalue(res, r, 2));
        ds_hash_text(&st, PQgetvalue(res, r, 3));
    }
#undef QUERY
    if ((rc = ds_attrition_build(
             (const char *const *)arms, n_arms, weeks, n_weeks, baseline ? *baseline : weeks[0],
             final ? *final : weeks[n_weeks - 1], parts, n_parts, rows, n_rows, out, e)) != 0)
        goto out;
    crypto_hash_sha256_final(&st, hash);
    sodium_bin2hex((*out)->fingerprint, sizeof(*out)->fingerprint, hash, sizeof hash);
    snprintf((*out)->asof, sizeof(*out)->asof, "%s", when);
    rc = 0;
    goto out;
nomem:
    rc = err_set(e, DS_ENOMEM, "out of memory");
out:
    PQclear(res);
    for (size_t i = 0; i < n_arms; i++)
        free(arms[i]);
    free(arms);
    free(weeks);
    free(ids);
    free(parts);
    free(rows);
    return rc;
}

void ds_baseline_free(struct ds_baseline *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n_instruments; i++)
        free(b->instruments[i]);
    for (size_t i = 0; i < b->n_bands; i++) {
        free(b->bands[i].arm);
        free(b->bands[i].band);
    }
    free(b->instruments);
    free(b->bands);
    free(b->band_instrument);
    free(b);
}

int ds_baseline_load(PGconn *conn, const char *study, int week, struct ds_baseline **out,
                     struct err *e)
{
    struct ds_baseline *b = calloc(1, sizeof *b);
    PGresult *res = NULL, *bands = NULL;
    char wk[16];
    int n, rc = DS_ENOMEM;

    if (b == NULL)
        return err_set(e, DS_ENOMEM, "out of memory");
    snprintf(wk, sizeof wk, "%d", week);
    {
        const char *params[2] = {study, wk};
        if ((n = db_query(conn, "ds_attrition_baseline_instruments", 2, params, &res, e)) < 0) {
            rc = n;
            goto out;
        }
    }
    b->instruments = calloc((size_t)n + 1, sizeof *b->instruments);
    if (b->instruments == NULL)
        goto nomem;
    for (int i = 0; i < n; i++, b->n_instruments++)
        if ((b->instruments[i] = strdup(PQgetvalue(res, i, 0))) == NULL)
            goto nomem;
    for (size_t k = 0; k < b->n_instruments; k++) {
        const char *params[3] = {study, b->instruments[k], wk};
        struct ds_band_count *grown;
        size_t *gi;
        PQclear(bands);
        bands = NULL;
        if ((n = db_query(conn, "ds_attrition_baseline_bands", 3, params, &bands, e)) < 0) {
            rc = n;
            goto out;
        }
        grown = realloc(b->bands, (b->n_bands + (size_t)n + 1) * sizeof *grown);
        if (grown == NULL)
            goto nomem;
        b->bands = grown;
        gi = realloc(b->band_instrument, (b->n_bands + (size_t)n + 1) * sizeof *gi);
        if (gi == NULL)
            goto nomem;
        b->band_instrument = gi;
        for (int r = 0; r < n; r++) {
            struct ds_band_count *x = &b->bands[b->n_bands];
            x->arm = strdup(PQgetvalue(bands, r, 0));
            x->band = strdup(PQgetvalue(bands, r, 1));
            x->count = (size_t)strtoull(PQgetvalue(bands, r, 2), NULL, 10);
            b->band_instrument[b->n_bands] = k;
            b->n_bands++;
            if (x->arm == NULL || x->band == NULL)
                goto nomem;
        }
    }
    *out = b;
    b = NULL;
    rc = 0;
    goto out;
nomem:
    rc = err_set(e, DS_ENOMEM, "out of memory");
out:
    PQclear(res);
    PQclear(bands);
    ds_baseline_free(b);
    return rc;
}
