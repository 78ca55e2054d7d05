/*
 * test_flow.c — the pure parts of datasets/ behind attrition and engagement:
 * session pairing by the documented rule (every branch: paired, back to
 * back, a start with no end, a start closed by the next start, an end with
 * no start, an end after the cap, ties at one instant, unsorted input), the
 * engagement measures of one participant's events (active days per week and
 * in total, sessions, minutes, exercises, trigger logs, events outside the
 * study), and the CONSORT-style flow from status rows (the identities that
 * tie it to the analysis populations, and the refusals).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_attrition.h"
#include "ds_engage.h"
#include "tap.h"

#define MIN (60LL * 1000000)
#define CAP (60 * MIN)

static struct ds_event ev(int64_t minute, enum ds_event_kind kind)
{
    /* Day and week from the minute (rounded down), for the measures; a week is 7 days. */
    int64_t day = minute >= 0 ? minute / 1440 : -1 - (-minute - 1) / 1440;
    int64_t week = day >= 0 ? day / 7 : -1 - (-day - 1) / 7;
    return (struct ds_event){minute * MIN, (int32_t)day, (int32_t)week, kind};
}

#define S DS_EV_SESSION_START
#define E DS_EV_SESSION_END
#define O DS_EV_OTHER
#define X DS_EV_EXERCISE
#define T DS_EV_TRIGGER_LOG

static void test_pairing(void)
{
    struct ds_session out[16];
    struct ds_session_counts c;
    size_t n;
    struct err e;

    err_clear(&e);
    {
        struct ds_event v[] = {ev(0, S), ev(5, X), ev(10, E)};
        memset(&c, 0, sizeof c);
        ok(ds_sessions_pair(v, 3, CAP, out, &n, &c, &e) == 0, "a start and its end pair");
        ok(n == 1 && out[0].paired && out[0].end_us - out[0].start_us == 10 * MIN,
           "one paired session of 10 minutes");
        ok(c.paired == 1 && c.unpaired_start == 0 && c.unpaired_end == 0 && c.sessions == 1,
           "counted as paired");
    }
    {
        /* Back to back: the end and the next start at one instant, given start first. */
        struct ds_event v[] = {ev(0, S), ev(10, S), ev(10, E), ev(20, E)};
        ds_events_sort(v, 4);
        ok(v[1].kind == E && v[2].kind == S, "sorting puts an end before a start at one instant");
        memset(&c, 0, sizeof c);
        ds_sessions_pair(v, 4, CAP, out, &n, &c, &e);
        ok(n == 2 && c.paired == 2 && out[0].end_us == 10 * MIN && out[1].start_us == 10 * MIN,
           "back-to-back sessions both pair");
    }
    {
        /* A start, two activities, then another start: rule 3 closes the first at its last
         * activity; the second has an end. */
        struct ds_event v[] = {ev(0, S), ev(3, X), ev(7, O), ev(30, S), ev(40, E)};
        memset(&c, 0, sizeof c);
        ds_sessions_pair(v, 5, CAP, out, &n, &c, &e);
        ok(n == 2 && !out[0].paired && out[0].end_us == 7 * MIN,
           "a start closed by the next start lasts until its last activity");
        ok(out[1].paired && c.unpaired_start == 1 && c.paired == 1, "and is counted unpaired");
    }
    {
        /* A start with nothing after it: length 0. */
        struct ds_event v[] = {ev(0, S)};
        memset(&c, 0, sizeof c);
        ds_sessions_pair(v, 1, CAP, out, &n, &c, &e);
        ok(n == 1 && out[0].end_us == out[0].start_us && c.unpaired_start == 1,
           "a lone start is a session of length 0");
    }
    {
        /* Activity beyond the cap does not extend an unpaired session. */
        struct ds_event v[] = {ev(0, S), ev(50, O), ev(70, O)};
        memset(&c, 0, sizeof c);
        ds_sessions_pair(v, 3, CAP, out, &n, &c, &e);
        ok(n == 1 && out[0].end_us == 50 * MIN,
           "an unpaired start ends at its last event in the cap");
    }
    {
        /* An end with no start is dropped. */
        struct ds_event v[] = {ev(0, E), ev(5, S), ev(8, E), ev(9, E)};
        memset(&c, 0, sizeof c);
        ds_sessions_pair(v, 4, CAP, out, &n, &c, &e);
        ok(n == 1 && c.unpaired_end == 2 && c.paired == 1, "ends with no open session are dropped");
    }
    {
        /* An end after the cap: the session closes unpaired, the end is dropped. */
        struct ds_event v[] = {ev(0, S), ev(20, X), ev(61, E)};
        memset(&c, 0, sizeof c);
        ds_sessions_pair(v, 3, CAP, out, &n, &c, &e);
        ok(n == 1 && !out[0].paired && out[0].end_us == 20 * MIN,
           "an end after the cap does not pair");
        ok(c.unpaired_start == 1 && c.unpaired_end == 1 && c.over_cap == 1,
           "both halves are counted, and the over-cap end too");
        memset(&c, 0, sizeof c);
        ds_sessions_pair(v, 3, 61 * MIN, out, &n, &c, &e);
        ok(n == 1 && out[0].paired, "with a cap of 61 minutes it pairs (the cap is inclusive)");
    }
    {
        struct ds_event v[] = {ev(10, S), ev(0, E)};
        memset(&c, 0, sizeof c);
        is_int(ds_sessions_pair(v, 2, CAP, out, &n, &c, &e), DS_EFORMAT,
               "events out of order are refused");
        is_int(ds_sessions_pair(v, 0, 0, out, &n, &c, &e), DS_EFORMAT, "a cap of 0 is refused");
    }
    is_int(ds_event_kind_of("breathing_exercise"), DS_EV_EXERCISE, "breathing counts as exercise");
    is_int(ds_event_kind_of("grounding_exercise"), DS_EV_EXERCISE, "grounding counts as exercise");
    is_int(ds_event_kind_of("exercise_completed"), DS_EV_EXERCISE, "exercise_completed counts");
    is_int(ds_event_kind_of("trigger_log_entry"), DS_EV_TRIGGER_LOG, "trigger log entries count");
    is_int(ds_event_kind_of("journal_entry"), DS_EV_OTHER, "a journal entry is other activity");
}

