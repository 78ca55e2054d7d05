/*
 * ds_engage.h — app engagement per participant and study week, built from
 * the app events the collector stored: active days, sessions, minutes in
 * sessions, exercises completed and trigger-log entries.
 *
 * Sessions are made from session_start / session_end events by a pure
 * function of one participant's sorted events (ds_sessions_pair), with a
 * documented rule for events that do not pair (docs/report.md):
 *
 *   1. Events are in time order; at the same instant an end comes before a
 *      start (back-to-back sessions pair), and other events after both.
 *   2. A start opens a session. The next end closes it when it comes no more
 *      than the cap (default 60 minutes) after the start: a paired session,
 *      lasting end - start.
 *   3. A start that is not closed that way — another start comes first, the
 *      end comes after the cap, or the participant's events run out — is an
 *      unpaired start. Its session still counts, and lasts until the last
 *      other event (any type but start and end) within the cap after its
 *      start and before the next start; with no such event it lasts 0.
 *   4. An end with no open session, or one that came after the cap (the
 *      session is then closed by rule 3), is an unpaired end: dropped, and
 *      counted.
 *
 * A session belongs to the study week of its start. Active days are the
 * distinct calendar days, in the study's time zone, with any event.
 *
 * Nothing here computes a statistic; correlations and tertiles are in
 * analysis/.
 */
#ifndef ATTUNE_DS_ENGAGE_H
#define ATTUNE_DS_ENGAGE_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "db.h"
#include "ds.h"
#include "err.h"

/* What an event means to the engagement measures. */
enum ds_event_kind {
    DS_EV_OTHER = 0,     /* counts for active days (and closes unpaired starts) only */
    DS_EV_SESSION_START, /* session_start */
    DS_EV_SESSION_END,   /* session_end */
    DS_EV_EXERCISE,      /* exercise_completed, breathing_exercise, grounding_exercise */
    DS_EV_TRIGGER_LOG,   /* trigger_log_entry */
};

/* The kind of an event type name (unknown names are DS_EV_OTHER). */
enum ds_event_kind ds_event_kind_of(const char *type);

/* One event of one participant. */
struct ds_event {
    int64_t at_us; /* microseconds since the epoch */
    int32_t day;   /* local calendar day in the study's zone (any fixed origin) */
    int32_t week;  /* study week */
    enum ds_event_kind kind;
};

/* Sorts events by the order rule 1 above needs. */
void ds_events_sort(struct ds_event *ev, size_t n);

struct ds_session {
    int64_t start_us, end_us;
    int32_t week; /* of the start */
    int paired;
};

struct ds_session_counts {
    size_t sessions; /* paired + unpaired starts */
    size_t paired;
    size_t unpaired_start; /* closed by rule 3 */
    size_t unpaired_end;   /* dropped by rule 4 */
    size_t over_cap; /* of those, ends that came after the cap (both counts above include them) */
};

/*
 * Builds the sessions of one participant's events, sorted as by
 * ds_events_sort. `out` needs room for as many sessions as there are start
 * events; *n_out receives their number. The counts are added to *counts.
 * Pure: no allocation, no failure for sorted input. DS_EFORMAT when the
 * events are not sorted or the cap is not positive.
 */
int ds_sessions_pair(const struct ds_event *ev, size_t n, int64_t cap_us, struct ds_session *out,
                     size_t *n_out, struct ds_session_counts *counts, struct err *e);

/* The measures, per participant and week, and over the study period. */
enum ds_eng_metric {
    DS_ENG_ACTIVE_DAYS = 0,
    DS_ENG_SESSIONS,
    DS_ENG_MINUTES,
    DS_ENG_EXERCISES,
    DS_ENG_TRIGGER_LOGS,
    DS_ENG_COUNT,
};

/* "active_days", "sessions", "minutes", "exercises", "trigger_logs"; and back (-1). */
const char *ds_eng_metric_name(enum ds_eng_metric m);
int ds_eng_metric_parse(const char *name, enum ds_eng_metric *out);

/*
 * Engagement of the participants of a study over its weeks 0 .. n_weeks - 1
 * (the weeks before the final assessment week: the protocol's length).
 * Participants are in the order of the study's ds_long (ds_load_study),
 * so subject index i is the same participant in both.
 */
struct ds_engagement {
    size_t n_subjects;
    int n_weeks;
    double *week_value; /* [n_subjects * n_weeks * DS_ENG_COUNT] */
    double *total;      /* [n_subjects * DS_ENG_COUNT] over weeks 0 .. n_weeks - 1 */
    /* [n_subjects * n_weeks] 1 when the week had begun by `asof` and the
     * participant had not withdrawn before it began: the week counts in
     * per-week summaries (a withdrawn participant's silence is not zero use). */
    uint8_t *exposed;
    uint8_t *full; /* [n_subjects] 1 when every study week was exposed */
    struct ds_session_counts sessions;
    size_t n_events;
    size_t n_outside; /* events before week 0 or from week n_weeks on: not counted */
    int64_t cap_us;
    char asof[64];        /* the time the exposure is judged at, as PostgreSQL printed it */
    char fingerprint[65]; /* SHA-256 of the events read (participant, type, time) and asof */
};

/* The value of a measure for a participant and week (week -1: the study total). */
double ds_engagement_value(const struct ds_engagement *g, size_t subject, int week,
                           enum ds_eng_metric m);

/*
 * Reads the events of every participant of a study and builds their
 * engagement. `d` is the study's data set (ds_load_study), whose
 * participants the engagement is aligned with. `asof` is an RFC 3339 time
 * or NULL for now. cap_us is the session cap (0: 60 minutes). Needs
 * ds_engage_statements prepared. *out is the caller's (ds_engagement_free).
 */
int ds_engagement_load(PGconn *conn, const char *study, const struct ds_long *d, const char *asof,
                       int64_t cap_us, struct ds_engagement **out, struct err *e);

/*
 * The pure core of ds_engagement_load, for one participant: adds the
 * measures of their sorted events (ds_events_sort) to subject `s` of g.
 */
int ds_engagement_add(struct ds_engagement *g, size_t s, const struct ds_event *ev, size_t n,
                      struct err *e);

/* An empty engagement record for n subjects and weeks (every week exposed). */
int ds_engagement_new(size_t n_subjects, int n_weeks, int64_t cap_us, struct ds_engagement **out,
                      struct err *e);

void ds_engagement_free(struct ds_engagement *g);

extern const struct db_statement ds_engage_statements[];

#endif
