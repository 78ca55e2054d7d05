/*
 * demo.c — `attune demo`: a synthetic study generated from documented
 * parameters (docs/demo.md), deterministic from a seed, and taken in through
 * the same code as real data: the protocol through col_study_create(), every
 * questionnaire through col_response_submit() (validation, missing-item rule,
 * scoring, placement on the study week, exactly-once storage), every event
 * batch through col_events_check() and the collector's own insert statement.
 *
 * The generating model, per participant i (all draws from a GSL Mersenne
 * Twister seeded with seed and i, so a participant's data do not depend on
 * how many others there are):
 *   arm        permuted blocks of 4 (2 app, 2 waitlist)
 *   enrolled   start + U(0, enrol_days) days, at 08:00–20:00 London time
 *   engagement e ~ Beta(2, 2)
 *   anxiety    latent GAD-7 at week w: b + s·w + noise, b ~ N(12.5, 3.5)
 *              clipped to [8, 21]; s ~ N(slope_arm, 0.25) where slope_arm is
 *              −0.30 − 0.40·e for app (mean −0.50) and −0.15 for waitlist
 *   dropout    weekly hazard 0.02 + 0.08·(1 − e) from week 1
 *   missing    each due questionnaire skipped with p = 0.06 + 0.12·(1 − e)
 *   late       each answered one late with p = 0.08
 *   retries    each submission and event batch sent twice with p = 0.05
 * See docs/demo.md for the item-level model of GAD-7, PHQ-9 and WHO-5 and
 * for the events.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "col_int.h"
#include "demo.h"

#define US_PER_HOUR (3600LL * 1000000)
#define US_PER_DAY  (24 * US_PER_HOUR)
#define DEMO_WEEKS  8

const struct db_statement col_demo_statements[] = {
    /* col_demo_run: one synthetic participant, enrolled at a given time */
    {"col_demo_participant",
     "INSERT INTO participants (study_id, arm_id, code, enrolled_at)"
     " VALUES ('demo', $1, $2, to_timestamp($3::bigint / 1000000.0)) RETURNING id"},
    /* col_demo_run: event partitions for the whole demo period */
    {"col_demo_partitions",
     "SELECT attune_ensure_event_partitions(to_timestamp($1::bigint / 1000000.0),"
     " to_timestamp($2::bigint / 1000000.0))"},
    /* col_demo_run: formal withdrawals, after their data are in */
    {"col_demo_withdraw",
     "UPDATE participants SET status = 'withdrawn', withdrawn_at = to_timestamp($2::bigint /"
     " 1000000.0) WHERE id = $1::bigint"},
    /* col_demo_run: the derived statuses, for the summary */
    {"col_demo_statuses",
     "SELECT status, count(*) FROM participant_schedule WHERE study_id = 'demo'"
     " GROUP BY status ORDER BY status"},
    /* col_demo_run: what the intake took in, as attune serve counts its own
     * submissions for the dashboards' data-quality page (intake_outcomes,
     * sql/006_dashboards.sql): stored, and the retried uploads absorbed */
    {"col_demo_intake",
     "INSERT INTO intake_outcomes (study_id, day, channel, outcome, requests, items)"
     " SELECT 'demo', (now() AT TIME ZONE 'UTC')::date, c, o, r, i FROM (VALUES"
     " ('responses', 'stored', $1::bigint, $1::bigint),"
     " ('responses', 'retry', $2::bigint, $2::bigint),"
     " ('events', 'stored', $3::bigint, $4::bigint),"
     " ('events', 'duplicate', $5::bigint, $6::bigint)) AS v(c, o, r, i) WHERE r > 0"},
    {NULL, NULL},
};