static void test_measures(void)
{
    struct ds_engagement *g = NULL;
    struct err e;
    /* Week 0: day 0 two sessions (10 and 5 min) with 2 exercises; day 2 a trigger log.
     * Week 1: day 8 a lone start then day 9 an orphan end. An event in week 3 is outside
     * a 2-week study; one before enrolment too. */
    struct ds_event v[] = {
        ev(-5, O),       ev(60, S),       ev(62, X),           ev(65, DS_EV_EXERCISE),
        ev(70, E),       ev(120, S),      ev(125, E),          ev(2 * 1440 + 30, T),
        ev(8 * 1440, S), ev(9 * 1440, E), ev(3 * 7 * 1440, O),
    };
    size_t n = sizeof v / sizeof v[0];

    err_clear(&e);
    ok(ds_engagement_new(2, 2, 0, &g, &e) == 0, "an engagement record for 2 participants, 2 weeks");
    ok(g->cap_us == CAP, "the default cap is 60 minutes");
    ds_events_sort(v, n);
    ok(ds_engagement_add(g, 1, v, n, &e) == 0, "one participant's events are measured");
    is_double(ds_engagement_value(g, 1, 0, DS_ENG_ACTIVE_DAYS), 2, 0, "week 0: 2 active days");
    is_double(ds_engagement_value(g, 1, 0, DS_ENG_SESSIONS), 2, 0, "week 0: 2 sessions");
    is_double(ds_engagement_value(g, 1, 0, DS_ENG_MINUTES), 15, 1e-12, "week 0: 15 minutes");
    is_double(ds_engagement_value(g, 1, 0, DS_ENG_EXERCISES), 2, 0, "week 0: 2 exercises");
    is_double(ds_engagement_value(g, 1, 0, DS_ENG_TRIGGER_LOGS), 1, 0, "week 0: 1 trigger log");
    is_double(ds_engagement_value(g, 1, 1, DS_ENG_ACTIVE_DAYS), 2, 0, "week 1: 2 active days");
    is_double(ds_engagement_value(g, 1, 1, DS_ENG_SESSIONS), 1, 0, "week 1: the lone start counts");
    is_double(ds_engagement_value(g, 1, 1, DS_ENG_MINUTES), 0, 0, "week 1: for 0 minutes");
    is_double(ds_engagement_value(g, 1, -1, DS_ENG_ACTIVE_DAYS), 4, 0, "the study: 4 active days");
    is_double(ds_engagement_value(g, 1, -1, DS_ENG_SESSIONS), 3, 0, "the study: 3 sessions");
    is_double(ds_engagement_value(g, 1, -1, DS_ENG_MINUTES), 15, 1e-12, "the study: 15 minutes");
    is_double(ds_engagement_value(g, 0, -1, DS_ENG_SESSIONS), 0, 0, "the other participant: none");
    is_int(g->n_outside, 2, "events before week 0 and after the study are left out");
    is_int(g->n_events, n, "every event was read");
    is_int(g->sessions.unpaired_start, 1, "one unpaired start");
    is_int(g->sessions.unpaired_end, 1, "one unpaired end");
    is_int(ds_engagement_add(g, 2, v, n, &e), DS_EFORMAT, "an unknown participant is refused");
    ds_engagement_free(g);
    g = NULL;
    is_int(ds_engagement_new(2, 0, 0, &g, &e), DS_EFORMAT, "a study of 0 weeks is refused");
    ds_engagement_free(NULL);
    {
        enum ds_eng_metric m;
        ok(ds_eng_metric_parse("minutes", &m) == 0 && m == DS_ENG_MINUTES, "metric names parse");
        is_int(ds_eng_metric_parse("clicks", &m), -1, "unknown metrics do not");
        is_str(ds_eng_metric_name(DS_ENG_TRIGGER_LOGS), "trigger_logs", "metric names");
    }
}

static void test_attrition(void)
{
    const char *arms[] = {"app", "waitlist"};
    const int weeks[] = {0, 4, 8};
    /* app: P0 complete; P1 baseline then missed final; P2 withdrew after baseline; P3 no
     * baseline but a final. waitlist: P4 complete (late final); P5 baseline voided, final open;
     * P6 baseline, final voided; P7 baseline, final open. */
    const struct ds_attrition_participant p[] = {
        {0, 0, 0}, {0, 0, 0}, {0, 1, 5}, {0, 0, 0}, {1, 0, 0}, {1, 0, 0}, {1, 0, 0}, {1, 0, 0},
    };
    const struct ds_attrition_row rows[] = {
        {0, 0, DS_SCHED_COMPLETED, 1}, {0, 4, DS_SCHED_COMPLETED, 1}, {0, 8, DS_SCHED_COMPLETED, 1},
        {1, 0, DS_SCHED_LATE, 1},      {1, 4, DS_SCHED_MISSED, 0},    {1, 8, DS_SCHED_MISSED, 0},
        {2, 0, DS_SCHED_COMPLETED, 1}, {2, 4, DS_SCHED_COMPLETED, 1}, {2, 8, DS_SCHED_WITHDRAWN, 0},
        {3, 0, DS_SCHED_MISSED, 0},    {3, 4, DS_SCHED_MISSED, 0},    {3, 8, DS_SCHED_COMPLETED, 1},
        {4, 0, DS_SCHED_COMPLETED, 1}, {4, 4, DS_SCHED_COMPLETED, 1}, {4, 8, DS_SCHED_LATE, 1},
        {5, 0, DS_SCHED_COMPLETED, 0}, {5, 4, DS_SCHED_MISSED, 0},    {5, 8, DS_SCHED_OPEN, 0},
        {6, 0, DS_SCHED_COMPLETED, 1}, {6, 4, DS_SCHED_MISSED, 0},    {6, 8, DS_SCHED_COMPLETED, 0},
        {7, 0, DS_SCHED_COMPLETED, 1}, {7, 4, DS_SCHED_COMPLETED, 1}, {7, 8, DS_SCHED_UPCOMING, 0},
    };
    struct ds_attrition *a = NULL;
    const struct ds_attrition_flow *f;
    struct err e;

    err_clear(&e);
    ok(ds_attrition_build(arms, 2, weeks, 3, 0, 8, p, 8, rows, 24, &a, &e) == 0,
       "the flow is built");
    f = &a->arms[0].flow;
    is_int(f->enrolled, 4, "app: 4 enrolled");
    is_int(f->baseline_done, 3, "app: 3 with a baseline score");
    is_int(f->completers, 1, "app: 1 completer");
    is_int(f->not_final_missed, 1, "app: 1 missed the final questionnaire");
    is_int(f->not_final_withdrawn, 1, "app: 1 withdrew before it");
    is_int(f->final_without_baseline, 1, "app: 1 final score without a baseline");
    is_int(f->withdrawn, 1, "app: 1 withdrawn");
    f = &a->arms[1].flow;
    is_int(f->baseline_done, 3, "waitlist: 3 with a baseline score");
    is_int(f->no_baseline_void, 1, "waitlist: 1 baseline voided");
    is_int(f->completers, 1, "waitlist: the late final counts as completed");
    is_int(f->not_final_void, 1, "waitlist: 1 final voided");
    is_int(f->not_final_pending, 1,
           "waitlist: 1 final still to come (the open one has no baseline)");
    for (size_t k = 0; k < 2; k++) {
        f = &a->arms[k].flow;
        is_int(f->completers + f->not_final_withdrawn + f->not_final_missed + f->not_final_void +
                   f->not_final_pending,
               f->baseline_done, "%s: completers and those who left add up to the baseline",
               arms[k]);
        is_int(f->baseline_done + f->no_baseline, f->enrolled, "%s: and to the enrolled", arms[k]);
    }
    is_int(a->total.flow.enrolled, 8, "all arms: 8 enrolled");
    is_int(a->total.weeks[2].status[DS_SCHED_COMPLETED], 3, "week 8: 3 completed on time");
    is_int(a->total.weeks[2].status[DS_SCHED_LATE], 1, "week 8: 1 late");
    is_int(a->total.weeks[2].scored, 3, "week 8: 3 scored");
    is_int(a->total.weeks[2].voided, 1, "week 8: 1 voided");
    is_int(a->arms[0].weeks[1].withdrew, 1, "the withdrawal in week 5 shows at week 4");
    is_int(a->arms[1].weeks[1].status[DS_SCHED_MISSED], 2, "waitlist week 4: 2 missed");
    ds_attrition_free(a);
    a = NULL;

    is_int(ds_attrition_build(arms, 2, weeks, 3, 0, 5, p, 8, rows, 24, &a, &e), DS_EFORMAT,
           "a final week that is not scheduled is refused");
    is_int(ds_attrition_build(arms, 2, weeks, 3, 8, 0, p, 8, rows, 24, &a, &e), DS_EFORMAT,
           "a final week before the baseline is refused");
    {
        struct ds_attrition_row twice[] = {{0, 0, DS_SCHED_COMPLETED, 1},
                                           {0, 0, DS_SCHED_MISSED, 0}};
        is_int(ds_attrition_build(arms, 2, weeks, 3, 0, 8, p, 8, twice, 2, &a, &e), DS_EFORMAT,
               "two statuses for one questionnaire are refused");
        twice[1].week = 3;
        is_int(ds_attrition_build(arms, 2, weeks, 3, 0, 8, p, 8, twice, 2, &a, &e), DS_EFORMAT,
               "a status at an unscheduled week is refused");
    }
    {
        struct ds_attrition_participant q[] = {{2, 0, 0}};
        is_int(ds_attrition_build(arms, 2, weeks, 3, 0, 8, q, 1, rows, 0, &a, &e), DS_EFORMAT,
               "a participant of an unknown arm is refused");
    }
    ok(a == NULL, "nothing is returned on failure");
    {
        enum ds_sched_status s;
        ok(ds_sched_status_parse("late", &s) == 0 && s == DS_SCHED_LATE, "status names parse");
        is_int(ds_sched_status_parse("lost", &s), -1, "unknown statuses do not");
    }
}

int main(void)
{
    test_pairing();
    test_measures();
    test_attrition();
    return tap_done();
}