static double demo_clamp(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* A deterministic uuid (version 4 layout) from the participant's stream. */
static void demo_uuid(gsl_rng *r, char out[37])
{
    unsigned char b[16];

    for (int i = 0; i < 16; i++)
        b[i] = (unsigned char)gsl_rng_uniform_int(r, 256);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

/* Item answers for a latent total: each item near total/n_items, with noise,
 * rounded to the item's options (0..max). */
/*
 * Item answers that add up to round(total) exactly. Rounding each item's
 * share separately and clipping it to 0..max biased the observed totals
 * (a latent GAD-7 of 2 came out as 2.5 on average, and steep declines were
 * flattened at the floor), so the demo's generating slopes were not what
 * the data showed. Here the points are spread evenly, then single points are
 * moved between random items — about `noise` x 2 moves per item — which
 * keeps the sum and gives realistic item-level variety.
 */
#define DEMO_MAX_ITEMS 16 /* the longest shipped instrument the demo answers has 9 */

static json_t *demo_items(gsl_rng *r, const char *prefix, int n, int max, double total,
                          double noise)
{
    json_t *answers = json_object();
    int v[DEMO_MAX_ITEMS];
    int target = (int)demo_clamp(round(total), 0, (double)n * max);
    int moves = (int)round(noise * 2 * n);
    char id[32];

    for (int k = 0; k < n; k++)
        v[k] = target / n;
    /* The remainder goes one point each to distinct items: target % n < n,
     * and an item can only be full when every item is (then nothing remains). */
    for (int left = target % n; left > 0;) {
        int k = (int)gsl_rng_uniform_int(r, (unsigned long)n);
        if (v[k] == target / n) {
            v[k]++;
            left--;
        }
    }
    for (int m = 0; m < moves; m++) {
        int a = (int)gsl_rng_uniform_int(r, (unsigned long)n);
        int b = (int)gsl_rng_uniform_int(r, (unsigned long)n);
        if (a != b && v[a] > 0 && v[b] < max) {
            v[a]--;
            v[b]++;
        }
    }
    for (int k = 0; k < n; k++) {
        snprintf(id, sizeof id, "%s_%d", prefix, k + 1);
        json_object_set_new(answers, id, json_integer((json_int_t)v[k]));
    }
    return answers;
}

struct demo_ctx {
    PGconn *conn;
    struct col_defs *defs;
    const struct col_demo_options *o;
    struct col_demo_summary *sum;
    struct err *e;
};

static int demo_submit(struct demo_ctx *c, const struct col_participant *p, json_t *body, int retry)
{
    struct col_submit s;
    int64_t now = col_time_now();

    for (int k = 0; k <= retry; k++) {
        col_response_submit(c->defs, c->conn, p, body, "demo", now, &s);
        if (s.status == 201)
            c->sum->responses++;
        else if (s.status == 200)
            c->sum->response_retries++;
        else {
            err_set(c->e, COL_EINVAL, "demo response refused (%d %s): %s", s.status,
                    s.code ? s.code : "", s.detail);
            col_submit_clear(&s);
            return COL_EINVAL;
        }
        col_submit_clear(&s);
    }
    return 0;
}

/* Sends one batch through the same checks and statement as POST /api/v1/events. */
static int demo_events(struct demo_ctx *c, const struct col_participant *p, json_t *batch,
                       int retry)
{
    json_t *errors = json_array(), *types = NULL;
    char pid[24], *text = NULL, *lit = NULL;
    int rc = 0;

    if (json_array_size(batch) == 0)
        goto out;
    if (col_events_check(batch, col_time_now(), p->enrolled_at, errors, &text, &types) > 0) {
        char *t = json_dumps(json_array_get(errors, 0), JSON_COMPACT);
        rc = err_set(c->e, COL_EINVAL, "demo events refused: %s", t ? t : "?");
        free(t);
        goto out;
    }
    {
        size_t cap = 2 + json_array_size(types) * 66, used = 1, i;
        json_t *t;
        lit = malloc(cap + 1);
        if (lit == NULL || text == NULL) {
            rc = err_set(c->e, COL_EINVAL, "out of memory");
            goto out;
        }
        lit[0] = '{';
        json_array_foreach(types, i, t) used += (size_t)snprintf(
            lit + used, cap + 1 - used, "%s%s", i ? "," : "", json_string_value(t));
        lit[used++] = '}';
        lit[used] = '\0';
    }
    snprintf(pid, sizeof pid, "%lld", p->id);
    for (int k = 0; k <= retry; k++) {
        const char *params[8] = {pid, p->study, lit, text, NULL, NULL, NULL, NULL};
        PGresult *res = NULL;
        int n = db_query(c->conn, "col_events_insert", 8, params, &res, c->e);
        if (n != 1) {
            PQclear(res);
            rc = n < 0 ? n : err_set(c->e, DB_EHARD, "events insert returned no row");
            goto out;
        }
        if (!PQgetisnull(res, 0, 1)) {
            rc = err_set(c->e, COL_EINVAL, "demo event types unknown: %s", PQgetvalue(res, 0, 1));
            PQclear(res);
            goto out;
        }
        {
            long long ins = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
            long long dup = (long long)json_array_size(batch) - ins;
            c->sum->events += ins;
            c->sum->event_duplicates += dup;
            c->sum->event_batches += ins > 0;
            c->sum->event_batches_retried += dup > 0;
        }
        PQclear(res);
    }
out:
    free(text);
    free(lit);
    json_decref(types);
    json_decref(errors);
    return rc;
}

static json_t *demo_event(gsl_rng *r, const char *type, int64_t at, double duration, json_t *props)
{
    char id[37], when[COL_TIME_MAX];
    json_t *ev;

    demo_uuid(r, id);
    col_time_format(at, when);
    ev = json_pack("{s:s, s:s, s:s}", "id", id, "type", type, "at", when);
    if (duration >= 0)
        json_object_set_new(ev, "duration_s", json_real(round(duration * 10) / 10));
    if (props != NULL)
        json_object_set_new(ev, "props", props);
    return ev;
}

/* One week of app use: sessions (app arm) or mood check-ins (waitlist). */
static json_t *demo_week_events(gsl_rng *r, int app, double engagement, int week,
                                int64_t week_start)
{
    static const char *const activities[] = {
        "breathing_exercise", "grounding_exercise", "exercise_completed", "journal_entry",
        "trigger_log_entry",  "content_viewed",     "mood_check_in",      "chat_message_sent"};
    json_t *batch = json_array();
    double rate = app ? (0.5 + 6.0 * engagement) * (1 - 0.05 * week) : 0.5 + 1.0 * engagement;
    unsigned n = gsl_ran_poisson(r, rate);

    /* Everyone opens the app once when enrolled (installation). */
    if (week == 0)
        json_array_append_new(batch, demo_event(r, "app_open", week_start + 300 * 1000000LL, -1,
                                                json_pack("{s:b}", "first", 1)));
    for (unsigned s = 0; s < n && json_array_size(batch) < 900; s++) {
        int64_t t = week_start + (int64_t)(gsl_rng_uniform(r) * 6.5 * US_PER_DAY) + US_PER_HOUR;
        if (!app) {
            json_array_append_new(batch, demo_event(r, "app_open", t, -1, NULL));
            json_array_append_new(
                batch, demo_event(r, "mood_check_in", t + 20 * 1000000, -1,
                                  json_pack("{s:i}", "mood", (int)gsl_rng_uniform_int(r, 5) + 1)));
            continue;
        }
        if (gsl_rng_uniform(r) < 0.3)
            json_array_append_new(batch,
                                  demo_event(r, "notification_opened", t - 60 * 1000000, -1, NULL));
        json_array_append_new(batch, demo_event(r, "app_open", t, -1, NULL));
        json_array_append_new(batch, demo_event(r, "session_start", t + 2 * 1000000, -1, NULL));
        {
            unsigned k = 1 + (unsigned)gsl_rng_uniform_int(r, 3);
            double total = 0;
            for (unsigned a = 0; a < k; a++) {
                const char *type = activities[gsl_rng_uniform_int(r, 8)];
                double d = 30 + gsl_ran_exponential(r, 150);
                total += d + 5;
                json_array_append_new(
                    batch,
                    demo_event(r, type, t + (int64_t)(total * 1000000), d,
                               strcmp(type, "mood_check_in") == 0
                                   ? json_pack("{s:i}", "mood", (int)gsl_rng_uniform_int(r, 5) + 1)
                                   : NULL));
            }
            json_array_append_new(batch, demo_event(r, "session_end",
                                                    t + (int64_t)((total + 10) * 1000000),
                                                    total + 8, NULL));
        }
    }
    return batch;
}

/* Due weeks of an instrument in the demo protocol (studies/demo.json). */
struct demo_instrument {
    const char *id;
    int weeks[9];
    int n_weeks;
    int window_days;
};

static const struct demo_instrument demo_instruments[] = {
    {"gad7", {0, 1, 2, 3, 4, 5, 6, 7, 8}, 9, 4},
    {"phq9", {0, 4, 8}, 3, 7},
    {"who5", {0, 4, 8}, 3, 7},
};

static int demo_participant(struct demo_ctx *c, long index, const char *arm, int64_t enrolled)
{
    const struct col_demo_options *o = c->o;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    struct col_participant p;
    double engagement, baseline, slope, dep_offset, wb_offset;
    int app = strcmp(arm, "app") == 0, dropout = DEMO_WEEKS + 1, withdraws;
    char code[16], at[32];
    PGresult *res = NULL;
    int rc = 0;

    if (r == NULL)
        return err_set(c->e, COL_EINVAL, "out of memory");
    gsl_rng_set(r, (unsigned long)o->seed * 1000003UL + (unsigned long)index + 1);
    engagement = gsl_ran_beta(r, 2, 2);
    baseline = demo_clamp(gsl_ran_gaussian(r, 3.5) + 12.5, 8, 21);
    slope = (app ? -0.30 - 0.40 * engagement : -0.15) + gsl_ran_gaussian(r, 0.25);
    dep_offset = gsl_ran_gaussian(r, 2.0);
    wb_offset = gsl_ran_gaussian(r, 1.5);
    for (int w = 1; w <= DEMO_WEEKS; w++)
        if (gsl_rng_uniform(r) < 0.02 + 0.08 * (1 - engagement)) {
            dropout = w;
            break;
        }
    withdraws = dropout <= DEMO_WEEKS && gsl_rng_uniform(r) < 0.1;

    snprintf(code, sizeof code, o->participants > 999 ? "P%06ld" : "P%03ld", index + 1);
    snprintf(at, sizeof at, "%lld", (long long)enrolled);
    {
        const char *params[3] = {arm, code, at};
        if ((rc = db_query(c->conn, "col_demo_participant", 3, params, &res, c->e)) != 1) {
            PQclear(res);
            gsl_rng_free(r);
            return rc < 0 ? rc : DB_EHARD;
        }
    }
    rc = 0;
    memset(&p, 0, sizeof p);
    p.id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    snprintf(p.study, sizeof p.study, "demo");
    snprintf(p.arm, sizeof p.arm, "%s", arm);
    snprintf(p.code, sizeof p.code, "%s", code);
    snprintf(p.status, sizeof p.status, "active");
    p.enrolled_at = enrolled;
    c->sum->participants++;

    for (int w = 0; w <= DEMO_WEEKS && rc == 0; w++) {
        int64_t week_start = enrolled + (int64_t)w * 7 * US_PER_DAY;
        double latent = baseline + slope * w + gsl_ran_gaussian(r, 1.2);
        if (w >= dropout)
            break;
        for (size_t k = 0; k < sizeof demo_instruments / sizeof demo_instruments[0]; k++) {
            const struct demo_instrument *ins = &demo_instruments[k];
            int due = 0, late;
            int64_t completed;
            json_t *answers, *body;
            char id[37], when[COL_TIME_MAX];
            for (int j = 0; j < ins->n_weeks; j++)
                due |= ins->weeks[j] == w;
            if (!due)
                continue;
            if (gsl_rng_uniform(r) < 0.06 + 0.12 * (1 - engagement)) {
                c->sum->skipped++;
                continue;
            }
            late = gsl_rng_uniform(r) < 0.08;
            /* Two hours' margin keeps a daylight-saving shift from moving a
             * time across a window edge (windows are local, the draw is UTC). */
            if (late)
                completed = week_start + (int64_t)ins->window_days * US_PER_DAY + 2 * US_PER_HOUR +
                            (int64_t)(gsl_rng_uniform(r) *
                                      (double)((7 - ins->window_days) * US_PER_DAY +
                                               (ins->n_weeks == 3 ? 14 * US_PER_DAY : 0) -
                                               4 * US_PER_HOUR));
            else
                completed = week_start + 2 * US_PER_HOUR +
                            (int64_t)(gsl_rng_uniform(r) *
                                      (double)(ins->window_days * US_PER_DAY - 4 * US_PER_HOUR));
            if (k == 0)
                answers = demo_items(r, "gad7", 7, 3, demo_clamp(latent, 0, 21), 0.55);
            else if (k == 1) {
                answers =
                    demo_items(r, "phq9", 9, 3, demo_clamp(0.9 * latent + dep_offset, 0, 27), 0.6);
                /* Item 9 (thoughts of self-harm) is rare. */
                json_object_set_new(answers, "phq9_9",
                                    json_integer(latent > 14 && gsl_rng_uniform(r) < 0.08));
                if (gsl_rng_uniform(r) < 0.03) /* an item left blank, prorated */
                    json_object_del(answers, "phq9_3");
            } else {
                answers = demo_items(r, "who5", 5, 5,
                                     demo_clamp(21 - 0.75 * latent + wb_offset, 0, 25), 0.7);
            }
            demo_uuid(r, id);
            col_time_format(completed, when);
            body = json_pack("{s:s, s:s, s:o, s:s}", "id", id, "instrument", ins->id, "answers",
                             answers, "completed_at", when);
            rc = demo_submit(c, &p, body, gsl_rng_uniform(r) < 0.05);
            json_decref(body);
            if (rc != 0)
                break;
        }
        if (rc == 0 && w < DEMO_WEEKS) {
            json_t *batch = demo_week_events(r, app, engagement, w, week_start);
            rc = demo_events(c, &p, batch, gsl_rng_uniform(r) < 0.05);
            json_decref(batch);
        }
    }
    if (rc == 0 && withdraws) {
        char pid[24], when[32];
        const char *params[2] = {pid, when};
        snprintf(pid, sizeof pid, "%lld", p.id);
        snprintf(when, sizeof when, "%lld",
                 (long long)(enrolled + (int64_t)dropout * 7 * US_PER_DAY + US_PER_HOUR));
        rc = db_query(c->conn, "col_demo_withdraw", 2, params, NULL, c->e);
        rc = rc < 0 ? rc : 0;
        c->sum->withdrawn += rc == 0;
    }
    gsl_rng_free(r);
    return rc;
}

int col_demo_run(PGconn *conn, const struct cfg *cfg, const struct col_demo_options *o,
                 struct col_demo_summary *sum, struct err *e)
{
    struct demo_ctx c = {conn, NULL, o, sum, e};
    gsl_rng *r = NULL;
    char path[4096], lo[32], hi[32];
    PGresult *res = NULL;
    int rc;

    memset(sum, 0, sizeof *sum);
    if (o->participants < 1 || o->participants > 1000000)
        return err_set(e, COL_EINVAL, "--participants must be between 1 and 1000000");
    rc = col_study_exists(conn, "demo", e);
    if (rc != 0) {
        if (rc > 0)
            sum->existed = 1;
        return rc < 0 ? rc : 0;
    }
    snprintf(path, sizeof path, "%s/studies/demo.json", cfg->data_dir);
    if ((rc = col_study_create(conn, cfg, path, o->who, e)) != 0)
        return rc;
    if (col_defs_new(&c.defs) != 0)
        return err_set(e, COL_EINVAL, "out of memory");
    snprintf(lo, sizeof lo, "%lld", (long long)(o->start - US_PER_DAY));
    snprintf(hi, sizeof hi, "%lld",
             (long long)(o->start + (int64_t)(o->enrol_days + 7 * DEMO_WEEKS + 21) * US_PER_DAY));
    {
        const char *params[2] = {lo, hi};
        if ((rc = db_query(conn, "col_demo_partitions", 2, params, NULL, e)) < 0)
            goto out;
    }
    /* Synthetic data are rebuilt from the seed at will: the demo need not
     * wait for each commit to reach the disk. Batches of participants share
     * a transaction. */
    if ((rc = db_exec(conn, "SET synchronous_commit = off", e)) != 0)
        goto out;
    r = gsl_rng_alloc(gsl_rng_mt19937);
    if (r == NULL) {
        rc = err_set(e, COL_EINVAL, "out of memory");
        goto out;
    }
    gsl_rng_set(r, (unsigned long)o->seed);
    {
        const char *block[4] = {"app", "app", "waitlist", "waitlist"};
        for (long i = 0; i < o->participants; i++) {
            int64_t enrolled;
            if (i % 4 == 0)
                gsl_ran_shuffle(r, block, 4, sizeof block[0]);
            /* 08:00–20:00 UTC on a random day of the enrolment period. */
            enrolled = o->start +
                       (int64_t)gsl_rng_uniform_int(r, (unsigned long)o->enrol_days) * US_PER_DAY +
                       (int64_t)(gsl_rng_uniform(r) * 12 * US_PER_HOUR);
            if (i % 200 == 0 && (rc = db_exec(conn, "BEGIN", e)) != 0)
                goto out;
            if ((rc = demo_participant(&c, i, block[i % 4], enrolled)) != 0) {
                struct err ignored;
                db_exec(conn, "ROLLBACK", &ignored);
                goto out;
            }
            if ((i % 200 == 199 || i == o->participants - 1) &&
                (rc = db_exec(conn, "COMMIT", e)) != 0)
                goto out;
            if (o->progress && i % 5000 == 4999) {
                fprintf(stderr, "demo: %ld participants\n", i + 1);
                fflush(stderr);
            }
        }
    }
    rc = db_query(conn, "col_demo_statuses", 0, NULL, &res, e);
    if (rc < 0)
        goto out;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *s = PQgetvalue(res, i, 0);
        long long n = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        if (strcmp(s, "completed") == 0)
            sum->completed = n;
        else if (strcmp(s, "late") == 0)
            sum->late = n;
        else if (strcmp(s, "missed") == 0)
            sum->missed = n;
        else if (strcmp(s, "withdrawn") == 0)
            sum->not_due_withdrawn = n;
    }
    {
        char v[6][24];
        const char *params[6];
        long long vals[6] = {sum->responses, sum->response_retries,      sum->event_batches,
                             sum->events,    sum->event_batches_retried, sum->event_duplicates};
        for (int k = 0; k < 6; k++) {
            snprintf(v[k], sizeof v[k], "%lld", vals[k]);
            params[k] = v[k];
        }
        if ((rc = db_query(conn, "col_demo_intake", 6, params, NULL, e)) < 0)
            goto out;
    }
    rc = 0;
out:
    PQclear(res);
    gsl_rng_free(r);
    col_defs_free(c.defs);
    return rc;
}
